//! cpal itself, on a machine without a sound card: the ALSA `file` plugin
//! devices of `scripts/test-audio-devices.sh` (test_out writes out.raw,
//! test_in reads in.raw, `default` is both).
//!
//! ALSA reads its configuration from the environment (`XDG_CONFIG_HOME`,
//! `HOME`, `ALSA_CONFIG_PATH`) once per process, and tests share a process.
//! So each test here runs its body in a child copy of this test binary,
//! with the environment set on the child only: nothing leaks into other
//! tests, and each child has its own directory of raw files. The file plugin
//! runs faster than real time, so the tests wait for frames (with a
//! deadline that fails the test), never for time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use confab::doctor::{self, AudioCheck, DoctorOptions, SipCheck};
use confab::media::device::{self, Capture, DeviceError, Playback, StreamPreference};
use confab::media::source::{
    AudioDirection, AudioEvent, AudioInSpec, FrameSink, FrameSource, TONE_PEAK, ToneSource,
};
use confab::media::{FRAME_SAMPLES, Frame};

use crate::harness::repo_path;

/// Set in the child: the directory of its raw files.
const CHILD_DIR: &str = "CONFAB_AUDIO_TEST_DIR";

/// How the child's ALSA is configured.
pub enum Alsa {
    /// The file-plugin devices, `in.raw` holding these bytes.
    FileDevices { in_raw: Vec<u8> },
    /// An empty ALSA configuration: not even `default` exists.
    Nothing,
}

/// Runs `body` in a child process set up as `alsa` says; in the parent,
/// asserts the child ran exactly this test and passed.
pub fn in_child(test: &str, alsa: Alsa, body: impl FnOnce(&Path)) {
    if let Some(dir) = std::env::var_os(CHILD_DIR) {
        body(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir.path())
        // No ~/.asoundrc of the machine running the tests.
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .env_remove("ALSA_CONFIG_PATH");
    match alsa {
        Alsa::FileDevices { in_raw } => {
            std::fs::write(dir.path().join("in.raw"), in_raw).unwrap();
            let script = Command::new(repo_path("scripts/test-audio-devices.sh"))
                .arg(dir.path())
                .output()
                .unwrap();
            assert!(script.status.success(), "{script:?}");
        }
        Alsa::Nothing => {
            let empty = dir.path().join("empty.conf");
            std::fs::write(&empty, "").unwrap();
            child.env("ALSA_CONFIG_PATH", empty);
        }
    }
    let output = child.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child test {test} failed:\n{stdout}\n{stderr}"
    );
}

/// Spins (yielding the core) until `ready`; false at the deadline.
pub fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !ready() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::yield_now();
    }
    true
}

/// `frames` frames of a steady 1 kHz [`ToneSource`], as one sample vector.
pub fn tone_samples(frames: usize) -> Vec<i16> {
    let mut tone = ToneSource::steady(1000.0);
    let mut frame = [0; FRAME_SAMPLES];
    let mut samples = Vec::new();
    for _ in 0..frames {
        tone.next_frame(&mut frame);
        samples.extend_from_slice(&frame);
    }
    samples
}

/// A 1 kHz tone at [`TONE_PEAK`] sampled at `rate`, `channels` copies per
/// frame, one second: whole cycles, so the file plugin's loop is seamless.
pub fn raw_tone(rate: u32, channels: usize) -> Vec<u8> {
    (0..rate)
        .map(|n| {
            let phase = f64::from(n) * 1000.0 / f64::from(rate);
            (TONE_PEAK * (std::f64::consts::TAU * phase).sin()).round() as i16
        })
        .flat_map(|s| std::iter::repeat_n(s, channels))
        .flat_map(i16::to_le_bytes)
        .collect()
}

pub fn read_raw(path: &Path) -> Vec<i16> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// Sign changes: 40 in a 20 ms frame of a clean 1 kHz tone.
pub fn crossings(samples: &[i16]) -> usize {
    samples
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count()
}

fn rms(samples: &[i16]) -> f64 {
    let energy: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (energy / samples.len() as f64).sqrt()
}

