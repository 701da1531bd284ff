use super::*;

struct Vector {
    hash: ScramHash,
    salt_b64: &'static str,
    server_nonce: &'static str,
    client_first: &'static str,
    server_first: &'static str,
    client_final: &'static str,
    server_final: &'static str,
}

/// RFC 5802 §5.
const RFC5802: Vector = Vector {
    hash: ScramHash::Sha1,
    salt_b64: "QSXCR+Q6sek8bf92",
    server_nonce: "3rfcNHYJY1ZVvWVs7j",
    client_first: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
    server_first: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
    client_final: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    server_final: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
};

/// RFC 7677 §3.
const RFC7677: Vector = Vector {
    hash: ScramHash::Sha256,
    salt_b64: "W22ZaJ0SNY7soEsUEjb6gQ==",
    server_nonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    client_first: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
    server_first: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    client_final: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    server_final: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};

fn credentials(v: &Vector, password: &str) -> ScramCredentials {
    let salt = STANDARD.decode(v.salt_b64).unwrap();
    ScramCredentials::derive(v.hash, password, &salt, 4096).unwrap()
}

/// Runs the vector's first message and the credentials answer; returns the server after
/// it sent server-first (checked against the vector).
fn after_server_first(v: &Vector) -> ScramServer {
    let mut s = ScramServer::new(v.hash, "example.com").with_server_nonce(v.server_nonce);
    let req = match s.initial(Some(v.client_first.as_bytes())).unwrap() {
        Step::NeedCredentials(req) => req,
        other => panic!("expected NeedCredentials, got {other:?}"),
    };
    assert_eq!(req.username, "user");
    assert_eq!(req.hash, v.hash);
    let challenge = s
        .provide_credentials(Some(credentials(v, "pencil")))
        .unwrap();
    assert_eq!(
        challenge,
        Step::Challenge(v.server_first.as_bytes().to_vec())
    );
    s
}

#[test]
fn rfc_vectors_reproduce_exactly() {
    for v in [RFC5802, RFC7677] {
        let mut s = after_server_first(&v);
        let done = s.step(v.client_final.as_bytes()).unwrap();
        assert_eq!(
            done,
            Step::Success {
                additional_data: Some(v.server_final.as_bytes().to_vec()),
                identity: Authenticated::Account {
                    username: "user".into()
                },
            },
            "{}",
            v.hash
        );
        assert!(
            s.step(v.client_final.as_bytes()).is_err(),
            "no step after success"
        );
    }
}

#[test]
fn tampered_client_final_is_refused() {
    use SaslCondition::*;
    use ScramServerError::*;
    let nonce = "fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j";
    let proof = "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
    let cases: Vec<(&str, Vec<u8>, SaslCondition, Option<ScramServerError>)> = vec![
        (
            "wrong proof",
            format!("c=biws,r={nonce},p=AAAAv3Bz2T0CJGbJQyF0X+HI4Ts=").into(),
            NotAuthorized,
            Some(InvalidProof),
        ),
        (
            "short proof",
            format!("c=biws,r={nonce},p=AAAA").into(),
            NotAuthorized,
            Some(InvalidProof),
        ),
        (
            "wrong nonce",
            format!("c=biws,r={nonce}X,p={proof}").into(),
            NotAuthorized,
            Some(OtherError),
        ),
        (
            "client nonce only",
            format!("c=biws,r=fyko+d2lbbFgONRv9qkxdawL,p={proof}").into(),
            NotAuthorized,
            Some(OtherError),
        ),
        (
            "bad base64 proof",
            format!("c=biws,r={nonce},p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts").into(),
            MalformedRequest,
            Some(InvalidEncoding),
        ),
        (
            "bad base64 c=",
            format!("c=bi*s,r={nonce},p={proof}").into(),
            MalformedRequest,
            Some(InvalidEncoding),
        ),
        (
            "channel binding says y",
            format!("c=eSws,r={nonce},p={proof}").into(),
            NotAuthorized,
            Some(ChannelBindingsDontMatch),
        ),
        (
            "channel binding with data",
            format!("c=cD10bHMtdW5pcXVlLCxkYXRh,r={nonce},p={proof}").into(),
            NotAuthorized,
            Some(ChannelBindingsDontMatch),
        ),
        (
            "truncated before proof",
            format!("c=biws,r={nonce}").into(),
            MalformedRequest,
            Some(OtherError),
        ),
        (
            "truncated to c=",
            b"c=biws".to_vec(),
            MalformedRequest,
            Some(OtherError),
        ),
        ("empty", Vec::new(), MalformedRequest, Some(OtherError)),
        (
            "non-utf8",
            b"c=biws,r=\xff\xfe,p=AAAA".to_vec(),
            MalformedRequest,
            Some(InvalidEncoding),
        ),
        (
            "oversize",
            format!("c=biws,r={nonce},x={},p={proof}", "a".repeat(9000)).into(),
            MalformedRequest,
            None,
        ),
    ];
    for (name, input, condition, scram) in cases {
        let mut s = after_server_first(&RFC5802);
        let err = s.step(&input).unwrap_err();
        assert_eq!(err.condition(), condition, "{name}: {err}");
        assert_eq!(err.scram_error(), scram, "{name}: {err}");
        assert!(
            s.step(RFC5802.client_final.as_bytes()).is_err(),
            "{name}: ended"
        );
    }
}

