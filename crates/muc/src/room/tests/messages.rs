//! Groupchat, subject, private messages, invitations.

use super::harness::*;
use crate::affiliation::Affiliation;

#[test]
fn groupchat_reaches_everyone_including_the_sender() {
    let mut t = T::new();
    t.join_all(&["alice", "bob", "carol"]);
    let fx = t.send(
        "bob",
        &format!("<message to='{ROOM}' type='groupchat' id='42'><body>hi</body><json-message xmlns='http://jitsi.org/jitmeet'>{{}}</json-message></message>"),
    );
    assert_eq!(fx.len(), 1, "one broadcast");
    let Effect::Broadcast { stanza, to: rcpt } = &fx[0] else {
        panic!("not a broadcast: {fx:?}");
    };
    assert_eq!(rcpt.len(), 3);
    assert_eq!(stanza.attr("from"), Some(occ("bob").as_str()));
    assert_eq!(stanza.attr("id"), Some("42"));
    assert!(stanza.has_child("json-message", ns::JITMEET));
    assert_eq!(t.room.history_len(), 1);
    // messages without a body (endpoint messages, chat states) are not history
    t.send("bob", &format!("<message to='{ROOM}' type='groupchat'><active xmlns='http://jabber.org/protocol/chatstates'/></message>"));
    assert_eq!(t.room.history_len(), 1);
}

#[test]
fn who_may_speak() {
    let mut t = T::new();
    t.join_all(&["alice"]);
    assert_eq!(only_error(&t.say("eve", "hi"), "eve"), C::NotAcceptable);
    t.room.config.moderated = true;
    t.join_all(&["bob"]);
    assert_eq!(only_error(&t.say("bob", "hi"), "bob"), C::Forbidden);
    assert_eq!(to(&t.say("alice", "hi"), "bob").len(), 1);
    // other message types to the room are bad requests; headlines are dropped
    let fx = t.send(
        "alice",
        &format!("<message to='{ROOM}' type='chat'><body>x</body></message>"),
    );
    assert_eq!(only_error(&fx, "alice"), C::BadRequest);
    assert!(
        t.send(
            "alice",
            &format!("<message to='{ROOM}' type='headline'><body>x</body></message>")
        )
        .is_empty()
    );
}

#[test]
fn subject_changes_follow_permissions() {
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    let subject =
        |s: &str| format!("<message to='{ROOM}' type='groupchat'><subject>{s}</subject></message>");
    assert_eq!(
        only_error(&t.send("bob", &subject("mine")), "bob"),
        C::Forbidden
    );
    let fx = t.send("alice", &subject("Standup"));
    assert_eq!(
        to(&fx, "bob")[0]
            .child_text("subject", ns::CLIENT)
            .as_deref(),
        Some("Standup")
    );
    assert_eq!(to(&fx, "alice").len(), 1);
    t.room.config.change_subject = true;
    assert_eq!(error_to(&t.send("bob", &subject("Retro")), "bob"), None);
    let fx = t.join("carol");
    let s = to(&fx, "carol").pop().unwrap();
    assert_eq!(
        s.child_text("subject", ns::CLIENT).as_deref(),
        Some("Retro")
    );
    assert_eq!(s.attr("from"), Some(occ("bob").as_str()));
    assert_eq!(
        s.get_child("delay", ns::DELAY).unwrap().attr("from"),
        Some(ROOM)
    );
    // a message with subject and body is an ordinary message
    let fx = t.send(
        "carol",
        &format!(
            "<message to='{ROOM}' type='groupchat'><subject>x</subject><body>y</body></message>"
        ),
    );
    assert_eq!(error_to(&fx, "carol"), None);
    assert_eq!(t.room.subject.as_ref().unwrap().text, "Retro");
}

