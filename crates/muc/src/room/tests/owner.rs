//! The `muc#owner` protocol: configuration form, persistence, cancel, destroy.

use super::harness::*;
use crate::form::SubmittedForm;
use crate::room::owner_form::ROOMCONFIG;

fn owner(inner: &str) -> String {
    format!(
        "<iq to='{ROOM}' type='set' id='o1'><query xmlns='http://jabber.org/protocol/muc#owner'>{inner}</query></iq>"
    )
}

fn submit(fields: &[(&str, &str)]) -> String {
    let mut f = String::new();
    for (var, value) in fields {
        f.push_str(&format!(
            "<field var='{var}'><value>{value}</value></field>"
        ));
    }
    owner(&format!("<x xmlns='jabber:x:data' type='submit'>{f}</x>"))
}

fn result_to(fx: &[Effect], who: &str) -> bool {
    to(fx, who)
        .iter()
        .any(|s| s.name == "iq" && s.attr("type") == Some("result"))
}

#[test]
fn form_get_shows_current_values_to_owners_only() {
    let mut t = T::new();
    t.join_all(&["boss", "bob"]);
    let get = format!(
        "<iq to='{ROOM}' type='get' id='f'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>"
    );
    let fx = t.send("boss", &get);
    let q = to(&fx, "boss")[0]
        .get_child("query", ns::MUC_OWNER)
        .cloned()
        .unwrap();
    let form = SubmittedForm::parse(q.get_child("x", ns::DATA_FORMS).unwrap()).unwrap();
    assert_eq!(form.kind, "form");
    assert_eq!(form.first("FORM_TYPE"), Some(ROOMCONFIG));
    assert_eq!(form.first("muc#roomconfig_whois"), Some("moderators"));
    assert_eq!(form.first("muc#roomconfig_maxusers"), Some("none"));
    assert_eq!(
        form.values("muc#roomconfig_presencebroadcast")
            .unwrap()
            .len(),
        3
    );
    assert_eq!(only_error(&t.send("bob", &get), "bob"), C::Forbidden);
    assert_eq!(
        only_error(&t.send("bob", &submit(&[])), "bob"),
        C::Forbidden
    );
}

#[test]
fn submit_applies_known_fields_and_ignores_unknown_ones() {
    let mut t = T::new();
    t.join_all(&["boss", "bob"]);
    let fx = t.send(
        "boss",
        &submit(&[
            ("FORM_TYPE", ROOMCONFIG),
            ("muc#roomconfig_roomname", "Standup"),
            ("muc#roomconfig_roomdesc", "Daily"),
            ("muc#roomconfig_whois", "anyone"),
            ("muc#roomconfig_maxusers", "50"),
            ("muc#roomconfig_changesubject", "true"),
            ("muc#roomconfig_allowpm", "moderators"),
            ("muc#roomconfig_publicroom", "0"),
            ("muc#roomconfig_enablelogging", "0"),
            ("muc#roomconfig_getmemberlist", "moderator"),
            ("muc#roominfo_meetingId", "from-jicofo"),
        ]),
    );
    assert!(result_to(&fx, "boss"));
    let c = t.room.config();
    assert_eq!(c.name.as_deref(), Some("Standup"));
    assert_eq!(c.description.as_deref(), Some("Daily"));
    assert_eq!(c.whois, crate::Whois::Anyone);
    assert_eq!(c.max_users, 50);
    assert!(c.change_subject && !c.public);
    assert_eq!(c.allow_pm, crate::AllowPm::Moderators);
    // occupants are told: 104 and, for the anonymity change, 172
    let note = to(&fx, "bob");
    assert_eq!(note.len(), 1);
    assert_eq!(note[0].attr("from"), Some(ROOM));
    assert_eq!(codes(&note[0]), [104, 172]);
    assert!(fx.iter().any(
        |e| matches!(e, Effect::Summary(s) if !s.public && s.name.as_deref() == Some("Standup"))
    ));
}

#[test]
fn invalid_forms_are_refused_and_change_nothing() {
    let cases = [
        (
            submit(&[("muc#roomconfig_persistentroom", "maybe")]),
            C::NotAcceptable,
        ),
        (
            submit(&[("muc#roomconfig_whois", "everyone")]),
            C::NotAcceptable,
        ),
        (
            submit(&[("muc#roomconfig_maxusers", "lots")]),
            C::NotAcceptable,
        ),
        (
            submit(&[("muc#roomconfig_allowpm", "friends")]),
            C::NotAcceptable,
        ),
        (
            submit(&[("muc#roomconfig_presencebroadcast", "owner")]),
            C::NotAcceptable,
        ),
        (
            submit(&[("muc#roomconfig_passwordprotectedroom", "1")]),
            C::NotAcceptable,
        ),
        (
            submit(&[("muc#roomconfig_roomname", &"n".repeat(1025))]),
            C::NotAcceptable,
        ),
        (submit(&[("FORM_TYPE", "urn:other")]), C::BadRequest),
        (owner(""), C::BadRequest),
        (
            owner("<x xmlns='jabber:x:data' type='result'/>"),
            C::BadRequest,
        ),
        (
            owner("<x xmlns='jabber:x:data' type='submit'><field><value>1</value></field></x>"),
            C::BadRequest,
        ),
        (owner("<destroy jid='a b@c'/>"), C::JidMalformed),
    ];
    for (xml, want) in cases {
        let mut t = T::new();
        t.join_all(&["boss"]);
        let before = t.room.config().clone();
        assert_eq!(only_error(&t.send("boss", &xml), "boss"), want, "{xml}");
        assert_eq!(*t.room.config(), before);
    }
}

