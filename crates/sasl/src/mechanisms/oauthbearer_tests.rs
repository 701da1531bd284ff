use super::*;
use crate::error::SaslCondition;
use crate::step::BearerStatus;

const RFC7628_EXAMPLE: &[u8] =
    b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01";

fn token_request(input: &[u8]) -> Result<TokenRequest, SaslCondition> {
    match OAuthBearerServer::new().step(input) {
        Ok(Step::VerifyToken(req)) => Ok(req),
        Ok(other) => panic!("unexpected {other:?}"),
        Err(e) => Err(e.condition()),
    }
}

#[test]
fn parses_the_rfc_example() {
    let req = token_request(RFC7628_EXAMPLE).unwrap();
    assert_eq!(req.token, "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");
    assert_eq!(req.authzid.as_deref(), Some("user@example.com"));
    assert_eq!(req.host.as_deref(), Some("server.example.com"));
    assert_eq!(req.port, Some(143));
    assert!(
        !format!("{req:?}").contains("vF9dft4q"),
        "Debug redacts the token"
    );
}

#[test]
fn framing_table() {
    use SaslCondition::MalformedRequest as M;
    let cases: &[(&str, &[u8], Result<&str, SaslCondition>)] = &[
        ("minimal", b"n,,\x01auth=Bearer abc\x01\x01", Ok("abc")),
        ("y flag", b"y,,\x01auth=Bearer abc\x01\x01", Ok("abc")),
        ("scheme case", b"n,,\x01auth=bEaReR abc\x01\x01", Ok("abc")),
        (
            "two spaces",
            b"n,,\x01auth=Bearer  a.b-c_d~e+f/g==\x01\x01",
            Ok("a.b-c_d~e+f/g=="),
        ),
        (
            "jwt",
            b"n,,\x01auth=Bearer eyJ.eyJ.sig\x01x=1\x01\x01",
            Ok("eyJ.eyJ.sig"),
        ),
        (
            "unknown key ignored",
            b"n,,\x01foo=bar baz\x01auth=Bearer t\x01\x01",
            Ok("t"),
        ),
        ("empty", b"", Err(M)),
        ("abort ack first", b"\x01", Err(M)),
        ("no kvsep", b"n,,auth=Bearer abc\x01\x01", Err(M)),
        ("missing terminator", b"n,,\x01auth=Bearer abc\x01", Err(M)),
        ("missing both seps", b"n,,\x01auth=Bearer abc", Err(M)),
        ("trailing junk", b"n,,\x01auth=Bearer abc\x01\x01x", Err(M)),
        ("no auth", b"n,,\x01host=x\x01\x01", Err(M)),
        ("no pairs", b"n,,\x01\x01", Err(M)),
        (
            "two auths",
            b"n,,\x01auth=Bearer a\x01auth=Bearer b\x01\x01",
            Err(M),
        ),
        ("basic scheme", b"n,,\x01auth=Basic abc\x01\x01", Err(M)),
        ("no token", b"n,,\x01auth=Bearer \x01\x01", Err(M)),
        ("no space", b"n,,\x01auth=Bearerabc\x01\x01", Err(M)),
        ("bad token char", b"n,,\x01auth=Bearer a,b\x01\x01", Err(M)),
        ("only padding", b"n,,\x01auth=Bearer ==\x01\x01", Err(M)),
        ("pair without =", b"n,,\x01auth\x01\x01", Err(M)),
        ("bad key", b"n,,\x01au1h=x\x01auth=Bearer a\x01\x01", Err(M)),
        (
            "channel binding",
            b"p=tls-unique,,\x01auth=Bearer a\x01\x01",
            Err(M),
        ),
        ("bad flag", b"x,,\x01auth=Bearer a\x01\x01", Err(M)),
        ("bad authzid", b"n,a=x=y,\x01auth=Bearer a\x01\x01", Err(M)),
        ("non-utf8", b"n,,\x01auth=Bearer \xff\x01\x01", Err(M)),
        (
            "control in value",
            b"n,,\x01host=a\x00b\x01auth=Bearer a\x01\x01",
            Err(M),
        ),
    ];
    for (name, input, want) in cases {
        let got = token_request(input);
        assert_eq!(
            got.as_ref().map(|r| r.token.as_str()),
            want.as_ref().map(|s| *s),
            "{name}"
        );
    }
}

#[test]
fn accepted_token_succeeds_with_authzid() {
    let mut m = OAuthBearerServer::new();
    assert!(matches!(
        m.initial(Some(RFC7628_EXAMPLE)),
        Ok(Step::VerifyToken(_))
    ));
    assert_eq!(
        m.token_verdict(TokenVerdict::Accepted).unwrap(),
        Step::Success {
            additional_data: None,
            identity: Authenticated::Bearer {
                authzid: Some("user@example.com".into())
            },
        }
    );
    assert!(m.step(b"\x01").is_err());
}

#[test]
fn rejected_token_runs_the_error_challenge_flow() {
    let statuses = [
        (BearerStatus::InvalidToken, r#"{"status":"invalid_token"}"#),
        (
            BearerStatus::InvalidRequest,
            r#"{"status":"invalid_request"}"#,
        ),
        (
            BearerStatus::InsufficientScope,
            r#"{"status":"insufficient_scope"}"#,
        ),
    ];
    for (status, json) in statuses {
        let mut m = OAuthBearerServer::new();
        m.step(RFC7628_EXAMPLE).unwrap();
        let challenge = m
            .token_verdict(TokenVerdict::Rejected {
                status,
                text: "token expired".into(),
            })
            .unwrap();
        assert_eq!(challenge, Step::Challenge(json.as_bytes().to_vec()));
        let err = m.step(b"\x01").unwrap_err();
        assert_eq!(err.condition(), SaslCondition::NotAllowed);
        assert_eq!(err.text(), "token expired");
        assert!(m.step(b"\x01").is_err());
    }
}

#[test]
fn wrong_error_ack_is_malformed() {
    let mut m = OAuthBearerServer::new();
    m.step(RFC7628_EXAMPLE).unwrap();
    m.token_verdict(TokenVerdict::Rejected {
        status: BearerStatus::InvalidToken,
        text: "bad".into(),
    })
    .unwrap();
    let err = m.step(b"n,,\x01auth=Bearer again\x01\x01").unwrap_err();
    assert_eq!(err.condition(), SaslCondition::MalformedRequest);
}

#[test]
fn no_initial_response_and_misuse() {
    let mut m = OAuthBearerServer::new();
    assert_eq!(m.initial(None).unwrap(), Step::Challenge(Vec::new()));
    assert!(m.token_verdict(TokenVerdict::Accepted).is_err());
    let mut m = OAuthBearerServer::new();
    m.step(RFC7628_EXAMPLE).unwrap();
    assert!(m.provide_credentials(None).is_err());
}
