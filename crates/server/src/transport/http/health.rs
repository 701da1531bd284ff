//! `/health` for container checks and `/metrics` for Prometheus.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::HttpService;

/// 200 "OK" while the server runs, 503 once it is shutting down.
pub(super) async fn health(State(svc): State<HttpService>) -> Response {
    if svc.core.shutdown.is_cancelled() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response()
    } else {
        (StatusCode::OK, "OK").into_response()
    }
}

/// The Prometheus text exposition.
pub(super) async fn metrics(State(svc): State<HttpService>) -> Response {
    let body = svc.core.metrics.render(&svc.core);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
