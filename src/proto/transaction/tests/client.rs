//! Client transactions: §17.1.1, §17.1.2, RFC 6026, and CANCEL (§9.1).

use rsip::prelude::*;
use rsip::{Header, Method, SipMessage};

use super::*;
use crate::proto::transaction::{Role, TransactionError, TransactionState};

const BRANCH: &str = "z9hG4bK74bf9";

fn send(
    layer: &mut TransactionLayer,
    method: &str,
    peer: Peer,
) -> (super::super::TransactionKey, Request) {
    let request = request(method, BRANCH);
    let key = layer.send_request(at(0), request.clone(), peer).unwrap();
    let sent = transmits(layer);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].destination, peer);
    assert_eq!(parse_request(&sent[0]), request);
    (key, request)
}

fn receive(layer: &mut TransactionLayer, ms: u64, response: Response) {
    layer.handle_message(at(ms), udp(), SipMessage::Response(response));
}

#[test]
fn invite_timer_a_doubles_over_udp_until_timer_b() {
    let mut layer = layer();
    let (key, _) = send(&mut layer, "INVITE", udp());
    assert_eq!(key.role(), Role::Client);
    assert_eq!(layer.state(&key), Some(TransactionState::Calling));

    let trace = run_until(&mut layer, at(40_000));
    // §17.1.1.2: 500 ms, then 1, 2, 4, 8, 16 s apart; Timer B at 64*T1.
    assert_eq!(
        trace.transmit_times(),
        [500, 1_500, 3_500, 7_500, 15_500, 31_500]
    );
    assert_eq!(
        trace.events,
        [
            (32_000, TransactionEvent::Timeout { key: key.clone() }),
            (32_000, TransactionEvent::Terminated { key: key.clone() }),
        ]
    );
    assert!(layer.is_empty());
    assert_eq!(layer.poll_timeout(), None);
}

#[test]
fn invite_over_tcp_is_never_retransmitted() {
    let mut layer = layer();
    let (key, _) = send(&mut layer, "INVITE", tcp());
    let trace = run_until(&mut layer, at(40_000));
    assert!(trace.transmits.is_empty());
    assert_eq!(trace.events[0], (32_000, TransactionEvent::Timeout { key }));
}

#[test]
fn non_invite_timer_e_doubles_up_to_t2() {
    let mut layer = layer();
    let (key, _) = send(&mut layer, "OPTIONS", udp());
    assert_eq!(layer.state(&key), Some(TransactionState::Trying));
    let trace = run_until(&mut layer, at(40_000));
    assert_eq!(
        trace.transmit_times(),
        [
            500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500
        ]
    );
    assert_eq!(trace.events[0], (32_000, TransactionEvent::Timeout { key }));
}

#[test]
fn provisional_stops_timer_a_and_timer_b() {
    let mut layer = layer();
    let (key, invite) = send(&mut layer, "INVITE", udp());
    receive(&mut layer, 200, response(&invite, 180));
    assert!(
        matches!(&events(&mut layer)[..], [TransactionEvent::Response { key: k, response }]
        if *k == key && response.status_code.code() == 180)
    );
    assert_eq!(layer.state(&key), Some(TransactionState::Proceeding));
    // No retransmission, and no Timer B: the callee may ring for minutes.
    let trace = run_until(&mut layer, at(600_000));
    assert!(trace.transmits.is_empty());
    assert!(trace.events.is_empty());
    assert_eq!(layer.state(&key), Some(TransactionState::Proceeding));
}

