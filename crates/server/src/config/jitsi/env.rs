//! docker-jitsi-meet's environment variables → a Rookery configuration.
//!
//! The names and defaults are those of docker-jitsi-meet's `prosody` image, so the `web`,
//! `jicofo` and `jvb` images work unchanged against a Rookery container started with the
//! same `.env`. An empty variable counts as unset (docker compose passes `VAR=` through).
//! A value that cannot be used stops the start with an error naming the variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use rookery_policy::TokenHostConfig;

use super::profile::{JitsiAccount, JitsiAuth, JitsiProfile};
use crate::config::{Config, CrossDomain, HttpConfig};
use crate::services::component::Secret;

/// A variable that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {var}: {reason}")]
pub struct EnvError {
    /// The variable's name.
    pub var: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

fn err(var: &'static str, reason: impl Into<String>) -> EnvError {
    EnvError {
        var,
        reason: reason.into(),
    }
}

/// One documented variable: name, default (`None` = unset/required) and meaning.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    /// The name.
    pub name: &'static str,
    /// docker-jitsi-meet's default.
    pub default: Option<&'static str>,
    /// What it sets.
    pub meaning: &'static str,
}

const fn var(name: &'static str, default: Option<&'static str>, meaning: &'static str) -> Variable {
    Variable {
        name,
        default,
        meaning,
    }
}

/// Every variable Rookery reads in `--jitsi-env` mode.
pub const VARIABLES: &[Variable] = &[
    var(
        "XMPP_DOMAIN",
        Some("meet.jitsi"),
        "main host (web participants)",
    ),
    var(
        "XMPP_AUTH_DOMAIN",
        Some("auth.meet.jitsi"),
        "host of the focus, jvb, jibri and jigasi accounts",
    ),
    var(
        "XMPP_GUEST_DOMAIN",
        Some("guest.meet.jitsi"),
        "anonymous guest host (with ENABLE_AUTH and ENABLE_GUESTS)",
    ),
    var("XMPP_MUC_DOMAIN", Some("muc.meet.jitsi"), "conference MUC"),
    var(
        "XMPP_INTERNAL_MUC_DOMAIN",
        Some("internal-muc.meet.jitsi"),
        "internal MUC (brewery rooms)",
    ),
    var(
        "XMPP_RECORDER_DOMAIN",
        Some("recorder.meet.jitsi"),
        "recorder host (jibri's hidden participant)",
    ),
    var(
        "XMPP_HIDDEN_DOMAIN",
        Some("hidden.meet.jitsi"),
        "newer name of the recorder host; both are served",
    ),
    var("JICOFO_AUTH_USER", Some("focus"), "focus account user name"),
    var(
        "JICOFO_AUTH_PASSWORD",
        None,
        "focus account password (required)",
    ),
    var("JVB_AUTH_USER", Some("jvb"), "bridge account user name"),
    var(
        "JVB_AUTH_PASSWORD",
        None,
        "bridge account password (required)",
    ),
    var(
        "JICOFO_COMPONENT_SECRET",
        None,
        "also accept focus.<domain> as an XEP-0114 component (older jicofo)",
    ),
    var(
        "ENABLE_AUTH",
        Some("0"),
        "participants need credentials (AUTH_TYPE)",
    ),
    var(
        "AUTH_TYPE",
        Some("internal"),
        "internal (accounts) or jwt (tokens)",
    ),
    var("ENABLE_GUESTS", Some("0"), "serve the anonymous guest host"),
    var(
        "JWT_APP_ID",
        None,
        "token app_id (required with AUTH_TYPE=jwt)",
    ),
    var("JWT_APP_SECRET", None, "HMAC secret of tokens"),
    var(
        "JWT_ACCEPTED_ISSUERS",
        None,
        "comma-separated accepted iss values",
    ),
    var(
        "JWT_ACCEPTED_AUDIENCES",
        None,
        "comma-separated accepted aud values",
    ),
    var(
        "JWT_ASAP_KEYSERVER",
        None,
        "URL of the public key server (RS256 tokens)",
    ),
    var(
        "JWT_ALLOW_EMPTY",
        Some("0"),
        "participants without a token join as guests",
    ),
    var(
        "JWT_ENABLE_DOMAIN_VERIFICATION",
        Some("0"),
        "check the token's sub against the room's tenant",
    ),
    var(
        "ENABLE_XMPP_WEBSOCKET",
        Some("1"),
        "accepted for compatibility; /xmpp-websocket is always served",
    ),
    var(
        "PUBLIC_URL",
        Some("https://localhost:8443"),
        "the page origin allowed to use WebSocket and BOSH",
    ),
    var(
        "JIBRI_XMPP_USER",
        Some("jibri"),
        "jibri's account user name (admin)",
    ),
    var(
        "JIBRI_XMPP_PASSWORD",
        None,
        "creates jibri's account on the auth host",
    ),
    var(
        "JIBRI_RECORDER_USER",
        Some("recorder"),
        "recorder account user name",
    ),
    var(
        "JIBRI_RECORDER_PASSWORD",
        None,
        "creates the recorder account on the recorder host",
    ),
    var(
        "JIGASI_XMPP_USER",
        Some("jigasi"),
        "jigasi's account user name (admin)",
    ),
    var(
        "JIGASI_XMPP_PASSWORD",
        None,
        "creates jigasi's account on the auth host",
    ),
    var(
        "XMPP_PORT",
        Some("5222"),
        "client TCP port (all interfaces)",
    ),
    var(
        "PROSODY_HTTP_PORT",
        Some("5280"),
        "HTTP port: /xmpp-websocket, /http-bind, /health",
    ),
    var("LOG_LEVEL", Some("info"), "log filter (RUST_LOG wins)"),
    var(
        "ROOKERY_DATA_DIR",
        Some("data"),
        "directory of the account store",
    ),
    var(
        "ROOKERY_COMPONENT_PORT",
        Some("5347"),
        "XEP-0114 component port (with JICOFO_COMPONENT_SECRET)",
    ),
];

