//! XEP-0114 external components: the `jabber:component:accept` listener.
//!
//! Each `[[component]]` block names a domain and its shared secret. At start the domain is
//! registered as a [`DomainService`] whose connection slot is empty; a component that
//! connects, names the domain in its stream header and proves the secret
//! (`<handshake>` = lowercase hex SHA-1 of stream id + secret, compared in constant time)
//! fills the slot, and stanzas for the domain flow to it. A second connection for the same
//! domain is refused with `conflict`; a wrong secret with `not-authorized`; an unknown domain
//! with `host-unknown`. Stanzas the component sends must carry a `from` on its own domain
//! (`invalid-from` otherwise) and are routed like any other. The secret is never logged.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rookery_proto::{
    Element, Jid, StanzaError, StanzaErrorCondition, StreamErrorCondition, StreamEvent,
    StreamParser, ns, stream_error,
};
use serde::Deserialize;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::client_proxy::ClientProxy;
use crate::config::Config;
use crate::core::{Core, DomainService, Identity, Sender};
use crate::router::Outgoing;
use crate::routing::{bounce, route};

/// A shared secret read from the configuration; its `Debug` form hides the value so a
/// logged configuration never reveals it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself (for the handshake check only).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

fn default_component_addrs() -> Vec<SocketAddr> {
    vec![SocketAddr::from(([127, 0, 0, 1], 5347))]
}

fn default_component_stanza_limit() -> usize {
    1024 * 1024
}

/// `[components]`: where external components connect.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentListener {
    /// Addresses to listen on (`127.0.0.1:5347`; port 0 picks a free port). The listener
    /// is bound only when at least one `[[component]]` is configured.
    #[serde(default = "default_component_addrs")]
    pub listen: Vec<SocketAddr>,
    /// Largest stanza a component may send, in bytes.
    #[serde(default = "default_component_stanza_limit")]
    pub stanza_size_limit: usize,
}

impl Default for ComponentListener {
    fn default() -> Self {
        ComponentListener {
            listen: default_component_addrs(),
            stanza_size_limit: default_component_stanza_limit(),
        }
    }
}

/// `[[component]]`: one external component.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentConfig {
    /// The domain the component serves (e.g. `focus.meet.jitsi`).
    pub domain: String,
    /// The shared secret of the handshake.
    pub secret: Secret,
    /// Also own every subdomain (`*.domain`): stanzas to them reach this component and it
    /// may send from them.
    #[serde(default)]
    pub subdomains: bool,
}

/// True when `domain` is a proper subdomain of `parent` (`x.parent`).
fn is_below(domain: &str, parent: &str) -> bool {
    domain
        .strip_suffix(parent)
        .and_then(|head| head.strip_suffix('.'))
        .is_some_and(|label| !label.is_empty() && !label.ends_with('.'))
}

