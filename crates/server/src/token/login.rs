//! The async authentication step of a token host: `rookery_sasl::token::begin`, the key
//! from the host's [`KeyCache`] when the token needs a fetched one, then `finish`.

use std::sync::Arc;

use rookery_c2s::TokenGrant;
use rookery_policy::TokenClaims;
use rookery_sasl::token::{
    KeyNeed, PreparedToken, TokenError, TokenLogin, TokenVerifier, VerificationKey, begin, finish,
    refuse_unavailable_key,
};

use super::keys::{KeyCache, KeyFetchError};

/// Authenticates a session on a token host: the verified claims, or a tokenless guest the
/// host allows (the answer `Session::token_verdict` takes). An empty token counts as none. Refusals are
/// logged with their reason and the token's `kid`/`iss`, never the token itself. `keys`
/// is the host's cache (needed on key-server and JWKS hosts); `now` is seconds since the
/// Unix epoch.
pub async fn authenticate(
    verifier: &TokenVerifier,
    keys: Option<&KeyCache>,
    token: Option<&str>,
    now: u64,
) -> Result<TokenGrant, TokenError> {
    let prepared = match begin(verifier, token)? {
        TokenLogin::Guest => return Ok(TokenGrant::Guest),
        TokenLogin::Verify(prepared) => prepared,
    };
    let key = fetch_key(keys, &prepared)
        .await
        .map_err(|e| refuse_unavailable_key(&prepared, e.to_token_error()))?;
    finish(verifier, &prepared, key.as_deref(), now).map(|c| TokenGrant::Verified(Arc::new(c)))
}

/// Verifies a token, fetching its key through `keys` when the host needs one. Unlike
/// [`authenticate`], a missing token is malformed and nothing is logged. `now` is seconds
/// since the Unix epoch.
pub async fn verify_token(
    verifier: &TokenVerifier,
    keys: Option<&KeyCache>,
    token: &str,
    now: u64,
) -> Result<TokenClaims, TokenError> {
    let prepared = verifier.prepare(token)?;
    let key = fetch_key(keys, &prepared).await?;
    verifier.verify_prepared(&prepared, key.as_deref(), now)
}

/// The key `prepared` needs: none for a configured key, else from `keys`.
pub(super) async fn fetch_key(
    keys: Option<&KeyCache>,
    prepared: &PreparedToken,
) -> Result<Option<Arc<VerificationKey>>, KeyFetchError> {
    match prepared.key_need() {
        KeyNeed::Configured => Ok(None),
        need => match keys {
            Some(cache) => cache.get(need).await,
            None => Err(KeyFetchError::NoCache),
        },
    }
}
