//! Bytes to SIP messages and back, on top of rsip 0.4, with each of rsip's
//! gaps covered here and nowhere else.
//!
//! [`parse`] reads one whole message (a UDP datagram, or a message cut from
//! a TCP stream by [`super::framing::StreamFramer`]) and hands rsip a buffer
//! it can read: RFC 3261 §7.3.1 folded lines unfolded, §7.3.3 compact names
//! expanded, SWS around separators removed, comma-separated Via, Contact,
//! Route and Record-Route values split, and the body cut to Content-Length
//! (§18.3: bytes past it are discarded, a Content-Length past the end of a
//! datagram is a 400). It also checks what rsip accepts but a server must
//! not: missing or repeated mandatory fields (§8.1.1, §7.3.1), CSeq
//! (§20.16; a method that differs from the Request-Line's is a 400, RFC
//! 4475 §3.1.2.17), the SIP version (505, §21.5.7), an unknown method
//! (501, §8.2.1) and an unsupported Request-URI scheme (416, §8.2.2.1).
//!
//! A rejected request that still names its Via, From, To, Call-ID and CSeq
//! carries the response to send ([`ParseError::reply`], §8.2.6); anything
//! else (responses, ACKs, requests missing those fields) is to be dropped
//! and logged.
//!
//! Invariants: [`parse`] never panics, whatever the bytes. rsip reads only
//! the start line; the fields reach it as scanned (`assemble`), so no
//! message is tokenized twice or copied whole.
//! [`to_bytes`] always writes one Content-Length equal to the body's length,
//! and what [`parse`] returned parses again from [`to_bytes`].
//!
//! rsip limits that remain: `tel:` URIs and IPv6 hosts cannot be represented
//! (they are refused with [`ParseErrorKind::UnsupportedUri`]; carry phone
//! numbers as [`phone_number_uri`]), URI headers (`?Route=...`) are dropped
//! by rsip and refused in the Request-URI, a user part containing `,` (rare,
//! but allowed) is read by rsip as part of the host (repaired in the
//! Request-URI; use [`repair_uri`] on URIs of typed header fields), and bodies
//! are binary-safe only through [`to_bytes`], not rsip's `Display`.

mod assemble;
mod headers;
mod reply;
mod scan;
mod write;

use std::borrow::Cow;

use rsip::SipMessage;

pub use headers::{
    call_id_of, cseq_method, cseq_of, header_value, is_phone_number_uri, param, phone_number_uri,
    repair_uri, tag, top_via_branch,
};
pub use reply::{reason_phrase, to_bytes, to_bytes_request, to_bytes_response};

use reply::ReplyContext;
use scan::{HeaderKind, Scanned};

pub(crate) use headers::split_address;
pub(crate) use scan::{content_length, is_token_char};
pub(crate) use write::push_ip;

/// Why a message was refused; see [`ParseError::reply`] for what to answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {reason}")]
pub struct ParseError {
    pub kind: ParseErrorKind,
    /// What is wrong, for logs and for the reason phrase of the reply.
    pub reason: String,
    reply: Option<Box<ReplyContext>>,
}

