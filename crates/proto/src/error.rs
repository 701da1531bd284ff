//! Parse errors and the RFC 6120 stream and stanza error conditions, with builders.

use crate::element::Element;
use crate::ns;

/// Why a byte stream could not be turned into stanzas; each maps to one stream error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Malformed XML.
    #[error("not well-formed: {0}")]
    NotWellFormed(String),
    /// XML that RFC 6120 §11 forbids (comments, PIs, DTDs, entity references).
    #[error("restricted XML: {0}")]
    RestrictedXml(String),
    /// A stanza larger than the configured limit or nested too deep.
    #[error("policy violation: {0}")]
    TooLarge(String),
    /// The stream header used the wrong namespace.
    #[error("invalid namespace: {0}")]
    InvalidNamespace(String),
}

impl XmlError {
    /// The stream error condition this parse error is reported with.
    pub fn condition(&self) -> StreamErrorCondition {
        match self {
            XmlError::NotWellFormed(_) => StreamErrorCondition::NotWellFormed,
            XmlError::RestrictedXml(_) => StreamErrorCondition::RestrictedXml,
            XmlError::TooLarge(_) => StreamErrorCondition::PolicyViolation,
            XmlError::InvalidNamespace(_) => StreamErrorCondition::InvalidNamespace,
        }
    }

    /// The human text sent along with the stream error.
    pub fn text(&self) -> String {
        match self {
            XmlError::NotWellFormed(t)
            | XmlError::RestrictedXml(t)
            | XmlError::TooLarge(t)
            | XmlError::InvalidNamespace(t) => t.clone(),
        }
    }
}

macro_rules! conditions {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name { $(#[doc = $s] $variant),* }
        impl $name {
            /// The element name of the condition.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),* }
            }
            /// Parses a condition element name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)* _ => None }
            }
        }
    };
}

conditions!(
    /// RFC 6120 §4.9.3 stream error conditions.
    StreamErrorCondition {
        BadFormat => "bad-format",
        BadNamespacePrefix => "bad-namespace-prefix",
        Conflict => "conflict",
        ConnectionTimeout => "connection-timeout",
        HostGone => "host-gone",
        HostUnknown => "host-unknown",
        ImproperAddressing => "improper-addressing",
        InternalServerError => "internal-server-error",
        InvalidFrom => "invalid-from",
        InvalidNamespace => "invalid-namespace",
        InvalidXml => "invalid-xml",
        NotAuthorized => "not-authorized",
        NotWellFormed => "not-well-formed",
        PolicyViolation => "policy-violation",
        RemoteConnectionFailed => "remote-connection-failed",
        Reset => "reset",
        ResourceConstraint => "resource-constraint",
        RestrictedXml => "restricted-xml",
        SeeOtherHost => "see-other-host",
        SystemShutdown => "system-shutdown",
        UndefinedCondition => "undefined-condition",
        UnsupportedEncoding => "unsupported-encoding",
        UnsupportedFeature => "unsupported-feature",
        UnsupportedStanzaType => "unsupported-stanza-type",
        UnsupportedVersion => "unsupported-version",
    }
);

conditions!(
    /// RFC 6120 §8.3.3 stanza error conditions.
    StanzaErrorCondition {
        BadRequest => "bad-request",
        Conflict => "conflict",
        FeatureNotImplemented => "feature-not-implemented",
        Forbidden => "forbidden",
        Gone => "gone",
        InternalServerError => "internal-server-error",
        ItemNotFound => "item-not-found",
        JidMalformed => "jid-malformed",
        NotAcceptable => "not-acceptable",
        NotAllowed => "not-allowed",
        NotAuthorized => "not-authorized",
        PolicyViolation => "policy-violation",
        RecipientUnavailable => "recipient-unavailable",
        Redirect => "redirect",
        RegistrationRequired => "registration-required",
        RemoteServerNotFound => "remote-server-not-found",
        RemoteServerTimeout => "remote-server-timeout",
        ResourceConstraint => "resource-constraint",
        ServiceUnavailable => "service-unavailable",
        SubscriptionRequired => "subscription-required",
        UndefinedCondition => "undefined-condition",
        UnexpectedRequest => "unexpected-request",
    }
);

impl StanzaErrorCondition {
    /// The error `type` RFC 6120 §8.3.3 recommends for this condition.
    pub fn default_type(self) -> ErrorType {
        use StanzaErrorCondition::*;
        match self {
            BadRequest | JidMalformed | NotAcceptable | PolicyViolation | UnexpectedRequest => {
                ErrorType::Modify
            }
            Forbidden | NotAuthorized | RegistrationRequired | SubscriptionRequired => {
                ErrorType::Auth
            }
            InternalServerError | RecipientUnavailable | RemoteServerTimeout
            | ResourceConstraint => ErrorType::Wait,
            _ => ErrorType::Cancel,
        }
    }
}

/// The `type` attribute of a stanza error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// Retry after changing the request.
    Modify,
    /// Do not retry.
    Cancel,
    /// Retry after providing credentials.
    Auth,
    /// Retry later.
    Wait,
    /// Proceed; the condition was only a warning.
    Continue,
}

impl ErrorType {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::Modify => "modify",
            ErrorType::Cancel => "cancel",
            ErrorType::Auth => "auth",
            ErrorType::Wait => "wait",
            ErrorType::Continue => "continue",
        }
    }
}

