//! Tenant mapping between the client's view of a room and the MUC's internal room key.
//!
//! A client addresses a tenant room as `room@conference.<tenant>.<base>`; internally (and
//! in Jitsi's Prosody) it is `[<tenant>]room@conference.<base>`. Both forms map to the same
//! [`RoomKey`]; outbound addresses go back to the form the client used.

use std::fmt;

use crate::config::MucPolicyConfig;

/// Longest room or tenant name, in bytes (the XMPP localpart limit).
pub const MAX_NAME_BYTES: usize = 1023;

/// A room address that cannot name a room of this MUC service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// The domain is neither the MUC domain nor one of its tenant subdomains.
    #[error("the domain is not served by this MUC service")]
    NotThisService,
    /// The room (node) or tenant name is empty, too long or has forbidden characters.
    #[error("invalid room or tenant name")]
    InvalidName,
    /// A `[tenant]room` node that is malformed, or a tenant node on a tenant subdomain.
    #[error("malformed tenant room address")]
    MalformedTenant,
}

/// The internal key of a room: its tenant (if any) and its name, both nodeprepped
/// (lowercased, forbidden characters refused).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomKey {
    tenant: Option<String>,
    name: String,
}

impl RoomKey {
    /// A key from a tenant and a room name, nodeprepped. Brackets are refused in both so
    /// that the internal `[tenant]room` form is never ambiguous.
    pub fn new(tenant: Option<&str>, name: &str) -> Result<Self, AddressError> {
        let prep = |s: &str| {
            let s = nodeprep(s)?;
            if s.contains(['[', ']']) {
                return Err(AddressError::InvalidName);
            }
            Ok(s)
        };
        Ok(Self {
            tenant: tenant.map(prep).transpose()?,
            name: prep(name)?,
        })
    }

    /// Parses an internal node: `[tenant]room` or `room`.
    pub fn parse_node(node: &str) -> Result<Self, AddressError> {
        match node.strip_prefix('[') {
            Some(rest) => {
                let (tenant, room) = rest.split_once(']').ok_or(AddressError::MalformedTenant)?;
                if tenant.is_empty() || room.is_empty() {
                    return Err(AddressError::MalformedTenant);
                }
                Self::new(Some(tenant), room)
            }
            None => Self::new(None, node),
        }
    }

    /// The tenant, lowercased.
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// The room name, lowercased.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The internal node: `[tenant]room` or `room`.
    pub fn internal_node(&self) -> String {
        match &self.tenant {
            Some(t) => format!("[{t}]{}", self.name),
            None => self.name.clone(),
        }
    }
}

impl fmt::Display for RoomKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.internal_node())
    }
}

/// Which form the client used to address a room; outbound `from` uses the same form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddressForm {
    /// `room@conference.tenant.base` (lib-jitsi-meet's form), or a root room.
    #[default]
    Subdomain,
    /// `[tenant]room@conference.base`.
    Internal,
}

/// A room address as the client sees it: node and domain of the room's bare JID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomAddress {
    /// The room JID's node.
    pub node: String,
    /// The room JID's domain.
    pub domain: String,
}

impl fmt::Display for RoomAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.node, self.domain)
    }
}

/// A client-addressed room resolved to its key, remembering the form used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedRoom {
    /// The internal room key.
    pub key: RoomKey,
    /// The form the client used.
    pub form: AddressForm,
}

/// Maps room JIDs between the client's and the internal form for one MUC service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantMapper {
    base: Option<String>,
    prefix: String,
    muc_domain: String,
}

impl TenantMapper {
    /// A mapper for the MUC service `muc_host` under `config`
    /// (`muc_mapper_domain_base`, `muc_mapper_domain_prefix`, `muc_mapper_domain`).
    ///
    /// The real MUC domain is `muc_mapper_domain`, else `<prefix>.<base>`, else `muc_host`.
    pub fn new(muc_host: &str, config: &MucPolicyConfig) -> Self {
        let base = config
            .muc_mapper_domain_base
            .as_deref()
            .filter(|b| !b.is_empty())
            .map(str::to_lowercase);
        let prefix = config.muc_mapper_domain_prefix.to_lowercase();
        let muc_domain = match (&config.muc_mapper_domain, &base) {
            (Some(domain), _) if !domain.is_empty() => domain.to_lowercase(),
            (_, Some(base)) => format!("{prefix}.{base}"),
            _ => muc_host.to_lowercase(),
        };
        Self {
            base,
            prefix,
            muc_domain,
        }
    }

    /// A mapper from its parts: base domain, prefix, and real MUC domain.
    pub fn from_parts(base: Option<&str>, prefix: &str, muc_domain: &str) -> Self {
        Self {
            base: base.map(str::to_lowercase),
            prefix: prefix.to_lowercase(),
            muc_domain: muc_domain.to_lowercase(),
        }
    }