/// The class of a [`ParseError`], which decides the status of its reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// Syntax RFC 3261 does not allow (400).
    #[error("malformed message")]
    Malformed,
    /// A mandatory header field is absent (400, RFC 3261 §8.1.1).
    #[error("missing {0}")]
    MissingHeader(&'static str),
    /// Content-Length says more than the datagram holds (400, §18.3).
    #[error("Content-Length larger than the message")]
    BodyTruncated,
    /// A method this stack does not know (501, §8.2.1).
    #[error("unknown method {0}")]
    UnknownMethod(String),
    /// A SIP version other than 2.0 (505, §21.5.7; RFC 4475 §3.1.2.16).
    #[error("SIP version {0} not supported")]
    VersionNotSupported(String),
    /// A Request-URI scheme other than sip/sips (416, §8.2.2.1).
    #[error("unsupported URI scheme {0}")]
    UnsupportedUriScheme(String),
    /// A URI rsip cannot represent: IPv6 hosts, `tel:` in header fields
    /// (400).
    #[error("unsupported URI")]
    UnsupportedUri(&'static str),
    /// Syntax this layer let through but rsip could not read (400).
    #[error("unreadable message")]
    Unparsable,
}

impl ParseErrorKind {
    /// The status a server answers with, when it can answer.
    pub fn status_code(&self) -> u16 {
        match self {
            ParseErrorKind::UnknownMethod(_) => 501,
            ParseErrorKind::VersionNotSupported(_) => 505,
            ParseErrorKind::UnsupportedUriScheme(_) => 416,
            _ => 400,
        }
    }
}

impl ParseError {
    fn new(kind: ParseErrorKind, reason: impl Into<String>) -> Self {
        ParseError {
            kind,
            reason: reason.into(),
            reply: None,
        }
    }

    /// The response to send back (RFC 3261 §8.2.6): `Some` when the input
    /// was a request whose Via, From, To, Call-ID and CSeq could be read,
    /// `None` when it is to be dropped. A To without a tag gets one derived
    /// from the Call-ID (see [`ParseError::reply_with_tag`]).
    pub fn reply(&self) -> Option<rsip::Response> {
        self.reply
            .as_ref()
            .map(|r| r.build(&self.kind, &self.reason, None))
    }

    /// As [`ParseError::reply`], with `to_tag` as the To tag when the
    /// request had none. [`ParseError::reply`] instead uses the first 16
    /// hex digits of SHA-256(Call-ID), so that a retransmitted request gets
    /// the same answer (§8.2.6.2 asks for a tag, §17.2 for identical
    /// retransmitted responses).
    pub fn reply_with_tag(&self, to_tag: &str) -> Option<rsip::Response> {
        self.reply
            .as_ref()
            .map(|r| r.build(&self.kind, &self.reason, Some(to_tag)))
    }
}

const KNOWN_METHODS: [&str; 15] = [
    "ACK",
    "BYE",
    "CANCEL",
    "INFO",
    "INVITE",
    "MESSAGE",
    "NOTIFY",
    "OPTIONS",
    "PRACK",
    "PUBLISH",
    "REFER",
    "REGISTER",
    "SERVICE",
    "SUBSCRIBE",
    "UPDATE",
];

const TEL_REASON: &str =
    "tel: URIs are not supported; carry phone numbers as sip:+NUMBER@domain;user=phone";
const IPV6_REASON: &str = "IPv6 hosts are not supported";

/// Parses one whole SIP message; see the module documentation for what is
/// checked and the Content-Length rules (the UDP ones; a stream message
/// comes already cut by the framer).
pub fn parse(bytes: &[u8]) -> Result<SipMessage, ParseError> {
    // RFC 3261 §7.5: CRLFs before the start line are ignored.
    let mut msg = bytes;
    while let Some(rest) = msg.strip_prefix(b"\r\n") {
        msg = rest;
    }
    let scanned =
        scan::scan(msg).map_err(|e| ParseError::new(ParseErrorKind::Malformed, e.reason()))?;
    let is_request = !scanned.start_line.starts_with(b"SIP/");
    // A reply needs a request: something that starts like a Request-Line.
    let method_len = scanned
        .start_line
        .iter()
        .take_while(|b| scan::is_token_char(**b))
        .count();
    let looks_like_request = method_len > 0 && scanned.start_line.get(method_len) == Some(&b' ');
    // RFC 3261 §17.1.1.3, §17.2.1: an ACK is never answered.
    let is_ack = scanned.start_line.starts_with(b"ACK ");
    check(msg, &scanned, is_request).map_err(|mut e| {
        // Only a refused request pays for copying what its reply needs.
        if is_request && looks_like_request && !is_ack {
            e.reply = ReplyContext::from_headers(&scanned.headers).map(Box::new);
        }
        e
    })
}

fn check(msg: &[u8], scanned: &Scanned<'_>, is_request: bool) -> Result<SipMessage, ParseError> {
    let malformed = |reason: &str| ParseError::new(ParseErrorKind::Malformed, reason);
    let request_method = if is_request {
        Some(check_request_line(scanned.start_line)?)
    } else {
        check_status_line(scanned.start_line)?;
        None
    };
    let body_start = scanned
        .body_start
        .ok_or_else(|| malformed("no empty line after the header fields"))?;

    let mut content_length = None;
    let mut seen = [false; 11];
    for header in &scanned.headers {
        if header.kind.is_single() {
            let slot = &mut seen[header.kind as usize];
            if *slot {
                // RFC 4475 §3.3.8, §3.3.9: repeated single-valued fields.
                return Err(malformed(&format!(
                    "more than one {} header field",
                    header.kind.long_name().unwrap_or_default()
                )));
            }
            *slot = true;
        }
        match header.kind {
            HeaderKind::CSeq => check_cseq(&header.value, request_method)?,
            HeaderKind::MaxForwards => check_max_forwards(&header.value)?,
            HeaderKind::ContentLength => {
                content_length = Some(scan::parse_content_length(&header.value).map_err(malformed)?)
            }
            HeaderKind::CallId if header.value.is_empty() => {
                return Err(malformed("empty Call-ID"));
            }
            _ => {}
        }
    }
    for (kind, name) in [
        (HeaderKind::Via, "Via"),
        (HeaderKind::From, "From"),
        (HeaderKind::To, "To"),
        (HeaderKind::CallId, "Call-ID"),
        (HeaderKind::CSeq, "CSeq"),
    ] {
        if !scanned.headers.iter().any(|h| h.kind == kind) {
            return Err(ParseError::new(
                ParseErrorKind::MissingHeader(name),
                format!("missing {name} header field"),
            ));
        }
    }

    // Structured values: canonical layout, and URIs rsip cannot hold.
    let mut canonical: Vec<Vec<Cow<'_, [u8]>>> = Vec::with_capacity(scanned.headers.len());
    for header in &scanned.headers {
        if !(header.kind.is_list() || header.kind.is_address()) {
            continue;
        }
        let elements = scan::canonical_elements(header.kind, &header.value).map_err(|e| {
            malformed(&format!(
                "{} header field: {e}",
                header.kind.long_name().unwrap_or_default()
            ))
        })?;
        for element in &elements {
            check_uri_support(header.kind, element)?;
        }
        canonical.push(elements);
    }

    // RFC 3261 §18.3: the body is Content-Length bytes; more in a datagram
    // is discarded, fewer is an error. Without Content-Length (UDP only)
    // the body is the rest of the datagram.
    let available = msg.len() - body_start;
    let body_len = match content_length {
        Some(n) if n > available => {
            return Err(ParseError::new(
                ParseErrorKind::BodyTruncated,
                format!("Content-Length {n} but only {available} bytes of body"),
            ));
        }
        Some(n) => n,
        None => available,
    };
    let end = body_start + body_len;

    let mut message = assemble::assemble(scanned, &canonical, &msg[body_start..end], is_request)
        .map_err(|e| {
            // rsip's errors quote the whole input; keep the first words.
            let detail: String = e
                .to_string()
                .chars()
                .take(80)
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            ParseError::new(
                ParseErrorKind::Unparsable,
                format!("syntax not supported here ({detail})"),
            )
        })?;
    if let SipMessage::Request(request) = &mut message {
        repair_uri(&mut request.uri);
    }
    Ok(message)
}

/// RFC 3261 §25.1: Request-Line = Method SP Request-URI SP SIP-Version CRLF,
/// single spaces (RFC 4475 §3.1.2.9, §3.1.2.10). Returns the method.
fn check_request_line(line: &[u8]) -> Result<&[u8], ParseError> {
    let malformed = |reason: &str| ParseError::new(ParseErrorKind::Malformed, reason);
    let mut parts = line.split(|b| *b == b' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(
            "Request-Line is not Method SP Request-URI SP SIP-Version",
        ));
    };
    if method.is_empty() || !method.iter().copied().all(scan::is_token_char) {
        return Err(malformed("method is not a token"));
    }
    check_version(version)?;
    if !KNOWN_METHODS.iter().any(|m| m.as_bytes() == method) {
        // Methods are case-sensitive (§7.1): "invite" is not INVITE.
        return Err(ParseError::new(
            ParseErrorKind::UnknownMethod(String::from_utf8_lossy(method).into_owned()),
            "Not Implemented",
        ));
    }
    check_request_uri(uri)?;
    Ok(method)
}

