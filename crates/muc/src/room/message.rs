//! Messages: groupchat fan-out (including to the sender), subject changes, private messages
//! through occupant JIDs, and mediated invitations and declines (XEP-0045 §7.4–7.8).

use rookery_proto::{Element, Jid, StanzaError, StanzaErrorCondition, ns};

use super::outbound::{reply_error, send};
use super::presence::is_delivery_failure;
use super::{Room, Subject};
use crate::affiliation::Affiliation;
use crate::effect::Effect;
use crate::input::Sender;
use crate::roles::Role;
use crate::time::Timestamp;

/// Most invitations one message may carry.
const MAX_INVITES: usize = 32;

fn error(condition: StanzaErrorCondition, text: &str) -> StanzaError {
    StanzaError::new(condition).with_text(text)
}

impl<I> Room<I> {
    pub(crate) fn on_message(
        &mut self,
        stanza: Element,
        sender: &Sender<I>,
        _view: Jid,
        nick: Option<String>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let kind = stanza.attr("type").unwrap_or("normal").to_owned();
        let from_seq = self.occupants.seq_by_real(&sender.jid);
        if kind == "error" {
            if let Some(seq) = from_seq
                && is_delivery_failure(&stanza)
            {
                self.remove_ghost(seq, now, out);
            }
            return;
        }
        if let Some(nick) = nick {
            return self.private_message(stanza, sender, from_seq, &nick, &kind, out);
        }
        if kind == "groupchat" {
            return self.groupchat(stanza, sender, from_seq, now, out);
        }
        if let Some(x) = stanza.get_child("x", ns::MUC_USER) {
            if x.has_child("invite", ns::MUC_USER) {
                return self.invite(&stanza, sender, from_seq, out);
            }
            if x.has_child("decline", ns::MUC_USER) {
                return self.decline(&stanza, sender, out);
            }
        }
        if kind != "headline" {
            let e = error(
                StanzaErrorCondition::BadRequest,
                "messages to the room must be groupchat",
            );
            reply_error(out, &stanza, &sender.jid, e);
        }
    }

    fn groupchat(
        &mut self,
        mut stanza: Element,
        sender: &Sender<I>,
        from_seq: Option<u64>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(o) = from_seq.and_then(|s| self.occupants.get(s)) else {
            let e = error(
                StanzaErrorCondition::NotAcceptable,
                "only occupants may send to the room",
            );
            return reply_error(out, &stanza, &sender.jid, e);
        };
        let is_subject = stanza.has_child("subject", ns::CLIENT)
            && !stanza.has_child("body", ns::CLIENT)
            && !stanza.has_child("thread", ns::CLIENT);
        if is_subject {
            let allowed = o.role == Role::Moderator
                || (self.config.change_subject && o.role >= Role::Participant);
            if !allowed {
                let e = error(
                    StanzaErrorCondition::Forbidden,
                    "you may not change the subject",
                );
                return reply_error(out, &stanza, &sender.jid, e);
            }
        } else if o.role < Role::Participant {
            let e = error(
                StanzaErrorCondition::Forbidden,
                "visitors may not speak in a moderated room",
            );
            return reply_error(out, &stanza, &sender.jid, e);
        }
        let nick = o.nick.clone();
        stanza.remove_attr("to");
        let has_body = stanza.has_child("body", ns::CLIENT);
        self.fan_out(out, None, false, |view, _| {
            let mut m = stanza.clone();
            m.set_attr("from", format!("{view}/{nick}"));
            m
        });
        if is_subject {
            self.subject = Some(Subject {
                text: stanza.child_text("subject", ns::CLIENT).unwrap_or_default(),
                nick: Some(nick),
                stamp: now,
            });
            self.persist(out);
        } else if has_body {
            self.history.push(&nick, stanza, now);
        }
    }

    fn private_message(
        &mut self,
        mut stanza: Element,
        sender: &Sender<I>,
        from_seq: Option<u64>,
        nick: &str,
        kind: &str,
        out: &mut Vec<Effect>,
    ) {
        let Some(from) = from_seq.and_then(|s| self.occupants.get(s)) else {
            let e = error(
                StanzaErrorCondition::NotAcceptable,
                "only occupants may send private messages",
            );
            return reply_error(out, &stanza, &sender.jid, e);
        };
        if kind == "groupchat" {
            let e = error(
                StanzaErrorCondition::BadRequest,
                "a private message cannot be groupchat",
            );
            return reply_error(out, &stanza, &sender.jid, e);
        }
        let Some(to) = self
            .occupants
            .seq_by_nick(nick)
            .and_then(|s| self.occupants.get(s))
        else {
            let e = error(StanzaErrorCondition::ItemNotFound, "no such occupant");
            return reply_error(out, &stanza, &sender.jid, e);
        };
        if !self.config.allow_pm.allows(from.role) {
            let e = error(
                StanzaErrorCondition::Forbidden,
                "private messages are not allowed here",
            );
            return reply_error(out, &stanza, &sender.jid, e);
        }
        stanza.set_attr("from", from.occupant_jid_in(&to.view));
        if !stanza.has_child("x", ns::MUC_USER) {
            stanza.push_child(Element::new("x", ns::MUC_USER));
        }
        send(out, &to.real, stanza);
    }

