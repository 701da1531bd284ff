//! The key cache against a tiny HTTP server on 127.0.0.1:0: one fetch per kid, single
//! flight, timeouts, bad bodies, negative caching, bounds, redirects, https with a private
//! CA, and JWKS; and `authenticate` without a cache.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use rookery_c2s::TokenGrant;
use rookery_policy::{SignatureAlgorithm, TokenHostConfig};
use rookery_sasl::token::TokenVerifier;
use rookery_server::token::{KeyCache, KeyFetchConfig, authenticate, verify_token};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};

/// The fake clock: every test verifies at this instant.
const NOW: u64 = 1_700_000_000;

/// The token tests' keys live with the sasl crate's tests.
fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../sasl/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Profile A token claims (jitsi-tokens.md §7) with `changes` applied (`null` removes).
fn claims(changes: Value) -> Value {
    let mut payload = json!({
        "iss": "app", "aud": "jitsi", "sub": "meet.example.com", "room": "standup",
        "exp": NOW + 3600
    });
    let map = payload.as_object_mut().unwrap();
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            map.remove(key);
        } else {
            map.insert(key.clone(), value.clone());
        }
    }
    payload
}

/// A token signed with a fixture RSA private key, with `kid` in the header.
fn signed_with(alg: Algorithm, private: &str, kid: Option<&str>, payload: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(&fixture(private)).unwrap();
    let mut header = json!({"alg": format!("{alg:?}"), "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &key, alg).unwrap();
    format!("{input}.{signature}")
}

/// What the test server answers.
#[derive(Clone)]
enum Reply {
    Body(Vec<u8>),
    /// The body without `Content-Length`, ended by closing the connection.
    BodyUntilClose(Vec<u8>),
    Status(u16),
    /// 302 to this URL.
    Redirect(String),
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
    serve_with(reply, gated, None).await
}

/// Serves `reply` over http, or over https with `tls`.
async fn serve_with(reply: Reply, gated: bool, tls: Option<tokio_rustls::TlsAcceptor>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base = format!("{scheme}://{}/keys", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let paths = Arc::new(Mutex::new(Vec::new()));
    let (tx, arrivals) = mpsc::unbounded_channel();
    let gate = gated.then(|| Arc::new(Semaphore::new(0)));
    let (h, p, g) = (hits.clone(), paths.clone(), gate.clone());
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (h, p, g, tx, reply) = (h.clone(), p.clone(), g.clone(), tx.clone(), reply.clone());
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    Some(acceptor) => {
                        // A client that does not trust the CA gives up in the handshake.
                        if let Ok(stream) = acceptor.accept(stream).await {
                            answer(stream, reply, &h, &p, g, &tx).await;
                        }
                    }
                    None => answer(stream, reply, &h, &p, g, &tx).await,
                }
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
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
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
    let (status, body, extra) = match reply {
        Reply::Body(body) => (200, body, String::new()),
        Reply::BodyUntilClose(body) => {
            let head = "HTTP/1.1 200 X\r\nConnection: close\r\n\r\n";
            stream.write_all(head.as_bytes()).await.unwrap();
            // The client may hang up once it has seen too much.
            for chunk in body.chunks(4096) {
                if stream.write_all(chunk).await.is_err() {
                    return;
                }
            }
            let _ = stream.shutdown().await;
            return;
        }
        Reply::Status(code) => (code, b"nope".to_vec(), String::new()),
        Reply::Redirect(to) => (302, b"moved".to_vec(), format!("Location: {to}\r\n")),
        Reply::Hang => {
            // Hold the connection open and never answer.
            std::future::pending::<()>().await;
            return;
        }
    };
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
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
    assert!(matches!(outcome, TokenGrant::Verified(_)));
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

#[tokio::test]
async fn a_key_server_host_without_a_cache_fails_clearly() {
    let (verifier, _) = setup("http://127.0.0.1:9/keys", |_| {});
    let err = authenticate(&verifier, None, Some(&rs_token("k")), NOW)
        .await
        .unwrap_err();
    assert_eq!(
        err.reason(),
        "could not obtain public key: no key cache is configured"
    );
    let err = verify_token(&verifier, None, &rs_token("k"), NOW)
        .await
        .unwrap_err();
    assert_eq!(
        err.reason(),
        "could not obtain public key: no key cache is configured"
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let target = serve(Reply::Body(fixture("rsa_public.pem")), false).await;
    let server = serve(Reply::Redirect(format!("{}/moved.pem", target.base)), false).await;
    let (verifier, cache) = setup(&server.base, |_| {});
    let err = verify_token(&verifier, Some(&cache), &rs_token("k"), NOW)
        .await
        .unwrap_err();
    assert_eq!(
        err.reason(),
        "could not obtain public key: the key server answered HTTP 302"
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    assert_eq!(target.hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn oversized_bodies_without_a_length_are_refused_while_reading() {
    let server = serve(Reply::BodyUntilClose(vec![b'A'; 100 * 1024]), false).await;
    let (verifier, cache) = setup(&server.base, |_| {});
    let err = verify_token(&verifier, Some(&cache), &rs_token("big"), NOW)
        .await
        .unwrap_err();
    assert_eq!(
        err.reason(),
        "could not obtain public key: the key server's answer is over 65536 bytes"
    );
    // Under the limit, the same kind of answer is read to its end.
    let server = serve(Reply::BodyUntilClose(fixture("rsa_public.pem")), false).await;
    let (verifier, cache) = setup(&server.base, |_| {});
    verify_token(&verifier, Some(&cache), &rs_token("k"), NOW)
        .await
        .unwrap();
}

/// A private CA and a certificate for 127.0.0.1 issued by it: the CA's root store and the
/// server's acceptor.
fn private_ca() -> (rustls::RootCertStore, tokio_rustls::TlsAcceptor) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Rookery test key-server CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca_cert.der().clone()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone(), ca_cert.der().clone()], key)
        .unwrap();
    (roots, tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[tokio::test]
async fn https_key_servers_are_trusted_through_the_given_roots_only() {
    let (roots, acceptor) = private_ca();
    let server = serve_with(
        Reply::Body(fixture("rsa_public.pem")),
        false,
        Some(acceptor),
    )
    .await;
    let config = host(&server.base);
    let verifier = TokenVerifier::new(&config).unwrap();

    let trusting = KeyCache::with_roots(SignatureAlgorithm::RS256, limits(&config), roots).unwrap();
    let claims = verify_token(&verifier, Some(&trusting), &rs_token("tls"), NOW)
        .await
        .unwrap();
    assert_eq!(claims.issuer(), "app");
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);

    // The Mozilla roots do not include the private CA: the handshake fails.
    let public = KeyCache::new(SignatureAlgorithm::RS256, limits(&config)).unwrap();
    let err = verify_token(&verifier, Some(&public), &rs_token("tls"), NOW)
        .await
        .unwrap_err();
    assert!(
        err.reason()
            .starts_with("could not obtain public key: the key server could not be reached"),
        "{}",
        err.reason()
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}
