//! `muc`, `rooms` and `ws`: occupants join rooms, then every occupant sends groupchat
//! messages and every occupant counts what it receives.
//!
//! Client `i` is in room `i / occupants`. The first client of each room joins alone (and
//! configures the room if the server locked it), then the others join with bounded
//! concurrency. Each receiver expects `occupants_joined × messages` deliveries (its own
//! messages come back too); what is missing at the deadline is reported as lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::{timeout, timeout_at};

use super::occupant::{
    DriverCtx, Echo, JoinReport, ReaderCtx, RecvStats, SendStats, Start, driver_task, reader_task,
};
use super::{AfterLogin, connect_many, run_tag};
use crate::histogram::Histogram;
use crate::report::{Report, per_sec};
use crate::rss::rss_kib;
use crate::target::{Target, Transport};
use crate::transport::Writer;

/// Parameters of the room scenarios.
#[derive(Debug, Clone)]
pub struct RoomsParams {
    /// Number of rooms.
    pub rooms: usize,
    /// Occupants per room.
    pub occupants: usize,
    /// Messages each occupant sends.
    pub messages: u64,
    /// Total messages per second across all senders (open loop); `None` sends saturated.
    pub rate: Option<f64>,
    /// When saturated: own messages allowed in flight per sender (0 = unlimited).
    pub window: u64,
    /// Logins in flight at once.
    pub concurrency: usize,
    /// Joins in flight at once (after each room's creator).
    pub join_concurrency: usize,
    /// Server pid for memory figures.
    pub pid: Option<u32>,
    /// TCP or WebSocket.
    pub transport: Transport,
}

