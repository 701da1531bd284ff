//! The container files at the repository root: `docker-compose.yml` passes
//! `docker-compose config` (when the command is installed; otherwise the check reports
//! itself skipped with the reason) and keeps docker-jitsi-meet's names and ports; the
//! `Dockerfile` is multi-stage, runs as a non-root user and checks `/health`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(root().join(name)).unwrap()
}

/// Runs `docker-compose` with `args` on the committed file; `None` when it is not installed.
fn compose(args: &[&str]) -> Option<std::process::Output> {
    let out = Command::new("docker-compose")
        .current_dir(root())
        .arg("-f")
        .arg(root().join("docker-compose.yml"))
        .args(args)
        // A developer's .env or shell must not decide the outcome.
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROJECT_NAME")
        .output();
    match out {
        Ok(o) => Some(o),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("cannot run docker-compose: {e}"),
    }
}

#[test]
fn docker_compose_config_passes() {
    let Some(out) = compose(&["config", "-q"]) else {
        eprintln!(
            "SKIPPED docker_compose_config_passes: `docker-compose` is not installed \
             (apt-get install docker-compose; .ci/run does)"
        );
        return;
    };
    assert!(
        out.status.success(),
        "docker-compose config failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = compose(&["config"]).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let services = compose(&["config", "--services"]).unwrap();
    let mut names: Vec<String> = String::from_utf8_lossy(&services.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    names.sort();
    assert_eq!(names, ["jicofo", "jvb", "rookery", "web"]);
    for needle in [
        "ghcr.io/jitsi/web:",
        "ghcr.io/jitsi/jicofo:",
        "ghcr.io/jitsi/jvb:",
        "xmpp.meet.jitsi",
        "XMPP_BOSH_URL_BASE: http://xmpp.meet.jitsi:5280",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    assert!(!text.contains("/prosody:"), "prosody must be gone:\n{text}");
}

#[test]
fn compose_file_keeps_the_prosody_contract() {
    let c = read("docker-compose.yml");
    // The alias the other images connect to, and the three ports.
    assert!(c.contains("- ${XMPP_SERVER:-xmpp.meet.jitsi}"));
    for port in ["'5222'", "'5280'", "'5347'"] {
        assert!(c.contains(port), "{port}");
    }
    // Every variable the Rookery service reads from the environment is passed through
    // (except Rookery's own ROOKERY_* settings, which have defaults).
    for v in rookery_server::config::jitsi::env::VARIABLES {
        if v.name.starts_with("ROOKERY_") {
            continue;
        }
        assert!(
            c.contains(&format!("- {}\n", v.name)),
            "{} is not passed to the rookery service",
            v.name
        );
    }
}

#[test]
fn dockerfile_is_multi_stage_non_root_with_a_healthcheck() {
    let d = read("Dockerfile");
    let froms: Vec<&str> = d.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].contains(" AS build"));
    // Base images are build arguments (container/local-bases.sh makes them without a
    // registry); the defaults are the public images.
    assert_eq!(froms[0], "FROM ${BUILD_IMAGE} AS build");
    assert_eq!(froms[1], "FROM ${RUNTIME_IMAGE}");
    assert!(d.contains("ARG BUILD_IMAGE=rust:1-bookworm"));
    assert!(d.contains("ARG RUNTIME_IMAGE=debian:bookworm-slim"));
    let user = d
        .lines()
        .find(|l| l.starts_with("USER "))
        .expect("a USER line");
    assert!(!user.contains("root"), "{user}");
    let hc = d
        .lines()
        .skip_while(|l| !l.starts_with("HEALTHCHECK"))
        .take(2)
        .collect::<String>();
    assert!(hc.contains("/health") && hc.contains("5280"), "{hc}");
    assert!(d.contains("EXPOSE 5222 5280 5347"));
    assert!(d.contains("CMD [\"--jitsi-env\"]"));
}
