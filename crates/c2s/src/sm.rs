//! XEP-0198 stream management, sans-io: the elements (`enable`, `r`, `a`, `resume` from the
//! client; `enabled`, `resumed`, `failed`, `r`, `a` from the server), and the outbound side's
//! unacknowledged queue with its counters and ack-request cadence.
//!
//! Counts are modulo 2^32 as the XEP says: every comparison goes through `wrapping_sub`, so a
//! session that has exchanged more than four billion stanzas keeps working. The inbound
//! counter (`h` of stanzas received from the client) lives in [`crate::Session`], which sees
//! every stanza; the outbound queue lives with the transport driver, which sees every
//! delivery.

use std::collections::VecDeque;

use rookery_proto::{Element, StanzaErrorCondition, StreamErrorCondition, ns, stream_error};

/// A stream-management element sent by the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmRequest {
    /// `<enable/>`: start counting; `resume` asks for resumption, `max` is the client's
    /// preferred longest resumption time in seconds.
    Enable {
        /// `resume='true'` (or `'1'`).
        resume: bool,
        /// The client's preferred maximum resumption time, seconds.
        max: Option<u32>,
    },
    /// `<r/>`: the client asks how many of its stanzas we handled.
    Request,
    /// `<a h=''/>`: the client handled `h` of our stanzas.
    Ack {
        /// Stanzas handled, modulo 2^32.
        h: u32,
    },
    /// `<resume previd='' h=''/>`: take over a previous session.
    Resume {
        /// The id from that session's `<enabled/>`.
        previd: String,
        /// Stanzas the client handled from that session, modulo 2^32.
        h: u32,
    },
}

/// Why an element in the stream-management namespace could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmParseError {
    /// An element a client never sends (`enabled`, `failed`, unknown names).
    #[error("unexpected stream management element <{0}/>")]
    Unexpected(String),
    /// A required attribute is missing or not of its type.
    #[error("stream management <{element}/> has a bad '{attribute}' attribute")]
    BadAttribute {
        /// The element.
        element: &'static str,
        /// The attribute.
        attribute: &'static str,
    },
}

impl SmParseError {
    /// The stream error a malformed element deserves.
    pub fn condition(&self) -> StreamErrorCondition {
        match self {
            SmParseError::Unexpected(_) => StreamErrorCondition::UnsupportedStanzaType,
            SmParseError::BadAttribute { .. } => StreamErrorCondition::BadFormat,
        }
    }
}

fn counter(el: &Element, element: &'static str) -> Result<u32, SmParseError> {
    el.attr("h")
        .and_then(|h| h.trim().parse::<u32>().ok())
        .ok_or(SmParseError::BadAttribute {
            element,
            attribute: "h",
        })
}

impl SmRequest {
    /// Reads an element in the `urn:xmpp:sm:3` namespace.
    pub fn parse(el: &Element) -> Result<SmRequest, SmParseError> {
        if el.ns != ns::SM {
            return Err(SmParseError::Unexpected(el.name.clone()));
        }
        match el.name.as_str() {
            "enable" => {
                let resume = matches!(el.attr("resume"), Some("true" | "1"));
                let max =
                    match el.attr("max") {
                        None => None,
                        Some(m) => Some(m.trim().parse::<u32>().map_err(|_| {
                            SmParseError::BadAttribute {
                                element: "enable",
                                attribute: "max",
                            }
                        })?),
                    };
                Ok(SmRequest::Enable { resume, max })
            }
            "r" => Ok(SmRequest::Request),
            "a" => Ok(SmRequest::Ack {
                h: counter(el, "a")?,
            }),
            "resume" => {
                let previd = el
                    .attr("previd")
                    .filter(|p| !p.is_empty())
                    .ok_or(SmParseError::BadAttribute {
                        element: "resume",
                        attribute: "previd",
                    })?
                    .to_owned();
                Ok(SmRequest::Resume {
                    previd,
                    h: counter(el, "resume")?,
                })
            }
            other => Err(SmParseError::Unexpected(other.to_owned())),
        }
    }
}

/// `<enabled/>`: with an `id` (and `resume='true'`) when the session can be resumed, and
/// the server's `max` resumption time.
pub fn enabled(id: Option<&str>, max: Option<u32>) -> Element {
    let mut e = Element::new("enabled", ns::SM);
    if let Some(id) = id {
        e.set_attr("id", id);
        e.set_attr("resume", "true");
        if let Some(max) = max {
            e.set_attr("max", max.to_string());
        }
    }
    e
}

/// `<resumed previd='' h=''/>`: `h` counts the client's stanzas the old session handled.
pub fn resumed(previd: &str, h: u32) -> Element {
    Element::new("resumed", ns::SM)
        .with_attr("previd", previd)
        .with_attr("h", h.to_string())
}

