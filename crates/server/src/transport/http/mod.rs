//! The HTTP listener: XMPP over WebSocket (RFC 7395) at `/xmpp-websocket`, BOSH
//! (XEP-0124/0206) at `/http-bind`, both also under a tenant prefix (`/<tenant>/http-bind`),
//! plus `/health` and `/metrics`.
//!
//! The transports only frame: each WebSocket connection and each BOSH session is one task
//! that owns a sans-io [`rookery_c2s::Session`] and, once authenticated, a
//! [`crate::session::driver::BoundSession`], exactly like the TCP transport.

mod bosh;
mod bosh_body;
mod bosh_negotiate;
mod bosh_session;
mod bosh_window;
mod cors;
mod framed;
mod health;
pub(crate) mod params;
mod websocket;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get};

use crate::config::HttpConfig;
use crate::core::Core;

pub(crate) use params::TransportParams;

/// Everything the HTTP handlers share: the server core (whose counters the transports
/// bump) and the live BOSH sessions.
#[derive(Clone)]
pub(crate) struct HttpService {
    core: Arc<Core>,
    config: Arc<HttpConfig>,
    bosh: Arc<bosh::Registry>,
}

impl std::fmt::Debug for HttpService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpService")
            .field("bosh_sessions", &self.bosh.len())
            .finish()
    }
}

impl HttpService {
    /// The service for a core whose configuration has an `[http]` section (defaults are used
    /// when it has none, for harnesses that bind the listener themselves).
    pub(crate) fn new(core: Arc<Core>) -> Self {
        let config = core.config.http.clone().unwrap_or_default();
        HttpService {
            core,
            config: Arc::new(config),
            bosh: Arc::new(bosh::Registry::default()),
        }
    }

    /// The axum router with every route.
    pub(crate) fn router(&self) -> Router {
        let body_limit = self.config.bosh_body_limit;
        Router::new()
            .route("/health", get(health::health))
            .route("/metrics", get(health::metrics))
            .route("/xmpp-websocket", any(websocket::upgrade))
            .route("/{tenant}/xmpp-websocket", any(websocket::upgrade_tenant))
            .route("/http-bind", any(bosh::handle))
            .route("/http-bind/", any(bosh::handle))
            .route("/{tenant}/http-bind", any(bosh::handle_tenant))
            .layer(DefaultBodyLimit::max(body_limit))
            .with_state(self.clone())
    }

    /// Serves HTTP on `listener` until the server shuts down.
    pub(crate) async fn serve(self, listener: tokio::net::TcpListener) {
        let shutdown = self.core.shutdown.clone();
        let app = self.router();
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::warn!("HTTP listener failed: {e}");
        }
    }
}
