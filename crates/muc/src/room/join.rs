//! Entering a room, and creating it by entering (XEP-0045 §7.2, §10.1).
//!
//! Checks run in this order and the first failure sends exactly one error presence with
//! nothing else changed: nick, size, creation rights and pre-create hooks (new room) or the
//! lock (existing room), pre-join hooks, ban, membership, password, nick conflict, capacity.
//! On success the joiner receives, in order: the other occupants' presences, its own
//! presence (110, plus 100 in non-anonymous rooms and 201 when it created the room), the
//! history, and the subject.

use rookery_proto::{Element, Jid, StanzaError, StanzaErrorCondition, ns};

use super::jicofo_lock::MEETING_ID_VAR;
use super::occupants::{Occupant, sanitize_presence};
use super::outbound::{reply_error, send};
use super::{Lifecycle, Room};
use crate::affiliation::Affiliation;
use crate::effect::Effect;
use crate::history::HistoryRequest;
use crate::hooks::{Decision, JoinGrant, OccupantInfo, PreCreate, PreJoin, RoomSetup};
use crate::input::Sender;
use crate::limits::{RateLimiter, approx_size};
use crate::roles::{Role, default_role};
use crate::room_config::Whois;
use crate::status;
use crate::time::Timestamp;

/// Constant-time comparison, so the room password cannot be guessed byte by byte.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i % b.len().max(1)).copied().unwrap_or(0));
    }
    diff == 0
}

fn err(condition: StanzaErrorCondition, text: &str) -> StanzaError {
    StanzaError::new(condition).with_text(text)
}

impl<I> Room<I> {
    /// Checks a requested nick: not blank, not too long.
    pub(crate) fn check_nick(&self, nick: &str) -> Result<(), StanzaError> {
        if nick.trim().is_empty() {
            return Err(err(
                StanzaErrorCondition::JidMalformed,
                "the nickname is empty",
            ));
        }
        if nick.chars().count() > self.service.max_nick_length {
            return Err(err(
                StanzaErrorCondition::NotAcceptable,
                "the nickname is too long",
            ));
        }
        Ok(())
    }

    /// Refuses a join with one error presence; a room that was being created stays uncreated
    /// (and [`Room::handle`] then reports it closed).
    fn refuse(
        &mut self,
        stanza: &Element,
        sender: &Sender<I>,
        e: StanzaError,
        out: &mut Vec<Effect>,
    ) {
        reply_error(out, stanza, &sender.jid, e);
    }

    /// Handles a join presence from a non-occupant.
    pub(crate) fn join(
        &mut self,
        stanza: Element,
        sender: &Sender<I>,
        view: Jid,
        nick: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if let Err(e) = self.check_nick(nick) {
            return self.refuse(&stanza, sender, e, out);
        }
        if approx_size(&stanza) > self.service.max_presence_bytes {
            let e = err(
                StanzaErrorCondition::PolicyViolation,
                "the presence is too large",
            );
            return self.refuse(&stanza, sender, e, out);
        }
        let creating = self.lifecycle == Lifecycle::Fresh;
        let service_admin = self.is_service_admin(sender);
        let mut setup = None;
        if creating {
            if self.service.restrict_room_creation && !service_admin {
                let e = err(
                    StanzaErrorCondition::NotAllowed,
                    "room creation is restricted",
                )
                .with_extra(Element::new("room-does-not-exist", ns::JITMEET));
                return self.refuse(&stanza, sender, e, out);
            }
            let mut s = RoomSetup {
                config: self.config.clone(),
                info_fields: Vec::new(),
            };
            let ev = PreCreate {
                room: &self.jid,
                view: &view,
                nick,
                sender,
                stanza: &stanza,
            };
            if let Decision::Deny(e) = self.hooks.pre_create(&ev, &mut s) {
                return self.refuse(&stanza, sender, e, out);
            }
            setup = Some(s);
        } else if self.lifecycle == Lifecycle::Locked
            && self.sender_affiliation(sender) < Affiliation::Owner
        {
            let e = err(
                StanzaErrorCondition::ItemNotFound,
                "the room is locked until configured",
            );
            return self.refuse(&stanza, sender, e, out);
        }
        let current = if creating {
            Affiliation::Owner
        } else {
            self.sender_affiliation(sender)
        };
        let mut grant = JoinGrant::default();
        let decision = {
            let ev = PreJoin {
                room: &self.jid,
                view: &view,
                nick,
                sender,
                stanza: &stanza,
                affiliation: current,
                creating,
                config: setup.as_ref().map_or(&self.config, |s| &s.config),
            };
            self.hooks.pre_join(&ev, &mut grant)
        };
        if let Decision::Deny(e) = decision {
            return self.refuse(&stanza, sender, e, out);
        }
        let affiliation = if creating || service_admin {
            Affiliation::Owner
        } else {
            grant.affiliation.unwrap_or(current)
        };
        if !creating && let Err(e) = self.admission(&stanza, nick, affiliation) {
            return self.refuse(&stanza, sender, e, out);
        }

        // Commit: from here on the join succeeds.
        let bare = sender.jid.to_bare();
        let muc_x = stanza.get_child("x", ns::MUC).cloned();
        let mut persist = false;
        if let Some(s) = setup {
            self.config = s.config;
            self.info_fields = s.info_fields;
            if !self.info_fields.iter().any(|f| f.var == MEETING_ID_VAR)
                && let Some(id) = self.new_meeting_id()
            {
                self.info_fields.push(id);
            }
            self.created = now;
            self.lifecycle = if self.service.muc_room_locking && muc_x.is_some() {
                Lifecycle::Locked
            } else {
                Lifecycle::Open
            };
            self.affiliations.set(bare, Affiliation::Owner, None);
            persist = true;
        } else if !service_admin && affiliation != current {
            persist = self.affiliations.set(bare, affiliation, None);
        }
        let role = grant
            .role
            .filter(|r| *r != Role::None)
            .unwrap_or_else(|| default_role(affiliation, self.config.moderated));
        let seq = self.occupants.insert(Occupant::new(
            nick.to_owned(),
            sender.jid.clone(),
            view,
            role,
            service_admin,
            sanitize_presence(stanza),
            RateLimiter::new(self.service.presence_burst, now),
        ));
        let mut codes = Vec::new();
        if creating {
            codes.push(status::ROOM_CREATED);
        }
        let history = HistoryRequest::from_join(muc_x.as_ref());
        self.send_join_sequence(seq, &codes, &history, now, out);
        if let Some(o) = self.occupants.get(seq) {
            let info = OccupantInfo {
                room: &self.jid,
                view: &o.view,
                nick: &o.nick,
                real: &o.real,
                role: o.role,
                affiliation: self.occupant_affiliation(o),
                presence: o.presence(),
            };
            self.hooks.joined(&info, out);
        }
        if creating {
            out.push(Effect::Summary(self.summary()));
        }
        if persist {
            self.persist(out);
        }
    }

