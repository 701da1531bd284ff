//! A room's configuration: what the `muc#roomconfig` form edits and what persists.

use serde::{Deserialize, Serialize};

use crate::config::MucConfig;
use crate::roles::Role;

/// Who may see occupants' real JIDs (`muc#roomconfig_whois`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Whois {
    /// Semi-anonymous: only moderators see real JIDs.
    Moderators,
    /// Non-anonymous: everyone sees real JIDs.
    Anyone,
}

impl Whois {
    /// The form value.
    pub fn as_str(self) -> &'static str {
        match self {
            Whois::Moderators => "moderators",
            Whois::Anyone => "anyone",
        }
    }

    /// Parses the form value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "moderators" => Some(Whois::Moderators),
            "anyone" => Some(Whois::Anyone),
            _ => None,
        }
    }
}

/// Who may send private messages (`muc#roomconfig_allowpm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AllowPm {
    /// Every occupant.
    Anyone,
    /// Participants and moderators.
    Participants,
    /// Moderators only.
    Moderators,
    /// No one.
    None,
}

impl AllowPm {
    /// The form value.
    pub fn as_str(self) -> &'static str {
        match self {
            AllowPm::Anyone => "anyone",
            AllowPm::Participants => "participants",
            AllowPm::Moderators => "moderators",
            AllowPm::None => "none",
        }
    }

    /// Parses the form value; the boolean of older forms maps to anyone / none.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "anyone" | "1" | "true" => AllowPm::Anyone,
            "participants" => AllowPm::Participants,
            "moderators" => AllowPm::Moderators,
            "none" | "0" | "false" => AllowPm::None,
            _ => return None,
        })
    }

    /// Whether an occupant with `role` may send private messages.
    pub fn allows(self, role: Role) -> bool {
        match self {
            AllowPm::Anyone => role >= Role::Visitor,
            AllowPm::Participants => role >= Role::Participant,
            AllowPm::Moderators => role == Role::Moderator,
            AllowPm::None => false,
        }
    }
}

/// The configuration of one room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoomConfig {
    /// Natural-language room name.
    pub name: Option<String>,
    /// Short description.
    pub description: Option<String>,
    /// Survives its last occupant leaving (and a restart).
    pub persistent: bool,
    /// Listed in the service's disco#items.
    pub public: bool,
    /// Only members (and above) may enter.
    pub members_only: bool,
    /// Only participants and moderators may send groupchat messages.
    pub moderated: bool,
    /// A password is required to enter.
    pub password_protected: bool,
    /// The password (`muc#roomconfig_roomsecret`).
    pub password: Option<String>,
    /// Who sees real JIDs.
    pub whois: Whois,
    /// Occupant cap; 0 means none.
    pub max_users: u32,
    /// Participants (not only moderators) may change the subject.
    pub change_subject: bool,
    /// Members may invite others into a members-only room.
    pub allow_invites: bool,
    /// Who may send private messages.
    pub allow_pm: AllowPm,
    /// Roles whose presence is broadcast to the room.
    pub presence_broadcast: Vec<Role>,
}

impl Default for RoomConfig {
    fn default() -> Self {
        RoomConfig {
            name: None,
            description: None,
            persistent: false,
            public: true,
            members_only: false,
            moderated: false,
            password_protected: false,
            password: None,
            whois: Whois::Moderators,
            max_users: 0,
            change_subject: false,
            allow_invites: false,
            allow_pm: AllowPm::Anyone,
            presence_broadcast: vec![Role::Moderator, Role::Participant, Role::Visitor],
        }
    }
}

impl RoomConfig {
    /// The configuration a new room of `service` starts with.
    pub fn from_service(service: &MucConfig) -> Self {
        RoomConfig {
            persistent: service.persistent,
            public: service.public,
            members_only: service.members_only,
            moderated: service.moderated,
            change_subject: service.change_subject,
            whois: if service.muc_room_default_public_jids {
                Whois::Anyone
            } else {
                Whois::Moderators
            },
            ..RoomConfig::default()
        }
    }

    /// True when entering needs a password (protection on and a non-empty secret).
    pub fn password_required(&self) -> bool {
        self.password_protected && self.password.as_deref().is_some_and(|p| !p.is_empty())
    }

    /// True when presence of occupants with `role` is broadcast.
    pub fn broadcasts(&self, role: Role) -> bool {
        self.presence_broadcast.contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::Jid;

    #[test]
    fn service_defaults_flow_into_rooms() {
        let mut s = MucConfig::new(Jid::parse("muc.example").unwrap());
        assert_eq!(RoomConfig::from_service(&s).whois, Whois::Moderators);
        s.muc_room_default_public_jids = true;
        s.persistent = true;
        s.moderated = true;
        let c = RoomConfig::from_service(&s);
        assert_eq!(c.whois, Whois::Anyone);
        assert!(c.persistent && c.moderated && c.public && !c.members_only);
    }

    #[test]
    fn password_needs_flag_and_secret() {
        let mut c = RoomConfig {
            password_protected: true,
            ..RoomConfig::default()
        };
        assert!(!c.password_required());
        c.password = Some(String::new());
        assert!(!c.password_required());
        c.password = Some("s".into());
        assert!(c.password_required());
        c.password_protected = false;
        assert!(!c.password_required());
    }

    #[test]
    fn allow_pm_table() {
        let cases = [
            (AllowPm::Anyone, Role::Visitor, true),
            (AllowPm::Participants, Role::Visitor, false),
            (AllowPm::Participants, Role::Participant, true),
            (AllowPm::Moderators, Role::Participant, false),
            (AllowPm::Moderators, Role::Moderator, true),
            (AllowPm::None, Role::Moderator, false),
        ];
        for (pm, role, want) in cases {
            assert_eq!(pm.allows(role), want, "{pm:?} {role:?}");
        }
        assert_eq!(AllowPm::parse("1"), Some(AllowPm::Anyone));
        assert_eq!(AllowPm::parse("bogus"), None);
        assert_eq!(Whois::parse("anyone"), Some(Whois::Anyone));
        assert_eq!(Whois::parse("everyone"), None);
    }
}
