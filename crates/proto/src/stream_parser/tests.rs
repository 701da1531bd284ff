use super::*;

const SESSION: &[u8] = b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>\n<iq type='get' id='1'><query xmlns='jabber:iq:version'/></iq> <message to='a@b'><body>x &lt; <![CDATA[<y>]]]]></body></message><presence/></stream:stream>";

fn events_of(chunks: &[&[u8]]) -> Vec<StreamEvent> {
    let mut p = StreamParser::new_stream(Limits::default());
    let mut out = Vec::new();
    for c in chunks {
        p.feed(c);
        while let Some(ev) = p.next_event().unwrap() {
            out.push(ev);
        }
    }
    out
}

#[test]
fn whole_session() {
    let evs = events_of(&[SESSION]);
    assert_eq!(evs.len(), 5);
    match &evs[0] {
        StreamEvent::Open(h) => {
            assert_eq!(h.to.as_deref(), Some("localhost"));
            assert_eq!(h.default_ns, "jabber:client");
        }
        other => panic!("{other:?}"),
    }
    match &evs[2] {
        StreamEvent::Element(m) => {
            assert_eq!(m.child_text("body", "jabber:client").unwrap(), "x < <y>]]")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(evs[4], StreamEvent::Close);
}

#[test]
fn every_split_gives_same_events() {
    let whole = events_of(&[SESSION]);
    for cut in 0..=SESSION.len() {
        let (a, b) = SESSION.split_at(cut);
        assert_eq!(events_of(&[a, b]), whole, "split at {cut}");
    }
    let bytes: Vec<&[u8]> = SESSION.chunks(1).collect();
    assert_eq!(events_of(&bytes), whole);
}

fn first_error(input: &[u8], limits: Limits) -> XmlError {
    let mut p = StreamParser::new_stream(limits);
    p.feed(input);
    loop {
        match p.next_event() {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("no error for {}", String::from_utf8_lossy(input)),
            Err(e) => return e,
        }
    }
}

const HDR: &str = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";

#[test]
fn refusals() {
    type Check = fn(&XmlError) -> bool;
    let cases: &[(&str, Check)] = &[
        ("<!DOCTYPE x>", |e| matches!(e, XmlError::RestrictedXml(_))),
        ("<!-- hi -->", |e| matches!(e, XmlError::RestrictedXml(_))),
        ("<?foo bar?>", |e| matches!(e, XmlError::RestrictedXml(_))),
        ("<message>&ent;</message>", |e| {
            matches!(e, XmlError::RestrictedXml(_))
        }),
        ("<message><a></b></message>", |e| {
            matches!(e, XmlError::NotWellFormed(_))
        }),
        ("garbage", |e| matches!(e, XmlError::NotWellFormed(_))),
        ("</x>", |e| matches!(e, XmlError::NotWellFormed(_))),
    ];
    for (body, check) in cases {
        let input = format!("{HDR}{body}");
        let e = first_error(input.as_bytes(), Limits::default());
        assert!(check(&e), "{body}: {e:?}");
    }
    let bad_ns = "<stream:stream xmlns='jabber:client' xmlns:stream='urn:wrong'>";
    assert!(matches!(
        first_error(bad_ns.as_bytes(), Limits::default()),
        XmlError::InvalidNamespace(_)
    ));
}

#[test]
fn stanza_size_limit_is_exact() {
    let stanza = "<message><body>0123456789</body></message>";
    let limits = Limits {
        max_stanza_bytes: stanza.len(),
        max_depth: 8,
    };
    let mut p = StreamParser::new_stream(limits);
    p.feed(format!("{HDR}{stanza}").as_bytes());
    assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Open(_)))));
    assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Element(_)))));
    let over = "<message><body>0123456789!</body></message>";
    let e = first_error(format!("{HDR}{over}").as_bytes(), limits);
    assert!(matches!(e, XmlError::TooLarge(_)));
}

#[test]
fn depth_limit() {
    let limits = Limits {
        max_stanza_bytes: 10_000,
        max_depth: 3,
    };
    let ok = "<a><b><c/></b></a>";
    let mut p = StreamParser::new_stream(limits);
    p.feed(format!("{HDR}{ok}").as_bytes());
    assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Open(_)))));
    assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Element(_)))));
    let deep = "<a><b><c><d/></c></b></a>";
    assert!(matches!(
        first_error(format!("{HDR}{deep}").as_bytes(), limits),
        XmlError::TooLarge(_)
    ));
}

#[test]
fn fragments_mode() {
    let mut p = StreamParser::new_fragments(Limits::default(), "jabber:client");
    p.feed(b"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='h' version='1.0'/>");
    match p.next_event().unwrap() {
        Some(StreamEvent::Element(e)) => assert!(e.is("open", ns::FRAMING)),
        other => panic!("{other:?}"),
    }
    p.feed(b"<message><body>hi</body></message>");
    match p.next_event().unwrap() {
        Some(StreamEvent::Element(e)) => assert!(e.is("message", ns::CLIENT)),
        other => panic!("{other:?}"),
    }
}
