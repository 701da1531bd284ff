//! The environment mapping, one row per variable: what a good value sets, and that a
//! malformed value stops the start naming the variable.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::*;
use crate::config::Authentication;

const PASSWORDS: [(&str, &str); 2] = [
    ("JICOFO_AUTH_PASSWORD", "focus-pw"),
    ("JVB_AUTH_PASSWORD", "jvb-pw"),
];

const JWT: [(&str, &str); 4] = [
    ("ENABLE_AUTH", "1"),
    ("AUTH_TYPE", "jwt"),
    ("JWT_APP_ID", "app"),
    ("JWT_APP_SECRET", "secret"),
];

fn build(vars: &[(&str, &str)]) -> Result<Config, EnvError> {
    let mut map: HashMap<String, String> = PASSWORDS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for (k, v) in vars {
        map.insert((*k).to_owned(), (*v).to_owned());
    }
    config_from_env(&move |name| map.get(name).cloned())
}

fn host<'a>(c: &'a Config, domain: &str) -> Option<&'a crate::config::HostConfig> {
    c.host(domain)
}

fn accounts(c: &Config) -> Vec<(String, String, String)> {
    c.jitsi
        .as_ref()
        .unwrap()
        .startup_accounts()
        .into_iter()
        .map(|a| (a.user, a.domain, a.password.expose().to_owned()))
        .collect()
}

fn token(c: &Config) -> &TokenHostConfig {
    c.hosts[0].token.as_ref().unwrap()
}

#[test]
fn defaults_are_docker_jitsi_meets() {
    let c = build(&[]).unwrap();
    let hosts: Vec<(&str, Authentication)> = c
        .hosts
        .iter()
        .map(|h| (h.domain.as_str(), h.authentication))
        .collect();
    assert_eq!(
        hosts,
        [
            ("meet.jitsi", Authentication::Anonymous),
            ("auth.meet.jitsi", Authentication::InternalHashed),
            ("recorder.meet.jitsi", Authentication::InternalHashed),
            ("hidden.meet.jitsi", Authentication::InternalHashed),
        ]
    );
    assert_eq!(c.mucs[0].domain.as_str(), "muc.meet.jitsi");
    assert_eq!(c.mucs[1].domain.as_str(), "internal-muc.meet.jitsi");
    assert_eq!(c.client_proxies[0].domain, "focus.meet.jitsi");
    assert_eq!(c.client_proxies[0].target_address, "focus@auth.meet.jitsi");
    assert!(c.components.is_empty());
    assert_eq!(c.admins, ["focus@auth.meet.jitsi", "jvb@auth.meet.jitsi"]);
    assert_eq!(
        accounts(&c),
        [
            ("focus".into(), "auth.meet.jitsi".into(), "focus-pw".into()),
            ("jvb".into(), "auth.meet.jitsi".into(), "jvb-pw".into()),
        ]
    );
    let any: SocketAddr = "0.0.0.0:5222".parse().unwrap();
    assert_eq!(c.c2s.listen, [any]);
    let http = c.http.as_ref().unwrap();
    assert_eq!(http.listen, ["0.0.0.0:5280".parse::<SocketAddr>().unwrap()]);
    assert!(http.consider_secure);
    assert_eq!(
        http.cross_domain_websocket,
        CrossDomain::Origins(vec!["https://localhost:8443".into()])
    );
    assert_eq!(
        c.component_listener.listen,
        ["0.0.0.0:5347".parse::<SocketAddr>().unwrap()]
    );
    assert_eq!(c.log_level, "info");
    assert_eq!(c.data_dir, PathBuf::from("data"));
    // An empty list is no list.
    let c3 = build(&[
        ("ENABLE_AUTH", "1"),
        ("AUTH_TYPE", "jwt"),
        ("JWT_APP_ID", "a"),
        ("JWT_APP_SECRET", "s"),
        ("JWT_ACCEPTED_ISSUERS", " , "),
    ])
    .unwrap();
    assert_eq!(token(&c3).asap_accepted_issuers, None);
    // Empty values count as unset.
    let c2 = build(&[("XMPP_DOMAIN", ""), ("ENABLE_AUTH", " ")]).unwrap();
    assert_eq!(c2.hosts[0].domain, "meet.jitsi");
}

type Check = fn(&Config);
type Vars = Vec<(&'static str, &'static str)>;
/// `(variable, good value, extra variables, what the good value sets)`.
type GoodRow = (&'static str, &'static str, Vars, Check);

