//! The server and client cores on a simulated network in virtual time: no
//! sockets, no clock, seeded loss. A registration with its retries, or a
//! 32-second timer, runs in microseconds and the same way every run.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use confab::client::{self, Client, ClientConfig};
use confab::proto::digest::DigestClient;
use confab::proto::message;
use confab::proto::{Peer, SipCore, Time};
use confab::server::{Server, ServerConfig};
use confab::store::Directory;

const SERVER: &str = "10.0.0.1:5060";

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

struct Node {
    addr: SocketAddr,
    core: Client,
    events: Vec<client::Event>,
}

/// A UA that sends what the test writes and keeps what it receives.
struct RawUa {
    addr: SocketAddr,
    inbox: VecDeque<String>,
}

struct Network {
    now: Time,
    server: Server,
    clients: Vec<Node>,
    raw: Vec<RawUa>,
    in_flight: Vec<(Time, Peer, SocketAddr, Vec<u8>)>,
    latency: Duration,
    loss: f64,
    rng: StdRng,
}

impl Network {
    fn new(loss: f64) -> Network {
        Network {
            now: Time::ZERO,
            server: new_server(1),
            clients: Vec::new(),
            raw: Vec::new(),
            in_flight: Vec::new(),
            latency: Duration::from_millis(20),
            loss,
            rng: StdRng::seed_from_u64(99),
        }
    }

    fn add_client(&mut self, at: &str, user: &str, password: &str) -> usize {
        let local = addr(at);
        let mut core = Client::new(ClientConfig {
            user: user.into(),
            domain: "confab.local".into(),
            password: password.into(),
            server: Peer::udp(addr(SERVER)),
            local,
            register_expiry: Duration::from_secs(300),
            keepalive_interval: Duration::from_secs(30),
            seed: self.clients.len() as u64 + 10,
        });
        core.start(self.now);
        self.clients.push(Node {
            addr: local,
            core,
            events: Vec::new(),
        });
        self.clients.len() - 1
    }

    fn add_raw(&mut self, at: &str) -> usize {
        self.raw.push(RawUa {
            addr: addr(at),
            inbox: VecDeque::new(),
        });
        self.raw.len() - 1
    }

    fn send_raw(&mut self, ua: usize, text: &str) {
        let from = Peer::udp(self.raw[ua].addr);
        self.in_flight.push((
            self.now + self.latency,
            from,
            addr(SERVER),
            text.as_bytes().to_vec(),
        ));
    }

    /// Moves every queued output onto the wire, dropping some.
    fn collect(&mut self) {
        let mut outgoing = Vec::new();
        while let Some(transmit) = self.server.poll_transmit() {
            outgoing.push((Peer::udp(addr(SERVER)), transmit));
        }
        while self.server.poll_event().is_some() {}
        for node in &mut self.clients {
            while let Some(transmit) = node.core.poll_transmit() {
                outgoing.push((Peer::udp(node.addr), transmit));
            }
            while let Some(event) = node.core.poll_event() {
                node.events.push(event);
            }
        }
        for (from, transmit) in outgoing {
            if self.rng.random_bool(self.loss) {
                continue;
            }
            self.in_flight.push((
                self.now + self.latency,
                from,
                transmit.destination.addr,
                transmit.payload,
            ));
        }
    }

