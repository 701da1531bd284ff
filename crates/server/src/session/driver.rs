//! What every transport does the same way once a session is authenticated: bind through the
//! router (taking over a same-JID session with `conflict`), route stanzas, track directed
//! presence, and say goodbye on disconnect. Also the `Env` the sans-io session reads.

use std::collections::HashSet;
use std::sync::Arc;

use rookery_c2s::{Action, Env, HostPolicy, LoginIdentity, Session, TokenGrant};
use rookery_proto::{Element, Jid, StanzaError, StanzaErrorCondition, StreamErrorCondition, ns};
use rookery_sasl::{ScramCredentials, ScramHash};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::core::{Core, Identity, Sender};
use crate::routing;
use crate::routing::table::{Outgoing, SessionHandle};
use crate::session::stream_management::SmLink;
use crate::transport::Transport;

/// Directed-presence recipients remembered per session, so each is told about our
/// disconnect (MUC rooms remove the occupant). Beyond this, further available directed
/// presence is refused with `resource-constraint` rather than sent untracked.
const MAX_DIRECTED: usize = 1024;

/// The account store and host table, as the session state machine sees them.
pub(crate) struct CoreEnv<'a>(pub &'a Arc<Core>);

impl Env for CoreEnv<'_> {
    fn host(&self, domain: &str) -> Option<Arc<HostPolicy>> {
        self.0.hosts.get(domain).cloned()
    }

    fn credentials(
        &self,
        domain: &str,
        username: &str,
        hash: ScramHash,
    ) -> Result<Option<ScramCredentials>, String> {
        self.0
            .store
            .credentials(domain, username, hash)
            .map_err(|e| e.to_string())
    }

    fn new_stream_id(&self) -> String {
        uuid::Uuid::new_v4().simple().to_string()
    }
}

/// Verifies a session's token on a token host: the verified claims, a tokenless guest the
/// host allows, or `Err(reason)`.
pub(crate) async fn verify_session_token(
    core: &Arc<Core>,
    domain: &str,
    token: Option<&str>,
) -> Result<TokenGrant, String> {
    let Some(host) = core.token_hosts.get(domain) else {
        return Err("token authentication is not configured on this host".into());
    };
    let now = rookery_sasl::token::unix_now();
    crate::token::authenticate(&host.verifier, host.keys.as_ref(), token, now)
        .await
        .map_err(|e| e.reason().to_owned())
}

/// How a login shows in the log: the account, or what kind of anonymous login it was.
pub(crate) fn login_label(identity: &LoginIdentity) -> &str {
    match identity {
        LoginIdentity::Account { username } => username,
        LoginIdentity::Guest => "(guest)",
        LoginIdentity::Token(_) => "(token)",
    }
}

/// Writes one queued stanza without consuming it (stream management keeps it until the
/// client acknowledges it); returns its kind (`message`, `presence`, `iq`), or `None` for
/// [`Outgoing::Close`], which writes nothing.
pub(crate) fn write_outgoing<'a>(
    out: &mut Vec<u8>,
    item: &'a Outgoing,
    context_ns: &str,
) -> Option<&'a str> {
    match item {
        Outgoing::Stanza(el) => {
            rookery_proto::serialize::write_element(out, el, context_ns);
            Some(el.name.as_str())
        }
        Outgoing::Shared {
            prepared,
            to,
            element,
        } => {
            prepared.write_to_in(out, to.as_str(), context_ns);
            Some(element.name.as_str())
        }
        Outgoing::Close(..) => None,
    }
}

/// `Action::Authenticated` on any transport: counts the login and starts the session's
/// routing state with the identity the session machine established.
pub(crate) fn on_authenticated(
    core: &Arc<Core>,
    transport: Transport,
    domain: &str,
    identity: LoginIdentity,
    mechanism: &str,
) -> BoundSession {
    core.metrics.authenticated(transport, domain, mechanism);
    BoundSession::authenticated(domain, identity)
}

/// `Action::Bind` on any transport: binds the session to `tx`/`kill` and returns the
/// session machine's answer (the bind result or error).
pub(crate) fn on_bind(
    core: &Arc<Core>,
    bound: &mut BoundSession,
    session: &mut Session,
    resource: Option<String>,
    iq_id: &str,
    tx: &mpsc::Sender<Outgoing>,
    kill: &CancellationToken,
) -> Vec<Action> {
    match bound.bind(core, resource, tx.clone(), kill.clone()) {
        Ok(jid) => session.bound(jid, iq_id),
        Err(e) => session.bind_failed(iq_id, e),
    }
}

/// `Action::EnableSm` on any transport: the stream-management link (resumable when asked
/// for and the session is bound to an owner) and the session machine's answer.
pub(crate) fn on_enable_sm(
    core: &Arc<Core>,
    bound: Option<&BoundSession>,
    transport: Transport,
    resume: bool,
    max: Option<u32>,
    session: &mut Session,
) -> (SmLink, Vec<Action>) {
    let owner = bound.filter(|_| resume).map(|b| b.owner(transport));
    let link = SmLink::enable(core, owner, max);
    let more = session.sm_enabled(link.id(), link.max());
    (link, more)
}

