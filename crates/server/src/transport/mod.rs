//! How clients and components reach the server: TCP with STARTTLS (`tcp`, `tls`) and one
//! HTTP listener for WebSocket and BOSH (`http`). Each transport only frames bytes; the
//! session machine of `rookery-c2s` and [`crate::session`] do the rest.

pub(crate) mod component;
pub(crate) mod http;
pub(crate) mod tcp;
pub(crate) mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tracing::Instrument;

use crate::core::Core;

/// Accepts TCP connections until shutdown and runs `serve` for each in its own task,
/// inside a span named after the listener (`c2s`, `component`) with the peer address.
/// Accept errors (out of descriptors) are logged and retried after a short pause.
pub(crate) async fn accept_loop<F, Fut>(
    core: Arc<Core>,
    listener: TcpListener,
    span_name: &'static str,
    serve: F,
) where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        tokio::select! {
            _ = core.shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok((tcp, peer)) => {
                    let _ = tcp.set_nodelay(true);
                    let span = tracing::info_span!("conn", kind = span_name, %peer);
                    tokio::spawn(serve(tcp, peer).instrument(span));
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// Our `<stream:stream>` header on a TCP stream in namespace `ns` (`jabber:client`, or
/// `jabber:component:accept`, which has no version); `version` adds
/// `version='1.0' xml:lang='en'`.
pub(crate) fn stream_header(ns: &str, id: &str, from: &str, version: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"<?xml version='1.0'?><stream:stream xmlns='");
    out.extend_from_slice(ns.as_bytes());
    out.extend_from_slice(b"' xmlns:stream='http://etherx.jabber.org/streams' id='");
    rookery_proto::serialize::escape_attr(&mut out, id);
    out.extend_from_slice(b"' from='");
    rookery_proto::serialize::escape_attr(&mut out, from);
    if version {
        out.extend_from_slice(b"' version='1.0' xml:lang='en'>");
    } else {
        out.extend_from_slice(b"'>");
    }
    out
}

/// The client transports (metrics are kept per transport, resumption is bound to one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TCP with STARTTLS.
    Tcp,
    /// RFC 7395 WebSocket.
    WebSocket,
    /// XEP-0124/0206 BOSH.
    Bosh,
}

impl Transport {
    /// Every transport, in rendering order.
    pub const ALL: [Transport; 3] = [Transport::Tcp, Transport::WebSocket, Transport::Bosh];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::WebSocket => "websocket",
            Transport::Bosh => "bosh",
        }
    }
}
