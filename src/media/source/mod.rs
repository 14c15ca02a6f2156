//! The ends of the audio path that are not a sound card, and the words every
//! end shares.
//!
//! The media task pulls one 20 ms [`Frame`] per tick from a [`FrameSource`]
//! (microphone, tone, WAV file, silence) and pushes one per tick into a
//! [`FrameSink`] (speaker, WAV file, nothing). `--audio-in` and `--audio-out`
//! (DESIGN.md section 1) name the ends: [`AudioInSpec`], [`AudioOutSpec`].
//!
//! Everything here is deterministic: a tone, a file read or a file written
//! gives the same samples on every run, so tests compare samples. Sources
//! never block and never fail mid-stream: a source that cannot produce (a
//! WAV read error) logs once and gives silence from then on. The sound-card
//! ends (`media::device`) implement the same traits.

mod resample;
pub mod synthetic;
mod wav;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

pub(crate) use resample::{MonoResampler, f32_to_i16, i16_to_f32, mix_to_mono};
pub use wav::{WavEnd, WavSink, WavSource};

use super::{FRAME_SAMPLES, Frame, SAMPLE_RATE};

/// Errors of this module: bad `--audio-in`/`--audio-out` specs and WAV files.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(
        "bad audio spec {spec:?}: {reason} (expected device[:NAME], wav:PATH, {}silence or null)",
        if *input { "tone:HZ, " } else { "" }
    )]
    BadSpec {
        spec: String,
        reason: &'static str,
        input: bool,
    },
    #[error("WAV file {path}: {reason}")]
    Wav { path: PathBuf, reason: String },
}

/// Which way audio flows through a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioDirection {
    /// Capture: microphone to the call.
    Input,
    /// Playback: the call to the speaker.
    Output,
}

impl fmt::Display for AudioDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Input => "input",
            Self::Output => "output",
        })
    }
}

/// Something the owner of an audio end should tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioEvent {
    /// The device in use went away (or a named device was not found) and the
    /// default device took over.
    Fallback {
        direction: AudioDirection,
        lost: String,
        using: String,
        reason: String,
    },
    /// The device went away and no other could be opened: this end now
    /// gives silence (input) or discards (output).
    Lost {
        direction: AudioDirection,
        device: String,
        reason: String,
    },
}

impl fmt::Display for AudioEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fallback {
                direction,
                lost,
                using,
                reason,
            } => write!(
                f,
                "audio {direction} {lost:?}: {reason}; now using {using:?}"
            ),
            Self::Lost {
                direction,
                device,
                reason,
            } => write!(
                f,
                "audio {direction} {device:?} lost: {reason}; running without audio {direction}"
            ),
        }
    }
}

/// Where the call's outgoing audio comes from (`--audio-in`).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum AudioInSpec {
    /// The system's default capture device (`device`).
    #[default]
    Device,
    /// A named capture device (`device:NAME`).
    NamedDevice(String),
    /// A WAV file, any rate and channel count, looped.
    Wav(PathBuf),
    /// A sine tone at this many hertz.
    Tone(f64),
    /// Digital silence.
    Silence,
}

/// Where the call's incoming audio goes (`--audio-out`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AudioOutSpec {
    /// The system's default playback device (`device`).
    #[default]
    Device,
    /// A named playback device (`device:NAME`).
    NamedDevice(String),
    /// A WAV file written at 48 kHz mono 16-bit.
    Wav(PathBuf),
    /// Discard.
    Null,
}

/// The forms both directions share; `None` when `spec` is none of them.
fn parse_common(spec: &str, input: bool) -> Result<Option<Common>, SourceError> {
    let bad = |reason| SourceError::BadSpec {
        spec: spec.to_owned(),
        reason,
        input,
    };
    Ok(Some(match spec.split_once(':') {
        None if spec == "device" => Common::Device(None),
        None if spec == "silence" || spec == "null" => Common::Nothing,
        Some(("device", "")) => return Err(bad("empty device name")),
        Some(("device", name)) => Common::Device(Some(name.to_owned())),
        Some(("wav", "")) => return Err(bad("empty WAV path")),
        Some(("wav", path)) => Common::Wav(PathBuf::from(path)),
        _ => return Ok(None),
    }))
}

enum Common {
    Device(Option<String>),
    Wav(PathBuf),
    Nothing,
}

impl FromStr for AudioInSpec {
    type Err = SourceError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let bad = |reason| SourceError::BadSpec {
            spec: spec.to_owned(),
            reason,
            input: true,
        };
        match parse_common(spec, true)? {
            Some(Common::Device(None)) => Ok(Self::Device),
            Some(Common::Device(Some(name))) => Ok(Self::NamedDevice(name)),
            Some(Common::Wav(path)) => Ok(Self::Wav(path)),
            Some(Common::Nothing) => Ok(Self::Silence),
            None => match spec.split_once(':') {
                Some(("tone", hz)) => {
                    let hz: f64 = hz
                        .parse()
                        .map_err(|_| bad("tone needs a frequency in Hz"))?;
                    // Below Nyquist, or the "tone" aliases to something else.
                    if hz.is_finite() && hz > 0.0 && hz < f64::from(SAMPLE_RATE) / 2.0 {
                        Ok(Self::Tone(hz))
                    } else {
                        Err(bad("tone frequency must be above 0 and below 24000 Hz"))
                    }
                }
                _ => Err(bad("unknown kind")),
            },
        }
    }
}

