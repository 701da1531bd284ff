//! JWT token authentication for Jitsi Meet (jitsi-tokens.md §1–§2).
//!
//! - [`TokenVerifier`]: sans-io verification with the host's fixed algorithm and key;
//!   `prepare` says which key is needed, `verify_prepared` checks signature and claims and
//!   returns the policy crate's typed [`rookery_policy::TokenClaims`].
//! - [`KeyCache`] (`key_fetch`): async, bounded, single-flight cache of public keys from an
//!   ASAP key server or a JWKS URL; [`verify_token`] and [`authenticate`] tie it together.
//! - [`mint`] / [`explain`]: helpers for `rookery token mint` and `rookery token explain`.
//!
//! Failures are [`TokenError`]s whose `reason()` is the SASL failure text; tokens and
//! secrets are never logged or put in errors.

mod authenticate;
mod checks;
mod error;
mod explain;
mod http_get;
mod key;
mod key_fetch;
mod mint;
mod parse;
mod verifier;

pub use authenticate::{TokenOutcome, authenticate, unix_now};
pub use checks::MAX_KID_BYTES;
pub use error::{TokenError, TokenErrorKind};
pub use explain::{
    Check, CheckStatus, Explanation, MeetingUrl, UrlError, explain, explain_with_keys,
};
pub use key::{KeyError, VerificationKey};
pub use key_fetch::{KeyCache, KeyFetchConfig, KeyFetchError, MAX_KEY_BODY_BYTES, verify_token};
pub use mint::{MintError, default_claims, mint, mint_with_pem};
pub use verifier::{KeyNeed, PreparedToken, TokenVerifier, VerifierConfigError, key_server_url};
