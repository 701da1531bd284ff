use super::*;

#[test]
fn ids_are_long_and_distinct() {
    let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_id()).collect();
    assert_eq!(ids.len(), 1000);
    assert!(ids.iter().all(|i| i.len() == 32));
}

#[test]
fn owners_match_by_the_documented_rule() {
    let acct = |t| Owner::of("h", "alice", &Identity::Account, t);
    let guest = |node: &str, t| Owner::of("h", node, &Identity::Guest, t);
    // Accounts: same account, any transport.
    assert_eq!(acct(Transport::Tcp), acct(Transport::WebSocket));
    assert_ne!(
        acct(Transport::Tcp),
        Owner::of("h", "bob", &Identity::Account, Transport::Tcp)
    );
    assert_ne!(
        acct(Transport::Tcp),
        Owner::of("other", "alice", &Identity::Account, Transport::Tcp)
    );
    // Guests: any guest of the host on the same transport (their nodes are random).
    assert_eq!(guest("r1", Transport::Bosh), guest("r2", Transport::Bosh));
    assert_ne!(
        guest("r1", Transport::Bosh),
        guest("r1", Transport::WebSocket)
    );
    assert_ne!(
        guest("alice", Transport::Tcp),
        acct(Transport::Tcp),
        "a guest never resumes an account"
    );
}

#[test]
fn token_owners_match_on_the_identifying_claims() {
    let token = |user: &str, room: &str| {
        let payload = serde_json::json!({
            "iss": "app", "aud": "jitsi", "sub": "meet.example", "room": room,
            "context": {"user": {"id": user, "name": "Some Name"}},
        });
        let serde_json::Value::Object(map) = payload else {
            unreachable!()
        };
        let claims = rookery_policy::TokenClaims::from_payload(
            &map,
            rookery_policy::ClaimRequirements {
                require_room: true,
                require_sub: true,
            },
        )
        .unwrap();
        Identity::Token(Arc::new(claims))
    };
    let owner = |id: &Identity, t| Owner::of("h", "random", id, t);
    let a = token("u1", "standup");
    assert_eq!(
        owner(&a, Transport::WebSocket),
        Owner::of(
            "h",
            "other-random-node",
            &token("u1", "standup"),
            Transport::WebSocket
        )
    );
    assert_ne!(owner(&a, Transport::WebSocket), owner(&a, Transport::Bosh));
    assert_ne!(
        owner(&a, Transport::WebSocket),
        owner(&token("u2", "standup"), Transport::WebSocket)
    );
    assert_ne!(
        owner(&a, Transport::WebSocket),
        owner(&token("u1", "other"), Transport::WebSocket)
    );
    assert_ne!(
        owner(&a, Transport::WebSocket),
        owner(&Identity::Guest, Transport::WebSocket),
        "a tokenless guest never resumes a token session"
    );
}

#[test]
fn the_registry_checks_the_owner() {
    let reg = Registry::default();
    let owner = Owner::of("h", "alice", &Identity::Account, Transport::Tcp);
    let other = Owner::of("h", "bob", &Identity::Account, Transport::Tcp);
    let (id, _rx) = reg.register(owner.clone());
    assert!(reg.lookup(&id, &owner).is_some());
    assert!(reg.lookup(&id, &other).is_none());
    assert!(reg.lookup("nope", &owner).is_none());
    reg.remove(&id);
    assert!(reg.lookup(&id, &owner).is_none());
    assert!(reg.is_empty());
}
