//! Table-driven tests of room verification and affiliation: every rule of §4/§5 and every
//! room row of the §7 table, with domain verification on and off.

use std::sync::Arc;

use rookery_proto::Jid;
use serde_json::{Value, json};

use crate::{
    AdminSources, Affiliation, ClaimRequirements, Decision, Grant, Identity, JitsiCode, MucPolicy,
    MucPolicyConfig, RoomAction, RoomKey, TokenClaims, affiliation_from_token,
};

const BASE: &str = "meet.example.com";
const MUC: &str = "conference.meet.example.com";
const FOCUS: &str = "focus@auth.meet.example.com";

/// A session as the server carries it: its JID and its identity.
#[derive(Debug, Clone)]
struct Session {
    jid: Jid,
    identity: Identity,
}

fn session(jid: &str, identity: Identity) -> Session {
    Session {
        jid: Jid::parse(jid).unwrap(),
        identity,
    }
}

/// Profile A token defaults; `changes` entries override, `null` removes.
fn token(changes: Value) -> Session {
    let mut payload = json!({
        "iss": "app", "aud": "jitsi", "sub": BASE, "room": "standup", "exp": 4_000_000_000u64
    })
    .as_object()
    .unwrap()
    .clone();
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            payload.remove(key);
        } else {
            payload.insert(key.clone(), value.clone());
        }
    }
    // Requirements off: the policy must stay safe even with claims the host did not require.
    let claims = TokenClaims::from_payload(&payload, ClaimRequirements::default()).unwrap();
    session(
        "c0ffee@meet.example.com/web",
        Identity::Token(Arc::new(claims)),
    )
}

fn profile_a(domain_verification: bool) -> MucPolicyConfig {
    MucPolicyConfig {
        enable_domain_verification: domain_verification,
        muc_mapper_domain_base: Some(BASE.into()),
        ..MucPolicyConfig::default()
    }
}

fn policy(config: MucPolicyConfig) -> MucPolicy {
    MucPolicy::new(MUC, config, AdminSources::default())
}

#[derive(Debug, Clone, PartialEq)]
enum Want {
    Allow,
    CrossedTenant,
    Refuse(JitsiCode),
}

fn outcome(decision: &Decision) -> Want {
    match decision {
        Decision::Allow(Grant::TokenCrossedTenant { .. }) => Want::CrossedTenant,
        Decision::Allow(_) => Want::Allow,
        Decision::Refuse(r) => Want::Refuse(r.jitsi_code),
    }
}

