//! RFC 4475 section 3: every torture message, byte for byte, in
//! tests/fixtures/rfc4475/NAME.dat, with what `parse` must make of it:
//! accept it (and read what the RFC says a parser must understand), refuse
//! it with the response a server should send, or drop it.

use std::path::Path;

use confab::proto::message::{
    ParseErrorKind, cseq_method, header_value, parse, tag, to_bytes, top_via_branch,
};
use rsip::message::HeadersExt;
use rsip::prelude::*;
use rsip::{Header, Request, SipMessage};

enum Expect {
    /// Accepted; the function checks what the RFC says it carries.
    Parses(fn(&SipMessage)),
    /// Refused with a reply of this status.
    Reply(u16),
    /// Refused without a reply (a response, or a request missing what a
    /// reply copies).
    Dropped,
}

use Expect::{Dropped, Parses, Reply};

/// (file, RFC 4475 section, expected outcome). Comments say why where the
/// RFC leaves a choice or rsip forces one.
const CASES: &[(&str, &str, Expect)] = &[
    // 3.1.1 Valid messages.
    ("wsinv", "3.1.1.1", Parses(wsinv)),
    // Method "!interesting-Method..." is unknown: endpoints answer 501.
    ("intmeth", "3.1.1.2", Reply(501)),
    ("esc01", "3.1.1.3", Parses(esc01)),
    ("escnull", "3.1.1.4", Parses(escnull)),
    // RE%47IST%45R is an unknown method, not REGISTER: 501.
    ("esc02", "3.1.1.5", Reply(501)),
    ("lwsdisp", "3.1.1.6", Parses(lwsdisp)),
    ("longreq", "3.1.1.7", Parses(longreq)),
    ("dblreq", "3.1.1.8", Parses(dblreq)),
    ("semiuri", "3.1.1.9", Parses(semiuri)),
    ("transports", "3.1.1.10", Parses(transports)),
    ("mpart01", "3.1.1.11", Parses(mpart01)),
    ("unreason", "3.1.1.12", Parses(unreason)),
    ("noreason", "3.1.1.13", Parses(noreason)),
    // 3.1.2 Invalid messages.
    ("badinv01", "3.1.2.1", Reply(400)),
    ("clerr", "3.1.2.2", Reply(400)),
    ("ncl", "3.1.2.3", Reply(400)),
    ("scalar02", "3.1.2.4", Reply(400)),
    // A response: never answered.
    ("scalarlg", "3.1.2.5", Dropped),
    ("quotbal", "3.1.2.6", Reply(400)),
    ("ltgtruri", "3.1.2.7", Reply(400)),
    ("lwsruri", "3.1.2.8", Reply(400)),
    // "Rejecting is acceptable" for 3.1.2.9 and 3.1.2.10.
    ("lwsstart", "3.1.2.9", Reply(400)),
    ("trws", "3.1.2.10", Reply(400)),
    // Headers are not allowed in a Request-URI (RFC 3261 §19.1.1); the RFC
    // allows rejecting, and rsip would drop them.
    ("escruri", "3.1.2.11", Reply(400)),
    // Liberal: the Date is not used.
    ("baddate", "3.1.2.12", Parses(|_| {})),
    // Liberal: the Contact addr-spec with an escaped header is unambiguous.
    ("regbadct", "3.1.2.13", Parses(|_| {})),
    ("badaspec", "3.1.2.14", Reply(400)),
    // Refused for the missing empty line after the header fields (the file
    // ends after "l: 0" CRLF), which RFC 3261 §7 requires.
    ("baddn", "3.1.2.15", Reply(400)),
    ("badvers", "3.1.2.16", Reply(505)),
    ("mismatch01", "3.1.2.17", Reply(400)),
    // Unknown method first: 501 (the RFC allows 400 or 501).
    ("mismatch02", "3.1.2.18", Reply(501)),
    ("bigcode", "3.1.2.19", Dropped),
    // 3.2 Transaction layer: the parser must accept it.
    ("badbranch", "3.2.1", Parses(badbranch)),
    // 3.3 Application layer. The RFC wants 400 for insuf, but without
    // From, To and Call-ID no RFC 3261 §8.2.6 response can be built.
    ("insuf", "3.3.1", Dropped),
    ("unkscm", "3.3.2", Reply(416)),
    ("novelsc", "3.3.3", Reply(416)),
    // Unknown schemes in To, From and Contact are fine for a parser.
    ("unksm2", "3.3.4", Parses(|_| {})),
    ("bext01", "3.3.5", Parses(bext01)),
    ("invut", "3.3.6", Parses(|m| assert_eq!(m.body().len(), 40))),
    ("regaut01", "3.3.7", Parses(|_| {})),
    ("multi01", "3.3.8", Reply(400)),
    ("mcl01", "3.3.9", Reply(400)),
    ("bcast", "3.3.10", Parses(|m| assert_eq!(via_count(m), 2))),
    // Max-Forwards 0 is the proxy's business (483), not the parser's.
    ("zeromf", "3.3.11", Parses(|_| {})),
    ("cparam01", "3.3.12", Parses(|_| {})),
    ("cparam02", "3.3.13", Parses(|_| {})),
    // The registrar refuses the escaped Route in the Contact, not the parser.
    ("regescrt", "3.3.14", Parses(|_| {})),
    ("sdp01", "3.3.15", Parses(|_| {})),
    // 3.4 RFC 2543 syntax (no branch, no Max-Forwards, no Content-Length).
    ("inv2543", "3.4.1", Parses(inv2543)),
];

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rfc4475")
        .join(format!("{name}.dat"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_torture_message_has_the_outcome_the_rfc_asks() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rfc4475");
    let files = std::fs::read_dir(dir).unwrap().count();
    assert_eq!(files, CASES.len(), "one expectation per fixture");
    assert_eq!(CASES.len(), 49, "RFC 4475 section 3 has 49 messages");

    for (name, section, expect) in CASES {
        let bytes = fixture(name);
        let result = parse(&bytes);
        match (expect, result) {
            (Parses(check), Ok(message)) => {
                check(&message);
                // What was accepted prints and parses again to the same.
                let again = parse(&to_bytes(&message))
                    .unwrap_or_else(|e| panic!("{name} ({section}) does not reparse: {e}"));
                assert_eq!(
                    without_content_length(again),
                    without_content_length(message),
                    "{name} ({section}) round trip"
                );
            }
            (Reply(code), Err(error)) => {
                let reply = error
                    .reply()
                    .unwrap_or_else(|| panic!("{name} ({section}): no reply for {error}"));
                assert_eq!(
                    reply.status_code.code(),
                    *code,
                    "{name} ({section}): {error}"
                );
            }
            (Dropped, Err(error)) => {
                assert!(
                    error.reply().is_none(),
                    "{name} ({section}) must be dropped"
                );
            }
            (_, Ok(_)) => panic!("{name} ({section}) must be refused"),
            (_, Err(error)) => panic!("{name} ({section}) must parse: {error}"),
        }
    }
}

/// The message with its Content-Length fields removed: `to_bytes` adds one
/// where there was none.
fn without_content_length(mut message: SipMessage) -> SipMessage {
    message
        .headers_mut()
        .retain(|h| !matches!(h, Header::ContentLength(_)));
    message
}

fn request(message: &SipMessage) -> &Request {
    match message {
        SipMessage::Request(request) => request,
        SipMessage::Response(_) => panic!("a request was expected"),
    }
}

fn via_count(message: &SipMessage) -> usize {
    message
        .headers()
        .iter()
        .filter(|h| matches!(h, Header::Via(_)))
        .count()
}

fn wsinv(message: &SipMessage) {
    let request = request(message);
    assert_eq!(request.method, rsip::Method::Invite);
    assert_eq!(
        request.call_id_header().unwrap().value(),
        "wsinv.ndaksdj@192.0.2.1"
    );
    // Folded, spaced-out, compact and comma-separated Vias become three.
    assert_eq!(via_count(message), 3);
    assert_eq!(top_via_branch(request).as_deref(), Some("390skdjuw"));
    let branches: Vec<String> = request
        .headers
        .iter()
        .filter_map(|h| match h {
            Header::Via(via) => via.typed().ok()?.branch().map(|b| b.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(branches, ["390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239"]);
    assert_eq!(
        tag(request.to_header().unwrap()).as_deref(),
        Some("1918181833n")
    );
    assert_eq!(
        tag(request.from_header().unwrap()).as_deref(),
        Some("98asjd8")
    );
    assert_eq!(
        request
            .to_header()
            .unwrap()
            .typed()
            .unwrap()
            .uri
            .to_string(),
        "sip:vivekg@chair-dnrc.example.com"
    );
    let cseq = request.cseq_header().unwrap().typed().unwrap();
    assert_eq!((cseq.seq, cseq.method), (9, rsip::Method::Invite));
    assert_eq!(request.max_forwards_header().unwrap().num().unwrap(), 68);
    // The compact "m" is a Contact with its parameters.
    assert_eq!(
        confab::proto::message::param(request.contact_header().unwrap().value(), "q"),
        Some(Some("0.33".to_owned()))
    );
    assert_eq!(
        header_value(&request.headers, "NewFangledHeader"),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(header_value(&request.headers, "Subject"), None);
    assert!(
        request
            .headers
            .iter()
            .any(|h| matches!(h, Header::Subject(s) if s.value().is_empty()))
    );
    assert_eq!(request.body.len(), 150);
}

fn esc01(message: &SipMessage) {
    let request = request(message);
    // The escapes stay escapes: the user is not a sips: URI.
    assert_eq!(request.uri.user(), Some("sips%3Auser%40example.com"));
    assert_eq!(request.uri.host().to_string(), "example.net");
    assert_eq!(request.body.len(), 150);
}

fn escnull(message: &SipMessage) {
    // %00 stays escaped; no NUL byte appears when printed.
    let printed = to_bytes(message);
    assert!(!printed.contains(&0));
    assert_eq!(request(message).contact_headers().len(), 2);
}

fn semiuri(message: &SipMessage) {
    // The ';' and the escaped '@' belong to the user part (§3.1.1.9).
    let uri = &request(message).uri;
    assert_eq!(uri.user(), Some("user;par=u%40example.net"));
    assert_eq!(uri.host().to_string(), "example.com");
}

fn lwsdisp(message: &SipMessage) {
    let from = request(message).from_header().unwrap().typed().unwrap();
    assert_eq!(from.display_name.as_deref(), Some("caller"));
}

fn longreq(message: &SipMessage) {
    let request = request(message);
    assert_eq!(via_count(message), 34);
    assert_eq!(request.body.len(), 150);
    let long_name = format!("Unknown-{}-Name", "Long".repeat(20));
    assert!(header_value(&request.headers, &long_name).is_some());
    // "F:" was expanded.
    assert_eq!(
        tag(request.from_header().unwrap()).unwrap().len(),
        2 + 150 + 3
    );
}

fn dblreq(message: &SipMessage) {
    // RFC 3261 §18.3: what follows Content-Length in a datagram is dropped.
    let request = request(message);
    assert_eq!(request.method, rsip::Method::Register);
    assert!(request.body.is_empty());
}

fn transports(message: &SipMessage) {
    assert_eq!(via_count(message), 5);
}

fn mpart01(message: &SipMessage) {
    // 553 binary bytes, NULs included, exactly as sent.
    let raw = fixture("mpart01");
    assert_eq!(message.body().len(), 553);
    assert!(raw.ends_with(message.body()));
    assert!(to_bytes(message).ends_with(message.body()));
}

fn unreason(message: &SipMessage) {
    let SipMessage::Response(response) = message else {
        panic!("a response was expected");
    };
    assert_eq!(response.status_code.code(), 200);
    assert_eq!(cseq_method(response), Some(rsip::Method::Invite));
    assert_eq!(response.body.len(), 154);
}

fn noreason(message: &SipMessage) {
    let SipMessage::Response(response) = message else {
        panic!("a response was expected");
    };
    assert_eq!(response.status_code.code(), 100);
}

fn badbranch(message: &SipMessage) {
    // "z9hG4bK" alone: the branch is read as it is; matching is the
    // transaction layer's business (RFC 4475 §3.2.1).
    assert_eq!(top_via_branch(request(message)).as_deref(), Some("z9hG4bK"));
}

fn bext01(message: &SipMessage) {
    let request = request(message);
    assert!(
        request
            .headers
            .iter()
            .any(|h| matches!(h, Header::Require(_)))
    );
}

fn inv2543(message: &SipMessage) {
    let request = request(message);
    assert_eq!(top_via_branch(request), None);
    // No Content-Length on UDP: the body is the rest of the datagram.
    assert_eq!(request.body.len(), 105);
}

#[test]
fn replies_copy_the_request_and_add_a_to_tag() {
    let error = parse(&fixture("mismatch01")).unwrap_err();
    assert_eq!(error.kind, ParseErrorKind::Malformed);
    let reply = error.reply().unwrap();
    assert_eq!(reply.status_code.code(), 400);
    assert_eq!(
        reply.call_id_header().unwrap().value(),
        "mismatch01.dj0234sxdfl3"
    );
    assert_eq!(reply.cseq_header().unwrap().value(), "8 INVITE");
    assert_eq!(
        reply.via_header().unwrap().value(),
        "SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw"
    );
    let to_tag = tag(reply.to_header().unwrap()).unwrap();
    assert_eq!(to_tag.len(), 16);
    // The same request gets the same tag (retransmissions).
    let again = parse(&fixture("mismatch01")).unwrap_err().reply().unwrap();
    assert_eq!(tag(again.to_header().unwrap()), Some(to_tag));
    // The reason says what was wrong.
    let printed = String::from_utf8(to_bytes(&reply.into())).unwrap();
    assert!(
        printed.starts_with("SIP/2.0 400 CSeq method does not match the Request-Line\r\n"),
        "{printed}"
    );
    assert!(printed.ends_with("Content-Length: 0\r\n\r\n"));
}

#[test]
fn a_501_keeps_an_existing_to_tag_and_names_the_method() {
    let error = parse(&fixture("intmeth")).unwrap_err();
    assert_eq!(
        error.kind,
        ParseErrorKind::UnknownMethod("!interesting-Method0123456789_*+`.%indeed'~".into())
    );
    let reply = error.reply_with_tag("abc").unwrap();
    assert_eq!(reply.status_code.code(), 501);
    assert_eq!(tag(reply.to_header().unwrap()).as_deref(), Some("abc"));
    let printed = to_bytes(&reply.into());
    assert!(printed.starts_with(b"SIP/2.0 501 Not Implemented\r\n"));
}
