//! The example configurations are parsed and started by tests so they cannot rot, and the
//! CLI works against them from a fresh directory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/examples")
        .join(name)
}

#[test]
fn every_example_parses() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/examples");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            rookery_server::Config::load(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            n += 1;
        }
    }
    assert!(n >= 1);
}

#[tokio::test]
async fn jitsi_jwt_example_starts_on_free_ports() {
    let text = std::fs::read_to_string(example("jitsi-jwt.toml")).unwrap();
    let text = text
        .replace("127.0.0.1:5222", "127.0.0.1:0")
        .replace("127.0.0.1:5280", "127.0.0.1:0");
    let cfg = rookery_server::Config::parse(&text, "jitsi-jwt.toml").unwrap();
    let running =
        rookery_server::start_with_store(cfg, rookery_server::store::Store::in_memory().unwrap())
            .await
            .unwrap();
    assert!(running.c2s_addr().is_some());
    running.shutdown().await;
}

#[test]
fn cli_register_mint_and_explain_against_the_example() {
    let bin = env!("CARGO_BIN_EXE_rookery");
    let dir = tempfile::tempdir().unwrap();
    let cfg = example("jitsi-jwt.toml");
    let run = |args: &[&str]| {
        Command::new(bin)
            .current_dir(dir.path())
            .arg("--config")
            .arg(&cfg)
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["register", "focus", "auth.meet.example.com", "focus-secret"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("data/rookery.sqlite").exists());

    let out = run(&[
        "token",
        "mint",
        "--host",
        "meet.example.com",
        "--room",
        "standup",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(token.split('.').count(), 3);

    let out = run(&[
        "token",
        "explain",
        "--url",
        "https://meet.example.com/standup",
        &token,
    ]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");

    let out = run(&[
        "token",
        "explain",
        "--url",
        "https://meet.example.com/other",
        &token,
    ]);
    assert!(
        !out.status.success(),
        "a token for standup must not open /other"
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.to_lowercase().contains("room"), "{text}");

    let out = run(&["check-config", cfg.to_str().unwrap()]);
    assert!(out.status.success());
}
