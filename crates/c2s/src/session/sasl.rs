//! SASL in the session: starting an exchange, answering the mechanism's questions
//! (credentials from the store, token verdicts from the server), success and failure. A
//! login ends in [`Action::Authenticated`] with the [`LoginIdentity`] it established: a token
//! session gets its claims only from [`Session::token_verdict`].

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rookery_policy::TokenClaims;
use rookery_proto::{Element, StreamErrorCondition, ns};
use rookery_sasl::{
    Authenticated, Mechanism, SaslError, SaslServer, ServerMechanism, Step, TokenVerdict,
};

use super::{Action, Env, Phase, Session, State};
use crate::host::{HostAuth, HostPolicy};

/// Who a session authenticated as, from the SASL step to the room hooks.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginIdentity {
    /// A stored account (PLAIN, SCRAM).
    Account {
        /// The account's localpart.
        username: String,
    },
    /// An anonymous login, or a tokenless guest on a token host that allows it.
    Guest,
    /// A verified JWT: the claims the host requires are present by construction.
    Token(Arc<TokenClaims>),
}

/// The server's answer to [`Action::VerifyToken`] when the session may log in.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenGrant {
    /// The token verified; its claims.
    Verified(Arc<TokenClaims>),
    /// No token, and the host lets tokenless sessions in as guests.
    Guest,
}

impl From<TokenGrant> for LoginIdentity {
    fn from(grant: TokenGrant) -> Self {
        match grant {
            TokenGrant::Verified(claims) => LoginIdentity::Token(claims),
            TokenGrant::Guest => LoginIdentity::Guest,
        }
    }
}

/// SASL attempts allowed on one stream before it is closed.
const MAX_SASL_FAILURES: u32 = 5;

pub(super) fn sasl_el(name: &str) -> Element {
    Element::new(name, ns::SASL)
}

pub(super) fn failure(err: &SaslError) -> Element {
    let mut f = sasl_el("failure").with_child(sasl_el(err.condition().as_str()));
    if !err.text().is_empty() {
        f.push_child(
            // A bare <text/> (no xml:lang): lib-jitsi-meet reads the reason with a regular
            // expression over the raw bytes that expects exactly `<not-allowed/><text>`.
            sasl_el("text").with_text(err.text()),
        );
    }
    f
}

fn b64_payload(data: &[u8]) -> String {
    if data.is_empty() {
        "=".to_owned()
    } else {
        B64.encode(data)
    }
}

fn decode_payload(el: &Element) -> Result<Option<Vec<u8>>, SaslError> {
    let text = el.text();
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text == "=" {
        return Ok(Some(Vec::new()));
    }
    B64.decode(text).map(Some).map_err(|_| {
        SaslError::new(
            rookery_sasl::SaslCondition::IncorrectEncoding,
            "payload is not valid base64",
        )
    })
}

impl Session {
    pub(super) fn on_auth(
        &mut self,
        env: &dyn Env,
        host: &Arc<HostPolicy>,
        el: Element,
        out: &mut Vec<Action>,
    ) {
        let name = el.attr("mechanism").unwrap_or_default();
        let offered = host.mechanisms(self.transport.kind, self.transport.encrypted);
        let mech = match Mechanism::from_name(name) {
            Some(m) if offered.contains(&m) => m,
            Some(m)
                if m.sends_secret_in_clear()
                    && host.mechanisms(self.transport.kind, true).contains(&m) =>
            {
                return self.sasl_fail(
                    out,
                    SaslError::new(
                        rookery_sasl::SaslCondition::EncryptionRequired,
                        format!("{name} needs an encrypted stream"),
                    ),
                );
            }
            _ => {
                return self.sasl_fail(
                    out,
                    SaslError::new(
                        rookery_sasl::SaslCondition::InvalidMechanism,
                        format!("mechanism '{name}' is not offered"),
                    ),
                );
            }
        };
        if host.require_encryption && !self.transport.encrypted {
            return self.sasl_fail(
                out,
                SaslError::new(
                    rookery_sasl::SaslCondition::EncryptionRequired,
                    "encrypt the stream first",
                ),
            );
        }
        let machine = Box::new(SaslServer::new(mech, &host.domain));
        let payload = match decode_payload(&el) {
            Ok(p) => p,
            Err(e) => return self.sasl_fail(out, e),
        };
        let mut machine = machine;
        let step = machine.initial(payload.as_deref());
        self.after_step(Some(env), machine, step, out);
    }

