//! Room membership of the trivial server and the fan-out itself.
//!
//! One mutex over all rooms, held only for synchronous work (no `.await` inside): the
//! trivial server is a ceiling, not a design to copy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::mailbox::Mailbox;

/// Something queued for one session's writer.
#[derive(Debug)]
pub enum Out {
    /// Bytes serialized for this recipient alone.
    Bytes(Vec<u8>),
    /// A stanza serialized once for many recipients: `head`, the recipient JID, `tail`.
    Addressed {
        /// Everything up to the opening quote of the `to` attribute value.
        head: Arc<[u8]>,
        /// The recipient's full JID.
        to: Arc<str>,
        /// Everything after the `to` attribute value.
        tail: Arc<[u8]>,
    },
    /// Send the stream footer and close.
    Close,
}

/// One occupant of a room.
#[derive(Debug, Clone)]
struct Member {
    nick: String,
    jid: Arc<str>,
    tx: Arc<Mailbox>,
}

/// All rooms of the trivial server.
#[derive(Debug, Default)]
pub struct Hub {
    rooms: Mutex<HashMap<String, Vec<Member>>>,
}

const MUC_USER_ITEM: &str =
    "<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/>";

/// The presence of `room/nick` as sent to `to`.
fn presence(room: &str, nick: &str, to: &str, unavailable: bool, own: bool) -> Out {
    let kind = if unavailable {
        " type='unavailable'"
    } else {
        ""
    };
    let status = if own { "<status code='110'/>" } else { "" };
    Out::Bytes(
        format!(
            "<presence from='{room}/{nick}' to='{to}'{kind}>{MUC_USER_ITEM}{status}</x></presence>"
        )
        .into_bytes(),
    )
}

impl Hub {
    /// Adds `jid` as `nick` to `room`, sending presences both ways and the self-presence.
    /// Returns false (and sends a conflict error) if the nick is taken by someone else.
    pub fn join(&self, room: &str, nick: &str, jid: &Arc<str>, tx: &Arc<Mailbox>) -> bool {
        let Ok(mut rooms) = self.rooms.lock() else {
            return false;
        };
        let members = rooms.entry(room.to_string()).or_default();
        if let Some(m) = members.iter().find(|m| m.nick == nick) {
            if m.jid != *jid {
                let _ = tx.send(Out::Bytes(
                    format!(
                        "<presence from='{room}/{nick}' to='{jid}' type='error'><error type='cancel'>\
                         <conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>"
                    )
                    .into_bytes(),
                ));
                return false;
            }
            let _ = tx.send(presence(room, nick, jid, false, true));
            return true;
        }
        for m in members.iter() {
            let _ = tx.send(presence(room, &m.nick, jid, false, false));
            let _ = m.tx.send(presence(room, nick, &m.jid, false, false));
        }
        members.push(Member {
            nick: nick.to_string(),
            jid: jid.clone(),
            tx: tx.clone(),
        });
        let _ = tx.send(presence(room, nick, jid, false, true));
        true
    }

    /// Removes `nick` from `room`; `confirm` sends the leaver its own unavailable presence.
    pub fn leave(&self, room: &str, nick: &str, confirm: bool) {
        let Ok(mut rooms) = self.rooms.lock() else {
            return;
        };
        let Some(members) = rooms.get_mut(room) else {
            return;
        };
        let Some(pos) = members.iter().position(|m| m.nick == nick) else {
            return;
        };
        let gone = members.swap_remove(pos);
        if confirm {
            let _ = gone.tx.send(presence(room, nick, &gone.jid, true, true));
        }
        for m in members.iter() {
            let _ = m.tx.send(presence(room, nick, &m.jid, true, false));
        }
        if members.is_empty() {
            rooms.remove(room);
        }
    }

    /// Sends a groupchat message from `room/nick` with the given inner XML to every occupant.
    pub fn broadcast(&self, room: &str, nick: &str, inner: &[u8]) {
        let head: Arc<[u8]> = format!("<message from='{room}/{nick}' type='groupchat' to='")
            .into_bytes()
            .into();
        let mut tail = Vec::with_capacity(inner.len() + 16);
        tail.extend_from_slice(b"'>");
        tail.extend_from_slice(inner);
        tail.extend_from_slice(b"</message>");
        let tail: Arc<[u8]> = tail.into();
        let Ok(rooms) = self.rooms.lock() else { return };
        let Some(members) = rooms.get(room) else {
            return;
        };
        for m in members {
            let _ = m.tx.send(Out::Addressed {
                head: head.clone(),
                to: m.jid.clone(),
                tail: tail.clone(),
            });
        }
    }

    /// Number of rooms that currently have occupants.
    pub fn room_count(&self) -> usize {
        self.rooms.lock().map(|r| r.len()).unwrap_or(0)
    }
}
