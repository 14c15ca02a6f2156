//! What a person wants to see of a traced message, as pure functions of its
//! bytes: a [`Summary`] (start line, Call-ID, From/To, CSeq, branch), the
//! body decoded by its Content-Type ([`body::decode`]), the dialog it
//! belongs to ([`dialogs`]), and the ladder's lanes ([`lanes`]).
//!
//! Messages are read with [`crate::proto::message::parse`]; one it refuses
//! is still summarized from its raw lines (start line, Call-ID, CSeq), so
//! that a trace shows malformed traffic too, with the reason beside it.
//! Nothing here panics, whatever the bytes; every text is cut to a bound.

pub mod body;
pub mod dialogs;
pub mod lanes;

#[cfg(test)]
mod tests;

use rsip::SipMessage;
use rsip::message::HasHeaders as _;

use crate::proto::conference_uri::{ConferencePart, ConferenceUri};
use crate::proto::message;

pub use body::decode as decode_body;
pub use dialogs::{Dialog, DialogState, Dialogs};
pub use lanes::{Lane, LaneRole, Lanes};

/// The longest text kept from a header field or start line.
const MAX_FIELD_CHARS: usize = 512;

/// The first line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    Request {
        method: String,
        uri: String,
    },
    Response {
        code: u16,
        reason: String,
    },
    /// Neither: the first line as text.
    Other(String),
}

/// The fields of a message the trace shows and groups by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub start: StartLine,
    pub call_id: Option<String>,
    pub cseq: Option<u32>,
    /// The method CSeq names: a response's request.
    pub cseq_method: Option<String>,
    /// The URIs of From and To, parameters included (`opaque` names a
    /// conference's part).
    pub from: Option<String>,
    pub to: Option<String>,
    pub from_tag: Option<String>,
    pub to_tag: Option<String>,
    /// The top Via's branch: a transaction's key (RFC 3261 §17.2.3).
    pub branch: Option<String>,
    /// The media type of the body, lower case, without parameters.
    pub content_type: Option<String>,
    pub event: Option<String>,
    pub subscription_state: Option<String>,
    /// The body, as Content-Length cut it.
    pub body: Vec<u8>,
    /// Why the message layer refused it, if it did.
    pub problem: Option<String>,
}

impl Summary {
    /// The request's method, or the method a response answers.
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            _ => self.cseq_method.as_deref(),
        }
    }

    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { code, .. } => Some(code),
            _ => None,
        }
    }

    /// One line: `INVITE sip:amy@confab.local`, or `200 OK (INVITE)`.
    pub fn line(&self) -> String {
        match &self.start {
            StartLine::Request { method, uri } => format!("{method} {uri}"),
            StartLine::Response { code, reason } => match &self.cseq_method {
                Some(method) => format!("{code} {reason} ({method})"),
                None => format!("{code} {reason}"),
            },
            StartLine::Other(line) => line.clone(),
        }
    }

    /// The arrow's label in a ladder: the method, or the status and reason.
    pub fn label(&self) -> String {
        match &self.start {
            StartLine::Request { method, .. } => method.clone(),
            StartLine::Response { code, reason } => format!("{code} {reason}"),
            StartLine::Other(_) => "?".into(),
        }
    }
}

/// Reads what the trace shows of one message.
pub fn summarize(bytes: &[u8]) -> Summary {
    match message::parse(bytes) {
        Ok(parsed) => from_parsed(bytes, &parsed),
        Err(error) => {
            let mut summary = from_raw(bytes);
            summary.problem = Some(cut(&error.to_string()));
            summary
        }
    }
}

fn from_parsed(bytes: &[u8], parsed: &SipMessage) -> Summary {
    let start = match parsed {
        SipMessage::Request(request) => StartLine::Request {
            method: request.method.to_string(),
            uri: cut(&request.uri.to_string()),
        },
        SipMessage::Response(response) => {
            let code = response.status_code.code();
            // rsip keeps no reason phrase for the codes it knows: take the
            // one on the wire.
            let reason = match start_line(bytes) {
                StartLine::Response { reason, .. } if !reason.is_empty() => reason,
                _ => message::reason_phrase(code).to_owned(),
            };
            StartLine::Response { code, reason }
        }
    };
    let field = |name: &str| header(parsed, name);
    let (cseq, cseq_method) = split_cseq(field("CSeq"));
    let from = field("From");
    let to = field("To");
    Summary {
        start,
        call_id: field("Call-ID"),
        cseq,
        cseq_method,
        from: from.as_deref().map(address_uri),
        to: to.as_deref().map(address_uri),
        from_tag: from
            .as_deref()
            .and_then(|v| message::param(v, "tag").flatten()),
        to_tag: to
            .as_deref()
            .and_then(|v| message::param(v, "tag").flatten()),
        branch: field("Via").and_then(|v| message::param(&v, "branch").flatten()),
        content_type: field("Content-Type").map(|v| media_type(&v)),
        event: field("Event").map(|v| media_type(&v)),
        subscription_state: field("Subscription-State").map(|v| media_type(&v)),
        body: parsed.body().clone(),
        problem: None,
    }
}

/// The value of the first header field called `name` (long names: the
/// message layer expanded compact ones).
fn header(message: &SipMessage, name: &str) -> Option<String> {
    message.headers().iter().find_map(|header| {
        let text = header.to_string();
        let (field, value) = text.split_once(':')?;
        field
            .trim()
            .eq_ignore_ascii_case(name)
            .then(|| cut(value.trim()))
    })
}