    pub(super) fn on_sasl_step(
        &mut self,
        env: &dyn Env,
        mut mech: Box<SaslServer>,
        el: Element,
        out: &mut Vec<Action>,
    ) {
        if el.is("abort", ns::SASL) {
            self.state = State::Features;
            out.push(Action::Send(failure(&SaslError::new(
                rookery_sasl::SaslCondition::Aborted,
                "aborted by the client",
            ))));
            return;
        }
        if !el.is("response", ns::SASL) {
            self.state = State::Features;
            return self.sasl_fail(out, SaslError::malformed("expected <response/>"));
        }
        let data = match decode_payload(&el) {
            Ok(d) => d.unwrap_or_default(),
            Err(e) => {
                self.state = State::Features;
                return self.sasl_fail(out, e);
            }
        };
        let step = mech.step(&data);
        self.after_step(Some(env), mech, step, out);
    }

    pub(super) fn after_step(
        &mut self,
        env: Option<&dyn Env>,
        mut mech: Box<SaslServer>,
        mut step: Result<Step, SaslError>,
        out: &mut Vec<Action>,
    ) {
        let Some(host) = self.host.clone() else {
            return self.close(out, StreamErrorCondition::HostUnknown, "no host");
        };
        // Answer credential questions synchronously (the store is local).
        for _ in 0..4 {
            match step {
                Ok(Step::NeedCredentials(req)) => {
                    let looked_up = match env {
                        Some(env) => env.credentials(&host.domain, &req.username, req.hash),
                        None => Err("no account store at this step".to_owned()),
                    };
                    let creds = match looked_up {
                        Ok(c) => c,
                        Err(e) => {
                            self.state = State::Features;
                            return self.sasl_fail(
                                out,
                                SaslError::new(
                                    rookery_sasl::SaslCondition::TemporaryAuthFailure,
                                    format!("account store unavailable: {e}"),
                                ),
                            );
                        }
                    };
                    step = mech.provide_credentials(creds);
                }
                _ => break,
            }
        }
        match step {
            Ok(Step::Challenge(data)) => {
                out.push(Action::Send(
                    sasl_el("challenge").with_text(b64_payload(&data)),
                ));
                self.state = State::Sasl(mech);
            }
            Ok(Step::VerifyToken(req)) => {
                out.push(Action::VerifyToken {
                    domain: host.domain.clone(),
                    token: Some(req.token),
                });
                self.state = State::AwaitToken(mech, None);
            }
            Ok(Step::Success {
                additional_data,
                identity,
            }) => {
                if matches!(host.auth, HostAuth::Token { .. })
                    && matches!(identity, Authenticated::Anonymous { .. })
                {
                    // ANONYMOUS on a token host succeeds only if the transport's token does.
                    out.push(Action::VerifyToken {
                        domain: host.domain.clone(),
                        token: self.transport_token.clone(),
                    });
                    self.state = State::AwaitToken(mech, additional_data);
                    return;
                }
                let identity = match identity {
                    Authenticated::Account { username } => LoginIdentity::Account { username },
                    Authenticated::Anonymous { .. } => LoginIdentity::Guest,
                    // A bearer login succeeds only through `token_verdict`, which carries
                    // the claims; anything else is a bug, refused rather than let in.
                    Authenticated::Bearer { .. } => {
                        self.state = State::Features;
                        return self.sasl_fail(
                            out,
                            SaslError::new(
                                rookery_sasl::SaslCondition::TemporaryAuthFailure,
                                "bearer login without a verified token",
                            ),
                        );
                    }
                };
                self.succeed(&host, mech.mechanism(), identity, additional_data, out);
            }
            Ok(Step::NeedCredentials(_)) => {
                self.state = State::Features;
                self.sasl_fail(
                    out,
                    SaslError::new(
                        rookery_sasl::SaslCondition::TemporaryAuthFailure,
                        "credential lookup loop",
                    ),
                );
            }
            Err(e) => {
                self.state = State::Features;
                self.sasl_fail(out, e);
            }
        }
    }

