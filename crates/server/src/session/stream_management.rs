//! XEP-0198 stream management in the server, shared by TCP, WebSocket and BOSH: the
//! resumption registry, hibernation of sessions whose connection dropped, the hand-over of
//! a session to the connection that resumes it, and the bounces when a session ends with
//! stanzas its client never acknowledged.
//!
//! # Life of a resumable session
//!
//! `<enable resume='true'/>` registers a random id (128 bits) with the session's [`Owner`]
//! and a takeover channel. While the connection lives, its task serves takeover requests
//! (a client may resume before the server noticed the old connection died). When the
//! connection drops without a clean close, the task becomes a hibernation task: the JID
//! stays bound in the router, the same mailbox keeps receiving, and what arrives joins the
//! unacknowledged queue. A `<resume/>` on a new stream, after SASL and before bind, asks the
//! owner of the id for the session; the old task hands over everything (bound session,
//! mailbox, queue, inbound count) and the new connection continues it: the router's entry
//! for the JID never changes. When hibernation times out, the session ends: unacknowledged
//! messages and IQ requests are answered with errors to their senders, directed-presence
//! targets (MUC rooms) get unavailable presence.
//!
//! # Who may resume
//!
//! Knowing the id is necessary but not sufficient; the resuming stream must have
//! authenticated as the same [`Owner`]:
//! - an account (PLAIN, SCRAM): the same account on the same host, over any transport;
//! - an anonymous guest (fresh random JID per login): a guest of the same host on the same
//!   transport (TCP, WebSocket or BOSH) — the id, unguessable and only ever sent to that
//!   guest, is the proof, and the new stream takes over the old JID;
//! - a token session: a token session of the same host on the same transport whose
//!   verified claims name the same issuer, user id, room and subject.
//!
//! A mismatch answers exactly like an unknown id (`item-not-found`), so ids cannot be
//! probed across identities.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use dashmap::DashMap;
use rand::RngCore;
use rookery_c2s::{Acked, HandledCountTooHigh, OutboundQueue, QueueFull};
use rookery_muc::Timestamp;
use rookery_proto::{Element, ns};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::core::{Core, Identity};
use crate::routing::table::Outgoing;
use crate::session::driver::BoundSession;
use crate::transport::Transport;

mod hibernation;

pub(crate) use hibernation::{Ending, bounce_undelivered, finish, hand_over};

/// How long a resuming stream waits for the old connection's task to hand over.
const TAKEOVER_WAIT: Duration = Duration::from_secs(5);

/// How often a live stream checks whether stanzas wait for an acknowledgement that was
/// never asked for (fewer than `smacks_max_unacked_stanzas` were sent).
pub(crate) const ACK_REQUEST_INTERVAL: Duration = Duration::from_secs(10);

/// The timer a live stream checks its unacknowledged queue with: first tick one interval
/// from now (not at once), later ticks delayed rather than bunched after a stall.
pub(crate) fn ack_timer() -> tokio::time::Interval {
    let mut t = tokio::time::interval_at(
        tokio::time::Instant::now() + ACK_REQUEST_INTERVAL,
        ACK_REQUEST_INTERVAL,
    );
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    t
}

/// The identity a resumable session belongs to; a resumption must present the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    domain: String,
    principal: Principal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Principal {
    /// An account's localpart.
    Account(String),
    /// An anonymous guest, bound to the transport it logged in on.
    Guest(Transport),
    /// A verified token, bound to the transport and the identifying claims.
    Token {
        transport: Transport,
        issuer: String,
        user: Option<String>,
        room: String,
        subject: String,
    },
}

impl Owner {
    /// The owner of a session of `node@domain` authenticated as `identity` over
    /// `transport`.
    pub(crate) fn of(domain: &str, node: &str, identity: &Identity, transport: Transport) -> Owner {
        let principal = match identity {
            Identity::Account => Principal::Account(node.to_owned()),
            Identity::Token(claims) => Principal::Token {
                transport,
                issuer: claims.issuer().to_owned(),
                user: claims.user().id.clone(),
                room: claims.room().to_string(),
                subject: claims.subject().to_string(),
            },
            Identity::Guest | Identity::Service => Principal::Guest(transport),
        };
        Owner {
            domain: domain.to_owned(),
            principal,
        }
    }
}

