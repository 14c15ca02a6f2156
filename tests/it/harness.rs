//! Real processes on loopback: `confab serve`, `confab agent`s reading JSON
//! lines, and sipp. Every wait is for a specific line or answer, bounded by
//! a deadline that fails the test, never a sleep that hopes.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const CONFAB: &str = env!("CARGO_BIN_EXE_confab");

/// Calls with real-time audio judge timing: one at a time, so they do not
/// load each other's cores and read the load as network jitter.
pub static AUDIO_CALLS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds [`AUDIO_CALLS`] for a test (a panicking holder does not block
/// the others).
pub fn audio_call_turn() -> std::sync::MutexGuard<'static, ()> {
    AUDIO_CALLS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
pub const DOMAIN: &str = "confab.local";

/// A free loopback port for UDP and TCP (bound then released, so another
/// socket may take it before its user binds it; [`ServerProcess::start_with`]
/// then starts again on another port).
pub fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let port = udp.local_addr().expect("addr").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A `confab serve --demo` on its own port and data directory.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    data: Option<tempfile::TempDir>,
}

impl ServerProcess {
    pub fn start() -> ServerProcess {
        Self::start_with(&["--demo"])
    }

    /// With other serve flags than `--demo` (e.g. `--demo-buddies`). Tests
    /// run side by side, so a port found free may be taken by another
    /// test's socket before the server binds it; the server then exits,
    /// and it starts again on another port.
    pub fn start_with(flags: &[&str]) -> ServerProcess {
        let mut exits = Vec::new();
        for _ in 0..5 {
            let data = tempfile::tempdir().expect("tempdir");
            let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
            match Self::launch(addr, data, flags) {
                Ok(server) => return server,
                Err(exit) => exits.push(format!("{addr}: {exit}")),
            }
        }
        panic!("confab serve exited at every start: {exits:?}");
    }

    pub fn start_at(addr: SocketAddr, data: tempfile::TempDir) -> ServerProcess {
        Self::launch(addr, data, &["--demo"])
            .unwrap_or_else(|exit| panic!("confab serve on {addr} exited: {exit}"))
    }

