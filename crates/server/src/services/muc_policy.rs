//! Connects a MUC service to the Jitsi policy of `rookery-policy`: tenant address mapping
//! (`room@conference.tenant.base` ≡ `[tenant]room@conference.base`) and room verification at
//! pre-create and pre-join. A refusal is one `not-allowed` error presence with a reason text and
//! the `http://jitsi.org/jitmeet` code element; nothing else happens.
//!
//! Admins (global, MUC and parent-host lists) are decided by their own arm of the policy and
//! never reach claim comparison: the Prosody crash on jicofo's nil domain cannot happen.

use std::collections::HashMap;
use std::sync::Arc;

use rookery_muc::hooks::{Decision, JoinGrant, MucHooks, PreCreate, PreJoin, RoomSetup};
use rookery_muc::{AddressMapper, MucConfig};
use rookery_policy::{AdminSources, MucPolicy, MucPolicyConfig, RoomAction, RoomKey, TenantMapper};
use rookery_proto::Jid;

use crate::core::Identity;

/// The address mapper a MUC service runs with.
#[derive(Debug, Clone)]
pub(crate) enum ServerMapper {
    /// No tenants: rooms are addressed on the service domain only.
    Plain,
    /// Jitsi tenants under `muc_mapper_domain_base`.
    Tenants(TenantMapper),
}

impl AddressMapper for ServerMapper {
    fn serves(&self, service: &Jid, domain: &str) -> bool {
        match self {
            ServerMapper::Plain => rookery_muc::IdentityMapper.serves(service, domain),
            ServerMapper::Tenants(m) => m.serves(domain),
        }
    }

    fn to_internal(&self, service: &Jid, addressed: &Jid) -> Option<Jid> {
        match self {
            ServerMapper::Plain => rookery_muc::IdentityMapper.to_internal(service, addressed),
            ServerMapper::Tenants(m) => {
                let mapped = m.inbound(addressed.node()?, addressed.domain()).ok()?;
                let a = m.outbound(&mapped.key, rookery_policy::AddressForm::Internal);
                Jid::from_parts(Some(&a.node), &a.domain, None).ok()
            }
        }
    }

    fn to_view(&self, service: &Jid, internal: &Jid, service_view: &str) -> Option<Jid> {
        match self {
            ServerMapper::Plain => {
                rookery_muc::IdentityMapper.to_view(service, internal, service_view)
            }
            ServerMapper::Tenants(m) => {
                let key = RoomKey::parse_node(internal.node()?).ok()?;
                if service_view.eq_ignore_ascii_case(m.muc_domain()) {
                    return Some(internal.to_bare());
                }
                let tenant = m.tenant_of_domain(service_view)?;
                (key.tenant() == Some(tenant.as_str()))
                    .then(|| Jid::from_parts(Some(key.name()), service_view, None).ok())
                    .flatten()
            }
        }
    }
}

/// The room-verification hook of one MUC service.
#[derive(Debug)]
pub(crate) struct PolicyHook {
    policy: MucPolicy,
    config: MucPolicyConfig,
    /// Refusals by Jitsi code, for `/metrics`.
    pub refusals: Arc<crate::metrics::Labelled>,
    /// With `token_expiry = "kick"`: when each token occupant must go, by (room, real JID),
    /// in seconds since the epoch. The room tasks look here on every tick.
    pub expiries: Arc<Expiries>,
}

/// Token expiry deadlines of occupants, shared between the hook and the room tasks.
#[derive(Debug, Default)]
pub(crate) struct Expiries {
    // Deadlines by room, then by occupant: each room task looks only at its own on every
    // tick. A std Mutex: only short inserts, removals and scans, never held across an await.
    at: std::sync::Mutex<HashMap<Jid, HashMap<Jid, i64>>>,
}

impl Expiries {
    fn set(&self, room: &Jid, real: &Jid, at: i64) {
        if let Ok(mut m) = self.at.lock() {
            m.entry(room.clone()).or_default().insert(real.clone(), at);
        }
    }

    fn clear(&self, room: &Jid, real: &Jid) {
        if let Ok(mut m) = self.at.lock()
            && let Some(occupants) = m.get_mut(room)
        {
            occupants.remove(real);
            if occupants.is_empty() {
                m.remove(room);
            }
        }
    }

