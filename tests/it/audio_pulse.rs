//! Two `confab agent`s in a call on loopback through the real cpal path:
//! each agent opens ALSA's `default` device, which the pulse ALSA plugin
//! (libasound2-plugins) routes to a private PulseAudio daemon of its own. So
//! the streams are paced in real time by a sound server, as with a sound
//! card, on a machine without one.
//!
//! Each daemon has two null sinks: `speaker`, the default sink, whose monitor
//! `parec` records (what the agent plays), and `tone`, on which `module-sine`
//! plays the agent's tone; `tone.monitor` is the default source (the agent's
//! microphone). `module-sine-source` is not used: it hands out audio in
//! blocks of two seconds, of which the capture's latency bound (120 ms)
//! keeps only the newest.
//!
//! Every child process (daemons, parec, agents) is killed on drop, also when
//! a test panics. Each wait is bounded by a deadline that fails the test.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{CONFAB, DOMAIN, ServerProcess, tone_level};

const WAIT: Duration = Duration::from_secs(10);
/// A PulseAudio daemon answers within a fraction of a second, and its
/// streams run regularly 0.6 to 2 s after they open; generous for a loaded
/// machine.
const PULSE_START: Duration = Duration::from_secs(30);
const RATE: usize = 48_000;
/// One analysis window: 20 ms at 48 kHz.
const WINDOW: usize = RATE / 50;
/// Bytes a second of what `parec` records: 48 kHz, 16-bit, mono.
const BYTES_PER_SECOND: u64 = (RATE * 2) as u64;
/// Seconds of the call to record.
const CALL_SECONDS: u64 = 2;

/// The `tone` sink's volume that takes `module-sine`'s half-scale sine to a
/// quarter of full scale, the level of confab's own test tones: PulseAudio
/// volumes are cubic, 0x10000 × ∛0.5.
const QUARTER_SCALE: u32 = 52_016;

const SETUP: &str = "run scripts/setup-system.sh (packages pulseaudio pulseaudio-utils \
                     libasound2-plugins)";

