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

use rookery_c2s::{Action, Input, Session, TransportInfo, TransportKind, sm};
use rookery_proto::{
    Element, StreamErrorCondition, StreamEvent, StreamParser, XmlError, ns, stream_error,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::core::Core;
use crate::metrics::{ConnectionGuard, LocalKindCounts, Transport};
use crate::routing::table::Outgoing;
use crate::session::driver::{
    BoundSession, CoreEnv, on_authenticated, on_bind, on_enable_sm, write_outgoing,
};
use crate::session::stream_management::{self, Ending, Hibernated, Mailbox, SmLink};

mod resumption;

/// A client connection before or after STARTTLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Gone,
}

/// What a wait for input produced.
enum Readiness {
    /// A plain TCP socket became readable: read it with [`Conn::try_read_plain`].
    PlainReady(std::io::Result<()>),
    /// Bytes read through TLS into the connection's TLS buffer.
    Tls(std::io::Result<usize>),
}

impl Conn {
    /// Waits for input without holding a read buffer on plain TCP: an idle connection
    /// keeps no buffer at all (TLS keeps rustls's own plus `tls_buf`).
    async fn wait_input(&mut self, tls_buf: &mut [u8]) -> Readiness {
        match self {
            Conn::Plain(s) => Readiness::PlainReady(s.readable().await),
            Conn::Tls(s) => Readiness::Tls(s.read(tls_buf).await),
            Conn::Gone => std::future::pending().await,
        }
    }

    /// Reads what a readable plain socket holds into `buf`.
    fn try_read_plain(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.try_read(buf),
            _ => Err(std::io::ErrorKind::WouldBlock.into()),
        }
    }
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
                    tokio::spawn(serve(core, tls, tcp, peer).instrument(span));
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
    tx: mpsc::Sender<Outgoing>,
    /// A token to verify before SASL can finish: `(host, token)`.
    pending_token: Option<(String, Option<String>)>,
    /// Stream management, once enabled or resumed.
    sm: Option<SmLink>,
    /// A `<resume/>` waiting for the old session: `(previd, h)`.
    pending_resume: Option<(String, u32)>,
    /// The mailbox and kill token of a resumed session, for the connection loop to adopt.
    adopted: Option<(mpsc::Receiver<Outgoing>, CancellationToken)>,
    /// Stanzas written since the last flush into the shared metrics (once per wakeup).
    out_counts: LocalKindCounts,
}

impl Conversation {
    fn write_error(&mut self, cond: StreamErrorCondition, text: &str) {
        self.write_error_element(&stream_error(cond, Some(text)));
    }

    fn write_error_element(&mut self, error: &Element) {
        if self.closing {
            return;
        }
        if !self.header_sent {
            let host = self
                .session
                .host()
                .map(|h| h.domain.clone())
                .unwrap_or_default();
            self.wbuf.extend_from_slice(&stream_header("error", &host));
            self.header_sent = true;
        }
        rookery_proto::serialize::write_element(&mut self.wbuf, error, ns::CLIENT);
        self.wbuf.extend_from_slice(b"</stream:stream>");
        self.closing = true;
        self.core.metrics.stream_error(Transport::Tcp);
    }

