//! Client proxy (Prosody's `client_proxy` component, as Jitsi uses it for `focus.<domain>`).
//!
//! A proxy domain has no connection of its own: IQ requests addressed to it are relayed to a
//! connected resource of the target account (`focus@auth.<domain>`, i.e. jicofo) with `from`
//! rewritten to `<proxy domain>/<original sender's full JID>`, the scheme jicofo decodes
//! (its `client-proxy` setting). The target's answers to such a proxied JID are delivered to
//! the original sender as if from the proxy domain. When no resource of the target is
//! connected the sender gets `service-unavailable` at once, so nothing waits on an absent
//! focus.

use std::sync::Arc;

use rookery_proto::{Element, Jid, StanzaError, StanzaErrorCondition};
use serde::Deserialize;

use crate::config::Config;
use crate::core::{Core, DomainService, Sender};
use crate::routing::table::Outgoing;
use crate::routing::{bounce, send_from_server};

/// `[[client_proxy]]`: one proxied domain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientProxyConfig {
    /// The proxy's domain (e.g. `focus.meet.jitsi`).
    pub domain: String,
    /// The bare JID of the account that answers for it (e.g. `focus@auth.meet.jitsi`).
    pub target_address: String,
}

/// Checks the proxy blocks: bare domains not taken by hosts, MUCs or other proxies (a
/// `[[component]]` of the same domain is allowed: the component wins while connected), and
/// a bare account JID on a served host as target. Returns `(key, reason)`.
pub(crate) fn validate(cfg: &Config) -> Result<(), (&'static str, String)> {
    let mut seen = std::collections::HashSet::new();
    for p in &cfg.client_proxies {
        let domain = Jid::parse(&p.domain)
            .ok()
            .filter(|j| j.node().is_none() && !j.is_full());
        let Some(domain) = domain else {
            return Err((
                "client_proxy.domain",
                format!("'{}' is not a domain", p.domain),
            ));
        };
        if !seen.insert(domain.to_string()) {
            return Err((
                "client_proxy.domain",
                format!("'{}' is declared twice", p.domain),
            ));
        }
        if cfg.host(domain.as_str()).is_some() || cfg.mucs.iter().any(|m| m.domain == domain) {
            return Err((
                "client_proxy.domain",
                format!("'{}' is already a host or a MUC service", p.domain),
            ));
        }
        let target = Jid::parse(&p.target_address)
            .ok()
            .filter(|j| j.node().is_some() && !j.is_full());
        let Some(target) = target else {
            return Err((
                "client_proxy.target_address",
                format!("'{}' is not a bare account JID", p.target_address),
            ));
        };
        if cfg.host(target.domain()).is_none() {
            return Err((
                "client_proxy.target_address",
                format!(
                    "'{}' is not on a served host (add a [[host]] for '{}')",
                    p.target_address,
                    target.domain()
                ),
            ));
        }
    }
    Ok(())
}

/// The proxy service bound to its domain.
#[derive(Debug)]
pub(crate) struct ClientProxy {
    domain: Jid,
    target: Jid,
}

impl ClientProxy {
    /// A proxy for `domain` relaying to the bare account `target`.
    pub(crate) fn new(domain: Jid, target: Jid) -> Self {
        ClientProxy {
            domain,
            target: target.to_bare(),
        }
    }

    /// From a validated config block.
    pub(crate) fn from_config(c: &ClientProxyConfig) -> Option<Self> {
        Some(Self::new(
            Jid::parse(&c.domain).ok()?,
            Jid::parse(&c.target_address).ok()?,
        ))
    }

    /// The proxy's domain.
    pub(crate) fn domain(&self) -> &Jid {
        &self.domain
    }

    /// True when `jid` is a session of the target account.
    pub(crate) fn is_target(&self, jid: &Jid) -> bool {
        jid.bare_str() == self.target.as_str()
    }

    /// The proxied JID standing for `original`: `<proxy domain>/<original full JID>`.
    pub(crate) fn proxied_jid(&self, original: &Jid) -> Option<Jid> {
        self.domain.with_resource(original.as_str()).ok()
    }

    /// The original sender a proxied JID stands for.
    pub(crate) fn original_of(&self, proxied: &Jid) -> Option<Jid> {
        if proxied.domain() != self.domain.as_str() || proxied.node().is_some() {
            return None;
        }
        Jid::parse(proxied.resource()?).ok()
    }

    /// The connected resource that receives relayed requests: the most recently bound one
    /// (a restarted jicofo replaces a session that may not have timed out yet).
    fn pick_target(&self, core: &Core) -> Option<Jid> {
        core.router.resources_of(&self.target).pop()
    }

