//! Async public-key cache for key-server (ASAP) and JWKS hosts.
//!
//! Bounded everywhere: each fetch has a timeout and a body limit; the cache holds at most
//! `capacity` entries, good keys for `ttl` and failures for `negative_ttl` (Jitsi refetches
//! every unknown kid on every login). Single-flight: one fetch per URL/kid at a time, run
//! in its own task; concurrent callers wait for the same result, and a caller that gives up
//! does not cancel the fetch for the others. Parsing the answer (PEM, JWKS) is
//! `rookery_sasl::token`'s; this file only fetches and remembers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rookery_policy::{SignatureAlgorithm, TokenHostConfig};
use rookery_sasl::token::{KeyNeed, TokenError, TokenVerifier, VerificationKey, parse_jwks};
use tokio::sync::watch;
use tokio::time::Instant;

use super::http::{HttpClient, HttpError};

/// Largest accepted key (or JWKS) response body: 64 KiB.
pub const MAX_KEY_BODY_BYTES: usize = 64 * 1024;

/// Limits of the key cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFetchConfig {
    /// Timeout of one fetch (connect, request and body).
    pub timeout: Duration,
    /// Largest response body.
    pub max_body_bytes: usize,
    /// How long a fetched key is used.
    pub ttl: Duration,
    /// How long a failed fetch is remembered.
    pub negative_ttl: Duration,
    /// Most entries (keys and failures) held.
    pub capacity: usize,
}

impl Default for KeyFetchConfig {
    fn default() -> Self {
        Self::from_host(&TokenHostConfig::default())
    }
}

impl KeyFetchConfig {
    /// The limits configured on a token host (`token_key_*`, `jwt_pubkey_cache_size`).
    pub fn from_host(config: &TokenHostConfig) -> Self {
        Self {
            timeout: Duration::from_secs(config.token_key_fetch_timeout_seconds),
            max_body_bytes: MAX_KEY_BODY_BYTES,
            ttl: Duration::from_secs(config.token_key_cache_ttl_seconds),
            negative_ttl: Duration::from_secs(config.token_key_negative_ttl_seconds),
            capacity: config.jwt_pubkey_cache_size.max(1),
        }
    }
}

/// Why a key could not be obtained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFetchError {
    /// The fetch took longer than the timeout.
    #[error("the key server did not answer within {0:?}")]
    Timeout(Duration),
    /// The key server answered with a status other than 200.
    #[error("the key server answered HTTP {0}")]
    Status(u16),
    /// The answer was larger than the limit.
    #[error("the key server's answer is over {0} bytes")]
    TooLarge(usize),
    /// Connection, TLS or protocol failure.
    #[error("the key server could not be reached: {0}")]
    Unreachable(String),
    /// The answer is not a usable key.
    #[error("the key server's answer is not a valid key: {0}")]
    BadKey(String),
    /// The JWKS document has no usable key with the token's `kid`.
    #[error("no key with this kid in the JWKS document")]
    UnknownKid,
    /// The key URL is not a valid http(s) URL.
    #[error("the key URL is invalid")]
    InvalidUrl,
    /// The fetch task ended without a result (runtime shutting down).
    #[error("the key fetch was aborted")]
    Aborted,
    /// The host fetches keys but no cache was given.
    #[error("no key cache is configured")]
    NoCache,
    /// The HTTP client could not be built (TLS setup).
    #[error("the HTTP client could not be set up: {0}")]
    Setup(String),
}

impl KeyFetchError {
    /// The SASL failure for this error: "could not obtain public key: ..." (Jitsi's prefix).
    pub fn to_token_error(&self) -> TokenError {
        TokenError::key_unavailable(self)
    }

    fn from_http(err: HttpError, timeout: Duration) -> Self {
        match err {
            HttpError::InvalidUrl => Self::InvalidUrl,
            HttpError::Timeout => Self::Timeout(timeout),
            HttpError::Status(code) => Self::Status(code),
            HttpError::TooLarge(limit) => Self::TooLarge(limit),
            HttpError::Unreachable(e) => Self::Unreachable(e),
            HttpError::Setup(e) => Self::Setup(e),
        }
    }
}

