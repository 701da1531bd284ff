//! Hooks wired into a room: refusals are atomic, grants apply, notifications fire.

use std::sync::{Arc, Mutex};

use super::harness::*;
use crate::Affiliation;
use crate::form::FormField;
use crate::hooks::{
    Decision, JoinGrant, LeaveReason, MucHooks, OccupantInfo, PreCreate, PreJoin, RoomInfo,
    RoomSetup,
};

#[derive(Default)]
struct Policy {
    deny_create: bool,
    log: Mutex<Vec<String>>,
}

impl MucHooks<()> for Policy {
    fn pre_create(&self, _e: &PreCreate<'_, ()>, setup: &mut RoomSetup) -> Decision {
        if self.deny_create {
            return Decision::Deny(rookery_proto::StanzaError::new(C::NotAllowed));
        }
        setup.info_fields.push(FormField::new(
            "muc#roominfo_meetingId",
            "text-single",
            "meeting-1",
        ));
        setup.config.members_only = false;
        Decision::Continue
    }

    fn pre_join(&self, e: &PreJoin<'_, ()>, grant: &mut JoinGrant) -> Decision {
        match e.nick {
            "mallory" => Decision::Deny(
                rookery_proto::StanzaError::new(C::NotAllowed)
                    .with_text("token room mismatch")
                    .with_extra(Element::new("room-mismatch", ns::JITMEET)),
            ),
            "mod" => {
                grant.affiliation = Some(Affiliation::Owner);
                Decision::Continue
            }
            _ => Decision::Continue,
        }
    }

    fn joined(&self, o: &OccupantInfo<'_>, _out: &mut Vec<Effect>) {
        self.log
            .lock()
            .unwrap()
            .push(format!("joined {} {:?}", o.nick, o.affiliation));
    }

    fn left(&self, o: &OccupantInfo<'_>, reason: LeaveReason, out: &mut Vec<Effect>) {
        self.log
            .lock()
            .unwrap()
            .push(format!("left {} {reason:?}", o.nick));
        out.push(Effect::Idle {
            room: o.room.clone(),
        });
    }

    fn disco_info_fields(&self, room: &RoomInfo<'_>, fields: &mut Vec<FormField>) {
        fields.push(FormField::new(
            "x-count",
            "text-single",
            room.occupants.to_string(),
        ));
    }
}

fn room_with(policy: Arc<Policy>) -> T {
    T::hooked(|_| {}, HookChain::new().with(10, policy))
}

#[test]
fn a_pre_join_refusal_is_one_error_and_nothing_else() {
    let policy = Arc::new(Policy::default());
    let mut t = room_with(policy.clone());
    t.join_all(&["alice", "bob"]);
    let fx = t.send("mallory", &join_xml("mallory", ""));
    assert_eq!(only_error(&fx, "mallory"), C::NotAllowed);
    let err = rookery_proto::StanzaError::from_stanza(&to(&fx, "mallory")[0]).unwrap();
    assert_eq!(err.text.as_deref(), Some("token room mismatch"));
    assert!(err.extra.iter().any(|e| e.is("room-mismatch", ns::JITMEET)));
    assert_eq!(
        to(&fx, "mallory")[0].attr("from"),
        Some(occ("mallory").as_str())
    );
    assert_eq!(t.nicks(), ["alice", "bob"]);
    assert!(
        !policy
            .log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("mallory"))
    );
}

#[test]
fn a_pre_create_refusal_leaves_no_room() {
    let policy = Arc::new(Policy {
        deny_create: true,
        ..Policy::default()
    });
    let mut t = room_with(policy);
    let fx = t.join("alice");
    assert_eq!(fx.len(), 2);
    assert_eq!(error_to(&fx, "alice"), Some(C::NotAllowed));
    assert!(matches!(
        fx[1],
        Effect::Closed {
            reason: CloseReason::NotCreated,
            ..
        }
    ));
    assert!(t.room.is_empty());
    assert_eq!(t.room.lifecycle(), Lifecycle::Fresh);
}

#[test]
fn grants_setup_and_notifications() {
    let policy = Arc::new(Policy::default());
    let mut t = room_with(policy.clone());
    t.join_all(&["alice"]);
    let fx = t.join("mod");
    let me = &to(&fx, "mod")[1];
    assert_eq!(item(me, "affiliation").as_deref(), Some("owner"));
    assert_eq!(item(me, "role").as_deref(), Some("moderator"));
    assert_eq!(
        t.room.affiliation(&Jid::parse("mod@example.com").unwrap()),
        Affiliation::Owner
    );
    let fx = t.gone("mod");
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Idle { .. })),
        "hooks may emit effects"
    );
    assert_eq!(
        *policy.log.lock().unwrap(),
        [
            "joined alice Owner",
            "joined mod Owner",
            "left mod SessionGone"
        ]
    );
    // the create hook's fixed field and the disco hook's live field both show
    let fx = t.send("eve", &format!("<iq to='{ROOM}' type='get' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
    let q = to(&fx, "eve")[0]
        .get_child("query", ns::DISCO_INFO)
        .cloned()
        .unwrap();
    let form =
        crate::form::SubmittedForm::parse(q.get_child("x", ns::DATA_FORMS).unwrap()).unwrap();
    assert_eq!(form.first("muc#roominfo_meetingId"), Some("meeting-1"));
    assert_eq!(form.first("x-count"), Some("1"));
    assert_eq!(
        t.room.to_record().info_fields.len(),
        1,
        "fixed fields persist"
    );
}