#[test]
fn non_invite_provisional_makes_timer_e_interval_t2() {
    let mut layer = layer();
    let (key, request) = send(&mut layer, "REGISTER", udp());
    assert_eq!(run_until(&mut layer, at(600)).transmit_times(), [500]);
    receive(&mut layer, 600, response(&request, 100));
    assert_eq!(events(&mut layer).len(), 1);
    // The E armed before (due at 1.5 s) still fires; from then on T2.
    let trace = run_until(&mut layer, at(10_000));
    assert_eq!(trace.transmit_times(), [1_500, 5_500, 9_500]);
    receive(&mut layer, 10_000, response(&request, 200));
    assert_eq!(events(&mut layer).len(), 1);
    assert_eq!(layer.state(&key), Some(TransactionState::Completed));
    // Timer K: T4, then gone; no more retransmissions.
    let trace = run_until(&mut layer, at(60_000));
    assert!(trace.transmits.is_empty());
    assert_eq!(
        trace.events,
        [(15_000, TransactionEvent::Terminated { key })]
    );
}

#[test]
fn invite_non_2xx_is_acked_by_the_transaction() {
    let mut layer = layer();
    let (key, invite) = send(&mut layer, "INVITE", udp());
    let busy = response(&invite, 486);
    receive(&mut layer, 1_000, busy.clone());

    let sent = transmits(&mut layer);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].destination, udp());
    let ack = parse_request(&sent[0]);
    // §17.1.1.3: Request-URI, Call-ID, From, CSeq number, top Via and
    // Route of the INVITE; To of the response.
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.uri, invite.uri);
    assert_eq!(cseq_of(&ack), "314159 ACK");
    assert_eq!(branch_of(&ack), BRANCH);
    assert_eq!(
        ack.call_id_header().unwrap(),
        invite.call_id_header().unwrap()
    );
    assert_eq!(ack.from_header().unwrap(), invite.from_header().unwrap());
    assert_eq!(ack.to_header().unwrap(), busy.to_header().unwrap());
    assert_eq!(ack.route_header(), invite.route_header());
    assert_eq!(
        events(&mut layer),
        [TransactionEvent::Response {
            key: key.clone(),
            response: busy.clone()
        }]
    );
    assert_eq!(layer.state(&key), Some(TransactionState::Completed));
    assert_eq!(layer.request(&key), None, "not kept through Timer D");

    // The 486 again: our ACK was lost. ACK again; the TU hears nothing.
    receive(&mut layer, 2_000, busy);
    let again = transmits(&mut layer);
    assert_eq!(again.len(), 1);
    assert_eq!(parse_request(&again[0]), ack);
    assert!(events(&mut layer).is_empty());

    // Timer D: 32 s after the first final, over UDP.
    let trace = run_until(&mut layer, at(60_000));
    assert!(trace.transmits.is_empty());
    assert_eq!(
        trace.events,
        [(33_000, TransactionEvent::Terminated { key })]
    );
}

#[test]
fn invite_non_2xx_over_tcp_terminates_at_once() {
    let mut layer = layer();
    let (key, invite) = send(&mut layer, "INVITE", tcp());
    receive(&mut layer, 1_000, response(&invite, 603));
    assert_eq!(transmits(&mut layer).len(), 1, "the ACK");
    let events = events(&mut layer);
    assert!(matches!(
        events[..],
        [
            TransactionEvent::Response { .. },
            TransactionEvent::Terminated { .. }
        ]
    ));
    assert_eq!(layer.state(&key), None);
    assert_eq!(layer.poll_timeout(), None);
}

#[test]
fn invite_2xx_enters_accepted_and_passes_retransmissions_up() {
    let mut layer = layer();
    let (key, invite) = send(&mut layer, "INVITE", udp());
    let ok = response(&invite, 200);
    receive(&mut layer, 1_000, ok.clone());
    assert!(
        transmits(&mut layer).is_empty(),
        "the ACK for 2xx is the TU's"
    );
    assert_eq!(
        events(&mut layer),
        [TransactionEvent::Response {
            key: key.clone(),
            response: ok.clone()
        }]
    );
    assert_eq!(layer.state(&key), Some(TransactionState::Accepted));
    assert_eq!(
        layer.request(&key),
        Some(&invite),
        "kept for the TU, which may have to answer another fork's 2xx"
    );

    // RFC 6026: a retransmitted 2xx reaches the TU, which re-sends its ACK.
    receive(&mut layer, 1_500, ok.clone());
    assert_eq!(
        events(&mut layer),
        [TransactionEvent::Response {
            key: key.clone(),
            response: ok.clone()
        }]
    );

    // Timer M: 64*T1 after the first 2xx.
    let trace = run_until(&mut layer, at(60_000));
    assert!(trace.transmits.is_empty());
    assert_eq!(
        trace.events,
        [(33_000, TransactionEvent::Terminated { key })]
    );

    // Afterwards a 2xx matches nothing.
    receive(&mut layer, 61_000, ok.clone());
    assert_eq!(
        events(&mut layer),
        [TransactionEvent::StrayResponse {
            response: ok,
            from: udp()
        }]
    );
}

