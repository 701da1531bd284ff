//! The in-memory XML element used for every stanza.
//!
//! It keeps every attribute and child it was parsed with, known or not, so that extension
//! payloads (Jitsi puts a dozen in each MUC presence) are forwarded byte-for-byte in meaning.

/// A child of an element: a nested element or character data (already unescaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A nested element.
    Element(Element),
    /// Unescaped character data.
    Text(String),
}

/// One XML element with its resolved namespace.
///
/// `prefix` is kept only for prefixed elements (`stream:error`); `attrs` holds every attribute
/// as written (qualified names included, default `xmlns` declarations excluded because
/// `ns` carries them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// Local name (`message`, `x`, …).
    pub name: String,
    /// The prefix the element was written with, if any.
    pub prefix: Option<String>,
    /// The resolved namespace URI.
    pub ns: String,
    /// Attributes in document order, as `(qualified name, unescaped value)`.
    pub attrs: Vec<(String, String)>,
    /// Children in document order.
    pub nodes: Vec<Node>,
}

impl Element {
    /// A new empty element in namespace `ns`.
    pub fn new(name: impl Into<String>, ns: impl Into<String>) -> Self {
        Element {
            name: name.into(),
            prefix: None,
            ns: ns.into(),
            attrs: Vec::new(),
            nodes: Vec::new(),
        }
    }

    /// True when this element has the given local name and namespace.
    pub fn is(&self, name: &str, ns: &str) -> bool {
        self.name == name && self.ns == ns
    }

    /// The value of attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets (or replaces) attribute `name`.
    pub fn set_attr(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.attrs.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => self.attrs.push((name.to_owned(), value)),
        }
    }

    /// Removes attribute `name` and returns its value.
    pub fn remove_attr(&mut self, name: &str) -> Option<String> {
        let pos = self.attrs.iter().position(|(k, _)| k == name)?;
        Some(self.attrs.remove(pos).1)
    }

    /// Builder form of [`Element::set_attr`].
    pub fn with_attr(mut self, name: &str, value: impl Into<String>) -> Self {
        self.set_attr(name, value);
        self
    }

    /// Builder: sets the attribute only when `value` is `Some`.
    pub fn with_opt_attr(mut self, name: &str, value: Option<impl Into<String>>) -> Self {
        if let Some(v) = value {
            self.set_attr(name, v);
        }
        self
    }

    /// Builder: appends a child element.
    pub fn with_child(mut self, child: Element) -> Self {
        self.nodes.push(Node::Element(child));
        self
    }

    /// Builder: appends character data.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.nodes.push(Node::Text(text.into()));
        self
    }

    /// Appends a child element.
    pub fn push_child(&mut self, child: Element) {
        self.nodes.push(Node::Element(child));
    }

    /// Child elements in order.
    pub fn children(&self) -> impl Iterator<Item = &Element> {
        self.nodes.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// Mutable child elements in order.
    pub fn children_mut(&mut self) -> impl Iterator<Item = &mut Element> {
        self.nodes.iter_mut().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The first child with this name and namespace.
    pub fn get_child(&self, name: &str, ns: &str) -> Option<&Element> {
        self.children().find(|c| c.is(name, ns))
    }

    /// The first child with this name and namespace, mutably.
    pub fn get_child_mut(&mut self, name: &str, ns: &str) -> Option<&mut Element> {
        self.children_mut().find(|c| c.is(name, ns))
    }

    /// True when a child with this name and namespace exists.
    pub fn has_child(&self, name: &str, ns: &str) -> bool {
        self.get_child(name, ns).is_some()
    }

    /// Removes every child with this name and namespace; returns how many went.
    pub fn remove_children(&mut self, name: &str, ns: &str) -> usize {
        let before = self.nodes.len();
        self.nodes
            .retain(|n| !matches!(n, Node::Element(e) if e.is(name, ns)));
        before - self.nodes.len()
    }

    /// The first child element, whatever it is (the payload of an IQ).
    pub fn first_child(&self) -> Option<&Element> {
        self.children().next()
    }

    /// Concatenated direct text content.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for n in &self.nodes {
            if let Node::Text(t) = n {
                out.push_str(t);
            }
        }
        out
    }

    /// The text of the first child with this name and namespace.
    pub fn child_text(&self, name: &str, ns: &str) -> Option<String> {
        self.get_child(name, ns).map(Element::text)
    }

    /// Recursively changes the namespace of this element and of descendants that share its
    /// namespace; used to move stanzas between `jabber:client` and `jabber:component:accept`.
    pub fn rename_ns(&mut self, from: &str, to: &str) {
        if self.ns == from {
            self.ns = to.to_owned();
            for c in self.children_mut() {
                c.rename_ns(from, to);
            }
        }
    }
}
