//! The client proxy over real sockets: requests to the proxy domain reach the target account
//! from a proxied JID, answers come back from the proxy domain, an offline target means an
//! immediate `service-unavailable`, and a connected component of the same domain wins.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::*;
use rookery_proto::{Element, ns};
use tokio::net::TcpStream;

const PROXY: &str =
    "[[client_proxy]]\ndomain = \"focus.localhost\"\ntarget_address = \"focus@localhost\"\n";

fn config(extra: &str) -> rookery_server::Config {
    let mut cfg = test_config("");
    let parsed = rookery_server::Config::parse(
        &format!(
            "[[host]]\ndomain = \"localhost\"\nauthentication = \"internal_hashed\"\n{PROXY}{extra}"
        ),
        "proxy",
    )
    .unwrap();
    cfg.client_proxies = parsed.client_proxies;
    cfg.components = parsed.components;
    cfg.component_listener = parsed.component_listener;
    cfg
}

async fn next_named(c: &mut Raw<TcpStream>, name: &str) -> Element {
    loop {
        let e = c.element().await;
        if e.name == name {
            return e;
        }
    }
}

fn condition(e: &Element) -> Option<String> {
    e.get_child("error", ns::CLIENT)?
        .children()
        .find(|c| c.ns == ns::STANZAS && c.name != "text")
        .map(|c| c.name.clone())
}

#[tokio::test]
async fn request_reaches_the_target_and_the_answer_comes_back_from_the_proxy() {
    let srv = start(config(""), &[("focus", "focuspass")]).await;
    let addr = srv.c2s_addr().unwrap();
    let mut focus = connect(addr).await;
    let focus_jid = focus
        .login_plain("focus", "focuspass", Some("jicofo"))
        .await;
    let mut web = connect(addr).await;
    let web_jid = web.login_anonymous(Some("web")).await;

    web.send("<iq type='set' id='conf1' to='focus.localhost'><conference xmlns='http://jitsi.org/protocol/focus' room='r@conference.localhost' machine-uid='m1'/></iq>").await;
    let req = next_named(&mut focus, "iq").await;
    assert_eq!(req.attr("to"), Some(focus_jid.as_str()));
    assert_eq!(
        req.attr("from"),
        Some(format!("focus.localhost/{web_jid}").as_str())
    );
    assert_eq!(req.attr("id"), Some("conf1"));
    assert_eq!(
        req.get_child("conference", "http://jitsi.org/protocol/focus")
            .unwrap()
            .attr("machine-uid"),
        Some("m1")
    );

    focus
        .send(&format!(
            "<iq type='result' id='conf1' to='focus.localhost/{web_jid}'><conference xmlns='http://jitsi.org/protocol/focus' ready='true' focusjid='{focus_jid}'/></iq>"
        ))
        .await;
    let answer = next_named(&mut web, "iq").await;
    assert_eq!(answer.attr("type"), Some("result"));
    assert_eq!(answer.attr("id"), Some("conf1"));
    assert_eq!(answer.attr("from"), Some("focus.localhost"));
    assert_eq!(answer.attr("to"), Some(web_jid.as_str()));
    assert_eq!(
        answer
            .get_child("conference", "http://jitsi.org/protocol/focus")
            .unwrap()
            .attr("ready"),
        Some("true")
    );

    // Errors from the target are relayed the same way.
    web.send("<iq type='get' id='q2' to='focus.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>").await;
    let req = next_named(&mut focus, "iq").await;
    focus
        .send(&format!(
            "<iq type='error' id='{}' to='{}'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
            req.attr("id").unwrap(),
            req.attr("from").unwrap()
        ))
        .await;
    let err = next_named(&mut web, "iq").await;
    assert_eq!(err.attr("id"), Some("q2"));
    assert_eq!(err.attr("from"), Some("focus.localhost"));
    assert_eq!(condition(&err).as_deref(), Some("item-not-found"));
    srv.shutdown().await;
}

