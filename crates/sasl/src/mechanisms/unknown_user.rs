//! Stand-in credentials for users that do not exist, so an unknown user fails at the same
//! point, after the same work, as a wrong password (RFC 5802 §9 / RFC 7677 §4: do not
//! reveal which user names exist).

use std::sync::OnceLock;

use rand::RngCore;

use crate::credentials::{DEFAULT_ITERATIONS, SALT_LEN, ScramCredentials, ScramHash};

/// A per-process random key, so fake salts are stable for one user name (as real salts
/// are) but unpredictable across restarts.
fn process_key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        key
    })
}

/// Credentials for a user name that has no account: a salt derived from the name, the
/// default iteration count, and random keys that no proof or password can match.
pub(crate) fn fake_credentials(hash: ScramHash, username: &str) -> ScramCredentials {
    let mut salt = ScramHash::Sha256.hmac(process_key(), username.as_bytes());
    salt.truncate(SALT_LEN);
    let mut stored_key = vec![0u8; hash.output_len()];
    let mut server_key = vec![0u8; hash.output_len()];
    rand::rng().fill_bytes(&mut stored_key);
    rand::rng().fill_bytes(&mut server_key);
    ScramCredentials {
        salt,
        iterations: DEFAULT_ITERATIONS,
        stored_key,
        server_key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salt_is_stable_per_name_and_keys_fit() {
        let a = fake_credentials(ScramHash::Sha1, "nobody");
        let b = fake_credentials(ScramHash::Sha1, "nobody");
        let c = fake_credentials(ScramHash::Sha1, "someone");
        assert_eq!(a.salt, b.salt);
        assert_ne!(a.salt, c.salt);
        assert_ne!(a.stored_key, b.stored_key);
        assert!(a.fits(ScramHash::Sha1));
        assert!(fake_credentials(ScramHash::Sha256, "x").fits(ScramHash::Sha256));
    }
}
