//! The conference event package (RFC 4575): the `conference-info` document
//! a focus sends in NOTIFYs for `Event: conference`, the roster a
//! subscriber builds from them, and the partial documents a focus sends when
//! its roster changes. PROTOCOLS.md section 3 lists the elements we use.
//!
//! - [`ConferenceInfo`] is one document: [`parse`] reads it, and
//!   [`ConferenceInfo::to_xml`] writes it as `application/conference-info+xml`.
//! - [`Roster`] is the subscriber's copy of the conference, kept coherent by
//!   the RFC 4575 §4.6 rules (versions, `full`, `partial`, `deleted`).
//! - [`diff`] is the notifier's side: the partial document that takes a
//!   subscriber from one roster to the next.
//!
//! # What is modelled
//!
//! The conference's subject and its URIs (`conf-uris`, where the OCS focus
//! names its MCUs by `purpose`), its state (active, locked, user count), and
//! the users: display text, roles, and endpoints with their session type
//! (a Microsoft attribute naming the MCU: `focus`, `chat`, `audio-video`),
//! status, joining and disconnection methods and media, whose
//! `media-ingress-filter` (a Microsoft element, read in either namespace) says
//! whether the focus blocks the participant's audio, and confab's own
//! call-quality extension of a medium (`quality`: codec, loss, jitter,
//! round trip, jitter-buffer delay). Everything else RFC 4575
//! and [MS-CONFBAS] define (host info, sidebars, `joining-info`, call info,
//! `msci:` extensions, `conference-view`) is skipped, as RFC 4575 §5 asks of
//! a reader meeting elements it does not understand. Unknown keyword values
//! are kept as `Other`, so a value of a newer schema survives a round trip.
//!
//! # Reading
//!
//! Elements are matched by namespace and local name; the conference-info
//! elements are also taken in no namespace, as some foci send them. Text is
//! trimmed. A `state` attribute that is absent means `full` (the RFC 4575
//! schema default), except on `<users>`, where it means the document's own
//! state: deployed foci send a bare `<users>` inside partial documents and
//! mean a merge. A document is refused, never truncated, past the limits:
//! [`MAX_DOCUMENT_BYTES`], [`MAX_USERS`], [`MAX_ENDPOINTS`] per user,
//! [`MAX_MEDIA`] per endpoint, [`MAX_ROLES`] per user and [`MAX_CONF_URIS`].
//!
//! # Writing
//!
//! Elements go in the order of the RFC 4575 schema, in the conference-info
//! namespace as the default namespace, with `msci` declared for the ingress
//! filter; the quality element declares its own namespace. Partial documents say `state` on `<users>` and every `<user>`
//! outright, so a reader that takes the schema default (`full`) is not
//! misled; endpoint `state` is written only when it is not `full`.

use std::fmt;

use thiserror::Error;

use crate::proto::xml::XmlError;

mod diff;
mod quality;
mod read;
mod roster;
mod write;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

pub use diff::{diff, diff_touched};
pub use quality::QUALITY_NAMESPACE;
pub use read::parse;
pub use roster::{Removal, Roster, RosterChange, RosterError};

/// The media type of a conference-info body (RFC 4575 §3.2).
pub const CONTENT_TYPE: &str = "application/conference-info+xml";
/// The event package name, for `Event:` and `Allow-Events:` (RFC 4575 §3.1).
pub const EVENT_PACKAGE: &str = "conference";
/// RFC 4575 §5.
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:conference-info";
/// [MS-CONFBAS] conference-info extensions (`msci:`).
pub const MS_EXTENSIONS_NAMESPACE: &str =
    "http://schemas.microsoft.com/rtc/2005/08/confinfoextensions";

/// The largest body [`parse`] reads.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// The most users one document or one roster holds.
pub const MAX_USERS: usize = 2000;
/// The most endpoints one user has (several devices, each with a focus,
/// chat and audio-video endpoint).
pub const MAX_ENDPOINTS: usize = 32;
/// The most media one endpoint has.
pub const MAX_MEDIA: usize = 16;
/// The most roles one user has.
pub const MAX_ROLES: usize = 16;
/// The most conference URIs one description has.
pub const MAX_CONF_URIS: usize = 32;

