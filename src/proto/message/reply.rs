//! Writing messages: the RFC 3261 §8.2.6 response to a request that was
//! refused, and [`to_bytes`], which prints any rsip message with a body that
//! is copied byte for byte and exactly one Content-Length that matches it
//! (§18.3, §20.14).

use rsip::headers::UntypedHeader;
use rsip::{Header, Request, Response, SipMessage, StatusCode};
use sha2::{Digest, Sha256};

use super::ParseErrorKind;
use super::scan::{HeaderKind, RawHeader};
use super::write::push_uri;

/// What a reply copies from the request (§8.2.6.2), captured as text when
/// the request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ReplyContext {
    vias: Vec<String>,
    from: String,
    to: String,
    call_id: String,
    cseq: String,
}

impl ReplyContext {
    /// `None` unless Via, From, To, Call-ID and CSeq are all present; the
    /// first of each single-valued field is used.
    pub(super) fn from_headers(headers: &[RawHeader<'_>]) -> Option<Self> {
        let first = |kind| {
            headers
                .iter()
                .find(|h| h.kind == kind)
                .map(|h| text(&h.value))
        };
        let vias: Vec<String> = headers
            .iter()
            .filter(|h| h.kind == HeaderKind::Via)
            .map(|h| text(&h.value))
            .collect();
        if vias.is_empty() {
            return None;
        }
        Some(ReplyContext {
            vias,
            from: first(HeaderKind::From)?,
            to: first(HeaderKind::To)?,
            call_id: first(HeaderKind::CallId)?,
            cseq: first(HeaderKind::CSeq)?,
        })
    }

    pub(super) fn build(
        &self,
        kind: &ParseErrorKind,
        reason: &str,
        to_tag: Option<&str>,
    ) -> Response {
        let code = kind.status_code();
        let phrase = match kind {
            ParseErrorKind::UnknownMethod(_)
            | ParseErrorKind::VersionNotSupported(_)
            | ParseErrorKind::UnsupportedUriScheme(_) => reason_phrase(code).to_owned(),
            _ => sanitize_phrase(reason),
        };
        let mut headers = rsip::Headers::default();
        for via in &self.vias {
            headers.push(Header::Via(rsip::headers::Via::new(via.clone())));
        }
        headers.push(Header::From(rsip::headers::From::new(self.from.clone())));
        let to = if super::param(&self.to, "tag").is_some() {
            self.to.clone()
        } else {
            let tag = match to_tag {
                Some(tag) => tag.to_owned(),
                None => tag_from_call_id(&self.call_id),
            };
            format!("{};tag={tag}", self.to)
        };
        headers.push(Header::To(rsip::headers::To::new(to)));
        headers.push(Header::CallId(rsip::headers::CallId::new(
            self.call_id.clone(),
        )));
        headers.push(Header::CSeq(rsip::headers::CSeq::new(self.cseq.clone())));
        headers.push(Header::ContentLength(rsip::headers::ContentLength::new(
            "0",
        )));
        Response {
            status_code: StatusCode::Other(code, phrase),
            version: rsip::Version::V2,
            headers,
            body: Vec::new(),
        }
    }
}

fn text(value: &[u8]) -> String {
    String::from_utf8_lossy(value).into_owned()
}

/// 16 hex digits of SHA-256(Call-ID): the same for every retransmission.
fn tag_from_call_id(call_id: &str) -> String {
    let digest = Sha256::digest(call_id.as_bytes());
    crate::proto::build::lower_hex(&digest[..8])
}

/// A reason phrase made of printable ASCII (RFC 3261 §25.1 Reason-Phrase
/// allows more, but a log line or a peer's parser should not have to care).
fn sanitize_phrase(reason: &str) -> String {
    let phrase: String = reason
        .chars()
        .take(120)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if phrase.trim().is_empty() {
        "Bad Request".to_owned()
    } else {
        phrase
    }
}

/// The RFC 3261 §21 reason phrase of a status code ("" if unknown). rsip
/// prints its own names without spaces ("BadRequest"), so [`to_bytes`] uses
/// these instead.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        199 => "Early Dialog Terminated",
        200 => "OK",
        202 => "Accepted",
        204 => "No Notification",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        412 => "Conditional Request Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        421 => "Extension Required",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        493 => "Undecipherable",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        580 => "Precondition Failure",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        _ => "",
    }
}

