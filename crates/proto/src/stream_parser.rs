//! Sans-io XMPP stream framing: feed any split of bytes, take stream-open, stanza and
//! stream-close events.
//!
//! A small lexical scanner tracks `<`, `>`, quotes, `/>`, end tags and CDATA to find where
//! each top-level element ends, so quick-xml only ever sees one complete element (see
//! `fragment`). The scanner keeps its position between feeds, so a large stanza arriving in
//! many small reads is scanned once. Comments, processing instructions (other than the XML
//! declaration before the stream header) and DTDs are refused as soon as they are seen.

use crate::element::Element;
use crate::error::XmlError;
use crate::fragment::{Bindings, parse_element};
use crate::ns;

/// Bounds on what one peer may make the parser hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest top-level element (stanza) in bytes.
    pub max_stanza_bytes: usize,
    /// Deepest nesting inside a stanza.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_stanza_bytes: 256 * 1024,
            max_depth: 64,
        }
    }
}

/// The attributes of a `<stream:stream>` header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamHeader {
    /// `to`: the host the peer wants.
    pub to: Option<String>,
    /// `from`.
    pub from: Option<String>,
    /// `version` (`1.0` for RFC 6120 streams).
    pub version: Option<String>,
    /// `xml:lang`.
    pub lang: Option<String>,
    /// `id` (set by servers).
    pub id: Option<String>,
    /// The default namespace declared on the header (`jabber:client`, …).
    pub default_ns: String,
    /// Every namespace declared on the header, for resolving stanzas.
    pub bindings: Bindings,
}

/// What the parser found.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The stream header.
    Open(StreamHeader),
    /// One complete top-level element.
    Element(Element),
    /// The closing `</stream:stream>`.
    Close,
}

/// Whether elements live inside a `<stream:stream>` (TCP, components) or stand alone
/// (WebSocket frames, BOSH bodies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Stream,
    Fragments,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    Text,
    Lt,
    StartTag { quote: Option<u8>, slash: bool },
    EndTag,
    Bang { matched: usize },
    CData { matched: usize },
    Decl { question: bool },
}

const CDATA_OPEN: &[u8] = b"[CDATA[";

/// The incremental parser. One per connection (or per fragment for WebSocket/BOSH).
#[derive(Debug)]
pub struct StreamParser {
    buf: Vec<u8>,
    /// Bytes before this offset are consumed.
    consumed: usize,
    /// Next byte to scan.
    scan: usize,
    lex: Lex,
    depth: usize,
    tag_start: usize,
    elem_start: Option<usize>,
    mode: Mode,
    opened: bool,
    bindings: Bindings,
    limits: Limits,
    failed: bool,
}

impl StreamParser {
    /// A parser for a `<stream:stream>` connection (TCP/TLS, XEP-0114).
    pub fn new_stream(limits: Limits) -> Self {
        Self::new(Mode::Stream, limits, Vec::new())
    }

    /// A parser for standalone elements resolved in `default_ns` (WebSocket frames, BOSH).
    pub fn new_fragments(limits: Limits, default_ns: &str) -> Self {
        Self::new(
            Mode::Fragments,
            limits,
            vec![(String::new(), default_ns.to_owned())],
        )
    }

    fn new(mode: Mode, limits: Limits, bindings: Bindings) -> Self {
        StreamParser {
            buf: Vec::new(),
            consumed: 0,
            scan: 0,
            lex: Lex::Text,
            depth: 0,
            tag_start: 0,
            elem_start: None,
            mode,
            opened: mode == Mode::Fragments,
            bindings,
            limits,
            failed: false,
        }
    }

    /// Forgets everything and waits for a new stream header (RFC 6120 stream restart).
    pub fn reset(&mut self) {
        let fresh = Self::new(self.mode, self.limits, Vec::new());
        *self = fresh;
    }

    /// Changes the limits (after authentication a host may allow more).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// True when no partial element is buffered (used to release memory of idle peers).
    pub fn is_idle(&self) -> bool {
        self.consumed == self.buf.len()
    }

    /// Adds received bytes.
    pub fn feed(&mut self, data: &[u8]) {
        if self.consumed > 0 {
            self.buf.drain(..self.consumed);
            self.scan -= self.consumed;
            self.tag_start = self.tag_start.saturating_sub(self.consumed);
            self.elem_start = self.elem_start.map(|s| s - self.consumed);
            self.consumed = 0;
        }
        if self.buf.is_empty() && self.buf.capacity() > 16 * 1024 {
            self.buf = Vec::new();
        }
        self.buf.extend_from_slice(data);
    }

    /// Releases buffer memory when nothing partial is held.
    pub fn shrink_if_idle(&mut self) {
        if self.is_idle() {
            self.buf = Vec::new();
            self.consumed = 0;
            self.scan = 0;
            self.tag_start = 0;
        }
    }

    fn top(&self) -> usize {
        match self.mode {
            Mode::Stream => 1,
            Mode::Fragments => 0,
        }
    }

