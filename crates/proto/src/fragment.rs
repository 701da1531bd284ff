//! Parsing one complete, already-framed element with quick-xml.
//!
//! The framing scanner (`stream_parser`) guarantees the slice holds exactly one element; here
//! quick-xml checks well-formedness, namespaces are resolved against the enclosing stream's
//! declarations, and RFC 6120 §11 restricted XML is enforced (no comments, processing
//! instructions or DTDs; only the five predefined entities and character references).

use crate::element::{Element, Node};
use crate::error::XmlError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// Namespace bindings in scope: `(prefix, uri)`, the empty prefix being the default namespace.
pub type Bindings = Vec<(String, String)>;

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Most attributes (namespace declarations included) one element may carry. XMPP elements
/// carry a handful; the cap also bounds the duplicate-attribute check, which compares each
/// attribute with those before it (a 256 KiB stanza of 23,800 distinct attributes used to
/// cost over a second of CPU).
pub const MAX_ATTRIBUTES_PER_ELEMENT: usize = 128;

/// Namespace scopes: the declarations of the enclosing stream (never copied) and those of
/// the open elements of this fragment.
struct Scopes<'o> {
    outer: &'o Bindings,
    local: Vec<Bindings>,
}

impl Scopes<'_> {
    fn lookup(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NS);
        }
        self.local
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .chain(self.outer.iter().rev())
            // Length first: most lookups are for the default (empty) prefix.
            .find(|(p, _)| p.len() == prefix.len() && (prefix.is_empty() || p == prefix))
            .map(|(_, u)| u.as_str())
    }
}

fn utf8(b: &[u8]) -> Result<&str, XmlError> {
    std::str::from_utf8(b).map_err(|_| XmlError::NotWellFormed("invalid UTF-8".into()))
}

/// Builds an element from a start tag, pushing its namespace declarations onto `scopes`.
fn open(start: &BytesStart<'_>, scopes: &mut Scopes<'_>) -> Result<Element, XmlError> {
    let mut decls: Bindings = Vec::new();
    let mut attrs = Vec::new();
    for (i, a) in start.attributes().with_checks(true).enumerate() {
        if i == MAX_ATTRIBUTES_PER_ELEMENT {
            return Err(XmlError::TooLarge(format!(
                "more than {MAX_ATTRIBUTES_PER_ELEMENT} attributes on one element"
            )));
        }
        let a = a.map_err(|e| XmlError::NotWellFormed(format!("bad attribute: {e}")))?;
        let key = utf8(a.key.as_ref())?;
        let value = a
            .unescape_value()
            .map_err(|e| XmlError::RestrictedXml(format!("attribute value of '{key}': {e}")))?;
        if key == "xmlns" {
            decls.push((String::new(), value.into_owned()));
        } else if let Some(p) = key.strip_prefix("xmlns:") {
            decls.push((p.to_owned(), value.to_string()));
            attrs.push((key.to_owned(), value.into_owned()));
        } else {
            attrs.push((key.to_owned(), value.into_owned()));
        }
    }
    scopes.local.push(decls);
    let name = start.name();
    let qname = utf8(name.as_ref())?;
    let (prefix, local) = match qname.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, qname),
    };
    let ns = scopes
        .lookup(prefix.unwrap_or(""))
        .ok_or_else(|| XmlError::NotWellFormed(format!("unbound prefix in '{qname}'")))?
        .to_owned();
    // Attributes with an undeclared prefix are not well-formed either.
    for (k, _) in &attrs {
        if let Some((p, _)) = k.split_once(':')
            && p != "xmlns"
            && scopes.lookup(p).is_none()
        {
            return Err(XmlError::NotWellFormed(format!(
                "unbound prefix in attribute '{k}'"
            )));
        }
    }
    Ok(Element {
        name: local.to_owned(),
        prefix: prefix.map(str::to_owned),
        ns,
        attrs,
        nodes: Vec::new(),
    })
}

