//! `confab doctor` (DESIGN.md section 1): lists the audio devices, plays a
//! test tone on the output, shows the microphone level for a few seconds,
//! and checks the SIP port: free, or a SIP server answering an OPTIONS
//! (RFC 3261 §11) there.
//!
//! It writes a plain-text report for a person and returns a
//! [`DoctorOutcome`] for code and tests. It never fails for lack of a sound
//! card: that is reported, and the port is checked all the same. Sound
//! devices are paced by what they take and give (the ALSA file plugin of
//! the tests runs faster than real time), with a wall-clock deadline in case
//! a device stalls; a short sleep while waiting is fine here, since doctor is
//! not a core.

use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::time::{Duration, Instant};

use crate::media::device::{self, Capture, Playback, StreamPreference};
use crate::media::source::{AudioInSpec, AudioOutSpec, FrameSink, FrameSource, Level, ToneSource};
use crate::media::{FRAME_MS, FRAME_SAMPLES, SILENCE};

/// The test tone: A4.
pub const DOCTOR_TONE_HZ: f64 = 440.0;

/// What to check.
#[derive(Debug, Clone)]
pub struct DoctorOptions {
    pub audio_in: AudioInSpec,
    pub audio_out: AudioOutSpec,
    /// Where confab's SIP server listens (or would).
    pub sip_port: SocketAddr,
    /// How long the test tone plays.
    pub tone_seconds: f64,
    /// How long the microphone level is shown.
    pub meter_seconds: f64,
    /// How long to wait for an answer to the OPTIONS.
    pub sip_timeout: Duration,
}

impl Default for DoctorOptions {
    fn default() -> Self {
        Self {
            audio_in: AudioInSpec::default(),
            audio_out: AudioOutSpec::default(),
            sip_port: SocketAddr::from((Ipv4Addr::LOCALHOST, 5060)),
            tone_seconds: 1.0,
            meter_seconds: 3.0,
            sip_timeout: Duration::from_millis(500),
        }
    }
}

/// What `confab doctor` found.
#[derive(Debug, Clone, PartialEq)]
pub struct DoctorOutcome {
    /// Devices listed; `None` when the host could not list them.
    pub devices: Option<usize>,
    pub output: AudioCheck,
    pub input: AudioCheck,
    pub sip: SipCheck,
}

/// The result of the tone or the microphone check.
#[derive(Debug, Clone, PartialEq)]
pub enum AudioCheck {
    /// All frames went through. `peak` is the loudest sample (0.0 to 1.0).
    Ok { end: String, frames: u64, peak: f32 },
    /// The device stopped taking or giving frames before the end.
    Stalled { end: String, frames: u64 },
    /// Nothing could be opened.
    Unavailable { reason: String },
}

/// What answers at the SIP port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SipCheck {
    /// Nothing listens on UDP or TCP: `confab serve` can take it.
    Free,
    /// A SIP server answered the OPTIONS over UDP.
    Answered {
        status_line: String,
        server: Option<String>,
    },
    /// Something holds the port but does not answer SIP over UDP.
    InUse { udp: bool, tcp: bool },
    /// The check itself failed (e.g. the address is not local).
    Failed { reason: String },
}

const FRAMES_PER_SECOND: f64 = 1000.0 / FRAME_MS as f64;
/// A meter line every 200 ms.
const METER_EVERY: u64 = 10;
/// Beyond the nominal time, how long a device may lag before it counts as
/// stalled.
const DEVICE_GRACE: Duration = Duration::from_secs(2);

/// Runs every check, writing the report to `report`. Errors are only
/// those of writing the report.
pub fn run(report: &mut impl Write, options: DoctorOptions) -> io::Result<DoctorOutcome> {
    writeln!(report, "confab doctor")?;
    let devices = list_devices(report)?;
    let output = play_tone(report, &options)?;
    let input = show_microphone(report, &options)?;
    writeln!(report)?;
    write!(report, "SIP port {}: ", options.sip_port)?;
    let sip = check_sip_port(options.sip_port, options.sip_timeout);
    writeln!(report, "{sip}")?;
    let no_audio = |check: &AudioCheck| matches!(check, AudioCheck::Unavailable { .. });
    if no_audio(&output) && no_audio(&input) {
        writeln!(
            report,
            "\nNo sound device works here; confab runs without audio (or with\n\
             --audio-in/--audio-out wav:, tone:, silence). For file-backed test\n\
             devices on a machine without a sound card: scripts/test-audio-devices.sh"
        )?;
    }
    Ok(DoctorOutcome {
        devices,
        output,
        input,
        sip,
    })
}

