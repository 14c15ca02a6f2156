//! The messages the transaction layer writes itself: the ACK to a non-2xx
//! final (RFC 3261 §17.1.1.3), CANCEL (§9.1), and the responses it sends on
//! its own (100 Trying §17.2.1, the answer to a CANCEL §9.2, refusals),
//! built as §8.2.6 says. Also the §18.2.1 / RFC 3581 stamping of the top Via
//! of a received request, and the one place messages become bytes.

use std::hash::{DefaultHasher, Hash, Hasher};

use rsip::headers::{self, UntypedHeader};
use rsip::prelude::*;
use rsip::{Header, Method, Request, Response, SipMessage, StatusCode};

use super::TransactionError;
use super::key::{RequestId, checked_request_with, top_via};
use crate::proto::Peer;

/// Bytes for the wire, through the message layer's printer (exact body
/// bytes, one correct Content-Length, RFC reason phrases).
pub(super) fn encode(message: impl Into<SipMessage>) -> Vec<u8> {
    crate::proto::message::to_bytes(&message.into())
}

/// The first via-parm of the first Via header: a header may carry several,
/// comma-separated.
fn top_via_header(request: &Request) -> Option<headers::Via> {
    let via = request.via_header().ok()?;
    let top = match via.value().split_once(',') {
        Some((first, _)) => first.trim(),
        None => via.value().trim(),
    };
    Some(headers::Via::new(top))
}

fn route_headers(request: &Request) -> impl Iterator<Item = Header> + '_ {
    request
        .headers
        .iter()
        .filter(|header| matches!(header, Header::Route(_)))
        .cloned()
}

/// Headers copied by kind from `request`, in the order given.
fn copy_headers(request: &Request, kind: fn(&Header) -> bool) -> impl Iterator<Item = Header> + '_ {
    request.headers.iter().filter(move |h| kind(h)).cloned()
}

/// RFC 3261 §17.1.1.3: the ACK an INVITE client transaction sends for a
/// non-2xx final response. Same Request-URI, Call-ID, From, CSeq number and
/// top Via as the INVITE, the To of the response, the INVITE's Route set.
pub(super) fn ack_for(invite: &Request, cseq: u32, response: &Response) -> Request {
    let mut headers = rsip::Headers::default();
    if let Some(via) = top_via_header(invite) {
        headers.push(via.into());
    }
    headers.push(headers::MaxForwards::from(70).into());
    headers.extend(route_headers(invite).collect());
    headers.extend(copy_headers(invite, |h| matches!(h, Header::From(_))).collect());
    if let Ok(to) = response.to_header() {
        headers.push(to.clone().into());
    }
    headers.extend(copy_headers(invite, |h| matches!(h, Header::CallId(_))).collect());
    headers.push(headers::CSeq::from(format!("{cseq} ACK")).into());
    headers.push(headers::ContentLength::from(0).into());
    Request {
        method: Method::Ack,
        uri: invite.uri.clone(),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

/// RFC 3261 §9.1: the CANCEL for a request. Same Request-URI, Call-ID, To,
/// From, CSeq number and Route set; only the top Via, with its branch.
pub(super) fn cancel_for(request: &Request, cseq: u32) -> Request {
    let mut headers = rsip::Headers::default();
    if let Some(via) = top_via_header(request) {
        headers.push(via.into());
    }
    headers.push(headers::MaxForwards::from(70).into());
    headers.extend(route_headers(request).collect());
    headers.extend(
        copy_headers(request, |h| {
            matches!(h, Header::From(_) | Header::To(_) | Header::CallId(_))
        })
        .collect(),
    );
    headers.push(headers::CSeq::from(format!("{cseq} CANCEL")).into());
    headers.push(headers::ContentLength::from(0).into());
    Request {
        method: Method::Cancel,
        uri: request.uri.clone(),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

/// RFC 3261 §8.2.6: a response to `request` with no body. Via, From,
/// Call-ID, CSeq and (§8.2.6.1) Timestamp are copied; To is copied and given
/// `to_tag` unless it already has a tag.
pub(super) fn response_to(request: &Request, status: StatusCode, to_tag: Option<&str>) -> Response {
    let mut headers = rsip::Headers::default();
    for header in request.headers.iter() {
        match header {
            Header::Via(_)
            | Header::From(_)
            | Header::CallId(_)
            | Header::CSeq(_)
            | Header::Timestamp(_) => headers.push(header.clone()),
            Header::To(to) => headers.push(with_tag(to, to_tag).into()),
            _ => {}
        }
    }
    headers.push(headers::ContentLength::from(0).into());
    Response {
        status_code: status,
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

fn with_tag(to: &headers::To, tag: Option<&str>) -> headers::To {
    match (tag, to.tag()) {
        // A tag param written after the URI is a header parameter, whether
        // the URI is a name-addr or a bare addr-spec (§20.39).
        (Some(tag), Ok(None)) => headers::To::new(format!("{};tag={tag}", to.value())),
        _ => to.clone(),
    }
}

/// The tag of the To header, if any, read from the raw value (the
/// message layer has checked its syntax) rather than by parsing the whole
/// header into rsip's typed To.
pub(super) fn to_tag(message: &impl HeadersExt) -> Option<String> {
    crate::proto::message::tag(message.to_header().ok()?)
}

/// A To tag for responses the layer sends on its own behalf (to a CANCEL, or
/// refusing a request) when no tag exists yet. These responses never create
/// a dialog, so the tag needs uniqueness, not unpredictability: it is
/// derived from the branch, which is unique per transaction. SipHash with
/// fixed keys, so runs repeat.
pub(super) fn derived_tag(branch: &str) -> String {
    let mut hasher = DefaultHasher::new();
    branch.hash(&mut hasher);
    crate::proto::build::lower_hex(&hasher.finish().to_be_bytes())
}

/// A request received from `from`: what
/// [`checked_request`](super::key::checked_request) makes of it, and its
/// top Via stamped with where it really came from, as the server transport
/// does (RFC 3261 §18.2.1 and RFC 3581 §4; see
/// [`ViaParm::stamped`](super::via::ViaParm::stamped)). The Via is read
/// once for both. A top Via that does not parse is left as it is, and the
/// request is refused.
pub(super) fn receive_request(
    request: &mut Request,
    from: Peer,
) -> Result<RequestId, TransactionError> {
    let (checked, stamped) = match top_via(request) {
        Ok(via) => (checked_request_with(request, &via), via.stamped(from.addr)),
        Err(error) => (Err(error), None),
    };
    if let Some(stamped) = stamped {
        if let Ok(via) = request.via_header_mut() {
            let value = match via.value().split_once(',') {
                Some((_, rest)) => format!("{stamped},{rest}"),
                None => stamped,
            };
            via.replace(value);
        }
    }
    checked
}
