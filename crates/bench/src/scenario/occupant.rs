//! The two tasks of one room occupant in the `muc`, `rooms` and `ws` scenarios: a reader
//! that counts deliveries and latency, and a driver that joins and then sends.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tokio::time::{sleep_until, timeout, timeout_at};

use crate::client::{
    PresenceKind, classify_presence, describe, groupchat, instant_room_iq, join_presence,
    parse_body,
};
use crate::clock::now_us;
use crate::histogram::Histogram;
use crate::report::ErrorTally;
use crate::scan::{Item, attr, child_text, element_name};
use crate::transport::{Reader, Writer};

/// Id of the instant-room configuration IQ.
const CFG_ID: &[u8] = b"cfg1";

/// What the reader tells the driver during the join phase.
#[derive(Debug)]
pub enum JoinEvent {
    /// Self-presence arrived; `created` when the room was new (status 201).
    Joined {
        /// Status 201 was present.
        created: bool,
    },
    /// The join was refused.
    Refused(String),
    /// The room configuration IQ was answered.
    Configured(bool),
}

/// Counts of own messages that came back, for the closed-loop window.
#[derive(Debug, Default)]
pub struct Echo {
    /// Own messages received back.
    pub count: AtomicU64,
    /// Signalled when `count` grows.
    pub notify: Notify,
}

/// What every reader shares with the orchestrator.
#[derive(Debug, Clone)]
pub struct ReaderCtx {
    /// This occupant's client number.
    pub idx: u64,
    /// Deliveries this reader waits for; `u64::MAX` until the message phase is set up.
    pub expected: Arc<AtomicU64>,
    /// Own-echo counter.
    pub echo: Arc<Echo>,
    /// Whether the driver waits on echoes (avoids notifying when nobody listens).
    pub windowed: bool,
    /// Join-phase events to the driver.
    pub events: mpsc::UnboundedSender<JoinEvent>,
    /// Set to true to stop the reader.
    pub stop: watch::Receiver<bool>,
    /// Changes when the message phase starts (and `expected` is set): time to re-check.
    pub started: watch::Receiver<Option<Arc<Start>>>,
}

/// What a reader counted.
#[derive(Debug, Default)]
pub struct RecvStats {
    /// Groupchat messages of this run received.
    pub received: u64,
    /// End-to-end latency of each, microseconds.
    pub latency: Histogram,
    /// Time of the last delivery.
    pub last_at: Option<Instant>,
    /// Presences from other occupants.
    pub presences: u64,
    /// Error stanzas and stream errors.
    pub errors: ErrorTally,
}

/// Reads until `expected` deliveries arrived, the stream ends, or `stop` is set.
pub async fn reader_task(mut reader: Reader, ctx: ReaderCtx) -> (Reader, RecvStats) {
    let mut st = RecvStats::default();
    let mut stop = ctx.stop.clone();
    let mut started = ctx.started.clone();
    let mut await_start = true;
    let mut last_us = 0u64;
    loop {
        if st.received >= ctx.expected.load(Ordering::Acquire) || *stop.borrow() {
            break;
        }
        let mut now: Option<u64> = None;
        let res = tokio::select! {
            biased;
            r = reader.read_batch(|item| on_item(item, &mut st, &ctx, &mut now)) => r,
            _ = stop.changed() => break,
            changed = started.changed(), if await_start => {
                await_start = false;
                if changed.is_err() {
                    break;
                }
                Ok(())
            }
        };
        if let Some(t) = now {
            last_us = last_us.max(t);
        }
        if let Err(e) = res {
            st.errors.add(&e);
            break;
        }
    }
    if st.received > 0 {
        st.last_at = Some(crate::clock::instant_of(last_us));
    }
    (reader, st)
}

fn on_item(item: Item<'_>, st: &mut RecvStats, ctx: &ReaderCtx, now: &mut Option<u64>) {
    let el = match item {
        Item::Element(el) => el,
        Item::StreamOpen(_) => return,
        Item::StreamClose => {
            st.errors.add_text("server closed the stream".into());
            return;
        }
    };
    match element_name(el) {
        b"message" => {
            if attr(el, b"type") == Some(b"error") {
                st.errors
                    .add_text(format!("message error: {}", describe(el)));
                return;
            }
            let Some((sender, _seq, ts)) = child_text(el, b"body").and_then(parse_body) else {
                return;
            };
            let t = *now.get_or_insert_with(now_us);
            st.received += 1;
            st.latency.record(t.saturating_sub(ts));
            if sender == ctx.idx {
                ctx.echo.count.fetch_add(1, Ordering::Release);
                if ctx.windowed {
                    ctx.echo.notify.notify_one();
                }
            }
        }
        b"presence" => match classify_presence(el) {
            PresenceKind::SelfJoined { created } => {
                let _ = ctx.events.send(JoinEvent::Joined { created });
            }
            PresenceKind::Error(e) => {
                let _ = ctx.events.send(JoinEvent::Refused(e));
            }
            PresenceKind::SelfLeft | PresenceKind::Other => st.presences += 1,
        },
        b"iq" if attr(el, b"id") == Some(CFG_ID) => {
            let _ = ctx
                .events
                .send(JoinEvent::Configured(attr(el, b"type") == Some(b"result")));
        }
        name if name.ends_with(b"error") => st
            .errors
            .add_text(format!("stream error: {}", describe(el))),
        _ => {}
    }
}

