//! Stream management (XEP-0198) over WebSocket with an independent client
//! (tokio-tungstenite) and a TCP client as the other party: a connection cut mid-conversation
//! and resumed gets every message exactly once and in order; a session whose hibernation
//! expires bounces what it never acknowledged and leaves its MUC room.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use crate::common::*;
use crate::sm_support::*;
use rookery_proto::{Jid, ns};

const HTTP: &str = "[http]\nlisten = [\"127.0.0.1:0\"]\n";

#[tokio::test]
async fn a_cut_connection_resumes_and_gets_every_message_once_in_order() {
    let srv = start(test_config(HTTP), &[("bob", "pb")]).await;
    let http = srv.http_addr().unwrap();
    let mut w = Ws::connect(http).await;
    let f = w.authenticate().await;
    assert!(f.has_child("sm", ns::SM), "{}", f.to_xml_string());
    let wjid = w.bind("web").await;
    let (id, max) = w.enable().await;
    assert_eq!(max, 60, "the default smacks_hibernation_time");
    assert!(id.len() >= 32, "128 random bits: {id}");

    let mut t = connect(srv.c2s_addr().unwrap()).await;
    let tjid = t.login_plain("bob", "pb", Some("tcp")).await;

    // The web client speaks too: the server counts what it handled.
    for b in ["w1", "w2"] {
        w.send(&format!(
            "<message xmlns='jabber:client' to='{tjid}' type='chat'><body>{b}</body></message>"
        ))
        .await;
    }
    for b in ["w1", "w2"] {
        assert_eq!(body(&t.element().await), b);
    }

    for i in 1..=5 {
        t.send(&chat(&wjid, &format!("n{i}"))).await;
    }
    for i in 1..=3 {
        assert_eq!(body(&w.stanza().await), format!("n{i}"));
    }
    // The network goes away mid-conversation; bob keeps talking.
    w.cut();
    for i in 6..=10 {
        t.send(&chat(&wjid, &format!("n{i}"))).await;
    }

    let mut w2 = Ws::connect(http).await;
    let f = w2.authenticate().await;
    assert!(f.has_child("sm", ns::SM));
    w2.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{id}' h='3'/>"
    ))
    .await;
    let r = w2.element().await;
    assert!(r.is("resumed", ns::SM), "{}", r.to_xml_string());
    assert_eq!(r.attr("previd"), Some(id.as_str()));
    assert_eq!(r.attr("h"), Some("2"), "the server handled w1 and w2");

    // Redelivery, then the conversation continues live.
    t.send(&chat(&wjid, "n11")).await;
    let mut got = Vec::new();
    let domain = wjid.split(['@', '/']).nth(1).unwrap().to_owned();
    loop {
        let m = w2.stanza().await;
        assert_eq!(m.attr("to"), Some(wjid.as_str()));
        got.push(body(&m));
        // What was queued before the resumption comes with a delay stamp (XEP-0203) from
        // the server that held it; what is sent live afterwards does not.
        let delay = m.get_child("delay", ns::DELAY);
        if body(&m) == "n11" {
            assert!(delay.is_none(), "{}", m.to_xml_string());
            break;
        }
        let delay = delay.unwrap_or_else(|| panic!("no delay: {}", m.to_xml_string()));
        assert_eq!(delay.attr("from"), Some(domain.as_str()));
        let stamp = delay.attr("stamp").unwrap();
        assert!(
            stamp.len() >= 20 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "{stamp}"
        );
    }
    let want: Vec<String> = (4..=11).map(|i| format!("n{i}")).collect();
    assert_eq!(got, want);
    // Nothing else is pending, and the inbound count went on from 2.
    let (h, extra) = w2.sync().await;
    assert!(extra.is_empty(), "duplicates: {extra:?}");
    assert_eq!(h, 2);

    // The resumed stream still is the same JID, both ways.
    w2.send(&format!(
        "<message xmlns='jabber:client' to='{tjid}' type='chat'><body>w3</body></message>"
    ))
    .await;
    let m = t.element().await;
    assert_eq!(
        (m.attr("from"), body(&m)),
        (Some(wjid.as_str()), "w3".into())
    );
    let (h, _) = w2.sync().await;
    assert_eq!(h, 3);
    // Acknowledging everything the server sent (n4..n11 plus nothing else) is accepted.
    w2.send("<a xmlns='urn:xmpp:sm:3' h='11'/>").await;
    let (h, extra) = w2.sync().await;
    assert_eq!((h, extra.len()), (3, 0));
    let m = srv.sm_counters();
    assert_eq!(m.resumed.load(Ordering::Relaxed), 1);
    srv.shutdown().await;
}

const MUC: &str = "[[muc]]\ndomain = \"conference.localhost\"\nmuc_room_locking = false\n";

