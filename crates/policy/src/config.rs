//! Configuration of a token host and of a MUC service's room policy.
//!
//! Key names are Prosody/Jitsi's (see `jitsi-tokens.md` §6) so a migration is a copy; the
//! structs deserialize from a TOML table of their own (`deny_unknown_fields`, so a typo is
//! an error, not a silently ignored option).

use std::fmt;

use serde::Deserialize;

/// Default byte-size limit of a token (16 KiB): larger tokens are refused before any parsing.
pub const DEFAULT_TOKEN_MAX_BYTES: usize = 16 * 1024;
/// Default timeout of one public-key fetch from the key server, in seconds.
pub const DEFAULT_KEY_FETCH_TIMEOUT_SECONDS: u64 = 5;
/// Default lifetime of a fetched public key in the cache, in seconds.
pub const DEFAULT_KEY_CACHE_TTL_SECONDS: u64 = 3600;
/// Default lifetime of a failed key fetch in the cache, in seconds.
pub const DEFAULT_KEY_NEGATIVE_TTL_SECONDS: u64 = 30;
/// Default number of keys (good or failed) the key cache holds (Jitsi's default too).
pub const DEFAULT_KEY_CACHE_SIZE: usize = 128;

/// A JWT signature algorithm a host may be configured with.
///
/// The algorithm is fixed by configuration, never taken from a token's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum SignatureAlgorithm {
    /// HMAC with SHA-256 (`app_secret`).
    HS256,
    /// HMAC with SHA-384 (`app_secret`).
    HS384,
    /// HMAC with SHA-512 (`app_secret`).
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (Jitsi's ASAP default).
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// Ed25519.
    EdDSA,
}

/// The key family of a [`SignatureAlgorithm`]: which kind of key verifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlgorithmFamily {
    /// Shared secret (`app_secret`).
    Hmac,
    /// RSA public key.
    Rsa,
    /// Elliptic-curve (NIST) public key.
    Ec,
    /// Edwards-curve public key.
    Ed,
}

impl SignatureAlgorithm {
    /// The name as written in a JWT header and in configuration (`"HS256"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::EdDSA => "EdDSA",
        }
    }

    /// Parses the exact header/configuration name; `None` for anything else (`none` too).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "HS256" => Self::HS256,
            "HS384" => Self::HS384,
            "HS512" => Self::HS512,
            "RS256" => Self::RS256,
            "RS384" => Self::RS384,
            "RS512" => Self::RS512,
            "PS256" => Self::PS256,
            "PS384" => Self::PS384,
            "PS512" => Self::PS512,
            "ES256" => Self::ES256,
            "ES384" => Self::ES384,
            "EdDSA" => Self::EdDSA,
            _ => return None,
        })
    }

    /// Which kind of key verifies this algorithm.
    pub fn family(self) -> AlgorithmFamily {
        match self {
            Self::HS256 | Self::HS384 | Self::HS512 => AlgorithmFamily::Hmac,
            Self::RS256 | Self::RS384 | Self::RS512 | Self::PS256 | Self::PS384 | Self::PS512 => {
                AlgorithmFamily::Rsa
            }
            Self::ES256 | Self::ES384 => AlgorithmFamily::Ec,
            Self::EdDSA => AlgorithmFamily::Ed,
        }
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to do when a token session's `exp` passes while it sits in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenExpiry {
    /// Nothing: the token was checked at authentication (Jitsi's behaviour).
    #[default]
    Ignore,
    /// Kick the occupant from its rooms when `exp` passes.
    Kick,
}

