//! What conferencing writes to the log: every line while a request is
//! handled names its Call-ID, and the conference it is about.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use crate::logging::tests::Captured;
use crate::proto::{Peer, SipCore, Time};
use crate::server::{Server, ServerConfig};
use crate::store::{Contacts, Directory};

#[test]
fn log_lines_of_a_request_name_its_call_id_and_its_conference() {
    let directory = Directory::open_in_memory().unwrap();
    directory.seed_demo("confab.local").unwrap();
    // A trusted peer's requests need no credentials, so one request shows.
    let trunk: Peer = Peer::udp("10.0.0.99:5060".parse().unwrap());
    let mut server = Server::new(
        ServerConfig {
            domain: "confab.local".into(),
            local: "10.0.0.1:5060".parse().unwrap(),
            trusted_peers: vec![trunk.addr.ip()],
            seed: 9,
            pstn: None,
            access_number: None,
        },
        Box::new(directory),
        Box::new(Contacts::open_in_memory().unwrap()),
    );
    let focus = "sip:vivian@confab.local;gruu;opaque=app:conf:focus:id:4KT9QZ2M";
    let body = "<request><addUser>";
    let invite = format!(
        "INFO {focus} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.99:5060;branch=z9hG4bKlog1\r\n\
         Max-Forwards: 70\r\nFrom: <sip:+14255550100@confab.local>;tag=a\r\nTo: <{focus}>\r\n\
         Call-ID: log-call-17\r\nCSeq: 1 INFO\r\nContent-Type: application/cccp+xml\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .fmt_fields(crate::logging::Fields)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        server.handle_datagram(Time::ZERO, trunk, invite.as_bytes());
    });
    let log = captured.text();
    assert!(
        log.contains("a conference request from no one we know"),
        "{log}"
    );
    for line in log.lines() {
        assert!(line.contains("call_id=log-call-17"), "{line}");
        assert!(line.contains("conference{id=4KT9QZ2M}"), "{line}");
    }
}
