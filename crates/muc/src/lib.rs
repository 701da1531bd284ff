//! Sans-io XEP-0045 multi-user chat for Rookery.
//!
//! No sockets, no async, no storage: a [`Room`] is a state machine fed [`RoomInput`]s with
//! the current [`Timestamp`] and returning [`Effect`]s (deliveries, one-element broadcasts,
//! persistence requests, lifecycle notices) for its driver to carry out in order. A
//! [`Service`] answers what is addressed to the MUC domain itself and decides whether a
//! stanza for an unknown room may start one. Extension points are typed [`MucHooks`] called
//! in priority order; tenant addressing is delegated to an [`AddressMapper`].
//!
//! The driver runs each room in its own task with a bounded mailbox, serialises each
//! [`Effect::Broadcast`] once (`rookery_proto::Prepared`) and splices every recipient in.
//!
//! # Wiring (what a server does)
//!
//! 1. Per `[[muc]]` block: `Arc<MucConfig>` (validated), one `Arc<HookChain<I>>`, and a
//!    [`Service`] with the tenant [`AddressMapper`].
//! 2. For a routed stanza, [`Service::target`] on its `to`: `Service` → [`Service::handle`];
//!    `Invalid` → [`Service::refuse_invalid`]; `Room { room, .. }` → the room task keyed by
//!    `room`, fed the stanza unchanged (its `to` is the client's view).
//! 3. No task for `room`: a stored [`RoomRecord`] → [`Room::from_record`]; otherwise
//!    [`Service::new_room`] says `Create` ([`Room::new`]), `Reply` or `Ignore`.
//! 4. In the task: `room.handle(RoomInput::Stanza { stanza, sender }, Timestamp::now())`,
//!    plus `RoomInput::SessionGone` when a session that joined ends and a periodic
//!    `RoomInput::Tick`. Carry the effects out in order; pass `Summary`, `Closed` and
//!    `Forget` to [`Service::observe`]; on `Closed` remove the routing entry and route any
//!    stanzas still queued again; `Persist`/`Forget` go to the store; `Idle` may unload.

#![warn(missing_docs)]

pub mod address;
pub mod affiliation;
pub mod config;
pub mod disco;
pub mod effect;
pub mod form;
pub mod history;
pub mod hooks;
pub mod input;
pub mod limits;
pub mod record;
pub mod roles;
pub mod room;
pub mod room_config;
pub mod service;
pub mod status;
pub mod time;

pub use address::{AddressMapper, IdentityMapper};
pub use affiliation::Affiliation;
pub use config::{ConfigError, MucConfig};
pub use effect::{CloseReason, Effect, RoomSummary};
pub use form::FormField;
pub use hooks::{
    Decision, HookChain, JoinGrant, LeaveReason, MucHooks, NoHooks, OccupantInfo, PreCreate,
    PreJoin, RoomInfo, RoomSetup,
};
pub use input::{RoomInput, Sender};
pub use record::{AffiliationRecord, RecordError, RoomRecord, SubjectRecord};
pub use roles::Role;
pub use room::{Lifecycle, MEETING_ID_VAR, Occupant, Room};
pub use room_config::{AllowPm, RoomConfig, Whois};
pub use service::{NewRoom, Service, Target};
pub use time::Timestamp;
