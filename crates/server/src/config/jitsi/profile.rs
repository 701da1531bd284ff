//! The `[jitsi]` section: the standard Jitsi Meet host layout from one block.
//!
//! It expands, when the configuration is loaded, into ordinary `[[host]]`, `[[muc]]`,
//! `[[client_proxy]]` and `[[component]]` blocks plus global admins, with the settings of
//! Jitsi's stock Prosody configuration: the main host (anonymous, accounts or JWT), a guest
//! host, the auth host where jicofo and the bridge log in, recorder hosts, the conference MUC
//! (no room locking, public JIDs, meeting ids, jicofo lock, token verification when the main
//! host uses tokens), the internal MUC for the brewery rooms (only admins create rooms), and
//! `focus.<domain>` relayed to the focus account (and served by an XEP-0114 component when a
//! component secret is set and the component is connected).

use rookery_policy::{MucPolicyConfig, TokenHostConfig};
use rookery_proto::Jid;
use serde::Deserialize;

use crate::config::component::{ComponentConfig, Secret};
use crate::config::{Authentication, Config, HostConfig};
use crate::services::client_proxy::ClientProxyConfig;

/// How web participants authenticate on the main host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JitsiAuth {
    /// Anyone may join (SASL ANONYMOUS): docker-jitsi-meet with `ENABLE_AUTH=0`.
    #[default]
    Anonymous,
    /// Accounts with passwords (`AUTH_TYPE=internal`).
    InternalHashed,
    /// JWT tokens (`AUTH_TYPE=jwt`), settings in `[jitsi.token]`.
    Token,
}

/// An extra account created (or its password reset) at start: jibri, jigasi, recorder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JitsiAccount {
    /// The user name (JID localpart).
    pub user: String,
    /// Its host; the auth host when absent.
    #[serde(default)]
    pub domain: Option<String>,
    /// The password (stored only as SCRAM keys).
    pub password: Secret,
    /// Also a server-wide admin (jibri and jigasi are, in the stock layout).
    #[serde(default)]
    pub admin: bool,
}

fn default_focus_user() -> String {
    "focus".to_owned()
}
fn default_jvb_user() -> String {
    "jvb".to_owned()
}
fn default_lock_timeout() -> u64 {
    30
}

/// `[jitsi]`: the standard hosts of a Jitsi Meet deployment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JitsiProfile {
    /// The main host, where web participants log in (`meet.example.com`).
    pub domain: String,
    /// The host of the focus, bridge and gateway accounts (default `auth.<domain>`).
    #[serde(default)]
    pub auth_domain: Option<String>,
    /// The anonymous host for guests when the main host needs credentials (default
    /// `guest.<domain>`; only served with `enable_guests`).
    #[serde(default)]
    pub guest_domain: Option<String>,
    /// The conference MUC (default `muc.<domain>`).
    #[serde(default)]
    pub muc_domain: Option<String>,
    /// The internal MUC of the brewery rooms (default `internal-muc.<domain>`).
    #[serde(default)]
    pub internal_muc_domain: Option<String>,
    /// Hosts of recorder accounts (jibri's hidden participant; default
    /// `["recorder.<domain>"]`).
    #[serde(default)]
    pub recorder_domains: Option<Vec<String>>,
    /// How web participants authenticate.
    #[serde(default)]
    pub authentication: JitsiAuth,
    /// Serve the anonymous guest host (meaningful when the main host needs credentials).
    #[serde(default)]
    pub enable_guests: bool,
    /// `[jitsi.token]`: JWT settings of the main host (needed with `authentication =
    /// "token"`); `allow_empty_token` and `enable_domain_verification` also apply to the
    /// conference rooms.
    #[serde(default)]
    pub token: Option<TokenHostConfig>,
    /// The focus (jicofo) account's user name on the auth host.
    #[serde(default = "default_focus_user")]
    pub focus_user: String,
    /// The bridge account's user name on the auth host.
    #[serde(default = "default_jvb_user")]
    pub jvb_user: String,
    /// When set, the focus account is created (or its password reset) at start.
    #[serde(default)]
    pub focus_password: Option<Secret>,
    /// When set, the bridge account is created (or its password reset) at start.
    #[serde(default)]
    pub jvb_password: Option<Secret>,
    /// When set, `focus.<domain>` also accepts an XEP-0114 component with this secret
    /// (older jicofo); while it is connected it serves the domain instead of the proxy.
    #[serde(default)]
    pub focus_component_secret: Option<Secret>,
    /// Seconds a participant's join waits for the focus to enter a new room.
    #[serde(default = "default_lock_timeout")]
    pub jicofo_lock_timeout_seconds: u64,
    /// `[[jitsi.account]]`: more accounts created at start.
    #[serde(default, rename = "account")]
    pub accounts: Vec<JitsiAccount>,
}

