//! Room creation over real sockets, stanza by stanza: with `muc_room_locking = true` (201,
//! the room refuses others with `item-not-found` and hides from disco until its owner
//! configures it; an empty submitted form makes an instant room; cancelling the initial form
//! destroys it) and with `muc_room_locking = false` (usable at once).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::muc::*;
use crate::common::*;
use rookery_proto::{Element, ns};

const ROOM: &str = "lobby@conference.localhost";

fn locking(on: bool) -> rookery_server::Config {
    config(&format!(
        "[[muc]]\ndomain = \"conference.localhost\"\nmuc_room_locking = {on}\n"
    ))
}

/// Checks the creator's join sequence: exactly its self-presence (110 + 201, owner,
/// moderator, its real JID) and then the empty subject.
fn assert_creation(seq: &[Element], nick: &str, real: &str) {
    assert_eq!(seq.len(), 2, "{}", dump(seq));
    let me = &seq[0];
    assert_eq!(me.name, "presence");
    assert_eq!(me.attr("from"), Some(format!("{ROOM}/{nick}").as_str()));
    assert_eq!(me.attr("to"), Some(real));
    assert_eq!(me.attr("type"), None);
    assert_eq!(statuses(me), vec![110, 201], "{}", me.to_xml_string());
    assert_eq!(aff_role(me), ("owner".to_owned(), "moderator".to_owned()));
    assert_eq!(item(me).attr("jid"), Some(real));
    let subject = &seq[1];
    assert!(is_subject(subject), "{}", subject.to_xml_string());
    assert_eq!(subject.attr("from"), Some(ROOM));
    assert_eq!(subject.attr("type"), Some("groupchat"));
    assert_eq!(
        subject.child_text("subject", ns::CLIENT).as_deref(),
        Some("")
    );
}

/// Checks a second occupant's join into a room where `owner` is: the owner's presence
/// (without its real JID: semi-anonymous, the joiner is a participant), the joiner's own
/// presence (110 only), then the subject.
fn assert_second_join(seq: &[Element], owner: &str, nick: &str, real: &str) {
    assert_eq!(seq.len(), 3, "{}", dump(seq));
    let o = &seq[0];
    assert_eq!(o.attr("from"), Some(format!("{ROOM}/{owner}").as_str()));
    assert_eq!(aff_role(o), ("owner".to_owned(), "moderator".to_owned()));
    assert_eq!(item(o).attr("jid"), None, "{}", o.to_xml_string());
    assert!(statuses(o).is_empty());
    let me = &seq[1];
    assert_eq!(me.attr("from"), Some(format!("{ROOM}/{nick}").as_str()));
    assert_eq!(statuses(me), vec![110], "{}", me.to_xml_string());
    assert_eq!(aff_role(me), ("none".to_owned(), "participant".to_owned()));
    assert_eq!(item(me).attr("jid"), Some(real));
    assert!(is_subject(&seq[2]), "{}", seq[2].to_xml_string());
}

