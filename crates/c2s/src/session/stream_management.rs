//! Stream management (XEP-0198) in the session: the inbound counter (`h`) and where each
//! stream-management element may appear (resumption before bind, the rest after it).

use rookery_proto::{Element, Jid, StanzaErrorCondition};

use super::{Action, Phase, Session, State};
use crate::sm::{self, SmRequest};

/// Stream management (XEP-0198): the inbound counter and where each element may appear.
impl Session {
    /// Stream management is enabled on this stream (after `<enabled/>` or `<resumed/>`).
    pub fn sm_is_enabled(&self) -> bool {
        self.sm_handled.is_some()
    }

    /// The inbound `h`: stanzas handled from the client since `<enabled/>`, modulo 2^32.
    pub fn sm_handled(&self) -> Option<u32> {
        self.sm_handled
    }

    /// The answer to [`Action::EnableSm`]: sends `<enabled/>` (with `id` and `max` when the
    /// session can be resumed) and starts counting the client's stanzas from zero.
    pub fn sm_enabled(&mut self, id: Option<&str>, max: Option<u32>) -> Vec<Action> {
        self.sm_handled = Some(0);
        vec![Action::Send(sm::enabled(id, max))]
    }

    /// The answer to [`Action::Resume`] when the old session was taken over: the stream is
    /// bound to `jid` again, `<resumed/>` tells the client how many of its stanzas the old
    /// session handled (`handled`), and counting continues from there. The caller resends
    /// the unacknowledged stanzas right after these actions.
    pub fn resumed(&mut self, jid: Jid, previd: &str, handled: u32) -> Vec<Action> {
        self.phase = Phase::Bound;
        self.state = State::Running;
        self.jid = Some(jid);
        self.sm_handled = Some(handled);
        vec![Action::Send(sm::resumed(previd, handled))]
    }

    /// The answer to [`Action::Resume`] when there is nothing to resume (unknown or
    /// expired id, another identity's session): `<failed/>` with `condition`; the client
    /// may bind a new resource instead.
    pub fn resume_failed(&mut self, condition: StanzaErrorCondition) -> Vec<Action> {
        if matches!(self.state, State::AwaitResume) {
            self.state = State::Features;
        }
        vec![Action::Send(sm::failed(condition, None))]
    }

    pub(super) fn on_sm_before_bind(&mut self, el: &Element, out: &mut Vec<Action>) {
        if !self.transport.sm_available {
            out.push(Action::Send(sm::failed(
                StanzaErrorCondition::FeatureNotImplemented,
                None,
            )));
            return;
        }
        match SmRequest::parse(el) {
            Ok(SmRequest::Resume { previd, h }) => {
                self.state = State::AwaitResume;
                out.push(Action::Resume { previd, h });
            }
            // XEP-0198 §3: enabling before binding (unless resuming) is refused.
            Ok(_) => out.push(Action::Send(sm::failed(
                StanzaErrorCondition::UnexpectedRequest,
                None,
            ))),
            Err(e) => self.close(out, e.condition(), &e.to_string()),
        }
    }

    pub(super) fn on_sm_bound(&mut self, el: &Element, out: &mut Vec<Action>) {
        if !self.transport.sm_available {
            out.push(Action::Send(sm::failed(
                StanzaErrorCondition::FeatureNotImplemented,
                None,
            )));
            return;
        }
        let request = match SmRequest::parse(el) {
            Ok(r) => r,
            Err(e) => return self.close(out, e.condition(), &e.to_string()),
        };
        match (request, self.sm_handled) {
            (SmRequest::Enable { resume, max }, None) => {
                out.push(Action::EnableSm { resume, max });
            }
            (SmRequest::Request, Some(h)) => out.push(Action::Send(sm::ack(h))),
            (SmRequest::Ack { h }, Some(_)) => out.push(Action::SmAck(h)),
            // A second <enable/>, a <resume/> on a bound stream, <r/> or <a/> before
            // <enable/>.
            (_, h) => out.push(Action::Send(sm::failed(
                StanzaErrorCondition::UnexpectedRequest,
                h,
            ))),
        }
    }
}