#[test]
fn private_messages_between_occupants() {
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    let fx = t.send(
        "alice",
        &format!("<message to='{ROOM}/bob' type='chat' id='p'><body>psst</body></message>"),
    );
    let got = to(&fx, "bob");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].attr("from"), Some(occ("alice").as_str()));
    assert_eq!(got[0].attr("id"), Some("p"));
    assert!(got[0].has_child("x", ns::MUC_USER));
    let pm = |to_nick: &str, ty: &str| {
        format!("<message to='{ROOM}/{to_nick}' type='{ty}'><body>x</body></message>")
    };
    let cases = [
        ("alice", pm("bob", "groupchat"), C::BadRequest),
        ("alice", pm("nobody", "chat"), C::ItemNotFound),
        ("eve", pm("bob", "chat"), C::NotAcceptable),
    ];
    for (who, xml, want) in cases {
        assert_eq!(only_error(&t.send(who, &xml), who), want, "{xml}");
    }
    t.room.config.allow_pm = crate::room_config::AllowPm::None;
    assert_eq!(
        only_error(&t.send("alice", &pm("bob", "chat")), "alice"),
        C::Forbidden
    );
}

#[test]
fn mediated_invitations_and_declines() {
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    t.room.config.password_protected = true;
    t.room.config.password = Some("pw".into());
    let invite = |to_jid: &str| {
        format!(
            "<message to='{ROOM}' id='inv'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='{to_jid}'><reason>join us</reason></invite></x></message>"
        )
    };
    let fx = t.send("bob", &invite("dave@example.com"));
    let f = flat(&fx);
    assert_eq!(f.len(), 1);
    let (rcpt, m) = &f[0];
    assert_eq!(rcpt, "dave@example.com");
    assert_eq!(m.attr("from"), Some(ROOM));
    let x = m.get_child("x", ns::MUC_USER).unwrap();
    let inv = x.get_child("invite", ns::MUC_USER).unwrap();
    assert_eq!(inv.attr("from"), Some("bob@example.com"));
    assert_eq!(
        inv.child_text("reason", ns::MUC_USER).as_deref(),
        Some("join us")
    );
    assert_eq!(
        x.child_text("password", ns::MUC_USER).as_deref(),
        Some("pw")
    );
    // bad invitee address, non-occupant inviter
    assert_eq!(
        only_error(&t.send("bob", &invite("a b@c")), "bob"),
        C::JidMalformed
    );
    assert_eq!(
        only_error(&t.send("eve", &invite("dave@example.com")), "eve"),
        C::NotAcceptable
    );
    // members-only: participants may not invite; admins may, and the invitee becomes a member
    t.room.config.members_only = true;
    t.room.affiliations.set(
        Jid::parse("bob@example.com").unwrap(),
        Affiliation::Member,
        None,
    );
    assert_eq!(
        only_error(&t.send("bob", &invite("dave@example.com")), "bob"),
        C::Forbidden
    );
    let fx = t.send("alice", &invite("dave@example.com"));
    assert_eq!(flat(&fx).len(), 1);
    assert_eq!(
        t.room.affiliation(&Jid::parse("dave@example.com").unwrap()),
        Affiliation::Member
    );
    // a decline goes back to the inviter occupant
    let fx = t.send(
        "dave",
        &format!("<message to='{ROOM}'><x xmlns='http://jabber.org/protocol/muc#user'><decline to='alice@example.com'><reason>busy</reason></decline></x></message>"),
    );
    let got = to(&fx, "alice");
    assert_eq!(got.len(), 1);
    let d = got[0]
        .get_child("x", ns::MUC_USER)
        .unwrap()
        .get_child("decline", ns::MUC_USER)
        .unwrap();
    assert_eq!(d.attr("from"), Some("dave@example.com"));
    // a decline to someone not in the room goes nowhere
    let fx = t.send(
        "dave",
        &format!("<message to='{ROOM}'><x xmlns='http://jabber.org/protocol/muc#user'><decline to='x@elsewhere'/></x></message>"),
    );
    assert!(fx.is_empty());
}
