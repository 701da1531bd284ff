//! XMPP over WebSocket (RFC 7395) at `/xmpp-websocket`: the `xmpp` sub-protocol, one
//! complete element per text message, `<open/>`/`<close/>` in the framing namespace.
//!
//! One task per connection selects, like the TCP transport, on the kill token, shutdown,
//! the negotiation deadline, a ping timer, incoming messages and (once bound) `recv_many`
//! on the bounded mailbox; every queued stanza is written as its own message and the whole
//! batch is flushed once.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use rookery_c2s::Input;
use rookery_proto::{Limits, StreamErrorCondition, StreamEvent, StreamParser, ns};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::HttpService;
use super::cors::websocket_origin_allowed;
use super::framed::{FramedSession, Out, header};
use super::params::TransportParams;
use crate::metrics::{ConnectionGuard, Transport};
use crate::session::stream_management;

/// The RFC 7395 sub-protocol name.
const SUBPROTOCOL: &str = "xmpp";

/// How far past the configured frame limit the WebSocket layer itself buffers before it
/// drops the connection; up to that, an oversized message gets a proper stream error.
const HARD_LIMIT_FACTOR: usize = 4;

/// `GET /xmpp-websocket`.
pub(super) async fn upgrade(
    State(svc): State<HttpService>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, rejection::WebSocketUpgradeRejection>,
) -> Response {
    start(svc, TransportParams::from_query(&query, None), headers, ws)
}

/// `GET /<tenant>/xmpp-websocket`.
pub(super) async fn upgrade_tenant(
    State(svc): State<HttpService>,
    Path(tenant): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, rejection::WebSocketUpgradeRejection>,
) -> Response {
    start(
        svc,
        TransportParams::from_query(&query, Some(tenant)),
        headers,
        ws,
    )
}

fn refuse(svc: &HttpService, status: StatusCode, text: &'static str) -> Response {
    svc.core
        .metrics
        .websocket_refused
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    (status, text).into_response()
}

fn start(
    svc: HttpService,
    params: TransportParams,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(ws) = ws else {
        return refuse(
            &svc,
            StatusCode::BAD_REQUEST,
            "this endpoint speaks XMPP over WebSocket (RFC 7395): send a WebSocket upgrade with the 'xmpp' sub-protocol\n",
        );
    };
    if !websocket_origin_allowed(&svc.config.cross_domain_websocket, &headers) {
        return refuse(
            &svc,
            StatusCode::FORBIDDEN,
            "WebSocket connections from this origin are not allowed (cross_domain_websocket)\n",
        );
    }
    if !ws
        .requested_protocols()
        .any(|p| p.as_bytes().eq_ignore_ascii_case(SUBPROTOCOL.as_bytes()))
    {
        return refuse(
            &svc,
            StatusCode::BAD_REQUEST,
            "the WebSocket sub-protocol 'xmpp' is required (RFC 7395)\n",
        );
    }
    let hard = svc
        .config
        .websocket_frame_limit
        .saturating_mul(HARD_LIMIT_FACTOR);
    let span = tracing::info_span!("websocket");
    ws.protocols([SUBPROTOCOL])
        .max_message_size(hard)
        .max_frame_size(hard)
        .on_upgrade(move |socket| run(svc, params, socket).instrument(span))
}

/// Turns one text message into a session input, or ends the stream.
fn on_text(conn: &mut FramedSession, text: &str, frame_limit: usize, limits: Limits) {
    if text.len() > frame_limit {
        return conn.error(
            StreamErrorCondition::PolicyViolation,
            &format!("WebSocket message larger than {frame_limit} bytes"),
        );
    }
    let mut parser = StreamParser::new_fragments(limits, ns::CLIENT);
    parser.feed(text.as_bytes());
    let el = match parser.next_event() {
        Ok(Some(StreamEvent::Element(el))) => el,
        Ok(None) if text.trim().is_empty() => return,
        Ok(_) => {
            return conn.error(
                StreamErrorCondition::NotWellFormed,
                "a WebSocket message must hold one complete XML element (RFC 7395)",
            );
        }
        Err(e) => return conn.error(e.condition(), &e.text()),
    };
    match parser.next_event() {
        Ok(None) if parser.is_idle() => {}
        Err(e) => return conn.error(e.condition(), &e.text()),
        _ => {
            return conn.error(
                StreamErrorCondition::NotWellFormed,
                "a WebSocket message must hold exactly one XML element (RFC 7395)",
            );
        }
    }
    let input = if el.is("open", ns::FRAMING) {
        Input::Open(header(
            el.attr("to"),
            el.attr("version"),
            el.attr("xml:lang"),
        ))
    } else if el.is("close", ns::FRAMING) {
        Input::Close
    } else {
        Input::Element(el)
    };
    conn.input(input);
}