/// The `state` attribute (RFC 4575 §5.1): whether an element carries all of
/// its content, only what changed, or says that it is gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum State {
    #[default]
    Full,
    Partial,
    Deleted,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Full => "full",
            State::Partial => "partial",
            State::Deleted => "deleted",
        }
    }

    fn from_attribute(value: &str) -> Option<State> {
        match value.trim() {
            "full" => Some(State::Full),
            "partial" => Some(State::Partial),
            "deleted" => Some(State::Deleted),
            _ => None,
        }
    }
}

/// Declares an enum of the keywords an element's text may hold, with an
/// `Other` variant that keeps any keyword not listed.
macro_rules! keywords {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$variant_meta:meta])* $variant:ident => $word:literal,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)+
            /// A keyword not listed here, kept as it came.
            Other(String),
        }

        impl $name {
            /// The keyword as the document spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $word,)+
                    $name::Other(word) => word,
                }
            }
        }

        impl From<&str> for $name {
            fn from(word: &str) -> Self {
                match word {
                    $($word => $name::$variant,)+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

keywords! {
    /// Which part of the conference an endpoint is joined to: the `session-type`
    /// attribute of [MS-CONFBAS], naming the focus or the MCU.
    SessionType {
        Focus => "focus",
        Chat => "chat",
        AudioVideo => "audio-video",
    }
}

keywords! {
    /// `<status>` of an endpoint (RFC 4575 §5.6.4).
    EndpointStatus {
        Connected => "connected",
        Disconnected => "disconnected",
        /// Neither hears the mix nor is mixed in.
        OnHold => "on-hold",
        /// Hears the mix but is not mixed in.
        MutedViaFocus => "muted-via-focus",
        Pending => "pending",
        Alerting => "alerting",
        DialingIn => "dialing-in",
        DialingOut => "dialing-out",
        Disconnecting => "disconnecting",
    }
}

keywords! {
    /// `<joining-method>` of an endpoint (RFC 4575 §5.6.5).
    JoiningMethod {
        DialedIn => "dialed-in",
        DialedOut => "dialed-out",
        FocusOwner => "focus-owner",
    }
}

keywords! {
    /// `<disconnection-method>` of an endpoint (RFC 4575 §5.6.7). An
    /// ejected participant is `booted`.
    DisconnectionMethod {
        Departed => "departed",
        Booted => "booted",
        Failed => "failed",
        Busy => "busy",
    }
}

keywords! {
    /// `<status>` of a medium (RFC 4575 §5.6.9.5), the direction the focus
    /// sees.
    MediaStatus {
        SendRecv => "sendrecv",
        SendOnly => "sendonly",
        RecvOnly => "recvonly",
        Inactive => "inactive",
    }
}

keywords! {
    /// `<msci:media-ingress-filter>` ([MS-CONFAV]): whether the focus lets
    /// the participant's media into the mix.
    IngressFilter {
        Block => "block",
        Unblock => "unblock",
    }
}

/// One `conference-info` document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConferenceInfo {
    /// The conference URI (the focus).
    pub entity: String,
    pub state: State,
    /// Rises by one with each NOTIFY of a subscription (RFC 4575 §4.6).
    pub version: u32,
    pub description: Option<Description>,
    pub conference_state: Option<ConferenceState>,
    /// The `state` of `<users>`: `Full` makes `users` the whole list even
    /// in a partial document.
    pub users_state: State,
    pub users: Vec<User>,
}

/// `<conference-description>` (RFC 4575 §5.3), the parts we use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Description {
    pub subject: Option<String>,
    /// `<conf-uris>`: where to join each part of the conference. In a
    /// partial document an empty list means "unchanged".
    pub conf_uris: Vec<ConfUri>,
}

/// One `<conf-uris>` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfUri {
    pub uri: String,
    /// `<display-text>`: for a dial-in number, the code to enter.
    pub display_text: Option<String>,
    /// `chat`, `audio-video` on the OCS focus; `participation` and others
    /// elsewhere.
    pub purpose: Option<String>,
}

/// `<conference-state>` (RFC 4575 §5.5). In a partial document, `None`
/// means "unchanged".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConferenceState {
    pub user_count: Option<u32>,
    pub active: Option<bool>,
    /// A locked conference admits no one new.
    pub locked: Option<bool>,
}

/// `<user>` (RFC 4575 §5.6), keyed by `entity`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    /// The user's URI, the key a partial document merges by.
    pub entity: String,
    pub state: State,
    pub display_text: Option<String>,
    /// `presenter` or `attendee` on the OCS focus. In a partial user, an
    /// empty list means "unchanged".
    pub roles: Vec<String>,
    pub endpoints: Vec<Endpoint>,
}

