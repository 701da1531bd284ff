//! The occupants of one room, indexed by join order, nick and real JID.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use rookery_proto::{Element, Jid, SharedStanza, ns};

use crate::affiliation::Affiliation;
use crate::limits::RateLimiter;
use crate::roles::Role;

/// Views of one occupant's presence kept at most (room views × JID visibility; a room
/// seen through a tenant address and its internal one, by moderators and others).
const SHOWN_CACHE: usize = 4;

/// An occupant's presence as the room showed it to one kind of recipient, kept so the
/// next newcomer of that kind gets the same stanza without building and serialising it
/// again (a join into an N-occupant room sends N presences). Valid while the occupant's
/// affiliation and role match; a presence update or nick change clears the cache.
#[derive(Debug, Clone)]
pub(crate) struct Shown {
    pub view: Jid,
    pub with_jid: bool,
    pub affiliation: Affiliation,
    pub role: Role,
    pub stanza: SharedStanza,
}

/// One occupant of a room.
#[derive(Debug, Clone)]
pub struct Occupant {
    pub(crate) seq: u64,
    pub(crate) nick: String,
    pub(crate) real: Jid,
    pub(crate) bare: Jid,
    pub(crate) view: Jid,
    pub(crate) role: Role,
    pub(crate) service_admin: bool,
    presence: Element,
    pub(crate) limiter: RateLimiter,
    shown: RefCell<Vec<Shown>>,
}

impl Occupant {
    /// A new occupant (not yet in a room: `seq` is set on insertion).
    pub(crate) fn new(
        nick: String,
        real: Jid,
        view: Jid,
        role: Role,
        service_admin: bool,
        presence: Element,
        limiter: RateLimiter,
    ) -> Self {
        Occupant {
            seq: 0,
            nick,
            bare: real.to_bare(),
            real,
            view,
            role,
            service_admin,
            presence,
            limiter,
            shown: RefCell::new(Vec::new()),
        }
    }

    /// The room nickname.
    pub fn nick(&self) -> &str {
        &self.nick
    }

    /// The real full JID of the occupant's session.
    pub fn real_jid(&self) -> &Jid {
        &self.real
    }

    /// The room's bare JID as this occupant addresses it (its tenant view).
    pub fn view(&self) -> &Jid {
        &self.view
    }

    /// The current role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The occupant's last presence as it sent it (without `from`/`to`/`type` and MUC
    /// elements).
    pub fn presence(&self) -> &Element {
        &self.presence
    }

    /// Replaces the stored presence (already sanitised); forgets every shown form of the
    /// old one.
    pub(crate) fn set_presence(&mut self, presence: Element) {
        self.presence = presence;
        self.shown.get_mut().clear();
    }

    /// The presence as last shown for (`view`, `with_jid`) with this affiliation and role.
    pub(crate) fn shown(
        &self,
        view: &Jid,
        with_jid: bool,
        affiliation: Affiliation,
    ) -> Option<SharedStanza> {
        self.shown
            .borrow()
            .iter()
            .find(|s| {
                s.with_jid == with_jid
                    && s.affiliation == affiliation
                    && s.role == self.role
                    && &s.view == view
            })
            .map(|s| s.stanza.clone())
    }

    /// Keeps a shown form, replacing one for the same recipient kind or the oldest.
    pub(crate) fn remember_shown(&self, shown: Shown) {
        let mut cache = self.shown.borrow_mut();
        cache.retain(|s| !(s.with_jid == shown.with_jid && s.view == shown.view));
        if cache.len() >= SHOWN_CACHE {
            cache.remove(0);
        }
        cache.push(shown);
    }

    /// The occupant JID in this occupant's own view.
    pub(crate) fn occupant_jid_in(&self, view: &Jid) -> String {
        format!("{view}/{}", self.nick)
    }
}

/// Strips what the room must not reflect (`from`, `to`, `type`, any client-made MUC
/// elements) and keeps everything else exactly as sent.
pub(crate) fn sanitize_presence(mut p: Element) -> Element {
    p.remove_attr("from");
    p.remove_attr("to");
    p.remove_attr("type");
    p.remove_children("x", ns::MUC);
    p.remove_children("x", ns::MUC_USER);
    p
}

