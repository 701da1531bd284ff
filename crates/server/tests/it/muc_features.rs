//! The rest of XEP-0045 over real sockets, stanza by stanza: destroy with reason and
//! alternate venue, moderated rooms (visitors refused, voice granted and revoked, admin
//! grant), a full room, XEP-0410 self-ping, mediated invitations and declines, subject and
//! private-message permissions, history limits (`history_length`, `maxchars`, `seconds`,
//! `since`), presence broadcast limited by role, and two MUC services side by side.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::muc::*;
use crate::common::*;
use rookery_proto::{Element, ns};
use tokio::net::TcpStream;

const ROOM: &str = "f@conference.localhost";
const BASE: &str = "[[muc]]\ndomain = \"conference.localhost\"\nmuc_room_locking = false\n";

type C = Raw<TcpStream>;

fn bare(full: &str) -> &str {
    full.split('/').next().unwrap()
}

/// Submits a room configuration (field var suffix, value) and expects a result.
async fn configure(c: &mut C, room: &str, fields: &[(&str, &str)]) {
    let fields: String = fields
        .iter()
        .map(|(k, v)| format!("<field var='muc#roomconfig_{k}'><value>{v}</value></field>"))
        .collect();
    let id = unique_id("cfg");
    let r = c
        .iq(
            &format!("<iq type='set' id='{id}' to='{room}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>{fields}</x></query></iq>"),
            &id,
        )
        .await;
    assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml_string());
}

/// A muc#admin set of one item; returns the error condition, `None` on success.
async fn admin(c: &mut C, room: &str, item: &str) -> Option<String> {
    let id = unique_id("adm");
    let r = c
        .iq(
            &format!("<iq type='set' id='{id}' to='{room}'><query xmlns='http://jabber.org/protocol/muc#admin'>{item}</query></iq>"),
            &id,
        )
        .await;
    error_condition(&r)
}

async fn clients(addr: std::net::SocketAddr, n: usize) -> (Vec<C>, Vec<String>) {
    let mut cs = Vec::new();
    let mut jids = Vec::new();
    for i in 0..n {
        let mut c = connect(addr).await;
        jids.push(c.login_anonymous(Some(&format!("c{i}"))).await);
        cs.push(c);
    }
    (cs, jids)
}

/// The self-presence of a successful join sequence.
fn self_presence(seq: &[Element]) -> &Element {
    seq.iter()
        .find(|e| e.name == "presence" && statuses(e).contains(&110))
        .unwrap_or_else(|| panic!("no self-presence in\n{}", dump(seq)))
}

