//! Typed extension points, called in priority order; the first decisive answer wins.
//!
//! These are the places Jitsi's Prosody modules hook: room pre-create and occupant pre-join
//! (token room verification, affiliation from the token), occupant joined/left, and extra
//! disco#info fields (the meeting id). A refusal from a pre-hook stops the create or join
//! atomically: the joiner receives exactly one error presence and nothing else changes.

use std::fmt;
use std::sync::Arc;

use rookery_proto::{Element, Jid, StanzaError};

use crate::affiliation::Affiliation;
use crate::effect::Effect;
use crate::form::FormField;
use crate::input::Sender;
use crate::roles::Role;
use crate::room_config::RoomConfig;

/// A pre-hook's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No opinion: ask the next hook (if every hook passes, the action is allowed).
    Continue,
    /// Allow now; later hooks are not asked.
    Allow,
    /// Refuse with this error (sent as the one error presence); later hooks are not asked.
    Deny(StanzaError),
}

/// A user is about to create a room by joining it.
#[derive(Debug)]
pub struct PreCreate<'a, I> {
    /// The room's internal bare JID.
    pub room: &'a Jid,
    /// The room's bare JID as the creator addressed it.
    pub view: &'a Jid,
    /// The creator's requested nick.
    pub nick: &'a str,
    /// The creator.
    pub sender: &'a Sender<I>,
    /// The join presence.
    pub stanza: &'a Element,
}

/// What a pre-create hook may set up for the new room.
#[derive(Debug, Clone)]
pub struct RoomSetup {
    /// The initial configuration (starts from the service defaults).
    pub config: RoomConfig,
    /// Extra `muc#roominfo` fields fixed for the room's lifetime (e.g. a meeting id);
    /// persisted with the room.
    pub info_fields: Vec<FormField>,
}

/// A user is about to enter a room (also called when the join creates it).
#[derive(Debug)]
pub struct PreJoin<'a, I> {
    /// The room's internal bare JID.
    pub room: &'a Jid,
    /// The room's bare JID as the joiner addressed it.
    pub view: &'a Jid,
    /// The requested nick.
    pub nick: &'a str,
    /// The joiner.
    pub sender: &'a Sender<I>,
    /// The join presence.
    pub stanza: &'a Element,
    /// The joiner's current effective affiliation.
    pub affiliation: Affiliation,
    /// This join creates the room.
    pub creating: bool,
    /// The room's configuration.
    pub config: &'a RoomConfig,
}

/// What a pre-join hook may grant the joiner (applied only if the join succeeds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JoinGrant {
    /// Set this affiliation (stored like an admin's change; e.g. owner from a token).
    pub affiliation: Option<Affiliation>,
    /// Use this role instead of the default for the affiliation.
    pub role: Option<Role>,
}

/// An occupant, as the joined/left hooks see it.
#[derive(Debug)]
pub struct OccupantInfo<'a> {
    /// The room's internal bare JID.
    pub room: &'a Jid,
    /// The room's bare JID as this occupant addresses it.
    pub view: &'a Jid,
    /// The occupant's nick.
    pub nick: &'a str,
    /// The occupant's real full JID.
    pub real: &'a Jid,
    /// Its role (before removal, for `left`).
    pub role: Role,
    /// Its effective affiliation.
    pub affiliation: Affiliation,
    /// Its last presence as it sent it (muc elements removed).
    pub presence: &'a Element,
}

/// Why an occupant left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaveReason {
    /// It sent unavailable presence.
    Left,
    /// Its session ended.
    SessionGone,
    /// A moderator kicked it.
    Kicked,
    /// It was banned.
    Banned,
    /// It lost the affiliation a members-only room needs.
    AffiliationChanged,
    /// The room became members-only.
    MembersOnly,
    /// Its session bounced a stanza with a delivery error.
    DeliveryError,
    /// The room was destroyed.
    Destroyed,
}

/// The room as the disco hook sees it.
#[derive(Debug)]
pub struct RoomInfo<'a> {
    /// The room's internal bare JID.
    pub room: &'a Jid,
    /// Its configuration.
    pub config: &'a RoomConfig,
    /// Current number of occupants.
    pub occupants: usize,
}

/// One hook implementation; override the methods you need. `I` is the sender identity type.
pub trait MucHooks<I>: Send + Sync {
    /// Before a room is created by a join. May adjust the initial setup.
    fn pre_create(&self, _event: &PreCreate<'_, I>, _setup: &mut RoomSetup) -> Decision {
        Decision::Continue
    }

    /// Before an occupant enters (after nick validation, before the room's own checks). May
    /// grant an affiliation or role.
    fn pre_join(&self, _event: &PreJoin<'_, I>, _grant: &mut JoinGrant) -> Decision {
        Decision::Continue
    }