fn push_text(stack: &mut [Element], text: &str) {
    if let Some(top) = stack.last_mut() {
        if let Some(Node::Text(t)) = top.nodes.last_mut() {
            t.push_str(text);
        } else {
            top.nodes.push(Node::Text(text.to_owned()));
        }
    }
}

/// Resolves an entity or character reference; anything but the predefined five is refused.
fn resolve_ref(name: &[u8]) -> Result<char, XmlError> {
    match name {
        b"lt" => Ok('<'),
        b"gt" => Ok('>'),
        b"amp" => Ok('&'),
        b"apos" => Ok('\''),
        b"quot" => Ok('"'),
        [b'#', b'x' | b'X', hex @ ..] => char_ref(hex, 16),
        [b'#', dec @ ..] => char_ref(dec, 10),
        other => Err(XmlError::RestrictedXml(format!(
            "entity reference '&{};' is not allowed",
            String::from_utf8_lossy(other)
        ))),
    }
}

fn char_ref(digits: &[u8], radix: u32) -> Result<char, XmlError> {
    let s = utf8(digits)?;
    let bad = || XmlError::NotWellFormed(format!("bad character reference '{s}'"));
    let n = u32::from_str_radix(s, radix).map_err(|_| bad())?;
    let c = char::from_u32(n).ok_or_else(bad)?;
    if is_xml_char(c) { Ok(c) } else { Err(bad()) }
}

/// XML 1.0 `Char` production.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn check_chars(s: &str) -> Result<(), XmlError> {
    if s.chars().all(is_xml_char) {
        Ok(())
    } else {
        Err(XmlError::NotWellFormed(
            "character not allowed in XML".into(),
        ))
    }
}

