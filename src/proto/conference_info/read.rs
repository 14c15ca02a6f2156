//! Reading a conference-info body into the model (see the module
//! documentation of [`super`] for what is taken and what is skipped).

use crate::proto::xml::{self, Element, Limits};

use super::quality;
use super::{
    ConfUri, ConferenceInfo, ConferenceInfoError, ConferenceState, Description,
    DisconnectionMethod, Endpoint, EndpointStatus, IngressFilter, JoiningMethod, MAX_CONF_URIS,
    MAX_DOCUMENT_BYTES, MAX_ENDPOINTS, MAX_MEDIA, MAX_ROLES, MAX_USERS, MS_EXTENSIONS_NAMESPACE,
    Media, MediaStatus, NAMESPACE, SessionType, State, User,
};

/// Room for [`MAX_USERS`] users of a verbose focus, each with a few
/// endpoints and extension elements; the byte cap comes first anyway.
const LIMITS: Limits = Limits {
    max_bytes: MAX_DOCUMENT_BYTES,
    max_depth: 32,
    max_elements: 128 * 1024,
    max_attributes: 32,
};

/// Reads a conference-info body.
pub fn parse(body: &[u8]) -> Result<ConferenceInfo, ConferenceInfoError> {
    let root = xml::parse(body, &LIMITS)?;
    if !is_ci(&root, "conference-info") {
        return Err(ConferenceInfoError::WrongRoot(describe(&root)));
    }
    let entity = required(&root, "conference-info", "entity")?;
    let state = state(&root)?.unwrap_or(State::Full);
    let version = required(&root, "conference-info", "version")?;
    let version = version
        .parse()
        .map_err(|_| ConferenceInfoError::BadVersion(xml::excerpt(version)))?;
    let description = ci_child(&root, "conference-description")
        .map(description)
        .transpose()?;
    let conference_state = ci_child(&root, "conference-state")
        .map(conference_state)
        .transpose()?;
    let (users_state, users) = match ci_child(&root, "users") {
        Some(users) => {
            let users_state = self::state(users)?.unwrap_or(state);
            (users_state, self::users(users)?)
        }
        None => (state, Vec::new()),
    };
    Ok(ConferenceInfo {
        entity: entity.to_owned(),
        state,
        version,
        description,
        conference_state,
        users_state,
        users,
    })
}

fn description(element: &Element) -> Result<Description, ConferenceInfoError> {
    let conf_uris = match ci_child(element, "conf-uris") {
        Some(list) => {
            let entries: Vec<&Element> = ci_children(list, "entry").collect();
            at_most(entries.len(), MAX_CONF_URIS, "conference URIs")?;
            entries
                .into_iter()
                .filter_map(|entry| {
                    // RFC 4575 §5.3.5: an entry without a URI says nothing.
                    let uri = ci_text(entry, "uri")?;
                    Some(ConfUri {
                        uri,
                        display_text: ci_text(entry, "display-text"),
                        purpose: ci_text(entry, "purpose"),
                    })
                })
                .collect()
        }
        None => Vec::new(),
    };
    Ok(Description {
        subject: ci_text(element, "subject"),
        conf_uris,
    })
}

fn conference_state(element: &Element) -> Result<ConferenceState, ConferenceInfoError> {
    let user_count = ci_text(element, "user-count")
        .map(|count| count.parse().map_err(|_| bad_value("user-count", &count)))
        .transpose()?;
    Ok(ConferenceState {
        user_count,
        active: boolean(element, "active")?,
        locked: boolean(element, "locked")?,
    })
}

fn users(element: &Element) -> Result<Vec<User>, ConferenceInfoError> {
    let users: Vec<&Element> = ci_children(element, "user").collect();
    at_most(users.len(), MAX_USERS, "users")?;
    users.into_iter().map(user).collect()
}

/// One `<user>`.
fn user(element: &Element) -> Result<User, ConferenceInfoError> {
    let entity = required(element, "user", "entity")?;
    let roles = match ci_child(element, "roles") {
        Some(roles) => {
            let entries: Vec<&Element> = ci_children(roles, "entry").collect();
            at_most(entries.len(), MAX_ROLES, "roles on a user")?;
            entries
                .into_iter()
                .map(|entry| entry.text.trim())
                .filter(|role| !role.is_empty())
                .map(str::to_owned)
                .collect()
        }
        None => Vec::new(),
    };
    let endpoints: Vec<&Element> = ci_children(element, "endpoint").collect();
    at_most(endpoints.len(), MAX_ENDPOINTS, "endpoints on a user")?;
    Ok(User {
        entity: entity.to_owned(),
        state: state(element)?.unwrap_or(State::Full),
        display_text: ci_text(element, "display-text"),
        roles,
        endpoints: endpoints
            .into_iter()
            .map(endpoint)
            .collect::<Result<_, _>>()?,
    })
}

