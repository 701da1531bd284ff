//! Counters for the HTTP transports and their Prometheus text rendering at `/metrics`.
//! Plain atomics: incremented on connection and session events, read when scraped.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::core::Core;

/// The transports the counters are kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// RFC 7395 WebSocket.
    WebSocket,
    /// XEP-0124/0206 BOSH.
    Bosh,
}

impl Transport {
    fn label(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::Bosh => "bosh",
        }
    }
}

/// One transport's counters.
#[derive(Debug, Default)]
pub struct TransportCounters {
    /// Connections (WebSocket) or sessions (BOSH) ever opened.
    pub opened: AtomicU64,
    /// Connections or sessions ended.
    pub closed: AtomicU64,
    /// Sessions that authenticated.
    pub authenticated: AtomicU64,
    /// Streams ended with a stream error (or a BOSH terminal condition) sent by us.
    pub errors: AtomicU64,
}

/// Counters for the HTTP listener.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    /// WebSocket connections.
    pub websocket: TransportCounters,
    /// BOSH sessions.
    pub bosh: TransportCounters,
    /// WebSocket upgrades refused (no `xmpp` sub-protocol, origin not allowed).
    pub websocket_refused: AtomicU64,
    /// BOSH requests answered with a terminal error condition.
    pub bosh_request_errors: AtomicU64,
}

impl HttpMetrics {
    /// The counters of one transport.
    pub fn of(&self, t: Transport) -> &TransportCounters {
        match t {
            Transport::WebSocket => &self.websocket,
            Transport::Bosh => &self.bosh,
        }
    }

    /// Connections of `t` open now.
    pub fn open(&self, t: Transport) -> u64 {
        let c = self.of(t);
        c.opened
            .load(Ordering::Relaxed)
            .saturating_sub(c.closed.load(Ordering::Relaxed))
    }

    /// The Prometheus text exposition of these counters and the router's.
    pub fn render(&self, core: &Core) -> String {
        let mut out = String::with_capacity(2048);
        let transports = [Transport::WebSocket, Transport::Bosh];
        let mut family = |name: &str, kind: &str, help: &str, rows: &[(String, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, v) in rows {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        let per = |f: &dyn Fn(&TransportCounters) -> u64| -> Vec<(String, u64)> {
            transports
                .iter()
                .map(|t| (format!("{{transport=\"{}\"}}", t.label()), f(self.of(*t))))
                .collect()
        };
        family(
            "rookery_connections",
            "gauge",
            "Open client connections (BOSH: sessions) by transport.",
            &transports
                .iter()
                .map(|t| (format!("{{transport=\"{}\"}}", t.label()), self.open(*t)))
                .collect::<Vec<_>>(),
        );
        family(
            "rookery_connections_total",
            "counter",
            "Client connections (BOSH: sessions) opened since start, by transport.",
            &per(&|c| c.opened.load(Ordering::Relaxed)),
        );
        family(
            "rookery_authenticated_total",
            "counter",
            "Sessions that authenticated since start, by transport.",
            &per(&|c| c.authenticated.load(Ordering::Relaxed)),
        );
        family(
            "rookery_stream_errors_total",
            "counter",
            "Streams ended with a stream error sent by the server, by transport.",
            &per(&|c| c.errors.load(Ordering::Relaxed)),
        );
        family(
            "rookery_websocket_refused_total",
            "counter",
            "WebSocket upgrades refused (no xmpp sub-protocol, origin not allowed).",
            &[(
                String::new(),
                self.websocket_refused.load(Ordering::Relaxed),
            )],
        );
        family(
            "rookery_bosh_request_errors_total",
            "counter",
            "BOSH requests answered with a terminal condition.",
            &[(
                String::new(),
                self.bosh_request_errors.load(Ordering::Relaxed),
            )],
        );
        family(
            "rookery_bound_sessions",
            "gauge",
            "Sessions with a bound resource (every transport).",
            &[(String::new(), core.router.session_count() as u64)],
        );
        family(
            "rookery_queue_overflow_disconnects_total",
            "counter",
            "Sessions disconnected because their outbound queue overflowed.",
            &[(String::new(), core.router.overflow_disconnects())],
        );
        out
    }
}

/// Counts one connection of a transport for as long as it lives.
#[derive(Debug)]
pub struct ConnectionGuard {
    metrics: Arc<HttpMetrics>,
    transport: Transport,
}

impl ConnectionGuard {
    /// Counts a new connection.
    pub fn open(metrics: &Arc<HttpMetrics>, transport: Transport) -> Self {
        metrics.of(transport).opened.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard {
            metrics: metrics.clone(),
            transport,
        }
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.metrics
            .of(self.transport)
            .closed
            .fetch_add(1, Ordering::Relaxed);
    }
}
