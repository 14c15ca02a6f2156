//! The byte-level reading of a message that happens before rsip sees it:
//! the start line, the header fields with RFC 3261 §7.3.1 line folding
//! undone and compact names (§7.3.3) recognised, and the canonical layout of
//! the structured header fields rsip reads (SWS around separators removed,
//! comma-separated lists split into one field each, §7.3.1).
//!
//! Nothing here allocates for a message that is already in canonical form:
//! values borrow from the input, and a field is only copied when it was
//! folded or needs its whitespace normalised.

use std::borrow::Cow;

/// One header field as received: its name, its unfolded and trimmed value.
#[derive(Debug)]
pub(crate) struct RawHeader<'a> {
    /// The name as written (possibly compact, possibly odd case).
    pub name: &'a [u8],
    pub kind: HeaderKind,
    /// Unfolded, without the whitespace around it.
    pub value: Cow<'a, [u8]>,
}

/// The header fields whose syntax this layer checks itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderKind {
    Via,
    From,
    To,
    CallId,
    CSeq,
    MaxForwards,
    ContentLength,
    Contact,
    Route,
    RecordRoute,
    Other,
}

impl HeaderKind {
    /// Fields whose value is a comma-separated list (RFC 3261 §7.3.1), which
    /// are split into one field per element for rsip.
    pub fn is_list(self) -> bool {
        matches!(
            self,
            HeaderKind::Via | HeaderKind::Contact | HeaderKind::Route | HeaderKind::RecordRoute
        )
    }

    /// Fields whose value carries a URI in name-addr or addr-spec form.
    pub fn is_address(self) -> bool {
        matches!(
            self,
            HeaderKind::From
                | HeaderKind::To
                | HeaderKind::Contact
                | HeaderKind::Route
                | HeaderKind::RecordRoute
        )
    }

    /// Fields that must appear at most once (RFC 3261 §7.3.1: only list
    /// fields may be repeated).
    pub fn is_single(self) -> bool {
        matches!(
            self,
            HeaderKind::From
                | HeaderKind::To
                | HeaderKind::CallId
                | HeaderKind::CSeq
                | HeaderKind::MaxForwards
                | HeaderKind::ContentLength
        )
    }

    /// The name printed in front of the value, for the kinds we name.
    pub fn long_name(self) -> Option<&'static str> {
        Some(match self {
            HeaderKind::Via => "Via",
            HeaderKind::From => "From",
            HeaderKind::To => "To",
            HeaderKind::CallId => "Call-ID",
            HeaderKind::CSeq => "CSeq",
            HeaderKind::MaxForwards => "Max-Forwards",
            HeaderKind::ContentLength => "Content-Length",
            HeaderKind::Contact => "Contact",
            HeaderKind::Route => "Route",
            HeaderKind::RecordRoute => "Record-Route",
            HeaderKind::Other => return None,
        })
    }
}

/// RFC 3261 §7.3.3 and the extensions that registered compact forms
/// (RFC 3515 r, RFC 6665 o and u, RFC 3841 none): the long name of a one-letter
/// header name, case-insensitively.
pub(crate) fn expand_compact(name: &[u8]) -> Option<&'static str> {
    let [letter] = name else { return None };
    Some(match letter.to_ascii_lowercase() {
        b'v' => "Via",
        b'f' => "From",
        b't' => "To",
        b'i' => "Call-ID",
        b'm' => "Contact",
        b'l' => "Content-Length",
        b'c' => "Content-Type",
        b'e' => "Content-Encoding",
        b'k' => "Supported",
        b's' => "Subject",
        b'r' => "Refer-To",
        b'o' => "Event",
        b'u' => "Allow-Events",
        _ => return None,
    })
}

fn kind_of(long_name: &[u8]) -> HeaderKind {
    const KINDS: [(&str, HeaderKind); 10] = [
        ("Via", HeaderKind::Via),
        ("From", HeaderKind::From),
        ("To", HeaderKind::To),
        ("Call-ID", HeaderKind::CallId),
        ("CSeq", HeaderKind::CSeq),
        ("Max-Forwards", HeaderKind::MaxForwards),
        ("Content-Length", HeaderKind::ContentLength),
        ("Contact", HeaderKind::Contact),
        ("Route", HeaderKind::Route),
        ("Record-Route", HeaderKind::RecordRoute),
    ];
    KINDS
        .iter()
        .find(|(name, _)| name.as_bytes().eq_ignore_ascii_case(long_name))
        .map_or(HeaderKind::Other, |(_, kind)| *kind)
}

/// The start line and header fields of a message.
#[derive(Debug)]
pub(crate) struct Scanned<'a> {
    pub start_line: &'a [u8],
    pub headers: Vec<RawHeader<'a>>,
    /// Offset of the body: just past the empty line that ends the header
    /// fields; `None` if the input ends without one.
    pub body_start: Option<usize>,
}

