use super::*;

const DOMAIN: &str = "example.com";

fn stored(password: &str) -> ScramCredentials {
    ScramCredentials::derive(PLAIN_VERIFY_HASH, password, b"saltsaltsaltsalt", 64).unwrap()
}

/// Runs one PLAIN exchange where the account `user` has password `pencil`.
fn run(message: &[u8]) -> Result<Step, SaslError> {
    let mut m = PlainServer::new(DOMAIN);
    match m.step(message)? {
        Step::NeedCredentials(req) => {
            assert_eq!(req.hash, ScramHash::Sha256);
            let creds = (req.username == "user").then(|| stored("pencil"));
            m.provide_credentials(creds)
        }
        other => panic!("unexpected step {other:?}"),
    }
}

#[test]
fn plain_table() {
    let ok = |name: &str| {
        Ok(Step::Success {
            additional_data: None,
            identity: Authenticated::Account {
                username: name.to_owned(),
            },
        })
    };
    use SaslCondition::*;
    let long_user = format!("\0{}\0pencil", "u".repeat(2000));
    let cases: Vec<(&str, &[u8], Result<Step, SaslCondition>)> = vec![
        ("no authzid", b"\0user\0pencil", ok("user")),
        ("authzid = username", b"user\0user\0pencil", ok("user")),
        (
            "authzid = bare jid",
            b"user@example.com\0user\0pencil",
            ok("user"),
        ),
        (
            "authzid other user",
            b"admin\0user\0pencil",
            Err(InvalidAuthzid),
        ),
        (
            "authzid other domain",
            b"user@evil.com\0user\0pencil",
            Err(InvalidAuthzid),
        ),
        ("wrong password", b"\0user\0pencil2", Err(NotAuthorized)),
        ("unknown user", b"\0nobody\0pencil", Err(NotAuthorized)),
        ("empty message", b"", Err(MalformedRequest)),
        ("one NUL", b"user\0pencil", Err(MalformedRequest)),
        ("three NULs", b"\0user\0pencil\0", Err(MalformedRequest)),
        ("empty authcid", b"\0\0pencil", Err(MalformedRequest)),
        ("empty password", b"\0user\0", Err(MalformedRequest)),
        (
            "non-utf8 user",
            b"\0us\xffer\0pencil",
            Err(MalformedRequest),
        ),
        (
            "non-utf8 password",
            b"\0user\0pen\xc3",
            Err(MalformedRequest),
        ),
        (
            "non-utf8 authzid",
            b"\xfe\0user\0pencil",
            Err(MalformedRequest),
        ),
        (
            "control char in password",
            b"\0user\0pen\x07cil",
            Err(NotAuthorized),
        ),
        (
            "jid as user name",
            b"\0user@example.com\0pencil",
            Err(NotAuthorized),
        ),
        ("oversize user", long_user.as_bytes(), Err(MalformedRequest)),
    ];
    for (name, input, want) in cases {
        let got = run(input).map_err(|e| e.condition());
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn oversize_message_is_malformed() {
    let mut input = b"\0user\0".to_vec();
    input.resize(crate::step::MAX_STEP_BYTES + 1, b'a');
    let err = PlainServer::new(DOMAIN).step(&input).unwrap_err();
    assert_eq!(err.condition(), SaslCondition::MalformedRequest);
}

#[test]
fn corrupt_stored_credentials_are_a_temporary_failure() {
    let mut m = PlainServer::new(DOMAIN);
    assert!(matches!(
        m.step(b"\0user\0pencil"),
        Ok(Step::NeedCredentials(_))
    ));
    let mut bad = stored("pencil");
    bad.stored_key.truncate(20);
    let err = m.provide_credentials(Some(bad)).unwrap_err();
    assert_eq!(err.condition(), SaslCondition::TemporaryAuthFailure);
}

#[test]
fn out_of_order_calls_fail_without_panicking() {
    let mut m = PlainServer::new(DOMAIN);
    assert_eq!(
        m.provide_credentials(None).unwrap_err().condition(),
        SaslCondition::TemporaryAuthFailure
    );
    let mut m = PlainServer::new(DOMAIN);
    m.step(b"\0user\0pencil").unwrap();
    assert!(m.step(b"\0user\0pencil").is_err());
    assert!(m.provide_credentials(Some(stored("pencil"))).is_err());
    assert!(
        m.token_verdict(crate::step::TokenVerdict::Accepted)
            .is_err()
    );
}

#[test]
fn debug_never_shows_the_password() {
    let mut m = PlainServer::new(DOMAIN);
    m.step(b"\0user\0hunter2").unwrap();
    assert!(!format!("{m:?}").contains("hunter2"));
}
