//! PCMU: G.711 µ-law at 8 kHz (RFC 3551 §4.5.14), 160 bytes per 20 ms.
//!
//! The encoder band-limits and decimates 48 kHz to 8 kHz, then compands;
//! the decoder expands, conceals at 8 kHz (where G.711 Appendix I works),
//! and interpolates back to 48 kHz. Each direction adds the resampler's
//! 5 ms; G.711 itself adds none.

use super::plc::WaveformPlc;
use super::resample::FrameResampler;
use super::{AudioDecoder, AudioEncoder, Codec, CodecError, ulaw_decode, ulaw_encode};
use crate::media::{FRAME_SAMPLES, Frame, SAMPLE_RATE};

/// The PCMU clock rate.
const RATE: u32 = 8_000;
/// Samples (and payload bytes) in 20 ms at 8 kHz.
const NARROW: usize = 160;

/// 48 kHz frames to PCMU payloads.
pub struct PcmuEncoder {
    downsampler: FrameResampler,
    narrow: [i16; NARROW],
}

impl PcmuEncoder {
    pub fn new() -> Result<Self, CodecError> {
        Ok(PcmuEncoder {
            downsampler: FrameResampler::new(SAMPLE_RATE, RATE, FRAME_SAMPLES)?,
            narrow: [0; NARROW],
        })
    }

    /// The delay the encoder adds, in 48 kHz samples.
    pub fn delay(&self) -> usize {
        self.downsampler.delay() * (SAMPLE_RATE / RATE) as usize
    }
}

impl AudioEncoder for PcmuEncoder {
    fn encode(&mut self, frame: &Frame, out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.clear();
        self.downsampler.process(frame, &mut self.narrow)?;
        out.extend(self.narrow.iter().map(|sample| ulaw_encode(*sample)));
        Ok(())
    }

    fn codec(&self) -> Codec {
        Codec::Pcmu
    }
}

/// PCMU payloads to 48 kHz frames, with G.711 Appendix I style concealment.
pub struct PcmuDecoder {
    upsampler: FrameResampler,
    plc: WaveformPlc,
    narrow: [i16; NARROW],
}

impl PcmuDecoder {
    pub fn new() -> Result<Self, CodecError> {
        Ok(PcmuDecoder {
            upsampler: FrameResampler::new(RATE, SAMPLE_RATE, NARROW)?,
            plc: WaveformPlc::new(),
            narrow: [0; NARROW],
        })
    }

    /// The delay the decoder adds, in 48 kHz samples.
    pub fn delay(&self) -> usize {
        self.upsampler.delay()
    }

    fn upsample(&mut self, out: &mut Frame) -> Result<(), CodecError> {
        self.upsampler.process(&self.narrow, out)
    }
}

impl AudioDecoder for PcmuDecoder {
    fn decode(&mut self, payload: &[u8], out: &mut Frame) -> Result<usize, CodecError> {
        if payload.is_empty() {
            return Err(CodecError::EmptyPayload);
        }
        if payload.len() != NARROW {
            return Err(CodecError::FrameDuration {
                samples: payload.len(),
                clock_rate: RATE,
            });
        }
        for (code, sample) in payload.iter().zip(self.narrow.iter_mut()) {
            *sample = ulaw_decode(*code);
        }
        self.plc.good(&mut self.narrow);
        self.upsample(out)?;
        Ok(FRAME_SAMPLES)
    }

    fn conceal(&mut self, out: &mut Frame) {
        self.plc.conceal(&mut self.narrow);
        if self.upsample(out).is_err() {
            out.fill(0);
        }
    }

    fn reset(&mut self) {
        self.plc.reset();
        self.upsampler.reset();
    }

    fn codec(&self) -> Codec {
        Codec::Pcmu
    }
}
