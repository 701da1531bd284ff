//! Serialising elements to bytes with correct escaping.
//!
//! A stanza's namespace is written out whenever it differs from the context namespace, so the
//! same function serves TCP (context `jabber:client`), WebSocket and BOSH (no context: every
//! top-level stanza carries `xmlns='jabber:client'`) and components.

use std::sync::Arc;

use crate::element::{Element, Node};

/// Appends `s` escaped for character data.
pub fn escape_text(out: &mut Vec<u8>, s: &str) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            _ => continue,
        };
        out.extend_from_slice(s.as_bytes().get(last..i).unwrap_or_default());
        out.extend_from_slice(rep);
        last = i + 1;
    }
    out.extend_from_slice(s.as_bytes().get(last..).unwrap_or_default());
}

/// Appends `s` escaped for a double-quoted attribute value.
pub fn escape_attr(out: &mut Vec<u8>, s: &str) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            b'\'' => b"&apos;",
            b'\t' => b"&#9;",
            b'\n' => b"&#10;",
            b'\r' => b"&#13;",
            _ => continue,
        };
        out.extend_from_slice(s.as_bytes().get(last..i).unwrap_or_default());
        out.extend_from_slice(rep);
        last = i + 1;
    }
    out.extend_from_slice(s.as_bytes().get(last..).unwrap_or_default());
}

fn write_qname(out: &mut Vec<u8>, el: &Element) {
    if let Some(p) = &el.prefix {
        out.extend_from_slice(p.as_bytes());
        out.push(b':');
    }
    out.extend_from_slice(el.name.as_bytes());
}

/// Writes the start tag up to (not including) the closing `>`; returns the namespace that
/// is the default inside this element.
fn write_open<'a>(out: &mut Vec<u8>, el: &'a Element, context_ns: &'a str) -> &'a str {
    out.push(b'<');
    write_qname(out, el);
    let mut inner_default = context_ns;
    match &el.prefix {
        None => {
            if el.ns != context_ns {
                out.extend_from_slice(b" xmlns=\"");
                escape_attr(out, &el.ns);
                out.push(b'"');
            }
            inner_default = &el.ns;
        }
        Some(p) => {
            let decl = format!("xmlns:{p}");
            if el.attr(&decl).is_none() {
                out.push(b' ');
                out.extend_from_slice(decl.as_bytes());
                out.extend_from_slice(b"=\"");
                escape_attr(out, &el.ns);
                out.push(b'"');
            }
        }
    }
    for (k, v) in &el.attrs {
        out.push(b' ');
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_attr(out, v);
        out.push(b'"');
    }
    inner_default
}

fn write_rest(out: &mut Vec<u8>, el: &Element, inner_default: &str) {
    if el.nodes.is_empty() {
        out.extend_from_slice(b"/>");
        return;
    }
    out.push(b'>');
    for n in &el.nodes {
        match n {
            Node::Element(c) => write_element(out, c, inner_default),
            Node::Text(t) => escape_text(out, t),
        }
    }
    out.extend_from_slice(b"</");
    write_qname(out, el);
    out.push(b'>');
}

/// Appends `el` serialised in a context whose default namespace is `context_ns`.
pub fn write_element(out: &mut Vec<u8>, el: &Element, context_ns: &str) {
    let inner = write_open(out, el, context_ns);
    write_rest(out, el, inner);
}

impl Element {
    /// Serialises with every namespace declared (a standalone fragment).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        write_element(&mut out, self, "");
        out
    }

    /// Serialises for a context whose default namespace is `context_ns`.
    pub fn to_bytes_in(&self, context_ns: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        write_element(&mut out, self, context_ns);
        out
    }

    /// Serialises to a `String` (tests, logs).
    pub fn to_xml_string(&self) -> String {
        String::from_utf8_lossy(&self.to_bytes()).into_owned()
    }
}

/// A stanza serialised once for many recipients: only the `to` attribute differs, so the
/// bytes before and after it are shared and a writer splices each recipient's JID in.
#[derive(Debug, Clone)]
pub struct Prepared {
    head: bytes::Bytes,
    /// The start tag without its default-namespace declaration, for a stream whose default
    /// namespace already is the stanza's (`jabber:client` on c2s TCP): 22 bytes less per
    /// delivery there. `None` for prefixed elements.
    head_in_ns: Option<(String, bytes::Bytes)>,
    tail: bytes::Bytes,
}

impl Prepared {
    /// Serialises `el` (its own `to`, if any, is ignored) with full namespace declarations.
    pub fn new(el: &Element) -> Self {
        let opening = Element {
            name: el.name.clone(),
            prefix: el.prefix.clone(),
            ns: el.ns.clone(),
            attrs: el
                .attrs
                .iter()
                .filter(|(k, _)| k != "to")
                .cloned()
                .collect(),
            nodes: Vec::new(),
        };
        let mut head = Vec::with_capacity(128);
        let inner = write_open(&mut head, &opening, "");
        let head_in_ns = el.prefix.is_none().then(|| {
            let mut bare = Vec::with_capacity(128);
            write_open(&mut bare, &opening, &el.ns);
            (el.ns.clone(), bytes::Bytes::from(bare))
        });
        let mut tail = Vec::with_capacity(256);
        write_rest(&mut tail, el, inner);
        Prepared {
            head: bytes::Bytes::from(head),
            head_in_ns,
            tail: bytes::Bytes::from(tail),
        }
    }

