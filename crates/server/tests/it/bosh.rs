//! BOSH (XEP-0124/0206) through real sockets with a minimal HTTP/1.1 client: session
//! creation, login, long polls, the rid window, restart, terminate, inactivity, bad input,
//! the nginx path layout, CORS, and the health and metrics endpoints.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::SocketAddr;

use crate::common::*;
use rookery_proto::{Element, ns};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `bosh_polling = 0` lets `hold='0'` sessions poll freely: most tests use such sessions so
/// every request is answered at once; the long-poll tests use `hold='1'`.
const HTTP: &str =
    "[http]\nlisten = [\"127.0.0.1:0\"]\ncross_domain_bosh = true\nbosh_polling = 0\n";

/// One HTTP exchange on a fresh connection.
struct HttpReply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl HttpReply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn element(&self) -> Element {
        parse_element(&self.body)
    }
}

async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpReply {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    // A server refusing an oversized body may answer and close before reading it all.
    let _ = s.write_all(body).await;
    let mut raw = Vec::new();
    tokio::time::timeout(STEP, s.read_to_end(&mut raw))
        .await
        .expect("timed out waiting for the HTTP answer")
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    HttpReply {
        status,
        headers,
        body: body.to_owned(),
    }
}

async fn post(addr: SocketAddr, path: &str, body: &str) -> HttpReply {
    http(
        addr,
        "POST",
        path,
        &[("Content-Type", "text/xml; charset=utf-8")],
        body.as_bytes(),
    )
    .await
}

/// A BOSH client session.
#[derive(Clone)]
struct Bosh {
    addr: SocketAddr,
    path: String,
    sid: String,
    rid: u64,
}

const BODY_NS: &str = "xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'";

