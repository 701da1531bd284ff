//! The XEP-0124 request-id window (§14): requests are processed in `rid` order, a client
//! may have up to `requests` of them outstanding, and the last answers are kept so a
//! request retransmitted after a broken connection gets exactly the same response.

use std::collections::VecDeque;

use bytes::Bytes;

/// Where a request's `rid` falls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RidPlace {
    /// The rid the session expects next: process it now.
    Next,
    /// Ahead of the next one but inside the window: keep it until the gap fills.
    Ahead,
    /// Already answered, and the answer is still cached: send it again.
    Answered(Bytes),
    /// Before the next rid and not cached (possibly a request still held).
    Past,
    /// Beyond the window: `item-not-found`.
    Beyond,
}

/// The rid bookkeeping of one BOSH session.
#[derive(Debug)]
pub(super) struct RidWindow {
    next: u64,
    size: u64,
    cache: VecDeque<(u64, Bytes)>,
}

impl RidWindow {
    /// A window whose first expected rid is `first` (the session creation request's), with
    /// room for `size` outstanding requests.
    pub(super) fn new(first: u64, size: u32) -> Self {
        RidWindow {
            next: first,
            size: u64::from(size.max(1)),
            cache: VecDeque::new(),
        }
    }

    /// The rid to process next.
    pub(super) fn next(&self) -> u64 {
        self.next
    }

    /// Classifies a request's rid.
    pub(super) fn place(&self, rid: u64) -> RidPlace {
        if rid >= self.next {
            return match rid - self.next {
                0 => RidPlace::Next,
                d if d < self.size => RidPlace::Ahead,
                _ => RidPlace::Beyond,
            };
        }
        match self.cache.iter().find(|(r, _)| *r == rid) {
            Some((_, body)) => RidPlace::Answered(body.clone()),
            None => RidPlace::Past,
        }
    }

    /// The request with the next rid was processed.
    pub(super) fn advance(&mut self) {
        self.next = self.next.saturating_add(1);
    }

    /// Remembers the response to `rid`, forgetting the oldest beyond the window size.
    pub(super) fn record(&mut self, rid: u64, body: Bytes) {
        self.cache.retain(|(r, _)| *r != rid);
        self.cache.push_back((rid, body));
        while self.cache.len() as u64 > self.size {
            self.cache.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_in_a_window_of_two() {
        let mut w = RidWindow::new(100, 2);
        let cases = [
            (99, RidPlace::Past),
            (100, RidPlace::Next),
            (101, RidPlace::Ahead),
            (102, RidPlace::Beyond),
            (u64::MAX, RidPlace::Beyond),
        ];
        for (rid, want) in cases {
            assert_eq!(w.place(rid), want, "rid {rid}");
        }
        w.record(100, Bytes::from_static(b"a"));
        w.advance();
        assert_eq!(w.next(), 101);
        assert_eq!(w.place(100), RidPlace::Answered(Bytes::from_static(b"a")));
        assert_eq!(w.place(102), RidPlace::Ahead);
        assert_eq!(w.place(103), RidPlace::Beyond);
    }

    #[test]
    fn cache_keeps_the_last_window_of_answers() {
        let mut w = RidWindow::new(1, 2);
        for rid in 1..=4u64 {
            w.record(rid, Bytes::from(rid.to_string()));
            w.advance();
        }
        assert_eq!(w.place(1), RidPlace::Past);
        assert_eq!(w.place(2), RidPlace::Past);
        assert_eq!(w.place(3), RidPlace::Answered(Bytes::from_static(b"3")));
        assert_eq!(w.place(4), RidPlace::Answered(Bytes::from_static(b"4")));
        // Re-recording a rid replaces, never duplicates.
        w.record(4, Bytes::from_static(b"x"));
        assert_eq!(w.place(4), RidPlace::Answered(Bytes::from_static(b"x")));
        assert_eq!(w.place(3), RidPlace::Answered(Bytes::from_static(b"3")));
    }

    #[test]
    fn never_overflows_at_the_top() {
        let mut w = RidWindow::new(u64::MAX, 2);
        assert_eq!(w.place(u64::MAX), RidPlace::Next);
        w.advance();
        assert_eq!(w.next(), u64::MAX);
    }
}