fn list_devices(report: &mut impl Write) -> io::Result<Option<usize>> {
    writeln!(report, "\nAudio devices:")?;
    let devices = match device::list_devices() {
        Ok(devices) => devices,
        Err(error) => {
            writeln!(report, "  {error}")?;
            return Ok(None);
        }
    };
    if devices.is_empty() {
        writeln!(report, "  none: no sound card, or no access to it")?;
    }
    for device in &devices {
        let marks = match (device.is_default_input, device.is_default_output) {
            (true, true) => " [default input and output]",
            (true, false) => " [default input]",
            (false, true) => " [default output]",
            (false, false) => "",
        };
        writeln!(report, "  {}: {}{marks}", device.id, device.name)?;
        for (label, configs) in [
            ("out", &device.output_configs),
            ("in", &device.input_configs),
        ] {
            if let Some(summary) = summarize(configs) {
                writeln!(report, "      {label}: {summary}")?;
            }
        }
        if device.input_configs.is_empty() && device.output_configs.is_empty() {
            writeln!(report, "      cannot be opened")?;
        }
    }
    Ok(Some(devices.len()))
}

/// "i16/f32, 1-2 ch, 8000-192000 Hz": the span of what a device supports.
fn summarize(configs: &[device::ConfigRange]) -> Option<String> {
    let mut formats: Vec<&str> = Vec::new();
    for config in configs {
        if !formats.contains(&config.sample_format.as_str()) {
            formats.push(&config.sample_format);
        }
    }
    let channels = (
        configs.iter().map(|c| c.channels).min()?,
        configs.iter().map(|c| c.channels).max()?,
    );
    let rates = (
        configs.iter().map(|c| c.min_rate).min()?,
        configs.iter().map(|c| c.max_rate).max()?,
    );
    let span = |(low, high): (u32, u32)| {
        if low == high {
            low.to_string()
        } else {
            format!("{low}-{high}")
        }
    };
    Some(format!(
        "{}, {} ch, {} Hz",
        formats.join("/"),
        span((u32::from(channels.0), u32::from(channels.1))),
        span(rates)
    ))
}

/// `seconds` within 0 to an hour (NaN is 0), so durations cannot overflow.
fn bounded(seconds: f64) -> f64 {
    if seconds.is_nan() {
        0.0
    } else {
        seconds.clamp(0.0, 3_600.0)
    }
}

fn frames_for(seconds: f64) -> u64 {
    (bounded(seconds) * FRAMES_PER_SECOND).round() as u64
}

fn deadline(seconds: f64) -> Instant {
    Instant::now() + Duration::from_secs_f64(bounded(seconds)) + DEVICE_GRACE
}

