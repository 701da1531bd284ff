//! Mechanism names as advertised in `<mechanisms/>` and selected by `<auth mechanism=.../>`.

use std::fmt;

use crate::credentials::ScramHash;

/// A SASL mechanism this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// SCRAM-SHA-256 (RFC 7677).
    ScramSha256,
    /// SCRAM-SHA-1 (RFC 5802).
    ScramSha1,
    /// PLAIN (RFC 4616), verified against stored SCRAM credentials.
    Plain,
    /// OAUTHBEARER (RFC 7628); the token is verified by the caller.
    OAuthBearer,
    /// ANONYMOUS (RFC 4505).
    Anonymous,
}

impl Mechanism {
    /// Every mechanism, strongest first (the advertisement order).
    pub const ALL: [Mechanism; 5] = [
        Mechanism::ScramSha256,
        Mechanism::ScramSha1,
        Mechanism::Plain,
        Mechanism::OAuthBearer,
        Mechanism::Anonymous,
    ];

    /// The registered SASL name, e.g. `SCRAM-SHA-1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::Plain => "PLAIN",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::Anonymous => "ANONYMOUS",
        }
    }

    /// Looks a name up exactly (SASL mechanism names are upper case); `None` if unknown.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        Mechanism::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// The SCRAM hash, for the SCRAM mechanisms.
    pub fn scram_hash(self) -> Option<ScramHash> {
        match self {
            Mechanism::ScramSha256 => Some(ScramHash::Sha256),
            Mechanism::ScramSha1 => Some(ScramHash::Sha1),
            _ => None,
        }
    }

    /// Whether the client sends a reusable secret in the clear (PLAIN's password,
    /// OAUTHBEARER's token), so the mechanism should only run on encrypted streams.
    pub fn sends_secret_in_clear(self) -> bool {
        matches!(self, Mechanism::Plain | Mechanism::OAuthBearer)
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for m in Mechanism::ALL {
            assert_eq!(Mechanism::from_name(m.as_str()), Some(m));
        }
        assert_eq!(Mechanism::from_name("plain"), None);
        assert_eq!(Mechanism::from_name("SCRAM-SHA-1-PLUS"), None);
        assert_eq!(Mechanism::from_name(""), None);
    }
}
