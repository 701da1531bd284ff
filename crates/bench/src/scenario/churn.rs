//! `churn`: waves of connect / authenticate / join / leave / disconnect cycles on one
//! long-running server; conns/s and server memory after each wave should stay flat.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use super::run_tag;
use crate::client::login;
use crate::error::BenchError;
use crate::histogram::Histogram;
use crate::report::{ErrorTally, Report, per_sec};
use crate::rss::rss_kib;
use crate::target::{Target, Transport};

/// Parameters of the `churn` scenario.
#[derive(Debug, Clone)]
pub struct ChurnParams {
    /// Number of waves.
    pub waves: usize,
    /// Cycles per wave.
    pub per_wave: usize,
    /// Cycles in flight at once.
    pub concurrency: usize,
    /// Rooms the cycles spread over (cycle `k` joins room `k % rooms`); each room also has
    /// one resident occupant for the whole run. PLAIN accounts used: `per_wave + rooms`.
    pub rooms: usize,
    /// Server pid for memory figures.
    pub pid: Option<u32>,
    /// Pause after each wave before reading memory.
    pub settle: Duration,
}

/// One full session life: login, join, leave, close. `account` picks the PLAIN account.
async fn cycle(target: &Target, account: usize, room: &str, nick: &str) -> Result<(), BenchError> {
    let mut c = login(target, Transport::Tcp, account).await?;
    c.join(room, nick, target.timeout).await?;
    c.leave(room, nick, target.timeout).await?;
    c.quit().await;
    Ok(())
}

/// Runs the `churn` scenario.
pub async fn run(target: Arc<Target>, p: &ChurnParams) -> Report {
    let mut r = Report::new("churn");
    r.param("waves", p.waves);
    r.param("per_wave", p.per_wave);
    r.param("concurrency", p.concurrency);
    r.param("rooms", p.rooms);
    r.param("settle_ms", p.settle.as_millis() as u64);
    let tag = Arc::new(run_tag());
    let room_of = |k: usize| format!("bench{tag}c{}@{}", k % p.rooms.max(1), target.muc_domain);
    // One resident occupant per room keeps the rooms alive, as in a running conference:
    // the churning sessions come and go, the rooms do not (some servers lose joins that
    // race with the destruction of an emptied room).
    let mut residents = Vec::new();
    for k in 0..p.rooms.max(1) {
        let account = p.per_wave + k;
        let joined = async {
            let mut c = login(&target, Transport::Tcp, account).await?;
            c.join(&room_of(k), &format!("resident{k}"), target.timeout)
                .await?;
            Ok::<_, BenchError>(c)
        };
        match joined.await {
            Ok(c) => residents.push(c),
            Err(e) => r.errors.add(&e),
        }
    }
    let rss_start = p.pid.and_then(rss_kib);
    let mut waves = Vec::new();
    let mut rates = Vec::new();
    let mut rss = Vec::new();
    for wave in 0..p.waves {
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..p.concurrency.clamp(1, p.per_wave.max(1)) {
            let (next, target, tag) = (next.clone(), target.clone(), tag.clone());
            let (n, rooms) = (p.per_wave, p.rooms.max(1));
            workers.push(tokio::spawn(async move {
                let mut lat = Histogram::default();
                let mut errors = ErrorTally::default();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= n {
                        break;
                    }
                    let room = format!("bench{tag}c{}@{}", k % rooms, target.muc_domain);
                    let nick = format!("w{wave}c{k}");
                    let t = Instant::now();
                    match cycle(&target, k, &room, &nick).await {
                        Ok(()) => lat.record(t.elapsed().as_micros() as u64),
                        Err(e) => errors.add(&e),
                    }
                }
                (lat, errors)
            }));
        }
        let mut lat = Histogram::default();
        for w in workers {
            match w.await {
                Ok((l, e)) => {
                    lat.merge(&l);
                    r.errors.merge(&e);
                }
                Err(e) => r.errors.add_text(format!("worker failed: {e}")),
            }
        }
        let secs = started.elapsed().as_secs_f64();
        tokio::time::sleep(p.settle).await;
        let rate = per_sec(lat.count(), secs);
        let mem = p.pid.and_then(rss_kib);
        rates.push(rate);
        if let Some(m) = mem {
            rss.push(m);
        }
        let row = json!({
            "wave": wave,
            "ok": lat.count(),
            "cycles_per_s": (rate * 10.0).round() / 10.0,
            "cycle_p50_ms": lat.quantile_ms(0.5),
            "cycle_p99_ms": lat.quantile_ms(0.99),
            "rss_kib": mem,
        });
        eprintln!("churn wave {wave}: {row}");
        waves.push(row);
    }
    if let (Some(first), Some(last)) = (rates.first(), rates.last()) {
        r.figure("first_wave_cycles_per_s", *first);
        r.figure("last_wave_cycles_per_s", *last);
        r.figure(
            "last_over_first",
            if *first > 0.0 { last / first } else { 0.0 },
        );
        let mean = rates.iter().sum::<f64>() / rates.len() as f64;
        r.figure("mean_cycles_per_s", mean);
    }
    if let (Some(first), Some(last)) = (rss.first(), rss.last()) {
        if let Some(s) = rss_start {
            r.figure("rss_start_kib", s);
        }
        r.figure("rss_first_wave_kib", *first);
        r.figure("rss_last_wave_kib", *last);
        r.figure("rss_growth_kib", *last as f64 - *first as f64);
    }
    r.detail
        .insert("waves".into(), serde_json::Value::Array(waves));
    r
}
