//! Taking an occupant out of the room, whatever the cause: its own exit, a kick or ban, an
//! affiliation change, a lost session. One place so every path notifies the same way.

use rookery_proto::{Element, Jid, ns};

use super::Room;
use super::outbound::{Item, muc_user_x, send};
use crate::effect::Effect;
use crate::hooks::{LeaveReason, OccupantInfo};
use crate::roles::Role;
use crate::status;
use crate::time::Timestamp;

/// How an occupant is removed.
#[derive(Debug, Clone)]
pub(crate) struct Removal {
    pub reason: LeaveReason,
    /// Status codes for everyone (307, 301, 321, 322, 333 …).
    pub statuses: Vec<u16>,
    /// Nick of the moderator/admin who did it.
    pub actor: Option<String>,
    /// Reason text.
    pub text: Option<String>,
    /// Tell the removed occupant itself (not when its session is gone).
    pub notify_self: bool,
    /// The occupant's own unavailable presence, reflected as sent (its `<status/>`).
    pub payload: Option<Element>,
}

impl Removal {
    /// A removal of `reason` with these codes, notifying the occupant.
    pub(crate) fn new(reason: LeaveReason, statuses: &[u16]) -> Self {
        Removal {
            reason,
            statuses: statuses.to_vec(),
            actor: None,
            text: None,
            notify_self: true,
            payload: None,
        }
    }
}

impl<I> Room<I> {
    /// Removes occupant `seq`: the occupant's own notice goes to `to_self`, the broadcast to
    /// the remaining occupants to `to_others` (callers interleave an IQ result between them
    /// as XEP-0045 orders for kicks and bans). Does not close the room; see
    /// [`Room::after_departure`].
    pub(crate) fn remove_occupant(
        &mut self,
        seq: u64,
        removal: Removal,
        _now: Timestamp,
        to_self: &mut Vec<Effect>,
        to_others: &mut Vec<Effect>,
    ) {
        let affiliation = match self.occupants.get(seq) {
            Some(o) => self.occupant_affiliation(o),
            None => return,
        };
        let Some(gone) = self.occupants.remove(seq) else {
            return;
        };
        let build = |view: &Jid, jid: Option<&Jid>, codes: &[u16]| {
            let mut p = removal
                .payload
                .clone()
                .unwrap_or_else(|| Element::new("presence", ns::CLIENT));
            p.set_attr("from", gone.occupant_jid_in(view));
            p.set_attr("type", "unavailable");
            let item = Item {
                affiliation: Some(affiliation),
                role: Some(Role::None),
                jid,
                actor: removal.actor.as_deref(),
                reason: removal.text.as_deref(),
                ..Item::default()
            };
            p.push_child(muc_user_x(&item, codes));
            p
        };
        if removal.notify_self {
            let mut codes = removal.statuses.clone();
            codes.push(status::SELF_PRESENCE);
            codes.sort_unstable();
            send(
                to_self,
                &gone.real,
                build(&gone.view, Some(&gone.real), &codes),
            );
        }
        if self.config.broadcasts(gone.role) {
            self.fan_out(to_others, None, true, |view, with_jid| {
                build(view, with_jid.then_some(&gone.real), &removal.statuses)
            });
        }
        self.fail_pending_for(&gone.real, to_others);
        let info = OccupantInfo {
            room: &self.jid,
            view: &gone.view,
            nick: &gone.nick,
            real: &gone.real,
            role: gone.role,
            affiliation,
            presence: gone.presence(),
        };
        self.hooks.left(&info, removal.reason, to_others);
    }

    /// The server removes the occupant whose session is `jid`, as a kick (307) with a reason.
    pub(crate) fn expel(
        &mut self,
        jid: &Jid,
        reason: String,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(seq) = self.occupants.seq_by_real(jid) else {
            return;
        };
        let mut removal = Removal::new(LeaveReason::Kicked, &[crate::status::KICKED]);
        removal.text = Some(reason);
        let mut others = Vec::new();
        self.remove_occupant(seq, removal, now, out, &mut others);
        out.append(&mut others);
        self.after_departure(out);
    }

    /// The occupant whose session is `jid` leaves without notice to itself.
    pub(crate) fn session_gone(&mut self, jid: &Jid, now: Timestamp, out: &mut Vec<Effect>) {
        let Some(seq) = self.occupants.seq_by_real(jid) else {
            return;
        };
        let mut removal = Removal::new(LeaveReason::SessionGone, &[]);
        removal.notify_self = false;
        let mut others = Vec::new();
        self.remove_occupant(seq, removal, now, out, &mut others);
        out.append(&mut others);
        self.after_departure(out);
    }
}
