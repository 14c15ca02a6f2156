//! A simulated network for the server and client cores, in virtual time:
//! no sockets, no clock, seeded loss. A registration with its retries, or a
//! 32-second timer, runs in microseconds and the same way every run.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use confab::client::{self, Client, ClientConfig};
use confab::proto::digest::DigestClient;
use confab::proto::{Peer, SipCore, Time};
use confab::server::{Server, ServerConfig};
use confab::store::{Contacts, Directory};

pub const SERVER: &str = "10.0.0.1:5060";

pub fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

pub struct Node {
    pub addr: SocketAddr,
    pub core: Client,
    pub events: Vec<client::Event>,
    /// What the core asked of its media task.
    pub io: Vec<confab::proto::IoRequest>,
}

/// A UA that sends what the test writes and keeps what it receives.
pub struct RawUa {
    pub addr: SocketAddr,
    pub inbox: VecDeque<String>,
}

pub struct Network {
    pub now: Time,
    pub server: Server,
    pub clients: Vec<Node>,
    pub raw: Vec<RawUa>,
    pub in_flight: Vec<(Time, Peer, SocketAddr, Vec<u8>)>,
    pub latency: Duration,
    pub loss: f64,
    /// What the server asked of its conference mixer; leg ports are
    /// granted at once, as a driver would.
    pub mcu: Vec<confab::proto::IoRequest>,
    silenced: Vec<SocketAddr>,
    rng: StdRng,
}

impl Network {
    pub fn new(loss: f64) -> Network {
        Network {
            now: Time::ZERO,
            server: new_server(1),
            clients: Vec::new(),
            raw: Vec::new(),
            in_flight: Vec::new(),
            latency: Duration::from_millis(20),
            loss,
            mcu: Vec::new(),
            silenced: Vec::new(),
            rng: StdRng::seed_from_u64(99),
        }
    }

    pub fn add_client(&mut self, at: &str, user: &str, password: &str) -> usize {
        let local = addr(at);
        let mut core = Client::new(ClientConfig {
            user: user.into(),
            domain: "confab.local".into(),
            password: password.into(),
            server: Peer::udp(addr(SERVER)),
            local,
            register_expiry: Duration::from_secs(300),
            keepalive_interval: Duration::from_secs(30),
            media_port: 40_000 + self.clients.len() as u16 * 2,
            seed: self.clients.len() as u64 + 10,
        });
        core.start(self.now);
        self.clients.push(Node {
            addr: local,
            core,
            events: Vec::new(),
            io: Vec::new(),
        });
        self.clients.len() - 1
    }

    pub fn add_raw(&mut self, at: &str) -> usize {
        self.raw.push(RawUa {
            addr: addr(at),
            inbox: VecDeque::new(),
        });
        self.raw.len() - 1
    }

    pub fn send_raw(&mut self, ua: usize, text: &str) {
        let from = Peer::udp(self.raw[ua].addr);
        self.in_flight.push((
            self.now + self.latency,
            from,
            addr(SERVER),
            text.as_bytes().to_vec(),
        ));
    }

    /// Moves every queued output onto the wire, dropping some.
    pub fn collect(&mut self) {
        let mut outgoing = Vec::new();
        while let Some(request) = self.server.poll_io_request() {
            if let confab::proto::IoRequest::McuOpenLeg { leg, .. } = &request {
                let port = 40_000 + u16::try_from(*leg % 10_000).unwrap() * 2;
                let ready = confab::proto::IoResult::McuLegReady { leg: *leg, port };
                self.server
                    .handle_command(self.now, confab::server::ServerCommand::Io(ready));
            }
            self.mcu.push(request);
        }
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
            while let Some(request) = node.core.poll_io_request() {
                node.io.push(request);
            }
        }
        for (from, transmit) in outgoing {
            if self.rng.random_bool(self.loss)
                || self.silenced.contains(&from.addr)
                || self.silenced.contains(&transmit.destination.addr)
            {
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
    pub fn step(&mut self) -> bool {
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
        let trace = std::env::var_os("SIMNET_TRACE").is_some();
        for (_, from, to, bytes) in due {
            if trace {
                eprintln!(
                    "--- {} {from} -> {to}\n{}",
                    self.now.since_epoch().as_millis(),
                    String::from_utf8_lossy(&bytes)
                );
            }
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

    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Network) -> bool) {
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

    pub fn run_for(&mut self, span: Duration) {
        let deadline = self.now + span;
        while self.now < deadline && self.step() {}
    }

    /// hao's INVITE from a raw UA: challenged, ACKed, sent again with
    /// credentials as CSeq 2.
    pub fn invite_as_hao(&mut self, hao: usize, target: &str, call: &str) {
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

    /// Cuts a client off: what it sends is lost, and so is what is sent to it.
    pub fn silence(&mut self, client: usize) {
        self.silenced.push(self.clients[client].addr);
    }

    /// Gives a client core a command, as its front end would.
    pub fn command(&mut self, client: usize, command: client::Command) {
        let now = self.now;
        self.clients[client].core.handle_command(now, command);
    }

    pub fn has_event(&self, client: usize, wanted: impl Fn(&client::Event) -> bool) -> bool {
        self.clients[client].events.iter().any(wanted)
    }

    /// Waits for the raw UA's next message whose first line starts with `start`.
    pub fn expect_raw(&mut self, ua: usize, start: &str) -> String {
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

pub fn new_server(seed: u64) -> Server {
    server_with_users(seed, &[])
}

/// A server with the demo directory and `extra` users besides (each one's
/// password is the user name).
pub fn server_with_users(seed: u64, extra: &[String]) -> Server {
    server_with(
        seed,
        extra,
        confab::server::gateway::PstnRoute::User(confab::demo::PHONE_LINE.into()),
    )
}

/// A server with `extra` users and numbers nobody owns going to `pstn`.
pub fn server_with(
    seed: u64,
    extra: &[String],
    pstn: confab::server::gateway::PstnRoute,
) -> Server {
    let directory = Directory::open_in_memory().unwrap();
    directory.seed_demo("confab.local").unwrap();
    for user in extra {
        directory
            .add_user(&confab::store::NewUser {
                username: user.clone(),
                domain: "confab.local".into(),
                password: user.clone(),
                display_name: format!("User {user}"),
                work_number: None,
            })
            .unwrap();
    }
    let contacts = Contacts::open_in_memory().unwrap();
    contacts.seed_demo("confab.local").unwrap();
    Server::new(
        ServerConfig {
            domain: "confab.local".into(),
            local: addr(SERVER),
            trusted_peers: Vec::new(),
            seed,
            pstn: Some(pstn),
            access_number: Some(confab::demo::ACCESS_NUMBER.into()),
        },
        Box::new(directory),
        Box::new(contacts),
    )
}

pub fn registered(event: &client::Event) -> bool {
    matches!(event, client::Event::Registered { .. })
}

/// A request from the raw UA at `ua_addr` as `user`.
pub fn raw_request(
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
pub fn answer(user: &str, challenge: &str, method: &str, target: &str) -> String {
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

pub fn header_line<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find(|line| {
        line.to_ascii_lowercase()
            .starts_with(&format!("{}:", name.to_ascii_lowercase()))
    })
}

/// The conference rosters client `client` was sent, in order: (version,
/// users).
pub fn rosters(net: &Network, client: usize) -> Vec<(u32, Vec<client::Participant>)> {
    net.clients[client]
        .events
        .iter()
        .filter_map(|event| match event {
            client::Event::Roster { version, users, .. } => Some((*version, users.clone())),
            _ => None,
        })
        .collect()
}
