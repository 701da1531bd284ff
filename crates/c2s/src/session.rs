//! The RFC 6120 client session negotiation as a sans-io state machine, shared by TCP,
//! WebSocket and BOSH: the transports turn their framing into [`Input`]s and carry out the
//! [`Action`]s; nothing here touches a socket.
//!
//! Order: stream header → features → (STARTTLS → restart) → SASL → restart → bind → stanzas.

use std::sync::Arc;

use rookery_proto::{
    Element, Jid, StanzaError, StanzaErrorCondition, StreamErrorCondition, StreamHeader,
    error_reply, ns,
};
use rookery_sasl::{Mechanism, SaslError, SaslServer, ScramCredentials, ScramHash};

use crate::host::{HostPolicy, TransportKind};

mod sasl;
mod stream_management;

pub use sasl::{LoginIdentity, TokenGrant};
use sasl::{failure, sasl_el};

/// Lookups the negotiation needs from the server. Implementations must be quick and must
/// not block for long (the account store is a local embedded database).
pub trait Env {
    /// The policy of a served client host, `None` if the domain is not served for clients.
    fn host(&self, domain: &str) -> Option<Arc<HostPolicy>>;
    /// Stored SCRAM credentials of an account; `Err` when the store failed.
    fn credentials(
        &self,
        domain: &str,
        username: &str,
        hash: ScramHash,
    ) -> Result<Option<ScramCredentials>, String>;
    /// A fresh, unguessable stream id.
    fn new_stream_id(&self) -> String;
}

/// What the transport hands to the session.
#[derive(Debug, Clone)]
pub enum Input {
    /// A stream header (TCP `<stream:stream>`, WebSocket `<open/>`, BOSH session start or
    /// restart).
    Open(StreamHeader),
    /// One top-level element.
    Element(Element),
    /// The peer closed the stream.
    Close,
}

/// What the transport must do.
#[derive(Debug, Clone)]
pub enum Action {
    /// Write our stream header (TCP `<stream:stream>`, WebSocket `<open/>`) with this id
    /// and `from`.
    OpenStream {
        /// Our stream id.
        id: String,
        /// The host we speak for.
        from: String,
    },
    /// Write this element.
    Send(Element),
    /// `<proceed/>` was queued: flush it, then run the TLS handshake and call
    /// [`Session::tls_established`].
    StartTls,
    /// SASL succeeded: the parser must expect a new stream header.
    Restart,
    /// The session authenticated as `identity` (the server assigns a random localpart to
    /// guests and token sessions).
    Authenticated {
        /// The host.
        domain: String,
        /// Who logged in: a token session carries its verified claims, so none can exist
        /// without them.
        identity: LoginIdentity,
        /// The mechanism used.
        mechanism: Mechanism,
    },
    /// The session's token must be verified before SASL can succeed: call
    /// [`Session::token_verdict`]. `token` is the OAUTHBEARER token, or the one the transport
    /// gave with [`Session::set_transport_token`] (None if it gave none).
    VerifyToken {
        /// The host.
        domain: String,
        /// The token, never logged.
        token: Option<String>,
    },
    /// The client asks to bind; the server must pick the resource (generate one when
    /// `None`), take over an existing session with the same full JID, then call
    /// [`Session::bound`].
    Bind {
        /// Requested resource.
        resource: Option<String>,
        /// The IQ id to answer.
        iq_id: String,
    },
    /// A stanza from the bound client with `from` stamped: route it.
    Route(Element),
    /// `<enable/>` (XEP-0198) on a bound stream: start an outbound queue (and, when
    /// `resume` is asked for and allowed, register a resumption id), then call
    /// [`Session::sm_enabled`].
    EnableSm {
        /// The client asked for resumption.
        resume: bool,
        /// The client's preferred longest resumption time, seconds.
        max: Option<u32>,
    },
    /// `<a h=''/>`: the client handled `h` of the stanzas sent since `<enabled/>`; drop
    /// them from the outbound queue.
    SmAck(u32),
    /// `<resume/>` after authentication, before bind: find the session `previd` names,
    /// check that it belongs to this identity, then call [`Session::resumed`] or
    /// [`Session::resume_failed`].
    Resume {
        /// The id the old session's `<enabled/>` carried.
        previd: String,
        /// Stanzas the client handled from the old session.
        h: u32,
    },
    /// End the stream, sending this error first when given.
    Close(Option<(StreamErrorCondition, String)>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing negotiated yet.
    Fresh,
    /// Authenticated, waiting for bind.
    Authed,
    /// Bound.
    Bound,
}

enum State {
    AwaitOpen,
    Features,
    Sasl(Box<SaslServer>),
    AwaitToken(Box<SaslServer>, Option<Vec<u8>>),
    AwaitResume,
    Running,
    Closed,
}

/// Transport facts the negotiation depends on.
#[derive(Debug, Clone, Copy)]
pub struct TransportInfo {
    /// STARTTLS can be offered (TCP without TLS yet).
    pub starttls_available: bool,
    /// The stream is already encrypted (TLS, or HTTPS/WSS terminated by a trusted proxy
    /// counts only when the host allows unencrypted PLAIN).
    pub encrypted: bool,
    /// Stream management may be offered.
    pub sm_available: bool,
    /// TCP or HTTP (WebSocket/BOSH): decides whether token hosts offer OAUTHBEARER.
    pub kind: TransportKind,
}

/// One client session's negotiation state.
pub struct Session {
    state: State,
    phase: Phase,
    transport: TransportInfo,
    host: Option<Arc<HostPolicy>>,
    username: Option<String>,
    jid: Option<Jid>,
    sasl_failures: u32,
    transport_token: Option<String>,
    /// XEP-0198 inbound count (`h`): stanzas handled from the client since `<enabled/>`,
    /// modulo 2^32; `None` until stream management is enabled.
    sm_handled: Option<u32>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("phase", &self.phase)
            .field("jid", &self.jid)
            .finish()
    }
}

