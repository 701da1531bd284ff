//! Creating and entering rooms: order, status codes, locking, refusals.

use super::harness::*;
use crate::affiliation::Affiliation;
use crate::roles::Role;

#[test]
fn first_join_creates_with_201_and_owner() {
    let mut t = T::new();
    let fx = t.join("alice");
    let got = to(&fx, "alice");
    assert_eq!(
        shape(&got),
        [
            ("presence".into(), occ("alice")),
            ("subject".into(), ROOM.into())
        ]
    );
    let me = &got[0];
    assert_eq!(codes(me), [110, 201]);
    assert_eq!(item(me, "affiliation").as_deref(), Some("owner"));
    assert_eq!(item(me, "role").as_deref(), Some("moderator"));
    assert_eq!(item(me, "jid"), Some(jid("alice")));
    // empty subject, no delay: the room never had one
    assert_eq!(
        got[1].child_text("subject", ns::CLIENT).as_deref(),
        Some("")
    );
    assert!(!got[1].has_child("delay", ns::DELAY));
    assert_eq!(t.room.lifecycle(), Lifecycle::Open);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Summary(s) if !s.locked))
    );
    assert_eq!(
        t.room
            .affiliation(&Jid::parse("alice@example.com").unwrap()),
        Affiliation::Owner
    );
}

#[test]
fn join_order_presences_self_history_subject() {
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    t.say("alice", "one");
    t.say("bob", "two");
    t.send(
        "alice",
        &format!("<message to='{ROOM}' type='groupchat'><subject>Topic</subject></message>"),
    );
    let fx = t.join("carol");
    let got = to(&fx, "carol");
    assert_eq!(
        shape(&got),
        [
            ("presence".into(), occ("alice")),
            ("presence".into(), occ("bob")),
            ("presence".into(), occ("carol")),
            ("message".into(), occ("alice")),
            ("message".into(), occ("bob")),
            ("subject".into(), occ("alice")),
        ]
    );
    assert!(codes(&got[0]).is_empty() && codes(&got[1]).is_empty());
    assert_eq!(codes(&got[2]), [110], "semi-anonymous: no 100, not created");
    // semi-anonymous: carol (participant) does not see real JIDs of others
    assert_eq!(item(&got[0], "jid"), None);
    assert_eq!(item(&got[0], "affiliation").as_deref(), Some("owner"));
    assert_eq!(item(&got[1], "role").as_deref(), Some("participant"));
    for h in &got[3..5] {
        let d = h.get_child("delay", ns::DELAY).unwrap();
        assert_eq!(d.attr("from"), Some(ROOM));
        assert!(d.attr("stamp").is_some());
    }
    assert!(got[5].has_child("delay", ns::DELAY));
    // the others get carol's presence in one broadcast; alice (moderator) sees her JID
    let alice = to(&fx, "alice");
    assert_eq!(shape(&alice), [("presence".into(), occ("carol"))]);
    assert_eq!(item(&alice[0], "jid"), Some(jid("carol")));
    assert_eq!(item(&to(&fx, "bob")[0], "jid"), None);
    // (the presences carol gets are kept stanzas, each handed out as a one-recipient
    // broadcast; the fan-out of hers is what is counted here)
    let carol = jid("carol");
    let broadcasts = fx
        .iter()
        .filter(
            |e| matches!(e, Effect::Broadcast { to, .. } if to.iter().all(|r| r.as_str() != carol)),
        )
        .count();
    assert_eq!(broadcasts, 2, "one per JID-visibility group");
}

#[test]
fn non_anonymous_room_sends_100_and_jids() {
    let mut t = T::with(|c| c.muc_room_default_public_jids = true);
    t.join_all(&["alice"]);
    let fx = t.join("bob");
    let got = to(&fx, "bob");
    assert_eq!(item(&got[0], "jid"), Some(jid("alice")));
    assert_eq!(codes(&got[1]), [100, 110]);
    let bob = jid("bob");
    assert_eq!(
        fx.iter()
            .filter(|e| matches!(e, Effect::Broadcast { to, .. } if to.iter().all(|r| r.as_str() != bob)))
            .count(),
        1
    );
}

#[test]
fn locking_holds_the_room_until_configured() {
    let mut t = T::with(|c| c.muc_room_locking = true);
    let fx = t.join("alice");
    assert_eq!(codes(&to(&fx, "alice")[0]), [110, 201]);
    assert_eq!(t.room.lifecycle(), Lifecycle::Locked);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Summary(s) if s.locked))
    );
    assert_eq!(only_error(&t.join("bob"), "bob"), C::ItemNotFound);
    // instant room: an empty submit unlocks
    let fx = t.send(
        "alice",
        &format!("<iq to='{ROOM}' type='set' id='i1'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>"),
    );
    let got = to(&fx, "alice");
    assert_eq!(got[0].attr("type"), Some("result"));
    assert_eq!(got[0].attr("id"), Some("i1"));
    assert_eq!(got.len(), 1, "no 104 notice for the initial configuration");
    assert_eq!(t.room.lifecycle(), Lifecycle::Open);
    assert!(error_to(&t.join("bob"), "bob").is_none());
}

