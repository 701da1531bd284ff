//! IQs between occupants: a request to an occupant JID reaches the occupant's real JID with
//! `from` = the sender's occupant JID and a room-made id; the answer comes back the same way
//! and gets the original id again. Jitsi's Jingle and COLIBRI ride on this.
//!
//! The room-made ids make concurrent requests with equal client ids unambiguous; the table
//! is bounded per room and per requester, and overdue entries fail with
//! `remote-server-timeout`.

use std::collections::{HashMap, VecDeque};

use rookery_proto::{Element, Jid, StanzaError, StanzaErrorCondition, ns};

use super::Room;
use super::outbound::{reply_error, send};
use crate::effect::Effect;
use crate::time::Timestamp;

/// One forwarded request awaiting its answer.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    original_id: String,
    requester: Jid,
    requester_view: Jid,
    responder: Jid,
    responder_nick: String,
    deadline: Timestamp,
}

/// The table of forwarded requests.
#[derive(Debug, Clone, Default)]
pub(crate) struct PendingIqs {
    map: HashMap<String, Pending>,
    queue: VecDeque<(Timestamp, String)>,
    per_requester: HashMap<Jid, usize>,
    counter: u64,
}

impl PendingIqs {
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Records a request; `None` when the room or requester limit is reached.
    fn insert(&mut self, p: Pending, max_total: usize, max_per: usize) -> Option<String> {
        let mine = self.per_requester.get(&p.requester).copied().unwrap_or(0);
        if self.map.len() >= max_total || mine >= max_per {
            return None;
        }
        self.counter += 1;
        let id = format!("rk-muc-{:x}", self.counter);
        *self.per_requester.entry(p.requester.clone()).or_insert(0) += 1;
        self.queue.push_back((p.deadline, id.clone()));
        self.map.insert(id.clone(), p);
        if self.queue.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.queue.retain(|(_, id)| map.contains_key(id));
        }
        Some(id)
    }

    fn forget(&mut self, id: &str) -> Option<Pending> {
        let p = self.map.remove(id)?;
        if let Some(n) = self.per_requester.get_mut(&p.requester) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_requester.remove(&p.requester);
            }
        }
        Some(p)
    }

    /// Takes the entry for an answer with `id` from `responder` (only the occupant asked may
    /// answer).
    fn take(&mut self, id: &str, responder: &Jid) -> Option<Pending> {
        match self.map.get(id) {
            Some(p) if &p.responder == responder => self.forget(id),
            _ => None,
        }
    }

    /// Removes and returns the overdue entries.
    fn expire(&mut self, now: Timestamp) -> Vec<Pending> {
        let mut gone = Vec::new();
        while let Some((deadline, _)) = self.queue.front() {
            if *deadline > now {
                break;
            }
            if let Some((_, id)) = self.queue.pop_front()
                && let Some(p) = self.forget(&id)
            {
                gone.push(p);
            }
        }
        gone
    }

    /// Removes every entry involving `real`; returns those where `real` was to answer.
    fn remove_for(&mut self, real: &Jid) -> Vec<Pending> {
        let ids: Vec<String> = self
            .map
            .iter()
            .filter(|(_, p)| &p.requester == real || &p.responder == real)
            .map(|(id, _)| id.clone())
            .collect();
        let mut unanswered = Vec::new();
        for id in ids {
            if let Some(p) = self.forget(&id)
                && &p.requester != real
            {
                unanswered.push(p);
            }
        }
        unanswered
    }
}

/// The error an unanswered request gets, sent to its requester.
fn fail(out: &mut Vec<Effect>, p: &Pending, condition: StanzaErrorCondition, text: &str) {
    let err = StanzaError::new(condition).with_text(text);
    let reply = Element::new("iq", ns::CLIENT)
        .with_attr("type", "error")
        .with_attr("id", p.original_id.clone())
        .with_attr("from", format!("{}/{}", p.requester_view, p.responder_nick))
        .with_child(err.to_element(ns::CLIENT));
    send(out, &p.requester, reply);
}

impl<I> Room<I> {
    /// Fails overdue forwarded IQs.
    pub(crate) fn expire_iqs(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        for p in self.pending.expire(now) {
            fail(
                out,
                &p,
                StanzaErrorCondition::RemoteServerTimeout,
                "the occupant did not answer",
            );
        }
    }

    /// Drops requests of a departed occupant and fails those it was to answer.
    pub(crate) fn fail_pending_for(&mut self, real: &Jid, out: &mut Vec<Effect>) {
        for p in self.pending.remove_for(real) {
            fail(
                out,
                &p,
                StanzaErrorCondition::ItemNotFound,
                "the occupant left the room",
            );
        }
    }

