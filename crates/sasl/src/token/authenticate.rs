//! The authentication step of a token host: a session's token (from `?token=` or
//! OAUTHBEARER) becomes verified claims, a guest, or a refusal with a reason.

use std::time::{SystemTime, UNIX_EPOCH};

use rookery_policy::TokenClaims;

use super::error::TokenError;
use super::key_fetch::KeyCache;
use super::verifier::{KeyNeed, TokenVerifier};

/// The result of a successful token authentication.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenOutcome {
    /// A verified token: build `SessionIdentity::token(jid, *claims)`.
    Verified(Box<TokenClaims>),
    /// No token and `allow_empty_token` is on: a `SessionIdentity::Guest`.
    Guest,
}

/// Authenticates a session on a token host. An empty token counts as none. Refusals are
/// logged with their reason and the token's `kid`/`iss`, never the token itself.
pub async fn authenticate(
    verifier: &TokenVerifier,
    keys: Option<&KeyCache>,
    token: Option<&str>,
    now: u64,
) -> Result<TokenOutcome, TokenError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return if verifier.allow_empty_token() {
            Ok(TokenOutcome::Guest)
        } else {
            tracing::info!(reason = "token required", "token authentication refused");
            Err(TokenError::token_required())
        };
    };
    let prepared = match verifier.prepare(token) {
        Ok(prepared) => prepared,
        Err(err) => {
            tracing::info!(reason = err.reason(), "token authentication refused");
            return Err(err);
        }
    };
    let fetched = match prepared.key_need() {
        KeyNeed::Configured => None,
        need => {
            let result = match keys {
                Some(cache) => cache.get(need).await,
                None => Err(super::KeyFetchError::NoCache),
            };
            match result {
                Ok(key) => key,
                Err(err) => {
                    let err = err.to_token_error();
                    tracing::warn!(
                        reason = err.reason(),
                        kid = prepared.kid(),
                        "token authentication refused"
                    );
                    return Err(err);
                }
            }
        }
    };
    match verifier.verify_prepared(&prepared, fetched.as_deref(), now) {
        Ok(claims) => {
            tracing::debug!(
                kid = prepared.kid(),
                iss = claims.issuer(),
                "token accepted"
            );
            Ok(TokenOutcome::Verified(Box::new(claims)))
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

/// Seconds since the Unix epoch from the system clock (the `now` of the real server).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
