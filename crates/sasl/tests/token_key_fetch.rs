//! The key cache against a tiny HTTP server on 127.0.0.1:0: one fetch per kid, single
//! flight, timeouts, bad bodies, negative caching, bounds, and JWKS.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "token_common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{NOW, claims, fixture, signed_with};
use jsonwebtoken::{Algorithm, EncodingKey};
use rookery_policy::{SignatureAlgorithm, TokenHostConfig};
use rookery_sasl::token::{
    KeyCache, KeyFetchConfig, TokenOutcome, TokenVerifier, authenticate, verify_token,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};

/// What the test server answers.
#[derive(Clone)]
enum Reply {
    Body(Vec<u8>),
    Status(u16),
    Hang,
}

struct Server {
    base: String,
    hits: Arc<AtomicUsize>,
    paths: Arc<Mutex<Vec<String>>>,
    /// One message per request received (before it is answered).
    arrivals: mpsc::UnboundedReceiver<()>,
    /// Answers wait for a permit when the server is gated.
    gate: Option<Arc<Semaphore>>,
}

async fn serve(reply: Reply, gated: bool) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/keys", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let paths = Arc::new(Mutex::new(Vec::new()));
    let (tx, arrivals) = mpsc::unbounded_channel();
    let gate = gated.then(|| Arc::new(Semaphore::new(0)));
    let (h, p, g) = (hits.clone(), paths.clone(), gate.clone());
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (h, p, g, tx, reply) = (h.clone(), p.clone(), g.clone(), tx.clone(), reply.clone());
            tokio::spawn(async move {
                answer(stream, reply, &h, &p, g, &tx).await;
            });
        }
    });
    Server {
        base,
        hits,
        paths,
        arrivals,
        gate,
    }
}

async fn answer(
    mut stream: TcpStream,
    reply: Reply,
    hits: &AtomicUsize,
    paths: &Mutex<Vec<String>>,
    gate: Option<Arc<Semaphore>>,
    arrived: &mpsc::UnboundedSender<()>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            return;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8(head).unwrap();
    let path = head.split(' ').nth(1).unwrap().to_owned();
    paths.lock().unwrap().push(path);
    hits.fetch_add(1, Ordering::SeqCst);
    let _ = arrived.send(());
    if let Some(gate) = gate {
        gate.acquire().await.unwrap().forget();
    }
    let (status, body) = match reply {
        Reply::Body(body) => (200, body),
        Reply::Status(code) => (code, b"nope".to_vec()),
        Reply::Hang => {
            // Hold the connection open and never answer.
            std::future::pending::<()>().await;
            return;
        }
    };
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(response.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    let _ = stream.shutdown().await;
}

fn host(base: &str) -> TokenHostConfig {
    TokenHostConfig {
        app_id: Some("app".into()),
        asap_key_server: Some(base.to_owned()),
        enable_domain_verification: true,
        ..TokenHostConfig::default()
    }
}

fn limits(config: &TokenHostConfig) -> KeyFetchConfig {
    KeyFetchConfig {
        timeout: Duration::from_millis(300),
        ..KeyFetchConfig::from_host(config)
    }
}

fn setup(base: &str, tweak: impl FnOnce(&mut KeyFetchConfig)) -> (TokenVerifier, KeyCache) {
    let config = host(base);
    let verifier = TokenVerifier::new(&config).unwrap();
    let mut limits = limits(&config);
    tweak(&mut limits);
    let cache = KeyCache::new(SignatureAlgorithm::RS256, limits).unwrap();
    (verifier, cache)
}

fn rs_token(kid: &str) -> String {
    signed_with(
        Algorithm::RS256,
        "rsa_private.pem",
        Some(kid),
        &claims(json!({})),
    )
}

#[tokio::test]
async fn two_verifications_fetch_once() {
    let server = serve(Reply::Body(fixture("rsa_public.pem")), false).await;
    let (verifier, cache) = setup(&server.base, |_| {});
    for _ in 0..2 {
        let claims = verify_token(&verifier, Some(&cache), &rs_token("key-1"), NOW)
            .await
            .unwrap();
        assert_eq!(claims.issuer(), "app");
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    assert_eq!(cache.fetches_started(), 1);
    // sha256("key-1"), computed independently with `sha256sum`.
    assert_eq!(
        server.paths.lock().unwrap().as_slice(),
        ["/keys/be2974546978e3739e6d6da85c4be9f334ce32df2b9fd4b6ff1b55c0d57e9d44.pem"]
    );
}

#[tokio::test]
async fn concurrent_callers_share_one_fetch() {
    let mut server = serve(Reply::Body(fixture("rsa_public.pem")), true).await;
    let (verifier, cache) = setup(&server.base, |_| {});
    let verifier = Arc::new(verifier);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (verifier, cache) = (verifier.clone(), cache.clone());
        tasks.spawn(async move {
            verify_token(&verifier, Some(&cache), &rs_token("shared"), NOW).await
        });
    }
    // The fetch reached the server; every caller was polled before the fetch task ran.
    server.arrivals.recv().await.unwrap();
    assert_eq!(cache.fetches_started(), 1);
    server.gate.as_ref().unwrap().add_permits(100);
    let mut ok = 0;
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
        ok += 1;
    }
    assert_eq!(ok, 20);
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    assert_eq!(cache.fetches_started(), 1);
}

