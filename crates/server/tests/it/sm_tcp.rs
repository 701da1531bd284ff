//! Stream management (XEP-0198) over TCP with raw clients: account resumption, refusals
//! (another account, unknown id, before authentication), taking over a live connection, the
//! ack-request cadence, acknowledging too much, the bounded queue, and a clean close.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::*;
use crate::sm_support::*;
use rookery_proto::{Element, ns};
use tokio::net::TcpStream;

fn is_failed_not_found(e: &Element) -> bool {
    e.is("failed", ns::SM) && e.has_child("item-not-found", ns::STANZAS)
}

/// Alice (account) logged in over TCP with SM enabled; returns the client, JID and id.
async fn alice(srv: &rookery_server::Running) -> (Raw<TcpStream>, String, String) {
    let mut a = connect(srv.c2s_addr().unwrap()).await;
    let f = tcp_authenticate(&mut a, Some(("alice", "pa"))).await;
    assert!(f.has_child("sm", ns::SM), "{}", f.to_xml_string());
    let jid = tcp_bind(&mut a, "phone").await;
    let id = tcp_enable(&mut a).await;
    (a, jid, id)
}

async fn bob(srv: &rookery_server::Running) -> (Raw<TcpStream>, String) {
    let mut b = connect(srv.c2s_addr().unwrap()).await;
    let jid = b.login_plain("bob", "pb", Some("desk")).await;
    (b, jid)
}

const ACCOUNTS: &[(&str, &str)] = &[("alice", "pa"), ("bob", "pb"), ("mallory", "pm")];

#[tokio::test]
async fn an_account_resumes_and_foreign_or_unknown_ids_fail() {
    let srv = start(test_config(""), ACCOUNTS).await;
    let (mut a, ajid, id) = alice(&srv).await;
    let (mut b, _) = bob(&srv).await;
    for m in ["a1", "a2", "a3"] {
        b.send(&chat(&ajid, m)).await;
    }
    for m in ["a1", "a2"] {
        assert_eq!(body(&a.element().await), m);
    }
    drop(a);
    b.send(&chat(&ajid, "a4")).await;

    // Mallory has the id but is someone else: same answer as for an unknown id.
    let mut m = connect(srv.c2s_addr().unwrap()).await;
    tcp_authenticate(&mut m, Some(("mallory", "pm"))).await;
    m.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{id}' h='0'/>"
    ))
    .await;
    let f = m.element().await;
    assert!(is_failed_not_found(&f), "{}", f.to_xml_string());

    // Before authentication, <resume/> is not even considered.
    let mut x = connect(srv.c2s_addr().unwrap()).await;
    x.open().await;
    x.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{id}' h='0'/>"
    ))
    .await;
    assert_eq!(x.stream_error().await.0, "not-authorized");

    // Alice, back: an unknown id fails, the right one resumes.
    let mut a2 = connect(srv.c2s_addr().unwrap()).await;
    tcp_authenticate(&mut a2, Some(("alice", "pa"))).await;
    a2.send("<resume xmlns='urn:xmpp:sm:3' previd='00000000000000000000000000000000' h='0'/>")
        .await;
    let f = a2.element().await;
    assert!(is_failed_not_found(&f), "{}", f.to_xml_string());
    a2.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{id}' h='2'/>"
    ))
    .await;
    let r = a2.element().await;
    assert!(r.is("resumed", ns::SM), "{}", r.to_xml_string());
    assert_eq!(r.attr("h"), Some("0"));
    for m in ["a3", "a4"] {
        let e = a2.element().await;
        assert_eq!(body(&e), m);
        // resent from the unacknowledged queue: stamped with when it was queued
        let d = e.get_child("delay", ns::DELAY).expect("a delay stamp");
        assert_eq!(d.attr("from"), Some("localhost"));
        assert!(d.attr("stamp").is_some_and(|s| s.ends_with('Z')));
    }
    let (_, extra) = tcp_sync(&mut a2).await;
    assert!(extra.is_empty(), "{extra:?}");
    let metrics = srv.sm_counters();
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(
        (
            metrics.resumed.load(Relaxed),
            metrics.resume_failed.load(Relaxed)
        ),
        (1, 2)
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn resuming_a_live_connection_takes_it_over() {
    let srv = start(test_config(""), ACCOUNTS).await;
    let (mut a, ajid, id) = alice(&srv).await;
    let (mut b, _) = bob(&srv).await;
    b.send(&chat(&ajid, "before")).await;
    assert_eq!(body(&a.element().await), "before");

    // The server has not noticed anything wrong with the first connection.
    let mut a2 = connect(srv.c2s_addr().unwrap()).await;
    tcp_authenticate(&mut a2, Some(("alice", "pa"))).await;
    a2.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{id}' h='0'/>"
    ))
    .await;
    let r = a2.element().await;
    assert!(r.is("resumed", ns::SM), "{}", r.to_xml_string());
    // Not acknowledged, so sent again.
    assert_eq!(body(&a2.element().await), "before");
    let (cond, text) = a.stream_error().await;
    assert_eq!(cond, "conflict");
    assert!(text.unwrap().contains("resumed"));

    b.send(&chat(&ajid, "after")).await;
    let e = a2.element().await;
    assert_eq!(body(&e), "after", "{}", e.to_xml_string());
    srv.shutdown().await;
}