#[test]
fn responses_match_by_branch_and_cseq_method() {
    let mut layer = layer();
    let (invite_key, invite) = send(&mut layer, "INVITE", udp());
    receive(&mut layer, 100, response(&invite, 180));
    events(&mut layer);

    let cancel_key = layer.cancel(at(200), &invite_key).unwrap().unwrap();
    assert_eq!(cancel_key.method(), Method::Cancel);
    assert_eq!(cancel_key.branch(), BRANCH);
    let sent = transmits(&mut layer);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].destination, udp());
    let cancel = parse_request(&sent[0]);
    // §9.1: same Request-URI, Call-ID, To, From, CSeq number, Route; only
    // the top Via.
    assert_eq!(cancel.method, Method::Cancel);
    assert_eq!(cancel.uri, invite.uri);
    assert_eq!(cseq_of(&cancel), "314159 CANCEL");
    assert_eq!(branch_of(&cancel), BRANCH);
    assert_eq!(cancel.to_header().unwrap(), invite.to_header().unwrap());
    assert_eq!(cancel.route_header(), invite.route_header());
    assert_eq!(
        cancel
            .headers
            .iter()
            .filter(|h| matches!(h, Header::Via(_)))
            .count(),
        1
    );
    // Asking again gives the same CANCEL, not a second one.
    assert_eq!(
        layer.cancel(at(250), &invite_key).unwrap(),
        Some(cancel_key.clone())
    );
    assert!(transmits(&mut layer).is_empty());

    // The 200 to the CANCEL shares the INVITE's branch but not its method.
    receive(&mut layer, 300, response(&cancel, 200));
    assert!(
        matches!(&events(&mut layer)[..], [TransactionEvent::Response { key, .. }] if *key == cancel_key)
    );
    assert_eq!(layer.state(&invite_key), Some(TransactionState::Proceeding));

    receive(&mut layer, 400, response(&invite, 487));
    assert!(
        matches!(&events(&mut layer)[..], [TransactionEvent::Response { key, response }]
        if *key == invite_key && response.status_code.code() == 487)
    );
    assert_eq!(parse_request(&transmits(&mut layer)[0]).method, Method::Ack);
}

#[test]
fn cancel_before_any_provisional_waits_for_one() {
    let mut layer = layer();
    let (key, invite) = send(&mut layer, "INVITE", udp());
    assert_eq!(layer.cancel(at(100), &key).unwrap(), None);
    assert!(
        transmits(&mut layer).is_empty(),
        "§9.1: no CANCEL before a provisional"
    );

    receive(&mut layer, 300, response(&invite, 100));
    let sent = transmits(&mut layer);
    assert_eq!(sent.len(), 1);
    assert_eq!(parse_request(&sent[0]).method, Method::Cancel);
    assert_eq!(
        layer.state(&key.with_method(Method::Cancel)),
        Some(TransactionState::Trying)
    );
}

#[test]
fn cancel_after_a_final_response_sends_nothing() {
    let mut layer = layer();
    let (key, invite) = send(&mut layer, "INVITE", udp());
    assert_eq!(layer.cancel(at(100), &key).unwrap(), None);
    receive(&mut layer, 300, response(&invite, 486));
    let sent = transmits(&mut layer);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        parse_request(&sent[0]).method,
        Method::Ack,
        "an ACK, no CANCEL"
    );
    assert_eq!(layer.cancel(at(400), &key).unwrap(), None);
    assert!(transmits(&mut layer).is_empty());
}

