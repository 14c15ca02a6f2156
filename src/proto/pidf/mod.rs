//! Presence documents: confab's presence states ([`Availability`]) written
//! as and read from PIDF (RFC 3863), with RPID activities (RFC 4480) on a
//! data-model person (RFC 4479), the body of PUBLISH and of presence
//! NOTIFYs (RFC 3856) as PROTOCOLS.md section 5 lays out.
//!
//! # How a state is written
//!
//! One `<tuple>` carries `<status><basic>` (RFC 3863 §4.1.4) and the
//! device's contact; one `<dm:person>` carries `<rpid:activities>` (RFC 4480
//! §3.2). RPID has no word for three of our states, so they ride in
//! `<rpid:other>`, which RFC 4480 provides for exactly that; a reader that
//! does not know our markers still sees the standard activity beside them.
//!
//! | state | basic | activities |
//! |---|---|---|
//! | Available | open | none (no `<rpid:activities>` element) |
//! | Busy | open | `busy` |
//! | In a call | open | `on-the-phone` |
//! | In a conference | open | `<rpid:other>in-a-conference</rpid:other>` |
//! | Do not disturb | open | `busy`, `<rpid:other>dnd</rpid:other>` |
//! | Be right back | open | `away`, `<rpid:other>brb</rpid:other>` |
//! | Away | open | `away` |
//! | Offline | closed | none |
//!
//! The user's note goes twice: in `<dm:note>` on the person (RFC 4479)
//! and in `<note>` on the presence element for readers that know only
//! RFC 3863. A note that is empty or only white space is not written.
//!
//! # How a document is read
//!
//! [`parse`] reads what other clients publish, not only what we write.
//! Elements are matched on namespace URI and local name, whatever the
//! prefixes; PIDF's own elements are also taken in no namespace, as some
//! servers send them. Then:
//!
//! - basic: open if any tuple's `<basic>` is open. A document with no
//!   `<basic>` at all is open if it has a person (RFC 4479 lets a document
//!   describe only the person), closed otherwise. Closed is Offline,
//!   whatever the activities say.
//! - activities: every `<rpid:activities>` in the document counts, on the
//!   person or, as some clients put them, inside a tuple's status. Our
//!   `other` markers come first, then `on-the-phone`, then `busy` and
//!   `meeting` (Busy), then `away`, `vacation` and `sleeping` (Away), then
//!   `<rpid:user-input>idle</rpid:user-input>` (Away).
//!   Anything else (`unknown`, `meal`, free text in `other`) is ignored,
//!   and `from`/`until` are not looked at: the document is taken as now.
//! - note: the first non-empty one of the person's `<dm:note>`, the
//!   presence `<note>`, a tuple's `<note>`, and an `<rpid:note>` anywhere
//!   in the person; trimmed of surrounding white space.
//! - contact: the `<contact>` of the first open tuple that has one, else of
//!   any tuple.
//!
//! Reading is bounded (64 KiB, 32 levels; see [`crate::proto::xml`]) and
//! never expands a DTD entity.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::proto::xml::{self, DocumentWriter, Element, Limits, XmlError};

/// The media type of a PIDF body (RFC 3863).
pub const CONTENT_TYPE: &str = "application/pidf+xml";
/// RFC 3863.
pub const PIDF_NAMESPACE: &str = "urn:ietf:params:xml:ns:pidf";
/// RFC 4479.
pub const DATA_MODEL_NAMESPACE: &str = "urn:ietf:params:xml:ns:pidf:data-model";
/// RFC 4480.
pub const RPID_NAMESPACE: &str = "urn:ietf:params:xml:ns:pidf:rpid";

/// The largest body [`parse`] reads.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// The deepest nesting [`parse`] reads.
pub const MAX_DEPTH: usize = 32;

const LIMITS: Limits = Limits {
    max_bytes: MAX_DOCUMENT_BYTES,
    max_depth: MAX_DEPTH,
    max_elements: 4096,
    max_attributes: 64,
};

