//! ANONYMOUS (RFC 4505): one optional client message carrying trace information.
//!
//! Jitsi Meet guests and token users (token in the connection URL) log in with this
//! mechanism; whether the host accepts anonymous logins is decided before the mechanism
//! is created.

use crate::error::SaslError;
use crate::mechanism::Mechanism;
use crate::step::{Authenticated, ServerMechanism, Step, check_len};

/// Longest accepted trace, in characters (RFC 4505 §2: up to 255).
pub const MAX_TRACE_CHARS: usize = 255;

/// Server side of ANONYMOUS.
#[derive(Debug, Default)]
pub struct AnonymousServer {
    done: bool,
}

impl AnonymousServer {
    /// A fresh ANONYMOUS exchange.
    pub fn new() -> AnonymousServer {
        AnonymousServer::default()
    }

    fn succeed(trace: Option<String>) -> Step {
        Step::Success {
            additional_data: None,
            identity: Authenticated::Anonymous { trace },
        }
    }
}

impl ServerMechanism for AnonymousServer {
    fn mechanism(&self) -> Mechanism {
        Mechanism::Anonymous
    }

    /// `<auth mechanism='ANONYMOUS'/>` without text succeeds at once (what Strophe.js and
    /// other XMPP clients expect) instead of asking for trace data.
    fn initial(&mut self, initial_response: Option<&[u8]>) -> Result<Step, SaslError> {
        match initial_response {
            Some(data) => self.step(data),
            None if self.done => Err(SaslError::finished()),
            None => {
                self.done = true;
                Ok(AnonymousServer::succeed(None))
            }
        }
    }

    fn step(&mut self, input: &[u8]) -> Result<Step, SaslError> {
        if std::mem::replace(&mut self.done, true) {
            return Err(SaslError::finished());
        }
        check_len(input)?;
        if input.is_empty() {
            return Ok(AnonymousServer::succeed(None));
        }
        let trace = std::str::from_utf8(input)
            .map_err(|_| SaslError::malformed("ANONYMOUS: trace is not UTF-8"))?;
        if trace.chars().count() > MAX_TRACE_CHARS {
            return Err(SaslError::malformed(format!(
                "ANONYMOUS: trace longer than {MAX_TRACE_CHARS} characters"
            )));
        }
        if trace.chars().any(char::is_control) {
            return Err(SaslError::malformed(
                "ANONYMOUS: trace contains control characters",
            ));
        }
        Ok(AnonymousServer::succeed(Some(trace.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SaslCondition;

    #[test]
    fn anonymous_table() {
        let long = "x".repeat(MAX_TRACE_CHARS + 1);
        let max = "é".repeat(MAX_TRACE_CHARS);
        let ok = |t: Option<&str>| {
            Ok(Step::Success {
                additional_data: None,
                identity: Authenticated::Anonymous {
                    trace: t.map(str::to_owned),
                },
            })
        };
        type Case<'a> = (Option<&'a [u8]>, Result<Step, SaslCondition>);
        let cases: Vec<Case<'_>> = vec![
            (None, ok(None)),
            (Some(b""), ok(None)),
            (Some(b"sirhc"), ok(Some("sirhc"))),
            (Some(b"user@example.com"), ok(Some("user@example.com"))),
            (Some(max.as_bytes()), ok(Some(&max))),
            (Some(long.as_bytes()), Err(SaslCondition::MalformedRequest)),
            (Some(b"\xff"), Err(SaslCondition::MalformedRequest)),
            (Some(b"a\nb"), Err(SaslCondition::MalformedRequest)),
        ];
        for (input, want) in cases {
            let got = AnonymousServer::new()
                .initial(input)
                .map_err(|e| e.condition());
            assert_eq!(got, want, "{input:?}");
        }
    }

    #[test]
    fn only_one_message() {
        let mut m = AnonymousServer::new();
        assert!(m.initial(None).is_ok());
        assert!(m.step(b"").is_err());
        assert!(m.initial(None).is_err());
        assert!(m.provide_credentials(None).is_err());
    }
}
