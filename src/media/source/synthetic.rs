//! Synthetic signals for loads and measurements: a speech-like voice and a
//! quiet room's noise floor. Deterministic, so a benchmark's input is the
//! same on every run. The conference mixer's bench and the conference load
//! generator (`confab-rtpload`) both talk with them, so that their figures
//! are of the same input.

use std::f64::consts::TAU;

use crate::media::{Frame, SAMPLE_RATE, SILENCE};

/// A speech-like voice: 12 harmonics of a pitch gliding around `pitch` Hz
/// under a syllable envelope that never quite closes, `frames` frames of it.
pub fn speech_like(pitch: f64, frames: usize) -> Vec<Frame> {
    let rate = f64::from(SAMPLE_RATE);
    let mut out = vec![SILENCE; frames];
    let mut phase = 0.0f64;
    for (n, sample) in out.iter_mut().flatten().enumerate() {
        let t = n as f64 / rate;
        phase += TAU * pitch * (1.0 + 0.3 * (TAU * 1.3 * t).sin()) / rate;
        let envelope = 0.55 + 0.45 * (TAU * 3.7 * t).sin();
        let sum: f64 = (1..=12)
            .map(|h| (phase * f64::from(h)).sin() / f64::from(h))
            .sum();
        *sample = (3000.0 * envelope * sum).round() as i16;
    }
    out
}

/// A faint white noise floor, about -60 dBov, as a real microphone in a
/// quiet room gives rather than digital silence (xorshift64, seeded).
pub fn noise_floor(seed: u64, frames: usize) -> Vec<Frame> {
    let mut state = seed | 1;
    let mut out = vec![SILENCE; frames];
    for sample in out.iter_mut().flatten() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *sample = ((state >> 59) as i16 - 16) * 3;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rms(frames: &[Frame]) -> f64 {
        let samples: Vec<f64> = frames.iter().flatten().map(|&s| f64::from(s)).collect();
        (samples.iter().map(|s| s * s).sum::<f64>() / samples.len() as f64).sqrt()
    }

    #[test]
    fn the_voice_is_loud_and_the_floor_is_faint_and_both_repeat() {
        let voice = speech_like(120.0, 50);
        let floor = noise_floor(7, 50);
        // -60 dBov is an RMS of about 33 in 16 bits; a voice is hundreds.
        assert!(rms(&voice) > 1000.0, "{}", rms(&voice));
        assert!((10.0..60.0).contains(&rms(&floor)), "{}", rms(&floor));
        assert_eq!(voice, speech_like(120.0, 50));
        assert_eq!(floor, noise_floor(7, 50));
        assert_ne!(floor, noise_floor(8, 50));
    }
}