#[test]
fn password_from_the_form_guards_entry() {
    let mut t = T::new();
    t.join_all(&["boss"]);
    let fx = t.send("boss", &submit(&[("muc#roomconfig_roomsecret", "s3cret")]));
    assert!(result_to(&fx, "boss"));
    assert!(t.room.config().password_required());
    assert_eq!(only_error(&t.join("bob"), "bob"), C::NotAuthorized);
    assert_eq!(
        error_to(
            &t.send("bob", &join_xml("bob", "<password>s3cret</password>")),
            "bob"
        ),
        None
    );
    // clearing the secret unprotects the room
    t.send(
        "boss",
        &submit(&[
            ("muc#roomconfig_passwordprotectedroom", "0"),
            ("muc#roomconfig_roomsecret", ""),
        ]),
    );
    assert!(!t.room.config().password_required());
}

#[test]
fn members_only_switch_removes_non_members_with_322() {
    let mut t = T::new();
    t.join_all(&["boss", "bob", "carol"]);
    t.room.affiliations.set(
        Jid::parse("carol@example.com").unwrap(),
        crate::Affiliation::Member,
        None,
    );
    let fx = t.send("boss", &submit(&[("muc#roomconfig_membersonly", "1")]));
    assert_eq!(codes(&to(&fx, "bob")[1]), [110, 322]);
    assert_eq!(t.nicks(), ["boss", "carol"]);
    let to_carol = to(&fx, "carol");
    assert!(to_carol.iter().any(|s| codes(s) == [322]));
}

#[test]
fn persistence_follows_the_persistent_flag() {
    let mut t = T::new();
    t.join_all(&["boss"]);
    let fx = t.send("boss", &submit(&[("muc#roomconfig_persistentroom", "1")]));
    let record = fx
        .iter()
        .find_map(|e| match e {
            Effect::Persist(r) => Some(r.clone()),
            _ => None,
        })
        .expect("persisted");
    assert_eq!(record.room, ROOM);
    assert!(record.config.persistent);
    assert_eq!(record.affiliations.len(), 1);
    // admin changes persist too
    let fx = t.send(
        "boss",
        &format!("<iq to='{ROOM}' type='set' id='a'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='m@example.com' affiliation='member'/></query></iq>"),
    );
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Persist(r) if r.affiliations.len() == 2))
    );
    // a restored room keeps config and affiliations
    let stored = t.room.to_record();
    let back: Room<()> = Room::from_record(
        &stored,
        service(|_| {}),
        std::sync::Arc::new(HookChain::new()),
    )
    .unwrap();
    assert_eq!(back.config(), t.room.config());
    assert_eq!(
        back.affiliation(&Jid::parse("boss@example.com").unwrap()),
        crate::Affiliation::Owner
    );
    assert_eq!(back.lifecycle(), Lifecycle::Open);
    // turning it off forgets the record
    let fx = t.send("boss", &submit(&[("muc#roomconfig_persistentroom", "0")]));
    assert!(fx.iter().any(|e| matches!(e, Effect::Forget { .. })));
}

#[test]
fn cancel_destroys_a_locked_room_only() {
    let mut t = T::with(|c| c.muc_room_locking = true);
    t.join_all(&["boss"]);
    let fx = t.send("boss", &owner("<x xmlns='jabber:x:data' type='cancel'/>"));
    let f = flat(&fx);
    assert_eq!(f[0].1.attr("type"), Some("unavailable"));
    assert!(
        f[0].1
            .get_child("x", ns::MUC_USER)
            .unwrap()
            .has_child("destroy", ns::MUC_USER)
    );
    assert_eq!(f[1].1.attr("type"), Some("result"));
    assert!(matches!(
        fx.last(),
        Some(Effect::Closed {
            reason: CloseReason::Destroyed,
            ..
        })
    ));
    assert_eq!(t.room.lifecycle(), Lifecycle::Fresh);

    let mut t = T::new();
    t.join_all(&["boss"]);
    let fx = t.send("boss", &owner("<x xmlns='jabber:x:data' type='cancel'/>"));
    assert_eq!(fx.len(), 1);
    assert!(result_to(&fx, "boss"));
    assert_eq!(t.nicks(), ["boss"]);
}

#[test]
fn destroy_with_reason_and_alternate_venue() {
    let mut t = T::with(|c| c.persistent = true);
    t.join_all(&["boss", "bob"]);
    let destroy = owner("<destroy jid='other@muc.example'><reason>moved</reason></destroy>");
    assert_eq!(only_error(&t.send("bob", &destroy), "bob"), C::Forbidden);
    let fx = t.send("boss", &destroy);
    let f = flat(&fx);
    assert_eq!(f.len(), 3);
    for (i, who) in ["boss", "bob"].iter().enumerate() {
        let (rcpt, p) = &f[i];
        assert_eq!(*rcpt, jid(who));
        assert_eq!(p.attr("from"), Some(occ(who).as_str()));
        let d = p
            .get_child("x", ns::MUC_USER)
            .unwrap()
            .get_child("destroy", ns::MUC_USER)
            .unwrap();
        assert_eq!(d.attr("jid"), Some("other@muc.example"));
        assert_eq!(
            d.child_text("reason", ns::MUC_USER).as_deref(),
            Some("moved")
        );
        assert_eq!(item(p, "role").as_deref(), Some("none"));
    }
    assert_eq!(
        (f[2].0.as_str(), f[2].1.attr("type")),
        (jid("boss").as_str(), Some("result"))
    );
    assert!(fx.iter().any(|e| matches!(e, Effect::Forget { .. })));
    assert!(matches!(
        fx.last(),
        Some(Effect::Closed {
            reason: CloseReason::Destroyed,
            ..
        })
    ));
    assert!(t.room.is_empty());
}
