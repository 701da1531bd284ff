//! What a host offers and how a session starts an exchange: [`MechanismPolicy`] lists the
//! mechanisms to advertise and turns `<auth mechanism=.../>` into a [`SaslServer`] or a
//! failure condition.

use crate::credentials::{ScramCredentials, ScramHash};
use crate::error::{SaslCondition, SaslError};
use crate::mechanism::Mechanism;
use crate::mechanisms::anonymous::AnonymousServer;
use crate::mechanisms::oauthbearer::OAuthBearerServer;
use crate::mechanisms::plain::PlainServer;
use crate::mechanisms::scram::ScramServer;
use crate::step::{ServerMechanism, Step, TokenVerdict};

/// How a client host authenticates (the `authentication` setting of a virtual host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// Local accounts with stored SCRAM credentials: SCRAM-SHA-256, SCRAM-SHA-1, PLAIN.
    Accounts,
    /// Anyone may log in anonymously: ANONYMOUS.
    Anonymous,
    /// Token holders: ANONYMOUS (Jitsi Meet passes the token in the connection URL and the
    /// session verifies it after the exchange) and, if `offer_oauthbearer`, OAUTHBEARER.
    Token {
        /// Whether to advertise OAUTHBEARER. Off by default for Jitsi: Strophe.js picks
        /// OAUTHBEARER over ANONYMOUS when offered, even without a token to send.
        offer_oauthbearer: bool,
    },
}

/// Which mechanisms a host offers, and on which streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MechanismPolicy {
    /// The host's authentication kind.
    pub auth: AuthKind,
    /// Whether PLAIN and OAUTHBEARER (which send a reusable secret in the clear) may be
    /// used on a stream that is not encrypted. Off unless TLS is terminated elsewhere.
    pub allow_plain_unencrypted: bool,
}

impl MechanismPolicy {
    /// The mechanisms the host supports at all, strongest first.
    fn supported(&self) -> &'static [Mechanism] {
        match self.auth {
            AuthKind::Accounts => &[
                Mechanism::ScramSha256,
                Mechanism::ScramSha1,
                Mechanism::Plain,
            ],
            AuthKind::Anonymous => &[Mechanism::Anonymous],
            AuthKind::Token {
                offer_oauthbearer: true,
            } => &[Mechanism::OAuthBearer, Mechanism::Anonymous],
            AuthKind::Token {
                offer_oauthbearer: false,
            } => &[Mechanism::Anonymous],
        }
    }

    /// The mechanisms to list in `<mechanisms/>` on a stream, strongest first.
    pub fn advertised(&self, encrypted: bool) -> Vec<Mechanism> {
        self.supported()
            .iter()
            .copied()
            .filter(|m| encrypted || self.allow_plain_unencrypted || !m.sends_secret_in_clear())
            .collect()
    }

    /// Starts the exchange the client selected with `<auth mechanism='name'/>`.
    ///
    /// Fails with `invalid-mechanism` for an unknown name or one the host does not
    /// support, and with `encryption-required` for PLAIN/OAUTHBEARER on an unencrypted
    /// stream the policy does not allow them on. `domain` is the host's domain, used to
    /// accept an authzid of `user@domain`.
    pub fn start(
        &self,
        name: &str,
        encrypted: bool,
        domain: &str,
    ) -> Result<SaslServer, SaslError> {
        let mechanism = Mechanism::from_name(name)
            .filter(|m| self.supported().contains(m))
            .ok_or_else(|| {
                SaslError::new(
                    SaslCondition::InvalidMechanism,
                    "mechanism not supported on this host",
                )
            })?;
        if mechanism.sends_secret_in_clear() && !encrypted && !self.allow_plain_unencrypted {
            return Err(SaslError::new(
                SaslCondition::EncryptionRequired,
                format!("{mechanism} requires an encrypted stream"),
            ));
        }
        Ok(SaslServer::new(mechanism, domain))
    }
}

/// Any mechanism's server state machine behind one type, so a session holds one field.
#[derive(Debug)]
pub enum SaslServer {
    /// SCRAM-SHA-1 or SCRAM-SHA-256.
    Scram(ScramServer),
    /// PLAIN.
    Plain(PlainServer),
    /// ANONYMOUS.
    Anonymous(AnonymousServer),
    /// OAUTHBEARER.
    OAuthBearer(OAuthBearerServer),
}

impl SaslServer {
    /// A fresh exchange for `mechanism`, without any policy check (see
    /// [`MechanismPolicy::start`] for the checked entry point).
    pub fn new(mechanism: Mechanism, domain: &str) -> SaslServer {
        match mechanism {
            Mechanism::ScramSha1 => SaslServer::Scram(ScramServer::new(ScramHash::Sha1, domain)),
            Mechanism::ScramSha256 => {
                SaslServer::Scram(ScramServer::new(ScramHash::Sha256, domain))
            }
            Mechanism::Plain => SaslServer::Plain(PlainServer::new(domain)),
            Mechanism::Anonymous => SaslServer::Anonymous(AnonymousServer::new()),
            Mechanism::OAuthBearer => SaslServer::OAuthBearer(OAuthBearerServer::new()),
        }
    }

