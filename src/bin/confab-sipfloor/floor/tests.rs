use super::*;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

const CALLER: u16 = 5190;
const CALLEE: u16 = 5192;

fn register(user: &str, port: u16, authorization: bool) -> String {
    format!(
        "REGISTER sip:confab.local SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-r\r\n\
From: <sip:{user}@confab.local>;tag=1\r\nTo: <sip:{user}@confab.local>\r\nCall-ID: r{port}\r\n\
CSeq: 1 REGISTER\r\nContact: <sip:{user}@127.0.0.1:{port}>\r\n{}Content-Length: 0\r\n\r\n",
        if authorization {
            "Authorization: Digest username=\"x\"\r\n"
        } else {
            ""
        }
    )
}

fn request(method: &str, uri: &str, to_tag: &str, proxy_authorization: bool) -> String {
    format!(
        "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{CALLER};branch=z9hG4bK-1\r\n\
From: <sip:user0000@confab.local>;tag=9\r\nTo: <sip:user0002@confab.local>{to_tag}\r\n\
Call-ID: c1\r\nCSeq: 1 {method}\r\n{}Content-Length: 0\r\n\r\n",
        if proxy_authorization {
            "Proxy-Authorization: Digest username=\"x\"\r\n"
        } else {
            ""
        }
    )
}

fn status(out: &[u8]) -> &[u8] {
    out.get(..12).unwrap_or_default()
}

/// A proxy with user0002 registered from CALLEE.
fn proxy(digest: bool) -> Floor {
    let mut floor = Floor::new(Mode::Proxy, digest);
    let mut out = Vec::new();
    let action = floor.handle(
        addr(CALLEE),
        register("user0002", CALLEE, true).as_bytes(),
        &mut out,
    );
    assert_eq!(
        (action, status(&out)),
        (Action::Reply, &b"SIP/2.0 200 "[..])
    );
    floor
}

#[test]
fn the_registrar_challenges_then_accepts_any_credentials() {
    let mut out = Vec::new();
    let mut floor = Floor::new(Mode::Registrar, true);
    assert_eq!(
        floor.handle(
            addr(CALLER),
            register("a", CALLER, false).as_bytes(),
            &mut out
        ),
        Action::Reply
    );
    assert_eq!(status(&out), b"SIP/2.0 401 ");
    assert_eq!(
        floor.handle(
            addr(CALLER),
            register("a", CALLER, true).as_bytes(),
            &mut out
        ),
        Action::Reply
    );
    assert_eq!(status(&out), b"SIP/2.0 200 ");
    let mut open = Floor::new(Mode::Registrar, false);
    assert_eq!(
        open.handle(
            addr(CALLER),
            register("a", CALLER, false).as_bytes(),
            &mut out
        ),
        Action::Reply
    );
    assert_eq!(status(&out), b"SIP/2.0 200 ");
}

#[test]
fn the_registrar_answers_options_and_drops_the_rest() {
    let mut out = Vec::new();
    let mut floor = Floor::new(Mode::Registrar, false);
    let options = request("OPTIONS", "sip:127.0.0.1:5080", "", false);
    assert_eq!(
        floor.handle(addr(CALLER), options.as_bytes(), &mut out),
        Action::Reply
    );
    assert_eq!(status(&out), b"SIP/2.0 200 ");
    let invite = request("INVITE", "sip:user0002@confab.local", "", false);
    assert_eq!(
        floor.handle(addr(CALLER), invite.as_bytes(), &mut out),
        Action::Drop
    );
    assert_eq!(
        floor.handle(addr(CALLER), b"SIP/2.0 200 OK\r\n\r\n", &mut out),
        Action::Drop
    );
}

#[test]
fn a_call_through_the_proxy_without_digest() {
    let mut out = Vec::new();
    let mut floor = proxy(false);
    let invite = request("INVITE", "sip:user0002@confab.local", "", false);
    assert_eq!(
        floor.handle(addr(CALLER), invite.as_bytes(), &mut out),
        Action::Forward(addr(CALLEE))
    );
    // Responses from the callee go back to whoever sent the request.
    let ringing = b"SIP/2.0 180 Ringing\r\nVia: x\r\n\r\n";
    assert_eq!(
        floor.handle(addr(CALLEE), ringing, &mut out),
        Action::Forward(addr(CALLER))
    );
    // In-dialog requests name the callee's Contact, which has no user.
    let ack = request("ACK", "sip:127.0.0.1:5192", ";tag=callee", false);
    assert_eq!(
        floor.handle(addr(CALLER), ack.as_bytes(), &mut out),
        Action::Forward(addr(CALLEE))
    );
    let bye = request("BYE", "sip:127.0.0.1:5192", ";tag=callee", false);
    assert_eq!(
        floor.handle(addr(CALLER), bye.as_bytes(), &mut out),
        Action::Forward(addr(CALLEE))
    );
}

