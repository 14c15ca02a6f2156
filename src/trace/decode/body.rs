//! A message body as indented lines a person reads, by its Content-Type:
//! C3P (`application/cccp+xml`), RFC 4575 conference-info, PIDF, SDP,
//! `message/cpim` with what it wraps, isComposing, and plain text. A body
//! of another type shows as its text, or as a hex excerpt if it is binary.
//! A body its type's reader refuses shows the reason, then its text.
//!
//! The readers are the protocol layer's own (`crate::proto`), so the trace
//! shows what confab itself understood; SDP is scanned line by line here,
//! since the point is to show every line's meaning, including the ones
//! offer/answer skips. At most [`MAX_LINES`] lines come out.

use crate::proto::c3p::{self, C3pCommand, C3pDocument, C3pRequest, C3pResponse};
use crate::proto::{conference_info, cpim, iscomposing, pidf};

/// The most lines one body decodes to.
pub const MAX_LINES: usize = 400;
/// The indent of one level.
const INDENT: &str = "  ";

/// The body decoded into lines, each indented by its depth.
pub fn decode(content_type: Option<&str>, body: &[u8]) -> Vec<String> {
    let mut out = Lines::default();
    decode_into(&mut out, 0, content_type, body, true);
    out.lines
}

#[derive(Default)]
struct Lines {
    lines: Vec<String>,
}

impl Lines {
    fn push(&mut self, depth: usize, text: impl Into<String>) {
        if self.lines.len() < MAX_LINES {
            let text: String = text.into();
            let clean: String = text
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            self.lines.push(format!("{}{clean}", INDENT.repeat(depth)));
        }
    }
}

fn decode_into(
    out: &mut Lines,
    depth: usize,
    content_type: Option<&str>,
    body: &[u8],
    nested_allowed: bool,
) {
    if body.is_empty() {
        return;
    }
    let media_type = content_type.unwrap_or("").to_ascii_lowercase();
    let failed = |out: &mut Lines, error: String| {
        out.push(depth, format!("unreadable {media_type}: {error}"));
        raw(out, depth + 1, body);
    };
    match media_type.as_str() {
        c3p::CONTENT_TYPE => match c3p::parse(body) {
            Ok(C3pDocument::Request(request)) => c3p_request(out, depth, &request),
            Ok(C3pDocument::Response(response)) => c3p_response(out, depth, &response),
            Err(error) => failed(out, error.to_string()),
        },
        conference_info::CONTENT_TYPE => match conference_info::parse(body) {
            Ok(info) => conference(out, depth, &info),
            Err(error) => failed(out, error.to_string()),
        },
        pidf::CONTENT_TYPE => match pidf::parse(body) {
            Ok(presence) => {
                out.push(
                    depth,
                    format!(
                        "PIDF presence of {}: {}",
                        presence.entity,
                        presence.availability.label()
                    ),
                );
                if let Some(note) = &presence.note {
                    out.push(depth + 1, format!("note: {note}"));
                }
                if let Some(contact) = &presence.contact {
                    out.push(depth + 1, format!("contact: {contact}"));
                }
            }
            Err(error) => failed(out, error.to_string()),
        },
        iscomposing::CONTENT_TYPE => match iscomposing::parse(body) {
            Ok(composing) => {
                let state = if composing.active { "active" } else { "idle" };
                let mut line = format!("isComposing: {state}");
                if let Some(refresh) = composing.refresh {
                    line.push_str(&format!(", refresh {refresh} s"));
                }
                if let Some(content_type) = &composing.content_type {
                    line.push_str(&format!(", composing {content_type}"));
                }
                out.push(depth, line);
            }
            Err(error) => failed(out, error.to_string()),
        },
        cpim::CONTENT_TYPE => match cpim::parse(body) {
            Ok(message) => {
                let address = |address: &cpim::CpimAddress| match &address.display {
                    Some(display) => format!("{display} <{}>", address.uri),
                    None => address.uri.clone(),
                };
                let from = message.from.as_ref().map_or("(none)".into(), address);
                out.push(depth, format!("CPIM message from {from}"));
                for to in &message.to {
                    out.push(depth + 1, format!("to: {}", address(to)));
                }
                let inner = message.media_type();
                out.push(
                    depth + 1,
                    format!("content: {}", inner.as_deref().unwrap_or("(no type)")),
                );
                if nested_allowed {
                    decode_into(out, depth + 2, inner.as_deref(), &message.body, false);
                } else {
                    raw(out, depth + 2, &message.body);
                }
            }
            Err(error) => failed(out, error.to_string()),
        },
        "application/sdp" => sdp(out, depth, body),
        _ => raw(out, depth, body),
    }
}

