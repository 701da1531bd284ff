//! Client-to-server sessions: the sans-io negotiation state machine shared by every transport
//! (TCP/TLS, WebSocket, BOSH). The transports themselves live in the server crate and only
//! frame bytes.

pub mod host;
pub mod session;
pub mod sm;

pub use host::{HostAuth, HostPolicy, TransportKind};
pub use session::{Action, Env, Input, LoginIdentity, Session, TokenGrant, TransportInfo};
pub use sm::{Acked, HandledCountTooHigh, OutboundQueue, QueueFull, SmRequest};
