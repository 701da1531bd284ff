//! The timing and concurrency a BOSH session runs with (XEP-0124 §7): the client's `wait`
//! and `hold` clamped to the configuration, and the attributes of the creation response.

use super::bosh_body::{BOSH_VERSION, Body, Condition};
use crate::config::HttpConfig;

/// The session's negotiated timing and concurrency (the creation response attributes).
#[derive(Debug, Clone, Copy)]
pub(super) struct Negotiated {
    /// Longest time a request is held.
    pub wait: u64,
    /// Requests held at most.
    pub hold: u64,
    /// Requests outstanding at most (the rid window).
    pub requests: u32,
    /// Seconds without a held request before the session ends.
    pub inactivity: u64,
    /// Shortest interval between empty polls when `hold` is 0.
    pub polling: u64,
    /// Longest pause.
    pub max_pause: u64,
}

impl Negotiated {
    /// Clamps the client's `wait` and `hold` to the configuration.
    pub(super) fn from_request(cfg: &HttpConfig, body: &Body) -> Result<Self, Condition> {
        let wait = body
            .number("wait")
            .map_err(|_| Condition::BadRequest)?
            .unwrap_or(cfg.bosh_max_wait)
            .min(cfg.bosh_max_wait);
        let hold = body
            .number("hold")
            .map_err(|_| Condition::BadRequest)?
            .unwrap_or(1)
            .min(u64::from(cfg.bosh_max_hold));
        let requests = cfg
            .bosh_max_requests
            .max(u32::try_from(hold).unwrap_or(u32::MAX).saturating_add(1));
        Ok(Negotiated {
            wait,
            hold,
            requests,
            inactivity: cfg.bosh_max_inactivity,
            polling: cfg.bosh_polling,
            max_pause: cfg.bosh_max_pause,
        })
    }
}

impl Negotiated {
    /// The attributes of the session creation response (XEP-0124 §7.1, XEP-0206 §5).
    pub(super) fn creation_attributes(
        &self,
        sid: &str,
        secure: bool,
    ) -> Vec<(&'static str, String)> {
        vec![
            ("sid", sid.to_owned()),
            ("wait", self.wait.to_string()),
            ("requests", self.requests.to_string()),
            ("hold", self.hold.to_string()),
            ("inactivity", self.inactivity.to_string()),
            ("polling", self.polling.to_string()),
            ("maxpause", self.max_pause.to_string()),
            ("ver", BOSH_VERSION.to_owned()),
            ("secure", if secure { "true" } else { "false" }.to_owned()),
            ("xmlns:xmpp", rookery_proto::ns::XBOSH.to_owned()),
            ("xmpp:version", "1.0".to_owned()),
            ("xmpp:restartlogic", "true".to_owned()),
            ("xmlns:stream", rookery_proto::ns::STREAM.to_owned()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_proto::Limits;

    fn body(attrs: &str) -> Body {
        let text = format!("<body rid='1' xmlns='http://jabber.org/protocol/httpbind' {attrs}/>");
        super::super::bosh_body::parse(text.as_bytes(), Limits::default()).unwrap()
    }

    #[test]
    fn client_values_are_clamped_to_the_configuration() {
        let cfg = HttpConfig::default();
        let cases = [
            ("", cfg.bosh_max_wait, 1, 2),
            ("wait='10' hold='1'", 10, 1, 2),
            ("wait='100000' hold='9'", cfg.bosh_max_wait, 1, 2),
            ("hold='0'", cfg.bosh_max_wait, 0, 2),
        ];
        for (attrs, wait, hold, requests) in cases {
            let n = Negotiated::from_request(&cfg, &body(attrs)).unwrap();
            assert_eq!(
                (n.wait, n.hold, n.requests),
                (wait, hold, requests),
                "{attrs}"
            );
        }
        assert_eq!(
            Negotiated::from_request(&cfg, &body("wait='soon'")).unwrap_err(),
            Condition::BadRequest
        );
    }
}
