//! confab-sipfloor: the least any SIP server must pay on this machine, for
//! the registrar and proxy rows of benches/peers. One thread, one blocking
//! UDP socket, one `recv_from` and at most one `send_to` per datagram, no
//! parsing beyond finding a few header lines, no allocation per message:
//! what is left is the datagrams, the system calls and the wake-ups,
//! which every server pays too. It is just enough of a registrar or a
//! proxy for the sipp scenarios in benches/peers/sipp to complete, and it
//! does NOT verify digests: any Authorization header is taken as valid.
//! `floor.rs` says what it answers and forwards.
//!
//!   confab-sipfloor registrar|proxy [--listen ADDR] [--digest]
//!
//! It runs until killed. Bad input is dropped.

mod floor;
mod message;

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;

use crate::floor::{Action, Floor, Mode};

const USAGE: &str = "usage: confab-sipfloor registrar|proxy [--listen ADDR] [--digest]

  registrar  answer each REGISTER with 200 (--digest: 401 first)
  proxy      keep where REGISTERs come from, forward requests and responses
             unchanged (--digest: 407 to INVITE and MESSAGE first)
  --listen   UDP address (default 127.0.0.1:5080)
  --digest   challenge, then accept any credentials without checking them";

/// Larger than any UDP datagram.
const DATAGRAM: usize = 65_536;

fn main() -> ExitCode {
    let (mode, listen, digest) = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("confab-sipfloor: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let socket = match UdpSocket::bind(listen) {
        Ok(socket) => socket,
        Err(error) => {
            eprintln!("confab-sipfloor: cannot bind {listen}: {error}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("confab-sipfloor: {mode:?} on udp {listen}, digest {digest}");
    serve(&socket, Floor::new(mode, digest))
}

/// The loop: one `recv_from`, at most one `send_to`.
fn serve(socket: &UdpSocket, mut floor: Floor) -> ExitCode {
    let mut buffer = vec![0u8; DATAGRAM];
    let mut out = Vec::with_capacity(4096);
    loop {
        let (len, from) = match socket.recv_from(&mut buffer) {
            Ok(received) => received,
            // A send to a port nobody listens on comes back as an ICMP
            // error on the next receive; the peer's loss, not ours.
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::Interrupted | ErrorKind::ConnectionRefused
                ) =>
            {
                continue;
            }
            Err(error) => {
                eprintln!("confab-sipfloor: receive: {error}");
                return ExitCode::FAILURE;
            }
        };
        let datagram = buffer.get(..len).unwrap_or_default();
        // A failed send is a lost datagram, as UDP allows.
        let _ = match floor.handle(from, datagram, &mut out) {
            Action::Reply => socket.send_to(&out, from),
            Action::Forward(to) => socket.send_to(datagram, to),
            Action::Drop => continue,
        };
    }
}

/// Mode, listening address and digest; `None` for --help.
fn parse_args(
    mut args: impl Iterator<Item = String>,
) -> Result<Option<(Mode, SocketAddr, bool)>, String> {
    let mut mode = None;
    let mut listen: SocketAddr = ([127, 0, 0, 1], 5080).into();
    let mut digest = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "registrar" => mode = Some(Mode::Registrar),
            "proxy" => mode = Some(Mode::Proxy),
            "--digest" => digest = true,
            "--listen" => {
                let value = args.next().ok_or("--listen needs an address")?;
                listen = value
                    .parse()
                    .map_err(|_| format!("not an address: {value}"))?;
            }
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let mode = mode.ok_or("registrar or proxy?")?;
    Ok(Some((mode, listen, digest)))
}
