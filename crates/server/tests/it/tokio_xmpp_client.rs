//! Rookery driven by tokio-xmpp, an independent Rust client library (plain TCP on loopback;
//! its client picks SCRAM-SHA-256 from our offer; its SASL code is also driven with only
//! SCRAM-SHA-1 or PLAIN offered, and with a wrong password): login with a registered
//! account, bind, ping, disco#info parsed by xmpp-parsers, and a message and IQs both ways
//! with a raw client.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common::*;
use futures_util::StreamExt;
use rookery_proto::ns;
use std::collections::BTreeSet;

use sasl::common::Credentials;
use tokio_xmpp::connect::{DnsConfig, ServerConnector, TcpServerConnector};
use tokio_xmpp::error::AuthError;
use tokio_xmpp::jid::Jid;
use tokio_xmpp::minidom::Element as MiniElement;
use tokio_xmpp::parsers::disco::{DiscoInfoQuery, DiscoInfoResult};
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::message::{Lang, Message};
use tokio_xmpp::parsers::ping::Ping;
use tokio_xmpp::parsers::sasl::DefinedCondition as SaslCondition;
use tokio_xmpp::xmlstream::FallibleStreamElement;
use tokio_xmpp::xmlstream::Timeouts;
use tokio_xmpp::{Client, Event, IqRequest, IqResponse, Stanza, client_login};

/// The next event from the tokio-xmpp client, bounded.
async fn next_event(c: &mut Client) -> Event {
    tokio::time::timeout(STEP, c.next())
        .await
        .expect("timed out waiting for tokio-xmpp")
        .expect("the tokio-xmpp stream ended")
}

/// The next stanza, skipping non-stanza events.
async fn next_stanza(c: &mut Client) -> Stanza {
    loop {
        match next_event(c).await {
            Event::Stanza(s) => return s,
            Event::Disconnected(e) => panic!("disconnected: {e}"),
            Event::Online { .. } => continue,
        }
    }
}

async fn iq(c: &mut Client, to: &str, req: IqRequest) -> IqResponse {
    let token = c.send_iq(Some(Jid::new(to).unwrap()), req).await;
    tokio::time::timeout(STEP, token)
        .await
        .expect("timed out waiting for an IQ answer")
        .expect("IQ failed to send")
}

/// One login with tokio-xmpp's own SASL code, offered only `mech`; returns the outcome.
async fn login_with(
    addr: std::net::SocketAddr,
    mech: &str,
    password: &str,
) -> Result<(), tokio_xmpp::Error> {
    let jid = Jid::new("alice@localhost").unwrap();
    let connector = TcpServerConnector::from(DnsConfig::addr(&addr.to_string()));
    let (pending, binding) = connector
        .connect(&jid, "jabber:client", Timeouts::default())
        .await
        .unwrap();
    let (features, stream) = pending
        .recv_features::<FallibleStreamElement>()
        .await
        .unwrap();
    assert!(
        features.sasl_mechanisms.contains(mech),
        "{mech} not offered: {:?}",
        features.sasl_mechanisms
    );
    let creds = Credentials::default()
        .with_username("alice")
        .with_password(password)
        .with_channel_binding(binding);
    let only: BTreeSet<String> = [mech.to_owned()].into();
    tokio::time::timeout(STEP, client_login(stream, only, creds))
        .await
        .expect("timed out in SASL")
        .map(drop)
}