#[tokio::test]
async fn a_connection_stuck_writing_still_hands_its_session_over() {
    let srv = start(test_config("smacks_max_unacked_stanzas = 100000"), ACCOUNTS).await;
    let (a, ajid, id) = alice(&srv).await;
    let (mut b, _) = bob(&srv).await;
    // Alice stops reading; far more than the socket buffers hold is sent to her, so the
    // server's write to her connection blocks.
    let filler = "x".repeat(8 * 1024);
    const N: usize = 1000;
    for i in 0..N {
        b.send(&format!(
            "<message to='{ajid}' type='chat' id='m{i}'><body>{i}</body><x xmlns='urn:filler'>{filler}</x></message>"
        ))
        .await;
    }
    let pong = b
        .iq(
            "<iq type='get' id='p' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
            "p",
        )
        .await;
    assert_eq!(pong.attr("type"), Some("result"));

    let mut a2 = connect(srv.c2s_addr().unwrap()).await;
    tcp_authenticate(&mut a2, Some(("alice", "pa"))).await;
    a2.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{id}' h='0'/>"
    ))
    .await;
    let r = a2.element().await;
    assert!(r.is("resumed", ns::SM), "{}", r.to_xml_string());
    for i in 0..N {
        let m = a2.element().await;
        assert_eq!(body(&m), i.to_string());
    }
    let (_, extra) = tcp_sync(&mut a2).await;
    assert!(extra.is_empty());
    drop(a);
    srv.shutdown().await;
}

#[tokio::test]
async fn the_server_asks_for_acks_after_n_stanzas() {
    let srv = start(test_config("smacks_max_unacked_stanzas = 3"), ACCOUNTS).await;
    let (mut a, ajid, _) = alice(&srv).await;
    let (mut b, _) = bob(&srv).await;
    for i in 1..=4 {
        b.send(&chat(&ajid, &format!("m{i}"))).await;
    }
    let mut seen = Vec::new();
    while seen.len() < 5 {
        let e = a.element().await;
        seen.push(if e.is("r", ns::SM) {
            "<r/>".into()
        } else {
            body(&e)
        });
    }
    assert_eq!(seen, ["m1", "m2", "m3", "<r/>", "m4"]);
    // Until the answer, no new request; after it, three unacknowledged stanzas ask again.
    a.send("<a xmlns='urn:xmpp:sm:3' h='4'/>").await;
    for i in 5..=7 {
        b.send(&chat(&ajid, &format!("m{i}"))).await;
    }
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let e = a.element().await;
        seen.push(if e.is("r", ns::SM) {
            "<r/>".into()
        } else {
            body(&e)
        });
    }
    assert_eq!(seen, ["m5", "m6", "m7", "<r/>"]);
    srv.shutdown().await;
}