    /// The room's own admission rules for an existing room.
    fn admission(
        &self,
        stanza: &Element,
        nick: &str,
        affiliation: Affiliation,
    ) -> Result<(), StanzaError> {
        let c = &self.config;
        if affiliation == Affiliation::Outcast {
            return Err(err(
                StanzaErrorCondition::Forbidden,
                "you are banned from this room",
            ));
        }
        if c.members_only && affiliation < Affiliation::Member {
            return Err(err(
                StanzaErrorCondition::RegistrationRequired,
                "the room is members-only",
            ));
        }
        if c.password_required() && affiliation < Affiliation::Owner {
            let given = stanza
                .get_child("x", ns::MUC)
                .and_then(|x| x.child_text("password", ns::MUC));
            let ok = match (given.as_deref(), c.password.as_deref()) {
                (Some(g), Some(p)) => same_secret(g, p),
                _ => false,
            };
            if !ok {
                return Err(err(
                    StanzaErrorCondition::NotAuthorized,
                    "a password is required",
                ));
            }
        }
        if self.occupants.seq_by_nick(nick).is_some() {
            return Err(err(
                StanzaErrorCondition::Conflict,
                "that nickname is in use",
            ));
        }
        if let Some(cap) = self.service.occupant_cap(c.max_users) {
            let n = u32::try_from(self.occupants.len()).unwrap_or(u32::MAX);
            if n >= cap && affiliation < Affiliation::Admin {
                return Err(
                    err(StanzaErrorCondition::ServiceUnavailable, "the room is full")
                        .with_type(rookery_proto::ErrorType::Wait),
                );
            }
        }
        Ok(())
    }

    /// Sends occupant `seq` everything a joiner gets, in XEP-0045 order, and its presence to
    /// the others. Also used to resynchronise an occupant that re-sends a join.
    pub(crate) fn send_join_sequence(
        &self,
        seq: u64,
        codes: &[u16],
        history: &HistoryRequest,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(me) = self.occupants.get(seq) else {
            return;
        };
        let sees = self.sees_jids(me);
        for o in self.occupants.iter() {
            if o.seq != seq && self.config.broadcasts(o.role) {
                out.push(Effect::Broadcast {
                    stanza: self.shown_presence(o, &me.view, sees),
                    to: vec![me.real.clone()],
                });
            }
        }
        let mut own = codes.to_vec();
        if self.config.whois == Whois::Anyone {
            own.push(status::NON_ANONYMOUS);
        }
        self.self_presence(out, me, &own);
        for e in self.history.select(history, now) {
            send(out, &me.real, e.replay(me.view.as_str()));
        }
        send(out, &me.real, self.subject_message(&me.view));
        // The others learn of the newcomer after everything it gets: each recipient's order
        // is the same either way (nothing orders one recipient's stanzas against another's),
        // and the newcomer's join completes without waiting behind the fan-out.
        self.broadcast_presence(out, me);
    }

    /// The subject as sent to a joiner: from the occupant who set it (or the room), with a
    /// delay stamp; an empty `<subject/>` when none was ever set.
    pub(crate) fn subject_message(&self, view: &Jid) -> Element {
        let mut m = Element::new("message", ns::CLIENT).with_attr("type", "groupchat");
        match &self.subject {
            Some(s) => {
                let from = match &s.nick {
                    Some(n) => format!("{view}/{n}"),
                    None => view.to_string(),
                };
                m.set_attr("from", from);
                m.push_child(Element::new("subject", ns::CLIENT).with_text(s.text.clone()));
                m.push_child(
                    Element::new("delay", ns::DELAY)
                        .with_attr("from", view.as_str())
                        .with_attr("stamp", s.stamp.to_xep0082()),
                );
            }
            None => {
                m.set_attr("from", view.as_str());
                m.push_child(Element::new("subject", ns::CLIENT));
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secret_comparison() {
        assert!(same_secret("abc", "abc"));
        assert!(same_secret("", ""));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert!(!same_secret("", "a"));
        assert!(!same_secret("a", ""));
    }
}
