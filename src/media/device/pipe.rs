//! The media-task half of a sound-card stream: between the device's
//! interleaved float samples (its own rate and channel count) and 48 kHz
//! mono frames. No cpal here: the callback only moves floats through the
//! ring, and this side, where allocating and taking time are allowed, does
//! the channel mixing and resampling.
//!
//! Invariant: the slices given to [`CaptureConverter::push`] hold whole
//! device frames (a multiple of the channel count); the ring guarantees it by
//! moving whole frames only and having a capacity that is a multiple of the
//! channel count, so a wrap never splits a frame.

use crate::media::source::{MonoResampler, f32_to_i16, i16_to_f32, mix_to_mono};
use crate::media::{FRAME_SAMPLES, Frame, SAMPLE_RATE};

/// Device capture samples in, 48 kHz mono frames out.
pub(super) struct CaptureConverter {
    channels: usize,
    resampler: MonoResampler,
    mono: Vec<f32>,
    frame: Vec<f32>,
}

impl CaptureConverter {
    pub(super) fn new(rate: u32, channels: u16) -> Result<Self, String> {
        Ok(Self {
            channels: usize::from(channels.max(1)),
            resampler: MonoResampler::new(rate, SAMPLE_RATE)?,
            mono: Vec::new(),
            frame: vec![0.0; FRAME_SAMPLES],
        })
    }

    /// Mixes and resamples interleaved device samples into the queue.
    pub(super) fn push(&mut self, interleaved: &[f32]) {
        self.mono.clear();
        mix_to_mono(interleaved, self.channels, &mut self.mono);
        self.resampler.push(&self.mono);
    }

    /// 48 kHz samples queued.
    pub(super) fn queued(&self) -> usize {
        self.resampler.available()
    }

    /// Drops the oldest `n` queued samples.
    pub(super) fn discard(&mut self, n: usize) {
        self.resampler.discard(n);
    }

    /// The next frame, if a whole one is queued.
    pub(super) fn pop_frame(&mut self, out: &mut Frame) -> bool {
        if self.resampler.available() < FRAME_SAMPLES {
            return false;
        }
        self.resampler.pop_into(&mut self.frame);
        for (dst, src) in out.iter_mut().zip(&self.frame) {
            *dst = f32_to_i16(*src);
        }
        true
    }
}

/// 48 kHz mono frames in, device playback samples out.
pub(super) struct PlaybackConverter {
    channels: usize,
    resampler: MonoResampler,
    mono_in: Vec<f32>,
    mono_out: Vec<f32>,
    interleaved: Vec<f32>,
}

impl PlaybackConverter {
    pub(super) fn new(rate: u32, channels: u16) -> Result<Self, String> {
        Ok(Self {
            channels: usize::from(channels.max(1)),
            resampler: MonoResampler::new(SAMPLE_RATE, rate)?,
            mono_in: Vec::with_capacity(FRAME_SAMPLES),
            mono_out: Vec::new(),
            interleaved: Vec::new(),
        })
    }

    /// The device samples for `frame`: resampled, the mono signal copied to
    /// every channel. The length varies by a sample or so between calls when
    /// the rates differ, and is 0 while the resampler fills at the start.
    pub(super) fn convert(&mut self, frame: &Frame) -> &[f32] {
        self.mono_in.clear();
        self.mono_in.extend(frame.iter().map(|&s| i16_to_f32(s)));
        self.resampler.push(&self.mono_in);
        self.mono_out.resize(self.resampler.available(), 0.0);
        let n = self.resampler.pop_into(&mut self.mono_out);
        self.interleaved.clear();
        for &sample in &self.mono_out[..n] {
            self.interleaved
                .extend(std::iter::repeat_n(sample, self.channels));
        }
        &self.interleaved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::source::{FrameSource, ToneSource};

    /// Sign changes in `samples`: twice the cycles of a clean tone.
    fn crossings(samples: &[i16]) -> usize {
        samples
            .windows(2)
            .filter(|w| (w[0] < 0) != (w[1] < 0))
            .count()
    }

    #[test]
    fn same_rate_mono_is_bit_exact_both_ways() {
        let mut tone = ToneSource::new(1000.0);
        let mut playback = PlaybackConverter::new(48_000, 1).unwrap();
        let mut capture = CaptureConverter::new(48_000, 1).unwrap();
        let mut sent = [0; FRAME_SAMPLES];
        let mut back = [0; FRAME_SAMPLES];
        for _ in 0..5 {
            tone.next_frame(&mut sent);
            let device = playback.convert(&sent).to_vec();
            assert_eq!(device.len(), FRAME_SAMPLES);
            capture.push(&device);
            assert!(capture.pop_frame(&mut back));
            assert_eq!(back, sent);
        }
        assert!(!capture.pop_frame(&mut back), "nothing left over");
    }

    #[test]
    fn stereo_44k1_round_trip_keeps_pitch_level_and_length() {
        let mut tone = ToneSource::steady(1000.0);
        let mut playback = PlaybackConverter::new(44_100, 2).unwrap();
        let mut capture = CaptureConverter::new(44_100, 2).unwrap();
        let mut frame = [0; FRAME_SAMPLES];
        let mut device = Vec::new();
        for _ in 0..50 {
            tone.next_frame(&mut frame);
            device.extend_from_slice(playback.convert(&frame));
        }
        // Both channels carry the same signal.
        assert!(device.chunks_exact(2).all(|lr| lr[0] == lr[1]));
        // One second in, about one second out at 44.1 kHz, less what is
        // still inside the resampler.
        assert!(
            (42_000..=44_100).contains(&(device.len() / 2)),
            "{}",
            device.len() / 2
        );

        capture.push(&device);
        let mut frames = Vec::new();
        while capture.pop_frame(&mut frame) {
            frames.push(frame);
        }
        assert!(frames.len() >= 45, "{} frames back", frames.len());
        // Past the start, every frame is a 1 kHz tone at the tone's level:
        // 40 sign changes in 20 ms, peak within 3% of the original.
        for frame in &frames[1..frames.len() - 1] {
            assert!(
                (39..=41).contains(&crossings(frame)),
                "{}",
                crossings(frame)
            );
            let peak = frame.iter().map(|s| s.unsigned_abs()).max().unwrap();
            assert!((7_950..=8_450).contains(&peak), "peak {peak}");
        }
    }

    #[test]
    fn stereo_capture_averages_channels() {
        let mut capture = CaptureConverter::new(48_000, 2).unwrap();
        let device: Vec<f32> = (0..FRAME_SAMPLES).flat_map(|_| [0.5, 0.0]).collect();
        capture.push(&device);
        let mut frame = [0; FRAME_SAMPLES];
        assert!(capture.pop_frame(&mut frame));
        assert!(frame.iter().all(|&s| s == 8_192));
    }
}
