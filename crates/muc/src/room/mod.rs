//! The sans-io room state machine.
//!
//! One [`Room`] owns everything about one room. The driver feeds it [`RoomInput`]s with the
//! current time and carries out the returned [`Effect`]s in order. Each submodule handles one
//! kind of traffic: joins, presence, messages, IQs (room and forwarded), the `muc#admin` and
//! `muc#owner` protocols, and destruction.

mod admin;
mod destroy;
mod forward;
mod iq;
mod jicofo_lock;
mod join;
mod message;
mod occupants;
mod outbound;
mod owner_form;
mod presence;
mod removal;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use rookery_proto::{Element, Jid, StanzaError, StanzaErrorCondition};

use crate::affiliation::{Affiliation, AffiliationTable};
use crate::config::MucConfig;
use crate::effect::{CloseReason, Effect, RoomSummary};
use crate::form::FormField;
use crate::history::History;
use crate::hooks::HookChain;
use crate::input::{RoomInput, Sender};
use crate::record::{AffiliationRecord, RecordError, RoomRecord, SubjectRecord};
use crate::room_config::RoomConfig;
use crate::time::Timestamp;

pub use jicofo_lock::MEETING_ID_VAR;
pub use occupants::Occupant;

use forward::PendingIqs;
use jicofo_lock::{Gate, JicofoLock};
use occupants::Occupants;
use outbound::reply_error;

/// Where a room is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Not created yet: the next accepted join creates it.
    Fresh,
    /// Created, awaiting its owner's initial configuration (room locking).
    Locked,
    /// Usable.
    Open,
}

/// The current subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subject {
    text: String,
    nick: Option<String>,
    stamp: Timestamp,
}

/// One MUC room. `I` is the sender identity type the hooks see.
#[derive(Debug)]
pub struct Room<I> {
    jid: Jid,
    service: Arc<MucConfig>,
    hooks: Arc<HookChain<I>>,
    config: RoomConfig,
    lifecycle: Lifecycle,
    created: Timestamp,
    affiliations: AffiliationTable,
    occupants: Occupants,
    history: History,
    subject: Option<Subject>,
    pending: PendingIqs,
    info_fields: Vec<FormField>,
    jicofo: JicofoLock<I>,
}

impl<I> Room<I> {
    /// A room that does not exist yet: `jid` is its internal bare JID; the first accepted
    /// join creates it with the service's defaults.
    pub fn new(
        jid: Jid,
        service: Arc<MucConfig>,
        hooks: Arc<HookChain<I>>,
        now: Timestamp,
    ) -> Self {
        let config = RoomConfig::from_service(&service);
        let history = History::new(service.history_length, service.max_history_bytes);
        Room {
            jid: jid.to_bare(),
            service,
            hooks,
            config,
            lifecycle: Lifecycle::Fresh,
            created: now,
            affiliations: AffiliationTable::new(),
            occupants: Occupants::default(),
            history,
            subject: None,
            pending: PendingIqs::default(),
            info_fields: Vec::new(),
            jicofo: JicofoLock::default(),
        }
    }

    /// A persistent room loaded from its record (open, empty, no history).
    pub fn from_record(
        record: &RoomRecord,
        service: Arc<MucConfig>,
        hooks: Arc<HookChain<I>>,
    ) -> Result<Self, RecordError> {
        let jid = record.room_jid()?;
        let mut room = Room::new(
            jid,
            service,
            hooks,
            Timestamp::from_unix_millis(record.created_ms),
        );
        for (j, a, reason) in record.parsed_affiliations()? {
            room.affiliations.set(j, a, reason);
        }
        room.config = record.config.clone();
        room.subject = record.subject.as_ref().map(|s| Subject {
            text: s.text.clone(),
            nick: s.nick.clone(),
            stamp: Timestamp::from_unix_millis(s.stamp_ms),
        });
        room.info_fields = record.info_fields.clone();
        room.lifecycle = Lifecycle::Open;
        Ok(room)
    }

