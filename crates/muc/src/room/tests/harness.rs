//! Test harness: a room on `muc.example` driven with XML strings, users named by a word
//! (`alice` is `alice@example.com/res`, joining as nick `alice`), a fake clock, and helpers
//! to read the effects as (recipient, stanza) pairs in delivery order.

use std::sync::Arc;
use std::time::Duration;

pub(super) use rookery_proto::StanzaErrorCondition as C;
pub(super) use rookery_proto::{Element, Jid, ns};

pub(super) use crate::config::MucConfig;
pub(super) use crate::effect::{CloseReason, Effect};
pub(super) use crate::hooks::HookChain;
pub(super) use crate::input::{RoomInput, Sender};
pub(super) use crate::room::{Lifecycle, Room};
pub(super) use crate::time::Timestamp;

/// The room's internal JID.
pub(super) const ROOM: &str = "room@muc.example";

/// A test room with a clock.
pub(super) struct T {
    pub room: Room<()>,
    pub now: Timestamp,
}

/// Service settings for tests: defaults with room locking off, then `f`.
pub(super) fn service(f: impl FnOnce(&mut MucConfig)) -> Arc<MucConfig> {
    let mut c = MucConfig::new(Jid::parse("muc.example").unwrap());
    c.muc_room_locking = false;
    f(&mut c);
    Arc::new(c)
}

/// The real full JID of test user `who`.
pub(super) fn jid(who: &str) -> String {
    format!("{who}@example.com/res")
}

/// A plain user.
pub(super) fn user(who: &str) -> Sender<()> {
    Sender::plain(Jid::parse(&jid(who)).unwrap(), false)
}

/// A service administrator.
pub(super) fn admin(who: &str) -> Sender<()> {
    Sender::plain(Jid::parse(&jid(who)).unwrap(), true)
}

/// Parses one stanza written with `jabber:client` as default namespace.
pub(super) fn parse(xml: &str) -> Element {
    let bindings = vec![(String::new(), ns::CLIENT.to_owned())];
    rookery_proto::fragment::parse_element(xml.as_bytes(), &bindings).unwrap()
}

/// A join presence for `nick` (with the MUC `<x/>` and optional extra children in `inner`).
pub(super) fn join_xml(nick: &str, inner: &str) -> String {
    format!(
        "<presence to='{ROOM}/{nick}'><x xmlns='http://jabber.org/protocol/muc'>{inner}</x></presence>"
    )
}

impl T {
    /// A room with default test settings.
    pub(super) fn new() -> T {
        T::with(|_| {})
    }

    /// A room with adjusted settings.
    pub(super) fn with(f: impl FnOnce(&mut MucConfig)) -> T {
        T::hooked(f, HookChain::new())
    }

    /// A room with adjusted settings and hooks.
    pub(super) fn hooked(f: impl FnOnce(&mut MucConfig), hooks: HookChain<()>) -> T {
        let now = Timestamp::from_unix_secs(1_000_000);
        let room = Room::new(Jid::parse(ROOM).unwrap(), service(f), Arc::new(hooks), now);
        T { room, now }
    }

    /// Feeds `xml` from `sender` (the harness stamps `from` as the router would).
    pub(super) fn send_as(&mut self, sender: &Sender<()>, xml: &str) -> Vec<Effect> {
        let mut stanza = parse(xml);
        stanza.set_attr("from", sender.jid.as_str());
        let input = RoomInput::Stanza {
            stanza,
            sender: sender.clone(),
        };
        self.room.handle(input, self.now)
    }

    /// Feeds `xml` from plain user `who`.
    pub(super) fn send(&mut self, who: &str, xml: &str) -> Vec<Effect> {
        self.send_as(&user(who), xml)
    }

    /// `who` joins with nick `who`.
    pub(super) fn join(&mut self, who: &str) -> Vec<Effect> {
        self.send(who, &join_xml(who, ""))
    }

    /// Several users join in order.
    pub(super) fn join_all(&mut self, who: &[&str]) {
        for w in who {
            let fx = self.join(w);
            assert!(error_to(&fx, w).is_none(), "{w} could not join: {fx:?}");
        }
    }

    /// `who` sends a groupchat body.
    pub(super) fn say(&mut self, who: &str, body: &str) -> Vec<Effect> {
        self.send(
            who,
            &format!(
                "<message to='{ROOM}' type='groupchat' id='m-{who}'><body>{body}</body></message>"
            ),
        )
    }

