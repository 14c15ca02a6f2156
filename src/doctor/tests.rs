use std::net::UdpSocket;
use std::thread;

use super::*;

/// A UDP socket that answers each OPTIONS with a 200 carrying its Via,
/// Call-ID and CSeq (RFC 3261 §8.2.6.2), in compact form when `compact`.
fn fake_sip_server(compact: bool) -> (SocketAddr, thread::JoinHandle<()>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        let (len, from) = socket.recv_from(&mut buffer).unwrap();
        let request = String::from_utf8_lossy(&buffer[..len]).into_owned();
        assert!(request.starts_with("OPTIONS sip:"), "{request}");
        let header = |name: &str| {
            request
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap()
                .to_owned()
        };
        let call_id = if compact { "i:" } else { "Call-ID:" };
        // First a stray response to some other request: not ours.
        let stray = "SIP/2.0 200 OK\r\nCall-ID: other@elsewhere\r\n\r\n";
        socket.send_to(stray.as_bytes(), from).unwrap();
        let response = format!(
            "SIP/2.0 200 OK\r\nVia:{}\r\n{call_id}{}\r\nCSeq:{}\r\nServer: fake/1.0\r\nContent-Length: 0\r\n\r\n",
            header("Via:"),
            header("Call-ID:"),
            header("CSeq:")
        );
        socket.send_to(response.as_bytes(), from).unwrap();
    });
    (addr, handle)
}

#[test]
fn a_sip_server_that_answers_options_is_recognised() {
    for compact in [false, true] {
        let (addr, server) = fake_sip_server(compact);
        let check = check_sip_port(addr, Duration::from_secs(5));
        server.join().unwrap();
        assert_eq!(
            check,
            SipCheck::Answered {
                status_line: "SIP/2.0 200 OK".into(),
                server: Some("fake/1.0".into()),
            }
        );
        assert_eq!(
            check.to_string(),
            "a SIP server answers: SIP/2.0 200 OK (fake/1.0)"
        );
    }
}

#[test]
fn a_silent_udp_socket_is_in_use_but_not_sip() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let check = check_sip_port(silent.local_addr().unwrap(), Duration::from_millis(100));
    assert_eq!(
        check,
        SipCheck::InUse {
            udp: true,
            tcp: false
        }
    );
}

#[test]
fn a_tcp_listener_alone_is_in_use() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let check = check_sip_port(listener.local_addr().unwrap(), Duration::from_millis(100));
    assert_eq!(
        check,
        SipCheck::InUse {
            udp: false,
            tcp: true
        }
    );
    assert!(check.to_string().starts_with("in use on TCP"));
}

#[test]
fn a_free_port_is_free() {
    // Bound then released: nothing listens there now.
    let port = {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap()
    };
    assert_eq!(
        check_sip_port(port, Duration::from_millis(100)),
        SipCheck::Free
    );
}

#[test]
fn only_a_response_with_our_call_id_counts() {
    let ours = "SIP/2.0 486 Busy Here\r\nCall-ID: abc@confab-doctor\r\nUser-Agent: x\r\n\r\n";
    assert_eq!(
        parse_response(ours, "abc@confab-doctor"),
        Some(SipCheck::Answered {
            status_line: "SIP/2.0 486 Busy Here".into(),
            server: Some("x".into()),
        })
    );
    for other in [
        "SIP/2.0 200 OK\r\nCall-ID: zzz\r\n\r\n",
        "OPTIONS sip:a SIP/2.0\r\nCall-ID: abc@confab-doctor\r\n\r\n",
        "SIP/2.0 2x0 OK\r\nCall-ID: abc@confab-doctor\r\n\r\n",
        "SIP/2.0 200 OK\r\n\r\nCall-ID: abc@confab-doctor\r\n",
        "SIP/2.0",
        "",
        "\u{fffd}\u{fffd}",
    ] {
        assert_eq!(
            parse_response(other, "abc@confab-doctor"),
            None,
            "{other:?}"
        );
    }
}

#[test]
fn device_configs_are_summarised_as_spans() {
    let range = |format: &str, channels, min_rate, max_rate| device::ConfigRange {
        sample_format: format.into(),
        channels,
        min_rate,
        max_rate,
    };
    let configs = [
        range("i16", 1, 8_000, 48_000),
        range("i16", 2, 8_000, 48_000),
        range("f32", 2, 44_100, 96_000),
    ];
    assert_eq!(
        summarize(&configs).unwrap(),
        "i16/f32, 1-2 ch, 8000-96000 Hz"
    );
    assert_eq!(
        summarize(&[range("i32", 2, 48_000, 48_000)]).unwrap(),
        "i32, 2 ch, 48000 Hz"
    );
    assert_eq!(summarize(&[]), None);
}

#[test]
fn meter_lines_span_minus_60_to_0_dbfs() {
    let line = meter_line(Level {
        peak: 0.25,
        rms: 0.25 / std::f32::consts::SQRT_2,
    });
    assert_eq!(
        line,
        format!(
            "[{}{}]  -12.0 dBFS peak  -15.1 dBFS rms",
            "#".repeat(24),
            ".".repeat(6)
        )
    );
    let silent = meter_line(Level::default());
    assert_eq!(
        silent,
        format!("[{}]   -inf dBFS peak   -inf dBFS rms", ".".repeat(30))
    );
}

#[test]
fn frames_are_counted_from_seconds() {
    assert_eq!(frames_for(1.0), 50);
    assert_eq!(frames_for(0.5), 25);
    assert_eq!(frames_for(-3.0), 0);
    assert_eq!(frames_for(f64::NAN), 0);
    assert_eq!(frames_for(1e300), 180_000);
    assert!(deadline(f64::INFINITY) > Instant::now());
}