/// A request to hand a session over to a resuming connection.
#[derive(Debug)]
pub(crate) struct Takeover {
    reply: oneshot::Sender<Hibernated>,
}

struct Entry {
    owner: Owner,
    takeover: mpsc::Sender<Takeover>,
}

/// Resumable sessions by id. One entry per session from `<enable/>` until the session ends;
/// the takeover receiver moves with the session from connection to connection.
#[derive(Default)]
pub struct Registry {
    entries: DashMap<String, Entry>,
    hibernating: std::sync::Mutex<Hibernating>,
}

/// The sessions hibernating now, oldest first, so that the caps
/// (`smacks_max_hibernated_sessions` per user, `smacks_max_hibernated_total` in all) can
/// end the oldest when one more connection drops.
#[derive(Debug, Default)]
struct Hibernating {
    next: u64,
    order: BTreeMap<u64, Sleeper>,
    per_user: HashMap<String, VecDeque<u64>>,
}

#[derive(Debug)]
struct Sleeper {
    user: String,
    evict: CancellationToken,
}

impl Hibernating {
    fn admit(&mut self, user: &str, per_user: usize, total: usize) -> (u64, CancellationToken) {
        let seq = self.next;
        self.next += 1;
        let evict = CancellationToken::new();
        self.order.insert(
            seq,
            Sleeper {
                user: user.to_owned(),
                evict: evict.clone(),
            },
        );
        let mine = self.per_user.entry(user.to_owned()).or_default();
        mine.push_back(seq);
        let over = mine.len().saturating_sub(per_user);
        let oldest_of_user: Vec<u64> = mine.iter().take(over).copied().collect();
        for s in oldest_of_user {
            self.evict(s);
        }
        while self.order.len() > total {
            let Some(oldest) = self.order.keys().next().copied() else {
                break;
            };
            self.evict(oldest);
        }
        (seq, evict)
    }

    /// Forgets `seq` and tells its hibernation task to end.
    fn evict(&mut self, seq: u64) {
        if let Some(s) = self.leave(seq) {
            s.evict.cancel();
        }
    }

    fn leave(&mut self, seq: u64) -> Option<Sleeper> {
        let s = self.order.remove(&seq)?;
        if let Some(q) = self.per_user.get_mut(&s.user) {
            q.retain(|x| *x != seq);
            if q.is_empty() {
                self.per_user.remove(&s.user);
            }
        }
        Some(s)
    }
}

/// A session's place among the hibernating ones; dropping it (the session resumed or
/// ended) gives the place up.
pub(crate) struct HibernationSlot {
    core: Arc<Core>,
    seq: u64,
    /// Cancelled when a cap ends this session to make room for a newer one.
    pub evict: CancellationToken,
}

impl Drop for HibernationSlot {
    fn drop(&mut self) {
        if let Ok(mut h) = self.core.sm.hibernating.lock() {
            h.leave(self.seq);
        }
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("sessions", &self.entries.len())
            .finish()
    }
}

impl Registry {
    /// Resumable sessions (live or hibernating).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no session is resumable.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Takes a place among the hibernating sessions for `user` (a bare JID), ending the
    /// oldest ones beyond the configured caps.
    pub(crate) fn hibernation_slot(core: &Arc<Core>, user: &str) -> HibernationSlot {
        let (per_user, total) = (
            core.config.smacks_max_hibernated_sessions,
            core.config.smacks_max_hibernated_total,
        );
        let (seq, evict) = match core.sm.hibernating.lock() {
            Ok(mut h) => h.admit(user, per_user, total),
            // A poisoned index cannot happen without a panic elsewhere; hibernate uncapped.
            Err(_) => (u64::MAX, CancellationToken::new()),
        };
        HibernationSlot {
            core: core.clone(),
            seq,
            evict,
        }
    }

    fn register(&self, owner: Owner) -> (String, mpsc::Receiver<Takeover>) {
        let (tx, rx) = mpsc::channel(1);
        loop {
            let id = new_id();
            if let dashmap::Entry::Vacant(v) = self.entries.entry(id.clone()) {
                v.insert(Entry {
                    owner,
                    takeover: tx,
                });
                return (id, rx);
            }
        }
    }

    fn remove(&self, id: &str) {
        self.entries.remove(id);
    }

    fn lookup(&self, id: &str, owner: &Owner) -> Option<mpsc::Sender<Takeover>> {
        let e = self.entries.get(id)?;
        (e.owner == *owner).then(|| e.takeover.clone())
    }
}