/// `SIP/2.0`, with "SIP" in any case (§7.1); another well-formed version is
/// a 505, anything else a 400.
fn check_version(version: &[u8]) -> Result<(), ParseError> {
    let well_formed = version.len() > 4
        && version[..4].eq_ignore_ascii_case(b"SIP/")
        && version[4..].split(|b| *b == b'.').count() == 2
        && version[4..]
            .split(|b| *b == b'.')
            .all(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit));
    if !well_formed {
        return Err(ParseError::new(
            ParseErrorKind::Malformed,
            "SIP-Version is not SIP/digits.digits",
        ));
    }
    if &version[4..] != b"2.0" {
        let v = String::from_utf8_lossy(version).into_owned();
        return Err(ParseError::new(
            ParseErrorKind::VersionNotSupported(v),
            "Version Not Supported",
        ));
    }
    Ok(())
}

fn check_request_uri(uri: &[u8]) -> Result<(), ParseError> {
    let malformed = |reason: &str| ParseError::new(ParseErrorKind::Malformed, reason);
    // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
    let colon = uri
        .iter()
        .position(|b| *b == b':')
        .ok_or_else(|| malformed("Request-URI has no scheme"))?;
    let scheme = &uri[..colon];
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b));
    if !scheme_ok {
        return Err(malformed("Request-URI scheme is not valid"));
    }
    let scheme_text = String::from_utf8_lossy(scheme).into_owned();
    if scheme.eq_ignore_ascii_case(b"tel") {
        return Err(ParseError::new(
            ParseErrorKind::UnsupportedUriScheme(scheme_text),
            TEL_REASON,
        ));
    }
    if !(scheme.eq_ignore_ascii_case(b"sip") || scheme.eq_ignore_ascii_case(b"sips")) {
        return Err(ParseError::new(
            ParseErrorKind::UnsupportedUriScheme(scheme_text),
            "Unsupported URI Scheme",
        ));
    }
    let rest = &uri[colon + 1..];
    if rest.contains(&b'?') {
        // RFC 3261 §19.1.1 table 1: headers are not allowed in a
        // Request-URI (RFC 4475 §3.1.2.11).
        return Err(malformed("header fields in the Request-URI"));
    }
    if rest
        .iter()
        .any(|b| !b.is_ascii_graphic() || b"<>\"".contains(b))
    {
        return Err(malformed("Request-URI contains a character a URI cannot"));
    }
    if sip_host(rest).is_none_or(<[u8]>::is_empty) {
        return Err(malformed("Request-URI has no host"));
    }
    if sip_host(rest).is_some_and(|h| h.starts_with(b"[")) {
        return Err(ParseError::new(
            ParseErrorKind::UnsupportedUri(IPV6_REASON),
            IPV6_REASON,
        ));
    }
    Ok(())
}

