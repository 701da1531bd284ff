//! Discussion history: a bounded ring of groupchat messages replayed on join with XEP-0203
//! delay stamps, trimmed by the joiner's `<history maxchars maxstanzas seconds since/>`.

use std::collections::VecDeque;
use std::time::Duration;

use rookery_proto::{Element, ns};

use crate::limits::approx_size;
use crate::time::Timestamp;

/// One stored message.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// The sender's nick when it was sent.
    pub nick: String,
    /// The message without `from`/`to`.
    pub stanza: Element,
    /// When the room received it.
    pub stamp: Timestamp,
    /// Approximate serialised size, for `maxchars` and the byte budget.
    pub size: usize,
}

impl HistoryEntry {
    /// The stanza as replayed: `from` the occupant JID in `view`, with a delay stamp whose
    /// `from` is the room JID (`view`).
    pub fn replay(&self, view: &str) -> Element {
        let mut m = self.stanza.clone();
        m.set_attr("from", format!("{view}/{}", self.nick));
        m.push_child(
            Element::new("delay", ns::DELAY)
                .with_attr("from", view)
                .with_attr("stamp", self.stamp.to_xep0082()),
        );
        m
    }
}

/// What a joiner asked for; all limits apply together (the smallest result wins).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryRequest {
    /// Most characters (serialised stanza bytes) in total.
    pub maxchars: Option<usize>,
    /// Most stanzas.
    pub maxstanzas: Option<usize>,
    /// Only messages from the last this many seconds.
    pub seconds: Option<u64>,
    /// Only messages since this instant.
    pub since: Option<Timestamp>,
}

impl HistoryRequest {
    /// Reads `<history/>` from the join's `<x xmlns='http://jabber.org/protocol/muc'/>`;
    /// malformed attributes are ignored (as if absent).
    pub fn from_join(muc_x: Option<&Element>) -> Self {
        let Some(h) = muc_x.and_then(|x| x.get_child("history", ns::MUC)) else {
            return Self::default();
        };
        HistoryRequest {
            maxchars: h.attr("maxchars").and_then(|v| v.trim().parse().ok()),
            maxstanzas: h.attr("maxstanzas").and_then(|v| v.trim().parse().ok()),
            seconds: h.attr("seconds").and_then(|v| v.trim().parse().ok()),
            since: h.attr("since").and_then(Timestamp::parse_xep0082),
        }
    }
}

/// The bounded history of one room.
#[derive(Debug, Clone)]
pub struct History {
    entries: VecDeque<HistoryEntry>,
    max_stanzas: usize,
    max_bytes: usize,
    bytes: usize,
}

impl History {
    /// Keeps at most `max_stanzas` messages and `max_bytes` approximate bytes.
    pub fn new(max_stanzas: usize, max_bytes: usize) -> Self {
        History {
            entries: VecDeque::new(),
            max_stanzas,
            max_bytes,
            bytes: 0,
        }
    }

    /// Stores a message (its `from`/`to` are dropped), evicting the oldest as needed.
    pub fn push(&mut self, nick: &str, mut stanza: Element, now: Timestamp) {
        if self.max_stanzas == 0 {
            return;
        }
        stanza.remove_attr("from");
        stanza.remove_attr("to");
        let size = approx_size(&stanza) + nick.len() + 96;
        if size > self.max_bytes {
            return;
        }
        self.entries.push_back(HistoryEntry {
            nick: nick.to_owned(),
            stanza,
            stamp: now,
            size,
        });
        self.bytes += size;
        while self.entries.len() > self.max_stanzas || self.bytes > self.max_bytes {
            match self.entries.pop_front() {
                Some(old) => self.bytes -= old.size,
                None => break,
            }
        }
    }

    /// The entries to replay for `req`, oldest first.
    pub fn select(&self, req: &HistoryRequest, now: Timestamp) -> Vec<&HistoryEntry> {
        let cutoff_secs = req.seconds.map(|s| now.minus(Duration::from_secs(s)));
        let cutoff = match (cutoff_secs, req.since) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let max_stanzas = req.maxstanzas.unwrap_or(usize::MAX);
        let mut chars = 0usize;
        let mut out = Vec::new();
        for e in self.entries.iter().rev() {
            if out.len() >= max_stanzas {
                break;
            }
            if cutoff.is_some_and(|c| e.stamp < c) {
                break;
            }
            if let Some(max) = req.maxchars {
                chars = chars.saturating_add(e.size);
                if chars > max {
                    break;
                }
            }
            out.push(e);
        }
        out.reverse();
        out
    }

