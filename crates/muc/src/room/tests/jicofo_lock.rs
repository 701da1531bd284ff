//! Jitsi's meeting id and jicofo lock: ids in disco#info and the owner form, joins held
//! until the focus (a service admin) joins and then released in order, immediate refusals
//! for doomed joins, the timeout, and leaving while held.

use std::sync::Arc;

use super::harness::*;
use crate::hooks::{Decision, JoinGrant, MucHooks, PreJoin};
use crate::room::MEETING_ID_VAR;

fn jitsi() -> T {
    T::with(|c| {
        c.jitsi_meeting_id = true;
        c.jicofo_lock = true;
        c.jicofo_lock_timeout_seconds = 30;
    })
}

fn focus_join(t: &mut T) -> Vec<Effect> {
    t.send_as(&admin("focus"), &join_xml("focus", ""))
}

fn disco_meeting_id(t: &mut T, who: &str) -> Option<String> {
    let fx = t.send(
        who,
        &format!(
            "<iq type='get' id='d1' to='{ROOM}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        ),
    );
    let reply = to(&fx, who).pop()?;
    let x = reply
        .get_child("query", ns::DISCO_INFO)?
        .get_child("x", ns::DATA_FORMS)?;
    x.children()
        .find(|f| f.attr("var") == Some(MEETING_ID_VAR))
        .and_then(|f| f.child_text("value", ns::DATA_FORMS))
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<usize> = s.split('-').map(str::len).collect();
    parts == [8, 4, 4, 4, 12] && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[test]
fn every_room_gets_a_meeting_id_in_disco_info() {
    let mut t = jitsi();
    focus_join(&mut t);
    t.join("alice");
    let id = t.room.meeting_id().unwrap().to_owned();
    assert!(is_uuid(&id), "{id}");
    assert_eq!(
        disco_meeting_id(&mut t, "alice").as_deref(),
        Some(id.as_str())
    );

    let mut other = jitsi();
    focus_join(&mut other);
    assert_ne!(other.room.meeting_id(), Some(id.as_str()));

    let mut plain = T::new();
    plain.join("alice");
    assert_eq!(plain.room.meeting_id(), None);
    assert_eq!(disco_meeting_id(&mut plain, "alice"), None);
}

#[test]
fn the_meeting_id_is_in_the_owner_form_and_only_an_admin_may_replace_it() {
    let mut t = jitsi();
    focus_join(&mut t);
    let id = t.room.meeting_id().unwrap().to_owned();
    let fx = t.send_as(
        &admin("focus"),
        &format!("<iq type='get' id='f1' to='{ROOM}'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>"),
    );
    let form = to(&fx, "focus").pop().unwrap();
    let x = form
        .get_child("query", ns::MUC_OWNER)
        .unwrap()
        .get_child("x", ns::DATA_FORMS)
        .unwrap();
    let field = x
        .children()
        .find(|f| f.attr("var") == Some(MEETING_ID_VAR))
        .unwrap();
    assert_eq!(field.child_text("value", ns::DATA_FORMS).unwrap(), id);

    let submit = |value: &str| {
        format!(
            "<iq type='set' id='f2' to='{ROOM}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field><field var='{MEETING_ID_VAR}'><value>{value}</value></field></x></query></iq>"
        )
    };
    // alice is an owner of the room (granted below) but not a service admin.
    t.join("alice");
    t.send_as(
        &admin("focus"),
        &format!("<iq type='set' id='a1' to='{ROOM}'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='owner' jid='{}'/></query></iq>", jid("alice")),
    );
    let fx = t.send("alice", &submit("from-alice"));
    assert_eq!(to(&fx, "alice")[0].attr("type"), Some("result"));
    assert_eq!(t.room.meeting_id(), Some(id.as_str()));
    let fx = t.send_as(&admin("focus"), &submit("from-focus"));
    assert_eq!(to(&fx, "focus")[0].attr("type"), Some("result"));
    assert_eq!(t.room.meeting_id(), Some("from-focus"));
}

#[test]
fn joins_before_the_focus_are_held_then_released_in_order() {
    let mut t = jitsi();
    assert!(t.join("alice").is_empty(), "a held join produces nothing");
    assert!(
        t.send("bob", &join_xml("bob", "<history maxstanzas='0'/>"))
            .is_empty()
    );
    assert_eq!(t.room.held_joins(), 2);
    assert_eq!(t.room.lifecycle(), Lifecycle::Fresh);
    assert!(t.tick().is_empty(), "a room with held joins stays");

    let fx = focus_join(&mut t);
    assert_eq!(t.nicks(), ["focus", "alice", "bob"]);
    assert_eq!(t.room.held_joins(), 0);
    // The focus created the room (201) and got its self-presence before the released
    // joins were processed.
    let focus_own = to(&fx, "focus")
        .into_iter()
        .find(|s| s.name == "presence" && s.attr("from") == Some(occ("focus").as_str()))
        .unwrap();
    assert!(codes(&focus_own).contains(&201));
    assert_eq!(item(&focus_own, "affiliation").as_deref(), Some("owner"));
    // alice joined before bob: bob sees alice's presence, alice sees bob arrive after her.
    let alice = shape(&to(&fx, "alice"));
    let a_self = alice
        .iter()
        .position(|(k, f)| k == "presence" && *f == occ("alice"))
        .unwrap();
    let a_sees_bob = alice
        .iter()
        .position(|(k, f)| k == "presence" && *f == occ("bob"))
        .unwrap();
    assert!(a_self < a_sees_bob, "{alice:?}");
    let bob = shape(&to(&fx, "bob"));
    assert!(bob.contains(&("presence".into(), occ("alice"))));
    assert!(bob.contains(&("presence".into(), occ("focus"))));
    // Nobody got an error.
    for who in ["focus", "alice", "bob"] {
        assert_eq!(error_to(&fx, who), None, "{who}");
    }
    // The lock stays open for the room's life.
    assert!(error_to(&t.join("carol"), "carol").is_none());
    assert_eq!(t.nicks().len(), 4);
}

#[test]
fn a_held_join_times_out_with_a_clear_error() {
    let mut t = jitsi();
    t.join("alice");
    t.advance(29);
    assert!(t.tick().is_empty());
    t.advance(1);
    let fx = t.tick();
    let f = flat(&fx);
    assert_eq!(f.len(), 1, "{fx:?}");
    let (who, err) = &f[0];
    assert_eq!(*who, jid("alice"));
    assert_eq!(err.name, "presence");
    assert_eq!(condition(err), Some(C::ServiceUnavailable));
    let e = rookery_proto::StanzaError::from_stanza(err).unwrap();
    assert_eq!(e.kind, rookery_proto::ErrorType::Wait);
    assert!(e.text.unwrap().contains("focus"));
    // Nothing is left: the never-created room closes.
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Closed {
            reason: CloseReason::NotCreated,
            ..
        }
    )));
}

