//! The load scenarios. Each takes a [`Target`] and its parameters and returns a [`Report`].

pub mod churn;
pub mod connect;
pub mod idle;
pub mod occupant;
pub mod rooms;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::client::{Client, login};
use crate::histogram::Histogram;
use crate::report::ErrorTally;
use crate::target::{Target, Transport};

/// What to do with each connection once it is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterLogin {
    /// Send the stream footer and drop it (login-rate measurement).
    Close,
    /// Keep it, with its read buffer released (idle-memory measurement).
    KeepIdle,
    /// Keep it ready for traffic.
    Keep,
}

/// Result of logging in many clients with bounded concurrency.
#[derive(Debug, Default)]
pub struct ConnectOutcome {
    /// Clients kept, indexed by client number (`None` where the login failed or was closed).
    pub clients: Vec<Option<Client>>,
    /// Number of successful logins.
    pub ok: u64,
    /// Wall time of the whole batch, seconds.
    pub secs: f64,
    /// Per-login latency (TCP connect to bind result), microseconds.
    pub latency: Histogram,
    /// Failed logins.
    pub errors: ErrorTally,
}

/// Logs in clients `first..first+n` with at most `concurrency` logins in flight.
pub async fn connect_many(
    target: &Arc<Target>,
    transport: Transport,
    first: usize,
    n: usize,
    concurrency: usize,
    after: AfterLogin,
) -> ConnectOutcome {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.clamp(1, n.max(1)) {
        let next = next.clone();
        let target = target.clone();
        workers.push(tokio::spawn(async move {
            let mut kept = Vec::new();
            let mut latency = Histogram::default();
            let mut errors = ErrorTally::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                match login(&target, transport, first + i).await {
                    Ok(mut client) => {
                        latency.record(t.elapsed().as_micros() as u64);
                        match after {
                            AfterLogin::Close => {
                                let _ = client.writer.close_stream().await;
                                client.writer.shutdown().await;
                            }
                            AfterLogin::KeepIdle => {
                                client.reader.shrink();
                                kept.push((i, client));
                            }
                            AfterLogin::Keep => kept.push((i, client)),
                        }
                    }
                    Err(e) => errors.add(&e),
                }
            }
            (kept, latency, errors)
        }));
    }
    let mut out = ConnectOutcome {
        clients: (0..n).map(|_| None).collect(),
        ..Default::default()
    };
    for w in workers {
        match w.await {
            Ok((kept, latency, errors)) => {
                for (i, c) in kept {
                    if let Some(slot) = out.clients.get_mut(i) {
                        *slot = Some(c);
                    }
                }
                out.latency.merge(&latency);
                out.errors.merge(&errors);
            }
            Err(e) => out.errors.add_text(format!("worker failed: {e}")),
        }
    }
    out.secs = started.elapsed().as_secs_f64();
    out.ok = out.latency.count();
    out
}

/// Closes kept clients, a few at a time, without waiting long for each.
pub async fn close_all(clients: Vec<Option<Client>>) {
    let mut set = tokio::task::JoinSet::new();
    for c in clients.into_iter().flatten() {
        set.spawn(async move {
            let mut c = c;
            let _ = c.writer.close_stream().await;
            c.writer.shutdown().await;
        });
        if set.len() >= 256 {
            let _ = set.join_next().await;
        }
    }
    while set.join_next().await.is_some() {}
}

/// A unique-enough tag for room names of this run, so repeated runs never share rooms.
pub fn run_tag() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}{:x}", std::process::id(), nanos % 0xffff_ffff)
}
