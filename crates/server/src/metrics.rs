//! Server-wide counters, kept in [`crate::core::Core`] so every transport (TCP, WebSocket,
//! BOSH) counts into the same place, and their Prometheus text rendering for `/metrics`.
//!
//! Plain atomics for fixed series; a small map behind a `std::sync::Mutex` for labelled
//! series whose labels come from bounded sets (configured hosts, SASL mechanisms and
//! conditions, token refusal reasons). The lock is held only to bump or copy a number,
//! never across an `.await`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::core::Core;

pub use crate::transport::Transport;

/// One transport's counters.
#[derive(Debug, Default)]
pub struct TransportCounters {
    /// Connections (WebSocket, TCP) or sessions (BOSH) ever opened.
    pub opened: AtomicU64,
    /// Connections or sessions ended.
    pub closed: AtomicU64,
    /// Sessions that authenticated.
    pub authenticated: AtomicU64,
    /// Streams ended with a stream error (or a BOSH terminal condition) sent by us.
    pub errors: AtomicU64,
}

/// Stanza counts by kind kept by one session between flushes into [`KindCounters`]: a
/// fan-out delivers to every recipient session from whichever core it runs on, and one
/// shared atomic increment per delivery made every worker fight over the same cache line.
#[derive(Debug, Default)]
pub struct LocalKindCounts {
    message: u64,
    presence: u64,
    iq: u64,
}

impl LocalKindCounts {
    /// Counts one stanza named `kind` (`message`, `presence`, `iq`; others are ignored).
    pub fn count(&mut self, kind: &str) {
        match kind {
            "message" => self.message += 1,
            "presence" => self.presence += 1,
            "iq" => self.iq += 1,
            _ => {}
        }
    }
}

/// Stanza counts by kind.
#[derive(Debug, Default)]
pub struct KindCounters {
    message: AtomicU64,
    presence: AtomicU64,
    iq: AtomicU64,
}