/// (description, token changes, room node, room domain, expected)
type Row = (&'static str, Value, &'static str, &'static str, Want);

fn run(policy: &MucPolicy, rows: &[Row]) {
    for (what, changes, node, domain, want) in rows {
        let s = token(changes.clone());
        for action in [RoomAction::Create, RoomAction::Join] {
            let decision = policy.verify_room_address(&s.jid, &s.identity, node, domain, action);
            assert_eq!(
                outcome(&decision),
                *want,
                "{what}: {node}@{domain} {action:?} -> {decision:?}"
            );
            if let Decision::Refuse(refusal) = &decision {
                assert_eq!(refusal.condition.as_str(), "not-allowed");
                assert!(!refusal.text.is_empty());
            }
        }
    }
}

const TENANT_ACME: &str = "conference.acme.meet.example.com";
const TENANT_BETA: &str = "conference.beta.meet.example.com";

#[test]
fn section_7_with_domain_verification_on() {
    use JitsiCode::*;
    let rows: &[Row] = &[
        ("defaults", json!({}), "standup", MUC, Want::Allow),
        (
            "claim lowercased",
            json!({"room": "StandUp"}),
            "standup",
            MUC,
            Want::Allow,
        ),
        (
            "room addressed in caps",
            json!({}),
            "StandUp",
            MUC,
            Want::Allow,
        ),
        (
            "other room",
            json!({}),
            "other",
            MUC,
            Want::Refuse(RoomMismatch),
        ),
        (
            "room wildcard",
            json!({"room": "*"}),
            "anything",
            MUC,
            Want::Allow,
        ),
        (
            "tenant match",
            json!({"sub": "acme"}),
            "standup",
            TENANT_ACME,
            Want::Allow,
        ),
        (
            "tenant match, sub caps",
            json!({"sub": "ACME"}),
            "standup",
            TENANT_ACME,
            Want::Allow,
        ),
        (
            "tenant match, internal form",
            json!({"sub": "acme"}),
            "[acme]standup",
            MUC,
            Want::Allow,
        ),
        (
            "other tenant",
            json!({"sub": "acme"}),
            "standup",
            TENANT_BETA,
            Want::Refuse(RoomMismatch),
        ),
        (
            "tenant token, root room",
            json!({"sub": "acme"}),
            "standup",
            MUC,
            Want::Refuse(RoomMismatch),
        ),
        (
            "sub wildcard, root room",
            json!({"sub": "*"}),
            "standup",
            MUC,
            Want::Allow,
        ),
        (
            "sub wildcard, tenant room",
            json!({"sub": "*"}),
            "standup",
            TENANT_BETA,
            Want::Allow,
        ),
        (
            "sub wildcard, wrong room",
            json!({"sub": "*"}),
            "other",
            TENANT_BETA,
            Want::Refuse(RoomMismatch),
        ),
        (
            "domain token, tenant room",
            json!({}),
            "standup",
            TENANT_ACME,
            Want::Refuse(RoomMismatch),
        ),
        (
            "both wildcards, tenant room",
            json!({"sub": "*", "room": "*"}),
            "x",
            TENANT_ACME,
            Want::Allow,
        ),
        (
            "other domain",
            json!({"sub": "other.example.com"}),
            "standup",
            MUC,
            Want::Refuse(RoomMismatch),
        ),
        (
            "no sub claim (not required by host)",
            json!({"sub": null}),
            "standup",
            MUC,
            Want::Refuse(RoomMismatch),
        ),
        (
            "no room claim (not required by host): any room of its domain",
            json!({"room": null}),
            "anything",
            MUC,
            Want::Allow,
        ),
        (
            "no room claim, other domain",
            json!({"room": null, "sub": "other.example.com"}),
            "standup",
            MUC,
            Want::Refuse(RoomMismatch),
        ),
        (
            "no room claim, tenant token, its tenant",
            json!({"room": null, "sub": "acme"}),
            "anything",
            TENANT_ACME,
            Want::Allow,
        ),
        (
            "no room claim, tenant token, other tenant",
            json!({"room": null, "sub": "acme"}),
            "standup",
            TENANT_BETA,
            Want::Refuse(RoomMismatch),
        ),
        (
            "no room claim, tenant token, root room",
            json!({"room": null, "sub": "acme"}),
            "standup",
            MUC,
            Want::Refuse(RoomMismatch),
        ),
        (
            "no room claim and no sub",
            json!({"room": null, "sub": null}),
            "standup",
            MUC,
            Want::Refuse(RoomMismatch),
        ),
        (
            "claim carries a tenant",
            json!({"room": "[acme]standup", "sub": "acme"}),
            "standup",
            TENANT_ACME,
            Want::Refuse(RoomMismatch),
        ),
        (
            "unmappable address",
            json!({}),
            "[]standup",
            MUC,
            Want::Refuse(InvalidRoomAddress),
        ),
        (
            "foreign domain",
            json!({}),
            "standup",
            "conference.other.org",
            Want::Refuse(InvalidRoomAddress),
        ),
    ];
    run(&policy(profile_a(true)), rows);
}

#[test]
fn section_7_with_domain_verification_off() {
    use JitsiCode::*;
    let rows: &[Row] = &[
        ("defaults", json!({}), "standup", MUC, Want::Allow),
        (
            "claim lowercased",
            json!({"room": "StandUp"}),
            "standup",
            MUC,
            Want::Allow,
        ),
        (
            "other room",
            json!({}),
            "other",
            MUC,
            Want::Refuse(RoomMismatch),
        ),
        (
            "room wildcard",
            json!({"room": "*"}),
            "anything",
            MUC,
            Want::Allow,
        ),
        (
            "tenant match",
            json!({"sub": "acme"}),
            "standup",
            TENANT_ACME,
            Want::Allow,
        ),
        (
            "other tenant (Jitsi-compatible)",
            json!({"sub": "acme"}),
            "standup",
            TENANT_BETA,
            Want::CrossedTenant,
        ),
        (
            "tenant token, root room",
            json!({"sub": "acme"}),
            "standup",
            MUC,
            Want::Allow,
        ),
        (
            "sub wildcard",
            json!({"sub": "*"}),
            "standup",
            TENANT_BETA,
            Want::Allow,
        ),
        (
            "no sub, root room",
            json!({"sub": null}),
            "standup",
            MUC,
            Want::Allow,
        ),
        (
            "no sub, tenant room",
            json!({"sub": null}),
            "standup",
            TENANT_ACME,
            Want::CrossedTenant,
        ),
        (
            "claim equals the internal node",
            json!({"room": "[acme]standup", "sub": "acme"}),
            "standup",
            TENANT_ACME,
            Want::Allow,
        ),
        (
            "no room claim: any room",
            json!({"room": null}),
            "anything",
            MUC,
            Want::Allow,
        ),
        (
            "no room claim, its tenant",
            json!({"room": null, "sub": "acme"}),
            "anything",
            TENANT_ACME,
            Want::Allow,
        ),
        (
            "no room claim, other tenant (Jitsi-compatible)",
            json!({"room": null, "sub": "acme"}),
            "standup",
            TENANT_BETA,
            Want::CrossedTenant,
        ),
        (
            "tenant room, wrong name",
            json!({"sub": "acme"}),
            "other",
            TENANT_ACME,
            Want::Refuse(RoomMismatch),
        ),
    ];
    run(&policy(profile_a(false)), rows);
}

#[test]
fn strict_tenants_forbid_crossing() {
    use JitsiCode::*;
    let config = MucPolicyConfig {
        token_strict_tenants: true,
        ..profile_a(false)
    };
    let rows: &[Row] = &[
        (
            "same tenant",
            json!({"sub": "acme"}),
            "standup",
            TENANT_ACME,
            Want::Allow,
        ),
        (
            "other tenant",
            json!({"sub": "acme"}),
            "standup",
            TENANT_BETA,
            Want::Refuse(RoomMismatch),
        ),
        (
            "no sub",
            json!({"sub": null}),
            "standup",
            TENANT_ACME,
            Want::Refuse(RoomMismatch),
        ),
        (
            "sub wildcard",
            json!({"sub": "*"}),
            "standup",
            TENANT_BETA,
            Want::Allow,
        ),
        (
            "root room",
            json!({"sub": "acme"}),
            "standup",
            MUC,
            Want::Allow,
        ),
    ];
    run(&policy(config), rows);
}

#[test]
fn wildcards_can_be_refused() {
    use JitsiCode::*;
    for dv in [true, false] {
        let config = MucPolicyConfig {
            token_allow_wildcards: false,
            ..profile_a(dv)
        };
        let rows: &[Row] = &[
            (
                "plain token",
                json!({"sub": "acme"}),
                "standup",
                TENANT_ACME,
                Want::Allow,
            ),
            (
                "room wildcard",
                json!({"room": "*"}),
                "standup",
                MUC,
                Want::Refuse(RoomMismatch),
            ),
            (
                "sub wildcard",
                json!({"sub": "*"}),
                "standup",
                MUC,
                Want::Refuse(RoomMismatch),
            ),
            (
                "no room claim (any room, so a wildcard too)",
                json!({"room": null}),
                "standup",
                MUC,
                Want::Refuse(RoomMismatch),
            ),
        ];
        run(&policy(config), rows);
    }
}

#[test]
fn regex_rooms_are_anchored() {
    use JitsiCode::*;
    let regex = |room: &str, sub: &str| json!({"room": room, "sub": sub, "context": {"room": {"regex": true}}});
    for dv in [true, false] {
        let rows: &[Row] = &[
            (
                "matches",
                regex("team-[0-9]+", BASE),
                "team-42",
                MUC,
                Want::Allow,
            ),
            (
                "case-insensitive",
                regex("Team-[0-9]+", BASE),
                "TEAM-7",
                MUC,
                Want::Allow,
            ),
            (
                "no match",
                regex("team-[0-9]+", BASE),
                "team-x",
                MUC,
                Want::Refuse(RoomNameDoesNotMatch),
            ),
            (
                "prefix is not enough",
                regex("team", BASE),
                "teamwork",
                MUC,
                Want::Refuse(RoomNameDoesNotMatch),
            ),
            (
                "suffix is not enough",
                regex("work", BASE),
                "teamwork",
                MUC,
                Want::Refuse(RoomNameDoesNotMatch),
            ),
            (
                "tenant room",
                regex("team-.*", "acme"),
                "team-a",
                TENANT_ACME,
                Want::Allow,
            ),
        ];
        run(&policy(profile_a(dv)), rows);
    }
    // With domain verification on, the tenant still has to match.
    let rows: &[Row] = &[(
        "tenant mismatch",
        regex("team-.*", "acme"),
        "team-a",
        TENANT_BETA,
        Want::Refuse(RoomMismatch),
    )];
    run(&policy(profile_a(true)), rows);
}

#[test]
fn domain_aliases_for_root_rooms() {
    use JitsiCode::*;
    let docker = |aliases: Vec<String>| MucPolicyConfig {
        enable_domain_verification: true,
        muc_mapper_domain_base: Some("meet.jitsi".into()),
        token_domain_aliases: aliases,
        ..MucPolicyConfig::default()
    };
    let muc = "conference.meet.jitsi";
    let public = json!({"sub": "Meet.Example.com"});
    let without = MucPolicy::new(muc, docker(vec![]), AdminSources::default());
    let with = MucPolicy::new(muc, docker(vec![BASE.into()]), AdminSources::default());
    run(
        &without,
        &[
            (
                "public sub",
                public.clone(),
                "standup",
                muc,
                Want::Refuse(RoomMismatch),
            ),
            (
                "internal sub",
                json!({"sub": "meet.jitsi"}),
                "standup",
                muc,
                Want::Allow,
            ),
        ],
    );
    run(
        &with,
        &[
            ("public sub via alias", public, "standup", muc, Want::Allow),
            (
                "internal sub",
                json!({"sub": "meet.jitsi"}),
                "standup",
                muc,
                Want::Allow,
            ),
            (
                "other sub",
                json!({"sub": "evil.example"}),
                "standup",
                muc,
                Want::Refuse(RoomMismatch),
            ),
        ],
    );
}

#[test]
fn tenant_rooms_need_the_base_domain() {
    let config = MucPolicyConfig {
        enable_domain_verification: true,
        ..MucPolicyConfig::default()
    };
    let rows: &[Row] = &[
        (
            "tenant room without base",
            json!({"sub": "acme"}),
            "[acme]standup",
            MUC,
            Want::Refuse(JitsiCode::ServerMissingConfig),
        ),
        (
            "root room without base",
            json!({}),
            "standup",
            MUC,
            Want::Allow,
        ),
    ];
    run(&policy(config), rows);

    // A MUC that is not the mapped domain cannot serve tenant rooms under verification.
    let other = MucPolicy::new(
        "internal.meet.example.com",
        MucPolicyConfig {
            muc_mapper_domain: Some("internal.meet.example.com".into()),
            ..profile_a(true)
        },
        AdminSources::default(),
    );
    let room = RoomKey::new(Some("acme"), "standup").unwrap();
    let acme = token(json!({"sub": "acme"}));
    let decision = other.verify_room_access(&acme.jid, &acme.identity, &room, RoomAction::Join);
    assert_eq!(outcome(&decision), Want::Allow, "mapped domain is this MUC");
    let odd = MucPolicy::new(
        "internal.meet.example.com",
        profile_a(true),
        AdminSources::default(),
    );
    let decision = odd.verify_room_access(&acme.jid, &acme.identity, &room, RoomAction::Join);
    assert_eq!(
        outcome(&decision),
        Want::Refuse(JitsiCode::InvalidRoomAddress)
    );
}

fn account(jid: &str) -> Session {
    session(jid, Identity::Account)
}

fn guest(jid: &str) -> Session {
    session(jid, Identity::Guest)
}

fn service(jid: &str) -> Session {
    session(jid, Identity::Service)
}

#[test]
fn admins_are_the_union_of_three_lists_the_seed_regression() {
    let global = vec!["root@meet.example.com".to_owned()];
    let parent = vec!["Parent@Meet.Example.com".to_owned()];
    let config = MucPolicyConfig {
        admins: vec![FOCUS.to_owned()],
        restrict_room_creation: true,
        ..profile_a(true)
    };
    let policy = MucPolicy::new(
        MUC,
        config,
        AdminSources {
            global: &global,
            parent_host: &parent,
        },
    );
    let room = RoomKey::new(None, "standup").unwrap();
    let tenant_room = RoomKey::new(Some("acme"), "standup").unwrap();
    for jid in [
        "focus@auth.meet.example.com/focus123",
        "FOCUS@auth.meet.example.com",
        "root@meet.example.com/x",
        "parent@meet.example.com/y",
    ] {
        for r in [&room, &tenant_room] {
            for action in [RoomAction::Create, RoomAction::Join] {
                let s = account(jid);
                assert_eq!(
                    policy.verify_room_access(&s.jid, &s.identity, r, action),
                    Decision::Allow(Grant::Admin),
                    "{jid} {r} {action:?}"
                );
            }
        }
    }
    // Not an admin: password account without a token.
    let someone = account("someone@auth.meet.example.com");
    let decision =
        policy.verify_room_access(&someone.jid, &someone.identity, &room, RoomAction::Join);
    assert_eq!(
        outcome(&decision),
        Want::Refuse(JitsiCode::AuthenticationRequired)
    );
    // Global list alone is not what made focus pass: focus is only in the MUC's list.
    let global_only = MucPolicy::new(
        MUC,
        profile_a(true),
        AdminSources {
            global: &global,
            parent_host: &[],
        },
    );
    assert!(!global_only.is_admin(&account(FOCUS).jid));
}

#[test]
fn restrict_room_creation() {
    let config = MucPolicyConfig {
        restrict_room_creation: true,
        allow_empty_token: true,
        token_verification_allowlist: vec!["recorder.meet.example.com".into()],
        ..profile_a(true)
    };
    let policy = policy(config);
    let room = RoomKey::new(None, "standup").unwrap();
    let jibri = account("jibri@recorder.meet.example.com/r");
    let guest = guest("g@guest.meet.example.com");
    for s in [token(json!({})), jibri, guest] {
        let create = policy.verify_room_access(&s.jid, &s.identity, &room, RoomAction::Create);
        assert_eq!(
            outcome(&create),
            Want::Refuse(JitsiCode::RoomDoesNotExist),
            "{s:?}"
        );
        let join = policy.verify_room_access(&s.jid, &s.identity, &room, RoomAction::Join);
        assert!(join.is_allowed(), "{s:?} {join:?}");
    }
}

#[test]
fn allowlisted_services_skip_verification() {
    let config = MucPolicyConfig {
        token_verification_allowlist: vec![
            "jibri@recorder.meet.example.com".into(),
            "jigasi.meet.example.com".into(),
        ],
        ..profile_a(true)
    };
    let policy = policy(config);
    let room = RoomKey::new(Some("beta"), "anything").unwrap();
    let cases = [
        (account("jibri@recorder.meet.example.com/abc"), true),
        (account("other@recorder.meet.example.com"), false),
        (account("transcriber@jigasi.meet.example.com/x"), true),
        (service("jigasi.meet.example.com"), true),
        (service("speakerstats.meet.example.com"), false),
    ];
    for (s, allowlisted) in cases {
        let decision = policy.verify_room_access(&s.jid, &s.identity, &room, RoomAction::Create);
        let want = if allowlisted {
            Decision::Allow(Grant::Allowlisted)
        } else {
            decision.clone()
        };
        assert_eq!(decision, want, "{s:?}");
        assert_eq!(decision.is_allowed(), allowlisted, "{s:?}");
    }
}

#[test]
fn tokenless_guests() {
    let room = RoomKey::new(None, "standup").unwrap();
    let guest = guest("4f2a@meet.example.com/web");
    for dv in [true, false] {
        let open = policy(MucPolicyConfig {
            allow_empty_token: true,
            ..profile_a(dv)
        });
        assert_eq!(
            open.verify_room_access(&guest.jid, &guest.identity, &room, RoomAction::Create),
            Decision::Allow(Grant::Tokenless)
        );
        let closed = policy(profile_a(dv));
        let decision =
            closed.verify_room_access(&guest.jid, &guest.identity, &room, RoomAction::Join);
        assert_eq!(
            outcome(&decision),
            Want::Refuse(JitsiCode::AuthenticationRequired)
        );
    }
}

#[test]
fn crossed_tenant_grant_names_both_sides() {
    let policy = policy(profile_a(false));
    let room = RoomKey::new(Some("beta"), "standup").unwrap();
    let acme = token(json!({"sub": "acme"}));
    let decision = policy.verify_room_access(&acme.jid, &acme.identity, &room, RoomAction::Join);
    let Decision::Allow(Grant::TokenCrossedTenant {
        room_tenant,
        subject,
    }) = decision
    else {
        panic!("expected a crossed-tenant grant, got {decision:?}");
    };
    assert_eq!(room_tenant, "beta");
    assert_eq!(subject.to_string(), "acme");
}

#[test]
fn affiliation_from_claims() {
    let on = MucPolicyConfig {
        token_affiliation: true,
        admins: vec![FOCUS.into()],
        ..profile_a(true)
    };
    let off = profile_a(true);
    let cases = [
        (json!({}), Some(Affiliation::Member)),
        (json!({"moderator": true}), Some(Affiliation::Owner)),
        (json!({"moderator": "true"}), Some(Affiliation::Owner)),
        (
            json!({"context": {"user": {"moderator": true}}}),
            Some(Affiliation::Owner),
        ),
        (
            json!({"context": {"user": {"moderator": "true"}}}),
            Some(Affiliation::Owner),
        ),
        (
            json!({"context": {"user": {"affiliation": "owner"}}}),
            Some(Affiliation::Owner),
        ),
        (
            json!({"context": {"user": {"affiliation": "moderator"}}}),
            Some(Affiliation::Owner),
        ),
        (
            json!({"context": {"user": {"affiliation": "teacher"}}}),
            Some(Affiliation::Owner),
        ),
        (
            json!({"context": {"user": {"affiliation": "student"}}}),
            Some(Affiliation::Member),
        ),
        (
            json!({"context": {"user": {"moderator": false}}}),
            Some(Affiliation::Member),
        ),
    ];
    for (changes, want) in cases {
        let s = token(changes.clone());
        assert_eq!(affiliation_from_token(&s.identity, &on), want, "{changes}");
        assert_eq!(affiliation_from_token(&s.identity, &off), None, "{changes}");
    }
    let policy = policy(on.clone());
    let focus = account(FOCUS);
    assert_eq!(
        policy.affiliation_from_token(&focus.jid, &focus.identity),
        None
    );
    let guest = guest("g@x");
    assert_eq!(affiliation_from_token(&guest.identity, &on), None);
    let moderator = token(json!({"moderator": true}));
    assert_eq!(
        policy.affiliation_from_token(&moderator.jid, &moderator.identity),
        Some(Affiliation::Owner)
    );
    assert_eq!(Affiliation::Owner.as_str(), "owner");
}

#[test]
fn jitsi_codes_have_their_wire_names() {
    let names = [
        (JitsiCode::RoomMismatch, "room-mismatch"),
        (JitsiCode::RoomNameDoesNotMatch, "room-name-does-not-match"),
        (JitsiCode::InvalidRoomAddress, "invalid-room-address"),
        (JitsiCode::RoomDoesNotExist, "room-does-not-exist"),
        (JitsiCode::AuthenticationRequired, "authentication-required"),
        (JitsiCode::ServerMissingConfig, "server-missing-config"),
    ];
    for (code, name) in names {
        assert_eq!(code.as_str(), name);
    }
}

#[test]
fn expiry_kick_deadline() {
    let kick = policy(MucPolicyConfig {
        token_expiry: crate::TokenExpiry::Kick,
        ..profile_a(true)
    });
    let ignore = policy(profile_a(true));
    let identity = token(json!({"exp": 4_100_000_000u64})).identity;
    assert_eq!(kick.kick_at(&identity), Some(4_100_000_000));
    assert_eq!(ignore.kick_at(&identity), None);
    assert_eq!(kick.kick_at(&token(json!({"exp": null})).identity), None);
    assert_eq!(kick.kick_at(&account(FOCUS).identity), None);
}

/// What the deleted `bare_jid`/`domain_of` helpers did, through the JIDs the server carries:
/// admins and allowlist entries match the bare JID case-insensitively whatever the resource,
/// the allowlist also by domain, and a domain JID is its own domain.
#[test]
fn jid_parts() {
    let policy = policy(MucPolicyConfig {
        admins: vec!["focus@auth.example".into()],
        token_verification_allowlist: vec!["guest.example".into(), "Conference.Example".into()],
        ..profile_a(true)
    });
    assert!(policy.is_admin(&account("Focus@Auth.Example/r1/x").jid));
    assert!(!policy.is_admin(&account("focus@other.example/r").jid));
    assert!(policy.is_allowlisted(&guest("a@guest.example/web").jid));
    assert!(policy.is_allowlisted(&service("conference.example").jid));
    assert!(!policy.is_allowlisted(&account("focus@auth.example/r").jid));
}
