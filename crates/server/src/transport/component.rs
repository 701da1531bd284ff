//! The XEP-0114 listener (`jabber:component:accept`): accepts connections, checks the
//! handshake against the configured secret and fills the component's slot in its
//! [`crate::services::component::ComponentService`]. A second connection for the same domain
//! is refused with `conflict`; a wrong secret with `not-authorized`; an unknown domain with
//! `host-unknown`. Stanzas the component sends must carry a `from` on its own domain
//! (`invalid-from` otherwise) and are routed like any other. The secret is never logged.

use std::sync::Arc;
use std::time::Duration;

use rookery_proto::{
    Element, Jid, StreamErrorCondition, StreamEvent, StreamParser, ns, stream_error,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::core::{Core, Identity, Sender};
use crate::routing::route;
use crate::routing::table::Outgoing;
use crate::services::component::{ComponentService, Link, Registry, handshake_ok};

/// Accepts component connections until shutdown.
pub(crate) async fn accept_loop(
    core: Arc<Core>,
    registry: Arc<Registry>,
    listener: tokio::net::TcpListener,
) {
    let serve_core = core.clone();
    super::accept_loop(core, listener, "component", move |tcp, _peer| {
        serve(serve_core.clone(), registry.clone(), tcp)
    })
    .await;
}

fn header(id: &str, from: &str) -> Vec<u8> {
    super::stream_header(ns::COMPONENT, id, from, false)
}

/// Where the conversation with one component is.
enum Phase {
    /// Waiting for the stream header.
    Header,
    /// Header answered; waiting for `<handshake>`.
    Handshake {
        service: Arc<ComponentService>,
        id: String,
    },
    /// Authenticated: stanzas flow.
    Ready { service: Arc<ComponentService> },
}

/// Directed presences remembered per component connection, so its occupants leave their
/// rooms when it disconnects (beyond this many, the oldest are not told).
const MAX_DIRECTED: usize = 1024;

struct Conn {
    /// `(from, to)` of available presences the component sent and has not withdrawn.
    directed: std::collections::HashSet<(Jid, Jid)>,
    core: Arc<Core>,
    registry: Arc<Registry>,
    parser: StreamParser,
    phase: Phase,
    wbuf: Vec<u8>,
    header_sent: bool,
    closing: bool,
    link_id: u64,
    tx: mpsc::Sender<Outgoing>,
    kill: CancellationToken,
}

impl Conn {
    fn close_with(&mut self, cond: StreamErrorCondition, text: &str) {
        if !self.header_sent {
            self.wbuf.extend_from_slice(&header("error", ""));
            self.header_sent = true;
        }
        let err = stream_error(cond, Some(text));
        rookery_proto::serialize::write_element(&mut self.wbuf, &err, ns::COMPONENT);
        self.wbuf.extend_from_slice(b"</stream:stream>");
        self.closing = true;
    }

    fn on_bytes(&mut self, data: &[u8]) {
        self.parser.feed(data);
        while !self.closing {
            match self.parser.next_event() {
                Ok(None) => return,
                Ok(Some(StreamEvent::Open(h))) => self.on_open(h),
                Ok(Some(StreamEvent::Element(el))) => self.on_element(el),
                Ok(Some(StreamEvent::Close)) => {
                    self.wbuf.extend_from_slice(b"</stream:stream>");
                    self.closing = true;
                }
                Err(e) => {
                    let text = e.text();
                    self.close_with(e.condition(), &text);
                }
            }
        }
    }

    fn on_open(&mut self, h: rookery_proto::StreamHeader) {
        if !matches!(self.phase, Phase::Header) {
            return self.close_with(StreamErrorCondition::NotAuthorized, "unexpected restart");
        }
        if h.default_ns != ns::COMPONENT {
            return self.close_with(
                StreamErrorCondition::InvalidNamespace,
                "components use the jabber:component:accept namespace",
            );
        }
        let service =
            h.to.as_deref()
                .and_then(|t| Jid::parse(t).ok())
                .and_then(|j| self.registry.get(j.as_str()).cloned());
        let Some(service) = service else {
            let to = h.to.unwrap_or_default();
            tracing::info!(%to, "component stream for an unconfigured domain");
            return self.close_with(
                StreamErrorCondition::HostUnknown,
                "no component is configured for this domain",
            );
        };
        let id = uuid::Uuid::new_v4().simple().to_string();
        self.wbuf
            .extend_from_slice(&header(&id, service.domain().as_str()));
        self.header_sent = true;
        self.phase = Phase::Handshake { service, id };
    }

    fn on_element(&mut self, mut el: Element) {
        match &self.phase {
            Phase::Header => {}
            Phase::Handshake { service, id } => {
                if !el.is("handshake", ns::COMPONENT) {
                    return self.close_with(
                        StreamErrorCondition::NotAuthorized,
                        "the handshake must come first",
                    );
                }
                let service = service.clone();
                if !handshake_ok(id, service.secret.expose(), &el.text()) {
                    tracing::info!(domain = %service.domain(), "component handshake failed");
                    return self.close_with(StreamErrorCondition::NotAuthorized, "wrong secret");
                }
                self.link_id = self.core.router.next_id();
                let link = Link {
                    tx: self.tx.clone(),
                    kill: self.kill.clone(),
                    id: self.link_id,
                };
                if !service.claim(link) {
                    tracing::info!(domain = %service.domain(), "second connection of a component refused");
                    return self.close_with(
                        StreamErrorCondition::Conflict,
                        "this component is already connected",
                    );
                }
                tracing::info!(domain = %service.domain(), "component connected");
                let ok = Element::new("handshake", ns::COMPONENT);
                rookery_proto::serialize::write_element(&mut self.wbuf, &ok, ns::COMPONENT);
                self.phase = Phase::Ready { service };
            }
            Phase::Ready { service } => {
                if !matches!(el.name.as_str(), "message" | "presence" | "iq")
                    || (el.ns != ns::COMPONENT && el.ns != ns::CLIENT)
                {
                    return self.close_with(
                        StreamErrorCondition::UnsupportedStanzaType,
                        "only message, presence and iq",
                    );
                }
                let from = match el.attr("from").map(Jid::parse) {
                    Some(Ok(j)) => j,
                    Some(Err(_)) | None => {
                        return self.close_with(
                            StreamErrorCondition::ImproperAddressing,
                            "stanzas from a component need a valid 'from'",
                        );
                    }
                };
                if !service.owns(from.domain()) {
                    return self.close_with(
                        StreamErrorCondition::InvalidFrom,
                        "'from' is not on the component's domain",
                    );
                }
                if el.attr("to").is_none() {
                    return self.close_with(
                        StreamErrorCondition::ImproperAddressing,
                        "stanzas from a component need a 'to'",
                    );
                }
                el.rename_ns(ns::COMPONENT, ns::CLIENT);
                if el.name == "presence"
                    && let Some(to) = el.attr("to").and_then(|t| Jid::parse(t).ok())
                {
                    match el.attr("type") {
                        None if self.directed.len() < MAX_DIRECTED => {
                            self.directed.insert((from.clone(), to));
                        }
                        Some("unavailable") => {
                            self.directed.remove(&(from.clone(), to));
                        }
                        _ => {}
                    }
                }
                let sender = Sender {
                    jid: from,
                    identity: Arc::new(Identity::Service),
                };
                route(&self.core, &sender, el);
            }
        }
    }

    fn write_outgoing(&mut self, item: Outgoing) {
        let mut el = match item {
            Outgoing::Stanza(el) => *el,
            Outgoing::Shared { element, to, .. } => {
                let mut el = (*element).clone();
                el.set_attr("to", to.as_str());
                el
            }
            Outgoing::Close(cond, text) => return self.close_with(cond, &text),
        };
        el.rename_ns(ns::CLIENT, ns::COMPONENT);
        rookery_proto::serialize::write_element(&mut self.wbuf, &el, ns::COMPONENT);
    }
}

async fn serve(core: Arc<Core>, registry: Arc<Registry>, mut tcp: TcpStream) {
    let (tx, mut rx) = mpsc::channel(core.config.c2s_send_queue);
    let kill = CancellationToken::new();
    let limits = rookery_proto::Limits {
        max_stanza_bytes: core.config.component_listener.stanza_size_limit,
        max_depth: 64,
    };
    let mut conn = Conn {
        directed: std::collections::HashSet::new(),
        core: core.clone(),
        registry,
        parser: StreamParser::new_stream(limits),
        phase: Phase::Header,
        wbuf: Vec::new(),
        header_sent: false,
        closing: false,
        link_id: 0,
        tx,
        kill: kill.clone(),
    };
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(core.config.c2s_negotiation_timeout);
    let mut rbuf = vec![0u8; 8192];
    let mut batch = Vec::with_capacity(64);
    loop {
        let ready = matches!(conn.phase, Phase::Ready { .. });
        tokio::select! {
            biased;
            _ = kill.cancelled() => {
                conn.close_with(StreamErrorCondition::PolicyViolation, "too many stanzas queued for this component");
                let _ = tokio::time::timeout(Duration::from_millis(100), tcp.write_all(&conn.wbuf)).await;
                break;
            }
            _ = core.shutdown.cancelled() => {
                conn.close_with(StreamErrorCondition::SystemShutdown, "the server is shutting down");
                let _ = tokio::time::timeout(Duration::from_millis(500), tcp.write_all(&conn.wbuf)).await;
                break;
            }
            _ = tokio::time::sleep_until(deadline), if !ready => {
                conn.close_with(StreamErrorCondition::ConnectionTimeout, "the handshake took too long");
            }
            r = tcp.read(&mut rbuf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => conn.on_bytes(rbuf.get(..n).unwrap_or_default()),
            },
            n = rx.recv_many(&mut batch, 256), if ready => {
                if n == 0 { break; }
                for item in batch.drain(..) {
                    conn.write_outgoing(item);
                }
            }
        }
        if !conn.wbuf.is_empty() {
            let wrote = tokio::select! {
                r = tcp.write_all(&conn.wbuf) => r.is_ok(),
                _ = kill.cancelled() => false,
            };
            conn.wbuf.clear();
            if conn.wbuf.capacity() > 64 * 1024 {
                conn.wbuf = Vec::new();
            }
            if !wrote {
                break;
            }
        }
        if conn.closing {
            let _ = tokio::time::timeout(Duration::from_millis(200), tcp.shutdown()).await;
            break;
        }
    }
    if let Phase::Ready { service } = &conn.phase {
        service.release(conn.link_id);
        tracing::info!(domain = %service.domain(), "component disconnected");
        for (from, to) in std::mem::take(&mut conn.directed) {
            let p = Element::new("presence", ns::CLIENT)
                .with_attr("type", "unavailable")
                .with_attr("from", from.as_str())
                .with_attr("to", to.as_str());
            let sender = Sender {
                jid: from,
                identity: Arc::new(Identity::Service),
            };
            route(&core, &sender, p);
        }
    }
}