/// A stanza error to attach to a reply: condition, type, optional text and extra
/// application-specific children (Jitsi's `http://jitsi.org/jitmeet` codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StanzaError {
    /// The defined condition.
    pub condition: StanzaErrorCondition,
    /// The error type.
    pub kind: ErrorType,
    /// Human-readable text, if any.
    pub text: Option<String>,
    /// Application-specific condition elements.
    pub extra: Vec<Element>,
}

impl StanzaError {
    /// An error with the condition's default type and no text.
    pub fn new(condition: StanzaErrorCondition) -> Self {
        StanzaError {
            condition,
            kind: condition.default_type(),
            text: None,
            extra: Vec::new(),
        }
    }

    /// Builder: adds a text.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Builder: overrides the type.
    pub fn with_type(mut self, kind: ErrorType) -> Self {
        self.kind = kind;
        self
    }

    /// Builder: adds an application-specific child.
    pub fn with_extra(mut self, el: Element) -> Self {
        self.extra.push(el);
        self
    }

    /// The `<error/>` element in the given stanza namespace.
    pub fn to_element(&self, stanza_ns: &str) -> Element {
        let mut e = Element::new("error", stanza_ns)
            .with_attr("type", self.kind.as_str())
            .with_child(Element::new(self.condition.as_str(), ns::STANZAS));
        if let Some(t) = &self.text {
            e.push_child(
                Element::new("text", ns::STANZAS)
                    .with_attr("xml:lang", "en")
                    .with_text(t.clone()),
            );
        }
        for x in &self.extra {
            e.push_child(x.clone());
        }
        e
    }

    /// Reads the error of an `type='error'` stanza.
    pub fn from_stanza(stanza: &Element) -> Option<StanzaError> {
        let err = stanza.children().find(|c| c.name == "error")?;
        let condition = err
            .children()
            .filter(|c| c.ns == ns::STANZAS && c.name != "text")
            .find_map(|c| StanzaErrorCondition::parse(&c.name))?;
        let kind = match err.attr("type") {
            Some("modify") => ErrorType::Modify,
            Some("auth") => ErrorType::Auth,
            Some("wait") => ErrorType::Wait,
            Some("continue") => ErrorType::Continue,
            _ => ErrorType::Cancel,
        };
        Some(StanzaError {
            condition,
            kind,
            text: err.child_text("text", ns::STANZAS),
            extra: err
                .children()
                .filter(|c| c.ns != ns::STANZAS)
                .cloned()
                .collect(),
        })
    }
}

/// Builds the error reply to `stanza`: `from`/`to` swapped, same id, original payload kept for
/// messages and presences (as RFC 6120 allows), `type='error'`. Returns `None` when the
/// stanza is itself an error or an IQ result, which must never be answered.
pub fn error_reply(stanza: &Element, err: &StanzaError) -> Option<Element> {
    let ty = stanza.attr("type");
    if ty == Some("error") || (stanza.name == "iq" && ty == Some("result")) {
        return None;
    }
    let mut reply = Element::new(stanza.name.clone(), stanza.ns.clone())
        .with_attr("type", "error")
        .with_opt_attr("id", stanza.attr("id"))
        .with_opt_attr("from", stanza.attr("to"))
        .with_opt_attr("to", stanza.attr("from"));
    if stanza.name == "iq" {
        if let Some(payload) = stanza.first_child() {
            reply.push_child(payload.clone());
        }
    } else {
        for c in stanza.children() {
            reply.push_child(c.clone());
        }
    }
    reply.push_child(err.to_element(&stanza.ns));
    Some(reply)
}

/// Builds `<stream:error>` with the condition and an optional text.
pub fn stream_error(condition: StreamErrorCondition, text: Option<&str>) -> Element {
    let mut e = Element::new("error", ns::STREAM);
    e.prefix = Some("stream".into());
    e.push_child(Element::new(condition.as_str(), ns::STREAM_ERRORS));
    if let Some(t) = text {
        e.push_child(
            Element::new("text", ns::STREAM_ERRORS)
                .with_attr("xml:lang", "en")
                .with_text(t),
        );
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_reply_to_error_or_result() {
        let e = StanzaError::new(StanzaErrorCondition::ServiceUnavailable);
        let err = Element::new("message", ns::CLIENT).with_attr("type", "error");
        let res = Element::new("iq", ns::CLIENT).with_attr("type", "result");
        assert!(error_reply(&err, &e).is_none());
        assert!(error_reply(&res, &e).is_none());
    }

    #[test]
    fn iq_error_reply_swaps_and_keeps_id() {
        let iq = Element::new("iq", ns::CLIENT)
            .with_attr("type", "get")
            .with_attr("id", "1")
            .with_attr("from", "a@b/c")
            .with_attr("to", "b")
            .with_child(Element::new("query", "urn:x"));
        let e = StanzaError::new(StanzaErrorCondition::ServiceUnavailable).with_text("nope");
        let r = error_reply(&iq, &e).unwrap();
        assert_eq!(r.attr("to"), Some("a@b/c"));
        assert_eq!(r.attr("from"), Some("b"));
        assert_eq!(r.attr("id"), Some("1"));
        let parsed = StanzaError::from_stanza(&r).unwrap();
        assert_eq!(parsed.condition, StanzaErrorCondition::ServiceUnavailable);
        assert_eq!(parsed.kind, ErrorType::Cancel);
        assert_eq!(parsed.text.as_deref(), Some("nope"));
    }
}
