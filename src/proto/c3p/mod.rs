//! C3P, the Centralized Conference Control Protocol of [MS-CONFBAS] and
//! [MS-CONFPRO] (body type `application/cccp+xml`; RFC 6503 CCMP is its
//! IETF descendant): the documents a client sends to a focus factory
//! (SERVICE) or a focus (INVITE, INFO), and the focus's answers, as
//! PROTOCOLS.md section 2 lays them out.
//!
//! A document is one root, `<request>` or `<response>` in the
//! `urn:ietf:params:xml:ns:cccp` namespace, carrying `C3PVersion="1"`,
//! `requestId`, `from` and `to`, and holding exactly one command element
//! ([`C3pCommand`]). A response echoes its request's command, filled in
//! (`addConference` gains the focus URI in `conference-info/@entity`,
//! `addUser` the granted role), and adds `code` and, on failure, `reason`.
//!
//! Reading ([`parse`]):
//! - names are matched by namespace URI, never by prefix: `ci` is RFC 4575
//!   conference-info, `msci` and `mscp` the Microsoft extensions;
//! - bounded: 64 KiB, 16 levels, 512 elements, no value over
//!   [`MAX_VALUE_CHARS`] characters or with a character XML forbids, no
//!   DTD (see [`crate::proto::xml`]);
//! - a command this module does not know, or a known name in another
//!   namespace, reads as [`C3pCommand::Unknown`] so that a focus can answer
//!   `notSupported`; anything else malformed is an error, to be answered
//!   with SIP 400 and no `<response>` ([MS-CONFBAS] 2.2.3);
//! - a failure or pending response may echo its command incompletely
//!   ([MS-CONFPRO] shows `<addConference reason=".."/>`): such a command
//!   reads as its kind with empty fields. [MS-CONFPRO] puts `reason` on the command
//!   element, PROTOCOLS.md on the root: both are read, the root first, and
//!   a reason this module does not know reads as `otherFailure`;
//! - unknown elements and attributes inside a command are ignored.
//!
//! Writing (`to_xml`) declares every namespace on the root, writes `reason`
//! on the root, and escapes all text, so whatever [`parse`] returns writes
//! back to a document that reads the same (a test mutates the fixtures at
//! random to check it).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::proto::xml::{Limits, XmlError};

mod read;
mod write;

pub use read::{parse, parse_request, parse_response};

/// The media type of a C3P body.
pub const CONTENT_TYPE: &str = "application/cccp+xml";
/// The namespace of `request`, `response` and the commands.
pub const CCCP_NAMESPACE: &str = "urn:ietf:params:xml:ns:cccp";
/// RFC 4575 conference-info (`ci`).
pub const CONFERENCE_INFO_NAMESPACE: &str = "urn:ietf:params:xml:ns:conference-info";
/// Microsoft's conference-info extensions (`msci`).
pub const MS_CONFERENCE_INFO_NAMESPACE: &str =
    "http://schemas.microsoft.com/rtc/2005/08/confinfoextensions";
/// Microsoft's C3P extensions (`mscp`).
pub const MS_CCCP_NAMESPACE: &str = "http://schemas.microsoft.com/rtc/2005/08/cccpextensions";
/// The only protocol version.
pub const C3P_VERSION: &str = "1";
/// The header carrying [MS-OCER] diagnostics.
pub const MS_DIAGNOSTICS_HEADER: &str = "ms-diagnostics";
/// [MS-OCER] diagnostic of a conference command refused for the sender's
/// role (PROTOCOLS.md section 2).
pub const DIAGNOSTIC_FORBIDDEN: u32 = 3014;

/// The longest attribute value or text [`parse`] accepts, in characters.
pub const MAX_VALUE_CHARS: usize = 2048;

const LIMITS: Limits = Limits {
    max_bytes: 64 * 1024,
    max_depth: 16,
    max_elements: 512,
    max_attributes: 32,
};

/// A C3P body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum C3pDocument {
    Request(C3pRequest),
    Response(C3pResponse),
}

/// `<request>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct C3pRequest {
    /// Unique per sender; the response carries it back.
    pub request_id: u64,
    /// The sender's URI.
    pub from: String,
    /// The To URI of the SIP request carrying it.
    pub to: String,
    pub command: C3pCommand,
}

/// `<response>`: `from` and `to` are the request's swapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct C3pResponse {
    pub request_id: u64,
    pub from: String,
    pub to: String,
    pub code: ResponseCode,
    /// Why it failed; `None` on success.
    pub reason: Option<FailureReason>,
    /// The request's command, echoed and filled in.
    pub command: C3pCommand,
}

