//! STUN keep-alives (RFC 5626 §4.4.2, negotiated as RFC 6223 says) over
//! real loopback sockets: `confab serve` grants them to a REGISTER that
//! offers them and answers them on its SIP port from the flow registered, and a `confab agent` that
//! was granted them sends them instead of OPTIONS.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use confab::proto::build::{self, status};
use confab::proto::{message, stun};
use rsip::SipMessage;

use crate::harness::{AgentProcess, DOMAIN, ServerProcess};

/// A socket whose every read gives up at `deadline`.
struct Peer {
    socket: UdpSocket,
    buffer: Vec<u8>,
}

impl Peer {
    fn bind() -> Peer {
        Peer {
            socket: UdpSocket::bind("127.0.0.1:0").unwrap(),
            buffer: vec![0; 65_536],
        }
    }

    fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// The next datagram before `deadline`, or None.
    fn receive(&mut self, deadline: Instant) -> Option<(Vec<u8>, SocketAddr)> {
        let left = deadline.checked_duration_since(Instant::now())?;
        self.socket
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        let (len, from) = self.socket.recv_from(&mut self.buffer).ok()?;
        Some((self.buffer[..len].to_vec(), from))
    }

    /// Sends `request` until a datagram comes back that `wanted` accepts.
    fn ask(&mut self, to: SocketAddr, request: &[u8], wanted: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            self.socket.send_to(request, to).unwrap();
            let wait = (Instant::now() + Duration::from_millis(300)).min(deadline);
            while let Some((answer, _)) = self.receive(wait) {
                if wanted(&answer) {
                    return answer;
                }
            }
        }
        panic!("no answer from {to}");
    }
}

#[test]
fn the_server_answers_stun_on_its_sip_port_and_grants_keep_to_a_register_offering_it() {
    let server = ServerProcess::start_with(&["--demo", "--no-auth"]);
    let mut peer = Peer::bind();

    let local = peer.addr();
    let register = |branch: &str, keep: &str| {
        format!(
            "REGISTER sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{branch};rport{keep}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:amy@{DOMAIN}>;tag=k\r\nTo: <sip:amy@{DOMAIN}>\r\n\
             Call-ID: keep@{local}\r\nCSeq: {} REGISTER\r\nContact: <sip:amy@{local}>\r\n\
             Expires: 60\r\nContent-Length: 0\r\n\r\n",
            branch.len()
        )
    };
    let final_answer = |bytes: &[u8]| bytes.starts_with(b"SIP/2.0 2");
    let top_via = |answer: Vec<u8>| {
        let text = String::from_utf8(answer).unwrap();
        let via = text.lines().find(|line| line.starts_with("Via: "));
        via.unwrap().to_owned()
    };
    let granted = top_via(peer.ask(server.addr, register("a", ";keep").as_bytes(), final_answer));
    assert!(granted.contains(";keep=30"), "{granted}");
    // Registered from this socket: its keep-alives are answered.
    let transaction = [7u8; 12];
    let answer = peer.ask(
        server.addr,
        &stun::binding_request(transaction),
        stun::is_stun,
    );
    let answer = stun::read_binding_answer(&answer).unwrap();
    assert_eq!(answer.transaction, transaction);
    assert_eq!(answer.mapped, peer.addr(), "where the server saw us");
    let software = answer.software.unwrap();
    assert!(build::boot_token(&software).is_some(), "{software}");

    let plain = top_via(peer.ask(server.addr, register("bb", "").as_bytes(), final_answer));
    assert!(
        !plain.contains("keep"),
        "nothing offered, nothing granted: {plain}"
    );
}

#[test]
fn a_client_granted_keepalives_sends_stun_and_no_options() {
    // A registrar of our own, to grant keep-alives every second and watch.
    let mut registrar = Peer::bind();
    // Our own interval is 2 s, so an OPTIONS keep-alive would come inside
    // the test; the grant of 1 s makes them STUN, every 0.8-1 s.
    let agent = AgentProcess::start(
        "vivian",
        registrar.addr(),
        "vivian",
        "vivian",
        &["--keepalive", "2"],
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut keepalives = 0;
    let mut client = None;
    while keepalives < 4 {
        let Some((bytes, from)) = registrar.receive(deadline) else {
            panic!("{keepalives} STUN keep-alives before the deadline");
        };
        if stun::is_stun(&bytes) {
            assert_eq!(Some(from), client, "from the registered client");
            let answer = stun::answer_binding(&bytes, from, "test").unwrap().unwrap();
            registrar.socket.send_to(&answer, from).unwrap();
            keepalives += 1;
            continue;
        }
        let Ok(SipMessage::Request(request)) = message::parse(&bytes) else {
            continue;
        };
        assert_ne!(
            request.method,
            rsip::Method::Options,
            "no OPTIONS keep-alive"
        );
        if request.method == rsip::Method::Register {
            assert!(
                stun::offers_keep(&request),
                "the REGISTER offers keep-alives"
            );
            let mut response = build::response_to(&request, status(200), Some("reg"));
            stun::grant_keep(&mut response, Duration::from_secs(1));
            response.headers.push(rsip::Header::ContentLength(0.into()));
            registrar
                .socket
                .send_to(response.to_string().as_bytes(), from)
                .unwrap();
            client = Some(from);
        }
    }
    agent.expect("registered", Duration::from_secs(1));
}
