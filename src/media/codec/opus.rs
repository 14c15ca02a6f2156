//! Opus over libopus (the `opus` crate, bundled libopus 1.6).
//!
//! Encoding is always mono at 48 kHz in 20 ms frames (PROTOCOLS.md section
//! 7), VoIP application, voice signal hint, VBR, in-band FEC on and DTX off
//! unless configured. Decoding uses a mono libopus decoder: RFC 7587 §7
//! lets a peer send stereo under `opus/48000/2`, and libopus downmixes a
//! stereo stream itself when asked for one channel (RFC 6716 §4.1 lets a
//! decoder produce any channel count from any stream).

use ::opus::{Application, Bitrate, Channels, Signal};

use super::{AudioDecoder, AudioEncoder, Codec, CodecError};
use crate::media::{FRAME_SAMPLES, Frame, SAMPLE_RATE};

/// RFC 6716 §3.2.1: one frame is at most 1275 bytes, plus the TOC byte.
const MAX_PACKET: usize = 1276;

/// How the Opus encoder is set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpusConfig {
    /// Target bit rate in bits per second (VBR).
    pub bitrate: u32,
    /// 0 (cheapest) to 10 (best); DEPENDENCIES.md has the cost per frame.
    pub complexity: u8,
    /// In-band FEC (LBRR, RFC 6716 §2.1.7); the SDP says `useinbandfec=1`.
    pub inband_fec: bool,
    /// Packet loss the encoder plans for, in percent; libopus only spends
    /// bits on FEC when this is above zero.
    pub expected_loss_percent: u8,
    /// Discontinuous transmission (RFC 7587 §3.1.3); off by default so that
    /// every 20 ms carries a packet and the jitter buffer keeps its timing.
    pub dtx: bool,
}

impl Default for OpusConfig {
    fn default() -> Self {
        OpusConfig {
            bitrate: 32_000,
            complexity: 5,
            inband_fec: true,
            expected_loss_percent: 5,
            dtx: false,
        }
    }
}

/// 48 kHz mono Opus encoder.
pub struct OpusEncoder {
    encoder: ::opus::Encoder,
}

impl OpusEncoder {
    pub fn new(config: &OpusConfig) -> Result<Self, CodecError> {
        let mut encoder = ::opus::Encoder::new(SAMPLE_RATE, Channels::Mono, Application::Voip)?;
        encoder.set_bitrate(Bitrate::Bits(
            i32::try_from(config.bitrate).unwrap_or(i32::MAX),
        ))?;
        encoder.set_complexity(i32::from(config.complexity))?;
        encoder.set_signal(Signal::Voice)?;
        encoder.set_vbr(true)?;
        encoder.set_inband_fec(config.inband_fec)?;
        encoder.set_packet_loss_perc(i32::from(config.expected_loss_percent.min(100)))?;
        encoder.set_dtx(config.dtx)?;
        Ok(OpusEncoder { encoder })
    }

    /// Changes the target bit rate mid-stream.
    pub fn set_bitrate(&mut self, bitrate: u32) -> Result<(), CodecError> {
        let bits = i32::try_from(bitrate).unwrap_or(i32::MAX);
        self.encoder.set_bitrate(Bitrate::Bits(bits))?;
        Ok(())
    }

    /// The encoder's look-ahead in 48 kHz samples: part of the one-way delay.
    pub fn lookahead(&mut self) -> Result<usize, CodecError> {
        Ok(usize::try_from(self.encoder.get_lookahead()?).unwrap_or(0))
    }
}

impl AudioEncoder for OpusEncoder {
    fn encode(&mut self, frame: &Frame, out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.clear();
        out.resize(MAX_PACKET, 0);
        match self.encoder.encode(frame, out) {
            Ok(written) => {
                out.truncate(written);
                Ok(())
            }
            Err(error) => {
                out.clear();
                Err(error.into())
            }
        }
    }

    fn codec(&self) -> Codec {
        Codec::Opus
    }

