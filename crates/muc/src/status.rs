//! MUC status codes (XEP-0045 §15.2 registry) used by this implementation.

/// Real JIDs are visible to everyone (sent on join to a non-anonymous room).
pub const NON_ANONYMOUS: u16 = 100;
/// Room configuration changed (non-privacy-related).
pub const CONFIG_CHANGED: u16 = 104;
/// The presence refers to the recipient itself.
pub const SELF_PRESENCE: u16 = 110;
/// The room is now non-anonymous.
pub const NOW_NON_ANONYMOUS: u16 = 172;
/// The room is now semi-anonymous.
pub const NOW_SEMI_ANONYMOUS: u16 = 173;
/// A new room was created.
pub const ROOM_CREATED: u16 = 201;
/// The service changed the user's nick.
pub const NICK_MODIFIED: u16 = 210;
/// The user was banned.
pub const BANNED: u16 = 301;
/// The occupant changed its nick (sent with the new nick).
pub const NICK_CHANGED: u16 = 303;
/// The occupant was kicked.
pub const KICKED: u16 = 307;
/// Removed because of an affiliation change.
pub const AFFILIATION_REMOVED: u16 = 321;
/// Removed because the room became members-only.
pub const MEMBERS_ONLY_REMOVED: u16 = 322;
/// Removed because of a technical problem (its session errored).
pub const TECHNICAL_REMOVAL: u16 = 333;
