//! Stream management (XEP-0198) on the TCP transport: the ack timer's check and
//! resumption (adopting the old session's mailbox, resending what it never acknowledged).

use rookery_c2s::sm;
use rookery_proto::{StanzaErrorCondition, StreamErrorCondition, ns};

use super::Conversation;
use crate::metrics::Transport;
use crate::session::driver::write_outgoing;
use crate::session::stream_management::{self, Hibernated, SmLink};

impl Conversation {
    /// The periodic ack check.
    pub(super) fn ack_tick(&mut self) {
        if !self.closing && self.sm.as_mut().map(SmLink::tick).unwrap_or(false) {
            self.send(&sm::request());
        }
    }

    /// Carries out a `<resume/>`: takes the old session over, or answers `<failed/>`.
    pub(super) async fn settle_resume(&mut self) {
        let Some((previd, h)) = self.pending_resume.take() else {
            return;
        };
        let owner = self.bound.as_ref().map(|b| b.owner(Transport::Tcp));
        let Some((hibernated, acked)) =
            stream_management::resume(&self.core, &previd, owner, h).await
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
            return self.write_error(
                StreamErrorCondition::InternalServerError,
                "the session had no address",
            );
        };
        if let Err(e) = acked {
            return self.write_error_element(&e.stream_error());
        }
        tracing::info!(%jid, "session resumed");
        let host = jid.domain().to_owned();
        let more = self.session.resumed(jid, &previd, handled);
        self.run_actions(more);
        if let Some(link) = self.sm.as_ref() {
            for item in link.resend(&host) {
                write_outgoing(&mut self.wbuf, &item, ns::CLIENT);
            }
        }
    }
}
