//! How loud each participant is, for choosing who is mixed.
//!
//! Levels are in dBov, the unit of RFC 6464 §3 (decibels below the
//! overload point of 16-bit PCM, so a full-scale sine reads about -3 and
//! digital silence reads [`SILENT_DBOV`]). A frame's level is measured on
//! PCM when there is some: a decoded frame, or the 8 kHz samples a PCMU
//! payload expands to, which costs a table lookup per byte and no
//! resampling. An Opus payload has no level without decoding; it does
//! carry the encoder's voice-activity decision, which [`opus_voice_activity`]
//! reads from the packet's first bits, so silent Opus participants are never
//! decoded at all.

use crate::media::codec::ulaw_decode;

/// The floor of RFC 6464 §3's scale: anything quieter, digital silence
/// included, reads -127 dBov.
pub(super) const SILENT_DBOV: f32 = -127.0;

/// How fast the smoothed power rises towards a louder frame (per 20 ms):
/// a new voice reads within 1 dB of its level after 3 frames.
const ATTACK: f32 = 0.5;
/// How fast it falls towards a quieter one: about 3 dB in 270 ms, so the
/// pauses between words and syllables barely move the ranking.
const RELEASE: f32 = 0.05;

/// The level of 48 kHz PCM.
pub(super) fn pcm_dbov(samples: &[i16]) -> f32 {
    let energy: i64 = samples
        .iter()
        .map(|sample| i64::from(*sample) * i64::from(*sample))
        .sum();
    mean_square_dbov(energy, samples.len())
}

/// The level of a PCMU payload, measured on its 8 kHz samples.
pub(super) fn ulaw_dbov(payload: &[u8]) -> f32 {
    let energy: i64 = payload
        .iter()
        .map(|code| {
            let sample = i64::from(ulaw_decode(*code));
            sample * sample
        })
        .sum();
    mean_square_dbov(energy, payload.len())
}

fn mean_square_dbov(energy: i64, samples: usize) -> f32 {
    if energy == 0 || samples == 0 {
        return SILENT_DBOV;
    }
    // Overload is a full-scale square wave: mean square 32768².
    let full_scale = 32_768.0f64 * 32_768.0 * samples as f64;
    let db = 10.0 * (energy as f64 / full_scale).log10();
    (db as f32).clamp(SILENT_DBOV, 0.0)
}

/// The encoder's voice-activity flag for the first frame of an Opus packet,
/// or `None` when the packet has no such flag (CELT-only) or cannot be read.
///
/// RFC 6716 §4.2.3: a SILK or hybrid frame's range-coded data opens with
/// the VAD flag of each SILK frame, then the LBRR flag, each coded with
/// probability 1/2, so the first VAD flag is the top bit of the first byte
/// of the frame. RFC 6716 §3.2: the frame starts right after the TOC byte
/// for codes 0 and 1, after a length for code 2, and after the frame-count
/// byte, padding and lengths for code 3 (left to libopus's parser).
pub(super) fn opus_voice_activity(packet: &[u8]) -> Option<bool> {
    let (&toc, rest) = packet.split_first()?;
    // RFC 6716 §3.1: configurations 16..=31 are CELT-only, with no LP layer.
    if toc >> 3 >= 16 {
        return None;
    }
    let first_byte = match toc & 0x03 {
        0 | 1 => rest.first().copied(),
        _ => ::opus::packet::parse(packet)
            .ok()?
            .frames
            .first()
            .and_then(|frame| frame.first().copied()),
    }?;
    Some(first_byte & 0x80 != 0)
}

/// A participant's smoothed level and how long since it last spoke.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Loudness {
    /// Exponentially smoothed mean-square power, as a fraction of full
    /// scale. Smoothing power rather than decibels keeps a pause (a frame
    /// at -127 dBov) from dragging the level down by tens of decibels.
    power: f32,
    /// Frames since the last one at or above the activity floor.
    pub quiet_frames: u32,
}

impl Loudness {
    pub const SILENT: Loudness = Loudness {
        power: 0.0,
        quiet_frames: u32::MAX,
    };

    /// Takes in one frame's level.
    pub fn update(&mut self, frame_dbov: f32, floor_dbov: f32) {
        let power = if frame_dbov <= SILENT_DBOV {
            0.0
        } else {
            10.0f32.powf(frame_dbov / 10.0)
        };
        let rate = if power > self.power { ATTACK } else { RELEASE };
        self.power += (power - self.power) * rate;
        self.quiet_frames = if frame_dbov >= floor_dbov {
            0
        } else {
            self.quiet_frames.saturating_add(1)
        };
    }

    /// The smoothed level, dBov.
    pub fn smoothed_dbov(&self) -> f32 {
        if self.power <= 0.0 {
            return SILENT_DBOV;
        }
        (10.0 * self.power.log10()).max(SILENT_DBOV)
    }

    /// Whether this frame counted as speech.
    pub fn active(&self) -> bool {
        self.quiet_frames == 0
    }
}