/// The host (and port) of a SIP URI after its `sip:`: past the userinfo
/// (which ends at the first `@`: it cannot hold one unescaped) up to the
/// parameters or headers.
fn sip_host(after_scheme: &[u8]) -> Option<&[u8]> {
    let hostport = match after_scheme.iter().position(|b| *b == b'@') {
        Some(at) => after_scheme.get(at + 1..)?,
        None => after_scheme,
    };
    let end = hostport
        .iter()
        .position(|b| *b == b';' || *b == b'?')
        .unwrap_or(hostport.len());
    Some(&hostport[..end])
}

/// Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF, with a
/// three-digit code of 100 to 699 (RFC 4475 §3.1.2.19: drop the rest).
fn check_status_line(line: &[u8]) -> Result<(), ParseError> {
    let malformed = |reason: &str| ParseError::new(ParseErrorKind::Malformed, reason);
    let mut parts = line.splitn(3, |b| *b == b' ');
    let (Some(version), Some(code), Some(_reason)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(
            "Status-Line is not SIP-Version SP Status-Code SP Reason-Phrase",
        ));
    };
    check_version(version)?;
    let code_ok =
        code.len() == 3 && code.iter().all(u8::is_ascii_digit) && (b'1'..=b'6').contains(&code[0]);
    if !code_ok {
        return Err(malformed("Status-Code is not 100 to 699"));
    }
    if std::str::from_utf8(line).is_err() {
        // rsip keeps an unknown reason phrase as a String.
        return Err(malformed("Reason-Phrase is not UTF-8"));
    }
    Ok(())
}

