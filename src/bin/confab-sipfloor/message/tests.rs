use super::*;

const REGISTER: &[u8] = b"REGISTER sip:confab.local SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5190;rport;branch=z9hG4bK-1\r\n\
Max-Forwards: 70\r\n\
From: <sip:user0007@confab.local>;tag=42-1\r\n\
To: <sip:user0007@confab.local>\r\n\
Call-ID: 1-42@127.0.0.1\r\n\
CSeq: 1 REGISTER\r\n\
Contact: <sip:user0007@127.0.0.1:5190>\r\n\
Expires: 3600\r\n\
Content-Length: 0\r\n\r\n";

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("responses are ASCII")
}

#[test]
fn a_register_gets_200_with_its_lines_and_our_tag() {
    let mut out = Vec::new();
    assert!(response(REGISTER, Status::Ok, &mut out));
    assert_eq!(
        text(&out),
        "SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5190;rport;branch=z9hG4bK-1\r\n\
From: <sip:user0007@confab.local>;tag=42-1\r\n\
To: <sip:user0007@confab.local>;tag=sipfloor\r\n\
Call-ID: 1-42@127.0.0.1\r\n\
CSeq: 1 REGISTER\r\n\
Contact: <sip:user0007@127.0.0.1:5190>\r\n\
Expires: 3600\r\n\
Content-Length: 0\r\n\r\n"
    );
}

#[test]
fn challenges_carry_the_fixed_digest_header() {
    let mut out = Vec::new();
    assert!(response(REGISTER, Status::Unauthorized, &mut out));
    let reply = text(&out);
    assert!(reply.starts_with("SIP/2.0 401 Unauthorized\r\n"));
    assert!(reply.contains("\r\nWWW-Authenticate: Digest realm=\"sipfloor\", nonce="));
    assert!(
        !reply.contains("Contact:"),
        "only a 200 to REGISTER echoes the Contact"
    );
    assert!(response(
        REGISTER,
        Status::ProxyAuthenticationRequired,
        &mut out
    ));
    assert!(text(&out).contains("\r\nProxy-Authenticate: Digest "));
}

#[test]
fn every_via_is_copied_in_order_and_a_present_tag_kept() {
    let request = b"MESSAGE sip:b@x SIP/2.0\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
Via: SIP/2.0/UDP b;branch=z9hG4bK2\r\nf: <sip:a@x>;tag=1\r\nt: <sip:b@x>;TAG=9\r\n\
i: c\r\nCSeq: 2 MESSAGE\r\n\r\nbody\r\nVia: not a header\r\n";
    let mut out = Vec::new();
    assert!(response(request, Status::Ok, &mut out));
    assert_eq!(
        text(&out),
        "SIP/2.0 200 OK\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP b;branch=z9hG4bK2\r\n\
f: <sip:a@x>;tag=1\r\nt: <sip:b@x>;TAG=9\r\ni: c\r\nCSeq: 2 MESSAGE\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn a_request_missing_a_needed_line_gets_no_response() {
    let mut out = Vec::new();
    for needed in ["Via:", "From:", "To:", "Call-ID:", "CSeq:"] {
        let request = text(REGISTER).replace(needed, "X-Gone:");
        assert!(
            !response(request.as_bytes(), Status::Ok, &mut out),
            "without {needed}"
        );
    }
}

#[test]
fn start_lines() {
    assert_eq!(
        start_line(b"SIP/2.0 180 Ringing\r\n\r\n"),
        Some(StartLine::Response)
    );
    assert_eq!(
        start_line(b"ACK sip:127.0.0.1:5192 SIP/2.0\n"),
        Some(StartLine::Request {
            method: b"ACK",
            uri: b"sip:127.0.0.1:5192"
        })
    );
    for bad in [
        &b""[..],
        b"\r\n",
        b"\r\n\r\nINVITE sip:a@b SIP/2.0",
        b"INVITE sip:a@b",
        b"INVITE sip:a@b HTTP/1.1\r\n",
        b"IN/VITE sip:a@b SIP/2.0\r\n",
        b"\xff\xfe\x00 \x01 SIP/2.0",
    ] {
        assert_eq!(start_line(bad), None, "{bad:?}");
    }
}

#[test]
fn headers_are_found_by_long_or_compact_name_in_any_case() {
    assert_eq!(
        header(REGISTER, b"call-id", Some(b'i')),
        Some(&b"Call-ID: 1-42@127.0.0.1"[..])
    );
    assert_eq!(
        header(b"X sip:a SIP/2.0\r\nI : z\r\n", b"Call-ID", Some(b'i')),
        Some(&b"I : z"[..])
    );
    assert_eq!(header(REGISTER, b"Authorization", None), None);
    // A name that only starts like it, the start line, and the body do not count.
    assert_eq!(
        header(b"X sip:a SIP/2.0\r\nToo: 1\r\n", b"To", Some(b't')),
        None
    );
    assert_eq!(header(b"To: sip:a SIP/2.0\r\n", b"To", None), None);
    assert_eq!(header(b"X sip:a SIP/2.0\r\n\r\nTo: 1", b"To", None), None);
}

#[test]
fn users_of_uris() {
    assert_eq!(
        uri_user(b"To: <sip:user0001@confab.local>"),
        Some(&b"user0001"[..])
    );
    assert_eq!(uri_user(b"SIPS:amy@x;transport=tcp"), Some(&b"amy"[..]));
    assert_eq!(uri_user(b"sip:127.0.0.1:5192"), None);
    assert_eq!(uri_user(b"sip:127.0.0.1;maddr=a@b"), None);
    assert_eq!(uri_user(b"sip:@x"), None);
    assert_eq!(uri_user(b"To: <tel:+1555>"), None);
    assert_eq!(uri_user(b"sip:"), None);
    assert_eq!(uri_user(b""), None);
}

#[test]
fn addresses_of_uris() {
    let at = |s: &str| Some(s.parse::<SocketAddr>().expect("an address"));
    assert_eq!(uri_address(b"sip:127.0.0.1:5192"), at("127.0.0.1:5192"));
    assert_eq!(
        uri_address(b"sip:user0001@127.0.0.1:5191;lr"),
        at("127.0.0.1:5191")
    );
    assert_eq!(uri_address(b"<sip:127.0.0.1>"), at("127.0.0.1:5060"));
    assert_eq!(uri_address(b"sip:[::1]:5070"), at("[::1]:5070"));
    assert_eq!(uri_address(b"sip:[::1]"), at("[::1]:5060"));
    for bad in [
        &b"sip:confab.local"[..],
        b"sip:127.0.0.1:99999",
        b"sip:1.2.3.4:",
        b"http://1.2.3.4",
        b"sip:\xff",
    ] {
        assert_eq!(uri_address(bad), None, "{bad:?}");
    }
}

#[test]
fn tags() {
    assert_eq!(to_tag(b"To: <sip:a@b>;tag=abc;x=1"), Some(&b"abc"[..]));
    assert_eq!(to_tag(b"To: <sip:a@b>;Tag=sipfloor"), Some(TAG));
    assert_eq!(to_tag(b"To: <sip:a@b>"), None);
    assert_eq!(to_tag(b";tag="), Some(&b""[..]));
}

#[test]
fn the_output_buffer_is_reused() {
    let mut out = Vec::with_capacity(4096);
    let before = out.as_ptr();
    for _ in 0..3 {
        assert!(response(REGISTER, Status::Unauthorized, &mut out));
    }
    assert_eq!(out.as_ptr(), before, "no reallocation per message");
}
