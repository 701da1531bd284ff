//! `[[component]]` blocks and the `[components]` listener settings (XEP-0114): each block
//! names a domain and its shared secret; the check that domains do not collide with hosts,
//! MUCs or each other.

use std::net::SocketAddr;

use rookery_proto::Jid;
use serde::Deserialize;

use crate::config::Config;

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
pub(crate) fn is_below(domain: &str, parent: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