    fn succeed(
        &mut self,
        host: &HostPolicy,
        mechanism: Mechanism,
        identity: LoginIdentity,
        additional: Option<Vec<u8>>,
        out: &mut Vec<Action>,
    ) {
        let username = match &identity {
            LoginIdentity::Account { username } => Some(username.clone()),
            _ => None,
        };
        let mut success = sasl_el("success");
        if let Some(d) = additional {
            success
                .nodes
                .push(rookery_proto::Node::Text(b64_payload(&d)));
        }
        out.push(Action::Send(success));
        out.push(Action::Authenticated {
            domain: host.domain.clone(),
            identity,
            mechanism,
        });
        out.push(Action::Restart);
        self.username = username;
        self.phase = Phase::Authed;
        self.state = State::AwaitOpen;
    }

    /// The answer to [`Action::VerifyToken`]: the grant (verified claims, or a tokenless
    /// guest) when the session may log in, `Err(reason)` otherwise (the reason goes to the
    /// client in the SASL failure text). The grant becomes the identity of
    /// [`Action::Authenticated`]; nothing else can make a token session.
    pub fn token_verdict(&mut self, verdict: Result<TokenGrant, String>) -> Vec<Action> {
        let mut out = Vec::new();
        let state = std::mem::replace(&mut self.state, State::Features);
        let State::AwaitToken(mut mech, additional) = state else {
            self.state = state;
            return out;
        };
        let Some(host) = self.host.clone() else {
            self.close(&mut out, StreamErrorCondition::HostUnknown, "no host");
            return out;
        };
        let grant = match verdict {
            Ok(grant) => grant,
            Err(text) if mech.mechanism() == Mechanism::OAuthBearer => {
                // RFC 7628: the refusal is an error challenge the client acknowledges.
                let step = mech.token_verdict(TokenVerdict::Rejected {
                    status: rookery_sasl::BearerStatus::InvalidToken,
                    text,
                });
                self.after_step(None, mech, step, &mut out);
                return out;
            }
            Err(text) => {
                self.sasl_fail(
                    &mut out,
                    SaslError::new(rookery_sasl::SaslCondition::NotAllowed, text),
                );
                return out;
            }
        };
        let additional = if mech.mechanism() == Mechanism::OAuthBearer {
            match mech.token_verdict(TokenVerdict::Accepted) {
                Ok(Step::Success {
                    additional_data, ..
                }) => additional_data,
                other => {
                    self.after_step(None, mech, other, &mut out);
                    return out;
                }
            }
        } else {
            additional
        };
        self.succeed(&host, mech.mechanism(), grant.into(), additional, &mut out);
        out
    }

    pub(super) fn sasl_fail(&mut self, out: &mut Vec<Action>, err: SaslError) {
        out.push(Action::Send(failure(&err)));
        self.sasl_failures += 1;
        if self.sasl_failures >= MAX_SASL_FAILURES {
            self.close(
                out,
                StreamErrorCondition::PolicyViolation,
                "too many failed authentication attempts",
            );
        } else if matches!(self.state, State::Closed | State::Sasl(_)) {
            self.state = State::Features;
        }
    }
}
