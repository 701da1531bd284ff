//! The service level: what is addressed to the MUC domain itself (disco, ping), which room a
//! stanza is for, whether a stanza for a room that does not exist may create it, and the
//! directory of public rooms that rooms publish through [`Effect::Summary`].

use std::collections::BTreeMap;
use std::sync::Arc;

use rookery_proto::{Element, Jid, StanzaError, StanzaErrorCondition, error_reply, ns};

use crate::address::AddressMapper;
use crate::config::MucConfig;
use crate::disco;
use crate::effect::{Effect, RoomSummary};

/// What a stanza's `to` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The service itself (its domain, or a tenant subdomain of it).
    Service,
    /// A room: feed the stanza (unchanged) to the room keyed by `room`.
    Room {
        /// The internal bare room JID (the room key).
        room: Jid,
        /// The bare room JID as addressed (the sender's view).
        view: Jid,
    },
    /// On this service's domain but naming no possible room (e.g. a malformed tenant
    /// node): answer with [`Service::refuse_invalid`].
    Invalid,
}

/// What to do with a stanza for a room that has no live task.
#[derive(Debug, Clone)]
pub enum NewRoom {
    /// Start the room (`Room::new`, or `Room::from_record` if a record exists) and feed it
    /// the stanza; the room itself runs the creation checks and hooks.
    Create,
    /// Do not start a room; deliver this reply.
    Reply(Effect),
    /// Do not start a room; drop the stanza.
    Ignore,
}

/// One MUC service. `M` maps tenant addresses.
#[derive(Debug)]
pub struct Service<M> {
    config: Arc<MucConfig>,
    mapper: M,
    rooms: BTreeMap<Jid, RoomSummary>,
}

fn reply(stanza: &Element, to: &Jid, err: StanzaError) -> Option<Effect> {
    let mut r = error_reply(stanza, &err)?;
    r.set_attr("to", to.as_str());
    Some(Effect::Send {
        to: to.clone(),
        stanza: r,
    })
}

