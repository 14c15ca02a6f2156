//! `confab serve --no-auth` on loopback: a REGISTER without credentials
//! is taken (200) by a server started with the flag and challenged (401)
//! by one started without it.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use crate::harness::{DOMAIN, ServerProcess};

/// The status line of the server's answer to a REGISTER for amy that
/// carries no credentials, sent from a fresh socket.
fn register_without_credentials(server: &ServerProcess) -> String {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let local = socket.local_addr().unwrap();
    let register = format!(
        "REGISTER sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKnoauth\r\n\
         Max-Forwards: 70\r\nFrom: <sip:amy@{DOMAIN}>;tag=na\r\nTo: <sip:amy@{DOMAIN}>\r\n\
         Call-ID: noauth@{local}\r\nCSeq: 1 REGISTER\r\nContact: <sip:amy@{local}>\r\n\
         Expires: 60\r\nContent-Length: 0\r\n\r\n"
    );
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(5);
    // UDP: resend (same branch, so the same transaction) until answered.
    while Instant::now() < deadline {
        socket.send_to(register.as_bytes(), server.addr).unwrap();
        while let Ok((len, _)) = socket.recv_from(&mut buffer) {
            let text = String::from_utf8_lossy(&buffer[..len]).into_owned();
            let status = text.lines().next().unwrap_or_default().to_owned();
            // A provisional answer is not the one we wait for.
            if status.starts_with("SIP/2.0 ") && !status.starts_with("SIP/2.0 1") {
                return status;
            }
        }
    }
    panic!("no final answer to a REGISTER from {}", server.addr);
}

#[test]
fn a_register_without_credentials_gets_200_only_with_no_auth() {
    let open = ServerProcess::start_with(&["--demo", "--no-auth"]);
    assert_eq!(register_without_credentials(&open), "SIP/2.0 200 OK");
    let closed = ServerProcess::start();
    assert_eq!(
        register_without_credentials(&closed),
        "SIP/2.0 401 Unauthorized"
    );
}
