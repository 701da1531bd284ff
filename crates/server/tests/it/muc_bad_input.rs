//! Bad input to a room over real sockets: malformed `muc#admin` and `muc#owner` payloads,
//! unknown affiliations and roles, empty and too-long nicks (on join and on nick change),
//! requests without the needed privileges, and a presence storm from one occupant. Each
//! gets the XEP's error, nothing leaks to the other occupants, and the room keeps serving
//! them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::muc::*;
use crate::common::*;
use rookery_proto::ns;
use tokio::net::TcpStream;

const ROOM: &str = "r@conference.localhost";
const MUC: &str =
    "[[muc]]\ndomain = \"conference.localhost\"\nmuc_room_locking = false\nmax_nick_length = 16\n";

const ADMIN: &str = "http://jabber.org/protocol/muc#admin";
const OWNER: &str = "http://jabber.org/protocol/muc#owner";

fn admin_set(items: &str) -> String {
    format!("<query xmlns='{ADMIN}'>{items}</query>")
}

fn owner_submit(fields: &str) -> String {
    format!("<query xmlns='{OWNER}'><x xmlns='jabber:x:data' type='submit'>{fields}</x></query>")
}

fn field(var: &str, value: &str) -> String {
    format!("<field var='{var}'><value>{value}</value></field>")
}

/// Sends an IQ of `kind` with `payload` to the room and returns the answer's condition
/// (`None` for a result).
async fn room_iq(c: &mut Raw<TcpStream>, kind: &str, payload: &str) -> Option<String> {
    let id = unique_id("bad");
    let r = c
        .iq(
            &format!("<iq type='{kind}' id='{id}' to='{ROOM}'>{payload}</iq>"),
            &id,
        )
        .await;
    assert_eq!(r.attr("from"), Some(ROOM), "{}", r.to_xml_string());
    match r.attr("type") {
        Some("result") => None,
        Some("error") => Some(error_condition(&r).unwrap_or_default()),
        other => panic!("odd IQ type {other:?}"),
    }
}

struct Room3 {
    owner: Raw<TcpStream>,
    alice: Raw<TcpStream>,
    bob: Raw<TcpStream>,
    jbob: String,
}

/// A room with an owner and two participants (alice, bob), everyone's join read.
async fn room3(addr: std::net::SocketAddr) -> Room3 {
    let mut owner = connect(addr).await;
    let mut alice = connect(addr).await;
    let mut bob = connect(addr).await;
    owner.login_anonymous(Some("o")).await;
    alice.login_anonymous(Some("a")).await;
    let jbob = bob.login_anonymous(Some("b")).await;
    let s = owner.join(&format!("{ROOM}/owner"), "").await;
    assert_eq!(statuses(&s[0]), vec![110, 201]);
    alice.join(&format!("{ROOM}/alice"), "").await;
    bob.join(&format!("{ROOM}/bob"), "").await;
    owner.until_pong(ROOM).await;
    alice.until_pong(ROOM).await;
    Room3 {
        owner,
        alice,
        bob,
        jbob,
    }
}

/// Everyone can still talk: a groupchat from `from` reaches all three exactly once.
async fn still_serving(r: &mut Room3, text: &str) {
    r.alice
        .send(&format!(
            "<message to='{ROOM}' type='groupchat'><body>{text}</body></message>"
        ))
        .await;
    for c in [&mut r.owner, &mut r.alice, &mut r.bob] {
        let got = c.until_pong(ROOM).await;
        assert_eq!(got.len(), 1, "{}", dump(&got));
        assert_eq!(got[0].attr("from"), Some(format!("{ROOM}/alice").as_str()));
        assert_eq!(got[0].child_text("body", ns::CLIENT).as_deref(), Some(text));
    }
}

