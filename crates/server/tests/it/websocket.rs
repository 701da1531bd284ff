//! XMPP over WebSocket (RFC 7395) through real sockets with an independent WebSocket client
//! (tokio-tungstenite): sub-protocol negotiation, login, messages with a TCP client, bad
//! input, tenant paths, shutdown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::SocketAddr;

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use rookery_proto::{Element, Limits, StreamEvent, StreamParser, ns};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const HTTP: &str = "[http]\nlisten = [\"127.0.0.1:0\"]\nwebsocket_frame_limit = 2048\n";

const OPEN: &str =
    "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>";

struct Ws {
    io: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the server sent in one message.
#[derive(Debug)]
enum Got {
    El(Element, String),
    Closed,
}

async fn ws_connect(addr: SocketAddr, path: &str) -> Ws {
    let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "xmpp".parse().unwrap());
    let (io, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        resp.headers()
            .get("Sec-WebSocket-Protocol")
            .map(|v| v.to_str().unwrap()),
        Some("xmpp")
    );
    Ws { io }
}

impl Ws {
    async fn send(&mut self, text: &str) {
        self.io.send(Message::text(text)).await.unwrap();
    }

    async fn next(&mut self) -> Got {
        loop {
            let m = tokio::time::timeout(STEP, self.io.next())
                .await
                .expect("timed out waiting for the server");
            match m {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Got::Closed,
                Some(Ok(Message::Text(t))) => {
                    let mut p = StreamParser::new_fragments(
                        Limits {
                            max_stanza_bytes: 1 << 20,
                            max_depth: 64,
                        },
                        "",
                    );
                    p.feed(t.as_bytes());
                    match p.next_event().unwrap() {
                        Some(StreamEvent::Element(e)) => {
                            assert!(p.next_event().unwrap().is_none(), "two elements in {t}");
                            return Got::El(e, t.as_str().to_owned());
                        }
                        other => panic!("not one element: {t}: {other:?}"),
                    }
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    async fn element(&mut self) -> Element {
        match self.next().await {
            Got::El(e, _) => e,
            Got::Closed => panic!("connection closed"),
        }
    }

    /// Opens the stream; returns the `<open/>` reply and the features.
    async fn open(&mut self) -> (Element, Element) {
        self.send(OPEN).await;
        let open = self.element().await;
        assert!(open.is("open", ns::FRAMING), "{}", open.to_xml_string());
        let f = self.element().await;
        assert!(f.is("features", ns::STREAM), "{}", f.to_xml_string());
        (open, f)
    }

    async fn login_anonymous(&mut self) -> String {
        self.open().await;
        self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>")
            .await;
        let s = self.element().await;
        assert!(s.is("success", ns::SASL), "{}", s.to_xml_string());
        let (_, f) = self.open().await;
        assert!(f.has_child("bind", ns::BIND));
        self.send("<iq type='set' id='b1' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>web</resource></bind></iq>").await;
        let r = self.element().await;
        assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml_string());
        r.get_child("bind", ns::BIND)
            .unwrap()
            .child_text("jid", ns::BIND)
            .unwrap()
    }

    /// Reads until the stream error; returns its condition, then checks `<close/>` and the
    /// end of the connection follow.
    async fn stream_error(&mut self) -> String {
        loop {
            match self.next().await {
                Got::El(e, _) if e.is("error", ns::STREAM) => {
                    let cond = e
                        .children()
                        .find(|c| c.name != "text")
                        .map(|c| c.name.clone())
                        .unwrap();
                    match self.next().await {
                        Got::El(c, _) => assert!(c.is("close", ns::FRAMING)),
                        Got::Closed => panic!("no <close/> after the stream error"),
                    }
                    assert!(matches!(self.next().await, Got::Closed));
                    return cond;
                }
                Got::El(..) => continue,
                Got::Closed => panic!("closed without a stream error"),
            }
        }
    }
}

#[tokio::test]
async fn subprotocol_xmpp_is_required() {
    let srv = start(test_config(HTTP), &[]).await;
    let addr = srv.http_addr().unwrap();
    let req = format!("ws://{addr}/xmpp-websocket")
        .into_client_request()
        .unwrap();
    match tokio_tungstenite::connect_async(req).await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status(), 400),
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    let mut req = format!("ws://{addr}/xmpp-websocket")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "mqtt".parse().unwrap());
    assert!(matches!(
        tokio_tungstenite::connect_async(req).await,
        Err(WsError::Http(_))
    ));
    // With it, the server selects it (checked inside ws_connect) and speaks XMPP.
    let mut c = ws_connect(addr, "/xmpp-websocket").await;
    let (open, features) = c.open().await;
    assert_eq!(open.attr("from"), Some("localhost"));
    assert_eq!(open.attr("version"), Some("1.0"));
    assert!(open.attr("id").map(|i| i.len() >= 16).unwrap_or(false));
    assert!(!features.has_child("starttls", ns::TLS));
    let mechs: Vec<String> = features
        .get_child("mechanisms", ns::SASL)
        .unwrap()
        .children()
        .map(|m| m.text())
        .collect();
    assert!(mechs.contains(&"ANONYMOUS".to_owned()), "{mechs:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn anonymous_login_and_messages_with_a_tcp_client() {
    let srv = start(test_config(HTTP), &[("bob", "pb")]).await;
    let mut w = ws_connect(srv.http_addr().unwrap(), "/xmpp-websocket").await;
    let wjid = w.login_anonymous().await;
    assert!(wjid.ends_with("@localhost/web"), "{wjid}");
    let mut t = connect(srv.c2s_addr().unwrap()).await;
    let tjid = t.login_plain("bob", "pb", Some("tcp")).await;

    // WebSocket → TCP.
    w.send(&format!(
        "<message xmlns='jabber:client' to='{tjid}' type='chat' id='m1'><body>from ws</body></message>"
    ))
    .await;
    let m = t.element().await;
    assert_eq!(m.attr("from"), Some(wjid.as_str()));
    assert_eq!(m.child_text("body", ns::CLIENT).unwrap(), "from ws");

    // TCP → WebSocket: every stanza in its own message, in jabber:client.
    for i in 0..3 {
        t.send(&format!(
            "<message to='{wjid}' type='chat' id='t{i}'><body>n{i}</body></message>"
        ))
        .await;
    }
    for i in 0..3 {
        match w.next().await {
            Got::El(m, raw) => {
                assert!(m.is("message", ns::CLIENT), "{raw}");
                assert!(raw.contains("xmlns=\"jabber:client\""), "{raw}");
                assert_eq!(m.attr("id"), Some(format!("t{i}").as_str()));
                assert_eq!(m.attr("from"), Some(tjid.as_str()));
            }
            Got::Closed => panic!("closed"),
        }
    }

    // A stanza without xmlns is jabber:client too (the frame's default namespace).
    w.send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        .await;
    let pong = w.element().await;
    assert_eq!(pong.attr("id"), Some("p1"));
    assert_eq!(pong.attr("type"), Some("result"));

    // Stream management without resumption: <enabled/> carries no id.
    w.send("<enable xmlns='urn:xmpp:sm:3'/>").await;
    let e = w.element().await;
    assert!(
        e.is("enabled", ns::SM) && e.attr("id").is_none(),
        "{}",
        e.to_xml_string()
    );

    // The client closes: the server answers <close/> and ends the connection, and the
    // JID is unbound.
    w.send("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")
        .await;
    assert!(w.element().await.is("close", ns::FRAMING));
    assert!(matches!(w.next().await, Got::Closed));
    t.send(&format!(
        "<iq type='get' id='gone' to='{wjid}'><query xmlns='urn:x'/></iq>"
    ))
    .await;
    let e = t.element().await;
    assert_eq!(e.attr("type"), Some("error"));
    srv.shutdown().await;
}

#[tokio::test]
async fn bad_input_ends_the_stream_with_the_right_error() {
    let srv = start(test_config(HTTP), &[]).await;
    let addr = srv.http_addr().unwrap();
    let big = format!(
        "<message xmlns='jabber:client'><body>{}</body></message>",
        "x".repeat(3000)
    );
    let cases: Vec<(&str, Message, &str)> = vec![
        ("oversized", Message::text(big), "policy-violation"),
        (
            "two stanzas",
            Message::text("<presence xmlns='jabber:client'/><presence xmlns='jabber:client'/>"),
            "not-well-formed",
        ),
        (
            "malformed",
            Message::text("<message><body></message>"),
            "not-well-formed",
        ),
        (
            "incomplete",
            Message::text("<message><body>hi</body>"),
            "not-well-formed",
        ),
        ("comment", Message::text("<!-- hi -->"), "restricted-xml"),
        (
            "binary",
            Message::binary(b"<presence/>".to_vec()),
            "unsupported-encoding",
        ),
        (
            "not utf-8",
            Message::Frame(Frame::message(
                b"<message><body>\xff\xfe</body></message>".to_vec(),
                OpCode::Data(Data::Text),
                true,
            )),
            "unsupported-encoding",
        ),
        (
            "stanza before auth",
            Message::text("<message xmlns='jabber:client' to='a@localhost'/>"),
            "not-authorized",
        ),
    ];
    for (name, msg, want) in cases {
        let mut c = ws_connect(addr, "/xmpp-websocket").await;
        c.open().await;
        c.io.send(msg).await.unwrap();
        assert_eq!(c.stream_error().await, want, "{name}");
    }
    // A frame far beyond the limit is dropped by the WebSocket layer itself: the
    // connection ends and the server keeps serving.
    let mut c = ws_connect(addr, "/xmpp-websocket").await;
    c.open().await;
    let _ = c.io.send(Message::text("x".repeat(64 * 1024))).await;
    loop {
        if let Got::Closed = c.next().await {
            break;
        }
    }
    // Before any <open/>, a stanza gets an <open/> first, then the error.
    let mut c2 = ws_connect(addr, "/xmpp-websocket").await;
    c2.send("<message xmlns='jabber:client'/>").await;
    assert!(c2.element().await.is("open", ns::FRAMING));
    assert_eq!(c2.stream_error().await, "not-well-formed");
    // A host this server does not serve.
    let mut c3 = ws_connect(addr, "/xmpp-websocket").await;
    c3.send(
        "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='nowhere.example' version='1.0'/>",
    )
    .await;
    assert!(c3.element().await.is("open", ns::FRAMING));
    assert_eq!(c3.stream_error().await, "host-unknown");
    srv.shutdown().await;
}

#[tokio::test]
async fn tenant_path_and_query_parameters_are_accepted() {
    let srv = start(test_config(HTTP), &[]).await;
    let addr = srv.http_addr().unwrap();
    for path in [
        "/tenant1/xmpp-websocket?room=r1&token=",
        "/xmpp-websocket?prefix=tenant1&room=r1&previd=abc",
    ] {
        let mut c = ws_connect(addr, path).await;
        let jid = c.login_anonymous().await;
        assert!(jid.ends_with("@localhost/web"), "{path}: {jid}");
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn shutdown_tells_websocket_clients() {
    let srv = start(test_config(HTTP), &[]).await;
    let mut c = ws_connect(srv.http_addr().unwrap(), "/xmpp-websocket").await;
    c.login_anonymous().await;
    let stop = tokio::spawn(srv.shutdown());
    assert_eq!(c.stream_error().await, "system-shutdown");
    stop.await.unwrap();
}

#[tokio::test]
async fn resource_conflict_closes_the_older_websocket() {
    let srv = start(test_config(HTTP), &[("alice", "pa")]).await;
    let addr = srv.http_addr().unwrap();
    let auth = {
        use base64::Engine;
        let payload = base64::engine::general_purpose::STANDARD.encode("\0alice\0pa");
        format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>")
    };
    let mut jids = Vec::new();
    let mut conns = Vec::new();
    for _ in 0..2 {
        let mut c = ws_connect(addr, "/xmpp-websocket").await;
        c.open().await;
        c.send(&auth).await;
        assert!(c.element().await.is("success", ns::SASL));
        c.open().await;
        c.send("<iq type='set' id='b1' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>same</resource></bind></iq>").await;
        let r = c.element().await;
        jids.push(
            r.get_child("bind", ns::BIND)
                .unwrap()
                .child_text("jid", ns::BIND)
                .unwrap(),
        );
        conns.push(c);
    }
    assert_eq!(jids[0], "alice@localhost/same");
    assert_eq!(jids[1], jids[0]);
    assert_eq!(conns[0].stream_error().await, "conflict");
    srv.shutdown().await;
}

const TOKEN_HOST: &str = r#"
data_dir = "unused"
[c2s]
listen = ["127.0.0.1:0"]
[http]
listen = ["127.0.0.1:0"]
[[host]]
domain = "localhost"
authentication = "token"
[host.token]
app_id = "app"
app_secret = "s3cret"
asap_accepted_audiences = ["jitsi"]
"#;

fn mint_token(room: &str) -> String {
    let cfg = rookery_server::Config::parse(TOKEN_HOST, "t").unwrap();
    let cfg = cfg.host("localhost").unwrap().token.clone().unwrap();
    let now = rookery_sasl::token::unix_now();
    let mut claims = rookery_sasl::token::default_claims(&cfg, room, "localhost", now, 3600);
    claims.insert("aud".into(), "jitsi".into());
    rookery_sasl::token::mint(&cfg, &serde_json::Value::Object(claims)).unwrap()
}

#[tokio::test]
async fn the_url_token_authenticates_anonymous_on_a_token_host() {
    let cfg = rookery_server::Config::parse(TOKEN_HOST, "t").unwrap();
    let srv =
        rookery_server::start_with_store(cfg, rookery_server::store::Store::in_memory().unwrap())
            .await
            .unwrap();
    let addr = srv.http_addr().unwrap();
    let token = mint_token("standup");
    let cases = [
        (
            format!("/xmpp-websocket?room=standup&token={token}"),
            Ok(()),
        ),
        (
            format!("/tenant/xmpp-websocket?room=standup&token={token}"),
            Ok(()),
        ),
        (
            "/xmpp-websocket?room=standup".to_owned(),
            Err("token required"),
        ),
        ("/xmpp-websocket?token=not.a.jwt".to_owned(), Err("")),
    ];
    for (path, want) in cases {
        let mut c = ws_connect(addr, &path).await;
        c.open().await;
        c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>")
            .await;
        let r = c.element().await;
        match want {
            Ok(()) => assert!(r.is("success", ns::SASL), "{path}: {}", r.to_xml_string()),
            Err(text) => {
                assert!(r.is("failure", ns::SASL), "{path}: {}", r.to_xml_string());
                let got = r.child_text("text", ns::SASL).unwrap_or_default();
                assert!(!got.is_empty() && got.contains(text), "{path}: '{got}'");
            }
        }
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn cross_domain_websocket_checks_the_origin() {
    let cases = [
        (
            "cross_domain_websocket = false",
            Some("https://evil.example"),
            Some(403),
        ),
        ("cross_domain_websocket = false", None, None),
        (
            "cross_domain_websocket = [\"https://meet.example\"]",
            Some("https://meet.example"),
            None,
        ),
        (
            "cross_domain_websocket = [\"https://meet.example\"]",
            Some("https://evil.example"),
            Some(403),
        ),
        (
            "cross_domain_websocket = true",
            Some("https://evil.example"),
            None,
        ),
    ];
    for (rule, origin, refused) in cases {
        let srv = start(test_config(&format!("{HTTP}{rule}\n")), &[]).await;
        let addr = srv.http_addr().unwrap();
        let mut req = format!("ws://{addr}/xmpp-websocket")
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", "xmpp".parse().unwrap());
        if let Some(o) = origin {
            req.headers_mut().insert("Origin", o.parse().unwrap());
        }
        match (tokio_tungstenite::connect_async(req).await, refused) {
            (Err(WsError::Http(resp)), Some(status)) => {
                assert_eq!(resp.status(), status, "{rule} {origin:?}")
            }
            (Ok(_), None) => {}
            (other, _) => panic!("{rule} {origin:?}: {:?}", other.map(|_| ())),
        }
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn pings_keep_readers_and_drop_silent_clients() {
    let cfg = test_config(&format!("{HTTP}websocket_ping_interval = 1\n"));
    let srv = start(cfg, &[]).await;
    let addr = srv.http_addr().unwrap();
    // A reading client is pinged (tungstenite answers with a pong) and stays connected.
    let mut reader = ws_connect(addr, "/xmpp-websocket").await;
    let mut pings = 0;
    while pings < 3 {
        match tokio::time::timeout(STEP, reader.io.next()).await.unwrap() {
            Some(Ok(Message::Ping(_))) => pings += 1,
            other => panic!("expected pings, got {other:?}"),
        }
    }
    reader.login_anonymous().await;
    // A client that never answers pings (a raw socket: no automatic pongs) is dropped
    // with connection-timeout after two silent intervals.
    let frames = silent_raw_client(addr).await;
    assert!(frames.iter().any(|(op, _)| *op == 0x9), "no ping seen");
    let error = frames
        .iter()
        .find(|(op, p)| *op == 0x1 && p.contains("stream:error"))
        .map(|(_, p)| p.clone())
        .expect("no stream error");
    assert!(error.contains("connection-timeout"), "{error}");
    assert!(error.contains("pings"), "{error}");
    assert_eq!(
        frames.last().map(|(op, _)| *op),
        Some(0x8),
        "ends with a close frame"
    );
    srv.shutdown().await;
}

/// Upgrades a raw TCP socket to WebSocket, never answers anything, and returns every
/// frame the server sends (opcode, payload) until it closes.
async fn silent_raw_client(addr: SocketAddr) -> Vec<(u8, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET /xmpp-websocket HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = tokio::time::timeout(STEP, s.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed during the handshake");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    assert!(buf.starts_with(b"HTTP/1.1 101"));
    buf.drain(..head_end);
    let mut frames = Vec::new();
    loop {
        // Parse every complete (unmasked, server-sent) frame in the buffer.
        while buf.len() >= 2 {
            let op = buf[0] & 0x0f;
            let (len, start) = match buf[1] & 0x7f {
                126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
                126 => break,
                127 => panic!("huge frame"),
                l => (l as usize, 2),
            };
            if buf.len() < start + len {
                break;
            }
            let payload = String::from_utf8_lossy(&buf[start..start + len]).into_owned();
            buf.drain(..start + len);
            frames.push((op, payload));
            if op == 0x8 {
                return frames;
            }
        }
        let n = tokio::time::timeout(STEP, s.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        if n == 0 {
            return frames;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
