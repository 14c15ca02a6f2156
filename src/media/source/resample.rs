//! Sample-rate conversion and channel mixing at the edges of the 48 kHz mono
//! world, shared by the WAV ends here and the sound-card ends in
//! `media::device`.
//!
//! [`MonoResampler`] is a streaming wrapper over rubato's synchronous FFT
//! resampler: samples go in at any size, come out at the other rate, and the
//! resampler's start-up delay is trimmed so that output sample 0 is input
//! sample 0. When both rates are equal it is a plain FIFO and the samples pass
//! through bit for bit. Buffers grow to their working size on the first calls
//! and are then reused, so the steady state does not allocate.

use std::collections::VecDeque;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Sample rates accepted from files and devices. Outside this range the FFT
/// block sizes (rate / gcd) stop being reasonable.
pub(crate) const RATE_RANGE: std::ops::RangeInclusive<u32> = 1_000..=384_000;

/// `i16` PCM to the `[-1, 1)` float scale the resampler and cpal use.
pub(crate) fn i16_to_f32(sample: i16) -> f32 {
    f32::from(sample) / 32_768.0
}

/// Float back to `i16`, rounded and clipped. NaN becomes 0.
pub(crate) fn f32_to_i16(sample: f32) -> i16 {
    // `as` saturates and maps NaN to 0; the clamp only makes the intent plain.
    (sample * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16
}

/// Averages interleaved frames of `channels` samples into `mono` (appended).
/// A trailing partial frame is ignored.
pub(crate) fn mix_to_mono(interleaved: &[f32], channels: usize, mono: &mut Vec<f32>) {
    if channels <= 1 {
        mono.extend_from_slice(interleaved);
        return;
    }
    let scale = 1.0 / channels as f32;
    mono.extend(
        interleaved
            .chunks_exact(channels)
            .map(|frame| frame.iter().sum::<f32>() * scale),
    );
}

/// Streaming mono resampler (see the module docs).
pub(crate) struct MonoResampler {
    fft: Option<Fft<f32>>,
    /// Input waiting for a full chunk.
    pending: Vec<f32>,
    /// One chunk of resampler output.
    chunk_out: Vec<f32>,
    output: VecDeque<f32>,
    /// Output samples still to drop: the resampler's start-up delay.
    trim: usize,
}

impl MonoResampler {
    /// A resampler from `from` Hz to `to` Hz. Fails when a rate is outside
    /// [`RATE_RANGE`].
    pub(crate) fn new(from: u32, to: u32) -> Result<Self, String> {
        for rate in [from, to] {
            if !RATE_RANGE.contains(&rate) {
                return Err(format!("unsupported sample rate {rate} Hz"));
            }
        }
        let fft = if from == to {
            None
        } else {
            // 10 ms input chunks; rubato rounds up to its minimum block.
            let chunk = (from as usize / 100).max(1);
            let fft = Fft::<f32>::new(from as usize, to as usize, chunk, 1, FixedSync::Input)
                .map_err(|error| format!("resampler {from} -> {to} Hz: {error}"))?;
            Some(fft)
        };
        let (trim, chunk_out) = match &fft {
            Some(fft) => (fft.output_delay(), vec![0.0; fft.output_frames_max()]),
            None => (0, Vec::new()),
        };
        Ok(Self {
            fft,
            pending: Vec::new(),
            chunk_out,
            output: VecDeque::new(),
            trim,
        })
    }

    /// Feeds input samples; whole chunks are resampled at once.
    pub(crate) fn push(&mut self, input: &[f32]) {
        let Some(fft) = &mut self.fft else {
            self.output.extend(input);
            return;
        };
        self.pending.extend_from_slice(input);
        let mut consumed = 0;
        loop {
            let need = fft.input_frames_next();
            let Some(chunk) = self.pending.get(consumed..consumed + need) else {
                break;
            };
            let out_len = self.chunk_out.len();
            let produced = match (
                InterleavedSlice::new(chunk, 1, need),
                InterleavedSlice::new_mut(&mut self.chunk_out, 1, out_len),
            ) {
                (Ok(input), Ok(mut output)) => fft
                    .process_into_buffer(&input, &mut output, None)
                    .map(|(_, produced)| produced),
                _ => Ok(0),
            };
            consumed += need;
            match produced {
                Ok(produced) => {
                    let produced = &self.chunk_out[..produced.min(out_len)];
                    let skip = self.trim.min(produced.len());
                    self.trim -= skip;
                    self.output.extend(&produced[skip..]);
                }
                // Cannot happen with the sizes above; lose the chunk rather
                // than the call.
                Err(error) => tracing::warn!(%error, "resampler chunk dropped"),
            }
        }
        self.pending.drain(..consumed);
    }

    /// Pushes zeros until every input sample fed so far has come out.
    pub(crate) fn flush(&mut self) {
        let Some(fft) = &self.fft else { return };
        let chunk = fft.input_frames_next();
        // The partial chunk, then enough whole chunks to cover the delay.
        let delay_in = (fft.output_delay() as f64 / fft.resample_ratio()).ceil() as usize;
        let pad = (chunk - self.pending.len() % chunk) % chunk + delay_in.div_ceil(chunk) * chunk;
        let zeros = vec![0.0; pad];
        self.push(&zeros);
    }

    /// Samples ready to pop.
    pub(crate) fn available(&self) -> usize {
        self.output.len()
    }

    /// Pops up to `out.len()` samples into `out`; returns how many.
    pub(crate) fn pop_into(&mut self, out: &mut [f32]) -> usize {
        let n = out.len().min(self.output.len());
        for (dst, src) in out.iter_mut().zip(self.output.drain(..n)) {
            *dst = src;
        }
        n
    }

    /// Drops the oldest `n` ready samples (latency control).
    pub(crate) fn discard(&mut self, n: usize) {
        let n = n.min(self.output.len());
        self.output.drain(..n);
    }
}
