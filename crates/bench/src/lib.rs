//! Rookery's benchmark tools: an XMPP load generator that speaks plain XMPP (TCP or
//! WebSocket) to any server, and a trivial fan-out server that sets the ceiling.
//!
//! The load generator's scenarios live in [`scenario`]; each returns a [`report::Report`]
//! printed as one JSON line. Nothing here depends on the rest of Rookery, so the same tool
//! measures Rookery, Prosody and ejabberd side by side.

pub mod cli;
pub mod client;
pub mod clock;
pub mod error;
pub mod histogram;
pub mod report;
pub mod rss;
pub mod scan;
pub mod scenario;
pub mod target;
pub mod transport;
pub mod trivial;

pub use error::BenchError;
pub use target::{Auth, Target, Transport};
