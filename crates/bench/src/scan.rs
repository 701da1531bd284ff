//! A minimal incremental scanner that cuts an XMPP byte stream into top-level items.
//!
//! It does no XML validation and builds no tree: it only tracks element depth so that the
//! receive path of the load generator (and of the trivial server) costs a few `memchr`
//! calls per stanza. Bytes are read into [`Scanner::spare`], committed with
//! [`Scanner::commit`], and complete items are taken with [`Scanner::next_item`].

use memchr::{memchr, memchr3, memmem};

/// One complete top-level item of an XMPP stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// A stream header (`<stream:stream ...>` on TCP, `<open .../>` on WebSocket).
    StreamOpen(&'a [u8]),
    /// The end of the stream (`</stream:stream>` on TCP, `<close/>` on WebSocket).
    StreamClose,
    /// A complete first-level element (a stanza or a nonza), raw bytes.
    Element(&'a [u8]),
}

/// Why the byte stream could not be scanned.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScanError {
    /// Character data or garbage where a top-level element should start.
    #[error("unexpected text at stream level")]
    TextAtTopLevel,
    /// A single element grew beyond the configured maximum buffer size.
    #[error("element larger than {0} bytes")]
    TooLarge(usize),
    /// Markup the scanner does not accept (a DTD, say).
    #[error("unsupported markup")]
    Unsupported,
}

/// Outcome of looking for the end of one item in a byte slice.
enum Found {
    /// Item complete: its kind and its length in bytes.
    Done(Kind, usize),
    /// Skippable markup (declaration, comment) of this length.
    Skip(usize),
    /// More bytes are needed.
    Incomplete,
}

#[derive(Clone, Copy)]
enum Kind {
    Open,
    Close,
    Element,
}

/// Incremental top-level element scanner with its own read buffer.
#[derive(Debug)]
pub struct Scanner {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    initial: usize,
    max: usize,
}

impl Scanner {
    /// A scanner whose buffer starts at `initial` bytes and may grow to `max` bytes.
    pub fn new(initial: usize, max: usize) -> Self {
        Scanner {
            buf: Vec::new(),
            start: 0,
            end: 0,
            initial: initial.max(64),
            max,
        }
    }

    /// Free space to read into, compacting or growing the buffer as needed.
    pub fn spare(&mut self) -> Result<&mut [u8], ScanError> {
        if self.buf.is_empty() {
            self.buf = vec![0; self.initial];
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        // Compact when the free tail is small, so reads stay large.
        if self.start > 0 && self.buf.len() - self.end < self.buf.len() / 4 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.buf.len() >= self.max {
                return Err(ScanError::TooLarge(self.max));
            } else {
                let new_len = (self.buf.len() * 2).min(self.max);
                self.buf.resize(new_len, 0);
            }
        }
        Ok(self.buf.get_mut(self.end..).unwrap_or_default())
    }

    /// Marks `n` bytes of the spare area as filled.
    pub fn commit(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// Number of bytes read but not yet returned as items.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Drops the buffer when nothing is pending, so an idle connection holds no memory.
    pub fn release_if_empty(&mut self) {
        if self.start == self.end {
            self.buf = Vec::new();
            self.start = 0;
            self.end = 0;
        }
    }

    /// Takes the next complete item, or `None` when more bytes are needed.
    pub fn next_item(&mut self) -> Result<Option<Item<'_>>, ScanError> {
        loop {
            let data = self.buf.get(self.start..self.end).unwrap_or_default();
            let Some(ws) = data.iter().position(|b| !b.is_ascii_whitespace()) else {
                self.start = self.end;
                return Ok(None);
            };
            self.start += ws;
            let data = data.get(ws..).unwrap_or_default();
            match find_item(data)? {
                Found::Incomplete => return Ok(None),
                Found::Skip(n) => self.start += n,
                Found::Done(kind, n) => {
                    let from = self.start;
                    self.start += n;
                    let bytes = self.buf.get(from..from + n).unwrap_or_default();
                    return Ok(Some(match kind {
                        Kind::Open => Item::StreamOpen(bytes),
                        Kind::Close => Item::StreamClose,
                        Kind::Element => Item::Element(bytes),
                    }));
                }
            }
        }
    }
}

