//! What a Jitsi-shaped token host (docker-jitsi-meet's `AUTH_TYPE=jwt` environment) offers on
//! each transport, and the exact bytes of its SASL failures: lib-jitsi-meet (Strophe.js)
//! picks OAUTHBEARER whenever it is offered, so WebSocket and BOSH offer only ANONYMOUS with
//! the URL's `?token=`; TCP keeps OAUTHBEARER; `oauthbearer_over_http` brings it back on
//! HTTP. lib-jitsi-meet reads the failure reason with a regular expression that expects
//! `<failure …><not-allowed/><text>REASON</text></failure>` in the raw frame.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::SocketAddr;

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use rookery_proto::{Element, ns};
use rookery_server::Config;
use rookery_server::store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const DOMAIN: &str = "meet.jitsi";

/// docker-jitsi-meet's JWT environment, every listener on a free loopback port.
fn jitsi_jwt_config() -> Config {
    jitsi_env_config(&[
        ("ENABLE_AUTH", "1"),
        ("AUTH_TYPE", "jwt"),
        ("JWT_APP_ID", "jitsi-app"),
        ("JWT_APP_SECRET", "jitsi-app-secret"),
        ("JICOFO_AUTH_PASSWORD", "focus-password"),
        ("JVB_AUTH_PASSWORD", "jvb-password"),
        ("PUBLIC_URL", "https://meet.example.com"),
    ])
}

async fn server(cfg: Config) -> rookery_server::Running {
    rookery_server::start_with_store(cfg, Store::in_memory().unwrap())
        .await
        .unwrap()
}

fn mechanisms(features: &Element) -> Vec<String> {
    features
        .get_child("mechanisms", ns::SASL)
        .map(|m| m.children().map(|c| c.text()).collect())
        .unwrap_or_default()
}

/// A WebSocket on `/xmpp-websocket?token=…`: its frames as text, in order.
struct Ws(
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
);

impl Ws {
    async fn connect(addr: SocketAddr, query: &str) -> Ws {
        let mut req = format!("ws://{addr}/xmpp-websocket{query}")
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", "xmpp".parse().unwrap());
        let (io, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        Ws(io)
    }

    async fn send(&mut self, text: &str) {
        self.0.send(Message::text(text)).await.unwrap();
    }

    async fn frame(&mut self) -> String {
        loop {
            match tokio::time::timeout(STEP, self.0.next()).await.unwrap() {
                Some(Ok(Message::Text(t))) => return t.as_str().to_owned(),
                Some(Ok(_)) => continue,
                other => panic!("connection ended: {other:?}"),
            }
        }
    }

    /// Opens the stream and returns the offered mechanisms.
    async fn open(&mut self) -> Vec<String> {
        self.send(&format!(
            "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{DOMAIN}' version='1.0'/>"
        ))
        .await;
        let open = parse_element(&self.frame().await);
        assert!(open.is("open", ns::FRAMING), "{}", open.to_xml_string());
        mechanisms(&parse_element(&self.frame().await))
    }
}

/// One BOSH session-creation request; returns the offered mechanisms.
async fn bosh_mechanisms(addr: SocketAddr) -> Vec<String> {
    let body = format!(
        "<body rid='1' to='{DOMAIN}' xml:lang='en' ver='1.11' xmpp:version='1.0' wait='5' hold='1' \
         xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'/>"
    );
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST /http-bind?room=standup&token=x HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    tokio::time::timeout(STEP, s.read_to_string(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let (_, reply) = raw.split_once("\r\n\r\n").unwrap();
    let body = parse_element(reply);
    mechanisms(body.get_child("features", ns::STREAM).unwrap())
}

/// TCP: open, STARTTLS if offered without mechanisms, and read the mechanisms.
async fn tcp_mechanisms(addr: SocketAddr) -> (Vec<String>, bool) {
    let mut c = connect(addr).await;
    let f = c.open_to(DOMAIN).await;
    (mechanisms(&f), f.has_child("starttls", ns::TLS))
}

#[tokio::test]
async fn jitsi_token_host_offers_anonymous_on_http_and_oauthbearer_on_tcp() {
    let srv = server(jitsi_jwt_config()).await;
    let http = srv.http_addr().unwrap();

    let mut ws = Ws::connect(http, "?room=standup&token=abc").await;
    assert_eq!(ws.open().await, ["ANONYMOUS"], "WebSocket");
    assert_eq!(bosh_mechanisms(http).await, ["ANONYMOUS"], "BOSH");

    // TCP: the bearer token is never offered in the clear; after STARTTLS it is.
    let (clear, starttls) = tcp_mechanisms(srv.c2s_addr().unwrap()).await;
    assert!(starttls);
    assert!(!clear.contains(&"OAUTHBEARER".to_owned()), "{clear:?}");
    srv.shutdown().await;

    // Trusting the network (a TLS-terminating proxy) shows what TCP offers once secure.
    let mut cfg = jitsi_jwt_config();
    cfg.allow_unencrypted_plain_auth = true;
    let srv = server(cfg).await;
    let (tcp, _) = tcp_mechanisms(srv.c2s_addr().unwrap()).await;
    assert_eq!(tcp, ["OAUTHBEARER", "ANONYMOUS"], "TCP");
    let mut ws = Ws::connect(srv.http_addr().unwrap(), "").await;
    assert_eq!(ws.open().await, ["ANONYMOUS"], "WebSocket");
    srv.shutdown().await;
}

#[tokio::test]
async fn oauthbearer_over_http_offers_the_bearer_mechanism_on_websocket_and_bosh() {
    let mut cfg = jitsi_jwt_config();
    for host in &mut cfg.hosts {
        if let Some(t) = host.token.as_mut() {
            t.oauthbearer_over_http = true;
        }
    }
    let srv = server(cfg).await;
    let http = srv.http_addr().unwrap();
    let mut ws = Ws::connect(http, "").await;
    assert_eq!(ws.open().await, ["OAUTHBEARER", "ANONYMOUS"]);
    assert_eq!(bosh_mechanisms(http).await, ["OAUTHBEARER", "ANONYMOUS"]);
    srv.shutdown().await;
}

#[tokio::test]
async fn sasl_failure_reason_is_a_bare_text_element_as_lib_jitsi_meet_reads_it() {
    let srv = server(jitsi_jwt_config()).await;
    let http = srv.http_addr().unwrap();
    for (query, reason) in [
        ("?room=standup&token=a.b", "Invalid token: 2 segments"),
        ("?room=standup", "token required"),
    ] {
        let mut ws = Ws::connect(http, query).await;
        ws.open().await;
        ws.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>")
            .await;
        let frame = ws.frame().await;
        // lib-jitsi-meet: /<failure.*><not-allowed\/><text>(.*)<\/text><\/failure>/
        let start = frame
            .find("><not-allowed/><text>")
            .unwrap_or_else(|| panic!("{query}: not in lib-jitsi-meet's shape: {frame}"));
        assert!(frame.starts_with("<failure"), "{frame}");
        let text = &frame[start + "><not-allowed/><text>".len()..];
        let text = text
            .strip_suffix("</text></failure>")
            .unwrap_or_else(|| panic!("{query}: {frame}"));
        assert!(
            text.starts_with(reason),
            "{query}: reason {text:?}, want {reason:?}"
        );
        assert!(!text.contains('&'), "{query}: escaped reason {text:?}");
    }
    srv.shutdown().await;
}