impl FromStr for AudioOutSpec {
    type Err = SourceError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        match parse_common(spec, false)? {
            Some(Common::Device(None)) => Ok(Self::Device),
            Some(Common::Device(Some(name))) => Ok(Self::NamedDevice(name)),
            Some(Common::Wav(path)) => Ok(Self::Wav(path)),
            Some(Common::Nothing) => Ok(Self::Null),
            None => Err(SourceError::BadSpec {
                spec: spec.to_owned(),
                reason: if spec.starts_with("tone:") {
                    "a tone is an input only"
                } else {
                    "unknown kind"
                },
                input: false,
            }),
        }
    }
}

impl fmt::Display for AudioInSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Device => f.write_str("device"),
            Self::NamedDevice(name) => write!(f, "device:{name}"),
            Self::Wav(path) => write!(f, "wav:{}", path.display()),
            Self::Tone(hz) => write!(f, "tone:{hz}"),
            Self::Silence => f.write_str("silence"),
        }
    }
}

impl fmt::Display for AudioOutSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Device => f.write_str("device"),
            Self::NamedDevice(name) => write!(f, "device:{name}"),
            Self::Wav(path) => write!(f, "wav:{}", path.display()),
            Self::Null => f.write_str("null"),
        }
    }
}

/// Gives the media task one frame per 20 ms tick. Never blocks.
pub trait FrameSource {
    /// Fills `out` with the next 20 ms; silence when there is nothing.
    fn next_frame(&mut self, out: &mut Frame);

    /// Device changes the user should hear about (see [`AudioEvent`]).
    fn poll_event(&mut self) -> Option<AudioEvent> {
        None
    }

    /// The level of the last frame, readable from another task; sound-card
    /// ends have one. Others can be metered with [`LevelMeter::update`].
    fn meter(&self) -> Option<LevelMeter> {
        None
    }

    /// Whether a device's clock runs this end, so that it must be served
    /// every tick between calls too (else its buffers overflow). Other
    /// ends wait for the next call without a tick.
    fn needs_ticks_between_calls(&self) -> bool {
        false
    }
}

/// Takes one frame per 20 ms tick from the media task. Never blocks.
pub trait FrameSink {
    /// Plays (or stores, or drops) one frame.
    fn play(&mut self, frame: &Frame);

    /// Device changes the user should hear about (see [`AudioEvent`]).
    fn poll_event(&mut self) -> Option<AudioEvent> {
        None
    }

    /// The level of the last frame played; see [`FrameSource::meter`].
    fn meter(&self) -> Option<LevelMeter> {
        None
    }

    /// See [`FrameSource::needs_ticks_between_calls`].
    fn needs_ticks_between_calls(&self) -> bool {
        false
    }
}

impl<S: FrameSource + ?Sized> FrameSource for Box<S> {
    fn next_frame(&mut self, out: &mut Frame) {
        (**self).next_frame(out);
    }
    fn poll_event(&mut self) -> Option<AudioEvent> {
        (**self).poll_event()
    }
    fn meter(&self) -> Option<LevelMeter> {
        (**self).meter()
    }
    fn needs_ticks_between_calls(&self) -> bool {
        (**self).needs_ticks_between_calls()
    }
}

impl<S: FrameSink + ?Sized> FrameSink for Box<S> {
    fn play(&mut self, frame: &Frame) {
        (**self).play(frame);
    }
    fn poll_event(&mut self) -> Option<AudioEvent> {
        (**self).poll_event()
    }
    fn meter(&self) -> Option<LevelMeter> {
        (**self).meter()
    }
    fn needs_ticks_between_calls(&self) -> bool {
        (**self).needs_ticks_between_calls()
    }
}

/// Peak and RMS of one frame, as fractions of full scale (0.0 to 1.0).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Level {
    pub peak: f32,
    pub rms: f32,
}

impl Level {
    /// The level of `frame`.
    pub fn of(frame: &Frame) -> Self {
        let mut peak = 0u16;
        let mut energy = 0f64;
        for &sample in frame {
            peak = peak.max(sample.unsigned_abs());
            energy += f64::from(sample) * f64::from(sample);
        }
        Self {
            peak: f32::from(peak) / 32_768.0,
            rms: ((energy / FRAME_SAMPLES as f64).sqrt() / 32_768.0) as f32,
        }
    }