/// Finds the end of the item that starts at `data[0]` (which is not whitespace).
fn find_item(data: &[u8]) -> Result<Found, ScanError> {
    if data.first() != Some(&b'<') {
        return Err(ScanError::TextAtTopLevel);
    }
    match data.get(1) {
        None => Ok(Found::Incomplete),
        Some(b'?') => Ok(find_seq(data, 2, b"?>").map_or(Found::Incomplete, Found::Skip)),
        Some(b'!') => {
            if data.len() < 4 {
                Ok(Found::Incomplete)
            } else if data.starts_with(b"<!--") {
                Ok(find_seq(data, 4, b"-->").map_or(Found::Incomplete, Found::Skip))
            } else {
                Err(ScanError::Unsupported)
            }
        }
        Some(b'/') => {
            Ok(memchr(b'>', data).map_or(Found::Incomplete, |gt| Found::Done(Kind::Close, gt + 1)))
        }
        Some(_) => {
            let Some(gt) = tag_end(data, 1) else {
                return Ok(Found::Incomplete);
            };
            let self_closing = gt > 0 && data.get(gt - 1) == Some(&b'/');
            let name = element_name(data);
            if !self_closing
                && (name == b"stream:stream" || name.ends_with(b":stream") || name == b"stream")
            {
                return Ok(Found::Done(Kind::Open, gt + 1));
            }
            if self_closing {
                return Ok(Found::Done(Kind::Element, gt + 1));
            }
            Ok(element_end(data, gt + 1)
                .map_or(Found::Incomplete, |n| Found::Done(Kind::Element, n)))
        }
    }
}

/// Given the bytes of an element whose start tag ends before `pos`, finds the length of
/// the whole element (depth back to zero), or `None` if incomplete.
fn element_end(data: &[u8], mut pos: usize) -> Option<usize> {
    let mut depth = 1usize;
    loop {
        let lt = pos + memchr(b'<', data.get(pos..)?)?;
        match data.get(lt + 1)? {
            b'/' => {
                let gt = lt + memchr(b'>', data.get(lt..)?)?;
                depth -= 1;
                if depth == 0 {
                    return Some(gt + 1);
                }
                pos = gt + 1;
            }
            b'!' => {
                let rest = data.get(lt..)?;
                if rest.starts_with(b"<![CDATA[") {
                    pos = find_seq(data, lt + 9, b"]]>")?;
                } else if rest.starts_with(b"<!--") {
                    pos = find_seq(data, lt + 4, b"-->")?;
                } else if rest.len() < 9 {
                    return None;
                } else {
                    // Unknown markup inside an element: skip to '>'.
                    pos = lt + memchr(b'>', rest)? + 1;
                }
            }
            b'?' => pos = find_seq(data, lt + 2, b"?>")?,
            _ => {
                let gt = tag_end(data, lt + 1)?;
                if data.get(gt - 1) != Some(&b'/') {
                    depth += 1;
                }
                pos = gt + 1;
            }
        }
    }
}

/// Position just past the first `needle` at or after `from`.
fn find_seq(data: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let at = memmem::find(data.get(from..)?, needle)?;
    Some(from + at + needle.len())
}

/// Index of the `>` that ends the tag whose name starts at `from`, skipping quoted values.
fn tag_end(data: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let rest = data.get(from..)?;
        let i = memchr3(b'>', b'"', b'\'', rest)?;
        let at = from + i;
        let c = *rest.get(i)?;
        if c == b'>' {
            return Some(at);
        }
        let close = memchr(c, data.get(at + 1..)?)?;
        from = at + 1 + close + 1;
    }
}

/// The qualified name of the element whose start tag begins `data` (`<name ...`).
pub fn element_name(data: &[u8]) -> &[u8] {
    let rest = data.get(1..).unwrap_or_default();
    let n = rest
        .iter()
        .position(|&b| b.is_ascii_whitespace() || b == b'>' || b == b'/')
        .unwrap_or(rest.len());
    rest.get(..n).unwrap_or_default()
}

/// The start tag (up to and including its `>`) of an element.
pub fn start_tag(data: &[u8]) -> &[u8] {
    match tag_end(data, 1) {
        Some(gt) => data.get(..=gt).unwrap_or(data),
        None => data,
    }
}

/// Value of attribute `name` in the start tag of `elem`, without unescaping.
pub fn attr<'a>(elem: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let tag = start_tag(elem);
    let mut from = 0;
    while let Some(i) = memmem::find(tag.get(from..)?, name) {
        let at = from + i;
        let before_ok = at > 0 && tag.get(at - 1).is_some_and(|b| b.is_ascii_whitespace());
        let after = at + name.len();
        if before_ok && tag.get(after) == Some(&b'=') {
            let quote = *tag.get(after + 1)?;
            if quote == b'"' || quote == b'\'' {
                let vstart = after + 2;
                let len = memchr(quote, tag.get(vstart..)?)?;
                return tag.get(vstart..vstart + len);
            }
        }
        from = after;
    }
    None
}

