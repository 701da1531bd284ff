//! Verified token claims, typed so that what the configuration requires is never missing.
//!
//! [`TokenClaims::from_payload`] is the only way to build them: it takes the JSON payload of
//! a token whose signature, times, issuer and audience were already checked, and fails with
//! a Jitsi-compatible reason when a claim the configuration needs is absent or mistyped.

use std::fmt;

use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value};

/// Longest accepted `room` regular expression, in bytes.
pub const MAX_ROOM_PATTERN_BYTES: usize = 1024;
/// Compiled-size limit of a `room` regular expression (bytes of program).
pub const ROOM_PATTERN_SIZE_LIMIT: usize = 64 * 1024;

/// What a token must carry under a host's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClaimRequirements {
    /// `asap_require_room_claim`: a `room` claim is needed.
    pub require_room: bool,
    /// `enable_domain_verification`: a `sub` claim is needed.
    pub require_sub: bool,
}

/// A claim that is absent, mistyped, or unusable; `reason()` is the SASL failure text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimError {
    /// No `iss`.
    #[error("'iss' claim is missing")]
    MissingIssuer,
    /// `iss` is not a string.
    #[error("'iss' claim must be a string")]
    IssuerNotString,
    /// No `aud`.
    #[error("'aud' claim is missing")]
    MissingAudience,
    /// `aud` is neither a string nor a non-empty array of strings.
    #[error("'aud' claim must be a string or an array of strings")]
    AudienceNotString,
    /// No `room` although `asap_require_room_claim` is on.
    #[error("'room' claim is missing")]
    MissingRoom,
    /// `room` is not a string.
    #[error("'room' claim must be a string")]
    RoomNotString,
    /// `room` is a regular expression (`context.room.regex`) that does not compile within limits.
    #[error("'room' claim is not a valid regular expression")]
    InvalidRoomPattern,
    /// No `sub` although domain verification is on.
    #[error("'sub' claim is missing")]
    MissingSubject,
    /// `sub` is not a string.
    #[error("'sub' claim must be a string")]
    SubjectNotString,
    /// `exp` is present but not a number (Jitsi's text).
    #[error("exp must be number")]
    ExpNotNumber,
    /// `nbf` is present but not a number (Jitsi's text).
    #[error("nbf must be number")]
    NbfNotNumber,
}

impl ClaimError {
    /// The text sent in the SASL `<failure><text>`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingIssuer => "'iss' claim is missing",
            Self::IssuerNotString => "'iss' claim must be a string",
            Self::MissingAudience => "'aud' claim is missing",
            Self::AudienceNotString => "'aud' claim must be a string or an array of strings",
            Self::MissingRoom => "'room' claim is missing",
            Self::RoomNotString => "'room' claim must be a string",
            Self::InvalidRoomPattern => "'room' claim is not a valid regular expression",
            Self::MissingSubject => "'sub' claim is missing",
            Self::SubjectNotString => "'sub' claim must be a string",
            Self::ExpNotNumber => "exp must be number",
            Self::NbfNotNumber => "nbf must be number",
        }
    }
}

/// An anchored, size-limited, case-insensitive regular expression from a `room` claim.
#[derive(Clone)]
pub struct RoomPattern {
    source: String,
    regex: Regex,
}

impl RoomPattern {
    /// Compiles `source` so that it must match a whole room name (`^(?:source)$`).
    pub fn new(source: &str) -> Result<Self, ClaimError> {
        if source.len() > MAX_ROOM_PATTERN_BYTES {
            return Err(ClaimError::InvalidRoomPattern);
        }
        let regex = RegexBuilder::new(&format!("^(?:{source})$"))
            .case_insensitive(true)
            .size_limit(ROOM_PATTERN_SIZE_LIMIT)
            .dfa_size_limit(ROOM_PATTERN_SIZE_LIMIT)
            .nest_limit(32)
            .build()
            .map_err(|_| ClaimError::InvalidRoomPattern)?;
        Ok(Self {
            source: source.to_owned(),
            regex,
        })
    }

    /// Whether the whole room name matches.
    pub fn matches(&self, room: &str) -> bool {
        self.regex.is_match(room)
    }

    /// The pattern as written in the token.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl fmt::Debug for RoomPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RoomPattern").field(&self.source).finish()
    }
}

impl PartialEq for RoomPattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for RoomPattern {}

/// The `room` claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomClaim {
    /// `*`: any room.
    Any,
    /// One room name, lowercased.
    Exact(String),
    /// A regular expression (`context.room.regex = true`), matched against the whole name.
    Pattern(RoomPattern),
    /// No `room` claim; only possible with `asap_require_room_claim = false`.
    Absent,
}

