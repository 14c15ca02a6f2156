//! Typing indication: the isComposing status message of RFC 3994, sent as
//! a MESSAGE body while the user types ("active", refreshed) and when they
//! stop ("idle").
//!
//! This module owns the body only (RFC 3994 §3.4 and its schema); when to
//! send one and how long an "active" lasts without a refresh (§3.2 for the
//! composer, §3.3 for the receiver) belong to the IM session in the client. Of the optional elements,
//! `contenttype` and `refresh` are kept; `lastactive` is read past, since a
//! receiver has no use for the sender's clock. `refresh` is written only
//! with "active", the only state it has a meaning in.
//!
//! Reading is tolerant in the ways peers differ (prefixes, white space,
//! the state's case, a root left in no namespace by some MSRP stacks) and
//! bounded like every body (see [`crate::proto::xml`]).

use thiserror::Error;

use crate::proto::xml::{self, DocumentWriter, Element, Limits, XmlError};

/// The media type of an isComposing body (RFC 3994).
pub const CONTENT_TYPE: &str = "application/im-iscomposing+xml";
/// The namespace of its elements.
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:im-iscomposing";

const LIMITS: Limits = Limits {
    max_bytes: 16 * 1024,
    max_depth: 16,
    max_elements: 256,
    max_attributes: 32,
};

/// One isComposing status message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsComposing {
    /// "active" (composing) or "idle".
    pub active: bool,
    /// With "active": seconds until the composer sends another one.
    pub refresh: Option<u32>,
    /// What is being composed: a MIME type or a top-level type ("text",
    /// "audio").
    pub content_type: Option<String>,
}

#[derive(Debug, Error)]
pub enum IsComposingError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("root element is <{0}>, not <isComposing>")]
    NotIsComposing(String),
    #[error("<isComposing> has no <state>")]
    MissingState,
    #[error("state {0:?} is neither active nor idle")]
    UnknownState(String),
    #[error("refresh {0:?} is not a positive number of seconds")]
    BadRefresh(String),
}

impl IsComposing {
    /// The message as a body, its elements in the schema's order.
    pub fn to_xml(&self) -> String {
        let mut document = DocumentWriter::new();
        document.start("isComposing", &[("xmlns", NAMESPACE)]);
        let state = if self.active { "active" } else { "idle" };
        document.text_element("state", &[], state);
        if let Some(content_type) = &self.content_type {
            document.text_element("contenttype", &[], content_type);
        }
        if let (true, Some(refresh)) = (self.active, self.refresh) {
            document.text_element("refresh", &[], &refresh.to_string());
        }
        document.end("isComposing");
        document.finish()
    }
}

/// Reads an isComposing body.
pub fn parse(body: &[u8]) -> Result<IsComposing, IsComposingError> {
    let root = xml::parse(body, &LIMITS)?;
    if !is_ours(&root, "isComposing") {
        return Err(IsComposingError::NotIsComposing(xml::excerpt(&root.name)));
    }
    let child = |name: &str| root.children.iter().find(|child| is_ours(child, name));

    let state = child("state").ok_or(IsComposingError::MissingState)?;
    let state = state.text.trim();
    let active = if state.eq_ignore_ascii_case("active") {
        true
    } else if state.eq_ignore_ascii_case("idle") {
        false
    } else {
        return Err(IsComposingError::UnknownState(xml::excerpt(state)));
    };

    let refresh = match child("refresh") {
        None => None,
        Some(refresh) => {
            let text = refresh.text.trim();
            // xs:positiveInteger: zero is not a refresh interval.
            match text.parse::<u32>() {
                Ok(seconds) if seconds > 0 => Some(seconds),
                _ => return Err(IsComposingError::BadRefresh(xml::excerpt(text))),
            }
        }
    };

    let content_type = child("contenttype")
        .map(|content_type| content_type.text.trim())
        .filter(|content_type| !content_type.is_empty())
        .map(str::to_owned);

    Ok(IsComposing {
        active,
        refresh,
        content_type,
    })
}