/// Polls `done` every 10 ms until it holds; panics with `what` at the deadline.
fn poll_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `command` to completion, killing it and failing at the deadline.
fn run_bounded(mut command: Command, limit: Duration) -> Output {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{program} cannot run ({error}): {SETUP}"));
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().unwrap().is_some() {
            // The output is a few lines: it fits the pipes, so the child
            // exited without waiting for us to read.
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{program} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// A private PulseAudio daemon, its socket and state in its own directory.
struct PulseDaemon {
    child: Child,
    dir: tempfile::TempDir,
    /// The `PULSE_SERVER` of this daemon.
    server: String,
}

impl PulseDaemon {
    /// Starts a daemon whose default source plays `tone_hz`.
    fn start(tone_hz: u32) -> PulseDaemon {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["home", "config", "runtime", "data", "state"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let socket = dir.path().join("native");
        let script = dir.path().join("daemon.pa");
        // auth-anonymous: the clients have no cookie of this daemon.
        std::fs::write(
            &script,
            format!(
                "load-module module-native-protocol-unix socket={socket} auth-anonymous=1\n\
                 load-module module-null-sink sink_name=speaker rate={RATE} channels=1\n\
                 load-module module-null-sink sink_name=tone rate={RATE} channels=1\n\
                 load-module module-sine sink=tone frequency={tone_hz}\n\
                 set-sink-volume tone {QUARTER_SCALE}\n\
                 set-default-sink speaker\n\
                 set-default-source tone.monitor\n",
                socket = socket.display()
            ),
        )
        .unwrap();
        let log = File::create(dir.path().join("pulseaudio.log")).unwrap();
        let mut command = Command::new("pulseaudio");
        // -n: none of the system's default.pa (no hardware, no D-Bus, no
        // other sockets); --disallow-exit and no idle exit: it lives until
        // killed. Real-time scheduling and the pid file would touch the
        // machine beyond this directory.
        command
            .arg("-n")
            .arg("--file")
            .arg(&script)
            .args([
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--disallow-exit",
                "--use-pid-file=no",
                "--realtime=no",
                "--high-priority=no",
                "--log-target=stderr",
                "--log-level=warning",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let server = format!("unix:{}", socket.display());
        let mut daemon = PulseDaemon {
            child: Self::isolate(&mut command, dir.path(), &server)
                .spawn()
                .unwrap_or_else(|error| panic!("pulseaudio cannot run ({error}): {SETUP}")),
            dir,
            server,
        };
        daemon.wait_until_answering();
        daemon
    }

    /// Points `command` at this daemon, with HOME and the XDG directories in
    /// `dir` so that nothing of the machine's user is read or written (no
    /// ~/.asoundrc, no confab config, no pulse cookie).
    fn isolate<'a>(command: &'a mut Command, dir: &Path, server: &str) -> &'a mut Command {
        command
            .env("PULSE_SERVER", server)
            .env("HOME", dir.join("home"))
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_RUNTIME_DIR", dir.join("runtime"))
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("XDG_STATE_HOME", dir.join("state"))
            .env_remove("ALSA_CONFIG_PATH")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        Self::isolate(&mut command, self.dir.path(), &self.server);
        command
    }

    /// Polls `pactl info` until the daemon answers with its script run.
    fn wait_until_answering(&mut self) {
        let deadline = Instant::now() + PULSE_START;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("pulseaudio exited ({status}) at start-up: {}", self.log());
            }
            let mut pactl = self.command("pactl");
            pactl.arg("info");
            let output = run_bounded(pactl, WAIT);
            let info = String::from_utf8_lossy(&output.stdout);
            if output.status.success()
                && info.contains("Default Sink: speaker")
                && info.contains("Default Source: tone.monitor")
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "pulseaudio did not answer within {PULSE_START:?}: {info}{}\n{}",
                String::from_utf8_lossy(&output.stderr),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pulseaudio.log")).unwrap_or_default()
    }

    /// Starts recording what is played on `speaker` into `name` in the
    /// daemon's directory, and waits until audio arrives.
    fn record(&self, name: &str) -> Recording {
        let path = self.dir.path().join(name);
        let file = File::create(&path).unwrap();
        // --latency-msec: small fragments, so the file grows smoothly
        // (the default is seconds).
        let child = self
            .command("parec")
            .args([
                "--device=speaker.monitor",
                "--rate=48000",
                "--channels=1",
                "--format=s16le",
                "--raw",
                "--latency-msec=20",
            ])
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("parec cannot run ({error}): {SETUP}"));
        let recording = Recording { child, path };
        poll_until("the speaker recording starts", PULSE_START, || {
            file_len(&recording.path) >= BYTES_PER_SECOND / 10
        });
        recording
    }
}

impl Drop for PulseDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `parec`, writing raw samples to `path`.
struct Recording {
    child: Child,
    path: PathBuf,
}

impl Recording {
    fn len(&self) -> u64 {
        file_len(&self.path)
    }

    /// Stops recording; the samples recorded.
    fn finish(mut self) -> Vec<i16> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::read(&self.path)
            .unwrap()
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect()
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `confab agent` on its daemon's devices, its JSON events on a channel.
struct Agent {
    child: Child,
    stdin: Option<ChildStdin>,
    events: Receiver<Value>,
    name: &'static str,
}

impl Agent {
    /// Signs in `name` (password = name, as `--demo` has it).
    fn start(name: &'static str, server: SocketAddr, pulse: &PulseDaemon) -> Agent {
        let mut child = pulse
            .command(CONFAB)
            .args(["agent", "--server"])
            .arg(server.to_string())
            .args(["--user", &format!("sip:{name}@{DOMAIN}")])
            .args(["--log-level", "warn"])
            .args(["--audio-in", "device", "--audio-out", "device"])
            .env("CONFAB_PASSWORD", name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // ALSA and the pulse plugin write their complaints here.
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn confab agent");
        let stdout = child.stdout.take().unwrap();
        let (sender, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|error| panic!("non-JSON line {line:?}: {error}"));
                if sender.send(value).is_err() {
                    break;
                }
            }
        });
        Agent {
            stdin: child.stdin.take(),
            child,
            events,
            name,
        }
    }

    fn send(&mut self, command: Value) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
    }

    /// The next event, whatever it is.
    fn next(&self, within: Duration) -> Value {
        match self.events.recv_timeout(within) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => panic!("{}: no event within {within:?}", self.name),
            Err(RecvTimeoutError::Disconnected) => panic!("{}: the agent exited", self.name),
        }
    }

    /// Waits for the first event named `name` that `wanted` accepts.
    fn expect_where(&self, name: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self.events.recv_timeout(left).unwrap_or_else(|error| {
                panic!("{}: no {name:?} event within {WAIT:?} ({error})", self.name)
            });
            if event["event"] == name && wanted(&event) {
                return event;
            }
        }
    }

    fn expect_call(&self, state: &str) -> Value {
        self.expect_where("call", |event| event["state"] == state)
    }

    /// Closes stdin (a quit) and waits for the agent to exit.
    fn quit(mut self) -> ExitStatus {
        drop(self.stdin.take());
        let mut status = None;
        poll_until(&format!("{} exits after quitting", self.name), WAIT, || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        status.unwrap()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many 20 ms windows of `samples` hold `hz` above `level` (the tones
/// are played at half of full scale).
fn windows_with(samples: &[i16], hz: f64, level: f64) -> usize {
    samples
        .chunks_exact(WINDOW)
        .filter(|window| tone_level(window, RATE as u32, hz) > level)
        .count()
}

#[test]
fn each_side_hears_the_other_through_pulseaudio_and_not_itself() {
    let _turn = crate::harness::audio_call_turn();
    let server = ServerProcess::start();
    let vivian_pulse = PulseDaemon::start(440);
    let amy_pulse = PulseDaemon::start(880);
    let vivian_speaker = vivian_pulse.record("vivian-speaker.raw");
    let amy_speaker = amy_pulse.record("amy-speaker.raw");

    let mut vivian = Agent::start("vivian", server.addr, &vivian_pulse);
    let mut amy = Agent::start("amy", server.addr, &amy_pulse);
    for agent in [&vivian, &amy] {
        let audio = agent.next(WAIT);
        assert_eq!(
            (&audio["event"], &audio["state"]),
            (&json!("audio"), &json!("ready")),
            "{}: the pulse devices did not open: {audio} (is libasound2-plugins \
             installed? {SETUP})",
            agent.name
        );
        agent.expect_where("registered", |_| true);
    }

    vivian.send(json!({"cmd": "call", "to": format!("sip:amy@{DOMAIN}")}));
    amy.expect_where("incoming_call", |_| true);
    amy.send(json!({"cmd": "call.answer"}));
    vivian.expect_call("connected");
    amy.expect_call("connected");
    // The sound server paces the recording: its growth is the call's time.
    for speaker in [&vivian_speaker, &amy_speaker] {
        let until = speaker.len() + CALL_SECONDS * BYTES_PER_SECOND;
        poll_until(
            &format!(
                "{} holds {CALL_SECONDS} s of the call",
                speaker.path.display()
            ),
            PULSE_START,
            || speaker.len() >= until,
        );
    }
    vivian.send(json!({"cmd": "call.hangup"}));
    amy.expect_call("ended");
    assert!(vivian.quit().success(), "vivian exited with an error");
    assert!(amy.quit().success(), "amy exited with an error");

    for (who, speaker, heard, own) in [
        ("vivian", vivian_speaker, 880.0, 440.0),
        ("amy", amy_speaker, 440.0, 880.0),
    ] {
        let samples = speaker.finish();
        let heard_windows = windows_with(&samples, heard, 0.05);
        let own_windows = windows_with(&samples, own, 0.05);
        let call_windows = (CALL_SECONDS * 50) as usize;
        // Most of the call: the stream takes some of it to start.
        assert!(
            heard_windows >= call_windows * 3 / 4,
            "{who}: the other's tone ({heard} Hz) in only {heard_windows} windows \
             of a {CALL_SECONDS} s call ({} windows recorded)",
            samples.len() / WINDOW
        );
        assert_eq!(own_windows, 0, "{who}: its own tone ({own} Hz) came back");
    }
}
