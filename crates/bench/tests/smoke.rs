#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Smoke test of the load generator: every scenario at tiny sizes against the trivial
//! server and against Rookery, each started in-process on ephemeral loopback ports. Checks
//! the tool's correctness (counts, no losses, well-formed JSON), never timings.

use clap::Parser;
use rookery_bench::cli::{Cli, run};
use serde_json::Value;
use tokio::net::TcpListener;

/// Starts the trivial server on 127.0.0.1:0 (TCP and WebSocket); returns both ports.
async fn start_trivial() -> (u16, u16) {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ws = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ports = (
        tcp.local_addr().unwrap().port(),
        ws.local_addr().unwrap().port(),
    );
    tokio::spawn(rookery_bench::trivial::serve(
        tcp,
        Some(ws),
        std::future::pending(),
    ));
    ports
}

/// Runs `rookery-bench` with these arguments against the given ports and returns the JSON.
async fn bench(tcp: u16, ws: u16, args: &[&str]) -> Value {
    let mut argv = vec![
        "rookery-bench".to_string(),
        "--port".into(),
        tcp.to_string(),
        "--ws-url".into(),
        format!("ws://127.0.0.1:{ws}/xmpp-websocket"),
        "--domain".into(),
        "anon.bench".into(),
        "--muc-domain".into(),
        "muc.bench".into(),
        "--timeout".into(),
        "20".into(),
        "--label".into(),
        "smoke".into(),
    ];
    argv.extend(args.iter().map(|s| s.to_string()));
    let cli = Cli::try_parse_from(argv).unwrap();
    let target = cli.target().unwrap();
    let report = run(&cli, target).await.unwrap();
    let line = report.to_json(&cli.label, "test").to_string();
    // One line of valid JSON, as printed.
    assert!(!line.contains('\n'));
    serde_json::from_str(&line).unwrap()
}

fn fig(v: &Value, key: &str) -> u64 {
    v["figures"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("figure {key} missing or not an integer in {v}"))
}

fn assert_clean(v: &Value) {
    assert_eq!(v["errors"], 0, "errors in {v}");
    assert_eq!(v["label"], "smoke");
}

