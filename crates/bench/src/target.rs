//! The server under test: where it listens, which domains it serves, how to log in.

use std::net::IpAddr;
use std::time::Duration;

use crate::error::BenchError;

/// SASL mechanism the load generator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// SASL ANONYMOUS: the server makes up a JID.
    Anonymous,
    /// SASL PLAIN with accounts `user{i}` / `pw{i}` (i counted from 1).
    Plain,
}

/// How the client reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Plain TCP c2s (RFC 6120 framing, no TLS).
    Tcp,
    /// WebSocket with the `xmpp` sub-protocol (RFC 7395 framing).
    Ws,
}

impl Transport {
    /// Short name used in the JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Ws => "ws",
        }
    }
}

/// Everything needed to reach and log in to the server under test.
#[derive(Debug, Clone)]
pub struct Target {
    /// Loopback address of the c2s listener.
    pub host: String,
    /// Port of the c2s listener.
    pub port: u16,
    /// The XMPP domain clients log in to.
    pub domain: String,
    /// The MUC service domain.
    pub muc_domain: String,
    /// SASL mechanism.
    pub auth: Auth,
    /// WebSocket URL (`ws://127.0.0.1:PORT/path`) for the `ws` scenario.
    pub ws_url: Option<String>,
    /// Upper bound for any single wait (login, join, drain).
    pub timeout: Duration,
}

impl Target {
    /// Refuses any address that is not on this machine's loopback interface.
    pub fn check_loopback(&self) -> Result<(), BenchError> {
        check_loopback_host(&self.host)?;
        if let Some(url) = &self.ws_url {
            let rest = url.strip_prefix("ws://").ok_or_else(|| {
                BenchError::Config(format!("ws url must start with ws:// (got {url})"))
            })?;
            let authority = rest.split('/').next().unwrap_or_default();
            let host = if let Some(v6) = authority.strip_prefix('[') {
                v6.split(']').next().unwrap_or_default()
            } else {
                authority.rsplit_once(':').map_or(authority, |(h, _)| h)
            };
            check_loopback_host(host)?;
        }
        Ok(())
    }

    /// `host:port` for TCP connects.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Account name and password for client number `idx` (0-based) with PLAIN.
    pub fn credentials(idx: usize) -> (String, String) {
        (format!("user{}", idx + 1), format!("pw{}", idx + 1))
    }
}

fn check_loopback_host(host: &str) -> Result<(), BenchError> {
    if host == "localhost" {
        return Ok(());
    }
    match host.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() => Ok(()),
        _ => Err(BenchError::Config(format!(
            "only loopback targets are allowed, not {host:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(host: &str, ws: Option<&str>) -> Target {
        Target {
            host: host.into(),
            port: 1,
            domain: "d".into(),
            muc_domain: "m".into(),
            auth: Auth::Anonymous,
            ws_url: ws.map(Into::into),
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn only_loopback_is_accepted() {
        let cases = [
            ("127.0.0.1", None, true),
            ("127.1.2.3", None, true),
            ("::1", None, true),
            ("localhost", None, true),
            ("10.0.0.1", None, false),
            ("example.org", None, false),
            (
                "127.0.0.1",
                Some("ws://127.0.0.1:5280/xmpp-websocket"),
                true,
            ),
            ("127.0.0.1", Some("ws://[::1]:5280/ws"), true),
            ("127.0.0.1", Some("ws://192.168.1.1:5280/ws"), false),
            ("127.0.0.1", Some("wss://127.0.0.1/ws"), false),
        ];
        for (host, ws, ok) in cases {
            assert_eq!(
                target(host, ws).check_loopback().is_ok(),
                ok,
                "{host} {ws:?}"
            );
        }
    }
}
