//! JWT token authentication for Jitsi Meet (jitsi-tokens.md §1–§2), sans-io.
//!
//! - [`TokenVerifier`]: verification with the host's fixed algorithm and key; `prepare`
//!   says which key is needed ([`KeyNeed`]), `verify_prepared` checks signature and claims
//!   and returns the policy crate's typed [`rookery_policy::TokenClaims`].
//! - [`begin`] / [`finish`]: the login step of a token host in two halves, so that the
//!   caller can fetch a key in between (the server's key cache does the HTTP).
//! - [`VerificationKey`] and [`parse_jwks`]: keys from a secret, PEM, a JWK or a JWKS
//!   document's bytes.
//! - [`mint`] / [`explain`]: helpers for `rookery token mint` and `rookery token explain`.
//!
//! Failures are [`TokenError`]s whose `reason()` is the SASL failure text; tokens and
//! secrets are never logged or put in errors.

mod checks;
mod error;
mod explain;
mod jwks;
mod key;
mod login;
mod mint;
mod parse;
mod verifier;

pub use checks::MAX_KID_BYTES;
pub use error::{TokenError, TokenErrorKind};
pub use explain::{Check, CheckStatus, Explanation, MeetingUrl, UrlError, explain};
pub use jwks::{JwksError, JwksKey, parse_jwks};
pub use key::{KeyError, VerificationKey};
pub use login::{TokenLogin, begin, finish, refuse_unavailable_key, unix_now};
pub use mint::{MintError, default_claims, mint, mint_with_pem};
pub use verifier::{KeyNeed, PreparedToken, TokenVerifier, VerifierConfigError, key_server_url};
