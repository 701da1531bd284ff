//! A token login through the sans-io session: the server's verdict carries the verified
//! claims, and `Action::Authenticated` carries them on as the session's identity, for
//! ANONYMOUS with the transport's `?token=` and for OAUTHBEARER alike. A refusal never
//! authenticates; there is no path to a token session without claims.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

use base64::Engine;
use rookery_c2s::{
    Action, Env, HostAuth, HostPolicy, Input, LoginIdentity, Session, TokenGrant, TransportInfo,
    TransportKind,
};
use rookery_policy::{ClaimRequirements, TokenClaims};
use rookery_proto::{Element, Limits, StreamEvent, StreamHeader, StreamParser, ns};
use rookery_sasl::{ScramCredentials, ScramHash};

const HOST: &str = "meet.example.com";

struct TokenHostEnv;

impl Env for TokenHostEnv {
    fn host(&self, domain: &str) -> Option<Arc<HostPolicy>> {
        (domain == HOST).then(|| {
            Arc::new(HostPolicy {
                domain: HOST.into(),
                auth: HostAuth::Token {
                    oauthbearer_over_http: false,
                },
                require_encryption: false,
                allow_unencrypted_plain: false,
            })
        })
    }
    fn credentials(
        &self,
        _: &str,
        _: &str,
        _: ScramHash,
    ) -> Result<Option<ScramCredentials>, String> {
        Ok(None)
    }
    fn new_stream_id(&self) -> String {
        "stream".into()
    }
}

fn claims() -> Arc<TokenClaims> {
    let payload = serde_json::json!({
        "iss": "app", "aud": "jitsi", "sub": HOST, "room": "standup",
        "context": { "user": { "id": "u1", "name": "Ann" } }
    });
    Arc::new(
        TokenClaims::from_payload(payload.as_object().unwrap(), ClaimRequirements::default())
            .unwrap(),
    )
}

fn el(xml: &str) -> Element {
    let mut p = StreamParser::new_fragments(
        Limits {
            max_stanza_bytes: 4096,
            max_depth: 8,
        },
        ns::CLIENT,
    );
    p.feed(xml.as_bytes());
    match p.next_event().unwrap() {
        Some(StreamEvent::Element(e)) => e,
        other => panic!("{other:?}"),
    }
}

/// A session on `kind`, stream opened, features read.
fn opened(kind: TransportKind, token: Option<&str>) -> Session {
    let mut s = Session::new(TransportInfo {
        starttls_available: false,
        encrypted: true,
        sm_available: false,
        kind,
    });
    s.set_transport_token(token.map(str::to_owned));
    s.handle(
        &TokenHostEnv,
        Input::Open(StreamHeader {
            to: Some(HOST.into()),
            from: None,
            version: Some("1.0".into()),
            lang: None,
            id: None,
            default_ns: ns::CLIENT.into(),
            bindings: Vec::new(),
        }),
    );
    s
}

fn auth(s: &mut Session, xml: &str) -> Vec<Action> {
    s.handle(&TokenHostEnv, Input::Element(el(xml)))
}

fn asked_token(actions: &[Action]) -> Option<Option<String>> {
    actions.iter().find_map(|a| match a {
        Action::VerifyToken { token, .. } => Some(token.clone()),
        _ => None,
    })
}

fn identity(actions: &[Action]) -> Option<LoginIdentity> {
    actions.iter().find_map(|a| match a {
        Action::Authenticated { identity, .. } => Some(identity.clone()),
        _ => None,
    })
}

fn sent(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(e) => Some(e.to_xml_string()),
            _ => None,
        })
        .collect()
}

const ANONYMOUS: &str = "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>";

fn oauthbearer(token: &str) -> String {
    let payload = base64::engine::general_purpose::STANDARD
        .encode(format!("n,,\x01auth=Bearer {token}\x01\x01"));
    format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='OAUTHBEARER'>{payload}</auth>"
    )
}

#[test]
fn anonymous_with_the_url_token_authenticates_with_the_verified_claims() {
    let mut s = opened(TransportKind::Http, Some("the.jwt.here"));
    let asked = auth(&mut s, ANONYMOUS);
    assert_eq!(asked_token(&asked), Some(Some("the.jwt.here".into())));
    assert_eq!(identity(&asked), None, "nothing before the verdict");
    let verified = claims();
    let done = s.token_verdict(Ok(TokenGrant::Verified(verified.clone())));
    match identity(&done) {
        Some(LoginIdentity::Token(c)) => assert!(Arc::ptr_eq(&c, &verified)),
        other => panic!("{other:?}"),
    }
    assert!(sent(&done).iter().any(|x| x.starts_with("<success")));
}

#[test]
fn oauthbearer_authenticates_with_the_verified_claims() {
    let mut s = opened(TransportKind::Tcp, None);
    let asked = auth(&mut s, &oauthbearer("bearer.jwt.here"));
    assert_eq!(asked_token(&asked), Some(Some("bearer.jwt.here".into())));
    let verified = claims();
    let done = s.token_verdict(Ok(TokenGrant::Verified(verified.clone())));
    match identity(&done) {
        Some(LoginIdentity::Token(c)) => assert!(Arc::ptr_eq(&c, &verified)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_tokenless_guest_grant_is_a_guest() {
    let mut s = opened(TransportKind::Http, None);
    assert_eq!(asked_token(&auth(&mut s, ANONYMOUS)), Some(None));
    let done = s.token_verdict(Ok(TokenGrant::Guest));
    assert_eq!(identity(&done), Some(LoginIdentity::Guest));
}

#[test]
fn refusals_never_authenticate_and_keep_the_reason() {
    let mut s = opened(TransportKind::Http, Some("bad"));
    auth(&mut s, ANONYMOUS);
    let done = s.token_verdict(Err("Invalid signature".into()));
    assert_eq!(identity(&done), None);
    assert_eq!(
        sent(&done),
        [
            "<failure xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\"><not-allowed/><text>Invalid signature</text></failure>"
        ]
    );

    // OAUTHBEARER: an error challenge (RFC 7628), then the failure once acknowledged.
    let mut s = opened(TransportKind::Tcp, None);
    auth(&mut s, &oauthbearer("bad"));
    let done = s.token_verdict(Err("Not acceptable by exp".into()));
    assert_eq!(identity(&done), None);
    assert!(
        sent(&done)[0].starts_with("<challenge"),
        "{:?}",
        sent(&done)
    );
    let ack = auth(
        &mut s,
        "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>AQ==</response>",
    );
    assert_eq!(identity(&ack), None);
    assert!(
        sent(&ack)[0].contains("Not acceptable by exp"),
        "{:?}",
        sent(&ack)
    );
}

#[test]
fn a_verdict_nobody_asked_for_does_nothing() {
    let mut s = opened(TransportKind::Http, Some("t"));
    assert!(
        s.token_verdict(Ok(TokenGrant::Verified(claims())))
            .is_empty()
    );
}