#[tokio::test]
async fn a_hanging_server_times_out_and_is_negatively_cached() {
    let server = serve(Reply::Hang, false).await;
    let (verifier, cache) = setup(&server.base, |l| l.timeout = Duration::from_millis(200));
    for _ in 0..2 {
        let err = verify_token(&verifier, Some(&cache), &rs_token("slow"), NOW)
            .await
            .unwrap_err();
        assert_eq!(
            err.reason(),
            "could not obtain public key: the key server did not answer within 200ms"
        );
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_garbage_body_fails_clearly() {
    let server = serve(Reply::Body(b"hello, I am not a key".to_vec()), false).await;
    let (verifier, cache) = setup(&server.base, |_| {});
    let err = verify_token(&verifier, Some(&cache), &rs_token("k"), NOW)
        .await
        .unwrap_err();
    assert_eq!(
        err.reason(),
        "could not obtain public key: the key server's answer is not a valid key: \
         not a valid PEM public key for RS256"
    );
}

#[tokio::test]
async fn the_wrong_key_type_fails_clearly() {
    let server = serve(Reply::Body(fixture("ec_public.pem")), false).await;
    let (verifier, cache) = setup(&server.base, |_| {});
    let err = verify_token(&verifier, Some(&cache), &rs_token("k"), NOW)
        .await
        .unwrap_err();
    // An EC public key is valid PEM, but not an RSA key.
    assert_eq!(
        err.reason(),
        "could not obtain public key: the key server's answer is not a valid key: \
         not a valid PEM public key for RS256"
    );
}

#[tokio::test]
async fn not_found_is_negatively_cached() {
    let server = serve(Reply::Status(404), false).await;
    let (verifier, cache) = setup(&server.base, |_| {});
    for _ in 0..3 {
        let err = verify_token(&verifier, Some(&cache), &rs_token("gone"), NOW)
            .await
            .unwrap_err();
        assert_eq!(
            err.reason(),
            "could not obtain public key: the key server answered HTTP 404"
        );
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn expired_entries_are_fetched_again() {
    let missing = serve(Reply::Status(404), false).await;
    let (verifier, cache) = setup(&missing.base, |l| l.negative_ttl = Duration::ZERO);
    for _ in 0..2 {
        assert!(
            verify_token(&verifier, Some(&cache), &rs_token("gone"), NOW)
                .await
                .is_err()
        );
    }
    assert_eq!(missing.hits.load(Ordering::SeqCst), 2);

    let present = serve(Reply::Body(fixture("rsa_public.pem")), false).await;
    let (verifier, cache) = setup(&present.base, |l| l.ttl = Duration::ZERO);
    for _ in 0..2 {
        assert!(
            verify_token(&verifier, Some(&cache), &rs_token("k"), NOW)
                .await
                .is_ok()
        );
    }
    assert_eq!(present.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let server = serve(Reply::Body(vec![b'A'; 100 * 1024]), false).await;
    let (verifier, cache) = setup(&server.base, |_| {});
    let err = verify_token(&verifier, Some(&cache), &rs_token("big"), NOW)
        .await
        .unwrap_err();
    assert_eq!(
        err.reason(),
        "could not obtain public key: the key server's answer is over 65536 bytes"
    );
}

#[tokio::test]
async fn unreachable_servers_fail_clearly() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/keys", listener.local_addr().unwrap());
    drop(listener);
    let (verifier, cache) = setup(&base, |_| {});
    let err = verify_token(&verifier, Some(&cache), &rs_token("k"), NOW)
        .await
        .unwrap_err();
    assert!(
        err.reason()
            .starts_with("could not obtain public key: the key server could not be reached"),
        "{}",
        err.reason()
    );
    let (verifier, cache) = setup("ftp://example.com/keys", |_| {});
    let err = verify_token(&verifier, Some(&cache), &rs_token("k"), NOW)
        .await
        .unwrap_err();
    assert_eq!(
        err.reason(),
        "could not obtain public key: the key URL is invalid"
    );
}

#[tokio::test]
async fn the_cache_is_bounded() {
    let server = serve(Reply::Body(fixture("rsa_public.pem")), false).await;
    let (verifier, cache) = setup(&server.base, |l| l.capacity = 2);
    for kid in ["a", "b", "c", "d"] {
        verify_token(&verifier, Some(&cache), &rs_token(kid), NOW)
            .await
            .unwrap();
        assert!(cache.len() <= 2, "{} entries", cache.len());
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn authenticate_uses_the_cache() {
    let server = serve(Reply::Body(fixture("rsa_public.pem")), false).await;
    let (verifier, cache) = setup(&server.base, |_| {});
    let outcome = authenticate(&verifier, Some(&cache), Some(&rs_token("k")), NOW)
        .await
        .unwrap();
    assert!(matches!(outcome, TokenOutcome::Verified(_)));
    let forged = signed_with(
        Algorithm::RS256,
        "rsa_other_private.pem",
        Some("k"),
        &claims(json!({})),
    );
    let err = authenticate(&verifier, Some(&cache), Some(&forged), NOW)
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "Invalid signature");
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}

fn jwk(private: &str, kid: &str) -> serde_json::Value {
    let key = EncodingKey::from_rsa_pem(&fixture(private)).unwrap();
    let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(jwk).unwrap()
}

#[tokio::test]
async fn jwks_documents_provide_keys_by_kid() {
    let doc = json!({"keys": [
        {"kty": "unknown-kind", "kid": "junk"},
        jwk("rsa_private.pem", "a"),
        jwk("rsa_other_private.pem", "b"),
    ]});
    let server = serve(Reply::Body(doc.to_string().into_bytes()), false).await;
    let config = TokenHostConfig {
        app_id: Some("app".into()),
        jwks_url: Some(format!("{}/jwks.json", server.base)),
        ..TokenHostConfig::default()
    };
    let verifier = TokenVerifier::new(&config).unwrap();
    let cache = KeyCache::for_host(&verifier, &config).unwrap();
    let payload = claims(json!({}));
    let token_a = signed_with(Algorithm::RS256, "rsa_private.pem", Some("a"), &payload);
    let token_b = signed_with(
        Algorithm::RS256,
        "rsa_other_private.pem",
        Some("b"),
        &payload,
    );
    verify_token(&verifier, Some(&cache), &token_a, NOW)
        .await
        .unwrap();
    verify_token(&verifier, Some(&cache), &token_b, NOW)
        .await
        .unwrap();
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        1,
        "one document, both keys"
    );
    // A token for kid "a" signed with b's key does not verify.
    let mixed = signed_with(
        Algorithm::RS256,
        "rsa_other_private.pem",
        Some("a"),
        &payload,
    );
    assert_eq!(
        verify_token(&verifier, Some(&cache), &mixed, NOW)
            .await
            .unwrap_err()
            .reason(),
        "Invalid signature"
    );
    let unknown = signed_with(Algorithm::RS256, "rsa_private.pem", Some("zzz"), &payload);
    for _ in 0..2 {
        assert_eq!(
            verify_token(&verifier, Some(&cache), &unknown, NOW)
                .await
                .unwrap_err()
                .reason(),
            "could not obtain public key: no key with this kid in the JWKS document"
        );
    }
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        2,
        "unknown kid fetched once"
    );
    assert_eq!(server.paths.lock().unwrap()[0], "/keys/jwks.json");
}
