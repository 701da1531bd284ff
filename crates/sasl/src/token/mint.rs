//! Minting tokens: for `rookery token mint`, test harnesses and tests.

use jsonwebtoken::{EncodingKey, Header};
use rookery_policy::{
    AlgorithmFamily, KeyMode, SignatureAlgorithm, TokenConfigError, TokenHostConfig,
};
use serde_json::{Map, Value, json};

use super::key::jwt_algorithm;

/// Why a token could not be minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MintError {
    /// The host does not verify with `app_secret`, so an HMAC token would be refused.
    #[error("this host does not verify tokens with app_secret; mint with its private key")]
    NotHmacHost,
    /// The host configuration is inconsistent.
    #[error(transparent)]
    Config(#[from] TokenConfigError),
    /// The claims are not a JSON object.
    #[error("claims must be a JSON object")]
    ClaimsNotObject,
    /// The private key does not fit the algorithm.
    #[error("the private key is not usable for {0}")]
    BadKey(SignatureAlgorithm),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
}

/// Signs `claims` with the host's `app_secret` and configured HMAC algorithm.
pub fn mint(config: &TokenHostConfig, claims: &Value) -> Result<String, MintError> {
    if config.key_mode()? != KeyMode::Secret {
        return Err(MintError::NotHmacHost);
    }
    let algorithm = config.algorithm()?;
    let secret = config.app_secret.as_deref().unwrap_or_default();
    sign(
        algorithm,
        &EncodingKey::from_secret(secret.as_bytes()),
        None,
        claims,
    )
}

/// Signs `claims` with a PEM private key (PKCS#8, or PKCS#1 for RSA) for an RSA, EC or
/// Ed25519 algorithm, putting `kid` in the header (as a key-server host requires).
pub fn mint_with_pem(
    algorithm: SignatureAlgorithm,
    private_pem: &[u8],
    kid: Option<&str>,
    claims: &Value,
) -> Result<String, MintError> {
    let key = match algorithm.family() {
        AlgorithmFamily::Rsa => EncodingKey::from_rsa_pem(private_pem),
        AlgorithmFamily::Ec => EncodingKey::from_ec_pem(private_pem),
        AlgorithmFamily::Ed => EncodingKey::from_ed_pem(private_pem),
        AlgorithmFamily::Hmac => return Err(MintError::BadKey(algorithm)),
    }
    .map_err(|_| MintError::BadKey(algorithm))?;
    sign(algorithm, &key, kid, claims)
}

fn sign(
    algorithm: SignatureAlgorithm,
    key: &EncodingKey,
    kid: Option<&str>,
    claims: &Value,
) -> Result<String, MintError> {
    if !claims.is_object() {
        return Err(MintError::ClaimsNotObject);
    }
    let mut header = Header::new(jwt_algorithm(algorithm));
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).map_err(|e| MintError::Sign(e.to_string()))
}

/// Claims a host accepts for `room` and `sub`: `iss` = the first accepted issuer (else
/// `app_id`), `aud` = `jitsi`, `iat` = `now`, `exp` = `now + ttl_seconds`.
pub fn default_claims(
    config: &TokenHostConfig,
    room: &str,
    sub: &str,
    now: u64,
    ttl_seconds: u64,
) -> Map<String, Value> {
    let issuer = config
        .accepted_issuers()
        .into_iter()
        .find(|i| i != "*")
        .or_else(|| config.app_id.clone())
        .unwrap_or_default();
    let audience = config
        .asap_accepted_audiences
        .iter()
        .find(|a| a.as_str() != "*")
        .cloned()
        .unwrap_or_else(|| "jitsi".to_owned());
    let claims = json!({
        "iss": issuer,
        "aud": audience,
        "sub": sub,
        "room": room,
        "iat": now,
        "exp": now.saturating_add(ttl_seconds),
    });
    match claims {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
