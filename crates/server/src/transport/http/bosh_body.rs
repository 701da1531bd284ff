//! The BOSH `<body/>` wrapper (XEP-0124 with the XEP-0206 XMPP attributes): parsing a
//! request body into its attributes and stanzas, and writing response bodies. Sans-io.

use rookery_proto::{Element, Limits, StreamEvent, StreamParser, ns};

/// The BOSH protocol version we speak.
pub(super) const BOSH_VERSION: &str = "1.11";

/// A terminal binding condition (XEP-0124 §17.2) we report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Condition {
    /// The request was malformed.
    BadRequest,
    /// Unknown `sid`, or a `rid` outside the window.
    ItemNotFound,
    /// Too many simultaneous requests, or polling too fast.
    PolicyViolation,
    /// The XMPP stream ended with a stream error, which is included.
    RemoteStreamError,
}

impl Condition {
    /// The attribute value.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Condition::BadRequest => "bad-request",
            Condition::ItemNotFound => "item-not-found",
            Condition::PolicyViolation => "policy-violation",
            Condition::RemoteStreamError => "remote-stream-error",
        }
    }
}

/// Why a request body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum BodyError {
    /// Not well-formed or restricted XML.
    #[error("malformed body: {0}")]
    Xml(String),
    /// Well-formed, but not one `<body xmlns='http://jabber.org/protocol/httpbind'/>`.
    #[error("{0}")]
    NotBody(String),
    /// A required attribute is missing or unusable.
    #[error("attribute '{0}' is missing or invalid")]
    Attribute(&'static str),
}

/// A parsed request body.
#[derive(Debug, Clone)]
pub(super) struct Body {
    /// The `<body>` element without its children.
    pub attrs: Element,
    /// The stanzas it carries, with unqualified ones moved into `jabber:client`.
    pub stanzas: Vec<Element>,
    /// Its `rid`.
    pub rid: u64,
}

/// Parses one request body (the whole HTTP entity).
pub(super) fn parse(bytes: &[u8], limits: Limits) -> Result<Body, BodyError> {
    let mut parser = StreamParser::new_fragments(limits, ns::HTTPBIND);
    parser.feed(bytes);
    let mut body = match parser.next_event() {
        Ok(Some(StreamEvent::Element(el))) => el,
        Ok(_) => return Err(BodyError::Xml("incomplete or empty body".into())),
        Err(e) => return Err(BodyError::Xml(e.text())),
    };
    match parser.next_event() {
        Ok(None) if parser.is_idle() => {}
        Err(e) => return Err(BodyError::Xml(e.text())),
        _ => {
            return Err(BodyError::NotBody(
                "a request holds exactly one <body/> element".into(),
            ));
        }
    }
    if !body.is("body", ns::HTTPBIND) {
        return Err(BodyError::NotBody(format!(
            "expected <body xmlns='{}'/>",
            ns::HTTPBIND
        )));
    }
    let rid = body
        .attr("rid")
        .and_then(|r| r.trim().parse::<u64>().ok())
        .ok_or(BodyError::Attribute("rid"))?;
    let mut stanzas = Vec::new();
    for node in std::mem::take(&mut body.nodes) {
        match node {
            rookery_proto::Node::Element(mut el) => {
                // XEP-0206: stanzas that declare no namespace are jabber:client.
                el.rename_ns(ns::HTTPBIND, ns::CLIENT);
                stanzas.push(el);
            }
            rookery_proto::Node::Text(t) if t.trim().is_empty() => {}
            rookery_proto::Node::Text(_) => {
                return Err(BodyError::NotBody(
                    "character data directly inside <body/>".into(),
                ));
            }
        }
    }
    Ok(Body {
        attrs: body,
        stanzas,
        rid,
    })
}

impl Body {
    /// A plain attribute.
    pub(super) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.attr(name)
    }

    /// An XEP-0206 attribute (`urn:xmpp:xbosh`), whatever prefix the client bound.
    pub(super) fn xbosh_attr(&self, local: &str) -> Option<&str> {
        let prefix = self
            .attrs
            .attrs
            .iter()
            .find(|(k, v)| k.starts_with("xmlns:") && v == ns::XBOSH)
            .and_then(|(k, _)| k.strip_prefix("xmlns:"))
            .unwrap_or("xmpp");
        self.attrs.attr(&format!("{prefix}:{local}"))
    }

    /// A numeric attribute (`wait`, `hold`, `pause`): `Ok(None)` when absent.
    pub(super) fn number(&self, name: &'static str) -> Result<Option<u64>, BodyError> {
        match self.attr(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .map(Some)
                .map_err(|_| BodyError::Attribute(name)),
        }
    }

    /// The session id, for every request but the first.
    pub(super) fn sid(&self) -> Option<&str> {
        self.attr("sid")
    }

    /// `type='terminate'`.
    pub(super) fn is_terminate(&self) -> bool {
        self.attr("type") == Some("terminate")
    }

    /// `xmpp:restart='true'`.
    pub(super) fn is_restart(&self) -> bool {
        matches!(self.xbosh_attr("restart"), Some("true" | "1"))
    }
}

fn write_open(out: &mut Vec<u8>, attrs: &[(&str, &str)]) {
    out.extend_from_slice(b"<body xmlns=\"http://jabber.org/protocol/httpbind\"");
    for (k, v) in attrs {
        out.push(b' ');
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"=\"");
        rookery_proto::serialize::escape_attr(out, v);
        out.push(b'"');
    }
}

