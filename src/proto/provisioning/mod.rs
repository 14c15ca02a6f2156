//! The provisioning document: what a confab server tells a client about
//! its own user at sign-in, in the spirit of the in-band provisioning of
//! OCS ([MS-SIPRE] location profiles): the user's location profile (name
//! and rules, see [`crate::proto::location_profile`]) and work number.
//!
//! The client subscribes (RFC 6665) to its own address of record with
//! `Event: vnd.confab.provisioning`; the NOTIFY body is:
//!
//! ```xml
//! <provisioning xmlns="urn:confab:params:xml:ns:provisioning">
//!   <user uri="sip:vivian@confab.local" work-number="+14255032002"/>
//!   <location-profile name="US">
//!     <rule pattern="^(\d{7})$" translation="+1425$1" description="7-digit local"/>
//!   </location-profile>
//! </provisioning>
//! ```
//!
//! `work-number` is E.164 and optional; so is `location-profile` (a server
//! with none for the user leaves it out, and the client keeps its own).
//! Rules are in the profile's order. Unknown elements and attributes are
//! ignored, so the format can grow.
//!
//! The body comes from the network: reading is bounded (size, depth,
//! elements; see [`crate::proto::xml`]), every rule is compiled under the
//! location profile's bounds, and nothing in it can panic.

#[cfg(test)]
mod tests;

use thiserror::Error;

use crate::proto::location_profile::{self, LocationProfile, ProfileError};
use crate::proto::xml::{self, DocumentWriter, Element, Limits, XmlError};

/// The RFC 6665 event package.
pub const EVENT_PACKAGE: &str = "vnd.confab.provisioning";
pub const CONTENT_TYPE: &str = "application/vnd.confab.provisioning+xml";
pub const NAMESPACE: &str = "urn:confab:params:xml:ns:provisioning";

/// Room for a profile of the most rules at the longest patterns, escaped.
const LIMITS: Limits = Limits {
    max_bytes: 128 * 1024,
    max_depth: 4,
    max_elements: location_profile::MAX_RULES + 16,
    max_attributes: 8,
};

/// What the server provisions for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioning {
    /// Whose document this is: the subscriber's address of record.
    pub user: String,
    /// E.164, e.g. `+14255032002`.
    pub work_number: Option<String>,
    pub location_profile: Option<LocationProfile>,
}

#[derive(Debug, Error)]
pub enum ProvisioningError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("root element is <{0}>, not a provisioning document")]
    WrongRoot(String),
    #[error("no <user> element")]
    NoUser,
    #[error("<{element}> has no {attribute}")]
    MissingAttribute {
        element: &'static str,
        attribute: &'static str,
    },
    #[error("work number {0:?} is not E.164")]
    BadWorkNumber(String),
    #[error(transparent)]
    Profile(#[from] ProfileError),
}

impl Provisioning {
    /// The document as a NOTIFY body.
    pub fn to_xml(&self) -> String {
        let mut document = DocumentWriter::new();
        document.start("provisioning", &[("xmlns", NAMESPACE)]);
        let mut user = vec![("uri", self.user.as_str())];
        if let Some(number) = &self.work_number {
            user.push(("work-number", number.as_str()));
        }
        document.empty("user", &user);
        if let Some(profile) = &self.location_profile {
            document.start("location-profile", &[("name", profile.name())]);
            for rule in profile.rules() {
                let mut attributes = vec![
                    ("pattern", rule.pattern()),
                    ("translation", rule.translation()),
                ];
                if !rule.description().is_empty() {
                    attributes.push(("description", rule.description()));
                }
                document.empty("rule", &attributes);
            }
            document.end("location-profile");
        }
        document.end("provisioning");
        document.finish()
    }
}

/// Reads a NOTIFY body.
pub fn parse(body: &[u8]) -> Result<Provisioning, ProvisioningError> {
    let root = xml::parse(body, &LIMITS)?;
    if !root.is(NAMESPACE, "provisioning") {
        return Err(ProvisioningError::WrongRoot(xml::excerpt(&root.name)));
    }
    let user = root
        .children_named(NAMESPACE, "user")
        .next()
        .ok_or(ProvisioningError::NoUser)?;
    let uri = required(user, "user", "uri")?.to_owned();
    let work_number = match user.attribute("work-number") {
        Some(number) if location_profile::is_e164(number) => Some(number.to_owned()),
        Some(number) => return Err(ProvisioningError::BadWorkNumber(xml::excerpt(number))),
        None => None,
    };
    let location_profile = root
        .children_named(NAMESPACE, "location-profile")
        .next()
        .map(profile)
        .transpose()?;
    Ok(Provisioning {
        user: uri,
        work_number,
        location_profile,
    })
}

fn profile(element: &Element) -> Result<LocationProfile, ProvisioningError> {
    let name = required(element, "location-profile", "name")?;
    let rules = element
        .children_named(NAMESPACE, "rule")
        .map(|rule| {
            Ok((
                required(rule, "rule", "pattern")?,
                required(rule, "rule", "translation")?,
                rule.attribute("description").unwrap_or_default(),
            ))
        })
        .collect::<Result<Vec<_>, ProvisioningError>>()?;
    Ok(LocationProfile::from_rules(name, rules)?)
}

fn required<'a>(
    element: &'a Element,
    name: &'static str,
    attribute: &'static str,
) -> Result<&'a str, ProvisioningError> {
    element
        .attribute(attribute)
        .ok_or(ProvisioningError::MissingAttribute {
            element: name,
            attribute,
        })
}
