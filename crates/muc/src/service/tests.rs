//! Service-level behaviour: targets, disco, room directory, creation decisions.

use std::sync::Arc;

use rookery_proto::{Element, Jid, StanzaError, StanzaErrorCondition as C, ns};

use super::*;
use crate::address::IdentityMapper;
use crate::effect::CloseReason;

fn svc(f: impl FnOnce(&mut MucConfig)) -> Service<IdentityMapper> {
    let mut c = MucConfig::new(Jid::parse("muc.example").unwrap());
    f(&mut c);
    Service::new(Arc::new(c), IdentityMapper)
}

fn parse(xml: &str) -> Element {
    let bindings = vec![(String::new(), ns::CLIENT.to_owned())];
    let mut e = rookery_proto::fragment::parse_element(xml.as_bytes(), &bindings).unwrap();
    e.set_attr("from", "u@example.com/r");
    e
}

fn sender() -> Jid {
    Jid::parse("u@example.com/r").unwrap()
}

fn reply_of(effects: &[Effect]) -> &Element {
    match effects {
        [Effect::Send { stanza, .. }] => stanza,
        other => panic!("expected one Send: {other:?}"),
    }
}

fn summary(room: &str, public: bool, locked: bool) -> Effect {
    Effect::Summary(RoomSummary {
        room: Jid::parse(room).unwrap(),
        name: Some(room.to_uppercase()),
        public,
        locked,
    })
}

#[test]
fn targets() {
    let s = svc(|_| {});
    let j = |x: &str| Jid::parse(x).unwrap();
    assert_eq!(s.target(&j("muc.example")), Some(Target::Service));
    assert_eq!(
        s.target(&j("Room@MUC.example/Nick")),
        Some(Target::Room {
            room: j("room@muc.example"),
            view: j("room@muc.example"),
        })
    );
    assert_eq!(s.target(&j("room@other.example")), None);

    // a mapper that refuses some nodes on its own domain
    struct NoBrackets;
    impl AddressMapper for NoBrackets {
        fn serves(&self, service: &Jid, domain: &str) -> bool {
            service.domain() == domain
        }
        fn to_internal(&self, _service: &Jid, addressed: &Jid) -> Option<Jid> {
            (!addressed.as_str().contains('[')).then(|| addressed.to_bare())
        }
        fn to_view(&self, _service: &Jid, internal: &Jid, _view: &str) -> Option<Jid> {
            Some(internal.clone())
        }
    }
    let mut c = MucConfig::new(j("muc.example"));
    c.name = None;
    let s = Service::new(Arc::new(c), NoBrackets);
    assert_eq!(s.target(&j("[bad@muc.example/n")), Some(Target::Invalid));
    let fx = s.refuse_invalid(
        &parse("<message to='[bad@muc.example'><body>x</body></message>"),
        &sender(),
    );
    assert_eq!(
        StanzaError::from_stanza(reply_of(&fx)).unwrap().condition,
        C::JidMalformed
    );
    assert!(
        s.refuse_invalid(
            &parse("<iq to='[bad@muc.example' type='result' id='1'/>"),
            &sender()
        )
        .is_empty()
    );
    assert!(
        s.refuse_invalid(
            &parse("<presence to='[bad@muc.example/n' type='unavailable'/>"),
            &sender()
        )
        .is_empty()
    );
}

#[test]
fn service_disco_and_ping() {
    let s = svc(|c| c.name = Some("Conferences".into()));
    let fx = s.handle(&parse("<iq to='muc.example' type='get' id='1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"), &sender());
    let r = reply_of(&fx);
    assert_eq!(r.attr("type"), Some("result"));
    assert_eq!(r.attr("from"), Some("muc.example"));
    let q = r.get_child("query", ns::DISCO_INFO).unwrap();
    let id = q.get_child("identity", ns::DISCO_INFO).unwrap();
    assert_eq!(
        (id.attr("category"), id.attr("name")),
        (Some("conference"), Some("Conferences"))
    );
    assert!(q.children().any(|f| f.attr("var") == Some(ns::MUC)));
    let fx = s.handle(
        &parse("<iq to='muc.example' type='get' id='2'><ping xmlns='urn:xmpp:ping'/></iq>"),
        &sender(),
    );
    assert_eq!(reply_of(&fx).attr("type"), Some("result"));
    for xml in [
        "<iq to='muc.example' type='get' id='3'><query xmlns='jabber:iq:version'/></iq>",
        "<iq to='muc.example' type='set' id='4'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
        "<message to='muc.example'><body>x</body></message>",
    ] {
        let fx = s.handle(&parse(xml), &sender());
        let e = StanzaError::from_stanza(reply_of(&fx)).unwrap();
        assert_eq!(e.condition, C::ServiceUnavailable, "{xml}");
    }
    assert!(
        s.handle(
            &parse("<iq to='muc.example' type='result' id='5'/>"),
            &sender()
        )
        .is_empty()
    );
    assert!(
        s.handle(&parse("<presence to='muc.example'/>"), &sender())
            .is_empty()
    );
}

