//! The XMPP exchange of one trivial-server session, without I/O: items in, [`Out`]s queued.
//!
//! Just enough for the load generator: stream features, SASL ANONYMOUS/PLAIN accepted
//! without checks, bind, MUC join/leave and groupchat fan-out, any other IQ answered empty.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;

use super::hub::{Hub, Out};
use super::mailbox::Mailbox;
use crate::scan::{Item, attr, element_name, start_tag};
use crate::transport::FRAMING_NS;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// How the session frames its stream (TCP stream header or WebSocket `<open/>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// RFC 6120 TCP.
    Tcp,
    /// RFC 7395 WebSocket.
    Ws,
}

/// What the driver should do after an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep reading.
    Continue,
    /// The client closed the stream (or broke it): stop reading.
    Close,
}

/// State of one session.
#[derive(Debug)]
pub struct Session {
    hub: Arc<Hub>,
    tx: Arc<Mailbox>,
    framing: Framing,
    domain: String,
    local: Option<String>,
    jid: Option<Arc<str>>,
    rooms: Vec<(String, String)>,
}

impl Session {
    /// A new session that queues its output on `tx`.
    pub fn new(hub: Arc<Hub>, tx: Arc<Mailbox>, framing: Framing) -> Self {
        Session {
            hub,
            tx,
            framing,
            domain: "localhost".into(),
            local: None,
            jid: None,
            rooms: Vec::new(),
        }
    }

    fn send(&self, s: String) {
        let _ = self.tx.send(Out::Bytes(s.into_bytes()));
    }

    /// Handles one item from the client.
    pub fn on_item(&mut self, item: Item<'_>) -> Flow {
        match item {
            Item::StreamOpen(header) => {
                if let Some(to) = attr(header, b"to") {
                    self.domain = String::from_utf8_lossy(to).into_owned();
                }
                self.open_stream();
                Flow::Continue
            }
            Item::StreamClose => {
                let _ = self.tx.send(Out::Close);
                Flow::Close
            }
            Item::Element(el) => match element_name(el) {
                b"auth" => self.auth(el),
                b"iq" => {
                    self.iq(el);
                    Flow::Continue
                }
                b"presence" => {
                    self.presence(el);
                    Flow::Continue
                }
                b"message" => {
                    self.message(el);
                    Flow::Continue
                }
                _ => Flow::Continue,
            },
        }
    }

    fn open_stream(&self) {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let domain = &self.domain;
        let features = if self.local.is_some() {
            "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
        } else {
            "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>\
             <mechanism>ANONYMOUS</mechanism></mechanisms>"
        };
        match self.framing {
            Framing::Tcp => self.send(format!(
                "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
                 xmlns:stream='http://etherx.jabber.org/streams' id='s{id}' from='{domain}' version='1.0'>\
                 <stream:features>{features}</stream:features>"
            )),
            Framing::Ws => {
                self.send(format!("<open xmlns='{FRAMING_NS}' id='s{id}' from='{domain}' version='1.0'/>"));
                self.send(format!(
                    "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>{features}</stream:features>"
                ));
            }
        }
    }

    fn auth(&mut self, el: &[u8]) -> Flow {
        let local = match attr(el, b"mechanism") {
            Some(b"PLAIN") => {
                let payload = child_text_of_root(el);
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(payload)
                    .unwrap_or_default();
                let authcid = decoded.split(|&b| b == 0).nth(1).unwrap_or_default();
                let name = String::from_utf8_lossy(authcid).into_owned();
                if name.is_empty() || name.contains(['@', '/', '\'', '<']) {
                    None
                } else {
                    Some(name)
                }
            }
            Some(b"ANONYMOUS") => Some(format!("anon{}", NEXT_ID.fetch_add(1, Ordering::Relaxed))),
            _ => None,
        };
        match local {
            Some(l) => {
                self.local = Some(l);
                self.send("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>".into());
                Flow::Continue
            }
            None => {
                self.send(
                    "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>"
                        .into(),
                );
                Flow::Continue
            }
        }
    }

    fn iq(&mut self, el: &[u8]) {
        let id = attr(el, b"id")
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        let kind = attr(el, b"type");
        if kind != Some(b"get") && kind != Some(b"set") {
            return;
        }
        let from = attr(el, b"to")
            .map(|t| format!(" from='{}'", String::from_utf8_lossy(t)))
            .unwrap_or_default();
        if crate::scan::contains(el, b"urn:ietf:params:xml:ns:xmpp-bind")
            && let (Some(local), None) = (&self.local, &self.jid)
        {
            {
                let jid: Arc<str> = format!(
                    "{local}@{}/r{}",
                    self.domain,
                    NEXT_ID.fetch_add(1, Ordering::Relaxed)
                )
                .into();
                self.send(format!(
                    "<iq type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>{jid}</jid></bind></iq>"
                ));
                self.jid = Some(jid);
                return;
            }
        }
        self.send(format!("<iq type='result' id='{id}'{from}/>"));
    }

    fn presence(&mut self, el: &[u8]) {
        let (Some(jid), Some(to)) = (self.jid.clone(), attr(el, b"to")) else {
            return;
        };
        let to = String::from_utf8_lossy(to);
        let Some((room, nick)) = to.split_once('/') else {
            return;
        };
        if nick.is_empty() || nick.contains(['\'', '<', '&']) || room.contains(['\'', '<', '&']) {
            return;
        }
        if attr(el, b"type") == Some(b"unavailable") {
            if let Some(pos) = self.rooms.iter().position(|(r, n)| r == room && n == nick) {
                self.rooms.swap_remove(pos);
                self.hub.leave(room, nick, true);
            }
        } else if attr(el, b"type").is_none()
            && !self.rooms.iter().any(|(r, _)| r == room)
            && self.hub.join(room, nick, &jid, &self.tx)
        {
            self.rooms.push((room.to_string(), nick.to_string()));
        }
    }

    fn message(&mut self, el: &[u8]) {
        if attr(el, b"type") != Some(b"groupchat") {
            return;
        }
        let Some(to) = attr(el, b"to") else { return };
        let Some((room, nick)) = self.rooms.iter().find(|(r, _)| r.as_bytes() == to) else {
            return;
        };
        self.hub.broadcast(room, nick, inner_xml(el));
    }

    /// Leaves every room (the connection is gone).
    pub fn disconnect(&mut self) {
        for (room, nick) in self.rooms.drain(..) {
            self.hub.leave(&room, &nick, false);
        }
    }
}

/// The content between the start tag and the end tag of an element.
pub fn inner_xml(el: &[u8]) -> &[u8] {
    let tag = start_tag(el);
    if tag.ends_with(b"/>") {
        return &[];
    }
    let name = element_name(el);
    let end = el.len().saturating_sub(name.len() + 3);
    el.get(tag.len()..end).unwrap_or_default()
}

/// Text directly inside the root element (the SASL payload of `<auth>`).
fn child_text_of_root(el: &[u8]) -> &[u8] {
    inner_xml(el).trim_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_xml_cases() {
        let cases: &[(&[u8], &[u8])] = &[
            (
                b"<message to='r'><body>x</body></message>",
                b"<body>x</body>",
            ),
            (b"<message to='r'/>", b""),
            (b"<message></message>", b""),
        ];
        for (el, want) in cases {
            assert_eq!(inner_xml(el), *want);
        }
    }
}