/// Our markers in `<rpid:other>`.
const OTHER_IN_A_CONFERENCE: &str = "in-a-conference";
const OTHER_DND: &str = "dnd";
const OTHER_BRB: &str = "brb";

/// The ids of the one tuple and the one person we write. PIDF wants them
/// unique in the document only; a presence server composing
/// several endpoints' documents keys them by publication.
const TUPLE_ID: &str = "t1";
const PERSON_ID: &str = "p1";

/// A presence state (PROTOCOLS.md section 5). The agent contract spells
/// them as [`Availability::as_str`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Availability {
    Available,
    Busy,
    InACall,
    InAConference,
    DoNotDisturb,
    BeRightBack,
    Away,
    Offline,
}

impl Availability {
    /// Every state, most available first.
    pub const ALL: [Availability; 8] = [
        Availability::Available,
        Availability::Busy,
        Availability::InACall,
        Availability::InAConference,
        Availability::DoNotDisturb,
        Availability::BeRightBack,
        Availability::Away,
        Availability::Offline,
    ];

    /// The states a user picks by hand; the others are set by the client
    /// (in a call, in a conference) or by the server (offline).
    pub const CHOSEN: [Availability; 5] = [
        Availability::Available,
        Availability::Busy,
        Availability::DoNotDisturb,
        Availability::BeRightBack,
        Availability::Away,
    ];

    /// The agent-contract name.
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Available => "available",
            Availability::Busy => "busy",
            Availability::InACall => "in_a_call",
            Availability::InAConference => "in_a_conference",
            Availability::DoNotDisturb => "dnd",
            Availability::BeRightBack => "brb",
            Availability::Away => "away",
            Availability::Offline => "offline",
        }
    }

    /// How a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            Availability::Available => "Available",
            Availability::Busy => "Busy",
            Availability::InACall => "In a call",
            Availability::InAConference => "In a conference",
            Availability::DoNotDisturb => "Do not disturb",
            Availability::BeRightBack => "Be right back",
            Availability::Away => "Away",
            Availability::Offline => "Offline",
        }
    }

    /// The OCS availability number ([MS-PRES]); lower is more available,
    /// which is how several endpoints of one user are aggregated.
    pub fn ocs_availability(self) -> u32 {
        match self {
            Availability::Available => 3500,
            Availability::Busy | Availability::InACall => 6500,
            Availability::InAConference => 7000,
            Availability::DoNotDisturb => 9500,
            Availability::BeRightBack => 12500,
            Availability::Away => 15500,
            Availability::Offline => 18500,
        }
    }

    /// Whether basic status is open (RFC 3863 §4.1.4).
    pub fn is_open(self) -> bool {
        self != Availability::Offline
    }

    /// The RPID activity and the `<rpid:other>` marker this state is
    /// written with (see the table in the module documentation).
    fn rpid(self) -> (Option<&'static str>, Option<&'static str>) {
        match self {
            Availability::Available | Availability::Offline => (None, None),
            Availability::Busy => (Some("busy"), None),
            Availability::InACall => (Some("on-the-phone"), None),
            Availability::InAConference => (None, Some(OTHER_IN_A_CONFERENCE)),
            Availability::DoNotDisturb => (Some("busy"), Some(OTHER_DND)),
            Availability::BeRightBack => (Some("away"), Some(OTHER_BRB)),
            Availability::Away => (Some("away"), None),
        }
    }
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Availability {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Availability::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<_> = Availability::ALL.iter().map(|s| s.as_str()).collect();
                format!(
                    "unknown presence state {text:?}; one of {}",
                    names.join(", ")
                )
            })
    }
}

/// The state of a user with several endpoints (MPOP): the most available
/// one, by lowest OCS number; Offline when there is none. States of equal
/// number (Busy, In a call) resolve to the one listed first in
/// [`Availability::ALL`], so the answer does not depend on their order.
pub fn most_available(states: impl IntoIterator<Item = Availability>) -> Availability {
    states
        .into_iter()
        .min_by_key(|state| (state.ocs_availability(), *state))
        .unwrap_or(Availability::Offline)
}

