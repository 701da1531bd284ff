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

use rookery_c2s::{Input, TransportInfo, TransportKind};
use rookery_proto::{Element, StreamErrorCondition, StreamEvent, StreamParser, ns};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;

use crate::core::Core;
use crate::metrics::{ConnectionGuard, LocalKindCounts, Transport};
use crate::session::conversation::{Conversation, Wire};
use crate::session::stream_management::{self, SmLink};
use crate::transport::http::TransportParams;

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
pub(crate) async fn accept_loop(
    core: Arc<Core>,
    tls: Arc<HashMap<String, TlsAcceptor>>,
    listener: tokio::net::TcpListener,
) {
    let serve_core = core.clone();
    super::accept_loop(core, listener, "c2s", move |tcp, peer| {
        serve(serve_core.clone(), tls.clone(), tcp, peer)
    })
    .await;
}

fn stream_header(id: &str, from: &str) -> Vec<u8> {
    super::stream_header(ns::CLIENT, id, from, true)
}

/// What a TCP stream has to write, and its parser (restarted with the stream).
struct TcpWire {
    parser: StreamParser,
    wbuf: Vec<u8>,
    start_tls: bool,
    /// Stanzas written since the last flush into the shared metrics (once per wakeup).
    out_counts: LocalKindCounts,
}

impl Wire for TcpWire {
    fn context_ns(&self) -> &'static str {
        ns::CLIENT
    }

    fn header(&mut self, id: &str, from: &str) {
        self.wbuf.extend_from_slice(&stream_header(id, from));
    }

    fn element(&mut self, write: &mut dyn FnMut(&mut Vec<u8>)) {
        write(&mut self.wbuf);
    }

    fn mark(&self) -> usize {
        self.wbuf.len()
    }

    fn rollback(&mut self, mark: usize) {
        self.wbuf.truncate(mark);
    }

    fn end(&mut self, error: Option<&Element>) {
        if let Some(e) = error {
            rookery_proto::serialize::write_element(&mut self.wbuf, e, ns::CLIENT);
        }
        self.wbuf.extend_from_slice(b"</stream:stream>");
    }

    fn restart(&mut self) {
        self.parser.reset();
    }

    fn start_tls(&mut self) -> bool {
        self.start_tls = true;
        true
    }

    fn count_out(&mut self, _core: &Core, kind: &str) {
        self.out_counts.count(kind);
    }
}

type TcpConversation = Conversation<TcpWire>;

impl Conversation<TcpWire> {
    fn on_bytes(&mut self, data: &[u8]) {
        self.wire.parser.feed(data);
        loop {
            if self.closing || self.wire.start_tls || self.resume_pending() {
                return;
            }
            match self.wire.parser.next_event() {
                Ok(None) => return,
                Ok(Some(ev)) => self.input(match ev {
                    StreamEvent::Open(h) => Input::Open(h),
                    StreamEvent::Element(el) => Input::Element(el),
                    StreamEvent::Close => Input::Close,
                }),
                Err(e) => {
                    tracing::debug!("stream error: {e}");
                    self.error(e.condition(), &e.text());
                    return;
                }
            }
        }
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
    let wire = TcpWire {
        parser: StreamParser::new_stream(core.limits),
        wbuf: Vec::new(),
        start_tls: false,
        out_counts: LocalKindCounts::default(),
    };
    let info = TransportInfo {
        starttls_available: true,
        encrypted: false,
        sm_available: true,
        kind: TransportKind::Tcp,
    };
    let mut conv: TcpConversation = Conversation::new(
        core.clone(),
        Transport::Tcp,
        info,
        TransportParams::default(),
        wire,
        tx,
        kill.clone(),
    );
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(core.config.c2s_negotiation_timeout);
    let mut ack_timer = stream_management::ack_timer();
    // Only TLS connections need a read buffer that lives across awaits.
    let mut tls_buf: Vec<u8> = Vec::new();
    let mut batch = Vec::new();
    let mut takeover = None;
    loop {
        let bound = conv.session.is_bound();
        let managed = conv.sm_active();
        tokio::select! {
            biased;
            _ = kill.cancelled() => {
                conv.error(StreamErrorCondition::PolicyViolation, "too many stanzas queued for this client: it does not read");
                let _ = tokio::time::timeout(Duration::from_millis(100), conn.write_all(&conv.wire.wbuf)).await;
                break;
            }
            _ = core.shutdown.cancelled() => {
                conv.error(StreamErrorCondition::SystemShutdown, "the server is shutting down");
                let _ = tokio::time::timeout(Duration::from_millis(500), conn.write_all(&conv.wire.wbuf)).await;
                break;
            }
            t = conv.next_takeover() => {
                takeover = Some(t);
                break;
            }
            _ = tokio::time::sleep_until(deadline), if !bound => {
                conv.error(StreamErrorCondition::ConnectionTimeout, "authentication and resource binding took too long");
            }
            input = conn.wait_input(&mut tls_buf) => match input {
                Readiness::PlainReady(Err(_)) | Readiness::Tls(Ok(0) | Err(_)) => break,
                Readiness::Tls(Ok(n)) => {
                    conv.on_bytes(tls_buf.get(..n).unwrap_or_default());
                    conv.wire.parser.shrink_if_idle();
                }
                Readiness::PlainReady(Ok(())) => {
                    let mut chunk = [0u8; 8192];
                    match conn.try_read_plain(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => {
                            conv.on_bytes(chunk.get(..n).unwrap_or_default());
                            conv.wire.parser.shrink_if_idle();
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
        if conv.token_pending() {
            conv.settle_token().await;
        }
        while conv.resume_pending() {
            Box::pin(conv.settle_resume()).await;
            if let Some((new_rx, new_kill)) = conv.take_adopted() {
                rx = new_rx;
                kill = new_kill;
            }
            // Elements that arrived behind the <resume/> are still in the parser.
            conv.on_bytes(&[]);
        }
        core.metrics.stanzas_out.add(&mut conv.wire.out_counts);
        if !conv.wire.wbuf.is_empty() {
            let wrote = tokio::select! {
                r = conn.write_all(&conv.wire.wbuf) => r.is_ok(),
                _ = kill.cancelled() => false,
                // A peer that stopped reading must not keep its session from resuming
                // elsewhere; what was not written is in the unacknowledged queue. (Borrows
                // only the link: the write borrows the buffer.)
                t = SmLink::next_takeover(&mut conv.sm) => {
                    takeover = Some(t);
                    false
                }
            };
            // Idle sessions keep no write buffer; a new one per wakeup costs one allocation.
            conv.wire.wbuf = Vec::new();
            if !wrote {
                break;
            }
        }
        if conv.closing {
            let _ = tokio::time::timeout(Duration::from_millis(200), conn.shutdown()).await;
            break;
        }
        if conv.wire.start_tls {
            conv.wire.start_tls = false;
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
                    conv.wire.parser.reset();
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
    let ending = conv.ending();
    if conv.finish(rx, ending, takeover) {
        // Best effort: the old connection is probably dead already.
        conv.wire.wbuf.clear();
        conv.error(
            StreamErrorCondition::Conflict,
            "the session was resumed on another connection",
        );
        let _ =
            tokio::time::timeout(Duration::from_millis(100), conn.write_all(&conv.wire.wbuf)).await;
    }
}