#[test]
fn directory_lists_public_configured_rooms() {
    let mut s = svc(|c| c.max_disco_items = 2);
    s.observe(&summary("a@muc.example", true, false));
    s.observe(&summary("b@muc.example", false, false));
    s.observe(&summary("c@muc.example", true, true));
    s.observe(&summary("d@muc.example", true, false));
    s.observe(&summary("e@muc.example", true, false));
    let items = |s: &Service<IdentityMapper>| {
        let fx = s.handle(&parse("<iq to='muc.example' type='get' id='i'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>"), &sender());
        reply_of(&fx)
            .get_child("query", ns::DISCO_ITEMS)
            .unwrap()
            .children()
            .map(|c| c.attr("jid").unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        items(&s),
        ["a@muc.example", "d@muc.example"],
        "capped at max_disco_items"
    );
    s.observe(&Effect::Closed {
        room: Jid::parse("a@muc.example").unwrap(),
        reason: CloseReason::Empty,
    });
    s.observe(&Effect::Forget {
        room: Jid::parse("d@muc.example").unwrap(),
    });
    assert_eq!(items(&s), ["e@muc.example"]);
    assert_eq!(s.directory_len(), 3);
}

#[test]
fn what_may_create_a_room() {
    let s = svc(|_| {});
    let decide = |s: &Service<IdentityMapper>, xml: &str, admin: bool| {
        s.new_room(&parse(xml), &sender(), admin, 0)
    };
    assert!(matches!(
        decide(
            &s,
            "<presence to='r@muc.example/n'><x xmlns='http://jabber.org/protocol/muc'/></presence>",
            false
        ),
        NewRoom::Create
    ));
    assert!(matches!(
        decide(&s, "<presence to='r@muc.example/n'/>", false),
        NewRoom::Create
    ));
    assert!(matches!(
        decide(
            &s,
            "<presence to='r@muc.example/n' type='unavailable'/>",
            false
        ),
        NewRoom::Ignore
    ));
    assert!(matches!(
        decide(&s, "<iq to='r@muc.example' type='result' id='1'/>", false),
        NewRoom::Ignore
    ));
    assert!(matches!(
        decide(&s, "<message to='r@muc.example' type='error'/>", false),
        NewRoom::Ignore
    ));
    let refusals = [
        ("<presence to='r@muc.example'/>", C::JidMalformed),
        (
            "<message to='r@muc.example' type='groupchat'><body>x</body></message>",
            C::ItemNotFound,
        ),
        (
            "<message to='r@muc.example/n' type='chat'><body>x</body></message>",
            C::ItemNotFound,
        ),
        (
            "<iq to='r@muc.example' type='get' id='1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
            C::ItemNotFound,
        ),
        (
            "<iq to='r@muc.example/n' type='set' id='1'><jingle xmlns='urn:xmpp:jingle:1'/></iq>",
            C::ItemNotFound,
        ),
    ];
    for (xml, want) in refusals {
        let NewRoom::Reply(Effect::Send { stanza, .. }) = decide(&s, xml, false) else {
            panic!("expected a reply for {xml}");
        };
        assert_eq!(
            StanzaError::from_stanza(&stanza).unwrap().condition,
            want,
            "{xml}"
        );
        assert_eq!(stanza.attr("to"), Some("u@example.com/r"));
    }
    let restricted = svc(|c| c.restrict_room_creation = true);
    let join =
        "<presence to='r@muc.example/n'><x xmlns='http://jabber.org/protocol/muc'/></presence>";
    let NewRoom::Reply(Effect::Send { stanza, .. }) = decide(&restricted, join, false) else {
        panic!("restricted creation must be refused");
    };
    let e = StanzaError::from_stanza(&stanza).unwrap();
    assert_eq!(e.condition, C::NotAllowed);
    assert!(
        e.extra
            .iter()
            .any(|x| x.is("room-does-not-exist", ns::JITMEET))
    );
    assert!(matches!(decide(&restricted, join, true), NewRoom::Create));
    let capped = svc(|c| c.max_rooms = 1);
    assert!(matches!(
        capped.new_room(&parse(join), &sender(), false, 1),
        NewRoom::Reply(_)
    ));
    assert!(matches!(
        capped.new_room(&parse(join), &sender(), true, 1),
        NewRoom::Create
    ));
}