    /// Advances to the next delivery or timer and handles it.
    fn step(&mut self) -> bool {
        self.collect();
        let next_delivery = self.in_flight.iter().map(|(at, ..)| *at).min();
        let next_timer = std::iter::once(self.server.poll_timeout())
            .chain(self.clients.iter().map(|node| node.core.poll_timeout()))
            .flatten()
            .min();
        let Some(next) = [next_delivery, next_timer].into_iter().flatten().min() else {
            return false;
        };
        self.now = self.now.max(next);
        let (due, later): (Vec<_>, Vec<_>) = self
            .in_flight
            .drain(..)
            .partition(|(at, ..)| *at <= self.now);
        self.in_flight = later;
        for (_, from, to, bytes) in due {
            if to == addr(SERVER) {
                self.server.handle_datagram(self.now, from, &bytes);
            } else if let Some(node) = self.clients.iter_mut().find(|node| node.addr == to) {
                node.core.handle_datagram(self.now, from, &bytes);
            } else if let Some(ua) = self.raw.iter_mut().find(|ua| ua.addr == to) {
                ua.inbox
                    .push_back(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        if self.server.poll_timeout().is_some_and(|at| at <= self.now) {
            self.server.handle_timeout(self.now);
        }
        for node in &mut self.clients {
            if node.core.poll_timeout().is_some_and(|at| at <= self.now) {
                node.core.handle_timeout(self.now);
            }
        }
        self.collect();
        true
    }

    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Network) -> bool) {
        let deadline = self.now + limit;
        while !done(self) {
            assert!(
                self.now < deadline,
                "condition not met within {limit:?} of virtual time"
            );
            assert!(
                self.step(),
                "the network went idle before the condition was met"
            );
        }
    }

    fn run_for(&mut self, span: Duration) {
        let deadline = self.now + span;
        while self.now < deadline && self.step() {}
    }

    /// hao's INVITE from a raw UA: challenged, ACKed, sent again with
    /// credentials as CSeq 2.
    fn invite_as_hao(&mut self, hao: usize, target: &str, call: &str) {
        let ua = self.raw[hao].addr;
        self.send_raw(hao, &raw_request("INVITE", target, "hao", ua, call, 1, ""));
        let challenge = self.expect_raw(hao, "SIP/2.0 407");
        self.send_raw(hao, &raw_request("ACK", target, "hao", ua, call, 1, ""));
        let credentials = answer("hao", &challenge, "INVITE", target);
        self.send_raw(
            hao,
            &raw_request("INVITE", target, "hao", ua, call, 2, &credentials),
        );
    }

    fn has_event(&self, client: usize, wanted: impl Fn(&client::Event) -> bool) -> bool {
        self.clients[client].events.iter().any(wanted)
    }

    /// Waits for the raw UA's next message whose first line starts with `start`.
    fn expect_raw(&mut self, ua: usize, start: &str) -> String {
        let limit = Duration::from_secs(10);
        let deadline = self.now + limit;
        loop {
            if let Some(index) = self.raw[ua].inbox.iter().position(|m| m.starts_with(start)) {
                return self.raw[ua].inbox.remove(index).unwrap();
            }
            assert!(
                self.now < deadline,
                "no {start:?} for the raw UA; got {:?}",
                self.raw[ua].inbox
            );
            assert!(self.step(), "idle while waiting for {start:?}");
        }
    }
}

fn new_server(seed: u64) -> Server {
    let directory = Directory::open_in_memory().unwrap();
    directory.seed_demo("confab.local").unwrap();
    Server::new(
        ServerConfig {
            domain: "confab.local".into(),
            local: addr(SERVER),
            trusted_peers: Vec::new(),
            seed,
        },
        Box::new(directory),
    )
}

fn registered(event: &client::Event) -> bool {
    matches!(event, client::Event::Registered { .. })
}

/// A request from the raw UA at `ua_addr` as `user`.
fn raw_request(
    method: &str,
    target: &str,
    user: &str,
    ua: SocketAddr,
    call: &str,
    cseq: u32,
    extra: &str,
) -> String {
    let body = if method == "INVITE" {
        "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
    } else {
        ""
    };
    let content_type = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/sdp\r\n"
    };
    format!(
        "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {ua};branch=z9hG4bK{call}{cseq};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:{user}@confab.local>;tag=raw{call}\r\nTo: <{target}>\r\n\
         Call-ID: {call}\r\nCSeq: {cseq} {method}\r\nContact: <sip:{user}@{ua}>\r\n{extra}{content_type}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// The credentials header answering the challenge in `challenge`.
fn answer(user: &str, challenge: &str, method: &str, target: &str) -> String {
    let response = rsip::Response::try_from(challenge).unwrap();
    let mut digest = DigestClient::new(user, user);
    let uri = rsip::Uri::try_from(target).unwrap();
    let method: rsip::Method = method.parse().unwrap();
    let headers = digest
        .answer(&mut StdRng::seed_from_u64(5), &response, &method, &uri)
        .unwrap();
    headers
        .iter()
        .map(|header| format!("{header}\r\n"))
        .collect()
}

fn header_line<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find(|line| {
        line.to_ascii_lowercase()
            .starts_with(&format!("{}:", name.to_ascii_lowercase()))
    })
}

#[test]
fn clients_register_through_a_lossy_network() {
    let mut net = Network::new(0.3);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let amy = net.add_client("10.0.0.12:5060", "amy", "amy");
    net.run_until(Duration::from_secs(120), |net| {
        net.has_event(vivian, registered) && net.has_event(amy, registered)
    });
    assert!(net.now < Time::ZERO + Duration::from_secs(120));
    // They stay registered across refreshes: no failure in ten minutes.
    net.loss = 0.0;
    net.run_for(Duration::from_secs(600));
    for client in [vivian, amy] {
        let failures = net.clients[client]
            .events
            .iter()
            .filter(|event| matches!(event, client::Event::RegistrationFailed { .. }))
            .count();
        assert_eq!(failures, 0, "{:?}", net.clients[client].events);
        assert!(net.clients[client].core.registration().is_registered());
    }
}

#[test]
fn an_invite_forks_and_the_first_answer_wins() {
    let mut net = Network::new(0.0);
    let first = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let second = net.add_client("10.0.0.12:5060", "vivian", "vivian");
    let hao = net.add_raw("10.0.0.20:5060");
    net.run_until(Duration::from_secs(5), |net| {
        net.has_event(first, registered) && net.has_event(second, registered)
    });

    net.invite_as_hao(hao, "sip:vivian@confab.local", "call1");
    net.expect_raw(hao, "SIP/2.0 100");
    net.run_until(Duration::from_secs(5), |net| {
        [first, second].iter().all(|&c| {
            net.has_event(c, |e| matches!(e, client::Event::IncomingCall { from } if from == "sip:hao@confab.local"))
        })
    });
    net.expect_raw(hao, "SIP/2.0 180");

    net.clients[first]
        .core
        .handle_command(net.now, client::Command::AnswerCall);
    let ok = net.expect_raw(hao, "SIP/2.0 200");
    assert!(
        header_line(&ok, "Record-Route").is_some(),
        "the proxy stays in the dialog:\n{ok}"
    );
    net.run_until(Duration::from_secs(5), |net| {
        net.has_event(
            second,
            |e| matches!(e, client::Event::CallEnded { reason, .. } if reason == "cancelled"),
        )
    });

    // ACK and BYE follow the Record-Route back through the proxy.
    let ua = net.raw[hao].addr;
    let to = header_line(&ok, "To")
        .unwrap()
        .trim_start_matches("To:")
        .trim()
        .to_owned();
    let route = header_line(&ok, "Record-Route")
        .unwrap()
        .trim_start_matches("Record-Route:")
        .trim()
        .to_owned();
    let contact = "sip:vivian@10.0.0.11:5060";
    let in_dialog = |method: &str, cseq: u32| {
        format!(
            "{method} {contact} SIP/2.0\r\nVia: SIP/2.0/UDP {ua};branch=z9hG4bKdlg{method}{cseq};rport\r\n\
             Max-Forwards: 70\r\nRoute: {route}\r\nFrom: <sip:hao@confab.local>;tag=rawcall1\r\nTo: {to}\r\n\
             Call-ID: call1\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
        )
    };
    net.send_raw(hao, &in_dialog("ACK", 2));
    net.run_until(Duration::from_secs(5), |net| {
        net.has_event(first, |e| matches!(e, client::Event::CallConnected { .. }))
    });
    net.send_raw(hao, &in_dialog("BYE", 3));
    net.expect_raw(hao, "SIP/2.0 200");
    assert!(net.has_event(first, |e| matches!(e, client::Event::CallEnded { .. })));
}

/// Strangers learn nothing: the same challenge for a user who is online,
/// one who is offline, and one who does not exist, and for REGISTER the
/// same for known and unknown users.
#[test]
fn strangers_get_the_same_challenge_whatever_the_target() {
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let stranger = net.add_raw("10.0.0.66:5060");
    net.run_until(Duration::from_secs(5), |net| {
        net.has_event(vivian, registered)
    });
    let ua = net.raw[stranger].addr;
    let mut shapes = Vec::new();
    for (index, target) in [
        "sip:vivian@confab.local",
        "sip:amy@confab.local",
        "sip:nobody@confab.local",
    ]
    .iter()
    .enumerate()
    {
        for method in ["INVITE", "MESSAGE", "SUBSCRIBE", "OPTIONS"] {
            let call = format!("probe{index}{method}");
            net.send_raw(
                stranger,
                &raw_request(method, target, "mallory", ua, &call, 1, ""),
            );
            let reply = net.expect_raw(stranger, "SIP/2.0 ");
            assert!(
                reply.starts_with("SIP/2.0 407"),
                "{method} {target}: {reply}"
            );
            if method == "INVITE" {
                // A challenged INVITE is ACKed, or its 407 is retransmitted.
                net.send_raw(
                    stranger,
                    &raw_request("ACK", target, "mallory", ua, &call, 1, ""),
                );
            }
            shapes.push(challenge_shape(&reply));
        }
    }
    for (user, call) in [("vivian", "reg1"), ("nobody", "reg2")] {
        let register = raw_request("REGISTER", "sip:confab.local", user, ua, call, 1, "").replace(
            "To: <sip:confab.local>",
            &format!("To: <sip:{user}@confab.local>"),
        );
        net.send_raw(stranger, &register);
        let reply = net.expect_raw(stranger, "SIP/2.0 ");
        assert!(reply.starts_with("SIP/2.0 401"), "{reply}");
        shapes.push(challenge_shape(&reply).replace("WWW-Authenticate", "Proxy-Authenticate"));
    }
    assert!(
        shapes.windows(2).all(|pair| pair[0] == pair[1]),
        "{shapes:#?}"
    );
}

/// A challenge with its nonce blanked out, for comparing shapes.
fn challenge_shape(reply: &str) -> String {
    reply
        .lines()
        .filter(|line| line.contains("Authenticate"))
        .map(|line| {
            let start = line.find("nonce=\"").map(|i| i + 7).unwrap_or(0);
            let end = line[start..].find('"').map(|i| i + start).unwrap_or(start);
            format!("{}{}", &line[..start], &line[end..])
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_client_registers_again_when_a_restarted_server_answers() {
    let mut net = Network::new(0.0);
    let amy = net.add_client("10.0.0.12:5060", "amy", "amy");
    net.run_until(Duration::from_secs(5), |net| net.has_event(amy, registered));
    // The server dies: everything sent to it is lost until it restarts.
    net.loss = 1.0;
    net.run_until(Duration::from_secs(60), |net| {
        net.has_event(amy, |e| {
            matches!(e, client::Event::RegistrationFailed { .. })
        })
    });
    net.server = new_server(2);
    net.loss = 0.0;
    net.clients[amy].events.clear();
    net.run_until(Duration::from_secs(60), |net| {
        net.has_event(amy, registered)
    });
}

#[test]
fn garbage_gets_a_400_or_silence_and_the_server_carries_on() {
    let mut net = Network::new(0.0);
    let ua = net.add_raw("10.0.0.30:5060");
    let at = net.raw[ua].addr;
    let mut rng = StdRng::seed_from_u64(3);
    let valid = raw_request("OPTIONS", "sip:confab.local", "probe", at, "g", 1, "");
    for round in 0..500 {
        let mut bytes = valid.clone().into_bytes();
        match round % 3 {
            0 => bytes.truncate(rng.random_range(0..bytes.len())),
            1 => {
                for _ in 0..8 {
                    let index = rng.random_range(0..bytes.len());
                    bytes[index] = rng.random();
                }
            }
            _ => {
                bytes = (0..rng.random_range(0..300))
                    .map(|_| rng.random())
                    .collect()
            }
        }
        net.in_flight
            .push((net.now, Peer::udp(at), addr(SERVER), bytes));
        net.run_for(Duration::from_millis(1));
    }
    net.raw[ua].inbox.clear();
    net.send_raw(
        ua,
        &valid.replace("branch=z9hG4bKg1", "branch=z9hG4bKafter"),
    );
    let reply = net.expect_raw(ua, "SIP/2.0 200");
    assert!(message::parse(reply.as_bytes()).is_ok());
}

/// RFC 3261 §13.3.1.4: an answer nobody ACKs is retransmitted, then the
/// callee gives up after 64*T1 and hangs up with a BYE.
#[test]
fn an_answer_without_ack_ends_the_call_after_timer_l() {
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let hao = net.add_raw("10.0.0.20:5060");
    net.run_until(Duration::from_secs(5), |net| {
        net.has_event(vivian, registered)
    });
    net.invite_as_hao(hao, "sip:vivian@confab.local", "noack");
    net.run_until(Duration::from_secs(5), |net| {
        net.has_event(vivian, |e| matches!(e, client::Event::IncomingCall { .. }))
    });
    let answered_at = net.now;
    net.clients[vivian]
        .core
        .handle_command(net.now, client::Command::AnswerCall);
    net.expect_raw(hao, "SIP/2.0 200");
    let retransmitted = net.expect_raw(hao, "SIP/2.0 200");
    assert!(retransmitted.contains("Call-ID: noack"));
    net.run_until(Duration::from_secs(40), |net| {
        net.has_event(
            vivian,
            |e| matches!(e, client::Event::CallEnded { reason, .. } if reason.contains("no ACK")),
        )
    });
    let waited = net.now - answered_at;
    assert!(
        waited >= Duration::from_secs(32),
        "gave up after {waited:?}"
    );
    let bye = net.expect_raw(hao, "BYE ");
    assert!(bye.contains("Call-ID: noack"), "{bye}");
}
