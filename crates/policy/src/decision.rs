//! The outcome of room verification: allow (and why), or a refusal that maps one-to-one to
//! the error presence Jitsi clients understand.

use std::fmt;

use rookery_proto::{Element, ErrorType, StanzaError, StanzaErrorCondition};

use crate::claims::Subject;

/// Namespace of the Jitsi-specific error code element (`<room-mismatch xmlns=.../>`).
pub const JITSI_ERROR_NS: &str = "http://jitsi.org/jitmeet";

/// The room operation being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomAction {
    /// Room pre-create: the first occupant's presence would create the room.
    Create,
    /// Occupant pre-join on an existing (or just created) room.
    Join,
}

/// Why a room operation was allowed; useful for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// An admin of the MUC host (global, MUC component or parent host list).
    Admin,
    /// A JID or domain in `token_verification_allowlist`.
    Allowlisted,
    /// A tokenless session while `allow_empty_token` is on.
    Tokenless,
    /// A token whose claims match the room.
    Token,
    /// Domain verification off: the room claim matches but the room is in another tenant
    /// than the token's `sub` (Jitsi-compatible; `token_strict_tenants` forbids it).
    TokenCrossedTenant {
        /// The room's tenant.
        room_tenant: String,
        /// The token's `sub`.
        subject: Subject,
    },
}

/// The stanza error condition of a refusal. Always `not-allowed` (type `cancel`): clients
/// read `not-authorized`/`forbidden` as "password required".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// `<not-allowed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>`.
    NotAllowed,
}

impl Condition {
    /// The element name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAllowed => "not-allowed",
        }
    }

    /// The error `type` attribute.
    pub fn error_type(self) -> &'static str {
        match self {
            Self::NotAllowed => "cancel",
        }
    }
}

/// The Jitsi error code element added to a refusal (namespace [`JITSI_ERROR_NS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JitsiCode {
    /// The token's room, tenant or domain does not match the room.
    RoomMismatch,
    /// The room name does not match the token's room regular expression.
    RoomNameDoesNotMatch,
    /// The room address cannot be mapped to a room of this service.
    InvalidRoomAddress,
    /// Room creation is restricted to admins (the room may be created soon by focus).
    RoomDoesNotExist,
    /// The session has no token and tokenless sessions are not allowed here.
    AuthenticationRequired,
    /// The server lacks configuration needed to decide (e.g. `muc_mapper_domain_base`).
    ServerMissingConfig,
}

impl JitsiCode {
    /// The element name (`room-mismatch`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoomMismatch => "room-mismatch",
            Self::RoomNameDoesNotMatch => "room-name-does-not-match",
            Self::InvalidRoomAddress => "invalid-room-address",
            Self::RoomDoesNotExist => "room-does-not-exist",
            Self::AuthenticationRequired => "authentication-required",
            Self::ServerMissingConfig => "server-missing-config",
        }
    }
}

impl fmt::Display for JitsiCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused room operation: one error presence with this condition, text and code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The stanza error condition (always `not-allowed`).
    pub condition: Condition,
    /// Human-readable reason for `<text>`.
    pub text: String,
    /// The Jitsi code element.
    pub jitsi_code: JitsiCode,
}

impl Refusal {
    /// A `not-allowed` refusal with `code` and `text`.
    pub fn not_allowed(code: JitsiCode, text: impl Into<String>) -> Self {
        Self {
            condition: Condition::NotAllowed,
            text: text.into(),
            jitsi_code: code,
        }
    }

    /// The stanza error of the one error presence: the condition with its type, the text
    /// and the Jitsi code element.
    pub fn into_stanza_error(self) -> StanzaError {
        let (condition, kind) = match self.condition {
            Condition::NotAllowed => (StanzaErrorCondition::NotAllowed, ErrorType::Cancel),
        };
        StanzaError::new(condition)
            .with_type(kind)
            .with_text(self.text)
            .with_extra(Element::new(self.jitsi_code.as_str(), JITSI_ERROR_NS))
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.condition.as_str(),
            self.jitsi_code,
            self.text
        )
    }
}

/// The verdict on a room create or join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow(Grant),
    /// Stop the operation and send exactly one error presence.
    Refuse(Refusal),
}

impl Decision {
    /// Whether the operation may proceed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow(_))
    }

    /// The refusal, if any.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Self::Allow(_) => None,
            Self::Refuse(r) => Some(r),
        }
    }

    pub(crate) fn refuse(code: JitsiCode, text: impl Into<String>) -> Self {
        Self::Refuse(Refusal::not_allowed(code, text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_one_not_allowed_error_with_its_jitsi_code() {
        let error = Refusal::not_allowed(JitsiCode::RoomMismatch, "Room and token mismatched")
            .into_stanza_error();
        assert_eq!(error.condition, StanzaErrorCondition::NotAllowed);
        assert_eq!(error.kind, ErrorType::Cancel);
        assert_eq!(error.text.as_deref(), Some("Room and token mismatched"));
        assert_eq!(
            error.extra,
            vec![Element::new("room-mismatch", JITSI_ERROR_NS)]
        );
    }
}
