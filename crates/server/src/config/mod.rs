//! The one TOML configuration file. Unknown keys are errors that name the key and the line
//! (serde's `deny_unknown_fields` plus toml's spans), and the default file is embedded so
//! `rookery` with no arguments serves a development host.

pub mod component;
pub mod jitsi;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The embedded default configuration (`config/rookery.toml`).
pub const DEFAULT_CONFIG: &str = include_str!("../../../../config/rookery.toml");

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// TOML syntax or an unknown/mistyped key; the message names the key and line.
    #[error("{origin}: {message}")]
    Parse {
        /// File name or `<embedded default>`.
        origin: String,
        /// toml's message, with line and column.
        message: String,
    },
    /// A value is well-typed but unusable.
    #[error("{origin}: invalid value for '{key}': {reason}")]
    Invalid {
        /// File name.
        origin: String,
        /// The key.
        key: String,
        /// Why.
        reason: String,
    },
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}
fn default_stanza_limit() -> usize {
    256 * 1024
}
fn default_queue() -> usize {
    8192
}
fn default_negotiation_timeout() -> u64 {
    60
}
fn default_scram_iterations() -> u32 {
    4096
}
fn default_log() -> String {
    "info".to_owned()
}
fn default_smacks_hibernation_time() -> u64 {
    60
}
fn default_smacks_max_queue_size() -> usize {
    10_000
}
fn default_smacks_max_unacked_stanzas() -> u32 {
    5
}
fn default_smacks_max_hibernated_sessions() -> usize {
    10
}
fn default_smacks_max_hibernated_total() -> usize {
    10_000
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where accounts and persistent rooms are stored (relative to the working directory).
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Log filter (`RUST_LOG` wins when set).
    #[serde(default = "default_log")]
    pub log_level: String,
    /// Server-wide admin JIDs (bare).
    #[serde(default)]
    pub admins: Vec<String>,
    /// Largest stanza a client may send, in bytes.
    #[serde(default = "default_stanza_limit")]
    pub c2s_stanza_size_limit: usize,
    /// Refuse authentication on unencrypted TCP streams.
    #[serde(default)]
    pub c2s_require_encryption: bool,
    /// Offer PLAIN (and OAUTHBEARER) on unencrypted streams.
    #[serde(default)]
    pub allow_unencrypted_plain_auth: bool,
    /// Outbound stanzas queued for one session before it is disconnected as too slow.
    #[serde(default = "default_queue")]
    pub c2s_send_queue: usize,
    /// Seconds a client may take to authenticate and bind before `connection-timeout`.
    #[serde(default = "default_negotiation_timeout")]
    pub c2s_negotiation_timeout: u64,
    /// PBKDF2 iterations for new SCRAM credentials.
    #[serde(default = "default_scram_iterations")]
    pub scram_iterations: u32,
    /// Seconds a stream-management session whose connection dropped stays resumable
    /// (XEP-0198), keeping its JID and queueing what arrives for it.
    #[serde(default = "default_smacks_hibernation_time")]
    pub smacks_hibernation_time: u64,
    /// Unacknowledged stanzas kept per stream-management session; beyond this the stream
    /// ends with `resource-constraint` (or the hibernating session ends) and the stanzas
    /// are bounced to their senders.
    #[serde(default = "default_smacks_max_queue_size")]
    pub smacks_max_queue_size: usize,
    /// Stanzas sent before the server asks the client for an acknowledgement (`<r/>`).
    #[serde(default = "default_smacks_max_unacked_stanzas")]
    pub smacks_max_unacked_stanzas: u32,
    /// Hibernating sessions kept per user (bare JID); when one more connection of that
    /// user drops, its oldest hibernating session ends (as if it had timed out).
    #[serde(default = "default_smacks_max_hibernated_sessions")]
    pub smacks_max_hibernated_sessions: usize,
    /// Hibernating sessions kept in all: anonymous logins are a new user each, so only a
    /// server-wide cap bounds what dropped connections can leave behind; the oldest
    /// hibernating session ends to make room.
    #[serde(default = "default_smacks_max_hibernated_total")]
    pub smacks_max_hibernated_total: usize,
    /// Client listeners.
    #[serde(default)]
    pub c2s: C2sListener,
    /// Served client hosts.
    #[serde(default, rename = "host")]
    pub hosts: Vec<HostConfig>,
    /// `[[muc]]`: multi-user chat services, each on its own domain.
    #[serde(default, rename = "muc")]
    pub mucs: Vec<rookery_muc::MucConfig>,
    /// The HTTP listener (WebSocket, BOSH, health, metrics); none without an `[http]`
    /// section.
    #[serde(default)]
    pub http: Option<HttpConfig>,
    /// `[components]`: the XEP-0114 listener (bound only when `[[component]]` blocks exist).
    #[serde(default, rename = "components")]
    pub component_listener: crate::config::component::ComponentListener,
    /// `[[component]]`: external components (domain and shared secret).
    #[serde(default, rename = "component")]
    pub components: Vec<crate::config::component::ComponentConfig>,
    /// `[[client_proxy]]`: domains whose traffic is relayed to a client account (Jitsi's
    /// `focus.<domain>` → `focus@auth.<domain>`).
    #[serde(default, rename = "client_proxy")]
    pub client_proxies: Vec<crate::services::client_proxy::ClientProxyConfig>,
    /// `[jitsi]`: the standard Jitsi Meet hosts from one block (expanded into hosts, MUCs,
    /// the focus proxy and admins when the file is loaded).
    #[serde(default)]
    pub jitsi: Option<crate::config::jitsi::JitsiProfile>,
}