#[tokio::test]
async fn acknowledging_more_than_was_sent_is_a_stream_error() {
    let srv = start(test_config(""), ACCOUNTS).await;
    let (mut a, ajid, _) = alice(&srv).await;
    let (mut b, _) = bob(&srv).await;
    b.send(&chat(&ajid, "m1")).await;
    assert_eq!(body(&a.element().await), "m1");
    a.send("<a xmlns='urn:xmpp:sm:3' h='5'/>").await;
    let err = loop {
        let e = a.element().await;
        if e.is("error", ns::STREAM) {
            break e;
        }
    };
    assert!(err.has_child("undefined-condition", ns::STREAM_ERRORS));
    assert_eq!(
        err.child_text("text", ns::STREAM_ERRORS).as_deref(),
        Some("You acknowledged 5 stanzas, but I only sent you 1 so far.")
    );
    let c = err.get_child("handled-count-too-high", ns::SM).unwrap();
    assert_eq!((c.attr("h"), c.attr("send-count")), (Some("5"), Some("1")));
    // Not a lost connection: the session ends at once and m1 goes back to bob.
    let e = b.element().await;
    assert_eq!(e.attr("type"), Some("error"));
    assert_eq!(
        error_condition(&e).as_deref(),
        Some("recipient-unavailable")
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn a_full_queue_ends_the_stream_and_bounces_everything_unacknowledged() {
    let srv = start(
        test_config("smacks_max_queue_size = 16\nsmacks_max_unacked_stanzas = 100"),
        ACCOUNTS,
    )
    .await;
    let (mut a, ajid, _) = alice(&srv).await;
    let (mut b, _) = bob(&srv).await;
    for i in 1..=20 {
        b.send(&chat(&ajid, &format!("m{i}"))).await;
    }
    assert_eq!(a.stream_error().await.0, "resource-constraint");
    let mut bounced = Vec::new();
    while bounced.len() < 20 {
        let e = b.element().await;
        assert_eq!(e.attr("type"), Some("error"), "{}", e.to_xml_string());
        bounced.push(e.attr("id").unwrap().to_owned());
    }
    bounced.sort_by_key(|id| id[1..].parse::<u32>().unwrap());
    let want: Vec<String> = (1..=20).map(|i| format!("m{i}")).collect();
    assert_eq!(bounced, want, "each message bounced exactly once");
    srv.shutdown().await;
}

#[tokio::test]
async fn a_clean_close_bounces_what_was_not_acknowledged() {
    let srv = start(test_config(""), ACCOUNTS).await;
    let (mut a, ajid, id) = alice(&srv).await;
    let (mut b, _) = bob(&srv).await;
    b.send(&chat(&ajid, "m1")).await;
    b.send(&chat(&ajid, "m2")).await;
    assert_eq!(body(&a.element().await), "m1");
    assert_eq!(body(&a.element().await), "m2");
    a.send("<a xmlns='urn:xmpp:sm:3' h='1'/></stream:stream>")
        .await;
    let e = b.element().await;
    assert_eq!(
        (e.attr("id"), error_condition(&e).as_deref()),
        (Some("m2"), Some("recipient-unavailable"))
    );
    // No hibernation after a clean close: the id is gone.
    let mut a2 = connect(srv.c2s_addr().unwrap()).await;
    tcp_authenticate(&mut a2, Some(("alice", "pa"))).await;
    a2.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{id}' h='2'/>"
    ))
    .await;
    assert!(is_failed_not_found(&a2.element().await));
    srv.shutdown().await;
}
