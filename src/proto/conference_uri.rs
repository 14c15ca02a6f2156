//! The names of a conference's parts: the OCS-shaped SIP URIs of the focus
//! factory, a conference's focus, and its IM and A/V MCUs (PROTOCOLS.md
//! section 1, after [MS-CONFPRO] and [MS-CONFBAS]).
//!
//! ```text
//! sip:<user>@<domain>;gruu;opaque=app:conf:focusfactory
//! sip:<organizer>@<domain>;gruu;opaque=app:conf:focus:id:<ID>
//! sip:<organizer>@<domain>;gruu;opaque=app:conf:chat:id:<ID>
//! sip:<organizer>@<domain>;gruu;opaque=app:conf:audio-video:id:<ID>
//! ```
//!
//! The parts of one conference differ only in the word after `app:conf:`,
//! so each converts to the others ([`ConferenceUri::with_part`]); a client
//! invited by the A/V MCU finds the focus that way (PROTOCOLS.md section 4,
//! step 3). A conference ID is 8 to 32 ASCII alphanumerics
//! ([MS-CONFPRO]); IDs compare case-sensitively.
//!
//! Invariants of a parsed [`ConferenceUri`]: the scheme is `sip:`, the user
//! part is non-empty and free of `@ ; ? :`, white space and controls, the
//! domain is a host name or IPv4 address with an optional port, and `id` is
//! `None` exactly for the focus factory and a valid conference ID
//! otherwise. Parameters other than `gruu` and `opaque` are ignored, and
//! [`Display`](fmt::Display) writes the canonical form above, so
//! `parse(x).to_string()` is the canonical spelling of `x`.
//!
//! rsip 0.4.0 read URI parameter values as RFC 3261 tokens, which have no
//! `:`, although `pvalue` (RFC 3261 §25.1, `param-unreserved`) allows it;
//! `vendor/rsip` carries the fix. Should an `opaque=app` cut short ever
//! arrive, [`ConferenceUri::from_rsip`] reports it as
//! [`ConferenceUriError::OpaqueTruncated`] rather than guess.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use thiserror::Error;

/// The shortest conference ID ([MS-CONFPRO]).
pub const MIN_CONFERENCE_ID_LEN: usize = 8;
/// The longest conference ID ([MS-CONFPRO]).
pub const MAX_CONFERENCE_ID_LEN: usize = 32;
/// The length of the IDs [`generate_conference_id`] makes: 36^16 is about
/// 2^82, too many to guess a conference by.
pub const GENERATED_CONFERENCE_ID_LEN: usize = 16;
/// The longest URI [`ConferenceUri::parse`] reads, in characters.
pub const MAX_URI_CHARS: usize = 1024;

const OPAQUE_PREFIX: &str = "app:conf:";
const ID_INFIX: &str = ":id:";

/// Which part of a conference a URI names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConferencePart {
    /// Where conferences are created (C3P `addConference`).
    FocusFactory,
    /// The conference's focus: C3P, the roster, admission.
    Focus,
    /// The IM MCU ([MS-CONFIM]).
    Chat,
    /// The A/V MCU ([MS-CONFAV]).
    AudioVideo,
}

impl ConferencePart {
    /// The word in the `opaque` parameter, which is also the MCU type of
    /// C3P `entity-view` and of RFC 4575 `session-type` for the MCUs.
    pub fn as_str(self) -> &'static str {
        match self {
            ConferencePart::FocusFactory => "focusfactory",
            ConferencePart::Focus => "focus",
            ConferencePart::Chat => "chat",
            ConferencePart::AudioVideo => "audio-video",
        }
    }
}

impl fmt::Display for ConferencePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConferencePart {
    type Err = ConferenceUriError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            ConferencePart::FocusFactory,
            ConferencePart::Focus,
            ConferencePart::Chat,
            ConferencePart::AudioVideo,
        ]
        .into_iter()
        .find(|part| part.as_str().eq_ignore_ascii_case(text))
        .ok_or_else(|| ConferenceUriError::UnknownPart(excerpt(text)))
    }
}

/// A focus factory, focus or MCU URI, taken apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConferenceUri {
    /// The user part: the organizer of a conference, the owner of a focus
    /// factory.
    pub organizer_user: String,
    /// The host, with its port if it has one.
    pub domain: String,
    pub part: ConferencePart,
    /// The conference ID; `None` for the focus factory only.
    pub id: Option<String>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConferenceUriError {
    #[error("URI of {chars} characters is over the limit of {limit}")]
    TooLong { chars: usize, limit: usize },
    #[error("{0:?} is not a sip: URI")]
    NotSip(String),
    #[error("{0:?} has no valid user part")]
    BadUser(String),
    #[error("{0:?} is not a valid domain")]
    BadDomain(String),
    #[error("URI has no opaque parameter")]
    NoOpaque,
    #[error("URI has more than one opaque parameter")]
    DuplicateOpaque,
    #[error(
        "opaque parameter was cut at its first ':' (rsip 0.4 reads parameter values as tokens); \
         parse the URI text instead"
    )]
    OpaqueTruncated,
    #[error("opaque {0:?} does not name a conference part")]
    NotConference(String),
    #[error("{0:?} is not a conference part")]
    UnknownPart(String),
    #[error("a {0} URI needs a conference ID")]
    MissingId(ConferencePart),
    #[error("a focus factory URI has no conference ID")]
    UnexpectedId,
    #[error("{0:?} is not 8 to 32 ASCII letters and digits")]
    BadConferenceId(String),
    #[error("rsip cannot represent {0:?}")]
    Rsip(String),
}