/// Reads variables through `get` (tests pass a map; the binary passes the process
/// environment) with empty values treated as unset.
struct Env<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
}

impl Env<'_> {
    fn raw(&self, name: &'static str) -> Option<String> {
        (self.get)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn default_of(name: &'static str) -> &'static str {
        VARIABLES
            .iter()
            .find(|v| v.name == name)
            .and_then(|v| v.default)
            .unwrap_or("")
    }

    fn string(&self, name: &'static str) -> String {
        self.raw(name)
            .unwrap_or_else(|| Self::default_of(name).to_owned())
    }

    fn required(&self, name: &'static str) -> Result<String, EnvError> {
        self.raw(name).ok_or_else(|| err(name, "must be set"))
    }

    fn boolean(&self, name: &'static str) -> Result<bool, EnvError> {
        let v = self.string(name);
        parse_bool(&v).ok_or_else(|| {
            err(
                name,
                format!("'{v}' is not a boolean (use 1/0, true/false, yes/no, on/off)"),
            )
        })
    }

    fn domain(&self, name: &'static str) -> Result<String, EnvError> {
        let v = self.string(name);
        rookery_proto::Jid::parse(&v)
            .ok()
            .filter(|j| j.node().is_none() && !j.is_full())
            .map(|j| j.to_string())
            .ok_or_else(|| err(name, format!("'{v}' is not a domain name")))
    }

    fn user(&self, name: &'static str) -> Result<String, EnvError> {
        let v = self.string(name);
        rookery_proto::Jid::from_parts(Some(&v), "example.invalid", None)
            .map(|j| j.node().unwrap_or_default().to_owned())
            .map_err(|e| err(name, format!("'{v}' is not a valid user name: {e}")))
    }

    fn port(&self, name: &'static str) -> Result<u16, EnvError> {
        let v = self.string(name);
        v.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| err(name, format!("'{v}' is not a port number")))
    }

    fn list(&self, name: &'static str) -> Option<Vec<String>> {
        let list: Vec<String> = self
            .raw(name)?
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        (!list.is_empty()).then_some(list)
    }
}