/// An authenticated session's routing state.
#[derive(Debug)]
pub(crate) struct BoundSession {
    domain: String,
    node: String,
    identity: Arc<Identity>,
    jid: Option<Jid>,
    conn_id: u64,
    directed: HashSet<Jid>,
    available: bool,
}

impl BoundSession {
    /// After SASL: accounts keep their localpart, guests and token sessions get a random
    /// one; a token session's claims come with its identity.
    pub(crate) fn authenticated(domain: &str, identity: LoginIdentity) -> Self {
        let random = || uuid::Uuid::new_v4().simple().to_string();
        let (node, identity) = match identity {
            LoginIdentity::Account { username } => (username, Identity::Account),
            LoginIdentity::Guest => (random(), Identity::Guest),
            LoginIdentity::Token(claims) => (random(), Identity::Token(claims)),
        };
        BoundSession {
            domain: domain.to_owned(),
            node,
            identity: Arc::new(identity),
            jid: None,
            conn_id: 0,
            directed: HashSet::new(),
            available: false,
        }
    }

    /// The bound full JID, once bound.
    pub(crate) fn jid(&self) -> Option<&Jid> {
        self.jid.as_ref()
    }

    /// Who may resume this session over `transport` (see [`crate::session::stream_management`]).
    pub(crate) fn owner(
        &self,
        transport: crate::transport::Transport,
    ) -> crate::session::stream_management::Owner {
        crate::session::stream_management::Owner::of(
            &self.domain,
            &self.node,
            &self.identity,
            transport,
        )
    }

    /// Binds a resource; a session already bound to the same full JID is told `conflict`.
    pub(crate) fn bind(
        &mut self,
        core: &Arc<Core>,
        resource: Option<String>,
        tx: mpsc::Sender<Outgoing>,
        kill: CancellationToken,
    ) -> Result<Jid, StanzaError> {
        let resource =
            resource.unwrap_or_else(|| format!("rookery-{}", uuid::Uuid::new_v4().simple()));
        let jid =
            Jid::from_parts(Some(&self.node), &self.domain, Some(&resource)).map_err(|e| {
                StanzaError::new(StanzaErrorCondition::BadRequest)
                    .with_text(format!("cannot bind: {e}"))
            })?;
        let id = core.router.next_id();
        let old = core
            .router
            .bind(jid.clone(), SessionHandle { tx, kill, id });
        if let Some(old) = old {
            tracing::info!(%jid, "resource conflict: the new session takes over");
            if old
                .tx
                .try_send(Outgoing::Close(
                    StreamErrorCondition::Conflict,
                    "another session bound the same resource".into(),
                ))
                .is_err()
            {
                old.kill.cancel();
            }
        }
        self.conn_id = id;
        self.jid = Some(jid.clone());
        Ok(jid)
    }

    /// Routes a stanza from this session, remembering directed presence.
    pub(crate) fn route(&mut self, core: &Arc<Core>, stanza: Element) {
        let Some(jid) = self.jid.clone() else { return };
        if stanza.name == "presence" {
            let ty = stanza.attr("type");
            match stanza.attr("to").and_then(|t| Jid::parse(t).ok()) {
                Some(to) => match ty {
                    None if self.directed.len() < MAX_DIRECTED || self.directed.contains(&to) => {
                        self.directed.insert(to);
                    }
                    None => {
                        // Untracked, it could never be retracted: a MUC room would keep a
                        // ghost occupant after we disconnect. Refuse it instead.
                        let e = StanzaError::new(StanzaErrorCondition::ResourceConstraint)
                            .with_text("too many directed presences from this session");
                        routing::bounce(core, &stanza, e);
                        return;
                    }
                    Some("unavailable") => {
                        self.directed.remove(&to);
                    }
                    _ => {}
                },
                None => self.available = ty.is_none(),
            }
        }
        let sender = Sender {
            jid,
            identity: self.identity.clone(),
        };
        routing::route(core, &sender, stanza);
    }

    /// The connection ended: unbind and send unavailable presence to everyone who got a
    /// directed presence.
    pub(crate) fn end(self, core: &Arc<Core>) {
        let Some(jid) = self.jid else { return };
        core.router.unbind(&jid, self.conn_id);
        let sender = Sender {
            jid: jid.clone(),
            identity: self.identity.clone(),
        };
        for to in self.directed {
            let p = Element::new("presence", ns::CLIENT)
                .with_attr("type", "unavailable")
                .with_attr("from", jid.as_str())
                .with_attr("to", to.as_str());
            routing::route(core, &sender, p);
        }
    }
}
