//! [`SaslServer`]: every mechanism's server state machine behind one type. Which
//! mechanisms a host offers, and on which streams, is the c2s session's policy
//! (`rookery_c2s::HostPolicy`); it starts the chosen one with [`SaslServer::new`].

use crate::credentials::{ScramCredentials, ScramHash};
use crate::error::SaslError;
use crate::mechanism::Mechanism;
use crate::mechanisms::anonymous::AnonymousServer;
use crate::mechanisms::oauthbearer::OAuthBearerServer;
use crate::mechanisms::plain::PlainServer;
use crate::mechanisms::scram::ScramServer;
use crate::step::{ServerMechanism, Step, TokenVerdict};

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
    /// A fresh exchange for `mechanism`. No policy check here: the caller has already
    /// decided that the host offers it on this stream. `domain` is the host's domain, used
    /// to accept an authzid of `user@domain`.
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