    /// The deployment's base domain, if configured.
    pub fn base(&self) -> Option<&str> {
        self.base.as_deref()
    }

    /// The MUC label (`conference`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The real MUC domain (`conference.<base>`).
    pub fn muc_domain(&self) -> &str {
        &self.muc_domain
    }

    /// The tenant named by a tenant subdomain `<prefix>.<tenant>.<base>`, if `domain` is one.
    pub fn tenant_of_domain(&self, domain: &str) -> Option<String> {
        let base = self.base.as_deref()?;
        let domain = domain.to_lowercase();
        let rest = domain
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix('.')?;
        let tenant = rest.strip_suffix(base)?.strip_suffix('.')?;
        let valid = !tenant.is_empty() && !tenant.contains(['.', '[', ']']);
        valid.then(|| tenant.to_owned())
    }

    /// Whether `domain` is the MUC domain or one of its tenant subdomains.
    pub fn serves(&self, domain: &str) -> bool {
        domain.eq_ignore_ascii_case(&self.muc_domain) || self.tenant_of_domain(domain).is_some()
    }

    /// Maps an inbound room address (node and domain of its JID) to the room key.
    pub fn inbound(&self, node: &str, domain: &str) -> Result<MappedRoom, AddressError> {
        if domain.eq_ignore_ascii_case(&self.muc_domain) {
            let key = RoomKey::parse_node(node)?;
            let form = if key.tenant.is_some() {
                AddressForm::Internal
            } else {
                AddressForm::Subdomain
            };
            return Ok(MappedRoom { key, form });
        }
        let tenant = self
            .tenant_of_domain(domain)
            .ok_or(AddressError::NotThisService)?;
        if node.starts_with('[') {
            return Err(AddressError::MalformedTenant);
        }
        Ok(MappedRoom {
            key: RoomKey::new(Some(&tenant), node)?,
            form: AddressForm::Subdomain,
        })
    }

    /// The room address in the given form. A tenant room needs a base domain for the
    /// subdomain form; without one the internal form is used.
    pub fn outbound(&self, key: &RoomKey, form: AddressForm) -> RoomAddress {
        match (&key.tenant, form, &self.base) {
            (Some(tenant), AddressForm::Subdomain, Some(base)) => RoomAddress {
                node: key.name.clone(),
                domain: format!("{}.{tenant}.{base}", self.prefix),
            },
            _ => RoomAddress {
                node: key.internal_node(),
                domain: self.muc_domain.clone(),
            },
        }
    }

    /// Rewrites a JID text for inbound routing (`to`, the focus IQ's `room` attribute):
    /// `room@conference.tenant.base/res` -> `[tenant]room@conference.base/res`.
    /// Returns `None` when the JID needs no rewrite (not a tenant subdomain).
    pub fn rewrite_inbound_jid(&self, jid: &str) -> Option<String> {
        let (bare, resource) = split_resource(jid);
        let (node, domain) = bare.split_once('@')?;
        self.tenant_of_domain(domain)?;
        let mapped = self.inbound(node, domain).ok()?;
        let address = self.outbound(&mapped.key, AddressForm::Internal);
        Some(join(&address, resource))
    }

    /// Rewrites a JID text for outbound delivery (`from`, occupant JIDs):
    /// `[tenant]room@conference.base/nick` -> `room@conference.tenant.base/nick`.
    /// Returns `None` when the JID needs no rewrite (no tenant, or not this MUC).
    pub fn rewrite_outbound_jid(&self, jid: &str) -> Option<String> {
        let (bare, resource) = split_resource(jid);
        let (node, domain) = bare.split_once('@')?;
        if !domain.eq_ignore_ascii_case(&self.muc_domain) || !node.starts_with('[') {
            return None;
        }
        self.base.as_ref()?;
        let key = RoomKey::parse_node(node).ok()?;
        let address = self.outbound(&key, AddressForm::Subdomain);
        Some(join(&address, resource))
    }
}

fn split_resource(jid: &str) -> (&str, Option<&str>) {
    match jid.split_once('/') {
        Some((bare, resource)) => (bare, Some(resource)),
        None => (jid, None),
    }
}

fn join(address: &RoomAddress, resource: Option<&str>) -> String {
    match resource {
        Some(r) => format!("{address}/{r}"),
        None => address.to_string(),
    }
}

