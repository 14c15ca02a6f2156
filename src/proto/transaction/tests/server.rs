//! Server transactions: §17.2.1, §17.2.2, RFC 6026, CANCEL (§9.2) and the
//! UAS retransmission of 2xx (§13.3.1.4).

use rsip::Method;
use rsip::prelude::*;

use super::*;
use crate::proto::transaction::{Role, TransactionError, TransactionKey, TransactionState};

const BRANCH: &str = "z9hG4bKnashds8";

/// Delivers `request` from the UAC at `ms`.
fn deliver(layer: &mut TransactionLayer, ms: u64, peer: Peer, request: Request) {
    layer.handle_message(at(ms), peer, SipMessage::Request(request));
}

/// A new request arrives; returns the key of its server transaction.
fn incoming(layer: &mut TransactionLayer, method: &str, peer: Peer) -> (TransactionKey, Request) {
    deliver(layer, 0, peer, request(method, BRANCH));
    match &events(layer)[..] {
        [TransactionEvent::Request { key, request, from }] => {
            assert_eq!(*from, peer);
            assert_eq!(key.role(), Role::Server);
            (key.clone(), request.clone())
        }
        other => panic!("expected one request event, got {other:?}"),
    }
}

fn statuses(transmits: &[Transmit]) -> Vec<u16> {
    transmits.iter().map(status).collect()
}

#[test]
fn invite_server_sends_100_trying_when_the_tu_is_slow() {
    let mut layer = layer();
    let (key, _) = incoming(&mut layer, "INVITE", udp());
    assert_eq!(layer.state(&key), Some(TransactionState::Proceeding));
    let trace = run_until(&mut layer, at(1_000));
    assert_eq!(trace.transmit_times(), [200]);
    assert_eq!(trace.transmits[0].1.destination, udp());
    assert_eq!(status(&trace.transmits[0].1), 100);
}

#[test]
fn no_100_trying_when_the_tu_answers_in_time() {
    let mut layer = layer();
    let (key, invite) = incoming(&mut layer, "INVITE", udp());
    layer.respond(at(50), &key, response(&invite, 180)).unwrap();
    assert_eq!(statuses(&transmits(&mut layer)), [180]);
    assert!(run_until(&mut layer, at(1_000)).transmits.is_empty());
}

#[test]
fn invite_retransmission_gets_the_latest_provisional() {
    let mut layer = layer();
    let (key, invite) = incoming(&mut layer, "INVITE", udp());
    // Before the TU has said anything: 100 Trying at once.
    deliver(&mut layer, 100, udp(), invite.clone());
    assert_eq!(statuses(&transmits(&mut layer)), [100]);
    layer
        .respond(at(150), &key, response(&invite, 180))
        .unwrap();
    transmits(&mut layer);
    deliver(&mut layer, 500, udp(), invite.clone());
    assert_eq!(statuses(&transmits(&mut layer)), [180]);
    assert!(
        events(&mut layer).is_empty(),
        "a retransmission is not a new request"
    );
}

#[test]
fn invite_non_2xx_is_retransmitted_until_the_ack() {
    let mut layer = layer();
    let (key, invite) = incoming(&mut layer, "INVITE", udp());
    let busy = response(&invite, 486);
    layer.respond(at(0), &key, busy.clone()).unwrap();
    assert_eq!(statuses(&transmits(&mut layer)), [486]);
    assert_eq!(layer.state(&key), Some(TransactionState::Completed));

    // Timer G: T1 doubling, capped at T2.
    let trace = run_until(&mut layer, at(12_000));
    assert_eq!(trace.transmit_times(), [500, 1_500, 3_500, 7_500, 11_500]);
    assert!(trace.transmits.iter().all(|(_, t)| status(t) == 486));

    // A retransmitted INVITE gets the final again.
    deliver(&mut layer, 12_000, udp(), invite.clone());
    assert_eq!(statuses(&transmits(&mut layer)), [486]);

    // The ACK (same branch as the INVITE) confirms; the TU does not see it.
    let ack = request("ACK", BRANCH);
    deliver(&mut layer, 12_100, udp(), ack.clone());
    assert_eq!(layer.state(&key), Some(TransactionState::Confirmed));
    assert!(events(&mut layer).is_empty());
    // Timer I absorbs ACK retransmissions, then ends the transaction.
    deliver(&mut layer, 13_000, udp(), ack);
    assert!(events(&mut layer).is_empty());
    let trace = run_until(&mut layer, at(60_000));
    assert!(trace.transmits.is_empty());
    assert_eq!(
        trace.events,
        [(17_100, TransactionEvent::Terminated { key })]
    );
}