    fn send(&mut self, el: &Element) {
        rookery_proto::serialize::write_element(&mut self.wbuf, el, ns::CLIENT);
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
                    if !self.session.is_authenticated() {
                        self.core.metrics.observe_negotiation(&el);
                    }
                    self.send(&el);
                }
                Action::StartTls => self.start_tls = true,
                Action::Restart => {
                    self.parser.reset();
                    self.header_sent = false;
                }
                Action::Authenticated {
                    domain,
                    identity,
                    mechanism,
                } => {
                    tracing::info!(%domain, user = crate::session::driver::login_label(&identity), %mechanism, "authenticated");
                    self.bound = Some(on_authenticated(
                        &self.core,
                        Transport::Tcp,
                        &domain,
                        identity,
                        mechanism.as_str(),
                    ));
                }
                Action::VerifyToken { domain, token } => {
                    self.pending_token = Some((domain, token));
                }
                Action::Bind { resource, iq_id } => {
                    let Some(b) = self.bound.as_mut() else {
                        self.write_error(StreamErrorCondition::NotAuthorized, "not authenticated");
                        return;
                    };
                    let more = on_bind(
                        &self.core,
                        b,
                        &mut self.session,
                        resource,
                        &iq_id,
                        &self.tx,
                        &self.kill,
                    );
                    self.run_actions(more);
                }
                Action::Route(el) => {
                    if let Some(b) = self.bound.as_mut() {
                        self.core.metrics.stanzas_in.count(&el.name);
                        b.route(&self.core, el);
                    }
                }
                Action::EnableSm { resume, max } => {
                    let (link, more) = on_enable_sm(
                        &self.core,
                        self.bound.as_ref(),
                        Transport::Tcp,
                        resume,
                        max,
                        &mut self.session,
                    );
                    self.sm = Some(link);
                    self.run_actions(more);
                }
                Action::SmAck(h) => {
                    if let Some(Err(e)) = self.sm.as_mut().map(|l| l.ack(h)) {
                        self.write_error_element(&e.stream_error());
                    }
                }
                Action::Resume { previd, h } => self.pending_resume = Some((previd, h)),
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

    /// Writes one mailbox item (stream management keeps it until acknowledged).
    fn deliver(&mut self, item: Outgoing) {
        if self.closing {
            if self.sm.is_some() {
                stream_management::bounce_undelivered(&self.core, item);
            }
            return;
        }
        if let Outgoing::Close(cond, text) = item {
            return self.write_error(cond, &text);
        }
        let mark = self.wbuf.len();
        if let Some(kind) = write_outgoing(&mut self.wbuf, &item, ns::CLIENT) {
            self.out_counts.count(kind);
        }
        let Some(link) = self.sm.as_mut() else { return };
        match link.push(item) {
            Ok(false) => {}
            Ok(true) => self.send(&sm::request()),
            Err(item) => {
                self.wbuf.truncate(mark);
                stream_management::bounce_undelivered(&self.core, item);
                self.write_error(
                    StreamErrorCondition::ResourceConstraint,
                    "too many unacknowledged stanzas",
                );
            }
        }
    }