/// A response body with these attributes around already serialised stanzas.
pub(super) fn response(attrs: &[(&str, &str)], content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + content.len());
    write_open(&mut out, attrs);
    if content.is_empty() {
        out.extend_from_slice(b"/>");
    } else {
        out.push(b'>');
        out.extend_from_slice(content);
        out.extend_from_slice(b"</body>");
    }
    out
}

/// A terminating response body, with a condition when the session ends in error.
pub(super) fn terminate(condition: Option<Condition>, content: &[u8]) -> Vec<u8> {
    match condition {
        Some(c) => response(&[("type", "terminate"), ("condition", c.as_str())], content),
        None => response(&[("type", "terminate")], content),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_stanza_bytes: 4096,
            max_depth: 16,
        }
    }

    #[test]
    fn parses_a_body_with_stanzas_in_either_namespace_form() {
        let b = parse(
            b"<body rid='42' sid='s1' xmlns='http://jabber.org/protocol/httpbind'>\
              <message to='a@b'><body>hi</body></message>\
              <iq xmlns='jabber:client' type='get' id='1'/>\
              <auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/></body>",
            limits(),
        )
        .unwrap();
        assert_eq!(b.rid, 42);
        assert_eq!(b.sid(), Some("s1"));
        let names: Vec<(&str, &str)> = b
            .stanzas
            .iter()
            .map(|e| (e.name.as_str(), e.ns.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("message", ns::CLIENT),
                ("iq", ns::CLIENT),
                ("auth", ns::SASL)
            ]
        );
        assert!(b.stanzas[0].has_child("body", ns::CLIENT));
    }

    #[test]
    fn xbosh_attributes_under_any_prefix() {
        let cases = [
            ("xmlns:xmpp='urn:xmpp:xbosh' xmpp:restart='true'", true),
            ("xmlns:x='urn:xmpp:xbosh' x:restart='true'", true),
            ("xmlns:xmpp='urn:xmpp:xbosh' xmpp:restart='false'", false),
            ("", false),
        ];
        for (attrs, want) in cases {
            let text =
                format!("<body rid='1' xmlns='http://jabber.org/protocol/httpbind' {attrs}/>");
            let b = parse(text.as_bytes(), limits()).unwrap();
            assert_eq!(b.is_restart(), want, "{attrs}");
        }
    }

    #[test]
    fn refusals() {
        type Check = fn(&BodyError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("", |e| matches!(e, BodyError::Xml(_))),
            (
                "<body rid='1' xmlns='http://jabber.org/protocol/httpbind'>",
                |e| matches!(e, BodyError::Xml(_)),
            ),
            (
                "<body rid='1' xmlns='http://jabber.org/protocol/httpbind'><a></b></body>",
                |e| matches!(e, BodyError::Xml(_)),
            ),
            ("<!DOCTYPE x><body/>", |e| matches!(e, BodyError::Xml(_))),
            (
                "<html xmlns='http://jabber.org/protocol/httpbind' rid='1'/>",
                |e| matches!(e, BodyError::NotBody(_)),
            ),
            ("<body xmlns='http://jabber.org/protocol/httpbind'/>", |e| {
                matches!(e, BodyError::Attribute("rid"))
            }),
            (
                "<body rid='x' xmlns='http://jabber.org/protocol/httpbind'/>",
                |e| matches!(e, BodyError::Attribute("rid")),
            ),
            (
                "<body rid='1' xmlns='http://jabber.org/protocol/httpbind'/><body rid='2' xmlns='http://jabber.org/protocol/httpbind'/>",
                |e| matches!(e, BodyError::NotBody(_)),
            ),
            (
                "<body rid='1' xmlns='http://jabber.org/protocol/httpbind'>text</body>",
                |e| matches!(e, BodyError::NotBody(_)),
            ),
        ];
        for (text, check) in cases {
            let e = parse(text.as_bytes(), limits()).unwrap_err();
            assert!(check(&e), "{text}: {e:?}");
        }
        let huge = format!(
            "<body rid='1' xmlns='http://jabber.org/protocol/httpbind'><m>{}</m></body>",
            "x".repeat(5000)
        );
        assert!(matches!(
            parse(huge.as_bytes(), limits()),
            Err(BodyError::Xml(_))
        ));
    }

    #[test]
    fn a_body_without_xmlns_is_taken_as_httpbind() {
        let b = parse(b"<body rid='1'><message/></body>", limits()).unwrap();
        assert!(b.attrs.is("body", ns::HTTPBIND));
        assert!(b.stanzas[0].is("message", ns::CLIENT));
    }

    #[test]
    fn writes_responses() {
        assert_eq!(
            String::from_utf8(response(&[("sid", "a'b")], b"")).unwrap(),
            "<body xmlns=\"http://jabber.org/protocol/httpbind\" sid=\"a&apos;b\"/>"
        );
        assert_eq!(
            String::from_utf8(terminate(Some(Condition::ItemNotFound), b"<x/>")).unwrap(),
            "<body xmlns=\"http://jabber.org/protocol/httpbind\" type=\"terminate\" condition=\"item-not-found\"><x/></body>"
        );
    }
}