/// `<failed/>` with a stanza error condition (and `h`, when the server knows it).
pub fn failed(condition: StanzaErrorCondition, h: Option<u32>) -> Element {
    Element::new("failed", ns::SM)
        .with_opt_attr("h", h.map(|h| h.to_string()))
        .with_child(Element::new(condition.as_str(), ns::STANZAS))
}

/// `<r/>`: asks the client to acknowledge.
pub fn request() -> Element {
    Element::new("r", ns::SM)
}

/// `<a h=''/>`: acknowledges `h` stanzas from the client.
pub fn ack(h: u32) -> Element {
    Element::new("a", ns::SM).with_attr("h", h.to_string())
}

/// The client acknowledged stanzas that were never sent (XEP-0198 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("You acknowledged {h} stanzas, but I only sent you {sent} so far.")]
pub struct HandledCountTooHigh {
    /// The client's `h`.
    pub h: u32,
    /// Stanzas sent so far, modulo 2^32.
    pub sent: u32,
}

impl HandledCountTooHigh {
    /// The stream error the XEP prescribes: `undefined-condition` with a
    /// `<handled-count-too-high/>` child and an explanatory text.
    pub fn stream_error(&self) -> Element {
        let mut e = stream_error(
            StreamErrorCondition::UndefinedCondition,
            Some(&self.to_string()),
        );
        e.push_child(
            Element::new("handled-count-too-high", ns::SM)
                .with_attr("h", self.h.to_string())
                .with_attr("send-count", self.sent.to_string()),
        );
        e
    }
}

/// The unacknowledged queue was full: the item that did not fit comes back.
#[derive(Debug)]
pub struct QueueFull<T>(pub T);

/// What an acknowledgement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acked {
    /// This many stanzas left the queue.
    Dropped(usize),
    /// The `h` is older than one already received (a repeated or reordered ack): ignored.
    Stale,
}

/// Stanzas sent since the last acknowledgement, in order, with the counters XEP-0198 keeps
/// for the outbound direction and the policy of when to send `<r/>`.
///
/// `T` is whatever the transport needs to resend or bounce a stanza.
#[derive(Debug)]
pub struct OutboundQueue<T> {
    items: VecDeque<T>,
    /// Stanzas sent since `<enabled/>`, modulo 2^32.
    sent: u32,
    /// The client's last `h`.
    acked: u32,
    limit: usize,
    request_every: u32,
    request_outstanding: bool,
}

impl<T> OutboundQueue<T> {
    /// An empty queue holding at most `limit` unacknowledged stanzas, asking for an ack
    /// after every `request_every` stanzas (at least 1).
    pub fn new(limit: usize, request_every: u32) -> Self {
        OutboundQueue {
            items: VecDeque::new(),
            sent: 0,
            acked: 0,
            limit: limit.max(1),
            request_every: request_every.max(1),
            request_outstanding: false,
        }
    }

    /// Records a stanza that is being written. `Ok(true)` means an `<r/>` should follow it
    /// (at least `request_every` stanzas wait and no request is outstanding); `Err` gives
    /// the stanza back when the queue is full (the stream must then end).
    pub fn push(&mut self, item: T) -> Result<bool, QueueFull<T>> {
        if self.items.len() >= self.limit {
            return Err(QueueFull(item));
        }
        self.items.push_back(item);
        self.sent = self.sent.wrapping_add(1);
        if !self.request_outstanding && self.items.len() >= self.request_every as usize {
            self.request_outstanding = true;
            return Ok(true);
        }
        Ok(false)
    }

    /// Applies the client's `h`: drops what it acknowledges. An `h` beyond what was sent is
    /// an error; one behind the last ack is ignored.
    pub fn ack(&mut self, h: u32) -> Result<Acked, HandledCountTooHigh> {
        let newly = h.wrapping_sub(self.acked);
        // The queue is far smaller than 2^31, so a difference in the upper half can only
        // be an `h` from the past.
        if newly > u32::MAX / 2 {
            return Ok(Acked::Stale);
        }
        let newly = newly as usize;
        if newly > self.items.len() {
            return Err(HandledCountTooHigh { h, sent: self.sent });
        }
        self.items.drain(..newly);
        self.acked = h;
        self.request_outstanding = false;
        Ok(Acked::Dropped(newly))
    }

    /// A periodic check: true when stanzas wait for an ack and none was requested since
    /// the last answer (the caller sends `<r/>`).
    pub fn tick(&mut self) -> bool {
        if self.items.is_empty() || self.request_outstanding {
            return false;
        }
        self.request_outstanding = true;
        true
    }

    /// The unacknowledged stanzas, oldest first (what a resumption resends).
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    /// Number of unacknowledged stanzas.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when everything sent was acknowledged.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Stanzas sent since `<enabled/>`, modulo 2^32.
    pub fn sent(&self) -> u32 {
        self.sent
    }