fn play_tone(report: &mut impl Write, options: &DoctorOptions) -> io::Result<AudioCheck> {
    let frames = frames_for(options.tone_seconds);
    writeln!(
        report,
        "\nOutput ({}): a {DOCTOR_TONE_HZ} Hz tone for {} s",
        options.audio_out, options.tone_seconds
    )?;
    let mut tone = ToneSource::steady(DOCTOR_TONE_HZ);
    let mut frame = SILENCE;
    let name = match &options.audio_out {
        AudioOutSpec::Device => None,
        AudioOutSpec::NamedDevice(name) => Some(name.as_str()),
        other => {
            let mut sink = match device::open_output(other) {
                Ok(sink) => sink,
                Err(error) => return unavailable(report, error),
            };
            for _ in 0..frames {
                tone.next_frame(&mut frame);
                sink.play(&frame);
            }
            writeln!(report, "  wrote {frames} frames to {other}")?;
            let peak = Level::of(&frame).peak;
            return Ok(AudioCheck::Ok {
                end: other.to_string(),
                frames,
                peak,
            });
        }
    };
    let mut playback = match Playback::open(name, StreamPreference::default()) {
        Ok(playback) => playback,
        Err(error) => return unavailable(report, error),
    };
    let end = playback
        .info()
        .map_or_else(|| options.audio_out.to_string(), ToString::to_string);
    writeln!(report, "  playing on {end}")?;
    let until = deadline(options.tone_seconds);
    let mut played = 0;
    let mut peak = 0f32;
    // Keep about 60 ms queued: enough to ride over a late wake-up.
    while played < frames && Instant::now() < until {
        if playback.queued_samples() >= 3 * FRAME_SAMPLES {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        tone.next_frame(&mut frame);
        playback.play(&frame);
        peak = peak.max(Level::of(&frame).peak);
        played += 1;
        report_events(report, &mut playback)?;
    }
    // Let the device take the last of it before the stream closes.
    while playback.queued_samples() > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    let stats = playback.stats();
    writeln!(
        report,
        "  played {played} frames; overruns {}, starved callbacks {}, xruns {}",
        stats.overruns, stats.starved_callbacks, stats.xruns
    )?;
    if played < frames || playback.queued_samples() > 0 {
        writeln!(report, "  the device stopped taking audio")?;
        return Ok(AudioCheck::Stalled {
            end,
            frames: played,
        });
    }
    Ok(AudioCheck::Ok {
        end,
        frames: played,
        peak,
    })
}

fn show_microphone(report: &mut impl Write, options: &DoctorOptions) -> io::Result<AudioCheck> {
    let frames = frames_for(options.meter_seconds);
    writeln!(
        report,
        "\nInput ({}): level for {} s",
        options.audio_in, options.meter_seconds
    )?;
    let name = match &options.audio_in {
        AudioInSpec::Device => None,
        AudioInSpec::NamedDevice(name) => Some(name.as_str()),
        other => {
            return match device::open_input(other) {
                Ok(mut source) => meter(report, &mut source, frames, other.to_string(), None),
                Err(error) => unavailable(report, error),
            };
        }
    };
    let mut capture = match Capture::open(name, StreamPreference::default()) {
        Ok(capture) => capture,
        Err(error) => return unavailable(report, error),
    };
    let end = capture
        .info()
        .map_or_else(|| options.audio_in.to_string(), ToString::to_string);
    writeln!(report, "  listening on {end}")?;
    let until = deadline(options.meter_seconds);
    let check = meter(report, &mut capture, frames, end, Some(until))?;
    let stats = capture.stats();
    writeln!(
        report,
        "  underruns {}, dropped samples {}, xruns {}",
        stats.underruns, stats.dropped_samples, stats.xruns
    )?;
    Ok(check)
}

/// Pulls `frames` frames from `source` (a [`Capture`] waits for each until
/// `until`), printing a meter line every 200 ms.
fn meter<S: FrameSource + ReadyFrames + ?Sized>(
    report: &mut impl Write,
    source: &mut S,
    frames: u64,
    end: String,
    until: Option<Instant>,
) -> io::Result<AudioCheck> {
    let mut frame = SILENCE;
    let mut peak = 0f32;
    let mut window = Level::default();
    for n in 1..=frames {
        while !source.frame_ready() {
            if until.is_some_and(|until| Instant::now() >= until) {
                writeln!(report, "  the device stopped giving audio")?;
                return Ok(AudioCheck::Stalled { end, frames: n - 1 });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        source.next_frame(&mut frame);
        while let Some(event) = source.poll_event() {
            writeln!(report, "  {event}")?;
        }
        let level = Level::of(&frame);
        peak = peak.max(level.peak);
        window.peak = window.peak.max(level.peak);
        window.rms = window.rms.max(level.rms);
        if n % METER_EVERY == 0 || n == frames {
            writeln!(report, "  {}", meter_line(window))?;
            window = Level::default();
        }
    }
    if peak == 0.0 {
        writeln!(report, "  digital silence: is the microphone muted?")?;
    } else {
        writeln!(report, "  loudest: {:.1} dBFS", 20.0 * peak.log10())?;
    }
    Ok(AudioCheck::Ok { end, frames, peak })
}

/// Sources that may have to wait for their next frame.
trait ReadyFrames {
    fn frame_ready(&mut self) -> bool {
        true
    }
}

impl ReadyFrames for Capture {
    fn frame_ready(&mut self) -> bool {
        self.frames_ready() > 0
    }
}

impl ReadyFrames for Box<dyn FrameSource + Send> {}

/// `[#########...........]  -12.0 dBFS peak  -15.1 dBFS rms`, the bar
/// spanning -60 to 0 dBFS.
fn meter_line(level: Level) -> String {
    const WIDTH: usize = 30;
    let db = level.peak_dbfs().max(-60.0);
    let filled = (((db + 60.0) / 60.0) * WIDTH as f32).round() as usize;
    let filled = filled.min(WIDTH);
    let show = |db: f32| {
        if db.is_finite() {
            format!("{db:6.1}")
        } else {
            "  -inf".to_owned()
        }
    };
    format!(
        "[{}{}] {} dBFS peak {} dBFS rms",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        show(level.peak_dbfs()),
        show(level.rms_dbfs())
    )
}

fn report_events(report: &mut impl Write, sink: &mut Playback) -> io::Result<()> {
    while let Some(event) = sink.poll_event() {
        writeln!(report, "  {event}")?;
    }
    Ok(())
}

fn unavailable(report: &mut impl Write, error: device::DeviceError) -> io::Result<AudioCheck> {
    writeln!(report, "  {error}")?;
    Ok(AudioCheck::Unavailable {
        reason: error.to_string(),
    })
}

impl std::fmt::Display for SipCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Free => f.write_str("free on UDP and TCP; `confab serve` can listen there"),
            Self::Answered {
                status_line,
                server: Some(server),
            } => write!(f, "a SIP server answers: {status_line} ({server})"),
            Self::Answered { status_line, .. } => write!(f, "a SIP server answers: {status_line}"),
            Self::InUse { udp, tcp } => {
                let which = match (udp, tcp) {
                    (true, true) => "UDP and TCP",
                    (true, false) => "UDP",
                    _ => "TCP",
                };
                write!(
                    f,
                    "in use on {which} by something that does not answer SIP over UDP"
                )
            }
            Self::Failed { reason } => write!(f, "cannot check: {reason}"),
        }
    }
}