#[tokio::test]
async fn malformed_admin_and_owner_payloads_get_errors_and_change_nothing() {
    let srv = start(config(MUC), &[]).await;
    let mut r = room3(srv.c2s_addr().unwrap()).await;
    let many_items = "<item role='participant' nick='bob'/>".repeat(257);
    // (who: 0 owner / 1 participant, type, payload, expected condition)
    let cases: Vec<(u8, &str, String, &str)> = vec![
        // muc#admin
        (0, "set", admin_set(""), "bad-request"),
        (0, "set", admin_set("<item/>"), "bad-request"),
        (
            0,
            "set",
            admin_set("<item affiliation='superuser' jid='x@localhost'/>"),
            "bad-request",
        ),
        (
            0,
            "set",
            admin_set("<item affiliation='Owner' jid='x@localhost'/>"),
            "bad-request",
        ),
        (
            0,
            "set",
            admin_set("<item role='kingpin' nick='bob'/>"),
            "bad-request",
        ),
        (
            0,
            "set",
            admin_set("<item role='visitor' affiliation='member' nick='bob'/>"),
            "bad-request",
        ),
        (0, "set", admin_set("<item role='none'/>"), "bad-request"),
        (
            0,
            "set",
            admin_set("<item affiliation='member'/>"),
            "bad-request",
        ),
        (
            0,
            "set",
            admin_set("<item affiliation='member' jid='a@b@c'/>"),
            "jid-malformed",
        ),
        (
            0,
            "set",
            admin_set("<item role='none' nick='nobody-here'/>"),
            "item-not-found",
        ),
        (0, "set", admin_set(&many_items), "bad-request"),
        // A batch with one bad item changes nothing (bob is not kicked).
        (
            0,
            "set",
            admin_set(
                "<item role='none' nick='bob'/><item affiliation='bogus' jid='y@localhost'/>",
            ),
            "bad-request",
        ),
        (
            0,
            "get",
            admin_set("<item affiliation='wizard'/>"),
            "bad-request",
        ),
        (0, "get", admin_set("<item role='emperor'/>"), "bad-request"),
        (0, "get", admin_set(""), "bad-request"),
        (
            0,
            "get",
            admin_set("<item affiliation='owner' role='moderator'/>"),
            "bad-request",
        ),
        // Privileges: a participant may not kick, ban, grant or read lists.
        (
            1,
            "set",
            admin_set("<item role='none' nick='bob'/>"),
            "not-allowed",
        ),
        (
            1,
            "set",
            admin_set("<item affiliation='outcast' jid='x@localhost'/>"),
            "forbidden",
        ),
        (
            1,
            "get",
            admin_set("<item affiliation='owner'/>"),
            "forbidden",
        ),
        // The owner may not kick itself.
        (
            0,
            "set",
            admin_set("<item role='none' nick='owner'/>"),
            "conflict",
        ),
        // muc#owner
        (0, "set", format!("<query xmlns='{OWNER}'/>"), "bad-request"),
        (
            0,
            "set",
            format!("<query xmlns='{OWNER}'><x xmlns='jabber:x:data' type='result'/></query>"),
            "bad-request",
        ),
        (
            0,
            "set",
            format!("<query xmlns='{OWNER}'><x xmlns='urn:not-a-form' type='submit'/></query>"),
            "bad-request",
        ),
        (
            0,
            "set",
            owner_submit("<field><value>1</value></field>"),
            "bad-request",
        ),
        (
            0,
            "set",
            owner_submit(&field("FORM_TYPE", "urn:some:other:form")),
            "bad-request",
        ),
        (
            0,
            "set",
            owner_submit(&field("muc#roomconfig_persistentroom", "maybe")),
            "not-acceptable",
        ),
        (
            0,
            "set",
            owner_submit(&field("muc#roomconfig_whois", "everybody")),
            "not-acceptable",
        ),
        (
            0,
            "set",
            owner_submit(&field("muc#roomconfig_maxusers", "lots")),
            "not-acceptable",
        ),
        (
            0,
            "set",
            owner_submit(&field("muc#roomconfig_allowpm", "friends")),
            "not-acceptable",
        ),
        (
            0,
            "set",
            owner_submit(&field("muc#roomconfig_presencebroadcast", "king")),
            "not-acceptable",
        ),
        (
            0,
            "set",
            owner_submit(&field("muc#roomconfig_passwordprotectedroom", "1")),
            "not-acceptable",
        ),
        (
            0,
            "set",
            owner_submit(&field("muc#roomconfig_roomname", &"n".repeat(1025))),
            "not-acceptable",
        ),
        // A good field next to a bad one: nothing is applied (the name stays unset).
        (
            0,
            "set",
            owner_submit(
                &(field("muc#roomconfig_roomname", "Renamed")
                    + &field("muc#roomconfig_moderatedroom", "2")),
            ),
            "not-acceptable",
        ),
        (
            0,
            "set",
            format!("<query xmlns='{OWNER}'><destroy jid='a@b@c'/></query>"),
            "jid-malformed",
        ),
        (1, "get", format!("<query xmlns='{OWNER}'/>"), "forbidden"),
        (
            1,
            "set",
            owner_submit(&field("muc#roomconfig_roomname", "mine")),
            "forbidden",
        ),
        (
            1,
            "set",
            format!("<query xmlns='{OWNER}'><destroy/></query>"),
            "forbidden",
        ),
        // Unknown payloads to the room.
        (
            0,
            "get",
            "<query xmlns='urn:unknown'/>".to_owned(),
            "service-unavailable",
        ),
    ];
    for (i, (who, kind, payload, want)) in cases.iter().enumerate() {
        let c = if *who == 0 {
            &mut r.owner
        } else {
            &mut r.alice
        };
        let got = room_iq(c, kind, payload).await;
        assert_eq!(got.as_deref(), Some(*want), "case {i}: {payload}");
    }
    // Nothing reached the others, nobody was removed, the configuration is untouched.
    r.bob.expect_quiet(ROOM).await;
    r.alice.expect_quiet(ROOM).await;
    r.owner.expect_quiet(ROOM).await;
    let form = r
        .owner
        .iq(
            &format!("<iq type='get' id='f' to='{ROOM}'><query xmlns='{OWNER}'/></iq>"),
            "f",
        )
        .await;
    let q = form.get_child("query", ns::MUC_OWNER).unwrap();
    assert_eq!(
        form_value(q, "muc#roomconfig_roomname").as_deref(),
        Some("")
    );
    assert_eq!(
        form_value(q, "muc#roomconfig_moderatedroom").as_deref(),
        Some("0")
    );
    assert_eq!(
        form_value(q, "muc#roomconfig_persistentroom").as_deref(),
        Some("0")
    );
    still_serving(&mut r, "after the bad IQs").await;

    // A correct kick still works afterwards: 307 to bob, result, then broadcast.
    let res = room_iq(
        &mut r.owner,
        "set",
        &admin_set("<item role='none' nick='bob'><reason>bye</reason></item>"),
    )
    .await;
    assert_eq!(res, None);
    let out = r.bob.until(|e| e.name == "presence").await;
    assert_eq!(out.attr("type"), Some("unavailable"));
    assert_eq!(statuses(&out), vec![110, 307]);
    assert_eq!(
        item(&out).child_text("reason", ns::MUC_USER).as_deref(),
        Some("bye")
    );
    let seen = r.alice.until_pong(ROOM).await;
    assert_eq!(seen.len(), 1, "{}", dump(&seen));
    assert_eq!(statuses(&seen[0]), vec![307]);
    assert_eq!(item(&seen[0]).attr("jid"), None, "alice is no moderator");
    let seen = r.owner.until_pong(ROOM).await;
    assert_eq!(seen.len(), 1, "{}", dump(&seen));
    assert_eq!(item(&seen[0]).attr("jid"), Some(r.jbob.as_str()));
    srv.shutdown().await;
}

