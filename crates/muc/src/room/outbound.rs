//! Building what the room sends: occupant presence with the `muc#user` item, and fan-out
//! grouped by the recipients' views so each group is one [`Effect::Broadcast`].

use rookery_proto::{Element, Jid, SharedStanza, StanzaError, error_reply, ns};

use super::Room;
use super::occupants::{Occupant, Shown};
use crate::affiliation::Affiliation;
use crate::effect::Effect;
use crate::roles::Role;
use crate::room_config::Whois;

/// The `<item/>` of a `muc#user` element.
#[derive(Debug, Clone, Default)]
pub(crate) struct Item<'a> {
    pub affiliation: Option<Affiliation>,
    pub role: Option<Role>,
    pub jid: Option<&'a Jid>,
    pub nick: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub reason: Option<&'a str>,
}

/// `<x xmlns='…muc#user'><item …/><status code=…/>…</x>`.
pub(crate) fn muc_user_x(item: &Item<'_>, statuses: &[u16]) -> Element {
    let mut it = Element::new("item", ns::MUC_USER)
        .with_opt_attr("affiliation", item.affiliation.map(Affiliation::as_str))
        .with_opt_attr("role", item.role.map(Role::as_str))
        .with_opt_attr("jid", item.jid.map(Jid::as_str))
        .with_opt_attr("nick", item.nick);
    if let Some(a) = item.actor {
        it.push_child(Element::new("actor", ns::MUC_USER).with_attr("nick", a));
    }
    if let Some(r) = item.reason {
        it.push_child(Element::new("reason", ns::MUC_USER).with_text(r));
    }
    let mut x = Element::new("x", ns::MUC_USER).with_child(it);
    for code in statuses {
        x.push_child(Element::new("status", ns::MUC_USER).with_attr("code", code.to_string()));
    }
    x
}

/// Sets `to` and wraps as a single delivery.
pub(crate) fn send(out: &mut Vec<Effect>, to: &Jid, mut stanza: Element) {
    stanza.set_attr("to", to.as_str());
    out.push(Effect::Send {
        to: to.clone(),
        stanza,
    });
}

/// The error reply to `stanza`, addressed to the authenticated sender.
pub(crate) fn reply_error(out: &mut Vec<Effect>, stanza: &Element, to: &Jid, err: StanzaError) {
    if let Some(reply) = error_reply(stanza, &err) {
        send(out, to, reply);
    }
}

/// An empty IQ result to `stanza`.
pub(crate) fn iq_result(stanza: &Element, to: &Jid, payload: Option<Element>) -> Effect {
    let mut r = Element::new("iq", ns::CLIENT)
        .with_attr("type", "result")
        .with_opt_attr("id", stanza.attr("id"))
        .with_opt_attr("from", stanza.attr("to"))
        .with_attr("to", to.as_str());
    if let Some(p) = payload {
        r.push_child(p);
    }
    Effect::Send {
        to: to.clone(),
        stanza: r,
    }
}

/// Recipients sharing a view and JID visibility.
struct Group {
    view: Jid,
    with_jid: bool,
    to: Vec<Jid>,
}

fn add_to_group(groups: &mut Vec<Group>, view: &Jid, with_jid: bool, to: &Jid) {
    match groups
        .iter_mut()
        .find(|g| g.with_jid == with_jid && &g.view == view)
    {
        Some(g) => g.to.push(to.clone()),
        None => groups.push(Group {
            view: view.clone(),
            with_jid,
            to: vec![to.clone()],
        }),
    }
}

impl<I> Room<I> {
    /// The effective affiliation of an occupant (service admins are owners).
    pub(crate) fn occupant_affiliation(&self, o: &Occupant) -> Affiliation {
        if o.service_admin || self.service.is_admin(&o.bare) {
            Affiliation::Owner
        } else {
            self.affiliations.get(&o.bare)
        }
    }

    /// Whether `recipient` may see real JIDs.
    pub(crate) fn sees_jids(&self, recipient: &Occupant) -> bool {
        self.config.whois == Whois::Anyone || recipient.role == Role::Moderator
    }