/// Runs a room scenario and names the report `scenario`.
pub async fn run(target: Arc<Target>, p: &RoomsParams, scenario: &'static str) -> Report {
    let mut r = Report::new(scenario);
    r.param("transport", p.transport.name());
    r.param("rooms", p.rooms);
    r.param("occupants", p.occupants);
    r.param("messages", p.messages);
    r.param("rate", p.rate);
    r.param("window", p.window);
    r.param("join_concurrency", p.join_concurrency);
    let total = p.rooms * p.occupants;
    let tag = run_tag();
    let room_jid = |room: usize| format!("bench{tag}r{room}@{}", target.muc_domain);
    let rss_before = p.pid.and_then(rss_kib);

    let conn = connect_many(
        &target,
        p.transport,
        0,
        total,
        p.concurrency,
        AfterLogin::Keep,
    )
    .await;
    r.figure("connected", conn.ok);
    r.figure("conns_per_s", per_sec(conn.ok, conn.secs));
    r.errors.merge(&conn.errors);

    let (stop_tx, stop_rx) = watch::channel(false);
    let (start_tx, start_rx) = watch::channel::<Option<Arc<Start>>>(None);
    let (joined_tx, mut joined_rx) = mpsc::unbounded_channel::<JoinReport>();
    let join_sem = Arc::new(Semaphore::new(p.join_concurrency.max(1)));
    let mut ready: Vec<(Option<watch::Sender<bool>>, watch::Receiver<bool>)> = (0..p.rooms)
        .map(|_| {
            let (tx, rx) = watch::channel(false);
            (Some(tx), rx)
        })
        .collect();
    let mut readers = Vec::new();
    let mut drivers = Vec::new();
    let mut expected_of = Vec::new();
    for (i, slot) in conn.clients.into_iter().enumerate() {
        let Some(client) = slot else { continue };
        let room = i / p.occupants.max(1);
        let Some((creator_slot, ready_rx)) = ready.get_mut(room) else {
            continue;
        };
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let expected = Arc::new(AtomicU64::new(u64::MAX));
        let echo = Arc::new(Echo::default());
        let rctx = ReaderCtx {
            idx: i as u64,
            expected: expected.clone(),
            echo: echo.clone(),
            windowed: p.rate.is_none() && p.window > 0,
            events: ev_tx,
            stop: stop_rx.clone(),
            started: start_rx.clone(),
        };
        let dctx = DriverCtx {
            idx: i,
            room: room_jid(room),
            nick: format!("u{i}"),
            creator: creator_slot.take(),
            room_ready: ready_rx.clone(),
            join_sem: join_sem.clone(),
            events: ev_rx,
            joined_tx: joined_tx.clone(),
            start: start_rx.clone(),
            echo,
            messages: p.messages,
            rate: p.rate,
            window: p.window,
            timeout: target.timeout,
        };
        readers.push(tokio::spawn(reader_task(client.reader, rctx)));
        drivers.push(tokio::spawn(driver_task(client.writer, dctx)));
        expected_of.push((i, room, expected));
    }
    drop(joined_tx);
    drop(ready);

    // Join phase.
    let mut joined = vec![false; total];
    let mut per_room = vec![0u64; p.rooms];
    let mut join_lat = Histogram::default();
    let mut first_start: Option<Instant> = None;
    let mut last_end: Option<Instant> = None;
    for _ in 0..expected_of.len() {
        // Every join wait is bounded by --timeout, so a phase without progress for
        // twice that is stuck.
        match timeout(target.timeout * 2, joined_rx.recv()).await {
            Ok(Some(rep)) => match rep.result {
                Ok(lat) => {
                    join_lat.record(lat.as_micros() as u64);
                    if let Some(j) = joined.get_mut(rep.idx) {
                        *j = true;
                    }
                    if let Some(c) = per_room.get_mut(rep.idx / p.occupants.max(1)) {
                        *c += 1;
                    }
                    first_start = Some(first_start.map_or(rep.started, |f| f.min(rep.started)));
                    let end = rep.started + lat;
                    last_end = Some(last_end.map_or(end, |l| l.max(end)));
                }
                Err(e) => r.errors.add_text(e),
            },
            _ => {
                r.errors
                    .add_text("join phase made no progress for twice --timeout".into());
                break;
            }
        }
    }
    let join_secs = match (first_start, last_end) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => 0.0,
    };
    r.figure("joined", join_lat.count());
    r.figure("joins_per_s", per_sec(join_lat.count(), join_secs));
    r.figure("join_p50_ms", join_lat.quantile_ms(0.5));
    r.figure("join_p99_ms", join_lat.quantile_ms(0.99));
    r.figure("join_max_ms", join_lat.max() as f64 / 1000.0);

    // Message phase.
    let mut rank_of = vec![None; total];
    let mut senders = 0u64;
    for (i, j) in joined.iter().enumerate() {
        if *j && let Some(slot) = rank_of.get_mut(i) {
            *slot = Some(senders);
            senders += 1;
        }
    }
    let mut expected_total = 0u64;
    for (i, room, expected) in &expected_of {
        let n = if joined.get(*i).copied().unwrap_or(false) {
            per_room.get(*room).copied().unwrap_or(0) * p.messages
        } else {
            0
        };
        expected_total += n;
        expected.store(n, Ordering::Release);
    }
    let paced_secs = p
        .rate
        .map_or(0.0, |rate| (senders * p.messages) as f64 / rate.max(0.001));
    let t0 = Instant::now();
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs_f64(paced_secs) + target.timeout;
    let _ = start_tx.send(Some(Arc::new(Start {
        t0,
        senders,
        rank_of,
        deadline,
    })));

    let mut send = SendStats::default();
    let mut writers: Vec<Writer> = Vec::new();
    for mut d in drivers {
        match timeout_at(deadline, &mut d).await {
            Ok(Ok((w, s))) => {
                send.sent += s.sent;
                send.errors.merge(&s.errors);
                writers.push(w);
            }
            Ok(Err(e)) => r.errors.add_text(format!("driver task failed: {e}")),
            Err(_) => {
                r.errors
                    .add_text("senders did not finish before the deadline".into());
                d.abort();
                let _ = stop_tx.send(true);
            }
        }
    }
    let mut recv = RecvStats::default();
    let mut last_at: Option<Instant> = None;
    let mut lost = 0u64;
    let mut extra = 0u64;
    let mut per_reader = Vec::new();
    for h in readers {
        let mut h = h;
        let res = match timeout_at(deadline, &mut h).await {
            Ok(res) => res,
            Err(_) => {
                let _ = stop_tx.send(true);
                h.await
            }
        };
        match res {
            Ok((_reader, st)) => per_reader.push(st),
            Err(e) => r.errors.add_text(format!("reader task failed: {e}")),
        }
    }
    let _ = stop_tx.send(true);
    for ((_, _, expected), st) in expected_of.iter().zip(&per_reader) {
        let exp = expected.load(Ordering::Acquire);
        lost += exp.saturating_sub(st.received);
        extra += st.received.saturating_sub(exp);
        recv.received += st.received;
        recv.presences += st.presences;
        recv.latency.merge(&st.latency);
        recv.errors.merge(&st.errors);
        if let Some(t) = st.last_at {
            last_at = Some(last_at.map_or(t, |l| l.max(t)));
        }
    }
    let msg_secs = last_at.map_or(0.0, |l| l.saturating_duration_since(t0).as_secs_f64());
    r.figure("sent", send.sent);
    r.figure("expected", expected_total);
    r.figure("delivered", recv.received);
    r.figure("lost", lost);
    r.figure("extra", extra);
    r.figure("message_secs", msg_secs);
    r.figure("deliveries_per_s", per_sec(recv.received, msg_secs));
    if let Some(rate) = p.rate {
        r.figure("offered_deliveries_per_s", rate * p.occupants as f64);
    }
    r.figure("latency_p50_ms", recv.latency.quantile_ms(0.5));
    r.figure("latency_p99_ms", recv.latency.quantile_ms(0.99));
    r.figure("latency_max_ms", recv.latency.max() as f64 / 1000.0);
    if let (Some(b), Some(a)) = (rss_before, p.pid.and_then(rss_kib)) {
        r.figure("rss_before_kib", b);
        r.figure("rss_after_kib", a);
    }
    r.errors.merge(&send.errors);
    r.errors.merge(&recv.errors);

    let mut set = tokio::task::JoinSet::new();
    for mut w in writers {
        set.spawn(async move {
            let _ = w.close_stream().await;
            w.shutdown().await;
        });
    }
    while set.join_next().await.is_some() {}
    r
}
