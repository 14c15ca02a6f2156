//! Registrar tests: REGISTERs built from text, run in virtual time.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

mod aor;
mod bindings;
mod consistency;
mod contacts;
mod expiry;
mod requests;

use std::net::SocketAddr;
use std::time::Duration;

use super::*;

const INSTANCE: &str = "urn:uuid:00000000-0000-1000-8000-000A95A0E128";

fn at(seconds: u64) -> Time {
    Time::ZERO + Duration::from_secs(seconds)
}

fn amy() -> Aor {
    Aor::new("amy", "confab.local")
}

fn hao() -> Aor {
    Aor::new("hao", "confab.local")
}

fn peer(port: u16) -> Peer {
    Peer::udp(SocketAddr::from(([192, 0, 2, 1], port)))
}

/// A REGISTER for amy with the given Call-ID, CSeq and extra header lines.
fn register(call_id: &str, cseq: u32, extra: &[&str]) -> rsip::Request {
    let mut text = format!(
        "REGISTER sip:confab.local SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK{cseq}\r\n\
         Max-Forwards: 70\r\n\
         To: <sip:amy@confab.local>\r\n\
         From: <sip:amy@confab.local>;tag=a1\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n"
    );
    for line in extra {
        text.push_str(line);
        text.push_str("\r\n");
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    rsip::Request::try_from(text.as_str()).unwrap()
}

/// A small deterministic generator: the same sequence every run.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn uri(text: &str) -> rsip::Uri {
    rsip::Uri::try_from(text).unwrap()
}

fn events(registrar: &mut Registrar) -> Vec<RegistrarEvent> {
    std::iter::from_fn(|| registrar.poll_event()).collect()
}

fn contact_uris(registrar: &Registrar, aor: &Aor, now: Time) -> Vec<String> {
    registrar
        .contacts(aor, now)
        .iter()
        .map(|binding| binding.contact.to_string())
        .collect()
}

fn printed(headers: &[rsip::Header]) -> Vec<String> {
    headers.iter().map(ToString::to_string).collect()
}

/// A registrar with amy registered from two clients (Call-IDs "desk" and
/// "laptop"), events drained.
fn amy_on_two_clients() -> Registrar {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let desk = register("desk", 1, &["Contact: <sip:amy@192.0.2.1:5062>"]);
    let laptop = register("laptop", 1, &["Contact: <sip:amy@192.0.2.7:5070>"]);
    assert!(
        registrar
            .handle_register(at(0), peer(5062), &desk, &amy())
            .is_success()
    );
    assert!(
        registrar
            .handle_register(at(0), peer(5070), &laptop, &amy())
            .is_success()
    );
    events(&mut registrar);
    registrar
}