/// A cross-origin permission: `true` (any origin), `false` (same origin only) or a list
/// of allowed origins (`["https://meet.example.com"]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum CrossDomain {
    /// Any origin (`true`) or none (`false`).
    All(bool),
    /// Exactly these origins.
    Origins(Vec<String>),
}

impl Default for CrossDomain {
    fn default() -> Self {
        CrossDomain::All(false)
    }
}

impl CrossDomain {
    /// True when a request from `origin` may use the endpoint cross-domain.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            CrossDomain::All(all) => *all,
            CrossDomain::Origins(list) => list.iter().any(|o| o.eq_ignore_ascii_case(origin)),
        }
    }
}

fn default_http_addrs() -> Vec<SocketAddr> {
    vec![SocketAddr::from(([127, 0, 0, 1], 5280))]
}
fn default_ws_frame_limit() -> usize {
    256 * 1024
}
fn default_ws_ping_interval() -> u64 {
    30
}
fn default_bosh_max_inactivity() -> u64 {
    60
}
fn default_bosh_max_wait() -> u64 {
    120
}
fn default_bosh_max_requests() -> u32 {
    2
}
fn default_bosh_max_hold() -> u32 {
    1
}
fn default_bosh_max_pause() -> u64 {
    120
}
fn default_bosh_polling() -> u64 {
    5
}
fn default_bosh_body_limit() -> usize {
    1024 * 1024
}

/// `[http]`: XMPP over WebSocket (RFC 7395) and BOSH (XEP-0124/0206), `/health` and
/// `/metrics`, on one listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Addresses to listen on (`127.0.0.1:5280`; port 0 picks a free port).
    #[serde(default = "default_http_addrs")]
    pub listen: Vec<SocketAddr>,
    /// Which other origins may use `/http-bind` (CORS headers).
    #[serde(default)]
    pub cross_domain_bosh: CrossDomain,
    /// Which other origins may open `/xmpp-websocket` (checked against `Origin`).
    #[serde(default)]
    pub cross_domain_websocket: CrossDomain,
    /// Treat WebSocket and BOSH streams as encrypted (a TLS-terminating proxy is in front).
    #[serde(default)]
    pub consider_secure: bool,
    /// Largest WebSocket message a client may send, in bytes.
    #[serde(default = "default_ws_frame_limit")]
    pub websocket_frame_limit: usize,
    /// Seconds between server pings on an idle WebSocket; a client silent for two
    /// intervals is disconnected. 0 disables pings.
    #[serde(default = "default_ws_ping_interval")]
    pub websocket_ping_interval: u64,
    /// Upper bound, in seconds, on a BOSH session's `inactivity`.
    #[serde(default = "default_bosh_max_inactivity")]
    pub bosh_max_inactivity: u64,
    /// Upper bound, in seconds, on how long a BOSH request is held (`wait`).
    #[serde(default = "default_bosh_max_wait")]
    pub bosh_max_wait: u64,
    /// Upper bound on simultaneous requests per BOSH session (`requests`).
    #[serde(default = "default_bosh_max_requests")]
    pub bosh_max_requests: u32,
    /// Upper bound on requests held per BOSH session (`hold`).
    #[serde(default = "default_bosh_max_hold")]
    pub bosh_max_hold: u32,
    /// Longest `pause` a BOSH client may ask for, in seconds (`maxpause`).
    #[serde(default = "default_bosh_max_pause")]
    pub bosh_max_pause: u64,
    /// Shortest interval, in seconds, between empty polls of a `hold='0'` session
    /// (`polling`); faster polling is overactivity.
    #[serde(default = "default_bosh_polling")]
    pub bosh_polling: u64,
    /// Largest BOSH request body, in bytes.
    #[serde(default = "default_bosh_body_limit")]
    pub bosh_body_limit: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: default_http_addrs(),
            cross_domain_bosh: CrossDomain::default(),
            cross_domain_websocket: CrossDomain::default(),
            consider_secure: false,
            websocket_frame_limit: default_ws_frame_limit(),
            websocket_ping_interval: default_ws_ping_interval(),
            bosh_max_inactivity: default_bosh_max_inactivity(),
            bosh_max_wait: default_bosh_max_wait(),
            bosh_max_requests: default_bosh_max_requests(),
            bosh_max_hold: default_bosh_max_hold(),
            bosh_max_pause: default_bosh_max_pause(),
            bosh_polling: default_bosh_polling(),
            bosh_body_limit: default_bosh_body_limit(),
        }
    }
}