/// What a presence document says about one presentity, as confab sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceDocument {
    /// The presentity's URI, the `entity` of `<presence>`.
    pub entity: String,
    pub availability: Availability,
    /// The user's free-text note.
    pub note: Option<String>,
    /// Where the presentity can be reached (a tuple's `<contact>`).
    pub contact: Option<String>,
}

#[derive(Debug, Error)]
pub enum PidfError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("root element is {0}, not PIDF <presence>")]
    NotPresence(String),
    #[error("<presence> has no entity")]
    MissingEntity,
}

impl PresenceDocument {
    /// The document as a PIDF body (see the module documentation).
    pub fn to_xml(&self) -> String {
        let note = self
            .note
            .as_deref()
            .map(str::trim)
            .filter(|note| !note.is_empty());
        let basic = if self.availability.is_open() {
            "open"
        } else {
            "closed"
        };
        let mut document = DocumentWriter::new();
        document.start(
            "presence",
            &[
                ("xmlns", PIDF_NAMESPACE),
                ("xmlns:dm", DATA_MODEL_NAMESPACE),
                ("xmlns:rpid", RPID_NAMESPACE),
                ("entity", &self.entity),
            ],
        );
        // RFC 3863's schema: tuples first, then notes, then other namespaces.
        document.start("tuple", &[("id", TUPLE_ID)]);
        document.start("status", &[]);
        document.text_element("basic", &[], basic);
        document.end("status");
        if let Some(contact) = &self.contact {
            document.text_element("contact", &[], contact);
        }
        document.end("tuple");
        if let Some(note) = note {
            document.text_element("note", &[], note);
        }
        let (activity, other) = self.availability.rpid();
        if activity.is_none() && other.is_none() && note.is_none() {
            document.empty("dm:person", &[("id", PERSON_ID)]);
        } else {
            document.start("dm:person", &[("id", PERSON_ID)]);
            // RFC 4480 §3.2: an activities element holds at least one
            // activity, so a state without one writes none.
            if activity.is_some() || other.is_some() {
                document.start("rpid:activities", &[]);
                if let Some(activity) = activity {
                    document.empty(&format!("rpid:{activity}"), &[]);
                }
                if let Some(other) = other {
                    document.text_element("rpid:other", &[], other);
                }
                document.end("rpid:activities");
            }
            if let Some(note) = note {
                document.text_element("dm:note", &[], note);
            }
            document.end("dm:person");
        }
        document.end("presence");
        document.finish()
    }
}

/// Reads a PIDF body, ours or another client's (see the module
/// documentation for what is taken from where).
pub fn parse(body: &[u8]) -> Result<PresenceDocument, PidfError> {
    let root = xml::parse(body, &LIMITS)?;
    if !is_pidf(&root, "presence") {
        return Err(PidfError::NotPresence(describe(&root)));
    }
    let entity = root
        .attribute("entity")
        .map(str::trim)
        .filter(|entity| !entity.is_empty())
        .ok_or(PidfError::MissingEntity)?;
    let tuples: Vec<&Element> = pidf_children(&root, "tuple").collect();
    let persons: Vec<&Element> = root
        .children_named(DATA_MODEL_NAMESPACE, "person")
        .collect();

    let basics: Vec<bool> = tuples.iter().filter_map(|tuple| basic(tuple)).collect();
    let open = if basics.is_empty() {
        !persons.is_empty()
    } else {
        basics.contains(&true)
    };
    let availability = if open {
        activities(&root)
    } else {
        Availability::Offline
    };

    let note = persons
        .iter()
        .flat_map(|person| person.children_named(DATA_MODEL_NAMESPACE, "note"))
        .chain(pidf_children(&root, "note"))
        .chain(tuples.iter().flat_map(|tuple| pidf_children(tuple, "note")))
        .chain(persons.iter().flat_map(|person| {
            person
                .descendants()
                .into_iter()
                .filter(|element| element.is(RPID_NAMESPACE, "note"))
        }))
        .find_map(|note| non_empty(&note.text));

    let contact_of =
        |tuple: &&Element| pidf_children(tuple, "contact").find_map(|c| non_empty(&c.text));
    let contact = tuples
        .iter()
        .filter(|tuple| basic(tuple) == Some(true))
        .find_map(contact_of)
        .or_else(|| tuples.iter().find_map(contact_of));

    Ok(PresenceDocument {
        entity: entity.to_owned(),
        availability,
        note,
        contact,
    })
}

