//! How clients and components reach the server: TCP with STARTTLS (`tcp`, `tls`) and one
//! HTTP listener for WebSocket and BOSH (`http`). Each transport only frames bytes; the
//! session machine of `rookery-c2s` and [`crate::session`] do the rest.

pub mod component;
pub mod http;
pub mod tcp;
pub mod tls;
