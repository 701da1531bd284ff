//! JIDs (RFC 7622) with the normalisation this server relies on.
//!
//! Localparts and domains are case-folded (Unicode lowercase) and checked for the characters
//! RFC 7622 forbids; resources are kept as sent (opaque, case-sensitive). Each part is limited
//! to 1023 bytes. This is the subset of PRECIS that matters for routing: two spellings of the
//! same account always compare equal.

use std::fmt;
use std::sync::Arc;

/// Why a string is not a JID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JidError {
    /// The domain is empty.
    #[error("empty domain")]
    EmptyDomain,
    /// The localpart is present but empty (`@domain`).
    #[error("empty localpart")]
    EmptyNode,
    /// The resource is present but empty (`domain/`).
    #[error("empty resource")]
    EmptyResource,
    /// A part is longer than 1023 bytes.
    #[error("part too long")]
    TooLong,
    /// A forbidden character appears.
    #[error("forbidden character {0:?}")]
    BadChar(char),
}

/// A bare or full JID. Cheap to clone (one shared allocation).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Jid {
    s: Arc<str>,
    // Offsets fit in u16: each part is at most 1023 bytes. Small JIDs keep every mailbox
    // slot and routing-table entry small.
    at: Option<u16>,
    slash: Option<u16>,
}

const MAX_PART: usize = 1023;

fn check_node(n: &str) -> Result<String, JidError> {
    if n.is_empty() {
        return Err(JidError::EmptyNode);
    }
    if let Some(c) = n.chars().find(|c| {
        matches!(c, '"' | '&' | '\'' | '/' | ':' | '<' | '>' | '@')
            || c.is_whitespace()
            || c.is_control()
    }) {
        return Err(JidError::BadChar(c));
    }
    let n = n.to_lowercase();
    if n.len() > MAX_PART {
        return Err(JidError::TooLong);
    }
    Ok(n)
}

fn check_domain(d: &str) -> Result<String, JidError> {
    let d = d.strip_suffix('.').unwrap_or(d);
    if d.is_empty() {
        return Err(JidError::EmptyDomain);
    }
    if let Some(c) = d.chars().find(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, '@' | '/' | '<' | '>' | '"' | '\'' | '&')
    }) {
        return Err(JidError::BadChar(c));
    }
    let d = d.to_lowercase();
    if d.len() > MAX_PART {
        return Err(JidError::TooLong);
    }
    Ok(d)
}

fn check_resource(r: &str) -> Result<&str, JidError> {
    if r.is_empty() {
        return Err(JidError::EmptyResource);
    }
    if r.len() > MAX_PART {
        return Err(JidError::TooLong);
    }
    if let Some(c) = r.chars().find(|c| c.is_control()) {
        return Err(JidError::BadChar(c));
    }
    Ok(r)
}

impl Jid {
    /// Parses and normalises a JID.
    pub fn parse(s: &str) -> Result<Jid, JidError> {
        let (rest, resource) = match s.split_once('/') {
            Some((a, r)) => (a, Some(check_resource(r)?)),
            None => (s, None),
        };
        let (node, domain) = match rest.split_once('@') {
            Some((n, d)) => (Some(check_node(n)?), check_domain(d)?),
            None => (None, check_domain(rest)?),
        };
        Ok(Self::from_checked(node.as_deref(), &domain, resource))
    }

    fn from_checked(node: Option<&str>, domain: &str, resource: Option<&str>) -> Jid {
        let mut s = String::with_capacity(
            node.map_or(0, |n| n.len() + 1) + domain.len() + resource.map_or(0, |r| r.len() + 1),
        );
        let mut at = None;
        if let Some(n) = node {
            s.push_str(n);
            at = u16::try_from(s.len()).ok();
            s.push('@');
        }
        s.push_str(domain);
        let mut slash = None;
        if let Some(r) = resource {
            slash = u16::try_from(s.len()).ok();
            s.push('/');
            s.push_str(r);
        }
        Jid {
            s: s.into(),
            at,
            slash,
        }
    }

    /// Builds a JID from parts, normalising each.
    pub fn from_parts(
        node: Option<&str>,
        domain: &str,
        resource: Option<&str>,
    ) -> Result<Jid, JidError> {
        let node = node.map(check_node).transpose()?;
        let domain = check_domain(domain)?;
        let resource = resource.map(check_resource).transpose()?;
        Ok(Self::from_checked(node.as_deref(), &domain, resource))
    }

    /// The localpart, if any.
    pub fn node(&self) -> Option<&str> {
        self.at.and_then(|a| self.s.get(..usize::from(a)))
    }

    /// The domain.
    pub fn domain(&self) -> &str {
        let start = self.at.map_or(0, |a| usize::from(a) + 1);
        let end = self.slash.map_or(self.s.len(), usize::from);
        self.s.get(start..end).unwrap_or_default()
    }

    /// The resource, if any.
    pub fn resource(&self) -> Option<&str> {
        self.slash.and_then(|s| self.s.get(usize::from(s) + 1..))
    }

    /// True when there is a resource.
    pub fn is_full(&self) -> bool {
        self.slash.is_some()
    }

    /// The bare JID (`node@domain` or `domain`).
    pub fn to_bare(&self) -> Jid {
        match self.slash {
            None => self.clone(),
            Some(s) => Jid {
                s: self.s.get(..usize::from(s)).unwrap_or_default().into(),
                at: self.at,
                slash: None,
            },
        }
    }

    /// The bare JID as a string slice, without allocating.
    pub fn bare_str(&self) -> &str {
        match self.slash {
            None => &self.s,
            Some(s) => self.s.get(..usize::from(s)).unwrap_or_default(),
        }
    }

    /// This JID with another resource.
    pub fn with_resource(&self, resource: &str) -> Result<Jid, JidError> {
        let r = check_resource(resource)?;
        Ok(Self::from_checked(self.node(), self.domain(), Some(r)))
    }

    /// The whole JID as a string.
    pub fn as_str(&self) -> &str {
        &self.s
    }
}

impl fmt::Display for Jid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.s)
    }
}

impl fmt::Debug for Jid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Jid({})", self.s)
    }
}

impl std::str::FromStr for Jid {
    type Err = JidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Jid::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_and_normalisation() {
        let j = Jid::parse("Alice@Example.COM./Res/x").unwrap();
        assert_eq!(j.node(), Some("alice"));
        assert_eq!(j.domain(), "example.com");
        assert_eq!(j.resource(), Some("Res/x"));
        assert_eq!(j.to_bare().as_str(), "alice@example.com");
        assert_eq!(j.bare_str(), "alice@example.com");
        let d = Jid::parse("conference.example.com").unwrap();
        assert_eq!(d.node(), None);
        assert_eq!(d.resource(), None);
    }

    #[test]
    fn refusals() {
        for bad in [
            "",
            "@x",
            "x/",
            "a b@c",
            "a@",
            "a:b@c",
            "a@b c",
            &"n".repeat(1024),
        ] {
            assert!(Jid::parse(bad).is_err(), "{bad}");
        }
        let long_node = format!("{}@x", "n".repeat(1024));
        assert_eq!(Jid::parse(&long_node), Err(JidError::TooLong));
    }
}