#[test]
fn timer_h_reports_a_missing_ack() {
    let mut layer = layer();
    let (key, invite) = incoming(&mut layer, "INVITE", udp());
    layer
        .respond(at(1_000), &key, response(&invite, 404))
        .unwrap();
    let trace = run_until(&mut layer, at(60_000));
    assert_eq!(
        trace.events,
        [
            (33_000, TransactionEvent::Timeout { key: key.clone() }),
            (33_000, TransactionEvent::Terminated { key })
        ]
    );
}

#[test]
fn invite_non_2xx_over_tcp_is_sent_once() {
    let mut layer = layer();
    let (key, invite) = incoming(&mut layer, "INVITE", tcp());
    layer.respond(at(0), &key, response(&invite, 486)).unwrap();
    assert_eq!(transmits(&mut layer)[0].destination, tcp());
    assert!(run_until(&mut layer, at(1_000)).transmits.is_empty());
    deliver(&mut layer, 1_000, tcp(), request("ACK", BRANCH));
    // Timer I is zero over TCP.
    assert_eq!(events(&mut layer), [TransactionEvent::Terminated { key }]);
}

/// The ACK a UAC sends for our 2xx: a new branch, the INVITE's CSeq number
/// and the 2xx's To tag.
fn ack_for_2xx() -> Request {
    let mut ack = request("ACK", "z9hG4bKack2xx");
    let to = ack.to_header_mut().unwrap();
    *to = rsip::headers::To::new(format!("{};tag=b0b", to.value()));
    ack
}

#[test]
fn invite_2xx_is_retransmitted_until_its_ack() {
    let mut layer = layer();
    let (key, invite) = incoming(&mut layer, "INVITE", udp());
    layer.respond(at(0), &key, response(&invite, 200)).unwrap();
    assert_eq!(statuses(&transmits(&mut layer)), [200]);
    assert_eq!(layer.state(&key), Some(TransactionState::Accepted));

    // RFC 6026: INVITE retransmissions in Accepted are absorbed.
    deliver(&mut layer, 100, udp(), invite.clone());
    assert!(transmits(&mut layer).is_empty());
    assert!(events(&mut layer).is_empty());

    // §13.3.1.4: T1 doubling to T2 until the ACK.
    let trace = run_until(&mut layer, at(4_000));
    assert_eq!(trace.transmit_times(), [500, 1_500, 3_500]);
    assert!(trace.transmits.iter().all(|(_, t)| status(t) == 200));

    let ack = ack_for_2xx();
    deliver(&mut layer, 4_000, udp(), ack.clone());
    assert_eq!(
        events(&mut layer),
        [TransactionEvent::Ack {
            request: ack,
            from: udp()
        }]
    );
    // No more 2xx; Timer L ends the transaction without a timeout.
    let trace = run_until(&mut layer, at(60_000));
    assert!(trace.transmits.is_empty());
    assert_eq!(
        trace.events,
        [(32_000, TransactionEvent::Terminated { key })]
    );
}

#[test]
fn invite_2xx_without_ack_times_out_at_timer_l() {
    let mut layer = layer();
    let (key, invite) = incoming(&mut layer, "INVITE", udp());
    layer.respond(at(0), &key, response(&invite, 200)).unwrap();
    assert_eq!(statuses(&transmits(&mut layer)), [200]);
    let trace = run_until(&mut layer, at(60_000));
    assert_eq!(
        trace.transmit_times(),
        [
            500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500
        ]
    );
    assert_eq!(
        trace.events,
        [
            (32_000, TransactionEvent::Timeout { key: key.clone() }),
            (32_000, TransactionEvent::Terminated { key })
        ]
    );
}

#[test]
fn ack_with_another_to_tag_does_not_stop_2xx_retransmission() {
    let mut layer = layer();
    let (key, invite) = incoming(&mut layer, "INVITE", udp());
    layer.respond(at(0), &key, response(&invite, 200)).unwrap();
    transmits(&mut layer);
    let mut ack = request("ACK", "z9hG4bKack2xx");
    *ack.to_header_mut().unwrap() =
        rsip::headers::To::new("<sip:bob@biloxi.example.com>;tag=other");
    deliver(&mut layer, 100, udp(), ack);
    assert_eq!(events(&mut layer).len(), 1, "still passed up");
    assert_eq!(run_until(&mut layer, at(600)).transmit_times(), [500]);
}

#[test]
fn proxy_forwarded_2xx_is_not_retransmitted() {
    let mut layer = layer();
    let (key, invite) = incoming(&mut layer, "INVITE", udp());
    layer
        .forward_response(at(0), &key, response(&invite, 200))
        .unwrap();
    // A second 2xx, from another fork, is forwarded too.
    layer
        .forward_response(at(10), &key, response(&invite, 200))
        .unwrap();
    assert_eq!(statuses(&transmits(&mut layer)), [200, 200]);
    // The INVITE again: absorbed in Accepted, the 2xx not sent again.
    deliver(&mut layer, 20, udp(), invite);
    assert!(transmits(&mut layer).is_empty());
    assert!(events(&mut layer).is_empty());
    let trace = run_until(&mut layer, at(60_000));
    assert!(trace.transmits.is_empty());
    assert_eq!(
        trace.events,
        [(32_000, TransactionEvent::Terminated { key })]
    );
}

