//! The server core alone, no sockets: CPU per REGISTER as the sans-IO core
//! sees it, to set beside `benches/peers/registrar.sh` (the whole process
//! under sipp load against Kamailio). The difference between the two is
//! the driver, the system calls and the runtime.
//!
//! Two cases: a REGISTER without credentials (parse, challenge, answer
//! 401) and one with valid credentials (parse, verify the digest, update
//! the binding, answer 200), each from one of 1,000 users.

#![allow(clippy::unwrap_used)] // A benchmark, like a test, may unwrap its own set-up.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;

use confab::proto::digest::DigestClient;
use confab::proto::{Peer, SipCore, Time};
use confab::server::{Server, ServerConfig};
use confab::store::{Contacts, Directory, NewUser};

const USERS: usize = 1000;
const DOMAIN: &str = "confab.local";

fn server() -> Server {
    let directory = Directory::open_in_memory().unwrap();
    for index in 0..USERS {
        directory
            .add_user(&NewUser {
                username: format!("user{index:04}"),
                domain: DOMAIN.into(),
                password: format!("user{index:04}"),
                display_name: format!("User {index}"),
                work_number: None,
            })
            .unwrap();
    }
    Server::new(
        ServerConfig {
            domain: DOMAIN.into(),
            local: "127.0.0.1:5060".parse().unwrap(),
            trusted_peers: Vec::new(),
            seed: 1,
            pstn: None,
            access_number: None,
        },
        Box::new(directory),
        Box::new(Contacts::open_in_memory().unwrap()),
    )
}

fn register(user: usize, cseq: u32, branch: u64, credentials: &str) -> Vec<u8> {
    let port = 20_000 + user;
    format!(
        "REGISTER sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:{port};branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:user{user:04}@{DOMAIN}>;tag=t{user}\r\nTo: <sip:user{user:04}@{DOMAIN}>\r\n\
         Call-ID: reg{user}@bench\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:user{user:04}@127.0.0.2:{port}>\r\n\
         Expires: 3600\r\n{credentials}Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn from(user: usize) -> Peer {
    Peer::udp(SocketAddr::from(([127, 0, 0, 2], 20_000 + user as u16)))
}

/// Drains what the server sends; returns the first status line's code.
fn answer(server: &mut Server) -> Vec<u8> {
    let mut first = Vec::new();
    while let Some(transmit) = server.poll_transmit() {
        if first.is_empty() {
            first = transmit.payload;
        }
    }
    first
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("registrar core");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    let mut core = server();
    let mut branch = 0u64;
    let now = Time::ZERO + Duration::from_secs(1);
    group.bench_function("REGISTER without credentials -> 401", |b| {
        let mut user = 0;
        b.iter(|| {
            branch += 1;
            user = (user + 1) % USERS;
            core.handle_datagram(now, from(user), &register(user, 1, branch, ""));
            black_box(answer(&mut core));
        })
    });

    // Every user answers one challenge, then pre-authorizes each later
    // REGISTER with the next nonce count (RFC 7616 §3.4).
    let mut core = server();
    let mut rng = StdRng::seed_from_u64(3);
    let uri = rsip::Uri::try_from(format!("sip:{DOMAIN}")).unwrap();
    let mut clients: Vec<DigestClient> = (0..USERS)
        .map(|user| {
            branch += 1;
            core.handle_datagram(now, from(user), &register(user, 1, branch, ""));
            let challenge = rsip::Response::try_from(answer(&mut core)).unwrap();
            let mut client = DigestClient::new(format!("user{user:04}"), format!("user{user:04}"));
            client
                .answer(&mut rng, &challenge, &rsip::Method::Register, &uri)
                .unwrap();
            client
        })
        .collect();
    let mut cseq = vec![1u32; USERS];
    group.bench_function("REGISTER with credentials -> 200", |b| {
        let mut user = 0;
        b.iter(|| {
            branch += 1;
            user = (user + 1) % USERS;
            cseq[user] += 1;
            let headers = clients[user].authorization(&mut rng, &rsip::Method::Register, &uri);
            let credentials: String = headers
                .iter()
                .map(|header| format!("{header}\r\n"))
                .collect();
            core.handle_datagram(
                now,
                from(user),
                &register(user, cseq[user], branch, &credentials),
            );
            let reply = answer(&mut core);
            debug_assert!(
                reply.starts_with(b"SIP/2.0 200"),
                "{}",
                String::from_utf8_lossy(&reply)
            );
            black_box(reply);
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