/// `[c2s]`: where clients connect over TCP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct C2sListener {
    /// Addresses to listen on (`127.0.0.1:5222`; port 0 picks a free port).
    #[serde(default = "default_c2s_addrs")]
    pub listen: Vec<SocketAddr>,
}

fn default_c2s_addrs() -> Vec<SocketAddr> {
    vec![SocketAddr::from(([127, 0, 0, 1], 5222))]
}

impl Default for C2sListener {
    fn default() -> Self {
        C2sListener {
            listen: default_c2s_addrs(),
        }
    }
}

/// How a host authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authentication {
    /// SASL ANONYMOUS only.
    Anonymous,
    /// Accounts in the store.
    InternalHashed,
    /// Jitsi JWT tokens.
    Token,
}

/// `[[host]]`: one served client domain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// The domain.
    pub domain: String,
    /// `anonymous` | `internal_hashed` | `token`.
    pub authentication: Authentication,
    /// With `internal_hashed`: also offer SASL ANONYMOUS.
    #[serde(default)]
    pub allow_anonymous: bool,
    /// Host admins (bare JIDs).
    #[serde(default)]
    pub admins: Vec<String>,
    /// PEM certificate chain for STARTTLS; a self-signed one is generated when absent.
    pub tls_certificate: Option<PathBuf>,
    /// PEM private key for STARTTLS.
    pub tls_key: Option<PathBuf>,
    /// Overrides the global `allow_unencrypted_plain_auth` for this host.
    pub allow_unencrypted_plain_auth: Option<bool>,
    /// Overrides the global `c2s_require_encryption` for this host.
    pub c2s_require_encryption: Option<bool>,
    /// `[host.token]`: JWT settings (Prosody/Jitsi key names) for `authentication = "token"`.
    pub token: Option<rookery_policy::TokenHostConfig>,
}

