//! The server core alone, no sockets: CPU per REGISTER as the sans-IO core
//! sees it, to set beside `benches/peers/registrar.sh` (the whole process
//! under sipp load against Kamailio). The difference between the two is
//! the driver, the system calls and the runtime.
//!
//! Cases, each from one of 1,000 users in turn:
//! - a REGISTER without credentials (parse, challenge, answer 401);
//! - one with valid credentials pre-authorized with the next nonce count
//!   (parse, verify the digest, update the binding, answer 200);
//! - a registration as sipp makes it in `registrar.sh`, digest on:
//!   REGISTER, 401, REGISTER with credentials over the fresh nonce, 200,
//!   the clock moving 1 ms per registration so that transactions and
//!   nonces age and expire as they do under load (only the server's
//!   share is timed, not the client's digest);
//! - the same with authentication off (`--no-auth`): REGISTER, 200.

#![allow(clippy::unwrap_used)] // A benchmark, like a test, may unwrap its own set-up.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;

use confab::proto::digest::DigestClient;
use confab::proto::{Peer, SipCore, Time};
use confab::server::Server;

#[path = "support/mod.rs"]
mod support;
use support::DOMAIN;

const USERS: usize = 1000;

/// Hands the server one datagram at `now`, firing its timers first as a
/// driver would, and returns the first message it sends back.
fn exchange(core: &mut Server, now: Time, user: usize, bytes: &[u8]) -> Vec<u8> {
    while core.poll_timeout().is_some_and(|due| due <= now) {
        core.handle_timeout(now);
    }
    core.handle_datagram(now, from(user), bytes);
    answer(core)
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

    let mut core = support::server(USERS, false);
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
    let mut core = support::server(USERS, false);
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

    // A registration as sipp makes it: a new Call-ID and nonce each time.
    let mut core = support::server(USERS, false);
    let mut rng = StdRng::seed_from_u64(4);
    let mut registration = 0u64;
    group.bench_function("registration, digest on: REGISTER 401 REGISTER 200", |b| {
        b.iter_custom(|iterations| {
            let mut spent = Duration::ZERO;
            for _ in 0..iterations {
                registration += 1;
                let user = registration as usize % USERS;
                let now = Time::ZERO + Duration::from_millis(registration);
                let call = registration * 2;
                let first = register_call(user, call, 1, registration * 2, "");
                let started = std::time::Instant::now();
                let challenge = exchange(&mut core, now, user, &first);
                spent += started.elapsed();
                let challenge = rsip::Response::try_from(challenge).unwrap();
                let mut client =
                    DigestClient::new(format!("user{user:04}"), format!("user{user:04}"));
                client
                    .answer(&mut rng, &challenge, &rsip::Method::Register, &uri)
                    .unwrap();
                let credentials: String = client
                    .authorization(&mut rng, &rsip::Method::Register, &uri)
                    .iter()
                    .map(|header| format!("{header}\r\n"))
                    .collect();
                let second = register_call(user, call, 2, registration * 2 + 1, &credentials);
                let started = std::time::Instant::now();
                let reply = exchange(&mut core, now, user, &second);
                spent += started.elapsed();
                debug_assert!(reply.starts_with(b"SIP/2.0 200"));
                black_box(reply);
            }
            spent
        })
    });

    let mut core = support::server(USERS, true);
    let mut registration = 0u64;
    group.bench_function("registration, digest off: REGISTER 200", |b| {
        b.iter_custom(|iterations| {
            let mut spent = Duration::ZERO;
            for _ in 0..iterations {
                registration += 1;
                let user = registration as usize % USERS;
                let now = Time::ZERO + Duration::from_millis(registration);
                let request = register_call(user, registration, 1, registration, "");
                let started = std::time::Instant::now();
                let reply = exchange(&mut core, now, user, &request);
                spent += started.elapsed();
                debug_assert!(reply.starts_with(b"SIP/2.0 200"));
                black_box(reply);
            }
            spent
        })
    });
    group.finish();
}

/// A REGISTER of a call of its own (`call` makes the Call-ID), as sipp's
/// register_load scenarios send it.
fn register_call(user: usize, call: u64, cseq: u32, branch: u64, credentials: &str) -> Vec<u8> {
    let port = 20_000 + user;
    format!(
        "REGISTER sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:{port};rport;branch=z9hG4bK-s-{branch}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:user{user:04}@{DOMAIN}>;tag={call}\r\nTo: <sip:user{user:04}@{DOMAIN}>\r\n\
         Call-ID: {call}-sipp@127.0.0.2\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:user{user:04}@127.0.0.2:{port}>\r\n\
         Expires: 3600\r\n{credentials}Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

criterion_group!(benches, bench);
criterion_main!(benches);
