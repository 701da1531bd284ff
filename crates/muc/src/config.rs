//! Per-service MUC settings, deserialised from the server's TOML (`[[muc]]` blocks).
//!
//! The names follow Prosody's where Prosody has one (`muc_room_locking`,
//! `restrict_room_creation`, …) so a Jitsi configuration migrates by copying; the room
//! defaults also accept Prosody's `muc_room_default_*` spellings.

use rookery_proto::Jid;
use serde::{Deserialize, Deserializer};

/// Why a [`MucConfig`] cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The service domain has a localpart or resource.
    #[error("the MUC domain {0} must be a bare domain")]
    DomainNotBare(String),
    /// An admin entry is not a bare JID.
    #[error("admin {0} must be a bare JID")]
    AdminNotBare(String),
    /// A limit that must be positive is zero.
    #[error("{0} must be greater than zero")]
    ZeroLimit(&'static str),
}

/// Settings of one MUC service (one domain).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MucConfig {
    /// The service domain, e.g. `conference.example.com`.
    #[serde(deserialize_with = "de_jid")]
    pub domain: Jid,
    /// Human-readable service name for disco#info.
    #[serde(default)]
    pub name: Option<String>,
    /// Bare JIDs that administer every room of this service (they act as room owners and may
    /// create rooms when creation is restricted). The server may add its own global and
    /// parent-host lists through the sender context instead.
    #[serde(default, deserialize_with = "de_jids")]
    pub admins: Vec<Jid>,
    /// XEP-0045 room locking: a new room refuses other users until its owner configures it.
    #[serde(default = "yes")]
    pub muc_room_locking: bool,
    /// New rooms are non-anonymous (`whois = anyone`): occupants see real JIDs.
    #[serde(default)]
    pub muc_room_default_public_jids: bool,
    /// Only admins may create rooms.
    #[serde(default)]
    pub restrict_room_creation: bool,
    /// Service-wide cap on occupants per room; 0 means no cap beyond the room's `maxusers`.
    #[serde(default)]
    pub max_occupants: u32,
    /// How many idle persistent rooms the server keeps loaded (advisory for the server; the
    /// room state machine does not use it).
    #[serde(default = "default_cache_size")]
    pub muc_room_cache_size: usize,
    /// Cap on live rooms of this service; 0 means unlimited.
    #[serde(default)]
    pub max_rooms: usize,
    /// Messages kept per room for history on join.
    #[serde(default = "default_history_length")]
    pub history_length: usize,
    /// New rooms are persistent.
    #[serde(default, alias = "muc_room_default_persistent")]
    pub persistent: bool,
    /// New rooms are listed in disco#items.
    #[serde(default = "yes", alias = "muc_room_default_public")]
    pub public: bool,
    /// New rooms are members-only.
    #[serde(default, alias = "muc_room_default_members_only")]
    pub members_only: bool,
    /// New rooms are moderated.
    #[serde(default, alias = "muc_room_default_moderated")]
    pub moderated: bool,
    /// In new rooms participants (not only moderators) may change the subject.
    #[serde(default, alias = "muc_room_default_change_subject")]
    pub change_subject: bool,
    /// Longest accepted room nickname, in characters.
    #[serde(default = "default_max_nick")]
    pub max_nick_length: usize,
    /// Byte budget of one room's stored history.
    #[serde(default = "default_history_bytes")]
    pub max_history_bytes: usize,
    /// Presence updates an occupant may send in a burst.
    #[serde(default = "default_presence_burst")]
    pub presence_burst: u32,
    /// Sustained presence updates per second per occupant.
    #[serde(default = "default_presence_rate")]
    pub presence_per_second: u32,
    /// Largest presence (approximate serialised bytes) a room reflects.
    #[serde(default = "default_presence_bytes")]
    pub max_presence_bytes: usize,
    /// IQs forwarded to occupants and awaiting an answer, per room.
    #[serde(default = "default_pending_iqs")]
    pub max_pending_iqs: usize,
    /// Of those, how many one occupant may have outstanding.
    #[serde(default = "default_pending_iqs_per_occupant")]
    pub max_pending_iqs_per_occupant: usize,
    /// Seconds before a forwarded IQ without answer is failed with `remote-server-timeout`.
    #[serde(default = "default_iq_timeout")]
    pub iq_timeout_secs: u64,
    /// Most rooms listed in one disco#items answer.
    #[serde(default = "default_disco_items")]
    pub max_disco_items: usize,
    /// `[muc.token_verification]`: Jitsi room verification and tenant mapping for this
    /// service (the server wires it into the hooks; the room logic never reads it).
    #[serde(default)]
    pub token_verification: Option<rookery_policy::MucPolicyConfig>,
    /// Jitsi's meeting id (`mod_muc_meeting_id`): every new room gets a random UUID, shown
    /// as `muc#roominfo_meetingId` in its disco#info form and its owner configuration form.
    #[serde(default)]
    pub jitsi_meeting_id: bool,
    /// Jitsi's jicofo lock: until a service admin (the focus) has joined a room, other
    /// users' joins are held (not refused) and then processed in arrival order.
    #[serde(default)]
    pub jicofo_lock: bool,
    /// Seconds a held join waits for the focus before it is refused.
    #[serde(default = "default_jicofo_lock_timeout")]
    pub jicofo_lock_timeout_seconds: u64,
}