/// A fresh resumption id: 128 random bits, hex.
fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

struct Resumption {
    id: String,
    max: u32,
    takeover: mpsc::Receiver<Takeover>,
}

/// One session's stream-management state on the server side: the unacknowledged queue and,
/// when resumable, its id and takeover channel. Moves with the session across connections.
pub(crate) struct SmLink {
    queue: OutboundQueue<Queued>,
    resumption: Option<Resumption>,
}

/// A stanza in the unacknowledged queue and when it was queued: when it is sent again after
/// a resumption, messages and presences carry a delay stamp of that time (XEP-0203), so the
/// client shows when they were really sent rather than when the connection came back.
struct Queued {
    item: Outgoing,
    at: Timestamp,
}

/// `item` as resent after a resumption: messages and presences without a delay stamp get
/// one (`from` the server domain that held them, `stamp` when they were queued); IQs and
/// stamped stanzas go again as they are (`None`).
fn delayed(item: &Outgoing, at: Timestamp, from: &str) -> Option<Outgoing> {
    let (el, to) = match item {
        Outgoing::Stanza(el) => (&**el, None),
        Outgoing::Shared { element, to, .. } => (&**element, Some(to)),
        Outgoing::Close(..) => return None,
    };
    if !matches!(el.name.as_str(), "message" | "presence") || el.has_child("delay", ns::DELAY) {
        return None;
    }
    let mut el = el.clone();
    if let Some(to) = to {
        el.set_attr("to", to.as_str());
    }
    el.push_child(
        Element::new("delay", ns::DELAY)
            .with_attr("from", from)
            .with_attr("stamp", at.to_xep0082()),
    );
    Some(Outgoing::stanza(el))
}

impl std::fmt::Debug for SmLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmLink")
            .field("unacked", &self.queue.len())
            .field("resumable", &self.resumption.is_some())
            .finish()
    }
}

impl SmLink {
    /// Answers `<enable/>`: an outbound queue, and a registered resumption id when `owner`
    /// is given (the client asked for resumption). `client_max` is the client's preferred
    /// resumption time; the server's `smacks_hibernation_time` caps it.
    pub(crate) fn enable(
        core: &Arc<Core>,
        owner: Option<Owner>,
        client_max: Option<u32>,
    ) -> SmLink {
        core.metrics.sm.enabled.fetch_add(1, Ordering::Relaxed);
        let cap = u32::try_from(core.config.smacks_hibernation_time).unwrap_or(u32::MAX);
        let max = client_max.filter(|m| *m > 0).map_or(cap, |m| m.min(cap));
        let resumption = owner.map(|owner| {
            let (id, takeover) = core.sm.register(owner);
            Resumption { id, max, takeover }
        });
        SmLink {
            queue: OutboundQueue::new(
                core.config.smacks_max_queue_size,
                core.config.smacks_max_unacked_stanzas,
            ),
            resumption,
        }
    }

    /// The resumption id, when resumable.
    pub(crate) fn id(&self) -> Option<&str> {
        self.resumption.as_ref().map(|r| r.id.as_str())
    }

    /// The resumption time granted, seconds, when resumable.
    pub(crate) fn max(&self) -> Option<u32> {
        self.resumption.as_ref().map(|r| r.max)
    }

    /// Records a stanza being written. `Ok(true)`: send `<r/>` after it. `Err`: the queue
    /// is full; the stanza comes back (bounce it) and the stream must end.
    pub(crate) fn push(&mut self, item: Outgoing) -> Result<bool, Outgoing> {
        let queued = Queued {
            item,
            at: Timestamp::now(),
        };
        self.queue.push(queued).map_err(|QueueFull(q)| q.item)
    }

    /// Applies the client's `<a h=''/>`.
    pub(crate) fn ack(&mut self, h: u32) -> Result<(), HandledCountTooHigh> {
        match self.queue.ack(h)? {
            Acked::Dropped(_) | Acked::Stale => Ok(()),
        }
    }

    /// A new connection took over: an `<r/>` sent on the old one will never be answered.
    pub(crate) fn reset_request(&mut self) {
        self.queue.reset_request();
    }

    /// The periodic check: true when an `<r/>` should be sent now.
    pub(crate) fn tick(&mut self) -> bool {
        self.queue.tick()
    }

