//! Writing C3P documents: every namespace declared on the root, with the
//! prefixes of PROTOCOLS.md section 2 (`ci`, `msci`, `mscp`); optional
//! parts that are absent are not written.

use super::*;
use crate::proto::xml::DocumentWriter;

pub(super) fn request(request: &C3pRequest) -> String {
    let request_id = request.request_id.to_string();
    let mut document = DocumentWriter::new();
    document.start(
        "request",
        &root_attributes(&request_id, &request.from, &request.to),
    );
    command(&mut document, &request.command);
    document.end("request");
    document.finish()
}

pub(super) fn response(response: &C3pResponse) -> String {
    let request_id = response.request_id.to_string();
    let mut attributes = root_attributes(&request_id, &response.from, &response.to);
    attributes.push(("code", response.code.as_str()));
    if let Some(reason) = response.reason {
        attributes.push(("reason", reason.as_str()));
    }
    let mut document = DocumentWriter::new();
    document.start("response", &attributes);
    command(&mut document, &response.command);
    document.end("response");
    document.finish()
}

fn root_attributes<'a>(request_id: &'a str, from: &'a str, to: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("xmlns", CCCP_NAMESPACE),
        ("xmlns:mscp", MS_CCCP_NAMESPACE),
        ("xmlns:ci", CONFERENCE_INFO_NAMESPACE),
        ("xmlns:msci", MS_CONFERENCE_INFO_NAMESPACE),
        ("C3PVersion", C3P_VERSION),
        ("requestId", request_id),
        ("from", from),
        ("to", to),
    ]
}

fn command(document: &mut DocumentWriter, command: &C3pCommand) {
    let name = command.name();
    match command {
        C3pCommand::GetConferencingCapabilities { mcu_types } if mcu_types.is_empty() => {
            document.empty(name, &[]);
        }
        C3pCommand::GetConferencingCapabilities { mcu_types } => {
            document.start(name, &[]);
            document.start("mcu-types", &[]);
            for mcu_type in mcu_types {
                document.text_element("mcuType", &[], mcu_type);
            }
            document.end("mcu-types");
            document.end(name);
        }
        C3pCommand::AddConference(info) => {
            document.start(name, &[]);
            conference_info(document, info);
            document.end(name);
        }
        C3pCommand::GetConference(get) => {
            let mut keys = Vec::new();
            if let Some(entity) = &get.conf_entity {
                keys.push(("confEntity", entity.as_str()));
            }
            if let Some(id) = &get.conference_id {
                keys.push(("msci:conference-id", id.as_str()));
            }
            document.start(name, &[]);
            document.empty("conferenceKeys", &keys);
            if let Some(info) = &get.info {
                conference_info(document, info);
            }
            document.end(name);
        }
        C3pCommand::AddUser(add) => {
            let mut attributes = Vec::new();
            if let Some(mcu_uri) = &add.mcu_uri {
                attributes.push(("mscp:mcuUri", mcu_uri.as_str()));
            }
            document.start(name, &attributes);
            document.empty("conferenceKeys", &[("confEntity", &add.conf_entity)]);
            user(document, &add.user);
            document.end(name);
        }
        C3pCommand::DeleteUser(keys) => {
            document.start(name, &[]);
            user_keys(document, keys);
            document.end(name);
        }
        C3pCommand::ModifyUserRoles(modify) => {
            document.start(name, &[]);
            user_keys(document, &modify.keys);
            document.start("ci:user-roles", &[]);
            document.text_element("ci:entry", &[], modify.role.as_str());
            document.end("ci:user-roles");
            document.end(name);
        }
        C3pCommand::ModifyEndpointMedia(modify) => {
            document.start(name, &[("mscp:mcuUri", &modify.mcu_uri)]);
            let keys = &modify.keys;
            document.empty(
                "mediaKeys",
                &[
                    ("confEntity", &keys.conf_entity),
                    ("userEntity", &keys.user_entity),
                    ("endpointEntity", &keys.endpoint_entity),
                    ("mediaId", &keys.media_id),
                ],
            );
            let media = &modify.media;
            document.start("ci:media", &[("id", &media.id)]);
            if let Some(media_type) = &media.media_type {
                document.text_element("ci:type", &[], media_type);
            }
            if let Some(status) = media.status {
                document.text_element("ci:status", &[], status.as_str());
            }
            if let Some(filter) = media.ingress_filter {
                document.text_element("msci:media-ingress-filter", &[], filter.as_str());
            }
            document.end("ci:media");
            document.end(name);
        }
        C3pCommand::ModifyConferenceLock(lock) => {
            document.start(name, &[]);
            document.empty("conferenceKeys", &[("confEntity", &lock.conf_entity)]);
            let locked = if lock.locked { "true" } else { "false" };
            document.text_element("locked", &[], locked);
            document.end(name);
        }
        C3pCommand::DeleteConference(keys) => {
            document.start(name, &[]);
            document.empty("conferenceKeys", &[("confEntity", &keys.conf_entity)]);
            document.end(name);
        }
        C3pCommand::Unknown { name } => document.empty(element_name(name), &[]),
    }
}

fn conference_info(document: &mut DocumentWriter, info: &ConferenceInfo) {
    document.start("ci:conference-info", &[("entity", &info.entity)]);
    document.start("ci:conference-description", &[]);
    document.text_element("ci:subject", &[], &info.subject);
    if let Some(id) = &info.conference_id {
        document.text_element("msci:conference-id", &[], id);
    }
    if let Some(expiry_time) = &info.expiry_time {
        document.text_element("msci:expiry-time", &[], expiry_time);
    }
    if let Some(policy) = info.admission_policy {
        document.text_element("msci:admission-policy", &[], policy.as_str());
    }
    document.end("ci:conference-description");
    if !info.entity_views.is_empty() {
        document.start("msci:conference-view", &[]);
        for entity in &info.entity_views {
            document.empty("msci:entity-view", &[("entity", entity)]);
        }
        document.end("msci:conference-view");
    }
    document.end("ci:conference-info");
}

fn user(document: &mut DocumentWriter, user: &ConferenceUser) {
    document.start("ci:user", &[("entity", &user.entity)]);
    if let Some(display_text) = &user.display_text {
        document.text_element("ci:display-text", &[], display_text);
    }
    if let Some(role) = &user.role {
        document.start("ci:roles", &[]);
        document.text_element("ci:entry", &[], role.as_str());
        document.end("ci:roles");
    }
    if let Some(endpoint) = &user.endpoint {
        let mut attributes = vec![("entity", endpoint.entity.as_str())];
        if let Some(uri) = &endpoint.endpoint_uri {
            attributes.push(("endpoint-uri", uri));
        }
        if let Some(uri) = &endpoint.refer_to_uri {
            attributes.push(("refer-to-uri", uri));
        }
        match endpoint.joining_method {
            Some(method) => {
                document.start("ci:endpoint", &attributes);
                document.text_element("ci:joining-method", &[], method.as_str());
                document.end("ci:endpoint");
            }
            None => document.empty("ci:endpoint", &attributes),
        }
    }
    document.end("ci:user");
}

fn user_keys(document: &mut DocumentWriter, keys: &UserKeys) {
    document.empty(
        "userKeys",
        &[
            ("confEntity", &keys.conf_entity),
            ("userEntity", &keys.user_entity),
        ],
    );
}

/// The name of an unknown command as an element name: names read from a
/// document already are one; anything else is replaced so that the output
/// stays well-formed.
fn element_name(name: &str) -> &str {
    if is_command_name(name) {
        name
    } else {
        "unknownCommand"
    }
}