#[test]
fn the_proxy_challenges_new_requests_and_absorbs_the_ack_to_its_407() {
    let mut out = Vec::new();
    let mut floor = proxy(true);
    for method in ["INVITE", "MESSAGE"] {
        let first = request(method, "sip:user0002@confab.local", "", false);
        assert_eq!(
            floor.handle(addr(CALLER), first.as_bytes(), &mut out),
            Action::Reply
        );
        assert_eq!(status(&out), b"SIP/2.0 407 ");
        let again = request(method, "sip:user0002@confab.local", "", true);
        assert_eq!(
            floor.handle(addr(CALLER), again.as_bytes(), &mut out),
            Action::Forward(addr(CALLEE))
        );
    }
    let ack_to_407 = request("ACK", "sip:user0002@confab.local", ";tag=sipfloor", false);
    assert_eq!(
        floor.handle(addr(CALLER), ack_to_407.as_bytes(), &mut out),
        Action::Drop
    );
    // In-dialog requests are not challenged.
    let bye = request("BYE", "sip:127.0.0.1:5192", ";tag=callee", false);
    assert_eq!(
        floor.handle(addr(CALLER), bye.as_bytes(), &mut out),
        Action::Forward(addr(CALLEE))
    );
}

#[test]
fn the_proxy_drops_what_it_cannot_route() {
    let mut out = Vec::new();
    let mut floor = proxy(false);
    for uri in [
        "sip:nobody@confab.local",
        "sip:127.0.0.1:6000",
        "sip:confab.local",
        "garbage",
    ] {
        let message = request("MESSAGE", uri, "", false);
        assert_eq!(
            floor.handle(addr(CALLER), message.as_bytes(), &mut out),
            Action::Drop,
            "{uri}"
        );
    }
    // No caller yet, or a response from a stranger: nowhere to send it.
    let mut fresh = proxy(false);
    assert_eq!(
        fresh.handle(addr(CALLEE), b"SIP/2.0 200 OK\r\n\r\n", &mut out),
        Action::Drop
    );
    assert_eq!(
        floor.handle(addr(7000), b"SIP/2.0 200 OK\r\n\r\n", &mut out),
        Action::Drop
    );
}

#[test]
fn a_new_register_moves_the_binding_and_bindings_are_bounded() {
    let mut out = Vec::new();
    let mut floor = proxy(false);
    floor.handle(
        addr(6000),
        register("user0002", 6000, false).as_bytes(),
        &mut out,
    );
    let message = request("MESSAGE", "sip:user0002@confab.local", "", false);
    assert_eq!(
        floor.handle(addr(CALLER), message.as_bytes(), &mut out),
        Action::Forward(addr(6000))
    );
    for i in 0..200u16 {
        floor.handle(
            addr(10_000 + i),
            register(&format!("u{i}"), 10_000 + i, false).as_bytes(),
            &mut out,
        );
    }
    floor.handle(
        addr(9),
        register(&"x".repeat(100), 9, false).as_bytes(),
        &mut out,
    );
    assert_eq!(floor.bindings.len(), MAX_BINDINGS);
}

#[test]
fn malformed_datagrams_are_dropped() {
    let mut out = Vec::new();
    for mode in [Mode::Registrar, Mode::Proxy] {
        let mut floor = Floor::new(mode, true);
        let register = register("a", CALLER, true);
        let bytes = register.as_bytes();
        // Every prefix of a good request, and some noise.
        for end in 0..bytes.len() {
            let action = floor.handle(addr(CALLER), bytes.get(..end).unwrap_or_default(), &mut out);
            assert!(matches!(action, Action::Drop | Action::Reply));
        }
        for noise in [
            &b"\r\n\r\n"[..],
            b"\0\0\0",
            b"REGISTER",
            b"SIP/2.0",
            b"\xff\xff SIP/2.0 x",
        ] {
            assert_eq!(floor.handle(addr(CALLER), noise, &mut out), Action::Drop);
        }
    }
}