/// An account the server creates (or resets) when it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupAccount {
    /// The host.
    pub domain: String,
    /// The user name.
    pub user: String,
    /// The password.
    pub password: Secret,
}

/// The resolved domains of a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitsiHosts {
    /// Main host.
    pub domain: String,
    /// Auth host.
    pub auth: String,
    /// Guest host.
    pub guest: String,
    /// Conference MUC.
    pub muc: String,
    /// Internal MUC.
    pub internal_muc: String,
    /// Recorder hosts.
    pub recorders: Vec<String>,
    /// The focus proxy domain (`focus.<domain>`).
    pub focus: String,
}

fn bare_domain(key: &'static str, d: &str) -> Result<String, (&'static str, String)> {
    Jid::parse(d)
        .ok()
        .filter(|j| j.node().is_none() && !j.is_full())
        .map(|j| j.to_string())
        .ok_or_else(|| (key, format!("'{d}' is not a domain")))
}

impl JitsiProfile {
    /// A profile for `domain` with every other setting at its default.
    pub fn new(domain: &str) -> Self {
        JitsiProfile {
            domain: domain.to_owned(),
            auth_domain: None,
            guest_domain: None,
            muc_domain: None,
            internal_muc_domain: None,
            recorder_domains: None,
            authentication: JitsiAuth::Anonymous,
            enable_guests: false,
            token: None,
            focus_user: default_focus_user(),
            jvb_user: default_jvb_user(),
            focus_password: None,
            jvb_password: None,
            focus_component_secret: None,
            jicofo_lock_timeout_seconds: default_lock_timeout(),
            accounts: Vec::new(),
        }
    }

    /// The domains, defaults filled in and checked.
    pub fn hosts(&self) -> Result<JitsiHosts, (&'static str, String)> {
        let domain = bare_domain("jitsi.domain", &self.domain)?;
        let or = |v: &Option<String>, prefix: &str| {
            v.clone().unwrap_or_else(|| format!("{prefix}.{domain}"))
        };
        let recorders = match &self.recorder_domains {
            Some(list) => list
                .iter()
                .map(|d| bare_domain("jitsi.recorder_domains", d))
                .collect::<Result<Vec<_>, _>>()?,
            None => vec![format!("recorder.{domain}")],
        };
        Ok(JitsiHosts {
            auth: bare_domain("jitsi.auth_domain", &or(&self.auth_domain, "auth"))?,
            guest: bare_domain("jitsi.guest_domain", &or(&self.guest_domain, "guest"))?,
            muc: bare_domain("jitsi.muc_domain", &or(&self.muc_domain, "muc"))?,
            internal_muc: bare_domain(
                "jitsi.internal_muc_domain",
                &or(&self.internal_muc_domain, "internal-muc"),
            )?,
            recorders,
            focus: format!("focus.{domain}"),
            domain,
        })
    }

    /// The focus account's bare JID.
    pub fn focus_jid(&self, hosts: &JitsiHosts) -> String {
        format!("{}@{}", self.focus_user.to_lowercase(), hosts.auth)
    }