impl Session {
    /// A new session for a transport.
    pub fn new(transport: TransportInfo) -> Self {
        Session {
            state: State::AwaitOpen,
            phase: Phase::Fresh,
            transport,
            host: None,
            username: None,
            jid: None,
            sasl_failures: 0,
            transport_token: None,
            sm_handled: None,
        }
    }

    /// Hands the `?token=` of a WebSocket/BOSH URL to the session (empty counts as none).
    pub fn set_transport_token(&mut self, token: Option<String>) {
        self.transport_token = token.filter(|t| !t.is_empty());
    }

    /// The bound full JID, once bound.
    pub fn jid(&self) -> Option<&Jid> {
        self.jid.as_ref()
    }

    /// The host this stream is for, once the header arrived.
    pub fn host(&self) -> Option<&Arc<HostPolicy>> {
        self.host.as_ref()
    }

    /// True once a resource is bound.
    pub fn is_bound(&self) -> bool {
        self.phase == Phase::Bound
    }

    /// True once SASL succeeded.
    pub fn is_authenticated(&self) -> bool {
        self.phase != Phase::Fresh
    }

    /// The TLS handshake completed; the client will open a new stream.
    pub fn tls_established(&mut self) {
        self.transport.encrypted = true;
        self.transport.starttls_available = false;
        self.state = State::AwaitOpen;
    }

    /// Handles one input.
    pub fn handle(&mut self, env: &dyn Env, input: Input) -> Vec<Action> {
        let mut out = Vec::new();
        match input {
            Input::Open(h) => self.on_open(env, h, &mut out),
            Input::Close => {
                self.state = State::Closed;
                out.push(Action::Close(None));
            }
            Input::Element(el) => self.on_element(env, el, &mut out),
        }
        out
    }

    fn close(&mut self, out: &mut Vec<Action>, cond: StreamErrorCondition, text: &str) {
        self.state = State::Closed;
        out.push(Action::Close(Some((cond, text.to_owned()))));
    }