#[test]
fn groupchat_1_0_join_creates_an_unlocked_room() {
    let mut t = T::with(|c| c.muc_room_locking = true);
    let fx = t.send("alice", &format!("<presence to='{ROOM}/alice'/>"));
    assert_eq!(codes(&to(&fx, "alice")[0]), [110, 201]);
    assert_eq!(t.room.lifecycle(), Lifecycle::Open);
}

#[test]
fn refusals_send_exactly_one_error_and_change_nothing() {
    type Setup = fn(&mut T);
    let cases: Vec<(&str, Setup, String, C)> = vec![
        (
            "banned",
            |t| {
                t.room.affiliations.set(
                    Jid::parse("eve@example.com").unwrap(),
                    Affiliation::Outcast,
                    None,
                );
            },
            join_xml("eve", ""),
            C::Forbidden,
        ),
        (
            "members-only",
            |t| t.room.config.members_only = true,
            join_xml("eve", ""),
            C::RegistrationRequired,
        ),
        (
            "no password",
            |t| {
                t.room.config.password_protected = true;
                t.room.config.password = Some("secret".into());
            },
            join_xml("eve", ""),
            C::NotAuthorized,
        ),
        (
            "wrong password",
            |t| {
                t.room.config.password_protected = true;
                t.room.config.password = Some("secret".into());
            },
            join_xml("eve", "<password>Secret</password>"),
            C::NotAuthorized,
        ),
        ("nick conflict", |_| {}, join_xml("alice", ""), C::Conflict),
        (
            "full",
            |t| t.room.config.max_users = 1,
            join_xml("eve", ""),
            C::ServiceUnavailable,
        ),
        (
            "no nick",
            |_| {},
            format!("<presence to='{ROOM}'><x xmlns='http://jabber.org/protocol/muc'/></presence>"),
            C::JidMalformed,
        ),
        (
            "blank nick",
            |_| {},
            join_xml("%20", "").replace("%20", " "),
            C::JidMalformed,
        ),
        (
            "long nick",
            |_| {},
            join_xml(&"n".repeat(129), ""),
            C::NotAcceptable,
        ),
        (
            "oversized",
            |_| {},
            join_xml(
                "eve",
                &format!("<password>{}</password>", "p".repeat(40_000)),
            ),
            C::PolicyViolation,
        ),
    ];
    for (name, setup, xml, want) in cases {
        let mut t = T::new();
        t.join_all(&["alice"]);
        setup(&mut t);
        let fx = t.send("eve", &xml);
        assert_eq!(only_error(&fx, "eve"), want, "{name}");
        let err = &to(&fx, "eve")[0];
        assert_eq!(err.name, "presence", "{name}");
        assert_eq!(t.nicks(), ["alice"], "{name}");
    }
}

#[test]
fn the_right_password_and_owners_get_in() {
    let mut t = T::new();
    t.join_all(&["alice"]);
    t.room.config.password_protected = true;
    t.room.config.password = Some("secret".into());
    let fx = t.send("bob", &join_xml("bob", "<password>secret</password>"));
    assert_eq!(error_to(&fx, "bob"), None);
    // owners enter without the password
    t.send(
        "alice",
        &format!("<presence to='{ROOM}/alice' type='unavailable'/>"),
    );
    assert_eq!(error_to(&t.join("alice"), "alice"), None);
}

#[test]
fn full_room_still_admits_admins_and_owners() {
    let mut t = T::with(|c| c.max_occupants = 2);
    t.join_all(&["alice", "bob"]);
    assert_eq!(only_error(&t.join("carol"), "carol"), C::ServiceUnavailable);
    let fx = t.send_as(&admin("focus"), &join_xml("focus", ""));
    assert_eq!(error_to(&fx, "focus"), None);
    assert_eq!(t.nicks(), ["alice", "bob", "focus"]);
}

#[test]
fn moderated_room_makes_unaffiliated_users_visitors() {
    let mut t = T::new();
    t.join_all(&["alice"]);
    t.room.config.moderated = true;
    let fx = t.join("bob");
    assert_eq!(item(&to(&fx, "bob")[1], "role").as_deref(), Some("visitor"));
    let roles: Vec<Role> = t.room.occupants().map(|o| o.role()).collect();
    assert_eq!(roles, [Role::Moderator, Role::Visitor]);
}