/// Text content of the first child element called `child` (e.g. `body`), without unescaping.
pub fn child_text<'a>(elem: &'a [u8], child: &[u8]) -> Option<&'a [u8]> {
    let mut open = Vec::with_capacity(child.len() + 1);
    open.push(b'<');
    open.extend_from_slice(child);
    let mut from = 0;
    loop {
        let at = from + memmem::find(elem.get(from..)?, &open)?;
        let after = at + open.len();
        match elem.get(after) {
            Some(b'>') => {
                let text = elem.get(after + 1..)?;
                return text.get(..memchr(b'<', text)?);
            }
            Some(b) if b.is_ascii_whitespace() => {
                let gt = tag_end(elem, at + 1)?;
                if elem.get(gt - 1) == Some(&b'/') {
                    return Some(&[]);
                }
                let text = elem.get(gt + 1..)?;
                return text.get(..memchr(b'<', text)?);
            }
            Some(b'/') => return Some(&[]),
            _ => from = after,
        }
    }
}

/// True when `elem` contains `needle` anywhere (used for status codes and namespaces).
pub fn contains(elem: &[u8], needle: &[u8]) -> bool {
    memmem::find(elem, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(chunks: &[&[u8]]) -> Vec<String> {
        let mut s = Scanner::new(64, 1 << 20);
        let mut out = Vec::new();
        for chunk in chunks {
            let mut rest: &[u8] = chunk;
            while !rest.is_empty() {
                let spare = s.spare().unwrap();
                let n = spare.len().min(rest.len());
                spare[..n].copy_from_slice(&rest[..n]);
                s.commit(n);
                rest = &rest[n..];
                while let Some(item) = s.next_item().unwrap() {
                    out.push(match item {
                        Item::StreamOpen(b) => {
                            format!("open:{}", String::from_utf8_lossy(element_name(b)))
                        }
                        Item::StreamClose => "close".to_string(),
                        Item::Element(b) => format!("el:{}", String::from_utf8_lossy(b)),
                    });
                }
            }
        }
        out
    }

    #[test]
    fn items_across_every_split_point() {
        let stream: &[u8] = b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' a=\"x>y\">\
            <stream:features><mechanisms><mechanism>PLAIN</mechanism></mechanisms></stream:features>\n \
            <message a='1>2' to=\"r\"><body>hi &amp; <![CDATA[ <x> ]]></body><x/></message>\
            <presence/><!-- c --><iq type='result'><a><b/><c></c></a></iq></stream:stream>";
        let want = vec![
            "open:stream:stream".to_string(),
            "el:<stream:features><mechanisms><mechanism>PLAIN</mechanism></mechanisms></stream:features>".to_string(),
            "el:<message a='1>2' to=\"r\"><body>hi &amp; <![CDATA[ <x> ]]></body><x/></message>".to_string(),
            "el:<presence/>".to_string(),
            "el:<iq type='result'><a><b/><c></c></a></iq>".to_string(),
            "close".to_string(),
        ];
        assert_eq!(scan_all(&[stream]), want);
        for split in 1..stream.len() {
            assert_eq!(
                scan_all(&[&stream[..split], &stream[split..]]),
                want,
                "split at {split}"
            );
        }
    }

    #[test]
    fn text_at_top_level_is_an_error() {
        let mut s = Scanner::new(64, 1024);
        let spare = s.spare().unwrap();
        spare[..3].copy_from_slice(b"abc");
        s.commit(3);
        assert_eq!(s.next_item(), Err(ScanError::TextAtTopLevel));
    }

    #[test]
    fn oversized_element_is_refused() {
        let mut s = Scanner::new(64, 128);
        let mut err = None;
        for _ in 0..10 {
            match s.spare() {
                Ok(spare) => {
                    let n = spare.len();
                    spare.fill(b'a');
                    spare[0] = b'<';
                    s.commit(n);
                    assert_eq!(s.next_item(), Ok(None));
                    // keep the partial element pending
                }
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        assert_eq!(err, Some(ScanError::TooLarge(128)));
    }

    #[test]
    fn attribute_and_child_text() {
        type Case<'a> = (&'a [u8], &'a [u8], Option<&'a [u8]>);
        let cases: &[Case<'_>] = &[
            (
                b"<message type='groupchat' to='r@m'/>",
                b"type",
                Some(b"groupchat"),
            ),
            (b"<message xtype='a' type=\"b\"/>", b"type", Some(b"b")),
            (b"<message to='a'><x type='c'/></message>", b"type", None),
        ];
        for (elem, name, want) in cases {
            assert_eq!(attr(elem, name), *want);
        }
        assert_eq!(
            child_text(b"<message><bodyx/><body>1 2 3</body></message>", b"body"),
            Some(&b"1 2 3"[..])
        );
        assert_eq!(
            child_text(b"<message><body xml:lang='en'>7</body></message>", b"body"),
            Some(&b"7"[..])
        );
        assert_eq!(child_text(b"<message><subject/></message>", b"body"), None);
    }
}