fn good_rows() -> Vec<GoodRow> {
    vec![
        ("XMPP_DOMAIN", "example.com", vec![], |c| {
            assert_eq!(c.hosts[0].domain, "example.com");
            assert_eq!(c.client_proxies[0].domain, "focus.example.com");
            // The other hosts keep docker's literal defaults.
            assert!(host(c, "auth.meet.jitsi").is_some());
        }),
        ("XMPP_AUTH_DOMAIN", "auth.example.com", vec![], |c| {
            assert!(host(c, "auth.example.com").is_some());
            assert_eq!(c.client_proxies[0].target_address, "focus@auth.example.com");
            assert!(c.admins.contains(&"jvb@auth.example.com".to_owned()));
        }),
        (
            "XMPP_GUEST_DOMAIN",
            "guests.example.com",
            vec![("ENABLE_AUTH", "1"), ("ENABLE_GUESTS", "1")],
            |c| {
                let g = host(c, "guests.example.com").unwrap();
                assert_eq!(g.authentication, Authentication::Anonymous);
            },
        ),
        ("XMPP_MUC_DOMAIN", "conference.example.com", vec![], |c| {
            assert_eq!(c.mucs[0].domain.as_str(), "conference.example.com");
            assert!(c.mucs[0].jicofo_lock && c.mucs[0].jitsi_meeting_id);
        }),
        (
            "XMPP_INTERNAL_MUC_DOMAIN",
            "brewery.example.com",
            vec![],
            |c| {
                assert_eq!(c.mucs[1].domain.as_str(), "brewery.example.com");
                assert!(c.mucs[1].restrict_room_creation);
            },
        ),
        ("XMPP_RECORDER_DOMAIN", "rec.example.com", vec![], |c| {
            assert_eq!(
                host(c, "rec.example.com").unwrap().authentication,
                Authentication::InternalHashed
            );
            assert!(host(c, "recorder.meet.jitsi").is_none());
        }),
        ("XMPP_HIDDEN_DOMAIN", "hidden.example.com", vec![], |c| {
            assert!(host(c, "hidden.example.com").is_some());
            assert!(host(c, "hidden.meet.jitsi").is_none());
        }),
        ("JICOFO_AUTH_USER", "jicofo", vec![], |c| {
            assert_eq!(c.client_proxies[0].target_address, "jicofo@auth.meet.jitsi");
            assert_eq!(accounts(c)[0].0, "jicofo");
            assert!(
                c.mucs[0].is_admin(&rookery_proto::Jid::parse("jicofo@auth.meet.jitsi").unwrap())
            );
        }),
        ("JICOFO_AUTH_PASSWORD", "other-focus-pw", vec![], |c| {
            assert_eq!(accounts(c)[0].2, "other-focus-pw");
        }),
        ("JVB_AUTH_USER", "bridge", vec![], |c| {
            assert_eq!(accounts(c)[1].0, "bridge");
            assert!(c.admins.contains(&"bridge@auth.meet.jitsi".to_owned()));
        }),
        ("JVB_AUTH_PASSWORD", "other-jvb-pw", vec![], |c| {
            assert_eq!(accounts(c)[1].2, "other-jvb-pw");
        }),
        ("JICOFO_COMPONENT_SECRET", "cs", vec![], |c| {
            assert_eq!(c.components[0].domain, "focus.meet.jitsi");
            assert_eq!(c.components[0].secret.expose(), "cs");
            // The proxy stays as the fallback for current jicofo.
            assert_eq!(c.client_proxies.len(), 1);
        }),
        ("ENABLE_AUTH", "1", vec![], |c| {
            assert_eq!(c.hosts[0].authentication, Authentication::InternalHashed);
        }),
        ("AUTH_TYPE", "jwt", JWT.to_vec(), |c| {
            assert_eq!(c.hosts[0].authentication, Authentication::Token);
            assert!(c.mucs[0].token_verification.is_some());
        }),
        (
            "ENABLE_GUESTS",
            "true",
            vec![("ENABLE_AUTH", "true")],
            |c| {
                assert!(host(c, "guest.meet.jitsi").is_some());
            },
        ),
        ("JWT_APP_ID", "my-app", JWT.to_vec(), |c| {
            assert_eq!(token(c).app_id.as_deref(), Some("my-app"));
        }),
        ("JWT_APP_SECRET", "s3", JWT.to_vec(), |c| {
            assert_eq!(token(c).app_secret.as_deref(), Some("s3"));
        }),
        ("JWT_ACCEPTED_ISSUERS", "a, b,,c", JWT.to_vec(), |c| {
            assert_eq!(
                token(c).asap_accepted_issuers,
                Some(vec!["a".into(), "b".into(), "c".into()])
            );
        }),
        ("JWT_ACCEPTED_AUDIENCES", "jitsi,other", JWT.to_vec(), |c| {
            assert_eq!(token(c).asap_accepted_audiences, ["jitsi", "other"]);
        }),
        (
            "JWT_ASAP_KEYSERVER",
            "https://keys.example.com/asap",
            vec![
                ("ENABLE_AUTH", "1"),
                ("AUTH_TYPE", "jwt"),
                ("JWT_APP_ID", "app"),
            ],
            |c| {
                assert_eq!(
                    token(c).asap_key_server.as_deref(),
                    Some("https://keys.example.com/asap")
                );
                assert_eq!(token(c).app_secret, None);
            },
        ),
        ("JWT_ALLOW_EMPTY", "1", JWT.to_vec(), |c| {
            assert!(token(c).allow_empty_token);
            assert!(
                c.mucs[0]
                    .token_verification
                    .as_ref()
                    .unwrap()
                    .allow_empty_token
            );
        }),
        (
            "JWT_ENABLE_DOMAIN_VERIFICATION",
            "true",
            JWT.to_vec(),
            |c| {
                assert!(token(c).enable_domain_verification);
                let p = c.mucs[0].token_verification.as_ref().unwrap();
                assert!(p.enable_domain_verification);
                assert_eq!(p.muc_mapper_domain_base.as_deref(), Some("meet.jitsi"));
                assert_eq!(p.muc_mapper_domain_prefix, "muc");
            },
        ),
        ("ENABLE_XMPP_WEBSOCKET", "0", vec![], |c| {
            assert!(c.http.is_some());
        }),
        (
            "PUBLIC_URL",
            "https://Meet.Example.com/some/path",
            vec![],
            |c| {
                let http = c.http.as_ref().unwrap();
                let want = CrossDomain::Origins(vec!["https://meet.example.com".into()]);
                assert_eq!(http.cross_domain_websocket, want);
                assert_eq!(http.cross_domain_bosh, want);
            },
        ),
        (
            "JIBRI_XMPP_USER",
            "jibri2",
            vec![("JIBRI_XMPP_PASSWORD", "jb")],
            |c| {
                assert!(accounts(c).contains(&(
                    "jibri2".into(),
                    "auth.meet.jitsi".into(),
                    "jb".into()
                )));
                assert!(c.admins.contains(&"jibri2@auth.meet.jitsi".to_owned()));
            },
        ),
        ("JIBRI_XMPP_PASSWORD", "jb", vec![], |c| {
            assert!(accounts(c).contains(&("jibri".into(), "auth.meet.jitsi".into(), "jb".into())));
        }),
        (
            "JIBRI_RECORDER_USER",
            "rec",
            vec![("JIBRI_RECORDER_PASSWORD", "rp")],
            |c| {
                assert!(accounts(c).contains(&(
                    "rec".into(),
                    "recorder.meet.jitsi".into(),
                    "rp".into()
                )));
                assert!(!c.admins.contains(&"rec@recorder.meet.jitsi".to_owned()));
            },
        ),
        ("JIBRI_RECORDER_PASSWORD", "rp", vec![], |c| {
            assert!(accounts(c).contains(&(
                "recorder".into(),
                "recorder.meet.jitsi".into(),
                "rp".into()
            )));
        }),
        (
            "JIGASI_XMPP_USER",
            "gw",
            vec![("JIGASI_XMPP_PASSWORD", "gp")],
            |c| {
                assert!(accounts(c).contains(&(
                    "gw".into(),
                    "auth.meet.jitsi".into(),
                    "gp".into()
                )));
            },
        ),
        ("JIGASI_XMPP_PASSWORD", "gp", vec![], |c| {
            assert!(accounts(c).contains(&(
                "jigasi".into(),
                "auth.meet.jitsi".into(),
                "gp".into()
            )));
        }),
        ("XMPP_PORT", "15222", vec![], |c| {
            assert_eq!(
                c.c2s.listen,
                ["0.0.0.0:15222".parse::<SocketAddr>().unwrap()]
            );
        }),
        ("PROSODY_HTTP_PORT", "15280", vec![], |c| {
            assert_eq!(
                c.http.as_ref().unwrap().listen,
                ["0.0.0.0:15280".parse::<SocketAddr>().unwrap()]
            );
        }),
        ("LOG_LEVEL", "rookery=debug,warn", vec![], |c| {
            assert_eq!(c.log_level, "rookery=debug,warn");
        }),
        ("ROOKERY_DATA_DIR", "/var/lib/rookery", vec![], |c| {
            assert_eq!(c.data_dir, PathBuf::from("/var/lib/rookery"));
        }),
        ("ROOKERY_COMPONENT_PORT", "15347", vec![], |c| {
            assert_eq!(
                c.component_listener.listen,
                ["0.0.0.0:15347".parse::<SocketAddr>().unwrap()]
            );
        }),
    ]
}

