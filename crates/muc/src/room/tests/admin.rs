//! The `muc#admin` protocol against a live room: permission tables, effects, bad input.

use super::harness::*;
use crate::affiliation::Affiliation as A;
use crate::roles::Role as R;

fn admin_set(item: &str) -> String {
    format!(
        "<iq to='{ROOM}' type='set' id='a1'><query xmlns='http://jabber.org/protocol/muc#admin'>{item}</query></iq>"
    )
}

fn admin_get(item: &str) -> String {
    format!(
        "<iq to='{ROOM}' type='get' id='g1'><query xmlns='http://jabber.org/protocol/muc#admin'>{item}</query></iq>"
    )
}

fn bare(who: &str) -> Jid {
    Jid::parse(&format!("{who}@example.com")).unwrap()
}

/// A room created by `boss` (owner) with `act` and `tgt` present with these affiliations and
/// roles.
fn setup(actor: (A, R), target: (A, R)) -> T {
    let mut t = T::new();
    t.join_all(&["boss"]);
    for (who, (aff, role)) in [("act", actor), ("tgt", target)] {
        if aff != A::None {
            t.room.affiliations.set(bare(who), aff, None);
        }
        t.join_all(&[who]);
        let seq = t.room.occupants.seq_by_nick(who).unwrap();
        t.room.occupants.get_mut(seq).unwrap().role = role;
    }
    t
}

#[test]
fn kick_permission_table() {
    let ok = None;
    let cases = [
        (
            (A::None, R::Participant),
            (A::None, R::Participant),
            Some(C::NotAllowed),
        ),
        (
            (A::None, R::Visitor),
            (A::None, R::Participant),
            Some(C::NotAllowed),
        ),
        (
            (A::Member, R::Participant),
            (A::None, R::Visitor),
            Some(C::NotAllowed),
        ),
        ((A::None, R::Moderator), (A::None, R::Participant), ok),
        ((A::None, R::Moderator), (A::None, R::Visitor), ok),
        (
            (A::None, R::Moderator),
            (A::Member, R::Participant),
            Some(C::NotAllowed),
        ),
        (
            (A::None, R::Moderator),
            (A::None, R::Moderator),
            Some(C::NotAllowed),
        ),
        (
            (A::Member, R::Moderator),
            (A::Admin, R::Moderator),
            Some(C::NotAllowed),
        ),
        ((A::Admin, R::Moderator), (A::None, R::Moderator), ok),
        (
            (A::Admin, R::Moderator),
            (A::Admin, R::Moderator),
            Some(C::NotAllowed),
        ),
        (
            (A::Admin, R::Moderator),
            (A::Owner, R::Moderator),
            Some(C::NotAllowed),
        ),
        ((A::Owner, R::Moderator), (A::Admin, R::Moderator), ok),
        (
            (A::Owner, R::Moderator),
            (A::Owner, R::Moderator),
            Some(C::NotAllowed),
        ),
    ];
    for (i, (actor, target, want)) in cases.into_iter().enumerate() {
        let mut t = setup(actor, target);
        let fx = t.send(
            "act",
            &admin_set("<item nick='tgt' role='none'><reason>out</reason></item>"),
        );
        match want {
            Some(c) => {
                assert_eq!(
                    only_error(&fx, "act"),
                    c,
                    "case {i}: {actor:?} kicks {target:?}"
                );
                assert_eq!(t.nicks(), ["boss", "act", "tgt"], "case {i}");
            }
            None => {
                assert_eq!(
                    error_to(&fx, "act"),
                    None,
                    "case {i}: {actor:?} kicks {target:?}"
                );
                assert_eq!(t.nicks(), ["boss", "act"], "case {i}");
                assert_eq!(codes(&to(&fx, "tgt")[0]), [110, 307], "case {i}");
            }
        }
    }
}

#[test]
fn kick_order_reason_and_actor() {
    let mut t = setup((A::Admin, R::Moderator), (A::None, R::Participant));
    let fx = t.send(
        "act",
        &admin_set("<item nick='tgt' role='none'><reason>spam</reason></item>"),
    );
    let f = flat(&fx);
    // the kicked occupant first, then the result, then the others
    assert_eq!(f[0].0, jid("tgt"));
    assert_eq!(f[1].0, jid("act"));
    assert_eq!(f[1].1.attr("type"), Some("result"));
    let to_boss = to(&fx, "boss");
    assert_eq!(codes(&to_boss[0]), [307]);
    let kicked = &f[0].1;
    assert_eq!(kicked.attr("type"), Some("unavailable"));
    let it = kicked
        .get_child("x", ns::MUC_USER)
        .unwrap()
        .get_child("item", ns::MUC_USER)
        .unwrap();
    assert_eq!(
        it.get_child("actor", ns::MUC_USER).unwrap().attr("nick"),
        Some("act")
    );
    assert_eq!(
        it.child_text("reason", ns::MUC_USER).as_deref(),
        Some("spam")
    );
    // kicking oneself is a conflict
    assert_eq!(
        only_error(
            &t.send("act", &admin_set("<item nick='act' role='none'/>")),
            "act"
        ),
        C::Conflict
    );
}

