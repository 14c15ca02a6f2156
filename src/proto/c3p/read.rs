//! Reading C3P documents: the rules are in the parent module's
//! documentation.

use super::*;
use crate::proto::xml::{self, Element};

const CCCP: &str = CCCP_NAMESPACE;
const CI: &str = CONFERENCE_INFO_NAMESPACE;
const MSCI: &str = MS_CONFERENCE_INFO_NAMESPACE;
const MSCP: &str = MS_CCCP_NAMESPACE;

/// Reads a C3P body. An error means a malformed body: answer SIP 400.
pub fn parse(body: &[u8]) -> Result<C3pDocument, C3pError> {
    let root = xml::parse(body, &LIMITS)?;
    let root_name = match (root.namespace.as_deref(), root.name.as_str()) {
        (Some(CCCP), "request") => "request",
        (Some(CCCP), "response") => "response",
        _ => return Err(C3pError::WrongRoot(xml::excerpt(&root.name))),
    };
    if let Some(version) = root.attribute("C3PVersion") {
        if version.trim() != C3P_VERSION {
            return Err(C3pError::UnsupportedVersion(xml::excerpt(version)));
        }
    }
    let request_id = request_id(required(&root, root_name, "requestId")?)?;
    let from = checked("from", required(&root, root_name, "from")?)?;
    let to = checked("to", required(&root, root_name, "to")?)?;
    let command_element = only_command(&root, root_name)?;

    if root_name == "request" {
        return Ok(C3pDocument::Request(C3pRequest {
            request_id,
            from,
            to,
            command: command(command_element)?,
        }));
    }
    let code: ResponseCode = required(&root, root_name, "code")?.trim().parse()?;
    let reason = root
        .attribute("reason")
        .or_else(|| command_element.attribute("reason"))
        .map(str::trim)
        .filter(|reason| !reason.is_empty())
        // A reason from a newer server is still a failure.
        .map(|reason| reason.parse().unwrap_or(FailureReason::OtherFailure));
    let command = match command(command_element) {
        Ok(command) => command,
        Err(error) if code != ResponseCode::Success => {
            incomplete_command(command_element).ok_or(error)?
        }
        Err(error) => return Err(error),
    };
    Ok(C3pDocument::Response(C3pResponse {
        request_id,
        from,
        to,
        code,
        reason,
        command,
    }))
}

/// Reads a body that must be a request (what a focus receives).
pub fn parse_request(body: &[u8]) -> Result<C3pRequest, C3pError> {
    match parse(body)? {
        C3pDocument::Request(request) => Ok(request),
        C3pDocument::Response(_) => Err(C3pError::NotARequest),
    }
}

/// Reads a body that must be a response (what a client receives).
pub fn parse_response(body: &[u8]) -> Result<C3pResponse, C3pError> {
    match parse(body)? {
        C3pDocument::Response(response) => Ok(response),
        C3pDocument::Request(_) => Err(C3pError::NotAResponse),
    }
}

/// [MS-CONFBAS] 2.2.2: exactly one child element, the command.
fn only_command<'a>(root: &'a Element, root_name: &'static str) -> Result<&'a Element, C3pError> {
    match root.children.as_slice() {
        [command] => Ok(command),
        [] => Err(C3pError::NoCommand(root_name)),
        several => Err(C3pError::SeveralCommands(root_name, several.len())),
    }
}

fn request_id(text: &str) -> Result<u64, C3pError> {
    let digits = text.trim();
    // u64's FromStr also takes a leading '+', which C3P's integer does not.
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(C3pError::BadRequestId(xml::excerpt(text)));
    }
    digits
        .parse()
        .map_err(|_| C3pError::BadRequestId(xml::excerpt(text)))
}

