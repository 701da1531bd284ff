//! Affiliations (XEP-0045 §5.2): long-lived, per bare JID, and who may change them.

use std::collections::BTreeMap;

use rookery_proto::{Jid, StanzaErrorCondition};

/// A user's long-lived standing in a room, ordered from least to most privileged. The type
/// is `rookery-policy`'s, so an affiliation granted from a token needs no translation.
pub use rookery_policy::Affiliation;

/// One stored affiliation (never `None`: absence means none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffiliationEntry {
    /// The affiliation.
    pub affiliation: Affiliation,
    /// The reason given when it was set (kept for bans).
    pub reason: Option<String>,
}

/// The room's affiliation list, keyed by bare JID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AffiliationTable {
    entries: BTreeMap<Jid, AffiliationEntry>,
}

impl AffiliationTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The affiliation stored for `jid`'s bare form (`None` affiliation when absent).
    pub fn get(&self, jid: &Jid) -> Affiliation {
        let bare = if jid.is_full() {
            jid.to_bare()
        } else {
            jid.clone()
        };
        self.entries
            .get(&bare)
            .map_or(Affiliation::None, |e| e.affiliation)
    }

    /// Sets the affiliation of a bare JID; `Affiliation::None` removes the entry. Returns
    /// true when something changed.
    pub fn set(&mut self, bare: Jid, affiliation: Affiliation, reason: Option<String>) -> bool {
        if affiliation == Affiliation::None {
            return self.entries.remove(&bare).is_some();
        }
        let entry = AffiliationEntry {
            affiliation,
            reason,
        };
        match self.entries.get(&bare) {
            Some(old) if *old == entry => false,
            _ => {
                self.entries.insert(bare, entry);
                true
            }
        }
    }

    /// Every bare JID with this affiliation, in JID order.
    pub fn with(
        &self,
        affiliation: Affiliation,
    ) -> impl Iterator<Item = (&Jid, &AffiliationEntry)> {
        self.entries
            .iter()
            .filter(move |(_, e)| e.affiliation == affiliation)
    }

    /// Every entry, in JID order.
    pub fn iter(&self) -> impl Iterator<Item = (&Jid, &AffiliationEntry)> {
        self.entries.iter()
    }

    /// How many owners are listed.
    pub fn owner_count(&self) -> usize {
        self.with(Affiliation::Owner).count()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no one is affiliated.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Whether `actor` (its effective affiliation; service admins count as owners) may change
/// a user from `current` to `new`. `is_self` is true when the actor targets its own bare JID;
/// `owners` is the number of listed owners. Errors follow XEP-0045 §9–10: lacking the
/// privilege for that list is `forbidden`, acting on a higher-ranked user is `not-allowed`,
/// banning oneself or removing the last owner is `conflict`.
pub fn check_affiliation_change(
    actor: Affiliation,
    current: Affiliation,
    new: Affiliation,
    is_self: bool,
    owners: usize,
) -> Result<(), StanzaErrorCondition> {
    if actor < Affiliation::Admin {
        return Err(StanzaErrorCondition::Forbidden);
    }
    if is_self && new == Affiliation::Outcast {
        return Err(StanzaErrorCondition::Conflict);
    }
    if current >= Affiliation::Admin && actor < Affiliation::Owner {
        return Err(StanzaErrorCondition::NotAllowed);
    }
    if new >= Affiliation::Admin && actor < Affiliation::Owner {
        return Err(StanzaErrorCondition::Forbidden);
    }
    if current == Affiliation::Owner && new != Affiliation::Owner && owners <= 1 {
        return Err(StanzaErrorCondition::Conflict);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Affiliation::*;
    use super::*;
    use StanzaErrorCondition::{Conflict, Forbidden, NotAllowed};

    #[test]
    fn ordering_and_wire_names() {
        assert!(Outcast < None && None < Member && Member < Admin && Admin < Owner);
        for a in [Outcast, None, Member, Admin, Owner] {
            assert_eq!(Affiliation::parse(a.as_str()), Some(a));
        }
        assert_eq!(Affiliation::parse("moderator"), Option::None);
        assert_eq!(Affiliation::parse("Owner"), Option::None);
    }

    #[test]
    fn table_set_get_remove() {
        let mut t = AffiliationTable::new();
        let a = Jid::parse("a@x").unwrap();
        assert_eq!(t.get(&Jid::parse("a@x/r").unwrap()), None);
        assert!(t.set(a.clone(), Owner, Option::None));
        assert!(!t.set(a.clone(), Owner, Option::None));
        assert_eq!(t.get(&Jid::parse("a@x/r").unwrap()), Owner);
        assert_eq!(t.owner_count(), 1);
        assert!(t.set(a.clone(), None, Option::None));
        assert!(t.is_empty());
        assert!(!t.set(a, None, Option::None));
    }

    /// (actor, current, new, is_self, owners, expected)
    type Case = (
        Affiliation,
        Affiliation,
        Affiliation,
        bool,
        usize,
        Result<(), StanzaErrorCondition>,
    );

    #[test]
    fn permission_table() {
        let ok = Ok(());
        let cases: &[Case] = &[
            // unaffiliated users and members cannot edit any list
            (None, None, Member, false, 1, Err(Forbidden)),
            (None, None, Outcast, false, 1, Err(Forbidden)),
            (Member, None, Member, false, 1, Err(Forbidden)),
            (Member, Member, Outcast, false, 1, Err(Forbidden)),
            (Member, Member, None, true, 1, Err(Forbidden)),
            // admins: member list and bans of members / unaffiliated users
            (Admin, None, Member, false, 1, ok),
            (Admin, Member, None, false, 1, ok),
            (Admin, None, Outcast, false, 1, ok),
            (Admin, Member, Outcast, false, 1, ok),
            (Admin, Outcast, None, false, 1, ok),
            (Admin, Outcast, Member, false, 1, ok),
            // admins cannot touch admins or owners, nor grant those
            (Admin, Admin, Outcast, false, 1, Err(NotAllowed)),
            (Admin, Owner, Outcast, false, 1, Err(NotAllowed)),
            (Admin, Admin, Member, false, 1, Err(NotAllowed)),
            (Admin, Owner, None, false, 2, Err(NotAllowed)),
            (Admin, None, Admin, false, 1, Err(Forbidden)),
            (Admin, Member, Owner, false, 1, Err(Forbidden)),
            // admins cannot ban themselves
            (Admin, Admin, Outcast, true, 1, Err(Conflict)),
            // owners can do everything …
            (Owner, None, Admin, false, 1, ok),
            (Owner, Admin, Owner, false, 1, ok),
            (Owner, Admin, Outcast, false, 1, ok),
            (Owner, Owner, Admin, false, 2, ok),
            (Owner, Owner, Outcast, false, 2, ok),
            (Owner, Owner, None, true, 2, ok),
            // … except removing the last owner or banning themselves
            (Owner, Owner, Admin, true, 1, Err(Conflict)),
            (Owner, Owner, None, false, 1, Err(Conflict)),
            (Owner, Owner, Outcast, true, 2, Err(Conflict)),
        ];
        for (i, (actor, current, new, is_self, owners, want)) in cases.iter().enumerate() {
            assert_eq!(
                check_affiliation_change(*actor, *current, *new, *is_self, *owners),
                *want,
                "case {i}: {actor:?} changes {current:?} -> {new:?} (self {is_self})"
            );
        }
    }
}