#[test]
fn restricted_creation_is_for_admins() {
    let mut t = T::with(|c| c.restrict_room_creation = true);
    let fx = t.join("bob");
    assert_eq!(fx.len(), 2);
    assert_eq!(error_to(&fx, "bob"), Some(C::NotAllowed));
    let err = &to(&fx, "bob")[0];
    let extra = rookery_proto::StanzaError::from_stanza(err).unwrap().extra;
    assert!(
        extra
            .iter()
            .any(|e| e.is("room-does-not-exist", ns::JITMEET))
    );
    assert!(matches!(
        fx[1],
        Effect::Closed {
            reason: CloseReason::NotCreated,
            ..
        }
    ));
    assert_eq!(t.room.lifecycle(), Lifecycle::Fresh);
    // the configured per-service admin list counts as well as the sender flag
    let fx = t.send_as(&admin("focus"), &join_xml("focus", ""));
    assert_eq!(codes(&to(&fx, "focus")[0]), [110, 201]);
    let mut t = T::with(|c| {
        c.restrict_room_creation = true;
        c.admins = vec![Jid::parse("focus@example.com").unwrap()];
    });
    assert_eq!(codes(&to(&t.join("focus"), "focus")[0]), [110, 201]);
}

#[test]
fn rejoin_with_muc_x_resynchronises() {
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    t.say("alice", "hello");
    let fx = t.join("bob");
    let got = to(&fx, "bob");
    assert_eq!(
        shape(&got),
        [
            ("presence".into(), occ("alice")),
            ("presence".into(), occ("bob")),
            ("message".into(), occ("alice")),
            ("subject".into(), ROOM.into()),
        ]
    );
    assert_eq!(codes(&got[1]), [110]);
    assert_eq!(to(&fx, "alice").len(), 1, "alice sees bob's presence again");
    assert_eq!(t.nicks(), ["alice", "bob"]);
}

#[test]
fn history_request_limits_on_join() {
    let mut t = T::new();
    t.join_all(&["alice"]);
    for i in 0..5 {
        t.say("alice", &format!("m{i}"));
        t.advance(60);
    }
    let cases = [
        ("<history maxstanzas='2'/>", vec!["m3", "m4"]),
        ("<history maxchars='0'/>", vec![]),
        ("<history seconds='150'/>", vec!["m3", "m4"]),
        ("", vec!["m0", "m1", "m2", "m3", "m4"]),
    ];
    for (req, want) in cases {
        let fx = t.send("bob", &join_xml("bob", req));
        let bodies: Vec<String> = to(&fx, "bob")
            .iter()
            .filter_map(|s| s.child_text("body", ns::CLIENT))
            .collect();
        assert_eq!(bodies, want, "{req}");
        t.send(
            "bob",
            &format!("<presence to='{ROOM}/bob' type='unavailable'/>"),
        );
    }
}

#[test]
fn an_uncreated_room_answers_item_not_found_and_asks_to_be_dropped() {
    let cases = [
        (
            format!("<message to='{ROOM}' type='groupchat'><body>x</body></message>"),
            Some(C::ItemNotFound),
        ),
        (
            format!(
                "<iq to='{ROOM}' type='get' id='1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
            ),
            Some(C::ItemNotFound),
        ),
        (
            format!("<iq to='{ROOM}/n' type='set' id='1'><jingle xmlns='urn:xmpp:jingle:1'/></iq>"),
            Some(C::ItemNotFound),
        ),
        (format!("<presence to='{ROOM}' />"), Some(C::JidMalformed)),
        (
            format!("<presence to='{ROOM}/n' type='unavailable'/>"),
            None,
        ),
        (format!("<iq to='{ROOM}' type='result' id='1'/>"), None),
    ];
    for (xml, want) in cases {
        let mut t = T::new();
        let fx = t.send("eve", &xml);
        assert_eq!(error_to(&fx, "eve"), want, "{xml}");
        assert!(
            matches!(
                fx.last(),
                Some(Effect::Closed {
                    reason: CloseReason::NotCreated,
                    ..
                })
            ),
            "{xml}: {fx:?}"
        );
        assert_eq!(fx.len(), usize::from(want.is_some()) + 1, "{xml}");
    }
    let mut t = T::new();
    assert!(matches!(t.tick().as_slice(), [Effect::Closed { .. }]));
}

#[test]
fn rooms_can_move_between_threads() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<Room<()>>();
    assert_send::<crate::Service<crate::IdentityMapper>>();
    assert_send::<Effect>();
}