#[test]
fn voice_grant_and_revoke_in_a_moderated_room() {
    let mut t = T::new();
    t.join_all(&["boss"]);
    t.room.config.moderated = true;
    t.join_all(&["bob"]);
    let fx = t.send("boss", &admin_set("<item nick='bob' role='participant'/>"));
    assert_eq!(
        item(&to(&fx, "bob")[0], "role").as_deref(),
        Some("participant")
    );
    assert_eq!(codes(&to(&fx, "bob")[0]), [110]);
    assert_eq!(to(&t.say("bob", "hi"), "boss").len(), 1);
    let fx = t.send("boss", &admin_set("<item nick='bob' role='visitor'/>"));
    assert_eq!(
        item(&to(&fx, "boss")[1], "role").as_deref(),
        Some("visitor")
    );
    assert_eq!(only_error(&t.say("bob", "hi"), "bob"), C::Forbidden);
    // voice cannot be revoked from an owner
    t.room.affiliations.set(bare("bob"), A::Owner, None);
    assert_eq!(
        only_error(
            &t.send("boss", &admin_set("<item nick='bob' role='visitor'/>")),
            "boss"
        ),
        C::NotAllowed
    );
}

#[test]
fn affiliation_permission_table() {
    // (actor affiliation, target current, new, expected)
    let cases = [
        (A::None, A::None, "member", Some(C::Forbidden)),
        (A::Member, A::None, "outcast", Some(C::Forbidden)),
        (A::Admin, A::None, "member", None),
        (A::Admin, A::Member, "outcast", None),
        (A::Admin, A::Owner, "outcast", Some(C::NotAllowed)),
        (A::Admin, A::None, "admin", Some(C::Forbidden)),
        (A::Owner, A::None, "admin", None),
        (A::Owner, A::Admin, "owner", None),
        (A::Owner, A::None, "bogus", Some(C::BadRequest)),
    ];
    for (i, (actor, current, new, want)) in cases.into_iter().enumerate() {
        let mut t = setup((actor, R::Moderator), (current, R::Participant));
        let fx = t.send(
            "act",
            &admin_set(&format!(
                "<item jid='tgt@example.com' affiliation='{new}'/>"
            )),
        );
        match want {
            Some(c) => assert_eq!(only_error(&fx, "act"), c, "case {i}"),
            None => {
                assert_eq!(error_to(&fx, "act"), None, "case {i}");
                let got = crate::Affiliation::parse(new).unwrap();
                if got == A::Outcast {
                    assert_eq!(codes(&to(&fx, "tgt")[0]), [110, 301], "case {i}");
                    assert!(!t.nicks().contains(&"tgt".to_owned()));
                } else {
                    assert_eq!(t.room.affiliation(&bare("tgt")), got, "case {i}");
                    let p = &to(&fx, "tgt")[0];
                    assert_eq!(item(p, "affiliation").as_deref(), Some(new), "case {i}");
                    if got >= A::Admin {
                        assert_eq!(item(p, "role").as_deref(), Some("moderator"), "case {i}");
                    }
                }
            }
        }
    }
}

#[test]
fn ban_keeps_the_user_out_and_shows_in_the_list() {
    let mut t = T::new();
    t.join_all(&["boss", "eve"]);
    let fx = t.send(
        "boss",
        &admin_set(
            "<item jid='eve@example.com' affiliation='outcast'><reason>troll</reason></item>",
        ),
    );
    assert_eq!(codes(&to(&fx, "eve")[0]), [110, 301]);
    assert_eq!(codes(&to(&fx, "boss")[1]), [301]);
    assert_eq!(only_error(&t.join("eve"), "eve"), C::Forbidden);
    let fx = t.send("boss", &admin_get("<item affiliation='outcast'/>"));
    let q = to(&fx, "boss")[0]
        .get_child("query", ns::MUC_ADMIN)
        .cloned()
        .unwrap();
    let items: Vec<_> = q.children().collect();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].attr("jid"), Some("eve@example.com"));
    assert_eq!(
        items[0].child_text("reason", ns::MUC_ADMIN).as_deref(),
        Some("troll")
    );
    // banning oneself is a conflict; the last owner cannot step down
    assert_eq!(
        only_error(
            &t.send(
                "boss",
                &admin_set("<item jid='boss@example.com' affiliation='outcast'/>")
            ),
            "boss"
        ),
        C::Conflict
    );
    assert_eq!(
        only_error(
            &t.send(
                "boss",
                &admin_set("<item jid='boss@example.com' affiliation='member'/>")
            ),
            "boss"
        ),
        C::Conflict
    );
}

