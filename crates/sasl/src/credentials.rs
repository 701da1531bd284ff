//! Stored SCRAM credentials (RFC 5802 §3): what the account store keeps instead of a
//! password, how to derive them from a password, and the hash primitives SCRAM needs.
//!
//! The server never stores passwords. `rookery register` calls [`ScramCredentials::derive`]
//! with [`random_salt`] and [`DEFAULT_ITERATIONS`]; PLAIN verifies a password by deriving
//! the StoredKey again with the stored salt and iteration count.

use std::fmt;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::saslprep;

/// Iteration count used for new credentials (RFC 7677 recommends at least 4096).
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// Salt length in bytes produced by [`random_salt`].
pub const SALT_LEN: usize = 16;

/// Highest iteration count [`ScramCredentials::derive`] accepts, so a corrupt store row
/// cannot make one PLAIN login burn minutes of CPU.
pub const MAX_ITERATIONS: u32 = 1_000_000;

/// The hash function of a SCRAM variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramHash {
    /// SHA-1, for SCRAM-SHA-1 (RFC 5802).
    Sha1,
    /// SHA-256, for SCRAM-SHA-256 (RFC 7677).
    Sha256,
}

impl ScramHash {
    /// Output length of the hash in bytes (20 or 32): the length of StoredKey, ServerKey
    /// and a client proof.
    pub fn output_len(self) -> usize {
        match self {
            ScramHash::Sha1 => 20,
            ScramHash::Sha256 => 32,
        }
    }

    /// The name as used in mechanism names and by the account store: `SHA-1` or `SHA-256`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScramHash::Sha1 => "SHA-1",
            ScramHash::Sha256 => "SHA-256",
        }
    }

    /// H(data).
    pub(crate) fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    /// HMAC(key, data).
    pub(crate) fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail; the empty
        // vector fallback only exists to avoid a panic path and never verifies.
        match self {
            ScramHash::Sha1 => Hmac::<Sha1>::new_from_slice(key)
                .map(|m| m.chain_update(data).finalize().into_bytes().to_vec())
                .unwrap_or_default(),
            ScramHash::Sha256 => Hmac::<Sha256>::new_from_slice(key)
                .map(|m| m.chain_update(data).finalize().into_bytes().to_vec())
                .unwrap_or_default(),
        }
    }

    /// Hi(password, salt, iterations), i.e. PBKDF2 with HMAC-H (the SaltedPassword).
    pub(crate) fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut out = vec![0u8; self.output_len()];
        match self {
            ScramHash::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut out),
            ScramHash::Sha256 => {
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out)
            }
        }
        out
    }
}

impl fmt::Display for ScramHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why [`ScramCredentials::derive`] refused its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeriveError {
    /// The iteration count is zero or above [`MAX_ITERATIONS`].
    #[error("iteration count {0} is outside 1..={max}", max = MAX_ITERATIONS)]
    Iterations(u32),
    /// The salt is empty.
    #[error("salt must not be empty")]
    EmptySalt,
    /// The password is empty, too long, or contains characters SASLprep prohibits.
    #[error("unusable password: {0}")]
    Password(&'static str),
}

/// The per-user, per-hash secrets a SCRAM server stores (RFC 5802 §3).
///
/// `stored_key` = H(HMAC(SaltedPassword, "Client Key")) and
/// `server_key` = HMAC(SaltedPassword, "Server Key"); both are `hash.output_len()` bytes.
/// Neither lets anyone log in directly, but both are secret: `Debug` redacts them.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredentials {
    /// The salt given to PBKDF2 (raw bytes, not base64).
    pub salt: Vec<u8>,
    /// The PBKDF2 iteration count.
    pub iterations: u32,
    /// H(ClientKey), used to verify the client proof.
    pub stored_key: Vec<u8>,
    /// HMAC(SaltedPassword, "Server Key"), used to sign the server-final-message.
    pub server_key: Vec<u8>,
}

impl ScramCredentials {
    /// Derives the stored credentials for `password` with the given hash, salt and
    /// iteration count. The password must pass the same SASLprep-lite check PLAIN applies
    /// (non-empty, no control characters, at most 1024 bytes).
    pub fn derive(
        hash: ScramHash,
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<ScramCredentials, DeriveError> {
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return Err(DeriveError::Iterations(iterations));
        }
        if salt.is_empty() {
            return Err(DeriveError::EmptySalt);
        }
        saslprep::check_password(password).map_err(DeriveError::Password)?;
        let salted = hash.salted_password(password.as_bytes(), salt, iterations);
        Ok(ScramCredentials::from_salted_password(
            hash,
            &salted,
            salt.to_vec(),
            iterations,
        ))
    }

