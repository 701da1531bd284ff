//! What the session needs to know about a served host to negotiate a stream with it.

use rookery_sasl::Mechanism;

/// How a host authenticates clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostAuth {
    /// Only SASL ANONYMOUS: every session gets a random localpart.
    Anonymous,
    /// Accounts in the store (PLAIN, SCRAM-SHA-1, SCRAM-SHA-256); ANONYMOUS too when
    /// `allow_anonymous` is set.
    InternalHashed {
        /// Also offer ANONYMOUS on this host.
        allow_anonymous: bool,
    },
    /// Jitsi JWT: ANONYMOUS carrying the transport's `?token=`, and OAUTHBEARER on TCP.
    Token,
}

/// The per-host settings the negotiation reads.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    /// The host's domain.
    pub domain: String,
    /// Its authentication method.
    pub auth: HostAuth,
    /// Refuse SASL until the stream is encrypted.
    pub require_encryption: bool,
    /// Offer PLAIN (and OAUTHBEARER) on unencrypted streams (loopback, or behind a
    /// TLS-terminating proxy).
    pub allow_unencrypted_plain: bool,
}

impl HostPolicy {
    /// The mechanisms offered on a stream with the given encryption state, strongest first.
    pub fn mechanisms(&self, encrypted: bool) -> Vec<Mechanism> {
        let clear_ok = encrypted || self.allow_unencrypted_plain;
        let mut out = Vec::new();
        match self.auth {
            HostAuth::Anonymous => out.push(Mechanism::Anonymous),
            HostAuth::InternalHashed { allow_anonymous } => {
                out.push(Mechanism::ScramSha256);
                out.push(Mechanism::ScramSha1);
                if clear_ok {
                    out.push(Mechanism::Plain);
                }
                if allow_anonymous {
                    out.push(Mechanism::Anonymous);
                }
            }
            HostAuth::Token => {
                if clear_ok {
                    out.push(Mechanism::OAuthBearer);
                }
                out.push(Mechanism::Anonymous);
            }
        }
        out
    }
}