/// `response/@code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseCode {
    Success,
    Failure,
    /// Accepted, final answer to follow.
    Pending,
}

/// Why a command failed (`response/@reason`), the UCMA names PROTOCOLS.md
/// section 2 chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureReason {
    ConferenceDoesNotExist,
    /// Not allowed in the sender's role (an attendee ejecting someone).
    Forbidden,
    InvalidRole,
    InvalidUserEntity,
    EndpointDoesNotExist,
    MaximumMeetingSizeExceeded,
    McuTypeNotAvailable,
    NotSupported,
    OtherFailure,
}

/// The one command of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum C3pCommand {
    /// SERVICE to the focus factory. Empty in a request; the response lists
    /// the MCU types the factory offers.
    GetConferencingCapabilities { mcu_types: Vec<String> },
    /// SERVICE to the focus factory: create an ad-hoc conference. The
    /// response's `entity` is the new focus URI.
    AddConference(ConferenceInfo),
    /// SERVICE to the focus factory: look a conference up.
    GetConference(GetConference),
    /// INVITE to the focus (join), or INFO in the focus dialog with
    /// `mcu_uri` set (dial-out).
    AddUser(AddUser),
    /// INFO: eject a user.
    DeleteUser(UserKeys),
    /// INFO: promote or demote.
    ModifyUserRoles(ModifyUserRoles),
    /// INFO: mute or unmute someone at the A/V MCU.
    ModifyEndpointMedia(ModifyEndpointMedia),
    /// INFO: lock or unlock.
    ModifyConferenceLock(ModifyConferenceLock),
    /// INFO: end the conference.
    DeleteConference(ConferenceKeys),
    /// A command this module does not know; answer `notSupported`.
    Unknown { name: String },
}

/// `ci:conference-info` as `addConference` carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConferenceInfo {
    /// `@entity`: empty in the request, the focus URI in the response.
    pub entity: String,
    /// `conference-description/subject`; empty for none.
    pub subject: String,
    /// `msci:conference-id`: the ID the creator proposes.
    pub conference_id: Option<String>,
    /// `msci:expiry-time`, an xs:dateTime in UTC such as
    /// `2026-11-26T17:57:09Z`, passed through as written.
    pub expiry_time: Option<String>,
    pub admission_policy: Option<AdmissionPolicy>,
    /// `msci:conference-view/msci:entity-view/@entity`: the MCU types
    /// asked for (`chat`, `audio-video`) or, from a server, MCU URIs.
    pub entity_views: Vec<String>,
}

/// `msci:admission-policy` ([MS-CONFPRO]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdmissionPolicy {
    ClosedAuthenticated,
    OpenAuthenticated,
    Anonymous,
}

/// `getConference`: the conference by focus URI or by ID
/// (`conferenceKeys/@confEntity`, `conferenceKeys/@msci:conference-id`;
/// at least one), and in the response what is known of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetConference {
    pub conf_entity: Option<String>,
    pub conference_id: Option<String>,
    pub info: Option<ConferenceInfo>,
}

/// `conferenceKeys`: which conference a command is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConferenceKeys {
    /// The focus URI.
    pub conf_entity: String,
}

/// `userKeys`: one user of a conference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserKeys {
    pub conf_entity: String,
    pub user_entity: String,
}

/// `addUser`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddUser {
    /// `@mscp:mcuUri`: the MCU that dials out; `None` when joining the
    /// focus.
    pub mcu_uri: Option<String>,
    /// `conferenceKeys/@confEntity`: the focus URI.
    pub conf_entity: String,
    pub user: ConferenceUser,
}

/// `ci:user` inside `addUser`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConferenceUser {
    /// `@entity`: the user's SIP URI.
    pub entity: String,
    /// `ci:display-text`.
    pub display_text: Option<String>,
    /// `ci:roles/ci:entry` (the first): asked for in the request, granted
    /// in the response.
    pub role: Option<Role>,
    pub endpoint: Option<UserEndpoint>,
}

/// `ci:endpoint` inside `addUser`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserEndpoint {
    /// `@entity`: the endpoint's ID, a GUID in braces by custom.
    pub entity: String,
    /// `@endpoint-uri`: the `sip:` or `tel:` URI to dial out to.
    pub endpoint_uri: Option<String>,
    /// `@refer-to-uri`: where the MCU sends its INVITE, if not to the
    /// endpoint URI.
    pub refer_to_uri: Option<String>,
    pub joining_method: Option<JoiningMethod>,
}

