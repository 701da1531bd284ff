//! The trivial fan-out server: the ceiling measured beside real servers.
//!
//! It does only the XMPP exchange the load generator needs and keeps no real state, and it
//! writes the way a fast server should: each session's writer drains everything queued for
//! it into one buffer and makes one write per wakeup; idle sessions hold no read buffer.

pub mod hub;
pub mod mailbox;
pub mod session;

use std::future::Future;
use std::io::ErrorKind;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::scan::Scanner;
use crate::transport::{FRAMING_NS, ws_item};
use hub::{Hub, Out};
use mailbox::Mailbox;
use session::{Flow, Framing, Session};

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

/// One TCP session in one task: reads when the socket is readable, writes everything
/// queued for it in one write when its mailbox wakes it.
async fn tcp_session(mut stream: TcpStream, hub: Arc<Hub>) {
    let _ = stream.set_nodelay(true);
    let mailbox = Mailbox::new();
    let mut sess = Session::new(hub, mailbox.clone(), Framing::Tcp);
    let mut scan = Scanner::new(4096, 1 << 20);
    let mut reading = true;
    loop {
        tokio::select! {
            ready = stream.readable(), if reading => {
                if ready.is_err() || !read_some(&stream, &mut scan, &mut sess, &mut reading) {
                    break;
                }
            }
            batch = mailbox.recv_all() => {
                let Some(batch) = batch else { break };
                let mut buf = Vec::with_capacity(batch.len() * 256);
                let mut close = false;
                for out in batch {
                    if serialize(out, &mut buf) {
                        buf.extend_from_slice(b"</stream:stream>");
                        close = true;
                        break;
                    }
                }
                if stream.write_all(&buf).await.is_err() || close {
                    break;
                }
            }
        }
    }
    sess.disconnect();
    mailbox.close();
    let _ = stream.shutdown().await;
}

/// Reads what the socket has and handles every complete item. Returns false when the
/// connection is finished; clears `reading` once the client closed its stream (the
/// footer reply is then written by the caller).
fn read_some(
    stream: &TcpStream,
    scan: &mut Scanner,
    sess: &mut Session,
    reading: &mut bool,
) -> bool {
    let Ok(spare) = scan.spare() else {
        return false;
    };
    match stream.try_read(spare) {
        Ok(0) => return false,
        Ok(n) => scan.commit(n),
        Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
        Err(_) => return false,
    }
    loop {
        match scan.next_item() {
            Ok(Some(item)) => {
                if sess.on_item(item) == Flow::Close {
                    *reading = false;
                    return true;
                }
            }
            Ok(None) => break,
            Err(_) => return false,
        }
    }
    scan.release_if_empty();
    true
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
    let mailbox = Mailbox::new();
    let outbox = mailbox.clone();
    let writer = tokio::spawn(async move {
        while let Some(batch) = outbox.recv_all().await {
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
    let mut sess = Session::new(hub, mailbox.clone(), Framing::Ws);
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
    mailbox.close();
    let _ = writer.await;
}
