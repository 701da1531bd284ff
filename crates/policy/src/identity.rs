//! The identity of a session, decided once at authentication.

use std::sync::Arc;

use crate::claims::TokenClaims;

/// Who a session is: the one identity type of Rookery, carried (behind an `Arc`, next to the
/// session's [`rookery_proto::Jid`]) by every routed stanza and read directly by room policy.
/// Admins, services and guests are handled by their own arms of the policy and never reach
/// claim comparison, and a token session always carries the claims its host's configuration
/// requires (see [`TokenClaims::from_payload`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Identity {
    /// A local account that proved its password (or other SASL credentials), e.g.
    /// `focus@auth.meet.example.com`.
    Account,
    /// An anonymous guest with a random localpart (also a tokenless guest on a token host
    /// that allows empty tokens).
    Guest,
    /// A session whose JWT was verified at authentication; the claims cannot be missing and
    /// are shared cheaply with rooms.
    Token(Arc<TokenClaims>),
    /// The server itself (replies, bounces) or a service such as an XEP-0114 component. It
    /// is trusted for rooms only when it is an admin or allowlisted, like an account.
    Service,
}

impl Identity {
    /// The verified claims of a token session.
    pub fn claims(&self) -> Option<&TokenClaims> {
        match self {
            Self::Token(claims) => Some(claims),
            Self::Account | Self::Guest | Self::Service => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_token_sessions_have_claims() {
        for identity in [Identity::Account, Identity::Guest, Identity::Service] {
            assert!(identity.claims().is_none(), "{identity:?}");
        }
    }
}
