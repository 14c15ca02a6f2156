//! Packet loss concealment for G.711 by pitch waveform repetition, in the
//! manner of ITU-T G.711 Appendix I, simplified.
//!
//! Kept from Appendix I: a 48.75 ms history at 8 kHz; a pitch period found
//! by normalized cross-correlation over 5-15 ms (66-200 Hz); the lost
//! audio replaced by repeating the last period; full level for the first
//! 10 ms, then a linear fade of 20% per 10 ms to silence at 60 ms; and an
//! overlap-add from the synthetic signal into the first good frame.
//! Left out: Appendix I's 3.75 ms output delay (used to overlap-add at the
//! *start* of a loss) and its widening to two and three periods after 10
//! and 20 ms. Without the delay the start of a loss can click if the pitch
//! estimate is off; with a voiced signal the period joins smoothly.

/// Appendix I's history: 390 samples, 48.75 ms at 8 kHz.
const HISTORY: usize = 390;
/// Shortest pitch period searched: 5 ms (200 Hz).
const PITCH_MIN: usize = 40;
/// Longest pitch period searched: 15 ms (66.7 Hz).
const PITCH_MAX: usize = 120;
/// Correlation window: the last 20 ms.
const CORRELATION: usize = 160;
/// Samples of the first 10 ms, played at full level.
const HOLD: usize = 80;
/// Samples from full level to silence: 20% per 10 ms, so 50 ms.
const FADE: usize = 400;
/// Overlap-add into the first good frame: 4 ms (Appendix I's minimum).
const RECOVERY: usize = 32;

/// Concealment state for one 8 kHz stream.
pub(super) struct WaveformPlc {
    /// The most recent samples, oldest first.
    history: [i16; HISTORY],
    /// The period being repeated (a copy of the history's last period).
    period: [i16; PITCH_MAX],
    pitch: usize,
    /// Position in `period` of the next synthetic sample.
    phase: usize,
    /// Synthetic samples produced in the current loss; 0 when not in a loss.
    concealed: usize,
}

impl WaveformPlc {
    pub(super) fn new() -> Self {
        WaveformPlc {
            history: [0; HISTORY],
            period: [0; PITCH_MAX],
            pitch: PITCH_MIN,
            phase: 0,
            concealed: 0,
        }
    }

    pub(super) fn reset(&mut self) {
        *self = Self::new();
    }

    /// Takes a decoded good frame; if a loss just ended, blends the
    /// synthetic continuation into its start. Then records it as history.
    pub(super) fn good(&mut self, frame: &mut [i16]) {
        if self.concealed > 0 {
            let blend = RECOVERY.min(frame.len());
            for (index, sample) in frame.iter_mut().take(blend).enumerate() {
                let synthetic = f32::from(self.next_synthetic());
                let weight = (index + 1) as f32 / (blend + 1) as f32;
                let mixed = synthetic * (1.0 - weight) + f32::from(*sample) * weight;
                *sample = mixed.round() as i16;
            }
            self.concealed = 0;
        }
        self.remember(frame);
    }

    /// Fills `out` with the continuation of a lost stretch.
    pub(super) fn conceal(&mut self, out: &mut [i16]) {
        if self.concealed == 0 {
            self.start_loss();
        }
        for sample in out.iter_mut() {
            *sample = self.next_synthetic();
        }
        // Concealed audio is history too, so a good frame after a short
        // loss and a second loss soon after both continue from it.
        self.remember(out);
    }

    fn start_loss(&mut self) {
        self.pitch = self.estimate_pitch();
        let start = HISTORY - self.pitch;
        self.period[..self.pitch].copy_from_slice(&self.history[start..]);
        self.phase = 0;
    }

    /// One synthetic sample: the repeated period at the current fade level.
    fn next_synthetic(&mut self) -> i16 {
        let gain = match self.concealed {
            n if n < HOLD => 1.0,
            n if n < HOLD + FADE => 1.0 - (n - HOLD) as f32 / FADE as f32,
            _ => 0.0,
        };
        let sample = f32::from(self.period[self.phase]) * gain;
        self.phase = (self.phase + 1) % self.pitch;
        self.concealed = self.concealed.saturating_add(1);
        sample.round() as i16
    }

    /// The lag in `PITCH_MIN..=PITCH_MAX` whose past best matches the last
    /// 20 ms, by normalized cross-correlation.
    fn estimate_pitch(&self) -> usize {
        let recent = &self.history[HISTORY - CORRELATION..];
        let mut best = (PITCH_MIN, f64::MIN);
        for lag in PITCH_MIN..=PITCH_MAX {
            let past = &self.history[HISTORY - CORRELATION - lag..HISTORY - lag];
            let (mut cross, mut energy) = (0.0f64, 0.0f64);
            for (a, b) in recent.iter().zip(past) {
                cross += f64::from(*a) * f64::from(*b);
                energy += f64::from(*b) * f64::from(*b);
            }
            if energy > 0.0 {
                let score = cross / energy.sqrt();
                if score > best.1 {
                    best = (lag, score);
                }
            }
        }
        best.0
    }

    fn remember(&mut self, samples: &[i16]) {
        let keep = samples.len().min(HISTORY);
        self.history.copy_within(keep.., 0);
        self.history[HISTORY - keep..].copy_from_slice(&samples[samples.len() - keep..]);
    }
}
