//! What a room or the service asks its driver to do. The driver carries effects out in
//! order; the per-recipient order of stanzas (XEP-0045 join order) depends on it.

use rookery_proto::{Element, Jid, SharedStanza};

use crate::record::RoomRecord;

/// One thing for the driver to do.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Deliver one stanza to one address (a real full JID, or a bare JID for invitations);
    /// the stanza's `to` attribute is already set to `to`.
    Send {
        /// The recipient.
        to: Jid,
        /// The stanza.
        stanza: Element,
    },
    /// Deliver the same stanza to many real full JIDs (or to one, when the room hands out
    /// a stanza it keeps, such as an occupant's presence to a newcomer). The stanza has no
    /// `to` and is already serialised once; the driver splices each recipient in. This is
    /// the groupchat and presence fan-out path.
    Broadcast {
        /// The stanza, without `to`.
        stanza: SharedStanza,
        /// The recipients, in room join order.
        to: Vec<Jid>,
    },
    /// Store this record of a persistent room (config and affiliations), replacing any
    /// earlier one.
    Persist(Box<RoomRecord>),
    /// Delete the stored record of this room (it was destroyed or became temporary).
    Forget {
        /// The room's internal bare JID.
        room: Jid,
    },
    /// The room's directory entry changed (for the service's disco#items).
    Summary(RoomSummary),
    /// A persistent room has no occupants left; the driver may unload it (its record is
    /// already persisted) or keep it.
    Idle {
        /// The room's internal bare JID.
        room: Jid,
    },
    /// The room no longer exists: drop its task and routing entry. Stanzas still queued for
    /// it should be routed again (they may create a fresh room).
    Closed {
        /// The room's internal bare JID.
        room: Jid,
        /// Why.
        reason: CloseReason,
    },
}

/// Why a room closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// A temporary room's last occupant left.
    Empty,
    /// Its owner destroyed it (or cancelled the initial configuration).
    Destroyed,
    /// The creating join was refused (restricted creation, a hook, a bad nick): the room
    /// never existed.
    NotCreated,
}

/// A room as listed by the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSummary {
    /// Internal bare JID.
    pub room: Jid,
    /// Configured name, if any.
    pub name: Option<String>,
    /// Listed publicly.
    pub public: bool,
    /// Still locked (awaiting its initial configuration); locked rooms are not listed.
    pub locked: bool,
}
