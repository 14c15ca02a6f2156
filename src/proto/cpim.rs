//! `message/cpim` (RFC 3862), the envelope in which the IM MCU relays a
//! conference IM: the MCU is the SIP sender, so the original sender travels
//! inside the body, in the CPIM `From` header, together with the original
//! Content-Type (PROTOCOLS.md section 4, conf-wire step 7).
//!
//! A body is (RFC 3862 §2): the message headers, an empty line, the headers
//! of the encapsulated MIME object (at least its Content-Type, §2.4), an
//! empty line, and the object's content. The outer MIME header of §2.1 is
//! the SIP Content-Type and is not part of the body.
//!
//! Writing ([`wrap`]) emits `From` and `Content-Type` only; every value is
//! cleaned so that no input can add a header line or break the address.
//!
//! Reading ([`parse`]) is tolerant in the ways senders differ: header names
//! compare without case (RFC 3862 §3.1 makes them case-sensitive, but no
//! two headers it defines differ only in case), a bare LF ends a line as
//! well as CRLF, the space after the colon is optional, folded content
//! header lines (RFC 2822 §2.2.3) are unfolded, and a `From` without angle
//! brackets is taken as a bare URI. It is bounded: at most
//! [`MAX_MESSAGE_BYTES`] in all, [`MAX_HEADERS`] headers a block and
//! [`MAX_LINE_BYTES`] a line; header lines must be UTF-8, the content may
//! be anything. It never panics, whatever the input.

use thiserror::Error;

use crate::proto::xml::excerpt;

#[cfg(test)]
mod tests;

/// The media type, for the SIP Content-Type of the relayed MESSAGE.
pub const CONTENT_TYPE: &str = "message/cpim";
/// The largest body [`parse`] reads.
pub const MAX_MESSAGE_BYTES: usize = 128 * 1024;
/// The most header lines in one block (message or content headers).
pub const MAX_HEADERS: usize = 64;
/// The longest header line.
pub const MAX_LINE_BYTES: usize = 4096;

/// One header line: the name as written, the value trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpimHeader {
    pub name: String,
    pub value: String,
}

/// An address header value (`From`, `To`, RFC 3862 §4.1, §4.2):
/// `"Formal Name" <URI>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpimAddress {
    /// The formal name, unquoted; `None` when absent or empty.
    pub display: Option<String>,
    pub uri: String,
}

