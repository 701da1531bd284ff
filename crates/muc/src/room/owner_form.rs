//! The `muc#owner` protocol (XEP-0045 §10): the configuration form (get, submit, cancel),
//! instant rooms (an empty submit unlocks a locked room) and destruction.
//!
//! Submitted fields this implementation does not know (jicofo sends several) are accepted
//! and ignored; known fields with invalid values get `not-acceptable`.

use rookery_proto::{Element, Jid, StanzaError, StanzaErrorCondition, ns};

use super::jicofo_lock::MEETING_ID_VAR;
use super::outbound::{iq_result, reply_error};
use super::removal::Removal;
use super::{Lifecycle, Room};
use crate::affiliation::Affiliation;
use crate::effect::{CloseReason, Effect};
use crate::form::{FormField, SubmittedForm, build_form, parse_bool};
use crate::hooks::LeaveReason;
use crate::input::Sender;
use crate::roles::Role;
use crate::room_config::{AllowPm, RoomConfig, Whois};
use crate::status;
use crate::time::Timestamp;

/// The `muc#roomconfig` form type.
pub(super) const ROOMCONFIG: &str = "http://jabber.org/protocol/muc#roomconfig";

/// Longest accepted text value (name, description, password).
const MAX_TEXT: usize = 1024;

fn not_acceptable(text: String) -> StanzaError {
    StanzaError::new(StanzaErrorCondition::NotAcceptable).with_text(text)
}

/// The configuration form for `c`.
pub(crate) fn config_form(c: &RoomConfig, room: &str) -> Element {
    let roles = |v: &[Role]| v.iter().map(|r| r.as_str().to_owned()).collect::<Vec<_>>();
    let fields = vec![
        FormField::form_type(ROOMCONFIG),
        FormField::new(
            "muc#roomconfig_roomname",
            "text-single",
            c.name.clone().unwrap_or_default(),
        )
        .with_label("Room name"),
        FormField::new(
            "muc#roomconfig_roomdesc",
            "text-single",
            c.description.clone().unwrap_or_default(),
        )
        .with_label("Description"),
        FormField::boolean("muc#roomconfig_persistentroom", c.persistent).with_label("Persistent"),
        FormField::boolean("muc#roomconfig_publicroom", c.public).with_label("Publicly listed"),
        FormField::boolean("muc#roomconfig_membersonly", c.members_only).with_label("Members only"),
        FormField::boolean("muc#roomconfig_moderatedroom", c.moderated).with_label("Moderated"),
        FormField::boolean("muc#roomconfig_passwordprotectedroom", c.password_protected)
            .with_label("Password required"),
        FormField::new(
            "muc#roomconfig_roomsecret",
            "text-private",
            c.password.clone().unwrap_or_default(),
        )
        .with_label("Password"),
        FormField::new("muc#roomconfig_whois", "list-single", c.whois.as_str())
            .with_label("Who may discover real JIDs")
            .with_option("Moderators", "moderators")
            .with_option("Anyone", "anyone"),
        FormField::new(
            "muc#roomconfig_maxusers",
            "list-single",
            if c.max_users == 0 {
                "none".to_owned()
            } else {
                c.max_users.to_string()
            },
        )
        .with_label("Maximum occupants")
        .with_option("None", "none")
        .with_option("10", "10")
        .with_option("50", "50")
        .with_option("100", "100")
        .with_option("500", "500"),
        FormField::boolean("muc#roomconfig_changesubject", c.change_subject)
            .with_label("Participants may change the subject"),
        FormField::boolean("muc#roomconfig_allowinvites", c.allow_invites)
            .with_label("Members may invite"),
        FormField::new("muc#roomconfig_allowpm", "list-single", c.allow_pm.as_str())
            .with_label("Who may send private messages")
            .with_option("Anyone", "anyone")
            .with_option("Participants", "participants")
            .with_option("Moderators", "moderators")
            .with_option("Nobody", "none"),
        FormField::new("muc#roomconfig_presencebroadcast", "list-multi", "")
            .with_values(roles(&c.presence_broadcast))
            .with_label("Roles whose presence is broadcast")
            .with_option("Moderator", "moderator")
            .with_option("Participant", "participant")
            .with_option("Visitor", "visitor"),
    ];
    Element::new("query", ns::MUC_OWNER).with_child(build_form(
        "form",
        Some(&format!("Configuration of {room}")),
        &fields,
    ))
}

