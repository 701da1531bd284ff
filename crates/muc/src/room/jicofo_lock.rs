//! Jitsi's jicofo lock and meeting id (`mod_muc_meeting_id`).
//!
//! With `jicofo_lock`, a room is locked for ordinary users until a service admin (the
//! focus, jicofo) has joined it: their joins are held in arrival order (not refused), and
//! released, in that order, right after the admin's join succeeds. The lock opens once per
//! room life. A held join that waits longer than `jicofo_lock_timeout_seconds` is refused
//! with `service-unavailable` (type `wait`) and a text saying the focus did not come. Joins
//! that would be refused anyway (bad nick, too large, restricted creation, a hook's denial)
//! are refused at once instead of being held. Jicofo's health-check rooms are exempt from
//! both the lock and the meeting id.

use std::collections::VecDeque;
use std::time::Duration;

use rookery_proto::{Element, ErrorType, Jid, StanzaError, StanzaErrorCondition, ns};

use super::outbound::reply_error;
use super::{Lifecycle, Room};
use crate::effect::Effect;
use crate::form::FormField;
use crate::hooks::{Decision, JoinGrant, PreCreate, PreJoin, RoomSetup};
use crate::input::Sender;
use crate::limits::approx_size;
use crate::time::Timestamp;

/// The `muc#roominfo` field that carries the meeting id.
pub const MEETING_ID_VAR: &str = "muc#roominfo_meetingId";

/// Held joins per room before further ones are refused (Prosody's queue size).
pub(crate) const MAX_HELD: usize = 500;

/// Jicofo's health-check rooms get neither a meeting id nor the lock.
fn is_health_check_room(room: &Jid) -> bool {
    room.node()
        .is_some_and(|n| n.starts_with("__jicofo-health-check"))
}

/// A fresh meeting id field.
pub(crate) fn meeting_id_field(id: String) -> FormField {
    FormField::new(MEETING_ID_VAR, "text-single", id).with_label("The meeting unique id.")
}

/// One join waiting for the focus.
#[derive(Debug)]
pub(crate) struct HeldJoin<I> {
    stanza: Element,
    sender: Sender<I>,
    until: Timestamp,
}

/// The lock state of one room life.
#[derive(Debug)]
pub(crate) struct JicofoLock<I> {
    /// An admin has joined: nothing is held any more.
    open: bool,
    held: VecDeque<HeldJoin<I>>,
}

impl<I> Default for JicofoLock<I> {
    fn default() -> Self {
        JicofoLock {
            open: false,
            held: VecDeque::new(),
        }
    }
}

impl<I> JicofoLock<I> {
    /// Number of held joins.
    pub(crate) fn len(&self) -> usize {
        self.held.len()
    }

    /// True when nothing is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

/// What the lock says about one input stanza.
pub(crate) enum Gate<I> {
    /// Not the lock's business: process it normally.
    Pass(Element, Sender<I>),
    /// An admin's join while the lock is closed: process it, then release.
    AdminJoin(Element, Sender<I>),
    /// Held or refused: nothing more to do.
    Done,
}

impl<I> Room<I> {
    /// True when the lock applies to this room.
    fn lock_applies(&self) -> bool {
        self.service.jicofo_lock && !self.jicofo.open && !is_health_check_room(&self.jid)
    }

    /// The meeting id field for a room being created, when the service wants one.
    pub(crate) fn new_meeting_id(&self) -> Option<FormField> {
        (self.service.jitsi_meeting_id && !is_health_check_room(&self.jid))
            .then(|| meeting_id_field(uuid::Uuid::new_v4().to_string()))
    }

    /// The room's meeting id, if it has one.
    pub fn meeting_id(&self) -> Option<&str> {
        self.info_fields
            .iter()
            .find(|f| f.var == MEETING_ID_VAR)
            .and_then(|f| f.values.first())
            .map(String::as_str)
    }

    /// Joins currently held for the focus.
    pub fn held_joins(&self) -> usize {
        self.jicofo.len()
    }

