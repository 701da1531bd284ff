//! The Jitsi room-verification policy over real sockets, with the per-host admin layout that
//! crashed Prosody's plugin (the seed regression) and tenant addressing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::*;
use base64::Engine;
use rookery_proto::{Element, ns};
use rookery_server::Config;
use rookery_server::store::Store;

const CONFIG: &str = r#"
data_dir = "unused"
allow_unencrypted_plain_auth = true
[c2s]
listen = ["127.0.0.1:0"]

[[host]]
domain = "meet.example.com"
authentication = "token"
[host.token]
app_id = "app"
app_secret = "s3cret"
asap_accepted_audiences = ["jitsi"]
enable_domain_verification = true

[[host]]
domain = "auth.meet.example.com"
authentication = "internal_hashed"

[[muc]]
domain = "conference.meet.example.com"
muc_room_locking = false
muc_room_default_public_jids = true
admins = ["focus@auth.meet.example.com"]
[muc.token_verification]
enable_domain_verification = true
muc_mapper_domain_base = "meet.example.com"
"#;

fn mint(room: &str, sub: &str) -> String {
    let cfg = Config::parse(CONFIG, "t").unwrap();
    let tcfg = cfg.host("meet.example.com").unwrap().token.clone().unwrap();
    let now = rookery_sasl::token::unix_now();
    let mut claims = rookery_sasl::token::default_claims(&tcfg, room, sub, now, 3600);
    claims.insert("aud".into(), "jitsi".into());
    rookery_sasl::token::mint(&tcfg, &serde_json::Value::Object(claims)).unwrap()
}

async fn server() -> rookery_server::Running {
    let cfg = Config::parse(CONFIG, "t").unwrap();
    let store = Store::in_memory().unwrap();
    store
        .set_password("auth.meet.example.com", "focus", "focus-pw", 4096)
        .unwrap();
    rookery_server::start_with_store(cfg, store).await.unwrap()
}

async fn token_client(
    srv: &rookery_server::Running,
    token: &str,
) -> (Raw<tokio::net::TcpStream>, String) {
    let mut c = connect(srv.c2s_addr().unwrap()).await;
    c.open_to("meet.example.com").await;
    let b = base64::engine::general_purpose::STANDARD
        .encode(format!("n,,\x01auth=Bearer {token}\x01\x01"));
    c.send(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='OAUTHBEARER'>{b}</auth>"
    ))
    .await;
    let s = c.element().await;
    assert_eq!(s.name, "success", "{}", s.to_xml_string());
    let jid = c.bind(None).await;
    (c, jid)
}

async fn focus(srv: &rookery_server::Running) -> (Raw<tokio::net::TcpStream>, String) {
    let mut c = connect(srv.c2s_addr().unwrap()).await;
    c.open_to("auth.meet.example.com").await;
    let b = base64::engine::general_purpose::STANDARD.encode("\0focus\0focus-pw");
    c.send(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{b}</auth>"
    ))
    .await;
    assert_eq!(c.element().await.name, "success");
    let jid = c.bind(Some("focus")).await;
    (c, jid)
}

async fn next_presence(c: &mut Raw<tokio::net::TcpStream>) -> Element {
    loop {
        let e = c.element().await;
        if e.name == "presence" {
            return e;
        }
    }
}

