//! One client conversation, whatever carries it: feeds [`Input`]s to the sans-io
//! [`Session`], carries out its [`Action`]s (login, token verdicts, bind, routing, stream
//! management, resumption, stream errors) and writes what goes to the client through a
//! [`Wire`]. TCP, WebSocket and BOSH differ only in their wire: how a stream header, an
//! element and the end of the stream are framed, and whether STARTTLS exists.

use std::collections::VecDeque;
use std::sync::Arc;

use rookery_c2s::{Action, Input, Session, TransportInfo, sm};
use rookery_proto::{Element, StanzaErrorCondition, StreamErrorCondition, stream_error};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::core::Core;
use crate::routing::table::Outgoing;
use crate::session::driver::{
    BoundSession, CoreEnv, login_label, on_authenticated, on_bind, on_enable_sm,
    verify_session_token, write_outgoing,
};
use crate::session::stream_management::{
    self, Ending, Hibernated, Mailbox, SmLink, Takeover, bounce_undelivered,
};
use crate::transport::Transport;
use crate::transport::http::params::TransportParams;

/// How a transport frames what the conversation sends.
pub(crate) trait Wire {
    /// The namespace elements are written in: `jabber:client` on a TCP stream (its header
    /// declares it), none on WebSocket and BOSH (every element declares its own).
    fn context_ns(&self) -> &'static str;
    /// Our stream header.
    fn header(&mut self, id: &str, from: &str);
    /// One top-level element, serialised by `write` into the buffer the wire hands it.
    fn element(&mut self, write: &mut dyn FnMut(&mut Vec<u8>));
    /// A position to [`Wire::rollback`] to (an element written but not to be sent).
    fn mark(&self) -> usize;
    /// Forgets what was written since `mark`.
    fn rollback(&mut self, mark: usize);
    /// The end of the stream, after this stream error when there is one.
    fn end(&mut self, error: Option<&Element>);
    /// The session restarted the stream (after SASL or STARTTLS).
    fn restart(&mut self);
    /// `<proceed/>` was queued: true when the transport upgrades to TLS after flushing it.
    fn start_tls(&mut self) -> bool;
    /// A stanza of `kind` (`message`, `presence`, `iq`) went out.
    fn count_out(&mut self, core: &Core, kind: &str);
}

/// A client session on one connection (or BOSH session) of any transport.
pub(crate) struct Conversation<W: Wire> {
    pub(crate) core: Arc<Core>,
    pub(crate) transport: Transport,
    pub(crate) session: Session,
    pub(crate) wire: W,
    pub(crate) bound: Option<BoundSession>,
    pub(crate) kill: CancellationToken,
    pub(crate) tx: mpsc::Sender<Outgoing>,
    pub(crate) header_sent: bool,
    pub(crate) closing: bool,
    /// The URL parameters of WebSocket and BOSH (empty on TCP), for the login log.
    params: TransportParams,
    /// A token to verify before SASL can finish: `(host, token)`.
    pending_token: Option<(String, Option<String>)>,
    /// Stream management, once enabled or resumed.
    pub(crate) sm: Option<SmLink>,
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

impl<W: Wire> std::fmt::Debug for Conversation<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conversation")
            .field("transport", &self.transport)
            .field("session", &self.session)
            .field("closing", &self.closing)
            .finish()
    }
}