fn result(stanza: &Element, to: &Jid, payload: Option<Element>) -> Effect {
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

impl<M: AddressMapper> Service<M> {
    /// A service with these settings and address mapping.
    pub fn new(config: Arc<MucConfig>, mapper: M) -> Self {
        Service {
            config,
            mapper,
            rooms: BTreeMap::new(),
        }
    }

    /// The settings (rooms take a clone of this `Arc`).
    pub fn config(&self) -> &Arc<MucConfig> {
        &self.config
    }

    /// What `to` names; `None` when it is not this service's.
    pub fn target(&self, to: &Jid) -> Option<Target> {
        let service = &self.config.domain;
        if !self.mapper.serves(service, to.domain()) {
            return None;
        }
        if to.node().is_none() {
            return Some(Target::Service);
        }
        let view = to.to_bare();
        match self.mapper.to_internal(service, &view) {
            Some(room) => Some(Target::Room { room, view }),
            None => Some(Target::Invalid),
        }
    }

    /// The answer to a stanza whose target is [`Target::Invalid`]: `jid-malformed` for
    /// requests and messages, nothing for errors, results and presence other than joins.
    pub fn refuse_invalid(&self, stanza: &Element, sender: &Jid) -> Vec<Effect> {
        let kind = stanza.attr("type");
        let answer = match (stanza.name.as_str(), kind) {
            ("message", Some("error")) | ("iq", Some("result" | "error")) => false,
            ("message" | "iq", _) | ("presence", None) => true,
            _ => false,
        };
        if !answer {
            return Vec::new();
        }
        let err =
            StanzaError::new(StanzaErrorCondition::JidMalformed).with_text("not a room address");
        reply(stanza, sender, err).into_iter().collect()
    }

    /// Answers a stanza addressed to the service domain (or a tenant subdomain) itself.
    pub fn handle(&self, stanza: &Element, sender: &Jid) -> Vec<Effect> {
        let kind = stanza.attr("type").unwrap_or("");
        if stanza.name != "iq" {
            if stanza.name == "message" && kind != "error" {
                return reply(
                    stanza,
                    sender,
                    StanzaError::new(StanzaErrorCondition::ServiceUnavailable),
                )
                .into_iter()
                .collect();
            }
            return Vec::new();
        }
        if kind != "get" && kind != "set" {
            return Vec::new();
        }
        let payload = stanza.first_child();
        let get = kind == "get";
        let answer = match payload.map(|p| (p.ns.as_str(), p.name.as_str(), p.attr("node"))) {
            Some((ns::DISCO_INFO, "query", None)) if get => {
                let name = self.config.name.as_deref().unwrap_or("Chatrooms");
                Some(result(stanza, sender, Some(disco::service_info(name))))
            }
            Some((ns::DISCO_ITEMS, "query", None)) if get => {
                let view_domain = stanza
                    .attr("to")
                    .and_then(|t| Jid::parse(t).ok())
                    .map_or_else(|| self.config.domain.to_string(), |j| j.domain().to_owned());
                Some(result(stanza, sender, Some(self.items(&view_domain))))
            }
            Some((ns::PING, "ping", _)) if get => Some(result(stanza, sender, None)),
            _ => reply(
                stanza,
                sender,
                StanzaError::new(StanzaErrorCondition::ServiceUnavailable),
            ),
        };
        answer.into_iter().collect()
    }

    /// Public, configured rooms visible from `view_domain`, at most `max_disco_items`.
    fn items(&self, view_domain: &str) -> Element {
        let service = &self.config.domain;
        let list = self
            .rooms
            .values()
            .filter(|s| s.public && !s.locked)
            .filter_map(|s| {
                let jid = self.mapper.to_view(service, &s.room, view_domain)?;
                Some((jid, s.name.as_deref()))
            })
            .take(self.config.max_disco_items);
        disco::items(list)
    }

    /// Decides what to do with `stanza` for a room that has no live task (and no stored
    /// record). `live_rooms` is how many rooms of this service are running.
    pub fn new_room(
        &self,
        stanza: &Element,
        sender: &Jid,
        is_admin: bool,
        live_rooms: usize,
    ) -> NewRoom {
        let kind = stanza.attr("type");
        let has_nick = stanza
            .attr("to")
            .and_then(|t| Jid::parse(t).ok())
            .is_some_and(|j| j.is_full());
        let refuse = |condition: StanzaErrorCondition, text: &str| match reply(
            stanza,
            sender,
            StanzaError::new(condition).with_text(text),
        ) {
            Some(e) => NewRoom::Reply(e),
            None => NewRoom::Ignore,
        };
        match (stanza.name.as_str(), kind) {
            ("presence", None) if !has_nick => {
                refuse(StanzaErrorCondition::JidMalformed, "a nickname is required")
            }
            ("presence", None) => {
                let admin = is_admin || self.config.is_admin(sender);
                if self.config.restrict_room_creation && !admin {
                    let err = StanzaError::new(StanzaErrorCondition::NotAllowed)
                        .with_text("room creation is restricted")
                        .with_extra(Element::new("room-does-not-exist", ns::JITMEET));
                    return match reply(stanza, sender, err) {
                        Some(e) => NewRoom::Reply(e),
                        None => NewRoom::Ignore,
                    };
                }
                if self.config.max_rooms != 0 && live_rooms >= self.config.max_rooms && !admin {
                    return refuse(StanzaErrorCondition::ResourceConstraint, "too many rooms");
                }
                NewRoom::Create
            }
            ("presence", _) => NewRoom::Ignore,
            ("message", Some("error")) | ("iq", Some("result" | "error")) => NewRoom::Ignore,
            ("message" | "iq", _) => refuse(StanzaErrorCondition::ItemNotFound, "no such room"),
            _ => NewRoom::Ignore,
        }
    }

    /// Updates the room directory from a room's effect (`Summary`, `Closed`, `Forget`);
    /// other effects are ignored.
    pub fn observe(&mut self, effect: &Effect) {
        match effect {
            Effect::Summary(s) => {
                self.rooms.insert(s.room.clone(), s.clone());
            }
            Effect::Closed { room, .. } | Effect::Forget { room } => {
                self.rooms.remove(room);
            }
            _ => {}
        }
    }

    /// Adds a stored persistent room to the directory (at start-up, before it is loaded).
    pub fn register(&mut self, summary: RoomSummary) {
        self.rooms.insert(summary.room.clone(), summary);
    }

    /// Rooms in the directory.
    pub fn directory_len(&self) -> usize {
        self.rooms.len()
    }
}

#[cfg(test)]
mod tests;