fn command(element: &Element) -> Result<C3pCommand, C3pError> {
    if element.namespace.as_deref() != Some(CCCP) {
        return unknown(element);
    }
    let command = match element.name.as_str() {
        "getConferencingCapabilities" => C3pCommand::GetConferencingCapabilities {
            mcu_types: mcu_types(element)?,
        },
        "addConference" => C3pCommand::AddConference(conference_info(required_child(
            element,
            "addConference",
            CI,
            "conference-info",
        )?)?),
        "getConference" => C3pCommand::GetConference(get_conference(element)?),
        "addUser" => C3pCommand::AddUser(add_user(element)?),
        "deleteUser" => C3pCommand::DeleteUser(user_keys(element, "deleteUser")?),
        "modifyUserRoles" => C3pCommand::ModifyUserRoles(modify_user_roles(element)?),
        "modifyEndpointMedia" => C3pCommand::ModifyEndpointMedia(modify_endpoint_media(element)?),
        "modifyConferenceLock" => {
            C3pCommand::ModifyConferenceLock(modify_conference_lock(element)?)
        }
        "deleteConference" => C3pCommand::DeleteConference(delete_conference(element)?),
        _ => return unknown(element),
    };
    Ok(command)
}

/// quick-xml is lax about names; one that is no XML name is malformed.
fn unknown(element: &Element) -> Result<C3pCommand, C3pError> {
    if !is_command_name(&element.name) {
        return Err(C3pError::BadValue {
            what: "command name",
            value: xml::excerpt(&element.name),
        });
    }
    Ok(C3pCommand::Unknown {
        name: checked("command name", &element.name)?,
    })
}

/// The command of a failure or pending response whose echo lacks what a
/// request must carry: its kind, with empty fields.
fn incomplete_command(element: &Element) -> Option<C3pCommand> {
    let command = match element.name.as_str() {
        "getConferencingCapabilities" => C3pCommand::GetConferencingCapabilities {
            mcu_types: Vec::new(),
        },
        "addConference" => C3pCommand::AddConference(ConferenceInfo::default()),
        "getConference" => C3pCommand::GetConference(GetConference::default()),
        "addUser" => C3pCommand::AddUser(AddUser::default()),
        "deleteUser" => C3pCommand::DeleteUser(UserKeys::default()),
        "modifyUserRoles" => C3pCommand::ModifyUserRoles(ModifyUserRoles {
            keys: UserKeys::default(),
            role: Role::Other(String::new()),
        }),
        "modifyEndpointMedia" => C3pCommand::ModifyEndpointMedia(ModifyEndpointMedia::default()),
        "modifyConferenceLock" => C3pCommand::ModifyConferenceLock(ModifyConferenceLock::default()),
        "deleteConference" => C3pCommand::DeleteConference(ConferenceKeys::default()),
        _ => return None,
    };
    Some(command)
}

/// [MS-CONFPRO] getConferencingCapabilities response: `mcu-types/mcuType`.
fn mcu_types(element: &Element) -> Result<Vec<String>, C3pError> {
    let Some(list) = child(element, CCCP, "mcu-types") else {
        return Ok(Vec::new());
    };
    list.children_named(CCCP, "mcuType")
        .map(|mcu_type| checked("mcuType", mcu_type.text.trim()))
        .collect()
}

fn conference_info(element: &Element) -> Result<ConferenceInfo, C3pError> {
    let mut info = ConferenceInfo {
        entity: optional(element, "entity")?.unwrap_or_default(),
        ..ConferenceInfo::default()
    };
    if let Some(description) = child(element, CI, "conference-description") {
        if let Some(subject) = child(description, CI, "subject") {
            info.subject = checked("subject", &subject.text)?;
        }
        info.conference_id = child_word(description, MSCI, "conference-id")?;
        info.expiry_time = child_word(description, MSCI, "expiry-time")?;
        info.admission_policy = child_word(description, MSCI, "admission-policy")?
            .map(|policy| policy.parse())
            .transpose()?;
    }
    if let Some(view) = child(element, MSCI, "conference-view") {
        info.entity_views = view
            .children_named(MSCI, "entity-view")
            .map(|entity_view| required(entity_view, "entity-view", "entity"))
            .map(|entity| checked("entity-view", entity?))
            .collect::<Result<_, _>>()?;
    }
    Ok(info)
}

fn get_conference(element: &Element) -> Result<GetConference, C3pError> {
    let keys = required_child(element, "getConference", CCCP, "conferenceKeys")?;
    let conf_entity = optional(keys, "confEntity")?;
    let conference_id = attribute_in(keys, MSCI, "conference-id")
        .map(|id| checked("conference-id", id.trim()))
        .transpose()?;
    if conf_entity.is_none() && conference_id.is_none() {
        return Err(C3pError::MissingAttribute {
            element: "conferenceKeys",
            attribute: "confEntity",
        });
    }
    let info = child(element, CI, "conference-info")
        .map(conference_info)
        .transpose()?;
    Ok(GetConference {
        conf_entity,
        conference_id,
        info,
    })
}