#[tokio::test]
async fn expired_hibernation_bounces_to_the_senders_and_leaves_the_room() {
    let mut cfg = test_config(&format!("smacks_hibernation_time = 1\n{HTTP}"));
    cfg.mucs = rookery_server::Config::parse(MUC, "muc").unwrap().mucs;
    let srv = start(cfg, &[("bob", "pb")]).await;
    let mut w = Ws::connect(srv.http_addr().unwrap()).await;
    w.authenticate().await;
    let wjid = w.bind("web").await;
    let (_, max) = w.enable().await;
    assert_eq!(max, 1);
    // Stanzas the web client handled since <enable/>.
    let mut handled = 0u32;

    w.send("<presence xmlns='jabber:client' to='room@conference.localhost/web'><x xmlns='http://jabber.org/protocol/muc'/></presence>").await;
    loop {
        let p = w.stanza().await;
        handled += 1;
        if p.name == "presence" && p.attr("from") == Some("room@conference.localhost/web") {
            break;
        }
    }
    let mut t = connect(srv.c2s_addr().unwrap()).await;
    let tjid = t.login_plain("bob", "pb", Some("tcp")).await;
    t.send("<presence to='room@conference.localhost/bob'><x xmlns='http://jabber.org/protocol/muc'/></presence>").await;
    loop {
        let p = t.element().await;
        if p.attr("from") == Some("room@conference.localhost/bob") {
            break;
        }
    }
    loop {
        let p = w.stanza().await;
        handled += 1;
        if p.attr("from") == Some("room@conference.localhost/bob") {
            break;
        }
    }

    // n1 is read and acknowledged; the rest never will be.
    t.send(&chat(&wjid, "n1")).await;
    assert_eq!(body(&w.stanza().await), "n1");
    handled += 1;
    w.send(&format!("<a xmlns='urn:xmpp:sm:3' h='{handled}'/>"))
        .await;
    let (_, extra) = w.sync().await;
    assert!(extra.is_empty());
    w.cut();

    t.send(&chat(&wjid, "n2")).await;
    t.send(&format!(
        "<message to='{wjid}' id='n3'><body>n3</body></message>"
    ))
    .await;
    t.send(&format!(
        "<iq type='get' id='q1' to='{wjid}'><query xmlns='jabber:iq:version'/></iq>"
    ))
    .await;
    t.send("<message to='room@conference.localhost' type='groupchat'><body>g1</body></message>")
        .await;
    t.send(&format!("<presence to='{wjid}'/>")).await;

    // Bob hears back about everything the web client never acknowledged, and sees it
    // leave the room; nothing about n1, the groupchat or the presence.
    let want: BTreeSet<(String, String)> = [
        ("n2", "recipient-unavailable"),
        ("n3", "recipient-unavailable"),
        ("q1", "service-unavailable"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    let mut errors = BTreeSet::new();
    let mut left_room = false;
    while errors.len() < want.len() || !left_room {
        let e = t.element().await;
        match e.attr("type") {
            Some("error") => {
                assert_eq!(e.attr("from"), Some(wjid.as_str()), "{}", e.to_xml_string());
                assert_eq!(e.attr("to"), Some(tjid.as_str()));
                let id = e.attr("id").unwrap_or_default().to_owned();
                assert!(
                    errors.insert((id, error_condition(&e).unwrap())),
                    "bounced twice: {}",
                    e.to_xml_string()
                );
            }
            Some("unavailable")
                if e.name == "presence"
                    && e.attr("from") == Some("room@conference.localhost/web") =>
            {
                left_room = true;
            }
            _ => {}
        }
    }
    assert_eq!(errors, want);
    assert!(!srv.is_bound(&Jid::parse(&wjid).unwrap()));
    assert!(srv.no_resumable_sessions());
    let m = srv.sm_counters();
    assert_eq!(m.expired.load(Ordering::Relaxed), 1);
    assert_eq!(m.bounced.load(Ordering::Relaxed), 3);
    assert_eq!(m.hibernating(), 0);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_guest_session_resumes_only_on_its_own_transport() {
    let srv = start(test_config(HTTP), &[]).await;
    let http = srv.http_addr().unwrap();
    let mut w = Ws::connect(http).await;
    w.authenticate().await;
    let wjid = w.bind("web").await;
    let (id, _) = w.enable().await;
    w.cut();

    // Another guest over TCP knows the id but is not on the same transport.
    let mut t = connect(srv.c2s_addr().unwrap()).await;
    tcp_authenticate(&mut t, None).await;
    t.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{id}' h='0'/>"
    ))
    .await;
    let f = t.element().await;
    assert!(
        f.is("failed", ns::SM) && f.has_child("item-not-found", ns::STANZAS),
        "{}",
        f.to_xml_string()
    );
    // It may still bind a session of its own.
    let own = tcp_bind(&mut t, "tcp").await;
    assert_ne!(own, wjid);

    // A guest over WebSocket takes the old JID over.
    let mut w2 = Ws::connect(http).await;
    w2.authenticate().await;
    w2.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{id}' h='0'/>"
    ))
    .await;
    let r = w2.element().await;
    assert!(r.is("resumed", ns::SM), "{}", r.to_xml_string());
    t.send(&chat(&wjid, "hello again")).await;
    let m = w2.stanza().await;
    assert_eq!(body(&m), "hello again");
    srv.shutdown().await;
}