#[test]
fn every_variable_maps_to_its_setting() {
    let rows = good_rows();
    for v in VARIABLES {
        assert!(
            rows.iter().any(|(name, ..)| name == &v.name),
            "{} has no mapping test",
            v.name
        );
    }
    for (name, value, extra, check) in rows {
        let mut vars = extra.clone();
        vars.retain(|(k, _)| *k != name);
        vars.push((name, value));
        let c = build(&vars).unwrap_or_else(|e| panic!("{name}={value}: {e}"));
        check(&c);
    }
}

#[test]
fn malformed_values_name_the_variable() {
    let rows: Vec<(&str, &str, Vars)> = vec![
        ("XMPP_DOMAIN", "not a domain", vec![]),
        ("XMPP_DOMAIN", "user@meet.jitsi", vec![]),
        ("XMPP_AUTH_DOMAIN", "x@auth.meet.jitsi", vec![]),
        ("XMPP_GUEST_DOMAIN", "guest/x", vec![]),
        ("XMPP_MUC_DOMAIN", "a b", vec![]),
        ("XMPP_INTERNAL_MUC_DOMAIN", "<x>", vec![]),
        ("XMPP_RECORDER_DOMAIN", "r@x", vec![]),
        ("XMPP_HIDDEN_DOMAIN", "h x", vec![]),
        ("JICOFO_AUTH_USER", "a@b", vec![]),
        ("JVB_AUTH_USER", "a b", vec![]),
        ("ENABLE_AUTH", "maybe", vec![]),
        ("AUTH_TYPE", "kerberos", vec![]),
        ("AUTH_TYPE", "ldap", vec![("ENABLE_AUTH", "1")]),
        ("ENABLE_GUESTS", "2", vec![]),
        (
            "JWT_APP_ID",
            "",
            vec![
                ("ENABLE_AUTH", "1"),
                ("AUTH_TYPE", "jwt"),
                ("JWT_APP_SECRET", "s"),
            ],
        ),
        (
            "JWT_APP_SECRET",
            "",
            vec![
                ("ENABLE_AUTH", "1"),
                ("AUTH_TYPE", "jwt"),
                ("JWT_APP_ID", "a"),
            ],
        ),
        ("JWT_ASAP_KEYSERVER", "ftp://keys", JWT.to_vec()),
        ("JWT_ALLOW_EMPTY", "nope", vec![]),
        ("JWT_ENABLE_DOMAIN_VERIFICATION", "yes please", JWT.to_vec()),
        ("ENABLE_XMPP_WEBSOCKET", "sometimes", vec![]),
        ("PUBLIC_URL", "meet.example.com", vec![]),
        ("PUBLIC_URL", "https://", vec![]),
        ("JIBRI_XMPP_USER", "a b", vec![]),
        ("JIBRI_RECORDER_USER", "r/x", vec![]),
        ("JIGASI_XMPP_USER", "g@x", vec![]),
        ("XMPP_PORT", "70000", vec![]),
        ("PROSODY_HTTP_PORT", "http", vec![]),
        ("ROOKERY_COMPONENT_PORT", "0", vec![]),
        ("LOG_LEVEL", "[[[", vec![]),
    ];
    for (name, value, extra) in rows {
        let mut vars = extra.clone();
        vars.push((name, value));
        let e = build(&vars).expect_err(&format!("{name}={value:?} must fail"));
        assert_eq!(e.var, name, "{name}={value:?}: {e}");
        assert!(e.to_string().contains(name), "{e}");
    }
    // Required passwords.
    for name in ["JICOFO_AUTH_PASSWORD", "JVB_AUTH_PASSWORD"] {
        let e = build(&[(name, "")]).unwrap_err();
        assert_eq!(e.var, name);
    }
}