/// Checks the component blocks: bare, distinct domains not used by a host or a MUC service,
/// non-empty secrets. Returns `(key, reason)`.
pub fn validate(cfg: &Config) -> Result<(), (&'static str, String)> {
    if cfg.component_listener.stanza_size_limit < 1024 {
        return Err((
            "components.stanza_size_limit",
            "must be at least 1024".into(),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for c in &cfg.components {
        let bare = Jid::parse(&c.domain)
            .ok()
            .filter(|j| j.node().is_none() && !j.is_full());
        let Some(domain) = bare else {
            return Err((
                "component.domain",
                format!("'{}' is not a domain", c.domain),
            ));
        };
        if !seen.insert(domain.to_string()) {
            return Err((
                "component.domain",
                format!("'{}' is declared twice", c.domain),
            ));
        }
        if cfg.host(domain.as_str()).is_some() || cfg.mucs.iter().any(|m| m.domain == domain) {
            return Err((
                "component.domain",
                format!("'{}' is already a host or a MUC service", c.domain),
            ));
        }
        if c.subdomains {
            let taken = cfg
                .hosts
                .iter()
                .map(|h| h.domain.to_lowercase())
                .chain(cfg.mucs.iter().map(|m| m.domain.to_string()))
                .chain(cfg.client_proxies.iter().map(|p| p.domain.to_lowercase()))
                .find(|d| is_below(d, domain.as_str()));
            if let Some(d) = taken {
                return Err((
                    "component.subdomains",
                    format!("component '{}' would take over '{d}'", c.domain),
                ));
            }
        }
        if c.secret.expose().is_empty() {
            return Err((
                "component.secret",
                format!("component '{}' has an empty secret", c.domain),
            ));
        }
    }
    Ok(())
}

/// The live connection of a component.
#[derive(Debug)]
struct Link {
    tx: mpsc::Sender<Outgoing>,
    kill: CancellationToken,
    id: u64,
}

/// The service bound to a component's domain: delivers to the connected component, or (when
/// none is connected) to a client proxy of the same domain, or refuses with
/// `service-unavailable`.
pub struct ComponentService {
    domain: Jid,
    secret: Secret,
    subdomains: bool,
    /// Held only for short, non-async sections (claim, release, clone the sender).
    link: Mutex<Option<Link>>,
    fallback: Option<Arc<ClientProxy>>,
}

impl std::fmt::Debug for ComponentService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentService")
            .field("domain", &self.domain)
            .field("connected", &self.is_connected())
            .finish()
    }
}

impl ComponentService {
    /// A component service for `domain`; `fallback` serves the domain while no component
    /// is connected.
    pub fn new(domain: Jid, secret: Secret, fallback: Option<Arc<ClientProxy>>) -> Self {
        ComponentService {
            domain,
            secret,
            subdomains: false,
            link: Mutex::new(None),
            fallback,
        }
    }

    /// Builder: also own every subdomain of the domain.
    pub fn with_subdomains(mut self, yes: bool) -> Self {
        self.subdomains = yes;
        self
    }

    /// True when `domain` is the component's domain or (with `subdomains`) below it.
    pub fn owns(&self, domain: &str) -> bool {
        domain == self.domain.as_str()
            || (self.subdomains && is_below(domain, self.domain.as_str()))
    }

    /// The domain.
    pub fn domain(&self) -> &Jid {
        &self.domain
    }

    /// True while a component is connected and authenticated.
    pub fn is_connected(&self) -> bool {
        self.link.lock().map(|l| l.is_some()).unwrap_or(false)
    }

    fn sender(&self) -> Option<(mpsc::Sender<Outgoing>, CancellationToken)> {
        let guard = self.link.lock().ok()?;
        guard.as_ref().map(|l| (l.tx.clone(), l.kill.clone()))
    }

    fn claim(&self, link: Link) -> bool {
        match self.link.lock() {
            Ok(mut slot) if slot.is_none() => {
                *slot = Some(link);
                true
            }
            _ => false,
        }
    }

    fn release(&self, id: u64) {
        if let Ok(mut slot) = self.link.lock()
            && slot.as_ref().is_some_and(|l| l.id == id)
        {
            *slot = None;
        }
    }
}

impl DomainService for ComponentService {
    fn handle(&self, core: &Arc<Core>, sender: &Sender, to: Jid, stanza: Element) {
        let proxy_traffic = self
            .fallback
            .as_ref()
            .is_some_and(|p| p.is_target(&sender.jid));
        if !proxy_traffic && let Some((tx, kill)) = self.sender() {
            match tx.try_send(Outgoing::stanza(stanza)) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(Outgoing::Stanza(stanza))) => {
                    let stanza = *stanza;
                    tracing::warn!(domain = %self.domain, "component queue full: disconnecting it");
                    kill.cancel();
                    return bounce(
                        core,
                        &stanza,
                        StanzaError::new(StanzaErrorCondition::ServiceUnavailable)
                            .with_text("the component is not keeping up"),
                    );
                }
                Err(mpsc::error::TrySendError::Closed(Outgoing::Stanza(stanza))) => {
                    let stanza = *stanza;
                    return self.unavailable(core, sender, to, stanza);
                }
                Err(_) => return,
            }
        }
        self.unavailable(core, sender, to, stanza);
    }

    fn serves(&self, domain: &str) -> bool {
        self.subdomains && is_below(domain, self.domain.as_str())
    }

    fn disco_name(&self) -> Option<String> {
        None
    }
}

