//! The `muc#admin` protocol (XEP-0045 §8–10): role and affiliation lists and changes —
//! kick (307), ban (301), voice, moderator, member, admin and owner.
//!
//! A set is all-or-nothing: every item is parsed and checked against the permission tables
//! ([`crate::roles::check_role_change`], [`crate::affiliation::check_affiliation_change`])
//! before any is applied.

use rookery_proto::{Element, Jid, StanzaError, StanzaErrorCondition, ns};

use super::Room;
use super::outbound::{iq_result, reply_error};
use super::removal::Removal;
use crate::affiliation::{Affiliation, check_affiliation_change};
use crate::effect::Effect;
use crate::hooks::LeaveReason;
use crate::input::Sender;
use crate::roles::{Role, RoleActor, check_role_change, default_role};
use crate::room_config::Whois;
use crate::status;
use crate::time::Timestamp;

/// Most items one `muc#admin` set may carry.
const MAX_ITEMS: usize = 256;

/// One requested change.
enum Change {
    Role {
        seq: u64,
        role: Role,
        reason: Option<String>,
    },
    Affiliation {
        bare: Jid,
        affiliation: Affiliation,
        reason: Option<String>,
    },
}

fn bad(text: &str) -> StanzaError {
    StanzaError::new(StanzaErrorCondition::BadRequest).with_text(text)
}

impl<I> Room<I> {
    pub(crate) fn admin_iq(
        &mut self,
        stanza: Element,
        sender: &Sender<I>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let items: Vec<&Element> = stanza
            .first_child()
            .map(|q| {
                q.children()
                    .filter(|c| c.is("item", ns::MUC_ADMIN))
                    .collect()
            })
            .unwrap_or_default();
        let result = if stanza.attr("type") == Some("get") {
            self.admin_get(&items, sender).map(|q| {
                out.push(iq_result(&stanza, &sender.jid, Some(q)));
            })
        } else {
            self.admin_set(&stanza, &items, sender, now, out)
        };
        if let Err(e) = result {
            reply_error(out, &stanza, &sender.jid, e);
        }
    }

    fn actor(&self, sender: &Sender<I>) -> (Option<u64>, RoleActor) {
        let seq = self.occupants.seq_by_real(&sender.jid);
        let role = seq
            .and_then(|s| self.occupants.get(s))
            .map_or(Role::None, |o| o.role);
        let actor = RoleActor {
            role,
            affiliation: self.sender_affiliation(sender),
            service_admin: self.is_service_admin(sender),
        };
        (seq, actor)
    }

    fn admin_get(&self, items: &[&Element], sender: &Sender<I>) -> Result<Element, StanzaError> {
        let [item] = items else {
            return Err(bad("a list request has exactly one item"));
        };
        let (_, actor) = self.actor(sender);
        let forbidden = || {
            StanzaError::new(StanzaErrorCondition::Forbidden).with_text("you may not see that list")
        };
        let mut q = Element::new("query", ns::MUC_ADMIN);
        match (item.attr("affiliation"), item.attr("role")) {
            (Some(a), None) => {
                let aff = Affiliation::parse(a)
                    .filter(|a| *a != Affiliation::None)
                    .ok_or_else(|| bad("unknown affiliation"))?;
                let members_may = aff == Affiliation::Member
                    && actor.affiliation >= Affiliation::Member
                    && self.config.whois == Whois::Anyone;
                if actor.affiliation < Affiliation::Admin && !members_may {
                    return Err(forbidden());
                }
                for (jid, entry) in self.affiliations.with(aff) {
                    let nick = self
                        .occupants
                        .iter()
                        .find(|o| &o.bare == jid)
                        .map(|o| o.nick.as_str());
                    let mut it = Element::new("item", ns::MUC_ADMIN)
                        .with_attr("affiliation", aff.as_str())
                        .with_attr("jid", jid.as_str())
                        .with_opt_attr("nick", nick.filter(|_| aff != Affiliation::Outcast));
                    if let Some(r) = &entry.reason {
                        it.push_child(Element::new("reason", ns::MUC_ADMIN).with_text(r.clone()));
                    }
                    q.push_child(it);
                }
            }
            (None, Some(r)) => {
                let role = Role::parse(r)
                    .filter(|r| *r != Role::None)
                    .ok_or_else(|| bad("unknown role"))?;
                if actor.role != Role::Moderator && actor.affiliation < Affiliation::Admin {
                    return Err(forbidden());
                }
                for o in self.occupants.iter().filter(|o| o.role == role) {
                    q.push_child(
                        Element::new("item", ns::MUC_ADMIN)
                            .with_attr("role", role.as_str())
                            .with_attr("nick", o.nick.clone())
                            .with_attr("affiliation", self.occupant_affiliation(o).as_str())
                            .with_attr("jid", o.real.as_str()),
                    );
                }
            }
            _ => return Err(bad("an item names either an affiliation or a role")),
        }
        Ok(q)
    }

