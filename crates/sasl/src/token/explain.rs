//! `rookery token explain`: why a token does or does not open a meeting URL.
//!
//! Every check runs (not only up to the first failure) so the operator sees all problems at
//! once; the verdict itself comes from the real verifier and the real room policy, so the
//! explanation cannot disagree with what the server does.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rookery_policy::{
    AddressForm, Decision, MucPolicy, RoomAction, RoomKey, Subject, room_claim_of, subject_of,
};
use serde_json::Value;

use super::checks;
use super::error::TokenError;
use super::key::VerificationKey;
use super::parse;
use super::verifier::{self, KeyNeed, TokenVerifier};

/// A meeting URL that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// No host.
    #[error("the URL has no host")]
    NoHost,
    /// No room segment.
    #[error("the URL names no room")]
    NoRoom,
    /// More than `/TENANT/ROOM`.
    #[error("the URL path has more than /TENANT/ROOM")]
    TooManySegments,
    /// Bad percent-encoding or not UTF-8.
    #[error("the URL path is not valid percent-encoded UTF-8")]
    BadEncoding,
    /// The room or tenant is not a valid room name.
    #[error("invalid room or tenant name: {0}")]
    BadName(String),
}

/// `https://HOST[/TENANT]/ROOM`, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingUrl {
    /// The web host (lowercased, port removed).
    pub host: String,
    /// The tenant path segment, if any.
    pub tenant: Option<String>,
    /// The room path segment.
    pub room: String,
}

impl MeetingUrl {
    /// Parses a meeting URL; query and fragment are ignored, segments percent-decoded.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .unwrap_or(url);
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = authority
            .rsplit('@')
            .next()
            .unwrap_or_default()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_lowercase();
        if host.is_empty() {
            return Err(UrlError::NoHost);
        }
        let segments = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect::<Result<Vec<_>, _>>()?;
        match segments.as_slice() {
            [] => Err(UrlError::NoRoom),
            [room] => Ok(Self {
                host,
                tenant: None,
                room: room.clone(),
            }),
            [tenant, room] => Ok(Self {
                host,
                tenant: Some(tenant.clone()),
                room: room.clone(),
            }),
            _ => Err(UrlError::TooManySegments),
        }
    }

    /// The room key this URL opens.
    pub fn room_key(&self) -> Result<RoomKey, UrlError> {
        RoomKey::new(self.tenant.as_deref(), &self.room)
            .map_err(|e| UrlError::BadName(e.to_string()))
    }
}

fn percent_decode(segment: &str) -> Result<String, UrlError> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(UrlError::BadEncoding)?;
            let hex = std::str::from_utf8(hex).map_err(|_| UrlError::BadEncoding)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| UrlError::BadEncoding)?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UrlError::BadEncoding)
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    /// Passed.
    Pass,
    /// Failed: the token is refused (or the room would be).
    Fail,
    /// Passes, but worth knowing (e.g. a token crossing tenants).
    Warn,
    /// Not evaluated (an earlier structural failure, or not applicable).
    Skipped,
}

impl CheckStatus {
    fn label(self) -> &'static str {
        match self {
            Self::Pass => " ok ",
            Self::Fail => "FAIL",
            Self::Warn => "warn",
            Self::Skipped => "skip",
        }
    }
}

/// One line of an explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked (`signature`, `alg`, `typ`, `kid`, `exp`, `nbf`, `iss`, `aud`,
    /// `room`, `sub`, `tenant`, ...).
    pub name: &'static str,
    /// The outcome.
    pub status: CheckStatus,
    /// Details or the failure reason.
    pub detail: String,
}

/// Everything `rookery token explain` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The URL examined.
    pub url: MeetingUrl,
    /// The room's address as clients see it (`room@conference.tenant.base`).
    pub room_address: String,
    /// Each check, in verification order.
    pub checks: Vec<Check>,
    /// The verifier's verdict: `Err` carries the SASL failure text.
    pub authentication: Result<(), String>,
    /// The room policy's decision on joining, when authentication passed.
    pub join: Option<Decision>,
    /// What the token would need to open this URL (filled when refused).
    pub needs: Vec<String>,
}

