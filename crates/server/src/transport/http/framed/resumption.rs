//! Stream management (XEP-0198) for the element-framed transports: the ack timer's check,
//! resumption (adopting the old session's mailbox and resending what it never
//! acknowledged), takeover by another connection, and how the session ends.

use rookery_c2s::sm;
use rookery_proto::{StanzaErrorCondition, StreamErrorCondition};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{FramedSession, Out};
use crate::routing::table::Outgoing;
use crate::session::driver::write_outgoing;
use crate::session::stream_management::{self, Ending, Hibernated, Mailbox, SmLink, Takeover};

impl FramedSession {
    /// True while stream management is on (the transport runs the ack timer).
    pub fn sm_active(&self) -> bool {
        self.sm.is_some()
    }

    /// The periodic ack check: sends `<r/>` when stanzas wait unasked.
    pub fn ack_tick(&mut self) {
        if !self.closing && self.sm.as_mut().map(SmLink::tick).unwrap_or(false) {
            self.send(&sm::request());
        }
    }

    /// True when a `<resume/>` waits for [`Self::settle_resume`].
    pub fn resume_pending(&self) -> bool {
        self.pending_resume.is_some()
    }

    /// Carries out pending `<resume/>`s (the old session's task may need a moment to hand
    /// over), then feeds the inputs held back behind them.
    pub async fn settle_resume(&mut self) {
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
        let mut resend = Vec::new();
        if let Some(link) = self.sm.as_ref() {
            for item in link.resend(&host) {
                let mut buf = Vec::with_capacity(256);
                write_outgoing(&mut buf, &item, "");
                resend.push(Out::Element(buf));
            }
        }
        self.out.extend(resend);
    }

    /// The mailbox receiver and kill token of a session this stream resumed; the transport
    /// loop must use them from now on.
    pub fn take_adopted(&mut self) -> Option<(mpsc::Receiver<Outgoing>, CancellationToken)> {
        self.adopted.take()
    }

    /// Waits until another connection asks to resume this session (never resolves when
    /// the session is not resumable).
    pub async fn next_takeover(&mut self) -> Takeover {
        SmLink::next_takeover(&mut self.sm).await
    }

    /// How the stream ended, for [`Self::finish`].
    pub fn ending(&self) -> Ending {
        if self.closing && !self.lost {
            Ending::Closed
        } else {
            Ending::Lost
        }
    }

    /// The connection is gone: the session hibernates, ends, or (with a takeover request)
    /// moves to the connection that resumes it. `rx` is the mailbox receiver the transport
    /// loop used.
    pub fn finish(
        &mut self,
        rx: mpsc::Receiver<Outgoing>,
        ending: Ending,
        takeover: Option<Takeover>,
    ) {
        let Some(bound) = self.bound.take() else {
            return;
        };
        let mailbox = Mailbox {
            tx: self.tx.clone(),
            rx,
            kill: self.kill.clone(),
        };
        let handled = self.session.sm_handled().unwrap_or(0);
        match (takeover, self.sm.take()) {
            (Some(t), Some(link)) => stream_management::hand_over(
                &self.core,
                t,
                Hibernated {
                    bound,
                    mailbox,
                    link,
                    handled,
                },
            ),
            (_, link) => {
                stream_management::finish(&self.core, bound, mailbox, link, handled, ending)
            }
        }
    }
}
