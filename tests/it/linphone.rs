//! Interop with a real phone: linphonec (Linphone 5.1, Debian's
//! linphone-cli) registered to `confab serve --demo` as hao, in a call with
//! a `confab agent` registered as amy, once each way. Each side sends its
//! own tone and records what it hears; each recording must hold the other's
//! tone and not its own, and the SDP answer must have chosen Opus.
//!
//! linphonec runs from tests/linphone/linphonerc (loopback, UDP, no video,
//! no NAT helpers) in a temporary HOME, driven through its stdin. It has no
//! sound card here: `soundcard use files` makes it send a WAV file (`play`)
//! and record what it receives to another (`record`), paced by its own media
//! ticker. Its stdout, read by a thread, gives the call states; its log
//! (`-d 6`) holds the SIP messages, read for the negotiated codec. Every wait
//! is for a line or for a recording to grow, bounded by a deadline.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{AgentProcess, DOMAIN, ServerProcess, free_port, repo_path, tone_level_hann};

const WAIT: Duration = Duration::from_secs(10);
/// The tone linphonec plays from its WAV file.
const LINPHONE_HZ: f64 = 1000.0;
/// The tone the confab agent sends (`--audio-in tone:880`).
const CONFAB_HZ: f64 = 880.0;
/// How much audio each side records during the call.
const CALL_SECONDS: u64 = 3;

#[test]
fn linphone_calls_confab_and_each_hears_the_other() {
    let _turn = crate::harness::audio_call_turn();
    let mut call = Call::start();
    call.phone.send("call sip:amy@confab.local");
    let incoming = call.amy.expect("incoming_call", WAIT);
    assert_eq!(incoming["from"], "sip:hao@confab.local");
    call.phone.expect("ringing", WAIT);
    call.amy.send(json!({"cmd": "call.answer"}));
    call.amy.expect_call("connected", WAIT);
    call.phone.expect("connected", WAIT);
    call.phone.expect("Media streams established", WAIT);
    call.record_both();
    call.phone.send("terminate");
    call.phone.expect("ended", WAIT);
    call.amy.expect_call("ended", WAIT);
    call.finish();
}

#[test]
fn confab_calls_linphone_and_each_hears_the_other() {
    let _turn = crate::harness::audio_call_turn();
    let mut call = Call::start();
    call.amy
        .send(json!({"cmd": "call", "to": "sip:hao@confab.local"}));
    call.phone.expect(
        "Receiving new incoming call from sip:amy@confab.local",
        WAIT,
    );
    call.amy.expect_call("ringing", WAIT);
    call.phone.send("answer");
    call.phone.expect("connected", WAIT);
    call.amy.expect_call("connected", WAIT);
    call.phone.expect("Media streams established", WAIT);
    call.record_both();
    call.amy.send(json!({"cmd": "call.hangup"}));
    call.amy.expect_call("ended", WAIT);
    call.phone.expect("ended", WAIT);
    call.finish();
}

/// Amy creates a conference and joins its audio from her client; its
/// focus URI.
fn amy_in_a_conference(call: &mut Call) -> String {
    call.amy.send(json!({"cmd": "conference.create"}));
    let joined = call.amy.expect("conference", WAIT);
    call.amy
        .send(json!({"cmd": "conference.join_audio", "via": "client"}));
    roster_with(&call.amy, "sip:amy@confab.local");
    joined["focus"].as_str().unwrap().to_owned()
}

/// Waits for a roster in which `uri` is in the audio, as an attendee
/// unless it is Amy, the leader.
fn roster_with(agent: &AgentProcess, uri: &str) -> serde_json::Value {
    agent.expect_where("roster", WAIT, |event| {
        event["users"].as_array().is_some_and(|users| {
            users.iter().any(|user| {
                user["uri"] == uri
                    && user["audio"] == "connected"
                    && (uri == "sip:amy@confab.local"
                        || user["roles"]
                            .as_array()
                            .is_some_and(|roles| roles.contains(&json!("attendee"))))
            })
        })
    })
}

