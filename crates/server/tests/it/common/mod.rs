//! Test support: start a server on loopback port 0 and talk raw XML to it.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::SocketAddr;
use std::time::Duration;

use rookery_proto::{Element, Limits, StreamEvent, StreamHeader, StreamParser};
use rookery_server::store::Store;
use rookery_server::{Config, Running};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

pub(crate) mod muc;
pub(crate) mod sasl_client;

/// How long any single expectation may wait before the test fails.
pub(crate) const STEP: Duration = Duration::from_secs(10);

/// The test configuration: one host `localhost` with accounts + anonymous, port 0.
pub(crate) fn test_config(extra: &str) -> Config {
    let text = format!(
        "data_dir = \"unused\"\nallow_unencrypted_plain_auth = true\n{extra}\n[c2s]\nlisten = [\"127.0.0.1:0\"]\n\n[[host]]\ndomain = \"localhost\"\nauthentication = \"internal_hashed\"\nallow_anonymous = true\n"
    );
    Config::parse(&text, "test").unwrap()
}

/// The configuration `rookery --jitsi-env` builds from docker-jitsi-meet's variables `vars`,
/// with every listener moved to a free loopback port.
pub(crate) fn jitsi_env_config(vars: &[(&str, &str)]) -> Config {
    let vars: std::collections::HashMap<&str, &str> = vars.iter().copied().collect();
    let mut cfg =
        rookery_server::config::jitsi::config_from_env(&|k| vars.get(k).map(|v| (*v).to_owned()))
            .unwrap();
    let free: SocketAddr = "127.0.0.1:0".parse().unwrap();
    cfg.c2s.listen = vec![free];
    cfg.http.as_mut().unwrap().listen = vec![free];
    cfg.component_listener.listen = vec![free];
    cfg
}

/// Parses the one element of a WebSocket message or BOSH body.
pub(crate) fn parse_element(text: &str) -> Element {
    let mut p = StreamParser::new_fragments(
        Limits {
            max_stanza_bytes: 1 << 20,
            max_depth: 64,
        },
        "",
    );
    p.feed(text.as_bytes());
    match p.next_event().unwrap() {
        Some(StreamEvent::Element(e)) => e,
        other => panic!("not one element: {text}: {other:?}"),
    }
}

/// Starts a server with an in-memory store and the given accounts.
pub(crate) async fn start(cfg: Config, accounts: &[(&str, &str)]) -> Running {
    let store = Store::in_memory().unwrap();
    for (u, p) in accounts {
        store.set_password("localhost", u, p, 4096).unwrap();
    }
    rookery_server::start_with_store(cfg, store).await.unwrap()
}

/// Starts a server with an in-memory store and accounts given as (user, host, password).
pub(crate) async fn start_accounts(cfg: Config, accounts: &[(&str, &str, &str)]) -> Running {
    let store = Store::in_memory().unwrap();
    for (u, h, p) in accounts {
        store.set_password(h, u, p, 4096).unwrap();
    }
    rookery_server::start_with_store(cfg, store).await.unwrap()
}

/// A raw XML client.
pub(crate) struct Raw<S> {
    pub io: S,
    pub parser: StreamParser,
    pub header: Option<StreamHeader>,
}

pub(crate) async fn connect(addr: SocketAddr) -> Raw<TcpStream> {
    let io = TcpStream::connect(addr).await.unwrap();
    Raw {
        io,
        parser: StreamParser::new_stream(Limits {
            max_stanza_bytes: 10 << 20,
            max_depth: 100,
        }),
        header: None,
    }
}

pub(crate) const OPEN: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";

impl<S: AsyncRead + AsyncWrite + Unpin> Raw<S> {
    pub(crate) async fn send(&mut self, s: &str) {
        self.io.write_all(s.as_bytes()).await.unwrap();
    }