    /// Derives credentials with a fresh [`random_salt`] and [`DEFAULT_ITERATIONS`]: what
    /// account registration should use.
    pub fn new_random(hash: ScramHash, password: &str) -> Result<ScramCredentials, DeriveError> {
        ScramCredentials::derive(hash, password, &random_salt(), DEFAULT_ITERATIONS)
    }

    /// Builds the credentials from an already computed SaltedPassword.
    pub(crate) fn from_salted_password(
        hash: ScramHash,
        salted_password: &[u8],
        salt: Vec<u8>,
        iterations: u32,
    ) -> ScramCredentials {
        let client_key = hash.hmac(salted_password, b"Client Key");
        ScramCredentials {
            salt,
            iterations,
            stored_key: hash.hash(&client_key),
            server_key: hash.hmac(salted_password, b"Server Key"),
        }
    }

    /// Whether the key lengths fit `hash`; a mismatch means a corrupt or mislabelled store row.
    pub(crate) fn fits(&self, hash: ScramHash) -> bool {
        self.stored_key.len() == hash.output_len()
            && self.server_key.len() == hash.output_len()
            && !self.salt.is_empty()
            && self.iterations > 0
    }

    /// Checks `password` against these credentials in constant time (for the comparison):
    /// derives SaltedPassword with the stored salt and iteration count, then compares the
    /// resulting StoredKey. Returns false for unusable iteration counts instead of deriving.
    pub fn verify_password(&self, hash: ScramHash, password: &str) -> bool {
        if !self.fits(hash) || self.iterations > MAX_ITERATIONS {
            return false;
        }
        let salted = hash.salted_password(password.as_bytes(), &self.salt, self.iterations);
        let client_key = hash.hmac(&salted, b"Client Key");
        let stored_key = hash.hash(&client_key);
        bool::from(stored_key.ct_eq(&self.stored_key))
    }
}

impl fmt::Debug for ScramCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramCredentials")
            .field("salt_len", &self.salt.len())
            .field("iterations", &self.iterations)
            .field("stored_key", &"<redacted>")
            .field("server_key", &"<redacted>")
            .finish()
    }
}

/// A fresh random salt of [`SALT_LEN`] bytes from the thread-local CSPRNG.
pub fn random_salt() -> Vec<u8> {
    let mut salt = vec![0u8; SALT_LEN];
    rand::rng().fill_bytes(&mut salt);
    salt
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn rfc5802_credentials() {
        let salt = STANDARD.decode("QSXCR+Q6sek8bf92").unwrap();
        let c = ScramCredentials::derive(ScramHash::Sha1, "pencil", &salt, 4096).unwrap();
        assert_eq!(c.stored_key.len(), 20);
        assert_eq!(c.server_key.len(), 20);
        assert!(c.verify_password(ScramHash::Sha1, "pencil"));
        assert!(!c.verify_password(ScramHash::Sha1, "pencil "));
        assert!(!c.verify_password(ScramHash::Sha256, "pencil"));
    }

    #[test]
    fn derive_rejects_bad_input() {
        let cases: &[(&str, &[u8], u32, DeriveError)] = &[
            ("pw", b"salt", 0, DeriveError::Iterations(0)),
            (
                "pw",
                b"salt",
                MAX_ITERATIONS + 1,
                DeriveError::Iterations(MAX_ITERATIONS + 1),
            ),
            ("pw", b"", 1, DeriveError::EmptySalt),
            ("", b"salt", 1, DeriveError::Password("empty")),
            (
                "a\u{7}b",
                b"salt",
                1,
                DeriveError::Password("control character"),
            ),
        ];
        for (pw, salt, it, want) in cases {
            assert_eq!(
                ScramCredentials::derive(ScramHash::Sha256, pw, salt, *it).as_ref(),
                Err(want),
                "{pw:?}"
            );
        }
    }

    #[test]
    fn random_salts_differ_and_debug_redacts() {
        assert_ne!(random_salt(), random_salt());
        assert_eq!(random_salt().len(), SALT_LEN);
        let c = ScramCredentials::new_random(ScramHash::Sha256, "secret").unwrap();
        let dbg = format!("{c:?}");
        assert!(dbg.contains("redacted"));
        assert!(c.verify_password(ScramHash::Sha256, "secret"));
    }
}
