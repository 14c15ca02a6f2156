//! The mixer's encoded streams, and the clipped frames they encode.
//!
//! A [`Stream`] is one encoder and the payload it made for the current
//! frame. Its invariant is the module's continuity rule: an encoder only
//! ever codes consecutive frames, and after a gap the stream starts over on
//! a new encoder (see the notes in `mixer.rs`).

use super::MixerStats;
use crate::media::codec::{AudioEncoder, Codec, OpusConfig};
use crate::media::{FRAME_SAMPLES, Frame};

/// One encoded stream: an encoder and this frame's payload.
#[derive(Default)]
pub(super) struct Stream {
    encoder: Option<Box<dyn AudioEncoder>>,
    pub payload: Vec<u8>,
    /// The frame `payload` holds; the encoder has coded every frame up to
    /// it without a gap.
    pub encoded_frame: Option<u64>,
}

impl Stream {
    /// Encodes `frame`, on a new encoder if this stream has none or missed
    /// the previous frame (the continuity rule in `mixer.rs`).
    pub fn encode(
        &mut self,
        codec: Codec,
        opus: &OpusConfig,
        pcm: &Frame,
        frame: u64,
        stats: &mut MixerStats,
    ) {
        let continuous = self.encoded_frame.is_some_and(|last| last + 1 == frame);
        if !continuous {
            self.encoder = None;
        }
        self.encoded_frame = None;
        let encoder = match self.encoder.take() {
            Some(encoder) => encoder,
            None => match codec.encoder(opus) {
                Ok(encoder) => encoder,
                Err(error) => {
                    tracing::warn!(%error, "mixer encoder set-up failed; the stream skips a frame");
                    stats.encode_errors += 1;
                    return;
                }
            },
        };
        let encoder = self.encoder.insert(encoder);
        stats.encodes += 1;
        match encoder.encode(pcm, &mut self.payload) {
            Ok(()) => self.encoded_frame = Some(frame),
            Err(error) => {
                tracing::warn!(%error, "mixer encode failed; the stream skips a frame");
                stats.encode_errors += 1;
            }
        }
    }
}

/// `sum` less `own` (a talker's own frame), clipped to i16: the saturation
/// happens once, after the subtraction, so a talker's own loud frame never
/// clips what the others hear.
pub(super) fn clip_into(sum: &[i32; FRAME_SAMPLES], own: Option<&Frame>, out: &mut Frame) {
    let clip = |value: i32| value.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
    match own {
        Some(own) => {
            for ((out, sum), own) in out.iter_mut().zip(sum.iter()).zip(own.iter()) {
                *out = clip(*sum - i32::from(*own));
            }
        }
        None => {
            for (out, sum) in out.iter_mut().zip(sum.iter()) {
                *out = clip(*sum);
            }
        }
    }
}
