//! The sans-io token verifier of one token host.
//!
//! `prepare` runs every check that needs no key (size, shape, `alg`, `typ`, `kid`) and says
//! which key the token needs; `verify_prepared` checks the signature and the claims with
//! that key and a caller-given `now`. Hosts with a secret or a configured public key can
//! call `verify` in one go; key-server hosts fetch the key in between (the server crate's key
//! cache: this crate does no I/O).

use rookery_policy::{
    ClaimRequirements, KeyMode, SignatureAlgorithm, TokenClaims, TokenConfigError, TokenHostConfig,
};
use sha2::{Digest, Sha256};

use super::checks;
use super::error::{TokenError, TokenErrorKind};
use super::key::{KeyError, VerificationKey};
use super::parse::{self, DecodedToken};

/// A token host configuration that cannot make a verifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifierConfigError {
    /// The configuration is inconsistent.
    #[error(transparent)]
    Config(#[from] TokenConfigError),
    /// The configured key is unusable.
    #[error("token key: {0}")]
    Key(#[from] KeyError),
    /// `token_public_key_file` is set but its PEM was not given to
    /// [`TokenVerifier::with_public_key_pem`].
    #[error("token_public_key_file is set: read it and call TokenVerifier::with_public_key_pem")]
    PublicKeyNotLoaded,
}

/// Where the verification key comes from.
#[derive(Debug, Clone)]
enum KeySource {
    /// A configured key: `app_secret` or a PEM public key.
    Configured(VerificationKey),
    /// `<base>/<hex sha256(kid)>.pem`.
    KeyServer { base_url: String },
    /// A JWKS document, key chosen by `kid`.
    Jwks { url: String },
}

/// Which key a prepared token needs before [`TokenVerifier::verify_prepared`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyNeed {
    /// The host's configured key; nothing to fetch.
    Configured,
    /// A PEM public key from the key server at `url` (the hashed `kid` path).
    KeyServer {
        /// The token's `kid`.
        kid: String,
        /// The URL to fetch.
        url: String,
    },
    /// The key with this `kid` from the JWKS document at `url`.
    Jwks {
        /// The token's `kid`.
        kid: String,
        /// The JWKS URL.
        url: String,
    },
}

/// A token that passed the key-independent checks.
#[derive(Debug, Clone)]
pub struct PreparedToken {
    decoded: DecodedToken,
    kid: Option<String>,
    need: KeyNeed,
}

impl PreparedToken {
    /// Which key the signature check needs.
    pub fn key_need(&self) -> &KeyNeed {
        &self.need
    }

    /// The header's `kid`, for logs.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The (not yet verified) `iss`, for logs only.
    pub fn unverified_issuer(&self) -> Option<&str> {
        self.decoded
            .payload
            .get("iss")
            .and_then(serde_json::Value::as_str)
    }
}

/// Verifies the tokens of one host: algorithm and key are fixed by its configuration.
#[derive(Debug, Clone)]
pub struct TokenVerifier {
    algorithm: SignatureAlgorithm,
    source: KeySource,
    accepted_issuers: Vec<String>,
    accepted_audiences: Vec<String>,
    requirements: ClaimRequirements,
    leeway: u64,
    require_exp: bool,
    max_bytes: usize,
    allow_empty_token: bool,
}

impl TokenVerifier {
    /// A verifier for a host with `app_secret`, `asap_key_server` or `jwks_url`. A host
    /// with `token_public_key_file` needs [`TokenVerifier::with_public_key_pem`].
    pub fn new(config: &TokenHostConfig) -> Result<Self, VerifierConfigError> {
        Self::build(config, None)
    }

    /// A verifier for a host with `token_public_key_file`, given that file's PEM content.
    pub fn with_public_key_pem(
        config: &TokenHostConfig,
        pem: &[u8],
    ) -> Result<Self, VerifierConfigError> {
        Self::build(config, Some(pem))
    }

    fn build(config: &TokenHostConfig, pem: Option<&[u8]>) -> Result<Self, VerifierConfigError> {
        config.validate()?;
        let algorithm = config.algorithm()?;
        let source = match config.key_mode()? {
            KeyMode::Secret => {
                let secret = config.app_secret.as_deref().unwrap_or_default();
                KeySource::Configured(VerificationKey::from_secret(algorithm, secret.as_bytes())?)
            }
            KeyMode::PublicKeyFile(_) => {
                let pem = pem.ok_or(VerifierConfigError::PublicKeyNotLoaded)?;
                KeySource::Configured(VerificationKey::from_pem(algorithm, pem)?)
            }
            KeyMode::KeyServer(base_url) => KeySource::KeyServer { base_url },
            KeyMode::Jwks(url) => KeySource::Jwks { url },
        };
        Ok(Self {
            algorithm,
            source,
            accepted_issuers: config.accepted_issuers(),
            accepted_audiences: config.asap_accepted_audiences.clone(),
            requirements: config.claim_requirements(),
            leeway: config.token_leeway_seconds,
            require_exp: config.token_require_exp,
            max_bytes: config.token_max_bytes,
            allow_empty_token: config.allow_empty_token,
        })
    }