#[test]
fn cancel_after_a_2xx_sends_nothing() {
    let mut layer = layer();
    let (key, invite) = send(&mut layer, "INVITE", udp());
    receive(&mut layer, 300, response(&invite, 200));
    assert_eq!(layer.cancel(at(400), &key).unwrap(), None);
    assert!(transmits(&mut layer).is_empty());
}

#[test]
fn cancelled_invite_without_final_gives_up_after_64_t1() {
    let mut layer = layer();
    let (key, invite) = send(&mut layer, "INVITE", udp());
    receive(&mut layer, 100, response(&invite, 180));
    let cancel_key = layer.cancel(at(1_000), &key).unwrap().unwrap();
    let cancel = parse_request(&transmits(&mut layer)[0]);
    receive(&mut layer, 1_100, response(&cancel, 200));
    events(&mut layer);
    // The callee never sends 487: §9.1 says give up 64*T1 after the CANCEL.
    let trace = run_until(&mut layer, at(60_000));
    let timeouts: Vec<_> = trace
        .events
        .iter()
        .filter(|(_, e)| matches!(e, TransactionEvent::Timeout { .. }))
        .collect();
    assert_eq!(
        timeouts,
        [&(33_000, TransactionEvent::Timeout { key: key.clone() })]
    );
    assert_eq!(layer.state(&key), None);
    assert_eq!(
        layer.state(&cancel_key),
        None,
        "Timer K ended the CANCEL too"
    );
}

#[test]
fn timer_c_cancels_a_ringing_invite_when_configured() {
    let config = TimerConfig {
        timer_c: Some(Duration::from_secs(180)),
        ..TimerConfig::default()
    };
    let mut layer = TransactionLayer::new(config);
    let invite = request("INVITE", BRANCH);
    let key = layer.send_request(at(0), invite.clone(), udp()).unwrap();
    transmits(&mut layer);
    receive(&mut layer, 1_000, response(&invite, 180));
    receive(&mut layer, 100_000, response(&invite, 180));
    // Timer C restarts with each provisional: it fires at 280 s.
    let trace = run_until(&mut layer, at(300_000));
    let cancels: Vec<u64> = trace
        .transmits
        .iter()
        .filter(|(_, t)| matches!(parse(t), SipMessage::Request(r) if r.method == Method::Cancel))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(cancels.first(), Some(&280_000));
    assert_eq!(layer.state(&key), Some(TransactionState::Proceeding));
}

#[test]
fn requests_the_layer_cannot_run_are_refused() {
    let mut layer = layer();
    let ack = request("ACK", BRANCH);
    assert_eq!(
        layer.send_request(at(0), ack, udp()),
        Err(TransactionError::AckIsNotATransaction)
    );
    let old = request("OPTIONS", "7a3f");
    assert_eq!(
        layer.send_request(at(0), old, udp()),
        Err(TransactionError::NoMagicCookie)
    );
    layer
        .send_request(at(0), request("OPTIONS", BRANCH), udp())
        .unwrap();
    assert_eq!(
        layer.send_request(at(0), request("OPTIONS", BRANCH), udp()),
        Err(TransactionError::DuplicateTransaction)
    );
    let message = layer
        .send_request(at(0), request("MESSAGE", BRANCH), udp())
        .unwrap();
    assert_eq!(
        layer.cancel(at(0), &message),
        Err(TransactionError::NotAnInvite)
    );
}

#[test]
fn non_invite_over_tcp_terminates_on_the_final_response() {
    let mut layer = layer();
    let (key, request) = send(&mut layer, "MESSAGE", tcp());
    receive(&mut layer, 50, response(&request, 202));
    let events = events(&mut layer);
    assert!(matches!(
        events[..],
        [
            TransactionEvent::Response { .. },
            TransactionEvent::Terminated { .. }
        ]
    ));
    assert_eq!(layer.state(&key), None);
}