/// Why the bytes could not even be split into lines and fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScanError {
    NoStartLine,
    ContinuationFirst,
    NoColon,
    EmptyName,
}

impl ScanError {
    pub fn reason(self) -> &'static str {
        match self {
            ScanError::NoStartLine => "no CRLF after the start line",
            ScanError::ContinuationFirst => "a folded line before any header field",
            ScanError::NoColon => "a header field without a colon",
            ScanError::EmptyName => "a header field without a name",
        }
    }
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// RFC 3261 §25.1 token characters. A table: the scanner and the Via and
/// credentials readers ask about nearly every byte they read.
#[inline]
pub(crate) fn is_token_char(b: u8) -> bool {
    TOKEN_CHARS[usize::from(b)]
}

const TOKEN_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        b += 1;
    }
    table
};

/// The first CRLF in `haystack`.
fn find_crlf(haystack: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(cr) = haystack[from..].iter().position(|b| *b == b'\r') {
        let at = from + cr;
        if haystack.get(at + 1) == Some(&b'\n') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn trim_ws(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_ws(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_ws(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// Splits `msg` into its start line and header fields. The header fields end
/// at the first empty line; if there is none, every line after the start
/// line is read as a header field so that a reply can still be built.
pub(crate) fn scan(msg: &[u8]) -> Result<Scanned<'_>, ScanError> {
    let start_end = find_crlf(msg).ok_or(ScanError::NoStartLine)?;
    let start_line = &msg[..start_end];
    let mut headers: Vec<RawHeader<'_>> = Vec::with_capacity(16);
    let mut pos = start_end + 2;
    let mut body_start = None;
    while pos < msg.len() {
        let rest = &msg[pos..];
        let (line, next) = match find_crlf(rest) {
            Some(0) => {
                body_start = Some(pos + 2);
                break;
            }
            Some(n) => (&rest[..n], pos + n + 2),
            None => (rest, msg.len()),
        };
        pos = next;
        if line.first().copied().is_some_and(is_ws) {
            // RFC 3261 §7.3.1: a line starting with whitespace continues the
            // previous field; CRLF plus the whitespace is one SP.
            let header = headers.last_mut().ok_or(ScanError::ContinuationFirst)?;
            let more = trim_ws(line);
            if !more.is_empty() {
                let value = header.value.to_mut();
                if !value.is_empty() {
                    value.push(b' ');
                }
                value.extend_from_slice(more);
            }
            continue;
        }
        let name_len = line.iter().take_while(|b| is_token_char(**b)).count();
        let name = &line[..name_len];
        let after_name = &line[name_len..];
        let spaces = after_name.iter().take_while(|b| is_ws(**b)).count();
        let Some(b':') = after_name.get(spaces).copied() else {
            return Err(ScanError::NoColon);
        };
        if name.is_empty() {
            return Err(ScanError::EmptyName);
        }
        let raw_value = &after_name[spaces + 1..];
        let value = trim_ws(raw_value);
        let compact = expand_compact(name);
        let kind = kind_of(compact.map_or(name, str::as_bytes));
        headers.push(RawHeader {
            name,
            kind,
            value: Cow::Borrowed(value),
        });
    }
    Ok(Scanned {
        start_line,
        headers,
        body_start,
    })
}

/// Why a structured value was refused.
pub(crate) type ValueError = &'static str;

/// The canonical form of a structured value, split into list elements for
/// the list kinds: whitespace around `;`, `=`, `/` and `,` removed and other
/// whitespace runs collapsed to one SP, outside quoted strings and `<...>`
/// (RFC 3261 §25.1: SEMI, EQUAL, SLASH and COMMA allow SWS on either side).
/// Also refuses what rsip would misread silently: an unterminated quoted
/// string or `<`, whitespace inside `<...>` (RFC 4475 §3.1.2.14), empty
/// parameters or list elements (§3.1.2.1), a comma in a single-valued
/// address field.
pub(crate) fn canonical_elements(
    kind: HeaderKind,
    value: &[u8],
) -> Result<Vec<Cow<'_, [u8]>>, ValueError> {
    let mut elements = Vec::with_capacity(1);
    let mut element = Element {
        value,
        start: 0,
        out: None,
    };
    let mut i = 0;
    while i < value.len() {
        match value[i] {
            b'"' => {
                let end = quoted_end(value, i).ok_or("unterminated quoted string")?;
                element.keep(i, end);
                i = end;
            }
            b'<' => {
                let close = value[i..]
                    .iter()
                    .position(|c| *c == b'>')
                    .ok_or("'<' without '>'")?;
                if value[i..i + close].iter().any(|c| is_ws(*c)) {
                    return Err("whitespace inside <...>");
                }
                element.keep(i, i + close + 1);
                i += close + 1;
            }
            b' ' | b'\t' => {
                let run = value[i..].iter().take_while(|c| is_ws(**c)).count();
                let next = value.get(i + run).copied();
                let prev = element.last_out(i);
                let drop = prev.is_none_or(|p| SEPARATORS.contains(&p))
                    || next.is_none_or(|n| SEPARATORS.contains(&n));
                if drop {
                    element.change(i);
                } else if run > 1 || value[i] == b'\t' {
                    element.change(i);
                    element.push(b' ');
                } else {
                    element.keep(i, i + 1);
                }
                i += run;
            }
            b',' if kind.is_list() => {
                elements.push(element.finish(i)?);
                i += 1;
                // Whitespace after the comma belongs to COMMA (SWS).
                i += value[i..].iter().take_while(|c| is_ws(**c)).count();
                element = Element {
                    value,
                    start: i,
                    out: None,
                };
            }
            b',' if kind.is_address() => return Err("a comma outside quotes"),
            _ => {
                // A run of ordinary bytes, kept in one step.
                let run = value[i..]
                    .iter()
                    .position(|c| matches!(c, b'"' | b'<' | b' ' | b'\t' | b','))
                    .unwrap_or(value.len() - i);
                element.keep(i, i + run.max(1));
                i += run.max(1);
            }
        }
    }
    elements.push(element.finish(value.len())?);
    Ok(elements)
}

const SEPARATORS: &[u8] = b";=/,";

/// One list element being canonicalised: a slice of the input until the
/// first change, a copy from then on.
struct Element<'a> {
    value: &'a [u8],
    start: usize,
    out: Option<Vec<u8>>,
}

impl<'a> Element<'a> {
    /// Input bytes `from..to` are kept as they are.
    fn keep(&mut self, from: usize, to: usize) {
        if let Some(out) = &mut self.out {
            out.extend_from_slice(&self.value[from..to]);
        }
    }

    /// The input differs from the output from `at` on: start copying.
    fn change(&mut self, at: usize) {
        if self.out.is_none() {
            let mut out = Vec::with_capacity(self.value.len() - self.start);
            out.extend_from_slice(&self.value[self.start..at]);
            self.out = Some(out);
        }
    }

    fn push(&mut self, b: u8) {
        if let Some(out) = &mut self.out {
            out.push(b);
        }
    }

    /// The last output byte before input position `at`.
    fn last_out(&self, at: usize) -> Option<u8> {
        match &self.out {
            Some(out) => out.last().copied(),
            None if at > self.start => Some(self.value[at - 1]),
            None => None,
        }
    }

    fn finish(self, end: usize) -> Result<Cow<'a, [u8]>, ValueError> {
        let element = match self.out {
            Some(out) => Cow::Owned(out),
            None => Cow::Borrowed(&self.value[self.start..end]),
        };
        check_params(&element)?;
        Ok(element)
    }
}

/// Refuses an empty element or an empty parameter (`;;`, a trailing `;`),
/// looking only outside quoted strings and `<...>`.
fn check_params(element: &[u8]) -> Result<(), ValueError> {
    if element.is_empty() {
        return Err("an empty list element");
    }
    let mut i = 0;
    let mut after_semi = false;
    while i < element.len() {
        match element[i] {
            b'"' => {
                i = quoted_end(element, i).unwrap_or(element.len());
                after_semi = false;
            }
            b'<' => {
                i += element[i..]
                    .iter()
                    .position(|c| *c == b'>')
                    .map_or(element.len(), |p| p + 1);
                after_semi = false;
            }
            b';' if after_semi || i == 0 => return Err("an empty parameter"),
            b';' => {
                after_semi = true;
                i += 1;
            }
            _ => {
                after_semi = false;
                // A run of ordinary bytes, skipped in one step.
                i += element[i..]
                    .iter()
                    .position(|c| matches!(c, b'"' | b'<' | b';'))
                    .unwrap_or(element.len() - i)
                    .max(1);
            }
        }
    }
    if after_semi {
        return Err("an empty parameter");
    }
    Ok(())
}

/// The index just past the quoted string opening at `open`, honouring
/// quoted-pairs (RFC 3261 §25.1); `None` if it is never closed.
pub(crate) fn quoted_end(s: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Content-Length of a header block (start line excluded or not: the start
/// line never looks like `Content-Length:`). Used by the stream framer,
/// which must know it before the body has arrived.
pub(crate) fn content_length(head: &[u8]) -> Result<Option<usize>, ValueError> {
    let scanned = scan(head).map_err(ScanError::reason)?;
    let mut found = None;
    for header in scanned
        .headers
        .iter()
        .filter(|h| h.kind == HeaderKind::ContentLength)
    {
        let length = parse_content_length(&header.value)?;
        if found.is_some_and(|f| f != length) {
            return Err("several different Content-Length values");
        }
        found = Some(length);
    }
    Ok(found)
}

/// RFC 3261 §20.14: Content-Length = 1*DIGIT.
pub(crate) fn parse_content_length(value: &[u8]) -> Result<usize, ValueError> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err("Content-Length is not a number");
    }
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .ok_or("Content-Length is too large")
}
