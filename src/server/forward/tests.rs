//! Forwarding in virtual time: what the proxy answers upstream when a
//! branch never does.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use crate::proto::{Peer, SipCore, Time};
use crate::server::Server;

const SERVER: &str = "10.0.0.1:5060";
const AMY: &str = "10.0.0.12:5062";
const TRUNK: &str = "10.0.0.99:5060";

/// A server that trusts Amy's device and the trunk, so that no request
/// here is challenged.
fn server() -> Server {
    crate::server::demo_server_trusting(SERVER, &[AMY, TRUNK])
}

/// What the server sent, as (destination, first line).
fn sent(server: &mut Server) -> Vec<(SocketAddr, String)> {
    std::iter::from_fn(|| server.poll_transmit())
        .map(|transmit| {
            let text = String::from_utf8_lossy(&transmit.payload).into_owned();
            let first = text.lines().next().unwrap_or_default().to_owned();
            (transmit.destination.addr, first)
        })
        .collect()
}

fn deliver(server: &mut Server, now: Time, from: &str, text: &str) {
    let from = Peer::udp(from.parse().unwrap());
    server.handle_datagram(now, from, text.as_bytes());
}

#[test]
fn a_message_whose_branch_never_answers_is_answered_408_upstream() {
    let mut server = server();
    deliver(
        &mut server,
        Time::ZERO,
        AMY,
        &format!(
            "REGISTER sip:confab.local SIP/2.0\r\n\
             Via: SIP/2.0/UDP {AMY};branch=z9hG4bKreg1\r\n\
             Max-Forwards: 70\r\nFrom: <sip:amy@confab.local>;tag=r1\r\n\
             To: <sip:amy@confab.local>\r\nCall-ID: reg1@test\r\nCSeq: 1 REGISTER\r\n\
             Contact: <sip:amy@{AMY}>\r\nExpires: 300\r\nContent-Length: 0\r\n\r\n"
        ),
    );
    assert!(sent(&mut server)[0].1.starts_with("SIP/2.0 200 "));

    deliver(
        &mut server,
        Time::ZERO,
        TRUNK,
        &format!(
            "MESSAGE sip:amy@confab.local SIP/2.0\r\n\
             Via: SIP/2.0/UDP {TRUNK};branch=z9hG4bKmsg1\r\n\
             Max-Forwards: 70\r\nFrom: <sip:+14255550100@confab.local>;tag=m1\r\n\
             To: <sip:amy@confab.local>\r\nCall-ID: msg1@test\r\nCSeq: 1 MESSAGE\r\n\
             Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
        ),
    );
    let forwarded = sent(&mut server);
    assert_eq!(forwarded.len(), 1, "{forwarded:?}");
    assert_eq!(forwarded[0].0, AMY.parse::<SocketAddr>().unwrap());
    assert!(forwarded[0].1.starts_with("MESSAGE "), "{forwarded:?}");

    // Amy's device never answers: Timer F (64*T1) ends the branch, and the
    // proxy answers the trunk from the request it kept.
    let end = Time::ZERO + Duration::from_secs(40);
    let mut upstream = Vec::new();
    while let Some(at) = server.poll_timeout().filter(|at| *at <= end) {
        server.handle_timeout(at);
        upstream.extend(
            sent(&mut server)
                .into_iter()
                .filter(|(to, _)| *to == TRUNK.parse::<SocketAddr>().unwrap()),
        );
    }
    assert_eq!(upstream.len(), 1, "{upstream:?}");
    assert!(upstream[0].1.starts_with("SIP/2.0 408 "), "{upstream:?}");
}