/// A parsed `message/cpim` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpimMessage {
    /// The sender (§4.1); `None` if the body names none.
    pub from: Option<CpimAddress>,
    /// The recipients (§4.2), in order.
    pub to: Vec<CpimAddress>,
    /// Every message header, `From` and `To` included, in order.
    pub headers: Vec<CpimHeader>,
    /// The encapsulated object's Content-Type, as written.
    pub content_type: Option<String>,
    /// Every header of the encapsulated object, in order.
    pub content_headers: Vec<CpimHeader>,
    /// The encapsulated object's content.
    pub body: Vec<u8>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CpimError {
    #[error("CPIM body of {bytes} bytes is over the limit of {limit}")]
    TooLarge { bytes: usize, limit: usize },
    #[error("the {0} are not ended by an empty line")]
    Unterminated(&'static str),
    #[error("a header line is longer than {limit} bytes")]
    LineTooLong { limit: usize },
    #[error("more than {limit} header lines in one block")]
    TooManyHeaders { limit: usize },
    #[error("a header line is not UTF-8")]
    NotUtf8,
    #[error("{0:?} is not a header line")]
    MalformedHeader(String),
    #[error("{header} {value:?} is not an address")]
    BadAddress { header: &'static str, value: String },
}

impl CpimMessage {
    /// The content's media type, lower case, without parameters
    /// (`text/plain` of `text/plain;charset=UTF-8`); `None` without a
    /// Content-Type.
    pub fn media_type(&self) -> Option<String> {
        let content_type = self.content_type.as_deref()?;
        let media_type = content_type.split(';').next()?.trim();
        (!media_type.is_empty()).then(|| media_type.to_ascii_lowercase())
    }

    /// The first message header called `name` (without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|header| header.name.eq_ignore_ascii_case(name))
            .map(|header| header.value.as_str())
    }
}

/// A `message/cpim` body carrying `body` of type `content_type` from
/// `from_uri` (with its formal name `from_display`). Characters that could
/// end a header line or the address are dropped from the values.
pub fn wrap(
    from_display: Option<&str>,
    from_uri: &str,
    content_type: &str,
    body: &[u8],
) -> Vec<u8> {
    let uri: String = from_uri
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace() && !matches!(c, '<' | '>'))
        .collect();
    let mut out = String::from("From: ");
    if let Some(display) = from_display {
        let display: String = display.chars().filter(|c| !c.is_control()).collect();
        let display = display.trim();
        if !display.is_empty() {
            // RFC 3862 §4.1: Formal-name as a quoted string; `\` and `"`
            // escaped inside it (§3.2, RFC 2822 quoted-pair).
            out.push('"');
            for c in display.chars() {
                if matches!(c, '"' | '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push_str("\" ");
        }
    }
    out.push('<');
    out.push_str(&uri);
    out.push_str(">\r\n\r\n");
    let content_type: String = content_type.chars().filter(|c| !c.is_control()).collect();
    out.push_str("Content-Type: ");
    out.push_str(content_type.trim());
    out.push_str("\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Reads a `message/cpim` body; see the module documentation.
pub fn parse(body: &[u8]) -> Result<CpimMessage, CpimError> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(CpimError::TooLarge {
            bytes: body.len(),
            limit: MAX_MESSAGE_BYTES,
        });
    }
    let (headers, rest) = header_block(body, "message headers", false)?;
    let (content_headers, content) = header_block(rest, "content headers", true)?;
    let mut from = None;
    let mut to = Vec::new();
    for header in &headers {
        if header.name.eq_ignore_ascii_case("From") && from.is_none() {
            from = Some(address("From", &header.value)?);
        } else if header.name.eq_ignore_ascii_case("To") {
            to.push(address("To", &header.value)?);
        }
    }
    let content_type = content_headers
        .iter()
        .find(|header| header.name.eq_ignore_ascii_case("Content-Type"))
        .map(|header| header.value.clone());
    Ok(CpimMessage {
        from,
        to,
        headers,
        content_type,
        content_headers,
        body: content.to_vec(),
    })
}

/// Header lines up to the first empty line, and what follows it.
/// `folding`: a line starting with white space continues the previous one.
fn header_block<'a>(
    bytes: &'a [u8],
    what: &'static str,
    folding: bool,
) -> Result<(Vec<CpimHeader>, &'a [u8]), CpimError> {
    let mut headers: Vec<CpimHeader> = Vec::new();
    let mut rest = bytes;
    loop {
        let Some(end) = rest.iter().position(|&byte| byte == b'\n') else {
            return Err(CpimError::Unterminated(what));
        };
        let (line, after) = rest.split_at(end);
        // `after` starts with the '\n' found above.
        rest = after.get(1..).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > MAX_LINE_BYTES {
            return Err(CpimError::LineTooLong {
                limit: MAX_LINE_BYTES,
            });
        }
        if line.is_empty() {
            return Ok((headers, rest));
        }
        let line = std::str::from_utf8(line).map_err(|_| CpimError::NotUtf8)?;
        if line.starts_with([' ', '\t']) {
            match headers.last_mut() {
                Some(last) if folding && last.value.len() + line.len() <= MAX_LINE_BYTES => {
                    last.value.push(' ');
                    last.value.push_str(line.trim());
                    continue;
                }
                Some(_) if folding => {
                    return Err(CpimError::LineTooLong {
                        limit: MAX_LINE_BYTES,
                    });
                }
                _ => return Err(CpimError::MalformedHeader(excerpt(line))),
            }
        }
        if headers.len() >= MAX_HEADERS {
            return Err(CpimError::TooManyHeaders { limit: MAX_HEADERS });
        }
        headers.push(header_line(line)?);
    }
}

/// RFC 3862 §3: `Name ": " Value`; a name may carry a namespace prefix
/// (`MyFeatures.WishList`, §3.4).
fn header_line(line: &str) -> Result<CpimHeader, CpimError> {
    let malformed = || CpimError::MalformedHeader(excerpt(line));
    let (name, value) = line.split_once(':').ok_or_else(malformed)?;
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, ':' | '<' | '>' | '"'));
    if !name_ok {
        return Err(malformed());
    }
    Ok(CpimHeader {
        name: name.to_owned(),
        value: value.trim().to_owned(),
    })
}

/// RFC 3862 §4.1: `[Formal-name] "<" URI ">"`, the formal name a quoted
/// string or words; without angle brackets the whole value is the URI.
fn address(header: &'static str, value: &str) -> Result<CpimAddress, CpimError> {
    let bad = || CpimError::BadAddress {
        header,
        value: excerpt(value),
    };
    let value = value.trim();
    let (display, uri) = match value.rfind('<') {
        Some(open) => {
            let rest = value.get(open + 1..).ok_or_else(bad)?;
            let close = rest.find('>').ok_or_else(bad)?;
            let uri = rest.get(..close).ok_or_else(bad)?;
            let name = value.get(..open).ok_or_else(bad)?;
            (formal_name(name.trim()).ok_or_else(bad)?, uri.trim())
        }
        None => (None, value),
    };
    let uri_ok = !uri.is_empty()
        && uri.contains(':')
        && !uri
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'));
    if !uri_ok {
        return Err(bad());
    }
    Ok(CpimAddress {
        display,
        uri: uri.to_owned(),
    })
}

/// The formal name before `<`: a quoted string (quoted-pairs undone) or
/// plain words. `None` inside `Some` for no name; `None` for a quoted
/// string that is not closed.
fn formal_name(text: &str) -> Option<Option<String>> {
    if text.is_empty() {
        return Some(None);
    }
    let Some(quoted) = text.strip_prefix('"') else {
        return Some(Some(text.to_owned()));
    };
    let mut name = String::new();
    let mut chars = quoted.chars();
    loop {
        match chars.next()? {
            '\\' => name.push(chars.next()?),
            '"' => break,
            c => name.push(c),
        }
    }
    if !chars.as_str().trim().is_empty() {
        return None;
    }
    let name = name.trim();
    Some((!name.is_empty()).then(|| name.to_owned()))
}
