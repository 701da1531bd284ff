//! The server's end-to-end tests, one integration-test crate (one build, one link): each
//! module starts servers on loopback port 0 and drives them through real sockets with raw
//! XML, tokio-xmpp, the `sasl` crate's client, tokio-tungstenite, or the `rookery` binary.
//! `common` and `sm_support` are the shared helpers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
mod sm_support;

mod bosh;
mod c2s_raw;
mod client_proxy;
mod component;
mod container;
mod example_configs;
mod jitsi_env_cli;
mod jitsi_flow;
mod jitsi_policy;
mod muc_bad_input;
mod muc_e2e;
mod muc_features;
mod muc_jicofo;
mod muc_locking;
mod muc_persistent;
mod muc_scale;
mod muc_sessions;
mod sasl_crate_client;
mod sm_bosh;
mod sm_hibernation_caps;
mod sm_metrics;
mod sm_tcp;
mod sm_websocket;
mod token_auth;
mod token_key_fetch;
mod token_mechanisms;
mod tokio_xmpp_client;
mod websocket;