/// RFC 3261 §20.16: CSeq = 1*DIGIT LWS Method, the number below 2**32, and
/// in a request the method is the Request-Line's (RFC 4475 §3.1.2.17).
fn check_cseq(value: &[u8], request_method: Option<&[u8]>) -> Result<(), ParseError> {
    let malformed = |reason: &str| ParseError::new(ParseErrorKind::Malformed, reason);
    let split = value
        .iter()
        .position(|b| *b == b' ' || *b == b'\t')
        .ok_or_else(|| malformed("CSeq is not a number and a method"))?;
    let (number, method) = (&value[..split], scan_trim(&value[split..]));
    if number.is_empty() || !number.iter().all(u8::is_ascii_digit) {
        return Err(malformed("CSeq number is not a number"));
    }
    let fits = std::str::from_utf8(number)
        .ok()
        .and_then(|n| n.parse::<u32>().ok())
        .is_some();
    if !fits {
        return Err(malformed("CSeq number is 2**32 or more"));
    }
    if method.is_empty() || !method.iter().copied().all(scan::is_token_char) {
        return Err(malformed("CSeq method is not a token"));
    }
    if let Some(request_method) = request_method {
        if method != request_method {
            return Err(malformed("CSeq method does not match the Request-Line"));
        }
    } else if !KNOWN_METHODS.iter().any(|m| m.as_bytes() == method) {
        return Err(malformed("CSeq names a method this stack does not know"));
    }
    Ok(())
}

fn scan_trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| *b != b' ' && *b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| *b != b' ' && *b != b'\t')
        .map_or(start, |p| p + 1);
    &s[start..end.max(start)]
}

/// RFC 3261 §20.22: Max-Forwards = 1*DIGIT, 0 to 255 (RFC 4475 §3.1.2.4).
fn check_max_forwards(value: &[u8]) -> Result<(), ParseError> {
    let ok = !value.is_empty()
        && value.iter().all(u8::is_ascii_digit)
        && std::str::from_utf8(value)
            .ok()
            .and_then(|v| v.parse::<u8>().ok())
            .is_some();
    if ok {
        Ok(())
    } else {
        Err(ParseError::new(
            ParseErrorKind::Malformed,
            "Max-Forwards is not a number from 0 to 255",
        ))
    }
}

/// Refuses the URIs rsip cannot represent: `tel:` and IPv6 hosts.
fn check_uri_support(kind: HeaderKind, element: &[u8]) -> Result<(), ParseError> {
    let unsupported =
        |reason: &'static str| ParseError::new(ParseErrorKind::UnsupportedUri(reason), reason);
    if kind == HeaderKind::Via {
        // sent-protocol SP sent-by: the host starts after the first space.
        let sent_by = element
            .iter()
            .position(|b| *b == b' ')
            .map_or(&element[..0], |p| &element[p + 1..]);
        if sent_by.starts_with(b"[") {
            return Err(unsupported(IPV6_REASON));
        }
        return Ok(());
    }
    let uri = address_uri(element);
    let Some(colon) = uri.iter().position(|b| *b == b':') else {
        return Ok(());
    };
    let scheme = &uri[..colon];
    if scheme.eq_ignore_ascii_case(b"tel") {
        return Err(unsupported(TEL_REASON));
    }
    if (scheme.eq_ignore_ascii_case(b"sip") || scheme.eq_ignore_ascii_case(b"sips"))
        && sip_host(&uri[colon + 1..]).is_some_and(|h| h.starts_with(b"["))
    {
        return Err(unsupported(IPV6_REASON));
    }
    Ok(())
}

/// The URI of a canonical name-addr (between `<` and `>`, outside quoted
/// strings) or addr-spec (up to its first `;`) element.
fn address_uri(element: &[u8]) -> &[u8] {
    let mut i = 0;
    while i < element.len() {
        match element[i] {
            b'"' => i = scan::quoted_end(element, i).unwrap_or(element.len()),
            b'<' => {
                let inner = &element[i + 1..];
                let close = inner.iter().position(|b| *b == b'>').unwrap_or(inner.len());
                return &inner[..close];
            }
            _ => i += 1,
        }
    }
    let end = element
        .iter()
        .position(|b| *b == b';')
        .unwrap_or(element.len());
    &element[..end]
}

/// The message in the layout rsip reads: long names, `Name: value`, one
/// field per list element.
#[cfg(test)]
mod tests;