impl ComponentService {
    fn unavailable(&self, core: &Arc<Core>, sender: &Sender, to: Jid, stanza: Element) {
        match &self.fallback {
            Some(p) => p.handle(core, sender, to, stanza),
            None => bounce(
                core,
                &stanza,
                StanzaError::new(StanzaErrorCondition::ServiceUnavailable)
                    .with_text(format!("the component '{}' is not connected", self.domain)),
            ),
        }
    }
}

/// The components by domain, for the listener.
pub type Registry = HashMap<String, Arc<ComponentService>>;

/// Lowercase hex SHA-1 of `stream_id + secret` (XEP-0114 §3).
pub fn handshake_digest(stream_id: &str, secret: &str) -> String {
    let mut h = Sha1::new();
    h.update(stream_id.as_bytes());
    h.update(secret.as_bytes());
    hex::encode(h.finalize())
}

/// Constant-time check of a component's handshake value (hex case is ignored).
pub fn handshake_ok(stream_id: &str, secret: &str, given: &str) -> bool {
    use subtle::ConstantTimeEq;
    let expected = handshake_digest(stream_id, secret);
    let given = given.trim().to_ascii_lowercase();
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// Accepts component connections until shutdown.
pub async fn accept_loop(
    core: Arc<Core>,
    registry: Arc<Registry>,
    listener: tokio::net::TcpListener,
) {
    loop {
        tokio::select! {
            _ = core.shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok((tcp, peer)) => {
                    let _ = tcp.set_nodelay(true);
                    let span = tracing::info_span!("component", %peer);
                    tokio::spawn(serve(core.clone(), registry.clone(), tcp).instrument(span));
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

fn header(id: &str, from: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='");
    rookery_proto::serialize::escape_attr(&mut out, id);
    out.extend_from_slice(b"' from='");
    rookery_proto::serialize::escape_attr(&mut out, from);
    out.extend_from_slice(b"'>");
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_is_sha1_hex_of_id_then_secret() {
        // FIPS 180 test vector: SHA-1("abc").
        let abc = "a9993e364706816aba3e25717850c26c9cd0d89d";
        assert_eq!(handshake_digest("a", "bc"), abc);
        assert!(handshake_ok("a", "bc", abc));
        assert!(handshake_ok("a", "bc", &abc.to_uppercase()));
        assert!(handshake_ok("a", "bc", &format!(" {abc}\n")));
        assert!(!handshake_ok("a", "bd", abc));
        assert!(!handshake_ok("a", "bc", &abc[..39]));
        assert!(!handshake_ok("a", "bc", ""));
    }

    #[test]
    fn ownership_of_subdomains() {
        let domain = Jid::parse("c.example").unwrap();
        let plain = ComponentService::new(domain.clone(), Secret::new("s"), None);
        let wide = ComponentService::new(domain, Secret::new("s"), None).with_subdomains(true);
        for (d, plain_owns, wide_owns) in [
            ("c.example", true, true),
            ("x.c.example", false, true),
            ("a.b.c.example", false, true),
            ("xc.example", false, false),
            ("example", false, false),
            (".c.example", false, false),
        ] {
            assert_eq!(plain.owns(d), plain_owns, "{d}");
            assert_eq!(wide.owns(d), wide_owns, "{d}");
            assert_eq!(wide.serves(d), wide_owns && d != "c.example", "{d}");
            assert!(!plain.serves(d), "{d}");
        }
    }

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        let c = ComponentConfig {
            domain: "focus.example".into(),
            secret: s,
            subdomains: false,
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