    /// Handles one input; returns the effects to carry out, in order.
    pub fn handle(&mut self, input: RoomInput<I>, now: Timestamp) -> Vec<Effect> {
        let mut out = Vec::new();
        self.expire_iqs(now, &mut out);
        self.expire_held(now, &mut out);
        match input {
            RoomInput::Stanza { stanza, sender } => self.gated(stanza, sender, now, &mut out),
            RoomInput::SessionGone { jid } => {
                self.forget_held(&jid);
                self.session_gone(&jid, now, &mut out);
            }
            RoomInput::Tick => {}
            RoomInput::Expel { jid, reason } => self.expel(&jid, reason, now, &mut out),
        }
        self.close_if_uncreated(&mut out);
        out
    }

    /// Shorthand for [`Room::handle`] with a stanza.
    pub fn handle_stanza(
        &mut self,
        stanza: Element,
        sender: &Sender<I>,
        now: Timestamp,
    ) -> Vec<Effect>
    where
        I: Clone,
    {
        self.handle(
            RoomInput::Stanza {
                stanza,
                sender: sender.clone(),
            },
            now,
        )
    }

    /// Passes a stanza through the jicofo lock, then to the room.
    fn gated(&mut self, stanza: Element, sender: Sender<I>, now: Timestamp, out: &mut Vec<Effect>) {
        match self.gate(stanza, sender, now, out) {
            Gate::Pass(stanza, sender) => self.on_stanza(stanza, &sender, now, out),
            Gate::AdminJoin(stanza, sender) => {
                self.on_stanza(stanza, &sender, now, out);
                self.after_admin_join(&sender.jid, now, out);
            }
            Gate::Done => {}
        }
    }

    /// A room still uncreated after an input (a refused creating join, or stray traffic)
    /// tells its driver to drop it, once.
    fn close_if_uncreated(&mut self, out: &mut Vec<Effect>) {
        let closed = out.iter().any(|e| matches!(e, Effect::Closed { .. }));
        if self.lifecycle == Lifecycle::Fresh
            && self.occupants.is_empty()
            && self.jicofo.is_empty()
            && !closed
        {
            out.push(Effect::Closed {
                room: self.jid.clone(),
                reason: CloseReason::NotCreated,
            });
        }
    }

    /// The internal bare room JID.
    pub fn jid(&self) -> &Jid {
        &self.jid
    }

    /// The room's configuration.
    pub fn config(&self) -> &RoomConfig {
        &self.config
    }

    /// Where the room is in its life.
    pub fn lifecycle(&self) -> Lifecycle {
        self.lifecycle
    }

    /// Number of occupants.
    pub fn occupant_count(&self) -> usize {
        self.occupants.len()
    }

    /// True when no one is in the room.
    pub fn is_empty(&self) -> bool {
        self.occupants.is_empty()
    }

    /// The occupants in join order.
    pub fn occupants(&self) -> impl Iterator<Item = &Occupant> {
        self.occupants.iter()
    }

    /// The stored affiliation of a bare JID (service admins are not stored).
    pub fn affiliation(&self, jid: &Jid) -> Affiliation {
        self.affiliations.get(jid)
    }

    /// Number of forwarded IQs awaiting an answer.
    pub fn pending_iqs(&self) -> usize {
        self.pending.len()
    }

    /// Messages held for history.
    pub fn history_len(&self) -> usize {
        self.history.len()
    }

    /// The directory entry of this room.
    pub fn summary(&self) -> RoomSummary {
        RoomSummary {
            room: self.jid.clone(),
            name: self.config.name.clone(),
            public: self.config.public,
            locked: self.lifecycle != Lifecycle::Open,
        }
    }