/// Asserts `samples` are the 1 kHz tone at its level: `cycles` cycles, and
/// the RMS of a [`TONE_PEAK`] sine within 5%. One extra or missing sign
/// change is allowed for a seam where the capture ring dropped samples
/// (the file plugin never waits, so the ring overflows) or where the
/// window cuts a cycle.
fn assert_tone(samples: &[i16], cycles: usize) {
    let crossings = crossings(samples);
    assert!(
        (2 * cycles - 2..=2 * cycles + 2).contains(&crossings),
        "{crossings} crossings"
    );
    let rms = rms(samples);
    let expected = TONE_PEAK / std::f64::consts::SQRT_2;
    assert!((rms / expected - 1.0).abs() < 0.05, "rms {rms}");
}

/// Removes the silence the playback callback inserts when it finds the ring
/// empty (the null device never waits): runs of two or more zeros, which a
/// 1 kHz tone at this level never has.
fn remove_gaps(samples: &[i16]) -> Vec<i16> {
    let mut out = Vec::with_capacity(samples.len());
    let mut zeros = 0;
    for &sample in samples {
        if sample == 0 {
            zeros += 1;
            continue;
        }
        if zeros == 1 {
            out.push(0);
        }
        zeros = 0;
        out.push(sample);
    }
    out
}

fn out_raw(dir: &Path) -> PathBuf {
    dir.join("out.raw")
}

/// Pulls `count` frames, waiting (bounded) for each to be ready.
fn capture_frames(capture: &mut Capture, count: usize) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut frame = [0; FRAME_SAMPLES];
    for _ in 0..count {
        assert!(
            wait_until(Duration::from_secs(10), || capture.frames_ready() > 0),
            "no frame from {:?}: {:?}",
            capture.info(),
            capture.stats()
        );
        capture.next_frame(&mut frame);
        frames.push(frame);
    }
    frames
}

/// Plays `samples` a frame at a time, as the media task would (no more
/// than two frames queued), then waits until the callback has taken it all.
fn play_all(playback: &mut Playback, samples: &[i16]) {
    for chunk in samples.chunks_exact(FRAME_SAMPLES) {
        assert!(
            wait_until(Duration::from_secs(10), || playback.queued_samples()
                < 2 * FRAME_SAMPLES),
            "device stopped taking audio: {:?}",
            playback.stats()
        );
        playback.play(chunk.try_into().unwrap());
    }
    assert!(
        wait_until(Duration::from_secs(10), || playback.queued_samples() == 0),
        "device never took the audio: {:?}",
        playback.stats()
    );
}

#[test]
fn lists_the_file_plugin_devices_with_defaults_marked() {
    in_child(
        "audio_devices::lists_the_file_plugin_devices_with_defaults_marked",
        Alsa::FileDevices {
            in_raw: raw_tone(48_000, 1),
        },
        |_| {
            let devices = device::list_devices().unwrap();
            let find = |id: &str| devices.iter().find(|d| d.id == id);
            let default = find("default").expect("default listed");
            assert!(default.is_default_input && default.is_default_output);
            let out = find("test_out").expect("test_out listed");
            assert!(!out.is_default_output);
            assert!(out.name.starts_with("confab test output"), "{}", out.name);
            // The null plugin takes anything: 48 kHz mono i16 among it.
            assert!(out.output_configs.iter().any(|c| c.sample_format == "i16"
                && c.channels == 1
                && (c.min_rate..=c.max_rate).contains(&48_000)));
            assert!(find("test_in").is_some_and(|d| !d.input_configs.is_empty()));
        },
    );
}