    fn on_bytes(&mut self, data: &[u8]) {
        self.parser.feed(data);
        loop {
            if self.closing || self.start_tls || self.pending_resume.is_some() {
                return;
            }
            match self.parser.next_event() {
                Ok(None) => return,
                Ok(Some(ev)) => {
                    let input = match ev {
                        StreamEvent::Open(h) => Input::Open(h),
                        StreamEvent::Element(el) => Input::Element(el),
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
    let _guard = ConnectionGuard::open(&core, Transport::Tcp);
    let mut conn = Conn::Plain(tcp);
    let (tx, mut rx) = mpsc::channel(core.config.c2s_send_queue);
    let mut kill = CancellationToken::new();
    let mut conv = Conversation {
        core: core.clone(),
        parser: StreamParser::new_stream(core.limits),
        session: Session::new(TransportInfo {
            starttls_available: true,
            encrypted: false,
            sm_available: true,
            kind: TransportKind::Tcp,
        }),
        wbuf: Vec::new(),
        header_sent: false,
        closing: false,
        start_tls: false,
        bound: None,
        kill: kill.clone(),
        tx,
        pending_token: None,
        sm: None,
        pending_resume: None,
        adopted: None,
        out_counts: LocalKindCounts::default(),
    };
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(core.config.c2s_negotiation_timeout);
    let mut ack_timer = stream_management::ack_timer();
    // Only TLS connections need a read buffer that lives across awaits.
    let mut tls_buf: Vec<u8> = Vec::new();
    let mut batch = Vec::new();
    let mut takeover = None;
    loop {
        let bound = conv.session.is_bound();
        let managed = conv.sm.is_some();
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
            t = SmLink::next_takeover(&mut conv.sm) => {
                takeover = Some(t);
                break;
            }
            _ = tokio::time::sleep_until(deadline), if !bound => {
                conv.write_error(StreamErrorCondition::ConnectionTimeout, "authentication and resource binding took too long");
            }
            input = conn.wait_input(&mut tls_buf) => match input {
                Readiness::PlainReady(Err(_)) | Readiness::Tls(Ok(0) | Err(_)) => break,
                Readiness::Tls(Ok(n)) => {
                    conv.on_bytes(tls_buf.get(..n).unwrap_or_default());
                    conv.parser.shrink_if_idle();
                }
                Readiness::PlainReady(Ok(())) => {
                    let mut chunk = [0u8; 8192];
                    match conn.try_read_plain(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => {
                            conv.on_bytes(chunk.get(..n).unwrap_or_default());
                            conv.parser.shrink_if_idle();
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(_) => break,
                    }
                }
            },
            n = rx.recv_many(&mut batch, 256), if bound => {
                if n == 0 { break; }
                for item in batch.drain(..) {
                    conv.deliver(item);
                }
                // Idle sessions keep no batch buffer.
                batch = Vec::new();
            }
            _ = ack_timer.tick(), if managed => conv.ack_tick(),
        }
        while let Some((domain, token)) = conv.pending_token.take() {
            // Boxed: key fetching is a large future, and every idle connection's task would
            // otherwise carry its size.
            let verdict = Box::pin(crate::session::driver::verify_session_token(
                &core,
                &domain,
                token.as_deref(),
            ))
            .await;
            if let Err(reason) = &verdict {
                core.metrics.token_refusals.inc(&[reason]);
            }
            let more = conv.session.token_verdict(verdict);
            conv.run_actions(more);
        }
        while conv.pending_resume.is_some() {
            Box::pin(conv.settle_resume()).await;
            if let Some((new_rx, new_kill)) = conv.adopted.take() {
                rx = new_rx;
                kill = new_kill;
            }
            // Elements that arrived behind the <resume/> are still in the parser.
            conv.on_bytes(&[]);
        }
        core.metrics.stanzas_out.add(&mut conv.out_counts);
        if !conv.wbuf.is_empty() {
            let wrote = tokio::select! {
                r = conn.write_all(&conv.wbuf) => r.is_ok(),
                _ = kill.cancelled() => false,
                // A peer that stopped reading must not keep its session from resuming
                // elsewhere; what was not written is in the unacknowledged queue.
                t = SmLink::next_takeover(&mut conv.sm) => {
                    takeover = Some(t);
                    false
                }
            };
            // Idle sessions keep no write buffer; a new one per wakeup costs one allocation.
            conv.wbuf = Vec::new();
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
            match tokio::time::timeout(Duration::from_secs(10), Box::pin(acceptor.accept(tcp)))
                .await
            {
                Ok(Ok(s)) => {
                    conn = Conn::Tls(Box::new(s));
                    tls_buf = vec![0u8; 4096];
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
    let ending = if conv.closing {
        Ending::Closed
    } else {
        Ending::Lost
    };
    let handled = conv.session.sm_handled().unwrap_or(0);
    let Some(bound) = conv.bound.take() else {
        return;
    };
    let mailbox = Mailbox {
        tx: conv.tx.clone(),
        rx,
        kill,
    };
    match (takeover, conv.sm.take()) {
        (Some(t), Some(link)) => {
            stream_management::hand_over(
                &core,
                t,
                Hibernated {
                    bound,
                    mailbox,
                    link,
                    handled,
                },
            );
            // Best effort: the old connection is probably dead already.
            conv.wbuf.clear();
            conv.write_error(
                StreamErrorCondition::Conflict,
                "the session was resumed on another connection",
            );
            let _ =
                tokio::time::timeout(Duration::from_millis(100), conn.write_all(&conv.wbuf)).await;
        }
        (_, link) => stream_management::finish(&core, bound, mailbox, link, handled, ending),
    }
}