fn c3p_request(out: &mut Lines, depth: usize, request: &C3pRequest) {
    out.push(
        depth,
        format!(
            "C3P request {} (requestId {})",
            request.command.name(),
            request.request_id
        ),
    );
    out.push(depth + 1, format!("from: {}", request.from));
    out.push(depth + 1, format!("to: {}", request.to));
    command(out, depth + 1, &request.command);
}

fn c3p_response(out: &mut Lines, depth: usize, response: &C3pResponse) {
    let mut head = format!(
        "C3P response {}: {}",
        response.command.name(),
        response.code.as_str()
    );
    if let Some(reason) = response.reason {
        head.push_str(&format!(" ({})", reason.as_str()));
    }
    head.push_str(&format!(" (requestId {})", response.request_id));
    out.push(depth, head);
    out.push(depth + 1, format!("from: {}", response.from));
    out.push(depth + 1, format!("to: {}", response.to));
    if let C3pCommand::AddConference(info) = &response.command {
        if !info.entity.is_empty() {
            out.push(depth + 1, format!("focus: {}", info.entity));
        }
    }
    command(out, depth + 1, &response.command);
}

/// What a command says, past its name.
fn command(out: &mut Lines, depth: usize, command: &C3pCommand) {
    match command {
        C3pCommand::GetConferencingCapabilities { mcu_types } => {
            if !mcu_types.is_empty() {
                out.push(depth, format!("MCU types: {}", mcu_types.join(", ")));
            }
        }
        C3pCommand::AddConference(info) => {
            if !info.subject.is_empty() {
                out.push(depth, format!("subject: {}", info.subject));
            }
            if let Some(id) = &info.conference_id {
                out.push(depth, format!("conference-id: {id}"));
            }
            if let Some(expiry) = &info.expiry_time {
                out.push(depth, format!("expiry: {expiry}"));
            }
            if let Some(policy) = info.admission_policy {
                out.push(depth, format!("admission: {}", policy.as_str()));
            }
            if !info.entity_views.is_empty() {
                out.push(depth, format!("MCUs: {}", info.entity_views.join(", ")));
            }
        }
        C3pCommand::GetConference(get) => {
            if let Some(entity) = &get.conf_entity {
                out.push(depth, format!("conference: {entity}"));
            }
            if let Some(id) = &get.conference_id {
                out.push(depth, format!("conference-id: {id}"));
            }
        }
        C3pCommand::AddUser(add) => {
            out.push(depth, format!("conference: {}", add.conf_entity));
            if let Some(mcu) = &add.mcu_uri {
                out.push(depth, format!("dial out by MCU: {mcu}"));
            }
            let user = &add.user;
            let mut line = format!("user: {}", user.entity);
            if let Some(display) = &user.display_text {
                line.push_str(&format!(" \"{display}\""));
            }
            if let Some(role) = &user.role {
                line.push_str(&format!(", role {}", role.as_str()));
            }
            out.push(depth, line);
            if let Some(endpoint) = &user.endpoint {
                let mut line = format!("endpoint: {}", endpoint.entity);
                if let Some(uri) = &endpoint.endpoint_uri {
                    line.push_str(&format!(", endpoint-uri {uri}"));
                }
                if let Some(uri) = &endpoint.refer_to_uri {
                    line.push_str(&format!(", refer-to-uri {uri}"));
                }
                if let Some(method) = endpoint.joining_method {
                    line.push_str(&format!(", {}", method.as_str()));
                }
                out.push(depth + 1, line);
            }
        }
        C3pCommand::DeleteUser(keys) => {
            out.push(depth, format!("conference: {}", keys.conf_entity));
            out.push(depth, format!("user: {}", keys.user_entity));
        }
        C3pCommand::ModifyUserRoles(modify) => {
            out.push(depth, format!("conference: {}", modify.keys.conf_entity));
            out.push(
                depth,
                format!(
                    "user: {}, role {}",
                    modify.keys.user_entity,
                    modify.role.as_str()
                ),
            );
        }
        C3pCommand::ModifyEndpointMedia(modify) => {
            out.push(depth, format!("conference: {}", modify.keys.conf_entity));
            out.push(depth, format!("user: {}", modify.keys.user_entity));
            let mut line = format!("media {}", modify.media.id);
            if let Some(filter) = modify.media.ingress_filter {
                line.push_str(&format!(", ingress {}", filter.as_str()));
            }
            if let Some(status) = modify.media.status {
                line.push_str(&format!(", {}", status.as_str()));
            }
            out.push(depth, line);
        }
        C3pCommand::ModifyConferenceLock(lock) => {
            out.push(depth, format!("conference: {}", lock.conf_entity));
            out.push(depth, format!("locked: {}", lock.locked));
        }
        C3pCommand::DeleteConference(keys) => {
            out.push(depth, format!("conference: {}", keys.conf_entity));
        }
        C3pCommand::Unknown { .. } => out.push(depth, "(a command confab does not know)"),
    }
}