#[test]
fn playback_puts_the_exact_tone_in_out_raw() {
    in_child(
        "audio_devices::playback_puts_the_exact_tone_in_out_raw",
        Alsa::FileDevices { in_raw: Vec::new() },
        |dir| {
            let mut playback =
                Playback::open(Some("test_out"), StreamPreference::default()).unwrap();
            let info = playback.info().unwrap().clone();
            assert_eq!(
                (info.device.as_str(), info.sample_rate, info.channels),
                ("test_out", 48_000, 1)
            );
            assert_eq!(info.sample_format, "i16");
            let sent = tone_samples(25);
            play_all(&mut playback, &sent);
            let stats = playback.stats();
            assert_eq!((stats.frames, stats.overruns), (25, 0), "{stats:?}");
            let level = playback.meter().unwrap().get();
            assert!((level.peak - 0.25).abs() < 0.01, "{level:?}");
            drop(playback);

            // The callback filled gaps with silence (the null device never
            // waits), so compare the non-zero samples: the same, in order.
            let written = read_raw(&out_raw(dir));
            let heard: Vec<i16> = written.into_iter().filter(|&s| s != 0).collect();
            let expected: Vec<i16> = sent.into_iter().filter(|&s| s != 0).collect();
            assert_eq!(heard.len(), expected.len());
            assert!(heard == expected, "out.raw differs from the tone played");
        },
    );
}

#[test]
fn playback_converts_for_a_44k1_stereo_device() {
    in_child(
        "audio_devices::playback_converts_for_a_44k1_stereo_device",
        Alsa::FileDevices { in_raw: Vec::new() },
        |dir| {
            let pref = StreamPreference {
                sample_rate: 44_100,
                channels: 2,
            };
            let mut playback = Playback::open(Some("test_out"), pref).unwrap();
            let info = playback.info().unwrap();
            assert_eq!((info.sample_rate, info.channels), (44_100, 2));
            play_all(&mut playback, &tone_samples(50));
            drop(playback);

            let written = read_raw(&out_raw(dir));
            assert!(written.chunks_exact(2).all(|lr| lr[0] == lr[1]), "L == R");
            let left: Vec<i16> = written.iter().step_by(2).copied().collect();
            let tone = remove_gaps(&left);
            // One second in, one second out at 44.1 kHz, less the few
            // milliseconds still inside the resampler.
            assert!((43_000..=44_100).contains(&tone.len()), "{}", tone.len());
            // Past the resampler's fade-in, every 10 ms is 10 cycles.
            for window in tone.chunks_exact(441).skip(1) {
                assert_tone(window, 10);
            }
        },
    );
}

#[test]
fn capture_hears_the_tone_in_in_raw() {
    in_child(
        "audio_devices::capture_hears_the_tone_in_in_raw",
        Alsa::FileDevices {
            in_raw: raw_tone(48_000, 1),
        },
        |_| {
            let mut capture = Capture::open(Some("test_in"), StreamPreference::default()).unwrap();
            let info = capture.info().unwrap();
            assert_eq!((info.sample_rate, info.channels), (48_000, 1));
            let frames = capture_frames(&mut capture, 30);
            for frame in &frames {
                assert_tone(frame, 20);
            }
            let level = capture.meter().unwrap().get();
            assert!((level.peak - 0.25).abs() < 0.01, "{level:?}");
            assert_eq!(capture.stats().frames, 30);
        },
    );
}

#[test]
fn capture_converts_from_a_44k1_stereo_device() {
    in_child(
        "audio_devices::capture_converts_from_a_44k1_stereo_device",
        Alsa::FileDevices {
            in_raw: raw_tone(44_100, 2),
        },
        |_| {
            let pref = StreamPreference {
                sample_rate: 44_100,
                channels: 2,
            };
            let mut capture = Capture::open(Some("test_in"), pref).unwrap();
            let info = capture.info().unwrap();
            assert_eq!((info.sample_rate, info.channels), (44_100, 2));
            let frames = capture_frames(&mut capture, 30);
            // The resampler's first output fades in.
            for frame in &frames[2..] {
                assert_tone(frame, 20);
            }
        },
    );
}