    /// Peak in dBFS; -inf for digital silence.
    pub fn peak_dbfs(&self) -> f32 {
        20.0 * self.peak.log10()
    }

    /// RMS in dBFS; -inf for digital silence.
    pub fn rms_dbfs(&self) -> f32 {
        20.0 * self.rms.log10()
    }
}

/// A [`Level`] shared between the media task (writer) and the UI (reader)
/// without a lock: two `f32`s in atomics. Clones share the same value.
#[derive(Debug, Clone, Default)]
pub struct LevelMeter(Arc<[AtomicU32; 2]>);

impl LevelMeter {
    /// A meter reading silence.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the level of `frame`.
    pub fn update(&self, frame: &Frame) {
        self.set(Level::of(frame));
    }

    /// Records `level`.
    pub fn set(&self, level: Level) {
        let [peak, rms] = &*self.0;
        peak.store(level.peak.to_bits(), Ordering::Relaxed);
        rms.store(level.rms.to_bits(), Ordering::Relaxed);
    }

    /// The last level recorded. The two halves may come from consecutive
    /// frames, which a meter cannot show.
    pub fn get(&self) -> Level {
        let [peak, rms] = &*self.0;
        Level {
            peak: f32::from_bits(peak.load(Ordering::Relaxed)),
            rms: f32::from_bits(rms.load(Ordering::Relaxed)),
        }
    }
}

/// Peak amplitude of [`ToneSource`]: -12 dBFS, loud enough to hear and to
/// meter, far from clipping after a mix.
pub const TONE_PEAK: f64 = 8_192.0;

/// How fast [`ToneSource`] swells and fades: about a syllable rate.
pub const TONE_SWELL_HZ: f64 = 3.0;

/// A sine at a fixed frequency, with continuous phase across frames.
///
/// [`ToneSource::new`], what `--audio-in tone:HZ` sends, swells between
/// half and full [`TONE_PEAK`] [`TONE_SWELL_HZ`] times a second: a
/// perfectly steady tone is what voice-activity detectors learn to call
/// background noise within a second (Opus marks its packets so, and a
/// conference mixer then leaves it out), and the swell keeps it a voice.
/// [`ToneSource::steady`] is the plain sine, for measuring devices.
#[derive(Debug, Clone)]
pub struct ToneSource {
    /// Cycles advanced per sample.
    step: f64,
    /// Position in the cycle, in [0, 1).
    phase: f64,
    /// Position in the swell's cycle, in [0, 1).
    swell: f64,
    /// How far the loudness swings either side of three quarters.
    swell_depth: f64,
}

impl ToneSource {
    /// A tone of `hz` hertz swelling up to [`TONE_PEAK`], starting at
    /// phase 0: a voice to a voice-activity detector.
    pub fn new(hz: f64) -> Self {
        Self {
            step: hz / f64::from(SAMPLE_RATE),
            phase: 0.0,
            swell: 0.0,
            swell_depth: 0.25,
        }
    }

    /// A steady tone of `hz` hertz at [`TONE_PEAK`], starting at phase 0.
    pub fn steady(hz: f64) -> Self {
        Self {
            swell_depth: 0.0,
            ..Self::new(hz)
        }
    }
}

impl FrameSource for ToneSource {
    fn next_frame(&mut self, out: &mut Frame) {
        use std::f64::consts::TAU;
        let swell_step = TONE_SWELL_HZ / f64::from(SAMPLE_RATE);
        for sample in out.iter_mut() {
            let loudness = if self.swell_depth == 0.0 {
                1.0
            } else {
                0.75 + self.swell_depth * (TAU * self.swell).sin()
            };
            *sample = (TONE_PEAK * loudness * (TAU * self.phase).sin()).round() as i16;
            // Kept in [0, 1) so precision does not decay over a long call.
            self.phase = (self.phase + self.step).fract();
            self.swell = (self.swell + swell_step).fract();
        }
    }
}

/// Digital silence.
#[derive(Debug, Clone, Copy, Default)]
pub struct SilenceSource;

impl FrameSource for SilenceSource {
    fn next_frame(&mut self, out: &mut Frame) {
        out.fill(0);
    }
}

/// Passes on only the frames that hold sound: a recorder that keeps calls
/// and not the digital silence a media task plays between them.
pub struct HeardOnly<S> {
    inner: S,
}

impl<S: FrameSink> HeardOnly<S> {
    pub fn new(inner: S) -> Self {
        HeardOnly { inner }
    }
}

impl<S: FrameSink> FrameSink for HeardOnly<S> {
    fn play(&mut self, frame: &Frame) {
        if frame.iter().any(|&sample| sample != 0) {
            self.inner.play(frame);
        }
    }
}

/// Discards frames, counting them.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullSink {
    pub frames: u64,
}

impl FrameSink for NullSink {
    fn play(&mut self, _frame: &Frame) {
        self.frames += 1;
    }
}
