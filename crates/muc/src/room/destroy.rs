//! Destroying a room (XEP-0045 §10.9): each occupant gets one unavailable presence from its
//! own occupant JID carrying `<destroy/>` (alternate venue, reason), then the owner's IQ
//! result, then the record is forgotten and the room closes.

use rookery_proto::{Element, Jid, ns};

use super::outbound::{Item, muc_user_x, send};
use super::{Lifecycle, Room};
use crate::affiliation::Affiliation;
use crate::effect::{CloseReason, Effect};
use crate::hooks::{LeaveReason, OccupantInfo};
use crate::roles::Role;
use crate::time::Timestamp;

impl<I> Room<I> {
    /// Destroys the room; `reply` (the owner's IQ result) is emitted after the occupants'
    /// notices.
    pub(crate) fn destroy(
        &mut self,
        alternate: Option<Jid>,
        reason: Option<String>,
        password: Option<String>,
        reply: Option<Effect>,
        _now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let mut destroy = Element::new("destroy", ns::MUC_USER)
            .with_opt_attr("jid", alternate.as_ref().map(Jid::as_str));
        if let Some(r) = &reason {
            destroy.push_child(Element::new("reason", ns::MUC_USER).with_text(r.clone()));
        }
        if let Some(p) = &password {
            destroy.push_child(Element::new("password", ns::MUC_USER).with_text(p.clone()));
        }
        let mut hook_effects = Vec::new();
        for o in self.occupants.iter() {
            let item = Item {
                affiliation: Some(Affiliation::None),
                role: Some(Role::None),
                ..Item::default()
            };
            let mut x = muc_user_x(&item, &[]);
            x.push_child(destroy.clone());
            let p = Element::new("presence", ns::CLIENT)
                .with_attr("from", o.occupant_jid_in(&o.view))
                .with_attr("type", "unavailable")
                .with_child(x);
            send(out, &o.real, p);
            let info = OccupantInfo {
                room: &self.jid,
                view: &o.view,
                nick: &o.nick,
                real: &o.real,
                role: o.role,
                affiliation: self.occupant_affiliation(o),
                presence: o.presence(),
            };
            self.hooks
                .left(&info, LeaveReason::Destroyed, &mut hook_effects);
        }
        out.extend(reply);
        out.append(&mut hook_effects);
        if self.config.persistent && self.lifecycle == Lifecycle::Open {
            out.push(Effect::Forget {
                room: self.jid.clone(),
            });
        }
        self.close(CloseReason::Destroyed, out);
    }
}