#[test]
fn a_lost_device_falls_back_to_the_default_then_goes_quiet() {
    in_child(
        "audio_devices::a_lost_device_falls_back_to_the_default_then_goes_quiet",
        Alsa::FileDevices {
            in_raw: raw_tone(48_000, 1),
        },
        |_| {
            let mut capture = Capture::open(Some("test_in"), StreamPreference::default()).unwrap();
            capture_frames(&mut capture, 3);
            capture.simulate_device_lost();
            let frames = capture_frames(&mut capture, 5);
            assert_eq!(
                capture.poll_event(),
                Some(AudioEvent::Fallback {
                    direction: AudioDirection::Input,
                    lost: "test_in".into(),
                    using: "default".into(),
                    reason: "the device was reported lost".into(),
                })
            );
            // `default` captures from test_in too: still the tone.
            for frame in &frames[1..] {
                assert_tone(frame, 20);
            }
            // Lost again within a second of the fallback: give up, quietly.
            capture.simulate_device_lost();
            let mut frame = [1; FRAME_SAMPLES];
            capture.next_frame(&mut frame);
            assert!(matches!(
                capture.poll_event(),
                Some(AudioEvent::Lost { direction: AudioDirection::Input, ref device, .. })
                    if device == "default"
            ));
            assert_eq!(frame, [0; FRAME_SAMPLES]);
            assert!(capture.info().is_none());

            let mut playback =
                Playback::open(Some("test_out"), StreamPreference::default()).unwrap();
            playback.simulate_device_lost();
            playback.play(&[0; FRAME_SAMPLES]);
            assert!(matches!(
                playback.poll_event(),
                Some(AudioEvent::Fallback { direction: AudioDirection::Output, ref using, .. })
                    if using == "default"
            ));
            assert_eq!(playback.info().unwrap().device, "default");
        },
    );
}

#[test]
fn a_missing_named_device_falls_back_to_the_default() {
    in_child(
        "audio_devices::a_missing_named_device_falls_back_to_the_default",
        Alsa::FileDevices { in_raw: Vec::new() },
        |_| {
            let mut playback =
                Playback::open(Some("no_such_pcm"), StreamPreference::default()).unwrap();
            assert_eq!(playback.info().unwrap().device, "default");
            match playback.poll_event() {
                Some(AudioEvent::Fallback {
                    lost,
                    using,
                    reason,
                    ..
                }) => {
                    assert_eq!((lost.as_str(), using.as_str()), ("no_such_pcm", "default"));
                    assert!(reason.contains("no device named"), "{reason}");
                }
                other => panic!("{other:?}"),
            }
        },
    );
}

#[test]
fn no_device_at_all_is_an_error_and_silence() {
    in_child(
        "audio_devices::no_device_at_all_is_an_error_and_silence",
        Alsa::Nothing,
        |_| {
            let error = Capture::open(None, StreamPreference::default())
                .err()
                .unwrap();
            assert!(matches!(
                error,
                DeviceError::NoUsableDevice {
                    direction: AudioDirection::Input,
                    ..
                }
            ));
            let text = error.to_string();
            assert!(text.starts_with("no usable audio input device: "), "{text}");
            assert!(text.ends_with("; running without audio"), "{text}");

            let (mut source, error) = device::open_input_or_silence(&AudioInSpec::Device);
            assert!(error.is_some());
            let mut frame = [1; FRAME_SAMPLES];
            source.next_frame(&mut frame);
            assert_eq!(frame, [0; FRAME_SAMPLES]);
            let (_sink, error) = device::open_output_or_null(&Default::default());
            assert!(error.is_some_and(|e| e.to_string().contains("output device")));
            // Listing does not fail for lack of devices.
            device::list_devices().unwrap();
        },
    );
}

/// A UDP socket answering one OPTIONS with a 200 that echoes its Call-ID.
fn answer_one_options() -> std::net::SocketAddr {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        let (len, from) = socket.recv_from(&mut buffer).unwrap();
        let request = String::from_utf8_lossy(&buffer[..len]).into_owned();
        let call_id = request.lines().find(|l| l.starts_with("Call-ID:")).unwrap();
        let response = format!("SIP/2.0 200 OK\r\n{call_id}\r\nServer: test\r\n\r\n");
        socket.send_to(response.as_bytes(), from).unwrap();
    });
    addr
}