/// docker-jitsi-meet's boolean spellings.
fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// The origin (`scheme://host[:port]`) of `PUBLIC_URL`.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains(char::is_whitespace) || authority.contains('@') {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let authority = authority.to_ascii_lowercase();
    // Browsers leave the scheme's default port out of `Origin`.
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{authority}"))
}

fn all_interfaces(port: u16) -> Vec<SocketAddr> {
    vec![SocketAddr::from(([0, 0, 0, 0], port))]
}

/// The token settings for `AUTH_TYPE=jwt`, each problem named by its variable.
fn token_settings(env: &Env<'_>) -> Result<TokenHostConfig, EnvError> {
    let app_id = env.required("JWT_APP_ID")?;
    let app_secret = env.raw("JWT_APP_SECRET");
    let key_server = env.raw("JWT_ASAP_KEYSERVER");
    if let Some(url) = &key_server
        && origin_of(url).is_none()
    {
        return Err(err(
            "JWT_ASAP_KEYSERVER",
            format!("'{url}' is not an http(s) URL"),
        ));
    }
    if app_secret.is_none() && key_server.is_none() {
        return Err(err(
            "JWT_APP_SECRET",
            "must be set with AUTH_TYPE=jwt (or set JWT_ASAP_KEYSERVER)",
        ));
    }
    let mut t = TokenHostConfig {
        app_id: Some(app_id),
        allow_empty_token: env.boolean("JWT_ALLOW_EMPTY")?,
        enable_domain_verification: env.boolean("JWT_ENABLE_DOMAIN_VERIFICATION")?,
        ..TokenHostConfig::default()
    };
    // With a key server, tokens are RS256 and the secret is not used (Prosody's order).
    match key_server {
        Some(url) => t.asap_key_server = Some(url),
        None => t.app_secret = app_secret,
    }
    if let Some(issuers) = env.list("JWT_ACCEPTED_ISSUERS") {
        t.asap_accepted_issuers = Some(issuers);
    }
    if let Some(audiences) = env.list("JWT_ACCEPTED_AUDIENCES") {
        t.asap_accepted_audiences = audiences;
    }
    t.validate()
        .map_err(|e| err("JWT_APP_ID", format!("the token settings cannot work: {e}")))?;
    Ok(t)
}

