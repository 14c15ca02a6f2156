//! The server core as a proxy, no sockets: CPU per proxied MESSAGE and per
//! proxied call as the sans-IO core sees it, to set beside
//! `benches/peers/proxy.sh` (the whole process under sipp load against
//! Kamailio). The same exchanges as the sipp scenarios there:
//!
//! - MESSAGE from user0000 to user0001 and its 200, digest off (`--no-auth`)
//!   and on (MESSAGE, 407, MESSAGE with Proxy-Authorization over the fresh
//!   nonce, MD5 as sipp answers);
//! - a call from user0000 to user0002, digest off: INVITE, 100, 180, 200,
//!   ACK and BYE through the record-route, 200.
//!
//! The callees are registered at the start; the clock moves 1 ms per
//! transaction so that transactions age and expire as they do under load.
//! Only the server's share is timed, not the bench's own parsing and
//! building of the callee's and caller's messages.

#![allow(clippy::unwrap_used)] // A benchmark, like a test, may unwrap its own set-up.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rsip::headers::UntypedHeader;

use confab::proto::digest::DigestClient;
use confab::proto::{Peer, SipCore, Time, build, message};
use confab::server::Server;

#[path = "support/mod.rs"]
mod support;
use support::DOMAIN;

const CALLER: &str = "127.0.0.2:5060";
const MESSAGE_CALLEE: &str = "127.0.0.3:5062";
const CALL_CALLEE: &str = "127.0.0.4:5064";

/// A server with user0000..user0002, the two callees registered.
fn server(no_auth: bool) -> Bench {
    let core = support::server(3, no_auth);
    let mut bench = Bench {
        core,
        tick: 0,
        rng: StdRng::seed_from_u64(5),
        spent: Duration::ZERO,
        sent_by_callee: None,
    };
    bench.register("user0001", MESSAGE_CALLEE);
    bench.register("user0002", CALL_CALLEE);
    bench
}

struct Bench {
    core: Server,
    /// Milliseconds of virtual time.
    tick: u64,
    rng: StdRng,
    /// Time spent inside the core.
    spent: Duration,
    /// What the core sent when the callee last answered.
    sent_by_callee: Option<Vec<(SocketAddr, rsip::SipMessage)>>,
}

impl Bench {
    fn now(&self) -> Time {
        Time::ZERO + Duration::from_millis(self.tick)
    }

    /// Hands the core one message from `from` (timers due first, as a
    /// driver fires them) and returns what it sends, timing the core only.
    fn send(&mut self, from: &str, bytes: &[u8]) -> Vec<(SocketAddr, rsip::SipMessage)> {
        let now = self.now();
        let started = Instant::now();
        while self.core.poll_timeout().is_some_and(|due| due <= now) {
            self.core.handle_timeout(now);
        }
        self.core
            .handle_datagram(now, Peer::udp(from.parse().unwrap()), bytes);
        let mut sent = Vec::new();
        while let Some(transmit) = self.core.poll_transmit() {
            sent.push(transmit);
        }
        self.spent += started.elapsed();
        sent.into_iter()
            .map(|t| (t.destination.addr, message::parse(&t.payload).unwrap()))
            .collect()
    }