fn conference(out: &mut Lines, depth: usize, info: &conference_info::ConferenceInfo) {
    out.push(
        depth,
        format!(
            "conference-info version {}, {}",
            info.version,
            info.state.as_str()
        ),
    );
    out.push(depth + 1, format!("entity: {}", info.entity));
    if let Some(description) = &info.description {
        if let Some(subject) = &description.subject {
            out.push(depth + 1, format!("subject: {subject}"));
        }
        for uri in &description.conf_uris {
            let purpose = uri.purpose.as_deref().unwrap_or("?");
            out.push(depth + 1, format!("{purpose} URI: {}", uri.uri));
        }
    }
    if let Some(state) = &info.conference_state {
        let mut parts = Vec::new();
        if let Some(active) = state.active {
            parts.push(if active { "active" } else { "not active" }.to_owned());
        }
        if let Some(locked) = state.locked {
            parts.push(if locked { "locked" } else { "not locked" }.to_owned());
        }
        if let Some(count) = state.user_count {
            parts.push(format!("{count} users"));
        }
        if !parts.is_empty() {
            out.push(depth + 1, format!("state: {}", parts.join(", ")));
        }
    }
    out.push(
        depth + 1,
        format!(
            "users ({}): {}",
            info.users_state.as_str(),
            info.users.len()
        ),
    );
    for user in &info.users {
        let mut line = format!("{} ({})", user.entity, user.state.as_str());
        if let Some(display) = &user.display_text {
            line.push_str(&format!(" \"{display}\""));
        }
        if !user.roles.is_empty() {
            line.push_str(&format!(", roles {}", user.roles.join(" ")));
        }
        out.push(depth + 2, line);
        for endpoint in &user.endpoints {
            let mut line = format!(
                "endpoint {}",
                endpoint.session_type.as_ref().map_or("?", |t| t.as_str())
            );
            if let Some(status) = &endpoint.status {
                line.push_str(&format!(": {}", status.as_str()));
            }
            if let Some(method) = &endpoint.joining_method {
                line.push_str(&format!(", {}", method.as_str()));
            }
            if let Some(method) = &endpoint.disconnection_method {
                line.push_str(&format!(", {}", method.as_str()));
            }
            if endpoint.state != conference_info::State::Full {
                line.push_str(&format!(" ({})", endpoint.state.as_str()));
            }
            out.push(depth + 3, line);
            for media in &endpoint.media {
                let mut line = format!(
                    "media {} {}",
                    media.id,
                    media.media_type.as_deref().unwrap_or("?")
                );
                if let Some(status) = &media.status {
                    line.push_str(&format!(" {}", status.as_str()));
                }
                if let Some(src_id) = &media.src_id {
                    line.push_str(&format!(", src-id {src_id}"));
                }
                if let Some(filter) = &media.ingress_filter {
                    line.push_str(&format!(", ingress {}", filter.as_str()));
                }
                out.push(depth + 4, line);
                if let Some(quality) = &media.quality {
                    out.push(depth + 5, quality_line(quality));
                }
            }
        }
    }
}