impl RoomClaim {
    /// Whether this is the `*` wildcard.
    pub fn is_wildcard(&self) -> bool {
        matches!(self, Self::Any)
    }
}

impl fmt::Display for RoomClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::Exact(room) => f.write_str(room),
            Self::Pattern(p) => write!(f, "/{}/", p.source()),
            Self::Absent => f.write_str("(none)"),
        }
    }
}

/// The `sub` claim: a tenant, a domain, or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// `*`: any tenant or domain.
    Any,
    /// A tenant or domain name, lowercased.
    Name(String),
    /// No `sub`; only possible when domain verification is off on the token host.
    Absent,
}

impl Subject {
    /// Whether this is the `*` wildcard.
    pub fn is_wildcard(&self) -> bool {
        matches!(self, Self::Any)
    }

    /// The name, if the subject is a plain name.
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::Name(name) => Some(name),
            Self::Any | Self::Absent => None,
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::Name(name) => f.write_str(name),
            Self::Absent => f.write_str("(none)"),
        }
    }
}

/// `context.user` of a token: display data and moderator hints. Mistyped members are
/// ignored (they are informative, not access rules).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserContext {
    /// `id` (a string, or a number written as a string).
    pub id: Option<String>,
    /// `name`: display name.
    pub name: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `avatar` URL.
    pub avatar: Option<String>,
    /// `moderator`: `true`/`false` or `"true"`/`"false"`.
    pub moderator: Option<bool>,
    /// `affiliation` (`owner`, `moderator`, `teacher`, `member`, ...), lowercased.
    pub affiliation: Option<String>,
}

/// The verified claims a token session keeps for its lifetime.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenClaims {
    room: RoomClaim,
    subject: Subject,
    issuer: String,
    audience: Vec<String>,
    user: UserContext,
    group: Option<Value>,
    features: Option<Value>,
    room_context: Option<Value>,
    tenant: Option<String>,
    exp: Option<i64>,
    nbf: Option<i64>,
    moderator: Option<bool>,
}

impl TokenClaims {
    /// Builds the claims from a token payload, enforcing `requirements`.
    ///
    /// Checks, in order: `exp`/`nbf` types, `iss`, `aud`, `room`, `sub`. It does not judge
    /// times, issuers or audiences against configuration: the verifier does that first.
    pub fn from_payload(
        payload: &Map<String, Value>,
        requirements: ClaimRequirements,
    ) -> Result<Self, ClaimError> {
        let exp = numeric_date(payload, "exp")?;
        let nbf = numeric_date(payload, "nbf")?;
        let issuer = issuer_of(payload)?.to_owned();
        let audience = audience_of(payload)?;

        let context = payload.get("context").and_then(Value::as_object);
        let room_context = context.and_then(|c| c.get("room")).cloned();
        let room = room_claim_of(payload, requirements.require_room)?;
        let subject = subject_of(payload, requirements.require_sub)?;

        let user = context
            .and_then(|c| c.get("user"))
            .and_then(Value::as_object)
            .map(user_context)
            .unwrap_or_default();

        Ok(Self {
            room,
            subject,
            issuer,
            audience,
            user,
            group: context.and_then(|c| c.get("group")).cloned(),
            features: context.and_then(|c| c.get("features")).cloned(),
            room_context,
            tenant: context
                .and_then(|c| c.get("tenant"))
                .and_then(Value::as_str)
                .map(str::to_lowercase),
            exp,
            nbf,
            moderator: payload.get("moderator").and_then(bool_like),
        })
    }

    /// The `room` claim.
    pub fn room(&self) -> &RoomClaim {
        &self.room
    }

    /// The `sub` claim.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The `iss` claim.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `aud` claim (one entry for a string `aud`).
    pub fn audience(&self) -> &[String] {
        &self.audience
    }

    /// `context.user`.
    pub fn user(&self) -> &UserContext {
        &self.user
    }

    /// `context.group`, as sent.
    pub fn group(&self) -> Option<&Value> {
        self.group.as_ref()
    }

    /// `context.features`, as sent.
    pub fn features(&self) -> Option<&Value> {
        self.features.as_ref()
    }

    /// `context.room`, as sent (e.g. `{"regex": true}`).
    pub fn room_context(&self) -> Option<&Value> {
        self.room_context.as_ref()
    }

    /// `context.tenant`, lowercased.
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// `exp`, seconds since the Unix epoch.
    pub fn exp(&self) -> Option<i64> {
        self.exp
    }

    /// `nbf`, seconds since the Unix epoch.
    pub fn nbf(&self) -> Option<i64> {
        self.nbf
    }