impl ConferenceUri {
    /// The focus factory of `user` at `domain`.
    pub fn focus_factory(user: &str, domain: &str) -> Result<Self, ConferenceUriError> {
        check_user(user)?;
        check_domain(domain)?;
        Ok(ConferenceUri {
            organizer_user: user.to_owned(),
            domain: domain.to_owned(),
            part: ConferencePart::FocusFactory,
            id: None,
        })
    }

    /// The `part` of conference `id` organized by `organizer` at `domain`;
    /// `part` is not the focus factory.
    pub fn conference(
        part: ConferencePart,
        organizer: &str,
        domain: &str,
        id: &str,
    ) -> Result<Self, ConferenceUriError> {
        if part == ConferencePart::FocusFactory {
            return Err(ConferenceUriError::UnexpectedId);
        }
        check_user(organizer)?;
        check_domain(domain)?;
        validate_conference_id(id)?;
        Ok(ConferenceUri {
            organizer_user: organizer.to_owned(),
            domain: domain.to_owned(),
            part,
            id: Some(id.to_owned()),
        })
    }

    /// Reads a URI's text, as it appears in a header or a C3P attribute
    /// (without angle brackets or display name).
    pub fn parse(text: &str) -> Result<Self, ConferenceUriError> {
        let chars = text.chars().count();
        if chars > MAX_URI_CHARS {
            return Err(ConferenceUriError::TooLong {
                chars,
                limit: MAX_URI_CHARS,
            });
        }
        let not_sip = || ConferenceUriError::NotSip(excerpt(text));
        let scheme = text.get(..4).ok_or_else(not_sip)?;
        if !scheme.eq_ignore_ascii_case("sip:") {
            return Err(not_sip());
        }
        let rest = text.get(4..).ok_or_else(not_sip)?;
        if rest.contains('?') {
            // RFC 3261 §19.1.1 headers have no place in a conference name.
            return Err(not_sip());
        }
        let (address, parameters) = rest.split_once(';').unwrap_or((rest, ""));
        let (user, domain) = address
            .split_once('@')
            .ok_or_else(|| ConferenceUriError::BadUser(excerpt(text)))?;
        check_user(user)?;
        check_domain(domain)?;

        let mut opaque = None;
        for parameter in parameters.split(';') {
            let (name, value) = match parameter.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (parameter, None),
            };
            // RFC 3261 §19.1.4: parameter names compare without case.
            if name.eq_ignore_ascii_case("opaque") {
                if opaque.is_some() {
                    return Err(ConferenceUriError::DuplicateOpaque);
                }
                opaque = Some(value.unwrap_or_default());
            }
        }
        let (part, id) = parse_opaque(opaque.ok_or(ConferenceUriError::NoOpaque)?)?;
        Ok(ConferenceUri {
            organizer_user: user.to_owned(),
            domain: domain.to_owned(),
            part,
            id,
        })
    }

    /// Reads a URI rsip has parsed; a conference `opaque` value cut to
    /// `app` is [`ConferenceUriError::OpaqueTruncated`].
    pub fn from_rsip(uri: &rsip::Uri) -> Result<Self, ConferenceUriError> {
        let text = uri.to_string();
        match Self::parse(&text) {
            Err(ConferenceUriError::NotConference(opaque)) if opaque == "app" => {
                Err(ConferenceUriError::OpaqueTruncated)
            }
            other => other,
        }
    }

    /// This URI as rsip's type, the `opaque` parameter whole.
    pub fn to_rsip(&self) -> Result<rsip::Uri, ConferenceUriError> {
        let address = format!("sip:{}@{}", self.organizer_user, self.domain);
        let mut uri = rsip::Uri::try_from(address.as_str())
            .map_err(|_| ConferenceUriError::Rsip(excerpt(&address)))?;
        // rsip stops at what it cannot tokenize and keeps the rest quiet;
        // make sure it kept all of it.
        if uri.to_string() != address {
            return Err(ConferenceUriError::Rsip(excerpt(&address)));
        }
        uri.params.push(rsip::Param::Other("gruu".into(), None));
        uri.params.push(rsip::Param::Other(
            "opaque".into(),
            Some(self.opaque().into()),
        ));
        Ok(uri)
    }

    /// The same conference's `part`: the A/V MCU of a focus, the focus of
    /// an A/V MCU (PROTOCOLS.md section 4, step 3), and so on. A focus
    /// factory names no conference, so it converts only to itself, and any
    /// part converts to the focus factory of its organizer.
    pub fn with_part(&self, part: ConferencePart) -> Result<Self, ConferenceUriError> {
        let id = match (part, &self.id) {
            (ConferencePart::FocusFactory, _) => None,
            (_, Some(id)) => Some(id.clone()),
            (_, None) => return Err(ConferenceUriError::MissingId(part)),
        };
        Ok(ConferenceUri {
            organizer_user: self.organizer_user.clone(),
            domain: self.domain.clone(),
            part,
            id,
        })
    }

    /// The value of the `opaque` parameter.
    pub fn opaque(&self) -> String {
        match (&self.part, &self.id) {
            (ConferencePart::FocusFactory, _) | (_, None) => {
                format!("{OPAQUE_PREFIX}{}", self.part)
            }
            (part, Some(id)) => format!("{OPAQUE_PREFIX}{part}{ID_INFIX}{id}"),
        }
    }
}