#[test]
fn a_conference_dials_out_to_linphone_and_it_joins_as_an_attendee() {
    let _turn = crate::harness::audio_call_turn();
    let mut call = Call::start();
    amy_in_a_conference(&mut call);
    call.amy
        .send(json!({"cmd": "conference.invite", "uri": "sip:hao@confab.local"}));
    call.phone.expect("Receiving new incoming call from", WAIT);
    call.phone.send("answer");
    call.phone.expect("connected", WAIT);
    call.phone.expect("Media streams established", WAIT);
    roster_with(&call.amy, "sip:hao@confab.local");
    call.record_both();
    call.phone.send("terminate");
    call.phone.expect("ended", WAIT);
    call.finish();
}

#[test]
fn linphone_dials_into_a_conference_and_joins_as_an_attendee() {
    let _turn = crate::harness::audio_call_turn();
    let mut call = Call::start();
    let focus = amy_in_a_conference(&mut call);
    call.phone.send(&format!("call {focus}"));
    call.phone.expect("connected", WAIT);
    call.phone.expect("Media streams established", WAIT);
    roster_with(&call.amy, "sip:hao@confab.local");
    call.record_both();
    call.phone.send("terminate");
    call.phone.expect("ended", WAIT);
    call.finish();
}

/// A server, amy (confab agent, 880 Hz) and hao (linphonec, 1 kHz), both
/// registered.
struct Call {
    phone: Linphone,
    amy: AgentProcess,
    amy_wav: PathBuf,
    _dir: tempfile::TempDir,
    _server: ServerProcess,
}

impl Call {
    fn start() -> Call {
        let server = ServerProcess::start();
        let dir = tempfile::tempdir().unwrap();
        let amy_wav = dir.path().join("amy.wav");
        let amy = AgentProcess::start(
            "amy",
            server.addr,
            "amy",
            "amy",
            &[
                "--audio-in",
                &format!("tone:{CONFAB_HZ}"),
                "--audio-out",
                &format!("wav:{}", amy_wav.display()),
            ],
        );
        amy.expect("registered", WAIT);
        let mut phone = Linphone::start(server.addr, "hao");
        phone.wait_until_registered();
        Call {
            phone,
            amy,
            amy_wav,
            _dir: dir,
            _server: server,
        }
    }

    /// Waits until both recordings hold `CALL_SECONDS` more audio: the call
    /// has run that long.
    fn record_both(&self) {
        // 48 kHz 16-bit mono: 96,000 bytes a second.
        let bytes = CALL_SECONDS * 96_000;
        wait_for_growth(&[&self.amy_wav, &self.phone.recording()], bytes);
    }

    /// Stops both ends and checks what each heard and the codec chosen.
    fn finish(self) {
        let Call {
            mut phone,
            amy,
            amy_wav,
            _dir,
            _server,
        } = self;
        phone.quit();
        assert!(amy.quit(WAIT).success());

        let codec = answered_codec(&phone.log());
        assert_eq!(
            codec.as_deref(),
            Some("opus"),
            "the SDP answer chose {codec:?}"
        );

        for (who, path, heard, own) in [
            ("confab", amy_wav, LINPHONE_HZ, CONFAB_HZ),
            ("linphone", phone.recording(), CONFAB_HZ, LINPHONE_HZ),
        ] {
            let (rate, samples) = read_wav(&path);
            let heard_windows = windows_with(&samples, rate, heard);
            let own_windows = windows_with(&samples, rate, own);
            // A second's grace for the first packets and the jitter buffer.
            let wanted = (CALL_SECONDS as usize - 1) * 50;
            assert!(
                heard_windows >= wanted,
                "{who} heard the other's {heard} Hz in only {heard_windows} of \
                 {} 20 ms windows ({})",
                samples.len() / (rate as usize / 50),
                path.display()
            );
            // A concealed or re-timed frame is a click with energy at every
            // frequency: one such window in a few seconds is not an echo.
            let windows = samples.len() / (rate as usize / 50);
            assert!(
                own_windows * 50 <= windows,
                "{who} heard its own {own} Hz tone in {own_windows} of {windows} windows"
            );
        }
    }
}

