//! Presence to the room: joins (delegated), updates with their extensions reflected
//! unchanged, nick changes (303), exits (110 to self), and delivery-error ghosts (333).

use rookery_proto::{Element, Jid, StanzaError, StanzaErrorCondition, ns};

use super::Room;
use super::occupants::sanitize_presence;
use super::outbound::{Item, muc_user_x, reply_error, send};
use super::removal::Removal;
use crate::effect::Effect;
use crate::history::HistoryRequest;
use crate::hooks::LeaveReason;
use crate::input::Sender;
use crate::limits::approx_size;
use crate::status;
use crate::time::Timestamp;

/// Conditions that mean "this session is not there any more" (XEP-0045 §18.1.4 ghosts).
pub(crate) fn is_delivery_failure(stanza: &Element) -> bool {
    use StanzaErrorCondition::*;
    StanzaError::from_stanza(stanza).is_some_and(|e| {
        matches!(
            e.condition,
            Gone | ItemNotFound
                | RecipientUnavailable
                | Redirect
                | RemoteServerNotFound
                | RemoteServerTimeout
        )
    })
}

impl<I> Room<I> {
    pub(crate) fn on_presence(
        &mut self,
        stanza: Element,
        sender: &Sender<I>,
        view: Jid,
        nick: Option<String>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let occupant = self.occupants.seq_by_real(&sender.jid);
        match stanza.attr("type") {
            None => match (occupant, nick) {
                (_, None) => {
                    let e = StanzaError::new(StanzaErrorCondition::JidMalformed)
                        .with_text("a nickname is required");
                    reply_error(out, &stanza, &sender.jid, e);
                }
                (None, Some(nick)) => self.join(stanza, sender, view, &nick, now, out),
                (Some(seq), Some(nick)) => self.occupant_presence(seq, stanza, &nick, now, out),
            },
            Some("unavailable") => {
                if let Some(seq) = occupant {
                    self.leave(seq, stanza, now, out);
                }
            }
            Some("error") => {
                if let Some(seq) = occupant
                    && is_delivery_failure(&stanza)
                {
                    self.remove_ghost(seq, now, out);
                }
            }
            // probes and subscriptions are not for rooms
            Some(_) => {}
        }
    }

    /// Available presence from an occupant: rate and size limits, then update, resync or
    /// nick change.
    fn occupant_presence(
        &mut self,
        seq: u64,
        stanza: Element,
        nick: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let (burst, rate) = (
            self.service.presence_burst,
            self.service.presence_per_second,
        );
        let max_bytes = self.service.max_presence_bytes;
        let Some(o) = self.occupants.get_mut(seq) else {
            return;
        };
        let real = o.real.clone();
        if !o.limiter.allow(now, burst, rate) {
            let e = StanzaError::new(StanzaErrorCondition::PolicyViolation)
                .with_type(rookery_proto::ErrorType::Wait)
                .with_text("too many presence updates; slow down");
            return reply_error(out, &stanza, &real, e);
        }
        if approx_size(&stanza) > max_bytes {
            let e = StanzaError::new(StanzaErrorCondition::PolicyViolation)
                .with_text("the presence is too large");
            return reply_error(out, &stanza, &real, e);
        }
        let rejoin = stanza.get_child("x", ns::MUC).cloned();
        if o.nick != nick {
            return self.change_nick(seq, stanza, nick, out);
        }
        o.set_presence(sanitize_presence(stanza));
        match rejoin {
            Some(x) => {
                let history = HistoryRequest::from_join(Some(&x));
                self.send_join_sequence(seq, &[], &history, now, out);
            }
            None => {
                if let Some(o) = self.occupants.get(seq) {
                    self.broadcast_presence(out, o);
                    self.self_presence(out, o, &[]);
                }
            }
        }
    }

    /// Nick change: unavailable from the old nick with 303 and the new nick, then available
    /// from the new nick, to everyone (110 in the copies to the occupant itself).
    fn change_nick(&mut self, seq: u64, stanza: Element, new: &str, out: &mut Vec<Effect>) {
        let Some(o) = self.occupants.get(seq) else {
            return;
        };
        let real = o.real.clone();
        if let Err(e) = self.check_nick(new) {
            return reply_error(out, &stanza, &real, e);
        }
        if self.occupants.seq_by_nick(new).is_some() {
            let e = StanzaError::new(StanzaErrorCondition::Conflict)
                .with_text("that nickname is in use");
            return reply_error(out, &stanza, &real, e);
        }
        let affiliation = self.occupant_affiliation(o);
        let unavailable = |view: &Jid, jid: Option<&Jid>, codes: &[u16]| {
            let item = Item {
                affiliation: Some(affiliation),
                role: Some(o.role),
                jid,
                nick: Some(new),
                ..Item::default()
            };
            Element::new("presence", ns::CLIENT)
                .with_attr("from", o.occupant_jid_in(view))
                .with_attr("type", "unavailable")
                .with_child(muc_user_x(&item, codes))
        };
        if self.config.broadcasts(o.role) {
            self.fan_out(out, Some(seq), true, |view, with_jid| {
                unavailable(view, with_jid.then_some(&o.real), &[status::NICK_CHANGED])
            });
        }
        let own = unavailable(
            &o.view,
            Some(&o.real),
            &[status::SELF_PRESENCE, status::NICK_CHANGED],
        );
        send(out, &real, own);
        self.occupants.rename(seq, new);
        if let Some(o) = self.occupants.get_mut(seq) {
            o.set_presence(sanitize_presence(stanza));
        }
        if let Some(o) = self.occupants.get(seq) {
            self.broadcast_presence(out, o);
            self.self_presence(out, o, &[]);
        }
    }

    /// The occupant leaves of its own accord; its unavailable presence (with any status
    /// text) is reflected.
    fn leave(&mut self, seq: u64, stanza: Element, now: Timestamp, out: &mut Vec<Effect>) {
        let mut removal = Removal::new(LeaveReason::Left, &[]);
        let mut payload = sanitize_presence(stanza);
        payload.remove_attr("id");
        removal.payload = Some(payload);
        let mut others = Vec::new();
        self.remove_occupant(seq, removal, now, out, &mut others);
        out.append(&mut others);
        self.after_departure(out);
    }

    /// An occupant whose session bounced a delivery is removed (307 + 333 to the others).
    pub(crate) fn remove_ghost(&mut self, seq: u64, now: Timestamp, out: &mut Vec<Effect>) {
        let mut removal = Removal::new(
            LeaveReason::DeliveryError,
            &[status::KICKED, status::TECHNICAL_REMOVAL],
        );
        removal.notify_self = false;
        let mut others = Vec::new();
        self.remove_occupant(seq, removal, now, out, &mut others);
        out.append(&mut others);
        self.after_departure(out);
    }
}
