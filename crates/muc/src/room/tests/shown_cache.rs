//! The presences a room keeps per occupant for newcomers must never go stale: every
//! test warms the cache (a first newcomer), changes something, and checks what the next
//! newcomer is shown.

use super::harness::*;

fn admin_set(item: &str) -> String {
    format!(
        "<iq to='{ROOM}' type='set' id='a1'><query xmlns='http://jabber.org/protocol/muc#admin'>{item}</query></iq>"
    )
}

/// The presence of `nick` that newcomer `who` receives on joining.
fn shown_to_newcomer(t: &mut T, who: &str, nick: &str) -> Element {
    let fx = t.join(who);
    to(&fx, who)
        .into_iter()
        .find(|p| p.name == "presence" && p.attr("from") == Some(occ(nick).as_str()))
        .unwrap_or_else(|| panic!("{who} was not shown {nick}: {fx:?}"))
}

#[test]
fn a_presence_update_reaches_later_newcomers() {
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    let first = shown_to_newcomer(&mut t, "carol", "bob");
    assert_eq!(first.child_text("status", ns::CLIENT), None);
    t.send(
        "bob",
        &format!("<presence to='{ROOM}/bob'><show>away</show><status>lunch</status></presence>"),
    );
    let later = shown_to_newcomer(&mut t, "dave", "bob");
    assert_eq!(
        later.child_text("show", ns::CLIENT).as_deref(),
        Some("away")
    );
    assert_eq!(
        later.child_text("status", ns::CLIENT).as_deref(),
        Some("lunch")
    );
}

#[test]
fn a_role_change_reaches_later_newcomers() {
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    let first = shown_to_newcomer(&mut t, "carol", "bob");
    assert_eq!(item(&first, "role").as_deref(), Some("participant"));
    let fx = t.send("alice", &admin_set("<item nick='bob' role='moderator'/>"));
    assert!(error_to(&fx, "alice").is_none(), "{fx:?}");
    let later = shown_to_newcomer(&mut t, "dave", "bob");
    assert_eq!(item(&later, "role").as_deref(), Some("moderator"));
}

#[test]
fn an_affiliation_change_reaches_later_newcomers() {
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    let first = shown_to_newcomer(&mut t, "carol", "bob");
    assert_eq!(item(&first, "affiliation").as_deref(), Some("none"));
    let fx = t.send(
        "alice",
        &admin_set("<item jid='bob@example.com' affiliation='member'/>"),
    );
    assert!(error_to(&fx, "alice").is_none(), "{fx:?}");
    let later = shown_to_newcomer(&mut t, "dave", "bob");
    assert_eq!(item(&later, "affiliation").as_deref(), Some("member"));
}

#[test]
fn a_nick_change_reaches_later_newcomers() {
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    shown_to_newcomer(&mut t, "carol", "bob");
    let fx = t.send("bob", &format!("<presence to='{ROOM}/robert'/>"));
    assert!(error_to(&fx, "bob").is_none(), "{fx:?}");
    let fx = t.join("dave");
    let froms: Vec<_> = to(&fx, "dave")
        .iter()
        .filter(|p| p.name == "presence")
        .filter_map(|p| p.attr("from").map(str::to_owned))
        .collect();
    assert!(froms.contains(&occ("robert")), "{froms:?}");
    assert!(!froms.contains(&occ("bob")), "{froms:?}");
}

#[test]
fn moderators_and_participants_are_shown_different_forms() {
    // semi-anonymous room: only moderators see real JIDs, so one occupant has two shown
    // forms, and each newcomer gets the one for its role.
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    let to_participant = shown_to_newcomer(&mut t, "carol", "bob");
    assert_eq!(item(&to_participant, "jid"), None);
    let fx = t.send_as(&admin("root"), &join_xml("root", ""));
    let to_admin = to(&fx, "root")
        .into_iter()
        .find(|p| p.attr("from") == Some(occ("bob").as_str()))
        .unwrap();
    assert_eq!(item(&to_admin, "jid"), Some(jid("bob")));
    let again = shown_to_newcomer(&mut t, "dave", "bob");
    assert_eq!(item(&again, "jid"), None);
}

#[test]
fn the_same_presence_is_shared_not_rebuilt() {
    // two newcomers of the same kind are handed the very same serialised stanza
    let mut t = T::new();
    t.join_all(&["alice", "bob"]);
    let first = t.join("carol");
    let second = t.join("dave");
    let shared = |fx: &[Effect], who: &str| {
        fx.iter()
            .find_map(|e| match e {
                Effect::Broadcast { stanza, to }
                    if to.len() == 1
                        && to[0].as_str() == jid(who)
                        && stanza.attr("from") == Some(occ("bob").as_str()) =>
                {
                    Some(stanza.prepared().clone())
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no shared presence of bob to {who}"))
    };
    assert!(std::sync::Arc::ptr_eq(
        &shared(&first, "carol"),
        &shared(&second, "dave")
    ));
}
