//! Provisioning between the server core and client cores, on a lossless
//! network in virtual time: every message crosses at once.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use crate::client::{Client, ClientConfig, Command, Event, LocationProfile};
use crate::proto::location_profile::LocationProfiles;
use crate::proto::{Peer, SipCore, Time, message};
use crate::server::{Server, ServerConfig};
use crate::store::{Contacts, Directory};

const SERVER: &str = "10.0.0.1:5060";
/// A trunk the server trusts: it has no user, so no provisioning.
const TRUNK: &str = "10.0.0.99:5060";

const PROFILES: &str = r#"
[[profile]]
name = "US"
[[profile.rule]]
pattern = '^(\d{7})$'
translation = '+1425$1'
description = "7-digit local"

[[profile]]
name = "DE-Berlin"
[[profile.rule]]
pattern = '^0([1-9]\d+)$'
translation = '+49$1'
description = "national"
[[profile.rule]]
pattern = '^([1-9]\d{4,8})$'
translation = '+4930$1'
description = "Berlin local"
"#;

struct Net {
    now: Time,
    server: Server,
    clients: Vec<(SocketAddr, Client, Vec<Event>)>,
    /// What reached the trunk.
    trunk: Vec<String>,
}

impl Net {
    /// The demo directory, amy given `amy_profile`, and the server loaded
    /// with [`PROFILES`].
    fn new(amy_profile: &str) -> Net {
        let directory = Directory::open_in_memory().unwrap();
        directory.seed_demo("confab.local").unwrap();
        assert!(
            directory
                .set_location_profile("amy", "confab.local", amy_profile)
                .unwrap()
        );
        let contacts = Contacts::open_in_memory().unwrap();
        let server = Server::new(
            ServerConfig {
                domain: "confab.local".into(),
                local: SERVER.parse().unwrap(),
                trusted_peers: vec![TRUNK.parse::<SocketAddr>().unwrap().ip()],
                seed: 3,
                pstn: None,
                access_number: None,
            },
            Box::new(directory),
            Box::new(contacts),
        )
        .with_location_profiles(LocationProfiles::from_toml(PROFILES).unwrap());
        Net {
            now: Time::ZERO,
            server,
            clients: Vec::new(),
            trunk: Vec::new(),
        }
    }

    fn sign_in(&mut self, user: &str, at: &str) -> usize {
        let local = at.parse().unwrap();
        let mut client = Client::new(ClientConfig {
            user: user.into(),
            domain: "confab.local".into(),
            password: user.into(),
            server: Peer::udp(SERVER.parse().unwrap()),
            local,
            register_expiry: Duration::from_secs(300),
            keepalive_interval: Duration::from_secs(30),
            media_port: 40_000,
            seed: self.clients.len() as u64 + 20,
        });
        client.start(self.now);
        self.clients.push((local, client, Vec::new()));
        self.clients.len() - 1
    }

    /// Delivers everything queued; whether anything was.
    fn deliver(&mut self) -> bool {
        let mut moved = false;
        while let Some(transmit) = self.server.poll_transmit() {
            moved = true;
            let from = Peer::udp(SERVER.parse().unwrap());
            if transmit.destination.addr == TRUNK.parse().unwrap() {
                self.trunk
                    .push(String::from_utf8_lossy(&transmit.payload).into_owned());
                continue;
            }
            if let Some((_, client, _)) = self
                .clients
                .iter_mut()
                .find(|(addr, ..)| *addr == transmit.destination.addr)
            {
                client.handle_datagram(self.now, from, &transmit.payload);
            }
        }
        for (addr, client, events) in &mut self.clients {
            while let Some(transmit) = client.poll_transmit() {
                moved = true;
                self.server
                    .handle_datagram(self.now, Peer::udp(*addr), &transmit.payload);
            }
            while let Some(event) = client.poll_event() {
                events.push(event);
            }
            while client.poll_io_request().is_some() {}
        }
        while self.server.poll_io_request().is_some() {}
        moved
    }

    /// Runs until `done`, at most `limit` of virtual time.
    fn run_until(&mut self, limit: Duration, done: impl Fn(&Net) -> bool) {
        let end = self.now + limit;
        loop {
            while self.deliver() {}
            if done(self) {
                return;
            }
            let next = self
                .clients
                .iter()
                .filter_map(|(_, client, _)| client.poll_timeout())
                .chain(self.server.poll_timeout())
                .min()
                .unwrap_or(end)
                .max(self.now);
            assert!(next <= end, "not done within {limit:?}");
            self.now = next;
            self.server.handle_timeout(self.now);
            for (_, client, _) in &mut self.clients {
                client.handle_timeout(self.now);
            }
        }
    }

    fn provisioned(&self, client: usize) -> Option<(LocationProfile, bool, Option<String>)> {
        self.clients[client]
            .2
            .iter()
            .rev()
            .find_map(|event| match event {
                Event::Provisioned {
                    location_profile,
                    from_server,
                    work_number,
                } => Some((location_profile.clone(), *from_server, work_number.clone())),
                _ => None,
            })
    }

