//! Roles (XEP-0045 §5.1): temporary, per occupant, and who may change them.

use rookery_proto::StanzaErrorCondition;
use serde::{Deserialize, Serialize};

use crate::affiliation::Affiliation;

/// An occupant's role in the room, ordered from least to most privileged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Not in the room (used in unavailable presence and to kick).
    None,
    /// May listen, not speak (moderated rooms).
    Visitor,
    /// May speak.
    Participant,
    /// Manages other occupants' roles.
    Moderator,
}

impl Role {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::None => "none",
            Role::Visitor => "visitor",
            Role::Participant => "participant",
            Role::Moderator => "moderator",
        }
    }

    /// Parses the wire value.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Role::None,
            "visitor" => Role::Visitor,
            "participant" => Role::Participant,
            "moderator" => Role::Moderator,
            _ => return None,
        })
    }
}

/// The role an entering user gets (XEP-0045 §5.1.2 table): owners and admins moderate,
/// members participate, unaffiliated users are visitors in moderated rooms.
pub fn default_role(affiliation: Affiliation, moderated: bool) -> Role {
    match affiliation {
        Affiliation::Owner | Affiliation::Admin => Role::Moderator,
        Affiliation::Member => Role::Participant,
        Affiliation::None if moderated => Role::Visitor,
        Affiliation::None => Role::Participant,
        Affiliation::Outcast => Role::None,
    }
}

/// Who asks for a role change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleActor {
    /// The actor's role (`None` when not in the room).
    pub role: Role,
    /// The actor's effective affiliation.
    pub affiliation: Affiliation,
    /// A service administrator: may change anyone's role but its own kick.
    pub service_admin: bool,
}