/// `<endpoint>` (RFC 4575 §5.6.4), keyed by `entity` within its user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoint {
    /// The endpoint's URI; empty when a focus sent none.
    pub entity: String,
    pub state: State,
    pub session_type: Option<SessionType>,
    pub status: Option<EndpointStatus>,
    pub joining_method: Option<JoiningMethod>,
    pub disconnection_method: Option<DisconnectionMethod>,
    /// `<disconnection-info><reason>` (RFC 4575 §5.6.8): why, in words
    /// (a dial-out that was busy or not answered).
    pub disconnection_reason: Option<String>,
    pub media: Vec<Media>,
}

/// `<media>` (RFC 4575 §5.6.9), keyed by `id` within its endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Media {
    pub id: String,
    /// `<type>`: `audio` for us.
    pub media_type: Option<String>,
    pub status: Option<MediaStatus>,
    /// `<src-id>`: the synchronization source that marks this medium in
    /// what the mixer sends (a CSRC of the mixed RTP stream).
    pub src_id: Option<String>,
    pub ingress_filter: Option<IngressFilter>,
    /// How the participant's audio reaches the mixer (confab's extension).
    pub quality: Option<MediaQuality>,
}

/// `<cq:quality>` of a medium ([`QUALITY_NAMESPACE`]): what the mixer
/// receives of the participant's audio, rounded as the focus publishes it.
/// Each figure is `None` when not reported (or not readable).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaQuality {
    /// The codec as a person reads it: `Opus`, `PCMU`.
    pub codec: Option<String>,
    /// Packets lost of those the participant sent, in tenths of a percent
    /// (RFC 3550 §A.3).
    pub loss_permille: Option<u16>,
    /// Interarrival jitter of what the participant sends (RFC 3550 §A.8).
    pub jitter_ms: Option<u32>,
    /// Round-trip time between the mixer and the participant (RFC 3550
    /// §6.4.1).
    pub round_trip_ms: Option<u32>,
    /// The delay the mixer's jitter buffer adds to the participant's voice.
    pub buffer_ms: Option<u32>,
}

impl User {
    /// A full user with nothing but its entity.
    pub fn new(entity: impl Into<String>) -> User {
        User {
            entity: entity.into(),
            ..User::default()
        }
    }

    /// The endpoint with this entity.
    pub fn endpoint(&self, entity: &str) -> Option<&Endpoint> {
        self.endpoints
            .iter()
            .find(|endpoint| endpoint.entity == entity)
    }

    /// Whether the user is in the audio (PROTOCOLS.md section 3): an
    /// audio-video endpoint is connected. `muted-via-focus` counts, since
    /// such an endpoint still hears the mix (RFC 4575 §5.6.4). An endpoint
    /// without `session-type`, as IETF foci send, counts when it carries
    /// an audio medium.
    pub fn in_audio(&self) -> bool {
        self.endpoints.iter().any(|endpoint| {
            let audio_video = match &endpoint.session_type {
                Some(session_type) => *session_type == SessionType::AudioVideo,
                None => endpoint
                    .media
                    .iter()
                    .any(|media| media.media_type.as_deref() == Some("audio")),
            };
            audio_video
                && matches!(
                    endpoint.status,
                    Some(EndpointStatus::Connected | EndpointStatus::MutedViaFocus)
                )
        })
    }

    /// Whether `role` is among the user's roles.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|held| held == role)
    }
}

impl Endpoint {
    /// A full endpoint with nothing but its entity.
    pub fn new(entity: impl Into<String>) -> Endpoint {
        Endpoint {
            entity: entity.into(),
            ..Endpoint::default()
        }
    }
}

impl Media {
    /// A medium with nothing but its id.
    pub fn new(id: impl Into<String>) -> Media {
        Media {
            id: id.into(),
            ..Media::default()
        }
    }
}

#[derive(Debug, Error)]
pub enum ConferenceInfoError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("root element is {0}, not <conference-info>")]
    WrongRoot(String),
    #[error("<{element}> has no {attribute}")]
    MissingAttribute {
        element: &'static str,
        attribute: &'static str,
    },
    #[error("version {0:?} is not a number")]
    BadVersion(String),
    #[error("state {0:?} is not full, partial or deleted")]
    BadState(String),
    #[error("<{element}> holds {value:?}")]
    BadValue {
        element: &'static str,
        value: String,
    },
    #[error("more than {limit} {what}")]
    TooMany { what: &'static str, limit: usize },
}
