//! Room verification for one MUC service (jitsi-tokens.md §4).
//!
//! [`MucPolicy`] is built once per MUC host from its configuration and the admin lists of
//! the global config and its parent host; [`MucPolicy::verify_room_access`] decides every
//! room pre-create and occupant pre-join from the session's JID and [`Identity`] as the
//! server carries them.

use std::collections::HashSet;

use rookery_proto::Jid;

use crate::claims::{RoomClaim, Subject, TokenClaims};
use crate::config::MucPolicyConfig;
use crate::decision::{Decision, Grant, JitsiCode, RoomAction};
use crate::identity::Identity;
use crate::tenant::{AddressError, RoomKey, TenantMapper};

/// Jitsi's refusal text for a token that does not fit the room.
pub const ROOM_MISMATCH_TEXT: &str = "Room and token mismatched";

/// Admin lists that live outside the MUC component's own configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct AdminSources<'a> {
    /// The global `admins` list.
    pub global: &'a [String],
    /// The `admins` of the MUC component's parent host.
    pub parent_host: &'a [String],
}

/// The room policy of one MUC service.
#[derive(Debug, Clone)]
pub struct MucPolicy {
    muc_host: String,
    config: MucPolicyConfig,
    /// Normalised bare JIDs (see [`normalised_bare`]).
    admins: HashSet<String>,
    /// Normalised bare JIDs and domains.
    allowlist: HashSet<String>,
    aliases: HashSet<String>,
    mapper: TenantMapper,
}

impl MucPolicy {
    /// The policy of MUC service `muc_host`. Admins are the union of `config.admins` (the
    /// component's own), `sources.global` and `sources.parent_host`.
    pub fn new(muc_host: &str, config: MucPolicyConfig, sources: AdminSources<'_>) -> Self {
        let admins = config
            .admins
            .iter()
            .chain(sources.global)
            .chain(sources.parent_host)
            .filter_map(|jid| normalised_bare(jid))
            .collect();
        let allowlist = config
            .token_verification_allowlist
            .iter()
            .filter_map(|jid| normalised_bare(jid))
            .collect();
        let aliases = config
            .token_domain_aliases
            .iter()
            .map(|d| d.to_lowercase())
            .collect();
        let mapper = TenantMapper::new(muc_host, &config);
        Self {
            muc_host: muc_host.to_lowercase(),
            config,
            admins,
            allowlist,
            aliases,
            mapper,
        }
    }

    /// The MUC host this policy is for (lowercased).
    pub fn muc_host(&self) -> &str {
        &self.muc_host
    }

    /// The configuration.
    pub fn config(&self) -> &MucPolicyConfig {
        &self.config
    }

    /// The tenant mapper of this service.
    pub fn mapper(&self) -> &TenantMapper {
        &self.mapper
    }

    /// Whether `jid` (its bare form) is an admin of the MUC host (any of the three lists).
    pub fn is_admin(&self, jid: &Jid) -> bool {
        self.admins.contains(jid.bare_str())
    }

    /// Whether `jid`'s bare form or its domain is in `token_verification_allowlist`.
    pub fn is_allowlisted(&self, jid: &Jid) -> bool {
        self.allowlist.contains(jid.bare_str()) || self.allowlist.contains(jid.domain())
    }

    /// Decides a room operation by the session `jid` with `identity` on a client-addressed
    /// room (`node@domain` of the room JID), refusing addresses that do not map with
    /// `invalid-room-address`.
    pub fn verify_room_address(
        &self,
        jid: &Jid,
        identity: &Identity,
        node: &str,
        domain: &str,
        action: RoomAction,
    ) -> Decision {
        match self.mapper.inbound(node, domain) {
            Ok(mapped) => self.verify_room_access(jid, identity, &mapped.key, action),
            Err(err) => Decision::refuse(JitsiCode::InvalidRoomAddress, address_text(&err)),
        }
    }

    /// Decides a room create or join by the session `jid` with `identity` on room `room` of
    /// this service.
    ///
    /// Order: admins pass; `restrict_room_creation` refuses other creators; allowlisted
    /// sessions pass; tokenless sessions pass only with `allow_empty_token`; token sessions
    /// are checked against the room (§4).
    pub fn verify_room_access(
        &self,
        jid: &Jid,
        identity: &Identity,
        room: &RoomKey,
        action: RoomAction,
    ) -> Decision {
        if self.is_admin(jid) {
            return Decision::Allow(Grant::Admin);
        }
        if let Some(refusal) = self.creation_refusal(action) {
            return refusal;
        }
        if self.is_allowlisted(jid) {
            return Decision::Allow(Grant::Allowlisted);
        }
        match identity {
            Identity::Token(claims) => self.check_token(claims, room),
            Identity::Guest | Identity::Account | Identity::Service => {
                if self.config.allow_empty_token {
                    Decision::Allow(Grant::Tokenless)
                } else {
                    Decision::refuse(
                        JitsiCode::AuthenticationRequired,
                        "A token is required to enter this room",
                    )
                }
            }
        }
    }

    /// Decides a room create or join by a session that holds `claims` and is neither an
    /// admin nor allowlisted: what the token alone is worth. `rookery token explain` asks
    /// this, having a token but no session.
    pub fn verify_token(
        &self,
        claims: &TokenClaims,
        room: &RoomKey,
        action: RoomAction,
    ) -> Decision {
        if let Some(refusal) = self.creation_refusal(action) {
            return refusal;
        }
        self.check_token(claims, room)
    }