/// Checks a room scenario: everyone joined, every message reached every occupant.
fn assert_rooms(v: &Value, rooms: u64, occupants: u64, messages: u64) {
    assert_clean(v);
    assert_eq!(fig(v, "connected"), rooms * occupants, "{v}");
    assert_eq!(fig(v, "joined"), rooms * occupants, "{v}");
    assert_eq!(fig(v, "sent"), rooms * occupants * messages, "{v}");
    let expected = rooms * occupants * occupants * messages;
    assert_eq!(fig(v, "expected"), expected, "{v}");
    assert_eq!(fig(v, "delivered"), expected, "{v}");
    assert_eq!(fig(v, "lost"), 0, "{v}");
    assert_eq!(fig(v, "extra"), 0, "{v}");
    assert_eq!(
        v["figures"]["deliveries_per_s"].as_f64().unwrap() > 0.0,
        expected > 0,
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_against_the_trivial_server() {
    let (tcp, ws) = start_trivial().await;
    every_scenario(tcp, ws).await;
}

/// Rookery in-process on ephemeral loopback ports with the bench shape (an anonymous
/// host that also has accounts user1..user3 for `--auth plain`, a MUC service without
/// room locking, WebSocket on the HTTP listener), in a real (in-memory) SQLite store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_against_rookery() {
    let config = rookery_server::Config::parse(
        "data_dir = \"unused\"\nlog_level = \"warn\"\nallow_unencrypted_plain_auth = true\n\
         [c2s]\nlisten = [\"127.0.0.1:0\"]\n[http]\nlisten = [\"127.0.0.1:0\"]\n\
         consider_secure = true\n[[host]]\ndomain = \"anon.bench\"\n\
         authentication = \"internal_hashed\"\nallow_anonymous = true\n\
         [[muc]]\ndomain = \"muc.bench\"\nmuc_room_locking = false\nhistory_length = 0\n",
        "smoke.toml",
    )
    .unwrap();
    let store = rookery_server::store::Store::in_memory().unwrap();
    for i in 1..=3 {
        store
            .set_password("anon.bench", &format!("user{i}"), &format!("pw{i}"), 4096)
            .unwrap();
    }
    let srv = rookery_server::start_with_store(config, store)
        .await
        .unwrap();
    let tcp = srv.c2s_addr().unwrap().port();
    let ws = srv.http_addr().unwrap().port();
    every_scenario(tcp, ws).await;
    srv.shutdown().await;
}

/// Every scenario at tiny sizes against the server on `tcp` (c2s) and `ws` (WebSocket),
/// running in this process (`--pid` is ours).
async fn every_scenario(tcp: u16, ws: u16) {
    let pid = std::process::id().to_string();

    let v = bench(
        tcp,
        ws,
        &["connect", "--connections", "40", "--concurrency", "8"],
    )
    .await;
    assert_clean(&v);
    assert_eq!(v["scenario"], "connect");
    assert_eq!(fig(&v, "connected"), 40);

    let v = bench(
        tcp,
        ws,
        &[
            "--pid",
            &pid,
            "idle",
            "--connections",
            "30",
            "--settle-ms",
            "10",
        ],
    )
    .await;
    assert_clean(&v);
    assert_eq!(fig(&v, "held"), 30);
    assert!(v["figures"]["kib_per_conn"].is_number(), "{v}");

    let v = bench(tcp, ws, &["muc", "--occupants", "6", "--messages", "4"]).await;
    assert_eq!(v["scenario"], "muc");
    assert_rooms(&v, 1, 6, 4);

    let v = bench(
        tcp,
        ws,
        &[
            "muc",
            "--occupants",
            "4",
            "--messages",
            "3",
            "--window",
            "1",
        ],
    )
    .await;
    assert_rooms(&v, 1, 4, 3);

    let v = bench(
        tcp,
        ws,
        &[
            "muc",
            "--occupants",
            "4",
            "--messages",
            "2",
            "--rate",
            "400",
        ],
    )
    .await;
    assert_rooms(&v, 1, 4, 2);
    assert_eq!(v["figures"]["offered_deliveries_per_s"], 1600.0);

    let v = bench(tcp, ws, &["muc", "--occupants", "5", "--messages", "0"]).await;
    assert_rooms(&v, 1, 5, 0);

    let v = bench(
        tcp,
        ws,
        &[
            "--auth",
            "plain",
            "muc",
            "--occupants",
            "3",
            "--messages",
            "2",
        ],
    )
    .await;
    assert_rooms(&v, 1, 3, 2);

    let v = bench(
        tcp,
        ws,
        &[
            "rooms",
            "--rooms",
            "5",
            "--occupants",
            "3",
            "--messages",
            "2",
            "--join-concurrency",
            "4",
        ],
    )
    .await;
    assert_eq!(v["scenario"], "rooms");
    assert_rooms(&v, 5, 3, 2);

    let v = bench(tcp, ws, &["ws", "--occupants", "5", "--messages", "3"]).await;
    assert_eq!(v["scenario"], "ws");
    assert_eq!(v["params"]["transport"], "ws");
    assert_rooms(&v, 1, 5, 3);

    let v = bench(
        tcp,
        ws,
        &[
            "--pid",
            &pid,
            "churn",
            "--waves",
            "3",
            "--per-wave",
            "10",
            "--concurrency",
            "4",
            "--rooms",
            "2",
            "--settle-ms",
            "0",
        ],
    )
    .await;
    assert_clean(&v);
    let waves = v["detail"]["waves"].as_array().unwrap();
    assert_eq!(waves.len(), 3);
    for w in waves {
        assert_eq!(w["ok"], 10, "{v}");
        assert!(w["rss_kib"].is_number(), "{v}");
    }
    assert!(v["figures"]["last_over_first"].as_f64().unwrap() > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_hangs_up_is_reported_not_crashed_on() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            drop(s);
        }
    });
    let v = bench(
        port,
        port,
        &["connect", "--connections", "5", "--concurrency", "2"],
    )
    .await;
    assert_eq!(v["errors"], 5, "{v}");
    assert_eq!(fig(&v, "connected"), 0);
    assert!(!v["error_samples"].as_array().unwrap().is_empty());

    let v = bench(port, port, &["muc", "--occupants", "3", "--messages", "1"]).await;
    assert_eq!(fig(&v, "connected"), 0);
    assert_eq!(fig(&v, "delivered"), 0);
    assert_eq!(v["errors"], 3, "{v}");
}

#[test]
fn non_loopback_targets_are_refused() {
    for host in ["10.1.2.3", "example.org", "192.168.0.1"] {
        let cli = Cli::try_parse_from(["rookery-bench", "--host", host, "connect"]).unwrap();
        assert!(cli.target().is_err(), "{host} accepted");
    }
}