    /// Next parsed event; None when the connection closed.
    pub(crate) async fn event(&mut self) -> Option<StreamEvent> {
        let mut buf = [0u8; 8192];
        loop {
            if let Some(ev) = self.parser.next_event().unwrap() {
                if let StreamEvent::Open(h) = &ev {
                    self.header = Some(h.clone());
                }
                return Some(ev);
            }
            let n = tokio::time::timeout(STEP, self.io.read(&mut buf))
                .await
                .expect("timed out waiting for the server")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.parser.feed(&buf[..n]);
        }
    }

    /// Next element (skips the stream header).
    pub(crate) async fn element(&mut self) -> Element {
        loop {
            match self.event().await {
                Some(StreamEvent::Element(e)) => return e,
                Some(StreamEvent::Open(_)) => continue,
                other => panic!("expected an element, got {other:?}"),
            }
        }
    }

    /// Reads until the stream error arrives and returns its condition name and text.
    pub(crate) async fn stream_error(&mut self) -> (String, Option<String>) {
        loop {
            match self.event().await {
                Some(StreamEvent::Element(e))
                    if e.name == "error" && e.ns == rookery_proto::ns::STREAM =>
                {
                    let cond = e
                        .children()
                        .find(|c| c.name != "text")
                        .map(|c| c.name.clone())
                        .unwrap();
                    let text = e.child_text("text", rookery_proto::ns::STREAM_ERRORS);
                    return (cond, text);
                }
                Some(_) => continue,
                None => panic!("connection closed without a stream error"),
            }
        }
    }

    /// Opens a stream and reads the header and features.
    pub(crate) async fn open(&mut self) -> Element {
        self.open_to("localhost").await
    }

    /// Opens a stream to `host` and reads the header and features.
    pub(crate) async fn open_to(&mut self, host: &str) -> Element {
        self.parser.reset();
        self.send(&OPEN.replace("to='localhost'", &format!("to='{host}'")))
            .await;
        let f = self.element().await;
        assert_eq!(f.name, "features", "{}", f.to_xml_string());
        f
    }

    /// Anonymous login and bind; returns the bound JID.
    pub(crate) async fn login_anonymous(&mut self, resource: Option<&str>) -> String {
        self.open().await;
        self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>")
            .await;
        let s = self.element().await;
        assert_eq!(s.name, "success", "{}", s.to_xml_string());
        self.bind(resource).await
    }

    /// PLAIN login and bind.
    pub(crate) async fn login_plain(
        &mut self,
        user: &str,
        pass: &str,
        resource: Option<&str>,
    ) -> String {
        use base64::Engine;
        self.open().await;
        let payload = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pass}"));
        self.send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>"
        ))
        .await;
        let s = self.element().await;
        assert_eq!(s.name, "success", "{}", s.to_xml_string());
        self.bind(resource).await
    }

    pub(crate) async fn bind(&mut self, resource: Option<&str>) -> String {
        let host = self
            .header
            .as_ref()
            .and_then(|h| h.from.clone())
            .unwrap_or_else(|| "localhost".into());
        let f = self.open_to(&host).await;
        assert!(f.has_child("bind", rookery_proto::ns::BIND));
        let r = resource
            .map(|r| format!("<resource>{r}</resource>"))
            .unwrap_or_default();
        self.send(&format!("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>{r}</bind></iq>")).await;
        let res = self.element().await;
        assert_eq!(res.attr("type"), Some("result"), "{}", res.to_xml_string());
        res.get_child("bind", rookery_proto::ns::BIND)
            .unwrap()
            .child_text("jid", rookery_proto::ns::BIND)
            .unwrap()
    }

    /// Sends an IQ and returns the reply with the same id.
    pub(crate) async fn iq(&mut self, xml: &str, id: &str) -> Element {
        self.send(xml).await;
        loop {
            let e = self.element().await;
            if e.name == "iq" && e.attr("id") == Some(id) {
                return e;
            }
        }
    }
}