impl Config {
    /// Parses TOML text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            origin: origin.to_owned(),
            message: e.to_string(),
        })?;
        if let Some(profile) = cfg.jitsi.take() {
            return cfg.with_jitsi(profile, origin);
        }
        cfg.validate(origin)?;
        Ok(cfg)
    }

    /// Adds a Jitsi profile's hosts, services and admins, then validates the result.
    pub fn with_jitsi(
        mut self,
        profile: crate::config::jitsi::JitsiProfile,
        origin: &str,
    ) -> Result<Config, ConfigError> {
        profile
            .apply(&mut self)
            .map_err(|(key, reason)| ConfigError::Invalid {
                origin: origin.to_owned(),
                key: key.to_owned(),
                reason,
            })?;
        self.jitsi = Some(profile);
        self.validate(origin)?;
        Ok(self)
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The embedded default.
    pub fn embedded_default() -> Result<Config, ConfigError> {
        Self::parse(DEFAULT_CONFIG, "<embedded default config>")
    }

    fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            origin: origin.to_owned(),
            key: key.to_owned(),
            reason,
        };
        if self.c2s_stanza_size_limit < 1024 {
            return Err(invalid(
                "c2s_stanza_size_limit",
                "must be at least 1024".into(),
            ));
        }
        if self.c2s_send_queue == 0 {
            return Err(invalid("c2s_send_queue", "must be at least 1".into()));
        }
        if !(1..=86_400).contains(&self.smacks_hibernation_time) {
            return Err(invalid(
                "smacks_hibernation_time",
                "must be between 1 and 86400 seconds".into(),
            ));
        }
        if self.smacks_max_queue_size < 16 {
            return Err(invalid(
                "smacks_max_queue_size",
                "must be at least 16".into(),
            ));
        }
        if self.smacks_max_unacked_stanzas == 0 {
            return Err(invalid(
                "smacks_max_unacked_stanzas",
                "must be at least 1".into(),
            ));
        }
        if self.smacks_max_hibernated_sessions == 0 {
            return Err(invalid(
                "smacks_max_hibernated_sessions",
                "must be at least 1".into(),
            ));
        }
        if self.smacks_max_hibernated_total < self.smacks_max_hibernated_sessions {
            return Err(invalid(
                "smacks_max_hibernated_total",
                "must be at least smacks_max_hibernated_sessions".into(),
            ));
        }
        if self.scram_iterations < 4096 {
            return Err(invalid(
                "scram_iterations",
                "must be at least 4096 (RFC 7677)".into(),
            ));
        }
        if let Some(http) = &self.http {
            if http.websocket_frame_limit < 1024 {
                return Err(invalid(
                    "http.websocket_frame_limit",
                    "must be at least 1024".into(),
                ));
            }
            if http.bosh_body_limit < 1024 {
                return Err(invalid(
                    "http.bosh_body_limit",
                    "must be at least 1024".into(),
                ));
            }
            if http.bosh_max_requests < 1 || http.bosh_max_hold >= http.bosh_max_requests {
                return Err(invalid(
                    "http.bosh_max_hold",
                    "must be smaller than http.bosh_max_requests".into(),
                ));
            }
            if http.bosh_max_inactivity == 0 || http.bosh_max_wait == 0 {
                return Err(invalid(
                    "http.bosh_max_inactivity",
                    "bosh_max_inactivity and bosh_max_wait must be at least 1".into(),
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for h in &self.hosts {
            if rookery_proto::Jid::parse(&h.domain)
                .map(|j| j.node().is_some() || j.resource().is_some())
                .unwrap_or(true)
            {
                return Err(invalid(
                    "host.domain",
                    format!("'{}' is not a domain", h.domain),
                ));
            }
            if !seen.insert(h.domain.to_lowercase()) {
                return Err(invalid(
                    "host.domain",
                    format!("'{}' is declared twice", h.domain),
                ));
            }
            if h.tls_certificate.is_some() != h.tls_key.is_some() {
                return Err(invalid(
                    "host.tls_certificate",
                    format!(
                        "host '{}': tls_certificate and tls_key go together",
                        h.domain
                    ),
                ));
            }
            match (&h.authentication, &h.token) {
                (Authentication::Token, None) => {
                    return Err(invalid(
                        "host.token",
                        format!(
                            "host '{}' uses token authentication but has no [host.token] section",
                            h.domain
                        ),
                    ));
                }
                (_, Some(t)) => {
                    t.validate()
                        .map_err(|e| invalid("host.token", format!("host '{}': {e}", h.domain)))?;
                }
                _ => {}
            }
            for a in h.admins.iter().chain(&self.admins) {
                if rookery_proto::Jid::parse(a).is_err() {
                    return Err(invalid("admins", format!("'{a}' is not a JID")));
                }
            }
        }
        let mut muc_domains = std::collections::HashSet::new();
        for m in &self.mucs {
            if self.host(m.domain.as_str()).is_some() || !muc_domains.insert(m.domain.clone()) {
                return Err(invalid(
                    "muc.domain",
                    format!("'{}' is already a host or another MUC service", m.domain),
                ));
            }
        }
        self.validate_token_verification()
            .map_err(|(key, reason)| invalid(&key, reason))?;
        crate::config::component::validate(self).map_err(|(key, reason)| invalid(key, reason))?;
        crate::services::client_proxy::validate(self)
            .map_err(|(key, reason)| invalid(key, reason))?;
        Ok(())
    }

    /// A MUC that verifies the token's `sub` (domain verification) must be fed only by
    /// token hosts that require `sub` at login; otherwise a token without `sub` logs in and
    /// is refused only at the join, with a reason the user cannot act on. The token hosts
    /// of a MUC are its parent domain (`conference.example.com` → `example.com`) and its
    /// `muc_mapper_domain_base`.
    fn validate_token_verification(&self) -> Result<(), (String, String)> {
        for m in &self.mucs {
            let Some(verification) = &m.token_verification else {
                continue;
            };
            if !verification.enable_domain_verification {
                continue;
            }
            let muc = m.domain.as_str();
            let parent = muc.split_once('.').map(|(_, rest)| rest);
            let feeding = self.hosts.iter().filter(|h| {
                let d = h.domain.to_lowercase();
                Some(d.as_str()) == parent
                    || verification
                        .muc_mapper_domain_base
                        .as_deref()
                        .is_some_and(|b| b.eq_ignore_ascii_case(&d))
            });
            for h in feeding {
                if let Some(token) = &h.token
                    && !token.enable_domain_verification
                {
                    return Err((
                        "muc.token_verification.enable_domain_verification".into(),
                        format!(
                            "MUC '{muc}' verifies the token's 'sub', but its token host '{}' does \
                             not require it (host.token.enable_domain_verification = false): set \
                             both to the same value",
                            h.domain
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The host block for a domain.
    pub fn host(&self, domain: &str) -> Option<&HostConfig> {
        self.hosts
            .iter()
            .find(|h| h.domain.eq_ignore_ascii_case(domain))
    }
}

#[cfg(test)]
mod tests;