    /// Takes the occupants of `room` whose deadline is at or before `now` (seconds).
    pub(crate) fn due(&self, room: &Jid, now: i64) -> Vec<Jid> {
        let Ok(mut m) = self.at.lock() else {
            return Vec::new();
        };
        let Some(occupants) = m.get_mut(room) else {
            return Vec::new();
        };
        let mut due = Vec::new();
        occupants.retain(|real, at| {
            let keep = *at > now;
            if !keep {
                due.push(real.clone());
            }
            keep
        });
        if occupants.is_empty() {
            m.remove(room);
        }
        due
    }
}

/// The policy settings of a MUC block with the MUC's own `admins` and
/// `restrict_room_creation` folded in (one list of admins, one switch).
pub(crate) fn effective_policy_config(muc: &MucConfig) -> Option<MucPolicyConfig> {
    let mut cfg = muc.token_verification.clone()?;
    cfg.admins.extend(muc.admins.iter().map(|j| j.to_string()));
    cfg.restrict_room_creation |= muc.restrict_room_creation;
    Some(cfg)
}

impl PolicyHook {
    /// Builds the hook; `global` and `parent_host` are the other admin lists of the rule.
    pub(crate) fn new(
        muc: &MucConfig,
        cfg: MucPolicyConfig,
        global: &[String],
        parent_host: &[String],
    ) -> Self {
        PolicyHook {
            policy: MucPolicy::new(
                muc.domain.as_str(),
                cfg.clone(),
                AdminSources {
                    global,
                    parent_host,
                },
            ),
            config: cfg,
            refusals: Arc::new(crate::metrics::Labelled::default()),
            expiries: Arc::new(Expiries::default()),
        }
    }

    /// The mapper matching this policy's tenant settings.
    pub(crate) fn mapper(muc: &MucConfig, cfg: &MucPolicyConfig) -> ServerMapper {
        if cfg
            .muc_mapper_domain_base
            .as_deref()
            .is_some_and(|b| !b.is_empty())
        {
            ServerMapper::Tenants(TenantMapper::new(muc.domain.as_str(), cfg))
        } else {
            ServerMapper::Plain
        }
    }

    fn decide(
        &self,
        sender: &rookery_muc::Sender<Arc<Identity>>,
        room: &Jid,
        action: RoomAction,
    ) -> Decision {
        let Some(node) = room.node() else {
            return Decision::Continue;
        };
        // A grant is no final say in the hook chain: later hooks are still asked.
        match self.policy.verify_room_address(
            &sender.jid,
            &sender.identity,
            node,
            room.domain(),
            action,
        ) {
            rookery_policy::Decision::Allow(grant) => {
                tracing::debug!(room = %room, ?grant, "room verification passed");
                Decision::Continue
            }
            rookery_policy::Decision::Refuse(r) => {
                tracing::info!(room = %room, jid = %sender.jid, code = r.jitsi_code.as_str(), reason = %r.text, "room verification refused");
                self.refusals.inc(&[r.jitsi_code.as_str()]);
                Decision::Deny(r.into_stanza_error())
            }
        }
    }
}

impl MucHooks<Arc<Identity>> for PolicyHook {
    fn pre_create(&self, ev: &PreCreate<'_, Arc<Identity>>, _setup: &mut RoomSetup) -> Decision {
        self.decide(ev.sender, ev.room, RoomAction::Create)
    }

    fn pre_join(&self, ev: &PreJoin<'_, Arc<Identity>>, grant: &mut JoinGrant) -> Decision {
        let d = self.decide(ev.sender, ev.room, RoomAction::Join);
        if matches!(d, Decision::Continue) {
            let (jid, identity) = (&ev.sender.jid, &*ev.sender.identity);
            if let Some(at) = self.policy.kick_at(identity) {
                self.expiries.set(ev.room, jid, at);
            }
            if let Some(a) = self.policy.affiliation_from_token(jid, identity) {
                grant.affiliation = Some(a);
            }
        }
        let _ = &self.config;
        d
    }

    fn left(
        &self,
        occupant: &rookery_muc::hooks::OccupantInfo<'_>,
        _reason: rookery_muc::hooks::LeaveReason,
        _out: &mut Vec<rookery_muc::Effect>,
    ) {
        self.expiries.clear(occupant.room, occupant.real);
    }
}