#[tokio::test]
async fn tokio_xmpp_sasl_mechanisms_and_wrong_password() {
    let srv = start(test_config(""), &[("alice", "alice-pw")]).await;
    let addr = srv.c2s_addr().unwrap();
    for mech in ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"] {
        login_with(addr, mech, "alice-pw")
            .await
            .unwrap_or_else(|e| panic!("{mech}: {e}"));
        match login_with(addr, mech, "wrong").await {
            Err(tokio_xmpp::Error::Auth(AuthError::Fail(c))) => {
                assert_eq!(c, SaslCondition::NotAuthorized, "{mech}")
            }
            other => panic!("{mech} with a wrong password: {other:?}"),
        }
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn tokio_xmpp_logs_in_pings_discovers_and_talks_to_a_raw_client() {
    let srv = start(test_config(""), &[("alice", "alice-pw"), ("bob", "bob-pw")]).await;
    let addr = srv.c2s_addr().unwrap();

    let mut alice = Client::new_plaintext(
        Jid::new("alice@localhost/tx").unwrap(),
        "alice-pw",
        DnsConfig::addr(&addr.to_string()),
        Timeouts::default(),
    );
    match next_event(&mut alice).await {
        Event::Online {
            bound_jid, resumed, ..
        } => {
            assert_eq!(bound_jid.to_string(), "alice@localhost/tx");
            assert!(!resumed);
        }
        other => panic!("expected Online, got {other:?}"),
    }

    // XEP-0199 ping to the server.
    match iq(&mut alice, "localhost", IqRequest::Get(Ping.into())).await {
        IqResponse::Result(payload) => assert!(payload.is_none(), "{payload:?}"),
        IqResponse::Error(e) => panic!("ping failed: {e:?}"),
    }

    // disco#info, parsed by xmpp-parsers' strict types.
    let q: MiniElement = DiscoInfoQuery { node: None }.into();
    let info = match iq(&mut alice, "localhost", IqRequest::Get(q)).await {
        IqResponse::Result(Some(p)) => DiscoInfoResult::try_from(p).unwrap(),
        other => panic!("disco#info failed: {other:?}"),
    };
    assert!(info.features.contains(ns::PING), "{:?}", info.features);
    assert!(
        info.features.contains(ns::DISCO_INFO),
        "{:?}",
        info.features
    );
    assert!(
        info.identities.iter().any(|i| i.category == "server"),
        "{:?}",
        info.identities
    );

    // A raw client (bob) to talk to.
    let mut bob = connect(addr).await;
    let jb = bob.login_plain("bob", "bob-pw", Some("raw")).await;
    assert_eq!(jb, "bob@localhost/raw");

    // Message tokio-xmpp → raw.
    let m = Message::chat(Some(Jid::new(&jb).unwrap()))
        .with_body(Lang::default(), "hello from tokio-xmpp".to_owned());
    alice.send_stanza(m.into()).await.unwrap();
    let got = bob.until(|e| e.name == "message").await;
    assert_eq!(got.attr("from"), Some("alice@localhost/tx"));
    assert_eq!(got.attr("type"), Some("chat"));
    assert_eq!(
        got.child_text("body", ns::CLIENT).as_deref(),
        Some("hello from tokio-xmpp")
    );

    // Message raw → tokio-xmpp (to the bare JID: reaches the one resource).
    bob.send(
        "<message to='alice@localhost' type='chat' id='r1'><body>hi back &lt;3</body></message>",
    )
    .await;
    match next_stanza(&mut alice).await {
        Stanza::Message(m) => {
            assert_eq!(m.from.as_ref().unwrap().to_string(), jb);
            assert_eq!(
                m.get_best_body_cloned(vec![]).unwrap().1,
                "hi back <3".to_owned()
            );
        }
        other => panic!("expected a message, got {other:?}"),
    }

    // IQ tokio-xmpp → raw, answered with a payload.
    let token = alice
        .send_iq(
            Some(Jid::new(&jb).unwrap()),
            IqRequest::Get(MiniElement::builder("query", "urn:example:q").build()),
        )
        .await;
    let req = bob.until(|e| e.name == "iq").await;
    assert_eq!(req.attr("from"), Some("alice@localhost/tx"));
    assert_eq!(req.attr("type"), Some("get"));
    assert!(req.has_child("query", "urn:example:q"));
    bob.send(&format!(
        "<iq type='result' id='{}' to='alice@localhost/tx'><answer xmlns='urn:example:q' n='42'/></iq>",
        req.attr("id").unwrap()
    ))
    .await;
    match tokio::time::timeout(STEP, token).await.unwrap().unwrap() {
        IqResponse::Result(Some(p)) => {
            assert_eq!(p.name(), "answer");
            assert_eq!(p.attr("n"), Some("42"));
        }
        other => panic!("expected a result with a payload, got {other:?}"),
    }

    // IQ raw → tokio-xmpp; tokio-xmpp answers it by hand.
    bob.send(
        "<iq type='get' id='from-bob' to='alice@localhost/tx'><query xmlns='urn:example:q'/></iq>",
    )
    .await;
    let (id, from) = match next_stanza(&mut alice).await {
        Stanza::Iq(Iq::Get {
            id, from, payload, ..
        }) => {
            assert_eq!(payload.name(), "query");
            assert_eq!(payload.ns(), "urn:example:q");
            (id, from.unwrap())
        }
        other => panic!("expected an IQ get, got {other:?}"),
    };
    assert_eq!(from.to_string(), jb);
    assert_eq!(id, "from-bob");
    let answer = Iq::Result {
        from: None,
        to: Some(from),
        id,
        payload: Some(MiniElement::builder("answer", "urn:example:q").build()),
    };
    alice.send_stanza(answer.into()).await.unwrap();
    let res = bob.until(|e| e.name == "iq").await;
    assert_eq!(res.attr("type"), Some("result"));
    assert_eq!(res.attr("id"), Some("from-bob"));
    assert_eq!(res.attr("from"), Some("alice@localhost/tx"));
    assert!(res.has_child("answer", "urn:example:q"));

    // An IQ to a resource that is not connected gets service-unavailable.
    match iq(
        &mut alice,
        "bob@localhost/nobody",
        IqRequest::Get(Ping.into()),
    )
    .await
    {
        IqResponse::Error(e) => assert_eq!(
            e.defined_condition,
            tokio_xmpp::parsers::stanza_error::DefinedCondition::ServiceUnavailable
        ),
        other => panic!("expected an error, got {other:?}"),
    }

    alice.send_end().await.unwrap();
    srv.shutdown().await;
}
