//! Structural pre-checks of a compact JWS, before any cryptography: size, three segments,
//! base64url, header and payload JSON objects.

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

use super::error::{TokenError, TokenErrorKind};

/// base64url that tolerates (but does not need) `=` padding.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A token split and decoded, not yet verified.
#[derive(Clone)]
pub(crate) struct DecodedToken {
    pub header: Map<String, Value>,
    pub payload: Map<String, Value>,
    /// `header.payload`, the signed bytes.
    pub signing_input: String,
    /// The signature, decoded; `None` when the segment is not base64url (reported at the
    /// signature check, like Jitsi's "Invalid signature").
    pub signature: Option<Vec<u8>>,
}

impl std::fmt::Debug for DecodedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header and payload are not secret, but the whole token is a bearer credential:
        // print neither the signature nor the payload.
        f.debug_struct("DecodedToken")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

/// Decodes `token` within `max_bytes`.
pub(crate) fn decode(token: &str, max_bytes: usize) -> Result<DecodedToken, TokenError> {
    if token.len() > max_bytes {
        return Err(TokenError::new(
            TokenErrorKind::TooLarge,
            format!("token too large: {} bytes, limit {max_bytes}", token.len()),
        ));
    }
    let segments: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = segments.as_slice() else {
        return Err(TokenError::new(
            TokenErrorKind::Malformed,
            format!("Invalid token: {} segments, a JWT has 3", segments.len()),
        ));
    };
    let header_map = json_object(header, TokenErrorKind::BadHeader, "Invalid header")?;
    let payload_map = json_object(payload, TokenErrorKind::BadPayload, "Invalid body")?;
    let signature = B64URL.decode(signature).ok().filter(|s| !s.is_empty());
    Ok(DecodedToken {
        header: header_map,
        payload: payload_map,
        signing_input: format!("{header}.{payload}"),
        signature,
    })
}

fn json_object(
    segment: &str,
    kind: TokenErrorKind,
    what: &'static str,
) -> Result<Map<String, Value>, TokenError> {
    let bytes = B64URL
        .decode(segment)
        .map_err(|_| TokenError::new(kind, format!("{what}: not base64url")))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(TokenError::new(kind, format!("{what}: not a JSON object"))),
        Err(_) => Err(TokenError::new(kind, format!("{what}: not JSON"))),
    }
}

/// base64url without padding, as JWTs are written.
pub(crate) fn encode_b64url(bytes: &[u8]) -> String {
    B64URL.encode(bytes)
}
