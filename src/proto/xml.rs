//! The XML ground shared by the body formats (PIDF, isComposing, the contact
//! list): a bounded reader that turns a body into a small owned tree, and a
//! writer that escapes everything it is given.
//!
//! Bodies come from the network, so reading is bounded before it starts: a
//! size cap, a nesting cap, an element cap and an attribute cap per element.
//! Names are resolved to (namespace URI, local name), so callers match on
//! what an element is, never on the prefix a peer chose. A document type
//! declaration is refused outright: no entity is ever defined, so none is
//! ever expanded (no "billion laughs"), and a reference to anything but the
//! five predefined entities or a character reference is an error. Input must
//! be UTF-8, which every presence and IM implementation seen sends; any
//! other encoding is refused rather than guessed at.
//!
//! Writing goes through quick-xml's writer; text and attribute values are
//! escaped, and characters XML 1.0 cannot carry at all (C0 controls other
//! than tab, line feed and carriage return; U+FFFE, U+FFFF) are replaced by
//! U+FFFD so the output is always well-formed.

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use quick_xml::writer::Writer;
use thiserror::Error;

/// How much of a document a reader accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The whole body, in bytes.
    pub max_bytes: usize,
    /// Elements open at once, the root included.
    pub max_depth: usize,
    /// Elements in the whole document.
    pub max_elements: usize,
    /// Attributes on one element, namespace declarations included.
    pub max_attributes: usize,
}

#[derive(Debug, Error)]
pub enum XmlError {
    #[error("document of {size} bytes is over the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("elements nest deeper than {limit}")]
    TooDeep { limit: usize },
    #[error("more than {limit} elements")]
    TooManyElements { limit: usize },
    #[error("an element has more than {limit} attributes")]
    TooManyAttributes { limit: usize },
    #[error("document is not UTF-8")]
    NotUtf8,
    #[error("document type declarations are not accepted")]
    DocType,
    #[error("reference to undefined entity &{0};")]
    UndefinedEntity(String),
    #[error("namespace prefix {0:?} is not declared")]
    UndeclaredPrefix(String),
    #[error("document ends inside <{0}>")]
    Truncated(String),
    #[error("document has no root element")]
    NoRoot,
    #[error("content outside the root element")]
    OutsideRoot,
    #[error("malformed XML: {0}")]
    Malformed(#[from] quick_xml::Error),
}

/// One element of a read document: its resolved name, its attributes, its
/// child elements and its own character data (text and CDATA directly
/// inside it, concatenated; the formats here never mix text with
/// elements).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    /// The namespace URI, or `None` for an element in no namespace.
    pub namespace: Option<String>,
    pub name: String,
    pub attributes: Vec<Attribute>,
    pub children: Vec<Element>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attribute {
    /// `None` for an unprefixed attribute (Namespaces in XML §6.3: the
    /// default namespace does not apply to attributes).
    pub namespace: Option<String>,
    pub name: String,
    pub value: String,
}

impl Element {
    /// Whether this element is `name` in `namespace`.
    pub fn is(&self, namespace: &str, name: &str) -> bool {
        self.name == name && self.namespace.as_deref() == Some(namespace)
    }

    /// The children that are `name` in `namespace`, in document order.
    pub fn children_named<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children
            .iter()
            .filter(move |child| child.is(namespace, name))
    }

    /// The value of an unprefixed attribute.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|attribute| attribute.namespace.is_none() && attribute.name == name)
            .map(|attribute| attribute.value.as_str())
    }

    /// This element and every element below it, in document order.
    pub fn descendants(&self) -> Vec<&Element> {
        let mut found = Vec::new();
        let mut pending = vec![self];
        while let Some(element) = pending.pop() {
            found.push(element);
            // Reversed so that the first child is taken next.
            pending.extend(element.children.iter().rev());
        }
        found
    }
}

