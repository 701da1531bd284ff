//! Token verification (jitsi-tokens.md §2): every rule and every authentication row of §7,
//! bad input, and public-key algorithms.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "token_common/mod.rs"]
mod common;

use common::{NOW, SECRET, b64, claims, fixture, hs256, login, profile_a, sign_raw, signed_with};
use jsonwebtoken::{Algorithm, EncodingKey};
use rookery_policy::{RoomClaim, SignatureAlgorithm, Subject, TokenClaims, TokenHostConfig};
use rookery_sasl::token::{
    KeyNeed, TokenError, TokenErrorKind, TokenLogin, TokenVerifier, VerificationKey,
    VerifierConfigError, begin, finish, key_server_url,
};
use serde_json::{Value, json};

fn verify(config: &TokenHostConfig, token: &str) -> Result<TokenClaims, TokenError> {
    TokenVerifier::new(config).unwrap().verify(token, NOW)
}

fn reason(config: &TokenHostConfig, token: &str) -> String {
    match verify(config, token) {
        Ok(claims) => panic!("token accepted: {claims:?}"),
        Err(e) => e.reason().to_owned(),
    }
}

#[test]
fn section_7_authentication_rows() {
    let a = profile_a();
    let hs512 = sign_raw(
        &json!({"alg": "HS512", "typ": "JWT"}),
        &claims(json!({})),
        Algorithm::HS512,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    );
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims(json!({})).to_string().as_bytes())
    );
    let altered = {
        let good = hs256(&claims(json!({})));
        let parts: Vec<&str> = good.split('.').collect();
        let evil = b64(claims(json!({"room": "*"})).to_string().as_bytes());
        format!("{}.{evil}.{}", parts[0], parts[2])
    };
    // (row, token, expected refusal text or None for success)
    let rows: Vec<(&str, String, Option<&str>)> = vec![
        ("no change", hs256(&claims(json!({}))), None),
        (
            "room=StandUp",
            hs256(&claims(json!({"room": "StandUp"}))),
            None,
        ),
        ("room=*", hs256(&claims(json!({"room": "*"}))), None),
        ("sub=acme", hs256(&claims(json!({"sub": "acme"}))), None),
        ("sub=*", hs256(&claims(json!({"sub": "*"}))), None),
        (
            "no sub",
            hs256(&claims(json!({"sub": null}))),
            Some("'sub' claim is missing"),
        ),
        (
            "no room",
            hs256(&claims(json!({"room": null}))),
            Some("'room' claim is missing"),
        ),
        (
            "exp=now-1",
            hs256(&claims(json!({"exp": NOW - 1}))),
            Some("Not acceptable by exp"),
        ),
        (
            "nbf=now+60",
            hs256(&claims(json!({"nbf": NOW + 60}))),
            Some("Not acceptable by nbf"),
        ),
        (
            "iss=other",
            hs256(&claims(json!({"iss": "other"}))),
            Some("invalid 'iss' claim"),
        ),
        ("alg=none", none, Some("Invalid or incorrect alg")),
        (
            "HS512, right secret",
            hs512,
            Some("Invalid or incorrect alg"),
        ),
        ("payload altered", altered, Some("Invalid signature")),
    ];
    for (row, token, want) in rows {
        match (verify(&a, &token), want) {
            (Ok(_), None) => {}
            (Err(e), Some(text)) => assert_eq!(e.reason(), text, "{row}"),
            (got, want) => panic!("{row}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn claims_are_kept_typed() {
    let token = hs256(&claims(json!({
        "room": "StandUp", "sub": "ACME", "moderator": true,
        "context": {"user": {"id": "u1", "name": "Ann", "email": "ann@example.com",
                             "avatar": "https://a/b.png", "moderator": "true",
                             "affiliation": "owner"},
                    "group": "g", "features": {"recording": "true"}, "tenant": "acme",
                    "room": {"regex": false}}
    })));
    let claims = verify(&profile_a(), &token).unwrap();
    assert_eq!(claims.room(), &RoomClaim::Exact("standup".into()));
    assert_eq!(claims.subject(), &Subject::Name("acme".into()));
    assert_eq!(claims.issuer(), "app");
    assert_eq!(claims.audience(), ["jitsi".to_owned()]);
    assert_eq!(claims.exp(), Some(i64::try_from(NOW).unwrap() + 3600));
    assert_eq!(claims.user().name.as_deref(), Some("Ann"));
    assert_eq!(claims.user().email.as_deref(), Some("ann@example.com"));
    assert_eq!(claims.user().avatar.as_deref(), Some("https://a/b.png"));
    assert_eq!(claims.user().moderator, Some(true));
    assert_eq!(claims.tenant(), Some("acme"));
    assert_eq!(claims.features(), Some(&json!({"recording": "true"})));
    assert_eq!(claims.moderator(), Some(true));
}

#[test]
fn domain_verification_off_accepts_a_missing_sub() {
    let config = TokenHostConfig {
        enable_domain_verification: false,
        ..profile_a()
    };
    let claims = verify(&config, &hs256(&claims(json!({"sub": null})))).unwrap();
    assert_eq!(claims.subject(), &Subject::Absent);
}

#[test]
fn room_claim_can_be_optional() {
    let config = TokenHostConfig {
        asap_require_room_claim: false,
        ..profile_a()
    };
    let claims = verify(&config, &hs256(&claims(json!({"room": null})))).unwrap();
    assert_eq!(claims.room(), &RoomClaim::Absent);
}

#[test]
fn non_string_claims_fail_clearly() {
    let a = profile_a();
    let cases = [
        (json!({"room": 42}), "'room' claim must be a string"),
        (
            json!({"room": {"name": "x"}}),
            "'room' claim must be a string",
        ),
        (json!({"sub": ["acme"]}), "'sub' claim must be a string"),
        (json!({"iss": 7}), "'iss' claim must be a string"),
        (
            json!({"aud": {"a": 1}}),
            "'aud' claim must be a string or an array of strings",
        ),
        (json!({"exp": "tomorrow"}), "exp must be number"),
        (json!({"nbf": [1]}), "nbf must be number"),
        (json!({"iss": null}), "'iss' claim is missing"),
        (json!({"aud": null}), "'aud' claim is missing"),
        (
            json!({"room": "(", "context": {"room": {"regex": true}}}),
            "'room' claim is not a valid regular expression",
        ),
    ];
    for (changes, want) in cases {
        assert_eq!(
            reason(&a, &hs256(&claims(changes.clone()))),
            want,
            "{changes}"
        );
    }
}

#[test]
fn exp_and_nbf_with_leeway_and_requirement() {
    let now = i64::try_from(NOW).unwrap();
    let strict = profile_a();
    let lenient = TokenHostConfig {
        token_leeway_seconds: 30,
        ..profile_a()
    };
    let require = TokenHostConfig {
        token_require_exp: true,
        ..profile_a()
    };
    // (config, claim changes, accepted?)
    let cases: Vec<(&TokenHostConfig, Value, bool)> = vec![
        (&strict, json!({"exp": now}), false),
        (&strict, json!({"exp": now + 1}), true),
        (&strict, json!({"exp": (now as f64) + 0.5}), false),
        (&strict, json!({"exp": (now as f64) + 1.5}), true),
        (&strict, json!({"exp": null}), true),
        (&strict, json!({"nbf": now}), true),
        (&strict, json!({"nbf": now + 1}), false),
        (&lenient, json!({"exp": now - 29}), true),
        (&lenient, json!({"exp": now - 30}), false),
        (&lenient, json!({"nbf": now + 30}), true),
        (&lenient, json!({"nbf": now + 31}), false),
        (&require, json!({"exp": null}), false),
        (&require, json!({"exp": now + 10}), true),
        (&strict, json!({"exp": -5}), false),
        (&strict, json!({"exp": 1e300}), true),
        (&strict, json!({"exp": u64::MAX}), true),
    ];
    for (config, changes, accepted) in cases {
        let result = verify(config, &hs256(&claims(changes.clone())));
        assert_eq!(result.is_ok(), accepted, "{changes}: {result:?}");
    }
    let missing = reason(&require, &hs256(&claims(json!({"exp": null}))));
    assert_eq!(missing, "'exp' claim is missing");
}

#[test]
fn issuers_and_audiences() {
    let listed = TokenHostConfig {
        asap_accepted_issuers: Some(vec!["a1".into(), "a2".into()]),
        asap_accepted_audiences: vec!["jitsi".into(), "meet".into()],
        ..profile_a()
    };
    let any_issuer = TokenHostConfig {
        asap_accepted_issuers: Some(vec!["*".into()]),
        ..profile_a()
    };
    let a = profile_a();
    let cases: Vec<(&TokenHostConfig, Value, Result<(), &str>)> = vec![
        (&a, json!({"iss": "app"}), Ok(())),
        (&a, json!({"iss": "App"}), Err("invalid 'iss' claim")),
        (&listed, json!({"iss": "a2"}), Ok(())),
        (&listed, json!({"iss": "app"}), Err("invalid 'iss' claim")),
        (&any_issuer, json!({"iss": "whoever"}), Ok(())),
        (&a, json!({"aud": "anything"}), Ok(())),
        (&a, json!({"aud": ["x", "y"]}), Ok(())),
        (&listed, json!({"iss": "a1", "aud": "meet"}), Ok(())),
        (
            &listed,
            json!({"iss": "a1", "aud": "other"}),
            Err("invalid 'aud' claim"),
        ),
        (
            &listed,
            json!({"iss": "a1", "aud": ["other", "jitsi"]}),
            Ok(()),
        ),
        (
            &listed,
            json!({"iss": "a1", "aud": ["other"]}),
            Err("invalid 'aud' claim"),
        ),
        (
            &listed,
            json!({"iss": "a1", "aud": null}),
            Err("'aud' claim is missing"),
        ),
    ];
    for (config, changes, want) in cases {
        let got = verify(config, &hs256(&claims(changes.clone())));
        match (got, want) {
            (Ok(_), Ok(())) => {}
            (Err(e), Err(text)) => assert_eq!(e.reason(), text, "{changes}"),
            (got, want) => panic!("{changes}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn header_alg_and_typ() {
    let a = profile_a();
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let payload = claims(json!({}));
    let cases: Vec<(Value, Result<(), &str>)> = vec![
        (json!({"alg": "HS256"}), Ok(())),
        (json!({"alg": "HS256", "typ": "jwt"}), Ok(())),
        (json!({"alg": "HS256", "typ": "JWT"}), Ok(())),
        (json!({"alg": "HS256", "typ": "JWS"}), Err("Invalid typ")),
        (json!({"alg": "HS256", "typ": 1}), Err("Invalid typ")),
        (json!({"alg": "hs256"}), Err("Invalid or incorrect alg")),
        (json!({"alg": "HS256 "}), Err("Invalid or incorrect alg")),
        (json!({"alg": ["HS256"]}), Err("Invalid or incorrect alg")),
        (json!({"typ": "JWT"}), Err("Invalid or incorrect alg")),
        (json!({"alg": "RS256"}), Err("Invalid or incorrect alg")),
    ];
    for (header, want) in cases {
        let token = sign_raw(&header, &payload, Algorithm::HS256, &key);
        match (verify(&a, &token), want) {
            (Ok(_), Ok(())) => {}
            (Err(e), Err(text)) => assert_eq!(e.reason(), text, "{header}"),
            (got, want) => panic!("{header}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn wrong_secret_and_other_hmac_sizes() {
    let token = sign_raw(
        &json!({"alg": "HS256"}),
        &claims(json!({})),
        Algorithm::HS256,
        &EncodingKey::from_secret(b"not the secret"),
    );
    assert_eq!(reason(&profile_a(), &token), "Invalid signature");

    for (name, alg, conf) in [
        ("HS384", Algorithm::HS384, SignatureAlgorithm::HS384),
        ("HS512", Algorithm::HS512, SignatureAlgorithm::HS512),
    ] {
        let config = TokenHostConfig {
            signature_algorithm: Some(conf),
            ..profile_a()
        };
        let token = sign_raw(
            &json!({"alg": name}),
            &claims(json!({})),
            alg,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        );
        assert!(verify(&config, &token).is_ok(), "{name}");
        assert_eq!(
            reason(&config, &hs256(&claims(json!({})))),
            "Invalid or incorrect alg",
            "{name} host refuses HS256"
        );
    }
}

#[test]
fn malformed_tokens() {
    let a = profile_a();
    let good = hs256(&claims(json!({})));
    let parts: Vec<&str> = good.split('.').collect();
    let header = parts[0];
    let payload = parts[1];
    let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    let cases: Vec<(String, TokenErrorKind, &str)> = vec![
        (
            "not a jwt".into(),
            TokenErrorKind::Malformed,
            "Invalid token: 1 segments, a JWT has 3",
        ),
        (
            format!("{header}.{payload}"),
            TokenErrorKind::Malformed,
            "Invalid token: 2 segments, a JWT has 3",
        ),
        (
            format!("{good}.x"),
            TokenErrorKind::Malformed,
            "Invalid token: 4 segments, a JWT has 3",
        ),
        (
            "..".into(),
            TokenErrorKind::BadHeader,
            "Invalid header: not JSON",
        ),
        (
            format!("!!!.{payload}.sig"),
            TokenErrorKind::BadHeader,
            "Invalid header: not base64url",
        ),
        (
            format!("{}.{payload}.sig", b64(b"[1,2]")),
            TokenErrorKind::BadHeader,
            "Invalid header: not a JSON object",
        ),
        (
            format!("{}.{payload}.sig", b64(b"{\"alg\":")),
            TokenErrorKind::BadHeader,
            "Invalid header: not JSON",
        ),
        (
            format!("{header}.%%%.sig"),
            TokenErrorKind::BadPayload,
            "Invalid body: not base64url",
        ),
        (
            format!("{header}.{}.sig", b64(b"123")),
            TokenErrorKind::BadPayload,
            "Invalid body: not a JSON object",
        ),
        (
            format!("{header}.{}.sig", b64(b"\"str\"")),
            TokenErrorKind::BadPayload,
            "Invalid body: not a JSON object",
        ),
        (
            format!("{header}.{}.sig", b64(deep.as_bytes())),
            TokenErrorKind::BadPayload,
            "Invalid body: not JSON",
        ),
        (
            format!("{header}.{payload}."),
            TokenErrorKind::Signature,
            "Invalid signature",
        ),
        (
            format!("{header}.{payload}.@@@"),
            TokenErrorKind::Signature,
            "Invalid signature",
        ),
        (
            format!("{header}.{payload}.AAAA"),
            TokenErrorKind::Signature,
            "Invalid signature",
        ),
    ];
    for (token, kind, text) in cases {
        let err = verify(&a, &token).unwrap_err();
        assert_eq!((err.kind(), err.reason()), (kind, text), "{token:.60}");
    }
    // Padding is tolerated when the issuer signed the padded text...
    let padded_input = {
        use base64::Engine;
        let pad = base64::engine::general_purpose::URL_SAFE;
        format!(
            "{}.{}",
            pad.encode(br#"{"alg":"HS256"}"#),
            pad.encode(claims(json!({})).to_string())
        )
    };
    assert!(
        padded_input.contains('='),
        "the test needs padding: {padded_input}"
    );
    let signature = jsonwebtoken::crypto::sign(
        padded_input.as_bytes(),
        &EncodingKey::from_secret(SECRET.as_bytes()),
        Algorithm::HS256,
    )
    .unwrap();
    assert!(verify(&a, &format!("{padded_input}.{signature}")).is_ok());
    // ...but padding where none belongs is not base64url.
    let repadded = format!("{header}==.{payload}.{}", parts[2]);
    assert_eq!(reason(&a, &repadded), "Invalid header: not base64url");
}

#[test]
fn huge_tokens_are_refused_before_parsing() {
    let a = profile_a();
    let big = hs256(&claims(json!({"pad": "x".repeat(20_000)})));
    assert!(big.len() > 16 * 1024);
    let err = verify(&a, &big).unwrap_err();
    assert_eq!(err.kind(), TokenErrorKind::TooLarge);
    assert!(
        err.reason().starts_with("token too large"),
        "{}",
        err.reason()
    );
    let roomy = TokenHostConfig {
        token_max_bytes: 64 * 1024,
        ..profile_a()
    };
    assert!(verify(&roomy, &big).is_ok());
    let garbage = "a".repeat(1 << 20);
    assert_eq!(
        verify(&a, &garbage).unwrap_err().kind(),
        TokenErrorKind::TooLarge
    );
}

fn public_key_host(alg: SignatureAlgorithm, public: &str) -> TokenVerifier {
    let config = TokenHostConfig {
        app_id: Some("app".into()),
        token_public_key_file: Some(format!("tests/fixtures/{public}")),
        signature_algorithm: Some(alg),
        enable_domain_verification: true,
        ..TokenHostConfig::default()
    };
    assert_eq!(
        TokenVerifier::new(&config).unwrap_err(),
        VerifierConfigError::PublicKeyNotLoaded
    );
    TokenVerifier::with_public_key_pem(&config, &fixture(public)).unwrap()
}

#[test]
fn rs256_es256_and_eddsa_with_configured_public_keys() {
    let payload = claims(json!({}));
    let cases = [
        (
            SignatureAlgorithm::RS256,
            Algorithm::RS256,
            "rsa_private.pem",
            "rsa_public.pem",
        ),
        (
            SignatureAlgorithm::RS512,
            Algorithm::RS512,
            "rsa_private.pem",
            "rsa_public.pem",
        ),
        (
            SignatureAlgorithm::PS256,
            Algorithm::PS256,
            "rsa_private.pem",
            "rsa_public.pem",
        ),
        (
            SignatureAlgorithm::ES256,
            Algorithm::ES256,
            "ec_private.pem",
            "ec_public.pem",
        ),
        (
            SignatureAlgorithm::EdDSA,
            Algorithm::EdDSA,
            "ed_private.pem",
            "ed_public.pem",
        ),
    ];
    for (conf, alg, private, public) in cases {
        let verifier = public_key_host(conf, public);
        let token = signed_with(alg, private, None, &payload);
        let claims = verifier.verify(&token, NOW).unwrap();
        assert_eq!(claims.room(), &RoomClaim::Exact("standup".into()), "{conf}");
        // Tampering breaks the signature.
        let mut tampered = token.clone();
        tampered.push('A');
        assert_eq!(
            verifier.verify(&tampered, NOW).unwrap_err().reason(),
            "Invalid signature",
            "{conf}"
        );
        // An HMAC token is refused on a public-key host.
        assert_eq!(
            verifier.verify(&hs256(&payload), NOW).unwrap_err().reason(),
            "Invalid or incorrect alg",
            "{conf}"
        );
    }
    // Signed by another RSA key.
    let verifier = public_key_host(SignatureAlgorithm::RS256, "rsa_public.pem");
    let forged = signed_with(Algorithm::RS256, "rsa_other_private.pem", None, &payload);
    assert_eq!(
        verifier.verify(&forged, NOW).unwrap_err().reason(),
        "Invalid signature"
    );
    // The classic confusion: HS256 keyed with the RSA public key PEM.
    let confused = sign_raw(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &payload,
        Algorithm::HS256,
        &EncodingKey::from_secret(&fixture("rsa_public.pem")),
    );
    assert_eq!(
        verifier.verify(&confused, NOW).unwrap_err().reason(),
        "Invalid or incorrect alg"
    );
}

#[test]
fn keys_must_fit_the_algorithm() {
    let rsa = fixture("rsa_public.pem");
    assert!(VerificationKey::from_pem(SignatureAlgorithm::RS256, &rsa).is_ok());
    assert!(VerificationKey::from_pem(SignatureAlgorithm::ES256, &rsa).is_err());
    assert!(VerificationKey::from_pem(SignatureAlgorithm::EdDSA, &rsa).is_err());
    assert!(VerificationKey::from_pem(SignatureAlgorithm::RS256, b"garbage").is_err());
    assert!(VerificationKey::from_pem(SignatureAlgorithm::HS256, &rsa).is_err());
    assert!(VerificationKey::from_secret(SignatureAlgorithm::RS256, b"s").is_err());
    assert!(VerificationKey::from_secret(SignatureAlgorithm::HS256, b"").is_err());
    let config = TokenHostConfig {
        app_id: Some("app".into()),
        token_public_key_file: Some("x".into()),
        signature_algorithm: Some(SignatureAlgorithm::ES256),
        ..TokenHostConfig::default()
    };
    assert!(matches!(
        TokenVerifier::with_public_key_pem(&config, &rsa),
        Err(VerifierConfigError::Key(_))
    ));
}

fn key_server_host() -> TokenHostConfig {
    TokenHostConfig {
        app_id: Some("app".into()),
        app_secret: Some(SECRET.into()),
        asap_key_server: Some("https://keys.example.com/asap/".into()),
        enable_domain_verification: true,
        ..TokenHostConfig::default()
    }
}

#[test]
fn key_server_hosts_need_a_kid_and_refuse_hmac() {
    let verifier = TokenVerifier::new(&key_server_host()).unwrap();
    assert_eq!(
        verifier.algorithm(),
        SignatureAlgorithm::RS256,
        "key server wins"
    );
    assert!(verifier.fetches_keys());
    let payload = claims(json!({}));

    let no_kid = signed_with(Algorithm::RS256, "rsa_private.pem", None, &payload);
    assert_eq!(
        verifier.prepare(&no_kid).unwrap_err().reason(),
        "'kid' claim is missing"
    );
    let hs = sign_raw(
        &json!({"alg": "HS256", "kid": "k1"}),
        &payload,
        Algorithm::HS256,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    );
    let err = verifier.prepare(&hs).unwrap_err();
    assert_eq!(err.kind(), TokenErrorKind::HmacOnKeyServer);
    assert_eq!(err.reason(), "'kid' claim only support with RS family");

    let token = signed_with(
        Algorithm::RS256,
        "rsa_private.pem",
        Some("jitsi/key-1"),
        &payload,
    );
    let prepared = verifier.prepare(&token).unwrap();
    let KeyNeed::KeyServer { kid, url } = prepared.key_need() else {
        panic!("expected a key-server need, got {:?}", prepared.key_need());
    };
    assert_eq!(kid, "jitsi/key-1");
    assert_eq!(
        url,
        &key_server_url("https://keys.example.com/asap", "jitsi/key-1")
    );
    // sha256("jitsi/key-1"), computed independently with `sha256sum`.
    assert_eq!(
        url,
        "https://keys.example.com/asap/\
         992733d24be2e1e7e28e9a425af55d08ddee855393d0f4070e1a3ecf69f8b6e0.pem"
    );
    // Without the key, verification cannot succeed.
    assert_eq!(
        verifier
            .verify_prepared(&prepared, None, NOW)
            .unwrap_err()
            .reason(),
        "could not obtain public key"
    );
    let key =
        VerificationKey::from_pem(SignatureAlgorithm::RS256, &fixture("rsa_public.pem")).unwrap();
    assert!(verifier.verify_prepared(&prepared, Some(&key), NOW).is_ok());
    let wrong_alg =
        VerificationKey::from_pem(SignatureAlgorithm::RS512, &fixture("rsa_public.pem")).unwrap();
    assert_eq!(
        verifier
            .verify_prepared(&prepared, Some(&wrong_alg), NOW)
            .unwrap_err()
            .kind(),
        TokenErrorKind::KeyUnavailable
    );
    // `verify` on a fetching host reports the missing key, not a crash.
    assert_eq!(
        verifier.verify(&token, NOW).unwrap_err().kind(),
        TokenErrorKind::KeyUnavailable
    );
}

#[test]
fn key_server_url_hashes_the_kid() {
    // sha256("kid1"), computed independently with `sha256sum`; no double slash.
    assert_eq!(
        key_server_url("http://keys/", "kid1"),
        "http://keys/3fb49c2ff2c50a182940e49385595caeaa51f87b6cf6d53a06a376218f168b96.pem"
    );
    assert_eq!(
        key_server_url("http://keys", "../../etc/passwd"),
        key_server_url("http://keys/", "../../etc/passwd")
    );
    assert!(!key_server_url("http://keys", "../../etc/passwd").contains(".."));
}

#[test]
fn login_handles_missing_tokens() {
    let closed = TokenVerifier::new(&profile_a()).unwrap();
    for token in [None, Some("")] {
        let err = login(&closed, token, NOW).unwrap_err();
        assert_eq!(err.reason(), "token required");
        assert_eq!(err.kind(), TokenErrorKind::TokenRequired);
    }
    let open = TokenVerifier::new(&TokenHostConfig {
        allow_empty_token: true,
        ..profile_a()
    })
    .unwrap();
    assert!(matches!(begin(&open, Some("")), Ok(TokenLogin::Guest)));
    assert_eq!(login(&open, Some(""), NOW).unwrap(), None);
    let token = hs256(&claims(json!({})));
    let Some(verified) = login(&open, Some(&token), NOW).unwrap() else {
        panic!("expected verified claims");
    };
    assert_eq!(verified.issuer(), "app");
    let bad = login(&open, Some("x.y"), NOW).unwrap_err();
    assert_eq!(bad.kind(), TokenErrorKind::Malformed);

    // A key-server host: `begin` asks for the key by kid, and finishing without it fails
    // clearly. (Without a key cache at all: the server's `token::authenticate` test.)
    let fetching = TokenVerifier::new(&key_server_host()).unwrap();
    let token = signed_with(
        Algorithm::RS256,
        "rsa_private.pem",
        Some("k"),
        &claims(json!({})),
    );
    let Ok(TokenLogin::Verify(prepared)) = begin(&fetching, Some(&token)) else {
        panic!("expected a prepared token");
    };
    assert_eq!(
        prepared.key_need(),
        &KeyNeed::KeyServer {
            kid: "k".into(),
            url: key_server_url("https://keys.example.com/asap/", "k"),
        }
    );
    let err = finish(&fetching, &prepared, None, NOW).unwrap_err();
    assert_eq!(err.reason(), "could not obtain public key");
    let key =
        VerificationKey::from_pem(SignatureAlgorithm::RS256, &fixture("rsa_public.pem")).unwrap();
    assert_eq!(
        finish(&fetching, &prepared, Some(&key), NOW)
            .unwrap()
            .issuer(),
        "app"
    );
}

#[test]
fn config_errors() {
    let no_id = TokenHostConfig {
        app_secret: Some("s".into()),
        ..TokenHostConfig::default()
    };
    assert!(matches!(
        TokenVerifier::new(&no_id),
        Err(VerifierConfigError::Config(_))
    ));
    let mismatch = TokenHostConfig {
        signature_algorithm: Some(SignatureAlgorithm::RS256),
        ..profile_a()
    };
    assert!(TokenVerifier::new(&mismatch).is_err());
}

#[test]
fn bearer_verdicts() {
    use rookery_sasl::{BearerStatus, TokenVerdict};
    let a = profile_a();
    let cases = [
        (
            hs256(&claims(json!({"room": null}))),
            BearerStatus::InsufficientScope,
        ),
        (
            hs256(&claims(json!({"exp": NOW - 1}))),
            BearerStatus::InvalidToken,
        ),
        ("x".to_owned(), BearerStatus::InvalidToken),
    ];
    for (token, want) in cases {
        let err = verify(&a, &token).unwrap_err();
        assert_eq!(
            err.to_bearer_verdict(),
            TokenVerdict::Rejected {
                status: want,
                text: err.reason().to_owned()
            }
        );
    }
    assert!(matches!(
        TokenError::token_required().to_bearer_verdict(),
        TokenVerdict::Rejected {
            status: BearerStatus::InvalidRequest,
            ..
        }
    ));
}