    fn invite(
        &mut self,
        stanza: &Element,
        sender: &Sender<I>,
        from_seq: Option<u64>,
        out: &mut Vec<Effect>,
    ) {
        let Some(from) = from_seq.and_then(|s| self.occupants.get(s)) else {
            let e = error(
                StanzaErrorCondition::NotAcceptable,
                "only occupants may invite",
            );
            return reply_error(out, stanza, &sender.jid, e);
        };
        let view = from.view.clone();
        let affiliation = self.occupant_affiliation(from);
        let may_add_member = affiliation >= Affiliation::Admin
            || (self.config.allow_invites && affiliation >= Affiliation::Member);
        if self.config.members_only && !may_add_member {
            let e = error(
                StanzaErrorCondition::Forbidden,
                "only admins may invite to a members-only room",
            );
            return reply_error(out, stanza, &sender.jid, e);
        }
        let Some(x) = stanza.get_child("x", ns::MUC_USER) else {
            return;
        };
        let mut invites = Vec::new();
        for inv in x.children().filter(|c| c.is("invite", ns::MUC_USER)) {
            let to = match inv.attr("to").map(Jid::parse) {
                Some(Ok(j)) => j,
                _ => {
                    let e = error(
                        StanzaErrorCondition::JidMalformed,
                        "an invitation needs a valid 'to'",
                    );
                    return reply_error(out, stanza, &sender.jid, e);
                }
            };
            invites.push((to, inv.child_text("reason", ns::MUC_USER)));
        }
        if invites.len() > MAX_INVITES {
            let e = error(
                StanzaErrorCondition::PolicyViolation,
                "too many invitations in one message",
            );
            return reply_error(out, stanza, &sender.jid, e);
        }
        let inviter = sender.jid.to_bare();
        let mut changed = false;
        for (to, reason) in invites {
            let mut inv = Element::new("invite", ns::MUC_USER).with_attr("from", inviter.as_str());
            if let Some(r) = reason {
                inv.push_child(Element::new("reason", ns::MUC_USER).with_text(r));
            }
            let mut x = Element::new("x", ns::MUC_USER).with_child(inv);
            if self.config.password_required()
                && let Some(p) = &self.config.password
            {
                x.push_child(Element::new("password", ns::MUC_USER).with_text(p.clone()));
            }
            let m = Element::new("message", ns::CLIENT)
                .with_attr("from", view.as_str())
                .with_opt_attr("id", stanza.attr("id"))
                .with_child(x);
            if self.config.members_only && self.affiliations.get(&to) < Affiliation::Member {
                changed |= self
                    .affiliations
                    .set(to.to_bare(), Affiliation::Member, None);
            }
            send(out, &to, m);
        }
        if changed {
            self.persist(out);
        }
    }

    /// A declined invitation goes back to the inviter, if it is in the room.
    fn decline(&self, stanza: &Element, sender: &Sender<I>, out: &mut Vec<Effect>) {
        let Some(d) = stanza
            .get_child("x", ns::MUC_USER)
            .and_then(|x| x.get_child("decline", ns::MUC_USER))
        else {
            return;
        };
        let Some(Ok(to)) = d.attr("to").map(Jid::parse) else {
            return;
        };
        let bare = to.to_bare();
        for o in self
            .occupants
            .iter()
            .filter(|o| o.bare == bare && (!to.is_full() || o.real == to))
        {
            let mut dec =
                Element::new("decline", ns::MUC_USER).with_attr("from", sender.jid.bare_str());
            if let Some(r) = d.child_text("reason", ns::MUC_USER) {
                dec.push_child(Element::new("reason", ns::MUC_USER).with_text(r));
            }
            let m = Element::new("message", ns::CLIENT)
                .with_attr("from", o.view.as_str())
                .with_opt_attr("id", stanza.attr("id"))
                .with_child(Element::new("x", ns::MUC_USER).with_child(dec));
            send(out, &o.real, m);
        }
    }
}
