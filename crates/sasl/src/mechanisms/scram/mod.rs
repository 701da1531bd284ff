//! SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677), server side, without channel
//! binding: GS2 flags `n` and `y` are accepted, `p=` is refused.
//!
//! Exchange: client-first -> [`Step::NeedCredentials`] -> (caller answers) ->
//! [`Step::Challenge`] (server-first `r=,s=,i=`) -> client-final -> [`Step::Success`]
//! carrying the server-final-message `v=...` as additional data.

mod messages;

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::credentials::{ScramCredentials, ScramHash};
use crate::error::{SaslCondition, SaslError, ScramServerError};
use crate::mechanism::Mechanism;
use crate::mechanisms::unknown_user::fake_credentials;
use crate::saslprep;
use crate::step::{Authenticated, CredentialsRequest, ServerMechanism, Step, check_len};

use messages::{ClientFirst, parse_client_final, parse_client_first};

/// Random bytes in a server nonce (sent base64-encoded, so 32 characters).
pub const SERVER_NONCE_BYTES: usize = 24;

/// What the server remembers between server-first and client-final.
struct AwaitingFinal {
    first: ClientFirst,
    server_first: String,
    nonce: String,
    credentials: ScramCredentials,
    /// False when `credentials` are the unknown-user stand-in.
    known: bool,
}

enum State {
    AwaitClientFirst,
    AwaitCredentials(Box<ClientFirst>),
    AwaitClientFinal(Box<AwaitingFinal>),
    Done,
}

/// Server side of SCRAM-SHA-1 / SCRAM-SHA-256.
pub struct ScramServer {
    hash: ScramHash,
    domain: String,
    server_nonce: Option<String>,
    state: State,
}

impl ScramServer {
    /// A SCRAM exchange with `hash` for a host whose bare JIDs end in `@domain`.
    pub fn new(hash: ScramHash, domain: impl Into<String>) -> ScramServer {
        ScramServer {
            hash,
            domain: domain.into(),
            server_nonce: None,
            state: State::AwaitClientFirst,
        }
    }

    /// Test hook: use a fixed server nonce so the RFC test vectors reproduce exactly.
    #[cfg(test)]
    pub(crate) fn with_server_nonce(mut self, nonce: &str) -> ScramServer {
        self.server_nonce = Some(nonce.to_owned());
        self
    }

    fn fresh_server_nonce(&mut self) -> String {
        self.server_nonce.take().unwrap_or_else(|| {
            let mut bytes = [0u8; SERVER_NONCE_BYTES];
            rand::rng().fill_bytes(&mut bytes);
            STANDARD.encode(bytes)
        })
    }

    fn client_first(&mut self, input: &[u8]) -> Result<Step, SaslError> {
        check_len(input)?;
        let first = parse_client_first(input)?;
        if let Some(authzid) = &first.authzid
            && !saslprep::authzid_matches(authzid, &first.username, &self.domain)
        {
            return Err(SaslError::new(
                SaslCondition::InvalidAuthzid,
                "SCRAM: the authorization identity must be empty or the user's own JID",
            ));
        }
        let request = CredentialsRequest {
            username: first.username.clone(),
            hash: self.hash,
        };
        self.state = State::AwaitCredentials(Box::new(first));
        Ok(Step::NeedCredentials(request))
    }

    fn server_first(
        &mut self,
        first: ClientFirst,
        credentials: Option<ScramCredentials>,
    ) -> Result<Step, SaslError> {
        let known = credentials.is_some();
        let credentials = match credentials {
            Some(c) if c.fits(self.hash) => c,
            Some(_) => {
                return Err(SaslError::new(
                    SaslCondition::TemporaryAuthFailure,
                    "stored credentials are unusable",
                ));
            }
            None => fake_credentials(self.hash, &first.username),
        };
        let nonce = format!("{}{}", first.client_nonce, self.fresh_server_nonce());
        let server_first = format!(
            "r={nonce},s={},i={}",
            STANDARD.encode(&credentials.salt),
            credentials.iterations
        );
        let challenge = server_first.clone().into_bytes();
        self.state = State::AwaitClientFinal(Box::new(AwaitingFinal {
            first,
            server_first,
            nonce,
            credentials,
            known,
        }));
        Ok(Step::Challenge(challenge))
    }

    fn client_final(&self, input: &[u8], pending: AwaitingFinal) -> Result<Step, SaslError> {
        let AwaitingFinal {
            first,
            server_first,
            nonce,
            credentials,
            known,
        } = pending;
        check_len(input)?;
        let msg = parse_client_final(input)?;
        if msg.channel_binding != first.gs2_header.as_bytes() {
            return Err(SaslError::not_authorized(
                "SCRAM: channel binding data (c=) does not match the GS2 header",
            )
            .with_scram_error(ScramServerError::ChannelBindingsDontMatch));
        }
        if msg.nonce != nonce {
            return Err(SaslError::not_authorized("SCRAM: nonce mismatch")
                .with_scram_error(ScramServerError::OtherError));
        }
        let invalid_proof = || {
            SaslError::not_authorized("SCRAM: wrong user name or password")
                .with_scram_error(ScramServerError::InvalidProof)
        };
        if msg.proof.len() != self.hash.output_len() {
            return Err(invalid_proof());
        }
        let auth_message = format!("{},{},{}", first.bare, server_first, msg.without_proof);
        let client_signature = self
            .hash
            .hmac(&credentials.stored_key, auth_message.as_bytes());
        let client_key: Vec<u8> = msg
            .proof
            .iter()
            .zip(&client_signature)
            .map(|(p, s)| p ^ s)
            .collect();
        let computed_stored_key = self.hash.hash(&client_key);
        let proof_ok = bool::from(computed_stored_key.ct_eq(&credentials.stored_key));
        if !(proof_ok && known) {
            return Err(invalid_proof());
        }
        let server_signature = self
            .hash
            .hmac(&credentials.server_key, auth_message.as_bytes());
        let server_final = format!("v={}", STANDARD.encode(server_signature));
        Ok(Step::Success {
            additional_data: Some(server_final.into_bytes()),
            identity: Authenticated::Account {
                username: first.username,
            },
        })
    }
}

impl ServerMechanism for ScramServer {
    fn mechanism(&self) -> Mechanism {
        match self.hash {
            ScramHash::Sha1 => Mechanism::ScramSha1,
            ScramHash::Sha256 => Mechanism::ScramSha256,
        }
    }

    fn step(&mut self, input: &[u8]) -> Result<Step, SaslError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitClientFirst => self.client_first(input),
            State::AwaitClientFinal(pending) => self.client_final(input, *pending),
            State::AwaitCredentials(_) => Err(SaslError::misuse(
                "SCRAM received a message while waiting for credentials",
            )),
            State::Done => Err(SaslError::finished()),
        }
    }

    fn provide_credentials(
        &mut self,
        credentials: Option<ScramCredentials>,
    ) -> Result<Step, SaslError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitCredentials(first) => self.server_first(*first, credentials),
            _ => Err(SaslError::misuse("SCRAM did not ask for credentials")),
        }
    }
}

impl fmt::Debug for ScramServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::AwaitClientFirst => "await-client-first",
            State::AwaitCredentials(_) => "await-credentials",
            State::AwaitClientFinal(_) => "await-client-final",
            State::Done => "done",
        };
        f.debug_struct("ScramServer")
            .field("hash", &self.hash)
            .field("domain", &self.domain)
            .field("state", &state)
            .finish()
    }
}

#[cfg(test)]
mod tests;