    /// Forwards a get/set from occupant `from_seq` to occupant `to_seq`.
    pub(crate) fn forward_request(
        &mut self,
        mut stanza: Element,
        from_seq: u64,
        to_seq: u64,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let (Some(from), Some(target)) = (self.occupants.get(from_seq), self.occupants.get(to_seq))
        else {
            return;
        };
        let Some(original_id) = stanza.attr("id").map(str::to_owned) else {
            let err =
                StanzaError::new(StanzaErrorCondition::BadRequest).with_text("an IQ needs an id");
            reply_error(out, &stanza, &from.real, err);
            return;
        };
        let pending = Pending {
            original_id,
            requester: from.real.clone(),
            requester_view: from.view.clone(),
            responder: target.real.clone(),
            responder_nick: target.nick.clone(),
            deadline: now.plus(self.iq_timeout()),
        };
        let from_jid = from.occupant_jid_in(&target.view);
        let target_real = target.real.clone();
        let requester = from.real.clone();
        let max_total = self.service.max_pending_iqs;
        let max_per = self.service.max_pending_iqs_per_occupant;
        let Some(id) = self.pending.insert(pending, max_total, max_per) else {
            let err = StanzaError::new(StanzaErrorCondition::ResourceConstraint)
                .with_text("too many requests awaiting an answer");
            reply_error(out, &stanza, &requester, err);
            return;
        };
        stanza.set_attr("id", id);
        stanza.set_attr("from", from_jid);
        send(out, &target_real, stanza);
    }

    /// Routes an answer (result or error) back to the requester; unknown ids are dropped.
    pub(crate) fn forward_response(
        &mut self,
        mut stanza: Element,
        responder: &Jid,
        out: &mut Vec<Effect>,
    ) {
        let Some(id) = stanza.attr("id") else {
            return;
        };
        let Some(p) = self.pending.take(id, responder) else {
            return;
        };
        let nick = self
            .occupants
            .seq_by_real(responder)
            .and_then(|s| self.occupants.get(s))
            .map_or(p.responder_nick.clone(), |o| o.nick.clone());
        stanza.set_attr("id", p.original_id);
        stanza.set_attr("from", format!("{}/{nick}", p.requester_view));
        send(out, &p.requester, stanza);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(requester: &str, responder: &str, deadline: u64) -> Pending {
        Pending {
            original_id: "orig".into(),
            requester: Jid::parse(requester).unwrap(),
            requester_view: Jid::parse("r@m").unwrap(),
            responder: Jid::parse(responder).unwrap(),
            responder_nick: "n".into(),
            deadline: Timestamp::from_unix_secs(deadline),
        }
    }

    #[test]
    fn ids_are_unique_and_answers_only_from_the_responder() {
        let mut t = PendingIqs::default();
        let a = t.insert(pending("a@h/1", "b@h/1", 10), 10, 10).unwrap();
        let b = t.insert(pending("a@h/1", "b@h/1", 10), 10, 10).unwrap();
        assert_ne!(a, b);
        assert!(t.take(&a, &Jid::parse("c@h/1").unwrap()).is_none());
        assert!(t.take(&a, &Jid::parse("b@h/1").unwrap()).is_some());
        assert!(t.take(&a, &Jid::parse("b@h/1").unwrap()).is_none());
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn limits_expiry_and_departures() {
        let mut t = PendingIqs::default();
        assert!(t.insert(pending("a@h/1", "b@h/1", 10), 3, 2).is_some());
        assert!(t.insert(pending("a@h/1", "b@h/1", 20), 3, 2).is_some());
        assert!(
            t.insert(pending("a@h/1", "b@h/1", 20), 3, 2).is_none(),
            "per requester"
        );
        assert!(t.insert(pending("c@h/1", "b@h/1", 30), 3, 2).is_some());
        assert!(
            t.insert(pending("d@h/1", "b@h/1", 30), 3, 2).is_none(),
            "per room"
        );
        assert_eq!(t.expire(Timestamp::from_unix_secs(15)).len(), 1);
        assert_eq!(t.len(), 2);
        // b leaves: both remaining requests are failed back to their requesters
        let failed = t.remove_for(&Jid::parse("b@h/1").unwrap());
        assert_eq!(failed.len(), 2);
        assert_eq!(t.len(), 0);
        assert!(t.per_requester.is_empty());
        assert!(t.expire(Timestamp::from_unix_secs(100)).is_empty());
    }
}
