//! XEP-0114 external components over real sockets: handshake, routing both ways in the
//! component namespace, and the refusals (wrong secret, unknown domain, second connection,
//! foreign `from`, component offline).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::*;
use rookery_proto::{StreamEvent, ns};
use tokio::net::TcpStream;

const SECRET: &str = "s3cret-component";

fn config() -> rookery_server::Config {
    let mut cfg = test_config("");
    let extra = rookery_server::Config::parse(
        &format!(
            "[components]\nlisten = [\"127.0.0.1:0\"]\n\n[[component]]\ndomain = \"focus.localhost\"\nsecret = \"{SECRET}\"\n\n[[component]]\ndomain = \"other.localhost\"\nsecret = \"other\"\n"
        ),
        "components",
    )
    .unwrap();
    cfg.component_listener = extra.component_listener;
    cfg.components = extra.components;
    cfg
}

fn component_open(domain: &str) -> String {
    format!(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='{domain}'>"
    )
}

/// Opens a component stream and returns the stream id from the server's header.
async fn open(c: &mut Raw<TcpStream>, domain: &str) -> String {
    c.send(&component_open(domain)).await;
    match c.event().await {
        Some(StreamEvent::Open(h)) => {
            assert_eq!(h.default_ns, ns::COMPONENT);
            assert_eq!(h.from.as_deref(), Some(domain));
            h.id.unwrap()
        }
        other => panic!("expected a stream header, got {other:?}"),
    }
}

/// Connects and authenticates a component.
async fn component(srv: &rookery_server::Running, domain: &str, secret: &str) -> Raw<TcpStream> {
    let mut c = connect(srv.component_addr().unwrap()).await;
    let id = open(&mut c, domain).await;
    let digest = rookery_server::handshake_digest(&id, secret);
    c.send(&format!("<handshake>{digest}</handshake>")).await;
    let ok = c.element().await;
    assert!(ok.is("handshake", ns::COMPONENT), "{}", ok.to_xml_string());
    assert!(ok.text().is_empty());
    c
}

