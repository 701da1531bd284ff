//! Affiliation granted from token claims on join (jitsi-tokens.md §5).

use crate::config::MucPolicyConfig;
use crate::identity::SessionIdentity;
use crate::room_policy::MucPolicy;

/// The affiliation a token holder receives in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Affiliation {
    /// Owner (moderator role).
    Owner,
    /// Member (participant role).
    Member,
}

impl Affiliation {
    /// The XEP-0045 affiliation name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Member => "member",
        }
    }
}

/// The affiliation a session gets from its token when `token_affiliation` is on: owner if
/// the token asks for moderator rights (see [`crate::TokenClaims::is_moderator`]), else
/// member. `None` for non-token sessions and when the option is off: authentication alone
/// grants no role.
pub fn affiliation_from_token(
    identity: &SessionIdentity,
    config: &MucPolicyConfig,
) -> Option<Affiliation> {
    if !config.token_affiliation {
        return None;
    }
    let claims = identity.claims()?;
    Some(if claims.is_moderator() {
        Affiliation::Owner
    } else {
        Affiliation::Member
    })
}

impl MucPolicy {
    /// When to kick this session from its rooms: the token's `exp` (seconds since the Unix
    /// epoch) when `token_expiry = "kick"`, else `None`.
    pub fn kick_at(&self, identity: &SessionIdentity) -> Option<i64> {
        match self.config().token_expiry {
            crate::TokenExpiry::Kick => identity.claims()?.exp(),
            crate::TokenExpiry::Ignore => None,
        }
    }

    /// [`affiliation_from_token`] for this service; admins are left alone.
    pub fn affiliation_from_token(&self, identity: &SessionIdentity) -> Option<Affiliation> {
        if self.is_admin(identity) {
            return None;
        }
        affiliation_from_token(identity, self.config())
    }
}
