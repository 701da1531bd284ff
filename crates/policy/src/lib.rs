//! rookery-policy: the pure decisions of Rookery's Jitsi support.
//!
//! - [`Identity`]: who a session is, decided once at authentication and carried by the
//!   server next to the session's `Jid`; token sessions carry [`TokenClaims`] built by
//!   [`TokenClaims::from_payload`], which refuses tokens lacking a claim the host
//!   configuration requires.
//! - [`TenantMapper`] / [`RoomKey`]: `room@conference.tenant.base` <-> `[tenant]room@conference.base`.
//! - [`MucPolicy::verify_room_access`]: Jitsi's room verification as a [`Decision`].
//! - [`Affiliation`] (the XEP-0045 one, which `rookery-muc` uses) and
//!   [`affiliation_from_token`]: owner/member from token claims.
//!
//! No I/O, no async, no clocks: callers pass everything in.

mod affiliation;
mod claims;
mod config;
mod decision;
mod identity;
mod room_policy;
mod tenant;

pub use affiliation::{Affiliation, affiliation_from_token};
pub use claims::{
    ClaimError, ClaimRequirements, MAX_ROOM_PATTERN_BYTES, ROOM_PATTERN_SIZE_LIMIT, RoomClaim,
    RoomPattern, Subject, TokenClaims, UserContext, audience_of, issuer_of, numeric_date,
    room_claim_of, subject_of,
};
pub use config::{
    AlgorithmFamily, DEFAULT_KEY_CACHE_SIZE, DEFAULT_KEY_CACHE_TTL_SECONDS,
    DEFAULT_KEY_FETCH_TIMEOUT_SECONDS, DEFAULT_KEY_NEGATIVE_TTL_SECONDS, DEFAULT_TOKEN_MAX_BYTES,
    KeyMode, MucPolicyConfig, SignatureAlgorithm, TokenConfigError, TokenExpiry, TokenHostConfig,
};
pub use decision::{Condition, Decision, Grant, JITSI_ERROR_NS, JitsiCode, Refusal, RoomAction};
pub use identity::Identity;
pub use room_policy::{AdminSources, MucPolicy, ROOM_MISMATCH_TEXT};
pub use tenant::{
    AddressError, AddressForm, MAX_NAME_BYTES, MappedRoom, RoomAddress, RoomKey, TenantMapper,
    nodeprep,
};

#[cfg(test)]
mod room_policy_tests;
