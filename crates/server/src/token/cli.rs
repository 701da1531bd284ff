//! `rookery token mint` and `rookery token explain`: sign a token with a host's configured
//! secret, and show, check by check, why a token does or does not open a meeting URL — with
//! the same verifier and policy the server runs, so the explanation cannot disagree with it.

use std::time::Duration;

use rookery_muc::MucConfig;
use rookery_policy::{AdminSources, MucPolicy, TokenHostConfig};
use rookery_sasl::token::{TokenVerifier, default_claims, mint, unix_now};
use serde_json::{Map, Value};

use super::explain_with_keys;
use crate::config::Config;
use crate::core::TokenHost;
use crate::services::muc_policy::effective_policy_config;

/// What `token mint` needs.
#[derive(Debug, Clone, Default)]
pub struct MintRequest {
    /// The token host (a `[[host]]` with `[host.token]`).
    pub host: String,
    /// `room` claim (default `*`).
    pub room: Option<String>,
    /// `sub` claim (default: the host's domain).
    pub sub: Option<String>,
    /// Lifetime (default one hour).
    pub exp_in: Option<Duration>,
    /// Sets `context.user.moderator = true`.
    pub moderator: bool,
    /// Extra claims `key=value`; dotted keys nest (`context.user.name=Ann`), values that
    /// parse as JSON are used as JSON, others as strings.
    pub claims: Vec<String>,
}

fn token_host<'a>(cfg: &'a Config, host: &str) -> Result<&'a TokenHostConfig, String> {
    let h = cfg
        .host(host)
        .ok_or_else(|| format!("host '{host}' is not configured"))?;
    h.token
        .as_ref()
        .ok_or_else(|| format!("host '{host}' has no [host.token] section"))
}

fn insert_dotted(map: &mut Map<String, Value>, key: &str, value: Value) -> Result<(), String> {
    let mut parts = key.split('.').peekable();
    let mut cur = map;
    while let Some(part) = parts.next() {
        if part.is_empty() {
            return Err(format!("bad claim key '{key}'"));
        }
        if parts.peek().is_none() {
            cur.insert(part.to_owned(), value);
            return Ok(());
        }
        let slot = cur
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        cur = match slot.as_object_mut() {
            Some(m) => m,
            None => return Err(format!("bad claim key '{key}'")),
        };
    }
    Ok(())
}

/// Signs a token for `req.host` with its configured HMAC secret.
pub fn mint_token(cfg: &Config, req: &MintRequest) -> Result<String, String> {
    let tcfg = token_host(cfg, &req.host)?;
    let ttl = req.exp_in.unwrap_or(Duration::from_secs(3600)).as_secs();
    let sub = req.sub.clone().unwrap_or_else(|| req.host.to_lowercase());
    let mut claims = default_claims(
        tcfg,
        req.room.as_deref().unwrap_or("*"),
        &sub,
        unix_now(),
        ttl,
    );
    if req.moderator {
        insert_dotted(&mut claims, "context.user.moderator", Value::Bool(true))?;
    }
    for kv in &req.claims {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("--claim needs key=value, got '{kv}'"))?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_owned()));
        insert_dotted(&mut claims, k, value)?;
    }
    mint(tcfg, &Value::Object(claims)).map_err(|e| e.to_string())
}

/// The MUC service whose rooms a meeting on `host` lives in: the one mapping `host` as its
/// base domain, else `conference.<host>`, else the first service with token verification.
fn conference_for<'a>(cfg: &'a Config, host: &str) -> Option<&'a MucConfig> {
    let with_policy = || cfg.mucs.iter().filter(|m| m.token_verification.is_some());
    with_policy()
        .find(|m| {
            m.token_verification
                .as_ref()
                .and_then(|t| t.muc_mapper_domain_base.as_deref())
                .is_some_and(|b| b.eq_ignore_ascii_case(host))
        })
        .or_else(|| with_policy().find(|m| m.domain.as_str() == format!("conference.{host}")))
        .or_else(|| with_policy().next())
}