#[test]
fn no_second_final_response() {
    let mut layer = layer();
    let (key, invite) = incoming(&mut layer, "INVITE", udp());
    layer.respond(at(0), &key, response(&invite, 486)).unwrap();
    assert_eq!(
        layer.respond(at(1), &key, response(&invite, 200)),
        Err(TransactionError::FinalResponseSent)
    );
    let unknown = TransactionKey::server("z9hG4bKnope", "x", Method::Invite);
    assert_eq!(
        layer.respond(at(1), &unknown, response(&invite, 200)),
        Err(TransactionError::NoSuchTransaction)
    );
}

#[test]
fn non_invite_retransmissions_are_absorbed_then_answered() {
    let mut layer = layer();
    let (key, register) = incoming(&mut layer, "REGISTER", udp());
    assert_eq!(layer.state(&key), Some(TransactionState::Trying));
    // §17.2.2: before any response, a retransmission is absorbed.
    deliver(&mut layer, 500, udp(), register.clone());
    assert!(transmits(&mut layer).is_empty());
    assert!(events(&mut layer).is_empty(), "no second Request event");

    layer
        .respond(at(600), &key, response(&register, 200))
        .unwrap();
    assert_eq!(statuses(&transmits(&mut layer)), [200]);
    deliver(&mut layer, 1_500, udp(), register);
    assert_eq!(statuses(&transmits(&mut layer)), [200]);
    assert!(events(&mut layer).is_empty());

    // Timer J: 64*T1 over UDP. No retransmission on its own.
    let trace = run_until(&mut layer, at(60_000));
    assert!(trace.transmits.is_empty());
    assert_eq!(
        trace.events,
        [(32_600, TransactionEvent::Terminated { key })]
    );
}

#[test]
fn only_an_invite_keeps_its_request_unless_the_tu_asks() {
    let mut invites = layer();
    let (invite, invite_request) = incoming(&mut invites, "INVITE", udp());
    assert_eq!(
        invites.request(&invite),
        Some(&invite_request),
        "for 100 Trying"
    );

    let mut layer = layer();
    let (key, message) = incoming(&mut layer, "MESSAGE", udp());
    assert_eq!(layer.request(&key), None, "most are answered at once");
    layer.keep_request(&key, &message);
    assert_eq!(layer.request(&key), Some(&message));

    // Once answered, a transaction takes no copy.
    layer
        .respond(at(10), &key, response(&message, 200))
        .unwrap();
    layer.keep_request(&key, &message);
    assert_eq!(layer.request(&key), None);
}

#[test]
fn the_request_is_kept_until_a_final_response_only() {
    let mut layer = layer();
    let (key, message) = incoming(&mut layer, "MESSAGE", udp());
    layer.keep_request(&key, &message);
    layer
        .respond(at(10), &key, response(&message, 100))
        .unwrap();
    assert_eq!(
        layer.request(&key),
        Some(&message),
        "a proxy may still answer"
    );
    layer
        .respond(at(20), &key, response(&message, 200))
        .unwrap();
    assert_eq!(layer.state(&key), Some(TransactionState::Completed));
    assert_eq!(layer.request(&key), None, "not kept through Timer J");
    // The final still answers a retransmission without it.
    transmits(&mut layer);
    deliver(&mut layer, 1_000, udp(), message);
    assert_eq!(statuses(&transmits(&mut layer)), [200]);
}

#[test]
fn non_invite_over_tcp_terminates_on_the_final_response() {
    let mut layer = layer();
    let (key, options) = incoming(&mut layer, "OPTIONS", tcp());
    layer
        .respond(at(10), &key, response(&options, 200))
        .unwrap();
    assert_eq!(transmits(&mut layer)[0].destination, tcp());
    assert_eq!(events(&mut layer), [TransactionEvent::Terminated { key }]);
}

