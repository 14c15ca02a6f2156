//! Audio: codecs, jitter buffer, and (only in `device`) the sound card.
//!
//! Everything here speaks one format: 48 kHz mono signed 16-bit PCM, cut
//! into 20 ms frames of [`FRAME_SAMPLES`] samples (PROTOCOLS.md section 7).
//! Devices and codecs of other rates and channel counts are converted at
//! the edges. `codec`, `jitter` and `session` are sans-IO like the SIP
//! cores: time is an argument, and tests replay traces in virtual time.

pub mod codec;
pub mod conference_leg;
pub mod contributors;
pub mod device;
pub mod jitter;
pub mod mixer;
pub mod session;
pub mod source;

/// The one internal sample rate.
pub const SAMPLE_RATE: u32 = 48_000;
/// Milliseconds of audio in one frame.
pub const FRAME_MS: u32 = 20;
/// Samples in one frame at [`SAMPLE_RATE`].
pub const FRAME_SAMPLES: usize = (SAMPLE_RATE as usize / 1000) * FRAME_MS as usize;

/// One 20 ms frame of 48 kHz mono PCM.
pub type Frame = [i16; FRAME_SAMPLES];

/// A frame of silence.
pub const SILENCE: Frame = [0; FRAME_SAMPLES];
