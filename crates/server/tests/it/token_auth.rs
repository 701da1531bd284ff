//! JWT authentication over real sockets: OAUTHBEARER on TCP with tokens minted for the
//! host's configured secret; refusals carry Jitsi's reason texts and the stream stays open.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::*;
use base64::Engine;
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
        assert!(
            f.has_child("not-allowed", ns::SASL),
            "{}",
            f.to_xml_string()
        );
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

/// A key server on loopback that counts requests and serves the RSA public key at
/// `/<hex sha256(kid)>.pem`.
async fn key_server(kid: &str) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let pem = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sasl/tests/fixtures/rsa_public.pem"
    ))
    .unwrap();
    let path = rookery_sasl::token::key_server_url("", kid);
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let pem = pem.clone();
            let path = path.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let ok = req.starts_with(&format!("GET /keys{path} "));
                let head = if ok {
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        pem.len()
                    )
                } else {
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_owned()
                };
                let _ = s.write_all(head.as_bytes()).await;
                if ok {
                    let _ = s.write_all(&pem).await;
                }
                let _ = s.shutdown().await;
            });
        }
    });
    (format!("http://{addr}/keys"), hits)
}

#[tokio::test]
async fn rs256_token_verified_against_a_loopback_key_server_with_one_fetch_for_two_logins() {
    let (url, hits) = key_server("rookery-kid-1").await;
    let text = format!(
        "data_dir = \"unused\"\nallow_unencrypted_plain_auth = true\n[c2s]\nlisten = [\"127.0.0.1:0\"]\n[[host]]\ndomain = \"localhost\"\nauthentication = \"token\"\n[host.token]\napp_id = \"app\"\nasap_key_server = \"{url}\"\nsignature_algorithm = \"RS256\"\nasap_accepted_audiences = [\"jitsi\"]\n"
    );
    let cfg = Config::parse(&text, "t").unwrap();
    let tcfg = cfg.host("localhost").unwrap().token.clone().unwrap();
    let srv = rookery_server::start_with_store(cfg, Store::in_memory().unwrap())
        .await
        .unwrap();
    let now = rookery_sasl::token::unix_now();
    let claims = rookery_sasl::token::default_claims(&tcfg, "standup", "localhost", now, 3600);
    let private = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sasl/tests/fixtures/rsa_private.pem"
    ))
    .unwrap();
    let token = rookery_sasl::token::mint_with_pem(
        rookery_policy::SignatureAlgorithm::RS256,
        &private,
        Some("rookery-kid-1"),
        &serde_json::Value::Object(claims),
    )
    .unwrap();
    for _ in 0..2 {
        let mut c = connect(srv.c2s_addr().unwrap()).await;
        c.open().await;
        c.send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='OAUTHBEARER'>{}</auth>",
            bearer(&token)
        ))
        .await;
        let s = c.element().await;
        assert_eq!(s.name, "success", "{}", s.to_xml_string());
    }
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the key must be fetched once and cached"
    );
    srv.shutdown().await;
}
