//! The TCP (and STARTTLS) transport: frames bytes into the sans-io session and carries out
//! its actions. One task per connection owns the socket, the parser, the session and the
//! mailbox; a write that blocks on a client that does not read is abandoned when the router
//! cancels the connection's kill token.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rookery_c2s::{Action, Input, Session, TransportInfo};
use rookery_proto::{StreamErrorCondition, StreamEvent, StreamParser, XmlError, ns, stream_error};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::core::Core;
use crate::session_driver::{BoundSession, CoreEnv, serialize_outgoing};

/// A client connection before or after STARTTLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Gone,
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Conn::Gone => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, data),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, data),
            Conn::Gone => Poll::Ready(Err(std::io::ErrorKind::NotConnected.into())),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Conn::Gone => Poll::Ready(Ok(())),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Conn::Gone => Poll::Ready(Ok(())),
        }
    }
}

/// Accepts connections until shutdown.
pub async fn accept_loop(
    core: Arc<Core>,
    tls: Arc<HashMap<String, TlsAcceptor>>,
    listener: tokio::net::TcpListener,
) {
    loop {
        tokio::select! {
            _ = core.shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok((tcp, peer)) => {
                    let _ = tcp.set_nodelay(true);
                    let core = core.clone();
                    let tls = tls.clone();
                    let span = tracing::info_span!("c2s", %peer);
                    tokio::spawn(async move { serve(core, tls, tcp, peer).await }.instrument(span));
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

fn stream_header(id: &str, from: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='");
    rookery_proto::serialize::escape_attr(&mut out, id);
    out.extend_from_slice(b"' from='");
    rookery_proto::serialize::escape_attr(&mut out, from);
    out.extend_from_slice(b"' version='1.0' xml:lang='en'>");
    out
}

struct Conversation {
    core: Arc<Core>,
    parser: StreamParser,
    session: Session,
    wbuf: Vec<u8>,
    header_sent: bool,
    closing: bool,
    start_tls: bool,
    bound: Option<BoundSession>,
    kill: CancellationToken,
    tx: mpsc::Sender<crate::router::Outgoing>,
    /// A token to verify before SASL can finish: `(host, token)`.
    pending_token: Option<(String, Option<String>)>,
    /// Claims of the token that authenticated this session, until bind.
    token_claims: Option<Arc<rookery_policy::TokenClaims>>,
}

impl Conversation {
    fn write_error(&mut self, cond: StreamErrorCondition, text: &str) {
        if !self.header_sent {
            let host = self
                .session
                .host()
                .map(|h| h.domain.clone())
                .unwrap_or_default();
            self.wbuf.extend_from_slice(&stream_header("error", &host));
            self.header_sent = true;
        }
        rookery_proto::serialize::write_element(
            &mut self.wbuf,
            &stream_error(cond, Some(text)),
            ns::CLIENT,
        );
        self.wbuf.extend_from_slice(b"</stream:stream>");
        self.closing = true;
    }

    fn run_actions(&mut self, actions: Vec<Action>) {
        for a in actions {
            if self.closing {
                return;
            }
            match a {
                Action::OpenStream { id, from } => {
                    self.wbuf.extend_from_slice(&stream_header(&id, &from));
                    self.header_sent = true;
                }
                Action::Send(el) => {
                    rookery_proto::serialize::write_element(&mut self.wbuf, &el, ns::CLIENT)
                }
                Action::StartTls => self.start_tls = true,
                Action::Restart => {
                    self.parser.reset();
                    self.header_sent = false;
                }
                Action::Authenticated {
                    domain,
                    username,
                    mechanism,
                } => {
                    tracing::info!(%domain, user = username.as_deref().unwrap_or("(anonymous)"), %mechanism, "authenticated");
                    let mut b = BoundSession::authenticated(&domain, username);
                    if let Some(claims) = self.token_claims.take() {
                        b.set_token_claims(claims);
                    }
                    self.bound = Some(b);
                }
                Action::VerifyToken { domain, token } => {
                    self.pending_token = Some((domain, token));
                }
                Action::Bind { resource, iq_id } => {
                    let Some(b) = self.bound.as_mut() else {
                        self.write_error(StreamErrorCondition::NotAuthorized, "not authenticated");
                        return;
                    };
                    let more =
                        match b.bind(&self.core, resource, self.tx.clone(), self.kill.clone()) {
                            Ok(jid) => self.session.bound(jid, &iq_id),
                            Err(e) => self.session.bind_failed(&iq_id, e),
                        };
                    self.run_actions(more);
                }
                Action::Route(el) => {
                    if let Some(b) = self.bound.as_mut() {
                        b.route(&self.core, el);
                    }
                }
                Action::Close(err) => {
                    match err {
                        Some((cond, text)) => self.write_error(cond, &text),
                        None => {
                            self.wbuf.extend_from_slice(b"</stream:stream>");
                            self.closing = true;
                        }
                    }
                    return;
                }
            }
        }
    }

    fn on_bytes(&mut self, data: &[u8]) {
        self.parser.feed(data);
        loop {
            if self.closing || self.start_tls {
                return;
            }
            match self.parser.next_event() {
                Ok(None) => return,
                Ok(Some(ev)) => {
                    let input = match ev {
                        StreamEvent::Open(h) => Input::Open(h),
                        StreamEvent::Element(el) => {
                            if let Some(b) = self.bound.as_mut()
                                && self.session.is_bound()
                                && el.ns == ns::SM
                            {
                                b.stream_management_unsupported(&mut self.wbuf, &el);
                                continue;
                            }
                            Input::Element(el)
                        }
                        StreamEvent::Close => Input::Close,
                    };
                    let env = CoreEnv(&self.core);
                    let actions = self.session.handle(&env, input);
                    self.run_actions(actions);
                }
                Err(e) => {
                    self.xml_error(e);
                    return;
                }
            }
        }
    }

    fn xml_error(&mut self, e: XmlError) {
        tracing::debug!("stream error: {e}");
        self.write_error(e.condition(), &e.text());
    }
}

async fn serve(
    core: Arc<Core>,
    tls: Arc<HashMap<String, TlsAcceptor>>,
    tcp: TcpStream,
    _peer: SocketAddr,
) {
    let mut conn = Conn::Plain(tcp);
    let (tx, mut rx) = mpsc::channel(core.config.c2s_send_queue);
    let kill = CancellationToken::new();
    let mut conv = Conversation {
        core: core.clone(),
        parser: StreamParser::new_stream(core.limits),
        session: Session::new(TransportInfo {
            starttls_available: true,
            encrypted: false,
            sm_available: false,
        }),
        wbuf: Vec::new(),
        header_sent: false,
        closing: false,
        start_tls: false,
        bound: None,
        kill: kill.clone(),
        tx,
        pending_token: None,
        token_claims: None,
    };
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(core.config.c2s_negotiation_timeout);
    let mut rbuf = vec![0u8; 4096];
    let mut batch = Vec::with_capacity(64);
    loop {
        let bound = conv.session.is_bound();
        tokio::select! {
            biased;
            _ = kill.cancelled() => {
                conv.write_error(StreamErrorCondition::PolicyViolation, "too many stanzas queued for this client: it does not read");
                let _ = tokio::time::timeout(Duration::from_millis(100), conn.write_all(&conv.wbuf)).await;
                break;
            }
            _ = core.shutdown.cancelled() => {
                conv.write_error(StreamErrorCondition::SystemShutdown, "the server is shutting down");
                let _ = tokio::time::timeout(Duration::from_millis(500), conn.write_all(&conv.wbuf)).await;
                break;
            }
            _ = tokio::time::sleep_until(deadline), if !bound => {
                conv.write_error(StreamErrorCondition::ConnectionTimeout, "authentication and resource binding took too long");
            }
            r = conn.read(&mut rbuf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => conv.on_bytes(rbuf.get(..n).unwrap_or_default()),
            },
            n = rx.recv_many(&mut batch, 256), if bound => {
                if n == 0 { break; }
                for item in batch.drain(..) {
                    if let Some((cond, text)) = serialize_outgoing(&mut conv.wbuf, item, ns::CLIENT) {
                        conv.write_error(cond, &text);
                    }
                }
            }
        }
        while let Some((domain, token)) = conv.pending_token.take() {
            let verdict =
                crate::session_driver::verify_session_token(&core, &domain, token.as_deref()).await;
            let verdict = verdict.map(|claims| {
                conv.token_claims = claims;
            });
            let more = conv.session.token_verdict(verdict);
            conv.run_actions(more);
        }
        if !conv.wbuf.is_empty() {
            let wrote = tokio::select! {
                r = conn.write_all(&conv.wbuf) => r.is_ok(),
                _ = kill.cancelled() => false,
            };
            conv.wbuf.clear();
            if conv.wbuf.capacity() > 64 * 1024 {
                conv.wbuf = Vec::new();
            }
            if !wrote {
                break;
            }
        }
        if conv.closing {
            let _ = tokio::time::timeout(Duration::from_millis(200), conn.shutdown()).await;
            break;
        }
        if conv.start_tls {
            conv.start_tls = false;
            let domain = conv
                .session
                .host()
                .map(|h| h.domain.clone())
                .unwrap_or_default();
            let Some(acceptor) = tls.get(&domain).cloned() else {
                break;
            };
            let Conn::Plain(tcp) = std::mem::replace(&mut conn, Conn::Gone) else {
                break;
            };
            match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                Ok(Ok(s)) => {
                    conn = Conn::Tls(Box::new(s));
                    conv.parser.reset();
                    conv.header_sent = false;
                    conv.session.tls_established();
                }
                _ => {
                    tracing::debug!("TLS handshake failed");
                    break;
                }
            }
        }
    }
    if let Some(b) = conv.bound.take() {
        b.end(&core);
    }
}
