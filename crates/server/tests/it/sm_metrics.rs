//! `/metrics` counts every transport from the shared counters in the core: TCP next to
//! WebSocket, sessions by host and mechanism, SASL failures by condition, stanzas by kind,
//! stream management.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::SocketAddr;

use crate::common::*;
use crate::sm_support::*;
use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HTTP: &str = "[http]\nlisten = [\"127.0.0.1:0\"]\n";

async fn scrape(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(STEP, s.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text.split_once("\r\n\r\n").unwrap().1.to_owned()
}

#[tokio::test]
async fn metrics_cover_every_transport() {
    let srv = start(test_config(HTTP), &[("bob", "pb")]).await;
    let http = srv.http_addr().unwrap();

    // A wrong password over TCP, then a good one.
    let mut bad = connect(srv.c2s_addr().unwrap()).await;
    bad.open().await;
    let payload = base64::engine::general_purpose::STANDARD.encode("\0bob\0wrong");
    bad.send(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>"
    ))
    .await;
    assert_eq!(bad.element().await.name, "failure");
    let mut t = connect(srv.c2s_addr().unwrap()).await;
    let tjid = t.login_plain("bob", "pb", Some("tcp")).await;

    // A guest over WebSocket with stream management.
    let mut w = Ws::connect(http).await;
    w.authenticate().await;
    let wjid = w.bind("web").await;
    w.enable().await;
    t.send(&chat(&wjid, "hello")).await;
    assert_eq!(body(&w.stanza().await), "hello");
    w.send(&format!(
        "<message xmlns='jabber:client' to='{tjid}' type='chat'><body>hi</body></message>"
    ))
    .await;
    assert_eq!(body(&t.element().await), "hi");
    t.send("<presence/>").await;
    let pong = t
        .iq(
            "<iq type='get' id='p' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
            "p",
        )
        .await;
    assert_eq!(pong.attr("type"), Some("result"));

    let text = scrape(http).await;
    for line in [
        "rookery_connections_total{transport=\"tcp\"} 2",
        "rookery_connections_total{transport=\"websocket\"} 1",
        "rookery_connections{transport=\"websocket\"} 1",
        "rookery_authenticated_total{transport=\"tcp\"} 1",
        "rookery_sessions_total{host=\"localhost\",mechanism=\"PLAIN\"} 1",
        "rookery_sessions_total{host=\"localhost\",mechanism=\"ANONYMOUS\"} 1",
        "rookery_sasl_failures_total{reason=\"not-authorized\"} 1",
        "rookery_stanzas_in_total{kind=\"message\"} 2",
        "rookery_stanzas_in_total{kind=\"presence\"} 1",
        "rookery_stanzas_in_total{kind=\"iq\"} 1",
        "rookery_stanzas_out_total{kind=\"message\"} 2",
        "rookery_sm_enabled_total 1",
        "rookery_sm_hibernating 0",
        "rookery_bound_sessions 2",
        "# TYPE rookery_sessions_total counter",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
    }
    srv.shutdown().await;
}
