//! Helpers shared by the token tests: profile A of jitsi-tokens.md §7, token crafting, and
//! the test keys in `tests/fixtures`.
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use rookery_policy::{TokenClaims, TokenHostConfig};
use rookery_sasl::token::{TokenError, TokenLogin, TokenVerifier, begin, finish};
use serde_json::{Value, json};

/// The fake clock: every test verifies at this instant.
pub(crate) const NOW: u64 = 1_700_000_000;
pub(crate) const SECRET: &str = "s3cret";

/// Profile A: HS256, app_id=app, app_secret=s3cret, domain verification on.
pub(crate) fn profile_a() -> TokenHostConfig {
    TokenHostConfig {
        app_id: Some("app".into()),
        app_secret: Some(SECRET.into()),
        enable_domain_verification: true,
        ..TokenHostConfig::default()
    }
}

/// Profile A token claims with `changes` applied (`null` removes a claim).
pub(crate) fn claims(changes: Value) -> Value {
    let mut payload = json!({
        "iss": "app", "aud": "jitsi", "sub": "meet.example.com", "room": "standup",
        "exp": NOW + 3600
    });
    let map = payload.as_object_mut().unwrap();
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            map.remove(key);
        } else {
            map.insert(key.clone(), value.clone());
        }
    }
    payload
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token with exactly this header and payload, signed with `key` as `alg`.
pub(crate) fn sign_raw(
    header: &Value,
    payload: &Value,
    alg: Algorithm,
    key: &EncodingKey,
) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes())
    );
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap();
    format!("{input}.{signature}")
}

/// An HS256 token with the profile A secret and `{"alg":"HS256","typ":"JWT"}`.
pub(crate) fn hs256(payload: &Value) -> String {
    sign_raw(
        &json!({"alg": "HS256", "typ": "JWT"}),
        payload,
        Algorithm::HS256,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
}

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A token signed with a fixture private key, with `kid` in the header.
pub(crate) fn signed_with(
    alg: Algorithm,
    private: &str,
    kid: Option<&str>,
    payload: &Value,
) -> String {
    let pem = fixture(private);
    let key = match alg {
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(&pem),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem),
        _ => EncodingKey::from_rsa_pem(&pem),
    }
    .unwrap();
    let mut header = json!({"alg": format!("{alg:?}"), "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    sign_raw(&header, payload, alg, &key)
}

/// A whole login on a host with a configured key (secret or PEM file): `begin`, then
/// `finish` with no fetched key. `Ok(None)` is a guest.
pub(crate) fn login(
    verifier: &TokenVerifier,
    token: Option<&str>,
    now: u64,
) -> Result<Option<TokenClaims>, TokenError> {
    match begin(verifier, token)? {
        TokenLogin::Guest => Ok(None),
        TokenLogin::Verify(prepared) => finish(verifier, &prepared, None, now).map(Some),
    }
}
