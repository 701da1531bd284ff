use super::*;

#[test]
fn embedded_default_parses() {
    let c = Config::embedded_default().unwrap();
    assert!(c.host("localhost").is_some());
    let http = c.http.unwrap();
    assert_eq!(http.listen, default_http_addrs());
}

#[test]
fn http_section_defaults_and_cross_domain_forms() {
    let c = Config::parse("[http]\n", "t.toml").unwrap();
    let h = c.http.unwrap();
    assert_eq!(h.listen, default_http_addrs());
    assert_eq!(h.cross_domain_bosh, CrossDomain::All(false));
    assert!(!h.cross_domain_bosh.allows("https://a.example"));
    let c = Config::parse(
        "[http]\ncross_domain_bosh = true\ncross_domain_websocket = [\"https://a.example\"]\n",
        "t.toml",
    )
    .unwrap();
    let h = c.http.unwrap();
    assert!(h.cross_domain_bosh.allows("https://b.example"));
    assert!(h.cross_domain_websocket.allows("https://A.example"));
    assert!(!h.cross_domain_websocket.allows("https://b.example"));
    assert!(
        Config::parse("data_dir = \"x\"\n", "t.toml")
            .unwrap()
            .http
            .is_none()
    );
    let e = Config::parse("[http]\nbosh_max_hold = 2\n", "t.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("bosh_max_hold"), "{e}");
    let e = Config::parse("[http]\nbogus = 1\n", "t.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("bogus"), "{e}");
}

#[test]
fn muc_domain_verification_needs_its_token_host_to_require_sub() {
    let text = |host_dv: bool, muc_dv: bool| {
        format!(
            "[[host]]\ndomain = \"meet.example.com\"\nauthentication = \"token\"\n\
             [host.token]\napp_id = \"a\"\napp_secret = \"s\"\n\
             enable_domain_verification = {host_dv}\n\
             [[muc]]\ndomain = \"conference.meet.example.com\"\n\
             [muc.token_verification]\nenable_domain_verification = {muc_dv}\n\
             muc_mapper_domain_base = \"meet.example.com\"\n"
        )
    };
    let e = Config::parse(&text(false, true), "t.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("muc.token_verification.enable_domain_verification")
            && e.contains("host.token.enable_domain_verification"),
        "{e}"
    );
    for (host_dv, muc_dv) in [(true, true), (true, false), (false, false)] {
        assert!(
            Config::parse(&text(host_dv, muc_dv), "t.toml").is_ok(),
            "host {host_dv}, muc {muc_dv}"
        );
    }
}

#[test]
fn unknown_key_names_key_and_line() {
    let text = "data_dir = \"x\"\n\n[[host]]\ndomain = \"a\"\nauthentication = \"anonymous\"\nbogus_key = 1\n";
    let e = Config::parse(text, "t.toml").unwrap_err().to_string();
    assert!(e.contains("bogus_key"), "{e}");
    assert!(e.contains("line 6"), "{e}");
}

#[test]
fn stream_management_settings() {
    let c = Config::parse("", "t.toml").unwrap();
    assert_eq!(
        (
            c.smacks_hibernation_time,
            c.smacks_max_queue_size,
            c.smacks_max_unacked_stanzas
        ),
        (60, 10_000, 5)
    );
    assert_eq!(
        (
            c.smacks_max_hibernated_sessions,
            c.smacks_max_hibernated_total
        ),
        (10, 10_000)
    );
    let c = Config::parse("smacks_hibernation_time = 2\n", "t.toml").unwrap();
    assert_eq!(c.smacks_hibernation_time, 2);
    for bad in [
        "smacks_hibernation_time = 0",
        "smacks_hibernation_time = 86401",
        "smacks_max_queue_size = 1",
        "smacks_max_unacked_stanzas = 0",
        "smacks_max_hibernated_sessions = 0",
        "smacks_max_hibernated_total = 5",
    ] {
        let e = Config::parse(bad, "t.toml").unwrap_err().to_string();
        let key = bad.split(' ').next().unwrap();
        assert!(e.contains(key), "{bad}: {e}");
    }
}

#[test]
fn bad_values_are_named() {
    let text = "c2s_stanza_size_limit = 10\n";
    let e = Config::parse(text, "t.toml").unwrap_err().to_string();
    assert!(e.contains("c2s_stanza_size_limit"), "{e}");
    let text = "[[host]]\ndomain = \"a\"\nauthentication = \"kerberos\"\n";
    let e = Config::parse(text, "t.toml").unwrap_err().to_string();
    assert!(e.contains("kerberos") && e.contains("line 3"), "{e}");
}
