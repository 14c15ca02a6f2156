//! What the participants say, encoded once before the run and replayed:
//! talkers a speech-like voice each, everyone else a quiet room's noise
//! floor, and for the transit delay a clicker that is silent but for a
//! tone burst every [`IMPULSE_PERIOD`] frames. Every encoder is confab's
//! Opus at its defaults (48 kHz mono, 20 ms, 32 kb/s, complexity 5, FEC),
//! the settings both bridges are given.

use std::f64::consts::TAU;

use anyhow::{Context, Result};
use confab::media::codec::{AudioEncoder, Codec, OpusConfig};
use confab::media::source::synthetic::{noise_floor, speech_like};
use confab::media::{FRAME_SAMPLES, Frame, SAMPLE_RATE, SILENCE};

use crate::measure::OnsetDetector;

/// Seconds of each talker's voice, looped.
const VOICE_FRAMES: usize = 250;
/// One second of each noise floor, looped.
const NOISE_FRAMES: usize = 50;
/// Distinct noise-floor streams shared out among the quiet participants.
pub const NOISE_STREAMS: usize = 4;
/// An impulse every second: longer than any delay a bridge should have,
/// so that an onset heard belongs to the latest impulse sent.
pub const IMPULSE_PERIOD: usize = 50;
/// The burst lasts three frames (60 ms).
const IMPULSE_FRAMES: usize = 3;
/// Onset threshold in decoded audio: -20 dBFS, far above any noise floor
/// a bridge mixes and far below the burst's -6 dBFS.
pub const ONSET_THRESHOLD: i16 = 3277;
/// Quiet needed before an onset counts: 200 ms.
pub const ONSET_QUIET: usize = FRAME_SAMPLES * 10;

/// Every payload the participants send, by role.
pub struct Signals {
    pub voices: Vec<Vec<Vec<u8>>>,
    pub noise: Vec<Vec<Vec<u8>>>,
    /// One period of the clicker: the burst starts in frame 0.
    pub clicks: Vec<Vec<u8>>,
    /// Where the impulse begins in the clicker's audio as a bridge decodes
    /// it: the frame of the period and the sample in that frame (Opus's
    /// own delay included).
    pub click_onset: (usize, usize),
}

impl Signals {
    pub fn new(talkers: usize) -> Result<Signals> {
        let config = OpusConfig::default();
        let voices = (0..talkers)
            .map(|n| encode(&config, &speech_like(110.0 + 35.0 * n as f64, VOICE_FRAMES)))
            .collect::<Result<_>>()?;
        let noise = (0..NOISE_STREAMS)
            .map(|n| encode(&config, &noise_floor(n as u64 + 1, NOISE_FRAMES)))
            .collect::<Result<_>>()?;
        // Two periods encoded in a row and the second kept: its first
        // frame follows the silence it follows when looped.
        let mut two = clicks();
        two.extend(clicks());
        let mut encoded = encode(&config, &two)?;
        let clicks = encoded.split_off(IMPULSE_PERIOD);
        let click_onset = onset_of(&encoded, &clicks)?;
        Ok(Signals {
            voices,
            noise,
            clicks,
            click_onset,
        })
    }
}

fn encode(config: &OpusConfig, frames: &[Frame]) -> Result<Vec<Vec<u8>>> {
    let mut encoder: Box<dyn AudioEncoder> = Codec::Opus.encoder(config)?;
    frames
        .iter()
        .map(|frame| {
            let mut payload = Vec::new();
            encoder.encode(frame, &mut payload)?;
            Ok(payload)
        })
        .collect()
}

/// Decodes `warm` then `period` as a bridge would and finds the onset in
/// `period`.
fn onset_of(warm: &[Vec<u8>], period: &[Vec<u8>]) -> Result<(usize, usize)> {
    let mut decoder = Codec::Opus.decoder()?;
    let mut detector = OnsetDetector::new(ONSET_THRESHOLD, ONSET_QUIET);
    let mut pcm = SILENCE;
    for payload in warm {
        decoder.decode(payload, &mut pcm)?;
        detector.push(&pcm);
    }
    for (frame, payload) in period.iter().enumerate() {
        decoder.decode(payload, &mut pcm)?;
        if let Some(sample) = detector.push(&pcm) {
            return Ok((frame, sample));
        }
    }
    None.context("the impulse has no onset after its own encoding")
}

/// One period of the clicker: a 1 kHz burst at -6 dBFS starting at the
/// first sample, then silence.
fn clicks() -> Vec<Frame> {
    let rate = f64::from(SAMPLE_RATE);
    let mut out = vec![SILENCE; IMPULSE_PERIOD];
    for (n, sample) in out.iter_mut().take(IMPULSE_FRAMES).flatten().enumerate() {
        // A sine from its peak, so the burst is loud from its first sample.
        *sample = (16_000.0 * (TAU * 1000.0 * n as f64 / rate).cos()) as i16;
    }
    out
}
