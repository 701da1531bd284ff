//! rookery-sasl: sans-io SASL server mechanisms (RFC 4422 profile of RFC 6120 §6):
//! SCRAM-SHA-256, SCRAM-SHA-1, PLAIN, ANONYMOUS and OAUTHBEARER. No sockets, no async:
//! bytes in, [`Step`]s out.
//!
//! # Driving an exchange from a c2s session
//!
//! ```text
//! features:   the host's offer for this stream (c2s policy) -> Vec<Mechanism> for <mechanisms/>
//! <auth mechanism='X'>b64</auth>:
//!             let mech = Mechanism::from_name("X") offered here  // else <invalid-mechanism/>
//!             let mut sasl = SaslServer::new(mech, domain);
//!             let step = sasl.initial(decoded)?;   // None: no text; Some(b""): text was "="
//! loop on step:
//!   Step::NeedCredentials(req)  -> let c = store.scram(&req.username, req.hash);  // Option
//!                                  step = sasl.provide_credentials(c)?
//!   Step::VerifyToken(req)      -> step = sasl.token_verdict(verify(&req.token))?
//!   Step::Challenge(bytes)      -> send <challenge>b64</challenge> ("=" if empty);
//!                                  on <response>b64</response>: step = sasl.step(decoded)?
//!   Step::Success { additional_data, identity }
//!                               -> send <success>b64?</success>; identity is
//!                                  Authenticated::{Account{username}, Anonymous{trace}, Bearer{authzid}}
//! any Err(e: SaslError)         -> send <failure><{e.condition()}/><text>{e.text()}</text></failure>
//! ```
//!
//! The caller decodes base64 itself (bad base64 is its `incorrect-encoding`), handles
//! `<abort/>` (`SaslCondition::Aborted`), and counts failed attempts. Each client message
//! is limited to [`MAX_STEP_BYTES`]; nothing here panics on any input, and secrets
//! (passwords, tokens, stored keys) never appear in `Debug` output or error texts.
//!
//! Credentials are a seam, not a trait object: a mechanism asks with
//! [`Step::NeedCredentials`] and the caller answers from its account store, so the store
//! may be SQLite on a blocking thread. Unknown users get `None`, which fails exactly like
//! a wrong password. PLAIN's answer runs PBKDF2 (the stored iteration count), so an async
//! caller may run [`ServerMechanism::provide_credentials`] on a blocking thread for PLAIN.
//! Accounts are created with [`ScramCredentials::new_random`] / [`ScramCredentials::derive`].

pub mod credentials;
pub mod error;
pub mod mechanism;
pub mod mechanisms;
pub mod saslprep;
pub mod server;
pub mod step;
pub mod token;

pub use credentials::{DeriveError, ScramCredentials, ScramHash, random_salt};
pub use error::{SaslCondition, SaslError, ScramServerError};
pub use mechanism::Mechanism;
pub use server::SaslServer;
pub use step::{
    Authenticated, BearerStatus, CredentialsRequest, MAX_STEP_BYTES, ServerMechanism, Step,
    TokenRequest, TokenVerdict,
};