    fn fail(&mut self, e: XmlError) -> Result<Option<StreamEvent>, XmlError> {
        self.failed = true;
        Err(e)
    }

    /// Returns the next complete event, `Ok(None)` when more bytes are needed, or the error
    /// that ends the stream. After an error the parser stays failed.
    pub fn next_event(&mut self) -> Result<Option<StreamEvent>, XmlError> {
        if self.failed {
            return Err(XmlError::NotWellFormed("stream already failed".into()));
        }
        while self.scan < self.buf.len() {
            let i = self.scan;
            let b = self.buf.get(i).copied().unwrap_or(b' ');
            self.scan += 1;
            if let Some(start) = self.elem_start {
                if self.scan - start > self.limits.max_stanza_bytes {
                    return self.fail(XmlError::TooLarge(format!(
                        "stanza larger than {} bytes",
                        self.limits.max_stanza_bytes
                    )));
                }
            } else if self.scan - self.consumed > self.limits.max_stanza_bytes.max(8192) {
                return self.fail(XmlError::TooLarge("stream header too large".into()));
            }
            match self.lex {
                Lex::Text => {
                    if b == b'<' {
                        self.tag_start = i;
                        self.lex = Lex::Lt;
                    } else if self.depth < self.top()
                        || (self.depth == self.top() && self.elem_start.is_none())
                    {
                        if !b.is_ascii_whitespace() {
                            return self.fail(XmlError::NotWellFormed(
                                "character data outside a stanza".into(),
                            ));
                        }
                        self.consumed = self.scan;
                    }
                }
                Lex::Lt => match b {
                    b'/' => self.lex = Lex::EndTag,
                    b'!' => self.lex = Lex::Bang { matched: 0 },
                    b'?' => {
                        if self.mode == Mode::Stream && !self.opened && self.depth == 0 {
                            self.lex = Lex::Decl { question: false };
                        } else {
                            return self.fail(XmlError::RestrictedXml(
                                "processing instructions are not allowed".into(),
                            ));
                        }
                    }
                    _ => {
                        if self.depth == self.top() {
                            self.elem_start = Some(self.tag_start);
                        }
                        self.lex = Lex::StartTag {
                            quote: None,
                            slash: false,
                        };
                    }
                },
                Lex::StartTag { quote, slash } => match quote {
                    Some(q) => {
                        if b == q {
                            self.lex = Lex::StartTag {
                                quote: None,
                                slash: false,
                            };
                        } else if b == b'<' {
                            return self
                                .fail(XmlError::NotWellFormed("'<' in attribute value".into()));
                        }
                    }
                    None => match b {
                        b'"' | b'\'' => {
                            self.lex = Lex::StartTag {
                                quote: Some(b),
                                slash: false,
                            }
                        }
                        b'>' => {
                            self.lex = Lex::Text;
                            if let Some(ev) = self.end_of_start_tag(i, slash)? {
                                return Ok(Some(ev));
                            }
                        }
                        b'<' => {
                            return self.fail(XmlError::NotWellFormed("'<' inside a tag".into()));
                        }
                        _ => {
                            self.lex = Lex::StartTag {
                                quote: None,
                                slash: b == b'/',
                            }
                        }
                    },
                },
                Lex::EndTag => {
                    if b == b'>' {
                        self.lex = Lex::Text;
                        if let Some(ev) = self.end_of_end_tag(i)? {
                            return Ok(Some(ev));
                        }
                    } else if b == b'<' {
                        return self.fail(XmlError::NotWellFormed("'<' inside a tag".into()));
                    }
                }
                Lex::Bang { matched } => {
                    if self.depth > self.top() && CDATA_OPEN.get(matched) == Some(&b) {
                        self.lex = if matched + 1 == CDATA_OPEN.len() {
                            Lex::CData { matched: 0 }
                        } else {
                            Lex::Bang {
                                matched: matched + 1,
                            }
                        };
                    } else {
                        let what = if matched == 0 && b == b'-' {
                            "comments are not allowed"
                        } else if matched == 0 && b == b'D' {
                            "DTDs are not allowed"
                        } else {
                            "markup declarations are not allowed"
                        };
                        return self.fail(XmlError::RestrictedXml(what.into()));
                    }
                }
                Lex::CData { matched } => {
                    self.lex = Lex::CData {
                        matched: match (matched, b) {
                            (_, b']') if matched < 2 => matched + 1,
                            (2, b']') => 2,
                            (2, b'>') => {
                                self.lex = Lex::Text;
                                continue;
                            }
                            _ => 0,
                        },
                    };
                }
                Lex::Decl { question } => {
                    if question && b == b'>' {
                        let decl = self.buf.get(self.tag_start..self.scan).unwrap_or_default();
                        if !decl.starts_with(b"<?xml ") && !decl.starts_with(b"<?xml?") {
                            return self.fail(XmlError::RestrictedXml(
                                "processing instructions are not allowed".into(),
                            ));
                        }
                        self.lex = Lex::Text;
                        self.consumed = self.scan;
                    } else {
                        self.lex = Lex::Decl {
                            question: b == b'?',
                        };
                    }
                }
            }
        }
        Ok(None)
    }

