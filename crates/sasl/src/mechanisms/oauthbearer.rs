//! OAUTHBEARER (RFC 7628), framing only: the token is handed to the caller, who verifies
//! it (the JWT module) and answers with a [`TokenVerdict`].
//!
//! Client message: `gs2-header %x01 *(key "=" value %x01) %x01`, e.g.
//! `n,a=user@example.com,\x01host=example.com\x01auth=Bearer <token>\x01\x01`.
//! On rejection the server sends the JSON error challenge `{"status":"invalid_token"}`,
//! the client answers `%x01`, and the exchange fails (RFC 7628 §3.2.3) with `not-allowed`
//! and the reason text, as Jitsi clients expect of token refusals.

use std::fmt;

use crate::error::{SaslCondition, SaslError};
use crate::mechanism::Mechanism;
use crate::mechanisms::gs2::{Gs2Error, split_gs2_header};
use crate::step::{Authenticated, ServerMechanism, Step, TokenRequest, TokenVerdict, check_len};

const KVSEP: char = '\u{1}';

enum State {
    AwaitMessage,
    AwaitVerdict { authzid: Option<String> },
    AwaitErrorAck { text: String },
    Done,
}

/// Server side of OAUTHBEARER.
pub struct OAuthBearerServer {
    state: State,
}

impl Default for OAuthBearerServer {
    fn default() -> Self {
        OAuthBearerServer::new()
    }
}

impl OAuthBearerServer {
    /// A fresh OAUTHBEARER exchange.
    pub fn new() -> OAuthBearerServer {
        OAuthBearerServer {
            state: State::AwaitMessage,
        }
    }
}

fn malformed(text: &str) -> SaslError {
    SaslError::malformed(format!("OAUTHBEARER: {text}"))
}

/// RFC 6750 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn valid_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// RFC 7628 `value`: `*(VCHAR / SP / HTAB / CR / LF)`.
fn valid_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| (0x21..=0x7e).contains(&b) || matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Parses the client's initial message into a token request.
fn parse(input: &[u8]) -> Result<TokenRequest, SaslError> {
    let text = std::str::from_utf8(input).map_err(|_| malformed("message is not UTF-8"))?;
    let (header, kv) = split_gs2_header(text).map_err(|e| match e {
        Gs2Error::Truncated => malformed("truncated GS2 header"),
        Gs2Error::ChannelBindingRequired => malformed("channel binding is not supported"),
        Gs2Error::BadFlag => malformed("invalid channel binding flag"),
        Gs2Error::BadAuthzid | Gs2Error::BadSaslname => malformed("invalid authzid in GS2 header"),
    })?;
    let authzid = header.authzid;
    let Some(body) = kv.strip_prefix(KVSEP) else {
        return Err(malformed("expected %x01 after the GS2 header"));
    };
    // body = *(kvpair %x01) %x01, so splitting on %x01 ends in two empty pieces.
    let pieces: Vec<&str> = body.split(KVSEP).collect();
    let Some((pairs, [last_pair_end, terminator])) = pieces.split_last_chunk::<2>() else {
        return Err(malformed("truncated message"));
    };
    if !last_pair_end.is_empty() || !terminator.is_empty() {
        return Err(malformed("message must end with %x01%x01"));
    }
    let mut request = TokenRequest {
        token: String::new(),
        authzid,
        host: None,
        port: None,
    };
    let mut seen_auth = false;
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(malformed("key/value pair without '='"));
        };
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphabetic()) || !valid_value(value) {
            return Err(malformed("invalid key/value pair"));
        }
        match key {
            "auth" if seen_auth => return Err(malformed("more than one auth= pair")),
            "auth" => {
                seen_auth = true;
                request.token = parse_auth_value(value)?;
            }
            "host" => request.host = Some(value.to_owned()),
            "port" => request.port = value.parse().ok(),
            _ => {}
        }
    }
    if !seen_auth {
        return Err(malformed("missing auth=Bearer <token>"));
    }
    Ok(request)
}

/// `auth=` value: `"Bearer" 1*SP b64token`, the scheme case-insensitive.
fn parse_auth_value(value: &str) -> Result<String, SaslError> {
    let Some((scheme, token)) = value.split_once(' ') else {
        return Err(malformed("auth= must be 'Bearer <token>'"));
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(malformed("only the Bearer scheme is supported"));
    }
    let token = token.trim_start_matches(' ');
    if !valid_b64token(token) {
        return Err(malformed("the bearer token has invalid characters"));
    }
    Ok(token.to_owned())
}

impl ServerMechanism for OAuthBearerServer {
    fn mechanism(&self) -> Mechanism {
        Mechanism::OAuthBearer
    }

    fn step(&mut self, input: &[u8]) -> Result<Step, SaslError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitMessage => {
                check_len(input)?;
                if input == [0x01] {
                    return Err(malformed("client aborted before sending a token"));
                }
                let request = parse(input)?;
                self.state = State::AwaitVerdict {
                    authzid: request.authzid.clone(),
                };
                Ok(Step::VerifyToken(request))
            }
            State::AwaitErrorAck { text } => {
                if input == [0x01] {
                    // Jitsi clients read token refusals as `not-allowed` with the reason text.
                    Err(SaslError::new(SaslCondition::NotAllowed, text))
                } else {
                    Err(malformed(
                        "expected %x01 in response to the error challenge",
                    ))
                }
            }
            State::AwaitVerdict { .. } => Err(SaslError::misuse(
                "OAUTHBEARER received a message while waiting for a token verdict",
            )),
            State::Done => Err(SaslError::finished()),
        }
    }

    fn token_verdict(&mut self, verdict: TokenVerdict) -> Result<Step, SaslError> {
        let State::AwaitVerdict { authzid } = std::mem::replace(&mut self.state, State::Done)
        else {
            return Err(SaslError::misuse(
                "OAUTHBEARER did not ask for a token verdict",
            ));
        };
        match verdict {
            TokenVerdict::Accepted => Ok(Step::Success {
                additional_data: None,
                identity: Authenticated::Bearer { authzid },
            }),
            TokenVerdict::Rejected { status, text } => {
                let challenge = format!("{{\"status\":\"{}\"}}", status.as_str());
                self.state = State::AwaitErrorAck { text };
                Ok(Step::Challenge(challenge.into_bytes()))
            }
        }
    }
}

impl fmt::Debug for OAuthBearerServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::AwaitMessage => "await-message",
            State::AwaitVerdict { .. } => "await-verdict",
            State::AwaitErrorAck { .. } => "await-error-ack",
            State::Done => "done",
        };
        f.debug_struct("OAuthBearerServer")
            .field("state", &state)
            .finish()
    }
}

#[cfg(test)]
#[path = "oauthbearer_tests.rs"]
mod tests;