/// Nodeprep as Rookery applies it to room and tenant names: lowercase, and refuse the
/// characters RFC 6122 forbids in a localpart, whitespace, controls and over-long names.
pub fn nodeprep(name: &str) -> Result<String, AddressError> {
    let forbidden =
        |c: char| matches!(c, '"' | '&' | '\'' | '/' | ':' | '<' | '>' | '@') || c.is_whitespace();
    if name.is_empty()
        || name.len() > MAX_NAME_BYTES
        || name.chars().any(|c| forbidden(c) || c.is_control())
    {
        return Err(AddressError::InvalidName);
    }
    Ok(name.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapper() -> TenantMapper {
        let config = MucPolicyConfig {
            muc_mapper_domain_base: Some("Meet.Example.com".into()),
            ..MucPolicyConfig::default()
        };
        TenantMapper::new("conference.meet.example.com", &config)
    }

    #[test]
    fn both_forms_reach_the_same_key() {
        let m = mapper();
        let a = m
            .inbound("StandUp", "conference.acme.meet.example.com")
            .unwrap();
        let b = m
            .inbound("[ACME]standup", "conference.meet.example.com")
            .unwrap();
        assert_eq!(a.key, b.key);
        assert_eq!(a.key.tenant(), Some("acme"));
        assert_eq!(a.key.name(), "standup");
        assert_eq!(a.form, AddressForm::Subdomain);
        assert_eq!(b.form, AddressForm::Internal);
        assert_eq!(
            m.outbound(&a.key, a.form).to_string(),
            "standup@conference.acme.meet.example.com"
        );
        assert_eq!(
            m.outbound(&b.key, b.form).to_string(),
            "[acme]standup@conference.meet.example.com"
        );
    }

    #[test]
    fn root_rooms() {
        let m = mapper();
        let r = m.inbound("standup", "CONFERENCE.meet.example.com").unwrap();
        assert_eq!(r.key, RoomKey::new(None, "standup").unwrap());
        assert_eq!(
            m.outbound(&r.key, r.form).to_string(),
            "standup@conference.meet.example.com"
        );
    }

    #[test]
    fn bad_addresses() {
        let m = mapper();
        let cases: &[(&str, &str, AddressError)] = &[
            ("room", "conference.other.org", AddressError::NotThisService),
            (
                "room",
                "conference.a.b.meet.example.com",
                AddressError::NotThisService,
            ),
            (
                "room",
                "muc.acme.meet.example.com",
                AddressError::NotThisService,
            ),
            ("", "conference.meet.example.com", AddressError::InvalidName),
            (
                "a b",
                "conference.meet.example.com",
                AddressError::InvalidName,
            ),
            (
                "[]room",
                "conference.meet.example.com",
                AddressError::MalformedTenant,
            ),
            (
                "[acme]",
                "conference.meet.example.com",
                AddressError::MalformedTenant,
            ),
            (
                "[acme",
                "conference.meet.example.com",
                AddressError::MalformedTenant,
            ),
            (
                "[x]r",
                "conference.acme.meet.example.com",
                AddressError::MalformedTenant,
            ),
            (
                "[a]]b",
                "conference.meet.example.com",
                AddressError::InvalidName,
            ),
        ];
        for (node, domain, want) in cases {
            assert_eq!(
                m.inbound(node, domain).unwrap_err(),
                *want,
                "{node}@{domain}"
            );
        }
        let long = "a".repeat(MAX_NAME_BYTES + 1);
        assert_eq!(
            m.inbound(&long, "conference.meet.example.com").unwrap_err(),
            AddressError::InvalidName
        );
    }

    #[test]
    fn jid_text_rewrites() {
        let m = mapper();
        assert_eq!(
            m.rewrite_inbound_jid("StandUp@conference.acme.meet.example.com/nick")
                .as_deref(),
            Some("[acme]standup@conference.meet.example.com/nick")
        );
        assert_eq!(
            m.rewrite_inbound_jid("standup@conference.meet.example.com"),
            None
        );
        assert_eq!(m.rewrite_inbound_jid("user@meet.example.com/r"), None);
        assert_eq!(
            m.rewrite_outbound_jid("[acme]standup@conference.meet.example.com/nick")
                .as_deref(),
            Some("standup@conference.acme.meet.example.com/nick")
        );
        assert_eq!(
            m.rewrite_outbound_jid("[acme]standup@conference.meet.example.com")
                .as_deref(),
            Some("standup@conference.acme.meet.example.com")
        );
        assert_eq!(
            m.rewrite_outbound_jid("standup@conference.meet.example.com/n"),
            None
        );
        assert_eq!(
            m.rewrite_outbound_jid("focus@auth.meet.example.com/f"),
            None
        );
    }

    #[test]
    fn without_base_only_the_internal_form_exists() {
        let m = TenantMapper::new("muc.local", &MucPolicyConfig::default());
        assert_eq!(m.muc_domain(), "muc.local");
        let r = m.inbound("[t]room", "muc.local").unwrap();
        assert_eq!(
            m.outbound(&r.key, AddressForm::Subdomain).to_string(),
            "[t]room@muc.local"
        );
        assert_eq!(m.rewrite_outbound_jid("[t]room@muc.local/n"), None);
        assert_eq!(
            m.inbound("room", "conference.t.muc.local").unwrap_err(),
            AddressError::NotThisService
        );
    }
}