    /// The persistence record of this room (whether or not it is persistent).
    pub fn to_record(&self) -> RoomRecord {
        RoomRecord {
            room: self.jid.to_string(),
            config: self.config.clone(),
            affiliations: self
                .affiliations
                .iter()
                .map(|(j, e)| AffiliationRecord {
                    jid: j.to_string(),
                    affiliation: e.affiliation,
                    reason: e.reason.clone(),
                })
                .collect(),
            subject: self.subject.as_ref().map(|s| SubjectRecord {
                text: s.text.clone(),
                nick: s.nick.clone(),
                stamp_ms: s.stamp.unix_millis(),
            }),
            info_fields: self.info_fields.clone(),
            created_ms: self.created.unix_millis(),
        }
    }

    fn on_stanza(
        &mut self,
        stanza: Element,
        sender: &Sender<I>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let to = match stanza.attr("to").map(Jid::parse) {
            Some(Ok(j)) if j.node().is_some() => j,
            _ => {
                let err = StanzaError::new(StanzaErrorCondition::JidMalformed);
                reply_error(out, &stanza, &sender.jid, err);
                return;
            }
        };
        let view = to.to_bare();
        let nick = to.resource().map(str::to_owned);
        if self.lifecycle == Lifecycle::Fresh
            && !(stanza.name == "presence" && stanza.attr("type").is_none())
        {
            // The room does not exist (yet, or any more): only a join may create it.
            let answerable = matches!(
                (stanza.name.as_str(), stanza.attr("type")),
                ("message", t) if t != Some("error")
            ) || matches!(
                (stanza.name.as_str(), stanza.attr("type")),
                ("iq", Some("get" | "set"))
            );
            if answerable {
                let err =
                    StanzaError::new(StanzaErrorCondition::ItemNotFound).with_text("no such room");
                reply_error(out, &stanza, &sender.jid, err);
            }
            return;
        }
        match stanza.name.as_str() {
            "presence" => self.on_presence(stanza, sender, view, nick, now, out),
            "message" => self.on_message(stanza, sender, view, nick, now, out),
            "iq" => self.on_iq(stanza, sender, view, nick, now, out),
            _ => {}
        }
    }

    /// The effective affiliation of a sender (service admins are owners).
    pub(crate) fn sender_affiliation(&self, sender: &Sender<I>) -> Affiliation {
        if self.is_service_admin(sender) {
            Affiliation::Owner
        } else {
            self.affiliations.get(&sender.jid)
        }
    }

    pub(crate) fn is_service_admin(&self, sender: &Sender<I>) -> bool {
        sender.is_admin || self.service.is_admin(&sender.jid)
    }

    /// Persist effect when the room is persistent and open.
    pub(crate) fn persist(&self, out: &mut Vec<Effect>) {
        if self.config.persistent && self.lifecycle == Lifecycle::Open {
            out.push(Effect::Persist(Box::new(self.to_record())));
        }
    }

    /// After someone left: a temporary (or still locked) room closes when empty, a
    /// persistent one goes idle.
    pub(crate) fn after_departure(&mut self, out: &mut Vec<Effect>) {
        if !self.occupants.is_empty() || self.lifecycle == Lifecycle::Fresh {
            return;
        }
        if self.config.persistent && self.lifecycle == Lifecycle::Open {
            out.push(Effect::Idle {
                room: self.jid.clone(),
            });
        } else {
            self.close(CloseReason::Empty, out);
        }
    }

    /// Emits `Closed` and resets to a fresh, uncreated room.
    pub(crate) fn close(&mut self, reason: CloseReason, out: &mut Vec<Effect>) {
        out.push(Effect::Closed {
            room: self.jid.clone(),
            reason,
        });
        let fresh = Room::new(
            self.jid.clone(),
            self.service.clone(),
            self.hooks.clone(),
            self.created,
        );
        *self = fresh;
    }

    pub(crate) fn iq_timeout(&self) -> Duration {
        Duration::from_secs(self.service.iq_timeout_secs)
    }
}