/// Reads `bytes` into a tree, within `limits`.
pub(crate) fn parse(bytes: &[u8], limits: &Limits) -> Result<Element, XmlError> {
    if bytes.len() > limits.max_bytes {
        return Err(XmlError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| XmlError::NotUtf8)?;
    let mut reader = NsReader::from_str(text);
    let mut tree = TreeBuilder {
        limits,
        open: Vec::new(),
        root: None,
        elements: 0,
    };
    loop {
        match reader.read_event()? {
            Event::Start(start) => {
                let element = tree.new_element(&reader, &start)?;
                tree.open.push(element);
            }
            Event::Empty(start) => {
                let element = tree.new_element(&reader, &start)?;
                tree.close(element);
            }
            Event::End(_) => {
                // quick-xml has checked that the end tag matches.
                let element = tree.open.pop().ok_or(XmlError::OutsideRoot)?;
                tree.close(element);
            }
            Event::Text(content) => tree.append_text(&content.xml10_content())?,
            Event::CData(content) => tree.append_text(&content.xml10_content())?,
            Event::GeneralRef(reference) => {
                let resolved: Cow<'_, str> = match reference.resolve_char_ref()? {
                    Some(character) => Cow::Owned(character.to_string()),
                    None => match resolve_predefined_entity(&reference) {
                        Some(replacement) => Cow::Borrowed(replacement),
                        None => return Err(XmlError::UndefinedEntity(excerpt(&reference))),
                    },
                };
                tree.append_text(&resolved)?;
            }
            Event::DocType(_) => return Err(XmlError::DocType),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(unclosed) = tree.open.last() {
        return Err(XmlError::Truncated(excerpt(&unclosed.name)));
    }
    tree.root.ok_or(XmlError::NoRoot)
}

struct TreeBuilder<'l> {
    limits: &'l Limits,
    /// The elements open now, the root first.
    open: Vec<Element>,
    root: Option<Element>,
    elements: usize,
}

impl TreeBuilder<'_> {
    /// The element `start` opens, checked against the limits. The reader
    /// has already pushed the element's own namespace declarations, so its
    /// name resolves in its own scope.
    fn new_element(
        &mut self,
        reader: &NsReader<&[u8]>,
        start: &BytesStart<'_>,
    ) -> Result<Element, XmlError> {
        if self.root.is_some() {
            return Err(XmlError::OutsideRoot);
        }
        if self.open.len() >= self.limits.max_depth {
            return Err(XmlError::TooDeep {
                limit: self.limits.max_depth,
            });
        }
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(XmlError::TooManyElements {
                limit: self.limits.max_elements,
            });
        }
        open_element(reader, start, self.limits)
    }

    fn close(&mut self, element: Element) {
        match self.open.last_mut() {
            Some(parent) => parent.children.push(element),
            None => self.root = Some(element),
        }
    }

    fn append_text(&mut self, text: &str) -> Result<(), XmlError> {
        match self.open.last_mut() {
            Some(element) => element.text.push_str(text),
            // XML 1.0 §2.1: only markup and white space may surround the root.
            None if text.chars().all(is_xml_space) => {}
            None => return Err(XmlError::OutsideRoot),
        }
        Ok(())
    }
}

fn open_element(
    reader: &NsReader<&[u8]>,
    start: &BytesStart<'_>,
    limits: &Limits,
) -> Result<Element, XmlError> {
    let (namespace, local) = reader.resolver().resolve_element(start.name());
    let namespace = resolved(namespace)?;
    let mut attributes = Vec::new();
    for (index, attribute) in start.attributes().enumerate() {
        if index >= limits.max_attributes {
            return Err(XmlError::TooManyAttributes {
                limit: limits.max_attributes,
            });
        }
        let attribute = attribute.map_err(quick_xml::Error::from)?;
        if attribute.key.as_namespace_binding().is_some() {
            continue;
        }
        let (attribute_namespace, attribute_local) =
            reader.resolver().resolve_attribute(attribute.key);
        attributes.push(Attribute {
            namespace: resolved(attribute_namespace)?,
            name: attribute_local.as_ref().to_owned(),
            value: attribute
                .normalized_value(XmlVersion::Implicit1_0)?
                .into_owned(),
        });
    }
    Ok(Element {
        namespace,
        name: local.as_ref().to_owned(),
        attributes,
        children: Vec::new(),
        text: String::new(),
    })
}

fn resolved(result: ResolveResult<'_>) -> Result<Option<String>, XmlError> {
    match result {
        ResolveResult::Bound(namespace) => Ok(Some(namespace.as_ref().to_owned())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(prefix) => Err(XmlError::UndeclaredPrefix(excerpt(&prefix))),
    }
}

fn is_xml_space(character: char) -> bool {
    matches!(character, ' ' | '\t' | '\n' | '\r')
}

/// The start of `text`, for error messages about input of any size.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX_CHARS: usize = 64;
    match text.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

/// A document under construction, indented by two spaces and opened with
/// an XML declaration naming UTF-8.
pub(crate) struct DocumentWriter {
    writer: Writer<Vec<u8>>,
}

impl DocumentWriter {
    pub fn new() -> Self {
        let mut document = DocumentWriter {
            writer: Writer::new_with_indent(Vec::new(), b' ', 2),
        };
        document.write(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        document
    }

    pub fn start(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.write(Event::Start(tag(name, attributes)));
    }

    pub fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.write(Event::Empty(tag(name, attributes)));
    }

    pub fn end(&mut self, name: &str) {
        self.write(Event::End(BytesEnd::new(name)));
    }

    /// `<name attributes>text</name>` on one line.
    pub fn text_element(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) {
        self.start(name, attributes);
        self.write(Event::Text(BytesText::new(&xml_chars(text))));
        self.end(name);
    }

    pub fn finish(self) -> String {
        let mut bytes = self.writer.into_inner();
        bytes.push(b'\n');
        // Every byte written came from a `&str`.
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn write(&mut self, event: Event<'_>) {
        // Writing into a Vec<u8> cannot fail.
        let _ = self.writer.write_event(event);
    }
}

fn tag<'a>(name: &'a str, attributes: &[(&str, &str)]) -> BytesStart<'a> {
    let mut start = BytesStart::new(name);
    for (key, value) in attributes {
        // The (&str, &str) conversion escapes the value for an attribute.
        start.push_attribute((*key, xml_chars(value).as_ref()));
    }
    start
}

/// `text` with the characters XML 1.0 §2.2 excludes replaced by U+FFFD.
fn xml_chars(text: &str) -> Cow<'_, str> {
    let allowed = |character: char| !matches!(character, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}');
    if text.chars().all(allowed) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(
            text.chars()
                .map(|c| if allowed(c) { c } else { '\u{fffd}' })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests;
