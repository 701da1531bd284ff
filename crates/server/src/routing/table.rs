//! The routing table: full JID → the bound session's bounded mailbox.
//!
//! This is the only state shared between connections. It hands out clones of senders, never
//! lock guards, and a delivery never waits: a full mailbox means the recipient does not read,
//! and that recipient is disconnected instead of slowing the sender down.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use rookery_proto::{Element, Jid, Prepared, StreamErrorCondition};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One item for a session's writer.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// A stanza addressed by its own `to` (boxed: it keeps every mailbox slot small, and
    /// an idle session's mailbox allocates a block of slots up front).
    Stanza(Box<Element>),
    /// A broadcast serialised once; the writer splices `to`. `element` is kept for stream
    /// management bounces.
    Shared {
        /// The shared bytes.
        prepared: Arc<Prepared>,
        /// The same stanza as a tree (without `to`).
        element: Arc<Element>,
        /// The recipient.
        to: Jid,
    },
    /// Close the stream with this error (e.g. `conflict` on resource takeover).
    Close(StreamErrorCondition, String),
}

impl Outgoing {
    /// A stanza item.
    pub fn stanza(el: Element) -> Outgoing {
        Outgoing::Stanza(Box::new(el))
    }
}

/// What the router keeps per bound session.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    /// The session's mailbox.
    pub tx: mpsc::Sender<Outgoing>,
    /// Cancelled to make the session close at once (it stops even when blocked writing).
    pub kill: CancellationToken,
    /// Unique per connection, so a late unbind cannot remove a successor.
    pub id: u64,
}

/// Why a delivery did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliverError {
    /// No session has this full JID.
    NotFound,
    /// The session's queue was full; it is being disconnected.
    Overflow,
}

/// Hashing for the routing maps: foldhash with a per-process random seed is several times
/// cheaper than SipHash on JID-sized keys (each delivery hashes one) and still keyed, so
/// clients cannot pick colliding JIDs in advance.
type JidHasher = foldhash::fast::RandomState;

/// The routing table.
#[derive(Debug, Default)]
pub struct Router {
    sessions: DashMap<Jid, SessionHandle, JidHasher>,
    resources: DashMap<Jid, Vec<Jid>, JidHasher>,
    next_id: AtomicU64,
    overflow_disconnects: AtomicU64,
}

impl Router {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh connection id.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Binds `jid`; returns the session it replaced, which the caller must close with
    /// `conflict`.
    pub fn bind(&self, jid: Jid, handle: SessionHandle) -> Option<SessionHandle> {
        let old = self.sessions.insert(jid.clone(), handle);
        if old.is_none() {
            self.resources.entry(jid.to_bare()).or_default().push(jid);
        }
        old
    }

    /// Removes `jid` if it still belongs to connection `id`.
    pub fn unbind(&self, jid: &Jid, id: u64) {
        let removed = self.sessions.remove_if(jid, |_, h| h.id == id).is_some();
        if removed {
            let bare = jid.to_bare();
            let empty = match self.resources.get_mut(&bare) {
                Some(mut list) => {
                    list.retain(|j| j != jid);
                    list.is_empty()
                }
                None => false,
            };
            if empty {
                self.resources.remove_if(&bare, |_, l| l.is_empty());
            }
        }
    }

    /// True when a session is bound to this full JID.
    pub fn is_bound(&self, jid: &Jid) -> bool {
        self.sessions.contains_key(jid)
    }

    /// The bound resources of a bare JID.
    pub fn resources_of(&self, bare: &Jid) -> Vec<Jid> {
        self.resources
            .get(bare)
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    /// Number of bound sessions.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Sessions disconnected because their queue overflowed, since start.
    pub fn overflow_disconnects(&self) -> u64 {
        self.overflow_disconnects.load(Ordering::Relaxed)
    }

    /// Queues `item` for the session bound to `to` without waiting.
    ///
    /// The send happens under the map's shard read guard (it never waits), so a delivery
    /// clones no sender or cancellation token: those clones and drops were a measurable
    /// share of every fan-out delivery.
    pub fn deliver(&self, to: &Jid, item: Outgoing) -> Result<(), DeliverError> {
        let Some(handle) = self.sessions.get(to) else {
            return Err(DeliverError::NotFound);
        };
        self.send_to(&handle, item)
    }

    /// Queues a shared stanza for `to` (a fan-out delivery): like [`Router::deliver`], but
    /// the recipient's JID moves into the item instead of being copied for it.
    pub fn deliver_shared(
        &self,
        prepared: &Arc<Prepared>,
        element: &Arc<Element>,
        to: Jid,
    ) -> Result<(), DeliverError> {
        let Some(handle) = self.sessions.get(&to) else {
            return Err(DeliverError::NotFound);
        };
        let item = Outgoing::Shared {
            prepared: prepared.clone(),
            element: element.clone(),
            to,
        };
        self.send_to(&handle, item)
    }

    /// Queues `item` on `handle`'s mailbox; a full mailbox disconnects the session.
    fn send_to(&self, handle: &SessionHandle, item: Outgoing) -> Result<(), DeliverError> {
        match handle.tx.try_send(item) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(item)) => {
                if !handle.kill.is_cancelled() {
                    self.overflow_disconnects.fetch_add(1, Ordering::Relaxed);
                    let jid = match &item {
                        Outgoing::Shared { to, .. } => to.as_str(),
                        Outgoing::Stanza(el) => el.attr("to").unwrap_or_default(),
                        Outgoing::Close(..) => "",
                    };
                    tracing::warn!(jid, "outbound queue full: disconnecting slow client");
                    handle.kill.cancel();
                }
                Err(DeliverError::Overflow)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(DeliverError::NotFound),
        }
    }

    /// Every session handle (shutdown).
    pub fn all_handles(&self) -> Vec<SessionHandle> {
        self.sessions.iter().map(|e| e.value().clone()).collect()
    }
}
