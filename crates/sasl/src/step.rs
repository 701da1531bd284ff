//! The uniform server-side interface every mechanism implements: bytes in, a [`Step`] out.
//!
//! A mechanism never does I/O. When it needs something only the caller has (a user's
//! stored credentials, a verdict on a bearer token) it returns a question
//! ([`Step::NeedCredentials`], [`Step::VerifyToken`]) and the caller answers with
//! [`ServerMechanism::provide_credentials`] or [`ServerMechanism::token_verdict`], which
//! return the next step.

use std::fmt;

use crate::credentials::{ScramCredentials, ScramHash};
use crate::error::SaslError;
use crate::mechanism::Mechanism;

/// Largest client message accepted in one step (after base64 decoding); anything larger
/// fails with `malformed-request`.
pub const MAX_STEP_BYTES: usize = 8 * 1024;

/// What the server does next after a client message or an answer from the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send `<challenge/>` with these bytes (base64-encoded by the caller; an empty
    /// challenge is sent as `=`) and feed the client's `<response/>` to
    /// [`ServerMechanism::step`].
    Challenge(Vec<u8>),
    /// Look up the stored credentials of this user and answer with
    /// [`ServerMechanism::provide_credentials`] (`None` if there is no such account).
    NeedCredentials(CredentialsRequest),
    /// Verify this bearer token (OAUTHBEARER) and answer with
    /// [`ServerMechanism::token_verdict`].
    VerifyToken(TokenRequest),
    /// Authentication succeeded: send `<success/>` with `additional_data` (if any).
    Success {
        /// Data for the `<success/>` element (the SCRAM server-final-message `v=...`).
        additional_data: Option<Vec<u8>>,
        /// Who authenticated.
        identity: Authenticated,
    },
}

/// The outcome of a successful exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authenticated {
    /// A local account proved knowledge of its password (PLAIN, SCRAM-*). `username` is
    /// the authentication identity as the client sent it, after SASLprep-lite checks;
    /// it is the localpart of the session's JID.
    Account {
        /// The account's user name (JID localpart).
        username: String,
    },
    /// An anonymous login (ANONYMOUS); the caller assigns a random localpart.
    Anonymous {
        /// The optional RFC 4505 trace information, for logs only.
        trace: Option<String>,
    },
    /// A bearer-token login (OAUTHBEARER) whose token the caller accepted; the caller
    /// keeps the verified claims it derived from the token.
    Bearer {
        /// The authorization identity from the GS2 header, if the client sent one.
        authzid: Option<String>,
    },
}

/// A request for a user's stored SCRAM credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsRequest {
    /// The user name to look up (already decoded and checked).
    pub username: String,
    /// Which hash's credentials are needed. PLAIN asks for [`ScramHash::Sha256`].
    pub hash: ScramHash,
}

/// A bearer token presented with OAUTHBEARER, for the caller to verify.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The token after `auth=Bearer ` (never logged: `Debug` redacts it).
    pub token: String,
    /// The GS2 `a=` authorization identity, if any.
    pub authzid: Option<String>,
    /// The `host=` kvpair, if any.
    pub host: Option<String>,
    /// The `port=` kvpair, if any and numeric.
    pub port: Option<u16>,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("token", &format_args!("<{} bytes>", self.token.len()))
            .field("authzid", &self.authzid)
            .field("host", &self.host)
            .field("port", &self.port)
            .finish()
    }
}

/// The caller's verdict on a bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenVerdict {
    /// The token is valid for this host; the exchange succeeds.
    Accepted,
    /// The token is refused. The server sends the RFC 7628 JSON error challenge with
    /// `status`, waits for the client's `%x01`, then fails with `not-authorized` and `text`.
    Rejected {
        /// The RFC 6750 error code for the JSON `status` field.
        status: BearerStatus,
        /// Why, for the final `<failure/>` text (must not contain the token).
        text: String,
    },
}

/// RFC 6750 §3.1 error codes used in the OAUTHBEARER error challenge's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerStatus {
    /// The token is expired, revoked, malformed or otherwise invalid.
    InvalidToken,
    /// The request itself is malformed.
    InvalidRequest,
    /// The token lacks the required scope (e.g. a room or tenant claim).
    InsufficientScope,
}

impl BearerStatus {
    /// The RFC 6750 token.
    pub fn as_str(self) -> &'static str {
        match self {
            BearerStatus::InvalidToken => "invalid_token",
            BearerStatus::InvalidRequest => "invalid_request",
            BearerStatus::InsufficientScope => "insufficient_scope",
        }
    }
}

/// A server-side SASL mechanism state machine.
///
/// Drive it with [`initial`](ServerMechanism::initial) (the `<auth/>` payload), then
/// [`step`](ServerMechanism::step) for each `<response/>`, answering questions as they
/// come. Any `Err` ends the exchange: send `<failure/>` with its condition and text and
/// drop the mechanism. Calls after success or failure return `Err`, never panic.
pub trait ServerMechanism {
    /// Which mechanism this is.
    fn mechanism(&self) -> Mechanism;

    /// Handles the `<auth/>` element: `None` when it had no text (no initial response),
    /// `Some(&[])` when it was `=` (an empty initial response). The default asks a
    /// client-first mechanism for its first message with an empty challenge.
    fn initial(&mut self, initial_response: Option<&[u8]>) -> Result<Step, SaslError> {
        match initial_response {
            Some(data) => self.step(data),
            None => Ok(Step::Challenge(Vec::new())),
        }
    }

    /// Handles one client message (decoded from base64 by the caller).
    fn step(&mut self, input: &[u8]) -> Result<Step, SaslError>;

    /// Answers a [`Step::NeedCredentials`] question.
    fn provide_credentials(
        &mut self,
        credentials: Option<ScramCredentials>,
    ) -> Result<Step, SaslError> {
        let _ = credentials;
        Err(SaslError::misuse(
            "this mechanism did not ask for credentials",
        ))
    }

    /// Answers a [`Step::VerifyToken`] question.
    fn token_verdict(&mut self, verdict: TokenVerdict) -> Result<Step, SaslError> {
        let _ = verdict;
        Err(SaslError::misuse(
            "this mechanism did not ask for a token verdict",
        ))
    }
}

/// Refuses inputs longer than [`MAX_STEP_BYTES`].
pub(crate) fn check_len(input: &[u8]) -> Result<(), SaslError> {
    if input.len() > MAX_STEP_BYTES {
        return Err(SaslError::malformed(format!(
            "message of {} bytes exceeds the {MAX_STEP_BYTES}-byte limit",
            input.len()
        )));
    }
    Ok(())
}