#[test]
fn members_only_removal_on_revocation() {
    let mut t = T::new();
    t.join_all(&["boss"]);
    t.room.config.members_only = true;
    t.room.affiliations.set(bare("bob"), A::Member, None);
    t.join_all(&["bob"]);
    let fx = t.send(
        "boss",
        &admin_set("<item jid='bob@example.com' affiliation='none'/>"),
    );
    assert_eq!(codes(&to(&fx, "bob")[0]), [110, 321]);
    assert_eq!(t.nicks(), ["boss"]);
}

#[test]
fn lists_and_who_may_read_them() {
    let mut t = T::new();
    t.join_all(&["boss", "bob"]);
    t.send("boss", &admin_set("<item jid='m1@example.com' affiliation='member'/><item jid='m2@example.com' affiliation='member'/>"));
    let fx = t.send("boss", &admin_get("<item affiliation='member'/>"));
    let q = to(&fx, "boss")[0]
        .get_child("query", ns::MUC_ADMIN)
        .cloned()
        .unwrap();
    assert_eq!(q.children().count(), 2);
    let fx = t.send("boss", &admin_get("<item role='participant'/>"));
    let q = to(&fx, "boss")[0]
        .get_child("query", ns::MUC_ADMIN)
        .cloned()
        .unwrap();
    let it = q.children().next().unwrap();
    assert_eq!(
        (it.attr("nick"), it.attr("jid")),
        (Some("bob"), Some(jid("bob").as_str()))
    );
    assert_eq!(
        only_error(
            &t.send("bob", &admin_get("<item affiliation='member'/>")),
            "bob"
        ),
        C::Forbidden
    );
    assert_eq!(
        only_error(
            &t.send("bob", &admin_get("<item role='moderator'/>")),
            "bob"
        ),
        C::Forbidden
    );
}

#[test]
fn malformed_admin_requests_and_the_room_keeps_serving() {
    let mut t = T::new();
    t.join_all(&["boss", "bob"]);
    let cases = [
        (admin_set(""), C::BadRequest),
        (admin_set("<item nick='bob'/>"), C::BadRequest),
        (
            admin_set("<item nick='bob' role='none' affiliation='none'/>"),
            C::BadRequest,
        ),
        (
            admin_set("<item nick='bob' role='overlord'/>"),
            C::BadRequest,
        ),
        (admin_set("<item role='none'/>"), C::BadRequest),
        (
            admin_set("<item nick='nobody' role='none'/>"),
            C::ItemNotFound,
        ),
        (admin_set("<item affiliation='member'/>"), C::BadRequest),
        (
            admin_set("<item jid='a b@c' affiliation='member'/>"),
            C::JidMalformed,
        ),
        (
            admin_set("<item jid='x@y' affiliation='king'/>"),
            C::BadRequest,
        ),
        (admin_get(""), C::BadRequest),
        (admin_get("<item affiliation='none'/>"), C::BadRequest),
        (admin_get("<item role='none'/>"), C::BadRequest),
        (
            admin_get("<item affiliation='member'/><item role='visitor'/>"),
            C::BadRequest,
        ),
        (
            format!(
                "<iq to='{ROOM}' type='set' id='x'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='bob' role='none'/>{}</query></iq>",
                "<item nick='bob' role='none'/>".repeat(256)
            ),
            C::BadRequest,
        ),
    ];
    for (xml, want) in cases {
        assert_eq!(only_error(&t.send("boss", &xml), "boss"), want, "{xml}");
    }
    // all-or-nothing: a bad second item leaves the first unapplied
    let both = admin_set("<item nick='bob' role='visitor'/><item nick='bob' role='bogus'/>");
    assert_eq!(only_error(&t.send("boss", &both), "boss"), C::BadRequest);
    assert_eq!(t.room.occupants().nth(1).unwrap().role(), R::Participant);
    assert_eq!(to(&t.say("bob", "still fine"), "boss").len(), 1);
}

#[test]
fn service_admins_cannot_be_demoted_or_banned() {
    let mut t = T::new();
    t.join_all(&["boss"]);
    let fx = t.send_as(&admin("focus"), &join_xml("focus", ""));
    assert_eq!(
        item(&to(&fx, "focus")[1], "affiliation").as_deref(),
        Some("owner")
    );
    let fx = t.send(
        "boss",
        &admin_set("<item jid='focus@example.com' affiliation='outcast'/>"),
    );
    assert_eq!(only_error(&fx, "boss"), C::NotAllowed);
    // and a service admin can kick an owner
    let fx = t.send_as(
        &admin("focus"),
        &admin_set("<item nick='boss' role='none'/>"),
    );
    assert_eq!(codes(&to(&fx, "boss")[0]), [110, 307]);
}
