//! JWT verification per login (HS256 and RS256), the token host's per-authentication cost.
//! `cargo bench -p rookery-sasl`.
// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use criterion::{Criterion, criterion_group, criterion_main};
use rookery_policy::TokenHostConfig;
use rookery_sasl::token::{TokenVerifier, default_claims, mint, mint_with_pem, unix_now};

fn hs256(c: &mut Criterion) {
    let cfg: TokenHostConfig = toml::from_str(
        "app_id = 'app'\napp_secret = 's3cret'\nasap_accepted_audiences = ['jitsi']\n",
    )
    .unwrap();
    let v = TokenVerifier::new(&cfg).unwrap();
    let now = unix_now();
    let token = mint(
        &cfg,
        &serde_json::Value::Object(default_claims(&cfg, "room", "*", now, 3600)),
    )
    .unwrap();
    c.bench_function("verify HS256", |b| {
        b.iter(|| v.verify(&token, now).unwrap())
    });
}

fn rs256(c: &mut Criterion) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
    let cfg: TokenHostConfig = toml::from_str(&format!(
        "app_id = 'app'\nsignature_algorithm = 'RS256'\ntoken_public_key_file = '{dir}rsa_public.pem'\nasap_accepted_audiences = ['jitsi']\n"
    ))
    .unwrap();
    let public = std::fs::read(format!("{dir}rsa_public.pem")).unwrap();
    let private = std::fs::read(format!("{dir}rsa_private.pem")).unwrap();
    let v = TokenVerifier::with_public_key_pem(&cfg, &public).unwrap();
    let now = unix_now();
    let claims = serde_json::Value::Object(default_claims(&cfg, "room", "*", now, 3600));
    let token = mint_with_pem(
        rookery_policy::SignatureAlgorithm::RS256,
        &private,
        None,
        &claims,
    )
    .unwrap();
    c.bench_function("verify RS256", |b| {
        b.iter(|| v.verify(&token, now).unwrap())
    });
}

criterion_group!(benches, hs256, rs256);
criterion_main!(benches);