    fn on_open(&mut self, env: &dyn Env, h: StreamHeader, out: &mut Vec<Action>) {
        if !matches!(self.state, State::AwaitOpen) {
            return self.close(
                out,
                StreamErrorCondition::NotWellFormed,
                "unexpected stream header",
            );
        }
        let to = h.to.clone().unwrap_or_default();
        let domain = Jid::parse(&to)
            .map(|j| j.domain().to_owned())
            .unwrap_or_default();
        let host = match &self.host {
            // After a restart the stream must stay on the same host.
            Some(existing) if existing.domain == domain => Some(existing.clone()),
            Some(_) => None,
            None => env.host(&domain),
        };
        let id = env.new_stream_id();
        out.push(Action::OpenStream {
            id,
            from: host
                .as_ref()
                .map(|h| h.domain.clone())
                .unwrap_or_else(|| to.clone()),
        });
        if h.default_ns != ns::CLIENT {
            return self.close(
                out,
                StreamErrorCondition::InvalidNamespace,
                "the default namespace must be jabber:client",
            );
        }
        let Some(host) = host else {
            return self.close(
                out,
                StreamErrorCondition::HostUnknown,
                &format!("this server does not serve '{to}'"),
            );
        };
        if h.version
            .as_deref()
            .map(|v| !v.starts_with("1."))
            .unwrap_or(true)
        {
            return self.close(
                out,
                StreamErrorCondition::UnsupportedVersion,
                "only XMPP 1.0 streams are supported",
            );
        }
        self.host = Some(host.clone());
        out.push(Action::Send(self.features(&host)));
        self.state = State::Features;
    }

    fn features(&self, host: &HostPolicy) -> Element {
        let mut f = Element::new("features", ns::STREAM);
        f.prefix = Some("stream".into());
        match self.phase {
            Phase::Fresh => {
                if self.transport.starttls_available && !self.transport.encrypted {
                    let mut tls = Element::new("starttls", ns::TLS);
                    if host.require_encryption {
                        tls.push_child(Element::new("required", ns::TLS));
                    }
                    f.push_child(tls);
                }
                if self.transport.encrypted || !host.require_encryption {
                    let mut mechs = sasl_el("mechanisms");
                    for m in host.mechanisms(self.transport.kind, self.transport.encrypted) {
                        mechs.push_child(sasl_el("mechanism").with_text(m.as_str()));
                    }
                    f.push_child(mechs);
                }
            }
            Phase::Authed => {
                f.push_child(Element::new("bind", ns::BIND));
                f.push_child(
                    Element::new("session", ns::SESSION)
                        .with_child(Element::new("optional", ns::SESSION)),
                );
                if self.transport.sm_available {
                    f.push_child(Element::new("sm", ns::SM));
                }
            }
            Phase::Bound => {}
        }
        f
    }

    fn on_element(&mut self, env: &dyn Env, el: Element, out: &mut Vec<Action>) {
        let state = std::mem::replace(&mut self.state, State::Closed);
        match state {
            State::AwaitOpen | State::Closed => self.close(
                out,
                StreamErrorCondition::NotWellFormed,
                "no stream is open",
            ),
            State::Features => self.on_negotiation(env, el, out),
            State::Sasl(mech) => self.on_sasl_step(env, mech, el, out),
            State::AwaitToken(mech, data) => {
                // The client must wait for our answer; anything else is a protocol error.
                self.state = State::AwaitToken(mech, data);
                self.close(
                    out,
                    StreamErrorCondition::PolicyViolation,
                    "wait for the SASL result",
                )
            }
            State::AwaitResume => self.close(
                out,
                StreamErrorCondition::PolicyViolation,
                "wait for the resumption result",
            ),
            State::Running => {
                self.state = State::Running;
                self.on_stanza(el, out);
            }
        }
    }

    fn on_negotiation(&mut self, env: &dyn Env, el: Element, out: &mut Vec<Action>) {
        self.state = State::Features;
        let Some(host) = self.host.clone() else {
            return self.close(out, StreamErrorCondition::HostUnknown, "no host");
        };
        if el.is("starttls", ns::TLS) {
            if self.phase == Phase::Fresh
                && self.transport.starttls_available
                && !self.transport.encrypted
            {
                out.push(Action::Send(Element::new("proceed", ns::TLS)));
                out.push(Action::StartTls);
                self.state = State::AwaitOpen;
            } else {
                out.push(Action::Send(Element::new("failure", ns::TLS)));
                self.close(
                    out,
                    StreamErrorCondition::PolicyViolation,
                    "STARTTLS is not available here",
                );
            }
            return;
        }
        if el.is("auth", ns::SASL) && self.phase == Phase::Fresh {
            return self.on_auth(env, &host, el, out);
        }
        if el.is("abort", ns::SASL) {
            out.push(Action::Send(failure(&SaslError::new(
                rookery_sasl::SaslCondition::Aborted,
                "",
            ))));
            return;
        }
        if self.phase == Phase::Authed && el.name == "iq" && el.ns == ns::CLIENT {
            return self.on_bind_iq(el, out);
        }
        if self.phase == Phase::Authed && el.ns == ns::SM {
            return self.on_sm_before_bind(&el, out);
        }
        if self.phase == Phase::Fresh {
            if host.require_encryption
                && !self.transport.encrypted
                && self.transport.starttls_available
            {
                return self.close(
                    out,
                    StreamErrorCondition::PolicyViolation,
                    "encryption is required: use STARTTLS",
                );
            }
            return self.close(
                out,
                StreamErrorCondition::NotAuthorized,
                "authenticate first",
            );
        }
        self.close(
            out,
            StreamErrorCondition::NotAuthorized,
            "bind a resource first",
        );
    }

