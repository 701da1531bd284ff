//! Cross-origin rules: CORS response headers for BOSH (`cross_domain_bosh`) and the
//! `Origin` check for WebSocket upgrades (`cross_domain_websocket`).

use axum::http::{HeaderMap, HeaderValue, header};

use crate::config::CrossDomain;

/// True when the request comes from the page's own origin: `Origin`'s host equals `Host`.
fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(origin)
        .trim_end_matches('/');
    origin_host.eq_ignore_ascii_case(host)
}

/// True when a WebSocket upgrade may proceed: no `Origin` (not a browser), the same
/// origin, or an origin the configuration allows.
pub(super) fn websocket_origin_allowed(rule: &CrossDomain, headers: &HeaderMap) -> bool {
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        None => true,
        Some(origin) => same_origin(origin, headers) || rule.allows(origin),
    }
}

/// Adds the CORS headers a BOSH response needs when the request's origin is allowed.
pub(super) fn add_bosh_cors(rule: &CrossDomain, request: &HeaderMap, response: &mut HeaderMap) {
    let Some(origin) = request.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return;
    };
    if same_origin(origin, request) || !rule.allows(origin) {
        return;
    }
    let allow = match rule {
        CrossDomain::All(true) => HeaderValue::from_static("*"),
        _ => match HeaderValue::from_str(origin) {
            Ok(v) => v,
            Err(_) => return,
        },
    };
    response.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    response.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    response.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Content-Type"),
    );
    response.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("7200"),
    );
    if !matches!(rule, CrossDomain::All(true)) {
        response.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    #[test]
    fn websocket_origin_table() {
        let list = CrossDomain::Origins(vec!["https://meet.example".into()]);
        let cases = [
            (CrossDomain::All(false), None, true),
            (
                CrossDomain::All(false),
                Some("https://x.example:5280"),
                true,
            ),
            (CrossDomain::All(false), Some("https://evil.example"), false),
            (CrossDomain::All(true), Some("https://evil.example"), true),
            (list.clone(), Some("https://meet.example"), true),
            (list, Some("https://evil.example"), false),
        ];
        for (rule, origin, want) in cases {
            let h = headers(origin, "x.example:5280");
            assert_eq!(
                websocket_origin_allowed(&rule, &h),
                want,
                "{rule:?} {origin:?}"
            );
        }
    }

    #[test]
    fn bosh_cors_headers() {
        let cases = [
            (CrossDomain::All(false), Some("https://a.example"), None),
            (CrossDomain::All(true), Some("https://a.example"), Some("*")),
            (CrossDomain::All(true), None, None),
            (
                CrossDomain::Origins(vec!["https://a.example".into()]),
                Some("https://a.example"),
                Some("https://a.example"),
            ),
            (
                CrossDomain::Origins(vec!["https://a.example".into()]),
                Some("https://b.example"),
                None,
            ),
        ];
        for (rule, origin, want) in cases {
            let mut out = HeaderMap::new();
            add_bosh_cors(&rule, &headers(origin, "server.example"), &mut out);
            let got = out
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(got.as_deref(), want, "{rule:?} {origin:?}");
        }
    }
}
