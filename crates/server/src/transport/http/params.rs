//! The query parameters a Jitsi web client (or nginx in front of it) appends to the
//! WebSocket and BOSH URLs: `token` (the JWT), `room`, `prefix` (the tenant) and `previd`
//! (a previous session id). A tenant in the path (`/<tenant>/http-bind`) counts as `prefix`.

use std::collections::HashMap;

/// Longest value kept for any parameter; longer ones are dropped (a JWT is a few KiB).
const MAX_PARAM_BYTES: usize = 16 * 1024;

/// What the transport URL said about the session, captured before SASL.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct TransportParams {
    /// `?token=`: the JWT, handed to the session with `Session::set_transport_token`.
    pub token: Option<String>,
    /// `?room=`: the room the client is about to join.
    pub room: Option<String>,
    /// `?prefix=` or the tenant path segment.
    pub prefix: Option<String>,
    /// `?previd=`: the id of a previous session of this client.
    pub previd: Option<String>,
}

impl std::fmt::Debug for TransportParams {
    // The token is a credential: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportParams")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("room", &self.room)
            .field("prefix", &self.prefix)
            .field("previd", &self.previd)
            .finish()
    }
}

impl TransportParams {
    /// Reads the parameters from a decoded query map and an optional tenant path segment;
    /// the query's `prefix` wins over the path (nginx passes both when it rewrites).
    pub(crate) fn from_query(query: &HashMap<String, String>, tenant: Option<String>) -> Self {
        let get = |k: &str| {
            query
                .get(k)
                .filter(|v| !v.is_empty() && v.len() <= MAX_PARAM_BYTES)
                .cloned()
        };
        TransportParams {
            token: get("token"),
            room: get("room"),
            prefix: get("prefix").or(tenant.filter(|t| !t.is_empty())),
            previd: get("previd"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn captures_each_parameter() {
        type Case = (
            &'static [(&'static str, &'static str)],
            Option<&'static str>,
            TransportParams,
        );
        let cases: Vec<Case> = vec![
            (&[], None, TransportParams::default()),
            (
                &[("token", "t"), ("room", "r"), ("previd", "p")],
                None,
                TransportParams {
                    token: Some("t".into()),
                    room: Some("r".into()),
                    prefix: None,
                    previd: Some("p".into()),
                },
            ),
            (
                &[("room", "r")],
                Some("tenant"),
                TransportParams {
                    room: Some("r".into()),
                    prefix: Some("tenant".into()),
                    ..Default::default()
                },
            ),
            (
                &[("prefix", "q"), ("token", "")],
                Some("path"),
                TransportParams {
                    prefix: Some("q".into()),
                    ..Default::default()
                },
            ),
        ];
        for (query, tenant, want) in cases {
            let got = TransportParams::from_query(&q(query), tenant.map(str::to_owned));
            assert_eq!(got, want, "{query:?} {tenant:?}");
        }
    }

    #[test]
    fn debug_hides_the_token() {
        let p = TransportParams::from_query(&q(&[("token", "secret-jwt")]), None);
        assert!(!format!("{p:?}").contains("secret-jwt"));
    }
}