/// Applies a submitted form on top of `old`.
pub(crate) fn apply_form(
    old: &RoomConfig,
    form: &SubmittedForm,
) -> Result<RoomConfig, StanzaError> {
    let mut c = old.clone();
    let mut saw_protected = false;
    for (var, values) in &form.fields {
        let v = values.first().map_or("", String::as_str);
        let boolean =
            || parse_bool(v).ok_or_else(|| not_acceptable(format!("{var} must be a boolean")));
        let text = || {
            if v.chars().count() > MAX_TEXT {
                Err(not_acceptable(format!("{var} is too long")))
            } else {
                Ok((!v.is_empty()).then(|| v.to_owned()))
            }
        };
        match var.as_str() {
            "FORM_TYPE" if !v.is_empty() && v != ROOMCONFIG => {
                return Err(StanzaError::new(StanzaErrorCondition::BadRequest)
                    .with_text("not a room configuration form"));
            }
            "muc#roomconfig_roomname" => c.name = text()?,
            "muc#roomconfig_roomdesc" => c.description = text()?,
            "muc#roomconfig_persistentroom" => c.persistent = boolean()?,
            "muc#roomconfig_publicroom" => c.public = boolean()?,
            "muc#roomconfig_membersonly" => c.members_only = boolean()?,
            "muc#roomconfig_moderatedroom" => c.moderated = boolean()?,
            "muc#roomconfig_passwordprotectedroom" => {
                c.password_protected = boolean()?;
                saw_protected = true;
            }
            "muc#roomconfig_roomsecret" => c.password = text()?,
            "muc#roomconfig_whois" => {
                c.whois = Whois::parse(v)
                    .ok_or_else(|| not_acceptable(format!("unknown whois value {v:?}")))?;
            }
            "muc#roomconfig_maxusers" => {
                c.max_users = match v {
                    "" | "none" => 0,
                    n => n
                        .trim()
                        .parse()
                        .map_err(|_| not_acceptable(format!("bad maxusers {n:?}")))?,
                };
            }
            "muc#roomconfig_changesubject" => c.change_subject = boolean()?,
            "muc#roomconfig_allowinvites" => c.allow_invites = boolean()?,
            "muc#roomconfig_allowpm" => {
                c.allow_pm = AllowPm::parse(v)
                    .ok_or_else(|| not_acceptable(format!("unknown allowpm value {v:?}")))?;
            }
            "muc#roomconfig_presencebroadcast" => {
                let mut roles = Vec::new();
                for r in values {
                    match Role::parse(r) {
                        Some(role) if role != Role::None => roles.push(role),
                        _ => return Err(not_acceptable(format!("unknown role {r:?}"))),
                    }
                }
                c.presence_broadcast = roles;
            }
            _ => {}
        }
    }
    let has_secret = c.password.as_deref().is_some_and(|p| !p.is_empty());
    if !saw_protected && form.values("muc#roomconfig_roomsecret").is_some() {
        c.password_protected = has_secret;
    }
    if c.password_protected && !has_secret {
        return Err(not_acceptable(
            "a password-protected room needs a password".into(),
        ));
    }
    Ok(c)
}