impl Explanation {
    /// Whether the token opens the URL (authenticates and may join).
    pub fn allowed(&self) -> bool {
        self.authentication.is_ok() && self.join.as_ref().is_some_and(Decision::is_allowed)
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenant = self
            .url
            .tenant
            .as_ref()
            .map_or(String::new(), |t| format!("{t}/"));
        writeln!(
            f,
            "Meeting: https://{}/{tenant}{} -> room {}",
            self.url.host, self.url.room, self.room_address
        )?;
        for check in &self.checks {
            writeln!(
                f,
                "  [{}] {:<10} {}",
                check.status.label(),
                check.name,
                check.detail
            )?;
        }
        match &self.authentication {
            Ok(()) => writeln!(f, "Authentication: accepted")?,
            Err(reason) => writeln!(f, "Authentication: refused: {reason}")?,
        }
        match &self.join {
            Some(Decision::Allow(grant)) => writeln!(f, "Join: allowed ({grant:?})")?,
            Some(Decision::Refuse(refusal)) => writeln!(f, "Join: refused: {refusal}")?,
            None => writeln!(f, "Join: not checked (authentication refused)")?,
        }
        writeln!(
            f,
            "Verdict: {}",
            if self.allowed() { "ALLOWED" } else { "REFUSED" }
        )?;
        if !self.needs.is_empty() {
            writeln!(f, "This URL needs: {}", self.needs.join(", "))?;
        }
        Ok(())
    }
}

