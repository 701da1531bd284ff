//! The end of a connection that carried a stream-management session: hibernation while
//! the client may come back, the hand-over to the connection that resumes, and the bounces
//! when the session ends with stanzas its client never acknowledged.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rookery_proto::{Element, StanzaError, StanzaErrorCondition};

use super::{Hibernated, Mailbox, Registry, SmLink, Takeover};
use crate::core::Core;
use crate::routing;
use crate::routing::table::Outgoing;
use crate::session::driver::BoundSession;

/// Gives a session to the connection that asked for it; if that connection gave up
/// meanwhile, the session hibernates instead.
pub(crate) fn hand_over(core: &Arc<Core>, t: Takeover, h: Hibernated) {
    if let Err(h) = t.reply.send(h) {
        hibernate(core, h);
    }
}

/// How a connection that carried a bound session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The transport dropped (EOF, read or write failure, missed pings, BOSH inactivity):
    /// a resumable session hibernates.
    Lost,
    /// The client closed the stream, or the server ended it (stream error, shutdown,
    /// overflow): the session ends now.
    Closed,
}

/// The connection of a bound session is gone: hibernate the session when it is resumable
/// and the connection was lost, otherwise end it (bouncing what the client never
/// acknowledged when stream management was on).
pub(crate) fn finish(
    core: &Arc<Core>,
    bound: BoundSession,
    mailbox: Mailbox,
    link: Option<SmLink>,
    handled: u32,
    ending: Ending,
) {
    match link {
        Some(link)
            if link.resumption.is_some() && ending == Ending::Lost && bound.jid().is_some() =>
        {
            hibernate(
                core,
                Hibernated {
                    bound,
                    mailbox,
                    link,
                    handled,
                },
            );
        }
        Some(link) => terminate(core, bound, mailbox, link),
        None => bound.end(core),
    }
}

/// Starts the hibernation task of a session whose connection dropped.
pub(crate) fn hibernate(core: &Arc<Core>, h: Hibernated) {
    core.metrics.sm.hibernated.fetch_add(1, Ordering::Relaxed);
    tracing::info!(jid = ?h.bound.jid().map(|j| j.as_str().to_owned()), unacked = h.link.queue.len(), "connection lost: session hibernates");
    let core = core.clone();
    tokio::spawn(hibernation(core, h));
}

async fn hibernation(core: Arc<Core>, mut h: Hibernated) {
    let max = h.link.max().unwrap_or(0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(max));
    let user = h
        .bound
        .jid()
        .map(|j| j.bare_str().to_owned())
        .unwrap_or_default();
    // Held until the session resumes or ends (dropped with this task's state).
    let slot = Registry::hibernation_slot(&core, &user);
    let mut batch = Vec::with_capacity(64);
    let why = loop {
        tokio::select! {
            biased;
            _ = core.shutdown.cancelled() => break "server shutdown",
            _ = h.mailbox.kill.cancelled() => break "mailbox overflow",
            _ = slot.evict.cancelled() => {
                core.metrics.sm.evicted.fetch_add(1, Ordering::Relaxed);
                break "too many hibernating sessions (smacks_max_hibernated_sessions or _total)"
            }
            t = SmLink::next_takeover_of(&mut h.link) => {
                match t.reply.send(h) {
                    Ok(()) => {
                        core.metrics.sm.woken.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    // The resuming connection gave up waiting: keep hibernating.
                    Err(back) => h = back,
                }
            }
            n = h.mailbox.rx.recv_many(&mut batch, 256) => {
                if n == 0 {
                    break "mailbox closed";
                }
                let mut stop = None;
                for item in batch.drain(..) {
                    if stop.is_some() {
                        bounce_undelivered(&core, item);
                        continue;
                    }
                    match item {
                        Outgoing::Close(_, _) => stop = Some("resource taken over by a new login"),
                        item => {
                            if let Err(item) = h.link.push(item) {
                                bounce_undelivered(&core, item);
                                stop = Some("too many unacknowledged stanzas");
                            }
                        }
                    }
                }
                if let Some(why) = stop {
                    break why;
                }
            }
            _ = tokio::time::sleep_until(deadline) => break "hibernation timed out",
        }
    };
    core.metrics.sm.expired.fetch_add(1, Ordering::Relaxed);
    tracing::info!(jid = ?h.bound.jid().map(|j| j.as_str().to_owned()), unacked = h.link.queue.len(), "hibernating session ends: {why}");
    terminate(&core, h.bound, h.mailbox, h.link);
}

/// Ends a stream-management session now: forgets its resumption id, unbinds it (telling
/// directed-presence targets), then answers everything it never got to acknowledge —
/// the unacknowledged queue and what is still in the mailbox — with errors to the senders.
pub(crate) fn terminate(core: &Arc<Core>, bound: BoundSession, mailbox: Mailbox, mut link: SmLink) {
    if let Some(r) = &link.resumption {
        core.sm.remove(&r.id);
    }
    bound.end(core);
    let Mailbox { tx, mut rx, .. } = mailbox;
    drop(tx);
    rx.close();
    let mut undelivered = link.take_all();
    while let Ok(item) = rx.try_recv() {
        undelivered.push_back(item);
    }
    for item in undelivered {
        bounce_undelivered(core, item);
    }
}

/// Treats a stanza the client never acknowledged like one sent to an unavailable resource
/// (RFC 6121 §8.5.3.2.1, XEP-0198 §4): chat and normal messages get
/// `recipient-unavailable`, IQ requests `service-unavailable`; presence, groupchat,
/// headline, error and IQ results are dropped (a groupchat message lives on in the room's
/// history; the room learns of the departure from the unavailable presence).
pub(crate) fn bounce_undelivered(core: &Arc<Core>, item: Outgoing) {
    let stanza = match item {
        Outgoing::Stanza(el) => *el,
        Outgoing::Shared { element, to, .. } => {
            let mut el = Element::clone(&element);
            el.set_attr("to", to.as_str());
            el
        }
        Outgoing::Close(..) => return,
    };
    let condition = match (stanza.name.as_str(), stanza.attr("type").unwrap_or("")) {
        ("message", "error" | "groupchat" | "headline") => return,
        ("message", _) => StanzaErrorCondition::RecipientUnavailable,
        ("iq", "get" | "set") => StanzaErrorCondition::ServiceUnavailable,
        _ => return,
    };
    core.metrics.sm.bounced.fetch_add(1, Ordering::Relaxed);
    routing::bounce(
        core,
        &stanza,
        StanzaError::new(condition)
            .with_text("the recipient's connection was lost before it acknowledged this"),
    );
}