#[test]
fn only_the_overdue_joins_expire() {
    let mut t = jitsi();
    t.join("alice");
    t.advance(20);
    t.join("bob");
    t.advance(10);
    let fx = t.tick();
    assert_eq!(error_to(&fx, "alice"), Some(C::ServiceUnavailable));
    assert_eq!(error_to(&fx, "bob"), None);
    assert_eq!(t.room.held_joins(), 1);
    focus_join(&mut t);
    assert_eq!(t.nicks(), ["focus", "bob"]);
}

#[test]
fn doomed_joins_are_refused_at_once_instead_of_held() {
    struct DenyMallory;
    impl MucHooks<()> for DenyMallory {
        fn pre_join(&self, e: &PreJoin<'_, ()>, _g: &mut JoinGrant) -> Decision {
            if e.nick == "mallory" {
                Decision::Deny(
                    rookery_proto::StanzaError::new(C::NotAllowed).with_text("token mismatch"),
                )
            } else {
                Decision::Continue
            }
        }
    }
    let mut t = T::hooked(
        |c| {
            c.jicofo_lock = true;
            c.max_nick_length = 8;
        },
        HookChain::new().with(0, Arc::new(DenyMallory)),
    );
    // Each refusal is one error; the never-created room reports itself closed.
    let fx = t.join("mallory");
    assert_eq!(error_to(&fx, "mallory"), Some(C::NotAllowed));
    assert_eq!(flat(&fx).len(), 1);
    let fx = t.join("alexander");
    assert_eq!(error_to(&fx, "alexander"), Some(C::NotAcceptable));
    assert_eq!(flat(&fx).len(), 1);
    assert_eq!(t.room.held_joins(), 0);

    let mut r = T::with(|c| {
        c.jicofo_lock = true;
        c.restrict_room_creation = true;
    });
    assert_eq!(error_to(&r.join("alice"), "alice"), Some(C::NotAllowed));
    assert_eq!(r.room.held_joins(), 0);
}

#[test]
fn leaving_or_disconnecting_while_held_drops_the_join() {
    let mut t = jitsi();
    t.join("alice");
    t.join("bob");
    t.send(
        "alice",
        &format!("<presence type='unavailable' to='{ROOM}/alice'/>"),
    );
    t.gone("bob");
    assert_eq!(t.room.held_joins(), 0);
    focus_join(&mut t);
    assert_eq!(t.nicks(), ["focus"]);
}

#[test]
fn a_repeated_join_replaces_the_held_one() {
    let mut t = jitsi();
    t.join("alice");
    t.send(
        "alice",
        &format!(
            "<presence to='{ROOM}/alice'><x xmlns='http://jabber.org/protocol/muc'/><status>second</status></presence>"
        ),
    );
    assert_eq!(t.room.held_joins(), 1);
    let fx = focus_join(&mut t);
    let seen_by_focus = to(&fx, "focus")
        .into_iter()
        .find(|s| s.attr("from") == Some(occ("alice").as_str()))
        .unwrap();
    assert_eq!(
        seen_by_focus.child_text("status", ns::CLIENT).as_deref(),
        Some("second")
    );
}

#[test]
fn without_the_lock_or_in_health_check_rooms_joins_are_immediate() {
    let mut t = T::with(|c| c.jitsi_meeting_id = true);
    assert!(error_to(&t.join("alice"), "alice").is_none());
    assert_eq!(t.nicks(), ["alice"]);

    let now = Timestamp::from_unix_secs(1_000_000);
    let room = Room::new(
        Jid::parse("__jicofo-health-check-abc@muc.example").unwrap(),
        service(|c| {
            c.jicofo_lock = true;
            c.jitsi_meeting_id = true;
        }),
        Arc::new(HookChain::new()),
        now,
    );
    let mut h = T { room, now };
    assert!(error_to(&h.join("alice"), "alice").is_none());
    assert_eq!(h.nicks(), ["alice"]);
    assert_eq!(h.room.meeting_id(), None);
}

#[test]
fn tick_interval_follows_the_lock_timeout() {
    use std::time::Duration;
    let mut c = MucConfig::new(Jid::parse("muc.example").unwrap());
    assert_eq!(c.tick_interval(), Duration::from_secs(5));
    c.jicofo_lock = true;
    c.jicofo_lock_timeout_seconds = 2;
    assert_eq!(c.tick_interval(), Duration::from_secs(1));
    c.jicofo_lock_timeout_seconds = 600;
    assert_eq!(c.tick_interval(), Duration::from_secs(5));
}