#[test]
fn answered_transaction_leaves_no_stale_deadline_on_top() {
    let mut layer = layer();
    let (_, request) = send(&mut layer, "OPTIONS", udp());
    assert_eq!(layer.poll_timeout(), Some(at(500)));
    receive(&mut layer, 100, response(&request, 200));
    // Timer E (500 ms) and F (32 s) are disarmed; Timer K is next.
    assert_eq!(layer.poll_timeout(), Some(at(5_100)));
    layer.handle_timeout(at(5_100));
    assert_eq!(layer.poll_timeout(), None);
}

#[test]
fn transport_error_ends_the_transactions_of_that_peer() {
    let mut layer = layer();
    let (key, _) = send(&mut layer, "INVITE", tcp());
    layer.handle_transport_error(tcp());
    assert_eq!(
        events(&mut layer),
        [
            TransactionEvent::TransportError { key: key.clone() },
            TransactionEvent::Terminated { key }
        ]
    );
    assert!(layer.is_empty());
    assert_eq!(layer.poll_timeout(), None);
}

#[test]
fn stale_deadlines_do_not_pile_up() {
    let mut layer = layer();
    for n in 0..1_000 {
        let request = super::request("OPTIONS", &format!("z9hG4bK{n}"));
        layer.send_request(at(0), request.clone(), tcp()).unwrap();
        receive(&mut layer, 10, response(&request, 200));
    }
    // Every Timer F was disarmed by the final response and every
    // transaction is gone: nothing is due, and the heap kept nothing.
    assert!(layer.is_empty());
    assert_eq!(layer.poll_timeout(), None);
    assert_eq!(layer.queue.len(), 0);
}

#[test]
fn a_non_invite_forgets_its_request_at_the_final_response() {
    let mut layer = layer();
    let (key, message) = send(&mut layer, "MESSAGE", udp());
    receive(&mut layer, 100, response(&message, 100));
    assert_eq!(layer.request(&key), Some(&message), "kept while unanswered");
    // Timer E still retransmits it, at T2 in Proceeding.
    let trace = run_until(&mut layer, at(600));
    assert_eq!(trace.transmits.len(), 1);
    assert_eq!(parse_request(&trace.transmits[0].1), message);

    receive(&mut layer, 5_000, response(&message, 200));
    events(&mut layer);
    assert_eq!(layer.state(&key), Some(TransactionState::Completed));
    assert_eq!(layer.request(&key), None, "not kept through Timer K");
    // Completed still absorbs a retransmitted final, and sends nothing.
    receive(&mut layer, 6_000, response(&message, 200));
    assert!(events(&mut layer).is_empty());
    let trace = run_until(&mut layer, at(20_000));
    assert!(trace.transmits.is_empty());
    assert_eq!(
        trace.events,
        [(10_000, TransactionEvent::Terminated { key })]
    );
}

#[test]
fn a_tu_may_let_an_answered_invite_forget_its_request() {
    let mut layer = layer();
    let (key, invite) = send(&mut layer, "INVITE", udp());
    receive(&mut layer, 100, response(&invite, 180));
    layer.forget_request(&key);
    assert_eq!(
        layer.request(&key),
        Some(&invite),
        "kept before the final, for a CANCEL"
    );
    layer.cancel(at(200), &key).unwrap();
    assert_eq!(transmits(&mut layer).len(), 1, "the CANCEL");

    receive(&mut layer, 300, response(&invite, 200));
    layer.forget_request(&key);
    assert_eq!(layer.request(&key), None);
    assert_eq!(layer.state(&key), Some(TransactionState::Accepted));
    // A retransmitted 2xx still reaches the TU.
    events(&mut layer);
    receive(&mut layer, 800, response(&invite, 200));
    assert_eq!(events(&mut layer).len(), 1);
}
