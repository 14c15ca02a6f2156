//! Stateless final responses (§8.2.7): no transaction is kept, and the ACK
//! to a stateless non-2xx is absorbed by its To tag.

use rsip::prelude::*;

use super::*;
use crate::proto::transaction::{TransactionError, TransactionKey};

const BRANCH: &str = "z9hG4bKstateless1";

fn incoming(layer: &mut TransactionLayer, request: Request) -> TransactionKey {
    layer.handle_message(at(0), udp(), SipMessage::Request(request));
    match &events(layer)[..] {
        [TransactionEvent::Request { key, .. }] => key.clone(),
        other => panic!("expected one request event, got {other:?}"),
    }
}

fn stateless_response(layer: &TransactionLayer, key: &TransactionKey, code: u16) -> Response {
    let tag = layer.stateless_tag(key);
    let method = key.method().to_string();
    response_to(
        &request(&method, BRANCH),
        StatusCode::from(code),
        Some(&tag),
    )
}

fn with_to_tag(mut request: Request, tag: &str) -> Request {
    let to = request.to_header_mut().unwrap();
    *to = rsip::headers::To::new(format!("{};tag={tag}", to.value()));
    request
}

#[test]
fn a_stateless_response_is_sent_once_and_forgets_the_transaction() {
    let mut layer = layer();
    let key = incoming(&mut layer, request("REGISTER", BRANCH));
    let response = stateless_response(&layer, &key, 401);
    layer.respond_statelessly(&key, response).unwrap();
    let sent = transmits(&mut layer);
    assert_eq!(sent.len(), 1);
    assert_eq!(status(&sent[0]), 401);
    assert_eq!(sent[0].destination, udp());
    assert!(layer.is_empty());
    assert!(events(&mut layer).is_empty(), "no Terminated for the TU");
    assert_eq!(layer.poll_timeout(), None);

    // The retransmission is a new request for the TU, not absorbed.
    let again = incoming(&mut layer, request("REGISTER", BRANCH));
    assert_eq!(again, key);
}

#[test]
fn an_invite_answered_statelessly_sends_no_100_trying_later() {
    let mut layer = layer();
    let key = incoming(&mut layer, request("INVITE", BRANCH));
    let response = stateless_response(&layer, &key, 407);
    layer.respond_statelessly(&key, response).unwrap();
    assert_eq!(transmits(&mut layer).len(), 1);
    let trace = run_until(&mut layer, at(64_000));
    assert!(trace.transmits.is_empty() && trace.events.is_empty());
}

#[test]
fn the_ack_to_a_stateless_non_2xx_is_absorbed() {
    let mut layer = layer();
    let key = incoming(&mut layer, request("INVITE", BRANCH));
    let tag = layer.stateless_tag(&key);
    assert_eq!(tag.len(), 16, "{tag}");
    assert!(
        tag.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "{tag}"
    );
    let response = stateless_response(&layer, &key, 407);
    layer.respond_statelessly(&key, response).unwrap();
    transmits(&mut layer);

    let ack = with_to_tag(request("ACK", BRANCH), &tag);
    layer.handle_message(at(10), udp(), SipMessage::Request(ack));
    assert!(events(&mut layer).is_empty());
    assert!(transmits(&mut layer).is_empty());

    // The ACK of a 2xx carries the UAS's tag and reaches the TU.
    let ack = with_to_tag(request("ACK", BRANCH), "b0b");
    layer.handle_message(at(20), udp(), SipMessage::Request(ack));
    assert!(matches!(
        &events(&mut layer)[..],
        [TransactionEvent::Ack { .. }]
    ));
}

#[test]
fn only_a_pending_request_gets_a_stateless_final() {
    let mut layer = layer();
    let key = incoming(&mut layer, request("INVITE", BRANCH));
    let ok = stateless_response(&layer, &key, 200);
    assert_eq!(
        layer.respond_statelessly(&key, ok),
        Err(TransactionError::InvalidStatus(200))
    );
    let busy = response(&request("INVITE", BRANCH), 486);
    layer.respond(at(0), &key, busy).unwrap();
    let late = stateless_response(&layer, &key, 407);
    assert_eq!(
        layer.respond_statelessly(&key, late),
        Err(TransactionError::FinalResponseSent)
    );
    assert!(!layer.is_empty());
}