/// Token settings of a client host whose `authentication = "token"`.
///
/// Deserialize it from the host's table; [`TokenHostConfig::key_mode`] says which key
/// verifies tokens. `Debug` never prints `app_secret`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenHostConfig {
    /// Application id; the default accepted issuer. Jitsi requires it.
    pub app_id: Option<String>,
    /// HMAC shared secret (HS* algorithms).
    pub app_secret: Option<String>,
    /// Base URL of the ASAP public key server; wins over `app_secret` when both are set.
    pub asap_key_server: Option<String>,
    /// A JWKS URL to take public keys from (by `kid`), instead of a key server.
    pub jwks_url: Option<String>,
    /// Path of one PEM public key verifying every token (no `kid` needed). Read by the server.
    pub token_public_key_file: Option<String>,
    /// Algorithm every token must use; default HS256 with a secret, RS256 with public keys.
    pub signature_algorithm: Option<SignatureAlgorithm>,
    /// Accepted `iss` values; default `[app_id]`; `*` accepts any.
    pub asap_accepted_issuers: Option<Vec<String>>,
    /// Accepted `aud` values; default `["*"]` (any).
    pub asap_accepted_audiences: Vec<String>,
    /// Whether a token must carry a `room` claim (default true).
    pub asap_require_room_claim: bool,
    /// Whether a session without a token logs in as a guest (default false).
    pub allow_empty_token: bool,
    /// Whether `sub` is required at login and checked at room join (default false).
    pub enable_domain_verification: bool,
    /// Seconds of clock skew accepted on `exp` and `nbf` (default 0).
    pub token_leeway_seconds: u64,
    /// Whether a token without `exp` is refused (default false: it never expires).
    pub token_require_exp: bool,
    /// Byte-size limit of a token (default 16 KiB).
    pub token_max_bytes: usize,
    /// Timeout of one key fetch, in seconds (default 5).
    pub token_key_fetch_timeout_seconds: u64,
    /// Lifetime of a fetched key, in seconds (default 3600).
    pub token_key_cache_ttl_seconds: u64,
    /// Lifetime of a failed key fetch, in seconds (default 30).
    pub token_key_negative_ttl_seconds: u64,
    /// Number of keys the cache holds (Jitsi's `jwt_pubkey_cache_size`, default 128).
    pub jwt_pubkey_cache_size: usize,
    /// Also offer OAUTHBEARER on WebSocket and BOSH (default false: there only ANONYMOUS
    /// with the URL's `?token=`, because Strophe.js/lib-jitsi-meet pick OAUTHBEARER when
    /// offered and send no token in it). TCP offers OAUTHBEARER either way.
    pub oauthbearer_over_http: bool,
}

impl Default for TokenHostConfig {
    fn default() -> Self {
        Self {
            app_id: None,
            app_secret: None,
            asap_key_server: None,
            jwks_url: None,
            token_public_key_file: None,
            signature_algorithm: None,
            asap_accepted_issuers: None,
            asap_accepted_audiences: vec!["*".to_owned()],
            asap_require_room_claim: true,
            allow_empty_token: false,
            enable_domain_verification: false,
            token_leeway_seconds: 0,
            token_require_exp: false,
            token_max_bytes: DEFAULT_TOKEN_MAX_BYTES,
            token_key_fetch_timeout_seconds: DEFAULT_KEY_FETCH_TIMEOUT_SECONDS,
            token_key_cache_ttl_seconds: DEFAULT_KEY_CACHE_TTL_SECONDS,
            token_key_negative_ttl_seconds: DEFAULT_KEY_NEGATIVE_TTL_SECONDS,
            jwt_pubkey_cache_size: DEFAULT_KEY_CACHE_SIZE,
            oauthbearer_over_http: false,
        }
    }
}

impl fmt::Debug for TokenHostConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenHostConfig")
            .field("app_id", &self.app_id)
            .field(
                "app_secret",
                &self.app_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("asap_key_server", &self.asap_key_server)
            .field("jwks_url", &self.jwks_url)
            .field("token_public_key_file", &self.token_public_key_file)
            .field("signature_algorithm", &self.signature_algorithm)
            .field("asap_accepted_issuers", &self.asap_accepted_issuers)
            .field("asap_accepted_audiences", &self.asap_accepted_audiences)
            .field("asap_require_room_claim", &self.asap_require_room_claim)
            .field("allow_empty_token", &self.allow_empty_token)
            .field(
                "enable_domain_verification",
                &self.enable_domain_verification,
            )
            .field("token_leeway_seconds", &self.token_leeway_seconds)
            .field("token_require_exp", &self.token_require_exp)
            .field("token_max_bytes", &self.token_max_bytes)
            .field("oauthbearer_over_http", &self.oauthbearer_over_http)
            .finish_non_exhaustive()
    }
}

/// Where the key verifying a host's tokens comes from, decided from its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMode {
    /// HMAC with `app_secret`.
    Secret,
    /// Public keys fetched by `kid` from `asap_key_server` (ASAP).
    KeyServer(String),
    /// Public keys taken by `kid` from a JWKS document.
    Jwks(String),
    /// One configured PEM public key file.
    PublicKeyFile(String),
}

