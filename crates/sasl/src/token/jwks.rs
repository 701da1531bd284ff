//! Reading a JWKS document (RFC 7517 §5) into verification keys, for hosts with `jwks_url`.
//!
//! Pure: the server's key cache fetches the document and hands the bytes here. Entries that
//! are not usable keys for the host's algorithm (unknown `kty`, no `kid`, another key
//! family, a malformed key) are skipped, not errors: one odd key must not hide the others.

use rookery_policy::SignatureAlgorithm;
use serde_json::Value;

use super::key::VerificationKey;

/// A JWKS document that cannot provide any key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The body is not JSON.
    #[error("not a JSON document")]
    NotJson,
    /// The document has no `keys` array.
    #[error("no 'keys' array")]
    NoKeys,
}

/// One usable key of a JWKS document, with its `kid`.
#[derive(Debug, Clone)]
pub struct JwksKey {
    /// The key's `kid`.
    pub kid: String,
    /// The key, bound to the host's algorithm.
    pub key: VerificationKey,
}

/// The usable keys of a JWKS `document` for `algorithm`, in document order. At most
/// `max_entries` entries of the `keys` array are looked at (the document comes from the
/// network; the caller's cache bound is a natural limit).
pub fn parse_jwks(
    algorithm: SignatureAlgorithm,
    document: &[u8],
    max_entries: usize,
) -> Result<Vec<JwksKey>, JwksError> {
    let doc: Value = serde_json::from_slice(document).map_err(|_| JwksError::NotJson)?;
    let entries = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(JwksError::NoKeys)?;
    let keys = entries
        .iter()
        .take(max_entries)
        .filter_map(|entry| {
            let jwk = serde_json::from_value::<jsonwebtoken::jwk::Jwk>(entry.clone()).ok()?;
            let kid = jwk.common.key_id.clone()?;
            let key = VerificationKey::from_jwk(algorithm, &jwk).ok()?;
            Some(JwksKey { kid, key })
        })
        .collect();
    Ok(keys)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use jsonwebtoken::{Algorithm, EncodingKey};
    use serde_json::json;

    use super::*;

    const RSA: &[u8] = include_bytes!("../../tests/fixtures/rsa_private.pem");
    const RSA_OTHER: &[u8] = include_bytes!("../../tests/fixtures/rsa_other_private.pem");
    const EC: &[u8] = include_bytes!("../../tests/fixtures/ec_private.pem");

    fn jwk(key: &EncodingKey, alg: Algorithm, kid: Option<&str>) -> Value {
        let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(key, alg).unwrap();
        jwk.common.key_id = kid.map(str::to_owned);
        serde_json::to_value(jwk).unwrap()
    }

    fn rsa(pem: &[u8]) -> EncodingKey {
        EncodingKey::from_rsa_pem(pem).unwrap()
    }

    /// Whether `key` verifies a signature made with `signer`.
    fn verifies(key: &VerificationKey, signer: &EncodingKey) -> bool {
        let signature = jsonwebtoken::crypto::sign(b"message", signer, Algorithm::RS256).unwrap();
        let signature =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
                .unwrap();
        key.verify(b"message", &signature)
    }

    #[test]
    fn usable_keys_come_out_by_kid_and_the_rest_is_skipped() {
        let ec = EncodingKey::from_ec_pem(EC).unwrap();
        let doc = json!({"keys": [
            {"kty": "unknown-kind", "kid": "junk"},
            jwk(&rsa(RSA), Algorithm::RS256, Some("a")),
            jwk(&rsa(RSA), Algorithm::RS256, None),
            jwk(&ec, Algorithm::ES256, Some("ec")),
            "not an object",
            jwk(&rsa(RSA_OTHER), Algorithm::RS256, Some("b")),
        ]});
        let keys = parse_jwks(SignatureAlgorithm::RS256, doc.to_string().as_bytes(), 100).unwrap();
        let kids: Vec<_> = keys.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(kids, ["a", "b"]);
        assert!(verifies(&keys[0].key, &rsa(RSA)));
        assert!(!verifies(&keys[0].key, &rsa(RSA_OTHER)));
        assert!(verifies(&keys[1].key, &rsa(RSA_OTHER)));
        assert_eq!(keys[1].key.algorithm(), SignatureAlgorithm::RS256);

        // The same document on an ES256 host yields only the EC key.
        let keys = parse_jwks(SignatureAlgorithm::ES256, doc.to_string().as_bytes(), 100).unwrap();
        let kids: Vec<_> = keys.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(kids, ["ec"]);
    }

    #[test]
    fn at_most_max_entries_are_looked_at() {
        let doc = json!({"keys": [
            {"kty": "unknown-kind", "kid": "junk"},
            jwk(&rsa(RSA), Algorithm::RS256, Some("a")),
            jwk(&rsa(RSA_OTHER), Algorithm::RS256, Some("b")),
        ]});
        let body = doc.to_string();
        let kids = |max| {
            parse_jwks(SignatureAlgorithm::RS256, body.as_bytes(), max)
                .unwrap()
                .into_iter()
                .map(|k| k.kid)
                .collect::<Vec<_>>()
        };
        assert!(kids(0).is_empty());
        assert!(kids(1).is_empty(), "the first entry is junk");
        assert_eq!(kids(2), ["a"]);
        assert_eq!(kids(3), ["a", "b"]);
    }

    #[test]
    fn documents_without_keys_are_errors() {
        let cases: &[(&[u8], JwksError)] = &[
            (b"hello, I am not JSON", JwksError::NotJson),
            (b"", JwksError::NotJson),
            (b"{}", JwksError::NoKeys),
            (b"[]", JwksError::NoKeys),
            (br#"{"keys": {"kid": "a"}}"#, JwksError::NoKeys),
        ];
        for (body, want) in cases {
            let got = parse_jwks(SignatureAlgorithm::RS256, body, 10).unwrap_err();
            assert_eq!(&got, want, "{}", String::from_utf8_lossy(body));
        }
        assert_eq!(JwksError::NotJson.to_string(), "not a JSON document");
        assert_eq!(JwksError::NoKeys.to_string(), "no 'keys' array");
        // An empty array is a document without usable keys, not an error.
        let keys = parse_jwks(SignatureAlgorithm::RS256, br#"{"keys": []}"#, 10).unwrap();
        assert!(keys.is_empty());
    }
}