    fn parse_change(&self, item: &Element) -> Result<Change, StanzaError> {
        let reason = item.child_text("reason", ns::MUC_ADMIN);
        let nick_seq = |nick: &str| {
            self.occupants.seq_by_nick(nick).ok_or_else(|| {
                StanzaError::new(StanzaErrorCondition::ItemNotFound)
                    .with_text("no occupant has that nickname")
            })
        };
        match (item.attr("affiliation"), item.attr("role")) {
            (Some(_), Some(_)) => Err(bad("an item cannot change both role and affiliation")),
            (None, Some(r)) => {
                let role = Role::parse(r).ok_or_else(|| bad("unknown role"))?;
                let nick = item
                    .attr("nick")
                    .ok_or_else(|| bad("a role change needs a nick"))?;
                Ok(Change::Role {
                    seq: nick_seq(nick)?,
                    role,
                    reason,
                })
            }
            (Some(a), None) => {
                let affiliation =
                    Affiliation::parse(a).ok_or_else(|| bad("unknown affiliation"))?;
                let bare = match (item.attr("jid"), item.attr("nick")) {
                    (Some(j), _) => Jid::parse(j)
                        .map_err(|_| StanzaError::new(StanzaErrorCondition::JidMalformed))?
                        .to_bare(),
                    (None, Some(n)) => {
                        let seq = nick_seq(n)?;
                        self.occupants
                            .get(seq)
                            .map(|o| o.bare.clone())
                            .ok_or_else(|| bad("gone"))?
                    }
                    (None, None) => return Err(bad("an affiliation change needs a jid")),
                };
                Ok(Change::Affiliation {
                    bare,
                    affiliation,
                    reason,
                })
            }
            (None, None) => Err(bad("an item needs a role or an affiliation")),
        }
    }

    /// The affiliation a target bare JID has now; `None` for service admins, who cannot be
    /// changed.
    fn target_affiliation(&self, bare: &Jid) -> Option<Affiliation> {
        let admin = self.service.is_admin(bare)
            || self
                .occupants
                .iter()
                .any(|o| &o.bare == bare && o.service_admin);
        (!admin).then(|| self.affiliations.get(bare))
    }

