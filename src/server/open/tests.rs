//! The server without authentication, fed raw requests in virtual time:
//! what it lets in, and that it still relays nowhere.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use crate::proto::{Peer, SipCore, Time};
use crate::server::Server;

const SERVER: &str = "10.0.0.1:5060";
const AMY: &str = "10.0.0.12:5062";
const HAO: &str = "10.0.0.13:5062";
const STRANGER: &str = "192.0.2.7:5060";

fn server(no_auth: bool) -> Server {
    let server = crate::server::demo_server(SERVER);
    if no_auth {
        server.without_authentication()
    } else {
        server
    }
}

/// What the server sent to `to`, as text, after feeding it `request`
/// from `from`.
fn exchange(server: &mut Server, from: &str, request: &str) -> Vec<(SocketAddr, String)> {
    let from: SocketAddr = from.parse().unwrap();
    server.handle_datagram(Time::ZERO, Peer::udp(from), request.as_bytes());
    let mut sent = Vec::new();
    while let Some(transmit) = server.poll_transmit() {
        let text = String::from_utf8_lossy(&transmit.payload).into_owned();
        sent.push((transmit.destination.addr, text));
    }
    sent
}

/// The status line of the one response sent back to `from`.
fn answer(server: &mut Server, from: &str, request: &str) -> String {
    let sent = exchange(server, from, request);
    let back: Vec<_> = sent
        .iter()
        .filter(|(to, text)| *to == from.parse().unwrap() && text.starts_with("SIP/2.0 "))
        .collect();
    assert_eq!(back.len(), 1, "one answer expected: {sent:?}");
    back[0].1.lines().next().unwrap().to_owned()
}

fn register(user: &str, contact: &str, call: u32) -> String {
    format!(
        "REGISTER sip:confab.local SIP/2.0\r\n\
         Via: SIP/2.0/UDP {contact};branch=z9hG4bKreg{call}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{user}@confab.local>;tag=r{call}\r\n\
         To: <sip:{user}@confab.local>\r\n\
         Call-ID: reg{call}@test\r\n\
         CSeq: 1 REGISTER\r\n\
         Contact: <sip:{user}@{contact}>\r\n\
         Expires: 300\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// A MESSAGE to `uri` from `from_user`, sent from `via`; `extra` adds
/// header lines (each ending in CRLF).
fn message(uri: &str, from_user: &str, via: &str, call: u32, extra: &str) -> String {
    format!(
        "MESSAGE {uri} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {via};branch=z9hG4bKmsg{call}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{from_user}>;tag=m{call}\r\n\
         To: <{uri}>\r\n\
         Call-ID: msg{call}@test\r\n\
         CSeq: 1 MESSAGE\r\n\
         {extra}Content-Type: text/plain\r\n\
         Content-Length: 2\r\n\r\nhi"
    )
}

#[test]
fn a_register_without_credentials_is_challenged_unless_authentication_is_off() {
    let mut closed = server(false);
    assert_eq!(
        answer(&mut closed, AMY, &register("amy", AMY, 1)),
        "SIP/2.0 401 Unauthorized"
    );
    let mut open = server(true);
    assert_eq!(
        answer(&mut open, AMY, &register("amy", AMY, 1)),
        "SIP/2.0 200 OK"
    );
    let amy = crate::server::registrar::Aor::new("amy", "confab.local");
    assert!(open.registrar().is_registered(&amy, Time::ZERO));
}

#[test]
fn only_users_of_the_directory_register() {
    let mut open = server(true);
    assert_eq!(
        answer(&mut open, STRANGER, &register("zed", STRANGER, 1)),
        "SIP/2.0 404 Not Found"
    );
    assert_eq!(open.registrar().binding_count(), 0);
}

#[test]
fn a_message_reaches_a_registered_user_without_a_challenge() {
    let mut open = server(true);
    answer(&mut open, HAO, &register("hao", HAO, 1));
    let request = message("sip:hao@confab.local", "amy@confab.local", AMY, 2, "");
    let sent = exchange(&mut open, AMY, &request);
    assert!(
        sent.iter()
            .any(|(to, text)| *to == HAO.parse().unwrap() && text.starts_with("MESSAGE ")),
        "forwarded to hao: {sent:?}"
    );
    assert!(
        !sent.iter().any(|(_, text)| text.contains(" 407 ")),
        "{sent:?}"
    );
}

#[test]
fn nothing_is_relayed_to_another_host_or_domain() {
    let mut open = server(true);
    answer(&mut open, HAO, &register("hao", HAO, 1));
    // Another domain.
    let elsewhere = message("sip:bob@example.com", "amy@confab.local", STRANGER, 2, "");
    assert_eq!(
        answer(&mut open, STRANGER, &elsewhere),
        "SIP/2.0 403 Relaying Denied"
    );
    // A user of ours, but loose-routed on to another host.
    let routed = message(
        "sip:hao@confab.local",
        "amy@confab.local",
        STRANGER,
        3,
        "Route: <sip:198.51.100.9;lr>\r\n",
    );
    let sent = exchange(&mut open, STRANGER, &routed);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].1.starts_with("SIP/2.0 403 Relaying Denied"),
        "{sent:?}"
    );
    // A request "in a dialog" at a contact URI, without our route token.
    let in_dialog = message(
        "sip:bob@198.51.100.9:5060",
        "amy@confab.local",
        STRANGER,
        4,
        "",
    )
    .replace(
        "To: <sip:bob@198.51.100.9:5060>",
        "To: <sip:bob@198.51.100.9:5060>;tag=x",
    );
    let sent = exchange(&mut open, STRANGER, &in_dialog);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].1.starts_with("SIP/2.0 403 Relaying Denied"),
        "{sent:?}"
    );
}

#[test]
fn stun_keepalives_are_answered_only_on_flows_that_registered() {
    use crate::proto::stun;
    let mut server = server(true);
    let binding_request = stun::binding_request([3; 12]);
    let from = Peer::udp(AMY.parse().unwrap());
    server.handle_datagram(Time::ZERO, from, &binding_request);
    assert!(
        server.poll_transmit().is_none(),
        "no binding: no answer to reflect"
    );

    assert_eq!(
        answer(&mut server, AMY, &register("amy", AMY, 1)),
        "SIP/2.0 200 OK"
    );
    server.handle_datagram(Time::ZERO, from, &binding_request);
    let answer = server.poll_transmit().expect("answered once registered");
    assert_eq!(answer.destination, from);
    let read = stun::read_binding_answer(&answer.payload).unwrap();
    assert_eq!(read.mapped, from.addr);

    let elsewhere = Peer::udp(STRANGER.parse().unwrap());
    server.handle_datagram(Time::ZERO, elsewhere, &binding_request);
    assert!(
        server.poll_transmit().is_none(),
        "another source, not answered"
    );
}