impl From<KeyFetchError> for TokenError {
    fn from(err: KeyFetchError) -> Self {
        err.to_token_error()
    }
}

type Shared = Result<Arc<VerificationKey>, KeyFetchError>;

enum Entry {
    Ready {
        key: Arc<VerificationKey>,
        expires: Instant,
    },
    Failed {
        error: KeyFetchError,
        expires: Instant,
    },
    Pending(watch::Receiver<Option<Shared>>),
}

impl Entry {
    fn expires(&self) -> Option<Instant> {
        match self {
            Self::Ready { expires, .. } | Self::Failed { expires, .. } => Some(*expires),
            Self::Pending(_) => None,
        }
    }
}

struct Inner {
    algorithm: SignatureAlgorithm,
    config: KeyFetchConfig,
    http: HttpClient,
    // A std mutex: it is only held for map lookups and inserts, never across `.await`.
    entries: Mutex<HashMap<String, Entry>>,
    fetches: AtomicU64,
}

/// The shared key cache of one token host; clone it freely (it is an `Arc`).
#[derive(Clone)]
pub struct KeyCache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("algorithm", &self.inner.algorithm)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl KeyCache {
    /// A cache for keys of `algorithm`, trusting the Mozilla roots (webpki-roots) for https.
    pub fn new(
        algorithm: SignatureAlgorithm,
        config: KeyFetchConfig,
    ) -> Result<Self, KeyFetchError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        Self::with_roots(algorithm, config, roots)
    }

    /// A cache trusting only `roots` for https (e.g. an internal CA).
    pub fn with_roots(
        algorithm: SignatureAlgorithm,
        config: KeyFetchConfig,
        roots: rustls::RootCertStore,
    ) -> Result<Self, KeyFetchError> {
        let http = HttpClient::new(roots, config.timeout)
            .map_err(|e| KeyFetchError::from_http(e, config.timeout))?;
        Ok(Self {
            inner: Arc::new(Inner {
                algorithm,
                config,
                http,
                entries: Mutex::new(HashMap::new()),
                fetches: AtomicU64::new(0),
            }),
        })
    }

    /// The cache for a verifier built from `config`.
    pub fn for_host(
        verifier: &TokenVerifier,
        config: &TokenHostConfig,
    ) -> Result<Self, KeyFetchError> {
        Self::new(verifier.algorithm(), KeyFetchConfig::from_host(config))
    }

    /// How many fetches were started (for metrics and tests).
    pub fn fetches_started(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// How many entries (keys, failures, fetches in flight) the cache holds.
    pub fn len(&self) -> usize {
        self.inner.lock().len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key a prepared token needs: `None` for [`KeyNeed::Configured`], else the cached
    /// or freshly fetched key.
    pub async fn get(&self, need: &KeyNeed) -> Result<Option<Arc<VerificationKey>>, KeyFetchError> {
        match need {
            KeyNeed::Configured => Ok(None),
            KeyNeed::KeyServer { url, .. } => {
                let fetch = Fetch::Pem { url: url.clone() };
                self.get_entry(url.clone(), fetch).await.map(Some)
            }
            KeyNeed::Jwks { kid, url } => {
                let fetch = Fetch::Jwks {
                    url: url.clone(),
                    kid: kid.clone(),
                };
                self.get_entry(jwks_cache_key(url, kid), fetch)
                    .await
                    .map(Some)
            }
        }
    }

    async fn get_entry(&self, cache_key: String, fetch: Fetch) -> Shared {
        // Two rounds: the second only after a fetch task vanished without a result.
        for _ in 0..2 {
            let mut rx = {
                let mut entries = self.inner.lock();
                let now = Instant::now();
                match entries.get(&cache_key) {
                    Some(Entry::Ready { key, expires }) if *expires > now => return Ok(key.clone()),
                    Some(Entry::Failed { error, expires }) if *expires > now => {
                        return Err(error.clone());
                    }
                    Some(Entry::Pending(rx)) => rx.clone(),
                    _ => {
                        let (tx, rx) = watch::channel(None);
                        entries.insert(cache_key.clone(), Entry::Pending(rx.clone()));
                        self.spawn_fetch(cache_key.clone(), fetch.clone(), tx);
                        rx
                    }
                }
            };
            let outcome = rx.wait_for(Option::is_some).await.map(|v| v.clone());
            match outcome {
                Ok(Some(result)) => return result,
                Ok(None) | Err(_) => {
                    let mut entries = self.inner.lock();
                    if matches!(entries.get(&cache_key), Some(Entry::Pending(p)) if p.same_channel(&rx))
                    {
                        entries.remove(&cache_key);
                    }
                }
            }
        }
        Err(KeyFetchError::Aborted)
    }

    fn spawn_fetch(&self, cache_key: String, fetch: Fetch, tx: watch::Sender<Option<Shared>>) {
        self.inner.fetches.fetch_add(1, Ordering::Relaxed);
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            let result = inner.fetch(&fetch).await;
            inner.store(&cache_key, &result);
            let _ = tx.send(Some(result));
        });
    }
}