/// Sends an OPTIONS to `addr` over UDP and waits up to `timeout` for a
/// response to it; without one, tries to bind the port (UDP and TCP) to
/// tell a free port from a busy one.
pub fn check_sip_port(addr: SocketAddr, timeout: Duration) -> SipCheck {
    match probe_options(addr, timeout) {
        Ok(Some(answer)) => return answer,
        Ok(None) => {}
        Err(error) => {
            // A refusal (ICMP port unreachable) is an answer too: nobody
            // listens on UDP. Anything else means the probe could not run.
            if error.kind() != io::ErrorKind::ConnectionRefused {
                return SipCheck::Failed {
                    reason: error.to_string(),
                };
            }
        }
    }
    let busy = |result: io::Result<()>| match result {
        Ok(()) => Ok(false),
        Err(error) if error.kind() == io::ErrorKind::AddrInUse => Ok(true),
        Err(error) => Err(error),
    };
    let udp = busy(UdpSocket::bind(addr).map(drop));
    let tcp = busy(TcpListener::bind(addr).map(drop));
    match (udp, tcp) {
        (Ok(false), Ok(false)) => SipCheck::Free,
        (Ok(udp), Ok(tcp)) => SipCheck::InUse { udp, tcp },
        (Err(error), _) | (_, Err(error)) => SipCheck::Failed {
            reason: error.to_string(),
        },
    }
}

/// One OPTIONS out, and the matching response (by Call-ID) if any comes
/// back within `timeout`. RFC 3261 §11: a server answers OPTIONS as it
/// would an INVITE, so any final response means SIP lives there.
fn probe_options(addr: SocketAddr, timeout: Duration) -> io::Result<Option<SipCheck>> {
    // An unspecified listen address is reached on loopback.
    let target = match addr {
        SocketAddr::V4(v4) if v4.ip().is_unspecified() => (Ipv4Addr::LOCALHOST, v4.port()).into(),
        SocketAddr::V6(v6) if v6.ip().is_unspecified() => (Ipv6Addr::LOCALHOST, v6.port()).into(),
        other => other,
    };
    let local: SocketAddr = match target {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local)?;
    socket.connect(target)?;
    let via = socket.local_addr()?;
    let token: u64 = rand::random();
    let call_id = format!("{token:016x}@confab-doctor");
    let request = format!(
        "OPTIONS sip:{target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {via};branch=z9hG4bK{token:016x};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:doctor@confab.invalid>;tag={:08x}\r\n\
         To: <sip:{target}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Accept: application/sdp\r\n\
         User-Agent: confab doctor\r\n\
         Content-Length: 0\r\n\r\n",
        token >> 32
    );
    socket.send(request.as_bytes())?;
    let deadline = Instant::now() + timeout;
    let mut buffer = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        socket.set_read_timeout(Some(left))?;
        let len = match socket.recv(&mut buffer) {
            Ok(len) => len,
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(None);
            }
            Err(error) => return Err(error),
        };
        let text = String::from_utf8_lossy(buffer.get(..len).unwrap_or_default());
        if let Some(answer) = parse_response(&text, &call_id) {
            return Ok(Some(answer));
        }
    }
}

/// The status line and Server header of a response carrying `call_id`;
/// `None` for anything else (a request, another dialog's response, noise).
fn parse_response(text: &str, call_id: &str) -> Option<SipCheck> {
    let mut lines = text.lines();
    let status_line = lines.next()?.trim();
    let code = status_line.strip_prefix("SIP/2.0 ")?.get(..3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut matched = false;
    let mut server = None;
    for line in lines.take_while(|line| !line.trim().is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        match name.as_str() {
            // RFC 3261 §7.3.3: "i" is the compact Call-ID.
            "call-id" | "i" => matched |= value == call_id,
            "server" | "user-agent" => server = Some(value.to_owned()),
            _ => {}
        }
    }
    matched.then(|| SipCheck::Answered {
        status_line: status_line.to_owned(),
        server,
    })
}

#[cfg(test)]
mod tests;
