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
//! Its `keepalive` mode is the same for a client, for the idle row:
//! signed in, it sends the keep-alive confab sends and reads the answer,
//! and does nothing else (`keepalive.rs`).
//!
//!   confab-sipfloor registrar|proxy [--listen ADDR] [--digest]
//!   confab-sipfloor keepalive --server ADDR --user NAME [--password PW]
//!                   [--domain DOMAIN] [--interval SECONDS]
//!
//! It runs until killed. Bad input is dropped.

mod floor;
mod keepalive;
mod message;

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::Duration;

use crate::floor::{Action, Floor, Mode};
use crate::keepalive::Account;

const USAGE: &str = "usage: confab-sipfloor registrar|proxy [--listen ADDR] [--digest]
       confab-sipfloor keepalive --server ADDR --user NAME [--password PW]
                       [--domain DOMAIN] [--interval SECONDS]

  registrar  answer each REGISTER with 200 (--digest: 401 first)
  proxy      keep where REGISTERs come from, forward requests and responses
             unchanged (--digest: 407 to INVITE and MESSAGE first)
  keepalive  register as NAME (password PW, default NAME) at ADDR for
             DOMAIN (default confab.local), then send an OPTIONS every
             SECONDS (default 30) and read the answer
  --listen   UDP address (default 127.0.0.1:5080)
  --digest   challenge, then accept any credentials without checking them";

/// What to run.
enum Command {
    Serve {
        mode: Mode,
        listen: SocketAddr,
        digest: bool,
    },
    KeepAlive(Account),
}

/// Larger than any UDP datagram.
const DATAGRAM: usize = 65_536;

fn main() -> ExitCode {
    let command = match parse_args(std::env::args().skip(1)) {
        Ok(Some(command)) => command,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("confab-sipfloor: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (mode, listen, digest) = match command {
        Command::Serve {
            mode,
            listen,
            digest,
        } => (mode, listen, digest),
        Command::KeepAlive(account) => {
            return match keepalive::run(&account) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("confab-sipfloor: {error}");
                    ExitCode::FAILURE
                }
            };
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

/// The command; `None` for --help.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Command>, String> {
    let mut mode = None;
    let mut keepalive = false;
    let mut listen: SocketAddr = ([127, 0, 0, 1], 5080).into();
    let mut digest = false;
    let (mut server, mut user, mut password) = (None, None, None);
    let mut domain = "confab.local".to_owned();
    let mut interval = Duration::from_secs(30);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "registrar" => mode = Some(Mode::Registrar),
            "proxy" => mode = Some(Mode::Proxy),
            "keepalive" => keepalive = true,
            "--digest" => digest = true,
            "--listen" => listen = address(args.next(), "--listen")?,
            "--server" => server = Some(address(args.next(), "--server")?),
            "--user" => user = Some(args.next().ok_or("--user needs a name")?),
            "--password" => password = Some(args.next().ok_or("--password needs a value")?),
            "--domain" => domain = args.next().ok_or("--domain needs a name")?,
            "--interval" => {
                let value = args.next().ok_or("--interval needs seconds")?;
                let seconds: u64 = value
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or(format!("not a number of seconds: {value}"))?;
                interval = Duration::from_secs(seconds);
            }
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if keepalive {
        let user = user.ok_or("keepalive needs --user")?;
        return Ok(Some(Command::KeepAlive(Account {
            server: server.ok_or("keepalive needs --server")?,
            password: password.unwrap_or_else(|| user.clone()),
            user,
            domain,
            interval,
        })));
    }
    let mode = mode.ok_or("registrar, proxy or keepalive?")?;
    Ok(Some(Command::Serve {
        mode,
        listen,
        digest,
    }))
}

fn address(value: Option<String>, option: &str) -> Result<SocketAddr, String> {
    let value = value.ok_or(format!("{option} needs an address"))?;
    value
        .parse()
        .map_err(|_| format!("not an address: {value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Result<Option<Command>, String> {
        parse_args(text.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn keepalive_takes_its_account_with_defaults() {
        let Ok(Some(Command::KeepAlive(account))) =
            args("keepalive --server 127.0.0.1:5060 --user vivian")
        else {
            panic!("a keepalive command");
        };
        assert_eq!(account.server, SocketAddr::from(([127, 0, 0, 1], 5060)));
        assert_eq!(account.password, "vivian");
        assert_eq!(account.domain, "confab.local");
        assert_eq!(account.interval, Duration::from_secs(30));
        let Ok(Some(Command::KeepAlive(account))) = args(
            "keepalive --server 127.0.0.1:5060 --user amy --password pw --domain d --interval 5",
        ) else {
            panic!("a keepalive command");
        };
        assert_eq!(
            (account.password.as_str(), account.domain.as_str()),
            ("pw", "d")
        );
        assert_eq!(account.interval, Duration::from_secs(5));
    }

    #[test]
    fn bad_arguments_are_refused_with_a_reason() {
        for (text, reason) in [
            ("keepalive --user amy", "keepalive needs --server"),
            ("keepalive --server 127.0.0.1:1", "keepalive needs --user"),
            (
                "keepalive --server nowhere --user amy",
                "not an address: nowhere",
            ),
            (
                "keepalive --server 127.0.0.1:1 --user amy --interval 0",
                "not a number of seconds: 0",
            ),
            ("--digest", "registrar, proxy or keepalive?"),
        ] {
            assert_eq!(args(text).err().as_deref(), Some(reason), "{text}");
        }
        assert!(matches!(
            args("proxy --digest"),
            Ok(Some(Command::Serve {
                mode: Mode::Proxy,
                digest: true,
                ..
            }))
        ));
    }
}
