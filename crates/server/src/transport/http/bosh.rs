//! The `/http-bind` endpoint: checks the HTTP envelope (method, content type, size),
//! parses the `<body/>`, creates sessions and hands every later request to its session's
//! task, then waits for that task's answer (a long poll).

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dashmap::DashMap;
use rookery_proto::Limits;
use tokio::sync::{mpsc, oneshot};

use super::HttpService;
use super::bosh_body::{self, BodyError, Condition};
use super::bosh_negotiate::Negotiated;
use super::bosh_session::{self, Request};
use super::cors::add_bosh_cors;
use super::params::TransportParams;

/// Requests queued for one session task beyond which the client is overactive.
const SESSION_INBOX: usize = 16;

/// The live BOSH sessions: sid → the channel into the session's task.
#[derive(Debug, Default)]
pub(super) struct Registry {
    sessions: DashMap<String, mpsc::Sender<Request>>,
}

impl Registry {
    /// Live sessions.
    pub(super) fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Forgets a session (its task ended).
    pub(super) fn remove(&self, sid: &str) {
        self.sessions.remove(sid);
    }
}

/// `/http-bind`.
pub(super) async fn handle(
    State(svc): State<HttpService>,
    Query(query): Query<HashMap<String, String>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = TransportParams::from_query(&query, None);
    respond(
        &svc,
        &headers,
        dispatch(&svc, params, method, &headers, body).await,
    )
}

/// `/<tenant>/http-bind`.
pub(super) async fn handle_tenant(
    State(svc): State<HttpService>,
    Path(tenant): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = TransportParams::from_query(&query, Some(tenant));
    respond(
        &svc,
        &headers,
        dispatch(&svc, params, method, &headers, body).await,
    )
}

/// What a request gets back, before CORS headers.
enum Reply {
    /// A BOSH body (HTTP 200 unless the envelope was wrong).
    Body(StatusCode, Bytes),
    /// A plain-text answer (GET, OPTIONS, wrong method).
    Text(StatusCode, &'static str),
}

fn respond(svc: &HttpService, request: &HeaderMap, reply: Reply) -> Response {
    let mut resp = match reply {
        Reply::Body(status, body) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/xml; charset=utf-8"),
            )],
            body,
        )
            .into_response(),
        Reply::Text(status, text) => (status, text).into_response(),
    };
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    add_bosh_cors(&svc.config.cross_domain_bosh, request, resp.headers_mut());
    resp
}

fn error(svc: &HttpService, status: StatusCode, cond: Condition) -> Reply {
    svc.core
        .metrics
        .bosh_request_errors
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Reply::Body(status, Bytes::from(bosh_body::terminate(Some(cond), b"")))
}

/// Content types a BOSH client may use for its bodies (none at all is accepted too).
fn content_type_ok(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(ct) = ct.to_str() else { return false };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    matches!(
        mime.as_str(),
        "text/xml" | "application/xml" | "text/plain" | ""
    )
}

async fn dispatch(
    svc: &HttpService,
    params: TransportParams,
    method: Method,
    headers: &HeaderMap,
    body: Bytes,
) -> Reply {
    match method {
        Method::POST => {}
        Method::OPTIONS => return Reply::Text(StatusCode::OK, ""),
        Method::GET | Method::HEAD => {
            return Reply::Text(
                StatusCode::OK,
                "Rookery BOSH endpoint (XEP-0124/0206): POST <body/> elements here.\n",
            );
        }
        _ => return Reply::Text(StatusCode::METHOD_NOT_ALLOWED, "use POST\n"),
    }
    if !content_type_ok(headers) {
        return error(
            svc,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Condition::BadRequest,
        );
    }
    let limits = Limits {
        max_stanza_bytes: svc.config.bosh_body_limit,
        max_depth: svc.core.limits.max_depth + 1,
    };
    let body = match bosh_body::parse(&body, limits) {
        Ok(b) => b,
        Err(e) => {
            tracing::debug!("BOSH request refused: {e}");
            let status = match e {
                BodyError::Xml(_) | BodyError::NotBody(_) => StatusCode::BAD_REQUEST,
                BodyError::Attribute(_) => StatusCode::OK,
            };
            return error(svc, status, Condition::BadRequest);
        }
    };
    let (reply, answer) = oneshot::channel();
    let wait = match body.sid() {
        None => {
            let neg = match Negotiated::from_request(&svc.config, &body) {
                Ok(n) => n,
                Err(c) => return error(svc, StatusCode::OK, c),
            };
            if body.attr("to").map(str::is_empty).unwrap_or(true) {
                return error(svc, StatusCode::OK, Condition::BadRequest);
            }
            let sid = uuid::Uuid::new_v4().simple().to_string();
            let (tx, rx) = mpsc::channel(SESSION_INBOX);
            svc.bosh.sessions.insert(sid.clone(), tx);
            bosh_session::spawn(svc.clone(), sid, neg, params, Request { body, reply }, rx);
            neg.wait
        }
        Some(sid) => {
            let Some(tx) = svc.bosh.sessions.get(sid).map(|t| t.clone()) else {
                return error(svc, StatusCode::OK, Condition::ItemNotFound);
            };
            match tx.try_send(Request { body, reply }) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    return error(svc, StatusCode::OK, Condition::PolicyViolation);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    return error(svc, StatusCode::OK, Condition::ItemNotFound);
                }
            }
            svc.config.bosh_max_wait
        }
    };
    // The session answers within `wait`; the margin only guards against a lost task.
    match tokio::time::timeout(Duration::from_secs(wait + 30), answer).await {
        Ok(Ok(bytes)) => Reply::Body(StatusCode::OK, bytes),
        _ => error(svc, StatusCode::OK, Condition::ItemNotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let cases = [
            (None, true),
            (Some("text/xml; charset=utf-8"), true),
            (Some("application/xml"), true),
            (Some("TEXT/XML"), true),
            (Some("text/plain;charset=UTF-8"), true),
            (Some("application/json"), false),
            (Some("multipart/form-data; boundary=x"), false),
        ];
        for (ct, want) in cases {
            let mut h = HeaderMap::new();
            if let Some(ct) = ct {
                h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            }
            assert_eq!(content_type_ok(&h), want, "{ct:?}");
        }
    }
}