impl KindCounters {
    /// Counts one stanza named `kind` (`message`, `presence`, `iq`; others are ignored).
    pub fn count(&self, kind: &str) {
        let c = match kind {
            "message" => &self.message,
            "presence" => &self.presence,
            "iq" => &self.iq,
            _ => return,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds counts kept locally by one session (see [`LocalKindCounts`]).
    pub fn add(&self, local: &mut LocalKindCounts) {
        for (shared, n) in [
            (&self.message, &mut local.message),
            (&self.presence, &mut local.presence),
            (&self.iq, &mut local.iq),
        ] {
            if *n > 0 {
                shared.fetch_add(*n, Ordering::Relaxed);
                *n = 0;
            }
        }
    }

    fn rows(&self) -> Vec<(String, u64)> {
        [
            ("message", &self.message),
            ("presence", &self.presence),
            ("iq", &self.iq),
        ]
        .iter()
        .map(|(k, c)| (format!("{{kind=\"{k}\"}}"), c.load(Ordering::Relaxed)))
        .collect()
    }
}

/// Distinct label sets kept per labelled series; later ones are counted under `other`
/// (the label sources are bounded, this only guards against surprises).
const MAX_LABEL_SETS: usize = 256;

/// A counter with string labels.
#[derive(Debug, Default)]
pub struct Labelled {
    values: Mutex<BTreeMap<Vec<String>, u64>>,
}

impl Labelled {
    /// Adds one for this label set.
    pub fn inc(&self, labels: &[&str]) {
        let Ok(mut map) = self.values.lock() else {
            return;
        };
        let key: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        if !map.contains_key(&key) && map.len() >= MAX_LABEL_SETS {
            *map.entry(vec!["other".to_owned(); labels.len()])
                .or_default() += 1;
            return;
        }
        *map.entry(key).or_default() += 1;
    }

    /// The current value for a label set (0 when never counted).
    pub fn get(&self, labels: &[&str]) -> u64 {
        let key: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        self.values
            .lock()
            .map(|m| m.get(&key).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Every label set's first label and value (single-label series).
    pub fn snapshot(&self) -> Vec<(String, u64)> {
        self.values
            .lock()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.first().cloned().unwrap_or_default(), *v))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn rows(&self, names: &[&str]) -> Vec<(String, u64)> {
        let snapshot = self.values.lock().map(|m| m.clone()).unwrap_or_default();
        snapshot
            .into_iter()
            .map(|(values, v)| {
                let labels: Vec<String> = names
                    .iter()
                    .zip(&values)
                    .map(|(n, val)| format!("{n}=\"{}\"", escape_label(val)))
                    .collect();
                (format!("{{{}}}", labels.join(",")), v)
            })
            .collect()
    }
}

fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Stream management (XEP-0198) counters.
#[derive(Debug, Default)]
pub struct SmCounters {
    /// `<enable/>` answered with `<enabled/>`.
    pub enabled: AtomicU64,
    /// Sessions resumed.
    pub resumed: AtomicU64,
    /// `<resume/>` answered with `<failed/>`.
    pub resume_failed: AtomicU64,
    /// Sessions that entered hibernation.
    pub hibernated: AtomicU64,
    /// Hibernating sessions taken over by a resumption.
    pub woken: AtomicU64,
    /// Hibernating sessions that ended (timeout, overflow, shutdown, eviction) without
    /// resuming.
    pub expired: AtomicU64,
    /// Hibernating sessions ended early because a hibernation cap was reached.
    pub evicted: AtomicU64,
    /// Undelivered stanzas answered with an error to their sender when a session ended.
    pub bounced: AtomicU64,
}

impl SmCounters {
    /// Sessions hibernating now.
    pub fn hibernating(&self) -> u64 {
        self.hibernated
            .load(Ordering::Relaxed)
            .saturating_sub(self.woken.load(Ordering::Relaxed))
            .saturating_sub(self.expired.load(Ordering::Relaxed))
    }
}

/// Every counter of the server.
#[derive(Debug, Default)]
pub struct Metrics {
    tcp: TransportCounters,
    websocket: TransportCounters,
    bosh: TransportCounters,
    /// WebSocket upgrades refused (no `xmpp` sub-protocol, origin not allowed).
    pub websocket_refused: AtomicU64,
    /// BOSH requests answered with a terminal error condition.
    pub bosh_request_errors: AtomicU64,
    /// Authenticated sessions by host and SASL mechanism.
    pub sessions: Labelled,
    /// SASL failures by condition (`not-authorized`, `invalid-mechanism`, ...).
    pub sasl_failures: Labelled,
    /// Token refusals by reason (Jitsi's reason texts).
    pub token_refusals: Labelled,
    /// Stanzas received from clients, by kind.
    pub stanzas_in: KindCounters,
    /// Stanzas written to clients, by kind.
    pub stanzas_out: KindCounters,
    /// Stream management.
    pub sm: SmCounters,
}

impl Metrics {
    /// The counters of one transport.
    pub fn of(&self, t: Transport) -> &TransportCounters {
        match t {
            Transport::Tcp => &self.tcp,
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

    /// Counts a successful authentication.
    pub fn authenticated(&self, t: Transport, host: &str, mechanism: &str) {
        self.of(t).authenticated.fetch_add(1, Ordering::Relaxed);
        self.sessions.inc(&[host, mechanism]);
    }

    /// Counts a stream ended by a stream error we sent.
    pub fn stream_error(&self, t: Transport) {
        self.of(t).errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Looks at an element the session sends: a SASL `<failure/>` is counted by condition.
    pub fn observe_negotiation(&self, el: &rookery_proto::Element) {
        if el.is("failure", rookery_proto::ns::SASL) {
            let cond = el
                .children()
                .find(|c| c.name != "text")
                .map(|c| c.name.as_str())
                .unwrap_or("unknown");
            self.sasl_failures.inc(&[cond]);
        }
    }

    /// The Prometheus text exposition of every counter, plus the router's gauges.
    pub fn render(&self, core: &Core) -> String {
        let mut out = String::with_capacity(4096);
        let mut family = |name: &str, kind: &str, help: &str, rows: &[(String, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, v) in rows {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        let per = |f: &dyn Fn(Transport) -> u64| -> Vec<(String, u64)> {
            Transport::ALL
                .iter()
                .map(|t| (format!("{{transport=\"{}\"}}", t.label()), f(*t)))
                .collect()
        };
        let plain = |v: &AtomicU64| vec![(String::new(), v.load(Ordering::Relaxed))];
        let mut rooms = Vec::new();
        let mut occupants = Vec::new();
        let mut refusals = Vec::new();
        let mut services: Vec<_> = core.services.iter().collect();
        services.sort_by(|a, b| a.0.cmp(b.0));
        for (domain, svc) in services {
            if let Some(st) = svc.muc_stats() {
                let d = escape_label(domain);
                rooms.push((format!("{{service=\"{d}\"}}"), st.rooms as u64));
                occupants.push((format!("{{service=\"{d}\"}}"), st.occupants));
                for (code, n) in st.refusals {
                    refusals.push((
                        format!("{{service=\"{d}\",code=\"{}\"}}", escape_label(&code)),
                        n,
                    ));
                }
            }
        }
        family(
            "rookery_muc_rooms",
            "gauge",
            "Live rooms per MUC service.",
            &rooms,
        );
        family(
            "rookery_muc_occupants",
            "gauge",
            "Occupants per MUC service.",
            &occupants,
        );
        family(
            "rookery_room_refusals_total",
            "counter",
            "Room joins or creations refused by token room verification, by Jitsi code.",
            &refusals,
        );
        family(
            "rookery_connections",
            "gauge",
            "Open client connections (BOSH: sessions) by transport.",
            &per(&|t| self.open(t)),
        );
        family(
            "rookery_connections_total",
            "counter",
            "Client connections (BOSH: sessions) opened since start, by transport.",
            &per(&|t| self.of(t).opened.load(Ordering::Relaxed)),
        );
        family(
            "rookery_authenticated_total",
            "counter",
            "Sessions that authenticated since start, by transport.",
            &per(&|t| self.of(t).authenticated.load(Ordering::Relaxed)),
        );
        family(
            "rookery_sessions_total",
            "counter",
            "Sessions that authenticated since start, by host and SASL mechanism.",
            &self.sessions.rows(&["host", "mechanism"]),
        );
        family(
            "rookery_sasl_failures_total",
            "counter",
            "SASL failures sent to clients, by condition.",
            &self.sasl_failures.rows(&["reason"]),
        );
        family(
            "rookery_token_refusals_total",
            "counter",
            "Tokens refused at authentication, by reason.",
            &self.token_refusals.rows(&["reason"]),
        );
        family(
            "rookery_stream_errors_total",
            "counter",
            "Streams ended with a stream error sent by the server, by transport.",
            &per(&|t| self.of(t).errors.load(Ordering::Relaxed)),
        );
        family(
            "rookery_stanzas_in_total",
            "counter",
            "Stanzas received from clients, by kind.",
            &self.stanzas_in.rows(),
        );
        family(
            "rookery_stanzas_out_total",
            "counter",
            "Stanzas written to clients, by kind.",
            &self.stanzas_out.rows(),
        );
        family(
            "rookery_websocket_refused_total",
            "counter",
            "WebSocket upgrades refused (no xmpp sub-protocol, origin not allowed).",
            &plain(&self.websocket_refused),
        );
        family(
            "rookery_bosh_request_errors_total",
            "counter",
            "BOSH requests answered with a terminal condition.",
            &plain(&self.bosh_request_errors),
        );
        family(
            "rookery_bound_sessions",
            "gauge",
            "Sessions with a bound resource (every transport, hibernating ones included).",
            &[(String::new(), core.router.session_count() as u64)],
        );
        family(
            "rookery_queue_overflow_disconnects_total",
            "counter",
            "Sessions disconnected because their outbound queue overflowed.",
            &[(String::new(), core.router.overflow_disconnects())],
        );
        family(
            "rookery_sm_enabled_total",
            "counter",
            "Streams that enabled stream management (XEP-0198).",
            &plain(&self.sm.enabled),
        );
        family(
            "rookery_sm_resumed_total",
            "counter",
            "Sessions resumed on a new connection.",
            &plain(&self.sm.resumed),
        );
        family(
            "rookery_sm_resume_failed_total",
            "counter",
            "Resumption attempts refused (unknown, expired or foreign id).",
            &plain(&self.sm.resume_failed),
        );
        family(
            "rookery_sm_hibernating",
            "gauge",
            "Sessions waiting for their client to resume.",
            &[(String::new(), self.sm.hibernating())],
        );
        family(
            "rookery_sm_hibernation_expired_total",
            "counter",
            "Hibernating sessions that ended without being resumed.",
            &plain(&self.sm.expired),
        );
        family(
            "rookery_sm_hibernation_evicted_total",
            "counter",
            "Hibernating sessions ended early to stay within smacks_max_hibernated_sessions/_total.",
            &plain(&self.sm.evicted),
        );
        family(
            "rookery_sm_bounced_total",
            "counter",
            "Undelivered stanzas answered with an error to their senders when a session ended.",
            &plain(&self.sm.bounced),
        );
        out
    }
}

/// Counts one connection of a transport for as long as it lives.
#[derive(Debug)]
pub struct ConnectionGuard {
    core: Arc<Core>,
    transport: Transport,
}

impl ConnectionGuard {
    /// Counts a new connection.
    pub fn open(core: &Arc<Core>, transport: Transport) -> Self {
        core.metrics
            .of(transport)
            .opened
            .fetch_add(1, Ordering::Relaxed);
        ConnectionGuard {
            core: core.clone(),
            transport,
        }
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.core
            .metrics
            .of(self.transport)
            .closed
            .fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_counters_render_escaped_and_sorted() {
        let l = Labelled::default();
        l.inc(&["b.example", "PLAIN"]);
        l.inc(&["a.example", "ANONYMOUS"]);
        l.inc(&["a.example", "ANONYMOUS"]);
        l.inc(&["q\"x", "y\\z"]);
        assert_eq!(l.get(&["a.example", "ANONYMOUS"]), 2);
        assert_eq!(
            l.rows(&["host", "mechanism"]),
            vec![
                ("{host=\"a.example\",mechanism=\"ANONYMOUS\"}".to_owned(), 2),
                ("{host=\"b.example\",mechanism=\"PLAIN\"}".to_owned(), 1),
                ("{host=\"q\\\"x\",mechanism=\"y\\\\z\"}".to_owned(), 1),
            ]
        );
    }

    #[test]
    fn label_sets_are_bounded() {
        let l = Labelled::default();
        for i in 0..(MAX_LABEL_SETS + 10) {
            l.inc(&[&i.to_string()]);
        }
        assert_eq!(l.get(&["other"]), 10);
        assert_eq!(l.rows(&["reason"]).len(), MAX_LABEL_SETS + 1);
    }

    #[test]
    fn sasl_failures_are_counted_by_condition() {
        let m = Metrics::default();
        let f = rookery_proto::Element::new("failure", rookery_proto::ns::SASL)
            .with_child(rookery_proto::Element::new(
                "not-authorized",
                rookery_proto::ns::SASL,
            ))
            .with_child(rookery_proto::Element::new("text", rookery_proto::ns::SASL));
        m.observe_negotiation(&f);
        m.observe_negotiation(&rookery_proto::Element::new(
            "success",
            rookery_proto::ns::SASL,
        ));
        assert_eq!(m.sasl_failures.get(&["not-authorized"]), 1);
        assert_eq!(m.sasl_failures.rows(&["reason"]).len(), 1);
    }
}
