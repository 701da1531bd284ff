//! Presence updates, nick changes, exits, lost sessions, storms and ghosts.

use super::harness::*;

const JITSI_EXTS: &str = "<stats-id>Kenny-8Hj</stats-id>\
    <c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://jitsi.org/jitsi-meet' ver='cvjWXufsg4xT62Ec2mlATkFZ9lk='/>\
    <jitsi_participant_codecList>av1,vp9,vp8,h264</jitsi_participant_codecList>\
    <audiomuted>false</audiomuted><videomuted>true</videomuted>\
    <nick xmlns='http://jabber.org/protocol/nick'>Alice &amp; co</nick>";

#[test]
fn presence_extensions_pass_through_unchanged() {
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    let fx = t.send("bob", &format!("<presence to='{ROOM}/bob' id='p1'>{JITSI_EXTS}<x xmlns='http://jabber.org/protocol/muc#user'><item role='moderator'/></x></presence>"));
    let sent = parse(&format!("<presence>{JITSI_EXTS}</presence>"));
    let alice = to(&fx, "alice");
    assert_eq!(alice.len(), 1);
    let got = &alice[0];
    let theirs: Vec<&Element> = got.children().filter(|c| c.ns != ns::MUC_USER).collect();
    let mine: Vec<&Element> = sent.children().collect();
    assert_eq!(theirs, mine, "every extension child arrives as sent");
    // the client's forged muc#user item is not reflected; the room's own is
    assert_eq!(
        got.children().filter(|c| c.is("x", ns::MUC_USER)).count(),
        1
    );
    assert_eq!(item(got, "role").as_deref(), Some("participant"));
    assert_eq!(got.attr("id"), Some("p1"));
    let bob = to(&fx, "bob");
    assert_eq!(codes(&bob[0]), [110]);
    // a later joiner sees bob's latest presence
    let fx = t.join("carol");
    let bob_seen = &to(&fx, "carol")[1];
    assert_eq!(
        bob_seen.child_text("videomuted", ns::CLIENT).as_deref(),
        Some("true")
    );
}

#[test]
fn nick_change_sends_303_then_the_new_presence() {
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    let fx = t.send("bob", &format!("<presence to='{ROOM}/robert'/>"));
    let alice = to(&fx, "alice");
    assert_eq!(
        shape(&alice),
        [
            ("presence/unavailable".into(), occ("bob")),
            ("presence".into(), occ("robert"))
        ]
    );
    assert_eq!(codes(&alice[0]), [303]);
    assert_eq!(item(&alice[0], "nick").as_deref(), Some("robert"));
    let bob = to(&fx, "bob");
    assert_eq!(codes(&bob[0]), [110, 303]);
    assert_eq!(codes(&bob[1]), [110]);
    assert_eq!(t.nicks(), ["alice", "robert"]);
    // a taken nick is a conflict and nothing changes
    let fx = t.send("bob", &format!("<presence to='{ROOM}/alice'/>"));
    assert_eq!(only_error(&fx, "bob"), C::Conflict);
    assert_eq!(t.nicks(), ["alice", "robert"]);
}

#[test]
fn leaving_sends_110_to_self_and_role_none_to_others() {
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    let fx = t.send(
        "bob",
        &format!("<presence to='{ROOM}/bob' type='unavailable'><status>bye</status></presence>"),
    );
    let bob = to(&fx, "bob");
    assert_eq!(shape(&bob), [("presence/unavailable".into(), occ("bob"))]);
    assert_eq!(codes(&bob[0]), [110]);
    assert_eq!(item(&bob[0], "role").as_deref(), Some("none"));
    let alice = to(&fx, "alice");
    assert_eq!(item(&alice[0], "role").as_deref(), Some("none"));
    assert_eq!(
        alice[0].child_text("status", ns::CLIENT).as_deref(),
        Some("bye")
    );
    assert!(codes(&alice[0]).is_empty());
    assert_eq!(t.nicks(), ["alice"]);
    // unavailable from a non-occupant is ignored
    assert!(
        t.send(
            "bob",
            &format!("<presence to='{ROOM}/bob' type='unavailable'/>")
        )
        .is_empty()
    );
}