    fn set_expected_loss(&mut self, percent: u8) {
        // Only fails for values outside 0..=100, which min() rules out.
        let _ = self
            .encoder
            .set_packet_loss_perc(i32::from(percent.min(100)));
    }
}

/// Opus decoder for mono or stereo streams, producing 48 kHz mono.
pub struct OpusDecoder {
    decoder: ::opus::Decoder,
}

impl OpusDecoder {
    pub fn new() -> Result<Self, CodecError> {
        Ok(OpusDecoder {
            decoder: ::opus::Decoder::new(SAMPLE_RATE, Channels::Mono)?,
        })
    }

    /// Checks that `payload` is one 20 ms packet before libopus sees it: an
    /// empty slice would mean "lost" to libopus, and a longer packet would
    /// not fit a [`Frame`].
    fn check(payload: &[u8]) -> Result<(), CodecError> {
        if payload.is_empty() {
            return Err(CodecError::EmptyPayload);
        }
        let samples = ::opus::packet::get_nb_samples(payload, SAMPLE_RATE)?;
        if samples != FRAME_SAMPLES {
            return Err(CodecError::FrameDuration {
                samples,
                clock_rate: SAMPLE_RATE,
            });
        }
        Ok(())
    }
}

impl AudioDecoder for OpusDecoder {
    fn decode(&mut self, payload: &[u8], out: &mut Frame) -> Result<usize, CodecError> {
        Self::check(payload)?;
        Ok(self.decoder.decode(payload, out, false)?)
    }

    fn conceal(&mut self, out: &mut Frame) {
        // RFC 6716 §4.4: a lost packet is decoded as "no data" for the
        // frame's duration; libopus extrapolates (SILK) or fades (CELT).
        if self.decoder.decode(&[], out, false).is_err() {
            out.fill(0);
        }
    }

    fn decode_fec(&mut self, next_payload: &[u8], out: &mut Frame) -> Result<usize, CodecError> {
        Self::check(next_payload)?;
        // With decode_fec set, libopus decodes the LBRR copy of the previous
        // frame held in this packet, or conceals when it carries none.
        Ok(self.decoder.decode(next_payload, out, true)?)
    }

    fn reset(&mut self) {
        // Only fails on a corrupt decoder state; a fresh one is equivalent.
        if self.decoder.reset_state().is_err() {
            if let Ok(fresh) = ::opus::Decoder::new(SAMPLE_RATE, Channels::Mono) {
                self.decoder = fresh;
            }
        }
    }

    fn codec(&self) -> Codec {
        Codec::Opus
    }
}

/// Whether an Opus packet carries in-band FEC for the frame before it.
///
/// RFC 6716 §4.2.3: a SILK or hybrid frame opens with its header bits, one
/// VAD flag per SILK frame and then the LBRR flag, coded with probability
/// 1/2 so they are the leading bits of the first frame's first byte. For
/// 10 and 20 ms frames that is bit 7 (VAD) and bit 6 (LBRR) for the mid
/// channel, and bits 5 and 4 for the side channel of a stereo stream.
/// CELT-only packets (TOC configs 16..=31) never carry FEC.
pub fn opus_packet_has_fec(packet: &[u8]) -> bool {
    let Some(&toc) = packet.first() else {
        return false;
    };
    let config = toc >> 3;
    if config >= 16 {
        return false;
    }
    // RFC 6716 §3.1: SILK configs 0..=11 and hybrid 12..=15 code 10, 20, 40
    // or 60 ms (SILK) or 10, 20 ms (hybrid); only one SILK frame per Opus
    // frame keeps the flag at bit 6.
    let silk_frame_ms = if config < 12 {
        [10, 20, 40, 60][usize::from(config & 3)]
    } else {
        20
    };
    if silk_frame_ms > 20 {
        return false;
    }
    let Ok(parsed) = ::opus::packet::parse(packet) else {
        return false;
    };
    let Some(first) = parsed.frames.first().and_then(|frame| frame.first()) else {
        return false;
    };
    let stereo = toc & 0x04 != 0;
    let mid = first & 0x40 != 0;
    let side = stereo && first & 0x10 != 0;
    mid || side
}