/// Explains `token` against `url` on a host verified by `verifier` whose rooms live on the
/// MUC service of `policy`. `key` is the fetched key for key-server/JWKS hosts (the
/// server's `token::explain_with_keys` fetches it first); `now` is seconds since the Unix
/// epoch.
pub fn explain(
    verifier: &TokenVerifier,
    key: Option<&VerificationKey>,
    policy: &MucPolicy,
    url: &str,
    token: &str,
    now: u64,
) -> Result<Explanation, UrlError> {
    let meeting = MeetingUrl::parse(url)?;
    let room = meeting.room_key()?;
    let room_address = policy
        .mapper()
        .outbound(&room, AddressForm::Subdomain)
        .to_string();
    let settings = verifier.settings();
    let mut list = Vec::new();
    let mut push = |name: &'static str, status: CheckStatus, detail: String| {
        list.push(Check {
            name,
            status,
            detail,
        });
    };

    // The real verdict, exactly as authentication computes it.
    let verdict = verifier
        .prepare(token)
        .and_then(|p| verifier.verify_prepared(&p, key, now));

    match parse::decode(token, usize::MAX) {
        Err(err) => push("format", CheckStatus::Fail, err.reason().to_owned()),
        Ok(decoded) => {
            let size = match verifier.prepare(token) {
                Err(e) if e.kind() == super::TokenErrorKind::TooLarge => {
                    (CheckStatus::Fail, e.reason().to_owned())
                }
                _ => (
                    CheckStatus::Pass,
                    format!("{} bytes, 3 segments, JSON header and payload", token.len()),
                ),
            };
            push("format", size.0, size.1);
            let header_alg = decoded.header.get("alg").map_or("(none)".to_owned(), show);
            let alg = checks::alg(
                &decoded.header,
                verifier.algorithm(),
                verifier.fetches_keys(),
            );
            push(
                "alg",
                status(&alg),
                format!(
                    "{}header alg {header_alg}, host requires {}",
                    failure_prefix(&alg),
                    verifier.algorithm()
                ),
            );
            let typ = checks::typ(&decoded.header);
            let typ_shown = decoded.header.get("typ").map_or("absent".to_owned(), show);
            push(
                "typ",
                status(&typ),
                format!("{}typ {typ_shown}", failure_prefix(&typ)),
            );
            let prepared = verifier.prepare(token);
            if verifier.fetches_keys() {
                let kid = checks::kid(&decoded.header, true);
                let detail = match (&kid, &prepared) {
                    (Ok(_), Ok(p)) => match p.key_need() {
                        KeyNeed::KeyServer { kid, url } => format!("kid {kid:?}: key from {url}"),
                        KeyNeed::Jwks { kid, url } => format!("kid {kid:?}: key from JWKS {url}"),
                        KeyNeed::Configured => "configured key".to_owned(),
                    },
                    (Ok(Some(kid)), Err(_)) => format!("kid {kid:?}"),
                    (Ok(_), Err(_)) => "kid present".to_owned(),
                    (Err(e), _) => e.reason().to_owned(),
                };
                push("kid", status(&kid), detail);
            }
            let sig = match &prepared {
                Ok(p) => match verifier.key_for(p, key) {
                    Ok(k) => checks::signature(verifier::decoded(p), k)
                        .map(|()| format!("verified with the {} key", k.algorithm())),
                    Err(e) => Err(e),
                },
                Err(_) => Err(TokenError::new(
                    super::TokenErrorKind::Signature,
                    "not checked: the header checks failed",
                )),
            };
            push_result(&mut push, "signature", sig);

            let payload = &decoded.payload;
            let exp = checks::exp(payload, now, settings.leeway, settings.require_exp);
            let exp_detail = time_detail(
                payload.get("exp"),
                now,
                ("expires", "expired"),
                "never expires",
            );
            push(
                "exp",
                status(&exp),
                format!("{}{exp_detail}", failure_prefix(&exp)),
            );
            let nbf = checks::nbf(payload, now, settings.leeway);
            let nbf_detail = time_detail(
                payload.get("nbf"),
                now,
                ("valid from", "valid since"),
                "no nbf",
            );
            push(
                "nbf",
                status(&nbf),
                format!("{}{nbf_detail}", failure_prefix(&nbf)),
            );
            let iss = checks::issuer(payload, settings.accepted_issuers);
            push(
                "iss",
                status(&iss),
                format!(
                    "{}iss {}, accepted {:?}",
                    failure_prefix(&iss),
                    payload.get("iss").map_or("absent".to_owned(), show),
                    settings.accepted_issuers
                ),
            );
            let aud = checks::audience(payload, settings.accepted_audiences);
            push(
                "aud",
                status(&aud),
                format!(
                    "{}aud {}, accepted {:?}",
                    failure_prefix(&aud),
                    payload.get("aud").map_or("absent".to_owned(), show),
                    settings.accepted_audiences
                ),
            );
            match room_claim_of(payload, settings.requirements.require_room) {
                Ok(claim) => push("room", CheckStatus::Pass, format!("room claim {claim}")),
                Err(e) => push("room", CheckStatus::Fail, e.reason().to_owned()),
            }
            let subject = subject_of(payload, settings.requirements.require_sub);
            match &subject {
                Ok(sub) => push("sub", CheckStatus::Pass, format!("sub {sub}")),
                Err(e) => push("sub", CheckStatus::Fail, e.reason().to_owned()),
            }
            if let (Some(tenant), Ok(sub)) = (room.tenant(), &subject) {
                let matches = match sub {
                    Subject::Any => true,
                    Subject::Name(name) => name == tenant,
                    Subject::Absent => false,
                };
                let verifying = policy.config().enable_domain_verification
                    || policy.config().token_strict_tenants;
                let (state, detail) = match (matches, verifying) {
                    (true, _) => (
                        CheckStatus::Pass,
                        format!("sub {sub} covers tenant {tenant}"),
                    ),
                    (false, true) => (
                        CheckStatus::Fail,
                        format!("sub {sub} is not tenant {tenant}"),
                    ),
                    (false, false) => (
                        CheckStatus::Warn,
                        format!(
                            "sub {sub} is not tenant {tenant}: allowed only because domain \
                             verification is off"
                        ),
                    ),
                };
                push("tenant", state, detail);
            }
        }
    }

    // The token alone: a session holding it is neither an admin nor allowlisted.
    let join = verdict
        .as_ref()
        .ok()
        .map(|claims| policy.verify_token(claims, &room, RoomAction::Join));
    let authentication = verdict.map(|_| ()).map_err(|e| e.reason().to_owned());
    let mut explanation = Explanation {
        url: meeting,
        room_address,
        checks: list,
        authentication,
        join,
        needs: Vec::new(),
    };
    if !explanation.allowed() {
        explanation.needs = needs(verifier, policy, &room);
    }
    Ok(explanation)
}

