//! IQ forwarding through occupant JIDs, self-ping, disco and pings on the room.

use super::harness::*;

fn jingle(to_nick: &str, id: &str) -> String {
    format!(
        "<iq to='{ROOM}/{to_nick}' type='set' id='{id}'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s1'/></iq>"
    )
}

fn answer(id: &str, to_nick: &str) -> String {
    format!("<iq to='{ROOM}/{to_nick}' type='result' id='{id}'/>")
}

#[test]
fn iq_to_an_occupant_is_forwarded_and_answered_back() {
    let mut t = T::new();
    t.join_all(&["focus", "bob", "carol"]);
    let fx = t.send("focus", &jingle("bob", "j1"));
    let got = to(&fx, "bob");
    assert_eq!(got.len(), 1);
    let fwd = &got[0];
    assert_eq!(fwd.attr("from"), Some(occ("focus").as_str()));
    assert!(fwd.has_child("jingle", "urn:xmpp:jingle:1"));
    let new_id = fwd.attr("id").unwrap().to_owned();
    assert_ne!(new_id, "j1");
    assert_eq!(t.room.pending_iqs(), 1);
    let fx = t.send("bob", &answer(&new_id, "focus"));
    let back = to(&fx, "focus");
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].attr("id"), Some("j1"));
    assert_eq!(back[0].attr("from"), Some(occ("bob").as_str()));
    assert_eq!(back[0].attr("type"), Some("result"));
    assert_eq!(t.room.pending_iqs(), 0);
    // a second answer with the same id goes nowhere
    assert!(t.send("bob", &answer(&new_id, "focus")).is_empty());
}

#[test]
fn concurrent_iqs_with_equal_ids_are_not_confused() {
    let mut t = T::new();
    t.join_all(&["focus", "bob", "carol"]);
    let a = to(&t.send("focus", &jingle("bob", "same")), "bob")[0]
        .attr("id")
        .unwrap()
        .to_owned();
    let b = to(&t.send("carol", &jingle("bob", "same")), "bob")[0]
        .attr("id")
        .unwrap()
        .to_owned();
    assert_ne!(a, b);
    // answers in reverse order reach the right requesters
    let fx = t.send(
        "bob",
        &format!("<iq to='{ROOM}/carol' type='error' id='{b}'><error type='cancel'><feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"),
    );
    let c = to(&fx, "carol");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].attr("id"), Some("same"));
    assert_eq!(condition(&c[0]), Some(C::FeatureNotImplemented));
    assert!(to(&t.send("bob", &answer(&a, "focus")), "focus")[0].attr("type") == Some("result"));
    // an answer from someone else than the asked occupant is ignored
    let x = to(&t.send("focus", &jingle("bob", "k")), "bob")[0]
        .attr("id")
        .unwrap()
        .to_owned();
    assert!(t.send("carol", &answer(&x, "focus")).is_empty());
    assert_eq!(t.room.pending_iqs(), 1);
}

#[test]
fn unanswered_and_orphaned_requests_fail() {
    let mut t = T::with(|c| c.iq_timeout_secs = 30);
    t.join_all(&["focus", "bob", "carol"]);
    t.send("focus", &jingle("bob", "late"));
    t.advance(29);
    assert!(t.tick().is_empty());
    t.advance(1);
    let fx = t.tick();
    let f = to(&fx, "focus");
    assert_eq!(condition(&f[0]), Some(C::RemoteServerTimeout));
    assert_eq!(f[0].attr("id"), Some("late"));
    assert_eq!(f[0].attr("from"), Some(occ("bob").as_str()));
    // the responder leaves: the requester is told
    t.send("carol", &jingle("bob", "left"));
    let fx = t.send(
        "bob",
        &format!("<presence to='{ROOM}/bob' type='unavailable'/>"),
    );
    assert_eq!(error_to(&fx, "carol"), Some(C::ItemNotFound));
    assert_eq!(t.room.pending_iqs(), 0);
}

#[test]
fn pending_table_is_bounded() {
    let mut t = T::with(|c| {
        c.max_pending_iqs = 3;
        c.max_pending_iqs_per_occupant = 2;
    });
    t.join_all(&["focus", "bob", "carol"]);
    assert!(error_to(&t.send("focus", &jingle("bob", "1")), "focus").is_none());
    assert!(error_to(&t.send("focus", &jingle("bob", "2")), "focus").is_none());
    assert_eq!(
        only_error(&t.send("focus", &jingle("bob", "3")), "focus"),
        C::ResourceConstraint
    );
    assert!(error_to(&t.send("carol", &jingle("bob", "4")), "carol").is_none());
    assert_eq!(
        only_error(&t.send("carol", &jingle("bob", "5")), "carol"),
        C::ResourceConstraint
    );
    // the room keeps serving
    assert_eq!(to(&t.say("bob", "ok"), "carol").len(), 1);
}

