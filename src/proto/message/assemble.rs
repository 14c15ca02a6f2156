//! From the scanned fields to rsip's message, without rsip reading the
//! bytes a second time.
//!
//! [`super::parse`] has already split the message into its start line and
//! its fields, unfolded them and cut list values into their elements. What
//! rsip's own tokenizer would do again (find every line, every colon) is
//! skipped: rsip reads only the start line, and each field is made as rsip
//! would make it of the name and value it would have found in `Name:
//! value`. The outcome is the message rsip would have made of that
//! canonical text.

use std::borrow::Cow;
use std::convert::TryInto as _;

use rsip::headers::header::Tokenizer as FieldTokenizer;
use rsip::message::{request, response};
use rsip::{Error, Header, Headers, SipMessage};

use super::scan::{self, HeaderKind, RawHeader, Scanned};

/// The message of `scanned`, its structured fields given as `canonical`
/// (one list of elements per list or address field, in order), with `body`.
pub(super) fn assemble(
    scanned: &Scanned<'_>,
    canonical: &[Vec<Cow<'_, [u8]>>],
    body: &[u8],
    is_request: bool,
) -> Result<SipMessage, Error> {
    // rsip's start-line tokenizers want the line with its end; the copy is
    // of one line, not of the message.
    let mut start_line = Vec::with_capacity(scanned.start_line.len() + 4);
    start_line.extend_from_slice(scanned.start_line);
    start_line.extend_from_slice(b"\r\n\r\n");
    if is_request {
        let (_, line) = request::Tokenizer::tokenize(&start_line)?;
        Ok(rsip::Request {
            method: line.method.try_into()?,
            uri: line.uri.try_into()?,
            version: line.version.try_into()?,
            headers: headers(scanned, canonical)?,
            body: body.to_vec(),
        }
        .into())
    } else {
        let (_, line) = response::Tokenizer::tokenize(&start_line)?;
        Ok(rsip::Response {
            version: line.version.try_into()?,
            status_code: line.status_code.try_into()?,
            headers: headers(scanned, canonical)?,
            body: body.to_vec(),
        }
        .into())
    }
}

/// Every field as rsip would make it of `Name: value`: a compact name in
/// its long form, one field per element of a list. The scan has already
/// made each name a token and trimmed each value, as rsip's tokenizer
/// would.
fn headers(scanned: &Scanned<'_>, canonical: &[Vec<Cow<'_, [u8]>>]) -> Result<Headers, Error> {
    let mut headers = Vec::with_capacity(scanned.headers.len() + 4);
    let mut structured = canonical.iter();
    for header in &scanned.headers {
        if header.kind.is_list() || header.kind.is_address() {
            for element in structured.next().into_iter().flatten() {
                headers.push(field(header, element)?);
            }
        } else {
            headers.push(field(header, &header.value)?);
        }
    }
    Ok(headers.into())
}

/// One field. The kinds the scan knows by name are made directly, as
/// rsip's tokenizer would after comparing the name with each of the
/// names it knows in turn; any other goes through that tokenizer.
fn field(header: &RawHeader<'_>, value: &[u8]) -> Result<Header, Error> {
    use rsip::headers::{self as typed, UntypedHeader as _};
    let text = || std::str::from_utf8(value).map_err(Error::from);
    Ok(match header.kind {
        HeaderKind::Via => Header::Via(typed::Via::new(text()?)),
        HeaderKind::From => Header::From(typed::From::new(text()?)),
        HeaderKind::To => Header::To(typed::To::new(text()?)),
        HeaderKind::CallId => Header::CallId(typed::CallId::new(text()?)),
        HeaderKind::CSeq => Header::CSeq(typed::CSeq::new(text()?)),
        HeaderKind::MaxForwards => Header::MaxForwards(typed::MaxForwards::new(text()?)),
        HeaderKind::ContentLength => Header::ContentLength(typed::ContentLength::new(text()?)),
        HeaderKind::Contact => Header::Contact(typed::Contact::new(text()?)),
        HeaderKind::Route => Header::Route(typed::Route::new(text()?)),
        HeaderKind::RecordRoute => Header::RecordRoute(typed::RecordRoute::new(text()?)),
        HeaderKind::Other => FieldTokenizer {
            name: header_name(header),
            value,
        }
        .try_into()?,
    })
}

fn header_name<'a>(header: &RawHeader<'a>) -> &'a [u8] {
    match scan::expand_compact(header.name) {
        Some(long) => long.as_bytes(),
        None => header.name,
    }
}
