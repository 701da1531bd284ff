//! SASL failures: the RFC 6120 §6.5 conditions, the human-readable text that goes with
//! them, and the RFC 5802 `e=` server-error values a SCRAM exchange may name.

use std::fmt;

/// A SASL failure condition from RFC 6120 §6.5, sent as the child of `<failure/>`.
///
/// The c2s session serialises [`SaslCondition::as_str`] as the element name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SaslCondition {
    /// The exchange was aborted by the client (`<abort/>`).
    Aborted,
    /// The account exists but is disabled.
    AccountDisabled,
    /// The credentials have expired.
    CredentialsExpired,
    /// The mechanism (or this use of it) requires an encrypted stream.
    EncryptionRequired,
    /// The base64 data of the XMPP element could not be decoded.
    IncorrectEncoding,
    /// The authorization identity is not one the authenticated user may act as.
    InvalidAuthzid,
    /// The mechanism is unknown or not offered on this stream.
    InvalidMechanism,
    /// The request is syntactically wrong or exceeds a limit.
    MalformedRequest,
    /// The mechanism is not allowed for this user or host.
    NotAllowed,
    /// Authentication failed: wrong credentials, unknown user, bad proof.
    NotAuthorized,
    /// A server-side problem (e.g. the account store) prevented authentication.
    TemporaryAuthFailure,
}

impl SaslCondition {
    /// Every condition, in RFC 6120 order; handy for table tests.
    pub const ALL: [SaslCondition; 11] = [
        SaslCondition::Aborted,
        SaslCondition::AccountDisabled,
        SaslCondition::CredentialsExpired,
        SaslCondition::EncryptionRequired,
        SaslCondition::IncorrectEncoding,
        SaslCondition::InvalidAuthzid,
        SaslCondition::InvalidMechanism,
        SaslCondition::MalformedRequest,
        SaslCondition::NotAllowed,
        SaslCondition::NotAuthorized,
        SaslCondition::TemporaryAuthFailure,
    ];

    /// The element name of this condition in the `urn:ietf:params:xml:ns:xmpp-sasl` namespace.
    pub fn as_str(self) -> &'static str {
        match self {
            SaslCondition::Aborted => "aborted",
            SaslCondition::AccountDisabled => "account-disabled",
            SaslCondition::CredentialsExpired => "credentials-expired",
            SaslCondition::EncryptionRequired => "encryption-required",
            SaslCondition::IncorrectEncoding => "incorrect-encoding",
            SaslCondition::InvalidAuthzid => "invalid-authzid",
            SaslCondition::InvalidMechanism => "invalid-mechanism",
            SaslCondition::MalformedRequest => "malformed-request",
            SaslCondition::NotAllowed => "not-allowed",
            SaslCondition::NotAuthorized => "not-authorized",
            SaslCondition::TemporaryAuthFailure => "temporary-auth-failure",
        }
    }

    /// Parses an element name back into a condition (used by tests and clients).
    pub fn from_name(name: &str) -> Option<SaslCondition> {
        SaslCondition::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for SaslCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An RFC 5802 §7 `server-error-value`, the `e=` attribute of a failed server-final-message.
///
/// XMPP's `<failure/>` carries no additional data, so the c2s session may put
/// [`ScramServerError::as_str`] in the failure text or drop it; [`SaslError::scram_error`]
/// exposes it either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramServerError {
    /// An attribute's base64 or saslname encoding is invalid.
    InvalidEncoding,
    /// The client sent a mandatory extension (`m=`) the server does not support.
    ExtensionsNotSupported,
    /// The client proof did not verify.
    InvalidProof,
    /// The `c=` attribute does not match the GS2 header of the first message.
    ChannelBindingsDontMatch,
    /// The client asked for channel binding (`p=`), which this mechanism does not offer.
    ChannelBindingNotSupported,
    /// The `n=` username contains an `=` not followed by `2C` or `3D`.
    InvalidUsernameEncoding,
    /// Any other failure (nonce mismatch, bad attribute order, ...).
    OtherError,
}

impl ScramServerError {
    /// The RFC 5802 token for this error, as it appears after `e=`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScramServerError::InvalidEncoding => "invalid-encoding",
            ScramServerError::ExtensionsNotSupported => "extensions-not-supported",
            ScramServerError::InvalidProof => "invalid-proof",
            ScramServerError::ChannelBindingsDontMatch => "channel-bindings-dont-match",
            ScramServerError::ChannelBindingNotSupported => "channel-binding-not-supported",
            ScramServerError::InvalidUsernameEncoding => "invalid-username-encoding",
            ScramServerError::OtherError => "other-error",
        }
    }

    /// The full server-final-message for this error, `e=<value>`.
    pub fn server_final_message(self) -> Vec<u8> {
        format!("e={}", self.as_str()).into_bytes()
    }
}

impl fmt::Display for ScramServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed SASL exchange: the condition to send, a human-readable text (never containing
/// secrets, safe to send to the client and to log) and, for SCRAM, the `e=` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{condition}: {text}")]
pub struct SaslError {
    condition: SaslCondition,
    text: String,
    scram_error: Option<ScramServerError>,
}

impl SaslError {
    /// A failure with the given condition and explanation.
    pub fn new(condition: SaslCondition, text: impl Into<String>) -> SaslError {
        SaslError {
            condition,
            text: text.into(),
            scram_error: None,
        }
    }

    /// A `malformed-request` failure.
    pub fn malformed(text: impl Into<String>) -> SaslError {
        SaslError::new(SaslCondition::MalformedRequest, text)
    }

    /// A `not-authorized` failure.
    pub fn not_authorized(text: impl Into<String>) -> SaslError {
        SaslError::new(SaslCondition::NotAuthorized, text)
    }

    /// Attaches the SCRAM `e=` value that explains this failure.
    pub fn with_scram_error(mut self, error: ScramServerError) -> SaslError {
        self.scram_error = Some(error);
        self
    }

    /// The RFC 6120 condition to send in `<failure/>`.
    pub fn condition(&self) -> SaslCondition {
        self.condition
    }

    /// The human-readable explanation for `<text/>`.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The SCRAM `e=` value, when the failure happened inside a SCRAM exchange.
    pub fn scram_error(&self) -> Option<ScramServerError> {
        self.scram_error
    }

    /// The failure a mechanism reports when the caller drives it out of order
    /// (a bug in the caller, not the client's fault).
    pub(crate) fn misuse(what: &str) -> SaslError {
        SaslError::new(
            SaslCondition::TemporaryAuthFailure,
            format!("internal error: {what}"),
        )
    }

    /// The failure for any input after the exchange already ended.
    pub(crate) fn finished() -> SaslError {
        SaslError::malformed("the SASL exchange has already finished")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condition_names_round_trip() {
        for c in SaslCondition::ALL {
            assert_eq!(SaslCondition::from_name(c.as_str()), Some(c));
        }
        assert_eq!(SaslCondition::from_name("bad-request"), None);
    }

    #[test]
    fn display_includes_condition_and_text() {
        let e = SaslError::not_authorized("wrong password")
            .with_scram_error(ScramServerError::InvalidProof);
        assert_eq!(e.to_string(), "not-authorized: wrong password");
        assert_eq!(e.scram_error(), Some(ScramServerError::InvalidProof));
        assert_eq!(
            ScramServerError::InvalidProof.server_final_message(),
            b"e=invalid-proof"
        );
    }
}
