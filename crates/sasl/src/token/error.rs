//! Why a token was refused, with the text sent to the client.

use std::borrow::Cow;
use std::fmt;

use rookery_policy::ClaimError;

/// What kind of failure a [`TokenError`] is; match on this, show [`TokenError::reason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenErrorKind {
    /// No token (or an empty one) and `allow_empty_token` is off.
    TokenRequired,
    /// The token is over the configured byte-size limit.
    TooLarge,
    /// Not three dot-separated segments.
    Malformed,
    /// The header is not base64url, not JSON, or not a JSON object.
    BadHeader,
    /// The payload is not base64url, not JSON, or not a JSON object.
    BadPayload,
    /// The header's `alg` is missing or is not the configured algorithm.
    Algorithm,
    /// An HMAC token presented to a host whose keys come from a key server.
    HmacOnKeyServer,
    /// The header's `typ` is present and not `JWT`.
    Type,
    /// The header lacks the `kid` a key server or JWKS needs.
    MissingKid,
    /// The public key could not be obtained (fetch failed, bad key, unknown kid).
    KeyUnavailable,
    /// The signature does not verify (or its segment is not base64url).
    Signature,
    /// `now >= exp` (with leeway).
    Expired,
    /// `now < nbf` (with leeway).
    NotYetValid,
    /// No `exp` while `token_require_exp` is on.
    MissingExp,
    /// `iss` is not an accepted issuer.
    Issuer,
    /// `aud` has no accepted audience.
    Audience,
    /// A claim is missing or mistyped (see [`TokenError::claim_error`]).
    Claim,
}

/// A refused token. `reason()` is the SASL `<failure><text>` (Jitsi's texts where they
/// exist); it never contains the token or a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    kind: TokenErrorKind,
    reason: Cow<'static, str>,
    claim: Option<ClaimError>,
}

impl TokenError {
    pub(crate) fn new(kind: TokenErrorKind, reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            reason: reason.into(),
            claim: None,
        }
    }

    /// "token required": no token and tokenless logins are off.
    pub fn token_required() -> Self {
        Self::new(TokenErrorKind::TokenRequired, "token required")
    }

    /// "could not obtain public key: DETAIL" (Jitsi's prefix): the key of a key-server or
    /// JWKS host could not be fetched or used. `detail` must not contain secrets.
    pub fn key_unavailable(detail: impl fmt::Display) -> Self {
        Self::new(
            TokenErrorKind::KeyUnavailable,
            format!("could not obtain public key: {detail}"),
        )
    }

    /// The kind of failure.
    pub fn kind(&self) -> TokenErrorKind {
        self.kind
    }

    /// The text for the client and the logs.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The claim problem, for [`TokenErrorKind::Claim`].
    pub fn claim_error(&self) -> Option<&ClaimError> {
        self.claim.as_ref()
    }

    /// The OAUTHBEARER verdict for this refusal (RFC 7628 / RFC 6750 status): a missing
    /// `room`/`sub` is `insufficient_scope`, a missing token `invalid_request`, anything
    /// else `invalid_token`; the text is [`TokenError::reason`].
    pub fn to_bearer_verdict(&self) -> crate::step::TokenVerdict {
        use crate::step::BearerStatus;
        let status = match (self.kind, &self.claim) {
            (TokenErrorKind::TokenRequired, _) => BearerStatus::InvalidRequest,
            (_, Some(ClaimError::MissingRoom | ClaimError::MissingSubject)) => {
                BearerStatus::InsufficientScope
            }
            _ => BearerStatus::InvalidToken,
        };
        crate::step::TokenVerdict::Rejected {
            status,
            text: self.reason().to_owned(),
        }
    }
}

impl From<ClaimError> for TokenError {
    fn from(err: ClaimError) -> Self {
        Self {
            kind: TokenErrorKind::Claim,
            reason: Cow::Borrowed(err.reason()),
            claim: Some(err),
        }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for TokenError {}