#[test]
fn doctor_plays_the_tone_meters_the_microphone_and_finds_the_sip_server() {
    in_child(
        "audio_devices::doctor_plays_the_tone_meters_the_microphone_and_finds_the_sip_server",
        Alsa::FileDevices {
            in_raw: raw_tone(48_000, 1),
        },
        |dir| {
            let options = DoctorOptions {
                sip_port: answer_one_options(),
                tone_seconds: 0.5,
                meter_seconds: 1.0,
                ..DoctorOptions::default()
            };
            let mut report = Vec::new();
            let outcome = doctor::run(&mut report, options).unwrap();
            let report = String::from_utf8(report).unwrap();
            println!("{report}");

            assert!(outcome.devices.is_some_and(|n| n >= 3), "{outcome:?}");
            assert!(report.contains("  default: "), "{report}");
            assert!(report.contains("[default input and output]"), "{report}");
            assert!(
                report.contains("  test_out: confab test output"),
                "{report}"
            );
            assert!(report.contains("out: "), "configs listed: {report}");

            let end = "default (48000 Hz, 1 ch, i16";
            match &outcome.output {
                AudioCheck::Ok {
                    end: used,
                    frames,
                    peak,
                } => {
                    assert!(used.starts_with(end), "{used}");
                    assert_eq!(*frames, 25);
                    assert!((peak - 0.25).abs() < 0.01, "{peak}");
                }
                other => panic!("{other:?}"),
            }
            // What reached the device is the doctor's tone, sample for
            // sample.
            let written: Vec<i16> = read_raw(&out_raw(dir))
                .into_iter()
                .filter(|&s| s != 0)
                .collect();
            let mut tone = ToneSource::steady(doctor::DOCTOR_TONE_HZ);
            let mut frame = [0; FRAME_SAMPLES];
            let mut expected = Vec::new();
            for _ in 0..25 {
                tone.next_frame(&mut frame);
                expected.extend(frame.iter().copied().filter(|&s| s != 0));
            }
            assert!(written == expected, "out.raw is not the doctor's tone");

            match &outcome.input {
                AudioCheck::Ok {
                    end: used,
                    frames,
                    peak,
                } => {
                    assert!(used.starts_with(end), "{used}");
                    assert_eq!(*frames, 50);
                    assert!((peak - 0.25).abs() < 0.01, "{peak}");
                }
                other => panic!("{other:?}"),
            }
            // A meter line every 200 ms, each at the tone's -12 dBFS.
            let meters: Vec<&str> = report.lines().filter(|l| l.contains("dBFS peak")).collect();
            assert_eq!(meters.len(), 5, "{report}");
            assert!(
                meters.iter().all(|l| l.contains("-12.0 dBFS peak")),
                "{report}"
            );

            assert_eq!(
                outcome.sip,
                SipCheck::Answered {
                    status_line: "SIP/2.0 200 OK".into(),
                    server: Some("test".into())
                }
            );
            assert!(report.contains("a SIP server answers: SIP/2.0 200 OK (test)"));
        },
    );
}

#[test]
fn doctor_without_a_sound_card_says_so_and_still_checks_the_port() {
    in_child(
        "audio_devices::doctor_without_a_sound_card_says_so_and_still_checks_the_port",
        Alsa::Nothing,
        |_| {
            let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let options = DoctorOptions {
                sip_port: silent.local_addr().unwrap(),
                sip_timeout: Duration::from_millis(100),
                ..DoctorOptions::default()
            };
            let mut report = Vec::new();
            let outcome = doctor::run(&mut report, options).unwrap();
            let report = String::from_utf8(report).unwrap();
            println!("{report}");
            for check in [&outcome.output, &outcome.input] {
                assert!(
                    matches!(check, AudioCheck::Unavailable { reason }
                        if reason.starts_with("no usable audio")
                            && reason.ends_with("running without audio")),
                    "{check:?}"
                );
            }
            assert!(
                report.contains("no usable audio output device: "),
                "{report}"
            );
            assert!(
                report.contains("no usable audio input device: "),
                "{report}"
            );
            assert_eq!(
                outcome.sip,
                SipCheck::InUse {
                    udp: true,
                    tcp: false
                }
            );
        },
    );
}