/// Authenticates `focus.localhost`, retrying while the server still holds a previous
/// connection's slot (it frees it when that connection's task ends).
async fn reclaim(srv: &rookery_server::Running) -> Raw<TcpStream> {
    loop {
        let mut c = connect(srv.component_addr().unwrap()).await;
        let id = open(&mut c, "focus.localhost").await;
        let digest = rookery_server::handshake_digest(&id, SECRET);
        c.send(&format!("<handshake>{digest}</handshake>")).await;
        match c.event().await {
            Some(StreamEvent::Element(e)) if e.name == "handshake" => return c,
            Some(StreamEvent::Element(e)) if e.name == "error" => {
                assert!(e.has_child("conflict", ns::STREAM_ERRORS));
                tokio::task::yield_now().await;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

async fn next_named(c: &mut Raw<TcpStream>, name: &str) -> rookery_proto::Element {
    loop {
        let e = c.element().await;
        if e.name == name {
            return e;
        }
    }
}

#[tokio::test]
async fn routes_both_ways_in_the_component_namespace() {
    let srv = start(config(), &[]).await;
    let mut comp = component(&srv, "focus.localhost", SECRET).await;
    let mut client = connect(srv.c2s_addr().unwrap()).await;
    let me = client.login_anonymous(Some("web")).await;

    // Client → component: the stanza arrives in jabber:component:accept with the client's
    // full JID as `from`, payload intact.
    client
        .send("<iq type='set' id='c1' to='focus.localhost'><conference xmlns='http://jitsi.org/protocol/focus' room='r@conference.localhost'><property name='x' value='1'/></conference></iq>")
        .await;
    let iq = next_named(&mut comp, "iq").await;
    assert_eq!(iq.ns, ns::COMPONENT);
    assert_eq!(iq.attr("from"), Some(me.as_str()));
    assert_eq!(iq.attr("to"), Some("focus.localhost"));
    let conf = iq
        .get_child("conference", "http://jitsi.org/protocol/focus")
        .unwrap();
    assert_eq!(conf.attr("room"), Some("r@conference.localhost"));

    // Component → client: the answer reaches the client in jabber:client.
    comp.send(&format!(
        "<iq type='result' id='c1' from='focus.localhost' to='{me}'><conference xmlns='http://jitsi.org/protocol/focus' ready='true'/></iq>"
    ))
    .await;
    let answer = client.iq("", "c1").await;
    assert_eq!(answer.ns, ns::CLIENT);
    assert_eq!(answer.attr("type"), Some("result"));
    assert_eq!(answer.attr("from"), Some("focus.localhost"));

    // A node on the component's domain may send too; the client's reply comes back.
    comp.send(&format!(
        "<iq type='get' id='p1' from='agent@focus.localhost/x' to='{me}'><ping xmlns='urn:xmpp:ping'/></iq>"
    ))
    .await;
    let ping = next_named(&mut client, "iq").await;
    assert_eq!(ping.attr("from"), Some("agent@focus.localhost/x"));
    client
        .send("<iq type='result' id='p1' to='agent@focus.localhost/x'/>")
        .await;
    let pong = next_named(&mut comp, "iq").await;
    assert_eq!(pong.attr("type"), Some("result"));
    assert_eq!(pong.attr("to"), Some("agent@focus.localhost/x"));
    assert_eq!(pong.attr("from"), Some(me.as_str()));
    srv.shutdown().await;
}

#[tokio::test]
async fn wrong_secret_is_not_authorized() {
    let srv = start(config(), &[]).await;
    let mut c = connect(srv.component_addr().unwrap()).await;
    let id = open(&mut c, "focus.localhost").await;
    let digest = rookery_server::handshake_digest(&id, "not-the-secret");
    c.send(&format!("<handshake>{digest}</handshake>")).await;
    let (cond, _) = c.stream_error().await;
    assert_eq!(cond, "not-authorized");
    // The right secret on a fresh connection still works (nothing was claimed).
    let _ok = component(&srv, "focus.localhost", SECRET).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn stanza_before_handshake_is_not_authorized() {
    let srv = start(config(), &[]).await;
    let mut c = connect(srv.component_addr().unwrap()).await;
    open(&mut c, "focus.localhost").await;
    c.send("<message from='focus.localhost' to='x@localhost'/>")
        .await;
    let (cond, _) = c.stream_error().await;
    assert_eq!(cond, "not-authorized");
    srv.shutdown().await;
}

#[tokio::test]
async fn unknown_domain_is_host_unknown() {
    let srv = start(config(), &[]).await;
    let mut c = connect(srv.component_addr().unwrap()).await;
    c.send(&component_open("nobody.localhost")).await;
    let (cond, _) = c.stream_error().await;
    assert_eq!(cond, "host-unknown");
    // A client host is not a component either.
    let mut c = connect(srv.component_addr().unwrap()).await;
    c.send(&component_open("localhost")).await;
    let (cond, _) = c.stream_error().await;
    assert_eq!(cond, "host-unknown");
    srv.shutdown().await;
}

#[tokio::test]
async fn second_connection_gets_conflict_and_the_first_keeps_working() {
    let srv = start(config(), &[]).await;
    let mut first = component(&srv, "focus.localhost", SECRET).await;
    let mut second = connect(srv.component_addr().unwrap()).await;
    let id = open(&mut second, "focus.localhost").await;
    let digest = rookery_server::handshake_digest(&id, SECRET);
    second
        .send(&format!("<handshake>{digest}</handshake>"))
        .await;
    let (cond, _) = second.stream_error().await;
    assert_eq!(cond, "conflict");

    let mut client = connect(srv.c2s_addr().unwrap()).await;
    client.login_anonymous(None).await;
    client
        .send("<message to='focus.localhost' id='m1'><body>still there?</body></message>")
        .await;
    let m = next_named(&mut first, "message").await;
    assert_eq!(
        m.child_text("body", ns::COMPONENT).as_deref(),
        Some("still there?")
    );

    // Once the first disconnects, the domain can be claimed again.
    drop(first);
    let mut again = reclaim(&srv).await;
    client
        .send("<message to='focus.localhost' id='m2'><body>again</body></message>")
        .await;
    let m = next_named(&mut again, "message").await;
    assert_eq!(m.attr("id"), Some("m2"));
    srv.shutdown().await;
}

#[tokio::test]
async fn foreign_from_is_invalid_from() {
    let srv = start(config(), &[]).await;
    // Another configured component's domain, a client host and a missing `from`.
    for (from, expected) in [
        ("from='other.localhost'", "invalid-from"),
        ("from='someone@localhost/r'", "invalid-from"),
        ("", "improper-addressing"),
    ] {
        let mut comp = reclaim(&srv).await;
        comp.send(&format!(
            "<message {from} to='x@localhost'><body>spoof</body></message>"
        ))
        .await;
        let (cond, _) = comp.stream_error().await;
        assert_eq!(cond, expected, "{from}");
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn a_component_with_subdomains_owns_them() {
    let mut cfg = test_config("");
    let extra = rookery_server::Config::parse(
        "[components]\nlisten = [\"127.0.0.1:0\"]\n[[component]]\ndomain = \"gw.localhost\"\nsecret = \"gw\"\nsubdomains = true\n",
        "components",
    )
    .unwrap();
    cfg.component_listener = extra.component_listener;
    cfg.components = extra.components;
    let srv = start(cfg, &[]).await;
    let mut comp = connect(srv.component_addr().unwrap()).await;
    let id = open(&mut comp, "gw.localhost").await;
    let digest = rookery_server::handshake_digest(&id, "gw");
    comp.send(&format!("<handshake>{digest}</handshake>")).await;
    assert_eq!(comp.element().await.name, "handshake");

    let mut client = connect(srv.c2s_addr().unwrap()).await;
    let me = client.login_anonymous(Some("c")).await;
    client
        .send("<message to='room@conf.gw.localhost' id='s1'><body>to a subdomain</body></message>")
        .await;
    let m = next_named(&mut comp, "message").await;
    assert_eq!(m.attr("to"), Some("room@conf.gw.localhost"));
    comp.send(&format!(
        "<message from='room@conf.gw.localhost/bot' to='{me}' id='s2'><body>from a subdomain</body></message>"
    ))
    .await;
    let back = next_named(&mut client, "message").await;
    assert_eq!(back.attr("from"), Some("room@conf.gw.localhost/bot"));
    // A look-alike domain is still someone else's.
    comp.send(&format!("<message from='xgw.localhost' to='{me}'/>"))
        .await;
    let (cond, _) = comp.stream_error().await;
    assert_eq!(cond, "invalid-from");
    srv.shutdown().await;
}

#[tokio::test]
async fn a_component_leaves_its_rooms_when_it_disconnects() {
    let mut cfg = config();
    let muc = rookery_server::Config::parse(
        "[[muc]]\ndomain = \"conference.localhost\"\nmuc_room_locking = false\n",
        "muc",
    )
    .unwrap();
    cfg.mucs = muc.mucs;
    let srv = start(cfg, &[]).await;
    let mut client = connect(srv.c2s_addr().unwrap()).await;
    client.login_anonymous(Some("c")).await;
    client
        .send("<presence to='r@conference.localhost/human'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
        .await;
    next_named(&mut client, "presence").await;
    let mut comp = component(&srv, "focus.localhost", SECRET).await;
    comp.send("<presence from='bot@focus.localhost/x' to='r@conference.localhost/bot'><x xmlns='http://jabber.org/protocol/muc'/></presence>").await;
    let joined = next_named(&mut client, "presence").await;
    assert_eq!(joined.attr("from"), Some("r@conference.localhost/bot"));
    drop(comp);
    let left = next_named(&mut client, "presence").await;
    assert_eq!(left.attr("from"), Some("r@conference.localhost/bot"));
    assert_eq!(left.attr("type"), Some("unavailable"));
    srv.shutdown().await;
}

#[tokio::test]
async fn offline_component_answers_service_unavailable() {
    let srv = start(config(), &[]).await;
    let mut client = connect(srv.c2s_addr().unwrap()).await;
    client.login_anonymous(None).await;
    let r = client
        .iq(
            "<iq type='set' id='c1' to='focus.localhost'><conference xmlns='http://jitsi.org/protocol/focus'/></iq>",
            "c1",
        )
        .await;
    assert_eq!(r.attr("type"), Some("error"));
    assert!(
        r.get_child("error", ns::CLIENT)
            .unwrap()
            .has_child("service-unavailable", ns::STANZAS)
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn the_secret_is_never_in_the_logged_config() {
    let cfg = config();
    let dump = format!("{cfg:?}");
    assert!(dump.contains("focus.localhost"));
    assert!(!dump.contains(SECRET), "{dump}");
}

#[test]
fn config_refusals_name_the_key() {
    for (text, key) in [
        (
            "[[component]]\ndomain = \"c.example\"\nsecret = \"\"\n",
            "component.secret",
        ),
        (
            "[[component]]\ndomain = \"a@c.example\"\nsecret = \"x\"\n",
            "component.domain",
        ),
        (
            "[[component]]\ndomain = \"c.example\"\nsecret = \"x\"\n[[component]]\ndomain = \"C.example\"\nsecret = \"y\"\n",
            "component.domain",
        ),
        (
            "[[host]]\ndomain = \"c.example\"\nauthentication = \"anonymous\"\n[[component]]\ndomain = \"c.example\"\nsecret = \"x\"\n",
            "component.domain",
        ),
        (
            "[[component]]\ndomain = \"c.example\"\nsecret = \"x\"\nport = 5347\n",
            "port",
        ),
        (
            "[[host]]\ndomain = \"a.c.example\"\nauthentication = \"anonymous\"\n[[component]]\ndomain = \"c.example\"\nsecret = \"x\"\nsubdomains = true\n",
            "component.subdomains",
        ),
    ] {
        let e = rookery_server::Config::parse(text, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains(key), "{text}: {e}");
    }
}
