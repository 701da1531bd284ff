//! `idle`: hold N bound connections and read the server's resident memory per connection.

use std::sync::Arc;
use std::time::Duration;

use super::{AfterLogin, close_all, connect_many};
use crate::report::{Report, per_sec};
use crate::rss::rss_kib;
use crate::target::{Target, Transport};

/// Parameters of the `idle` scenario.
#[derive(Debug, Clone)]
pub struct IdleParams {
    /// Connections to hold.
    pub connections: usize,
    /// Logins in flight at once.
    pub concurrency: usize,
    /// Server pid whose VmRSS is read (no memory figures without it).
    pub pid: Option<u32>,
    /// Pause after the last login before reading memory (lets the server settle).
    pub settle: Duration,
}

/// Runs the `idle` scenario.
pub async fn run(target: Arc<Target>, p: &IdleParams) -> Report {
    let mut r = Report::new("idle");
    r.param("connections", p.connections);
    r.param("concurrency", p.concurrency);
    r.param("settle_ms", p.settle.as_millis() as u64);
    let before = p.pid.and_then(rss_kib);
    let out = connect_many(
        &target,
        Transport::Tcp,
        0,
        p.connections,
        p.concurrency,
        AfterLogin::KeepIdle,
    )
    .await;
    r.figure("held", out.ok);
    r.figure("conns_per_s", per_sec(out.ok, out.secs));
    tokio::time::sleep(p.settle).await;
    let after = p.pid.and_then(rss_kib);
    if let (Some(b), Some(a)) = (before, after) {
        r.figure("rss_before_kib", b);
        r.figure("rss_after_kib", a);
        if out.ok > 0 {
            r.figure("kib_per_conn", (a as f64 - b as f64) / out.ok as f64);
        }
    } else if p.pid.is_some() {
        r.errors
            .add_text("could not read /proc/<pid>/status".into());
    }
    r.errors.merge(&out.errors);
    close_all(out.clients).await;
    r
}
