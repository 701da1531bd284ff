//! TLS for STARTTLS: per-host certificates from PEM files, or a self-signed certificate
//! generated at start for development (the log says so).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::HostConfig;

/// Certificate problems.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// rustls refused the certificate or key.
    #[error("TLS configuration for '{host}': {source}")]
    Rustls {
        /// The host.
        host: String,
        /// The error.
        source: rustls::Error,
    },
    /// Generating a development certificate failed.
    #[error("generating a certificate for '{0}': {1}")]
    Generate(String, String),
}

fn read_pem(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Pem {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn load_files(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let cert_pem = read_pem(cert)?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: cert.display().to_string(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: cert.display().to_string(),
            reason: "no certificate found".into(),
        });
    }
    let key_pem = read_pem(key)?;
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| TlsError::Pem {
            path: key.display().to_string(),
            reason: e.to_string(),
        })?
        .ok_or_else(|| TlsError::Pem {
            path: key.display().to_string(),
            reason: "no private key found".into(),
        })?;
    Ok((certs, key))
}

fn generate(
    domain: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let failed = |e: rcgen::Error| TlsError::Generate(domain.to_owned(), e.to_string());
    // The host (and its subdomains) as subject alternative names and as the subject's CN,
    // so that a client or `openssl x509` shows which host the certificate is for.
    let mut params = rcgen::CertificateParams::new(vec![domain.to_owned(), format!("*.{domain}")])
        .map_err(failed)?;
    let mut subject = rcgen::DistinguishedName::new();
    subject.push(rcgen::DnType::CommonName, domain);
    subject.push(
        rcgen::DnType::OrganizationName,
        "Rookery development certificate",
    );
    params.distinguished_name = subject;
    let signing_key = rcgen::KeyPair::generate().map_err(failed)?;
    let cert = params.self_signed(&signing_key).map_err(failed)?;
    let key = PrivateKeyDer::try_from(signing_key.serialize_der())
        .map_err(|e| TlsError::Generate(domain.to_owned(), e.to_string()))?;
    Ok((vec![cert.der().clone()], key))
}

/// Builds the acceptor for one host.
pub(crate) fn acceptor_for(host: &HostConfig) -> Result<TlsAcceptor, TlsError> {
    let (certs, key) = match (&host.tls_certificate, &host.tls_key) {
        (Some(c), Some(k)) => load_files(c, k)?,
        _ => {
            tracing::warn!(
                host = %host.domain,
                "no TLS certificate configured: generated a self-signed one (development only)"
            );
            generate(&host.domain)?
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|source| TlsError::Rustls {
            host: host.domain.clone(),
            source,
        })?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|source| TlsError::Rustls {
            host: host.domain.clone(),
            source,
        })?;
    Ok(TlsAcceptor::from(Arc::new(cfg)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn generated_certificate_names_the_host_in_its_subject() {
        let (certs, _) = generate("chat.example.org").unwrap();
        let der = certs.first().unwrap().as_ref();
        assert!(contains(der, b"chat.example.org"));
        assert!(contains(der, b"*.chat.example.org"));
        assert!(contains(der, b"Rookery development certificate"));
        assert!(!contains(der, b"rcgen self signed cert"));
    }
}