    /// Moves the clock forward.
    pub(super) fn advance(&mut self, secs: u64) {
        self.now = self.now.plus(Duration::from_secs(secs));
    }

    /// A housekeeping tick.
    pub(super) fn tick(&mut self) -> Vec<Effect> {
        self.room.handle(RoomInput::Tick, self.now)
    }

    /// `who`'s session ends.
    pub(super) fn gone(&mut self, who: &str) -> Vec<Effect> {
        let input = RoomInput::SessionGone {
            jid: Jid::parse(&jid(who)).unwrap(),
        };
        self.room.handle(input, self.now)
    }

    /// Nicks in the room, in join order.
    pub(super) fn nicks(&self) -> Vec<String> {
        self.room.occupants().map(|o| o.nick().to_owned()).collect()
    }
}

/// The effects as (recipient, stanza) in delivery order; broadcasts expanded with `to` set.
pub(super) fn flat(effects: &[Effect]) -> Vec<(String, Element)> {
    let mut out = Vec::new();
    for e in effects {
        match e {
            Effect::Send { to, stanza } => {
                assert_eq!(
                    stanza.attr("to"),
                    Some(to.as_str()),
                    "Send keeps to in sync"
                );
                out.push((to.to_string(), stanza.clone()));
            }
            Effect::Broadcast { stanza, to } => {
                assert_eq!(stanza.attr("to"), None, "a broadcast has no to");
                for r in to {
                    out.push((
                        r.to_string(),
                        Element::clone(stanza).with_attr("to", r.as_str()),
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// The stanzas `who` receives, in order.
pub(super) fn to(effects: &[Effect], who: &str) -> Vec<Element> {
    let j = jid(who);
    flat(effects)
        .into_iter()
        .filter(|(t, _)| *t == j)
        .map(|(_, s)| s)
        .collect()
}

/// Status codes of a stanza's `muc#user` element.
pub(super) fn codes(el: &Element) -> Vec<u16> {
    el.get_child("x", ns::MUC_USER)
        .map(|x| {
            x.children()
                .filter(|c| c.name == "status")
                .filter_map(|c| c.attr("code").and_then(|v| v.parse().ok()))
                .collect()
        })
        .unwrap_or_default()
}

/// An attribute of the `muc#user` item.
pub(super) fn item(el: &Element, attr: &str) -> Option<String> {
    el.get_child("x", ns::MUC_USER)?
        .get_child("item", ns::MUC_USER)?
        .attr(attr)
        .map(str::to_owned)
}

/// The error condition of an error stanza.
pub(super) fn condition(el: &Element) -> Option<C> {
    (el.attr("type") == Some("error"))
        .then(|| rookery_proto::StanzaError::from_stanza(el).map(|e| e.condition))
        .flatten()
}

/// The condition of the first error stanza sent to `who`, if any.
pub(super) fn error_to(effects: &[Effect], who: &str) -> Option<C> {
    let j = jid(who);
    effects.iter().find_map(|e| match e {
        Effect::Send { to, stanza } if to.as_str() == j => condition(stanza),
        Effect::Broadcast { stanza, to } if to.iter().any(|t| t.as_str() == j) => condition(stanza),
        _ => None,
    })
}

/// Asserts the effects are exactly one error to `who` and returns its condition.
pub(super) fn only_error(effects: &[Effect], who: &str) -> C {
    assert_eq!(effects.len(), 1, "expected exactly one effect: {effects:?}");
    let f = flat(effects);
    assert_eq!(f.len(), 1);
    let (t, s) = &f[0];
    assert_eq!(*t, jid(who));
    condition(s).unwrap_or_else(|| panic!("not an error: {}", s.to_xml_string()))
}

/// Shorthand: (kind of stanza, from) of each stanza, for order assertions.
pub(super) fn shape(stanzas: &[Element]) -> Vec<(String, String)> {
    stanzas
        .iter()
        .map(|s| {
            let kind = match (s.name.as_str(), s.attr("type")) {
                ("message", _) if s.has_child("subject", ns::CLIENT) => "subject".to_owned(),
                ("message", _) => "message".to_owned(),
                (n, Some(t)) => format!("{n}/{t}"),
                (n, None) => n.to_owned(),
            };
            (kind, s.attr("from").unwrap_or_default().to_owned())
        })
        .collect()
}

/// The `from` of an occupant `nick` in the default view.
pub(super) fn occ(nick: &str) -> String {
    format!("{ROOM}/{nick}")
}
