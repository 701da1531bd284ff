//! Stream management (XEP-0198) in the sans-io session: where each element may appear, the
//! inbound counter (with wraparound), and resumption's hand-over points.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

use rookery_c2s::{
    Action, Env, HostAuth, HostPolicy, Input, Session, TransportInfo, TransportKind,
};
use rookery_proto::{
    Element, Jid, Limits, StanzaErrorCondition, StreamEvent, StreamHeader, StreamParser, ns,
};
use rookery_sasl::{ScramCredentials, ScramHash};

struct TestEnv;

impl Env for TestEnv {
    fn host(&self, domain: &str) -> Option<Arc<HostPolicy>> {
        (domain == "localhost").then(|| {
            Arc::new(HostPolicy {
                domain: "localhost".into(),
                auth: HostAuth::Anonymous,
                require_encryption: false,
                allow_unencrypted_plain: true,
            })
        })
    }
    fn credentials(
        &self,
        _: &str,
        _: &str,
        _: ScramHash,
    ) -> Result<Option<ScramCredentials>, String> {
        Ok(None)
    }
    fn new_stream_id(&self) -> String {
        "stream".into()
    }
}

fn el(xml: &str) -> Element {
    let mut p = StreamParser::new_fragments(
        Limits {
            max_stanza_bytes: 4096,
            max_depth: 8,
        },
        ns::CLIENT,
    );
    p.feed(xml.as_bytes());
    match p.next_event().unwrap() {
        Some(StreamEvent::Element(e)) => e,
        other => panic!("{other:?}"),
    }
}

fn open() -> Input {
    Input::Open(StreamHeader {
        to: Some("localhost".into()),
        from: None,
        version: Some("1.0".into()),
        lang: None,
        id: None,
        default_ns: ns::CLIENT.into(),
        bindings: Vec::new(),
    })
}

fn send(s: &mut Session, xml: &str) -> Vec<Action> {
    s.handle(&TestEnv, Input::Element(el(xml)))
}

/// The elements among the actions.
fn sent(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(e) => Some(e.to_xml_string()),
            _ => None,
        })
        .collect()
}

fn closed_with(actions: &[Action]) -> Option<String> {
    actions.iter().find_map(|a| match a {
        Action::Close(Some((c, _))) => Some(c.as_str().to_owned()),
        _ => None,
    })
}

/// A session authenticated with ANONYMOUS, its post-SASL features read.
fn authenticated(sm_available: bool) -> (Session, Element) {
    let mut s = Session::new(TransportInfo {
        starttls_available: false,
        encrypted: true,
        sm_available,
        kind: TransportKind::Tcp,
    });
    s.handle(&TestEnv, open());
    let a = send(
        &mut s,
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>",
    );
    assert!(a.iter().any(|a| matches!(a, Action::Restart)));
    let a = s.handle(&TestEnv, open());
    let features = a
        .iter()
        .find_map(|a| match a {
            Action::Send(e) if e.name == "features" => Some(e.clone()),
            _ => None,
        })
        .unwrap();
    (s, features)
}

fn bound(sm_available: bool) -> Session {
    let (mut s, _) = authenticated(sm_available);
    let a = send(
        &mut s,
        "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>",
    );
    assert!(matches!(a.as_slice(), [Action::Bind { .. }]));
    s.bound(Jid::parse("u@localhost/r").unwrap(), "b");
    s
}

const ENABLE: &str = "<enable xmlns='urn:xmpp:sm:3' resume='true' max='120'/>";
const R: &str = "<r xmlns='urn:xmpp:sm:3'/>";
const MSG: &str = "<message to='x@localhost'><body>hi</body></message>";

#[test]
fn the_feature_is_offered_only_when_the_transport_allows() {
    let (_, f) = authenticated(true);
    assert!(f.has_child("sm", ns::SM) && f.has_child("bind", ns::BIND));
    let (_, f) = authenticated(false);
    assert!(!f.has_child("sm", ns::SM));
}

#[test]
fn without_the_feature_every_sm_element_is_refused() {
    let mut s = bound(false);
    for xml in [ENABLE, R, "<a xmlns='urn:xmpp:sm:3' h='1'/>"] {
        assert_eq!(
            sent(&send(&mut s, xml)),
            vec![
                "<failed xmlns=\"urn:xmpp:sm:3\"><feature-not-implemented xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/></failed>"
            ],
            "{xml}"
        );
    }
    assert!(!s.sm_is_enabled());
}

