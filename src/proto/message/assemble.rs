//! From the scanned fields to rsip's message, without rsip reading the
//! bytes a second time.
//!
//! [`super::parse`] has already split the message into its start line and
//! its fields, unfolded them and cut list values into their elements. What
//! rsip's own tokenizer would do again (find every line, every colon) is
//! skipped: rsip reads only the start line, and each field goes to rsip as
//! the name and value it would have found in `Name: value`. The outcome is
//! the message rsip would have made of that canonical text.

use std::borrow::Cow;
use std::convert::TryInto as _;

use rsip::headers::header::Tokenizer as FieldTokenizer;
use rsip::message::{request, response};
use rsip::{Error, SipMessage};

use super::scan::{self, RawHeader, Scanned};

/// The message of `scanned`, its structured fields given as `canonical`
/// (one list of elements per list or address field, in order), with `body`.
pub(super) fn assemble(
    scanned: &Scanned<'_>,
    canonical: &[Vec<Cow<'_, [u8]>>],
    body: &[u8],
    is_request: bool,
) -> Result<SipMessage, Error> {
    let fields = fields(scanned, canonical);
    // rsip's start-line tokenizers want the line with its end; the copy is
    // of one line, not of the message.
    let mut start_line = Vec::with_capacity(scanned.start_line.len() + 4);
    start_line.extend_from_slice(scanned.start_line);
    start_line.extend_from_slice(b"\r\n\r\n");
    if is_request {
        let (_, mut tokenizer) = request::Tokenizer::tokenize(&start_line)?;
        tokenizer.headers = fields;
        tokenizer.body = body;
        let request: rsip::Request = tokenizer.try_into()?;
        Ok(request.into())
    } else {
        let (_, mut tokenizer) = response::Tokenizer::tokenize(&start_line)?;
        tokenizer.headers = fields;
        tokenizer.body = body;
        let response: rsip::Response = tokenizer.try_into()?;
        Ok(response.into())
    }
}

/// Every field as rsip would tokenize `Name: value`: a compact name in its
/// long form, one field per element of a list. The scan has already made
/// each name a token and trimmed each value, as rsip's tokenizer would.
fn fields<'a>(
    scanned: &'a Scanned<'_>,
    canonical: &'a [Vec<Cow<'_, [u8]>>],
) -> Vec<FieldTokenizer<'a>> {
    let mut fields = Vec::with_capacity(scanned.headers.len() + 4);
    let mut structured = canonical.iter();
    for header in &scanned.headers {
        let name = header_name(header);
        if header.kind.is_list() || header.kind.is_address() {
            for element in structured.next().into_iter().flatten() {
                fields.push(FieldTokenizer {
                    name,
                    value: element,
                });
            }
        } else {
            fields.push(FieldTokenizer {
                name,
                value: &header.value,
            });
        }
    }
    fields
}

fn header_name<'a>(header: &RawHeader<'a>) -> &'a [u8] {
    match scan::expand_compact(header.name) {
        Some(long) => long.as_bytes(),
        None => header.name,
    }
}
