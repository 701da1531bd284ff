//! The GET behind the key cache: reqwest over HTTP/1.1, rustls with the ring provider and a
//! fixed set of trusted roots, no redirects, no proxy, a total timeout and a body limit
//! enforced while the body is read (a lying or absent `Content-Length` cannot get past it).

use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;

/// Why a GET failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("invalid URL")]
    InvalidUrl,
    #[error("timed out")]
    Timeout,
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("response body over {0} bytes")]
    TooLarge(usize),
    /// Connection, TLS or protocol failure.
    #[error("{0}")]
    Unreachable(String),
    /// The client could not be built.
    #[error("{0}")]
    Setup(String),
}

/// A GET-only client with a fixed set of trusted roots.
#[derive(Clone)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client trusting `roots` for https, giving up on a request after `timeout`
    /// (connect, request and body).
    pub(crate) fn new(roots: RootCertStore, timeout: Duration) -> Result<Self, HttpError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| HttpError::Setup(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            // Key URLs are configured to be reached directly, as before: no HTTP(S)_PROXY.
            .no_proxy()
            .timeout(timeout)
            // Fetches are rare (keys are cached for their TTL): keep no idle connections.
            .pool_max_idle_per_host(0)
            .user_agent(concat!("Rookery/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HttpError::Setup(error_chain(&e)))?;
        Ok(Self { client })
    }

    /// GETs `url` (http or https) and returns the body of a 200 response, at most
    /// `max_body` bytes.
    pub(crate) async fn get(&self, url: &str, max_body: usize) -> Result<Vec<u8>, HttpError> {
        let url = reqwest::Url::parse(url).map_err(|_| HttpError::InvalidUrl)?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(HttpError::InvalidUrl);
        }
        let mut response = self.client.get(url).send().await.map_err(classify)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(HttpError::Status(status));
        }
        if response
            .content_length()
            .is_some_and(|len| len > max_body as u64)
        {
            return Err(HttpError::TooLarge(max_body));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if chunk.len() > max_body.saturating_sub(body.len()) {
                return Err(HttpError::TooLarge(max_body));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

fn classify(err: reqwest::Error) -> HttpError {
    if err.is_timeout() {
        HttpError::Timeout
    } else {
        // Without the URL: the reason reaches the client, the key server's address need not.
        HttpError::Unreachable(error_chain(&err.without_url()))
    }
}

/// The error and its sources, `outer: inner: ...` (reqwest's own message is generic).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
