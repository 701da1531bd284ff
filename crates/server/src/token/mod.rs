//! Token hosts' I/O: fetching public keys over HTTP(S) for key-server (ASAP) and JWKS
//! hosts, the async login step, `explain` with fetched keys, and the `rookery token` CLI.
//!
//! Why here and not in `rookery-sasl`: that crate is sans-io (no sockets, no runtime, no
//! TLS), so that `rookery-c2s` and anything else built on it stays free of tokio. It says
//! which key a token needs (`TokenVerifier::prepare` → `KeyNeed`) and takes the key back
//! (`rookery_sasl::token::finish`); everything that waits on the network lives here:
//!
//! - `keys.rs`: [`KeyCache`], the bounded, single-flight cache with TTL and negative TTL;
//! - `http.rs`: the GET it uses (reqwest, rustls with ring, no redirects, body limit);
//! - `login.rs`: [`authenticate`] and [`verify_token`] on top of the sasl two-step API;
//! - `explain.rs`: [`explain_with_keys`]; `cli.rs`: `rookery token mint|explain`.

pub mod cli;
mod explain;
mod http;
mod keys;
mod login;

pub use explain::explain_with_keys;
pub use keys::{KeyCache, KeyFetchConfig, KeyFetchError, MAX_KEY_BODY_BYTES};
pub use login::{authenticate, verify_token};
