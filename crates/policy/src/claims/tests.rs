use serde_json::json;

use super::*;

fn payload(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

const BOTH: ClaimRequirements = ClaimRequirements {
    require_room: true,
    require_sub: true,
};
const NONE: ClaimRequirements = ClaimRequirements {
    require_room: false,
    require_sub: false,
};

#[test]
fn claims_are_typed_and_lowercased() {
    let claims = TokenClaims::from_payload(
        &payload(json!({
            "iss": "app", "aud": ["a", "jitsi"], "sub": "Meet.Example.com",
            "room": "StandUp", "exp": 1_700_000_000.9, "moderator": "true",
            "context": {
                "user": {"id": 42, "name": "Ann", "email": "a@x", "avatar": "http://a",
                         "moderator": false, "affiliation": "Member"},
                "group": "g1", "features": {"recording": true}, "tenant": "ACME"
            }
        })),
        BOTH,
    )
    .unwrap();
    assert_eq!(claims.room(), &RoomClaim::Exact("standup".into()));
    assert_eq!(claims.subject(), &Subject::Name("meet.example.com".into()));
    assert_eq!(claims.issuer(), "app");
    assert_eq!(claims.audience(), ["a".to_owned(), "jitsi".to_owned()]);
    assert_eq!(claims.exp(), Some(1_700_000_000));
    assert_eq!(claims.user().id.as_deref(), Some("42"));
    assert_eq!(claims.user().moderator, Some(false));
    assert_eq!(claims.user().affiliation.as_deref(), Some("member"));
    assert_eq!(claims.moderator(), Some(true));
    assert!(claims.is_moderator());
    assert_eq!(claims.tenant(), Some("acme"));
    assert_eq!(claims.group(), Some(&json!("g1")));
    assert_eq!(claims.features(), Some(&json!({"recording": true})));
}

#[test]
fn requirement_and_type_errors() {
    let base = json!({"iss": "app", "aud": "jitsi", "sub": "s", "room": "r"});
    let cases: &[(&str, Value, ClaimRequirements, ClaimError)] = &[
        ("room", Value::Null, BOTH, ClaimError::MissingRoom),
        ("room", json!(""), BOTH, ClaimError::MissingRoom),
        ("room", json!(5), NONE, ClaimError::RoomNotString),
        ("room", json!(["r"]), BOTH, ClaimError::RoomNotString),
        ("sub", Value::Null, BOTH, ClaimError::MissingSubject),
        ("sub", json!({"a": 1}), NONE, ClaimError::SubjectNotString),
        ("iss", Value::Null, NONE, ClaimError::MissingIssuer),
        ("iss", json!(1), NONE, ClaimError::IssuerNotString),
        ("aud", Value::Null, NONE, ClaimError::MissingAudience),
        ("aud", json!([]), NONE, ClaimError::AudienceNotString),
        ("aud", json!(["a", 1]), NONE, ClaimError::AudienceNotString),
        ("exp", json!("soon"), NONE, ClaimError::ExpNotNumber),
        ("nbf", json!(true), NONE, ClaimError::NbfNotNumber),
    ];
    for (key, value, req, want) in cases {
        let mut p = payload(base.clone());
        if value.is_null() {
            p.remove(*key);
        } else {
            p.insert((*key).to_owned(), value.clone());
        }
        assert_eq!(
            TokenClaims::from_payload(&p, *req).unwrap_err(),
            *want,
            "{key}={value}"
        );
    }
}

#[test]
fn optional_room_and_sub_become_absent() {
    let claims =
        TokenClaims::from_payload(&payload(json!({"iss": "app", "aud": "x"})), NONE).unwrap();
    assert_eq!(claims.room(), &RoomClaim::Absent);
    assert_eq!(claims.subject(), &Subject::Absent);
    assert!(!claims.is_moderator());
}

#[test]
fn wildcards_and_patterns() {
    let p = payload(json!({"iss": "i", "aud": "a", "room": "*", "sub": "*",
                           "context": {"room": {"regex": true}}}));
    let claims = TokenClaims::from_payload(&p, BOTH).unwrap();
    assert!(claims.room().is_wildcard());
    assert!(claims.subject().is_wildcard());

    let p = payload(json!({"iss": "i", "aud": "a", "room": "Team-[0-9]+",
                           "context": {"room": {"regex": "true"}}}));
    let claims = TokenClaims::from_payload(&p, NONE).unwrap();
    let RoomClaim::Pattern(pattern) = claims.room() else {
        panic!("expected a pattern, got {:?}", claims.room())
    };
    assert!(pattern.matches("team-42"));
    assert!(!pattern.matches("xteam-42"), "anchored at the start");
    assert!(!pattern.matches("team-42x"), "anchored at the end");

    let p = payload(json!({"iss": "i", "aud": "a", "room": "(unclosed",
                           "context": {"room": {"regex": true}}}));
    assert_eq!(
        TokenClaims::from_payload(&p, NONE).unwrap_err(),
        ClaimError::InvalidRoomPattern
    );
    let huge = format!("{}{{1000}}", "(a{1000})".repeat(3));
    assert_eq!(
        RoomPattern::new(&huge).unwrap_err(),
        ClaimError::InvalidRoomPattern
    );
}

#[test]
fn moderator_sources() {
    let cases = [
        (json!({"context": {"user": {"moderator": true}}}), true),
        (json!({"context": {"user": {"moderator": "true"}}}), true),
        (json!({"context": {"user": {"moderator": "false"}}}), false),
        (json!({"context": {"user": {"affiliation": "owner"}}}), true),
        (
            json!({"context": {"user": {"affiliation": "Teacher"}}}),
            true,
        ),
        (
            json!({"context": {"user": {"affiliation": "moderator"}}}),
            true,
        ),
        (
            json!({"context": {"user": {"affiliation": "member"}}}),
            false,
        ),
        (json!({"moderator": true}), true),
        (json!({"moderator": "TRUE"}), true),
        (json!({"moderator": 1}), false),
        (json!({}), false),
    ];
    for (extra, want) in cases {
        let mut p = payload(json!({"iss": "i", "aud": "a"}));
        p.extend(payload(extra.clone()));
        let claims = TokenClaims::from_payload(&p, NONE).unwrap();
        assert_eq!(claims.is_moderator(), want, "{extra}");
    }
}
