//! Room affiliations, and the one a token grants on join (jitsi-tokens.md §5).

use rookery_proto::Jid;
use serde::{Deserialize, Serialize};

use crate::config::MucPolicyConfig;
use crate::identity::Identity;
use crate::room_policy::MucPolicy;

/// A user's long-lived standing in a room (XEP-0045 §5.2), ordered from least to most
/// privileged. One type for policy and MUC: `rookery-muc` re-exports it, so what
/// [`affiliation_from_token`] answers goes into a join grant as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Affiliation {
    /// Banned: may not enter.
    Outcast,
    /// No affiliation.
    None,
    /// On the member list (participant role).
    Member,
    /// Room administrator.
    Admin,
    /// Room owner (moderator role).
    Owner,
}

impl Affiliation {
    /// The XEP-0045 affiliation name (the wire value).
    pub fn as_str(self) -> &'static str {
        match self {
            Affiliation::Outcast => "outcast",
            Affiliation::None => "none",
            Affiliation::Member => "member",
            Affiliation::Admin => "admin",
            Affiliation::Owner => "owner",
        }
    }

    /// Parses the wire value.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "outcast" => Affiliation::Outcast,
            "none" => Affiliation::None,
            "member" => Affiliation::Member,
            "admin" => Affiliation::Admin,
            "owner" => Affiliation::Owner,
            _ => return None,
        })
    }
}

/// The affiliation a session gets from its token when `token_affiliation` is on: owner if
/// the token asks for moderator rights (see [`crate::TokenClaims::is_moderator`]), else
/// member. `None` for non-token sessions and when the option is off: authentication alone
/// grants no role.
pub fn affiliation_from_token(
    identity: &Identity,
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
    pub fn kick_at(&self, identity: &Identity) -> Option<i64> {
        match self.config().token_expiry {
            crate::TokenExpiry::Kick => identity.claims()?.exp(),
            crate::TokenExpiry::Ignore => None,
        }
    }

    /// [`affiliation_from_token`] for the session `jid` on this service; admins are left
    /// alone.
    pub fn affiliation_from_token(&self, jid: &Jid, identity: &Identity) -> Option<Affiliation> {
        if self.is_admin(jid) {
            return None;
        }
        affiliation_from_token(identity, self.config())
    }
}