    /// The bridge account's bare JID.
    pub fn jvb_jid(&self, hosts: &JitsiHosts) -> String {
        format!("{}@{}", self.jvb_user.to_lowercase(), hosts.auth)
    }

    /// The accounts to create at start.
    pub fn startup_accounts(&self) -> Vec<StartupAccount> {
        let Ok(hosts) = self.hosts() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (user, password) in [
            (&self.focus_user, &self.focus_password),
            (&self.jvb_user, &self.jvb_password),
        ] {
            if let Some(p) = password {
                out.push(StartupAccount {
                    domain: hosts.auth.clone(),
                    user: user.to_lowercase(),
                    password: p.clone(),
                });
            }
        }
        for a in &self.accounts {
            out.push(StartupAccount {
                domain: a
                    .domain
                    .clone()
                    .unwrap_or_else(|| hosts.auth.clone())
                    .to_lowercase(),
                user: a.user.to_lowercase(),
                password: a.password.clone(),
            });
        }
        out
    }

    /// Adds the profile's hosts, services and admins to `cfg`. Returns `(key, reason)` for
    /// settings that cannot work.
    pub fn apply(&self, cfg: &mut Config) -> Result<(), (&'static str, String)> {
        let h = self.hosts()?;
        if self.jicofo_lock_timeout_seconds == 0 {
            return Err((
                "jitsi.jicofo_lock_timeout_seconds",
                "must be at least 1".into(),
            ));
        }
        for (key, user) in [
            ("jitsi.focus_user", &self.focus_user),
            ("jitsi.jvb_user", &self.jvb_user),
        ] {
            if Jid::from_parts(Some(user), &h.auth, None).is_err() {
                return Err((key, format!("'{user}' is not a valid user name")));
            }
        }
        for a in &self.accounts {
            let domain = a.domain.as_deref().unwrap_or(&h.auth);
            if Jid::from_parts(Some(&a.user), domain, None).is_err() {
                return Err((
                    "jitsi.account.user",
                    format!("'{}@{domain}' is not a valid account", a.user),
                ));
            }
        }
        let token = match (self.authentication, &self.token) {
            (JitsiAuth::Token, None) => {
                return Err((
                    "jitsi.token",
                    "authentication = \"token\" needs a [jitsi.token] section".into(),
                ));
            }
            (JitsiAuth::Token, Some(t)) => Some(t.clone()),
            _ => None,
        };
        let host = |domain: &str, authentication| HostConfig {
            domain: domain.to_owned(),
            authentication,
            allow_anonymous: false,
            admins: Vec::new(),
            tls_certificate: None,
            tls_key: None,
            allow_unencrypted_plain_auth: None,
            c2s_require_encryption: None,
            token: None,
        };
        let mut main = host(
            &h.domain,
            match self.authentication {
                JitsiAuth::Anonymous => Authentication::Anonymous,
                JitsiAuth::InternalHashed => Authentication::InternalHashed,
                JitsiAuth::Token => Authentication::Token,
            },
        );
        main.token = token.clone();
        cfg.hosts.push(main);
        if self.enable_guests && self.authentication != JitsiAuth::Anonymous {
            cfg.hosts.push(host(&h.guest, Authentication::Anonymous));
        }
        cfg.hosts
            .push(host(&h.auth, Authentication::InternalHashed));
        for r in &h.recorders {
            if r != &h.auth && !cfg.hosts.iter().any(|x| x.domain.eq_ignore_ascii_case(r)) {
                cfg.hosts.push(host(r, Authentication::InternalHashed));
            }
        }

        let focus = self.focus_jid(&h);
        let jvb = self.jvb_jid(&h);
        let mut admins = vec![focus.clone(), jvb.clone()];
        for a in self.accounts.iter().filter(|a| a.admin) {
            let domain = a.domain.as_deref().unwrap_or(&h.auth);
            admins.push(format!(
                "{}@{}",
                a.user.to_lowercase(),
                domain.to_lowercase()
            ));
        }
        for a in admins {
            if !cfg.admins.contains(&a) {
                cfg.admins.push(a);
            }
        }

        let jid =
            |key: &'static str, s: &str| Jid::parse(s).map_err(|e| (key, format!("'{s}': {e}")));
        let mut conference = rookery_muc::MucConfig::new(jid("jitsi.muc_domain", &h.muc)?);
        conference.muc_room_locking = false;
        conference.muc_room_default_public_jids = true;
        conference.muc_room_cache_size = 10_000;
        conference.jitsi_meeting_id = true;
        conference.jicofo_lock = true;
        conference.jicofo_lock_timeout_seconds = self.jicofo_lock_timeout_seconds;
        conference.admins = vec![jid("jitsi.focus_user", &focus)?];
        if let Some(t) = &token {
            let prefix = h.muc.split('.').next().unwrap_or("conference").to_owned();
            conference.token_verification = Some(MucPolicyConfig {
                enable_domain_verification: t.enable_domain_verification,
                muc_mapper_domain_base: Some(h.domain.clone()),
                muc_mapper_domain_prefix: prefix,
                muc_mapper_domain: Some(h.muc.clone()),
                allow_empty_token: t.allow_empty_token,
                ..MucPolicyConfig::default()
            });
        }
        cfg.mucs.push(conference);

        let mut internal =
            rookery_muc::MucConfig::new(jid("jitsi.internal_muc_domain", &h.internal_muc)?);
        internal.muc_room_locking = false;
        internal.muc_room_default_public_jids = true;
        internal.restrict_room_creation = true;
        internal.muc_room_cache_size = 1000;
        internal.admins = vec![
            jid("jitsi.focus_user", &focus)?,
            jid("jitsi.jvb_user", &jvb)?,
        ];
        cfg.mucs.push(internal);

        cfg.client_proxies.push(ClientProxyConfig {
            domain: h.focus.clone(),
            target_address: focus,
        });
        if let Some(secret) = &self.focus_component_secret {
            cfg.components.push(ComponentConfig {
                domain: h.focus.clone(),
                secret: secret.clone(),
                subdomains: false,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(text: &str) -> Result<Config, String> {
        Config::parse(text, "t.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn minimal_profile_declares_the_standard_layout() {
        let c = expand("[jitsi]\ndomain = \"meet.example.com\"\n").unwrap();
        let hosts: Vec<(&str, Authentication)> = c
            .hosts
            .iter()
            .map(|h| (h.domain.as_str(), h.authentication))
            .collect();
        assert_eq!(
            hosts,
            [
                ("meet.example.com", Authentication::Anonymous),
                ("auth.meet.example.com", Authentication::InternalHashed),
                ("recorder.meet.example.com", Authentication::InternalHashed),
            ]
        );
        assert_eq!(
            c.admins,
            ["focus@auth.meet.example.com", "jvb@auth.meet.example.com"]
        );
        let conf = &c.mucs[0];
        assert_eq!(conf.domain.as_str(), "muc.meet.example.com");
        assert!(!conf.muc_room_locking && conf.muc_room_default_public_jids);
        assert!(conf.jitsi_meeting_id && conf.jicofo_lock && !conf.restrict_room_creation);
        assert!(conf.is_admin(&Jid::parse("focus@auth.meet.example.com/x").unwrap()));
        assert!(conf.token_verification.is_none());
        let internal = &c.mucs[1];
        assert_eq!(internal.domain.as_str(), "internal-muc.meet.example.com");
        assert!(internal.restrict_room_creation && !internal.muc_room_locking);
        assert!(internal.is_admin(&Jid::parse("jvb@auth.meet.example.com").unwrap()));
        assert!(!internal.jicofo_lock);
        assert_eq!(c.client_proxies.len(), 1);
        assert_eq!(c.client_proxies[0].domain, "focus.meet.example.com");
        assert_eq!(
            c.client_proxies[0].target_address,
            "focus@auth.meet.example.com"
        );
        assert!(c.components.is_empty());
        assert!(c.jitsi.as_ref().unwrap().startup_accounts().is_empty());
    }

    #[test]
    fn guests_token_component_and_accounts() {
        let c = expand(
            r#"
[jitsi]
domain = "meet.example.com"
muc_domain = "conference.meet.example.com"
authentication = "token"
enable_guests = true
focus_password = "fp"
jvb_password = "jp"
focus_component_secret = "cs"
jicofo_lock_timeout_seconds = 5

[jitsi.token]
app_id = "app"
app_secret = "secret"
allow_empty_token = true
enable_domain_verification = true

[[jitsi.account]]
user = "jibri"
password = "jb"
admin = true

[[jitsi.account]]
user = "recorder"
domain = "recorder.meet.example.com"
password = "rp"
"#,
        )
        .unwrap();
        assert_eq!(c.hosts[0].authentication, Authentication::Token);
        assert_eq!(
            c.hosts[0].token.as_ref().unwrap().app_id.as_deref(),
            Some("app")
        );
        assert_eq!(c.hosts[1].domain, "guest.meet.example.com");
        assert_eq!(c.hosts[1].authentication, Authentication::Anonymous);
        let policy = c.mucs[0].token_verification.as_ref().unwrap();
        assert!(policy.enable_domain_verification && policy.allow_empty_token);
        assert_eq!(policy.muc_mapper_domain_prefix, "conference");
        assert_eq!(
            policy.muc_mapper_domain_base.as_deref(),
            Some("meet.example.com")
        );
        assert_eq!(c.mucs[0].jicofo_lock_timeout_seconds, 5);
        assert_eq!(c.components.len(), 1);
        assert_eq!(c.components[0].domain, "focus.meet.example.com");
        assert!(c.admins.contains(&"jibri@auth.meet.example.com".to_owned()));
        let accounts: Vec<(String, String)> = c
            .jitsi
            .as_ref()
            .unwrap()
            .startup_accounts()
            .into_iter()
            .map(|a| (a.user, a.domain))
            .collect();
        assert_eq!(
            accounts,
            [
                ("focus".into(), "auth.meet.example.com".into()),
                ("jvb".into(), "auth.meet.example.com".into()),
                ("jibri".into(), "auth.meet.example.com".into()),
                ("recorder".into(), "recorder.meet.example.com".into()),
            ]
        );
        assert!(!format!("{c:?}").contains("\"fp\""));
    }

    #[test]
    fn the_shipped_profile_parses() {
        let c = expand(include_str!("../../../../../config/jitsi.toml")).unwrap();
        assert_eq!(c.hosts[0].domain, "meet.example.com");
        assert_eq!(c.mucs.len(), 2);
        assert_eq!(c.client_proxies[0].domain, "focus.meet.example.com");
    }

    #[test]
    fn refusals_name_the_key() {
        for (text, key) in [
            ("[jitsi]\ndomain = \"a b\"\n", "jitsi.domain"),
            (
                "[jitsi]\ndomain = \"m.example\"\nauthentication = \"token\"\n",
                "jitsi.token",
            ),
            (
                "[jitsi]\ndomain = \"m.example\"\nfocus_user = \"a@b\"\n",
                "jitsi.focus_user",
            ),
            (
                "[jitsi]\ndomain = \"m.example\"\njicofo_lock_timeout_seconds = 0\n",
                "jitsi.jicofo_lock_timeout_seconds",
            ),
            (
                "[jitsi]\ndomain = \"m.example\"\nauth_domain = \"x@y\"\n",
                "jitsi.auth_domain",
            ),
            ("[jitsi]\ndomain = \"m.example\"\nbogus = 1\n", "bogus"),
            (
                "[jitsi]\ndomain = \"m.example\"\n[[host]]\ndomain = \"m.example\"\nauthentication = \"anonymous\"\n",
                "declared twice",
            ),
        ] {
            let e = expand(text).unwrap_err();
            assert!(e.contains(key), "{text}: {e}");
        }
    }
}
