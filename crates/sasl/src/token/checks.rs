//! The individual token checks, each with its Jitsi failure text. The verifier runs them in
//! order and stops at the first failure; `explain` runs them all.

use rookery_policy::{SignatureAlgorithm, audience_of, issuer_of, numeric_date};
use serde_json::{Map, Value};

use super::error::{TokenError, TokenErrorKind};
use super::key::VerificationKey;
use super::parse::DecodedToken;

/// Longest accepted `kid`, in bytes.
pub const MAX_KID_BYTES: usize = 256;

/// The header's `alg` must be exactly the configured algorithm. On a host whose keys come
/// from a key server or JWKS, an HMAC token is refused with Jitsi's text: this blocks the
/// HS/RS algorithm-confusion attack.
pub(crate) fn alg(
    header: &Map<String, Value>,
    configured: SignatureAlgorithm,
    fetched_keys: bool,
) -> Result<(), TokenError> {
    let alg = header.get("alg").and_then(Value::as_str);
    if fetched_keys && alg.is_some_and(|a| a.starts_with("HS")) {
        return Err(TokenError::new(
            TokenErrorKind::HmacOnKeyServer,
            "'kid' claim only support with RS family",
        ));
    }
    if alg != Some(configured.as_str()) {
        return Err(TokenError::new(
            TokenErrorKind::Algorithm,
            "Invalid or incorrect alg",
        ));
    }
    Ok(())
}

/// `typ`, if present, must be `JWT` (any case).
pub(crate) fn typ(header: &Map<String, Value>) -> Result<(), TokenError> {
    match header.get("typ") {
        None => Ok(()),
        Some(Value::String(t)) if t.eq_ignore_ascii_case("JWT") => Ok(()),
        Some(_) => Err(TokenError::new(TokenErrorKind::Type, "Invalid typ")),
    }
}

/// The header's `kid`: required (non-empty string, bounded) when keys are fetched by kid.
pub(crate) fn kid(
    header: &Map<String, Value>,
    required: bool,
) -> Result<Option<String>, TokenError> {
    match header.get("kid") {
        Some(Value::String(k)) if !k.is_empty() && k.len() <= MAX_KID_BYTES => Ok(Some(k.clone())),
        Some(Value::String(k)) if k.len() > MAX_KID_BYTES => Err(TokenError::new(
            TokenErrorKind::MissingKid,
            "'kid' claim is too long",
        )),
        Some(Value::String(_)) | None | Some(Value::Null) if required => Err(TokenError::new(
            TokenErrorKind::MissingKid,
            "'kid' claim is missing",
        )),
        Some(Value::String(_)) | None | Some(Value::Null) => Ok(None),
        Some(_) => Err(TokenError::new(
            TokenErrorKind::MissingKid,
            "'kid' claim must be a string",
        )),
    }
}

/// The signature over `header.payload`, with the configured algorithm and key.
pub(crate) fn signature(decoded: &DecodedToken, key: &VerificationKey) -> Result<(), TokenError> {
    let ok = decoded
        .signature
        .as_deref()
        .is_some_and(|sig| key.verify(decoded.signing_input.as_bytes(), sig));
    if ok {
        Ok(())
    } else {
        Err(TokenError::new(
            TokenErrorKind::Signature,
            "Invalid signature",
        ))
    }
}

/// `exp`: a number if present (required with `token_require_exp`); `now >= exp + leeway`
/// fails.
pub(crate) fn exp(
    payload: &Map<String, Value>,
    now: u64,
    leeway: u64,
    require: bool,
) -> Result<Option<i64>, TokenError> {
    let exp = numeric_date(payload, "exp")?;
    match exp {
        None if require => Err(TokenError::new(
            TokenErrorKind::MissingExp,
            "'exp' claim is missing",
        )),
        None => Ok(None),
        Some(exp) if i128::from(now) >= i128::from(exp) + i128::from(leeway) => Err(
            TokenError::new(TokenErrorKind::Expired, "Not acceptable by exp"),
        ),
        Some(exp) => Ok(Some(exp)),
    }
}

/// `nbf`: a number if present; `now + leeway < nbf` fails.
pub(crate) fn nbf(
    payload: &Map<String, Value>,
    now: u64,
    leeway: u64,
) -> Result<Option<i64>, TokenError> {
    match numeric_date(payload, "nbf")? {
        Some(nbf) if i128::from(now) + i128::from(leeway) < i128::from(nbf) => Err(
            TokenError::new(TokenErrorKind::NotYetValid, "Not acceptable by nbf"),
        ),
        other => Ok(other),
    }
}

/// `iss` must be present, a string, and accepted (`*` accepts any).
pub(crate) fn issuer(payload: &Map<String, Value>, accepted: &[String]) -> Result<(), TokenError> {
    let iss = issuer_of(payload)?;
    if accepted.iter().any(|a| a == "*" || a == iss) {
        Ok(())
    } else {
        Err(TokenError::new(
            TokenErrorKind::Issuer,
            "invalid 'iss' claim",
        ))
    }
}

/// `aud` must be present (string or array of strings) with at least one accepted member
/// (`*` accepts any).
pub(crate) fn audience(
    payload: &Map<String, Value>,
    accepted: &[String],
) -> Result<(), TokenError> {
    let aud = audience_of(payload)?;
    let ok = accepted
        .iter()
        .any(|a| a == "*" || aud.iter().any(|member| member == a));
    if ok {
        Ok(())
    } else {
        Err(TokenError::new(
            TokenErrorKind::Audience,
            "invalid 'aud' claim",
        ))
    }
}