/// A conference role (`ci:entry`). On the wire the leader is `presenter`
/// (PROTOCOLS.md section 2); other words are kept so that the focus can
/// answer `invalidRole`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    Presenter,
    Attendee,
    Other(String),
}

/// `ci:joining-method` (RFC 4575 §5.6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoiningMethod {
    DialedIn,
    DialedOut,
    FocusOwner,
}

/// `modifyUserRoles`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifyUserRoles {
    pub keys: UserKeys,
    /// `ci:user-roles/ci:entry` (the first).
    pub role: Role,
}

/// `modifyEndpointMedia` ([MS-CONFAV]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModifyEndpointMedia {
    /// `@mscp:mcuUri`: the A/V MCU.
    pub mcu_uri: String,
    pub keys: MediaKeys,
    pub media: MediaChange,
}

/// `mediaKeys`: one media stream of one endpoint of one user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaKeys {
    pub conf_entity: String,
    pub user_entity: String,
    pub endpoint_entity: String,
    /// The RFC 4575 media `@id` from the roster.
    pub media_id: String,
}

/// `ci:media` inside `modifyEndpointMedia`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaChange {
    /// `@id`.
    pub id: String,
    /// `ci:type`, `audio` for confab.
    pub media_type: Option<String>,
    pub status: Option<MediaStatus>,
    /// `msci:media-ingress-filter`: block is muted by the focus.
    pub ingress_filter: Option<MediaFilter>,
}

/// RFC 4575 media `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaStatus {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

/// [MS-CONFAV] `media-ingress-filter`: whether the MCU takes the
/// endpoint's media into the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaFilter {
    Block,
    Unblock,
}

/// `modifyConferenceLock`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModifyConferenceLock {
    pub conf_entity: String,
    /// `locked`: true to keep newcomers out.
    pub locked: bool,
}