    /// The server once it answers, or how it exited before it did.
    fn launch(
        addr: SocketAddr,
        data: tempfile::TempDir,
        flags: &[&str],
    ) -> Result<ServerProcess, std::process::ExitStatus> {
        let child = Command::new(CONFAB)
            .arg("serve")
            .args(flags)
            .args(["--domain", DOMAIN, "--listen"])
            .arg(addr.to_string())
            .arg("--data")
            .arg(data.path())
            .args(["--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn confab serve");
        let mut server = ServerProcess {
            child,
            addr,
            data: Some(data),
        };
        wait_until_answering(&mut server.child, addr, &format!("sip:{DOMAIN}"))?;
        Ok(server)
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        self.data
            .as_ref()
            .map(|data| data.path())
            .expect("data directory kept until kill")
    }

    /// Stops the server, keeping its data directory for a restart.
    pub fn kill(mut self) -> (SocketAddr, tempfile::TempDir) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let data = self.data.take().expect("data directory kept until kill");
        (self.addr, data)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends OPTIONS for `request_uri` to the server `child` listens on at
/// `addr` until one is answered 200; how the server exited if it did
/// first. Panics when 10 s pass with neither.
pub fn wait_until_answering(
    child: &mut Child,
    addr: SocketAddr,
    request_uri: &str,
) -> Result<(), std::process::ExitStatus> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let local = socket.local_addr().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buffer = [0u8; 4096];
    let mut attempt = 0;
    while Instant::now() < deadline {
        if let Ok(Some(exit)) = child.try_wait() {
            return Err(exit);
        }
        attempt += 1;
        let options = format!(
            "OPTIONS {request_uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKready{attempt}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:probe@{DOMAIN}>;tag=p\r\nTo: <{request_uri}>\r\n\
             Call-ID: ready{attempt}@probe\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        socket.send_to(options.as_bytes(), addr).unwrap();
        if let Ok((len, _)) = socket.recv_from(&mut buffer) {
            if buffer[..len].starts_with(b"SIP/2.0 200") {
                return Ok(());
            }
        }
    }
    panic!("the server on {addr} never answered OPTIONS");
}

/// A `confab agent` whose events arrive on a channel.
pub struct AgentProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    events: Receiver<Value>,
    pub name: String,
}

impl AgentProcess {
    pub fn start(
        name: &str,
        server: SocketAddr,
        user: &str,
        password: &str,
        extra: &[&str],
    ) -> AgentProcess {
        let mut child = Command::new(CONFAB)
            .args(["agent", "--server"])
            .arg(server.to_string())
            .args(["--user", &format!("sip:{user}@{DOMAIN}")])
            .args(["--log-level", "warn"])
            .args(extra)
            .env("CONFAB_PASSWORD", password)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn confab agent");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value: Value = serde_json::from_str(&line).unwrap_or_else(|error| {
                    panic!("agent printed a non-JSON line {line:?}: {error}")
                });
                if sender.send(value).is_err() {
                    break;
                }
            }
        });
        AgentProcess {
            stdin: child.stdin.take(),
            child,
            events,
            name: name.to_owned(),
        }
    }

    pub fn send(&mut self, command: Value) {
        let stdin = self.stdin.as_mut().expect("agent stdin open");
        writeln!(stdin, "{command}").expect("write to agent");
        stdin.flush().expect("flush agent stdin");
    }

    /// Waits for the first event named `name`, failing on timeout. Events of
    /// other names before it are returned too, for assertions.
    pub fn expect(&self, name: &str, within: Duration) -> Value {
        self.expect_where(name, within, |_| true)
    }

    /// Waits for the first event named `name` that `wanted` accepts.
    pub fn expect_where(
        &self,
        name: &str,
        within: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) if event["event"] == name && wanted(&event) => return event,
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{}: no {name:?} event within {within:?}", self.name)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("{}: agent exited before a {name:?} event", self.name)
                }
            }
        }
    }

    /// Waits for a `call` event with this state.
    pub fn expect_call(&self, state: &str, within: Duration) -> Value {
        self.expect_where("call", within, |event| event["state"] == state)
    }

    /// Closes stdin (a quit) and waits for the process to exit.
    pub fn quit(mut self, within: Duration) -> std::process::ExitStatus {
        drop(self.stdin.take());
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait agent") {
                return status;
            }
            if Instant::now() > deadline {
                panic!(
                    "{}: agent did not exit within {within:?} of quitting",
                    self.name
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a sipp scenario to completion; returns its exit status and output.
pub fn sipp(server: SocketAddr, scenario: &str, args: &[&str]) -> (bool, String) {
    // sipp reads the scenario at -sf, so the keys it uses go first.
    let output = Command::new("sipp")
        .arg(server.to_string())
        .args(args)
        .arg("-sf")
        .arg(repo_path(&format!("tests/sipp/{scenario}")))
        .args([
            "-i",
            "127.0.0.1",
            "-m",
            "1",
            "-timeout",
            "20s",
            "-timeout_error",
            "-nostdin",
        ])
        .output()
        .expect("sipp is installed (scripts/setup-system.sh)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The strength of `hz` in `samples` (sampled at `rate`), as a fraction of
/// full scale: one Goertzel filter over the whole slice.
pub fn tone_level(samples: &[i16], rate: u32, hz: f64) -> f64 {
    goertzel(samples, rate, hz, |_| 1.0) * 2.0
}

/// [`tone_level`] over a Hann window: tones a few hundred hertz apart do
/// not leak into each other's bins (a plain 20 ms window lets them, at
/// about 0.015 of full scale for tones at 0.25; the Hann window's
/// sidelobes are 60 dB down there).
pub fn tone_level_hann(samples: &[i16], rate: u32, hz: f64) -> f64 {
    let last = samples.len().saturating_sub(1).max(1) as f64;
    let hann = |n: usize| 0.5 - 0.5 * (std::f64::consts::TAU * n as f64 / last).cos();
    // The Hann window's coherent gain is one half.
    goertzel(samples, rate, hz, hann) * 4.0
}

fn goertzel(samples: &[i16], rate: u32, hz: f64, window: impl Fn(usize) -> f64) -> f64 {
    let coefficient = 2.0 * (std::f64::consts::TAU * hz / f64::from(rate)).cos();
    let (mut previous, mut before) = (0.0, 0.0);
    for (n, &sample) in samples.iter().enumerate() {
        let current = window(n) * f64::from(sample) / 32768.0 + coefficient * previous - before;
        before = previous;
        previous = current;
    }
    let power = previous * previous + before * before - coefficient * previous * before;
    power.max(0.0).sqrt() / samples.len() as f64
}

#[test]
fn a_server_that_cannot_bind_its_port_is_reported_by_its_exit() {
    let taken = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let data = tempfile::tempdir().expect("tempdir");

    let exit = ServerProcess::launch(addr, data, &["--demo"])
        .err()
        .expect("the port is taken");

    assert!(!exit.success(), "{exit}");
}
