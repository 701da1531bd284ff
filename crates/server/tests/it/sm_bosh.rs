//! Stream management (XEP-0198) over BOSH: the feature after SASL, `<enable/>`, and a
//! session whose client stops polling resumed from a new BOSH session with every
//! unacknowledged message redelivered once, in order.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::SocketAddr;

use crate::common::*;
use crate::sm_support::{body, chat};
use rookery_proto::{Element, Limits, StreamEvent, StreamParser, ns};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Every request is answered at once (`hold='0'`, free polling); a session nobody polls
/// for a second is over.
const HTTP: &str =
    "[http]\nlisten = [\"127.0.0.1:0\"]\nbosh_polling = 0\nbosh_max_inactivity = 1\n";

const BODY_NS: &str = "xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'";

async fn post(addr: SocketAddr, body: &str) -> Element {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST /http-bind HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(STEP, s.read_to_end(&mut raw))
        .await
        .expect("timed out waiting for the HTTP answer")
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (_, payload) = text.split_once("\r\n\r\n").unwrap();
    let mut p = StreamParser::new_fragments(
        Limits {
            max_stanza_bytes: 1 << 20,
            max_depth: 64,
        },
        "",
    );
    p.feed(payload.as_bytes());
    match p.next_event().unwrap() {
        Some(StreamEvent::Element(e)) => e,
        other => panic!("not a body: {text}: {other:?}"),
    }
}

struct Bosh {
    addr: SocketAddr,
    sid: String,
    rid: u64,
}

impl Bosh {
    async fn create(addr: SocketAddr) -> Bosh {
        let rid = 5000;
        let r = post(addr, &format!("<body rid='{rid}' to='localhost' xml:lang='en' ver='1.11' xmpp:version='1.0' wait='10' hold='0' {BODY_NS}/>")).await;
        let sid = r.attr("sid").unwrap().to_owned();
        Bosh { addr, sid, rid }
    }

    /// Sends content (possibly none: a poll); returns the children of the response.
    async fn send(&mut self, content: &str) -> Vec<Element> {
        self.send_attrs("", content).await
    }

    async fn send_attrs(&mut self, attrs: &str, content: &str) -> Vec<Element> {
        self.rid += 1;
        let r = post(
            self.addr,
            &format!(
                "<body rid='{}' sid='{}' {attrs} {BODY_NS}>{content}</body>",
                self.rid, self.sid
            ),
        )
        .await;
        assert_ne!(r.attr("type"), Some("terminate"), "{}", r.to_xml_string());
        r.children().cloned().collect()
    }

    /// ANONYMOUS and the restart; returns the features.
    async fn authenticate(&mut self) -> Element {
        let s = self
            .send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>")
            .await;
        assert!(s[0].is("success", ns::SASL), "{s:?}");
        let f = self
            .send_attrs("to='localhost' xml:lang='en' xmpp:restart='true'", "")
            .await;
        f.into_iter()
            .find(|e| e.is("features", ns::STREAM))
            .unwrap()
    }

    /// Polls until `n` stanzas (ack requests aside) arrived.
    async fn stanzas(&mut self, n: usize) -> Vec<Element> {
        let mut got = Vec::new();
        while got.len() < n {
            for e in self.send("").await {
                if !e.is("r", ns::SM) {
                    got.push(e);
                }
            }
        }
        got
    }
}

#[tokio::test]
async fn a_session_that_stops_polling_is_resumed_from_a_new_bosh_session() {
    let srv = start(test_config(HTTP), &[("bob", "pb")]).await;
    let http = srv.http_addr().unwrap();
    let mut b = Bosh::create(http).await;
    let f = b.authenticate().await;
    assert!(f.has_child("sm", ns::SM), "{}", f.to_xml_string());
    let r = b.send("<iq type='set' id='b1' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>bosh</resource></bind></iq>").await;
    let bjid = r[0]
        .get_child("bind", ns::BIND)
        .unwrap()
        .child_text("jid", ns::BIND)
        .unwrap();
    let r = b
        .send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
        .await;
    let enabled = r.iter().find(|e| e.is("enabled", ns::SM)).unwrap();
    let id = enabled.attr("id").unwrap().to_owned();

    let mut t = connect(srv.c2s_addr().unwrap()).await;
    let tjid = t.login_plain("bob", "pb", Some("tcp")).await;
    t.send(&chat(&bjid, "n1")).await;
    t.send(&chat(&bjid, "n2")).await;
    let got: Vec<String> = b.stanzas(2).await.iter().map(body).collect();
    assert_eq!(got, ["n1", "n2"]);
    b.send(&format!(
        "<message xmlns='jabber:client' to='{tjid}' type='chat'><body>b1</body></message>"
    ))
    .await;
    assert_eq!(body(&t.element().await), "b1");

    // The client stops polling; bob goes on.
    t.send(&chat(&bjid, "n3")).await;
    t.send(&chat(&bjid, "n4")).await;

    let mut b2 = Bosh::create(http).await;
    b2.authenticate().await;
    let r = b2
        .send(&format!(
            "<resume xmlns='urn:xmpp:sm:3' previd='{id}' h='2'/>"
        ))
        .await;
    let resumed = r.iter().find(|e| e.is("resumed", ns::SM));
    let resumed = resumed.unwrap_or_else(|| panic!("{r:?}"));
    assert_eq!(resumed.attr("h"), Some("1"), "the server handled b1");
    let mut got: Vec<String> = r.iter().filter(|e| e.name == "message").map(body).collect();
    t.send(&chat(&bjid, "n5")).await;
    while got.last().map(String::as_str) != Some("n5") {
        got.extend(b2.stanzas(1).await.iter().map(body));
    }
    assert_eq!(got, ["n3", "n4", "n5"]);

    // The old BOSH session is gone.
    b.rid += 1;
    let r = post(
        http,
        &format!("<body rid='{}' sid='{}' {BODY_NS}/>", b.rid, b.sid),
    )
    .await;
    assert_eq!(r.attr("type"), Some("terminate"), "{}", r.to_xml_string());
    srv.shutdown().await;
}