    fn end_of_start_tag(&mut self, i: usize, empty: bool) -> Result<Option<StreamEvent>, XmlError> {
        if self.mode == Mode::Stream && !self.opened {
            if empty {
                return self
                    .fail(XmlError::NotWellFormed(
                        "stream header closed at once".into(),
                    ))
                    .map(|_| None);
            }
            let tag = self
                .buf
                .get(self.tag_start..=i)
                .unwrap_or_default()
                .to_vec();
            self.consumed = i + 1;
            self.depth = 1;
            self.opened = true;
            let header = match parse_header(&tag) {
                Ok(h) => h,
                Err(e) => return self.fail(e).map(|_| None),
            };
            self.bindings = header.bindings.clone();
            return Ok(Some(StreamEvent::Open(header)));
        }
        if !empty {
            self.depth += 1;
            if self.depth > self.limits.max_depth + self.top() {
                return self
                    .fail(XmlError::TooLarge("elements nested too deep".into()))
                    .map(|_| None);
            }
            return Ok(None);
        }
        if self.depth + 1 > self.limits.max_depth + self.top() {
            return self
                .fail(XmlError::TooLarge("elements nested too deep".into()))
                .map(|_| None);
        }
        if self.depth == self.top() {
            return self.complete(i).map(Some);
        }
        Ok(None)
    }

    fn end_of_end_tag(&mut self, i: usize) -> Result<Option<StreamEvent>, XmlError> {
        if self.depth == 0 || (self.mode == Mode::Stream && !self.opened) {
            return self
                .fail(XmlError::NotWellFormed("unexpected end tag".into()))
                .map(|_| None);
        }
        self.depth -= 1;
        if self.mode == Mode::Stream && self.depth == 0 {
            let tag = self.buf.get(self.tag_start..=i).unwrap_or_default();
            let name: Vec<u8> = tag
                .get(2..tag.len().saturating_sub(1))
                .unwrap_or_default()
                .iter()
                .copied()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            if name != b"stream:stream" {
                return self
                    .fail(XmlError::NotWellFormed("mismatched stream end tag".into()))
                    .map(|_| None);
            }
            self.consumed = i + 1;
            return Ok(Some(StreamEvent::Close));
        }
        if self.depth == self.top() {
            return self.complete(i).map(Some);
        }
        Ok(None)
    }

    fn complete(&mut self, end: usize) -> Result<StreamEvent, XmlError> {
        let start = self.elem_start.take().unwrap_or(self.tag_start);
        self.consumed = end + 1;
        let slice = self.buf.get(start..=end).unwrap_or_default();
        match parse_element(slice, &self.bindings) {
            Ok(el) => Ok(StreamEvent::Element(el)),
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }
}

/// Parses `<stream:stream ...>` (given with its closing `>`).
fn parse_header(tag: &[u8]) -> Result<StreamHeader, XmlError> {
    // Close the tag so quick-xml sees a complete element, then read its attributes.
    let mut closed = tag.to_vec();
    if closed.last() == Some(&b'>') {
        closed.pop();
    }
    closed.extend_from_slice(b"/>");
    let el = parse_element(&closed, &Vec::new()).map_err(|e| match e {
        XmlError::NotWellFormed(t) if t.contains("unbound prefix") => {
            XmlError::InvalidNamespace("stream prefix not bound".into())
        }
        other => other,
    })?;
    if el.name != "stream" || el.ns != ns::STREAM {
        return Err(XmlError::InvalidNamespace(format!(
            "stream element must be {{{}}}stream",
            ns::STREAM
        )));
    }
    let mut bindings: Bindings = Vec::new();
    let mut default_ns = String::new();
    for (k, v) in &el.attrs {
        if let Some(p) = k.strip_prefix("xmlns:") {
            bindings.push((p.to_owned(), v.clone()));
        }
    }
    // The default namespace declaration was folded away by the parser; recover it.
    if let Some(d) = find_default_ns(tag) {
        default_ns = d.clone();
        bindings.push((String::new(), d));
    }
    Ok(StreamHeader {
        to: el.attr("to").map(str::to_owned),
        from: el.attr("from").map(str::to_owned),
        version: el.attr("version").map(str::to_owned),
        lang: el.attr("xml:lang").map(str::to_owned),
        id: el.attr("id").map(str::to_owned),
        default_ns,
        bindings,
    })
}

fn find_default_ns(tag: &[u8]) -> Option<String> {
    let mut reader = quick_xml::reader::Reader::from_reader(tag);
    if let Ok(quick_xml::events::Event::Start(s) | quick_xml::events::Event::Empty(s)) =
        reader.read_event()
    {
        for a in s.attributes().flatten() {
            if a.key.as_ref() == b"xmlns" {
                return a.unescape_value().ok().map(|v| v.into_owned());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests;
