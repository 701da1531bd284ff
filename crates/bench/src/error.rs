//! Errors of the load generator and the trivial server.

use crate::scan::ScanError;

/// Anything that can go wrong while talking to a server; reported, never a panic.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Socket error.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// WebSocket error.
    #[error("websocket: {0}")]
    Ws(Box<tokio_tungstenite::tungstenite::Error>),
    /// The byte stream could not be cut into elements.
    #[error("scan: {0}")]
    Scan(#[from] ScanError),
    /// The peer closed the stream or the connection.
    #[error("connection closed by peer")]
    Closed,
    /// A wait exceeded the configured timeout.
    #[error("timeout while {0}")]
    Timeout(&'static str),
    /// The server answered with an error or refusal.
    #[error("server refused: {0}")]
    Refused(String),
    /// The server said something the tool did not expect.
    #[error("protocol: {0}")]
    Protocol(String),
    /// Bad command-line configuration.
    #[error("config: {0}")]
    Config(String),
}

impl From<tokio_tungstenite::tungstenite::Error> for BenchError {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        BenchError::Ws(Box::new(e))
    }
}