/// Occupants in join order with nick and real-JID indexes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Occupants {
    by_seq: BTreeMap<u64, Occupant>,
    by_nick: HashMap<String, u64>,
    by_real: HashMap<Jid, u64>,
    next: u64,
}

impl Occupants {
    /// Adds an occupant (its nick and real JID must be free); returns its sequence number.
    pub(crate) fn insert(&mut self, mut o: Occupant) -> u64 {
        let seq = self.next;
        self.next += 1;
        o.seq = seq;
        self.by_nick.insert(o.nick.clone(), seq);
        self.by_real.insert(o.real.clone(), seq);
        self.by_seq.insert(seq, o);
        seq
    }

    pub(crate) fn get(&self, seq: u64) -> Option<&Occupant> {
        self.by_seq.get(&seq)
    }

    pub(crate) fn get_mut(&mut self, seq: u64) -> Option<&mut Occupant> {
        self.by_seq.get_mut(&seq)
    }

    pub(crate) fn seq_by_nick(&self, nick: &str) -> Option<u64> {
        self.by_nick.get(nick).copied()
    }

    pub(crate) fn seq_by_real(&self, real: &Jid) -> Option<u64> {
        self.by_real.get(real).copied()
    }

    /// Sequence numbers of every occupant whose bare JID is `bare`.
    pub(crate) fn seqs_by_bare(&self, bare: &Jid) -> Vec<u64> {
        self.by_seq
            .values()
            .filter(|o| &o.bare == bare)
            .map(|o| o.seq)
            .collect()
    }

    pub(crate) fn remove(&mut self, seq: u64) -> Option<Occupant> {
        let o = self.by_seq.remove(&seq)?;
        self.by_nick.remove(&o.nick);
        self.by_real.remove(&o.real);
        Some(o)
    }

    /// Changes a nick (the new one must be free).
    pub(crate) fn rename(&mut self, seq: u64, nick: &str) {
        if let Some(o) = self.by_seq.get_mut(&seq) {
            self.by_nick.remove(&o.nick);
            o.nick = nick.to_owned();
            o.shown.get_mut().clear();
            self.by_nick.insert(nick.to_owned(), seq);
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Occupant> {
        self.by_seq.values()
    }

    pub(crate) fn len(&self) -> usize {
        self.by_seq.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_seq.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    fn occ(nick: &str, real: &str) -> Occupant {
        let real = Jid::parse(real).unwrap();
        Occupant::new(
            nick.into(),
            real,
            Jid::parse("r@m").unwrap(),
            Role::Participant,
            false,
            Element::new("presence", ns::CLIENT),
            RateLimiter::new(1, Timestamp::default()),
        )
    }

    #[test]
    fn indexes_stay_consistent() {
        let mut o = Occupants::default();
        let a = o.insert(occ("a", "u@h/1"));
        let b = o.insert(occ("b", "u@h/2"));
        assert_eq!(o.seq_by_nick("b"), Some(b));
        assert_eq!(o.seqs_by_bare(&Jid::parse("u@h").unwrap()), [a, b]);
        o.rename(a, "c");
        assert_eq!(o.seq_by_nick("a"), None);
        assert_eq!(o.seq_by_nick("c"), Some(a));
        assert_eq!(o.remove(b).unwrap().nick, "b");
        assert_eq!(o.seq_by_real(&Jid::parse("u@h/2").unwrap()), None);
        assert_eq!(o.iter().map(|x| x.nick.as_str()).collect::<Vec<_>>(), ["c"]);
        assert_eq!(o.len(), 1);
    }

    #[test]
    fn sanitize_keeps_extensions() {
        let p = Element::new("presence", ns::CLIENT)
            .with_attr("from", "x")
            .with_attr("to", "y")
            .with_attr("id", "i")
            .with_child(Element::new("x", ns::MUC))
            .with_child(Element::new("x", ns::MUC_USER))
            .with_child(Element::new("stats-id", "jabber:client").with_text("s"))
            .with_child(Element::new("c", "http://jabber.org/protocol/caps"));
        let s = sanitize_presence(p);
        assert_eq!(s.attrs, [("id".to_owned(), "i".to_owned())]);
        let names: Vec<_> = s.children().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["stats-id", "c"]);
    }
}
