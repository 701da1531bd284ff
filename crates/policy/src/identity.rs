//! The identity of a session, decided once at authentication.

use std::sync::Arc;

use crate::claims::TokenClaims;

/// Who a session is. Room policy matches on this: admins, services and guests are handled
/// by their own arms and never reach claim comparison, and a token session always carries
/// the claims its host's configuration requires (see [`TokenClaims::from_payload`]).
///
/// JIDs are kept as text (`node@domain/resource` or bare); comparisons use the lowercased
/// bare JID.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionIdentity {
    /// A password (or other SASL) account, e.g. `focus@auth.meet.example.com`.
    Account {
        /// The session's JID.
        jid: String,
    },
    /// A tokenless anonymous session.
    Guest {
        /// The session's JID.
        jid: String,
    },
    /// A session authenticated by a verified JWT.
    Token {
        /// The session's JID (a random node on the token host).
        jid: String,
        /// The verified claims, shared cheaply with rooms.
        claims: Arc<TokenClaims>,
    },
    /// A server-side or component entity (e.g. an XEP-0114 component). It is trusted for
    /// rooms only when it is an admin or allowlisted, like an account.
    Service {
        /// The entity's JID.
        jid: String,
    },
}

impl SessionIdentity {
    /// A token session from verified claims.
    pub fn token(jid: impl Into<String>, claims: TokenClaims) -> Self {
        Self::Token {
            jid: jid.into(),
            claims: Arc::new(claims),
        }
    }

    /// The JID as given.
    pub fn jid(&self) -> &str {
        match self {
            Self::Account { jid } | Self::Guest { jid } | Self::Service { jid } => jid,
            Self::Token { jid, .. } => jid,
        }
    }

    /// The bare JID (resource removed), lowercased.
    pub fn bare_jid(&self) -> String {
        bare_jid(self.jid())
    }

    /// The domain part, lowercased.
    pub fn domain(&self) -> String {
        domain_of(self.jid())
    }

    /// The verified claims of a token session.
    pub fn claims(&self) -> Option<&TokenClaims> {
        match self {
            Self::Token { claims, .. } => Some(claims),
            Self::Account { .. } | Self::Guest { .. } | Self::Service { .. } => None,
        }
    }
}

/// `node@domain/res` -> `node@domain`, lowercased.
pub fn bare_jid(jid: &str) -> String {
    jid.split('/').next().unwrap_or(jid).to_lowercase()
}

/// `node@domain/res` -> `domain`, lowercased.
pub fn domain_of(jid: &str) -> String {
    let bare = jid.split('/').next().unwrap_or(jid);
    bare.rsplit('@').next().unwrap_or(bare).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jid_parts() {
        assert_eq!(bare_jid("Focus@Auth.Example/r1/x"), "focus@auth.example");
        assert_eq!(domain_of("focus@auth.example/r"), "auth.example");
        assert_eq!(domain_of("conference.example"), "conference.example");
        let id = SessionIdentity::Guest {
            jid: "a@guest.example/web".into(),
        };
        assert_eq!(id.bare_jid(), "a@guest.example");
        assert_eq!(id.domain(), "guest.example");
        assert!(id.claims().is_none());
    }
}
