//! JWT authentication over real sockets: OAUTHBEARER on TCP with tokens minted for the
//! host's configured secret; refusals carry Jitsi's reason texts and the stream stays open.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use base64::Engine;
use common::*;
use rookery_proto::ns;
use rookery_server::Config;
use rookery_server::store::Store;

const TOKEN_HOST: &str = r#"
data_dir = "unused"
allow_unencrypted_plain_auth = true
[c2s]
listen = ["127.0.0.1:0"]
[[host]]
domain = "localhost"
authentication = "token"
[host.token]
app_id = "app"
app_secret = "s3cret"
asap_accepted_audiences = ["jitsi"]
enable_domain_verification = true
"#;

fn token_cfg() -> rookery_policy::TokenHostConfig {
    let cfg = Config::parse(TOKEN_HOST, "t").unwrap();
    cfg.host("localhost").unwrap().token.clone().unwrap()
}

fn mint(edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> String {
    let cfg = token_cfg();
    let now = rookery_sasl::token::unix_now();
    let mut claims = rookery_sasl::token::default_claims(&cfg, "standup", "localhost", now, 3600);
    claims.insert("aud".into(), "jitsi".into());
    edit(&mut claims);
    rookery_sasl::token::mint(&cfg, &serde_json::Value::Object(claims)).unwrap()
}

fn bearer(token: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("n,,\x01auth=Bearer {token}\x01\x01"))
}

async fn server() -> rookery_server::Running {
    let cfg = Config::parse(TOKEN_HOST, "t").unwrap();
    rookery_server::start_with_store(cfg, Store::in_memory().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn valid_token_logs_in_with_oauthbearer() {
    let srv = server().await;
    let mut c = connect(srv.c2s_addr().unwrap()).await;
    let f = c.open().await;
    let mechs: Vec<String> = f
        .get_child("mechanisms", ns::SASL)
        .unwrap()
        .children()
        .map(|m| m.text())
        .collect();
    assert!(mechs.contains(&"OAUTHBEARER".to_owned()), "{mechs:?}");
    c.send(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='OAUTHBEARER'>{}</auth>",
        bearer(&mint(|_| {}))
    ))
    .await;
    let s = c.element().await;
    assert_eq!(s.name, "success", "{}", s.to_xml_string());
    let jid = c.bind(None).await;
    assert!(jid.contains("@localhost/"), "{jid}");
    srv.shutdown().await;
}

#[tokio::test]
async fn refused_tokens_fail_sasl_with_reasons_and_the_stream_stays_open() {
    let srv = server().await;
    let now = rookery_sasl::token::unix_now() as i64;
    let cases: Vec<(String, &str)> = vec![
        (
            mint(|c| {
                c.insert("exp".into(), (now - 1).into());
            }),
            "Not acceptable by exp",
        ),
        (
            mint(|c| {
                c.insert("nbf".into(), (now + 60).into());
            }),
            "Not acceptable by nbf",
        ),
        (
            mint(|c| {
                c.insert("iss".into(), "other".into());
            }),
            "invalid 'iss' claim",
        ),
        (
            mint(|c| {
                c.remove("sub");
            }),
            "'sub' claim is missing",
        ),
        (
            mint(|c| {
                c.remove("room");
            }),
            "'room' claim is missing",
        ),
        ("not.a.jwt".into(), ""),
        ("only.two".into(), ""),
    ];
    let mut c = connect(srv.c2s_addr().unwrap()).await;
    c.open().await;
    for (token, reason) in &cases[..4] {
        c.send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='OAUTHBEARER'>{}</auth>",
            bearer(token)
        ))
        .await;
        // RFC 7628: an error challenge first, which the client acknowledges with %x01.
        let ch = c.element().await;
        assert_eq!(ch.name, "challenge", "{}", ch.to_xml_string());
        c.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>AQ==</response>")
            .await;
        let f = c.element().await;
        assert_eq!(f.name, "failure", "{}", f.to_xml_string());
        let text = f.child_text("text", ns::SASL).unwrap_or_default();
        assert!(text.contains(reason), "expected '{reason}' in '{text}'");
    }
    // Further cases on fresh streams (the server closes after five failures).
    for (token, reason) in &cases[4..] {
        let mut c = connect(srv.c2s_addr().unwrap()).await;
        c.open().await;
        c.send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='OAUTHBEARER'>{}</auth>",
            bearer(token)
        ))
        .await;
        let ch = c.element().await;
        assert_eq!(ch.name, "challenge", "{}", ch.to_xml_string());
        c.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>AQ==</response>")
            .await;
        let f = c.element().await;
        assert_eq!(f.name, "failure");
        let text = f.child_text("text", ns::SASL).unwrap_or_default();
        assert!(
            !text.is_empty() && text.contains(reason),
            "expected '{reason}' in '{text}'"
        );
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn anonymous_on_a_token_host_without_a_token_is_refused() {
    let srv = server().await;
    let mut c = connect(srv.c2s_addr().unwrap()).await;
    c.open().await;
    c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>")
        .await;
    let f = c.element().await;
    assert_eq!(f.name, "failure");
    assert!(f.has_child("not-allowed", ns::SASL));
    assert_eq!(
        f.child_text("text", ns::SASL).as_deref(),
        Some("token required")
    );
    srv.shutdown().await;
}