#[test]
fn tampered_client_first_is_refused() {
    use SaslCondition::*;
    let cases: &[(&str, &[u8], SaslCondition)] = &[
        ("empty", b"", MalformedRequest),
        ("truncated gs2", b"n,", MalformedRequest),
        ("truncated after user", b"n,,n=user", MalformedRequest),
        ("non-utf8", b"n,,n=\xc3(,r=abc", MalformedRequest),
        (
            "channel binding",
            b"p=tls-exporter,,n=user,r=abc",
            MalformedRequest,
        ),
        ("other authzid", b"n,a=admin,n=user,r=abc", InvalidAuthzid),
        (
            "other domain",
            b"n,a=user@evil.com,n=user,r=abc",
            InvalidAuthzid,
        ),
    ];
    for (name, input, condition) in cases {
        let mut s = ScramServer::new(ScramHash::Sha1, "example.com");
        let err = s.initial(Some(input)).unwrap_err();
        assert_eq!(err.condition(), *condition, "{name}: {err}");
    }
}

#[test]
fn authzid_of_own_jid_and_y_flag_are_accepted() {
    for first in [
        "y,,n=user,r=abc",
        "n,a=user@example.com,n=user,r=abc",
        "y,a=user,n=user,r=abc",
    ] {
        let mut s = ScramServer::new(ScramHash::Sha256, "example.com");
        assert!(
            matches!(s.step(first.as_bytes()), Ok(Step::NeedCredentials(_))),
            "{first}"
        );
    }
}

#[test]
fn escaped_username_is_decoded_for_lookup() {
    let mut s = ScramServer::new(ScramHash::Sha1, "example.com");
    match s.step(b"n,,n=a=3Db,r=abc").unwrap() {
        Step::NeedCredentials(req) => assert_eq!(req.username, "a=b"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_initial_response_gets_an_empty_challenge() {
    let mut s = ScramServer::new(ScramHash::Sha1, "example.com");
    assert_eq!(s.initial(None).unwrap(), Step::Challenge(Vec::new()));
    assert!(matches!(
        s.step(RFC5802.client_first.as_bytes()),
        Ok(Step::NeedCredentials(_))
    ));
}

#[test]
fn random_server_nonce_is_long_and_extends_the_client_nonce() {
    let mut s = ScramServer::new(ScramHash::Sha1, "example.com");
    s.step(b"n,,n=user,r=clientnonce").unwrap();
    let Step::Challenge(c) = s
        .provide_credentials(Some(credentials(&RFC5802, "pencil")))
        .unwrap()
    else {
        panic!("expected challenge");
    };
    let c = String::from_utf8(c).unwrap();
    let nonce = c.strip_prefix("r=").unwrap().split(',').next().unwrap();
    let server_part = nonce.strip_prefix("clientnonce").unwrap();
    assert!(STANDARD.decode(server_part).unwrap().len() >= 16);
    assert!(server_part.bytes().all(|b| b != b','));
}

#[test]
fn unknown_user_fails_only_at_the_proof() {
    let mut s =
        ScramServer::new(ScramHash::Sha1, "example.com").with_server_nonce("3rfcNHYJY1ZVvWVs7j");
    s.step(RFC5802.client_first.as_bytes()).unwrap();
    let Step::Challenge(c) = s.provide_credentials(None).unwrap() else {
        panic!("expected a challenge for an unknown user");
    };
    assert!(c.ends_with(b",i=4096"));
    let err = s.step(RFC5802.client_final.as_bytes()).unwrap_err();
    assert_eq!(err.condition(), SaslCondition::NotAuthorized);
    assert_eq!(err.scram_error(), Some(ScramServerError::InvalidProof));
}

#[test]
fn wrong_stored_password_fails() {
    let mut s =
        ScramServer::new(ScramHash::Sha1, "example.com").with_server_nonce("3rfcNHYJY1ZVvWVs7j");
    s.step(RFC5802.client_first.as_bytes()).unwrap();
    s.provide_credentials(Some(credentials(&RFC5802, "pen")))
        .unwrap();
    let err = s.step(RFC5802.client_final.as_bytes()).unwrap_err();
    assert_eq!(err.scram_error(), Some(ScramServerError::InvalidProof));
}

#[test]
fn credentials_of_the_wrong_hash_are_a_temporary_failure() {
    let mut s = ScramServer::new(ScramHash::Sha256, "example.com");
    s.step(b"n,,n=user,r=abc").unwrap();
    let err = s
        .provide_credentials(Some(credentials(&RFC5802, "pencil")))
        .unwrap_err();
    assert_eq!(err.condition(), SaslCondition::TemporaryAuthFailure);
}

#[test]
fn out_of_order_calls_fail() {
    let mut s = ScramServer::new(ScramHash::Sha1, "example.com");
    assert!(s.provide_credentials(None).is_err());
    let mut s = ScramServer::new(ScramHash::Sha1, "example.com");
    s.step(b"n,,n=user,r=abc").unwrap();
    assert!(s.step(b"c=biws,r=abc,p=AAAA").is_err());
    assert!(s.provide_credentials(None).is_err());
}