    /// Traffic from the target account: answers to proxied JIDs go back to the original
    /// sender, from the proxy domain.
    fn answer_from_target(&self, core: &Arc<Core>, to: &Jid, mut stanza: Element) {
        let ty = stanza.attr("type").unwrap_or("");
        match (stanza.name.as_str(), ty) {
            ("iq", "result" | "error") => {
                let Some(original) = self.original_of(to) else {
                    tracing::debug!(%to, "answer to an address that is not a proxied JID");
                    return;
                };
                stanza.set_attr("from", self.domain.as_str());
                stanza.set_attr("to", original.as_str());
                send_from_server(core, stanza);
            }
            // Presence of the target to the proxy (Prosody tracks sessions with it; the
            // routing table already knows them).
            ("presence", _) => {}
            _ => bounce(
                core,
                &stanza,
                StanzaError::new(StanzaErrorCondition::FeatureNotImplemented)
                    .with_text("the proxy only relays answers from its target"),
            ),
        }
    }

    /// Traffic from anyone else: IQ requests are relayed to the target.
    fn relay_to_target(&self, core: &Arc<Core>, sender: &Sender, mut stanza: Element) {
        let ty = stanza.attr("type").unwrap_or("");
        match (stanza.name.as_str(), ty) {
            ("iq", "get" | "set") => {
                let Some(target) = self.pick_target(core) else {
                    return bounce(
                        core,
                        &stanza,
                        StanzaError::new(StanzaErrorCondition::ServiceUnavailable)
                            .with_text(format!("'{}' is not available", self.domain)),
                    );
                };
                let Some(proxied) = self.proxied_jid(&sender.jid) else {
                    return bounce(
                        core,
                        &stanza,
                        StanzaError::new(StanzaErrorCondition::JidMalformed)
                            .with_text("the sender's address cannot be proxied"),
                    );
                };
                stanza.set_attr("from", proxied.as_str());
                stanza.set_attr("to", target.as_str());
                if core
                    .router
                    .deliver(&target, Outgoing::stanza(stanza.clone()))
                    .is_err()
                {
                    // Put the sender's addresses back for the error reply.
                    stanza.set_attr("from", sender.jid.as_str());
                    stanza.set_attr("to", self.domain.as_str());
                    bounce(
                        core,
                        &stanza,
                        StanzaError::new(StanzaErrorCondition::ServiceUnavailable)
                            .with_text(format!("'{}' is not available", self.domain)),
                    );
                }
            }
            ("iq", _) | ("presence", "error") | ("message", "error") => {}
            ("presence", _) => bounce(
                core,
                &stanza,
                StanzaError::new(StanzaErrorCondition::BadRequest)
                    .with_text("presence is not relayed by the proxy"),
            ),
            _ => bounce(
                core,
                &stanza,
                StanzaError::new(StanzaErrorCondition::FeatureNotImplemented)
                    .with_text("the proxy relays IQ requests only"),
            ),
        }
    }
}

impl DomainService for ClientProxy {
    fn handle(&self, core: &Arc<Core>, sender: &Sender, to: Jid, stanza: Element) {
        if self.is_target(&sender.jid) {
            self.answer_from_target(core, &to, stanza);
        } else {
            self.relay_to_target(core, sender, stanza);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy() -> ClientProxy {
        ClientProxy::new(
            Jid::parse("focus.meet.jitsi").unwrap(),
            Jid::parse("focus@auth.meet.jitsi").unwrap(),
        )
    }

    #[test]
    fn proxied_jid_round_trips() {
        let p = proxy();
        for original in [
            "abc123@meet.jitsi/res-1",
            "user@guest.meet.jitsi/a/b",
            "x@meet.jitsi",
        ] {
            let o = Jid::parse(original).unwrap();
            let proxied = p.proxied_jid(&o).unwrap();
            assert_eq!(proxied.domain(), "focus.meet.jitsi");
            assert_eq!(proxied.resource(), Some(original));
            assert_eq!(p.original_of(&proxied), Some(o));
        }
        assert_eq!(
            p.original_of(&Jid::parse("focus.meet.jitsi").unwrap()),
            None
        );
        assert_eq!(
            p.original_of(&Jid::parse("other.meet.jitsi/a@b/c").unwrap()),
            None
        );
        assert_eq!(
            p.original_of(&Jid::parse("n@focus.meet.jitsi/a@b/c").unwrap()),
            None
        );
    }

    #[test]
    fn target_is_matched_by_bare_jid() {
        let p = proxy();
        assert!(p.is_target(&Jid::parse("focus@auth.meet.jitsi/jicofo1").unwrap()));
        assert!(p.is_target(&Jid::parse("Focus@Auth.Meet.Jitsi").unwrap()));
        assert!(!p.is_target(&Jid::parse("jvb@auth.meet.jitsi/x").unwrap()));
        assert!(!p.is_target(&Jid::parse("focus@meet.jitsi/x").unwrap()));
    }
}
