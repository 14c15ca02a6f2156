//! Fixed-ratio resampling between the internal 48 kHz and G.711's 8 kHz.
//!
//! rubato's synchronous FFT resampler: the ratio is exactly 6, so no
//! asynchronous (drift-tracking) resampler is needed, and the FFT one is
//! both the cheapest and a true band-limited filter. Each 20 ms frame is
//! cut into [`SUB_CHUNKS`] FFT blocks: the resampler delays by half a block,
//! so smaller blocks mean less latency, at the price of a lower anti-alias
//! cutoff. Two blocks per frame give 5 ms of delay each way with a cutoff
//! near 3.5 kHz, which covers the G.711 telephone band (300-3400 Hz); one
//! block would double the delay for a band PCMU cannot carry anyway.
//!
//! State (overlap, buffers) persists across frames, and nothing allocates
//! after construction.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler as _, WindowFunction};

use super::CodecError;

/// FFT blocks per 20 ms frame (see the module comment).
const SUB_CHUNKS: usize = 2;

/// Converts fixed-size chunks of i16 samples from one rate to another.
pub(super) struct FrameResampler {
    fft: Fft<f32>,
    input: Vec<f32>,
    output: Vec<f32>,
}

impl FrameResampler {
    /// A resampler taking `chunk_in` samples at `rate_in` per call.
    pub(super) fn new(rate_in: u32, rate_out: u32, chunk_in: usize) -> Result<Self, CodecError> {
        let fft = Fft::<f32>::new_custom(
            rate_in as usize,
            rate_out as usize,
            chunk_in,
            SUB_CHUNKS,
            1,
            WindowFunction::Blackman2,
            FixedSync::Input,
        )?;
        let input = vec![0.0; fft.input_frames_max()];
        let output = vec![0.0; fft.output_frames_max()];
        Ok(FrameResampler { fft, input, output })
    }

    /// The delay the filter adds, in output samples.
    pub(super) fn delay(&self) -> usize {
        self.fft.output_delay()
    }

    /// Resamples one chunk: `input` must hold the `chunk_in` samples given
    /// at construction, and `output` the matching number at the new rate.
    pub(super) fn process(&mut self, input: &[i16], output: &mut [i16]) -> Result<(), CodecError> {
        let frames_in = self.fft.input_frames_next();
        let frames_out = self.fft.output_frames_next();
        debug_assert_eq!(input.len(), frames_in);
        debug_assert_eq!(output.len(), frames_out);
        for (sample, scaled) in input.iter().zip(self.input.iter_mut()) {
            *scaled = f32::from(*sample) / 32768.0;
        }
        let adapter_in = InterleavedSlice::new(&self.input[..], 1, frames_in).map_err(|_| {
            rubato::ResampleError::InsufficientInputBufferSize {
                expected: frames_in,
                actual: self.input.len(),
            }
        })?;
        let mut adapter_out = InterleavedSlice::new_mut(&mut self.output[..], 1, frames_out)
            .map_err(|_| rubato::ResampleError::InsufficientOutputBufferSize {
                expected: frames_out,
                actual: frames_out,
            })?;
        let (_, written) = self
            .fft
            .process_into_buffer(&adapter_in, &mut adapter_out, None)?;
        for (scaled, sample) in self.output[..written].iter().zip(output.iter_mut()) {
            // `as` saturates, which is the clipping we want.
            *sample = (scaled * 32768.0).round() as i16;
        }
        Ok(())
    }

    /// Forgets the filter history, for a new stream.
    pub(super) fn reset(&mut self) {
        self.fft.reset();
    }
}
