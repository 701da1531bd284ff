//! `connect`: N logins (stream, SASL, restart, bind) with bounded concurrency.

use std::sync::Arc;

use super::{AfterLogin, connect_many};
use crate::report::{Report, per_sec};
use crate::target::{Target, Transport};

/// Parameters of the `connect` scenario.
#[derive(Debug, Clone)]
pub struct ConnectParams {
    /// Number of logins.
    pub connections: usize,
    /// Logins in flight at once.
    pub concurrency: usize,
}

/// Runs the `connect` scenario: each connection logs in, then closes its stream.
pub async fn run(target: Arc<Target>, p: &ConnectParams) -> Report {
    let mut r = Report::new("connect");
    r.param("connections", p.connections);
    r.param("concurrency", p.concurrency);
    let out = connect_many(
        &target,
        Transport::Tcp,
        0,
        p.connections,
        p.concurrency,
        AfterLogin::Close,
    )
    .await;
    r.figure("connected", out.ok);
    r.figure("secs", out.secs);
    r.figure("conns_per_s", per_sec(out.ok, out.secs));
    r.figure("login_p50_ms", out.latency.quantile_ms(0.5));
    r.figure("login_p99_ms", out.latency.quantile_ms(0.99));
    r.figure("login_max_ms", out.latency.max() as f64 / 1000.0);
    r.errors = out.errors;
    r
}