/// Explains `token` against `url` (`https://HOST[/TENANT]/ROOM`). `host` overrides the token
/// host when the web host differs from the XMPP domain.
pub async fn explain_token(
    cfg: &Config,
    url: &str,
    token: &str,
    host: Option<&str>,
) -> Result<(String, bool), String> {
    let meeting = rookery_sasl::token::MeetingUrl::parse(url).map_err(|e| e.to_string())?;
    let host = match host {
        Some(h) => h.to_owned(),
        None if cfg
            .host(&meeting.host)
            .and_then(|h| h.token.as_ref())
            .is_some() =>
        {
            meeting.host.clone()
        }
        None => cfg
            .hosts
            .iter()
            .find(|h| h.token.is_some())
            .map(|h| h.domain.clone())
            .ok_or("no [[host]] has a [host.token] section")?,
    };
    let tcfg = token_host(cfg, &host)?;
    let th = TokenHost::new(tcfg)?;
    let muc = conference_for(cfg, &host)
        .ok_or("no [[muc]] has a [muc.token_verification] section to check rooms with")?;
    let pcfg = effective_policy_config(muc).ok_or("the MUC has no token verification")?;
    let parent: Vec<String> = cfg
        .hosts
        .iter()
        .filter(|h| muc.domain.as_str().ends_with(&format!(".{}", h.domain)))
        .flat_map(|h| h.admins.iter().cloned())
        .collect();
    let policy = MucPolicy::new(
        muc.domain.as_str(),
        pcfg,
        AdminSources {
            global: &cfg.admins,
            parent_host: &parent,
        },
    );
    let verifier: &TokenVerifier = &th.verifier;
    let e = explain_with_keys(verifier, th.keys.as_ref(), &policy, url, token, unix_now())
        .await
        .map_err(|e| e.to_string())?;
    Ok((e.to_string(), e.allowed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = r#"
[[host]]
domain = "meet.example.com"
authentication = "token"
[host.token]
app_id = "app"
app_secret = "s3cret"
asap_accepted_audiences = ["jitsi"]
enable_domain_verification = true
[[muc]]
domain = "conference.meet.example.com"
[muc.token_verification]
enable_domain_verification = true
muc_mapper_domain_base = "meet.example.com"
"#;

    fn cfg() -> Config {
        Config::parse(CFG, "t").unwrap()
    }

    fn req(room: &str, sub: &str) -> MintRequest {
        MintRequest {
            host: "meet.example.com".into(),
            room: Some(room.into()),
            sub: Some(sub.into()),
            ..Default::default()
        }
    }

    async fn verdict(url: &str, token: &str) -> (String, bool) {
        explain_token(&cfg(), url, token, None).await.unwrap()
    }

    #[tokio::test]
    async fn explain_verdicts() {
        let c = cfg();
        let good = mint_token(&c, &req("standup", "meet.example.com")).unwrap();
        let (text, ok) = verdict("https://meet.example.com/standup", &good).await;
        assert!(ok, "{text}");

        let (text, ok) = verdict("https://meet.example.com/other", &good).await;
        assert!(!ok && text.contains("room"), "wrong room: {text}");

        let tenant = mint_token(&c, &req("standup", "acme")).unwrap();
        let (text, ok) = verdict("https://meet.example.com/acme/standup", &tenant).await;
        assert!(ok, "{text}");
        let (text, ok) = verdict("https://meet.example.com/beta/standup", &tenant).await;
        assert!(!ok, "wrong tenant: {text}");

        let (text, ok) = verdict("https://meet.example.com/standup", &tenant).await;
        assert!(!ok, "wrong sub: {text}");

        let expired = mint_token(
            &c,
            &MintRequest {
                claims: vec![format!("exp={}", unix_now() - 10)],
                ..req("standup", "meet.example.com")
            },
        )
        .unwrap();
        let (text, ok) = verdict("https://meet.example.com/standup", &expired).await;
        assert!(!ok && text.contains("Not acceptable by exp"), "{text}");

        let mut bad_sig = good.clone();
        bad_sig.pop();
        bad_sig.push(if good.ends_with('A') { 'B' } else { 'A' });
        let (text, ok) = verdict("https://meet.example.com/standup", &bad_sig).await;
        assert!(!ok && text.contains("Invalid signature"), "{text}");
    }

    #[test]
    fn mint_options() {
        let c = cfg();
        let t = mint_token(
            &c,
            &MintRequest {
                moderator: true,
                claims: vec![
                    "context.user.name=Ann".into(),
                    "context.features.recording=true".into(),
                ],
                ..req("r", "meet.example.com")
            },
        )
        .unwrap();
        let payload = t.split('.').nth(1).unwrap();
        use base64::Engine;
        let json: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(json["context"]["user"]["moderator"], Value::Bool(true));
        assert_eq!(json["context"]["user"]["name"], "Ann");
        assert_eq!(json["context"]["features"]["recording"], Value::Bool(true));
        assert_eq!(json["room"], "r");
        assert!(
            mint_token(
                &c,
                &MintRequest {
                    host: "nope".into(),
                    ..Default::default()
                }
            )
            .is_err()
        );
    }
}
