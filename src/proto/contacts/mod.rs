//! The roaming buddy list on the wire: confab's own format, in the spirit
//! of OCS roaming contacts. The server keeps each user's list; a client
//! subscribes to it and gets the whole list in every NOTIFY, and changes it
//! one SERVICE request at a time.
//!
//! The list (NOTIFY body):
//!
//! ```xml
//! <contacts xmlns="urn:confab:params:xml:ns:contacts" version="7">
//!   <group name="Friends"/>
//!   <contact uri="sip:amy@confab.local" display="Amy Rivera" group="Friends"/>
//! </contacts>
//! ```
//!
//! A change (SERVICE body), one per body, its element the root:
//! `<setContact uri= display= group=/>` adds a contact or renames or moves
//! one; `<deleteContact uri=/>`; `<setGroup name=/>`; `<deleteGroup
//! name=/>`.
//!
//! `version` grows with every change the server applies, so a client can
//! tell a stale NOTIFY from a fresh one. An empty `display` means "show the
//! URI"; an empty `group` means no group, and neither attribute is written
//! when empty. A contact may name a group the list does not declare: the
//! server keeps groups and contacts apart, and a client shows such a group
//! anyway.
//!
//! Invariants checked on every read ([`ContactList::validate`],
//! [`ContactChange::validate`]): contact URIs are `sip:` URIs with a user
//! and a host (`sip:user@host`), no white space or control characters;
//! names and URIs are at most [`MAX_NAME_CHARS`] characters and group names
//! are not empty; a list has at most [`MAX_CONTACTS`] contacts and
//! [`MAX_GROUPS`] groups, none twice. Unknown elements and attributes are
//! ignored, so the format can grow.

use thiserror::Error;

use crate::proto::xml::{self, DocumentWriter, Element, Limits, XmlError};

/// The media type of both the list and a change.
pub const CONTENT_TYPE: &str = "application/vnd.confab.contacts+xml";
pub const NAMESPACE: &str = "urn:confab:params:xml:ns:contacts";

/// The most contacts a list holds.
pub const MAX_CONTACTS: usize = 2000;
/// The most groups a list holds.
pub const MAX_GROUPS: usize = 256;
/// The longest URI, display name or group name, in characters.
pub const MAX_NAME_CHARS: usize = 256;

/// Room for a full list at the longest names, with markup.
const LIMITS: Limits = Limits {
    max_bytes: 4 * 1024 * 1024,
    max_depth: 8,
    max_elements: MAX_CONTACTS + MAX_GROUPS + 64,
    max_attributes: 16,
};

/// One buddy of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactEntry {
    pub uri: String,
    /// The name shown for the contact; empty to show the URI.
    pub display: String,
    /// The group the contact is shown in; empty for none.
    pub group: String,
}

/// A user's whole buddy list as the server holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactList {
    pub version: u64,
    pub groups: Vec<String>,
    pub contacts: Vec<ContactEntry>,
}

/// One change a client asks of its list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactChange {
    /// Add the contact, or replace the one with its URI (rename, move).
    Set(ContactEntry),
    Delete {
        uri: String,
    },
    /// Add a group; nothing if it exists.
    SetGroup {
        name: String,
    },
    DeleteGroup {
        name: String,
    },
}

#[derive(Debug, Error)]
pub enum ContactsError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("root element is <{0}>, not a contact list or change")]
    WrongRoot(String),
    #[error("<{element}> has no {attribute}")]
    MissingAttribute {
        element: &'static str,
        attribute: &'static str,
    },
    #[error("version {0:?} is not a number")]
    BadVersion(String),
    #[error("{0:?} is not a sip:user@host URI")]
    BadUri(String),
    #[error("{what} of {chars} characters is over the limit of {limit}")]
    TooLong {
        what: &'static str,
        chars: usize,
        limit: usize,
    },
    #[error("{what} {value:?} is empty or has control characters")]
    BadName { what: &'static str, value: String },
    #[error("{count} contacts is over the limit of {limit}")]
    TooManyContacts { count: usize, limit: usize },
    #[error("{count} groups is over the limit of {limit}")]
    TooManyGroups { count: usize, limit: usize },
    #[error("contact {0} is listed twice")]
    DuplicateContact(String),
    #[error("group {0:?} is listed twice")]
    DuplicateGroup(String),
}