/// The bytes of a message, with one Content-Length equal to the body's
/// length whatever the headers said, and the body copied as it is (rsip's
/// `Display` would pass it through `from_utf8_lossy`).
pub fn to_bytes(message: &SipMessage) -> Vec<u8> {
    match message {
        SipMessage::Request(request) => to_bytes_request(request),
        SipMessage::Response(response) => to_bytes_response(response),
    }
}

/// [`to_bytes`] for a request.
pub fn to_bytes_request(request: &Request) -> Vec<u8> {
    let mut out = Vec::with_capacity(START_LINE_ROOM + rest_len(&request.headers, &request.body));
    out.extend_from_slice(request.method.as_str().as_bytes());
    out.push(b' ');
    push_uri(&mut out, &request.uri);
    out.push(b' ');
    out.extend_from_slice(version_text(&request.version).as_bytes());
    out.extend_from_slice(b"\r\n");
    write_rest(out, &request.headers, &request.body)
}

/// [`to_bytes`] for a response.
pub fn to_bytes_response(response: &Response) -> Vec<u8> {
    let mut out = Vec::with_capacity(START_LINE_ROOM + rest_len(&response.headers, &response.body));
    let code = response.status_code.code();
    out.extend_from_slice(version_text(&response.version).as_bytes());
    out.push(b' ');
    out.extend_from_slice(itoa::Buffer::new().format(code).as_bytes());
    out.push(b' ');
    match &response.status_code {
        StatusCode::Other(_, phrase) => out.extend(
            phrase
                .bytes()
                .filter(|byte| *byte != b'\r' && *byte != b'\n'),
        ),
        _ => out.extend_from_slice(reason_phrase(code).as_bytes()),
    }
    out.extend_from_slice(b"\r\n");
    write_rest(out, &response.headers, &response.body)
}

/// A SIP version as its `Display` prints it.
fn version_text(version: &rsip::Version) -> &'static str {
    match version {
        rsip::Version::V1 => "SIP/1.0",
        rsip::Version::V2 => "SIP/2.0",
    }
}

/// Room for a start line, beyond which the buffer grows: a Request-URI
/// longer than this costs a copy of what came before it, not an error.
const START_LINE_ROOM: usize = 160;

/// What [`write_rest`] writes, to the byte where it can tell without
/// printing (a Content-Length value is taken at its longest): one buffer
/// of the right size rather than one that doubles while a message larger
/// than a guess is written, copying itself each time.
fn rest_len(headers: &rsip::Headers, body: &[u8]) -> usize {
    const CONTENT_LENGTH: usize = "Content-Length: 18446744073709551615\r\n".len();
    let fields: usize = headers
        .iter()
        .map(|header| header.name().len() + header.value().len() + 4)
        .sum();
    fields + CONTENT_LENGTH + 2 + body.len()
}

/// Appends the headers and the body to `out`, which holds the start line.
fn write_rest(mut out: Vec<u8>, headers: &rsip::Headers, body: &[u8]) -> Vec<u8> {
    let content_length = |out: &mut Vec<u8>| {
        out.extend_from_slice(b"Content-Length: ");
        out.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
    };
    let mut written = false;
    for header in headers.iter() {
        let is_content_length = match header {
            Header::ContentLength(_) => true,
            Header::Other(name, _) => {
                name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("l")
            }
            _ => false,
        };
        if is_content_length {
            // The true length, where the first Content-Length stood; any
            // other one is dropped.
            if !written {
                content_length(&mut out);
                written = true;
            }
        } else {
            // Straight into the buffer, with no formatter.
            out.extend_from_slice(header.name().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(header.value().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    if !written {
        content_length(&mut out);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}