#[derive(Debug, Clone)]
enum Fetch {
    Pem { url: String },
    Jwks { url: String, kid: String },
}

fn jwks_cache_key(url: &str, kid: &str) -> String {
    format!("jwks {url} {kid}")
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn fetch(&self, fetch: &Fetch) -> Shared {
        let url = match fetch {
            Fetch::Pem { url } | Fetch::Jwks { url, .. } => url,
        };
        let timeout = self.config.timeout;
        // The client has the same total timeout; this one also bounds name resolution and
        // anything else the client does not count.
        let body = tokio::time::timeout(timeout, self.http.get(url, self.config.max_body_bytes))
            .await
            .map_err(|_| KeyFetchError::Timeout(timeout))?
            .map_err(|e| KeyFetchError::from_http(e, timeout))?;
        match fetch {
            Fetch::Pem { .. } => VerificationKey::from_pem(self.algorithm, &body)
                .map(Arc::new)
                .map_err(|e| KeyFetchError::BadKey(e.to_string())),
            Fetch::Jwks { url, kid } => self.take_jwks(url, kid, &body),
        }
    }

    /// Parses a JWKS document, caches every usable key in it, returns the one for `kid`.
    fn take_jwks(&self, url: &str, kid: &str, body: &[u8]) -> Shared {
        let keys = parse_jwks(self.algorithm, body, self.config.capacity)
            .map_err(|e| KeyFetchError::BadKey(e.to_string()))?;
        let mut wanted = None;
        let expires = Instant::now() + self.config.ttl;
        for found in keys {
            let key = Arc::new(found.key);
            if found.kid == kid {
                wanted = Some(key);
            } else {
                let mut entries = self.lock();
                let cache_key = jwks_cache_key(url, &found.kid);
                if !matches!(entries.get(&cache_key), Some(Entry::Pending(_))) {
                    entries.insert(cache_key.clone(), Entry::Ready { key, expires });
                    evict(&mut entries, self.config.capacity, &cache_key);
                }
            }
        }
        wanted.ok_or(KeyFetchError::UnknownKid)
    }

    fn store(&self, cache_key: &str, result: &Shared) {
        let now = Instant::now();
        let entry = match result {
            Ok(key) => Entry::Ready {
                key: Arc::clone(key),
                expires: now + self.config.ttl,
            },
            Err(error) => Entry::Failed {
                error: error.clone(),
                expires: now + self.config.negative_ttl,
            },
        };
        let mut entries = self.lock();
        entries.insert(cache_key.to_owned(), entry);
        evict(&mut entries, self.config.capacity, cache_key);
    }
}

/// Keeps at most `capacity` entries: drops expired ones, then those expiring soonest,
/// never a fetch in flight nor `keep`.
fn evict(entries: &mut HashMap<String, Entry>, capacity: usize, keep: &str) {
    if entries.len() <= capacity {
        return;
    }
    let now = Instant::now();
    entries.retain(|k, e| k == keep || e.expires().is_none_or(|t| t > now));
    while entries.len() > capacity {
        let victim = entries
            .iter()
            .filter(|(k, _)| k.as_str() != keep)
            .filter_map(|(k, e)| e.expires().map(|t| (t, k.clone())))
            .min();
        match victim {
            Some((_, k)) => {
                entries.remove(&k);
            }
            None => break,
        }
    }
}