async fn disco_info(c: &mut Raw<tokio::net::TcpStream>, to: &str) -> Element {
    let id = unique_id("disco");
    c.iq(
        &format!(
            "<iq type='get' id='{id}' to='{to}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        ),
        &id,
    )
    .await
}

async fn disco_items(c: &mut Raw<tokio::net::TcpStream>) -> Vec<String> {
    let id = unique_id("items");
    let r = c
        .iq(
            &format!(
                "<iq type='get' id='{id}' to='conference.localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>"
            ),
            &id,
        )
        .await;
    r.get_child("query", ns::DISCO_ITEMS)
        .unwrap()
        .children()
        .filter_map(|i| i.attr("jid").map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn locked_room_until_an_instant_room_is_made() {
    let srv = start(locking(true), &[]).await;
    let addr = srv.c2s_addr().unwrap();
    let mut owner = connect(addr).await;
    let mut guest = connect(addr).await;
    let jo = owner.login_anonymous(Some("o")).await;
    let jg = guest.login_anonymous(Some("g")).await;

    let seq = owner.join(&format!("{ROOM}/boss"), "").await;
    assert_creation(&seq, "boss", &jo);
    owner.expect_quiet(ROOM).await;

    // Locked: another user cannot enter and gets exactly one error presence.
    let seq = guest.join(&format!("{ROOM}/guest"), "").await;
    assert_eq!(seq.len(), 1, "{}", dump(&seq));
    assert_eq!(seq[0].attr("type"), Some("error"));
    assert_eq!(error_condition(&seq[0]).as_deref(), Some("item-not-found"));
    assert_eq!(error_type(&seq[0]).as_deref(), Some("cancel"));
    guest.expect_quiet(ROOM).await;
    owner.expect_quiet(ROOM).await;

    // It does not officially exist for others: disco#info fails, disco#items omits it.
    let info = disco_info(&mut guest, ROOM).await;
    assert_eq!(error_condition(&info).as_deref(), Some("item-not-found"));
    assert!(!disco_items(&mut guest).await.contains(&ROOM.to_owned()));
    // Its owner may look.
    let info = disco_info(&mut owner, ROOM).await;
    assert_eq!(
        info.attr("type"),
        Some("result"),
        "{}",
        info.to_xml_string()
    );

    // The owner fetches the configuration form.
    let form = owner
        .iq(
            &format!("<iq type='get' id='cfg1' to='{ROOM}'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>"),
            "cfg1",
        )
        .await;
    assert_eq!(
        form.attr("type"),
        Some("result"),
        "{}",
        form.to_xml_string()
    );
    let q = form.get_child("query", ns::MUC_OWNER).unwrap();
    let x = q.get_child("x", ns::DATA_FORMS).unwrap();
    assert_eq!(x.attr("type"), Some("form"));
    assert_eq!(
        form_value(q, "FORM_TYPE").as_deref(),
        Some("http://jabber.org/protocol/muc#roomconfig")
    );
    assert_eq!(
        form_value(q, "muc#roomconfig_persistentroom").as_deref(),
        Some("0")
    );
    // Still locked after merely reading the form.
    let seq = guest.join(&format!("{ROOM}/guest"), "").await;
    assert_eq!(error_condition(&seq[0]).as_deref(), Some("item-not-found"));

    // Instant room: an empty submitted form. Just the result, no status message (the
    // room was never open, so nothing "changed").
    let res = owner
        .iq(
            &format!("<iq type='set' id='inst' to='{ROOM}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>"),
            "inst",
        )
        .await;
    assert_eq!(res.attr("type"), Some("result"), "{}", res.to_xml_string());
    assert_eq!(res.attr("from"), Some(ROOM));
    owner.expect_quiet(ROOM).await;

    // Open now.
    let seq = guest.join(&format!("{ROOM}/guest"), "").await;
    assert_second_join(&seq, "boss", "guest", &jg);
    let seen = owner.until_pong(ROOM).await;
    assert_eq!(seen.len(), 1, "{}", dump(&seen));
    assert_eq!(seen[0].attr("from"), Some(format!("{ROOM}/guest").as_str()));
    // The owner is a moderator: it sees the guest's real JID.
    assert_eq!(item(&seen[0]).attr("jid"), Some(jg.as_str()));
    assert!(statuses(&seen[0]).is_empty());

    let info = disco_info(&mut guest, ROOM).await;
    let f = features(&info);
    for want in [
        "http://jabber.org/protocol/muc",
        "muc_public",
        "muc_open",
        "muc_semianonymous",
        "muc_unsecured",
        "muc_temporary",
        "muc_unmoderated",
    ] {
        assert!(f.contains(&want.to_owned()), "{want} missing: {f:?}");
    }
    assert!(disco_items(&mut guest).await.contains(&ROOM.to_owned()));
    srv.shutdown().await;
}

#[tokio::test]
async fn cancelling_the_initial_form_destroys_the_locked_room() {
    let srv = start(locking(true), &[]).await;
    let addr = srv.c2s_addr().unwrap();
    let mut owner = connect(addr).await;
    let mut other = connect(addr).await;
    let jo = owner.login_anonymous(Some("o")).await;
    let jx = other.login_anonymous(Some("x")).await;
    let seq = owner.join(&format!("{ROOM}/boss"), "").await;
    assert_creation(&seq, "boss", &jo);

    owner
        .send(&format!("<iq type='set' id='cancel' to='{ROOM}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='cancel'/></query></iq>"))
        .await;
    // The owner is told it is out (destroy notice), then gets the IQ result.
    let gone = owner.element().await;
    assert_eq!(gone.name, "presence", "{}", gone.to_xml_string());
    assert_eq!(gone.attr("type"), Some("unavailable"));
    assert_eq!(gone.attr("from"), Some(format!("{ROOM}/boss").as_str()));
    assert!(
        gone.get_child("x", ns::MUC_USER)
            .unwrap()
            .has_child("destroy", ns::MUC_USER),
        "{}",
        gone.to_xml_string()
    );
    let res = owner.element().await;
    assert_eq!(res.attr("id"), Some("cancel"));
    assert_eq!(res.attr("type"), Some("result"));

    // The room is gone: the next join creates a new one (201 again), owned by its creator.
    let seq = other.join(&format!("{ROOM}/newboss"), "").await;
    assert_creation(&seq, "newboss", &jx);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_legacy_join_without_the_muc_element_is_not_locked() {
    let srv = start(locking(true), &[]).await;
    let addr = srv.c2s_addr().unwrap();
    let mut owner = connect(addr).await;
    let mut guest = connect(addr).await;
    let jo = owner.login_anonymous(Some("o")).await;
    let jg = guest.login_anonymous(Some("g")).await;
    // groupchat 1.0 style: no <x xmlns='…muc'/>. XEP-0045 §10.1.1: the room is created
    // and immediately usable (the client could not configure it anyway).
    owner.send(&format!("<presence to='{ROOM}/boss'/>")).await;
    let seq = owner.read_join(&format!("{ROOM}/boss")).await;
    assert_creation(&seq, "boss", &jo);
    let seq = guest.join(&format!("{ROOM}/guest"), "").await;
    assert_second_join(&seq, "boss", "guest", &jg);
    srv.shutdown().await;
}

#[tokio::test]
async fn unlocked_service_rooms_are_usable_at_once() {
    let srv = start(locking(false), &[]).await;
    let addr = srv.c2s_addr().unwrap();
    let mut owner = connect(addr).await;
    let mut guest = connect(addr).await;
    let jo = owner.login_anonymous(Some("o")).await;
    let jg = guest.login_anonymous(Some("g")).await;

    let seq = owner.join(&format!("{ROOM}/boss"), "").await;
    assert_creation(&seq, "boss", &jo);
    owner.expect_quiet(ROOM).await;
    let info = disco_info(&mut guest, ROOM).await;
    assert_eq!(
        info.attr("type"),
        Some("result"),
        "{}",
        info.to_xml_string()
    );

    let seq = guest.join(&format!("{ROOM}/guest"), "").await;
    assert_second_join(&seq, "boss", "guest", &jg);
    let seen = owner.until_pong(ROOM).await;
    assert_eq!(seen.len(), 1, "{}", dump(&seen));
    assert_eq!(seen[0].attr("from"), Some(format!("{ROOM}/guest").as_str()));

    // A later submit on an open room is a configuration change: 104 to everyone.
    let res = owner
        .iq(
            &format!("<iq type='set' id='c2' to='{ROOM}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field><field var='muc#roomconfig_roomname'><value>The Lobby</value></field></x></query></iq>"),
            "c2",
        )
        .await;
    assert_eq!(res.attr("type"), Some("result"), "{}", res.to_xml_string());
    for c in [&mut owner, &mut guest] {
        let got = c.until_pong(ROOM).await;
        assert_eq!(got.len(), 1, "{}", dump(&got));
        assert_eq!(got[0].name, "message");
        assert_eq!(got[0].attr("from"), Some(ROOM));
        assert_eq!(statuses(&got[0]), vec![104]);
    }
    let info = disco_info(&mut guest, ROOM).await;
    let ident = info
        .get_child("query", ns::DISCO_INFO)
        .unwrap()
        .get_child("identity", ns::DISCO_INFO)
        .unwrap();
    assert_eq!(ident.attr("name"), Some("The Lobby"));
    assert_eq!(ident.attr("category"), Some("conference"));

    // Leaving: the last occupant out closes a temporary room; the next join creates it anew.
    guest
        .send(&format!("<presence to='{ROOM}/guest' type='unavailable'/>"))
        .await;
    let bye = guest.element().await;
    assert_eq!(bye.attr("type"), Some("unavailable"));
    assert_eq!(statuses(&bye), vec![110]);
    let seen = owner.until_pong(ROOM).await;
    assert_eq!(seen.len(), 1, "{}", dump(&seen));
    assert_eq!(seen[0].attr("type"), Some("unavailable"));
    assert_eq!(seen[0].attr("from"), Some(format!("{ROOM}/guest").as_str()));
    owner
        .send(&format!("<presence to='{ROOM}/boss' type='unavailable'/>"))
        .await;
    let bye = owner.element().await;
    assert_eq!(statuses(&bye), vec![110]);
    let info = disco_info(&mut guest, ROOM).await;
    assert_eq!(error_condition(&info).as_deref(), Some("item-not-found"));
    let seq = guest.join(&format!("{ROOM}/guest"), "").await;
    assert_creation(&seq, "guest", &jg);
    srv.shutdown().await;
}