    /// Appends the stanza addressed to `to`, with its namespace declared (a context without
    /// a default namespace: WebSocket and BOSH).
    pub fn write_to(&self, out: &mut Vec<u8>, to: &str) {
        self.write_to_in(out, to, "");
    }

    /// Appends the stanza addressed to `to` for a context whose default namespace is
    /// `context_ns`; the declaration is left out when it would repeat the context's.
    pub fn write_to_in(&self, out: &mut Vec<u8>, to: &str, context_ns: &str) {
        let head = match &self.head_in_ns {
            Some((ns, bare)) if ns == context_ns => bare,
            _ => &self.head,
        };
        out.extend_from_slice(head);
        out.extend_from_slice(b" to=\"");
        escape_attr(out, to);
        out.push(b'"');
        out.extend_from_slice(&self.tail);
    }

    /// Size in bytes without the `to` attribute.
    pub fn len(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    /// True when empty (never, for a real stanza).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A stanza without `to`, kept both as a tree and as [`Prepared`] bytes behind `Arc`s, so
/// handing it to another recipient costs two reference counts: the tree serves stream
/// management bounces and components, the bytes every c2s writer. A room keeps each
/// occupant's presence in this form so that newcomers get it without rebuilding it.
#[derive(Debug, Clone)]
pub struct SharedStanza {
    element: Arc<Element>,
    prepared: Arc<Prepared>,
}

impl SharedStanza {
    /// Serialises `el` once; its own `to`, if any, is dropped.
    pub fn new(mut el: Element) -> Self {
        el.remove_attr("to");
        let prepared = Arc::new(Prepared::new(&el));
        SharedStanza {
            element: Arc::new(el),
            prepared,
        }
    }

    /// The tree (without `to`).
    pub fn element(&self) -> &Arc<Element> {
        &self.element
    }

    /// The bytes, with a place for `to`.
    pub fn prepared(&self) -> &Arc<Prepared> {
        &self.prepared
    }
}

impl std::ops::Deref for SharedStanza {
    type Target = Element;

    fn deref(&self) -> &Element {
        &self.element
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_attrs() {
        let el = Element::new("message", "jabber:client")
            .with_attr("to", "a\"b'<>&")
            .with_child(Element::new("body", "jabber:client").with_text("1 < 2 & 3 > 0"));
        assert_eq!(
            el.to_xml_string(),
            "<message xmlns=\"jabber:client\" to=\"a&quot;b&apos;&lt;&gt;&amp;\"><body>1 &lt; 2 &amp; 3 &gt; 0</body></message>"
        );
    }

    #[test]
    fn context_namespace_is_omitted() {
        let el =
            Element::new("iq", "jabber:client").with_child(Element::new("ping", "urn:xmpp:ping"));
        assert_eq!(
            String::from_utf8(el.to_bytes_in("jabber:client")).unwrap(),
            "<iq><ping xmlns=\"urn:xmpp:ping\"/></iq>"
        );
    }

    #[test]
    fn prepared_splices_recipient() {
        let el = Element::new("message", "jabber:client")
            .with_attr("from", "r@m/n")
            .with_attr("to", "ignored")
            .with_attr("type", "groupchat")
            .with_child(Element::new("body", "jabber:client").with_text("hi"));
        let p = Prepared::new(&el);
        let mut out = Vec::new();
        p.write_to(&mut out, "u@h/r");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<message xmlns=\"jabber:client\" from=\"r@m/n\" type=\"groupchat\" to=\"u@h/r\"><body>hi</body></message>"
        );
        // On a jabber:client stream the declaration would repeat the stream's default.
        let mut out = Vec::new();
        p.write_to_in(&mut out, "u@h/r", "jabber:client");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<message from=\"r@m/n\" type=\"groupchat\" to=\"u@h/r\"><body>hi</body></message>"
        );
        // Any other context keeps it.
        let mut out = Vec::new();
        p.write_to_in(&mut out, "u@h/r", "jabber:component:accept");
        assert!(
            String::from_utf8(out)
                .unwrap()
                .starts_with("<message xmlns=\"jabber:client\" ")
        );
    }

    #[test]
    fn prefixed_element_declares_prefix() {
        let mut el = Element::new("error", "http://etherx.jabber.org/streams");
        el.prefix = Some("stream".into());
        assert_eq!(
            el.to_xml_string(),
            "<stream:error xmlns:stream=\"http://etherx.jabber.org/streams\"/>"
        );
    }
}
