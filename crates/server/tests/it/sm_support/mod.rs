//! Stream management test support: a WebSocket client (tokio-tungstenite) and raw TCP
//! helpers for logging in without binding, enabling and resuming.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use rookery_proto::{Element, Limits, StreamEvent, StreamParser, ns};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::{Raw, STEP};

/// `<enable/>` asking for resumption.
pub(crate) const ENABLE: &str = "<enable xmlns='urn:xmpp:sm:3' resume='true'/>";

const OPEN: &str =
    "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>";

/// A WebSocket client speaking RFC 7395.
pub(crate) struct Ws {
    io: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// The text of a message's body.
pub(crate) fn body(e: &Element) -> String {
    e.child_text("body", ns::CLIENT).unwrap_or_default()
}

/// A chat message from the TCP client's point of view.
pub(crate) fn chat(to: &str, body: &str) -> String {
    format!("<message to='{to}' type='chat' id='{body}'><body>{body}</body></message>")
}

impl Ws {
    /// Connects with the `xmpp` sub-protocol.
    pub(crate) async fn connect(addr: SocketAddr) -> Ws {
        let mut req = format!("ws://{addr}/xmpp-websocket")
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", "xmpp".parse().unwrap());
        let (io, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        Ws { io }
    }

    /// Sends one text message.
    pub(crate) async fn send(&mut self, text: &str) {
        self.io.send(Message::text(text)).await.unwrap();
    }

    /// The next element; panics when the connection closes.
    pub(crate) async fn element(&mut self) -> Element {
        loop {
            let m = tokio::time::timeout(STEP, self.io.next())
                .await
                .expect("timed out waiting for the server");
            match m {
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
                        Some(StreamEvent::Element(e)) => return e,
                        other => panic!("not an element: {t}: {other:?}"),
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("connection ended: {other:?}"),
            }
        }
    }

    /// The next element that is not an SM ack request (answered by the caller's count).
    pub(crate) async fn stanza(&mut self) -> Element {
        loop {
            let e = self.element().await;
            if !e.is("r", ns::SM) {
                return e;
            }
        }
    }

    /// Opens a stream; returns the features.
    pub(crate) async fn open(&mut self) -> Element {
        self.send(OPEN).await;
        let open = self.element().await;
        assert!(open.is("open", ns::FRAMING), "{}", open.to_xml_string());
        let f = self.element().await;
        assert!(f.is("features", ns::STREAM), "{}", f.to_xml_string());
        f
    }

    /// ANONYMOUS login and the restart; returns the post-SASL features (no bind yet).
    pub(crate) async fn authenticate(&mut self) -> Element {
        self.open().await;
        self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>")
            .await;
        let s = self.element().await;
        assert!(s.is("success", ns::SASL), "{}", s.to_xml_string());
        self.open().await
    }

    /// Binds `resource`; returns the full JID.
    pub(crate) async fn bind(&mut self, resource: &str) -> String {
        self.send(&format!("<iq type='set' id='b1' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>")).await;
        let r = self.element().await;
        assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml_string());
        r.get_child("bind", ns::BIND)
            .unwrap()
            .child_text("jid", ns::BIND)
            .unwrap()
    }

    /// Sends `<enable resume='true'/>`; returns the resumption id and `max`.
    pub(crate) async fn enable(&mut self) -> (String, u32) {
        self.send(ENABLE).await;
        let e = self.element().await;
        assert!(e.is("enabled", ns::SM), "{}", e.to_xml_string());
        assert_eq!(e.attr("resume"), Some("true"));
        (
            e.attr("id").unwrap().to_owned(),
            e.attr("max").unwrap().parse().unwrap(),
        )
    }

    /// Makes sure the server processed everything sent so far: `<r/>` and its `<a/>`.
    /// Returns the server's `h`; stanzas arriving meanwhile are returned too.
    pub(crate) async fn sync(&mut self) -> (u32, Vec<Element>) {
        self.send("<r xmlns='urn:xmpp:sm:3'/>").await;
        let mut others = Vec::new();
        loop {
            let e = self.element().await;
            if e.is("a", ns::SM) {
                return (e.attr("h").unwrap().parse().unwrap(), others);
            }
            if !e.is("r", ns::SM) {
                others.push(e);
            }
        }
    }

    /// Drops the connection without any goodbye (no `<close/>`, no close frame).
    pub(crate) fn cut(self) {
        drop(self.io);
    }
}

/// SASL and restart over TCP (no bind): PLAIN for accounts, ANONYMOUS when `user` is None.
/// Returns the post-SASL features.
pub(crate) async fn tcp_authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut Raw<S>,
    user: Option<(&str, &str)>,
) -> Element {
    use base64::Engine;
    c.open().await;
    match user {
        Some((u, p)) => {
            let payload = base64::engine::general_purpose::STANDARD.encode(format!("\0{u}\0{p}"));
            c.send(&format!(
                "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>"
            ))
            .await;
        }
        None => {
            c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>")
                .await
        }
    }
    let s = c.element().await;
    assert_eq!(s.name, "success", "{}", s.to_xml_string());
    c.open().await
}

/// Binds `resource` on a TCP stream already past SASL; returns the full JID.
pub(crate) async fn tcp_bind<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut Raw<S>,
    resource: &str,
) -> String {
    let r = c
        .iq(
            &format!("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind></iq>"),
            "bind1",
        )
        .await;
    assert_eq!(r.attr("type"), Some("result"), "{}", r.to_xml_string());
    r.get_child("bind", ns::BIND)
        .unwrap()
        .child_text("jid", ns::BIND)
        .unwrap()
}

/// Sends `<enable resume='true'/>` over TCP; returns the resumption id.
pub(crate) async fn tcp_enable<S: AsyncRead + AsyncWrite + Unpin>(c: &mut Raw<S>) -> String {
    c.send(ENABLE).await;
    let e = c.element().await;
    assert!(e.is("enabled", ns::SM), "{}", e.to_xml_string());
    e.attr("id").unwrap().to_owned()
}

/// `<r/>` and its `<a/>` over TCP: everything sent before was processed. Returns the
/// server's `h` and the stanzas that arrived meanwhile.
pub(crate) async fn tcp_sync<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut Raw<S>,
) -> (u32, Vec<Element>) {
    c.send("<r xmlns='urn:xmpp:sm:3'/>").await;
    let mut others = Vec::new();
    loop {
        let e = c.element().await;
        if e.is("a", ns::SM) {
            return (e.attr("h").unwrap().parse().unwrap(), others);
        }
        if !e.is("r", ns::SM) {
            others.push(e);
        }
    }
}

/// The condition of a stanza error.
pub(crate) fn error_condition(e: &Element) -> Option<String> {
    e.get_child("error", ns::CLIENT)
        .and_then(|err| {
            err.children()
                .find(|c| c.ns == ns::STANZAS && c.name != "text")
        })
        .map(|c| c.name.clone())
}