    /// After an occupant entered and received its join stanzas; may emit more effects.
    fn joined(&self, _occupant: &OccupantInfo<'_>, _out: &mut Vec<Effect>) {}

    /// After an occupant left; may emit more effects.
    fn left(&self, _occupant: &OccupantInfo<'_>, _reason: LeaveReason, _out: &mut Vec<Effect>) {}

    /// Extra fields for the room's `muc#roominfo` form.
    fn disco_info_fields(&self, _room: &RoomInfo<'_>, _fields: &mut Vec<FormField>) {}
}

/// A hook that does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl<I> MucHooks<I> for NoHooks {}

/// Hooks in priority order (higher first; equal priorities keep insertion order).
pub struct HookChain<I> {
    hooks: Vec<(i32, Arc<dyn MucHooks<I>>)>,
}

impl<I> fmt::Debug for HookChain<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prios: Vec<i32> = self.hooks.iter().map(|(p, _)| *p).collect();
        f.debug_struct("HookChain")
            .field("priorities", &prios)
            .finish()
    }
}

impl<I> Default for HookChain<I> {
    fn default() -> Self {
        HookChain { hooks: Vec::new() }
    }
}

fn decide(mut answers: impl Iterator<Item = Decision>) -> Decision {
    answers
        .find(|d| !matches!(d, Decision::Continue))
        .unwrap_or(Decision::Allow)
}

impl<I> HookChain<I> {
    /// An empty chain (everything allowed).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a hook at `priority`.
    pub fn add(&mut self, priority: i32, hook: Arc<dyn MucHooks<I>>) {
        let pos = self
            .hooks
            .iter()
            .position(|(p, _)| *p < priority)
            .unwrap_or(self.hooks.len());
        self.hooks.insert(pos, (priority, hook));
    }

    /// Builder form of [`HookChain::add`].
    pub fn with(mut self, priority: i32, hook: Arc<dyn MucHooks<I>>) -> Self {
        self.add(priority, hook);
        self
    }

    /// Number of hooks.
    pub fn len(&self) -> usize {
        self.hooks.len()
    }

    /// True when there are no hooks.
    pub fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }

    /// Runs `pre_create` until a decisive answer; `Allow` when all continue.
    pub fn pre_create(&self, event: &PreCreate<'_, I>, setup: &mut RoomSetup) -> Decision {
        decide(self.hooks.iter().map(|(_, h)| h.pre_create(event, setup)))
    }

    /// Runs `pre_join` until a decisive answer; `Allow` when all continue.
    pub fn pre_join(&self, event: &PreJoin<'_, I>, grant: &mut JoinGrant) -> Decision {
        decide(self.hooks.iter().map(|(_, h)| h.pre_join(event, grant)))
    }

    /// Runs every `joined` hook.
    pub fn joined(&self, occupant: &OccupantInfo<'_>, out: &mut Vec<Effect>) {
        for (_, h) in &self.hooks {
            h.joined(occupant, out);
        }
    }

    /// Runs every `left` hook.
    pub fn left(&self, occupant: &OccupantInfo<'_>, reason: LeaveReason, out: &mut Vec<Effect>) {
        for (_, h) in &self.hooks {
            h.left(occupant, reason, out);
        }
    }

    /// Collects every hook's extra disco fields.
    pub fn disco_info_fields(&self, room: &RoomInfo<'_>, fields: &mut Vec<FormField>) {
        for (_, h) in &self.hooks {
            h.disco_info_fields(room, fields);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::StanzaErrorCondition;
    use std::sync::Mutex;

    struct Fixed {
        name: &'static str,
        answer: Decision,
        log: Arc<Mutex<Vec<&'static str>>>,
    }

    impl MucHooks<()> for Fixed {
        fn pre_join(&self, _e: &PreJoin<'_, ()>, grant: &mut JoinGrant) -> Decision {
            self.log.lock().unwrap().push(self.name);
            if self.name == "granter" {
                grant.affiliation = Some(Affiliation::Owner);
            }
            self.answer.clone()
        }
    }

    fn chain(
        specs: &[(i32, &'static str, Decision)],
    ) -> (HookChain<()>, Arc<Mutex<Vec<&'static str>>>) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut c = HookChain::new();
        for (p, name, answer) in specs {
            c.add(
                *p,
                Arc::new(Fixed {
                    name,
                    answer: answer.clone(),
                    log: log.clone(),
                }),
            );
        }
        (c, log)
    }

    fn run(c: &HookChain<()>) -> (Decision, JoinGrant) {
        let room = Jid::parse("r@muc").unwrap();
        let sender = Sender::plain(Jid::parse("u@h/r").unwrap(), false);
        let stanza = Element::new("presence", "jabber:client");
        let config = RoomConfig::default();
        let ev = PreJoin {
            room: &room,
            view: &room,
            nick: "n",
            sender: &sender,
            stanza: &stanza,
            affiliation: Affiliation::None,
            creating: false,
            config: &config,
        };
        let mut grant = JoinGrant::default();
        let d = c.pre_join(&ev, &mut grant);
        (d, grant)
    }

    #[test]
    fn priority_order_and_first_decisive_answer() {
        let deny = Decision::Deny(StanzaError::new(StanzaErrorCondition::NotAllowed));
        let (c, log) = chain(&[
            (1, "low", deny.clone()),
            (10, "granter", Decision::Continue),
            (5, "mid", Decision::Allow),
            (5, "mid2", deny.clone()),
        ]);
        let (d, grant) = run(&c);
        assert_eq!(d, Decision::Allow);
        assert_eq!(grant.affiliation, Some(Affiliation::Owner));
        assert_eq!(*log.lock().unwrap(), ["granter", "mid"]);
    }

    #[test]
    fn deny_stops_and_empty_chain_allows() {
        let deny = Decision::Deny(StanzaError::new(StanzaErrorCondition::NotAllowed));
        let (c, log) = chain(&[
            (3, "a", Decision::Continue),
            (2, "b", deny.clone()),
            (1, "c", Decision::Allow),
        ]);
        assert_eq!(run(&c).0, deny);
        assert_eq!(*log.lock().unwrap(), ["a", "b"]);
        assert_eq!(run(&HookChain::new()).0, Decision::Allow);
        let noop: HookChain<()> = HookChain::new().with(0, Arc::new(NoHooks));
        assert_eq!(run(&noop).0, Decision::Allow);
        assert_eq!(noop.len(), 1);
    }
}
