//! How clients and components reach the server: TCP with STARTTLS (`tcp`, `tls`) and one
//! HTTP listener for WebSocket and BOSH (`http`). Each transport only frames bytes; the
//! session machine of `rookery-c2s` and [`crate::session`] do the rest.

pub mod component;
pub mod http;
pub mod tcp;
pub mod tls;

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
