//! A minimal HTTP/1.1 GET client (hyper's connection API over tokio, rustls with ring for
//! https) for fetching public keys. One connection per request, `Connection: close`, no
//! redirects, a body size limit; the caller adds the timeout.

use std::pin::pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper::Request;
use hyper::Uri;
use hyper::header::{ACCEPT, CONNECTION, CONTENT_LENGTH, HOST, USER_AGENT};
use hyper_util::rt::TokioIo;
use rustls::RootCertStore;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Why a GET failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("invalid URL")]
    InvalidUrl,
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("TLS failed: {0}")]
    Tls(String),
    #[error("HTTP error: {0}")]
    Http(String),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("response body over {0} bytes")]
    TooLarge(usize),
}

/// A GET-only client with a fixed set of trusted roots.
#[derive(Clone)]
pub(crate) struct HttpClient {
    tls: TlsConnector,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client trusting the Mozilla roots (webpki-roots).
    pub(crate) fn with_webpki_roots() -> Result<Self, HttpError> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        Self::with_roots(roots)
    }

    /// A client trusting `roots` (e.g. a private CA of an internal key server).
    pub(crate) fn with_roots(roots: RootCertStore) -> Result<Self, HttpError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| HttpError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            tls: TlsConnector::from(Arc::new(config)),
        })
    }

    /// GETs `url` (http or https) and returns the body of a 200 response, at most
    /// `max_body` bytes.
    pub(crate) async fn get(&self, url: &str, max_body: usize) -> Result<Bytes, HttpError> {
        let uri: Uri = url.parse().map_err(|_| HttpError::InvalidUrl)?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(HttpError::InvalidUrl),
        };
        let authority = uri
            .authority()
            .ok_or(HttpError::InvalidUrl)?
            .as_str()
            .to_owned();
        let host = uri
            .host()
            .ok_or(HttpError::InvalidUrl)?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();

        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| HttpError::Connect(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let request = Request::get(path)
            .header(HOST, authority)
            .header(USER_AGENT, concat!("Rookery/", env!("CARGO_PKG_VERSION")))
            .header(ACCEPT, "*/*")
            .header(CONNECTION, "close")
            .body(Empty::<Bytes>::new())
            .map_err(|e| HttpError::Http(e.to_string()))?;
        if https {
            let name = ServerName::try_from(host).map_err(|_| HttpError::InvalidUrl)?;
            let tls = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| HttpError::Tls(e.to_string()))?;
            exchange(TokioIo::new(tls), request, max_body).await
        } else {
            exchange(TokioIo::new(tcp), request, max_body).await
        }
    }
}

/// Runs one request on a fresh connection, driving the connection in the same future so
/// that dropping it (timeout) closes the socket.
async fn exchange<I>(
    io: I,
    request: Request<Empty<Bytes>>,
    max_body: usize,
) -> Result<Bytes, HttpError>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| HttpError::Http(e.to_string()))?;
    let response = async move {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| HttpError::Http(e.to_string()))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(HttpError::Status(status));
        }
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > max_body as u64) {
            return Err(HttpError::TooLarge(max_body));
        }
        let body = Limited::new(response.into_body(), max_body)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<LengthLimitError>().is_some() {
                    HttpError::TooLarge(max_body)
                } else {
                    HttpError::Http(e.to_string())
                }
            })?;
        Ok(body.to_bytes())
    };
    let mut response = pin!(response);
    let mut conn = pin!(conn);
    let mut conn_done = false;
    loop {
        tokio::select! {
            result = &mut response => return result,
            result = &mut conn, if !conn_done => {
                conn_done = true;
                if let Err(e) = result {
                    return Err(HttpError::Http(e.to_string()));
                }
            }
        }
    }
}
