//! Per-occupant limits: a token bucket for presence storms and a cheap size estimate.

use rookery_proto::{Element, Node};

use crate::time::Timestamp;

/// A token bucket refilled continuously; tokens are counted in thousandths so that a rate of
/// a few per second still refills smoothly at millisecond resolution.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    milli_tokens: u64,
    last: Timestamp,
}

impl RateLimiter {
    /// A full bucket of `burst` tokens at `now`.
    pub fn new(burst: u32, now: Timestamp) -> Self {
        RateLimiter {
            milli_tokens: u64::from(burst) * 1000,
            last: now,
        }
    }

    /// Takes one token if available, refilling `per_second` tokens per second up to `burst`.
    pub fn allow(&mut self, now: Timestamp, burst: u32, per_second: u32) -> bool {
        let cap = u64::from(burst) * 1000;
        let elapsed = now.millis_since(self.last);
        self.last = self.last.max(now);
        let refill = elapsed.saturating_mul(u64::from(per_second));
        self.milli_tokens = self.milli_tokens.saturating_add(refill).min(cap);
        if self.milli_tokens >= 1000 {
            self.milli_tokens -= 1000;
            true
        } else {
            false
        }
    }
}

/// Approximate serialised size of an element in bytes (names, attributes, text, tag
/// punctuation); used for limits, not for framing, so it never serialises.
pub fn approx_size(el: &Element) -> usize {
    let mut n = 2 * el.name.len() + 5 + el.ns.len() + 9;
    for (k, v) in &el.attrs {
        n += k.len() + v.len() + 4;
    }
    for node in &el.nodes {
        n += match node {
            Node::Element(c) => approx_size(c),
            Node::Text(t) => t.len(),
        };
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_bursts_then_refills() {
        let t0 = Timestamp::from_unix_secs(100);
        let mut r = RateLimiter::new(3, t0);
        assert!((0..3).all(|_| r.allow(t0, 3, 2)));
        assert!(!r.allow(t0, 3, 2));
        // 2 per second: one token after 500 ms
        let t1 = t0.plus(std::time::Duration::from_millis(499));
        assert!(!r.allow(t1, 3, 2));
        let t2 = t0.plus(std::time::Duration::from_millis(500));
        assert!(r.allow(t2, 3, 2));
        // a long pause refills only up to the burst
        let t3 = t0.plus(std::time::Duration::from_secs(3600));
        assert_eq!((0..10).filter(|_| r.allow(t3, 3, 2)).count(), 3);
        // time going backwards refills nothing
        assert!(!r.allow(t0, 3, 2));
    }

    #[test]
    fn size_is_close_to_serialised_length() {
        let el = Element::new("presence", "jabber:client")
            .with_attr("id", "abc")
            .with_child(Element::new("status", "jabber:client").with_text("hello there"))
            .with_child(Element::new("x", "urn:example:ext").with_attr("k", "v"));
        let real = el.to_bytes().len();
        let approx = approx_size(&el);
        assert!(
            approx >= real / 2 && approx <= real * 2,
            "{approx} vs {real}"
        );
    }
}