    /// The algorithm every token must use.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    /// Whether a session without a token logs in as a guest.
    pub fn allow_empty_token(&self) -> bool {
        self.allow_empty_token
    }

    /// Whether keys are fetched by `kid` (key server or JWKS).
    pub fn fetches_keys(&self) -> bool {
        !matches!(self.source, KeySource::Configured(_))
    }

    /// Size, shape, `alg`, `typ` and `kid` checks; no cryptography yet.
    pub fn prepare(&self, token: &str) -> Result<PreparedToken, TokenError> {
        let decoded = parse::decode(token, self.max_bytes)?;
        checks::alg(&decoded.header, self.algorithm, self.fetches_keys())?;
        checks::typ(&decoded.header)?;
        let kid = checks::kid(&decoded.header, self.fetches_keys())?;
        let need = match (&self.source, &kid) {
            (KeySource::Configured(_), _) => KeyNeed::Configured,
            (KeySource::KeyServer { base_url }, Some(kid)) => KeyNeed::KeyServer {
                kid: kid.clone(),
                url: key_server_url(base_url, kid),
            },
            (KeySource::Jwks { url }, Some(kid)) => KeyNeed::Jwks {
                kid: kid.clone(),
                url: url.clone(),
            },
            (KeySource::KeyServer { .. } | KeySource::Jwks { .. }, None) => {
                return Err(TokenError::new(
                    TokenErrorKind::MissingKid,
                    "'kid' claim is missing",
                ));
            }
        };
        Ok(PreparedToken { decoded, kid, need })
    }

    /// Signature and claim checks. `fetched` is the key for [`KeyNeed::KeyServer`] /
    /// [`KeyNeed::Jwks`]; it is ignored for [`KeyNeed::Configured`]. `now` is seconds since
    /// the Unix epoch.
    pub fn verify_prepared(
        &self,
        prepared: &PreparedToken,
        fetched: Option<&VerificationKey>,
        now: u64,
    ) -> Result<TokenClaims, TokenError> {
        let key = self.key_for(prepared, fetched)?;
        checks::signature(&prepared.decoded, key)?;
        self.check_claims(&prepared.decoded, now)
    }

    /// Verifies a token in one go on a host with a configured key (secret or PEM file).
    /// On a key-fetching host this fails with "could not obtain public key": use
    /// `prepare`, fetch, then `verify_prepared` (the server's `token::verify_token`).
    pub fn verify(&self, token: &str, now: u64) -> Result<TokenClaims, TokenError> {
        let prepared = self.prepare(token)?;
        self.verify_prepared(&prepared, None, now)
    }

    pub(crate) fn key_for<'a>(
        &'a self,
        prepared: &PreparedToken,
        fetched: Option<&'a VerificationKey>,
    ) -> Result<&'a VerificationKey, TokenError> {
        let key = match (&self.source, &prepared.need) {
            (KeySource::Configured(key), _) => Some(key),
            (_, _) => fetched,
        };
        match key {
            Some(key) if key.algorithm() == self.algorithm => Ok(key),
            Some(_) => Err(TokenError::new(
                TokenErrorKind::KeyUnavailable,
                "could not obtain public key: the key is for another algorithm",
            )),
            None => Err(TokenError::new(
                TokenErrorKind::KeyUnavailable,
                "could not obtain public key",
            )),
        }
    }

    /// exp, nbf, iss, aud, then room and sub (via the policy's typed claims).
    pub(crate) fn check_claims(
        &self,
        decoded: &DecodedToken,
        now: u64,
    ) -> Result<TokenClaims, TokenError> {
        let payload = &decoded.payload;
        checks::exp(payload, now, self.leeway, self.require_exp)?;
        checks::nbf(payload, now, self.leeway)?;
        checks::issuer(payload, &self.accepted_issuers)?;
        checks::audience(payload, &self.accepted_audiences)?;
        Ok(TokenClaims::from_payload(payload, self.requirements)?)
    }

    pub(crate) fn settings(&self) -> VerifierSettings<'_> {
        VerifierSettings {
            accepted_issuers: &self.accepted_issuers,
            accepted_audiences: &self.accepted_audiences,
            requirements: self.requirements,
            leeway: self.leeway,
            require_exp: self.require_exp,
        }
    }
}

/// Read access to the claim settings, for `explain`.
pub(crate) struct VerifierSettings<'a> {
    pub accepted_issuers: &'a [String],
    pub accepted_audiences: &'a [String],
    pub requirements: ClaimRequirements,
    pub leeway: u64,
    pub require_exp: bool,
}

/// `<base>/<lowercase hex sha256(kid)>.pem`: hashing the kid keeps it out of the path.
pub fn key_server_url(base_url: &str, kid: &str) -> String {
    let digest = Sha256::digest(kid.as_bytes());
    format!(
        "{}/{}.pem",
        base_url.trim_end_matches('/'),
        hex::encode(digest)
    )
}

/// The decoded form of a prepared token, for `explain`.
pub(crate) fn decoded(prepared: &PreparedToken) -> &DecodedToken {
    &prepared.decoded
}
