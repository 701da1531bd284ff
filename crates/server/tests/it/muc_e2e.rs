//! MUC over real sockets: create (201), join order, groupchat to everyone, IQ forwarding
//! through occupant JIDs, leave.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::*;
use rookery_proto::ns;

const MUC: &str = "[[muc]]\ndomain = \"conference.localhost\"\nmuc_room_locking = false\n";

fn statuses(p: &rookery_proto::Element) -> Vec<String> {
    p.get_child("x", ns::MUC_USER)
        .map(|x| {
            x.children()
                .filter(|c| c.name == "status")
                .filter_map(|c| c.attr("code").map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn create_join_groupchat_iq_forwarding_and_leave() {
    let mut cfg = crate::common::test_config("");
    let extra = rookery_server::Config::parse(MUC, "muc").unwrap();
    cfg.mucs = extra.mucs;
    let srv = start(cfg, &[]).await;
    let addr = srv.c2s_addr().unwrap();
    let mut a = connect(addr).await;
    let mut b = connect(addr).await;
    let ja = a.login_anonymous(Some("a")).await;
    let jb = b.login_anonymous(Some("b")).await;

    // The service answers disco#info.
    let info = a.iq("<iq type='get' id='d' to='conference.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", "d").await;
    assert!(
        info.get_child("query", ns::DISCO_INFO)
            .unwrap()
            .children()
            .any(|f| f.attr("var") == Some(ns::MUC))
    );

    a.send("<presence to='room@conference.localhost/alice'><x xmlns='http://jabber.org/protocol/muc'/><nick xmlns='http://jabber.org/protocol/nick'>Alice</nick></presence>").await;
    let self_a = a.element().await;
    assert_eq!(self_a.attr("from"), Some("room@conference.localhost/alice"));
    let codes = statuses(&self_a);
    assert!(
        codes.contains(&"110".to_owned()) && codes.contains(&"201".to_owned()),
        "{codes:?}"
    );

    b.send("<presence to='room@conference.localhost/bob'><x xmlns='http://jabber.org/protocol/muc'/><stats xmlns='urn:jitsi' v='1'><c/></stats></presence>").await;
    // Bob first sees Alice (with her extension), then himself with 110.
    let mut saw_alice = false;
    loop {
        let p = b.element().await;
        if p.name != "presence" {
            continue;
        }
        if p.attr("from") == Some("room@conference.localhost/alice") {
            assert!(p.has_child("nick", "http://jabber.org/protocol/nick"));
            saw_alice = true;
        } else if p.attr("from") == Some("room@conference.localhost/bob") {
            assert!(saw_alice, "occupants must come before the self-presence");
            assert!(statuses(&p).contains(&"110".to_owned()));
            break;
        }
    }
    // Alice sees Bob join, with his extension intact.
    let pb = loop {
        let e = a.element().await;
        if e.name == "presence" {
            break e;
        }
    };
    assert_eq!(pb.attr("from"), Some("room@conference.localhost/bob"));
    assert!(
        pb.get_child("stats", "urn:jitsi")
            .unwrap()
            .has_child("c", "urn:jitsi")
    );

    // Groupchat reaches everyone, the sender included.
    a.send("<message to='room@conference.localhost' type='groupchat' id='g1'><body>hello room</body></message>").await;
    for c in [&mut a, &mut b] {
        let m = loop {
            let e = c.element().await;
            if e.name == "message" && e.has_child("body", ns::CLIENT) {
                break e;
            }
        };
        assert_eq!(m.attr("from"), Some("room@conference.localhost/alice"));
        assert_eq!(m.child_text("body", ns::CLIENT).unwrap(), "hello room");
    }

    // An IQ to an occupant JID reaches the real JID from the sender's occupant JID, and the
    // answer comes back the same way.
    a.send("<iq type='set' id='j1' to='room@conference.localhost/bob'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate'/></iq>").await;
    let fwd = loop {
        let e = b.element().await;
        if e.name == "iq" {
            break e;
        }
    };
    assert_eq!(fwd.attr("from"), Some("room@conference.localhost/alice"));
    assert_eq!(fwd.attr("to"), Some(jb.as_str()));
    assert!(fwd.has_child("jingle", "urn:xmpp:jingle:1"));
    b.send(&format!(
        "<iq type='result' id='{}' to='room@conference.localhost/alice'/>",
        fwd.attr("id").unwrap()
    ))
    .await;
    let back = loop {
        let e = a.element().await;
        if e.name == "iq" {
            break e;
        }
    };
    assert_eq!(back.attr("type"), Some("result"));
    assert_eq!(back.attr("id"), Some("j1"));
    assert_eq!(back.attr("from"), Some("room@conference.localhost/bob"));
    assert_eq!(back.attr("to"), Some(ja.as_str()));

    // Bob disconnects: Alice sees him leave (unavailable presence sent on his behalf).
    drop(b);
    let gone = loop {
        let e = a.element().await;
        if e.name == "presence" {
            break e;
        }
    };
    assert_eq!(gone.attr("from"), Some("room@conference.localhost/bob"));
    assert_eq!(gone.attr("type"), Some("unavailable"));
    srv.shutdown().await;
}