#[test]
fn temporary_room_closes_when_empty_persistent_goes_idle() {
    let mut t = T::new();
    t.join_all(&["alice"]);
    let fx = t.send(
        "alice",
        &format!("<presence to='{ROOM}/alice' type='unavailable'/>"),
    );
    assert!(matches!(
        fx.last(),
        Some(Effect::Closed {
            reason: CloseReason::Empty,
            ..
        })
    ));
    assert_eq!(t.room.lifecycle(), Lifecycle::Fresh);
    assert_eq!(
        t.room
            .affiliation(&Jid::parse("alice@example.com").unwrap()),
        crate::Affiliation::None
    );

    let mut t = T::with(|c| c.persistent = true);
    t.join_all(&["alice"]);
    let fx = t.send(
        "alice",
        &format!("<presence to='{ROOM}/alice' type='unavailable'/>"),
    );
    assert!(matches!(fx.last(), Some(Effect::Idle { .. })));
    assert_eq!(t.room.lifecycle(), Lifecycle::Open);
}

#[test]
fn a_lost_session_leaves_without_notice_to_itself() {
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    let fx = t.gone("bob");
    assert!(to(&fx, "bob").is_empty());
    assert_eq!(item(&to(&fx, "alice")[0], "role").as_deref(), Some("none"));
    assert_eq!(t.nicks(), ["alice"]);
    // so does unavailable presence from the real JID to the bare room
    let fx = t.send(
        "alice",
        &format!("<presence to='{ROOM}' type='unavailable'/>"),
    );
    assert_eq!(codes(&to(&fx, "alice")[0]), [110]);
    assert!(t.room.is_empty());
}

#[test]
fn presence_storm_is_refused_and_the_room_keeps_serving() {
    let mut t = T::with(|c| {
        c.presence_burst = 5;
        c.presence_per_second = 1;
    });
    t.join_all(&["alice", "bob"]);
    let update = format!("<presence to='{ROOM}/bob'><status>x</status></presence>");
    for _ in 0..5 {
        assert_eq!(error_to(&t.send("bob", &update), "bob"), None);
    }
    let fx = t.send("bob", &update);
    assert_eq!(only_error(&fx, "bob"), C::PolicyViolation);
    assert_eq!(
        to(&fx, "bob")[0]
            .get_child("error", ns::CLIENT)
            .unwrap()
            .attr("type"),
        Some("wait")
    );
    // others are unaffected, and bob recovers after a second
    assert_eq!(to(&t.say("alice", "still here"), "bob").len(), 1);
    t.advance(1);
    assert_eq!(error_to(&t.send("bob", &update), "bob"), None);
    // oversized updates are refused too
    let big = format!(
        "<presence to='{ROOM}/bob'><status>{}</status></presence>",
        "x".repeat(40_000)
    );
    t.advance(10);
    assert_eq!(only_error(&t.send("bob", &big), "bob"), C::PolicyViolation);
}

#[test]
fn delivery_errors_remove_ghosts_with_333() {
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    let fx = t.send(
        "bob",
        &format!("<message to='{ROOM}' type='error'><error type='cancel'><recipient-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"),
    );
    assert!(to(&fx, "bob").is_empty());
    assert_eq!(codes(&to(&fx, "alice")[0]), [307, 333]);
    assert_eq!(t.nicks(), ["alice"]);
    // other errors do not remove anyone
    t.join_all(&["bob"]);
    let fx = t.send(
        "bob",
        &format!("<presence to='{ROOM}/bob' type='error'><error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>"),
    );
    assert!(fx.is_empty());
    assert_eq!(t.nicks(), ["alice", "bob"]);
}

#[test]
fn probes_and_subscriptions_are_ignored() {
    let mut t = T::new();
    t.join_all(&["alice"]);
    for ty in ["probe", "subscribe", "unsubscribed"] {
        assert!(
            t.send("bob", &format!("<presence to='{ROOM}/x' type='{ty}'/>"))
                .is_empty()
        );
    }
}

#[test]
fn presence_broadcast_roles_hide_visitors() {
    let mut t = T::new();
    t.join_all(&["boss", "bob"]);
    t.room.config.moderated = true;
    t.room.config.presence_broadcast = vec![crate::Role::Moderator, crate::Role::Participant];
    let fx = t.join("vic");
    assert!(to(&fx, "boss").is_empty() && to(&fx, "bob").is_empty());
    let got = to(&fx, "vic");
    assert_eq!(
        shape(&got),
        [
            ("presence".into(), occ("boss")),
            ("presence".into(), occ("bob")),
            ("presence".into(), occ("vic")),
            ("subject".into(), ROOM.into()),
        ]
    );
    // the others do not see the visitor come or go either; a newcomer does not see it
    assert!(
        to(&t.join("dan"), "dan")
            .iter()
            .all(|p| p.attr("from") != Some(occ("vic").as_str()))
    );
    let fx = t.send(
        "vic",
        &format!("<presence to='{ROOM}/vic' type='unavailable'/>"),
    );
    assert!(to(&fx, "boss").is_empty());
    assert_eq!(codes(&to(&fx, "vic")[0]), [110]);
}
