//! PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd` in one client message.
//!
//! The password is checked against the user's stored SCRAM credentials (SHA-256): the
//! server derives SaltedPassword with the stored salt and iteration count and compares
//! StoredKey in constant time. The server never stores or logs the password.

use std::fmt;

use crate::credentials::{ScramCredentials, ScramHash};
use crate::error::{SaslCondition, SaslError};
use crate::mechanism::Mechanism;
use crate::mechanisms::unknown_user::fake_credentials;
use crate::saslprep;
use crate::step::{Authenticated, CredentialsRequest, ServerMechanism, Step, check_len};

/// The hash whose stored credentials PLAIN verifies against.
pub const PLAIN_VERIFY_HASH: ScramHash = ScramHash::Sha256;

enum State {
    AwaitMessage,
    AwaitCredentials { username: String, password: String },
    Done,
}

/// Server side of PLAIN.
///
/// `step(message)` returns [`Step::NeedCredentials`]; the answer to
/// [`provide_credentials`](ServerMechanism::provide_credentials) runs PBKDF2 with the
/// stored iteration count (milliseconds of CPU: a async caller may want to run that call
/// on a blocking thread).
pub struct PlainServer {
    domain: String,
    state: State,
}

impl PlainServer {
    /// A PLAIN exchange for a host whose bare JIDs end in `@domain` (used to accept an
    /// authzid of `user@domain`).
    pub fn new(domain: impl Into<String>) -> PlainServer {
        PlainServer {
            domain: domain.into(),
            state: State::AwaitMessage,
        }
    }

    fn parse(&self, input: &[u8]) -> Result<(String, String), SaslError> {
        check_len(input)?;
        if input.is_empty() {
            return Err(SaslError::malformed("PLAIN: empty message"));
        }
        let mut parts = input.split(|&b| b == 0);
        let (Some(authzid), Some(authcid), Some(password), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SaslError::malformed(
                "PLAIN: expected authzid NUL authcid NUL password",
            ));
        };
        let utf8 = |bytes: &[u8], what: &str| {
            std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|_| SaslError::malformed(format!("PLAIN: {what} is not UTF-8")))
        };
        let authzid = utf8(authzid, "authzid")?;
        let username = utf8(authcid, "user name")?;
        let password = utf8(password, "password")?;
        saslprep::check_username(&username)
            .map_err(|why| refusal(why, format!("PLAIN: invalid user name ({why})")))?;
        saslprep::check_password(&password)
            .map_err(|why| refusal(why, format!("PLAIN: invalid password ({why})")))?;
        if !authzid.is_empty() && !saslprep::authzid_matches(&authzid, &username, &self.domain) {
            return Err(SaslError::new(
                SaslCondition::InvalidAuthzid,
                "PLAIN: the authorization identity must be empty or the user's own JID",
            ));
        }
        Ok((username, password))
    }
}

/// Empty or oversized fields are malformed; anything else prohibited cannot be an account.
fn refusal(why: &str, text: String) -> SaslError {
    match why {
        "empty" | "too long" => SaslError::malformed(text),
        _ => SaslError::not_authorized(text),
    }
}

impl ServerMechanism for PlainServer {
    fn mechanism(&self) -> Mechanism {
        Mechanism::Plain
    }

    fn step(&mut self, input: &[u8]) -> Result<Step, SaslError> {
        if !matches!(self.state, State::AwaitMessage) {
            self.state = State::Done;
            return Err(SaslError::finished());
        }
        self.state = State::Done;
        let (username, password) = self.parse(input)?;
        let request = CredentialsRequest {
            username: username.clone(),
            hash: PLAIN_VERIFY_HASH,
        };
        self.state = State::AwaitCredentials { username, password };
        Ok(Step::NeedCredentials(request))
    }

    fn provide_credentials(
        &mut self,
        credentials: Option<ScramCredentials>,
    ) -> Result<Step, SaslError> {
        let State::AwaitCredentials { username, password } =
            std::mem::replace(&mut self.state, State::Done)
        else {
            return Err(SaslError::misuse("PLAIN did not ask for credentials"));
        };
        let known = credentials.is_some();
        let credentials =
            credentials.unwrap_or_else(|| fake_credentials(PLAIN_VERIFY_HASH, &username));
        if known && !credentials.fits(PLAIN_VERIFY_HASH) {
            return Err(SaslError::new(
                SaslCondition::TemporaryAuthFailure,
                "stored credentials are unusable",
            ));
        }
        // The fake credentials go through the same derivation so an unknown user costs
        // the same time as a wrong password.
        let verified = credentials.verify_password(PLAIN_VERIFY_HASH, &password);
        if verified && known {
            Ok(Step::Success {
                additional_data: None,
                identity: Authenticated::Account { username },
            })
        } else {
            Err(SaslError::not_authorized(
                "PLAIN: wrong user name or password",
            ))
        }
    }
}

impl fmt::Debug for PlainServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::AwaitMessage => "await-message",
            State::AwaitCredentials { .. } => "await-credentials",
            State::Done => "done",
        };
        f.debug_struct("PlainServer")
            .field("domain", &self.domain)
            .field("state", &state)
            .finish()
    }
}

#[cfg(test)]
#[path = "plain_tests.rs"]
mod tests;