/// confab's call-quality element, in the roster's words.
fn quality_line(quality: &conference_info::MediaQuality) -> String {
    let mut parts = vec![quality.codec.clone().unwrap_or_else(|| "?".into())];
    if let Some(loss) = quality.loss_percent() {
        parts.push(format!("loss {loss:.1}%"));
    }
    let figures = [
        ("jitter", quality.jitter_ms),
        ("round trip", quality.round_trip_ms),
        ("buffer", quality.buffer_ms),
    ];
    for (name, ms) in figures {
        if let Some(ms) = ms {
            parts.push(format!("{name} {ms} ms"));
        }
    }
    format!("quality: {}", parts.join(", "))
}

/// SDP (RFC 4566) line by line: the origin, the connection address, and
/// per m-line the port, the codecs by payload type, the direction and
/// the header extensions.
fn sdp(out: &mut Lines, depth: usize, body: &[u8]) {
    let text = String::from_utf8_lossy(body);
    let mut media_depth = depth;
    let mut codecs: Vec<String> = Vec::new();
    let flush = |out: &mut Lines, codecs: &mut Vec<String>, at: usize| {
        if !codecs.is_empty() {
            out.push(at, format!("codecs: {}", codecs.join(", ")));
            codecs.clear();
        }
    };
    out.push(depth, "SDP");
    for line in text.lines().take(2 * MAX_LINES) {
        let line = line.trim_end_matches('\r');
        let Some((kind, value)) = line.split_once('=') else {
            continue;
        };
        match kind {
            "o" => out.push(depth + 1, format!("origin: {value}")),
            "s" if value.trim() != "-" => out.push(depth + 1, format!("session: {value}")),
            "c" => out.push(media_depth + 1, format!("address: {value}")),
            "m" => {
                flush(out, &mut codecs, media_depth + 1);
                media_depth = depth + 1;
                let mut words = value.split_whitespace();
                let media = words.next().unwrap_or("?");
                let port = words.next().unwrap_or("?");
                let proto = words.next().unwrap_or("?");
                let formats: Vec<&str> = words.collect();
                out.push(
                    media_depth,
                    format!("{media} port {port} {proto}, formats {}", formats.join(" ")),
                );
            }
            "a" => {
                let (name, rest) = value.split_once(':').unwrap_or((value, ""));
                match name {
                    "rtpmap" => {
                        let (pt, codec) = rest.split_once(' ').unwrap_or((rest, "?"));
                        codecs.push(format!("{codec} ({pt})"));
                    }
                    "fmtp" => out.push(media_depth + 1, format!("fmtp {rest}")),
                    "sendrecv" | "sendonly" | "recvonly" | "inactive" => {
                        out.push(media_depth + 1, format!("direction: {name}"))
                    }
                    "extmap" => out.push(media_depth + 1, format!("extmap {rest}")),
                    "rtcp" => out.push(media_depth + 1, format!("rtcp port {rest}")),
                    "ptime" => out.push(media_depth + 1, format!("ptime {rest} ms")),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    flush(out, &mut codecs, media_depth + 1);
}

/// A body of a type without a reader: its text, or a note and a hex
/// excerpt when it is not text.
fn raw(out: &mut Lines, depth: usize, body: &[u8]) {
    let text = std::str::from_utf8(body).ok().filter(|text| {
        text.chars()
            .all(|c| !c.is_control() || matches!(c, '\r' | '\n' | '\t'))
    });
    match text {
        Some(text) => {
            for line in text.lines() {
                out.push(depth, line.trim_end_matches('\r'));
            }
        }
        None => {
            out.push(depth, format!("{} bytes of binary data", body.len()));
            for chunk in body.chunks(16).take(4) {
                let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
                out.push(depth + 1, hex.join(" "));
            }
        }
    }
}
