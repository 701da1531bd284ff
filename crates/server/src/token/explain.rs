//! `explain` for hosts whose keys are fetched: the key comes from the host's cache first,
//! then the pure `rookery_sasl::token::explain` runs every check with it.

use rookery_policy::MucPolicy;
use rookery_sasl::token::{Explanation, TokenVerifier, UrlError, explain};

use super::keys::KeyCache;

/// [`explain`] that first fetches the key of a key-server/JWKS host through `keys`. A key
/// that cannot be fetched shows as the failed signature check, with the verifier's reason.
pub async fn explain_with_keys(
    verifier: &TokenVerifier,
    keys: Option<&KeyCache>,
    policy: &MucPolicy,
    url: &str,
    token: &str,
    now: u64,
) -> Result<Explanation, UrlError> {
    let fetched = match (verifier.prepare(token), keys) {
        (Ok(prepared), Some(cache)) => cache.get(prepared.key_need()).await.ok().flatten(),
        _ => None,
    };
    explain(verifier, fetched.as_deref(), policy, url, token, now)
}
