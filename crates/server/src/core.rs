//! The server's shared, read-mostly context: configuration, host table, routing table,
//! account store and the services bound to domains (MUC, components, proxies).

use std::collections::HashMap;
use std::sync::Arc;

use rookery_c2s::HostPolicy;
use rookery_proto::{Element, Jid, Limits};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::routing::table::Router;
use crate::store::Store;

/// Who a session is, decided once at authentication: the policy crate's type, which room
/// verification reads as it is.
pub(crate) use rookery_policy::Identity;

/// The origin of a stanza being routed.
#[derive(Debug, Clone)]
pub struct Sender {
    /// The sender's full JID (or a domain for services).
    pub jid: Jid,
    /// How it authenticated.
    pub identity: Arc<Identity>,
}

impl Sender {
    /// The server itself speaking for `domain`.
    pub fn server(domain: &Jid) -> Sender {
        Sender {
            jid: domain.clone(),
            identity: Arc::new(Identity::Service),
        }
    }
}

/// Figures of one MUC service for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct MucStats {
    /// Live rooms (each has a task).
    pub rooms: usize,
    /// Occupants across those rooms.
    pub occupants: u64,
    /// Room-verification refusals by Jitsi code.
    pub refusals: Vec<(String, u64)>,
}

/// A service that owns a whole domain (MUC service, external component, client proxy).
pub trait DomainService: Send + Sync {
    /// Handles a stanza addressed to `to` (whose domain this service owns). Must not block.
    fn handle(&self, core: &Arc<Core>, sender: &Sender, to: Jid, stanza: Element);
    /// True when this service also owns `domain` besides its own (tenant subdomains).
    fn serves(&self, _domain: &str) -> bool {
        false
    }
    /// For MUC services: rooms, occupants and room-verification refusals, for `/metrics`.
    fn muc_stats(&self) -> Option<MucStats> {
        None
    }
    /// Features for the server's disco#items listing (`None` hides the service).
    fn disco_name(&self) -> Option<String> {
        None
    }
}

/// A token host's verifier and (for key-server/JWKS hosts) its key cache.
pub struct TokenHost {
    /// Verifies signatures and claims with the configured algorithm and key.
    pub verifier: rookery_sasl::token::TokenVerifier,
    /// Fetched public keys, when keys come from a key server or JWKS.
    pub keys: Option<crate::token::KeyCache>,
}

impl TokenHost {
    /// Builds the verifier and key cache from the host's `[host.token]` settings.
    pub fn new(cfg: &rookery_policy::TokenHostConfig) -> Result<TokenHost, String> {
        let verifier = match cfg.key_mode().map_err(|e| e.to_string())? {
            rookery_policy::KeyMode::PublicKeyFile(path) => {
                let pem = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
                rookery_sasl::token::TokenVerifier::with_public_key_pem(cfg, &pem)
                    .map_err(|e| e.to_string())?
            }
            _ => rookery_sasl::token::TokenVerifier::new(cfg).map_err(|e| e.to_string())?,
        };
        let keys = match cfg.key_mode().map_err(|e| e.to_string())? {
            rookery_policy::KeyMode::KeyServer(_) | rookery_policy::KeyMode::Jwks(_) => {
                Some(crate::token::KeyCache::for_host(&verifier, cfg).map_err(|e| e.to_string())?)
            }
            _ => None,
        };
        Ok(TokenHost { verifier, keys })
    }
}

/// Shared server context.
pub struct Core {
    /// The configuration the server started with.
    pub config: Config,
    /// The routing table.
    pub router: Router,
    /// Accounts and persistent rooms.
    pub store: Store,
    /// Served client hosts.
    pub hosts: HashMap<String, Arc<HostPolicy>>,
    /// Services keyed by domain.
    pub services: HashMap<String, Arc<dyn DomainService>>,
    /// Token verification per token host.
    pub token_hosts: HashMap<String, Arc<TokenHost>>,
    /// Parser limits for client streams.
    pub limits: Limits,
    /// Cancelled on shutdown.
    pub shutdown: CancellationToken,
    /// Counters for `/metrics`, shared by every transport.
    pub metrics: crate::metrics::Metrics,
    /// Stream management: resumable sessions by id.
    pub sm: crate::session::stream_management::Registry,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("hosts", &self.hosts.keys().collect::<Vec<_>>())
            .field("services", &self.services.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Core {
    /// The service owning `domain`: its own domain first, then services that claim it
    /// (a MUC's tenant subdomains).
    pub fn service_for(&self, domain: &str) -> Option<&Arc<dyn DomainService>> {
        self.services
            .get(domain)
            .or_else(|| self.services.values().find(|s| s.serves(domain)))
    }

    /// True when `domain` is a served client host.
    pub fn is_local_host(&self, domain: &str) -> bool {
        self.hosts.contains_key(domain)
    }

    /// True when `jid`'s bare form is a server-wide or host admin.
    pub fn is_admin(&self, jid: &Jid) -> bool {
        let bare = jid.bare_str();
        let matches = |list: &[String]| {
            list.iter()
                .any(|a| Jid::parse(a).map(|j| j.as_str() == bare).unwrap_or(false))
        };
        matches(&self.config.admins)
            || self
                .config
                .host(jid.domain())
                .map(|h| matches(&h.admins))
                .unwrap_or(false)
    }
}