fn join(room: &str, nick: &str) -> String {
    format!("<presence to='{room}/{nick}'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
}

#[tokio::test]
async fn seed_regression_focus_admin_on_muc_host_only_creates_then_token_user_joins() {
    let srv = server().await;
    let (mut f, _) = focus(&srv).await;
    f.send(&join("standup@conference.meet.example.com", "focus"))
        .await;
    let p = next_presence(&mut f).await;
    assert_eq!(
        p.attr("type"),
        None,
        "focus must be able to create the room: {}",
        p.to_xml_string()
    );
    assert_eq!(
        p.attr("from"),
        Some("standup@conference.meet.example.com/focus")
    );

    let (mut u, _) = token_client(&srv, &mint("standup", "meet.example.com")).await;
    u.send(&join("standup@conference.meet.example.com", "user"))
        .await;
    loop {
        let p = next_presence(&mut u).await;
        assert_ne!(p.attr("type"), Some("error"), "{}", p.to_xml_string());
        if p.attr("from") == Some("standup@conference.meet.example.com/user") {
            break;
        }
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn token_for_another_room_is_refused_with_room_mismatch_and_no_occupant() {
    let srv = server().await;
    let (mut f, _) = focus(&srv).await;
    f.send(&join("standup@conference.meet.example.com", "focus"))
        .await;
    next_presence(&mut f).await;
    let (mut u, _) = token_client(&srv, &mint("other", "meet.example.com")).await;
    u.send(&join("standup@conference.meet.example.com", "intruder"))
        .await;
    let p = next_presence(&mut u).await;
    assert_eq!(p.attr("type"), Some("error"));
    assert_eq!(
        p.attr("from"),
        Some("standup@conference.meet.example.com/intruder")
    );
    let err = p.get_child("error", ns::CLIENT).unwrap();
    assert_eq!(err.attr("type"), Some("cancel"));
    assert!(
        err.has_child("not-allowed", ns::STANZAS),
        "{}",
        p.to_xml_string()
    );
    assert!(
        err.has_child("room-mismatch", ns::JITMEET),
        "{}",
        p.to_xml_string()
    );
    assert!(err.child_text("text", ns::STANZAS).is_some());
    // No occupant was created: focus saw nothing, and a ping through the room still works.
    f.send(
        "<iq type='get' id='p' to='conference.meet.example.com'><ping xmlns='urn:xmpp:ping'/></iq>",
    )
    .await;
    loop {
        let next = f.element().await;
        assert_ne!(
            next.name,
            "presence",
            "focus must not see the refused user: {}",
            next.to_xml_string()
        );
        if next.name == "iq" {
            break;
        }
    }
    // /metrics counts the room, its one occupant and the refusal by code.
    let text = srv.metrics_text();
    let service = "service=\"conference.meet.example.com\"";
    assert!(
        text.contains(&format!("rookery_muc_rooms{{{service}}} 1")),
        "{text}"
    );
    assert!(
        text.contains(&format!("rookery_muc_occupants{{{service}}} 1")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "rookery_room_refusals_total{{{service},code=\"room-mismatch\"}} 1"
        )),
        "{text}"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn tenant_room_is_the_same_through_both_addresses_and_from_follows_the_view() {
    let srv = server().await;
    let (mut f, _) = focus(&srv).await;
    // Focus uses the internal form.
    f.send(&join("[acme]standup@conference.meet.example.com", "focus"))
        .await;
    let p = next_presence(&mut f).await;
    assert_eq!(p.attr("type"), None, "{}", p.to_xml_string());
    assert_eq!(
        p.attr("from"),
        Some("[acme]standup@conference.meet.example.com/focus")
    );
    // The token user uses the tenant subdomain.
    let (mut u, _) = token_client(&srv, &mint("standup", "acme")).await;
    u.send(&join("standup@conference.acme.meet.example.com", "user"))
        .await;
    let mut froms = Vec::new();
    loop {
        let p = next_presence(&mut u).await;
        assert_ne!(p.attr("type"), Some("error"), "{}", p.to_xml_string());
        froms.push(p.attr("from").unwrap().to_owned());
        if p.attr("from") == Some("standup@conference.acme.meet.example.com/user") {
            break;
        }
    }
    assert!(
        froms.contains(&"standup@conference.acme.meet.example.com/focus".to_owned()),
        "{froms:?}"
    );
    // Focus sees the user in its own (internal) form.
    let seen = next_presence(&mut f).await;
    assert_eq!(
        seen.attr("from"),
        Some("[acme]standup@conference.meet.example.com/user")
    );
    // A token for tenant acme cannot enter tenant beta's room.
    let (mut other, _) = token_client(&srv, &mint("standup", "acme")).await;
    other
        .send(&join("standup@conference.beta.meet.example.com", "x"))
        .await;
    let p = next_presence(&mut other).await;
    assert_eq!(p.attr("type"), Some("error"), "{}", p.to_xml_string());
    assert_eq!(
        p.attr("from"),
        Some("standup@conference.beta.meet.example.com/x")
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn token_expiry_kick_removes_the_occupant_with_307_and_a_reason() {
    let text = CONFIG.replace(
        "muc_mapper_domain_base = \"meet.example.com\"",
        "muc_mapper_domain_base = \"meet.example.com\"\ntoken_expiry = \"kick\"",
    );
    let cfg = Config::parse(&text, "t").unwrap();
    let tcfg = cfg.host("meet.example.com").unwrap().token.clone().unwrap();
    let store = Store::in_memory().unwrap();
    store
        .set_password("auth.meet.example.com", "focus", "focus-pw", 4096)
        .unwrap();
    let srv = rookery_server::start_with_store(cfg, store).await.unwrap();
    let (mut f, _) = focus(&srv).await;
    f.send(&join("standup@conference.meet.example.com", "focus"))
        .await;
    next_presence(&mut f).await;
    // A token that expires in two seconds.
    let now = rookery_sasl::token::unix_now();
    let mut claims =
        rookery_sasl::token::default_claims(&tcfg, "standup", "meet.example.com", now, 2);
    claims.insert("aud".into(), "jitsi".into());
    let token = rookery_sasl::token::mint(&tcfg, &serde_json::Value::Object(claims)).unwrap();
    let (mut u, _) = token_client(&srv, &token).await;
    u.send(&join("standup@conference.meet.example.com", "user"))
        .await;
    loop {
        let p = next_presence(&mut u).await;
        assert_ne!(p.attr("type"), Some("error"), "{}", p.to_xml_string());
        if p.attr("from") == Some("standup@conference.meet.example.com/user") {
            break;
        }
    }
    // The room removes the occupant after its token expires (checked on the room's tick).
    let gone = loop {
        let p = next_presence(&mut u).await;
        if p.attr("type") == Some("unavailable") {
            break p;
        }
    };
    assert_eq!(
        gone.attr("from"),
        Some("standup@conference.meet.example.com/user")
    );
    let x = gone.get_child("x", ns::MUC_USER).unwrap();
    assert!(
        x.children()
            .any(|c| c.name == "status" && c.attr("code") == Some("307")),
        "{}",
        gone.to_xml_string()
    );
    let reason = x
        .get_child("item", ns::MUC_USER)
        .unwrap()
        .child_text("reason", ns::MUC_USER);
    assert_eq!(reason.as_deref(), Some("Your token has expired"));
    // Focus saw the user leave too.
    loop {
        let p = next_presence(&mut f).await;
        if p.attr("from") == Some("standup@conference.meet.example.com/user")
            && p.attr("type") == Some("unavailable")
        {
            break;
        }
    }
    srv.shutdown().await;
}

/// The configuration with `asap_require_room_claim = false`, domain verification on or off.
fn no_room_claim_config(domain_verification: bool) -> String {
    let cfg = CONFIG.replace(
        "asap_accepted_audiences = [\"jitsi\"]",
        "asap_accepted_audiences = [\"jitsi\"]\nasap_require_room_claim = false",
    );
    if domain_verification {
        cfg
    } else {
        cfg.replace(
            "enable_domain_verification = true",
            "enable_domain_verification = false",
        )
    }
}

/// Joins `room` with a token that has no `room` claim; returns the first presence from it
/// (the error, or the own presence once seated).
async fn join_without_room_claim(
    srv: &rookery_server::Running,
    cfg: &str,
    sub: &str,
    room: &str,
) -> Element {
    let tcfg = Config::parse(cfg, "t")
        .unwrap()
        .host("meet.example.com")
        .unwrap()
        .token
        .clone()
        .unwrap();
    let now = rookery_sasl::token::unix_now();
    let mut claims = rookery_sasl::token::default_claims(&tcfg, "unused", sub, now, 3600);
    claims.remove("room");
    claims.insert("aud".into(), "jitsi".into());
    let token = rookery_sasl::token::mint(&tcfg, &serde_json::Value::Object(claims)).unwrap();
    let (mut u, _) = token_client(srv, &token).await;
    u.send(&join(room, "user")).await;
    loop {
        let p = next_presence(&mut u).await;
        if p.attr("type") == Some("error") || p.attr("from") == Some(&format!("{room}/user")) {
            return p;
        }
    }
}

#[tokio::test]
async fn a_token_without_room_claim_joins_any_room_its_sub_allows() {
    for domain_verification in [true, false] {
        let cfg = no_room_claim_config(domain_verification);
        let store = Store::in_memory().unwrap();
        let srv = rookery_server::start_with_store(Config::parse(&cfg, "t").unwrap(), store)
            .await
            .unwrap();
        let room = format!("anything-{domain_verification}@conference.meet.example.com");
        let p = join_without_room_claim(&srv, &cfg, "meet.example.com", &room).await;
        assert_eq!(
            p.attr("type"),
            None,
            "verification {domain_verification}: {}",
            p.to_xml_string()
        );
        // Another domain in `sub`: refused only when the domain is verified.
        let room = format!("other-{domain_verification}@conference.meet.example.com");
        let p = join_without_room_claim(&srv, &cfg, "other.example.com", &room).await;
        if domain_verification {
            assert_eq!(p.attr("type"), Some("error"), "{}", p.to_xml_string());
            let err = p.get_child("error", ns::CLIENT).unwrap();
            assert!(
                err.has_child("not-allowed", ns::STANZAS),
                "{}",
                p.to_xml_string()
            );
            assert!(
                err.has_child("room-mismatch", "http://jitsi.org/jitmeet"),
                "{}",
                p.to_xml_string()
            );
        } else {
            assert_eq!(p.attr("type"), None, "{}", p.to_xml_string());
        }
        srv.shutdown().await;
    }
}