#[tokio::test]
async fn destroy_with_reason_and_alternate_venue() {
    let srv = start(config(BASE), &[]).await;
    let (mut cs, jids) = clients(srv.c2s_addr().unwrap(), 2).await;
    cs[0].join(&format!("{ROOM}/owner"), "").await;
    cs[1].join(&format!("{ROOM}/guest"), "").await;
    cs[0].until_pong(ROOM).await;
    cs[0]
        .send(&format!("<iq type='set' id='d' to='{ROOM}'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='elsewhere@conference.localhost'><reason>moving on</reason></destroy></query></iq>"))
        .await;
    for (i, nick) in [(1usize, "guest"), (0, "owner")] {
        let p = cs[i].element().await;
        assert_eq!(p.name, "presence", "{}", p.to_xml_string());
        assert_eq!(p.attr("type"), Some("unavailable"));
        assert_eq!(p.attr("from"), Some(format!("{ROOM}/{nick}").as_str()));
        assert_eq!(p.attr("to"), Some(jids[i].as_str()));
        let d = p
            .get_child("x", ns::MUC_USER)
            .unwrap()
            .get_child("destroy", ns::MUC_USER)
            .unwrap();
        assert_eq!(d.attr("jid"), Some("elsewhere@conference.localhost"));
        assert_eq!(
            d.child_text("reason", ns::MUC_USER).as_deref(),
            Some("moving on")
        );
        assert_eq!(aff_role(&p), ("none".to_owned(), "none".to_owned()));
    }
    let res = cs[0].element().await;
    assert_eq!(res.attr("id"), Some("d"));
    assert_eq!(res.attr("type"), Some("result"));
    // Nothing else for the guest; the room is gone.
    let info = cs[1]
        .iq(
            &format!("<iq type='get' id='i' to='{ROOM}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
            "i",
        )
        .await;
    assert_eq!(error_condition(&info).as_deref(), Some("item-not-found"));
    srv.shutdown().await;
}

#[tokio::test]
async fn moderated_room_voice_and_admin_grants() {
    let srv = start(config(BASE), &[]).await;
    let (mut cs, jids) = clients(srv.c2s_addr().unwrap(), 3).await;
    cs[0].join(&format!("{ROOM}/owner"), "").await;
    configure(&mut cs[0], ROOM, &[("moderatedroom", "1")]).await;
    cs[0].until_pong(ROOM).await; // 104
    let seq = cs[1].join(&format!("{ROOM}/quiet"), "").await;
    assert_eq!(
        aff_role(self_presence(&seq)),
        ("none".to_owned(), "visitor".to_owned())
    );
    cs[0].until_pong(ROOM).await;

    // A visitor may not speak: forbidden, and nobody receives it.
    cs[1]
        .send(&format!(
            "<message to='{ROOM}' type='groupchat' id='v1'><body>can you hear me</body></message>"
        ))
        .await;
    let e = cs[1].element().await;
    assert_eq!(e.attr("id"), Some("v1"));
    assert_eq!(error_condition(&e).as_deref(), Some("forbidden"));
    cs[0].expect_quiet(ROOM).await;

    // Voice granted by the moderator: everyone sees the role change; the message passes.
    assert_eq!(
        admin(&mut cs[0], ROOM, "<item nick='quiet' role='participant'/>").await,
        None
    );
    let me = cs[1].element().await;
    assert_eq!(statuses(&me), vec![110]);
    assert_eq!(aff_role(&me).1, "participant");
    let seen = cs[0].until_pong(ROOM).await;
    assert_eq!(seen.len(), 1, "{}", dump(&seen));
    assert_eq!(aff_role(&seen[0]).1, "participant");
    cs[1]
        .send(&format!(
            "<message to='{ROOM}' type='groupchat'><body>now I can</body></message>"
        ))
        .await;
    for i in [0, 1] {
        let m = cs[i].until(|e| e.name == "message").await;
        assert_eq!(
            m.child_text("body", ns::CLIENT).as_deref(),
            Some("now I can")
        );
    }
    // The role list shows it to the moderator; a participant may not read it.
    let id = unique_id("roles");
    let list = cs[0]
        .iq(
            &format!("<iq type='get' id='{id}' to='{ROOM}'><query xmlns='http://jabber.org/protocol/muc#admin'><item role='participant'/></query></iq>"),
            &id,
        )
        .await;
    let items: Vec<_> = list
        .get_child("query", ns::MUC_ADMIN)
        .unwrap()
        .children()
        .map(|i| i.attr("nick").unwrap().to_owned())
        .collect();
    assert_eq!(items, vec!["quiet".to_owned()]);

    // Voice revoked: a visitor again.
    assert_eq!(
        admin(&mut cs[0], ROOM, "<item nick='quiet' role='visitor'/>").await,
        None
    );
    let me = cs[1].until(|e| e.name == "presence").await;
    assert_eq!(aff_role(&me).1, "visitor");
    cs[1]
        .send(&format!(
            "<message to='{ROOM}' type='groupchat' id='v2'><body>again?</body></message>"
        ))
        .await;
    let e = cs[1].until(|e| e.attr("id") == Some("v2")).await;
    assert_eq!(error_condition(&e).as_deref(), Some("forbidden"));

    // Admin grant by bare JID: the third user enters as a moderator, and the visitor made
    // admin becomes a moderator at once.
    let item = format!("<item affiliation='admin' jid='{}'/>", bare(&jids[2]));
    assert_eq!(admin(&mut cs[0], ROOM, &item).await, None);
    let seq = cs[2].join(&format!("{ROOM}/deputy"), "").await;
    assert_eq!(
        aff_role(self_presence(&seq)),
        ("admin".to_owned(), "moderator".to_owned())
    );
    let item = format!("<item affiliation='admin' jid='{}'/>", bare(&jids[1]));
    assert_eq!(admin(&mut cs[0], ROOM, &item).await, None);
    let me = cs[1]
        .until(|e| e.name == "presence" && statuses(e).contains(&110))
        .await;
    assert_eq!(aff_role(&me), ("admin".to_owned(), "moderator".to_owned()));
    // An admin may not touch the owner.
    let item = format!("<item affiliation='member' jid='{}'/>", bare(&jids[0]));
    assert_eq!(
        admin(&mut cs[2], ROOM, &item).await.as_deref(),
        Some("not-allowed")
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn full_room_refuses_with_service_unavailable() {
    let srv = start(config(&format!("{BASE}max_occupants = 2\n")), &[]).await;
    let (mut cs, _) = clients(srv.c2s_addr().unwrap(), 3).await;
    cs[0].join(&format!("{ROOM}/a"), "").await;
    cs[1].join(&format!("{ROOM}/b"), "").await;
    let seq = cs[2].join(&format!("{ROOM}/c"), "").await;
    assert_eq!(seq.len(), 1, "{}", dump(&seq));
    assert_eq!(
        error_condition(&seq[0]).as_deref(),
        Some("service-unavailable")
    );
    assert_eq!(error_type(&seq[0]).as_deref(), Some("wait"));
    // A place frees up: the third gets in.
    cs[1]
        .send(&format!("<presence to='{ROOM}/b' type='unavailable'/>"))
        .await;
    cs[1].element().await;
    let seq = cs[2].join(&format!("{ROOM}/c"), "").await;
    assert!(statuses(self_presence(&seq)).contains(&110));
    srv.shutdown().await;
}

#[tokio::test]
async fn self_ping_is_answered_by_the_room() {
    let srv = start(config(BASE), &[]).await;
    let (mut cs, jids) = clients(srv.c2s_addr().unwrap(), 3).await;
    cs[0].join(&format!("{ROOM}/a"), "").await;
    cs[1].join(&format!("{ROOM}/b"), "").await;
    cs[0].until_pong(ROOM).await;
    let ping = |to: &str, id: &str| {
        format!("<iq type='get' id='{id}' to='{to}'><ping xmlns='urn:xmpp:ping'/></iq>")
    };
    // To one's own occupant JID: the service answers from that JID, nobody else sees it.
    let r = cs[0].iq(&ping(&format!("{ROOM}/a"), "sp"), "sp").await;
    assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml_string());
    assert_eq!(r.attr("from"), Some(format!("{ROOM}/a").as_str()));
    assert_eq!(r.attr("to"), Some(jids[0].as_str()));
    cs[1].expect_quiet(ROOM).await;
    // Not joined: not-acceptable (XEP-0410: "you are not in the room").
    let r = cs[2].iq(&ping(&format!("{ROOM}/a"), "np"), "np").await;
    assert_eq!(error_condition(&r).as_deref(), Some("not-acceptable"));
    // A ping to another occupant is an ordinary forwarded IQ.
    cs[0].send(&ping(&format!("{ROOM}/b"), "op")).await;
    let fwd = cs[1].until(|e| e.name == "iq").await;
    assert_eq!(fwd.attr("from"), Some(format!("{ROOM}/a").as_str()));
    cs[1]
        .send(&format!(
            "<iq type='result' id='{}' to='{ROOM}/a'/>",
            fwd.attr("id").unwrap()
        ))
        .await;
    let r = cs[0].until(|e| e.attr("id") == Some("op")).await;
    assert_eq!(r.attr("type"), Some("result"));
    assert_eq!(r.attr("from"), Some(format!("{ROOM}/b").as_str()));
    srv.shutdown().await;
}

#[tokio::test]
async fn mediated_invitation_and_decline() {
    let srv = start(config(BASE), &[]).await;
    let (mut cs, jids) = clients(srv.c2s_addr().unwrap(), 2).await;
    cs[0].join(&format!("{ROOM}/host"), "").await;
    configure(
        &mut cs[0],
        ROOM,
        &[
            ("membersonly", "1"),
            ("passwordprotectedroom", "1"),
            ("roomsecret", "pw"),
        ],
    )
    .await;
    cs[0].until_pong(ROOM).await;
    // The owner invites the outsider (bare JID) through the room.
    cs[0]
        .send(&format!(
            "<message to='{ROOM}' id='inv'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='{}'><reason>join us</reason></invite></x></message>",
            bare(&jids[1])
        ))
        .await;
    let m = cs[1].until(|e| e.name == "message").await;
    assert_eq!(m.attr("from"), Some(ROOM));
    let x = m.get_child("x", ns::MUC_USER).unwrap();
    let inv = x.get_child("invite", ns::MUC_USER).unwrap();
    assert_eq!(inv.attr("from"), Some(bare(&jids[0])));
    assert_eq!(
        inv.child_text("reason", ns::MUC_USER).as_deref(),
        Some("join us")
    );
    assert_eq!(
        x.child_text("password", ns::MUC_USER).as_deref(),
        Some("pw")
    );
    // It declines; the decline reaches the inviter from the room.
    cs[1]
        .send(&format!(
            "<message to='{ROOM}'><x xmlns='http://jabber.org/protocol/muc#user'><decline to='{}'><reason>busy</reason></decline></x></message>",
            bare(&jids[0])
        ))
        .await;
    let d = cs[0].until(|e| e.name == "message").await;
    assert_eq!(d.attr("from"), Some(ROOM));
    let dec = d
        .get_child("x", ns::MUC_USER)
        .unwrap()
        .get_child("decline", ns::MUC_USER)
        .unwrap();
    assert_eq!(dec.attr("from"), Some(bare(&jids[1])));
    assert_eq!(
        dec.child_text("reason", ns::MUC_USER).as_deref(),
        Some("busy")
    );
    // The invitation made it a member of the members-only room: with the password it
    // may enter.
    let seq = cs[1]
        .join(&format!("{ROOM}/guest"), "<password>pw</password>")
        .await;
    assert_eq!(
        aff_role(self_presence(&seq)),
        ("member".to_owned(), "participant".to_owned())
    );
    // A member may not invite unless allowinvites: forbidden.
    cs[1]
        .send(&format!(
            "<message to='{ROOM}' id='inv2'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='x@localhost'/></x></message>"
        ))
        .await;
    let e = cs[1].until(|e| e.attr("id") == Some("inv2")).await;
    assert_eq!(error_condition(&e).as_deref(), Some("forbidden"));
    srv.shutdown().await;
}

#[tokio::test]
async fn subject_and_private_message_permissions() {
    let srv = start(config(BASE), &[]).await;
    let (mut cs, _) = clients(srv.c2s_addr().unwrap(), 2).await;
    cs[0].join(&format!("{ROOM}/mod"), "").await;
    cs[1].join(&format!("{ROOM}/part"), "").await;
    cs[0].until_pong(ROOM).await;
    // changesubject is off by default: a participant may not, a moderator may.
    cs[1]
        .send(&format!(
            "<message to='{ROOM}' type='groupchat' id='s1'><subject>mine</subject></message>"
        ))
        .await;
    let e = cs[1].element().await;
    assert_eq!(error_condition(&e).as_deref(), Some("forbidden"));
    cs[0].expect_quiet(ROOM).await;
    cs[0]
        .send(&format!(
            "<message to='{ROOM}' type='groupchat'><subject>official</subject></message>"
        ))
        .await;
    for c in cs.iter_mut() {
        let m = c.element().await;
        assert!(is_subject(&m), "{}", m.to_xml_string());
        assert_eq!(m.attr("from"), Some(format!("{ROOM}/mod").as_str()));
        assert_eq!(
            m.child_text("subject", ns::CLIENT).as_deref(),
            Some("official")
        );
    }
    // allowpm = none: private messages are refused (forbidden) and not delivered.
    configure(&mut cs[0], ROOM, &[("allowpm", "none")]).await;
    for c in cs.iter_mut() {
        assert_eq!(statuses(&c.until(|e| e.name == "message").await), vec![104]);
    }
    cs[1]
        .send(&format!(
            "<message to='{ROOM}/mod' type='chat' id='pm'><body>psst</body></message>"
        ))
        .await;
    let e = cs[1].element().await;
    assert_eq!(e.attr("id"), Some("pm"));
    assert_eq!(error_condition(&e).as_deref(), Some("forbidden"));
    cs[0].expect_quiet(ROOM).await;
    // allowpm = moderators: the moderator may, the participant still may not.
    configure(&mut cs[0], ROOM, &[("allowpm", "moderators")]).await;
    for c in cs.iter_mut() {
        assert_eq!(statuses(&c.until(|e| e.name == "message").await), vec![104]);
    }
    cs[0]
        .send(&format!(
            "<message to='{ROOM}/part' type='chat'><body>from the mod</body></message>"
        ))
        .await;
    let m = cs[1].element().await;
    assert_eq!(m.attr("from"), Some(format!("{ROOM}/mod").as_str()));
    assert_eq!(
        m.child_text("body", ns::CLIENT).as_deref(),
        Some("from the mod")
    );
    assert!(m.has_child("x", ns::MUC_USER), "PMs are marked as MUC PMs");
    srv.shutdown().await;
}

#[tokio::test]
async fn history_limits() {
    let srv = start(config(&format!("{BASE}history_length = 3\n")), &[]).await;
    let addr = srv.c2s_addr().unwrap();
    let (mut cs, _) = clients(addr, 1).await;
    cs[0].join(&format!("{ROOM}/talker"), "").await;
    for i in 0..5 {
        cs[0]
            .send(&format!(
                "<message to='{ROOM}' type='groupchat'><body>m{i}</body></message>"
            ))
            .await;
        cs[0].until(|e| e.name == "message").await;
    }
    // (history element, bodies expected)
    let cases = [
        ("", vec!["m2", "m3", "m4"]),
        ("<history maxstanzas='2'/>", vec!["m3", "m4"]),
        ("<history maxstanzas='0'/>", vec![]),
        ("<history maxchars='0'/>", vec![]),
        ("<history seconds='3600'/>", vec!["m2", "m3", "m4"]),
        ("<history since='2999-01-01T00:00:00Z'/>", vec![]),
        (
            "<history since='2000-01-01T00:00:00Z' maxstanzas='1'/>",
            vec!["m4"],
        ),
        ("<history maxstanzas='junk'/>", vec!["m2", "m3", "m4"]),
    ];
    for (i, (hist, want)) in cases.iter().enumerate() {
        let mut c = connect(addr).await;
        c.login_anonymous(None).await;
        let seq = c.join(&format!("{ROOM}/reader{i}"), hist).await;
        let me = seq.iter().position(|e| statuses(e).contains(&110)).unwrap();
        let history = &seq[me + 1..seq.len() - 1];
        let bodies: Vec<String> = history
            .iter()
            .map(|m| m.child_text("body", ns::CLIENT).unwrap())
            .collect();
        assert_eq!(&bodies, want, "case {i}: {hist}");
        for m in history {
            assert_eq!(m.attr("from"), Some(format!("{ROOM}/talker").as_str()));
            let d = m.get_child("delay", ns::DELAY).unwrap();
            assert_eq!(d.attr("from"), Some(ROOM));
            assert!(d.attr("stamp").unwrap().ends_with('Z'));
        }
        assert!(is_subject(seq.last().unwrap()));
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn two_services_with_their_own_settings() {
    let extra = "[[muc]]\ndomain = \"conference.localhost\"\nmuc_room_locking = false\n\n[[muc]]\ndomain = \"lobby.localhost\"\nname = \"Lobbies\"\nmuc_room_default_public_jids = true\nmembers_only = true\n";
    let srv = start(config(extra), &[]).await;
    let (mut cs, jids) = clients(srv.c2s_addr().unwrap(), 2).await;
    let id = unique_id("svc");
    let info = cs[0]
        .iq(
            &format!("<iq type='get' id='{id}' to='lobby.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
            &id,
        )
        .await;
    let ident = info
        .get_child("query", ns::DISCO_INFO)
        .unwrap()
        .get_child("identity", ns::DISCO_INFO)
        .unwrap();
    assert_eq!(ident.attr("name"), Some("Lobbies"));
    assert!(features(&info).contains(&ns::MUC.to_owned()));
    // The same room name on both services is two rooms.
    cs[0].join("same@conference.localhost/a", "").await;
    let seq = cs[0].join("same@lobby.localhost/a", "").await;
    assert_eq!(
        statuses(self_presence(&seq)),
        vec![100, 110, 201],
        "{}",
        dump(&seq)
    );
    // lobby rooms are locked (service default) and members-only by default.
    configure(&mut cs[0], "same@lobby.localhost", &[]).await;
    let seq = cs[1].join("same@lobby.localhost/b", "").await;
    assert_eq!(
        error_condition(&seq[0]).as_deref(),
        Some("registration-required")
    );
    let seq = cs[1].join("same@conference.localhost/b", "").await;
    let me = self_presence(&seq);
    assert_eq!(statuses(me), vec![110], "semi-anonymous there");
    assert_eq!(item(&seq[0]).attr("jid"), None);
    let item_xml = format!("<item affiliation='member' jid='{}'/>", bare(&jids[1]));
    assert_eq!(
        admin(&mut cs[0], "same@lobby.localhost", &item_xml).await,
        None
    );
    let seq = cs[1].join("same@lobby.localhost/b", "").await;
    assert_eq!(
        item(&seq[0]).attr("jid"),
        Some(jids[0].as_str()),
        "non-anonymous here"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn presence_broadcast_limited_to_moderators() {
    let srv = start(config(BASE), &[]).await;
    let (mut cs, _) = clients(srv.c2s_addr().unwrap(), 3).await;
    cs[0].join(&format!("{ROOM}/mod"), "").await;
    configure(&mut cs[0], ROOM, &[("presencebroadcast", "moderator")]).await;
    cs[0].until_pong(ROOM).await;
    // A participant joining sees the moderator and itself; nobody is told about it.
    let seq = cs[1].join(&format!("{ROOM}/p1"), "").await;
    assert_eq!(seq.len(), 3, "{}", dump(&seq));
    assert_eq!(seq[0].attr("from"), Some(format!("{ROOM}/mod").as_str()));
    assert_eq!(statuses(&seq[1]), vec![110]);
    cs[0].expect_quiet(ROOM).await;
    // The next participant does not see the first one either.
    let seq = cs[2].join(&format!("{ROOM}/p2"), "").await;
    assert_eq!(seq.len(), 3, "{}", dump(&seq));
    assert_eq!(seq[0].attr("from"), Some(format!("{ROOM}/mod").as_str()));
    cs[1].expect_quiet(ROOM).await;
    // Messages still reach everyone, and the occupant count is complete.
    cs[2]
        .send(&format!(
            "<message to='{ROOM}' type='groupchat'><body>hi</body></message>"
        ))
        .await;
    for c in cs.iter_mut() {
        let m = c.until(|e| e.name == "message").await;
        assert_eq!(m.attr("from"), Some(format!("{ROOM}/p2").as_str()));
    }
    let info = cs[1]
        .iq(
            &format!("<iq type='get' id='c' to='{ROOM}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
            "c",
        )
        .await;
    let q = info.get_child("query", ns::DISCO_INFO).unwrap();
    assert_eq!(
        form_value(q, "muc#roominfo_occupants").as_deref(),
        Some("3")
    );
    srv.shutdown().await;
}