#[derive(Debug, Error)]
pub enum C3pError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("root element is <{0}>, not a C3P request or response")]
    WrongRoot(String),
    #[error("<{element}> has no {attribute}")]
    MissingAttribute {
        element: &'static str,
        attribute: &'static str,
    },
    #[error("<{parent}> has no <{element}>")]
    MissingElement {
        parent: &'static str,
        element: &'static str,
    },
    #[error("requestId {0:?} is not a non-negative integer")]
    BadRequestId(String),
    #[error("C3PVersion {0:?} is not 1")]
    UnsupportedVersion(String),
    #[error("{what} {value:?} is not a known value")]
    BadValue { what: &'static str, value: String },
    #[error("{what} of {chars} characters is over the limit of {limit}")]
    TooLong {
        what: &'static str,
        chars: usize,
        limit: usize,
    },
    #[error("{0} holds a character XML does not allow")]
    ForbiddenCharacter(&'static str),
    #[error("<{0}> holds no command")]
    NoCommand(&'static str),
    #[error("<{0}> holds {1} commands, not one")]
    SeveralCommands(&'static str, usize),
    #[error("expected a C3P request, got a response")]
    NotARequest,
    #[error("expected a C3P response, got a request")]
    NotAResponse,
}

impl C3pDocument {
    pub fn to_xml(&self) -> String {
        match self {
            C3pDocument::Request(request) => request.to_xml(),
            C3pDocument::Response(response) => response.to_xml(),
        }
    }
}

impl C3pRequest {
    pub fn to_xml(&self) -> String {
        write::request(self)
    }

    /// A response to this request with `code`, echoing the command as
    /// received; the responder fills in what it adds.
    pub fn response(&self, code: ResponseCode) -> C3pResponse {
        C3pResponse {
            request_id: self.request_id,
            from: self.to.clone(),
            to: self.from.clone(),
            code,
            reason: None,
            command: self.command.clone(),
        }
    }

    /// A failure response to this request.
    pub fn failure(&self, reason: FailureReason) -> C3pResponse {
        C3pResponse {
            reason: Some(reason),
            ..self.response(ResponseCode::Failure)
        }
    }
}

impl C3pResponse {
    pub fn to_xml(&self) -> String {
        write::response(self)
    }
}

impl C3pCommand {
    /// The command's element name.
    pub fn name(&self) -> &str {
        match self {
            C3pCommand::GetConferencingCapabilities { .. } => "getConferencingCapabilities",
            C3pCommand::AddConference(_) => "addConference",
            C3pCommand::GetConference(_) => "getConference",
            C3pCommand::AddUser(_) => "addUser",
            C3pCommand::DeleteUser(_) => "deleteUser",
            C3pCommand::ModifyUserRoles(_) => "modifyUserRoles",
            C3pCommand::ModifyEndpointMedia(_) => "modifyEndpointMedia",
            C3pCommand::ModifyConferenceLock(_) => "modifyConferenceLock",
            C3pCommand::DeleteConference(_) => "deleteConference",
            C3pCommand::Unknown { name } => name,
        }
    }
}

impl AddUser {
    /// Whether this asks an MCU to call the user rather than admit the
    /// sender to the focus.
    pub fn is_dial_out(&self) -> bool {
        self.mcu_uri.is_some()
            || self
                .user
                .endpoint
                .as_ref()
                .is_some_and(|endpoint| endpoint.joining_method == Some(JoiningMethod::DialedOut))
    }

    /// Where the MCU's dial-out INVITE goes (PROTOCOLS.md section 2): the
    /// `refer-to-uri`, else the `endpoint-uri`, else the user entity.
    pub fn dial_out_target(&self) -> &str {
        let endpoint = self.user.endpoint.as_ref();
        endpoint
            .and_then(|endpoint| endpoint.refer_to_uri.as_deref())
            .or_else(|| endpoint.and_then(|endpoint| endpoint.endpoint_uri.as_deref()))
            .unwrap_or(&self.user.entity)
    }
}

/// The `ms-diagnostics` header value ([MS-OCER] 2.2.1.1) that goes with a
/// failure's SIP response, if the reason has one: `forbidden` is 3014
/// (PROTOCOLS.md section 2). The caller may append `;source="host"`.
pub fn ms_diagnostics_header(reason: FailureReason) -> Option<String> {
    match reason {
        FailureReason::Forbidden => Some(format!(
            "{DIAGNOSTIC_FORBIDDEN};reason=\"The user's role does not allow this conference command\""
        )),
        _ => None,
    }
}

/// Whether `name` can be a command's element name: an XML NCName (XML
/// Namespaces §3) in the letters, digits and marks commands use.
fn is_command_name(name: &str) -> bool {
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|first| first.is_alphabetic() || first == '_')
        && characters.all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A word of the protocol and its spelling on the wire, for the enums
/// below.
macro_rules! wire_words {
    ($type:ident, $what:literal, { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $type {
            /// The value as written in a document.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($type::$variant => $word,)+
                }
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $type {
            type Err = C3pError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($word => Ok($type::$variant),)+
                    _ => Err(C3pError::BadValue {
                        what: $what,
                        value: crate::proto::xml::excerpt(text),
                    }),
                }
            }
        }
    };
}

wire_words!(ResponseCode, "code", {
    Success => "success",
    Failure => "failure",
    Pending => "pending",
});

wire_words!(FailureReason, "reason", {
    ConferenceDoesNotExist => "conferenceDoesNotExist",
    Forbidden => "forbidden",
    InvalidRole => "invalidRole",
    InvalidUserEntity => "invalidUserEntity",
    EndpointDoesNotExist => "endpointDoesNotExist",
    MaximumMeetingSizeExceeded => "maximumMeetingSizeExceeded",
    McuTypeNotAvailable => "mcuTypeNotAvailable",
    NotSupported => "notSupported",
    OtherFailure => "otherFailure",
});

wire_words!(AdmissionPolicy, "admission-policy", {
    ClosedAuthenticated => "closedAuthenticated",
    OpenAuthenticated => "openAuthenticated",
    Anonymous => "anonymous",
});

wire_words!(JoiningMethod, "joining-method", {
    DialedIn => "dialed-in",
    DialedOut => "dialed-out",
    FocusOwner => "focus-owner",
});

wire_words!(MediaStatus, "media status", {
    SendRecv => "sendrecv",
    SendOnly => "sendonly",
    RecvOnly => "recvonly",
    Inactive => "inactive",
});

wire_words!(MediaFilter, "media-ingress-filter", {
    Block => "block",
    Unblock => "unblock",
});

impl Role {
    pub fn as_str(&self) -> &str {
        match self {
            Role::Presenter => "presenter",
            Role::Attendee => "attendee",
            Role::Other(word) => word,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Role {
    fn from(word: &str) -> Self {
        match word {
            "presenter" => Role::Presenter,
            "attendee" => Role::Attendee,
            other => Role::Other(other.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests;