#[tokio::test]
async fn offline_target_answers_service_unavailable_at_once() {
    let srv = start(config(""), &[("focus", "focuspass")]).await;
    let mut web = connect(srv.c2s_addr().unwrap()).await;
    web.login_anonymous(None).await;
    let r = web
        .iq(
            "<iq type='set' id='c1' to='focus.localhost'><conference xmlns='http://jitsi.org/protocol/focus'/></iq>",
            "c1",
        )
        .await;
    assert_eq!(r.attr("type"), Some("error"));
    assert_eq!(r.attr("from"), Some("focus.localhost"));
    assert_eq!(condition(&r).as_deref(), Some("service-unavailable"));

    // After the target went away again, the same.
    let mut focus = connect(srv.c2s_addr().unwrap()).await;
    focus.login_plain("focus", "focuspass", Some("j")).await;
    drop(focus);
    loop {
        let r = web
            .iq(
                "<iq type='set' id='c2' to='focus.localhost'><conference xmlns='http://jitsi.org/protocol/focus'/></iq>",
                "c2",
            )
            .await;
        if r.attr("type") == Some("error") {
            assert_eq!(condition(&r).as_deref(), Some("service-unavailable"));
            break;
        }
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn only_the_target_can_answer_and_presence_messages_are_refused() {
    let srv = start(config(""), &[("focus", "focuspass")]).await;
    let addr = srv.c2s_addr().unwrap();
    let mut focus = connect(addr).await;
    focus.login_plain("focus", "focuspass", Some("j")).await;
    let mut web = connect(addr).await;
    let web_jid = web.login_anonymous(Some("w")).await;
    let mut mallory = connect(addr).await;
    mallory.login_anonymous(Some("m")).await;

    // A forged answer from someone else is not relayed to the victim; it is treated as a
    // request-less result and dropped. The victim's next stanza is the real answer.
    mallory
        .send(&format!(
            "<iq type='result' id='forged' to='focus.localhost/{web_jid}'/>"
        ))
        .await;
    let m = mallory
        .iq(
            "<message to='focus.localhost' id='msg'><body>hi</body></message><iq type='get' id='sync' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
            "sync",
        )
        .await;
    assert_eq!(m.attr("type"), Some("result"));
    web.send("<iq type='get' id='real' to='focus.localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        .await;
    let req = next_named(&mut focus, "iq").await;
    focus
        .send(&format!(
            "<iq type='result' id='{}' to='{}'/>",
            req.attr("id").unwrap(),
            req.attr("from").unwrap()
        ))
        .await;
    let first = next_named(&mut web, "iq").await;
    assert_eq!(first.attr("id"), Some("real"));

    // Presence to the proxy is a bad request; messages are not relayed.
    web.send("<presence to='focus.localhost'/>").await;
    let p = next_named(&mut web, "presence").await;
    assert_eq!(p.attr("type"), Some("error"));
    assert_eq!(condition(&p).as_deref(), Some("bad-request"));
    web.send("<message to='focus.localhost' id='m1'><body>hi</body></message>")
        .await;
    let m = next_named(&mut web, "message").await;
    assert_eq!(m.attr("type"), Some("error"));
    assert_eq!(condition(&m).as_deref(), Some("feature-not-implemented"));
    srv.shutdown().await;
}

#[tokio::test]
async fn a_connected_component_of_the_same_domain_wins_over_the_proxy() {
    let srv = start(
        config("[components]\nlisten = [\"127.0.0.1:0\"]\n[[component]]\ndomain = \"focus.localhost\"\nsecret = \"sec\"\n"),
        &[("focus", "focuspass")],
    )
    .await;
    let addr = srv.c2s_addr().unwrap();
    let mut focus = connect(addr).await;
    focus.login_plain("focus", "focuspass", Some("j")).await;
    let mut web = connect(addr).await;
    web.login_anonymous(Some("w")).await;

    // No component yet: the proxy serves.
    web.send("<iq type='get' id='a' to='focus.localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        .await;
    let via_proxy = next_named(&mut focus, "iq").await;
    assert_eq!(via_proxy.attr("id"), Some("a"));

    // A component connects: it receives the next request.
    let mut comp = connect(srv.component_addr().unwrap()).await;
    comp.send("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='focus.localhost'>").await;
    let id = match comp.event().await {
        Some(rookery_proto::StreamEvent::Open(h)) => h.id.unwrap(),
        other => panic!("{other:?}"),
    };
    let digest = rookery_server::handshake_digest(&id, "sec");
    comp.send(&format!("<handshake>{digest}</handshake>")).await;
    assert_eq!(comp.element().await.name, "handshake");
    web.send("<iq type='get' id='b' to='focus.localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
        .await;
    let via_component = next_named(&mut comp, "iq").await;
    assert_eq!(via_component.attr("id"), Some("b"));
    srv.shutdown().await;
}

#[test]
fn config_refusals_name_the_key() {
    for (text, key) in [
        (
            "[[client_proxy]]\ndomain = \"focus.example\"\ntarget_address = \"focus@auth.example\"\n",
            "client_proxy.target_address",
        ),
        (
            "[[host]]\ndomain = \"auth.example\"\nauthentication = \"internal_hashed\"\n[[client_proxy]]\ndomain = \"focus.example\"\ntarget_address = \"auth.example\"\n",
            "client_proxy.target_address",
        ),
        (
            "[[host]]\ndomain = \"auth.example\"\nauthentication = \"internal_hashed\"\n[[client_proxy]]\ndomain = \"auth.example\"\ntarget_address = \"focus@auth.example\"\n",
            "client_proxy.domain",
        ),
        (
            "[[client_proxy]]\ndomain = \"focus.example\"\ntarget = \"focus@auth.example\"\n",
            "target",
        ),
    ] {
        let e = rookery_server::Config::parse(text, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains(key), "{text}: {e}");
    }
}