    fn admin_set(
        &mut self,
        stanza: &Element,
        items: &[&Element],
        sender: &Sender<I>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Result<(), StanzaError> {
        if items.is_empty() || items.len() > MAX_ITEMS {
            return Err(bad("a change request has between 1 and 256 items"));
        }
        let changes = items
            .iter()
            .map(|i| self.parse_change(i))
            .collect::<Result<Vec<_>, _>>()?;
        let (actor_seq, actor) = self.actor(sender);
        let actor_bare = sender.jid.to_bare();
        let mut owners = self.affiliations.owner_count();
        for c in &changes {
            match c {
                Change::Role { seq, role, .. } => {
                    let Some(o) = self.occupants.get(*seq) else {
                        continue;
                    };
                    check_role_change(
                        actor,
                        o.role,
                        self.occupant_affiliation(o),
                        *role,
                        Some(*seq) == actor_seq,
                    )
                    .map_err(StanzaError::new)?;
                }
                Change::Affiliation {
                    bare, affiliation, ..
                } => {
                    let current = self.target_affiliation(bare).ok_or_else(|| {
                        StanzaError::new(StanzaErrorCondition::NotAllowed)
                            .with_text("service administrators cannot be changed")
                    })?;
                    check_affiliation_change(
                        actor.affiliation,
                        current,
                        *affiliation,
                        *bare == actor_bare,
                        owners,
                    )
                    .map_err(StanzaError::new)?;
                    if current == Affiliation::Owner && *affiliation != Affiliation::Owner {
                        owners = owners.saturating_sub(1);
                    } else if current != Affiliation::Owner && *affiliation == Affiliation::Owner {
                        owners += 1;
                    }
                }
            }
        }
        let actor_nick = actor_seq
            .and_then(|s| self.occupants.get(s))
            .map(|o| o.nick.clone());
        let (mut targets, mut others) = (Vec::new(), Vec::new());
        let mut persist = false;
        for c in changes {
            match c {
                Change::Role {
                    seq,
                    role: Role::None,
                    reason,
                } => {
                    let mut r = Removal::new(LeaveReason::Kicked, &[status::KICKED]);
                    r.actor = actor_nick.clone();
                    r.text = reason;
                    self.remove_occupant(seq, r, now, &mut targets, &mut others);
                }
                Change::Role { seq, role, .. } => self.set_role(seq, role, &mut others),
                Change::Affiliation {
                    bare,
                    affiliation,
                    reason,
                } => {
                    let old = self.affiliations.get(&bare);
                    persist |= self
                        .affiliations
                        .set(bare.clone(), affiliation, reason.clone());
                    for seq in self.occupants.seqs_by_bare(&bare) {
                        let removal = if affiliation == Affiliation::Outcast {
                            Some(Removal::new(LeaveReason::Banned, &[status::BANNED]))
                        } else if self.config.members_only && affiliation < Affiliation::Member {
                            Some(Removal::new(
                                LeaveReason::AffiliationChanged,
                                &[status::AFFILIATION_REMOVED],
                            ))
                        } else {
                            None
                        };
                        match removal {
                            Some(mut r) => {
                                r.actor = actor_nick.clone();
                                r.text = reason.clone();
                                self.remove_occupant(seq, r, now, &mut targets, &mut others);
                            }
                            None => {
                                let Some(o) = self.occupants.get(seq) else {
                                    continue;
                                };
                                let role = if affiliation >= Affiliation::Admin {
                                    Role::Moderator
                                } else if o.role == Role::Moderator && old >= Affiliation::Admin {
                                    default_role(affiliation, self.config.moderated)
                                } else if affiliation >= Affiliation::Member
                                    && o.role == Role::Visitor
                                {
                                    Role::Participant
                                } else {
                                    o.role
                                };
                                self.set_role(seq, role, &mut others);
                            }
                        }
                    }
                }
            }
        }
        out.append(&mut targets);
        out.push(iq_result(stanza, &sender.jid, None));
        out.append(&mut others);
        if persist {
            self.persist(out);
        }
        self.after_departure(out);
        Ok(())
    }

    /// Sets a role and tells everyone (the occupant itself with 110).
    fn set_role(&mut self, seq: u64, role: Role, out: &mut Vec<Effect>) {
        let Some(o) = self.occupants.get_mut(seq) else {
            return;
        };
        o.role = role;
        if let Some(o) = self.occupants.get(seq) {
            self.broadcast_presence(out, o);
            self.self_presence(out, o, &[]);
        }
    }
}
