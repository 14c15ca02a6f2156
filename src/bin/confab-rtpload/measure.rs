//! The generator's arithmetic, with no sockets and no clock: which frames
//! of a participant's mix came late, where an impulse begins in decoded
//! audio, and which impulse sent an onset heard. Times are microseconds
//! since the run's epoch.
//!
//! A late frame (the same rule for every bridge): the frames a mix carries
//! are due every 20 ms by its RTP timestamps, on the schedule of its
//! earliest packet in the window (the phase at which the stream, at its
//! best, arrives). A frame is on time if a packet carrying it arrives at
//! most `late_after` behind its due time; every other frame the window
//! should have held is late, whether it came later or never.

use std::collections::HashMap;

/// A 20 ms frame in microseconds.
pub const FRAME_US: i64 = 20_000;
/// A 20 ms frame on the 48 kHz RTP clock of Opus (RFC 7587 §4.1).
pub const FRAME_TICKS: i64 = 960;

/// One packet of a participant's mix: when it arrived and its RTP
/// timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    pub at_us: i64,
    pub timestamp: u32,
}

/// How one stream fared over a window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lateness {
    /// The frames the window should hold.
    pub expected: u64,
    /// Distinct frames that arrived on time (at most `expected`).
    pub on_time: u64,
    /// `expected - on_time`: late or never arrived.
    pub late: u64,
    /// The most any packet arrived behind its due time.
    pub worst_us: i64,
}

/// The frames of one stream late over a window that should hold
/// `expected` frames; `arrivals` in the order they came.
pub fn lateness(arrivals: &[Arrival], expected: u64, late_after_us: i64) -> Lateness {
    let Some(first) = arrivals.first() else {
        return Lateness {
            expected,
            late: expected,
            ..Lateness::default()
        };
    };
    // The frame each packet carries, counted from the first one's: the
    // signed difference survives the 32-bit timestamp's wrap-around and
    // reordering alike.
    let slot = |arrival: &Arrival| {
        let ticks = i64::from(arrival.timestamp.wrapping_sub(first.timestamp) as i32);
        (ticks + FRAME_TICKS / 2).div_euclid(FRAME_TICKS)
    };
    let anchor = arrivals
        .iter()
        .map(|arrival| arrival.at_us - slot(arrival) * FRAME_US)
        .min()
        .unwrap_or(first.at_us);
    // A frame sent twice counts once, by its earliest copy.
    let mut best: HashMap<i64, i64> = HashMap::with_capacity(arrivals.len());
    for arrival in arrivals {
        let frame = slot(arrival);
        let behind = arrival.at_us - anchor - frame * FRAME_US;
        best.entry(frame)
            .and_modify(|earliest| *earliest = (*earliest).min(behind))
            .or_insert(behind);
    }
    let worst_us = best.values().copied().max().unwrap_or(0);
    let on_time = (best
        .values()
        .filter(|&&behind| behind <= late_after_us)
        .count() as u64)
        .min(expected);
    Lateness {
        expected,
        on_time,
        late: expected - on_time,
        worst_us,
    }
}

/// Finds where an impulse begins in decoded audio: the first sample at or
/// above `threshold` (in magnitude) after at least `quiet_samples` below
/// it. Fed one frame at a time, in order.
#[derive(Clone, Debug)]
pub struct OnsetDetector {
    threshold: i32,
    quiet_samples: usize,
    quiet_run: usize,
}

impl OnsetDetector {
    pub fn new(threshold: i16, quiet_samples: usize) -> Self {
        OnsetDetector {
            threshold: i32::from(threshold),
            quiet_samples,
            quiet_run: 0,
        }
    }

    /// The offset in `frame` of the onset it holds, if it holds one.
    pub fn push(&mut self, frame: &[i16]) -> Option<usize> {
        let mut onset = None;
        for (offset, &sample) in frame.iter().enumerate() {
            if i32::from(sample).abs() >= self.threshold {
                if onset.is_none() && self.quiet_run >= self.quiet_samples {
                    onset = Some(offset);
                }
                self.quiet_run = 0;
            } else {
                self.quiet_run = self.quiet_run.saturating_add(1);
            }
        }
        onset
    }
}

/// The delay of each impulse heard: every onset is matched to the latest
/// impulse sent at or before it, each impulse at most once (its first
/// onset), and only within `max_delay_us`. Both lists in time order.
pub fn match_onsets(impulses: &[i64], onsets: &[i64], max_delay_us: i64) -> Vec<i64> {
    let mut delays = Vec::new();
    let mut used = None;
    for &onset in onsets {
        let sent = impulses.partition_point(|&impulse| impulse <= onset);
        let Some(index) = sent.checked_sub(1) else {
            continue;
        };
        if used == Some(index) {
            continue;
        }
        let Some(&impulse) = impulses.get(index) else {
            continue;
        };
        let delay = onset - impulse;
        if delay <= max_delay_us {
            delays.push(delay);
            used = Some(index);
        }
    }
    delays
}

/// The `q` quantile (0 to 1) of `values`, by linear interpolation between
/// the nearest ranks; `None` for no values.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let last = sorted.len().checked_sub(1)?;
    let position = q.clamp(0.0, 1.0) * last as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(last);
    let low = *sorted.get(below)?;
    let high = *sorted.get(above)?;
    Some(low + (high - low) * (position - below as f64))
}

#[cfg(test)]
mod tests;
