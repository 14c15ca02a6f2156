//! Writing the model as a conference-info body, elements in the order of
//! the RFC 4575 §5 schema.

use crate::proto::xml::DocumentWriter;

use super::quality;
use super::{
    ConferenceInfo, ConferenceState, Description, Endpoint, MS_EXTENSIONS_NAMESPACE, Media,
    MediaQuality, NAMESPACE, State, User,
};

/// The prefix the Microsoft extensions are written with.
const MSCI: &str = "msci";

impl ConferenceInfo {
    /// The document as an `application/conference-info+xml` body (see the
    /// module documentation of [`super`] for the choices made).
    pub fn to_xml(&self) -> String {
        let version = self.version.to_string();
        let mut document = DocumentWriter::new();
        document.start(
            "conference-info",
            &[
                ("xmlns", NAMESPACE),
                ("xmlns:msci", MS_EXTENSIONS_NAMESPACE),
                ("entity", &self.entity),
                ("state", self.state.as_str()),
                ("version", &version),
            ],
        );
        if let Some(description) = &self.description {
            write_description(&mut document, description);
        }
        if let Some(conference_state) = &self.conference_state {
            write_conference_state(&mut document, conference_state);
        }
        write_users(&mut document, self);
        document.end("conference-info");
        document.finish()
    }
}

fn write_description(document: &mut DocumentWriter, description: &Description) {
    if description.subject.is_none() && description.conf_uris.is_empty() {
        document.empty("conference-description", &[]);
        return;
    }
    document.start("conference-description", &[]);
    if let Some(subject) = &description.subject {
        document.text_element("subject", &[], subject);
    }
    if !description.conf_uris.is_empty() {
        document.start("conf-uris", &[]);
        for conf_uri in &description.conf_uris {
            document.start("entry", &[]);
            document.text_element("uri", &[], &conf_uri.uri);
            if let Some(display_text) = &conf_uri.display_text {
                document.text_element("display-text", &[], display_text);
            }
            if let Some(purpose) = &conf_uri.purpose {
                document.text_element("purpose", &[], purpose);
            }
            document.end("entry");
        }
        document.end("conf-uris");
    }
    document.end("conference-description");
}

fn write_conference_state(document: &mut DocumentWriter, state: &ConferenceState) {
    if *state == ConferenceState::default() {
        document.empty("conference-state", &[]);
        return;
    }
    document.start("conference-state", &[]);
    if let Some(count) = state.user_count {
        document.text_element("user-count", &[], &count.to_string());
    }
    if let Some(active) = state.active {
        document.text_element("active", &[], boolean(active));
    }
    if let Some(locked) = state.locked {
        document.text_element("locked", &[], boolean(locked));
    }
    document.end("conference-state");
}

/// `<users>`. A full document always has it (no users is news too); a
/// partial one only when something is said. Its `state` is written when
/// it is not the schema default, and always in a partial document.
fn write_users(document: &mut DocumentWriter, info: &ConferenceInfo) {
    let partial = info.state != State::Full;
    if partial && info.users_state == State::Partial && info.users.is_empty() {
        return;
    }
    let attributes: &[(&str, &str)] = if partial || info.users_state != State::Full {
        &[("state", info.users_state.as_str())]
    } else {
        &[]
    };
    if info.users.is_empty() {
        document.empty("users", attributes);
        return;
    }
    document.start("users", attributes);
    for user in &info.users {
        write_user(document, user);
    }
    document.end("users");
}

/// One `<user>`, its `state` always written.
fn write_user(document: &mut DocumentWriter, user: &User) {
    let attributes = [
        ("entity", user.entity.as_str()),
        ("state", user.state.as_str()),
    ];
    if user.display_text.is_none() && user.roles.is_empty() && user.endpoints.is_empty() {
        document.empty("user", &attributes);
        return;
    }
    document.start("user", &attributes);
    if let Some(display_text) = &user.display_text {
        document.text_element("display-text", &[], display_text);
    }
    if !user.roles.is_empty() {
        document.start("roles", &[]);
        for role in &user.roles {
            document.text_element("entry", &[], role);
        }
        document.end("roles");
    }
    for endpoint in &user.endpoints {
        write_endpoint(document, endpoint);
    }
    document.end("user");
}

fn write_endpoint(document: &mut DocumentWriter, endpoint: &Endpoint) {
    let mut attributes = vec![("entity", endpoint.entity.as_str())];
    if let Some(session_type) = &endpoint.session_type {
        attributes.push(("session-type", session_type.as_str()));
    }
    if endpoint.state != State::Full {
        attributes.push(("state", endpoint.state.as_str()));
    }
    let empty = endpoint.status.is_none()
        && endpoint.joining_method.is_none()
        && endpoint.disconnection_method.is_none()
        && endpoint.disconnection_reason.is_none()
        && endpoint.media.is_empty();
    if empty {
        document.empty("endpoint", &attributes);
        return;
    }
    document.start("endpoint", &attributes);
    if let Some(status) = &endpoint.status {
        document.text_element("status", &[], status.as_str());
    }
    if let Some(method) = &endpoint.joining_method {
        document.text_element("joining-method", &[], method.as_str());
    }
    if let Some(method) = &endpoint.disconnection_method {
        document.text_element("disconnection-method", &[], method.as_str());
    }
    if let Some(reason) = &endpoint.disconnection_reason {
        document.start("disconnection-info", &[]);
        document.text_element("reason", &[], reason);
        document.end("disconnection-info");
    }
    for media in &endpoint.media {
        write_media(document, media);
    }
    document.end("endpoint");
}

/// One `<media>`.
fn write_media(document: &mut DocumentWriter, media: &Media) {
    let attributes = [("id", media.id.as_str())];
    if media.media_type.is_none()
        && media.status.is_none()
        && media.src_id.is_none()
        && media.ingress_filter.is_none()
        && media.quality.as_ref().is_none_or(MediaQuality::is_empty)
    {
        document.empty("media", &attributes);
        return;
    }
    document.start("media", &attributes);
    if let Some(media_type) = &media.media_type {
        document.text_element("type", &[], media_type);
    }
    if let Some(status) = &media.status {
        document.text_element("status", &[], status.as_str());
    }
    if let Some(src_id) = &media.src_id {
        document.text_element("src-id", &[], src_id);
    }
    if let Some(filter) = &media.ingress_filter {
        let name = format!("{MSCI}:media-ingress-filter");
        document.text_element(&name, &[], filter.as_str());
    }
    if let Some(quality) = &media.quality {
        quality::write(document, quality);
    }
    document.end("media");
}

fn boolean(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}