fn endpoint(element: &Element) -> Result<Endpoint, ConferenceInfoError> {
    let media: Vec<&Element> = ci_children(element, "media").collect();
    at_most(media.len(), MAX_MEDIA, "media on an endpoint")?;
    // [MS-CONFBAS] writes `session-type` unqualified; accept it qualified
    // by whatever prefix a writer chose.
    let session_type = element
        .attribute("session-type")
        .or_else(|| {
            element
                .attributes
                .iter()
                .find(|attribute| attribute.name == "session-type")
                .map(|attribute| attribute.value.as_str())
        })
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(SessionType::from);
    Ok(Endpoint {
        entity: element
            .attribute("entity")
            .map(str::trim)
            .unwrap_or_default()
            .to_owned(),
        state: state(element)?.unwrap_or(State::Full),
        session_type,
        status: ci_keyword(element, "status").map(|word| EndpointStatus::from(word.as_str())),
        joining_method: ci_keyword(element, "joining-method")
            .map(|word| JoiningMethod::from(word.as_str())),
        disconnection_method: ci_keyword(element, "disconnection-method")
            .map(|word| DisconnectionMethod::from(word.as_str())),
        disconnection_reason: ci_child(element, "disconnection-info")
            .and_then(|info| ci_text(info, "reason"))
            .map(|reason| reason.trim().to_owned())
            .filter(|reason| !reason.is_empty()),
        media: media
            .into_iter()
            .map(self::media)
            .collect::<Result<_, _>>()?,
    })
}

/// One `<media>`.
fn media(element: &Element) -> Result<Media, ConferenceInfoError> {
    let id = required(element, "media", "id")?;
    // [MS-CONFAV] puts the filter in the msci namespace; take it in ours too.
    let ingress_filter = element
        .children
        .iter()
        .find(|child| {
            child.name == "media-ingress-filter"
                && matches!(
                    child.namespace.as_deref(),
                    None | Some(NAMESPACE) | Some(MS_EXTENSIONS_NAMESPACE)
                )
        })
        .map(|filter| filter.text.trim())
        .filter(|word| !word.is_empty())
        .map(IngressFilter::from);
    Ok(Media {
        id: id.to_owned(),
        media_type: ci_keyword(element, "type"),
        status: ci_keyword(element, "status").map(|word| MediaStatus::from(word.as_str())),
        src_id: ci_keyword(element, "src-id"),
        ingress_filter,
        quality: quality::read(element),
    })
}

/// The `state` attribute, `None` when absent.
fn state(element: &Element) -> Result<Option<State>, ConferenceInfoError> {
    element
        .attribute("state")
        .map(|value| {
            State::from_attribute(value)
                .ok_or_else(|| ConferenceInfoError::BadState(xml::excerpt(value)))
        })
        .transpose()
}

/// An `xs:boolean` child (XML Schema §3.2.2: true, false, 1, 0).
fn boolean(element: &Element, name: &'static str) -> Result<Option<bool>, ConferenceInfoError> {
    ci_text(element, name)
        .map(|value| match value.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(bad_value(name, &value)),
        })
        .transpose()
}

/// Whether `element` is conference-info's `name`, in our namespace or in
/// none.
fn is_ci(element: &Element, name: &str) -> bool {
    element.name == name && matches!(element.namespace.as_deref(), None | Some(NAMESPACE))
}

fn ci_children<'a>(element: &'a Element, name: &'a str) -> impl Iterator<Item = &'a Element> {
    element
        .children
        .iter()
        .filter(move |child| is_ci(child, name))
}

fn ci_child<'a>(element: &'a Element, name: &'a str) -> Option<&'a Element> {
    ci_children(element, name).next()
}

/// The trimmed text of the first child `name`, which may be empty.
fn ci_text(element: &Element, name: &str) -> Option<String> {
    ci_child(element, name).map(|child| child.text.trim().to_owned())
}

/// Like [`ci_text`], but an empty keyword is no keyword.
fn ci_keyword(element: &Element, name: &str) -> Option<String> {
    ci_text(element, name).filter(|word| !word.is_empty())
}

fn required<'a>(
    element: &'a Element,
    name: &'static str,
    attribute: &'static str,
) -> Result<&'a str, ConferenceInfoError> {
    element
        .attribute(attribute)
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .ok_or(ConferenceInfoError::MissingAttribute {
            element: name,
            attribute,
        })
}

fn at_most(count: usize, limit: usize, what: &'static str) -> Result<(), ConferenceInfoError> {
    if count > limit {
        return Err(ConferenceInfoError::TooMany { what, limit });
    }
    Ok(())
}

fn bad_value(element: &'static str, value: &str) -> ConferenceInfoError {
    ConferenceInfoError::BadValue {
        element,
        value: xml::excerpt(value),
    }
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
