//! The `rookery` binary in docker-jitsi-meet mode: `--jitsi-env` (or `XMPP_DOMAIN` without
//! `--config`) starts from the environment, creates the focus account, answers `/health`;
//! a malformed or missing variable stops it with an error naming the variable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rookery(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rookery"));
    c.current_dir(dir)
        .env_clear()
        .env("JICOFO_AUTH_PASSWORD", "focus-pw")
        .env("JVB_AUTH_PASSWORD", "jvb-pw");
    c
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn starts_from_the_environment_and_answers_health() {
    let dir = tempfile::tempdir().unwrap();
    let (c2s, http) = (free_port(), free_port());
    for how in ["flag", "xmpp_domain"] {
        let mut cmd = rookery(dir.path());
        cmd.env("XMPP_PORT", c2s.to_string())
            .env("PROSODY_HTTP_PORT", http.to_string())
            .env("ROOKERY_DATA_DIR", dir.path().join("store"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if how == "flag" {
            cmd.arg("--jitsi-env");
        } else {
            cmd.env("XMPP_DOMAIN", "meet.jitsi");
        }
        let mut child = Killed(cmd.spawn().unwrap());
        let stdout = child.0.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut listening = Vec::new();
        while listening.len() < 2 {
            let line = lines.next().expect("rookery exited early").unwrap();
            if line.starts_with("rookery listening") {
                listening.push(line);
            }
        }
        assert!(
            listening
                .iter()
                .any(|l| l.contains(&format!("0.0.0.0:{c2s}"))),
            "{listening:?}"
        );
        let mut s = TcpStream::connect(("127.0.0.1", http)).unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200"), "{how}: {reply}");
        drop(child);
    }
    // The focus and jvb accounts were created in the store.
    let store = rookery_server::store::Store::open(&dir.path().join("store")).unwrap();
    for (host, user) in [("auth.meet.jitsi", "focus"), ("auth.meet.jitsi", "jvb")] {
        assert!(
            store
                .credentials(host, user, rookery_sasl::ScramHash::Sha1)
                .unwrap()
                .is_some(),
            "{user}@{host}"
        );
    }
}

#[test]
fn bad_environment_stops_the_start_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("ENABLE_AUTH", "perhaps"),
        ("XMPP_DOMAIN", "not a domain"),
        ("JICOFO_AUTH_PASSWORD", ""),
        ("PUBLIC_URL", "meet.example.com"),
    ] {
        let out = rookery(dir.path())
            .arg("--jitsi-env")
            .env(var, value)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{var}={value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(var), "{var}: {err}");
    }
    let out = rookery(dir.path())
        .args(["--jitsi-env", "--config", "x.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}
