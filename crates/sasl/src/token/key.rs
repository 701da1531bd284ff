//! Keys that verify token signatures, bound to the host's configured algorithm.

use std::fmt;

use jsonwebtoken::{Algorithm, DecodingKey};
use rookery_policy::{AlgorithmFamily, SignatureAlgorithm};

/// A key that cannot be used with the configured algorithm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub(crate) String);

/// A verification key (HMAC secret or public key) parsed once for one algorithm.
/// `Debug` never prints key material.
#[derive(Clone)]
pub struct VerificationKey {
    algorithm: SignatureAlgorithm,
    key: DecodingKey,
}

impl VerificationKey {
    /// An HMAC key from `app_secret` (the UTF-8 bytes, as Jitsi uses them).
    pub fn from_secret(algorithm: SignatureAlgorithm, secret: &[u8]) -> Result<Self, KeyError> {
        if algorithm.family() != AlgorithmFamily::Hmac {
            return Err(KeyError(format!(
                "{algorithm} does not use a shared secret"
            )));
        }
        if secret.is_empty() {
            return Err(KeyError("the HMAC secret is empty".into()));
        }
        Ok(Self {
            algorithm,
            key: DecodingKey::from_secret(secret),
        })
    }

    /// A public key from PEM (`PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE`) for an RSA,
    /// EC or Ed25519 algorithm.
    pub fn from_pem(algorithm: SignatureAlgorithm, pem: &[u8]) -> Result<Self, KeyError> {
        let parsed = match algorithm.family() {
            AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem),
            AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem),
            AlgorithmFamily::Ed => DecodingKey::from_ed_pem(pem),
            AlgorithmFamily::Hmac => {
                return Err(KeyError(format!("{algorithm} does not use a public key")));
            }
        };
        let key =
            parsed.map_err(|_| KeyError(format!("not a valid PEM public key for {algorithm}")))?;
        check_shape(algorithm, &key)?;
        Ok(Self { algorithm, key })
    }

    /// A public key from one JWK (for JWKS sources).
    pub fn from_jwk(
        algorithm: SignatureAlgorithm,
        jwk: &jsonwebtoken::jwk::Jwk,
    ) -> Result<Self, KeyError> {
        let key = DecodingKey::from_jwk(jwk)
            .map_err(|_| KeyError(format!("not a usable JWK for {algorithm}")))?;
        let family_matches = matches!(
            (key.family(), algorithm.family()),
            (jsonwebtoken::AlgorithmFamily::Rsa, AlgorithmFamily::Rsa)
                | (jsonwebtoken::AlgorithmFamily::Ec, AlgorithmFamily::Ec)
                | (jsonwebtoken::AlgorithmFamily::Ed, AlgorithmFamily::Ed)
        );
        if !family_matches {
            return Err(KeyError(format!("the JWK is not a key for {algorithm}")));
        }
        check_shape(algorithm, &key)?;
        Ok(Self { algorithm, key })
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    /// Verifies `signature` over `message` in the key's algorithm (constant-time for HMAC).
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let encoded = super::parse::encode_b64url(signature);
        jsonwebtoken::crypto::verify(&encoded, message, &self.key, jwt_algorithm(self.algorithm))
            .unwrap_or(false)
    }
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Refuses key shapes the crypto backend would choke on: its Ed25519 verifier slices the
/// first 32 bytes without a length check, so a short key from a key server must never
/// reach it.
fn check_shape(algorithm: SignatureAlgorithm, key: &DecodingKey) -> Result<(), KeyError> {
    let ed_len_ok = match key.kind() {
        jsonwebtoken::DecodingKeyKind::SecretOrDer(bytes) => bytes.len() == 32,
        jsonwebtoken::DecodingKeyKind::RsaModulusExponent { .. } => false,
    };
    if algorithm.family() == AlgorithmFamily::Ed && !ed_len_ok {
        return Err(KeyError(format!(
            "not a valid Ed25519 public key for {algorithm}"
        )));
    }
    Ok(())
}

/// The `jsonwebtoken` name of a configured algorithm.
pub(crate) fn jwt_algorithm(algorithm: SignatureAlgorithm) -> Algorithm {
    match algorithm {
        SignatureAlgorithm::HS256 => Algorithm::HS256,
        SignatureAlgorithm::HS384 => Algorithm::HS384,
        SignatureAlgorithm::HS512 => Algorithm::HS512,
        SignatureAlgorithm::RS256 => Algorithm::RS256,
        SignatureAlgorithm::RS384 => Algorithm::RS384,
        SignatureAlgorithm::RS512 => Algorithm::RS512,
        SignatureAlgorithm::PS256 => Algorithm::PS256,
        SignatureAlgorithm::PS384 => Algorithm::PS384,
        SignatureAlgorithm::PS512 => Algorithm::PS512,
        SignatureAlgorithm::ES256 => Algorithm::ES256,
        SignatureAlgorithm::ES384 => Algorithm::ES384,
        SignatureAlgorithm::EdDSA => Algorithm::EdDSA,
    }
}
