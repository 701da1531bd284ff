//! The caps on hibernating stream-management sessions: when one more connection drops and
//! a cap is reached, the oldest hibernating session (of that user, or overall) ends and can
//! no longer be resumed, while the newer one still can.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crate::common::*;
use crate::sm_support::*;
use rookery_proto::{Element, ns};
use rookery_server::metrics::SmCounters;
use tokio::net::TcpStream;

/// Waits, within one test step, until `cond` holds for the server's SM counters (the server
/// notices dropped connections on its own schedule).
async fn until(srv: &rookery_server::Running, what: &str, cond: impl Fn(&SmCounters) -> bool) {
    let deadline = tokio::time::Instant::now() + STEP;
    while !cond(srv.sm_counters()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A logged-in, bound TCP client with resumable SM: (client, resumption id).
async fn resumable(
    srv: &rookery_server::Running,
    user: Option<(&str, &str)>,
    resource: &str,
) -> (Raw<TcpStream>, String) {
    let mut c = connect(srv.c2s_addr().unwrap()).await;
    tcp_authenticate(&mut c, user).await;
    tcp_bind(&mut c, resource).await;
    let id = tcp_enable(&mut c).await;
    (c, id)
}

/// What a new stream of `user` gets when it asks to resume `id`.
async fn try_resume(
    srv: &rookery_server::Running,
    user: Option<(&str, &str)>,
    id: &str,
) -> Element {
    let mut c = connect(srv.c2s_addr().unwrap()).await;
    tcp_authenticate(&mut c, user).await;
    c.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{id}' h='0'/>"
    ))
    .await;
    c.element().await
}

fn is_failed_not_found(e: &Element) -> bool {
    e.is("failed", ns::SM) && e.has_child("item-not-found", ns::STANZAS)
}

#[tokio::test]
async fn a_users_oldest_hibernating_session_makes_room_for_the_newest() {
    let srv = start(
        test_config("smacks_max_hibernated_sessions = 1"),
        &[("alice", "pa")],
    )
    .await;
    let alice = Some(("alice", "pa"));
    let (phone, old_id) = resumable(&srv, alice, "phone").await;
    let (laptop, new_id) = resumable(&srv, alice, "laptop").await;
    drop(phone);
    until(&srv, "the phone session to hibernate", |m| {
        m.hibernating() == 1
    })
    .await;
    drop(laptop);
    until(&srv, "the phone session to be evicted", |m| {
        m.evicted.load(Relaxed) == 1 && m.hibernated.load(Relaxed) == 2 && m.hibernating() == 1
    })
    .await;

    let r = try_resume(&srv, alice, &old_id).await;
    assert!(is_failed_not_found(&r), "{}", r.to_xml_string());
    let r = try_resume(&srv, alice, &new_id).await;
    assert!(r.is("resumed", ns::SM), "{}", r.to_xml_string());
    srv.shutdown().await;
}

#[tokio::test]
async fn the_server_wide_cap_bounds_anonymous_sessions_too() {
    // Every anonymous login is a user of its own: only the total cap applies.
    let srv = start(
        test_config("smacks_max_hibernated_sessions = 1\nsmacks_max_hibernated_total = 2"),
        &[],
    )
    .await;
    let mut ids = Vec::new();
    for n in 1..=3u64 {
        let (guest, id) = resumable(&srv, None, "r").await;
        ids.push(id);
        drop(guest);
        until(&srv, "the guest session to hibernate", |m| {
            m.hibernated.load(Relaxed) == n
        })
        .await;
    }
    until(&srv, "the oldest guest session to be evicted", |m| {
        m.evicted.load(Relaxed) == 1 && m.hibernating() == 2
    })
    .await;
    let r = try_resume(&srv, None, &ids[0]).await;
    assert!(is_failed_not_found(&r), "{}", r.to_xml_string());
    for id in &ids[1..] {
        let r = try_resume(&srv, None, id).await;
        assert!(r.is("resumed", ns::SM), "{}", r.to_xml_string());
    }
    srv.shutdown().await;
}