    /// Decides whether `stanza` is held, refused, or processed now.
    pub(crate) fn gate(
        &mut self,
        stanza: Element,
        sender: Sender<I>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Gate<I> {
        if !self.lock_applies() || stanza.name != "presence" {
            return Gate::Pass(stanza, sender);
        }
        match stanza.attr("type") {
            Some("unavailable") => {
                self.jicofo.held.retain(|h| h.sender.jid != sender.jid);
                return Gate::Pass(stanza, sender);
            }
            Some(_) => return Gate::Pass(stanza, sender),
            None => {}
        }
        let nick = stanza
            .attr("to")
            .and_then(|t| Jid::parse(t).ok())
            .and_then(|j| j.resource().map(str::to_owned));
        let Some(nick) = nick else {
            return Gate::Pass(stanza, sender);
        };
        if self.occupants.seq_by_real(&sender.jid).is_some() {
            return Gate::Pass(stanza, sender);
        }
        if self.is_service_admin(&sender) {
            return Gate::AdminJoin(stanza, sender);
        }
        if let Err(e) = self.precheck(&stanza, &sender, &nick) {
            reply_error(out, &stanza, &sender.jid, e);
            return Gate::Done;
        }
        // A repeated join from the same session replaces its held one, keeping its place.
        if let Some(h) = self
            .jicofo
            .held
            .iter_mut()
            .find(|h| h.sender.jid == sender.jid)
        {
            h.stanza = stanza;
            return Gate::Done;
        }
        if self.jicofo.held.len() >= MAX_HELD {
            let e = StanzaError::new(StanzaErrorCondition::ServiceUnavailable)
                .with_type(ErrorType::Wait)
                .with_text("too many participants are waiting for the conference focus");
            reply_error(out, &stanza, &sender.jid, e);
            return Gate::Done;
        }
        let until = now.plus(Duration::from_secs(
            self.service.jicofo_lock_timeout_seconds,
        ));
        self.jicofo.held.push_back(HeldJoin {
            stanza,
            sender,
            until,
        });
        Gate::Done
    }

    /// The checks a join would fail anyway, run before holding it so a doomed join is
    /// refused at once. Hooks are asked with throw-away setup and grant.
    fn precheck(
        &self,
        stanza: &Element,
        sender: &Sender<I>,
        nick: &str,
    ) -> Result<(), StanzaError> {
        self.check_nick(nick)?;
        if approx_size(stanza) > self.service.max_presence_bytes {
            return Err(StanzaError::new(StanzaErrorCondition::PolicyViolation)
                .with_text("the presence is too large"));
        }
        let creating = self.lifecycle == Lifecycle::Fresh;
        let view = stanza
            .attr("to")
            .and_then(|t| Jid::parse(t).ok())
            .map_or_else(|| self.jid.clone(), |j| j.to_bare());
        if creating {
            if self.service.restrict_room_creation {
                return Err(StanzaError::new(StanzaErrorCondition::NotAllowed)
                    .with_text("room creation is restricted")
                    .with_extra(Element::new("room-does-not-exist", ns::JITMEET)));
            }
            let mut setup = RoomSetup {
                config: self.config.clone(),
                info_fields: Vec::new(),
            };
            let ev = PreCreate {
                room: &self.jid,
                view: &view,
                nick,
                sender,
                stanza,
            };
            if let Decision::Deny(e) = self.hooks.pre_create(&ev, &mut setup) {
                return Err(e);
            }
        }
        let ev = PreJoin {
            room: &self.jid,
            view: &view,
            nick,
            sender,
            stanza,
            affiliation: self.sender_affiliation(sender),
            creating,
            config: &self.config,
        };
        match self.hooks.pre_join(&ev, &mut JoinGrant::default()) {
            Decision::Deny(e) => Err(e),
            _ => Ok(()),
        }
    }

    /// After an admin's join was processed: if it is now an occupant, open the lock and
    /// process the held joins in order.
    pub(crate) fn after_admin_join(&mut self, admin: &Jid, now: Timestamp, out: &mut Vec<Effect>) {
        if self.occupants.seq_by_real(admin).is_none() {
            return;
        }
        self.jicofo.open = true;
        let held = std::mem::take(&mut self.jicofo.held);
        for h in held {
            self.on_stanza(h.stanza, &h.sender, now, out);
        }
    }

    /// Refuses held joins whose wait is over.
    pub(crate) fn expire_held(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        while let Some(h) = self.jicofo.held.front() {
            if h.until > now {
                // Deadlines are in arrival order, so the rest are later.
                return;
            }
            let Some(h) = self.jicofo.held.pop_front() else {
                return;
            };
            let e = StanzaError::new(StanzaErrorCondition::ServiceUnavailable)
                .with_type(ErrorType::Wait)
                .with_text("the conference focus did not join the room in time; try again");
            reply_error(out, &h.stanza, &h.sender.jid, e);
        }
    }

    /// A session ended: drop its held joins.
    pub(crate) fn forget_held(&mut self, jid: &Jid) {
        self.jicofo.held.retain(|h| &h.sender.jid != jid);
    }
}