impl<W: Wire> Conversation<W> {
    /// A new conversation; `tx` and `kill` are the mailbox and kill token the router gets
    /// at bind. `params` are the URL parameters (their token goes to the session).
    pub(crate) fn new(
        core: Arc<Core>,
        transport: Transport,
        info: TransportInfo,
        params: TransportParams,
        wire: W,
        tx: mpsc::Sender<Outgoing>,
        kill: CancellationToken,
    ) -> Self {
        let mut session = Session::new(info);
        session.set_transport_token(params.token.clone());
        Conversation {
            core,
            transport,
            session,
            wire,
            bound: None,
            kill,
            tx,
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
    pub(crate) fn is_bound(&self) -> bool {
        self.session.is_bound()
    }

    /// True once the stream is ending: the transport flushes and stops.
    pub(crate) fn is_closing(&self) -> bool {
        self.closing
    }

    /// The host the client asked for, once known.
    pub(crate) fn host(&self) -> Option<String> {
        self.session.host().map(|h| h.domain.clone())
    }

    /// Feeds one input to the session (held back while a `<resume/>` is pending).
    pub(crate) fn input(&mut self, input: Input) {
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
    pub(crate) fn token_pending(&self) -> bool {
        self.pending_token.is_some()
    }

    /// Verifies the token the session asked about (key fetches may wait on the network)
    /// and hands the verdict back to the session.
    pub(crate) async fn settle_token(&mut self) {
        while let Some((domain, token)) = self.pending_token.take() {
            // Boxed: key fetching is a large future, and every idle connection's task would
            // otherwise carry its size.
            let verdict =
                Box::pin(verify_session_token(&self.core, &domain, token.as_deref())).await;
            if let Err(reason) = &verdict {
                self.core.metrics.token_refusals.inc(&[reason]);
            }
            let more = self.session.token_verdict(verdict);
            self.run_actions(more);
        }
    }

    /// Ends the stream with a stream error (sent after our header if none was sent yet).
    pub(crate) fn error(&mut self, cond: StreamErrorCondition, text: &str) {
        self.error_element(&stream_error(cond, Some(text)));
    }

    /// Ends the stream because the transport itself failed (missed pings): like
    /// [`Self::error`], but a resumable session hibernates afterwards.
    pub(crate) fn lost(&mut self, cond: StreamErrorCondition, text: &str) {
        if !self.closing {
            self.lost = true;
        }
        self.error(cond, text);
    }

    /// Ends the stream with this `<stream:error/>` element.
    pub(crate) fn error_element(&mut self, error: &Element) {
        if self.closing {
            return;
        }
        if !self.header_sent {
            let from = self.host().unwrap_or_default();
            self.wire.header("error", &from);
            self.header_sent = true;
        }
        self.wire.end(Some(error));
        self.core.metrics.stream_error(self.transport);
        self.closing = true;
    }

    /// Ends the stream without an error (the client closed, or the transport went away).
    pub(crate) fn close(&mut self) {
        if self.closing {
            return;
        }
        self.wire.end(None);
        self.closing = true;
    }

    /// Writes one element.
    pub(crate) fn send(&mut self, el: &Element) {
        let ns = self.wire.context_ns();
        self.wire
            .element(&mut |buf| rookery_proto::serialize::write_element(buf, el, ns));
    }

    /// Writes one mailbox item (stream management keeps it until the client acknowledges
    /// it).
    pub(crate) fn deliver(&mut self, item: Outgoing) {
        if self.closing {
            if self.sm.is_some() {
                bounce_undelivered(&self.core, item);
            }
            return;
        }
        if let Outgoing::Close(cond, text) = item {
            return self.error(cond, &text);
        }
        let ns = self.wire.context_ns();
        let mark = self.wire.mark();
        let mut kind = None;
        self.wire
            .element(&mut |buf| kind = write_outgoing(buf, &item, ns));
        if let Some(kind) = kind {
            self.wire.count_out(&self.core, kind);
        }
        let Some(link) = self.sm.as_mut() else { return };
        match link.push(item) {
            Ok(false) => {}
            Ok(true) => self.send(&sm::request()),
            Err(item) => {
                self.wire.rollback(mark);
                bounce_undelivered(&self.core, item);
                self.error(
                    StreamErrorCondition::ResourceConstraint,
                    "too many unacknowledged stanzas",
                );
            }
        }
    }

    /// Carries out the session machine's actions.
    pub(crate) fn run_actions(&mut self, actions: Vec<Action>) {
        for a in actions {
            if self.closing {
                return;
            }
            match a {
                Action::OpenStream { id, from } => {
                    self.wire.header(&id, &from);
                    self.header_sent = true;
                }
                Action::Send(el) => {
                    if !self.session.is_authenticated() {
                        self.core.metrics.observe_negotiation(&el);
                    }
                    self.send(&el);
                }
                Action::StartTls => {
                    if !self.wire.start_tls() {
                        // Never offered on this transport; the session refuses it first.
                        self.error(
                            StreamErrorCondition::UnsupportedFeature,
                            "STARTTLS is not available on this transport",
                        );
                    }
                }
                Action::Restart => {
                    self.wire.restart();
                    self.header_sent = false;
                }
                Action::Authenticated {
                    domain,
                    identity,
                    mechanism,
                } => {
                    tracing::info!(%domain, user = login_label(&identity), %mechanism, transport = ?self.transport, room = self.params.room.as_deref().unwrap_or(""), tenant = self.params.prefix.as_deref().unwrap_or(""), "authenticated");
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

    /// True while stream management is on (the transport runs the ack timer).
    pub(crate) fn sm_active(&self) -> bool {
        self.sm.is_some()
    }

    /// The periodic ack check: sends `<r/>` when stanzas wait unasked.
    pub(crate) fn ack_tick(&mut self) {
        if !self.closing && self.sm.as_mut().map(SmLink::tick).unwrap_or(false) {
            self.send(&sm::request());
        }
    }

    /// True when a `<resume/>` waits for [`Self::settle_resume`].
    pub(crate) fn resume_pending(&self) -> bool {
        self.pending_resume.is_some()
    }

    /// Carries out pending `<resume/>`s (the old session's task may need a moment to hand
    /// over), then feeds the inputs held back behind them.
    pub(crate) async fn settle_resume(&mut self) {
        while let Some((previd, h)) = self.pending_resume.take() {
            self.resume(&previd, h).await;
            while self.pending_resume.is_none() {
                let Some(input) = self.deferred.pop_front() else {
                    break;
                };
                self.input(input);
            }
        }
    }

    /// Takes the old session over (adopting its mailbox and resending what it never
    /// acknowledged), or answers `<failed/>`.
    async fn resume(&mut self, previd: &str, h: u32) {
        let owner = self.bound.as_ref().map(|b| b.owner(self.transport));
        let Some((hibernated, acked)) =
            stream_management::resume(&self.core, previd, owner, h).await
        else {
            let more = self
                .session
                .resume_failed(StanzaErrorCondition::ItemNotFound);
            return self.run_actions(more);
        };
        let Hibernated {
            bound,
            mailbox,
            link,
            handled,
        } = hibernated;
        let jid = bound.jid().cloned();
        self.bound = Some(bound);
        self.tx = mailbox.tx;
        self.kill = mailbox.kill.clone();
        self.adopted = Some((mailbox.rx, mailbox.kill));
        self.sm = Some(link);
        let Some(jid) = jid else {
            return self.error(
                StreamErrorCondition::InternalServerError,
                "the session had no address",
            );
        };
        if let Err(e) = acked {
            return self.error_element(&e.stream_error());
        }
        tracing::info!(%jid, transport = ?self.transport, "session resumed");
        let host = jid.domain().to_owned();
        let more = self.session.resumed(jid, previd, handled);
        self.run_actions(more);
        let ns = self.wire.context_ns();
        if let Some(link) = self.sm.as_ref() {
            for item in link.resend(&host) {
                self.wire.element(&mut |buf| {
                    write_outgoing(buf, &item, ns);
                });
            }
        }
    }

    /// The mailbox receiver and kill token of a session this stream resumed; the transport
    /// loop must use them from now on.
    pub(crate) fn take_adopted(&mut self) -> Option<(mpsc::Receiver<Outgoing>, CancellationToken)> {
        self.adopted.take()
    }

    /// Waits until another connection asks to resume this session (never resolves when
    /// the session is not resumable).
    pub(crate) async fn next_takeover(&mut self) -> Takeover {
        SmLink::next_takeover(&mut self.sm).await
    }

    /// How the stream ended, for [`Self::finish`].
    pub(crate) fn ending(&self) -> Ending {
        if self.closing && !self.lost {
            Ending::Closed
        } else {
            Ending::Lost
        }
    }

    /// The connection is gone: the session hibernates, ends, or (with a takeover request)
    /// moves to the connection that resumes it. `rx` is the mailbox receiver the transport
    /// loop used. Returns true when it moved to another connection.
    pub(crate) fn finish(
        &mut self,
        rx: mpsc::Receiver<Outgoing>,
        ending: Ending,
        takeover: Option<Takeover>,
    ) -> bool {
        let Some(bound) = self.bound.take() else {
            return false;
        };
        let mailbox = Mailbox {
            tx: self.tx.clone(),
            rx,
            kill: self.kill.clone(),
        };
        let handled = self.session.sm_handled().unwrap_or(0);
        match (takeover, self.sm.take()) {
            (Some(t), Some(link)) => {
                stream_management::hand_over(
                    &self.core,
                    t,
                    Hibernated {
                        bound,
                        mailbox,
                        link,
                        handled,
                    },
                );
                true
            }
            (_, link) => {
                stream_management::finish(&self.core, bound, mailbox, link, handled, ending);
                false
            }
        }
    }
}

impl<W: Wire> Drop for Conversation<W> {
    /// A safety net for tasks that ended without [`Conversation::finish`]: unbind and tell
    /// directed-presence recipients.
    fn drop(&mut self) {
        if let Some(b) = self.bound.take() {
            b.end(&self.core);
        }
    }
}
