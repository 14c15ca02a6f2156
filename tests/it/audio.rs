//! Two `confab agent`s in a call on loopback, each sending its own tone and
//! recording what it hears: each recording holds the other's tone and not
//! its own, and with 10% of the RTP dropped the tone still runs unbroken
//! (Opus FEC and concealment fill the gaps).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{AgentProcess, ServerProcess, tone_level};

const WAIT: Duration = Duration::from_secs(10);
/// One analysis window: 20 ms at 48 kHz.
pub(crate) const WINDOW: usize = 960;

fn read_wav(path: &Path) -> Vec<i16> {
    let mut reader = hound::WavReader::open(path).unwrap();
    assert_eq!(reader.spec().sample_rate, 48_000);
    reader.samples::<i16>().map(Result::unwrap).collect()
}

/// Waits until `path` has grown by `bytes`: audio flowing for that long.
fn wait_for_growth(path: &Path, bytes: u64) {
    let start = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let deadline = Instant::now() + WAIT;
    while std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) < start + bytes {
        assert!(
            Instant::now() < deadline,
            "{} stopped growing",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Call {
    caller: PathBuf,
    callee: PathBuf,
    _dir: tempfile::TempDir,
    _turn: std::sync::MutexGuard<'static, ()>,
}

/// vivian (440 Hz) calls amy (880 Hz); both record; the call lasts about
/// `seconds` of audio.
fn tone_call(extra: &[&str], seconds: u64) -> Call {
    let turn = crate::harness::audio_call_turn();
    let server = ServerProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let caller = dir.path().join("vivian.wav");
    let callee = dir.path().join("amy.wav");
    let caller_args = [
        "--audio-in",
        "tone:440",
        "--audio-out",
        &format!("wav:{}", caller.display()),
    ];
    let callee_args = [
        "--audio-in",
        "tone:880",
        "--audio-out",
        &format!("wav:{}", callee.display()),
    ];
    let mut vivian = AgentProcess::start(
        "vivian",
        server.addr,
        "vivian",
        "vivian",
        &[&caller_args[..], extra].concat(),
    );
    let mut amy = AgentProcess::start(
        "amy",
        server.addr,
        "amy",
        "amy",
        &[&callee_args[..], extra].concat(),
    );
    vivian.expect("registered", WAIT);
    amy.expect("registered", WAIT);
    vivian.send(json!({"cmd": "call", "to": "sip:amy@confab.local"}));
    amy.expect("incoming_call", WAIT);
    amy.send(json!({"cmd": "call.answer"}));
    vivian.expect_call("connected", WAIT);
    amy.expect_call("connected", WAIT);
    // 48 kHz 16-bit mono: 96,000 bytes a second.
    wait_for_growth(&callee, seconds * 96_000);
    wait_for_growth(&caller, seconds * 96_000);
    vivian.send(json!({"cmd": "call.hangup"}));
    amy.expect_call("ended", WAIT);
    assert!(vivian.quit(WAIT).success());
    assert!(amy.quit(WAIT).success());
    Call {
        caller,
        callee,
        _dir: dir,
        _turn: turn,
    }
}

/// The windows of a recording in which `hz` is above `level` (the tones
/// are sent at a quarter of full scale).
fn windows_with(samples: &[i16], hz: f64, level: f64) -> Vec<bool> {
    samples
        .chunks_exact(WINDOW)
        .map(|window| tone_level(window, 48_000, hz) > level)
        .collect()
}

#[test]
fn each_side_hears_the_other_and_not_itself() {
    let call = tone_call(&[], 2);
    for (path, heard, own) in [(&call.caller, 880.0, 440.0), (&call.callee, 440.0, 880.0)] {
        let samples = read_wav(path);
        let heard_windows = windows_with(&samples, heard, 0.05)
            .iter()
            .filter(|&&on| on)
            .count();
        let own_windows = windows_with(&samples, own, 0.05)
            .iter()
            .filter(|&&on| on)
            .count();
        assert!(
            heard_windows >= 75,
            "{}: the other's tone in only {heard_windows} windows",
            path.display()
        );
        assert_eq!(own_windows, 0, "{}: its own tone came back", path.display());
    }
}

#[test]
fn with_ten_percent_loss_the_tone_stays_continuous() {
    // The same drops every run: what varies is the machine, not the luck.
    let call = tone_call(&["--rtp-loss", "0.1", "--rtp-loss-seed", "1"], 3);
    for (path, heard) in [(&call.caller, 880.0), (&call.callee, 440.0)] {
        // Concealed frames are quieter, not silent: a gap is a window where
        // the tone is 30 dB or more below what was sent. A busy machine adds
        // its own jitter to the 10% loss, so a 40 ms dip is allowed; longer
        // holes, or many, are not.
        let windows = windows_with(&read_wav(path), heard, 0.008);
        let first = windows.iter().position(|&on| on).expect("the tone arrives");
        let last = windows.iter().rposition(|&on| on).unwrap();
        // Skip the first and last 100 ms: the stream starts and stops there.
        let middle = &windows[first + 5..last.saturating_sub(5)];
        assert!(
            middle.len() >= 100,
            "{}: too short a call ({} windows)",
            path.display(),
            middle.len()
        );
        let gaps = middle.iter().filter(|&&on| !on).count();
        let longest = middle.split(|&on| on).map(<[bool]>::len).max().unwrap_or(0);
        assert!(
            gaps * 33 <= middle.len() && longest <= 2,
            "{}: {gaps} of {} windows without the tone, the longest run {longest}",
            path.display(),
            middle.len()
        );
    }
}