/// A message the message layer refused, read line by line: the start
/// line, Call-ID, CSeq, From and To, and the rest after the first empty
/// line as its body.
fn from_raw(bytes: &[u8]) -> Summary {
    let text = String::from_utf8_lossy(bytes.get(..64 * 1024).unwrap_or(bytes));
    let text = text.trim_start_matches(['\r', '\n']);
    let head_end = text
        .find("\r\n\r\n")
        .map(|at| (at, at + 4))
        .or_else(|| text.find("\n\n").map(|at| (at, at + 2)));
    let (head, body) = match head_end {
        Some((end, body_start)) => (
            text.get(..end).unwrap_or(text),
            text.get(body_start..).unwrap_or(""),
        ),
        None => (text, ""),
    };
    let field = |names: &[&str]| {
        head.lines().skip(1).find_map(|line| {
            let (name, value) = line.split_once(':')?;
            names
                .iter()
                .any(|n| name.trim().eq_ignore_ascii_case(n))
                .then(|| cut(value.trim()))
        })
    };
    let (cseq, cseq_method) = split_cseq(field(&["CSeq"]));
    let from = field(&["From", "f"]);
    let to = field(&["To", "t"]);
    Summary {
        start: start_line(text.as_bytes()),
        call_id: field(&["Call-ID", "i"]),
        cseq,
        cseq_method,
        from: from.as_deref().map(address_uri),
        to: to.as_deref().map(address_uri),
        from_tag: from
            .as_deref()
            .and_then(|v| message::param(v, "tag").flatten()),
        to_tag: to
            .as_deref()
            .and_then(|v| message::param(v, "tag").flatten()),
        branch: field(&["Via", "v"]).and_then(|v| message::param(&v, "branch").flatten()),
        content_type: field(&["Content-Type", "c"]).map(|v| media_type(&v)),
        event: field(&["Event", "o"]).map(|v| media_type(&v)),
        subscription_state: field(&["Subscription-State"]).map(|v| media_type(&v)),
        body: body.as_bytes().to_vec(),
        problem: None,
    }
}

/// The start line as written.
fn start_line(bytes: &[u8]) -> StartLine {
    let line = bytes
        .split(|b| *b == b'\n')
        .find(|line| !line.iter().all(|b| *b == b'\r'))
        .unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let line = cut(line.trim_end_matches('\r'));
    if let Some(rest) = line.strip_prefix("SIP/2.0 ") {
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if let Ok(code) = code.parse::<u16>() {
            return StartLine::Response {
                code,
                reason: reason.trim().to_owned(),
            };
        }
    }
    let mut words = line.split(' ');
    match (words.next(), words.next(), words.next()) {
        (Some(method), Some(uri), Some("SIP/2.0"))
            if !method.is_empty() && method.bytes().all(|b| b.is_ascii_alphabetic()) =>
        {
            StartLine::Request {
                method: method.to_owned(),
                uri: uri.to_owned(),
            }
        }
        _ => StartLine::Other(line),
    }
}

fn split_cseq(value: Option<String>) -> (Option<u32>, Option<String>) {
    let Some(value) = value else {
        return (None, None);
    };
    let mut words = value.split_whitespace();
    let number = words.next().and_then(|n| n.parse().ok());
    let method = words.next().map(str::to_owned);
    (number, method)
}

/// The URI of a name-addr (`"Amy" <sip:amy@x>;tag=1` gives `sip:amy@x`)
/// or of an addr-spec (up to its header parameters).
pub fn address_uri(value: &str) -> String {
    if let Some(open) = value.find('<') {
        let inner = value.get(open + 1..).unwrap_or("");
        return inner.split('>').next().unwrap_or(inner).trim().to_owned();
    }
    value.split(';').next().unwrap_or(value).trim().to_owned()
}

/// `application/sdp; charset=x` as `application/sdp`.
fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or(value)
        .trim()
        .to_ascii_lowercase()
}

fn cut(text: &str) -> String {
    text.chars().take(MAX_FIELD_CHARS).collect()
}

/// The part of a conference a URI names, if it is a conference URI.
pub fn conference_part(uri: &str) -> Option<ConferencePart> {
    if !uri.contains("opaque=app:conf:") {
        return None;
    }
    ConferenceUri::parse(uri).ok().map(|parsed| parsed.part)
}

/// A party as the list shows it: `amy@confab.local` for a user, the part
/// and ID for a conference URI (`focus 4KT9QZ2M`), else the URI without
/// its scheme and parameters.
pub fn party(uri: &str) -> String {
    if uri.contains("opaque=app:conf:") {
        if let Ok(parsed) = ConferenceUri::parse(uri) {
            let name = LaneRole::from(parsed.part).label();
            return match parsed.id {
                Some(id) => format!("{name} {id}"),
                None => name.to_owned(),
            };
        }
    }
    let bare = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))
        .or_else(|| uri.strip_prefix("tel:"))
        .unwrap_or(uri);
    bare.split(';').next().unwrap_or(bare).to_owned()
}

/// The user part of a SIP URI, if it has one.
pub fn user_of(uri: &str) -> Option<&str> {
    let bare = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))?;
    let (user, _) = bare.split_once('@')?;
    (!user.is_empty()).then_some(user)
}