    /// The top-level `moderator` claim.
    pub fn moderator(&self) -> Option<bool> {
        self.moderator
    }

    /// Whether the token asks for moderator rights: `context.user.moderator`, the top-level
    /// `moderator`, or `context.user.affiliation` of `owner`, `moderator` or `teacher`.
    pub fn is_moderator(&self) -> bool {
        self.user.moderator == Some(true)
            || self.moderator == Some(true)
            || matches!(
                self.user.affiliation.as_deref(),
                Some("owner" | "moderator" | "teacher")
            )
    }
}

/// Reads the NumericDate claim `exp` or `nbf`: `Ok(None)` when absent, an error when not
/// a number. Fractions are rounded toward negative infinity.
pub fn numeric_date(payload: &Map<String, Value>, name: &str) -> Result<Option<i64>, ClaimError> {
    let not_number = if name == "nbf" {
        ClaimError::NbfNotNumber
    } else {
        ClaimError::ExpNotNumber
    };
    match payload.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else if let Some(u) = n.as_u64() {
                Ok(Some(i64::try_from(u).unwrap_or(i64::MAX)))
            } else {
                // Saturating float-to-int conversion; the value is finite in JSON.
                n.as_f64().map(|f| Some(f.floor() as i64)).ok_or(not_number)
            }
        }
        Some(_) => Err(not_number),
    }
}

/// Reads the `room` claim; `require` is `asap_require_room_claim`. An empty string counts
/// as absent. With `context.room.regex` true the claim is compiled as a [`RoomPattern`].
pub fn room_claim_of(payload: &Map<String, Value>, require: bool) -> Result<RoomClaim, ClaimError> {
    let regex = payload
        .get("context")
        .and_then(|c| c.get("room"))
        .and_then(|r| r.get("regex"))
        .is_some_and(truthy);
    match payload.get("room") {
        None | Some(Value::Null) => absent_or(require, RoomClaim::Absent, ClaimError::MissingRoom),
        Some(Value::String(s)) if s.is_empty() => {
            absent_or(require, RoomClaim::Absent, ClaimError::MissingRoom)
        }
        Some(Value::String(s)) if s == "*" => Ok(RoomClaim::Any),
        Some(Value::String(s)) if regex => Ok(RoomClaim::Pattern(RoomPattern::new(s)?)),
        Some(Value::String(s)) => Ok(RoomClaim::Exact(s.to_lowercase())),
        Some(_) => Err(ClaimError::RoomNotString),
    }
}

/// Reads the `sub` claim; `require` is `enable_domain_verification`. An empty string counts
/// as absent.
pub fn subject_of(payload: &Map<String, Value>, require: bool) -> Result<Subject, ClaimError> {
    match payload.get("sub") {
        None | Some(Value::Null) => absent_or(require, Subject::Absent, ClaimError::MissingSubject),
        Some(Value::String(s)) if s.is_empty() => {
            absent_or(require, Subject::Absent, ClaimError::MissingSubject)
        }
        Some(Value::String(s)) if s == "*" => Ok(Subject::Any),
        Some(Value::String(s)) => Ok(Subject::Name(s.to_lowercase())),
        Some(_) => Err(ClaimError::SubjectNotString),
    }
}

fn absent_or<T>(require: bool, absent: T, missing: ClaimError) -> Result<T, ClaimError> {
    if require { Err(missing) } else { Ok(absent) }
}

/// Reads `iss`: present and a string.
pub fn issuer_of(payload: &Map<String, Value>) -> Result<&str, ClaimError> {
    match payload.get("iss") {
        None | Some(Value::Null) => Err(ClaimError::MissingIssuer),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ClaimError::IssuerNotString),
    }
}

/// Reads `aud`: a string, or a non-empty array of strings.
pub fn audience_of(payload: &Map<String, Value>) -> Result<Vec<String>, ClaimError> {
    match payload.get("aud") {
        None | Some(Value::Null) => Err(ClaimError::MissingAudience),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or(ClaimError::AudienceNotString)
            })
            .collect(),
        Some(_) => Err(ClaimError::AudienceNotString),
    }
}

fn user_context(user: &Map<String, Value>) -> UserContext {
    let text = |key: &str| user.get(key).and_then(Value::as_str).map(str::to_owned);
    UserContext {
        id: match user.get("id") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        },
        name: text("name"),
        email: text("email"),
        avatar: text("avatar"),
        moderator: user.get("moderator").and_then(bool_like),
        affiliation: user
            .get("affiliation")
            .and_then(Value::as_str)
            .map(str::to_lowercase),
    }
}

fn bool_like(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn truthy(value: &Value) -> bool {
    bool_like(value) == Some(true)
}

#[cfg(test)]
mod tests;
