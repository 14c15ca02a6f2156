//! Transaction layer tests, driven by virtual time only.

#![allow(clippy::unwrap_used)]

mod client;
mod server;
mod stateless;

use std::time::Duration;

use rsip::prelude::*;
use rsip::{Request, Response, SipMessage, StatusCode};

use super::compose::response_to;
use super::{TimerConfig, TransactionEvent, TransactionLayer};
use crate::proto::{Peer, Time, Transmit};

pub(super) fn at(ms: u64) -> Time {
    Time::ZERO + Duration::from_millis(ms)
}

pub(super) fn ms(time: Time) -> u64 {
    u64::try_from(time.since_epoch().as_millis()).unwrap()
}

pub(super) fn layer() -> TransactionLayer {
    TransactionLayer::new(TimerConfig::default())
}

/// The far end over UDP: the UAS for client tests, the UAC for server tests.
pub(super) fn udp() -> Peer {
    Peer::udp("192.0.2.10:5060".parse().unwrap())
}

pub(super) fn tcp() -> Peer {
    Peer::tcp("192.0.2.10:5060".parse().unwrap())
}

pub(super) const CALL_ID: &str = "a84b4c76e66710@pc33.atlanta.example.com";

/// A request in the style of RFC 3665, with `branch` in its only Via.
pub(super) fn request(method: &str, branch: &str) -> Request {
    request_with_via(
        method,
        &format!("SIP/2.0/UDP 192.0.2.10:5060;branch={branch}"),
    )
}

pub(super) fn request_with_via(method: &str, via: &str) -> Request {
    let text = format!(
        "{method} sip:bob@biloxi.example.com SIP/2.0\r\n\
         Via: {via}\r\n\
         Max-Forwards: 70\r\n\
         Route: <sip:p1.example.com;lr>\r\n\
         To: Bob <sip:bob@biloxi.example.com>\r\n\
         From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
         Call-ID: {CALL_ID}\r\n\
         CSeq: 314159 {method}\r\n\
         Contact: <sip:alice@192.0.2.10>\r\n\
         Content-Length: 0\r\n\r\n"
    );
    Request::try_from(text.as_str()).unwrap()
}

/// The response a UAS would send to `request`, with To tag `b0b` (none
/// on 100).
pub(super) fn response(request: &Request, code: u16) -> Response {
    let tag = (code > 100).then_some("b0b");
    response_to(request, StatusCode::from(code), tag)
}

pub(super) fn parse(transmit: &Transmit) -> SipMessage {
    SipMessage::try_from(transmit.payload.clone()).unwrap()
}

pub(super) fn parse_request(transmit: &Transmit) -> Request {
    match parse(transmit) {
        SipMessage::Request(request) => request,
        other => panic!("expected a request, got {other}"),
    }
}

pub(super) fn status(transmit: &Transmit) -> u16 {
    match parse(transmit) {
        SipMessage::Response(response) => response.status_code.code(),
        other => panic!("expected a response, got {other}"),
    }
}

pub(super) fn transmits(layer: &mut TransactionLayer) -> Vec<Transmit> {
    std::iter::from_fn(|| layer.poll_transmit()).collect()
}

pub(super) fn events(layer: &mut TransactionLayer) -> Vec<TransactionEvent> {
    std::iter::from_fn(|| layer.poll_event()).collect()
}

/// What happened while timers ran, with the virtual time of each output.
#[derive(Debug, Default)]
pub(super) struct Trace {
    pub transmits: Vec<(u64, Transmit)>,
    pub events: Vec<(u64, TransactionEvent)>,
}

impl Trace {
    pub fn transmit_times(&self) -> Vec<u64> {
        self.transmits.iter().map(|(t, _)| *t).collect()
    }
}

/// Fires every deadline up to and including `until`, as a driver would.
pub(super) fn run_until(layer: &mut TransactionLayer, until: Time) -> Trace {
    let mut trace = Trace::default();
    while let Some(deadline) = layer.poll_timeout() {
        if deadline > until {
            break;
        }
        layer.handle_timeout(deadline);
        let now = ms(deadline);
        trace
            .transmits
            .extend(transmits(layer).into_iter().map(|t| (now, t)));
        trace
            .events
            .extend(events(layer).into_iter().map(|e| (now, e)));
    }
    trace
}

pub(super) fn cseq_of(request: &Request) -> String {
    request.cseq_header().unwrap().value().to_owned()
}

pub(super) fn branch_of(message: &impl HeadersExt) -> String {
    let via = message.via_header().unwrap().typed().unwrap();
    via.branch().unwrap().value().to_owned()
}