/// A linphonec process with its own HOME, configuration, tone file,
/// recording and log, killed on drop.
struct Linphone {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// Everything it printed so far, for failure messages.
    transcript: Vec<String>,
    dir: tempfile::TempDir,
}

impl Linphone {
    /// Starts linphonec registering `user` (password = user name) to
    /// `server`, playing a `LINPHONE_HZ` tone and recording what it hears.
    fn start(server: SocketAddr, user: &str) -> Linphone {
        Self::start_as(server, user, user)
    }

    /// Starts linphonec registering `sip:{identity}@confab.local` with the
    /// credentials of `user`: as a desk phone registers its owner's number.
    fn start_as(server: SocketAddr, identity: &str, user: &str) -> Linphone {
        let binary = find_in_path("linphonec").unwrap_or_else(|| {
            panic!(
                "linphonec is not installed: run scripts/setup-system.sh \
                 (it installs Debian's linphone-cli)"
            )
        });
        let dir = tempfile::tempdir().unwrap();
        // Without its data directory Linphone's core never leaves
        // GlobalStartup: no SIP socket, no REGISTER.
        std::fs::create_dir_all(dir.path().join(".local/share/linphone")).unwrap();
        std::fs::create_dir_all(dir.path().join(".config")).unwrap();
        let template = std::fs::read_to_string(repo_path("tests/linphone/linphonerc")).unwrap();
        let config = template
            .replace("${SIP_PORT}", &free_port().to_string())
            .replace("${RTP_PORT}", &free_rtp_port().to_string())
            .replace("${SERVER}", &server.to_string())
            .replace("${IDENTITY}", identity)
            .replace("${USER}", user)
            .replace("${PASSWORD}", user)
            .replace("${DOMAIN}", DOMAIN);
        let rc = dir.path().join("linphonerc");
        std::fs::write(&rc, config).unwrap();
        write_tone_wav(&dir.path().join("in.wav"), LINPHONE_HZ, 10);
        let stderr = std::fs::File::create(dir.path().join("stderr.txt")).unwrap();
        let mut child = Command::new(binary)
            .arg("-c")
            .arg(&rc)
            .args(["-d", "6", "-l"])
            .arg(dir.path().join("linphonec.log"))
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join(".local/share"))
            .env("XDG_CONFIG_HOME", dir.path().join(".config"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn linphonec");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut phone = Linphone {
            stdin: child.stdin.take(),
            child,
            lines,
            transcript: Vec::new(),
            dir,
        };
        let dir = phone.dir.path().to_owned();
        phone.send("soundcard use files");
        phone.expect("Using wav files instead of soundcard", WAIT);
        phone.send(&format!("play {}", dir.join("in.wav").display()));
        phone.send(&format!("record {}", phone.recording().display()));
        phone
    }

    fn send(&mut self, command: &str) {
        let stdin = self.stdin.as_mut().expect("linphonec stdin open");
        writeln!(stdin, "{command}").expect("write to linphonec");
        stdin.flush().expect("flush linphonec stdin");
    }