/// A token host configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenConfigError {
    /// `app_id` is missing (Jitsi: "'app_id' must not be empty").
    #[error("'app_id' must not be empty")]
    MissingAppId,
    /// No key source is configured.
    #[error(
        "'app_secret', 'asap_key_server', 'jwks_url' or 'token_public_key_file' must be specified"
    )]
    NoKeySource,
    /// The configured algorithm does not fit the configured key source.
    #[error("signature_algorithm {algorithm} does not fit {source_kind}")]
    AlgorithmMismatch {
        /// The configured algorithm.
        algorithm: SignatureAlgorithm,
        /// Which key source was chosen.
        source_kind: &'static str,
    },
    /// The token size limit is zero.
    #[error("token_max_bytes must be at least 1")]
    ZeroMaxBytes,
}

impl TokenHostConfig {
    /// Which key verifies tokens: key server, then JWKS, then a public key file, then the
    /// secret ("if both are set, the key server wins").
    pub fn key_mode(&self) -> Result<KeyMode, TokenConfigError> {
        if let Some(url) = non_empty(&self.asap_key_server) {
            Ok(KeyMode::KeyServer(url.to_owned()))
        } else if let Some(url) = non_empty(&self.jwks_url) {
            Ok(KeyMode::Jwks(url.to_owned()))
        } else if let Some(path) = non_empty(&self.token_public_key_file) {
            Ok(KeyMode::PublicKeyFile(path.to_owned()))
        } else if non_empty(&self.app_secret).is_some() {
            Ok(KeyMode::Secret)
        } else {
            Err(TokenConfigError::NoKeySource)
        }
    }

    /// The algorithm tokens must use, checked against the key mode.
    pub fn algorithm(&self) -> Result<SignatureAlgorithm, TokenConfigError> {
        let mode = self.key_mode()?;
        match (&mode, self.signature_algorithm) {
            (KeyMode::Secret, None) => Ok(SignatureAlgorithm::HS256),
            (_, None) => Ok(SignatureAlgorithm::RS256),
            (KeyMode::Secret, Some(alg)) if alg.family() == AlgorithmFamily::Hmac => Ok(alg),
            (KeyMode::Secret, Some(alg)) => Err(TokenConfigError::AlgorithmMismatch {
                algorithm: alg,
                source_kind: "app_secret",
            }),
            (_, Some(alg)) if alg.family() != AlgorithmFamily::Hmac => Ok(alg),
            (_, Some(alg)) => Err(TokenConfigError::AlgorithmMismatch {
                algorithm: alg,
                source_kind: "a public key source",
            }),
        }
    }

    /// Checks the whole configuration once at load time.
    pub fn validate(&self) -> Result<(), TokenConfigError> {
        if non_empty(&self.app_id).is_none() {
            return Err(TokenConfigError::MissingAppId);
        }
        if self.token_max_bytes == 0 {
            return Err(TokenConfigError::ZeroMaxBytes);
        }
        self.algorithm().map(|_| ())
    }

    /// Accepted issuers: the configured list, else `[app_id]`.
    pub fn accepted_issuers(&self) -> Vec<String> {
        match &self.asap_accepted_issuers {
            Some(list) => list.clone(),
            None => self.app_id.iter().cloned().collect(),
        }
    }

    /// What a token must carry beyond iss/aud under this configuration.
    pub fn claim_requirements(&self) -> crate::claims::ClaimRequirements {
        crate::claims::ClaimRequirements {
            require_room: self.asap_require_room_claim,
            require_sub: self.enable_domain_verification,
        }
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty())
}