    /// The one request sent to `to` among `sent`.
    fn request_to(sent: &[(SocketAddr, rsip::SipMessage)], to: &str) -> rsip::Request {
        let to: SocketAddr = to.parse().unwrap();
        sent.iter()
            .find_map(|(addr, m)| match m {
                rsip::SipMessage::Request(r) if *addr == to => Some(r.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("nothing sent to {to}: {sent:?}"))
    }

    /// The last response sent to `to` among `sent`.
    fn response_to(sent: &[(SocketAddr, rsip::SipMessage)], to: &str) -> rsip::Response {
        let to: SocketAddr = to.parse().unwrap();
        sent.iter()
            .rev()
            .find_map(|(addr, m)| match m {
                rsip::SipMessage::Response(r) if *addr == to => Some(r.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no response to {to}: {sent:?}"))
    }

    /// The callee's answer to a forwarded request.
    fn answer(&mut self, callee: &str, request: &rsip::Request, code: u16, extra: &[rsip::Header]) {
        let mut response = build::response_to(request, build::status(code), Some("callee"));
        build::copy_record_route(request, &mut response);
        for header in extra {
            response.headers.push(header.clone());
        }
        let bytes = message::to_bytes(&response.into());
        self.sent_by_callee = Some(self.send(callee, &bytes));
    }

    fn register(&mut self, user: &str, at: &str) {
        let request = |cseq: u32, credentials: &str| {
            format!(
                "REGISTER sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP {at};rport;branch=z9hG4bK-r-{cseq}\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:{user}@{DOMAIN}>;tag=r\r\nTo: <sip:{user}@{DOMAIN}>\r\n\
                 Call-ID: reg-{user}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{user}@{at}>\r\n\
                 Expires: 3600\r\n{credentials}Content-Length: 0\r\n\r\n"
            )
        };
        let sent = self.send(at, request(1, "").as_bytes());
        let answer = Self::response_to(&sent, at);
        if answer.status_code.code() == 401 {
            let uri = rsip::Uri::try_from(format!("sip:{DOMAIN}")).unwrap();
            let credentials = self.credentials(user, &answer, &rsip::Method::Register, &uri);
            let sent = self.send(at, request(2, &credentials).as_bytes());
            assert_eq!(Self::response_to(&sent, at).status_code.code(), 200);
        }
    }

    /// Credentials as sipp sends them: MD5, the only algorithm it knows.
    fn credentials(
        &mut self,
        user: &str,
        challenge: &rsip::Response,
        method: &rsip::Method,
        uri: &rsip::Uri,
    ) -> String {
        let mut md5_only = challenge.clone();
        md5_only.headers.retain(|header| {
            !matches!(
                header,
                rsip::Header::WwwAuthenticate(_) | rsip::Header::ProxyAuthenticate(_)
            ) || header.to_string().contains("MD5")
        });
        DigestClient::new(user, user)
            .answer(&mut self.rng, &md5_only, method, uri)
            .unwrap()
            .iter()
            .map(|header| format!("{header}\r\n"))
            .collect()
    }
}

fn message_request(n: u64, cseq: u32, credentials: &str) -> String {
    format!(
        "MESSAGE sip:user0001@{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};rport;branch=z9hG4bK-m-{n}-{cseq}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:user0000@{DOMAIN}>;tag={n}\r\nTo: <sip:user0001@{DOMAIN}>\r\n\
         Call-ID: {n}-msg@127.0.0.2\r\nCSeq: {cseq} MESSAGE\r\n{credentials}Content-Type: text/plain\r\n\
         Content-Length: 21\r\n\r\nMessage 1 to user0001"
    )
}

/// One MESSAGE through the proxy, answered by its callee.
fn proxied_message(bench: &mut Bench, n: u64, auth: bool) {
    bench.tick += 1;
    let mut sent = bench.send(CALLER, message_request(n, 1, "").as_bytes());
    if auth {
        let challenge = Bench::response_to(&sent, CALLER);
        let uri = rsip::Uri::try_from(format!("sip:user0001@{DOMAIN}")).unwrap();
        let credentials = bench.credentials("user0000", &challenge, &rsip::Method::Message, &uri);
        sent = bench.send(CALLER, message_request(n, 2, &credentials).as_bytes());
    }
    let forwarded = Bench::request_to(&sent, MESSAGE_CALLEE);
    bench.answer(MESSAGE_CALLEE, &forwarded, 200, &[]);
    let back = bench.sent_by_callee.take().unwrap();
    debug_assert_eq!(Bench::response_to(&back, CALLER).status_code.code(), 200);
    black_box(back);
}

/// One call through the proxy: INVITE, 180, 200, ACK, BYE, 200.
fn proxied_call(bench: &mut Bench, n: u64) {
    bench.tick += 1;
    let sdp = "v=0\r\no=user0000 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n\
               m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    let invite = format!(
        "INVITE sip:user0002@{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};rport;branch=z9hG4bK-i-{n}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:user0000@{DOMAIN}>;tag={n}\r\nTo: <sip:user0002@{DOMAIN}>\r\n\
         Call-ID: {n}-call@127.0.0.2\r\nCSeq: 1 INVITE\r\nContact: <sip:user0000@{CALLER}>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    let sent = bench.send(CALLER, invite.as_bytes());
    let forwarded = Bench::request_to(&sent, CALL_CALLEE);
    let contact: rsip::Header =
        rsip::headers::Contact::new(format!("<sip:user0002@{CALL_CALLEE}>")).into();
    bench.answer(CALL_CALLEE, &forwarded, 180, std::slice::from_ref(&contact));
    bench.answer(CALL_CALLEE, &forwarded, 200, &[contact]);
    let ok = Bench::response_to(&bench.sent_by_callee.take().unwrap(), CALLER);
    let routes: String = ok
        .headers
        .iter()
        .filter_map(|header| match header {
            rsip::Header::RecordRoute(route) => Some(format!("Route: {}\r\n", route.value())),
            _ => None,
        })
        .collect();
    let in_dialog = |method: &str, cseq: u32, branch: &str| {
        format!(
            "{method} sip:user0002@{CALL_CALLEE} SIP/2.0\r\nVia: SIP/2.0/UDP {CALLER};rport;branch=z9hG4bK-{branch}-{n}\r\n\
             {routes}Max-Forwards: 70\r\nFrom: <sip:user0000@{DOMAIN}>;tag={n}\r\n\
             To: <sip:user0002@{DOMAIN}>;tag=callee\r\nCall-ID: {n}-call@127.0.0.2\r\n\
             CSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
        )
    };
    let sent = bench.send(CALLER, in_dialog("ACK", 1, "a").as_bytes());
    debug_assert!(!sent.is_empty(), "the ACK goes on");
    let sent = bench.send(CALLER, in_dialog("BYE", 2, "b").as_bytes());
    let bye = Bench::request_to(&sent, CALL_CALLEE);
    bench.answer(CALL_CALLEE, &bye, 200, &[]);
    black_box(bench.sent_by_callee.take());
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("proxy core");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (name, auth) in [
        ("MESSAGE, digest off: MESSAGE 200", false),
        ("MESSAGE, digest on: MESSAGE 407 MESSAGE 200", true),
    ] {
        let mut bench = server(!auth);
        let mut n = 0;
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                bench.spent = Duration::ZERO;
                for _ in 0..iterations {
                    n += 1;
                    proxied_message(&mut bench, n, auth);
                }
                bench.spent
            })
        });
    }
    let mut bench = server(true);
    let mut n = 0;
    group.bench_function("call, digest off: INVITE 180 200 ACK BYE 200", |b| {
        b.iter_custom(|iterations| {
            bench.spent = Duration::ZERO;
            for _ in 0..iterations {
                n += 1;
                proxied_call(&mut bench, n);
            }
            bench.spent
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
