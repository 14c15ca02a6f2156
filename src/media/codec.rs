//! Audio codecs: Opus (RFC 6716, RTP per RFC 7587) and PCMU (ITU-T G.711
//! µ-law, RTP payload type 0 per RFC 3551 §4.5.14), behind one pair of traits.
//!
//! The media task owns one [`AudioEncoder`] per outgoing stream and one
//! [`AudioDecoder`] per incoming stream. Both speak the crate's one internal
//! format ([`Frame`]: 20 ms of 48 kHz mono i16); rate and channel conversion
//! happens inside the codec, so nothing else sees 8 kHz or stereo.
//!
//! The jitter buffer decides what to play on each 20 ms tick and the decoder
//! executes it: [`AudioDecoder::decode`] for a packet that is there,
//! [`AudioDecoder::decode_fec`] to rebuild a lost frame from the in-band FEC
//! of the packet after it (Opus LBRR, RFC 6716 §2.1.7), and
//! [`AudioDecoder::conceal`] for packet loss concealment when nothing is
//! left.
//!
//! Invariants:
//! - Encoders and decoders are sans-IO and keep state across frames (codec
//!   memory, resampler history, concealment history); nothing is allocated
//!   per frame once the caller's output buffer has grown to its size.
//! - A payload from the network never panics a decoder: a malformed, empty
//!   or wrongly sized payload is a [`CodecError`], and the decoder stays
//!   usable (the caller conceals that frame instead).
//! - Only 20 ms packets are accepted (PROTOCOLS.md section 7: `ptime` 20);
//!   other durations are [`CodecError::FrameDuration`].

mod g711;
mod opus;
mod pcmu;
mod plc;
mod resample;

pub use self::g711::{ulaw_decode, ulaw_encode};
pub use self::opus::{OpusConfig, OpusDecoder, OpusEncoder, opus_packet_has_fec};
pub use self::pcmu::{PcmuDecoder, PcmuEncoder};

use super::Frame;

/// Everything that can go wrong encoding or decoding one frame.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// An RTP packet with no payload: nothing to decode (RFC 7587 §4.2 has
    /// no zero-length Opus packets; PCMU always carries samples).
    #[error("empty payload")]
    EmptyPayload,
    /// The payload is valid but is not one 20 ms frame.
    #[error("payload holds {samples} samples at {clock_rate} Hz, not one 20 ms frame")]
    FrameDuration { samples: usize, clock_rate: u32 },
    /// libopus refused the packet (malformed) or a setting.
    #[error("opus: {0}")]
    Opus(#[from] ::opus::Error),
    /// The 48 kHz <-> 8 kHz resampler could not be built.
    #[error("resampler set-up: {0}")]
    ResamplerSetup(#[from] rubato::ResamplerConstructionError),
    /// The resampler refused a chunk (a size mismatch: a bug, not input).
    #[error("resampling: {0}")]
    Resample(#[from] rubato::ResampleError),
}

/// Turns 20 ms frames into RTP payloads.
pub trait AudioEncoder: Send {
    /// Encodes one frame into `out`, replacing its contents. `out` keeps its
    /// capacity between calls, so a reused buffer means no allocation.
    fn encode(&mut self, frame: &Frame, out: &mut Vec<u8>) -> Result<(), CodecError>;

    /// Which codec this is (for SDP and the RTP payload type).
    fn codec(&self) -> Codec;

    /// Tells the encoder how much loss the receiver reports (RTCP RR
    /// fraction lost, in percent), so Opus can size its in-band FEC. Codecs
    /// without FEC ignore it.
    fn set_expected_loss(&mut self, _percent: u8) {}
}

/// Turns RTP payloads back into 20 ms frames, and covers for lost ones.
pub trait AudioDecoder: Send {
    /// Decodes one payload into `out`; returns the samples written (always
    /// [`crate::media::FRAME_SAMPLES`] on success).
    fn decode(&mut self, payload: &[u8], out: &mut Frame) -> Result<usize, CodecError>;

    /// Packet loss concealment: fills `out` with a plausible continuation of
    /// what was played, fading to silence over a long loss.
    fn conceal(&mut self, out: &mut Frame);

    /// Rebuilds the lost frame *before* `next_payload` from the redundancy
    /// that packet carries. The caller decodes `next_payload` itself
    /// normally on the next tick. Codecs without FEC, and packets that carry
    /// none, fall back to concealment.
    fn decode_fec(&mut self, next_payload: &[u8], out: &mut Frame) -> Result<usize, CodecError> {
        let _ = next_payload;
        self.conceal(out);
        Ok(out.len())
    }

    /// Forgets all history, for a new stream (an SSRC change).
    fn reset(&mut self);

    /// Which codec this is.
    fn codec(&self) -> Codec;
}

/// The codecs confab speaks, with their RTP facts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    /// `opus/48000/2` (RFC 7587 §7: always declared with 2 channels).
    Opus,
    /// `PCMU/8000`, static payload type 0.
    Pcmu,
}

impl Codec {
    /// The SDP encoding name (`a=rtpmap`).
    pub const fn encoding_name(self) -> &'static str {
        match self {
            Codec::Opus => "opus",
            Codec::Pcmu => "PCMU",
        }
    }

    /// The codec's name as a person reads it ("Opus", "PCMU").
    pub const fn display_name(self) -> &'static str {
        match self {
            Codec::Opus => "Opus",
            Codec::Pcmu => "PCMU",
        }
    }

    /// The RTP clock rate.
    pub const fn clock_rate(self) -> u32 {
        match self {
            Codec::Opus => 48_000,
            Codec::Pcmu => 8_000,
        }
    }

    /// The channel count written in `a=rtpmap` (RFC 7587 §7 fixes 2 for
    /// Opus whatever is sent).
    pub const fn rtpmap_channels(self) -> u8 {
        match self {
            Codec::Opus => 2,
            Codec::Pcmu => 1,
        }
    }

    /// The static payload type, if the codec has one (RFC 3551 table 4).
    pub const fn static_payload_type(self) -> Option<u8> {
        match self {
            Codec::Opus => None,
            Codec::Pcmu => Some(0),
        }
    }

    /// RTP timestamp units in one 20 ms frame.
    pub const fn timestamp_increment(self) -> u32 {
        self.clock_rate() / (1000 / super::FRAME_MS)
    }

    /// Whether a payload can carry the previous frame (Opus in-band FEC).
    pub const fn has_inband_fec(self) -> bool {
        matches!(self, Codec::Opus)
    }

    /// A new encoder; `opus` configures Opus and is ignored by PCMU.
    pub fn encoder(self, opus: &OpusConfig) -> Result<Box<dyn AudioEncoder>, CodecError> {
        Ok(match self {
            Codec::Opus => Box::new(OpusEncoder::new(opus)?),
            Codec::Pcmu => Box::new(PcmuEncoder::new()?),
        })
    }

    /// A new decoder.
    pub fn decoder(self) -> Result<Box<dyn AudioDecoder>, CodecError> {
        Ok(match self {
            Codec::Opus => Box::new(OpusDecoder::new()?),
            Codec::Pcmu => Box::new(PcmuDecoder::new()?),
        })
    }
}

#[cfg(test)]
mod tests;