    /// `o`'s current presence as shown in `view`, with its item and `statuses`.
    pub(crate) fn presence_of(
        &self,
        o: &Occupant,
        view: &Jid,
        with_jid: bool,
        statuses: &[u16],
    ) -> Element {
        let mut p = o.presence().clone();
        p.set_attr("from", o.occupant_jid_in(view));
        let item = Item {
            affiliation: Some(self.occupant_affiliation(o)),
            role: Some(o.role),
            jid: with_jid.then_some(&o.real),
            ..Item::default()
        };
        p.push_child(muc_user_x(&item, statuses));
        p
    }

    /// `o`'s current presence without status codes as shown in `view`, from the
    /// occupant's cache when it was shown to this kind of recipient before (the same
    /// stanza, already serialised), else built and remembered.
    pub(crate) fn shown_presence(&self, o: &Occupant, view: &Jid, with_jid: bool) -> SharedStanza {
        let affiliation = self.occupant_affiliation(o);
        if let Some(s) = o.shown(view, with_jid, affiliation) {
            return s;
        }
        let stanza = SharedStanza::new(self.presence_of(o, view, with_jid, &[]));
        o.remember_shown(Shown {
            view: view.clone(),
            with_jid,
            affiliation,
            role: o.role,
            stanza: stanza.clone(),
        });
        stanza
    }

    /// Sends one stanza per (view, JID visibility) group of occupants other than `except`;
    /// `build(view, with_jid)` makes the stanza for a group.
    pub(crate) fn fan_out(
        &self,
        out: &mut Vec<Effect>,
        except: Option<u64>,
        split_by_visibility: bool,
        build: impl Fn(&Jid, bool) -> Element,
    ) {
        self.fan_out_shared(out, except, split_by_visibility, |view, with_jid| {
            SharedStanza::new(build(view, with_jid))
        });
    }

    /// [`Room::fan_out`] for stanzas that are already shared (kept presences).
    pub(crate) fn fan_out_shared(
        &self,
        out: &mut Vec<Effect>,
        except: Option<u64>,
        split_by_visibility: bool,
        build: impl Fn(&Jid, bool) -> SharedStanza,
    ) {
        let mut groups: Vec<Group> = Vec::new();
        for o in self.occupants.iter() {
            if Some(o.seq) == except {
                continue;
            }
            let with_jid = split_by_visibility && self.sees_jids(o);
            add_to_group(&mut groups, &o.view, with_jid, &o.real);
        }
        for g in groups {
            let stanza = build(&g.view, g.with_jid);
            out.push(Effect::Broadcast { stanza, to: g.to });
        }
    }

    /// Broadcasts `o`'s presence to everyone but `o` (if its role's presence is broadcast).
    pub(crate) fn broadcast_presence(&self, out: &mut Vec<Effect>, o: &Occupant) {
        if !self.config.broadcasts(o.role) {
            return;
        }
        self.fan_out_shared(out, Some(o.seq), true, |view, with_jid| {
            self.shown_presence(o, view, with_jid)
        });
    }

    /// Sends `o` its own presence with status 110 (and `extra` codes).
    pub(crate) fn self_presence(&self, out: &mut Vec<Effect>, o: &Occupant, extra: &[u16]) {
        let mut codes: Vec<u16> = extra.to_vec();
        codes.push(crate::status::SELF_PRESENCE);
        codes.sort_unstable();
        let p = self.presence_of(o, &o.view, true, &codes);
        send(out, &o.real, p);
    }

    /// A groupchat message from the room itself carrying status codes (config changes).
    pub(crate) fn broadcast_room_status(&self, out: &mut Vec<Effect>, codes: &[u16]) {
        self.fan_out(out, None, false, |view, _| {
            let mut x = Element::new("x", ns::MUC_USER);
            for c in codes {
                x.push_child(Element::new("status", ns::MUC_USER).with_attr("code", c.to_string()));
            }
            Element::new("message", ns::CLIENT)
                .with_attr("type", "groupchat")
                .with_attr("from", view.as_str())
                .with_child(x)
        });
    }
}