    /// The unacknowledged stanzas as a resumed stream sends them again, oldest first:
    /// messages and presences stamped with when they were queued, `from` the server domain
    /// `host` that held them (see [`Queued`]).
    pub(crate) fn resend<'a>(&'a self, host: &'a str) -> impl Iterator<Item = Cow<'a, Outgoing>> {
        self.queue
            .iter()
            .map(move |q| match delayed(&q.item, q.at, host) {
                Some(stamped) => Cow::Owned(stamped),
                None => Cow::Borrowed(&q.item),
            })
    }

    /// Empties the unacknowledged queue (the session ends; the caller bounces them).
    fn take_all(&mut self) -> VecDeque<Outgoing> {
        self.queue.take_all().into_iter().map(|q| q.item).collect()
    }

    /// Waits for a takeover request whose sender still waits (requests from resumptions
    /// that gave up are skipped); never resolves for a session that is not resumable.
    /// Cancel-safe: it can sit in a `select!` next to socket reads and writes, so a
    /// connection stuck writing to a dead peer still hands its session over.
    pub(crate) async fn next_takeover(link: &mut Option<SmLink>) -> Takeover {
        match link {
            Some(l) => SmLink::next_takeover_of(l).await,
            None => std::future::pending().await,
        }
    }

    async fn next_takeover_of(link: &mut SmLink) -> Takeover {
        let Some(r) = link.resumption.as_mut() else {
            return std::future::pending().await;
        };
        loop {
            match r.takeover.recv().await {
                Some(t) if !t.reply.is_closed() => return t,
                Some(_) => continue,
                None => return std::future::pending().await,
            }
        }
    }
}

/// The channel ends of a bound session's mailbox; they move with the session.
#[derive(Debug)]
pub(crate) struct Mailbox {
    /// The sender the router holds a clone of.
    pub tx: mpsc::Sender<Outgoing>,
    /// Where deliveries arrive.
    pub rx: mpsc::Receiver<Outgoing>,
    /// The router cancels it when the mailbox overflows.
    pub kill: CancellationToken,
}

/// A session without a connection: what a hibernation task keeps and a resuming
/// connection takes over.
#[derive(Debug)]
pub(crate) struct Hibernated {
    /// The routing state (JID, identity, directed presence).
    pub bound: BoundSession,
    /// The session's mailbox, still registered in the router.
    pub mailbox: Mailbox,
    /// The unacknowledged queue and resumption id.
    pub link: SmLink,
    /// The inbound count (`h` of stanzas handled from the client).
    pub handled: u32,
}

/// Asks the session with resumption id `previd` to hand itself over, if it belongs to
/// `owner`. `None` for unknown, expired and foreign ids alike.
/// What every transport does on `<resume/>`: claims the hibernated session for `owner`
/// (none before SASL: that always fails), counts the outcome, and applies the client's `h`
/// to the unacknowledged queue. The `Err` beside the session is a count higher than what
/// was sent, which ends the new stream.
pub(crate) async fn resume(
    core: &Arc<Core>,
    previd: &str,
    owner: Option<Owner>,
    h: u32,
) -> Option<(Hibernated, Result<(), HandledCountTooHigh>)> {
    let claimed = match owner {
        Some(owner) => claim(core, previd, &owner).await,
        None => None,
    };
    let Some(mut hibernated) = claimed else {
        core.metrics
            .sm
            .resume_failed
            .fetch_add(1, Ordering::Relaxed);
        return None;
    };
    core.metrics.sm.resumed.fetch_add(1, Ordering::Relaxed);
    let acked = hibernated.link.ack(h);
    hibernated.link.reset_request();
    Some((hibernated, acked))
}

/// Takes the hibernated (or still connected) session `previd` over for `owner`.
pub(crate) async fn claim(core: &Arc<Core>, previd: &str, owner: &Owner) -> Option<Hibernated> {
    let tx = core.sm.lookup(previd, owner)?;
    let (reply, answer) = oneshot::channel();
    let asked = tokio::time::timeout(TAKEOVER_WAIT, tx.send(Takeover { reply })).await;
    if !matches!(asked, Ok(Ok(()))) {
        return None;
    }
    tokio::time::timeout(TAKEOVER_WAIT, answer).await.ok()?.ok()
}

#[cfg(test)]
mod tests;
