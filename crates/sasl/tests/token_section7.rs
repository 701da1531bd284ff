//! The §7 table of jitsi-tokens.md end to end: a token is verified by the token host, the
//! resulting identity joins (or creates) a room through the MUC policy.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "token_common/mod.rs"]
mod common;

use std::sync::Arc;

use common::{NOW, SECRET, b64, claims, hs256, login, profile_a, sign_raw};
use jsonwebtoken::{Algorithm, EncodingKey};
use rookery_policy::{
    AdminSources, Decision, Grant, Identity, JitsiCode, MucPolicy, MucPolicyConfig, RoomAction,
    TokenHostConfig,
};
use rookery_proto::Jid;
use rookery_sasl::token::TokenVerifier;
use serde_json::{Value, json};

const MUC: &str = "conference.meet.example.com";
const FOCUS: &str = "focus@auth.meet.example.com";

fn muc(domain_verification: bool) -> MucPolicy {
    MucPolicy::new(
        MUC,
        MucPolicyConfig {
            enable_domain_verification: domain_verification,
            muc_mapper_domain_base: Some("meet.example.com".into()),
            admins: vec![FOCUS.into()],
            ..MucPolicyConfig::default()
        },
        AdminSources::default(),
    )
}

#[derive(Debug, PartialEq)]
enum Want {
    AuthRefused(String),
    Joins,
    JoinRefused(JitsiCode),
}

/// Where the token is used: a root room, or a room of a tenant.
#[derive(Clone, Copy)]
enum Room {
    Root(&'static str),
    Tenant(&'static str, &'static str),
}

fn address(room: Room) -> (String, String) {
    match room {
        Room::Root(name) => (name.into(), MUC.into()),
        Room::Tenant(tenant, name) => {
            (name.into(), format!("conference.{tenant}.meet.example.com"))
        }
    }
}

fn run(host: &TokenHostConfig, policy: &MucPolicy, token: &str, room: Room) -> Want {
    let verifier = TokenVerifier::new(host).unwrap();
    let claims = match login(&verifier, Some(token), NOW) {
        Ok(Some(claims)) => claims,
        Ok(None) => panic!("no guest expected"),
        Err(e) => {
            return Want::AuthRefused(e.reason().to_owned());
        }
    };
    let jid = Jid::parse("6b1f0c@meet.example.com/web").unwrap();
    let identity = Identity::Token(Arc::new(claims));
    let (node, domain) = address(room);
    let create = policy.verify_room_address(&jid, &identity, &node, &domain, RoomAction::Create);
    let join = policy.verify_room_address(&jid, &identity, &node, &domain, RoomAction::Join);
    assert_eq!(
        create.is_allowed(),
        join.is_allowed(),
        "create and join agree here"
    );
    match join {
        Decision::Allow(_) => Want::Joins,
        Decision::Refuse(r) => Want::JoinRefused(r.jitsi_code),
    }
}

fn token(changes: Value) -> String {
    hs256(&claims(changes))
}

#[test]
fn section_7_profile_a() {
    let host = profile_a();
    let policy = muc(true);
    let hs512 = sign_raw(
        &json!({"alg": "HS512", "typ": "JWT"}),
        &claims(json!({})),
        Algorithm::HS512,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    );
    let alg_none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(claims(json!({})).to_string().as_bytes())
    );
    let altered = {
        let t = token(json!({}));
        let p: Vec<&str> = t.split('.').collect();
        format!(
            "{}.{}.{}",
            p[0],
            b64(claims(json!({"room": "other"})).to_string().as_bytes()),
            p[2]
        )
    };
    let now = NOW;
    let rows: Vec<(&str, String, Room, Want)> = vec![
        ("none", token(json!({})), Room::Root("standup"), Want::Joins),
        (
            "room=StandUp",
            token(json!({"room": "StandUp"})),
            Room::Root("standup"),
            Want::Joins,
        ),
        (
            "none, other room",
            token(json!({})),
            Room::Root("other"),
            Want::JoinRefused(JitsiCode::RoomMismatch),
        ),
        (
            "room=*",
            token(json!({"room": "*"})),
            Room::Root("anything"),
            Want::Joins,
        ),
        (
            "sub=acme in acme",
            token(json!({"sub": "acme"})),
            Room::Tenant("acme", "standup"),
            Want::Joins,
        ),
        (
            "sub=acme in beta",
            token(json!({"sub": "acme"})),
            Room::Tenant("beta", "standup"),
            Want::JoinRefused(JitsiCode::RoomMismatch),
        ),
        (
            "sub=acme at root",
            token(json!({"sub": "acme"})),
            Room::Root("standup"),
            Want::JoinRefused(JitsiCode::RoomMismatch),
        ),
        (
            "sub=* at root",
            token(json!({"sub": "*"})),
            Room::Root("standup"),
            Want::Joins,
        ),
        (
            "no sub",
            token(json!({"sub": null})),
            Room::Root("standup"),
            Want::AuthRefused("'sub' claim is missing".into()),
        ),
        (
            "no room",
            token(json!({"room": null})),
            Room::Root("standup"),
            Want::AuthRefused("'room' claim is missing".into()),
        ),
        (
            "exp=now-1",
            token(json!({"exp": now - 1})),
            Room::Root("standup"),
            Want::AuthRefused("Not acceptable by exp".into()),
        ),
        (
            "nbf=now+60",
            token(json!({"nbf": now + 60})),
            Room::Root("standup"),
            Want::AuthRefused("Not acceptable by nbf".into()),
        ),
        (
            "iss=other",
            token(json!({"iss": "other"})),
            Room::Root("standup"),
            Want::AuthRefused("invalid 'iss' claim".into()),
        ),
        (
            "alg=none",
            alg_none,
            Room::Root("standup"),
            Want::AuthRefused("Invalid or incorrect alg".into()),
        ),
        (
            "HS512",
            hs512,
            Room::Root("standup"),
            Want::AuthRefused("Invalid or incorrect alg".into()),
        ),
        (
            "payload altered",
            altered,
            Room::Root("standup"),
            Want::AuthRefused("Invalid signature".into()),
        ),
    ];
    for (row, token, room, want) in rows {
        assert_eq!(run(&host, &policy, &token, room), want, "{row}");
    }
}