/// Builds the whole configuration from docker-jitsi-meet's variables, read through `get`.
pub fn config_from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Config, EnvError> {
    let env = Env { get };
    let domain = env.domain("XMPP_DOMAIN")?;
    let mut profile = JitsiProfile::new(&domain);
    profile.auth_domain = Some(env.domain("XMPP_AUTH_DOMAIN")?);
    profile.guest_domain = Some(env.domain("XMPP_GUEST_DOMAIN")?);
    profile.muc_domain = Some(env.domain("XMPP_MUC_DOMAIN")?);
    profile.internal_muc_domain = Some(env.domain("XMPP_INTERNAL_MUC_DOMAIN")?);
    let mut recorders = vec![env.domain("XMPP_RECORDER_DOMAIN")?];
    let hidden = env.domain("XMPP_HIDDEN_DOMAIN")?;
    if !recorders.contains(&hidden) {
        recorders.push(hidden);
    }
    profile.recorder_domains = Some(recorders.clone());
    profile.focus_user = env.user("JICOFO_AUTH_USER")?;
    profile.jvb_user = env.user("JVB_AUTH_USER")?;
    profile.focus_password = Some(Secret::new(env.required("JICOFO_AUTH_PASSWORD")?));
    profile.jvb_password = Some(Secret::new(env.required("JVB_AUTH_PASSWORD")?));
    profile.focus_component_secret = env.raw("JICOFO_COMPONENT_SECRET").map(Secret::new);

    let enable_auth = env.boolean("ENABLE_AUTH")?;
    let auth_type = env.string("AUTH_TYPE").to_ascii_lowercase();
    profile.authentication = match (enable_auth, auth_type.as_str()) {
        (false, "internal" | "jwt" | "ldap" | "matrix" | "hybrid_matrix_token") => {
            JitsiAuth::Anonymous
        }
        (true, "internal") => JitsiAuth::InternalHashed,
        (true, "jwt") => JitsiAuth::Token,
        (true, "ldap" | "matrix" | "hybrid_matrix_token") => {
            return Err(err(
                "AUTH_TYPE",
                format!("'{auth_type}' is not supported by Rookery (use internal or jwt)"),
            ));
        }
        (_, other) => {
            return Err(err(
                "AUTH_TYPE",
                format!("'{other}' is not one of internal, jwt"),
            ));
        }
    };
    profile.enable_guests = env.boolean("ENABLE_GUESTS")?;
    if profile.authentication == JitsiAuth::Token {
        profile.token = Some(token_settings(&env)?);
    } else {
        // Still reject malformed values so a typo is found before AUTH_TYPE is switched.
        env.boolean("JWT_ALLOW_EMPTY")?;
        env.boolean("JWT_ENABLE_DOMAIN_VERIFICATION")?;
    }
    if !env.boolean("ENABLE_XMPP_WEBSOCKET")? {
        tracing::info!(
            "ENABLE_XMPP_WEBSOCKET=0: /xmpp-websocket stays available; the web container decides what clients use"
        );
    }

    let auth = profile.auth_domain.clone().unwrap_or_default();
    for (user_var, password_var, domain, admin) in [
        ("JIBRI_XMPP_USER", "JIBRI_XMPP_PASSWORD", auth.clone(), true),
        (
            "JIGASI_XMPP_USER",
            "JIGASI_XMPP_PASSWORD",
            auth.clone(),
            true,
        ),
        (
            "JIBRI_RECORDER_USER",
            "JIBRI_RECORDER_PASSWORD",
            recorders.first().cloned().unwrap_or_default(),
            false,
        ),
    ] {
        let user = env.user(user_var)?;
        if let Some(password) = env.raw(password_var) {
            profile.accounts.push(JitsiAccount {
                user,
                domain: Some(domain),
                password: Secret::new(password),
                admin,
            });
        }
    }

    let public_url = env.string("PUBLIC_URL");
    let origin = origin_of(&public_url).ok_or_else(|| {
        err(
            "PUBLIC_URL",
            format!("'{public_url}' is not an http(s) URL such as https://meet.example.com"),
        )
    })?;

    let log_level = env.string("LOG_LEVEL");
    if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
        return Err(err(
            "LOG_LEVEL",
            format!("'{log_level}' is not a log filter (info, debug, warn, rookery=debug, ...)"),
        ));
    }
    let mut cfg =
        Config::parse("", "<environment>").map_err(|e| err("XMPP_DOMAIN", e.to_string()))?;
    cfg.log_level = log_level;
    cfg.data_dir = PathBuf::from(env.string("ROOKERY_DATA_DIR"));
    cfg.c2s.listen = all_interfaces(env.port("XMPP_PORT")?);
    cfg.http = Some(HttpConfig {
        listen: all_interfaces(env.port("PROSODY_HTTP_PORT")?),
        cross_domain_bosh: CrossDomain::Origins(vec![origin.clone()]),
        cross_domain_websocket: CrossDomain::Origins(vec![origin]),
        consider_secure: true,
        ..HttpConfig::default()
    });
    cfg.component_listener.listen = all_interfaces(env.port("ROOKERY_COMPONENT_PORT")?);
    cfg.with_jitsi(profile, "<environment>")
        .map_err(|e| err("XMPP_DOMAIN", e.to_string()))
}

/// Reads the process environment.
pub fn config_from_process_env() -> Result<Config, EnvError> {
    config_from_env(&|name| std::env::var(name).ok())
}

/// The configuration when no `--config` is given: from the environment with `--jitsi-env`
/// or when `XMPP_DOMAIN` is set, otherwise the embedded default.
pub fn default_config(jitsi_env: bool) -> Result<Config, String> {
    let from_env = jitsi_env
        || std::env::var("XMPP_DOMAIN")
            .map(|v| !v.trim().is_empty())
            .unwrap_or(false);
    if from_env {
        config_from_process_env().map_err(|e| e.to_string())
    } else {
        Config::embedded_default().map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests;
