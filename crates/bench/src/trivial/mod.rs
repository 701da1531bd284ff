//! The trivial fan-out server: the ceiling measured beside real servers.
//!
//! It does only the XMPP exchange the load generator needs and keeps no real state, and it
//! writes the way a fast server should: each session's writer drains everything queued for
//! it into one buffer and makes one write per wakeup; idle sessions hold no read buffer.

pub mod hub;
pub mod session;

use std::future::Future;
use std::io::ErrorKind;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::scan::Scanner;
use crate::transport::{FRAMING_NS, ws_item};
use hub::{Hub, Out};
use session::{Flow, Framing, Session};

/// Most stanzas one writer wakeup drains from its queue.
const DRAIN_MAX: usize = 4096;

/// Serves TCP c2s on `tcp` and, if given, WebSocket on `ws` until `shutdown` completes.
pub async fn serve(tcp: TcpListener, ws: Option<TcpListener>, shutdown: impl Future<Output = ()>) {
    let hub = Arc::new(Hub::default());
    let tcp_hub = hub.clone();
    let tcp_loop = async move {
        loop {
            match tcp.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(tcp_session(stream, tcp_hub.clone()));
                }
                Err(e) => accept_error(&e).await,
            }
        }
    };
    let ws_loop = async move {
        let Some(ws) = ws else {
            return std::future::pending().await;
        };
        loop {
            match ws.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(ws_session(stream, hub.clone()));
                }
                Err(e) => accept_error(&e).await,
            }
        }
    };
    tokio::select! {
        () = tcp_loop => {}
        () = ws_loop => {}
        () = shutdown => {}
    }
}

/// Backs off briefly when accept fails (typically: out of file descriptors).
async fn accept_error(e: &std::io::Error) {
    eprintln!("accept: {e}");
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
}

async fn tcp_session(stream: TcpStream, hub: Arc<Hub>) {
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let (tx, rx) = unbounded_channel();
    let writer = tokio::spawn(tcp_writer(wr, rx));
    let mut sess = Session::new(hub, tx, Framing::Tcp);
    let mut scan = Scanner::new(4096, 1 << 20);
    'read: loop {
        if rd.readable().await.is_err() {
            break;
        }
        let Ok(spare) = scan.spare() else { break };
        match rd.try_read(spare) {
            Ok(0) => break,
            Ok(n) => scan.commit(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
            Err(_) => break,
        }
        loop {
            match scan.next_item() {
                Ok(Some(item)) => {
                    if sess.on_item(item) == Flow::Close {
                        break 'read;
                    }
                }
                Ok(None) => break,
                Err(_) => break 'read,
            }
        }
        scan.release_if_empty();
    }
    sess.disconnect();
    drop(sess);
    let _ = writer.await;
}

/// Appends one queued item to a write buffer; returns true for [`Out::Close`].
fn serialize(out: Out, buf: &mut Vec<u8>) -> bool {
    match out {
        Out::Bytes(b) => buf.extend_from_slice(&b),
        Out::Addressed { head, to, tail } => {
            buf.extend_from_slice(&head);
            buf.extend_from_slice(to.as_bytes());
            buf.extend_from_slice(&tail);
        }
        Out::Close => return true,
    }
    false
}

async fn tcp_writer(mut wr: OwnedWriteHalf, mut rx: UnboundedReceiver<Out>) {
    loop {
        let mut batch = Vec::new();
        if rx.recv_many(&mut batch, DRAIN_MAX).await == 0 {
            break;
        }
        let mut buf = Vec::with_capacity(batch.len() * 256);
        let mut close = false;
        for out in batch {
            if serialize(out, &mut buf) {
                buf.extend_from_slice(b"</stream:stream>");
                close = true;
                break;
            }
        }
        if wr.write_all(&buf).await.is_err() || close {
            break;
        }
    }
    let _ = wr.shutdown().await;
}

/// Handshake callback: agree to the `xmpp` sub-protocol when the client asks for it.
#[allow(clippy::result_large_err)] // the error type is fixed by tungstenite's callback trait
fn with_xmpp_protocol(req: &Request, mut resp: Response) -> Result<Response, ErrorResponse> {
    let wants_xmpp = req
        .headers()
        .get_all("Sec-WebSocket-Protocol")
        .iter()
        .any(|v| {
            v.to_str()
                .is_ok_and(|s| s.split(',').any(|p| p.trim() == "xmpp"))
        });
    if wants_xmpp {
        resp.headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("xmpp"));
    }
    Ok(resp)
}

async fn ws_session(stream: TcpStream, hub: Arc<Hub>) {
    let _ = stream.set_nodelay(true);
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, with_xmpp_protocol).await else {
        return;
    };
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = unbounded_channel::<Out>();
    let writer = tokio::spawn(async move {
        loop {
            let mut batch = Vec::new();
            if rx.recv_many(&mut batch, DRAIN_MAX).await == 0 {
                break;
            }
            let mut close = false;
            for out in batch {
                let mut buf = Vec::new();
                close = serialize(out, &mut buf);
                if close {
                    buf.extend_from_slice(format!("<close xmlns='{FRAMING_NS}'/>").as_bytes());
                }
                let text = String::from_utf8_lossy(&buf).into_owned();
                if sink.feed(Message::text(text)).await.is_err() {
                    return;
                }
                if close {
                    break;
                }
            }
            if sink.flush().await.is_err() || close {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let mut sess = Session::new(hub, tx, Framing::Ws);
    while let Some(Ok(msg)) = source.next().await {
        let payload: &[u8] = match &msg {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
            Message::Close(_) => break,
            _ => continue,
        };
        if sess.on_item(ws_item(payload)) == Flow::Close {
            break;
        }
    }
    sess.disconnect();
    drop(sess);
    let _ = writer.await;
}