impl<I> Room<I> {
    pub(crate) fn owner_iq(
        &mut self,
        stanza: Element,
        sender: &Sender<I>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if self.sender_affiliation(sender) < Affiliation::Owner {
            let e = StanzaError::new(StanzaErrorCondition::Forbidden)
                .with_text("only owners may do that");
            return reply_error(out, &stanza, &sender.jid, e);
        }
        let Some(query) = stanza.first_child() else {
            return;
        };
        if stanza.attr("type") == Some("get") {
            let node = self.jid.node().unwrap_or_default().to_owned();
            let mut form = config_form(&self.config, &node);
            // Fixed room info (the meeting id) rides along, as Jitsi's jicofo expects.
            if let Some(x) = form.get_child_mut("x", ns::DATA_FORMS) {
                for f in &self.info_fields {
                    x.push_child(f.to_element());
                }
            }
            out.push(iq_result(&stanza, &sender.jid, Some(form)));
            return;
        }
        if let Some(d) = query.get_child("destroy", ns::MUC_OWNER) {
            let alternate = match d.attr("jid").map(Jid::parse) {
                None => None,
                Some(Ok(j)) => Some(j),
                Some(Err(_)) => {
                    let e = StanzaError::new(StanzaErrorCondition::JidMalformed)
                        .with_text("bad alternate venue");
                    return reply_error(out, &stanza, &sender.jid, e);
                }
            };
            let reason = d.child_text("reason", ns::MUC_OWNER);
            let password = d.child_text("password", ns::MUC_OWNER);
            let result = iq_result(&stanza, &sender.jid, None);
            return self.destroy(alternate, reason, password, Some(result), now, out);
        }
        let form = match query
            .get_child("x", ns::DATA_FORMS)
            .map(SubmittedForm::parse)
        {
            Some(Ok(f)) => f,
            _ => {
                let e = StanzaError::new(StanzaErrorCondition::BadRequest)
                    .with_text("expected a data form or destroy");
                return reply_error(out, &stanza, &sender.jid, e);
            }
        };
        match form.kind.as_str() {
            "cancel" if self.lifecycle == Lifecycle::Locked => {
                let result = iq_result(&stanza, &sender.jid, None);
                self.destroy(None, None, None, Some(result), now, out);
            }
            "cancel" => out.push(iq_result(&stanza, &sender.jid, None)),
            "submit" => match apply_form(&self.config, &form) {
                Ok(config) => {
                    // Only a service admin (jicofo) may replace the meeting id.
                    if self.is_service_admin(sender)
                        && let Some(id) = form.values(MEETING_ID_VAR).and_then(|v| v.first())
                        && let Some(f) = self
                            .info_fields
                            .iter_mut()
                            .find(|f| f.var == MEETING_ID_VAR)
                    {
                        f.values = vec![id.clone()];
                    }
                    out.push(iq_result(&stanza, &sender.jid, None));
                    self.reconfigure(config, now, out);
                }
                Err(e) => reply_error(out, &stanza, &sender.jid, e),
            },
            _ => {
                let e = StanzaError::new(StanzaErrorCondition::BadRequest)
                    .with_text("the form must be submit or cancel");
                reply_error(out, &stanza, &sender.jid, e);
            }
        }
    }

    /// Installs a new configuration: unlocks, notifies (104, 172/173), removes non-members
    /// from a room that became members-only (322), and persists or forgets.
    fn reconfigure(&mut self, config: RoomConfig, now: Timestamp, out: &mut Vec<Effect>) {
        let old = std::mem::replace(&mut self.config, config);
        let was_locked = self.lifecycle == Lifecycle::Locked;
        self.lifecycle = Lifecycle::Open;
        if !was_locked && old != self.config {
            let mut codes = vec![status::CONFIG_CHANGED];
            match (old.whois, self.config.whois) {
                (Whois::Moderators, Whois::Anyone) => codes.push(status::NOW_NON_ANONYMOUS),
                (Whois::Anyone, Whois::Moderators) => codes.push(status::NOW_SEMI_ANONYMOUS),
                _ => {}
            }
            self.broadcast_room_status(out, &codes);
        }
        if self.config.members_only && !old.members_only {
            let outsiders: Vec<u64> = self
                .occupants
                .iter()
                .filter(|o| self.occupant_affiliation(o) < Affiliation::Member)
                .map(|o| o.seq)
                .collect();
            for seq in outsiders {
                let r = Removal::new(LeaveReason::MembersOnly, &[status::MEMBERS_ONLY_REMOVED]);
                let mut others = Vec::new();
                self.remove_occupant(seq, r, now, out, &mut others);
                out.append(&mut others);
            }
        }
        if self.config.persistent {
            self.persist(out);
        } else if old.persistent && !was_locked {
            out.push(Effect::Forget {
                room: self.jid.clone(),
            });
        }
        out.push(Effect::Summary(self.summary()));
        if self.occupants.is_empty() && !self.config.persistent {
            self.close(CloseReason::Empty, out);
        }
    }
}