#[tokio::test]
async fn empty_blank_and_too_long_nicks() {
    let srv = start(config(MUC), &[]).await;
    let addr = srv.c2s_addr().unwrap();
    let mut r = room3(addr).await;
    let mut newcomer = connect(addr).await;
    newcomer.login_anonymous(Some("n")).await;

    // (to, expected condition)
    let long = "x".repeat(17);
    let huge = "y".repeat(1100);
    let cases = [
        (ROOM.to_owned(), "jid-malformed"),
        (format!("{ROOM}/"), "jid-malformed"),
        (format!("{ROOM}/   "), "jid-malformed"),
        (format!("{ROOM}/{long}"), "not-acceptable"),
        (format!("{ROOM}/{huge}"), "jid-malformed"),
        (format!("{ROOM}/alice"), "conflict"),
    ];
    for (i, (to, want)) in cases.iter().enumerate() {
        newcomer
            .send(&format!(
                "<presence to='{to}'><x xmlns='http://jabber.org/protocol/muc'/></presence>"
            ))
            .await;
        let e = newcomer.element().await;
        assert_eq!(e.name, "presence", "case {i}");
        assert_eq!(e.attr("type"), Some("error"), "case {i}");
        assert_eq!(
            error_condition(&e).as_deref(),
            Some(*want),
            "case {i}: {}",
            e.to_xml_string()
        );
        newcomer.expect_quiet(ROOM).await;
    }
    // A nick of exactly the limit is fine.
    let ok = "z".repeat(16);
    let seq = newcomer.join(&format!("{ROOM}/{ok}"), "").await;
    assert!(
        statuses(&seq[seq.len() - 2]).contains(&110),
        "{}",
        dump(&seq)
    );

    // Everyone saw the newcomer's join, and nothing of the refused attempts.
    for c in [&mut r.owner, &mut r.alice, &mut r.bob] {
        let seen = c.until_pong(ROOM).await;
        assert_eq!(seen.len(), 1, "{}", dump(&seen));
        assert_eq!(seen[0].attr("from"), Some(format!("{ROOM}/{ok}").as_str()));
    }

    // An occupant changing to a bad nick gets the error and keeps its nick.
    for (to, want) in [
        (format!("{ROOM}/   "), "jid-malformed"),
        (format!("{ROOM}/{long}"), "not-acceptable"),
        (format!("{ROOM}/alice"), "conflict"),
    ] {
        r.bob.send(&format!("<presence to='{to}'/>")).await;
        let e = r.bob.element().await;
        assert_eq!(
            error_condition(&e).as_deref(),
            Some(want),
            "{to}: {}",
            e.to_xml_string()
        );
    }
    r.bob.expect_quiet(ROOM).await;
    r.owner.expect_quiet(ROOM).await;
    r.alice.expect_quiet(ROOM).await;
    r.bob
        .send(&format!(
            "<message to='{ROOM}/owner' type='chat'><body>still bob</body></message>"
        ))
        .await;
    let pm = r.owner.until(|e| e.name == "message").await;
    assert_eq!(pm.attr("from"), Some(format!("{ROOM}/bob").as_str()));
    still_serving(&mut r, "after the bad nicks").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn presence_storm_from_one_occupant_is_limited_and_others_are_served() {
    let srv = start(config(MUC), &[]).await;
    let mut r = room3(srv.c2s_addr().unwrap()).await;
    const STORM: usize = 300;
    let mut burst = String::new();
    for i in 0..STORM {
        burst.push_str(&format!(
            "<presence to='{ROOM}/bob' id='s{i}'><status>update {i}</status></presence>"
        ));
    }
    // One write: the room sees the whole storm at once.
    r.bob.send(&burst).await;
    let (mut echoed, mut refused) = (0usize, 0usize);
    while echoed + refused < STORM {
        let e = r.bob.element().await;
        assert_eq!(e.name, "presence", "{}", e.to_xml_string());
        match e.attr("type") {
            None => {
                assert_eq!(statuses(&e), vec![110]);
                echoed += 1;
            }
            Some("error") => {
                assert_eq!(
                    error_condition(&e).as_deref(),
                    Some("policy-violation"),
                    "{}",
                    e.to_xml_string()
                );
                assert_eq!(error_type(&e).as_deref(), Some("wait"));
                refused += 1;
            }
            other => panic!("unexpected presence type {other:?}"),
        }
    }
    r.bob.expect_quiet(ROOM).await;
    println!("presence storm: {STORM} sent, {echoed} reflected, {refused} refused");
    assert!(echoed >= 40, "the burst allowance passes: {echoed}");
    assert!(refused > 0, "a storm must be cut short");
    // The others saw exactly the reflected updates, in order, and nothing else.
    for c in [&mut r.owner, &mut r.alice] {
        let seen = c.until_pong(ROOM).await;
        assert_eq!(seen.len(), echoed, "{}", dump(&seen));
        let mut last = -1i64;
        for p in &seen {
            assert_eq!(p.attr("from"), Some(format!("{ROOM}/bob").as_str()));
            let n: i64 = p
                .child_text("status", ns::CLIENT)
                .unwrap()
                .trim_start_matches("update ")
                .parse()
                .unwrap();
            assert!(n > last, "out of order");
            last = n;
        }
    }
    still_serving(&mut r, "after the storm").await;
    srv.shutdown().await;
}