    /// The refusal of a create by someone other than an admin, under `restrict_room_creation`.
    fn creation_refusal(&self, action: RoomAction) -> Option<Decision> {
        (action == RoomAction::Create && self.config.restrict_room_creation).then(|| {
            Decision::refuse(
                JitsiCode::RoomDoesNotExist,
                "Room does not exist; only admins may create rooms",
            )
        })
    }

    fn check_token(&self, claims: &TokenClaims, room: &RoomKey) -> Decision {
        if !self.config.token_allow_wildcards
            && (claims.room().is_wildcard()
                || claims.subject().is_wildcard()
                || matches!(claims.room(), RoomClaim::Absent))
        {
            return Decision::refuse(
                JitsiCode::RoomMismatch,
                format!("{ROOM_MISMATCH_TEXT}: wildcard tokens are not accepted"),
            );
        }
        if self.config.enable_domain_verification {
            self.check_with_domain(claims, room)
        } else {
            self.check_without_domain(claims, room)
        }
    }

    /// Domain verification off: the room claim alone decides (Jitsi), `sub` only matters
    /// for `token_strict_tenants`.
    fn check_without_domain(&self, claims: &TokenClaims, room: &RoomKey) -> Decision {
        let name_matches = match claims.room() {
            RoomClaim::Any => true,
            RoomClaim::Exact(claim) => claim == room.name() || *claim == room.internal_node(),
            RoomClaim::Pattern(pattern) => {
                if !pattern.matches(room.name()) {
                    return pattern_refusal(room);
                }
                true
            }
            // Without a room claim (the host set `asap_require_room_claim = false`) the room
            // name is not checked, as in Jitsi; the tenant rule below still applies.
            RoomClaim::Absent => true,
        };
        if !name_matches {
            return mismatch(&format!("the token is for room '{}'", claims.room()));
        }
        let Some(tenant) = room.tenant() else {
            return Decision::Allow(Grant::Token);
        };
        let same_tenant = match claims.subject() {
            Subject::Any => true,
            Subject::Name(sub) => sub == tenant,
            Subject::Absent => false,
        };
        if same_tenant {
            Decision::Allow(Grant::Token)
        } else if self.config.token_strict_tenants {
            mismatch(&format!(
                "the token's 'sub' ({}) is not tenant '{tenant}'",
                claims.subject()
            ))
        } else {
            Decision::Allow(Grant::TokenCrossedTenant {
                room_tenant: tenant.to_owned(),
                subject: claims.subject().clone(),
            })
        }
    }

    /// Domain verification on: room and tenant/domain must both match (§4).
    fn check_with_domain(&self, claims: &TokenClaims, room: &RoomKey) -> Decision {
        let room_to_check = match claims.room() {
            RoomClaim::Any => room.name(),
            RoomClaim::Pattern(pattern) => {
                if !pattern.matches(room.name()) {
                    return pattern_refusal(room);
                }
                room.name()
            }
            RoomClaim::Exact(claim) => claim.as_str(),
            // No room claim: the name is not checked, but `sub` must still match the room's
            // tenant or domain below (Jitsi would fail on the missing claim here).
            RoomClaim::Absent => room.name(),
        };
        let subject = match claims.subject() {
            Subject::Absent => return mismatch("the token has no 'sub' claim"),
            other => other,
        };
        if room.name() != room_to_check {
            return mismatch(&format!("the token is for room '{}'", claims.room()));
        }
        match room.tenant() {
            Some(tenant) => {
                if self.mapper.base().is_none() {
                    return Decision::refuse(
                        JitsiCode::ServerMissingConfig,
                        "The server is missing 'muc_mapper_domain_base'; tenant rooms are refused",
                    );
                }
                if self.muc_host != self.mapper.muc_domain() {
                    return Decision::refuse(
                        JitsiCode::InvalidRoomAddress,
                        "Tenant rooms are only served by the mapped MUC domain",
                    );
                }
                match subject {
                    Subject::Any => Decision::Allow(Grant::Token),
                    Subject::Name(sub) if sub == tenant => Decision::Allow(Grant::Token),
                    _ => mismatch(&format!(
                        "the token's 'sub' ({subject}) is not tenant '{tenant}'"
                    )),
                }
            }
            None => {
                let domain_matches = match subject {
                    Subject::Any => true,
                    Subject::Name(sub) => {
                        self.muc_host == format!("{}.{sub}", self.mapper.prefix())
                            || self.aliases.contains(sub)
                    }
                    Subject::Absent => false,
                };
                if domain_matches {
                    Decision::Allow(Grant::Token)
                } else {
                    mismatch(&format!("the token's 'sub' ({subject}) is not this domain"))
                }
            }
        }
    }
}

/// The bare form of a configured JID or domain as [`Jid`] normalises it (localpart and
/// domain case-folded, resource dropped), to compare with a session's [`Jid::bare_str`]. An
/// entry that is not a JID could match no session and is left out.
fn normalised_bare(entry: &str) -> Option<String> {
    Jid::parse(entry).ok().map(|jid| jid.bare_str().to_owned())
}

fn mismatch(detail: &str) -> Decision {
    Decision::refuse(
        JitsiCode::RoomMismatch,
        format!("{ROOM_MISMATCH_TEXT}: {detail}"),
    )
}

fn pattern_refusal(room: &RoomKey) -> Decision {
    Decision::refuse(
        JitsiCode::RoomNameDoesNotMatch,
        format!(
            "Room name '{}' does not match the token's room pattern",
            room.name()
        ),
    )
}

fn address_text(err: &AddressError) -> String {
    format!("Invalid room address: {err}")
}