/// Whether `actor` may change the role of an occupant (`target_role`, `target_affiliation`)
/// to `new` (XEP-0045 §8–9): only moderators change roles (`not-allowed` otherwise, also for
/// a participant trying to kick); only admins and owners grant or revoke moderator; no one
/// revokes voice or moderation from an admin or owner, and only a higher affiliation may
/// kick one; a moderator kicking itself gets `conflict`.
pub fn check_role_change(
    actor: RoleActor,
    target_role: Role,
    target_affiliation: Affiliation,
    new: Role,
    is_self: bool,
) -> Result<(), StanzaErrorCondition> {
    if is_self && new == Role::None {
        return Err(StanzaErrorCondition::Conflict);
    }
    if actor.service_admin {
        return Ok(());
    }
    if actor.role != Role::Moderator {
        return Err(StanzaErrorCondition::NotAllowed);
    }
    if target_affiliation > actor.affiliation {
        return Err(StanzaErrorCondition::NotAllowed);
    }
    if (new == Role::Moderator || target_role == Role::Moderator)
        && actor.affiliation < Affiliation::Admin
    {
        return Err(StanzaErrorCondition::NotAllowed);
    }
    if target_affiliation >= Affiliation::Admin {
        let kick_by_higher = new == Role::None && actor.affiliation > target_affiliation;
        if !kick_by_higher && new != Role::Moderator {
            return Err(StanzaErrorCondition::NotAllowed);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Affiliation as A;
    use StanzaErrorCondition::{Conflict, NotAllowed};

    fn actor(role: Role, affiliation: Affiliation) -> RoleActor {
        RoleActor {
            role,
            affiliation,
            service_admin: false,
        }
    }

    #[test]
    fn default_roles_follow_the_xep_table() {
        let cases = [
            (A::None, false, Role::Participant),
            (A::None, true, Role::Visitor),
            (A::Member, false, Role::Participant),
            (A::Member, true, Role::Participant),
            (A::Admin, true, Role::Moderator),
            (A::Owner, false, Role::Moderator),
            (A::Outcast, false, Role::None),
        ];
        for (aff, moderated, want) in cases {
            assert_eq!(default_role(aff, moderated), want, "{aff:?} {moderated}");
        }
        for r in [
            Role::None,
            Role::Visitor,
            Role::Participant,
            Role::Moderator,
        ] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("owner"), None);
    }

    /// (actor role, actor aff, target role, target aff, new role, is_self, expected)
    type Case = (
        Role,
        Affiliation,
        Role,
        Affiliation,
        Role,
        bool,
        Result<(), StanzaErrorCondition>,
    );

    #[test]
    fn permission_table() {
        use Role::{Moderator as Mo, None as Out, Participant as Pa, Visitor as Vi};
        let ok = Ok(());
        let cases: &[Case] = &[
            // non-moderators can do nothing
            (Pa, A::None, Pa, A::None, Out, false, Err(NotAllowed)),
            (Pa, A::Member, Vi, A::None, Pa, false, Err(NotAllowed)),
            (Vi, A::None, Pa, A::None, Vi, false, Err(NotAllowed)),
            (Out, A::Admin, Pa, A::None, Out, false, Err(NotAllowed)),
            // a moderator kicks and (de)voices participants and visitors
            (Mo, A::None, Pa, A::None, Out, false, ok),
            (Mo, A::None, Vi, A::None, Pa, false, ok),
            (Mo, A::None, Pa, A::None, Vi, false, ok),
            (Mo, A::Member, Pa, A::Member, Vi, false, ok),
            // but not users with a higher affiliation
            (Mo, A::None, Pa, A::Member, Out, false, Err(NotAllowed)),
            (Mo, A::Member, Mo, A::Admin, Out, false, Err(NotAllowed)),
            (Mo, A::Admin, Mo, A::Owner, Out, false, Err(NotAllowed)),
            // granting or revoking moderator needs admin or owner
            (Mo, A::Member, Pa, A::None, Mo, false, Err(NotAllowed)),
            (Mo, A::None, Mo, A::None, Pa, false, Err(NotAllowed)),
            (Mo, A::None, Mo, A::None, Out, false, Err(NotAllowed)),
            (Mo, A::Admin, Pa, A::None, Mo, false, ok),
            (Mo, A::Admin, Mo, A::Member, Pa, false, ok),
            (Mo, A::Owner, Mo, A::None, Vi, false, ok),
            // no one revokes voice or moderation from admins and owners
            (Mo, A::Owner, Mo, A::Admin, Pa, false, Err(NotAllowed)),
            (Mo, A::Owner, Mo, A::Admin, Vi, false, Err(NotAllowed)),
            (Mo, A::Owner, Mo, A::Owner, Pa, false, Err(NotAllowed)),
            (Mo, A::Admin, Mo, A::Admin, Out, false, Err(NotAllowed)),
            // only a higher affiliation kicks an admin; owners cannot be kicked
            (Mo, A::Owner, Mo, A::Admin, Out, false, ok),
            (Mo, A::Owner, Mo, A::Owner, Out, false, Err(NotAllowed)),
            // kicking oneself is a conflict
            (Mo, A::Owner, Mo, A::Owner, Out, true, Err(Conflict)),
            // re-asserting moderator on an admin is harmless
            (Mo, A::Owner, Mo, A::Admin, Mo, false, ok),
        ];
        for (i, (ar, aa, tr, ta, new, is_self, want)) in cases.iter().enumerate() {
            assert_eq!(
                check_role_change(actor(*ar, *aa), *tr, *ta, *new, *is_self),
                *want,
                "case {i}: {ar:?}/{aa:?} sets {tr:?}/{ta:?} -> {new:?}"
            );
        }
    }

    #[test]
    fn service_admin_may_kick_owners_but_not_itself() {
        let admin = RoleActor {
            role: Role::Moderator,
            affiliation: A::Owner,
            service_admin: true,
        };
        assert_eq!(
            check_role_change(admin, Role::Moderator, A::Owner, Role::None, false),
            Ok(())
        );
        assert_eq!(
            check_role_change(admin, Role::Moderator, A::Owner, Role::None, true),
            Err(Conflict)
        );
    }
}