fn add_user(element: &Element) -> Result<AddUser, C3pError> {
    let mcu_uri = attribute_in(element, MSCP, "mcuUri")
        .map(|uri| checked("mcuUri", uri))
        .transpose()?;
    let keys = required_child(element, "addUser", CCCP, "conferenceKeys")?;
    let user = required_child(element, "addUser", CI, "user")?;
    let endpoint = child(user, CI, "endpoint")
        .map(|endpoint| -> Result<UserEndpoint, C3pError> {
            Ok(UserEndpoint {
                entity: checked("endpoint", required(endpoint, "endpoint", "entity")?)?,
                endpoint_uri: attribute_any(endpoint, "endpoint-uri")
                    .map(|uri| checked("endpoint-uri", uri))
                    .transpose()?,
                refer_to_uri: attribute_any(endpoint, "refer-to-uri")
                    .map(|uri| checked("refer-to-uri", uri))
                    .transpose()?,
                joining_method: child_word(endpoint, CI, "joining-method")?
                    .map(|method| method.parse())
                    .transpose()?,
            })
        })
        .transpose()?;
    Ok(AddUser {
        mcu_uri,
        conf_entity: checked(
            "confEntity",
            required(keys, "conferenceKeys", "confEntity")?,
        )?,
        user: ConferenceUser {
            entity: checked("user", required(user, "user", "entity")?)?,
            display_text: child(user, CI, "display-text")
                .map(|text| checked("display-text", &text.text))
                .transpose()?,
            role: child(user, CI, "roles")
                .and_then(|roles| child(roles, CI, "entry"))
                .map(role)
                .transpose()?,
            endpoint,
        },
    })
}

fn user_keys(element: &Element, parent: &'static str) -> Result<UserKeys, C3pError> {
    let keys = required_child(element, parent, CCCP, "userKeys")?;
    Ok(UserKeys {
        conf_entity: checked("confEntity", required(keys, "userKeys", "confEntity")?)?,
        user_entity: checked("userEntity", required(keys, "userKeys", "userEntity")?)?,
    })
}

fn modify_user_roles(element: &Element) -> Result<ModifyUserRoles, C3pError> {
    let roles = required_child(element, "modifyUserRoles", CI, "user-roles")?;
    Ok(ModifyUserRoles {
        keys: user_keys(element, "modifyUserRoles")?,
        role: role(required_child(roles, "user-roles", CI, "entry")?)?,
    })
}

fn modify_endpoint_media(element: &Element) -> Result<ModifyEndpointMedia, C3pError> {
    let mcu_uri = attribute_in(element, MSCP, "mcuUri").ok_or(C3pError::MissingAttribute {
        element: "modifyEndpointMedia",
        attribute: "mcuUri",
    })?;
    let keys = required_child(element, "modifyEndpointMedia", CCCP, "mediaKeys")?;
    let media = required_child(element, "modifyEndpointMedia", CI, "media")?;
    let key = |attribute: &'static str| -> Result<String, C3pError> {
        checked(attribute, required(keys, "mediaKeys", attribute)?)
    };
    Ok(ModifyEndpointMedia {
        mcu_uri: checked("mcuUri", mcu_uri)?,
        keys: MediaKeys {
            conf_entity: key("confEntity")?,
            user_entity: key("userEntity")?,
            endpoint_entity: key("endpointEntity")?,
            media_id: key("mediaId")?,
        },
        media: MediaChange {
            id: checked("media id", required(media, "media", "id")?)?,
            media_type: child_word(media, CI, "type")?,
            status: child_word(media, CI, "status")?
                .map(|status| status.parse())
                .transpose()?,
            ingress_filter: child_word(media, MSCI, "media-ingress-filter")?
                .map(|filter| filter.parse())
                .transpose()?,
        },
    })
}