/// The claims a token needs to open `room` on this host and MUC service.
fn needs(verifier: &TokenVerifier, policy: &MucPolicy, room: &RoomKey) -> Vec<String> {
    let settings = verifier.settings();
    let config = policy.config();
    let mut out = vec![format!("room = {:?} (or \"*\")", room.name())];
    let base = policy
        .muc_host()
        .strip_prefix(&format!("{}.", policy.mapper().prefix()))
        .unwrap_or(policy.muc_host())
        .to_owned();
    match (
        room.tenant(),
        config.enable_domain_verification || config.token_strict_tenants,
    ) {
        (Some(tenant), true) => out.push(format!("sub = {tenant:?} (or \"*\")")),
        (None, true) if config.enable_domain_verification => {
            let mut subs = vec![base];
            subs.extend(config.token_domain_aliases.iter().cloned());
            out.push(format!("sub in {subs:?} (or \"*\")"));
        }
        _ if settings.requirements.require_sub => out.push("a string sub".to_owned()),
        _ => {}
    }
    out.push(format!("iss in {:?}", settings.accepted_issuers));
    out.push(format!("aud in {:?}", settings.accepted_audiences));
    out.push(format!(
        "alg {} signed with the host's key",
        verifier.algorithm()
    ));
    out.push(if settings.require_exp {
        "a future exp".to_owned()
    } else {
        "no exp, or a future one".to_owned()
    });
    out
}

fn status<T>(result: &Result<T, TokenError>) -> CheckStatus {
    if result.is_ok() {
        CheckStatus::Pass
    } else {
        CheckStatus::Fail
    }
}

fn failure_prefix<T>(result: &Result<T, TokenError>) -> String {
    match result {
        Ok(_) => String::new(),
        Err(e) => format!("{}: ", e.reason()),
    }
}

fn push_result(
    push: &mut impl FnMut(&'static str, CheckStatus, String),
    name: &'static str,
    result: Result<String, TokenError>,
) {
    match result {
        Ok(detail) => push(name, CheckStatus::Pass, detail),
        Err(e) => push(name, CheckStatus::Fail, e.reason().to_owned()),
    }
}

fn show(value: &Value) -> String {
    value.to_string()
}

fn time_detail(
    value: Option<&Value>,
    now: u64,
    (future, past): (&str, &str),
    absent: &str,
) -> String {
    let Some(value) = value else {
        return absent.to_owned();
    };
    let Some(seconds) = value.as_f64() else {
        return format!("{} (not a number)", show(value));
    };
    // Saturating conversion; the value came from JSON.
    let at = seconds.floor() as i64;
    let when = u64::try_from(at)
        .ok()
        .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok().map(|_| t))
        .map_or_else(|| at.to_string(), rfc3339);
    let delta = i128::from(at) - i128::from(now);
    if delta > 0 {
        format!("{future} {when} (in {delta} s)")
    } else {
        format!("{past} {when} ({} s ago)", -delta)
    }
}

fn rfc3339(t: SystemTime) -> String {
    // humantime only formats years up to 9999; fall back to seconds beyond.
    if t.duration_since(UNIX_EPOCH)
        .is_ok_and(|d| d.as_secs() < 253_402_300_800)
    {
        humantime::format_rfc3339_seconds(t).to_string()
    } else {
        t.duration_since(UNIX_EPOCH)
            .map_or_else(|_| "?".to_owned(), |d| d.as_secs().to_string())
    }
}
