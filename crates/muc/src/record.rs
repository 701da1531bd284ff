//! The stored form of a persistent room: configuration, affiliations, subject and fixed info
//! fields. Serde-serialisable; the server stores it (e.g. as JSON in SQLite) keyed by `room`.

use rookery_proto::Jid;
use serde::{Deserialize, Serialize};

use crate::affiliation::Affiliation;
use crate::form::FormField;
use crate::room_config::RoomConfig;

/// Why a stored record cannot become a room.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The room JID is invalid or not a bare room JID.
    #[error("invalid room JID {0:?}")]
    BadRoom(String),
    /// An affiliation entry has an invalid or non-bare JID.
    #[error("invalid affiliated JID {0:?}")]
    BadAffiliate(String),
    /// The record lists `none` as an affiliation (absence means none).
    #[error("affiliation 'none' stored for {0:?}")]
    NoneStored(String),
}

/// One stored affiliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffiliationRecord {
    /// Bare JID.
    pub jid: String,
    /// Affiliation (never `none`).
    pub affiliation: Affiliation,
    /// Reason given (bans).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The stored subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectRecord {
    /// Subject text (may be empty: actively cleared).
    pub text: String,
    /// Nick of who set it, if an occupant did.
    #[serde(default)]
    pub nick: Option<String>,
    /// When it was set, Unix milliseconds.
    pub stamp_ms: u64,
}

/// A persistent room's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomRecord {
    /// Internal bare room JID.
    pub room: String,
    /// Configuration.
    pub config: RoomConfig,
    /// Affiliations.
    #[serde(default)]
    pub affiliations: Vec<AffiliationRecord>,
    /// Current subject.
    #[serde(default)]
    pub subject: Option<SubjectRecord>,
    /// Fixed `muc#roominfo` fields set at creation by hooks.
    #[serde(default)]
    pub info_fields: Vec<FormField>,
    /// Creation time, Unix milliseconds.
    #[serde(default)]
    pub created_ms: u64,
}

impl RoomRecord {
    /// The record's room JID, checked to be a bare room JID.
    pub fn room_jid(&self) -> Result<Jid, RecordError> {
        match Jid::parse(&self.room) {
            Ok(j) if j.node().is_some() && !j.is_full() => Ok(j),
            _ => Err(RecordError::BadRoom(self.room.clone())),
        }
    }

    /// The affiliations as parsed `(bare JID, affiliation, reason)`.
    pub fn parsed_affiliations(
        &self,
    ) -> Result<Vec<(Jid, Affiliation, Option<String>)>, RecordError> {
        self.affiliations
            .iter()
            .map(|a| {
                let jid = match Jid::parse(&a.jid) {
                    Ok(j) if !j.is_full() => j,
                    _ => return Err(RecordError::BadAffiliate(a.jid.clone())),
                };
                if a.affiliation == Affiliation::None {
                    return Err(RecordError::NoneStored(a.jid.clone()));
                }
                Ok((jid, a.affiliation, a.reason.clone()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> RoomRecord {
        RoomRecord {
            room: "room@muc.example".into(),
            config: RoomConfig {
                persistent: true,
                name: Some("Room".into()),
                ..RoomConfig::default()
            },
            affiliations: vec![AffiliationRecord {
                jid: "boss@example".into(),
                affiliation: Affiliation::Owner,
                reason: None,
            }],
            subject: Some(SubjectRecord {
                text: "hi".into(),
                nick: Some("boss".into()),
                stamp_ms: 5,
            }),
            info_fields: vec![FormField::new(
                "muc#roominfo_meetingId",
                "text-single",
                "id",
            )],
            created_ms: 1,
        }
    }

    #[test]
    fn json_round_trip() {
        let r = record();
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains("\"affiliation\":\"owner\""), "{text}");
        let back: RoomRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.room_jid().unwrap().as_str(), "room@muc.example");
        assert_eq!(back.parsed_affiliations().unwrap().len(), 1);
    }

    #[test]
    fn refusals() {
        let mut r = record();
        r.room = "muc.example".into();
        assert!(matches!(r.room_jid(), Err(RecordError::BadRoom(_))));
        r.room = "room@muc.example/nick".into();
        assert!(matches!(r.room_jid(), Err(RecordError::BadRoom(_))));
        let mut r = record();
        r.affiliations[0].jid = "a@b/c".into();
        assert!(matches!(
            r.parsed_affiliations(),
            Err(RecordError::BadAffiliate(_))
        ));
        let mut r = record();
        r.affiliations[0].affiliation = Affiliation::None;
        assert!(matches!(
            r.parsed_affiliations(),
            Err(RecordError::NoneStored(_))
        ));
    }
}
