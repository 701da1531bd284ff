//! Tenant address mapping, supplied by the server.
//!
//! A Jitsi tenant room can be addressed as `room@conference.tenant.base` (client view) or
//! `[tenant]room@conference.base` (internal form). Rooms are keyed by the internal form; each
//! occupant keeps the form it used and every stanza it receives uses that form. The mapping
//! rules live in the policy crate; the MUC only calls this trait.

use rookery_proto::Jid;

/// Maps room addresses between the forms clients use and the internal room key.
pub trait AddressMapper: Send + Sync {
    /// True when `domain` is served by the MUC service `service` (the service domain itself
    /// or, with tenants, one of its tenant subdomains).
    fn serves(&self, service: &Jid, domain: &str) -> bool;

    /// The internal bare room JID for `addressed` (a bare room JID as a client wrote it);
    /// `None` when it names no room of `service`.
    fn to_internal(&self, service: &Jid, addressed: &Jid) -> Option<Jid>;

    /// How a client that addresses the service as `service_view` (the service domain or a
    /// tenant subdomain) sees the internal room `internal`; `None` when that client cannot
    /// see it (another tenant's room). Used to list rooms in disco#items.
    fn to_view(&self, service: &Jid, internal: &Jid, service_view: &str) -> Option<Jid>;
}

/// No tenants: a room is addressed only by its internal JID on the service domain.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdentityMapper;

impl AddressMapper for IdentityMapper {
    fn serves(&self, service: &Jid, domain: &str) -> bool {
        service.domain() == domain
    }

    fn to_internal(&self, service: &Jid, addressed: &Jid) -> Option<Jid> {
        (addressed.domain() == service.domain() && addressed.node().is_some())
            .then(|| addressed.to_bare())
    }

    fn to_view(&self, service: &Jid, internal: &Jid, service_view: &str) -> Option<Jid> {
        (service_view == service.domain()).then(|| internal.to_bare())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_mapping() {
        let svc = Jid::parse("conference.example").unwrap();
        let m = IdentityMapper;
        assert!(m.serves(&svc, "conference.example"));
        assert!(!m.serves(&svc, "conference.t.example"));
        let r = Jid::parse("Room@Conference.Example/nick").unwrap();
        assert_eq!(
            m.to_internal(&svc, &r).unwrap().as_str(),
            "room@conference.example"
        );
        assert_eq!(m.to_internal(&svc, &svc), None);
        assert_eq!(
            m.to_internal(&svc, &Jid::parse("r@elsewhere").unwrap()),
            None
        );
        let internal = Jid::parse("room@conference.example").unwrap();
        assert_eq!(
            m.to_view(&svc, &internal, "conference.example"),
            Some(internal.clone())
        );
        assert_eq!(m.to_view(&svc, &internal, "other"), None);
    }
}