/// Whether `element` is our `name`, in our namespace or in none.
fn is_ours(element: &Element, name: &str) -> bool {
    element.name == name && matches!(element.namespace.as_deref(), None | Some(NAMESPACE))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an error must look like.
    type Check = fn(&IsComposingError) -> bool;

    const RFC_ACTIVE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/iscomposing/rfc3994-active.xml"
    ));
    const RFC_IDLE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/iscomposing/rfc3994-idle.xml"
    ));

    #[test]
    fn the_rfcs_active_example_reads_with_its_refresh_and_content_type() {
        let message = parse(RFC_ACTIVE.as_bytes()).unwrap();
        assert_eq!(
            message,
            IsComposing {
                active: true,
                refresh: Some(90),
                content_type: Some("text/plain".into()),
            }
        );
    }

    #[test]
    fn the_rfcs_idle_example_reads_past_lastactive() {
        let message = parse(RFC_IDLE.as_bytes()).unwrap();
        assert_eq!(
            message,
            IsComposing {
                active: false,
                refresh: None,
                content_type: Some("audio".into()),
            }
        );
    }

    #[test]
    fn what_we_write_reads_back_the_same() {
        let messages = [
            IsComposing {
                active: true,
                refresh: Some(120),
                content_type: Some("text/plain".into()),
            },
            IsComposing {
                active: true,
                refresh: None,
                content_type: None,
            },
            IsComposing {
                active: false,
                refresh: None,
                content_type: Some("a<b&c>\"d'".into()),
            },
        ];
        for message in messages {
            let body = message.to_xml();
            assert_eq!(parse(body.as_bytes()).unwrap(), message, "{body}");
        }
    }

    #[test]
    fn an_active_message_is_written_in_the_schemas_order() {
        let body = IsComposing {
            active: true,
            refresh: Some(60),
            content_type: Some("text/plain".into()),
        }
        .to_xml();
        assert_eq!(
            body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">\n  \
             <state>active</state>\n  \
             <contenttype>text/plain</contenttype>\n  \
             <refresh>60</refresh>\n\
             </isComposing>\n"
        );
    }

    #[test]
    fn refresh_is_not_written_with_idle() {
        let body = IsComposing {
            active: false,
            refresh: Some(60),
            content_type: None,
        }
        .to_xml();
        assert!(!body.contains("refresh"), "{body}");
        assert_eq!(parse(body.as_bytes()).unwrap().refresh, None);
    }

    #[test]
    fn prefixes_white_space_and_a_missing_namespace_are_tolerated() {
        let prefixed = br#"<c:isComposing xmlns:c="urn:ietf:params:xml:ns:im-iscomposing">
            <c:state> Active </c:state><c:refresh> 30 </c:refresh></c:isComposing>"#;
        let message = parse(prefixed).unwrap();
        assert!(message.active);
        assert_eq!(message.refresh, Some(30));

        let bare =
            b"<isComposing><state>idle</state><contenttype>text/plain</contenttype></isComposing>";
        assert!(!parse(bare).unwrap().active);
    }

    #[test]
    fn malformed_messages_are_errors() {
        let cases: [(&[u8], Check); 8] = [
            (b"", |e| {
                matches!(e, IsComposingError::Xml(XmlError::NoRoot))
            }),
            (
                b"<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\"><state>active",
                |e| matches!(e, IsComposingError::Xml(_)),
            ),
            (b"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"/>", |e| {
                matches!(e, IsComposingError::NotIsComposing(_))
            }),
            (
                b"<isComposing xmlns=\"urn:x-other\"><state>active</state></isComposing>",
                |e| matches!(e, IsComposingError::NotIsComposing(_)),
            ),
            (b"<isComposing/>", |e| {
                matches!(e, IsComposingError::MissingState)
            }),
            (
                b"<isComposing><state>typing</state></isComposing>",
                |e| matches!(e, IsComposingError::UnknownState(s) if s == "typing"),
            ),
            (
                b"<isComposing><state>active</state><refresh>0</refresh></isComposing>",
                |e| matches!(e, IsComposingError::BadRefresh(_)),
            ),
            (
                b"<isComposing><state>active</state><refresh>-5</refresh></isComposing>",
                |e| matches!(e, IsComposingError::BadRefresh(_)),
            ),
        ];
        for (body, expected) in cases {
            let error = parse(body).unwrap_err();
            assert!(
                expected(&error),
                "{:?}: {error:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn entity_declarations_are_refused() {
        let body = br#"<?xml version="1.0"?>
<!DOCTYPE isComposing [<!ENTITY a "active">]>
<isComposing><state>&a;</state></isComposing>"#;
        assert!(matches!(
            parse(body),
            Err(IsComposingError::Xml(XmlError::DocType))
        ));
    }
}
