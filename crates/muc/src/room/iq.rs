//! IQs: to the room itself (disco, ping, `muc#admin`, `muc#owner`) and to occupant JIDs
//! (XEP-0410 self-ping answered here; everything else forwarded).

use rookery_proto::{Element, Jid, StanzaError, StanzaErrorCondition, ns};

use super::outbound::{iq_result, reply_error};
use super::{Lifecycle, Room};
use crate::affiliation::Affiliation;
use crate::disco::{RoomInfoView, room_info};
use crate::effect::Effect;
use crate::hooks::RoomInfo;
use crate::input::Sender;
use crate::time::Timestamp;

/// The disco node clients query for their reserved nick (XEP-0045 §7.12).
const RESERVED_NICK_NODE: &str = "x-roomuser-item";

impl<I> Room<I> {
    pub(crate) fn on_iq(
        &mut self,
        stanza: Element,
        sender: &Sender<I>,
        view: Jid,
        nick: Option<String>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let kind = stanza.attr("type").unwrap_or("");
        match (kind, nick) {
            ("result" | "error", Some(_)) => self.forward_response(stanza, &sender.jid, out),
            ("result" | "error", None) => {}
            ("get" | "set", Some(nick)) => self.occupant_iq(stanza, sender, &nick, now, out),
            ("get" | "set", None) => self.room_iq(stanza, sender, &view, now, out),
            _ => {
                let e = StanzaError::new(StanzaErrorCondition::BadRequest).with_text("bad IQ type");
                reply_error(out, &stanza, &sender.jid, e);
            }
        }
    }

    fn occupant_iq(
        &mut self,
        stanza: Element,
        sender: &Sender<I>,
        nick: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let payload_ns = stanza
            .first_child()
            .map(|c| c.ns.clone())
            .unwrap_or_default();
        let Some(from_seq) = self.occupants.seq_by_real(&sender.jid) else {
            let condition = if payload_ns == ns::DISCO_INFO || payload_ns == ns::DISCO_ITEMS {
                StanzaErrorCondition::BadRequest
            } else {
                StanzaErrorCondition::NotAcceptable
            };
            let e = StanzaError::new(condition).with_text("you are not in this room");
            return reply_error(out, &stanza, &sender.jid, e);
        };
        let is_ping = stanza.first_child().is_some_and(|c| c.is("ping", ns::PING));
        let own_nick = self.occupants.get(from_seq).is_some_and(|o| o.nick == nick);
        if is_ping && own_nick && stanza.attr("type") == Some("get") {
            out.push(iq_result(&stanza, &sender.jid, None));
            return;
        }
        let Some(to_seq) = self.occupants.seq_by_nick(nick) else {
            let e =
                StanzaError::new(StanzaErrorCondition::ItemNotFound).with_text("no such occupant");
            return reply_error(out, &stanza, &sender.jid, e);
        };
        if stanza.first_child().is_none() {
            let e = StanzaError::new(StanzaErrorCondition::BadRequest).with_text("empty IQ");
            return reply_error(out, &stanza, &sender.jid, e);
        }
        self.forward_request(stanza, from_seq, to_seq, now, out);
    }

    fn room_iq(
        &mut self,
        stanza: Element,
        sender: &Sender<I>,
        view: &Jid,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(payload) = stanza.first_child() else {
            let e = StanzaError::new(StanzaErrorCondition::BadRequest).with_text("empty IQ");
            return reply_error(out, &stanza, &sender.jid, e);
        };
        let get = stanza.attr("type") == Some("get");
        match (payload.ns.as_str(), payload.name.as_str(), get) {
            (ns::PING, "ping", true) => out.push(iq_result(&stanza, &sender.jid, None)),
            (ns::DISCO_INFO, "query", true) => self.disco_info(&stanza, sender, view, out),
            (ns::DISCO_ITEMS, "query", true) => {
                if self.hidden_from(sender) {
                    let e = StanzaError::new(StanzaErrorCondition::ItemNotFound);
                    return reply_error(out, &stanza, &sender.jid, e);
                }
                let q = Element::new("query", ns::DISCO_ITEMS)
                    .with_opt_attr("node", payload.attr("node"));
                out.push(iq_result(&stanza, &sender.jid, Some(q)));
            }
            (ns::MUC_ADMIN, "query", _) => self.admin_iq(stanza, sender, now, out),
            (ns::MUC_OWNER, "query", _) => self.owner_iq(stanza, sender, now, out),
            _ => {
                let e = StanzaError::new(StanzaErrorCondition::ServiceUnavailable);
                reply_error(out, &stanza, &sender.jid, e);
            }
        }
    }

    /// A locked room does not officially exist for anyone but its owners.
    fn hidden_from(&self, sender: &Sender<I>) -> bool {
        self.lifecycle != Lifecycle::Open && self.sender_affiliation(sender) < Affiliation::Owner
    }

    fn disco_info(&self, stanza: &Element, sender: &Sender<I>, view: &Jid, out: &mut Vec<Effect>) {
        if self.hidden_from(sender) {
            let e = StanzaError::new(StanzaErrorCondition::ItemNotFound);
            return reply_error(out, stanza, &sender.jid, e);
        }
        let node = stanza.first_child().and_then(|q| q.attr("node"));
        match node {
            None => {}
            Some(RESERVED_NICK_NODE) => {
                let q = Element::new("query", ns::DISCO_INFO).with_attr("node", RESERVED_NICK_NODE);
                out.push(iq_result(stanza, &sender.jid, Some(q)));
                return;
            }
            Some(_) => {
                let e = StanzaError::new(StanzaErrorCondition::ItemNotFound);
                return reply_error(out, stanza, &sender.jid, e);
            }
        }
        let mut extra = self.info_fields.clone();
        let info = RoomInfo {
            room: &self.jid,
            config: &self.config,
            occupants: self.occupants.len(),
        };
        self.hooks.disco_info_fields(&info, &mut extra);
        let q = room_info(&RoomInfoView {
            node: view.node().unwrap_or_default(),
            config: &self.config,
            occupants: self.occupants.len(),
            subject: self.subject.as_ref().map(|s| s.text.as_str()),
            extra: &extra,
        });
        out.push(iq_result(stanza, &sender.jid, Some(q)));
    }
}