fn open_frame(id: &str, from: &str) -> String {
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(b"<open xmlns=\"urn:ietf:params:xml:ns:xmpp-framing\" from=\"");
    rookery_proto::serialize::escape_attr(&mut out, from);
    out.extend_from_slice(b"\" id=\"");
    rookery_proto::serialize::escape_attr(&mut out, id);
    out.extend_from_slice(b"\" version=\"1.0\" xml:lang=\"en\"/>");
    text_of(out)
}

const CLOSE_FRAME: &str = "<close xmlns=\"urn:ietf:params:xml:ns:xmpp-framing\"/>";

fn text_of(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The WebSocket messages for a batch of output; true when the batch ends the stream.
fn frames(outs: Vec<Out>, msgs: &mut Vec<Message>) -> bool {
    for out in outs {
        match out {
            Out::Open { id, from } => msgs.push(Message::Text(open_frame(&id, &from).into())),
            Out::Element(bytes) => msgs.push(Message::Text(text_of(bytes).into())),
            Out::Close(err) => {
                if let Some(err) = err {
                    msgs.push(Message::Text(text_of(err).into()));
                }
                msgs.push(Message::Text(CLOSE_FRAME.into()));
                msgs.push(Message::Close(Some(CloseFrame {
                    code: 1000,
                    reason: "".into(),
                })));
                return true;
            }
        }
    }
    false
}

/// Writes every message and flushes once; false when the socket failed or the session was
/// killed meanwhile.
async fn write_all(socket: &mut WebSocket, msgs: Vec<Message>, kill: &CancellationToken) -> bool {
    let write = async {
        for m in msgs {
            socket.feed(m).await?;
        }
        socket.flush().await
    };
    tokio::select! {
        r = write => r.is_ok(),
        _ = kill.cancelled() => false,
    }
}

/// Classifies a WebSocket read error: the stream error to send, if the socket is still
/// usable for one.
fn read_error(e: &axum::Error) -> Option<(StreamErrorCondition, &'static str)> {
    let text = e.to_string();
    if text.contains("UTF-8") {
        Some((
            StreamErrorCondition::UnsupportedEncoding,
            "WebSocket text messages must be UTF-8",
        ))
    } else if text.contains("Space limit") || text.contains("too long") {
        Some((
            StreamErrorCondition::PolicyViolation,
            "WebSocket message too large",
        ))
    } else {
        None
    }
}

async fn run(svc: HttpService, params: TransportParams, mut socket: WebSocket) {
    let _guard = ConnectionGuard::open(&svc.core, Transport::WebSocket);
    let core = svc.core.clone();
    let (tx, mut rx) = mpsc::channel(core.config.c2s_send_queue);
    let mut kill = CancellationToken::new();
    let mut conn =
        FramedSession::open(core.clone(), Transport::WebSocket, params, tx, kill.clone());
    let frame_limit = svc.config.websocket_frame_limit;
    let deadline = Instant::now() + Duration::from_secs(core.config.c2s_negotiation_timeout);
    let ping_every = Duration::from_secs(svc.config.websocket_ping_interval.max(1));
    let pings = svc.config.websocket_ping_interval > 0;
    let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    let mut last_heard = Instant::now();
    let mut batch = Vec::with_capacity(64);
    let mut msgs = Vec::with_capacity(64);
    let mut last_words = None;
    let mut ack_timer = stream_management::ack_timer();
    let mut takeover = None;
    loop {
        let bound = conn.is_bound();
        let managed = conn.sm_active();
        let mut flush_limit = None;
        tokio::select! {
            biased;
            _ = kill.cancelled() => {
                conn.error(StreamErrorCondition::PolicyViolation, "too many stanzas queued for this client: it does not read");
                flush_limit = Some(Duration::from_millis(100));
            }
            _ = core.shutdown.cancelled() => {
                conn.error(StreamErrorCondition::SystemShutdown, "the server is shutting down");
                flush_limit = Some(Duration::from_millis(500));
            }
            t = conn.next_takeover() => {
                tracing::debug!("another connection resumed this session");
                takeover = Some(t);
                break;
            }
            _ = tokio::time::sleep_until(deadline), if !bound => {
                conn.error(StreamErrorCondition::ConnectionTimeout, "authentication and resource binding took too long");
            }
            _ = ping.tick(), if pings => {
                if last_heard.elapsed() > ping_every * 2 {
                    conn.lost(StreamErrorCondition::ConnectionTimeout, "the client stopped answering pings");
                } else {
                    msgs.push(Message::Ping(bytes::Bytes::from_static(b"rookery")));
                }
            }
            msg = socket.recv() => {
                last_heard = Instant::now();
                match msg {
                    None => break,
                    Some(Err(e)) => {
                        tracing::debug!("websocket read failed: {e}");
                        match read_error(&e) {
                            Some((cond, text)) => {
                                conn.error(cond, text);
                                flush_limit = Some(Duration::from_millis(200));
                            }
                            None => break,
                        }
                    }
                    Some(Ok(Message::Text(t))) => on_text(&mut conn, t.as_str(), frame_limit, core.limits),
                    Some(Ok(Message::Binary(_))) => conn.error(StreamErrorCondition::UnsupportedEncoding, "XMPP travels in UTF-8 text messages (RFC 7395), not binary ones"),
                    Some(Ok(Message::Close(_))) => break,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                }
            }
            n = rx.recv_many(&mut batch, 256), if bound => {
                if n == 0 { break; }
                for item in batch.drain(..) {
                    conn.deliver(item);
                }
            }
            _ = ack_timer.tick(), if managed => conn.ack_tick(),
        }
        if conn.token_pending() {
            conn.settle_token().await;
        }
        if conn.resume_pending() {
            conn.settle_resume().await;
            if let Some((new_rx, new_kill)) = conn.take_adopted() {
                rx = new_rx;
                kill = new_kill;
            }
        }
        let ended = frames(conn.take_out(), &mut msgs);
        if ended {
            last_words = Some((std::mem::take(&mut msgs), flush_limit));
            break;
        }
        if !msgs.is_empty() {
            let wrote = tokio::select! {
                wrote = write_all(&mut socket, std::mem::take(&mut msgs), &kill) => wrote,
                // A peer that stopped reading must not keep its session from resuming
                // elsewhere; what was not written is in the unacknowledged queue.
                t = conn.next_takeover() => {
                    takeover = Some(t);
                    false
                }
            };
            if !wrote {
                break;
            }
        }
        if msgs.capacity() > 1024 {
            msgs = Vec::new();
        }
    }
    // Unbind (or hibernate, or hand over) before the last words go out: once the client
    // sees <close/>, nothing more is routed to this connection.
    let ending = conn.ending();
    conn.finish(rx, ending, takeover);
    drop(conn);
    let Some((msgs, flush_limit)) = last_words else {
        return;
    };
    // Written even though the kill token may have fired, but bounded in time.
    let limit = flush_limit.unwrap_or(Duration::from_secs(5));
    let wrote = tokio::time::timeout(
        limit,
        write_all(&mut socket, msgs, &CancellationToken::new()),
    )
    .await
    .unwrap_or(false);
    if wrote && flush_limit.is_none() {
        // Let the client answer the close handshake, briefly.
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while let Some(Ok(m)) = socket.recv().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}