#[test]
fn section_7_with_domain_verification_off() {
    let host = TokenHostConfig {
        enable_domain_verification: false,
        ..profile_a()
    };
    let policy = muc(false);
    let rows: Vec<(&str, String, Room, Want)> = vec![
        ("none", token(json!({})), Room::Root("standup"), Want::Joins),
        (
            "other room",
            token(json!({})),
            Room::Root("other"),
            Want::JoinRefused(JitsiCode::RoomMismatch),
        ),
        (
            "sub=acme in beta",
            token(json!({"sub": "acme"})),
            Room::Tenant("beta", "standup"),
            Want::Joins,
        ),
        (
            "sub=acme at root",
            token(json!({"sub": "acme"})),
            Room::Root("standup"),
            Want::Joins,
        ),
        (
            "no sub logs in",
            token(json!({"sub": null})),
            Room::Root("standup"),
            Want::Joins,
        ),
    ];
    for (row, token, room, want) in rows {
        assert_eq!(run(&host, &policy, &token, room), want, "{row}");
    }
    let strict = MucPolicy::new(
        MUC,
        MucPolicyConfig {
            token_strict_tenants: true,
            muc_mapper_domain_base: Some("meet.example.com".into()),
            ..MucPolicyConfig::default()
        },
        AdminSources::default(),
    );
    assert_eq!(
        run(
            &host,
            &strict,
            &token(json!({"sub": "acme"})),
            Room::Tenant("beta", "standup")
        ),
        Want::JoinRefused(JitsiCode::RoomMismatch)
    );
}

#[test]
fn no_token_is_refused_with_token_required() {
    let verifier = TokenVerifier::new(&profile_a()).unwrap();
    let err = login(&verifier, None, NOW).unwrap_err();
    assert_eq!(err.reason(), "token required");
}

/// The seed regression: focus is an admin of the MUC host only (not global), logs in with
/// a password on `auth.`, has no token, and creates `standup` with domain verification on.
#[test]
fn focus_creates_rooms_with_domain_verification_on() {
    let policy = muc(true);
    let focus = Jid::parse(&format!("{FOCUS}/focus-res")).unwrap();
    for (node, domain) in [
        ("standup", MUC.to_owned()),
        ("standup", "conference.acme.meet.example.com".to_owned()),
    ] {
        for action in [RoomAction::Create, RoomAction::Join] {
            assert_eq!(
                policy.verify_room_address(&focus, &Identity::Account, node, &domain, action),
                Decision::Allow(Grant::Admin),
                "{node}@{domain} {action:?}"
            );
        }
    }
    // Without the per-host admin entry it would be verified like a user (and refused).
    let bare = MucPolicy::new(
        MUC,
        MucPolicyConfig {
            enable_domain_verification: true,
            muc_mapper_domain_base: Some("meet.example.com".into()),
            ..MucPolicyConfig::default()
        },
        AdminSources::default(),
    );
    let decision = bare.verify_room_address(
        &focus,
        &Identity::Account,
        "standup",
        MUC,
        RoomAction::Create,
    );
    assert_eq!(
        decision.refusal().map(|r| r.jitsi_code),
        Some(JitsiCode::AuthenticationRequired)
    );
}
