//! `mint` and `explain`: the helpers behind `rookery token mint` / `rookery token explain`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "token_common/mod.rs"]
mod common;

use common::{NOW, claims, fixture, hs256, profile_a};
use rookery_policy::{
    AdminSources, Decision, JitsiCode, MucPolicy, MucPolicyConfig, SignatureAlgorithm,
    TokenHostConfig,
};
use rookery_sasl::token::{
    CheckStatus, Explanation, MeetingUrl, MintError, TokenVerifier, UrlError, default_claims,
    explain, mint, mint_with_pem,
};
use serde_json::{Value, json};

fn policy(domain_verification: bool) -> MucPolicy {
    MucPolicy::new(
        "conference.meet.example.com",
        MucPolicyConfig {
            enable_domain_verification: domain_verification,
            muc_mapper_domain_base: Some("meet.example.com".into()),
            ..MucPolicyConfig::default()
        },
        AdminSources::default(),
    )
}

fn run(url: &str, token: &str, domain_verification: bool) -> Explanation {
    let verifier = TokenVerifier::new(&profile_a()).unwrap();
    explain(
        &verifier,
        None,
        &policy(domain_verification),
        url,
        token,
        NOW,
    )
    .unwrap()
}

fn status(explanation: &Explanation, name: &str) -> CheckStatus {
    explanation
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name} check in {explanation}"))
        .status
}

#[test]
fn minted_tokens_verify() {
    let config = profile_a();
    let verifier = TokenVerifier::new(&config).unwrap();
    let claims = default_claims(&config, "standup", "meet.example.com", NOW, 600);
    assert_eq!(claims["iss"], "app");
    assert_eq!(claims["aud"], "jitsi");
    assert_eq!(claims["exp"], NOW + 600);
    let token = mint(&config, &Value::Object(claims)).unwrap();
    let verified = verifier.verify(&token, NOW).unwrap();
    assert_eq!(verified.issuer(), "app");
    // After the lifetime it is refused.
    assert_eq!(
        verifier.verify(&token, NOW + 600).unwrap_err().reason(),
        "Not acceptable by exp"
    );
    assert_eq!(
        mint(&config, &json!(["not", "an", "object"])).unwrap_err(),
        MintError::ClaimsNotObject
    );
    let asap = TokenHostConfig {
        asap_key_server: Some("https://keys".into()),
        ..profile_a()
    };
    assert_eq!(mint(&asap, &json!({})).unwrap_err(), MintError::NotHmacHost);
    let hs384 = TokenHostConfig {
        signature_algorithm: Some(SignatureAlgorithm::HS384),
        ..profile_a()
    };
    let token = mint(&hs384, &claims_value()).unwrap();
    assert!(
        TokenVerifier::new(&hs384)
            .unwrap()
            .verify(&token, NOW)
            .is_ok()
    );
    assert!(
        verifier.verify(&token, NOW).is_err(),
        "HS256 host refuses HS384"
    );
}

fn claims_value() -> Value {
    claims(json!({}))
}

#[test]
fn mint_with_a_private_key() {
    let token = mint_with_pem(
        SignatureAlgorithm::ES256,
        &fixture("ec_private.pem"),
        Some("kid-1"),
        &claims_value(),
    )
    .unwrap();
    let config = TokenHostConfig {
        app_id: Some("app".into()),
        token_public_key_file: Some("ec_public.pem".into()),
        signature_algorithm: Some(SignatureAlgorithm::ES256),
        ..TokenHostConfig::default()
    };
    let verifier = TokenVerifier::with_public_key_pem(&config, &fixture("ec_public.pem")).unwrap();
    assert!(verifier.verify(&token, NOW).is_ok());
    assert_eq!(
        verifier.prepare(&token).unwrap().kid(),
        Some("kid-1"),
        "kid is in the header"
    );
    assert_eq!(
        mint_with_pem(
            SignatureAlgorithm::RS256,
            &fixture("ec_private.pem"),
            None,
            &claims_value()
        )
        .unwrap_err(),
        MintError::BadKey(SignatureAlgorithm::RS256)
    );
}

#[test]
fn meeting_urls() {
    type Parsed<'a> = (&'a str, Option<&'a str>, &'a str);
    let cases: &[(&str, Result<Parsed, UrlError>)] = &[
        (
            "https://meet.example.com/standup",
            Ok(("meet.example.com", None, "standup")),
        ),
        (
            "https://Meet.Example.com:8443/acme/StandUp?jwt=x#config.a=1",
            Ok(("meet.example.com", Some("acme"), "StandUp")),
        ),
        (
            "meet.example.com/a%20b",
            Ok(("meet.example.com", None, "a b")),
        ),
        ("https://meet.example.com/", Err(UrlError::NoRoom)),
        (
            "https://meet.example.com/a/b/c",
            Err(UrlError::TooManySegments),
        ),
        ("https:///room", Err(UrlError::NoHost)),
        ("https://meet.example.com/%zz", Err(UrlError::BadEncoding)),
        ("https://meet.example.com/%ff", Err(UrlError::BadEncoding)),
    ];
    for (url, want) in cases {
        let got = MeetingUrl::parse(url).map(|u| (u.host, u.tenant, u.room));
        let want = want
            .clone()
            .map(|(h, t, r)| (h.to_owned(), t.map(str::to_owned), r.to_owned()));
        assert_eq!(got, want, "{url}");
    }
}