impl fmt::Display for ConferenceUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sip:{}@{};gruu;opaque={}",
            self.organizer_user,
            self.domain,
            self.opaque()
        )
    }
}

impl FromStr for ConferenceUri {
    type Err = ConferenceUriError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// Checks that `id` is 8 to 32 ASCII alphanumerics ([MS-CONFPRO]).
pub fn validate_conference_id(id: &str) -> Result<(), ConferenceUriError> {
    let length_ok = (MIN_CONFERENCE_ID_LEN..=MAX_CONFERENCE_ID_LEN).contains(&id.len());
    if length_ok && id.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(ConferenceUriError::BadConferenceId(excerpt(id)))
    }
}

/// A fresh conference ID of [`GENERATED_CONFERENCE_ID_LEN`] upper-case
/// letters and digits, drawn from `rng`.
pub fn generate_conference_id(rng: &mut impl Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..GENERATED_CONFERENCE_ID_LEN)
        .map(|_| {
            let index = rng.random_range(0..ALPHABET.len());
            // `index` is below the alphabet's length.
            char::from(ALPHABET.get(index).copied().unwrap_or(b'0'))
        })
        .collect()
}

fn parse_opaque(opaque: &str) -> Result<(ConferencePart, Option<String>), ConferenceUriError> {
    let not_conference = || ConferenceUriError::NotConference(excerpt(opaque));
    let prefix = opaque
        .get(..OPAQUE_PREFIX.len())
        .ok_or_else(not_conference)?;
    if !prefix.eq_ignore_ascii_case(OPAQUE_PREFIX) {
        return Err(not_conference());
    }
    let rest = opaque
        .get(OPAQUE_PREFIX.len()..)
        .ok_or_else(not_conference)?;
    let (word, id) = match rest.split_once(':') {
        Some((word, tail)) => {
            let keyword = tail.get(..3).ok_or_else(not_conference)?;
            if !keyword.eq_ignore_ascii_case("id:") {
                return Err(not_conference());
            }
            (word, Some(tail.get(3..).ok_or_else(not_conference)?))
        }
        None => (rest, None),
    };
    let part: ConferencePart = word.parse()?;
    match (part, id) {
        (ConferencePart::FocusFactory, None) => Ok((part, None)),
        (ConferencePart::FocusFactory, Some(_)) => Err(ConferenceUriError::UnexpectedId),
        (_, None) => Err(ConferenceUriError::MissingId(part)),
        (_, Some(id)) => {
            validate_conference_id(id)?;
            Ok((part, Some(id.to_owned())))
        }
    }
}

fn check_user(user: &str) -> Result<(), ConferenceUriError> {
    let bad = user.is_empty()
        || user.chars().any(|character| {
            matches!(character, '@' | ';' | '?' | ':' | '<' | '>' | '"')
                || character.is_whitespace()
                || character.is_control()
        });
    if bad {
        Err(ConferenceUriError::BadUser(excerpt(user)))
    } else {
        Ok(())
    }
}

/// A host name or IPv4 address (RFC 3261 §25.1 `hostname` / `IPv4address`,
/// checked loosely), with an optional port. IPv6 references are refused,
/// as everywhere in confab (DEPENDENCIES.md).
fn check_domain(domain: &str) -> Result<(), ConferenceUriError> {
    let bad = || ConferenceUriError::BadDomain(excerpt(domain));
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (domain, None),
    };
    let host_ok = !host.is_empty()
        && !host.starts_with(['.', '-'])
        && host
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'-');
    let port_ok = port.is_none_or(|port| port.parse::<u16>().is_ok_and(|_| !port.starts_with('+')));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// The start of `text`, for error messages about input of any size.
fn excerpt(text: &str) -> String {
    crate::proto::xml::excerpt(text)
}

#[cfg(test)]
mod tests;