#[test]
fn placement_before_and_after_enable() {
    // (element, bound?, enabled?, expected: the action kind or the element sent)
    let failed_unexpected = "<failed xmlns=\"urn:xmpp:sm:3\"><unexpected-request xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/></failed>";
    let (mut s, _) = authenticated(true);
    assert_eq!(sent(&send(&mut s, ENABLE)), vec![failed_unexpected]);
    assert_eq!(sent(&send(&mut s, R)), vec![failed_unexpected]);

    let mut s = bound(true);
    assert_eq!(sent(&send(&mut s, R)), vec![failed_unexpected]);
    assert_eq!(
        sent(&send(&mut s, "<a xmlns='urn:xmpp:sm:3' h='0'/>")),
        vec![failed_unexpected]
    );
    let a = send(&mut s, ENABLE);
    assert!(matches!(
        a.as_slice(),
        [Action::EnableSm {
            resume: true,
            max: Some(120)
        }]
    ));
    assert_eq!(
        sent(&s.sm_enabled(Some("id"), Some(60))),
        vec!["<enabled xmlns=\"urn:xmpp:sm:3\" id=\"id\" resume=\"true\" max=\"60\"/>"]
    );
    assert_eq!(
        sent(&send(&mut s, ENABLE)),
        vec![
            "<failed xmlns=\"urn:xmpp:sm:3\" h=\"0\"><unexpected-request xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/></failed>"
        ]
    );
    assert_eq!(
        sent(&send(
            &mut s,
            "<resume xmlns='urn:xmpp:sm:3' previd='id' h='0'/>"
        ))
        .len(),
        1
    );
}

#[test]
fn inbound_stanzas_are_counted_and_acknowledged() {
    let mut s = bound(true);
    // Stanzas before <enable/> do not count.
    send(&mut s, MSG);
    send(&mut s, ENABLE);
    s.sm_enabled(None, None);
    assert_eq!(
        sent(&send(&mut s, R)),
        vec!["<a xmlns=\"urn:xmpp:sm:3\" h=\"0\"/>"]
    );
    send(&mut s, MSG);
    send(&mut s, "<presence/>");
    // The legacy session IQ is answered by the session itself but still counts.
    let a = send(
        &mut s,
        "<iq type='set' id='s'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>",
    );
    assert_eq!(sent(&a).len(), 1);
    assert_eq!(
        sent(&send(&mut s, R)),
        vec!["<a xmlns=\"urn:xmpp:sm:3\" h=\"3\"/>"]
    );
    assert_eq!(s.sm_handled(), Some(3));
    let a = send(&mut s, "<a xmlns='urn:xmpp:sm:3' h='7'/>");
    assert!(matches!(a.as_slice(), [Action::SmAck(7)]));
}

#[test]
fn malformed_sm_elements_end_the_stream() {
    let cases = [
        ("<a xmlns='urn:xmpp:sm:3' h='x'/>", "bad-format"),
        ("<a xmlns='urn:xmpp:sm:3'/>", "bad-format"),
        (
            "<enabled xmlns='urn:xmpp:sm:3'/>",
            "unsupported-stanza-type",
        ),
    ];
    for (xml, cond) in cases {
        let mut s = bound(true);
        send(&mut s, ENABLE);
        s.sm_enabled(None, None);
        assert_eq!(
            closed_with(&send(&mut s, xml)).as_deref(),
            Some(cond),
            "{xml}"
        );
    }
}

#[test]
fn resume_hands_over_and_counting_continues_with_wraparound() {
    let (mut s, _) = authenticated(true);
    let a = send(&mut s, "<resume xmlns='urn:xmpp:sm:3' previd='old' h='5'/>");
    match a.as_slice() {
        [Action::Resume { previd, h }] => assert_eq!((previd.as_str(), *h), ("old", 5)),
        other => panic!("{other:?}"),
    }
    let a = s.resumed(Jid::parse("u@localhost/r").unwrap(), "old", u32::MAX);
    assert_eq!(
        sent(&a),
        vec!["<resumed xmlns=\"urn:xmpp:sm:3\" previd=\"old\" h=\"4294967295\"/>"]
    );
    assert!(s.is_bound());
    assert_eq!(s.jid().map(Jid::as_str), Some("u@localhost/r"));
    let a = send(&mut s, MSG);
    assert!(matches!(a.as_slice(), [Action::Route(_)]));
    assert_eq!(
        sent(&send(&mut s, R)),
        vec!["<a xmlns=\"urn:xmpp:sm:3\" h=\"0\"/>"]
    );
}

#[test]
fn a_failed_resume_leaves_bind_open() {
    let (mut s, _) = authenticated(true);
    send(
        &mut s,
        "<resume xmlns='urn:xmpp:sm:3' previd='nope' h='0'/>",
    );
    assert_eq!(
        sent(&s.resume_failed(StanzaErrorCondition::ItemNotFound)),
        vec![
            "<failed xmlns=\"urn:xmpp:sm:3\"><item-not-found xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/></failed>"
        ]
    );
    let a = send(
        &mut s,
        "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>",
    );
    assert!(matches!(a.as_slice(), [Action::Bind { .. }]));
}

#[test]
fn nothing_may_overtake_a_pending_resume() {
    let (mut s, _) = authenticated(true);
    send(&mut s, "<resume xmlns='urn:xmpp:sm:3' previd='old' h='0'/>");
    assert_eq!(
        closed_with(&send(&mut s, MSG)).as_deref(),
        Some("policy-violation")
    );
}
