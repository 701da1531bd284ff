//! The authentication step of a token host, sans-io: a session's token (from `?token=` or
//! OAUTHBEARER) becomes a guest, a prepared token waiting for its key, or a refusal.
//!
//! [`begin`] decides what the token needs; for [`TokenLogin::Verify`] the caller obtains
//! the key for [`PreparedToken::key_need`] (nothing to do for [`KeyNeed::Configured`]; the
//! server's key cache otherwise) and calls [`finish`]. Refusals are logged with their
//! reason and the token's `kid`/`iss`, never the token itself.
//!
//! [`KeyNeed::Configured`]: super::KeyNeed::Configured

use std::time::{SystemTime, UNIX_EPOCH};

use rookery_policy::TokenClaims;

use super::error::TokenError;
use super::key::VerificationKey;
use super::verifier::{PreparedToken, TokenVerifier};

/// What a login with a token (or without one) needs next.
#[derive(Debug, Clone)]
pub enum TokenLogin {
    /// No token (or an empty one) and `allow_empty_token` is on: an
    /// `Identity::Guest`.
    Guest,
    /// A token that passed the key-independent checks: obtain the key it needs, then
    /// [`finish`].
    Verify(PreparedToken),
}

/// Starts the login of a session on a token host. An empty token counts as none: without
/// `allow_empty_token` that is "token required".
pub fn begin(verifier: &TokenVerifier, token: Option<&str>) -> Result<TokenLogin, TokenError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return if verifier.allow_empty_token() {
            Ok(TokenLogin::Guest)
        } else {
            tracing::info!(reason = "token required", "token authentication refused");
            Err(TokenError::token_required())
        };
    };
    match verifier.prepare(token) {
        Ok(prepared) => Ok(TokenLogin::Verify(prepared)),
        Err(err) => {
            tracing::info!(reason = err.reason(), "token authentication refused");
            Err(err)
        }
    }
}

/// Ends the login of a prepared token: [`TokenVerifier::verify_prepared`] with `key` (the
/// key for its [`PreparedToken::key_need`], `None` for a configured key), logged. `now` is
/// seconds since the Unix epoch.
pub fn finish(
    verifier: &TokenVerifier,
    prepared: &PreparedToken,
    key: Option<&VerificationKey>,
    now: u64,
) -> Result<TokenClaims, TokenError> {
    match verifier.verify_prepared(prepared, key, now) {
        Ok(claims) => {
            tracing::debug!(
                kid = prepared.kid(),
                iss = claims.issuer(),
                "token accepted"
            );
            Ok(claims)
        }
        Err(err) => {
            tracing::info!(
                reason = err.reason(),
                kid = prepared.kid(),
                iss = prepared.unverified_issuer(),
                "token authentication refused"
            );
            Err(err)
        }
    }
}

/// Refuses a prepared token whose key could not be obtained, logged like the other
/// refusals (a warning: the key source is failing, not the client). Returns `err`.
pub fn refuse_unavailable_key(prepared: &PreparedToken, err: TokenError) -> TokenError {
    tracing::warn!(
        reason = err.reason(),
        kid = prepared.kid(),
        "token authentication refused"
    );
    err
}

/// Seconds since the Unix epoch from the system clock (the `now` of the real server).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