#[test]
fn explain_a_good_token() {
    let e = run(
        "https://meet.example.com/standup",
        &hs256(&claims_value()),
        true,
    );
    assert!(e.allowed(), "{e}");
    assert!(
        e.checks.iter().all(|c| c.status == CheckStatus::Pass),
        "{e}"
    );
    let names: Vec<&str> = e.checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "format",
            "alg",
            "typ",
            "signature",
            "exp",
            "nbf",
            "iss",
            "aud",
            "room",
            "sub"
        ]
    );
    assert!(e.needs.is_empty());
    let text = e.to_string();
    assert!(
        text.starts_with(
            "Meeting: https://meet.example.com/standup -> room standup@conference.meet.example.com\n"
        ),
        "{text}"
    );
    assert!(text.contains("Verdict: ALLOWED"), "{text}");
    assert!(
        text.contains("expires 2023-11-14T23:13:20Z (in 3600 s)"),
        "{text}"
    );
}

#[test]
fn explain_lists_every_failure() {
    let token = hs256(&claims(
        json!({"exp": NOW - 61, "iss": "other", "sub": null}),
    ));
    let e = run("https://meet.example.com/standup", &token, true);
    assert!(!e.allowed());
    assert_eq!(e.authentication, Err("Not acceptable by exp".to_owned()));
    assert_eq!(status(&e, "signature"), CheckStatus::Pass);
    assert_eq!(status(&e, "exp"), CheckStatus::Fail);
    assert_eq!(status(&e, "iss"), CheckStatus::Fail);
    assert_eq!(status(&e, "sub"), CheckStatus::Fail);
    assert_eq!(status(&e, "aud"), CheckStatus::Pass);
    assert!(e.join.is_none());
    let text = e.to_string();
    assert!(
        text.contains("expired 2023-11-14T22:12:19Z (61 s ago)"),
        "{text}"
    );
    assert!(
        text.contains("Authentication: refused: Not acceptable by exp"),
        "{text}"
    );
    assert!(text.contains("Verdict: REFUSED"), "{text}");
    assert!(text.contains("iss in [\"app\"]"), "{text}");
}

#[test]
fn explain_a_tenant_mismatch() {
    let token = hs256(&claims(json!({"sub": "acme"})));
    let e = run("https://meet.example.com/beta/standup", &token, true);
    assert_eq!(e.authentication, Ok(()));
    assert_eq!(status(&e, "tenant"), CheckStatus::Fail);
    let Some(Decision::Refuse(refusal)) = &e.join else {
        panic!("expected a refusal: {e}");
    };
    assert_eq!(refusal.jitsi_code, JitsiCode::RoomMismatch);
    assert_eq!(e.room_address, "standup@conference.beta.meet.example.com");
    assert!(
        e.needs.iter().any(|n| n == "sub = \"beta\" (or \"*\")"),
        "{:?}",
        e.needs
    );
    assert!(e.needs.iter().any(|n| n == "room = \"standup\" (or \"*\")"));

    // With domain verification off the same token gets in, with a warning.
    let e = run("https://meet.example.com/beta/standup", &token, false);
    assert!(e.allowed(), "{e}");
    assert_eq!(status(&e, "tenant"), CheckStatus::Warn);
}

#[test]
fn explain_structural_and_header_failures() {
    let e = run("https://meet.example.com/standup", "a.b", true);
    assert_eq!(status(&e, "format"), CheckStatus::Fail);
    assert_eq!(e.checks.len(), 1);
    assert!(!e.allowed());
    assert!(!e.needs.is_empty());

    let hs512 = mint(
        &TokenHostConfig {
            signature_algorithm: Some(SignatureAlgorithm::HS512),
            ..profile_a()
        },
        &claims_value(),
    )
    .unwrap();
    let e = run("https://meet.example.com/standup", &hs512, true);
    assert_eq!(status(&e, "alg"), CheckStatus::Fail);
    assert_eq!(status(&e, "signature"), CheckStatus::Fail);
    assert_eq!(
        status(&e, "exp"),
        CheckStatus::Pass,
        "claims are still examined"
    );
    assert_eq!(e.authentication, Err("Invalid or incorrect alg".to_owned()));
    assert!(e.to_string().contains("host requires HS256"), "{e}");

    let verifier = TokenVerifier::new(&profile_a()).unwrap();
    assert_eq!(
        explain(&verifier, None, &policy(true), "https://x/", "a.b.c", NOW).unwrap_err(),
        UrlError::NoRoom
    );
}