fn yes() -> bool {
    true
}
fn default_cache_size() -> usize {
    100
}
fn default_history_length() -> usize {
    20
}
fn default_max_nick() -> usize {
    128
}
fn default_history_bytes() -> usize {
    256 * 1024
}
fn default_presence_burst() -> u32 {
    40
}
fn default_presence_rate() -> u32 {
    10
}
fn default_presence_bytes() -> usize {
    32 * 1024
}
fn default_pending_iqs() -> usize {
    4096
}
fn default_pending_iqs_per_occupant() -> usize {
    512
}
fn default_iq_timeout() -> u64 {
    60
}
fn default_disco_items() -> usize {
    1000
}
fn default_jicofo_lock_timeout() -> u64 {
    30
}

fn de_jid<'de, D: Deserializer<'de>>(d: D) -> Result<Jid, D::Error> {
    let s = String::deserialize(d)?;
    Jid::parse(&s).map_err(|e| serde::de::Error::custom(format!("invalid JID {s:?}: {e}")))
}

fn de_jids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Jid>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    list.iter()
        .map(|s| {
            Jid::parse(s).map_err(|e| serde::de::Error::custom(format!("invalid JID {s:?}: {e}")))
        })
        .collect()
}

impl MucConfig {
    /// A service on `domain` with every other setting at its default (XEP-0045 defaults:
    /// room locking on, semi-anonymous, open, temporary, public rooms).
    pub fn new(domain: Jid) -> Self {
        MucConfig {
            domain,
            name: None,
            admins: Vec::new(),
            muc_room_locking: true,
            muc_room_default_public_jids: false,
            restrict_room_creation: false,
            max_occupants: 0,
            muc_room_cache_size: default_cache_size(),
            max_rooms: 0,
            history_length: default_history_length(),
            persistent: false,
            public: true,
            members_only: false,
            moderated: false,
            change_subject: false,
            max_nick_length: default_max_nick(),
            max_history_bytes: default_history_bytes(),
            presence_burst: default_presence_burst(),
            presence_per_second: default_presence_rate(),
            max_presence_bytes: default_presence_bytes(),
            max_pending_iqs: default_pending_iqs(),
            max_pending_iqs_per_occupant: default_pending_iqs_per_occupant(),
            iq_timeout_secs: default_iq_timeout(),
            max_disco_items: default_disco_items(),
            token_verification: None,
            jitsi_meeting_id: false,
            jicofo_lock: false,
            jicofo_lock_timeout_seconds: default_jicofo_lock_timeout(),
        }
    }