    fn on_bind_iq(&mut self, el: Element, out: &mut Vec<Action>) {
        let id = el.attr("id").unwrap_or_default().to_owned();
        let is_set = el.attr("type") == Some("set");
        if let (true, Some(bind)) = (is_set, el.get_child("bind", ns::BIND)) {
            let resource = bind
                .child_text("resource", ns::BIND)
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty());
            if let Some(r) = &resource
                && (r.len() > 1023 || r.chars().any(char::is_control))
            {
                let reply = error_reply(
                    &el,
                    &StanzaError::new(StanzaErrorCondition::BadRequest)
                        .with_text("resource is not valid"),
                );
                if let Some(reply) = reply {
                    out.push(Action::Send(reply));
                }
                return;
            }
            out.push(Action::Bind {
                resource,
                iq_id: id,
            });
            return;
        }
        let reply = error_reply(
            &el,
            &StanzaError::new(StanzaErrorCondition::NotAuthorized)
                .with_text("bind a resource first"),
        );
        if let Some(reply) = reply {
            out.push(Action::Send(reply));
        }
    }

    /// The server bound `jid` for the [`Action::Bind`] with this IQ id.
    pub fn bound(&mut self, jid: Jid, iq_id: &str) -> Vec<Action> {
        self.phase = Phase::Bound;
        self.state = State::Running;
        let reply = Element::new("iq", ns::CLIENT)
            .with_attr("type", "result")
            .with_attr("id", iq_id)
            .with_child(
                Element::new("bind", ns::BIND)
                    .with_child(Element::new("jid", ns::BIND).with_text(jid.as_str())),
            );
        self.jid = Some(jid);
        vec![Action::Send(reply)]
    }

    /// Binding failed (e.g. resource limit): answer the IQ with this error.
    pub fn bind_failed(&mut self, iq_id: &str, err: StanzaError) -> Vec<Action> {
        let iq = Element::new("iq", ns::CLIENT)
            .with_attr("type", "set")
            .with_attr("id", iq_id);
        error_reply(&iq, &err)
            .map(Action::Send)
            .into_iter()
            .collect()
    }

    fn on_stanza(&mut self, mut el: Element, out: &mut Vec<Action>) {
        let Some(jid) = self.jid.clone() else {
            return self.close(out, StreamErrorCondition::NotAuthorized, "not bound");
        };
        if el.ns == ns::SM {
            return self.on_sm_bound(&el, out);
        }
        if el.ns != ns::CLIENT || !matches!(el.name.as_str(), "message" | "presence" | "iq") {
            // Stream management was handled above; anything else is not a stanza we know.
            return self.close(
                out,
                StreamErrorCondition::UnsupportedStanzaType,
                &format!("unknown top-level element '{}'", el.name),
            );
        }
        if let Some(h) = self.sm_handled.as_mut() {
            *h = h.wrapping_add(1);
        }
        if el.name == "iq" && el.is("iq", ns::CLIENT) {
            // The legacy session IQ is a no-op success.
            if el.attr("type") == Some("set") && el.has_child("session", ns::SESSION) {
                let reply = Element::new("iq", ns::CLIENT)
                    .with_attr("type", "result")
                    .with_opt_attr("id", el.attr("id"));
                out.push(Action::Send(reply));
                return;
            }
        }
        // RFC 6120 §8.1.2.1: the server stamps `from` with the full JID.
        el.set_attr("from", jid.as_str());
        out.push(Action::Route(el));
    }
}
