//! The session glue shared by the element-framed transports (WebSocket, BOSH): it feeds
//! [`Input`]s to the sans-io [`Session`], carries out its [`Action`]s through the same
//! [`BoundSession`] as TCP, and queues what must go to the client as [`Out`] items that each
//! transport frames its own way (one WebSocket message per item, or one BOSH body per
//! response).

use std::collections::VecDeque;
use std::sync::Arc;

use rookery_c2s::{Action, Input, Session, TransportInfo, TransportKind, sm};
use rookery_proto::{Element, StreamErrorCondition, StreamHeader, ns, stream_error};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::params::TransportParams;
use crate::core::Core;
use crate::metrics::Transport;
use crate::routing::table::Outgoing;
use crate::session::driver::{
    BoundSession, CoreEnv, on_authenticated, on_bind, on_enable_sm, write_outgoing,
};
use crate::session::stream_management::{SmLink, bounce_undelivered};

mod resumption;

/// One thing to send to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// Our stream header: `<open/>` on WebSocket, session attributes on BOSH.
    Open {
        /// The stream id.
        id: String,
        /// The host we speak for.
        from: String,
    },
    /// One serialised top-level element that declares its own namespace.
    Element(Vec<u8>),
    /// The stream ends; the stream error (already serialised, when there is one) goes
    /// first.
    Close(Option<Vec<u8>>),
}

/// A client session behind a framed transport.
pub struct FramedSession {
    core: Arc<Core>,
    transport: Transport,
    session: Session,
    bound: Option<BoundSession>,
    kill: CancellationToken,
    tx: mpsc::Sender<Outgoing>,
    out: Vec<Out>,
    header_sent: bool,
    closing: bool,
    params: TransportParams,
    /// A token to verify before SASL can finish: `(host, token)`.
    pending_token: Option<(String, Option<String>)>,
    /// Stream management, once enabled or resumed.
    sm: Option<SmLink>,
    /// A `<resume/>` waiting for the old session: `(previd, h)`.
    pending_resume: Option<(String, u32)>,
    /// Inputs that arrived behind a pending `<resume/>`.
    deferred: VecDeque<Input>,
    /// The mailbox and kill token of a resumed session, for the transport loop to adopt.
    adopted: Option<(mpsc::Receiver<Outgoing>, CancellationToken)>,
    /// The stream error was about the transport itself (missed pings): the session may
    /// still hibernate.
    lost: bool,
}

impl std::fmt::Debug for FramedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FramedSession")
            .field("session", &self.session)
            .field("closing", &self.closing)
            .finish()
    }
}

/// A header for [`Input::Open`] built from the attributes of an `<open/>` element or a
/// BOSH session request.
pub fn header(to: Option<&str>, version: Option<&str>, lang: Option<&str>) -> StreamHeader {
    StreamHeader {
        to: to.map(str::to_owned),
        from: None,
        version: version.map(str::to_owned),
        lang: lang.map(str::to_owned),
        id: None,
        default_ns: ns::CLIENT.to_owned(),
        bindings: Vec::new(),
    }
}

impl FramedSession {
    /// A new session; `tx` and `kill` are the mailbox and kill token the router gets at bind.
    pub fn new(
        core: Arc<Core>,
        transport: Transport,
        params: TransportParams,
        tx: mpsc::Sender<Outgoing>,
        kill: CancellationToken,
    ) -> Self {
        let encrypted = core
            .config
            .http
            .as_ref()
            .map(|h| h.consider_secure)
            .unwrap_or(false);
        let mut session = Session::new(TransportInfo {
            starttls_available: false,
            encrypted,
            sm_available: true,
            kind: TransportKind::Http,
        });
        session.set_transport_token(params.token.clone());
        tracing::debug!(?params, "transport parameters");
        FramedSession {
            core,
            transport,
            session,
            bound: None,
            kill,
            tx,
            out: Vec::new(),
            header_sent: false,
            closing: false,
            params,
            pending_token: None,
            sm: None,
            pending_resume: None,
            deferred: VecDeque::new(),
            adopted: None,
            lost: false,
        }
    }

    /// True once a resource is bound (the mailbox is live).
    pub fn is_bound(&self) -> bool {
        self.session.is_bound()
    }

    /// True once the stream is ending: the caller flushes [`Self::take_out`] and stops.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// The host the client asked for, once known.
    pub fn host(&self) -> Option<String> {
        self.session.host().map(|h| h.domain.clone())
    }

    /// Everything queued for the client since the last call.
    pub fn take_out(&mut self) -> Vec<Out> {
        std::mem::take(&mut self.out)
    }

    /// Feeds one input to the session (held back while a `<resume/>` is pending).
    pub fn input(&mut self, input: Input) {
        if self.closing {
            return;
        }
        if self.pending_resume.is_some() {
            self.deferred.push_back(input);
            return;
        }
        let env = CoreEnv(&self.core);
        let actions = self.session.handle(&env, input);
        self.run_actions(actions);
    }

    /// True when a token waits for [`Self::settle_token`].
    pub fn token_pending(&self) -> bool {
        self.pending_token.is_some()
    }

    /// Verifies the token the session asked about (key fetches may wait on the network)
    /// and hands the verdict back to the session.
    pub async fn settle_token(&mut self) {
        while let Some((domain, token)) = self.pending_token.take() {
            let verdict =
                crate::session::driver::verify_session_token(&self.core, &domain, token.as_deref())
                    .await;
            if let Err(reason) = &verdict {
                self.core.metrics.token_refusals.inc(&[reason]);
            }
            let more = self.session.token_verdict(verdict);
            self.run_actions(more);
        }
    }