/// Whether `element` is PIDF's `name`. Taken in no namespace too: some
/// servers send `<presence>` without its xmlns.
fn is_pidf(element: &Element, name: &str) -> bool {
    element.name == name && matches!(element.namespace.as_deref(), None | Some(PIDF_NAMESPACE))
}

fn pidf_children<'a>(element: &'a Element, name: &'a str) -> impl Iterator<Item = &'a Element> {
    element
        .children
        .iter()
        .filter(move |child| is_pidf(child, name))
}

/// A tuple's basic status: `Some(true)` for open, `Some(false)` for
/// closed, `None` if it has none we understand.
fn basic(tuple: &Element) -> Option<bool> {
    let basic =
        pidf_children(tuple, "status").find_map(|status| pidf_children(status, "basic").next())?;
    let value = basic.text.trim();
    if value.eq_ignore_ascii_case("open") {
        Some(true)
    } else if value.eq_ignore_ascii_case("closed") {
        Some(false)
    } else {
        None
    }
}

/// The state an open presentity's RPID elements describe.
fn activities(root: &Element) -> Availability {
    #[derive(Default)]
    struct Seen {
        in_a_conference: bool,
        dnd: bool,
        brb: bool,
        on_the_phone: bool,
        busy: bool,
        away: bool,
        idle: bool,
    }
    let mut seen = Seen::default();
    for element in root.descendants() {
        if element.is(RPID_NAMESPACE, "activities") {
            for activity in &element.children {
                if activity.namespace.as_deref() != Some(RPID_NAMESPACE) {
                    continue;
                }
                match activity.name.as_str() {
                    "other" => {
                        let marker = activity.text.trim();
                        seen.in_a_conference |= marker.eq_ignore_ascii_case(OTHER_IN_A_CONFERENCE);
                        seen.dnd |= marker.eq_ignore_ascii_case(OTHER_DND);
                        seen.brb |= marker.eq_ignore_ascii_case(OTHER_BRB);
                    }
                    "on-the-phone" => seen.on_the_phone = true,
                    "busy" | "meeting" => seen.busy = true,
                    "away" | "vacation" | "sleeping" => seen.away = true,
                    _ => {}
                }
            }
        } else if element.is(RPID_NAMESPACE, "user-input") {
            seen.idle |= element.text.trim().eq_ignore_ascii_case("idle");
        }
    }
    // Our markers first: they refine the standard activity written beside
    // them (busy + dnd is Do not disturb, away + brb is Be right back).
    [
        (seen.in_a_conference, Availability::InAConference),
        (seen.dnd, Availability::DoNotDisturb),
        (seen.brb, Availability::BeRightBack),
        (seen.on_the_phone, Availability::InACall),
        (seen.busy, Availability::Busy),
        (seen.away, Availability::Away),
        (seen.idle, Availability::Away),
    ]
    .into_iter()
    .find_map(|(present, state)| present.then_some(state))
    .unwrap_or(Availability::Available)
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// `<{namespace}name>`, for errors.
fn describe(element: &Element) -> String {
    match &element.namespace {
        Some(namespace) => format!(
            "<{{{}}}{}>",
            xml::excerpt(namespace),
            xml::excerpt(&element.name)
        ),
        None => format!("<{}>", xml::excerpt(&element.name)),
    }
}

#[cfg(test)]
mod tests;