/// Room policy settings of a MUC service (Jitsi's `token_verification` and
/// `muc_domain_mapper` options, plus Rookery's `token_*` options).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MucPolicyConfig {
    /// Check `sub` (tenant or domain) against the room address (default false).
    pub enable_domain_verification: bool,
    /// The deployment's base domain (`meet.example.com`); needed for tenant rooms.
    pub muc_mapper_domain_base: Option<String>,
    /// The MUC label before the base or tenant (default `conference`).
    pub muc_mapper_domain_prefix: String,
    /// The real MUC domain (default `<prefix>.<base>`).
    pub muc_mapper_domain: Option<String>,
    /// The MUC component's own admins (bare JIDs); unioned with global and parent-host admins.
    pub admins: Vec<String>,
    /// Bare JIDs or domains whose sessions skip room verification (jibri, jigasi).
    pub token_verification_allowlist: Vec<String>,
    /// Only admins may create rooms (default false).
    pub restrict_room_creation: bool,
    /// Tokenless guests skip room verification (default false).
    pub allow_empty_token: bool,
    /// With domain verification off, refuse a token whose `sub` names another tenant.
    pub token_strict_tenants: bool,
    /// Accept `*` as room or `sub` claim (default true).
    pub token_allow_wildcards: bool,
    /// Extra `sub` values accepted as this deployment's base domain for root rooms.
    pub token_domain_aliases: Vec<String>,
    /// Give token holders owner/member affiliation from their claims on join (default false).
    pub token_affiliation: bool,
    /// What to do when a token expires while its holder is in a room.
    pub token_expiry: TokenExpiry,
}

impl Default for MucPolicyConfig {
    fn default() -> Self {
        Self {
            enable_domain_verification: false,
            muc_mapper_domain_base: None,
            muc_mapper_domain_prefix: "conference".to_owned(),
            muc_mapper_domain: None,
            admins: Vec::new(),
            token_verification_allowlist: Vec::new(),
            restrict_room_creation: false,
            allow_empty_token: false,
            token_strict_tenants: false,
            token_allow_wildcards: true,
            token_domain_aliases: Vec::new(),
            token_affiliation: false,
            token_expiry: TokenExpiry::Ignore,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let muc = MucPolicyConfig::default();
        assert_eq!(muc.muc_mapper_domain_prefix, "conference");
        assert!(muc.token_allow_wildcards);
        let host = TokenHostConfig::default();
        assert_eq!(host.asap_accepted_audiences, vec!["*"]);
        assert!(host.asap_require_room_claim);
        assert_eq!(host.token_max_bytes, 16 * 1024);
    }

    #[test]
    fn toml_keys_are_the_jitsi_names() {
        let host: TokenHostConfig = toml::from_str(
            r#"
            app_id = "app"
            app_secret = "s3cret"
            signature_algorithm = "HS512"
            asap_accepted_issuers = ["app", "other"]
            enable_domain_verification = true
            token_leeway_seconds = 5
            "#,
        )
        .unwrap();
        assert_eq!(host.algorithm().unwrap(), SignatureAlgorithm::HS512);
        assert_eq!(host.accepted_issuers(), vec!["app", "other"]);
        assert!(host.validate().is_ok());
        assert!(!format!("{host:?}").contains("s3cret"));

        let muc: MucPolicyConfig = toml::from_str(
            r#"
            enable_domain_verification = true
            muc_mapper_domain_base = "meet.example.com"
            admins = ["focus@auth.meet.example.com"]
            token_verification_allowlist = ["recorder.meet.example.com"]
            token_expiry = "kick"
            "#,
        )
        .unwrap();
        assert_eq!(muc.muc_mapper_domain_prefix, "conference");
        assert_eq!(muc.token_expiry, TokenExpiry::Kick);
        assert!(toml::from_str::<MucPolicyConfig>("enable_domain_verificaton = true").is_err());
    }

    #[test]
    fn key_mode_and_algorithm() {
        let mut host = TokenHostConfig {
            app_id: Some("app".into()),
            app_secret: Some("s".into()),
            ..TokenHostConfig::default()
        };
        assert_eq!(host.key_mode().unwrap(), KeyMode::Secret);
        assert_eq!(host.algorithm().unwrap(), SignatureAlgorithm::HS256);
        host.asap_key_server = Some("https://keys.example".into());
        assert_eq!(
            host.key_mode().unwrap(),
            KeyMode::KeyServer("https://keys.example".into())
        );
        assert_eq!(host.algorithm().unwrap(), SignatureAlgorithm::RS256);
        host.signature_algorithm = Some(SignatureAlgorithm::HS256);
        assert!(matches!(
            host.algorithm(),
            Err(TokenConfigError::AlgorithmMismatch { .. })
        ));
        let none = TokenHostConfig {
            app_id: Some("app".into()),
            ..TokenHostConfig::default()
        };
        assert_eq!(none.validate(), Err(TokenConfigError::NoKeySource));
        assert_eq!(
            TokenHostConfig::default().validate(),
            Err(TokenConfigError::MissingAppId)
        );
    }
}
