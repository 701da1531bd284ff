//! XEP-0114 external components as domain services.
//!
//! At start each configured domain is registered as a [`DomainService`] whose connection
//! slot is empty; a component that connects (see [`crate::transport::component`]), names the
//! domain in its stream header and proves the secret (`<handshake>` = lowercase hex SHA-1 of
//! stream id + secret, compared in constant time) fills the slot, and stanzas for the
//! domain flow to it. A component and a client proxy may share a domain: the component
//! serves it while connected.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rookery_proto::{Element, Jid, StanzaError, StanzaErrorCondition};
use sha1::{Digest, Sha1};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub(crate) use crate::config::component::Secret;
use crate::config::component::is_below;
use crate::core::{Core, DomainService, Sender};
use crate::routing::bounce;
use crate::routing::table::Outgoing;
use crate::services::client_proxy::ClientProxy;

/// The live connection of a component, held in its service's slot.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) tx: mpsc::Sender<Outgoing>,
    pub(crate) kill: CancellationToken,
    pub(crate) id: u64,
}

/// The service bound to a component's domain: delivers to the connected component, or (when
/// none is connected) to a client proxy of the same domain, or refuses with
/// `service-unavailable`.
pub(crate) struct ComponentService {
    domain: Jid,
    pub(crate) secret: Secret,
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
    pub(crate) fn new(domain: Jid, secret: Secret, fallback: Option<Arc<ClientProxy>>) -> Self {
        ComponentService {
            domain,
            secret,
            subdomains: false,
            link: Mutex::new(None),
            fallback,
        }
    }

    /// Builder: also own every subdomain of the domain.
    pub(crate) fn with_subdomains(mut self, yes: bool) -> Self {
        self.subdomains = yes;
        self
    }

    /// True when `domain` is the component's domain or (with `subdomains`) below it.
    pub(crate) fn owns(&self, domain: &str) -> bool {
        domain == self.domain.as_str()
            || (self.subdomains && is_below(domain, self.domain.as_str()))
    }

    /// The domain.
    pub(crate) fn domain(&self) -> &Jid {
        &self.domain
    }

    /// True while a component is connected and authenticated.
    pub(crate) fn is_connected(&self) -> bool {
        self.link.lock().map(|l| l.is_some()).unwrap_or(false)
    }

    fn sender(&self) -> Option<(mpsc::Sender<Outgoing>, CancellationToken)> {
        let guard = self.link.lock().ok()?;
        guard.as_ref().map(|l| (l.tx.clone(), l.kill.clone()))
    }

    pub(crate) fn claim(&self, link: Link) -> bool {
        match self.link.lock() {
            Ok(mut slot) if slot.is_none() => {
                *slot = Some(link);
                true
            }
            _ => false,
        }
    }

    pub(crate) fn release(&self, id: u64) {
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
pub(crate) type Registry = HashMap<String, Arc<ComponentService>>;

/// Lowercase hex SHA-1 of `stream_id + secret` (XEP-0114 §3).
pub fn handshake_digest(stream_id: &str, secret: &str) -> String {
    let mut h = Sha1::new();
    h.update(stream_id.as_bytes());
    h.update(secret.as_bytes());
    hex::encode(h.finalize())
}

/// Constant-time check of a component's handshake value (hex case is ignored).
pub(crate) fn handshake_ok(stream_id: &str, secret: &str, given: &str) -> bool {
    use subtle::ConstantTimeEq;
    let expected = handshake_digest(stream_id, secret);
    let given = given.trim().to_ascii_lowercase();
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
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
}