impl Bosh {
    /// Creates a session; returns it and the creation response.
    async fn create(addr: SocketAddr, path: &str, attrs: &str) -> (Bosh, Element) {
        let rid = 1000;
        let r = post(
            addr,
            path,
            &format!("<body rid='{rid}' to='localhost' xml:lang='en' ver='1.11' xmpp:version='1.0' {attrs} {BODY_NS}/>"),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let body = r.element();
        let sid = body
            .attr("sid")
            .unwrap_or_else(|| panic!("no sid: {}", r.body))
            .to_owned();
        (
            Bosh {
                addr,
                path: path.to_owned(),
                sid,
                rid,
            },
            body,
        )
    }

    /// The next rid.
    fn next_rid(&mut self) -> u64 {
        self.rid += 1;
        self.rid
    }

    /// Sends a body with this rid, extra attributes and content; returns the raw reply.
    async fn raw(&self, rid: u64, attrs: &str, content: &str) -> HttpReply {
        post(
            self.addr,
            &self.path,
            &format!(
                "<body rid='{rid}' sid='{}' {attrs} {BODY_NS}>{content}</body>",
                self.sid
            ),
        )
        .await
    }

    /// Sends the next request and returns the response body.
    async fn send(&mut self, content: &str) -> Element {
        let rid = self.next_rid();
        let r = self.raw(rid, "", content).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.element()
    }

    async fn restart(&mut self) -> Element {
        let rid = self.next_rid();
        let r = self
            .raw(rid, "to='localhost' xml:lang='en' xmpp:restart='true'", "")
            .await;
        r.element()
    }

    /// ANONYMOUS, restart, bind; returns the JID.
    async fn login_anonymous(&mut self) -> String {
        let s = self
            .send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>")
            .await;
        assert!(s.has_child("success", ns::SASL), "{}", s.to_xml_string());
        let f = self.restart().await;
        let features = f.get_child("features", ns::STREAM).unwrap();
        assert!(features.has_child("bind", ns::BIND));
        let r = self
            .send("<iq type='set' id='b1' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>bosh</resource></bind></iq>")
            .await;
        let iq = r.get_child("iq", ns::CLIENT).unwrap();
        assert_eq!(iq.attr("type"), Some("result"), "{}", r.to_xml_string());
        iq.get_child("bind", ns::BIND)
            .unwrap()
            .child_text("jid", ns::BIND)
            .unwrap()
    }
}

fn condition(body: &Element) -> (Option<&str>, Option<&str>) {
    (body.attr("type"), body.attr("condition"))
}

#[tokio::test]
async fn session_login_long_poll_and_messages_with_tcp() {
    let srv = start(test_config(HTTP), &[("bob", "pb")]).await;
    let addr = srv.http_addr().unwrap();
    let (mut b, created) = Bosh::create(addr, "/http-bind", "wait='30' hold='1'").await;
    for (attr, want) in [
        ("wait", "30"),
        ("hold", "1"),
        ("requests", "2"),
        ("ver", "1.11"),
        ("from", "localhost"),
        ("xmpp:version", "1.0"),
    ] {
        assert_eq!(created.attr(attr), Some(want), "{attr}");
    }
    for attr in ["inactivity", "polling", "maxpause", "authid"] {
        assert!(created.attr(attr).is_some(), "{attr}");
    }
    let features = created.get_child("features", ns::STREAM).unwrap();
    let mechs: Vec<String> = features
        .get_child("mechanisms", ns::SASL)
        .unwrap()
        .children()
        .map(|m| m.text())
        .collect();
    assert!(mechs.contains(&"ANONYMOUS".to_owned()), "{mechs:?}");
    let bjid = b.login_anonymous().await;
    assert!(bjid.ends_with("@localhost/bosh"), "{bjid}");

    let mut t = connect(srv.c2s_addr().unwrap()).await;
    let tjid = t.login_plain("bob", "pb", Some("tcp")).await;

    // BOSH → TCP, in a namespace-less stanza (jabber:client per XEP-0206). With hold='1'
    // the request is held: nothing is due to the client yet.
    let rid = b.next_rid();
    let sending = {
        let (b, tjid) = (b.clone(), tjid.clone());
        tokio::spawn(async move {
            b.raw(
                rid,
                "",
                &format!(
                    "<message to='{tjid}' type='chat' id='m1'><body>from bosh</body></message>"
                ),
            )
            .await
        })
    };
    let m = t.element().await;
    assert_eq!(m.attr("from"), Some(bjid.as_str()));
    assert_eq!(m.child_text("body", ns::CLIENT).unwrap(), "from bosh");

    // The next request releases the held one (hold='1') and is held in turn, until a
    // stanza for the client arrives.
    let rid = b.next_rid();
    let poll = {
        let b = b.clone();
        tokio::spawn(async move { b.raw(rid, "", "").await })
    };
    let released = sending.await.unwrap().element();
    assert!(released.nodes.is_empty(), "{}", released.to_xml_string());
    t.send(&format!(
        "<message to='{bjid}' type='chat' id='t1'><body>to bosh</body></message>"
    ))
    .await;
    let got = poll.await.unwrap().element();
    let m = got.get_child("message", ns::CLIENT).unwrap();
    assert_eq!(m.attr("from"), Some(tjid.as_str()));
    assert_eq!(m.attr("id"), Some("t1"));

    // Stanzas queued while no request is held go out together in the next response.
    for i in 0..3 {
        t.send(&format!(
            "<message to='{bjid}' type='chat' id='q{i}'><body>q</body></message>"
        ))
        .await;
    }
    // A ping round trip on the TCP stream proves all three were routed already.
    let pong = t
        .iq(
            "<iq type='get' id='sync' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
            "sync",
        )
        .await;
    assert_eq!(pong.attr("type"), Some("result"));
    let r = b.send("").await;
    let ids: Vec<&str> = r
        .children()
        .filter(|c| c.is("message", ns::CLIENT))
        .map(|c| c.attr("id").unwrap())
        .collect();
    assert_eq!(ids, ["q0", "q1", "q2"], "{}", r.to_xml_string());
    srv.shutdown().await;
}

#[tokio::test]
async fn rid_window_retransmission_order_and_refusal() {
    let srv = start(test_config(HTTP), &[("bob", "pb")]).await;
    let addr = srv.http_addr().unwrap();
    let (mut b, _) = Bosh::create(addr, "/http-bind", "wait='30' hold='0'").await;
    b.login_anonymous().await;
    let mut t = connect(srv.c2s_addr().unwrap()).await;
    let tjid = t.login_plain("bob", "pb", Some("tcp")).await;

    // A request sent again is answered with the very same body from the cache.
    let rid = b.next_rid();
    let first = b
        .raw(
            rid,
            "",
            &format!("<message to='{tjid}' id='once'><body>x</body></message>"),
        )
        .await;
    let again = b
        .raw(
            rid,
            "",
            &format!("<message to='{tjid}' id='once'><body>x</body></message>"),
        )
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(again.body, first.body);
    // …and its stanza was processed once.
    assert_eq!(t.element().await.attr("id"), Some("once"));

    // Out of order: rid+2 arrives before rid+1; they are processed in rid order.
    let r1 = b.next_rid();
    let r2 = b.next_rid();
    let late = b.clone();
    let second = tokio::spawn({
        let tjid = tjid.clone();
        async move {
            late.raw(
                r2,
                "",
                &format!("<message to='{tjid}' id='second'><body>2</body></message>"),
            )
            .await
        }
    });
    let first = b
        .raw(
            r1,
            "",
            &format!("<message to='{tjid}' id='first'><body>1</body></message>"),
        )
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(t.element().await.attr("id"), Some("first"));
    assert_eq!(t.element().await.attr("id"), Some("second"));
    assert_eq!(second.await.unwrap().status, 200);

    // A rid far beyond the window is refused with item-not-found and ends the session.
    let far = b.rid + 10;
    let r = b.raw(far, "", "").await;
    assert_eq!(
        condition(&r.element()),
        (Some("terminate"), Some("item-not-found"))
    );
    let next = b.next_rid();
    let r = b.raw(next, "", "").await;
    assert_eq!(
        condition(&r.element()),
        (Some("terminate"), Some("item-not-found"))
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn wait_expiry_answers_with_an_empty_body() {
    let srv = start(test_config(HTTP), &[]).await;
    let (mut b, created) =
        Bosh::create(srv.http_addr().unwrap(), "/http-bind", "wait='1' hold='1'").await;
    assert_eq!(created.attr("wait"), Some("1"));
    b.login_anonymous().await;
    let started = std::time::Instant::now();
    let r = b.send("").await;
    assert!(r.is("body", ns::HTTPBIND));
    assert!(r.nodes.is_empty(), "{}", r.to_xml_string());
    assert_eq!(r.attr("type"), None);
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    // The session lives on.
    let r = b
        .send("<iq type='get' id='p' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        .await;
    let r = if r.has_child("iq", ns::CLIENT) {
        r
    } else {
        b.send("").await
    };
    assert_eq!(r.get_child("iq", ns::CLIENT).unwrap().attr("id"), Some("p"));
    srv.shutdown().await;
}

#[tokio::test]
async fn terminate_ends_the_session_and_unbinds() {
    let srv = start(test_config(HTTP), &[("bob", "pb")]).await;
    let (mut b, _) = Bosh::create(srv.http_addr().unwrap(), "/http-bind", "hold='0'").await;
    let bjid = b.login_anonymous().await;
    let mut t = connect(srv.c2s_addr().unwrap()).await;
    let tjid = t.login_plain("bob", "pb", Some("tcp")).await;
    // Directed presence, so the TCP client hears about the end.
    b.send(&format!("<presence to='{tjid}'/>")).await;
    assert_eq!(t.element().await.name, "presence");
    let rid = b.next_rid();
    let r = b
        .raw(rid, "type='terminate'", "<presence type='unavailable'/>")
        .await;
    assert_eq!(condition(&r.element()), (Some("terminate"), None));
    let p = t.element().await;
    assert_eq!(p.attr("type"), Some("unavailable"));
    assert_eq!(p.attr("from"), Some(bjid.as_str()));
    let next = b.next_rid();
    let r = b.raw(next, "", "").await;
    assert_eq!(
        condition(&r.element()),
        (Some("terminate"), Some("item-not-found"))
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn inactivity_timeout_ends_the_session() {
    let cfg = test_config(&format!("{HTTP}bosh_max_inactivity = 1\n"));
    let srv = start(cfg, &[("bob", "pb")]).await;
    let (mut b, created) = Bosh::create(srv.http_addr().unwrap(), "/http-bind", "hold='0'").await;
    assert_eq!(created.attr("inactivity"), Some("1"));
    let bjid = b.login_anonymous().await;
    let mut t = connect(srv.c2s_addr().unwrap()).await;
    let tjid = t.login_plain("bob", "pb", Some("tcp")).await;
    b.send(&format!("<presence to='{tjid}'/>")).await;
    assert_eq!(t.element().await.name, "presence");
    // No request is held now: after `inactivity` the session ends on its own, and the
    // unavailable presence is the evidence.
    let p = t.element().await;
    assert_eq!(p.attr("type"), Some("unavailable"));
    assert_eq!(p.attr("from"), Some(bjid.as_str()));
    let next = b.next_rid();
    let r = b.raw(next, "", "").await;
    assert_eq!(
        condition(&r.element()),
        (Some("terminate"), Some("item-not-found"))
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_the_right_answer() {
    let srv = start(test_config(HTTP), &[]).await;
    let addr = srv.http_addr().unwrap();
    let create = format!("<body rid='1' to='localhost' wait='30' hold='1' {BODY_NS}/>");
    type Case<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        String,
        u16,
        Option<&'a str>,
    );
    let cases: Vec<Case> = vec![
        (
            "malformed XML",
            "POST",
            Some("text/xml"),
            "<body rid='1' xmlns='http://jabber.org/protocol/httpbind'><a></body>".into(),
            400,
            Some("bad-request"),
        ),
        (
            "not a body",
            "POST",
            Some("text/xml"),
            "<message xmlns='jabber:client'/>".into(),
            400,
            Some("bad-request"),
        ),
        (
            "wrong content type",
            "POST",
            Some("application/json"),
            create.clone(),
            415,
            Some("bad-request"),
        ),
        (
            "no rid",
            "POST",
            Some("text/xml"),
            format!("<body to='localhost' {BODY_NS}/>"),
            200,
            Some("bad-request"),
        ),
        (
            "no to",
            "POST",
            Some("text/xml"),
            format!("<body rid='5' {BODY_NS}/>"),
            200,
            Some("bad-request"),
        ),
        (
            "unknown sid",
            "POST",
            Some("text/xml"),
            format!("<body rid='5' sid='nope' {BODY_NS}/>"),
            200,
            Some("item-not-found"),
        ),
        (
            "comment",
            "POST",
            Some("text/xml"),
            format!("<!-- x --><body rid='5' sid='nope' {BODY_NS}/>"),
            400,
            Some("bad-request"),
        ),
        ("put", "PUT", Some("text/xml"), create.clone(), 405, None),
    ];
    for (name, method, ct, body, status, cond) in cases {
        let headers: Vec<(&str, &str)> = ct.iter().map(|c| ("Content-Type", *c)).collect();
        let r = http(addr, method, "/http-bind", &headers, body.as_bytes()).await;
        assert_eq!(r.status, status, "{name}: {}", r.body);
        if let Some(cond) = cond {
            let b = r.element();
            assert_eq!(condition(&b), (Some("terminate"), Some(cond)), "{name}");
        }
    }
    // Raw invalid UTF-8 bytes.
    let r = http(
        addr,
        "POST",
        "/http-bind",
        &[("Content-Type", "text/xml")],
        b"<body rid='1' to='localhost' xmlns='http://jabber.org/protocol/httpbind'><message><body>\xff\xfe</body></message></body>",
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // A body over the limit.
    let huge = format!(
        "<body rid='1' to='localhost' {BODY_NS}><message><body>{}</body></message></body>",
        "x".repeat(2 * 1024 * 1024)
    );
    let r = http(
        addr,
        "POST",
        "/http-bind",
        &[("Content-Type", "text/xml")],
        huge.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 413);
    // GET explains, OPTIONS answers the CORS preflight.
    let r = http(addr, "GET", "/http-bind", &[], b"").await;
    assert_eq!(r.status, 200);
    let r = http(
        addr,
        "OPTIONS",
        "/http-bind",
        &[
            ("Origin", "https://meet.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
    assert!(
        r.header("Access-Control-Allow-Methods")
            .unwrap()
            .contains("POST")
    );
    // The server still serves.
    let (mut b, _) = Bosh::create(addr, "/http-bind", "").await;
    b.login_anonymous().await;
    srv.shutdown().await;
}

#[tokio::test]
async fn polling_too_fast_is_overactivity() {
    let cfg = test_config("[http]\nlisten = [\"127.0.0.1:0\"]\nbosh_polling = 5\n");
    let srv = start(cfg, &[]).await;
    let (mut b, created) = Bosh::create(srv.http_addr().unwrap(), "/http-bind", "hold='0'").await;
    assert_eq!(created.attr("hold"), Some("0"));
    let first = b.send("").await;
    assert_eq!(first.attr("type"), None);
    let rid = b.next_rid();
    let r = b.raw(rid, "", "").await;
    assert_eq!(
        condition(&r.element()),
        (Some("terminate"), Some("policy-violation"))
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn stream_errors_arrive_as_remote_stream_error() {
    let srv = start(test_config(HTTP), &[]).await;
    let (mut b, _) = Bosh::create(srv.http_addr().unwrap(), "/http-bind", "").await;
    // A stanza before authentication.
    let rid = b.next_rid();
    let r = b
        .raw(
            rid,
            "",
            "<message to='x@localhost'><body>x</body></message>",
        )
        .await
        .element();
    assert_eq!(
        condition(&r),
        (Some("terminate"), Some("remote-stream-error"))
    );
    let err = r.get_child("error", ns::STREAM).unwrap();
    assert!(err.has_child("not-authorized", ns::STREAM_ERRORS));
    // An unknown host at creation.
    let r = post(
        srv.http_addr().unwrap(),
        "/http-bind",
        &format!("<body rid='7' to='nowhere.example' {BODY_NS}/>"),
    )
    .await
    .element();
    assert_eq!(
        condition(&r),
        (Some("terminate"), Some("remote-stream-error"))
    );
    assert!(
        r.get_child("error", ns::STREAM)
            .unwrap()
            .has_child("host-unknown", ns::STREAM_ERRORS)
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn nginx_style_paths_and_tenant_prefix() {
    let srv = start(test_config(HTTP), &[]).await;
    let addr = srv.http_addr().unwrap();
    for path in [
        "/http-bind?prefix=tenant&room=x&token=y",
        "/tenant/http-bind?room=x",
        "/http-bind?room=x&token=y&previd=abc",
    ] {
        let (mut b, _) = Bosh::create(addr, path, "").await;
        let jid = b.login_anonymous().await;
        assert!(jid.ends_with("@localhost/bosh"), "{path}: {jid}");
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn shutdown_answers_held_requests() {
    let srv = start(test_config(HTTP), &[("bob", "pb")]).await;
    let (mut b, _) = Bosh::create(srv.http_addr().unwrap(), "/http-bind", "wait='60'").await;
    b.login_anonymous().await;
    let mut t = connect(srv.c2s_addr().unwrap()).await;
    let tjid = t.login_plain("bob", "pb", Some("tcp")).await;
    let rid = b.next_rid();
    let poll = {
        let b = b.clone();
        tokio::spawn(async move { b.raw(rid, "", &format!("<presence to='{tjid}'/>")).await })
    };
    // The presence arriving proves the request was processed, hence held.
    assert_eq!(t.element().await.name, "presence");
    srv.shutdown().await;
    let r = poll.await.unwrap().element();
    assert_eq!(
        condition(&r),
        (Some("terminate"), Some("remote-stream-error")),
        "{}",
        r.to_xml_string()
    );
    assert!(
        r.get_child("error", ns::STREAM)
            .unwrap()
            .has_child("system-shutdown", ns::STREAM_ERRORS)
    );
}

#[tokio::test]
async fn health_and_metrics() {
    let srv = start(test_config(HTTP), &[]).await;
    let addr = srv.http_addr().unwrap();
    let r = http(addr, "GET", "/health", &[], b"").await;
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    let (mut b, _) = Bosh::create(addr, "/http-bind", "").await;
    b.login_anonymous().await;
    let r = http(addr, "GET", "/metrics", &[], b"").await;
    assert_eq!(r.status, 200);
    assert!(r.header("Content-Type").unwrap().starts_with("text/plain"));
    for line in [
        "rookery_connections{transport=\"bosh\"} 1",
        "rookery_connections{transport=\"websocket\"} 0",
        "rookery_authenticated_total{transport=\"bosh\"} 1",
        "rookery_bound_sessions 1",
        "rookery_queue_overflow_disconnects_total 0",
        "# TYPE rookery_connections gauge",
    ] {
        assert!(
            r.body.lines().any(|l| l == line),
            "missing {line}:\n{}",
            r.body
        );
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn the_url_token_authenticates_anonymous_on_a_token_host() {
    let text = r#"
data_dir = "unused"
[c2s]
listen = ["127.0.0.1:0"]
[http]
listen = ["127.0.0.1:0"]
[[host]]
domain = "localhost"
authentication = "token"
[host.token]
app_id = "app"
app_secret = "s3cret"
asap_accepted_audiences = ["jitsi"]
"#;
    let cfg = rookery_server::Config::parse(text, "t").unwrap();
    let token_cfg = cfg.host("localhost").unwrap().token.clone().unwrap();
    let now = rookery_sasl::token::unix_now();
    let mut claims =
        rookery_sasl::token::default_claims(&token_cfg, "standup", "localhost", now, 3600);
    claims.insert("aud".into(), "jitsi".into());
    let token = rookery_sasl::token::mint(&token_cfg, &serde_json::Value::Object(claims)).unwrap();
    let srv =
        rookery_server::start_with_store(cfg, rookery_server::store::Store::in_memory().unwrap())
            .await
            .unwrap();
    let addr = srv.http_addr().unwrap();
    // docker-jitsi-meet's nginx passes the tenant as ?prefix= next to room and token.
    let path = format!("/http-bind?prefix=tenant&room=standup&token={token}");
    let (mut b, _) = Bosh::create(addr, &path, "hold='0'").await;
    let jid = b.login_anonymous().await;
    assert!(jid.ends_with("@localhost/bosh"), "{jid}");
    let (mut b, _) = Bosh::create(addr, "/http-bind?room=standup", "hold='0'").await;
    let r = b
        .send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>")
        .await;
    let f = r.get_child("failure", ns::SASL).unwrap();
    assert_eq!(
        f.child_text("text", ns::SASL).as_deref(),
        Some("token required")
    );
    srv.shutdown().await;
}