/// The message phase as announced to every driver.
#[derive(Debug)]
pub struct Start {
    /// When sending starts.
    pub t0: Instant,
    /// Number of senders (joined occupants).
    pub senders: u64,
    /// Each client's rank among senders (`None`: did not join, sends nothing).
    pub rank_of: Vec<Option<u64>>,
    /// Latest time any wait in the message phase may last until.
    pub deadline: tokio::time::Instant,
}

/// Everything a driver needs besides its writer.
#[derive(Debug)]
pub struct DriverCtx {
    /// Client number.
    pub idx: usize,
    /// Room bare JID.
    pub room: String,
    /// Nickname.
    pub nick: String,
    /// `Some(sender)` for the room creator, which signals readiness after joining.
    pub creator: Option<watch::Sender<bool>>,
    /// Room readiness, awaited by everyone but the creator.
    pub room_ready: watch::Receiver<bool>,
    /// Bounds joins in flight across all rooms.
    pub join_sem: Arc<Semaphore>,
    /// Join events from this occupant's reader.
    pub events: mpsc::UnboundedReceiver<JoinEvent>,
    /// Join outcomes to the orchestrator.
    pub joined_tx: mpsc::UnboundedSender<JoinReport>,
    /// Start of the message phase.
    pub start: watch::Receiver<Option<Arc<Start>>>,
    /// Own-echo counter shared with the reader.
    pub echo: Arc<Echo>,
    /// Messages to send.
    pub messages: u64,
    /// Total message rate across all senders; `None` for saturated.
    pub rate: Option<f64>,
    /// Own messages allowed in flight when saturated (0: unlimited).
    pub window: u64,
    /// Bound on each wait of the join (self-presence, room configuration).
    pub timeout: Duration,
}

/// One occupant's join outcome.
#[derive(Debug)]
pub struct JoinReport {
    /// Client number.
    pub idx: usize,
    /// When the join presence was sent (after waiting for a join permit).
    pub started: Instant,
    /// Latency to self-presence, or why it failed.
    pub result: Result<Duration, String>,
}

/// What a driver did in the message phase.
#[derive(Debug, Default)]
pub struct SendStats {
    /// Messages written.
    pub sent: u64,
    /// Write failures and waits that timed out.
    pub errors: ErrorTally,
}

/// Joins the room, reports, waits for the start, then sends its messages.
pub async fn driver_task(mut w: Writer, mut ctx: DriverCtx) -> (Writer, SendStats) {
    let mut stats = SendStats::default();
    if ctx.creator.is_none() {
        // Resolves once the creator's own (bounded) join is over, or if it is gone.
        let _ = ctx.room_ready.wait_for(|r| *r).await;
    }
    let (started, result) = match join(&mut w, &mut ctx).await {
        Ok((sent, latency)) => (sent, Ok(latency)),
        Err(e) => (Instant::now(), Err(e)),
    };
    let joined = result.is_ok();
    if let Some(ready) = ctx.creator.take() {
        let _ = ready.send(true);
    }
    let _ = ctx.joined_tx.send(JoinReport {
        idx: ctx.idx,
        started,
        result,
    });
    let start = match ctx.start.wait_for(|s| s.is_some()).await {
        Ok(s) => s.clone(),
        Err(_) => None,
    };
    let Some(start) = start else {
        return (w, stats);
    };
    let Some(rank) = start.rank_of.get(ctx.idx).copied().flatten() else {
        return (w, stats);
    };
    if !joined {
        return (w, stats);
    }
    for q in 0..ctx.messages {
        if let Some(rate) = ctx.rate {
            let offset = (q * start.senders + rank) as f64 / rate;
            sleep_until((start.t0 + Duration::from_secs_f64(offset)).into()).await;
        } else if ctx.window > 0 {
            while ctx.echo.count.load(Ordering::Acquire) + ctx.window <= q {
                if timeout_at(start.deadline, ctx.echo.notify.notified())
                    .await
                    .is_err()
                {
                    stats
                        .errors
                        .add_text("timeout waiting for own messages to come back".into());
                    return (w, stats);
                }
            }
        }
        if let Err(e) = w.send(groupchat(&ctx.room, ctx.idx, q, now_us())).await {
            stats.errors.add(&e);
            break;
        }
        stats.sent += 1;
    }
    (w, stats)
}

/// Joins (holding a join permit) and returns when the join presence was sent and how long
/// the self-presence took.
async fn join(w: &mut Writer, ctx: &mut DriverCtx) -> Result<(Instant, Duration), String> {
    let _permit = ctx.join_sem.acquire().await.map_err(|e| e.to_string())?;
    let t = Instant::now();
    w.send(join_presence(&ctx.room, &ctx.nick))
        .await
        .map_err(|e| e.to_string())?;
    let created = match timeout(ctx.timeout, ctx.events.recv()).await {
        Err(_) => return Err("timeout joining".into()),
        Ok(None) => return Err("connection lost while joining".into()),
        Ok(Some(JoinEvent::Joined { created })) => created,
        Ok(Some(JoinEvent::Refused(e))) => return Err(format!("join refused: {e}")),
        Ok(Some(JoinEvent::Configured(_))) => return Err("unexpected configuration answer".into()),
    };
    let latency = t.elapsed();
    if created {
        w.send(instant_room_iq(&ctx.room, "cfg1"))
            .await
            .map_err(|e| e.to_string())?;
        match timeout(ctx.timeout, ctx.events.recv()).await {
            Ok(Some(JoinEvent::Configured(true))) => {}
            Ok(other) => return Err(format!("room configuration failed: {other:?}")),
            Err(_) => return Err("timeout configuring the room".into()),
        }
    }
    Ok((t, latency))
}