    /// Waits for a printed line containing `wanted` and returns it.
    fn expect(&mut self, wanted: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.transcript.push(line.clone());
                    if line.contains(wanted) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "linphonec: no {wanted:?} within {within:?}\n{}",
                        self.report()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("linphonec exited before {wanted:?}\n{}", self.report())
                }
            }
        }
    }

    /// Asks `status register` until the account is registered. linphonec
    /// prints no line of its own when a registration completes.
    fn wait_until_registered(&mut self) {
        let deadline = Instant::now() + WAIT;
        loop {
            self.send("status register");
            let answer = self.expect("registered", WAIT);
            if answer.contains("registered, identity=") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "linphonec did not register within {WAIT:?}: {answer}\n{}",
                self.report()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What linphonec heard (a WAV file at the call's rate).
    fn recording(&self) -> PathBuf {
        self.dir.path().join("out.wav")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("linphonec.log")).unwrap()
    }

    /// Quits and waits for the exit, which also completes the log.
    fn quit(&mut self) {
        self.send("quit");
        drop(self.stdin.take());
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait linphonec") {
                assert!(status.success(), "linphonec quit with {status}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "linphonec did not exit within {WAIT:?} of quit"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The transcript and stderr, for a failure message.
    fn report(&self) -> String {
        let stderr =
            std::fs::read_to_string(self.dir.path().join("stderr.txt")).unwrap_or_default();
        format!(
            "--- linphonec stdout ---\n{}\n--- stderr ---\n{stderr}",
            self.transcript.join("\n")
        )
    }
}

impl Drop for Linphone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// A free even loopback UDP port whose successor is free too: RTP and, by
/// RFC 3550 §11's convention that Linphone follows, RTCP on the next port.
fn free_rtp_port() -> u16 {
    loop {
        let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = rtp.local_addr().unwrap().port();
        if port % 2 == 0 && port < u16::MAX && UdpSocket::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

/// `seconds` of a tone at `hz`, a quarter of full scale, 48 kHz mono.
fn write_tone_wav(path: &Path, hz: f64, seconds: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for n in 0..48_000 * seconds {
        // The same 3 Hz swell as confab's tone source, so that voice
        // detectors (Opus's, the conference mixer's) keep it a voice.
        let t = f64::from(n) / 48_000.0;
        let loudness = 0.75 + 0.25 * (std::f64::consts::TAU * 3.0 * t).sin();
        let phase = std::f64::consts::TAU * hz * t;
        writer
            .write_sample((8192.0 * loudness * phase.sin()).round() as i16)
            .unwrap();
    }
    writer.finalize().unwrap();
}

/// Waits until each of `paths` has grown by `bytes` (they may not exist
/// yet): audio has flowed into each for that long.
fn wait_for_growth(paths: &[&Path], bytes: u64) {
    let size = |path: &Path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let start: Vec<u64> = paths.iter().map(|path| size(path)).collect();
    let deadline = Instant::now() + WAIT;
    for (path, start) in paths.iter().zip(start) {
        while size(path) < start + bytes {
            assert!(
                Instant::now() < deadline,
                "{} grew by only {} bytes of {bytes}",
                path.display(),
                size(path).saturating_sub(start)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The sample rate and the first channel of a 16-bit PCM WAV file. Read by
/// hand: Linphone 5.1's recorder counts the 44-byte header into the data
/// chunk's length, so the data runs to the end of the file, short of what
/// the header says (hound refuses such a file).
fn read_wav(path: &Path) -> (u32, Vec<i16>) {
    let bytes = std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    assert!(
        bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE",
        "{}: not a WAV file",
        path.display()
    );
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let (mut rate, mut channels) = (None, 0);
    let mut chunk = 12;
    while chunk + 8 <= bytes.len() {
        let size = u32_at(chunk + 4) as usize;
        let body = chunk + 8;
        match &bytes[chunk..chunk + 4] {
            b"fmt " => {
                assert_eq!(u16_at(body), 1, "{}: not PCM", path.display());
                assert_eq!(u16_at(body + 14), 16, "{}: not 16-bit", path.display());
                channels = usize::from(u16_at(body + 2));
                rate = Some(u32_at(body + 4));
            }
            b"data" => {
                let rate = rate.expect("fmt chunk before data");
                let end = (body + size).min(bytes.len());
                let samples = bytes[body..end]
                    .chunks_exact(2 * channels)
                    .map(|frame| i16::from_le_bytes([frame[0], frame[1]]))
                    .collect();
                return (rate, samples);
            }
            _ => {}
        }
        chunk = body + size + size % 2;
    }
    panic!("{}: no data chunk", path.display());
}

/// How many 20 ms windows hold `hz` above 0.05 of full scale (the tones are
/// sent at 0.25).
fn windows_with(samples: &[i16], rate: u32, hz: f64) -> usize {
    samples
        .chunks_exact(rate as usize / 50)
        // Hann-windowed: the tones are 120 Hz apart, and through a plain
        // 20 ms window each leaks about 0.03 into the other's bin, close
        // enough to the threshold that a concealed frame can cross it.
        .filter(|window| tone_level_hann(window, rate, hz) > 0.05)
        .count()
}

/// The codec of the SDP answer in the first 200 to an INVITE in linphonec's
/// log (sent or received): the rtpmap name of the m=audio line's first
/// payload type, or the RFC 3551 name of a static one.
fn answered_codec(log: &str) -> Option<String> {
    let lines: Vec<&str> = log.lines().map(str::trim_end).collect();
    // A logged message runs until the next timestamped log line.
    let is_log_line = |line: &str| {
        line.as_bytes()
            .get(..4)
            .is_some_and(|year| year.iter().all(u8::is_ascii_digit))
    };
    let starts = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.starts_with("SIP/2.0 200"));
    starts.into_iter().find_map(|(start, _)| {
        let message: Vec<&str> = lines[start + 1..]
            .iter()
            .copied()
            .take_while(|line| !is_log_line(line))
            .collect();
        let is_invite = message
            .iter()
            .any(|line| line.starts_with("CSeq:") && line.ends_with("INVITE"));
        let media = message.iter().find(|line| line.starts_with("m=audio"))?;
        if !is_invite {
            return None;
        }
        let payload_type = media.split_whitespace().nth(3)?;
        let rtpmap = format!("a=rtpmap:{payload_type} ");
        let named = message.iter().find_map(|line| line.strip_prefix(&rtpmap));
        Some(match (named, payload_type) {
            (Some(encoding), _) => encoding.split('/').next()?.to_ascii_lowercase(),
            (None, "0") => "pcmu".to_owned(),
            (None, "8") => "pcma".to_owned(),
            (None, other) => format!("payload type {other}"),
        })
    })
}

/// The samples of a WAV file still being written (its header lags), read
/// straight from the bytes after the 44-byte header.
fn samples_so_far(path: &Path) -> Vec<i16> {
    let bytes = std::fs::read(path).unwrap_or_default();
    bytes
        .get(44..)
        .unwrap_or_default()
        .chunks_exact(2)
        .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
        .collect()
}

#[test]
fn a_conference_calls_a_desk_phone_by_its_number_and_the_phone_line_for_another() {
    let _turn = crate::harness::audio_call_turn();
    let server = ServerProcess::start_with(&["--demo-buddies"]);
    let dir = tempfile::tempdir().unwrap();
    let amy_wav = dir.path().join("amy.wav");
    let mut amy = AgentProcess::start(
        "amy",
        server.addr,
        "amy",
        "amy",
        &[
            "--audio-in",
            &format!("tone:{CONFAB_HZ}"),
            "--audio-out",
            &format!("wav:{}", amy_wav.display()),
        ],
    );
    amy.expect("registered", WAIT);
    // Vivian's desk phone: linphonec registering her work number.
    let mut desk = Linphone::start_as(server.addr, "+14255032002", "vivian");
    desk.wait_until_registered();

    amy.send(json!({"cmd": "conference.create"}));
    amy.expect("conference", WAIT);
    amy.send(json!({"cmd": "conference.join_audio", "via": "client"}));
    roster_with(&amy, "sip:amy@confab.local");

    amy.send(json!({"cmd": "conference.invite", "uri": "tel:+14255032002"}));
    desk.expect("Receiving new incoming call from", WAIT);
    desk.send("answer");
    desk.expect("Media streams established", WAIT);
    roster_with(&amy, "tel:+14255032002");

    amy.send(json!({"cmd": "conference.invite", "uri": "tel:+15551230000"}));
    roster_with(&amy, "tel:+15551230000");

    // The line records what it hears: Amy's and the desk phone's tones.
    let line = server.data_dir().join("line-heard.wav");
    wait_for_growth(&[&line, &amy_wav, &desk.recording()], CALL_SECONDS * 96_000);
    let heard = samples_so_far(&line);
    let tail = &heard[heard.len().saturating_sub(2 * 48_000)..];
    for (who, hz) in [("amy", CONFAB_HZ), ("the desk phone", LINPHONE_HZ)] {
        let windows = windows_with(tail, 48_000, hz);
        assert!(
            windows >= 80,
            "the phone line heard {who} in only {windows} of 100 windows"
        );
    }
    desk.send("terminate");
    desk.expect("ended", WAIT);
    desk.quit();
    assert!(amy.quit(WAIT).success());
}