impl ContactList {
    /// The list as a NOTIFY body: groups first, then contacts, each in the
    /// list's order.
    pub fn to_xml(&self) -> String {
        let version = self.version.to_string();
        let mut document = DocumentWriter::new();
        document.start(
            "contacts",
            &[("xmlns", NAMESPACE), ("version", version.as_str())],
        );
        for group in &self.groups {
            document.empty("group", &[("name", group)]);
        }
        for contact in &self.contacts {
            document.empty("contact", &contact_attributes(contact));
        }
        document.end("contacts");
        document.finish()
    }

    /// Checks the invariants of the module documentation.
    pub fn validate(&self) -> Result<(), ContactsError> {
        if self.contacts.len() > MAX_CONTACTS {
            return Err(ContactsError::TooManyContacts {
                count: self.contacts.len(),
                limit: MAX_CONTACTS,
            });
        }
        if self.groups.len() > MAX_GROUPS {
            return Err(ContactsError::TooManyGroups {
                count: self.groups.len(),
                limit: MAX_GROUPS,
            });
        }
        let mut groups = std::collections::HashSet::new();
        for group in &self.groups {
            validate_group(group)?;
            if !groups.insert(group.as_str()) {
                return Err(ContactsError::DuplicateGroup(xml::excerpt(group)));
            }
        }
        let mut uris = std::collections::HashSet::new();
        for contact in &self.contacts {
            validate_entry(contact)?;
            if !uris.insert(uri_key(&contact.uri)) {
                return Err(ContactsError::DuplicateContact(xml::excerpt(&contact.uri)));
            }
        }
        Ok(())
    }
}

impl ContactChange {
    /// The change as a SERVICE body.
    pub fn to_xml(&self) -> String {
        let mut document = DocumentWriter::new();
        let namespace = ("xmlns", NAMESPACE);
        match self {
            ContactChange::Set(contact) => {
                let mut attributes = vec![namespace];
                attributes.extend(contact_attributes(contact));
                document.empty("setContact", &attributes);
            }
            ContactChange::Delete { uri } => {
                document.empty("deleteContact", &[namespace, ("uri", uri)]);
            }
            ContactChange::SetGroup { name } => {
                document.empty("setGroup", &[namespace, ("name", name)]);
            }
            ContactChange::DeleteGroup { name } => {
                document.empty("deleteGroup", &[namespace, ("name", name)]);
            }
        }
        document.finish()
    }

    /// Checks the URI or name the change carries.
    pub fn validate(&self) -> Result<(), ContactsError> {
        match self {
            ContactChange::Set(contact) => validate_entry(contact),
            ContactChange::Delete { uri } => validate_uri(uri),
            ContactChange::SetGroup { name } | ContactChange::DeleteGroup { name } => {
                validate_group(name)
            }
        }
    }
}

/// Reads a list from a NOTIFY body.
pub fn parse_list(body: &[u8]) -> Result<ContactList, ContactsError> {
    let root = xml::parse(body, &LIMITS)?;
    if !root.is(NAMESPACE, "contacts") {
        return Err(wrong_root(&root));
    }
    let version = required(&root, "contacts", "version")?;
    let version = version
        .trim()
        .parse()
        .map_err(|_| ContactsError::BadVersion(xml::excerpt(version)))?;
    let groups = root
        .children_named(NAMESPACE, "group")
        .map(|group| required(group, "group", "name").map(str::to_owned))
        .collect::<Result<_, _>>()?;
    let contacts = root
        .children_named(NAMESPACE, "contact")
        .map(|contact| entry(contact, "contact"))
        .collect::<Result<_, _>>()?;
    let list = ContactList {
        version,
        groups,
        contacts,
    };
    list.validate()?;
    Ok(list)
}