fn modify_conference_lock(element: &Element) -> Result<ModifyConferenceLock, C3pError> {
    let keys = required_child(element, "modifyConferenceLock", CCCP, "conferenceKeys")?;
    let locked = required_child(element, "modifyConferenceLock", CCCP, "locked")?;
    // xs:boolean.
    let locked = match locked.text.trim() {
        "true" | "1" => true,
        "false" | "0" => false,
        other => {
            return Err(C3pError::BadValue {
                what: "locked",
                value: xml::excerpt(other),
            });
        }
    };
    Ok(ModifyConferenceLock {
        conf_entity: checked(
            "confEntity",
            required(keys, "conferenceKeys", "confEntity")?,
        )?,
        locked,
    })
}

/// `conferenceKeys/@confEntity`; a response as [MS-CONFBAS] 2.2.3.14 shows
/// it names the conference in `conference-info/@entity` instead.
fn delete_conference(element: &Element) -> Result<ConferenceKeys, C3pError> {
    let entity = match child(element, CCCP, "conferenceKeys") {
        Some(keys) => required(keys, "conferenceKeys", "confEntity")?,
        None => element
            .children
            .iter()
            .find(|child| child.name == "conference-info")
            .ok_or(C3pError::MissingElement {
                parent: "deleteConference",
                element: "conferenceKeys",
            })
            .and_then(|info| required(info, "conference-info", "entity"))?,
    };
    Ok(ConferenceKeys {
        conf_entity: checked("confEntity", entity)?,
    })
}

fn role(entry: &Element) -> Result<Role, C3pError> {
    Ok(Role::from(checked("role", entry.text.trim())?.as_str()))
}

fn child<'a>(element: &'a Element, namespace: &str, name: &str) -> Option<&'a Element> {
    element
        .children
        .iter()
        .find(|child| child.is(namespace, name))
}

fn required_child<'a>(
    element: &'a Element,
    parent: &'static str,
    namespace: &str,
    name: &'static str,
) -> Result<&'a Element, C3pError> {
    child(element, namespace, name).ok_or(C3pError::MissingElement {
        parent,
        element: name,
    })
}

/// The trimmed text of a child holding one word or value; `None` when the
/// child is absent or empty.
fn child_word(
    element: &Element,
    namespace: &str,
    name: &'static str,
) -> Result<Option<String>, C3pError> {
    match child(element, namespace, name).map(|child| child.text.trim()) {
        Some(word) if !word.is_empty() => checked(name, word).map(Some),
        _ => Ok(None),
    }
}

fn required<'a>(
    element: &'a Element,
    name: &'static str,
    attribute: &'static str,
) -> Result<&'a str, C3pError> {
    element
        .attribute(attribute)
        .ok_or(C3pError::MissingAttribute {
            element: name,
            attribute,
        })
}

fn optional(element: &Element, attribute: &'static str) -> Result<Option<String>, C3pError> {
    element
        .attribute(attribute)
        .map(|value| checked(attribute, value))
        .transpose()
}

/// An attribute in `namespace` (`mscp:mcuUri`), or unprefixed as a lax
/// writer might send it.
fn attribute_in<'a>(element: &'a Element, namespace: &str, name: &str) -> Option<&'a str> {
    element
        .attributes
        .iter()
        .find(|attribute| {
            attribute.name == name && attribute.namespace.as_deref() == Some(namespace)
        })
        .map(|attribute| attribute.value.as_str())
        .or_else(|| element.attribute(name))
}

/// An attribute by local name, unprefixed first, else in any namespace.
fn attribute_any<'a>(element: &'a Element, name: &str) -> Option<&'a str> {
    element.attribute(name).or_else(|| {
        element
            .attributes
            .iter()
            .find(|attribute| attribute.name == name)
            .map(|attribute| attribute.value.as_str())
    })
}

/// `value` if it is within [`MAX_VALUE_CHARS`] and has only characters
/// XML 1.0 §2.2 allows: quick-xml passes a raw NUL through, which a
/// well-formed document cannot hold.
fn checked(what: &'static str, value: &str) -> Result<String, C3pError> {
    let forbidden = |c: char| matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}');
    if value.chars().any(forbidden) {
        return Err(C3pError::ForbiddenCharacter(what));
    }
    let chars = value.chars().count();
    if chars > MAX_VALUE_CHARS {
        return Err(C3pError::TooLong {
            what,
            chars,
            limit: MAX_VALUE_CHARS,
        });
    }
    Ok(value.to_owned())
}
