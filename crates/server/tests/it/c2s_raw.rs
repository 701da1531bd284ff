//! Scripted raw-XML conversations over real sockets: negotiation, stream errors, routing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::*;
use rookery_proto::ns;

#[tokio::test]
async fn anonymous_login_bind_ping_disco_version() {
    let srv = start(test_config(""), &[]).await;
    let mut c = connect(srv.c2s_addr().unwrap()).await;
    let f = c.open().await;
    assert!(f.has_child("starttls", ns::TLS));
    let mechs: Vec<String> = f
        .get_child("mechanisms", ns::SASL)
        .unwrap()
        .children()
        .map(|m| m.text())
        .collect();
    assert_eq!(
        mechs,
        ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "ANONYMOUS"]
    );
    let header = c.header.clone().unwrap();
    assert_eq!(header.from.as_deref(), Some("localhost"));
    assert!(header.id.as_deref().map(|i| i.len() >= 16).unwrap_or(false));
    c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>")
        .await;
    assert_eq!(c.element().await.name, "success");
    let jid = c.bind(Some("res1")).await;
    assert!(jid.ends_with("@localhost/res1"), "{jid}");

    let pong = c
        .iq(
            "<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
            "p1",
        )
        .await;
    assert_eq!(pong.attr("type"), Some("result"));
    assert_eq!(pong.attr("from"), Some("localhost"));

    let info = c.iq("<iq type='get' id='d1' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>", "d1").await;
    let q = info.get_child("query", ns::DISCO_INFO).unwrap();
    assert!(q.children().any(|f| f.attr("var") == Some(ns::PING)));
    assert_eq!(
        q.get_child("identity", ns::DISCO_INFO)
            .unwrap()
            .attr("category"),
        Some("server")
    );

    let v = c
        .iq(
            "<iq type='get' id='v1' to='localhost'><query xmlns='jabber:iq:version'/></iq>",
            "v1",
        )
        .await;
    assert_eq!(
        v.get_child("query", ns::VERSION)
            .unwrap()
            .child_text("name", ns::VERSION)
            .unwrap(),
        "Rookery"
    );

    let unknown = c
        .iq(
            "<iq type='get' id='u1' to='localhost'><query xmlns='urn:unknown'/></iq>",
            "u1",
        )
        .await;
    assert_eq!(unknown.attr("type"), Some("error"));
    assert!(
        unknown
            .get_child("error", ns::CLIENT)
            .unwrap()
            .has_child("service-unavailable", ns::STANZAS)
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn messages_and_iqs_between_two_clients() {
    let srv = start(test_config(""), &[("alice", "pa"), ("bob", "pb")]).await;
    let addr = srv.c2s_addr().unwrap();
    let mut a = connect(addr).await;
    let mut b = connect(addr).await;
    let ja = a.login_plain("alice", "pa", Some("a1")).await;
    let jb = b.login_plain("bob", "pb", Some("b1")).await;
    assert_eq!(ja, "alice@localhost/a1");
    // Full JID.
    a.send(&format!("<message to='{jb}' type='chat' id='m1'><body>hi &amp; bye</body><x xmlns='urn:ext' k='v'><y/></x></message>")).await;
    let m = b.element().await;
    assert_eq!(m.attr("from"), Some(ja.as_str()));
    assert_eq!(m.child_text("body", ns::CLIENT).unwrap(), "hi & bye");
    assert!(
        m.get_child("x", "urn:ext")
            .unwrap()
            .has_child("y", "urn:ext")
    );
    // Bare JID reaches the connected resource.
    a.send("<message to='bob@localhost' type='chat'><body>bare</body></message>")
        .await;
    assert_eq!(
        b.element().await.child_text("body", ns::CLIENT).unwrap(),
        "bare"
    );
    // IQ round trip between clients.
    a.send(&format!(
        "<iq type='get' id='q1' to='{jb}'><query xmlns='urn:custom'/></iq>"
    ))
    .await;
    let q = b.element().await;
    assert_eq!(q.attr("from"), Some(ja.as_str()));
    b.send(&format!(
        "<iq type='result' id='q1' to='{ja}'><answer xmlns='urn:custom'/></iq>"
    ))
    .await;
    let r = a.element().await;
    assert_eq!(r.attr("id"), Some("q1"));
    assert!(r.has_child("answer", "urn:custom"));
    // IQ to an unknown resource: service-unavailable; a result to nowhere: no reply.
    a.send("<iq type='result' id='x' to='bob@localhost/none'/>")
        .await;
    let e = a
        .iq(
            "<iq type='get' id='q2' to='bob@localhost/none'><query xmlns='urn:custom'/></iq>",
            "q2",
        )
        .await;
    assert!(
        e.get_child("error", ns::CLIENT)
            .unwrap()
            .has_child("service-unavailable", ns::STANZAS)
    );
    // Message to an offline account bounces.
    a.send("<message to='nobody@localhost' type='chat' id='m9'><body>x</body></message>")
        .await;
    let bounce = a.element().await;
    assert_eq!(bounce.attr("type"), Some("error"));
    assert_eq!(bounce.attr("id"), Some("m9"));
    // Unknown domain.
    let rs = a
        .iq(
            "<iq type='get' id='q3' to='elsewhere.example'><ping xmlns='urn:xmpp:ping'/></iq>",
            "q3",
        )
        .await;
    assert!(
        rs.get_child("error", ns::CLIENT)
            .unwrap()
            .has_child("remote-server-not-found", ns::STANZAS)
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn directed_presence_gets_unavailable_on_disconnect() {
    let srv = start(test_config(""), &[]).await;
    let addr = srv.c2s_addr().unwrap();
    let mut a = connect(addr).await;
    let mut b = connect(addr).await;
    let ja = a.login_anonymous(Some("a")).await;
    let jb = b.login_anonymous(Some("b")).await;
    a.send(&format!(
        "<presence to='{jb}'><status>here</status></presence>"
    ))
    .await;
    let p = b.element().await;
    assert_eq!(p.attr("from"), Some(ja.as_str()));
    assert_eq!(p.attr("type"), None);
    drop(a);
    let gone = b.element().await;
    assert_eq!(gone.name, "presence");
    assert_eq!(gone.attr("type"), Some("unavailable"));
    assert_eq!(gone.attr("from"), Some(ja.as_str()));
    srv.shutdown().await;
}

#[tokio::test]
async fn wrong_password_is_not_authorized_and_stream_stays_open() {
    let srv = start(test_config(""), &[("alice", "right")]).await;
    let mut c = connect(srv.c2s_addr().unwrap()).await;
    c.open().await;
    c.send(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHdyb25n</auth>",
    )
    .await;
    let f = c.element().await;
    assert_eq!(f.name, "failure");
    assert!(f.has_child("not-authorized", ns::SASL));
    // Retry on the same stream works.
    use base64::Engine;
    let ok = base64::engine::general_purpose::STANDARD.encode("\0alice\0right");
    c.send(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{ok}</auth>"
    ))
    .await;
    assert_eq!(c.element().await.name, "success");
    srv.shutdown().await;
}

async fn error_after(input: &str) -> (String, Option<String>) {
    let srv = start(test_config("c2s_stanza_size_limit = 1024"), &[]).await;
    let mut c = connect(srv.c2s_addr().unwrap()).await;
    c.send(input).await;
    let e = c.stream_error().await;
    srv.shutdown().await;
    e
}

#[tokio::test]
async fn stream_errors_table() {
    let bound_prefix = "";
    let _ = bound_prefix;
    let cases: &[(&str, &str)] = &[
        (
            "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'><message><a></b></message>",
            "not-well-formed",
        ),
        (
            "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>",
            "invalid-namespace",
        ),
        (
            "<stream:stream xmlns='jabber:client' xmlns:stream='urn:not-streams' to='localhost' version='1.0'>",
            "invalid-namespace",
        ),
        (
            "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='nowhere.example' version='1.0'>",
            "host-unknown",
        ),
        (
            "<?xml version='1.0'?><!DOCTYPE foo [<!ENTITY x 'y'>]>",
            "restricted-xml",
        ),
        (&format!("{OPEN}<!-- comment -->"), "restricted-xml"),
        (&format!("{OPEN}<message>&xxe;</message>"), "restricted-xml"),
        (&format!("{OPEN}<?php echo ?>"), "restricted-xml"),
        (
            &format!("{OPEN}<message to='x@localhost'/>"),
            "not-authorized",
        ),
    ];
    for (input, expected) in cases {
        let (cond, text) = error_after(input).await;
        assert_eq!(&cond, expected, "input {input}: text {text:?}");
    }
}

#[tokio::test]
async fn stanza_one_byte_over_the_limit() {
    let srv = start(test_config("c2s_stanza_size_limit = 1024"), &[]).await;
    let addr = srv.c2s_addr().unwrap();
    let exact = |n: usize| {
        let head =
            "<iq type='get' id='p' to='localhost'><ping xmlns='urn:xmpp:ping'/><x xmlns='urn:pad'>";
        let tail = "</x></iq>";
        format!("{head}{}{tail}", "a".repeat(n - head.len() - tail.len()))
    };
    let mut ok = connect(addr).await;
    ok.login_anonymous(None).await;
    let r = ok.iq(&exact(1024), "p").await;
    assert_eq!(r.attr("type"), Some("result"));
    let mut over = connect(addr).await;
    over.login_anonymous(None).await;
    over.send(&exact(1025)).await;
    let (cond, _) = over.stream_error().await;
    assert_eq!(cond, "policy-violation");
    // The server keeps serving the first client.
    let r = ok
        .iq(
            "<iq type='get' id='p2' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
            "p2",
        )
        .await;
    assert_eq!(r.attr("type"), Some("result"));
    srv.shutdown().await;
}

#[tokio::test]
async fn unsupported_stanza_type_after_bind() {
    let srv = start(test_config(""), &[]).await;
    let mut c = connect(srv.c2s_addr().unwrap()).await;
    c.login_anonymous(None).await;
    c.send("<foo xmlns='jabber:client'/>").await;
    assert_eq!(c.stream_error().await.0, "unsupported-stanza-type");
    srv.shutdown().await;
}

#[tokio::test]
async fn negotiation_timeout() {
    let srv = start(test_config("c2s_negotiation_timeout = 1"), &[]).await;
    let mut c = connect(srv.c2s_addr().unwrap()).await;
    c.open().await;
    assert_eq!(c.stream_error().await.0, "connection-timeout");
    srv.shutdown().await;
}

#[tokio::test]
async fn resource_conflict_takes_over() {
    let srv = start(test_config(""), &[("alice", "pw")]).await;
    let addr = srv.c2s_addr().unwrap();
    let mut first = connect(addr).await;
    first.login_plain("alice", "pw", Some("same")).await;
    let mut second = connect(addr).await;
    let j = second.login_plain("alice", "pw", Some("same")).await;
    assert_eq!(j, "alice@localhost/same");
    assert_eq!(first.stream_error().await.0, "conflict");
    let r = second
        .iq(
            "<iq type='get' id='p' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
            "p",
        )
        .await;
    assert_eq!(r.attr("type"), Some("result"));
    srv.shutdown().await;
}

#[tokio::test]
async fn shutdown_sends_system_shutdown() {
    let srv = start(test_config(""), &[]).await;
    let mut c = connect(srv.c2s_addr().unwrap()).await;
    c.login_anonymous(None).await;
    let t = tokio::spawn(async move { c.stream_error().await });
    srv.shutdown().await;
    assert_eq!(t.await.unwrap().0, "system-shutdown");
}

#[tokio::test]
async fn client_that_never_reads_is_disconnected_and_others_keep_working() {
    let srv = start(test_config("c2s_send_queue = 64"), &[]).await;
    let addr = srv.c2s_addr().unwrap();
    let mut sink = connect(addr).await;
    let jsink = sink.login_anonymous(Some("sink")).await;
    let mut sender = connect(addr).await;
    sender.login_anonymous(Some("sender")).await;
    let mut other = connect(addr).await;
    let jother = other.login_anonymous(Some("other")).await;
    // The sink stops reading. Flood it until the router reports the disconnect.
    let body = "x".repeat(4000);
    let mut disconnected = false;
    for i in 0..20_000 {
        sender
            .send(&format!(
                "<message to='{jsink}' type='chat'><body>{body}</body></message>"
            ))
            .await;
        if i % 100 == 0 {
            // The other client still gets its messages promptly.
            sender
                .send(&format!(
                    "<message to='{jother}' type='chat' id='o{i}'><body>ping</body></message>"
                ))
                .await;
            let m = other.element().await;
            assert_eq!(m.attr("id"), Some(format!("o{i}").as_str()));
            if srv.overflow_disconnects() > 0
                && !srv.is_bound(&rookery_proto::Jid::parse(&jsink).unwrap())
            {
                disconnected = true;
                break;
            }
        }
    }
    assert!(
        disconnected,
        "the non-reading client was never disconnected"
    );
    drop(sink);
    srv.shutdown().await;
}

#[tokio::test]
async fn bytes_split_at_every_offset_give_the_same_conversation() {
    let srv = start(test_config(""), &[]).await;
    let addr = srv.c2s_addr().unwrap();
    let script =
        format!("{OPEN}<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>");
    for cut in (0..script.len()).step_by(7) {
        let mut c = connect(addr).await;
        let (a, b) = script.split_at(cut);
        c.send(a).await;
        tokio::task::yield_now().await;
        c.send(b).await;
        let f = c.element().await;
        assert_eq!(f.name, "features");
        assert_eq!(c.element().await.name, "success", "cut at {cut}");
    }
    srv.shutdown().await;
}