/// Parses exactly one element from `bytes`, resolving prefixes against `outer` (the stream
/// header's declarations). Trailing or leading whitespace is allowed; anything else is not.
pub fn parse_element(bytes: &[u8], outer: &Bindings) -> Result<Element, XmlError> {
    let mut reader = Reader::from_reader(bytes);
    {
        let cfg = reader.config_mut();
        cfg.check_end_names = true;
        cfg.expand_empty_elements = false;
        cfg.trim_text(false);
    }
    let mut scopes = Scopes {
        outer,
        local: Vec::new(),
    };
    let mut stack: Vec<Element> = Vec::new();
    let mut done: Option<Element> = None;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| XmlError::NotWellFormed(e.to_string()))?;
        match ev {
            Event::Start(s) => {
                if done.is_some() {
                    return Err(XmlError::NotWellFormed("more than one element".into()));
                }
                let el = open(&s, &mut scopes)?;
                stack.push(el);
            }
            Event::Empty(s) => {
                if done.is_some() {
                    return Err(XmlError::NotWellFormed("more than one element".into()));
                }
                let el = open(&s, &mut scopes)?;
                scopes.local.pop();
                match stack.last_mut() {
                    Some(parent) => parent.nodes.push(Node::Element(el)),
                    None => done = Some(el),
                }
            }
            Event::End(_) => {
                scopes.local.pop();
                let el = stack
                    .pop()
                    .ok_or_else(|| XmlError::NotWellFormed("unexpected end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.nodes.push(Node::Element(el)),
                    None => done = Some(el),
                }
            }
            Event::Text(t) => {
                let raw = utf8(&t)?;
                if stack.is_empty() {
                    if !raw.trim().is_empty() {
                        return Err(XmlError::NotWellFormed("text outside an element".into()));
                    }
                    continue;
                }
                check_chars(raw)?;
                if raw.contains('\r') {
                    push_text(&mut stack, &raw.replace("\r\n", "\n").replace('\r', "\n"));
                } else {
                    push_text(&mut stack, raw);
                }
            }
            Event::CData(t) => {
                let raw = utf8(&t)?;
                check_chars(raw)?;
                if stack.is_empty() {
                    return Err(XmlError::NotWellFormed("CDATA outside an element".into()));
                }
                push_text(&mut stack, raw);
            }
            Event::GeneralRef(r) => {
                if stack.is_empty() {
                    return Err(XmlError::NotWellFormed(
                        "reference outside an element".into(),
                    ));
                }
                let c = resolve_ref(&r)?;
                let mut buf = [0u8; 4];
                push_text(&mut stack, c.encode_utf8(&mut buf));
            }
            Event::Comment(_) => {
                return Err(XmlError::RestrictedXml("comments are not allowed".into()));
            }
            Event::PI(_) | Event::Decl(_) => {
                return Err(XmlError::RestrictedXml(
                    "processing instructions are not allowed".into(),
                ));
            }
            Event::DocType(_) => {
                return Err(XmlError::RestrictedXml("DTDs are not allowed".into()));
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::NotWellFormed("unclosed element".into()));
    }
    done.ok_or_else(|| XmlError::NotWellFormed("no element".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Bindings {
        vec![
            (String::new(), "jabber:client".into()),
            ("stream".into(), "http://etherx.jabber.org/streams".into()),
        ]
    }

    fn with_attributes(n: usize) -> Vec<u8> {
        let attrs: String = (0..n).map(|i| format!(" a{i}='v'")).collect();
        format!("<message{attrs}/>").into_bytes()
    }

    #[test]
    fn attributes_per_element_are_capped() {
        let el = parse_element(&with_attributes(MAX_ATTRIBUTES_PER_ELEMENT), &client()).unwrap();
        assert_eq!(el.attrs.len(), MAX_ATTRIBUTES_PER_ELEMENT);
        // The attack stanza of issue 13 (23,800 distinct attributes): refused after the cap,
        // with the policy-violation stream error, before any quadratic work.
        for n in [MAX_ATTRIBUTES_PER_ELEMENT + 1, 23_800] {
            let err = parse_element(&with_attributes(n), &client()).unwrap_err();
            assert_eq!(
                err.condition(),
                crate::StreamErrorCondition::PolicyViolation,
                "{n}"
            );
            assert!(err.text().contains("attributes"), "{err}");
        }
        // Duplicates are still refused.
        let err = parse_element(b"<message a='1' a='2'/>", &client()).unwrap_err();
        assert_eq!(err.condition(), crate::StreamErrorCondition::NotWellFormed);
    }

    #[test]
    fn parses_with_inherited_namespace() {
        let el = parse_element(
            b"<message to='a@b' type='chat'><body>x &amp; y &#x41;&#66;</body><x xmlns='urn:x' a='1'/></message>",
            &client(),
        )
        .unwrap();
        assert!(el.is("message", "jabber:client"));
        assert_eq!(el.child_text("body", "jabber:client").unwrap(), "x & y AB");
        assert_eq!(el.get_child("x", "urn:x").unwrap().attr("a"), Some("1"));
    }

    #[test]
    fn stream_prefix_resolves() {
        let el = parse_element(b"<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>", &client()).unwrap();
        assert!(el.is("error", "http://etherx.jabber.org/streams"));
    }

    #[test]
    fn refusals() {
        let cases: &[(&[u8], bool)] = &[
            (b"<a>&foo;</a>", true),
            (b"<a><!-- c --></a>", true),
            (b"<a><?pi x?></a>", true),
            (b"<a><b></a>", false),
            (b"<a x='1' x='2'/>", false),
            (b"<p:a/>", false),
            (b"<a>&#0;</a>", false),
            (b"<a/><b/>", false),
            (b"<a>\x01</a>", false),
        ];
        for (input, restricted) in cases {
            let err = parse_element(input, &client()).unwrap_err();
            assert_eq!(
                matches!(err, XmlError::RestrictedXml(_)),
                *restricted,
                "{}: {err:?}",
                String::from_utf8_lossy(input)
            );
        }
    }
}