#[test]
fn colliding_domains_are_refused() {
    let e = build(&[("XMPP_MUC_DOMAIN", "meet.jitsi")]).unwrap_err();
    assert!(e.to_string().contains("meet.jitsi"), "{e}");
}

#[test]
fn bool_spellings() {
    for (v, b) in [
        ("1", true),
        ("true", true),
        ("True", true),
        ("YES", true),
        ("on", true),
        ("0", false),
        ("false", false),
        ("no", false),
        ("Off", false),
    ] {
        assert_eq!(parse_bool(v), Some(b), "{v}");
    }
    assert_eq!(parse_bool("2"), None);
    assert_eq!(parse_bool(""), None);
}

#[test]
fn origins() {
    for (url, want) in [
        ("https://meet.example.com", Some("https://meet.example.com")),
        ("https://localhost:8443/", Some("https://localhost:8443")),
        ("HTTP://A.example/x?y", Some("http://a.example")),
        (
            "https://meet.example.com:443/",
            Some("https://meet.example.com"),
        ),
        (
            "http://meet.example.com:80",
            Some("http://meet.example.com"),
        ),
        (
            "http://meet.example.com:443",
            Some("http://meet.example.com:443"),
        ),
        ("meet.example.com", None),
        ("wss://meet.example.com", None),
        ("https://user@evil.example", None),
    ] {
        assert_eq!(origin_of(url).as_deref(), want, "{url}");
    }
}