#[test]
fn cancel_matching_an_invite_is_answered_and_reported() {
    let mut layer = layer();
    let (key, invite) = incoming(&mut layer, "INVITE", udp());
    layer.respond(at(50), &key, response(&invite, 180)).unwrap();
    transmits(&mut layer);

    let cancel = request("CANCEL", BRANCH);
    deliver(&mut layer, 1_000, udp(), cancel.clone());
    let sent = transmits(&mut layer);
    assert_eq!(statuses(&sent), [200]);
    let SipMessage::Response(ok) = parse(&sent[0]) else {
        unreachable!()
    };
    assert_eq!(ok.cseq_header().unwrap().value(), "314159 CANCEL");
    // §9.2: the To tag of the 180.
    assert_eq!(
        ok.to_header().unwrap().tag().unwrap().unwrap().value(),
        "b0b"
    );
    assert_eq!(
        events(&mut layer),
        [TransactionEvent::Cancelled {
            invite: key.clone(),
            cancel: cancel.clone()
        }]
    );

    // The TU answers the INVITE with 487.
    layer
        .respond(at(1_010), &key, response(&invite, 487))
        .unwrap();
    assert_eq!(statuses(&transmits(&mut layer)), [487]);

    // A retransmitted CANCEL gets its 200 again and is not reported twice.
    deliver(&mut layer, 1_500, udp(), cancel);
    assert_eq!(statuses(&transmits(&mut layer)), [200]);
    assert!(events(&mut layer).is_empty());
}

#[test]
fn cancel_after_the_final_response_is_answered_but_not_reported() {
    let mut layer = layer();
    let (key, invite) = incoming(&mut layer, "INVITE", udp());
    layer.respond(at(0), &key, response(&invite, 200)).unwrap();
    transmits(&mut layer);
    deliver(&mut layer, 100, udp(), request("CANCEL", BRANCH));
    assert_eq!(statuses(&transmits(&mut layer)), [200]);
    assert!(events(&mut layer).is_empty());
}

#[test]
fn cancel_matching_nothing_gets_481() {
    let mut layer = layer();
    deliver(&mut layer, 0, udp(), request("CANCEL", BRANCH));
    let sent = transmits(&mut layer);
    assert_eq!(statuses(&sent), [481]);
    assert_eq!(sent[0].destination, udp());
    assert!(
        !events(&mut layer)
            .iter()
            .any(|e| matches!(e, TransactionEvent::Cancelled { .. }))
    );
}

#[test]
fn ack_matching_no_transaction_goes_to_the_tu() {
    let mut layer = layer();
    let ack = ack_for_2xx();
    deliver(&mut layer, 0, udp(), ack.clone());
    assert_eq!(
        events(&mut layer),
        [TransactionEvent::Ack {
            request: ack,
            from: udp()
        }]
    );
    assert!(transmits(&mut layer).is_empty());
}

#[test]
fn rfc_2543_requests_are_refused_with_400() {
    let mut layer = layer();
    let old = request("OPTIONS", "7a3f");
    deliver(&mut layer, 0, udp(), old);
    assert_eq!(statuses(&transmits(&mut layer)), [400]);
    assert!(matches!(
        &events(&mut layer)[..],
        [TransactionEvent::Refused {
            error: TransactionError::NoMagicCookie,
            ..
        }]
    ));
    assert!(layer.is_empty());
    // An ACK is never answered.
    deliver(&mut layer, 0, udp(), request("ACK", "7a3f"));
    assert!(transmits(&mut layer).is_empty());
    assert_eq!(events(&mut layer).len(), 1);
}

#[test]
fn responses_go_where_the_request_came_from() {
    let mut layer = layer();
    // Behind a NAT: the Via says one thing, the packet another (RFC 3581).
    let nat = Peer::udp("203.0.113.5:40000".parse().unwrap());
    let invite = request_with_via(
        "INVITE",
        &format!("SIP/2.0/UDP 10.0.0.2:5060;rport;branch={BRANCH}"),
    );
    deliver(&mut layer, 0, nat, invite);
    let [TransactionEvent::Request { key, request, .. }] = &events(&mut layer)[..] else {
        panic!("expected a request event");
    };
    let via = request.via_header().unwrap().value().to_owned();
    assert_eq!(
        via,
        format!("SIP/2.0/UDP 10.0.0.2:5060;rport=40000;branch={BRANCH};received=203.0.113.5")
    );
    layer.respond(at(10), key, response(request, 180)).unwrap();
    let sent = transmits(&mut layer);
    assert_eq!(sent[0].destination, nat);
    let SipMessage::Response(ringing) = parse(&sent[0]) else {
        unreachable!()
    };
    assert_eq!(ringing.via_header().unwrap().value(), via);
}

#[test]
fn same_branch_from_another_sender_is_another_transaction() {
    let mut layer = layer();
    deliver(&mut layer, 0, udp(), request("OPTIONS", BRANCH));
    let other = request_with_via(
        "OPTIONS",
        &format!("SIP/2.0/UDP 192.0.2.99:5060;branch={BRANCH}"),
    );
    deliver(
        &mut layer,
        0,
        Peer::udp("192.0.2.99:5060".parse().unwrap()),
        other,
    );
    assert_eq!(events(&mut layer).len(), 2);
    assert_eq!(layer.len(), 2);
}