    /// The client's last acknowledged count.
    pub fn acked(&self) -> u32 {
        self.acked
    }

    /// Takes every unacknowledged stanza out (the session ends and they are bounced).
    pub fn take_all(&mut self) -> VecDeque<T> {
        std::mem::take(&mut self.items)
    }

    /// Forgets that an `<r/>` is outstanding (a new connection took over: the old one's
    /// request will never be answered).
    pub fn reset_request(&mut self) {
        self.request_outstanding = false;
    }

    #[cfg(test)]
    fn starting_at(limit: usize, request_every: u32, count: u32) -> Self {
        let mut q = Self::new(limit, request_every);
        q.sent = count;
        q.acked = count;
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(xml: &str) -> Element {
        let mut p = rookery_proto::StreamParser::new_fragments(
            rookery_proto::Limits {
                max_stanza_bytes: 4096,
                max_depth: 8,
            },
            "jabber:client",
        );
        p.feed(xml.as_bytes());
        match p.next_event().unwrap() {
            Some(rookery_proto::StreamEvent::Element(e)) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_client_elements() {
        let sm = "xmlns='urn:xmpp:sm:3'";
        let cases: Vec<(String, Result<SmRequest, SmParseError>)> = vec![
            (
                format!("<enable {sm}/>"),
                Ok(SmRequest::Enable {
                    resume: false,
                    max: None,
                }),
            ),
            (
                format!("<enable {sm} resume='true' max='300'/>"),
                Ok(SmRequest::Enable {
                    resume: true,
                    max: Some(300),
                }),
            ),
            (
                format!("<enable {sm} resume='1'/>"),
                Ok(SmRequest::Enable {
                    resume: true,
                    max: None,
                }),
            ),
            (
                format!("<enable {sm} resume='false'/>"),
                Ok(SmRequest::Enable {
                    resume: false,
                    max: None,
                }),
            ),
            (
                format!("<enable {sm} max='-1'/>"),
                Err(SmParseError::BadAttribute {
                    element: "enable",
                    attribute: "max",
                }),
            ),
            (format!("<r {sm}/>"), Ok(SmRequest::Request)),
            (format!("<a {sm} h='0'/>"), Ok(SmRequest::Ack { h: 0 })),
            (
                format!("<a {sm} h='4294967295'/>"),
                Ok(SmRequest::Ack { h: u32::MAX }),
            ),
            (
                format!("<a {sm} h='4294967296'/>"),
                Err(SmParseError::BadAttribute {
                    element: "a",
                    attribute: "h",
                }),
            ),
            (
                format!("<a {sm}/>"),
                Err(SmParseError::BadAttribute {
                    element: "a",
                    attribute: "h",
                }),
            ),
            (
                format!("<resume {sm} previd='abc' h='7'/>"),
                Ok(SmRequest::Resume {
                    previd: "abc".into(),
                    h: 7,
                }),
            ),
            (
                format!("<resume {sm} h='7'/>"),
                Err(SmParseError::BadAttribute {
                    element: "resume",
                    attribute: "previd",
                }),
            ),
            (
                format!("<resume {sm} previd='abc' h='x'/>"),
                Err(SmParseError::BadAttribute {
                    element: "resume",
                    attribute: "h",
                }),
            ),
            (
                format!("<enabled {sm}/>"),
                Err(SmParseError::Unexpected("enabled".into())),
            ),
            (
                "<r xmlns='urn:xmpp:sm:2'/>".to_owned(),
                Err(SmParseError::Unexpected("r".into())),
            ),
        ];
        for (xml, want) in cases {
            assert_eq!(SmRequest::parse(&el(&xml)), want, "{xml}");
        }
    }

    #[test]
    fn server_elements() {
        let cases = [
            (
                enabled(Some("id1"), Some(60)),
                "<enabled xmlns=\"urn:xmpp:sm:3\" id=\"id1\" resume=\"true\" max=\"60\"/>",
            ),
            (
                enabled(None, Some(60)),
                "<enabled xmlns=\"urn:xmpp:sm:3\"/>",
            ),
            (
                resumed("id1", 5),
                "<resumed xmlns=\"urn:xmpp:sm:3\" previd=\"id1\" h=\"5\"/>",
            ),
            (
                failed(StanzaErrorCondition::ItemNotFound, None),
                "<failed xmlns=\"urn:xmpp:sm:3\"><item-not-found xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/></failed>",
            ),
            (
                failed(StanzaErrorCondition::UnexpectedRequest, Some(3)),
                "<failed xmlns=\"urn:xmpp:sm:3\" h=\"3\"><unexpected-request xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/></failed>",
            ),
            (request(), "<r xmlns=\"urn:xmpp:sm:3\"/>"),
            (
                ack(u32::MAX),
                "<a xmlns=\"urn:xmpp:sm:3\" h=\"4294967295\"/>",
            ),
        ];
        for (el, want) in cases {
            assert_eq!(el.to_xml_string(), want);
        }
    }

    #[test]
    fn too_high_error_says_what_the_xep_says() {
        let e = HandledCountTooHigh { h: 10, sent: 8 }.stream_error();
        assert!(e.has_child("undefined-condition", ns::STREAM_ERRORS));
        assert_eq!(
            e.child_text("text", ns::STREAM_ERRORS).as_deref(),
            Some("You acknowledged 10 stanzas, but I only sent you 8 so far.")
        );
        let c = e.get_child("handled-count-too-high", ns::SM).unwrap();
        assert_eq!((c.attr("h"), c.attr("send-count")), (Some("10"), Some("8")));
    }

    #[test]
    fn acks_drop_in_order() {
        let mut q = OutboundQueue::new(100, 1000);
        for i in 0..5 {
            assert!(!q.push(i).unwrap());
        }
        assert_eq!(q.sent(), 5);
        assert_eq!(q.ack(2), Ok(Acked::Dropped(2)));
        assert_eq!(q.iter().copied().collect::<Vec<_>>(), vec![2, 3, 4]);
        // Repeating the same ack drops nothing; an older one is stale.
        assert_eq!(q.ack(2), Ok(Acked::Dropped(0)));
        assert_eq!(q.ack(1), Ok(Acked::Stale));
        assert_eq!(q.ack(5), Ok(Acked::Dropped(3)));
        assert!(q.is_empty());
        assert_eq!(q.ack(6), Err(HandledCountTooHigh { h: 6, sent: 5 }));
        // The failed ack changed nothing.
        assert_eq!(q.acked(), 5);
    }

    #[test]
    fn counts_wrap_at_2_pow_32() {
        // Table: (start count, stanzas pushed, h acknowledged, expected outcome, left).
        type Case = (u32, u32, u32, Result<Acked, HandledCountTooHigh>, usize);
        let cases: Vec<Case> = vec![
            (u32::MAX - 1, 4, 1, Ok(Acked::Dropped(3)), 1),
            (u32::MAX - 1, 4, 2, Ok(Acked::Dropped(4)), 0),
            (u32::MAX, 1, 0, Ok(Acked::Dropped(1)), 0),
            (u32::MAX, 3, 0, Ok(Acked::Dropped(1)), 2),
            (
                u32::MAX - 1,
                4,
                3,
                Err(HandledCountTooHigh { h: 3, sent: 2 }),
                4,
            ),
            (u32::MAX - 1, 4, u32::MAX - 2, Ok(Acked::Stale), 4),
            (u32::MAX - 1, 4, u32::MAX, Ok(Acked::Dropped(1)), 3),
        ];
        for (start, pushed, h, want, left) in cases {
            let mut q = OutboundQueue::starting_at(100, 1000, start);
            for i in 0..pushed {
                q.push(i).unwrap();
            }
            assert_eq!(q.sent(), start.wrapping_add(pushed));
            assert_eq!(q.ack(h), want, "start {start} pushed {pushed} h {h}");
            assert_eq!(q.len(), left, "start {start} pushed {pushed} h {h}");
        }
    }

    #[test]
    fn the_queue_is_bounded() {
        let mut q = OutboundQueue::new(3, 1000);
        for i in 0..3 {
            q.push(i).unwrap();
        }
        let QueueFull(back) = q.push(9).unwrap_err();
        assert_eq!(back, 9);
        assert_eq!(q.sent(), 3);
        q.ack(1).unwrap();
        assert!(q.push(9).is_ok());
    }

    #[test]
    fn ack_requests_follow_the_cadence() {
        let mut q = OutboundQueue::new(100, 3);
        let asked: Vec<bool> = (0..7).map(|i| q.push(i).unwrap()).collect();
        // The third unacknowledged stanza asks; until an answer comes, no more requests.
        assert_eq!(asked, vec![false, false, true, false, false, false, false]);
        assert!(!q.tick());
        q.ack(6).unwrap();
        // One waits, nothing outstanding: the timer asks once.
        assert!(q.tick());
        assert!(!q.tick());
        q.ack(7).unwrap();
        assert!(!q.tick(), "nothing waits");
        // Counting starts again from what is unacknowledged, not from the last request.
        let asked: Vec<bool> = (0..3).map(|i| q.push(i).unwrap()).collect();
        assert_eq!(asked, vec![false, false, true]);
        q.ack(8).unwrap();
        // Two still wait: the next stanza makes three and asks.
        assert!(q.push(9).unwrap());
    }
}