    fn command(&mut self, client: usize, command: Command) {
        self.clients[client].1.handle_command(self.now, command);
        while self.deliver() {}
    }
}

#[test]
fn each_user_is_provisioned_with_their_profile_and_work_number() {
    let mut net = Net::new("DE-Berlin");
    let vivian = net.sign_in("vivian", "10.0.0.11:5062");
    let amy = net.sign_in("amy", "10.0.0.12:5062");
    net.run_until(Duration::from_secs(10), |net| {
        net.provisioned(vivian).is_some() && net.provisioned(amy).is_some()
    });

    let (profile, from_server, number) = net.provisioned(vivian).unwrap();
    assert_eq!(profile.name(), "US");
    assert_eq!(
        profile.rules().len(),
        1,
        "the server's US, not the shipped one"
    );
    assert!(from_server);
    assert_eq!(number.as_deref(), Some("+14255032002"));

    let (profile, from_server, number) = net.provisioned(amy).unwrap();
    assert_eq!(profile.name(), "DE-Berlin");
    assert!(from_server);
    assert_eq!(number.as_deref(), Some("+14255550143"));
    assert_eq!(net.clients[amy].1.location_profile(), &profile);
    assert_eq!(net.clients[amy].1.work_number(), Some("+14255550143"));

    // The client dials by what it was given.
    net.command(
        amy,
        Command::Normalize {
            number: "030 1234-5678".into(),
        },
    );
    net.command(
        amy,
        Command::Normalize {
            number: "5550123".into(),
        },
    );
    let events = &net.clients[amy].2;
    assert!(events.contains(&Event::Normalized {
        number: "030 1234-5678".into(),
        e164: "+493012345678".into(),
        rule: "national".into(),
    }));
    assert!(events.contains(&Event::Normalized {
        number: "5550123".into(),
        e164: "+49305550123".into(),
        rule: "Berlin local".into(),
    }));
}

#[test]
fn the_subscription_lives_on_through_refreshes() {
    let mut net = Net::new("US");
    let vivian = net.sign_in("vivian", "10.0.0.11:5062");
    net.run_until(Duration::from_secs(10), |net| {
        net.provisioned(vivian).is_some()
    });
    let documents = |net: &Net| {
        net.clients[vivian]
            .2
            .iter()
            .filter(|event| matches!(event, Event::Provisioned { .. }))
            .count()
    };
    let start = net.now;
    net.run_until(Duration::from_secs(3 * 3600), |net| {
        net.now >= start + Duration::from_secs(2 * 3600 + 60)
    });
    // Each refresh's NOTIFY carries the document again; none was refused.
    assert!(documents(&net) >= 3, "{} documents", documents(&net));
    assert!(net.provisioned(vivian).unwrap().1);
}

#[test]
fn a_profile_the_server_has_not_loaded_leaves_the_shipped_one() {
    let mut net = Net::new("XX");
    let amy = net.sign_in("amy", "10.0.0.12:5062");
    net.run_until(Duration::from_secs(10), |net| {
        net.provisioned(amy).is_some()
    });
    let (profile, from_server, number) = net.provisioned(amy).unwrap();
    assert!(!from_server);
    assert_eq!(profile, LocationProfile::fallback());
    assert_eq!(number.as_deref(), Some("+14255550143"));
}

#[test]
fn only_the_owner_subscribes_to_their_provisioning() {
    let mut net = Net::new("US");
    let subscribe = format!(
        "SUBSCRIBE sip:vivian@confab.local SIP/2.0\r\n\
         Via: SIP/2.0/UDP {TRUNK};branch=z9hG4bKprov1\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:gateway@{TRUNK}>;tag=t1\r\n\
         To: <sip:vivian@confab.local>\r\n\
         Call-ID: prov1@trunk\r\n\
         CSeq: 1 SUBSCRIBE\r\n\
         Contact: <sip:gateway@{TRUNK}>\r\n\
         Event: vnd.confab.provisioning\r\n\
         Expires: 3600\r\n\
         Content-Length: 0\r\n\r\n"
    );
    net.server.handle_datagram(
        net.now,
        Peer::udp(TRUNK.parse().unwrap()),
        subscribe.as_bytes(),
    );
    while net.deliver() {}
    assert_eq!(net.trunk.len(), 1, "{:#?}", net.trunk);
    let response = message::parse(net.trunk[0].as_bytes()).unwrap();
    let rsip::SipMessage::Response(response) = response else {
        panic!("not a response: {}", net.trunk[0]);
    };
    assert_eq!(response.status_code.code(), 403);
    assert!(
        net.trunk[0].contains("Not Your Provisioning"),
        "{}",
        net.trunk[0]
    );
}