    fn inner(&mut self) -> &mut dyn ServerMechanism {
        match self {
            SaslServer::Scram(m) => m,
            SaslServer::Plain(m) => m,
            SaslServer::Anonymous(m) => m,
            SaslServer::OAuthBearer(m) => m,
        }
    }
}

impl ServerMechanism for SaslServer {
    fn mechanism(&self) -> Mechanism {
        match self {
            SaslServer::Scram(m) => m.mechanism(),
            SaslServer::Plain(m) => m.mechanism(),
            SaslServer::Anonymous(m) => m.mechanism(),
            SaslServer::OAuthBearer(m) => m.mechanism(),
        }
    }

    fn initial(&mut self, initial_response: Option<&[u8]>) -> Result<Step, SaslError> {
        self.inner().initial(initial_response)
    }

    fn step(&mut self, input: &[u8]) -> Result<Step, SaslError> {
        self.inner().step(input)
    }

    fn provide_credentials(
        &mut self,
        credentials: Option<ScramCredentials>,
    ) -> Result<Step, SaslError> {
        self.inner().provide_credentials(credentials)
    }

    fn token_verdict(&mut self, verdict: TokenVerdict) -> Result<Step, SaslError> {
        self.inner().token_verdict(verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(auth: AuthKind, allow_plain_unencrypted: bool) -> MechanismPolicy {
        MechanismPolicy {
            auth,
            allow_plain_unencrypted,
        }
    }

    #[test]
    fn advertised_table() {
        use Mechanism::*;
        let token = AuthKind::Token {
            offer_oauthbearer: true,
        };
        let jitsi_token = AuthKind::Token {
            offer_oauthbearer: false,
        };
        let cases: &[(AuthKind, bool, bool, &[Mechanism])] = &[
            (
                AuthKind::Accounts,
                true,
                false,
                &[ScramSha256, ScramSha1, Plain],
            ),
            (AuthKind::Accounts, false, false, &[ScramSha256, ScramSha1]),
            (
                AuthKind::Accounts,
                false,
                true,
                &[ScramSha256, ScramSha1, Plain],
            ),
            (AuthKind::Anonymous, false, false, &[Anonymous]),
            (token, true, false, &[OAuthBearer, Anonymous]),
            (token, false, false, &[Anonymous]),
            (token, false, true, &[OAuthBearer, Anonymous]),
            (jitsi_token, true, true, &[Anonymous]),
        ];
        for (auth, encrypted, allow, want) in cases {
            assert_eq!(
                policy(*auth, *allow).advertised(*encrypted),
                *want,
                "{auth:?} encrypted={encrypted} allow={allow}"
            );
        }
    }

    #[test]
    fn start_table() {
        use SaslCondition::*;
        let accounts = policy(AuthKind::Accounts, false);
        let anon = policy(AuthKind::Anonymous, false);
        let cases: &[(
            MechanismPolicy,
            &str,
            bool,
            Result<Mechanism, SaslCondition>,
        )] = &[
            (accounts, "SCRAM-SHA-1", false, Ok(Mechanism::ScramSha1)),
            (accounts, "SCRAM-SHA-256", false, Ok(Mechanism::ScramSha256)),
            (accounts, "PLAIN", true, Ok(Mechanism::Plain)),
            (accounts, "PLAIN", false, Err(EncryptionRequired)),
            (accounts, "ANONYMOUS", true, Err(InvalidMechanism)),
            (accounts, "SCRAM-SHA-1-PLUS", true, Err(InvalidMechanism)),
            (accounts, "DIGEST-MD5", true, Err(InvalidMechanism)),
            (accounts, "plain", true, Err(InvalidMechanism)),
            (accounts, "", true, Err(InvalidMechanism)),
            (anon, "ANONYMOUS", false, Ok(Mechanism::Anonymous)),
            (anon, "PLAIN", true, Err(InvalidMechanism)),
            (
                policy(
                    AuthKind::Token {
                        offer_oauthbearer: true,
                    },
                    false,
                ),
                "OAUTHBEARER",
                false,
                Err(EncryptionRequired),
            ),
            (
                policy(
                    AuthKind::Token {
                        offer_oauthbearer: true,
                    },
                    false,
                ),
                "OAUTHBEARER",
                true,
                Ok(Mechanism::OAuthBearer),
            ),
            (
                policy(
                    AuthKind::Token {
                        offer_oauthbearer: false,
                    },
                    false,
                ),
                "OAUTHBEARER",
                true,
                Err(InvalidMechanism),
            ),
        ];
        for (p, name, encrypted, want) in cases {
            let got = p
                .start(name, *encrypted, "example.com")
                .map(|s| s.mechanism())
                .map_err(|e| e.condition());
            assert_eq!(&got, want, "{name} on {:?} encrypted={encrypted}", p.auth);
        }
    }
}