#[test]
fn iq_refusals() {
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    let cases = [
        ("eve", jingle("bob", "1"), C::NotAcceptable),
        (
            "eve",
            format!(
                "<iq to='{ROOM}/bob' type='get' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
            ),
            C::BadRequest,
        ),
        ("alice", jingle("nobody", "2"), C::ItemNotFound),
        (
            "alice",
            format!("<iq to='{ROOM}/bob' type='get' id='e'/>"),
            C::BadRequest,
        ),
        (
            "alice",
            format!("<iq to='{ROOM}/bob' type='set'><jingle xmlns='urn:xmpp:jingle:1'/></iq>"),
            C::BadRequest,
        ),
        (
            "alice",
            format!("<iq to='{ROOM}' type='get' id='v'><query xmlns='jabber:iq:version'/></iq>"),
            C::ServiceUnavailable,
        ),
        (
            "alice",
            format!("<iq to='{ROOM}' type='get' id='v'/>"),
            C::BadRequest,
        ),
        (
            "alice",
            format!("<iq to='{ROOM}' type='bogus' id='v'/>"),
            C::BadRequest,
        ),
    ];
    for (who, xml, want) in cases {
        assert_eq!(only_error(&t.send(who, &xml), who), want, "{xml}");
    }
}

#[test]
fn self_ping_and_room_ping() {
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    let ping = |to: &str| {
        format!("<iq to='{to}' type='get' id='ping1'><ping xmlns='urn:xmpp:ping'/></iq>")
    };
    let fx = t.send("alice", &ping(&occ("alice")));
    let r = &to(&fx, "alice")[0];
    assert_eq!(r.attr("type"), Some("result"));
    assert_eq!(r.attr("from"), Some(occ("alice").as_str()));
    assert_eq!(r.attr("id"), Some("ping1"));
    // not joined: not-acceptable tells the client to rejoin
    assert_eq!(
        only_error(&t.send("eve", &ping(&occ("alice"))), "eve"),
        C::NotAcceptable
    );
    // a ping to another occupant is forwarded
    assert_eq!(to(&t.send("alice", &ping(&occ("bob"))), "bob").len(), 1);
    assert_eq!(
        to(&t.send("eve", &ping(ROOM)), "eve")[0].attr("type"),
        Some("result")
    );
}

#[test]
fn room_disco_info_and_items() {
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    t.room.config.name = Some("Daily".into());
    let fx = t.send("eve", &format!("<iq to='{ROOM}' type='get' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
    let r = &to(&fx, "eve")[0];
    let q = r.get_child("query", ns::DISCO_INFO).unwrap();
    assert_eq!(
        q.get_child("identity", ns::DISCO_INFO)
            .unwrap()
            .attr("name"),
        Some("Daily")
    );
    let features: Vec<&str> = q
        .children()
        .filter(|c| c.name == "feature")
        .filter_map(|c| c.attr("var"))
        .collect();
    for f in [
        ns::MUC,
        "muc_public",
        "muc_open",
        "muc_semianonymous",
        "muc_unsecured",
        "muc_temporary",
        "muc_unmoderated",
    ] {
        assert!(features.contains(&f), "{f} in {features:?}");
    }
    let form =
        crate::form::SubmittedForm::parse(q.get_child("x", ns::DATA_FORMS).unwrap()).unwrap();
    assert_eq!(form.first("muc#roominfo_occupants"), Some("2"));
    let fx = t.send("eve", &format!("<iq to='{ROOM}' type='get' id='d2'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>"));
    assert_eq!(to(&fx, "eve")[0].attr("type"), Some("result"));
    // the reserved-nick node answers empty; other nodes are unknown
    let node = |n: &str| {
        format!(
            "<iq to='{ROOM}' type='get' id='d3'><query xmlns='http://jabber.org/protocol/disco#info' node='{n}'/></iq>"
        )
    };
    assert_eq!(
        to(&t.send("eve", &node("x-roomuser-item")), "eve")[0].attr("type"),
        Some("result")
    );
    assert_eq!(
        only_error(&t.send("eve", &node("other")), "eve"),
        C::ItemNotFound
    );
}

#[test]
fn locked_room_is_invisible_to_non_owners() {
    let mut t = T::with(|c| c.muc_room_locking = true);
    t.join_all(&["alice"]);
    let info = format!(
        "<iq to='{ROOM}' type='get' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
    );
    assert_eq!(only_error(&t.send("eve", &info), "eve"), C::ItemNotFound);
    assert_eq!(
        to(&t.send("alice", &info), "alice")[0].attr("type"),
        Some("result")
    );
}
