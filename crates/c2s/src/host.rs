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
    Token {
        /// Also offer OAUTHBEARER on WebSocket and BOSH. Off by default: Strophe.js (and so
        /// lib-jitsi-meet) picks OAUTHBEARER whenever it is offered and its password is not
        /// `null`, sends `Bearer undefined` and never uses the URL's `?token=`.
        oauthbearer_over_http: bool,
    },
}

/// What kind of connection a stream arrives on, as far as the offered mechanisms go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// A plain TCP (or TLS) stream: no URL, so a token can only come in OAUTHBEARER.
    Tcp,
    /// WebSocket or BOSH: the URL may carry `?token=`, which ANONYMOUS verifies.
    Http,
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
    /// The mechanisms offered on a stream of the given kind and encryption state, strongest
    /// first.
    pub fn mechanisms(&self, transport: TransportKind, encrypted: bool) -> Vec<Mechanism> {
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
            HostAuth::Token {
                oauthbearer_over_http,
            } => {
                let bearer_here = transport == TransportKind::Tcp || oauthbearer_over_http;
                if clear_ok && bearer_here {
                    out.push(Mechanism::OAuthBearer);
                }
                out.push(Mechanism::Anonymous);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_host(oauthbearer_over_http: bool) -> HostPolicy {
        HostPolicy {
            domain: "meet.example.com".into(),
            auth: HostAuth::Token {
                oauthbearer_over_http,
            },
            require_encryption: false,
            allow_unencrypted_plain: false,
        }
    }

    #[test]
    fn token_hosts_offer_only_anonymous_on_http_unless_asked() {
        use Mechanism::{Anonymous, OAuthBearer};
        let jitsi = token_host(false);
        assert_eq!(jitsi.mechanisms(TransportKind::Http, true), [Anonymous]);
        assert_eq!(
            jitsi.mechanisms(TransportKind::Tcp, true),
            [OAuthBearer, Anonymous]
        );
        // Unencrypted TCP never offers the bearer token in the clear.
        assert_eq!(jitsi.mechanisms(TransportKind::Tcp, false), [Anonymous]);
        let bots = token_host(true);
        assert_eq!(
            bots.mechanisms(TransportKind::Http, true),
            [OAuthBearer, Anonymous]
        );
        assert_eq!(bots.mechanisms(TransportKind::Http, false), [Anonymous]);
    }
}