/// Reads a change from a SERVICE body.
pub fn parse_change(body: &[u8]) -> Result<ContactChange, ContactsError> {
    let root = xml::parse(body, &LIMITS)?;
    if root.namespace.as_deref() != Some(NAMESPACE) {
        return Err(wrong_root(&root));
    }
    let change = match root.name.as_str() {
        "setContact" => ContactChange::Set(entry(&root, "setContact")?),
        "deleteContact" => ContactChange::Delete {
            uri: required(&root, "deleteContact", "uri")?.to_owned(),
        },
        "setGroup" => ContactChange::SetGroup {
            name: required(&root, "setGroup", "name")?.to_owned(),
        },
        "deleteGroup" => ContactChange::DeleteGroup {
            name: required(&root, "deleteGroup", "name")?.to_owned(),
        },
        _ => return Err(wrong_root(&root)),
    };
    change.validate()?;
    Ok(change)
}

fn contact_attributes(contact: &ContactEntry) -> Vec<(&'static str, &str)> {
    let mut attributes = vec![("uri", contact.uri.as_str())];
    if !contact.display.is_empty() {
        attributes.push(("display", contact.display.as_str()));
    }
    if !contact.group.is_empty() {
        attributes.push(("group", contact.group.as_str()));
    }
    attributes
}

fn entry(element: &Element, name: &'static str) -> Result<ContactEntry, ContactsError> {
    Ok(ContactEntry {
        uri: required(element, name, "uri")?.to_owned(),
        display: element.attribute("display").unwrap_or_default().to_owned(),
        group: element.attribute("group").unwrap_or_default().to_owned(),
    })
}

fn required<'a>(
    element: &'a Element,
    name: &'static str,
    attribute: &'static str,
) -> Result<&'a str, ContactsError> {
    element
        .attribute(attribute)
        .ok_or(ContactsError::MissingAttribute {
            element: name,
            attribute,
        })
}

fn wrong_root(root: &Element) -> ContactsError {
    ContactsError::WrongRoot(xml::excerpt(&root.name))
}

fn validate_entry(contact: &ContactEntry) -> Result<(), ContactsError> {
    validate_uri(&contact.uri)?;
    check_length("display name", &contact.display)?;
    check_characters("display name", &contact.display)?;
    if !contact.group.is_empty() {
        validate_group(&contact.group)?;
    }
    Ok(())
}

fn validate_uri(uri: &str) -> Result<(), ContactsError> {
    check_length("URI", uri)?;
    let bad = || ContactsError::BadUri(xml::excerpt(uri));
    let scheme = uri.get(..4).ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("sip:") {
        return Err(bad());
    }
    let (user, host) = uri
        .get(4..)
        .and_then(|rest| rest.split_once('@'))
        .ok_or_else(bad)?;
    if user.is_empty()
        || host.is_empty()
        || uri
            .chars()
            .any(|character| character.is_whitespace() || character.is_control())
    {
        return Err(bad());
    }
    Ok(())
}

/// What two URIs are compared by: RFC 3261 §19.1.4 compares the scheme
/// and host without case, the user part with it. Only called on validated
/// URIs.
fn uri_key(uri: &str) -> String {
    match uri.get(4..).and_then(|rest| rest.split_once('@')) {
        Some((user, host)) => format!("{user}@{}", host.to_ascii_lowercase()),
        None => uri.to_owned(),
    }
}

fn validate_group(name: &str) -> Result<(), ContactsError> {
    check_length("group name", name)?;
    if name.trim().is_empty() {
        return Err(ContactsError::BadName {
            what: "group name",
            value: xml::excerpt(name),
        });
    }
    check_characters("group name", name)
}

fn check_length(what: &'static str, value: &str) -> Result<(), ContactsError> {
    let chars = value.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(ContactsError::TooLong {
            what,
            chars,
            limit: MAX_NAME_CHARS,
        });
    }
    Ok(())
}

fn check_characters(what: &'static str, value: &str) -> Result<(), ContactsError> {
    if value.chars().any(char::is_control) {
        return Err(ContactsError::BadName {
            what,
            value: xml::excerpt(value),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
