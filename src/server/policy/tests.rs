//! Admission in virtual time: route tokens, and challenges answered
//! without a transaction (RFC 3261 §8.2.7).

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use super::*;
use crate::proto::SipCore;

const SERVER: &str = "10.0.0.1:5060";
const AMY: &str = "10.0.0.12:5062";
const STRANGER: &str = "192.0.2.7:5060";

#[test]
fn a_route_token_verifies_only_for_its_call_id_and_key() {
    let tokens = RouteTokens::new([7; 32]);
    let token = tokens.token("abc@host");
    assert_eq!(token.len(), 16);
    assert!(tokens.verify("abc@host", &token));
    assert!(!tokens.verify("abd@host", &token));
    assert!(!tokens.verify("abc@host", "0000000000000000"));
    assert!(!tokens.verify("abc@host", ""));
    assert!(!RouteTokens::new([8; 32]).verify("abc@host", &token));
    // HMAC-SHA256 keyed with the key itself (RFC 2104), as any HMAC
    // library keys it.
    let mut plain = Hmac::<Sha256>::new_from_slice(&[7; 32]).unwrap();
    plain.update(b"abc@host");
    let plain = plain.finalize().into_bytes();
    assert_eq!(token, crate::proto::build::lower_hex(&plain[..8]));
}

fn server() -> Server {
    crate::server::demo_server(SERVER)
}

/// Everything the server sent after `text` came from `from`, as text.
fn exchange(server: &mut Server, from: &str, text: &str) -> Vec<(SocketAddr, String)> {
    let from: SocketAddr = from.parse().unwrap();
    server.handle_datagram(Time::ZERO, Peer::udp(from), text.as_bytes());
    std::iter::from_fn(|| server.poll_transmit())
        .map(|t| {
            (
                t.destination.addr,
                String::from_utf8_lossy(&t.payload).into_owned(),
            )
        })
        .collect()
}

/// The one message sent, which must go back to `from`.
fn only_answer(server: &mut Server, from: &str, text: &str) -> String {
    let sent = exchange(server, from, text);
    assert_eq!(sent.len(), 1, "one answer expected: {sent:?}");
    assert_eq!(sent[0].0, from.parse().unwrap());
    sent[0].1.clone()
}

fn header<'a>(message: &'a str, name: &str) -> Vec<&'a str> {
    message
        .lines()
        .filter_map(|line| line.split_once(": "))
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
        .collect()
}

fn register() -> String {
    format!(
        "REGISTER sip:confab.local SIP/2.0\r\n\
         Via: SIP/2.0/UDP {AMY};branch=z9hG4bKreg1\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:amy@confab.local>;tag=r1\r\n\
         To: <sip:amy@confab.local>\r\n\
         Call-ID: reg1@test\r\n\
         CSeq: 1 REGISTER\r\n\
         Contact: <sip:amy@{AMY}>\r\n\
         Expires: 300\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

#[test]
fn a_challenged_register_leaves_no_transaction_and_its_retransmission_is_challenged_again() {
    let mut server = server();
    let first = only_answer(&mut server, AMY, &register());
    assert!(first.starts_with("SIP/2.0 401 "), "{first}");
    assert!(!header(&first, "WWW-Authenticate").is_empty());
    assert!(!header(&first, "Server").is_empty());
    assert!(server.transactions.is_empty());

    let again = only_answer(&mut server, AMY, &register());
    assert!(again.starts_with("SIP/2.0 401 "), "{again}");
    assert!(server.transactions.is_empty());
    // RFC 3261 §8.2.7: the same request gets the same To tag.
    assert_eq!(header(&first, "To"), header(&again, "To"));
    assert!(header(&first, "To")[0].contains(";tag="));
}

#[test]
fn a_challenged_message_leaves_no_transaction() {
    let mut server = server();
    let message = format!(
        "MESSAGE sip:amy@confab.local SIP/2.0\r\n\
         Via: SIP/2.0/UDP {STRANGER};branch=z9hG4bKmsg1\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:hao@confab.local>;tag=m1\r\n\
         To: <sip:amy@confab.local>\r\n\
         Call-ID: msg1@test\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Type: text/plain\r\n\
         Content-Length: 2\r\n\r\nhi"
    );
    let answer = only_answer(&mut server, STRANGER, &message);
    assert!(answer.starts_with("SIP/2.0 407 "), "{answer}");
    assert!(!header(&answer, "Proxy-Authenticate").is_empty());
    assert!(server.transactions.is_empty());
}

/// An INVITE (or its ACK) to Amy's device, pre-routed through the server
/// as an outbound proxy: an ACK like this would be relayed to her.
fn to_amys_device(method: &str, to_tag: &str) -> String {
    let to_tag = if to_tag.is_empty() {
        String::new()
    } else {
        format!(";tag={to_tag}")
    };
    format!(
        "{method} sip:amy@{AMY} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {STRANGER};branch=z9hG4bKinv1\r\n\
         Max-Forwards: 70\r\n\
         Route: <sip:{SERVER};lr>\r\n\
         From: <sip:hao@confab.local>;tag=i1\r\n\
         To: <sip:amy@confab.local>{to_tag}\r\n\
         Call-ID: inv1@test\r\n\
         CSeq: 1 {method}\r\n\
         Contact: <sip:hao@{STRANGER}>\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

#[test]
fn the_ack_to_a_stateless_407_is_absorbed_and_not_relayed() {
    let mut server = server();
    let answer = only_answer(&mut server, STRANGER, &to_amys_device("INVITE", ""));
    assert!(answer.starts_with("SIP/2.0 407 "), "{answer}");
    assert!(server.transactions.is_empty());
    let to = header(&answer, "To")[0];
    let tag = crate::proto::build::tag_of(to).unwrap();

    // RFC 3261 §17.1.1.3: same branch, the To tag of our 407.
    let sent = exchange(&mut server, STRANGER, &to_amys_device("ACK", tag));
    assert!(sent.is_empty(), "{sent:?}");

    // An ACK with another tag (as for a 2xx from Amy) is still relayed: the
    // tag, not the branch, is what marks the stateless answer.
    let sent = exchange(&mut server, STRANGER, &to_amys_device("ACK", "b0b"));
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, AMY.parse::<SocketAddr>().unwrap());
    assert!(sent[0].1.starts_with("ACK "), "{}", sent[0].1);
}

#[test]
fn a_server_told_to_offer_md5_alone_challenges_with_md5_alone() {
    let mut server = server().with_digest_algorithms(&[Algorithm::Md5]);
    let answer = only_answer(&mut server, AMY, &register());
    let offered = header(&answer, "WWW-Authenticate");
    assert_eq!(offered.len(), 1, "{answer}");
    assert!(offered[0].contains("algorithm=MD5"), "{answer}");

    let mut default = self::server();
    let offered = header(
        &only_answer(&mut default, AMY, &register()),
        "WWW-Authenticate",
    )
    .into_iter()
    .map(|value| value.split("algorithm=").nth(1).unwrap().to_owned())
    .collect::<Vec<_>>();
    assert_eq!(offered.len(), 2);
    assert!(offered[0].starts_with("MD5,") && offered[1].starts_with("SHA-256,"));
}