    /// Number of stored messages.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(body: &str) -> Element {
        Element::new("message", ns::CLIENT)
            .with_attr("type", "groupchat")
            .with_attr("from", "someone@x/r")
            .with_child(Element::new("body", ns::CLIENT).with_text(body))
    }

    fn filled() -> History {
        let mut h = History::new(5, 1 << 20);
        for i in 0..7u64 {
            h.push(
                "n",
                msg(&format!("m{i}")),
                Timestamp::from_unix_secs(100 + i * 10),
            );
        }
        h
    }

    fn bodies(v: &[&HistoryEntry]) -> Vec<String> {
        v.iter()
            .map(|e| e.stanza.child_text("body", ns::CLIENT).unwrap())
            .collect()
    }

    #[test]
    fn keeps_the_newest() {
        let h = filled();
        assert_eq!(h.len(), 5);
        let all = h.select(&HistoryRequest::default(), Timestamp::from_unix_secs(1000));
        assert_eq!(bodies(&all), ["m2", "m3", "m4", "m5", "m6"]);
        assert_eq!(all.first().unwrap().stanza.attr("from"), None);
    }

    #[test]
    fn request_limits() {
        let h = filled();
        let now = Timestamp::from_unix_secs(165);
        let one = h.entries.front().unwrap().size;
        let cases: Vec<(HistoryRequest, Vec<&str>)> = vec![
            (
                HistoryRequest {
                    maxstanzas: Some(2),
                    ..Default::default()
                },
                vec!["m5", "m6"],
            ),
            (
                HistoryRequest {
                    maxchars: Some(0),
                    ..Default::default()
                },
                vec![],
            ),
            (
                HistoryRequest {
                    maxchars: Some(one * 3),
                    ..Default::default()
                },
                vec!["m4", "m5", "m6"],
            ),
            (
                HistoryRequest {
                    seconds: Some(20),
                    ..Default::default()
                },
                vec!["m5", "m6"],
            ),
            (
                HistoryRequest {
                    since: Some(Timestamp::from_unix_secs(140)),
                    ..Default::default()
                },
                vec!["m4", "m5", "m6"],
            ),
            (
                HistoryRequest {
                    since: Some(Timestamp::from_unix_secs(140)),
                    maxstanzas: Some(1),
                    seconds: Some(1000),
                    ..Default::default()
                },
                vec!["m6"],
            ),
        ];
        for (req, want) in cases {
            assert_eq!(bodies(&h.select(&req, now)), want, "{req:?}");
        }
    }

    #[test]
    fn parses_join_request_and_ignores_garbage() {
        let x = Element::new("x", ns::MUC).with_child(
            Element::new("history", ns::MUC)
                .with_attr("maxstanzas", "3")
                .with_attr("maxchars", "-1")
                .with_attr("seconds", "60")
                .with_attr("since", "1970-01-01T00:00:10Z"),
        );
        let r = HistoryRequest::from_join(Some(&x));
        assert_eq!(r.maxstanzas, Some(3));
        assert_eq!(r.maxchars, None);
        assert_eq!(r.seconds, Some(60));
        assert_eq!(r.since, Some(Timestamp::from_unix_secs(10)));
        assert_eq!(HistoryRequest::from_join(None), HistoryRequest::default());
    }

    #[test]
    fn replay_stamps_delay_from_the_room() {
        let h = filled();
        let e = *h
            .select(&HistoryRequest::default(), Timestamp::from_unix_secs(1000))
            .last()
            .unwrap();
        let r = e.replay("room@muc.example");
        assert_eq!(r.attr("from"), Some("room@muc.example/n"));
        let d = r.get_child("delay", ns::DELAY).unwrap();
        assert_eq!(d.attr("from"), Some("room@muc.example"));
        assert_eq!(d.attr("stamp"), Some("1970-01-01T00:02:40Z"));
    }

    #[test]
    fn byte_budget_and_zero_length() {
        let mut h = History::new(100, 400);
        for i in 0..10 {
            h.push("n", msg(&format!("{i}")), Timestamp::from_unix_secs(i));
        }
        assert!(h.bytes <= 400 && !h.is_empty() && h.len() < 10);
        h.push("n", msg(&"x".repeat(1000)), Timestamp::from_unix_secs(20));
        assert!(h.bytes <= 400, "an oversized message is not stored");
        let mut none = History::new(0, 400);
        none.push("n", msg("x"), Timestamp::from_unix_secs(1));
        assert!(none.is_empty());
    }
}