    /// Checks what serde cannot: bare domain, bare admin JIDs, positive limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.domain.node().is_some() || self.domain.is_full() {
            return Err(ConfigError::DomainNotBare(self.domain.to_string()));
        }
        if let Some(a) = self.admins.iter().find(|a| a.is_full()) {
            return Err(ConfigError::AdminNotBare(a.to_string()));
        }
        let limits = [
            ("max_nick_length", self.max_nick_length),
            ("max_presence_bytes", self.max_presence_bytes),
            ("max_pending_iqs", self.max_pending_iqs),
            (
                "max_pending_iqs_per_occupant",
                self.max_pending_iqs_per_occupant,
            ),
            ("presence_burst", self.presence_burst as usize),
            ("presence_per_second", self.presence_per_second as usize),
            (
                "jicofo_lock_timeout_seconds",
                usize::try_from(self.jicofo_lock_timeout_seconds).unwrap_or(usize::MAX),
            ),
        ];
        if let Some((name, _)) = limits.iter().find(|(_, v)| *v == 0) {
            return Err(ConfigError::ZeroLimit(name));
        }
        Ok(())
    }

    /// True when `jid`'s bare form is in this service's `admins` list.
    pub fn is_admin(&self, jid: &Jid) -> bool {
        let bare = jid.bare_str();
        self.admins.iter().any(|a| a.as_str() == bare)
    }

    /// How often the driver should feed a room [`crate::RoomInput::Tick`] so that overdue
    /// IQs and held joins are failed close to their deadline: every 5 s, more often when
    /// the jicofo lock timeout is short.
    pub fn tick_interval(&self) -> std::time::Duration {
        let secs = if self.jicofo_lock {
            (self.jicofo_lock_timeout_seconds / 2).clamp(1, 5)
        } else {
            5
        };
        std::time::Duration::from_secs(secs)
    }

    /// The effective occupant cap for a room whose `maxusers` is `room_max` (0 = none).
    pub fn occupant_cap(&self, room_max: u32) -> Option<u32> {
        match (self.max_occupants, room_max) {
            (0, 0) => None,
            (0, r) => Some(r),
            (s, 0) => Some(s),
            (s, r) => Some(s.min(r)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_toml_takes_defaults() {
        let c: MucConfig = toml::from_str("domain = 'conference.localhost'").unwrap();
        assert_eq!(
            c,
            MucConfig::new(Jid::parse("conference.localhost").unwrap())
        );
        assert!(c.muc_room_locking);
        assert_eq!(c.history_length, 20);
        c.validate().unwrap();
    }

    #[test]
    fn jitsi_style_settings_and_aliases() {
        let c: MucConfig = toml::from_str(
            r#"
            domain = "internal-muc.meet.jitsi"
            admins = ["Focus@Auth.Meet.Jitsi"]
            muc_room_locking = false
            muc_room_default_public_jids = true
            restrict_room_creation = true
            muc_room_cache_size = 1000
            muc_room_default_persistent = true
            max_occupants = 500
            "#,
        )
        .unwrap();
        assert!(!c.muc_room_locking && c.muc_room_default_public_jids && c.persistent);
        assert!(c.is_admin(&Jid::parse("focus@auth.meet.jitsi/abc").unwrap()));
        assert!(!c.is_admin(&Jid::parse("jvb@auth.meet.jitsi").unwrap()));
        assert_eq!(c.occupant_cap(0), Some(500));
        assert_eq!(c.occupant_cap(20), Some(20));
    }

    #[test]
    fn refusals() {
        assert!(toml::from_str::<MucConfig>("domain = 'a'\nbogus = 1").is_err());
        assert!(toml::from_str::<MucConfig>("domain = 'a b'").is_err());
        assert!(toml::from_str::<MucConfig>("name = 'x'").is_err());
        let c: MucConfig = toml::from_str("domain = 'room@conference'").unwrap();
        assert!(matches!(c.validate(), Err(ConfigError::DomainNotBare(_))));
        let c: MucConfig = toml::from_str("domain = 'muc'\nadmins = ['focus@auth/res']").unwrap();
        assert!(matches!(c.validate(), Err(ConfigError::AdminNotBare(_))));
        let c: MucConfig = toml::from_str("domain = 'muc'\npresence_burst = 0").unwrap();
        assert_eq!(c.validate(), Err(ConfigError::ZeroLimit("presence_burst")));
        assert_eq!(
            MucConfig::new(Jid::parse("m").unwrap()).occupant_cap(0),
            None
        );
    }
}
