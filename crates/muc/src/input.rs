//! What the driver feeds a room: a stanza with its authenticated sender, or an event.

use rookery_proto::{Element, Jid};

/// The authenticated sender of a stanza, as the server knows it.
///
/// `identity` is opaque to the MUC: it is whatever the server's hooks need (for Jitsi, the
/// session's verified token identity).
#[derive(Debug, Clone)]
pub struct Sender<I> {
    /// The sender's real full JID (the router's stamp; the stanza's `from` is not trusted).
    pub jid: Jid,
    /// The sender administers this MUC service (the union of the global, the service's and
    /// its parent host's admin lists, computed by the server). Admins act as owners of
    /// every room and may create rooms when creation is restricted.
    pub is_admin: bool,
    /// Application identity for the hooks.
    pub identity: I,
}

impl Sender<()> {
    /// A plain sender with no identity payload.
    pub fn plain(jid: Jid, is_admin: bool) -> Self {
        Sender {
            jid,
            is_admin,
            identity: (),
        }
    }
}

/// One input to a room.
#[derive(Debug, Clone)]
pub enum RoomInput<I> {
    /// A stanza addressed to the room or one of its occupant JIDs. Its `to` is the address
    /// as the client wrote it (the client's view of the room); the server has already
    /// checked that it maps to this room.
    Stanza {
        /// The stanza.
        stanza: Element,
        /// Who sent it.
        sender: Sender<I>,
    },
    /// The session with this real full JID ended: it leaves every room (as if it had sent
    /// unavailable presence).
    SessionGone {
        /// The session's full JID.
        jid: Jid,
    },
    /// Periodic housekeeping (every [`crate::MucConfig::tick_interval`]): fails forwarded
    /// IQs whose answer is overdue and held joins whose wait for the focus is over.
    Tick,
    /// The server removes the occupant whose session is `jid` (its token expired, say): a
    /// kick (status 307) with `reason`, told to the occupant and to everyone else.
    Expel {
        /// The occupant's real full JID.
        jid: Jid,
        /// Why, for the occupant and the room.
        reason: String,
    },
}