    /// Ends the stream with a stream error (sent after our header if none was sent yet).
    pub fn error(&mut self, cond: StreamErrorCondition, text: &str) {
        self.error_element(&stream_error(cond, Some(text)));
    }

    /// Ends the stream because the transport itself failed (missed pings): like
    /// [`Self::error`], but a resumable session hibernates afterwards.
    pub fn lost(&mut self, cond: StreamErrorCondition, text: &str) {
        if !self.closing {
            self.lost = true;
        }
        self.error(cond, text);
    }

    /// Ends the stream with this `<stream:error/>` element.
    pub(super) fn error_element(&mut self, error: &Element) {
        if self.closing {
            return;
        }
        if !self.header_sent {
            let from = self.host().unwrap_or_default();
            self.out.push(Out::Open {
                id: "error".into(),
                from,
            });
            self.header_sent = true;
        }
        let mut buf = Vec::with_capacity(256);
        rookery_proto::serialize::write_element(&mut buf, error, "");
        self.out.push(Out::Close(Some(buf)));
        self.core.metrics.stream_error(self.transport);
        self.closing = true;
    }

    /// Ends the stream without an error (the client closed, or the transport went away).
    pub fn close(&mut self) {
        if self.closing {
            return;
        }
        self.out.push(Out::Close(None));
        self.closing = true;
    }

    /// Queues one mailbox item for the client (stream management keeps it until the client
    /// acknowledges it).
    pub fn deliver(&mut self, item: Outgoing) {
        if self.closing {
            if self.sm.is_some() {
                bounce_undelivered(&self.core, item);
            }
            return;
        }
        if let Outgoing::Close(cond, text) = item {
            return self.error(cond, &text);
        }
        let mut buf = Vec::with_capacity(256);
        if let Some(kind) = write_outgoing(&mut buf, &item, "") {
            self.core.metrics.stanzas_out.count(kind);
        }
        let Some(link) = self.sm.as_mut() else {
            self.out.push(Out::Element(buf));
            return;
        };
        match link.push(item) {
            Ok(ask) => {
                self.out.push(Out::Element(buf));
                if ask {
                    self.send(&sm::request());
                }
            }
            Err(item) => {
                bounce_undelivered(&self.core, item);
                self.error(
                    StreamErrorCondition::ResourceConstraint,
                    "too many unacknowledged stanzas",
                );
            }
        }
    }

    pub(super) fn send(&mut self, el: &Element) {
        let mut buf = Vec::with_capacity(256);
        rookery_proto::serialize::write_element(&mut buf, el, "");
        self.out.push(Out::Element(buf));
    }

    pub(super) fn run_actions(&mut self, actions: Vec<Action>) {
        for a in actions {
            if self.closing {
                return;
            }
            match a {
                Action::OpenStream { id, from } => {
                    self.out.push(Out::Open { id, from });
                    self.header_sent = true;
                }
                Action::Send(el) => {
                    if !self.session.is_authenticated() {
                        self.core.metrics.observe_negotiation(&el);
                    }
                    self.send(&el);
                }
                Action::StartTls => {
                    // Never offered on these transports; the session refuses it first.
                    self.error(
                        StreamErrorCondition::UnsupportedFeature,
                        "STARTTLS is not available on this transport",
                    );
                }
                Action::Restart => self.header_sent = false,
                Action::Authenticated {
                    domain,
                    identity,
                    mechanism,
                } => {
                    tracing::info!(%domain, user = crate::session::driver::login_label(&identity), %mechanism, transport = ?self.transport, room = self.params.room.as_deref().unwrap_or(""), tenant = self.params.prefix.as_deref().unwrap_or(""), "authenticated");
                    self.bound = Some(on_authenticated(
                        &self.core,
                        self.transport,
                        &domain,
                        identity,
                        mechanism.as_str(),
                    ));
                }
                Action::VerifyToken { domain, token } => {
                    self.pending_token = Some((domain, token));
                }
                Action::Bind { resource, iq_id } => {
                    let Some(b) = self.bound.as_mut() else {
                        self.error(StreamErrorCondition::NotAuthorized, "not authenticated");
                        return;
                    };
                    let more = on_bind(
                        &self.core,
                        b,
                        &mut self.session,
                        resource,
                        &iq_id,
                        &self.tx,
                        &self.kill,
                    );
                    self.run_actions(more);
                }
                Action::Route(el) => {
                    if let Some(b) = self.bound.as_mut() {
                        self.core.metrics.stanzas_in.count(&el.name);
                        b.route(&self.core, el);
                    }
                }
                Action::EnableSm { resume, max } => {
                    let (link, more) = on_enable_sm(
                        &self.core,
                        self.bound.as_ref(),
                        self.transport,
                        resume,
                        max,
                        &mut self.session,
                    );
                    self.sm = Some(link);
                    self.run_actions(more);
                }
                Action::SmAck(h) => {
                    if let Some(Err(e)) = self.sm.as_mut().map(|l| l.ack(h)) {
                        self.error_element(&e.stream_error());
                    }
                }
                Action::Resume { previd, h } => self.pending_resume = Some((previd, h)),
                Action::Close(err) => {
                    match err {
                        Some((cond, text)) => self.error(cond, &text),
                        None => self.close(),
                    }
                    return;
                }
            }
        }
    }
}

impl Drop for FramedSession {
    /// A safety net for tasks that ended without [`FramedSession::finish`]: unbind and tell
    /// directed-presence recipients.
    fn drop(&mut self) {
        if let Some(b) = self.bound.take() {
            b.end(&self.core);
        }
    }
}
