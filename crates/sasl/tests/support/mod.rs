//! Shared test helpers: an in-memory account store and a loop that answers a
//! mechanism's questions the way the c2s session will.

#![allow(dead_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashMap;

use rookery_sasl::{SaslError, ScramCredentials, ScramHash, ServerMechanism, Step, TokenVerdict};

/// Account store keyed by (user name, hash), holding only derived credentials.
#[derive(Default)]
pub(crate) struct Store {
    accounts: HashMap<(String, ScramHash), ScramCredentials>,
}

impl Store {
    /// A store with one account, credentials for both hashes at `iterations`.
    pub(crate) fn with_account(user: &str, password: &str, iterations: u32) -> Store {
        let mut store = Store::default();
        for hash in [ScramHash::Sha1, ScramHash::Sha256] {
            let salt = rookery_sasl::random_salt();
            let creds = ScramCredentials::derive(hash, password, &salt, iterations).unwrap();
            store.accounts.insert((user.to_owned(), hash), creds);
        }
        store
    }

    pub(crate) fn lookup(&self, user: &str, hash: ScramHash) -> Option<ScramCredentials> {
        self.accounts.get(&(user.to_owned(), hash)).cloned()
    }
}

/// Answers questions until the mechanism needs the client again (challenge), succeeds,
/// or fails. Tokens equal to "good" are accepted.
pub(crate) fn answer(
    mech: &mut dyn ServerMechanism,
    store: &Store,
    mut step: Result<Step, SaslError>,
) -> Result<Step, SaslError> {
    loop {
        step = match step? {
            Step::NeedCredentials(req) => {
                mech.provide_credentials(store.lookup(&req.username, req.hash))
            }
            Step::VerifyToken(req) => mech.token_verdict(if req.token == "good" {
                TokenVerdict::Accepted
            } else {
                TokenVerdict::Rejected {
                    status: rookery_sasl::BearerStatus::InvalidToken,
                    text: "bad token".into(),
                }
            }),
            done @ (Step::Challenge(_) | Step::Success { .. }) => return Ok(done),
        }
    }
}
