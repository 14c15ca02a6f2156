//! The target delay: how long to hold frames so that few arrive too late.
//!
//! Each packet's *transit* is its arrival time minus its media time (RTP
//! timestamp over the clock rate), as in RFC 3550 §6.4.1; the unknown clock
//! offset between the ends cancels out because only differences matter.
//! Over a window of recent packets, the fastest transit is the baseline,
//! and the target is the transit quantile that leaves `late_fraction` of
//! packets above it, measured from that baseline. A packet is on time when
//! it arrives before the playout reaches it, that is when its transit is at
//! most baseline + current delay; holding the current delay at or above
//! the target keeps late loss near `late_fraction`.
//!
//! The window is a count of packets, so it forgets a jitter burst after a
//! fixed number of packets and the target comes back down; clock drift
//! moves the baseline within the window and inflates the target by at most
//! the drift over one window (10 ms for 0.1% over 10 s).

/// Microseconds, signed: transits and delays are differences of clocks
/// with unrelated epochs.
pub(super) type Micros = i64;

/// A sliding window of transits and the target delay it implies.
#[derive(Debug)]
pub(super) struct DelayEstimator {
    /// Ring of the most recent transits.
    transits: Vec<Micros>,
    /// Next write position in `transits` once it is full.
    next: usize,
    capacity: usize,
    /// The same transits in order, kept so as each one comes and goes
    /// (two binary searches and a short move), so that the quantile is a
    /// lookup rather than a selection over the window on every packet.
    sorted: Vec<Micros>,
    /// The target used until the window holds `settled` samples: the
    /// initial delay, or the target before a resynchronisation.
    prior: Micros,
    settled: usize,
    late_fraction: f64,
}

impl DelayEstimator {
    pub(super) fn new(capacity: usize, late_fraction: f64, prior: Micros) -> Self {
        let capacity = capacity.max(1);
        DelayEstimator {
            transits: Vec::with_capacity(capacity),
            next: 0,
            capacity,
            sorted: Vec::with_capacity(capacity),
            prior,
            // A tenth of the window (50 packets, one second, by default)
            // before the quantile alone is trusted.
            settled: (capacity / 10).max(1),
            late_fraction: late_fraction.clamp(0.0, 0.5),
        }
    }

    pub(super) fn add(&mut self, transit: Micros) {
        let place = self.sorted.partition_point(|&other| other < transit);
        if self.transits.len() < self.capacity {
            self.transits.push(transit);
            self.sorted.insert(place, transit);
            return;
        }
        let evicted = std::mem::replace(&mut self.transits[self.next], transit);
        self.next = (self.next + 1) % self.capacity;
        // The new transit takes the evicted one's slot, and only the values
        // between the two move: transits a window apart are close, so that
        // is a few rather than half the window twice (a remove, an insert).
        let Ok(slot) = self.sorted.binary_search(&evicted) else {
            // Every transit in the ring is in `sorted`; kept whole anyway.
            self.sorted.insert(place, transit);
            return;
        };
        if place > slot {
            // Everything in slot..place is below the new transit.
            self.sorted[slot..place].rotate_left(1);
            self.sorted[place - 1] = transit;
        } else {
            // Everything in place..slot is at or above it.
            self.sorted[place..=slot].rotate_right(1);
            self.sorted[place] = transit;
        }
    }

    /// Forgets the window (the timing base moved) but keeps `prior` as the
    /// target until the window refills.
    pub(super) fn restart(&mut self, prior: Micros) {
        self.transits.clear();
        self.sorted.clear();
        self.next = 0;
        self.prior = prior;
    }

    /// The fastest transit in the window, if any packet has been seen.
    pub(super) fn baseline(&self) -> Option<Micros> {
        self.compute().map(|(baseline, _)| baseline)
    }

    /// The delay above the baseline that keeps late packets near the
    /// configured fraction; before the window settles, at least the prior.
    pub(super) fn target(&self) -> Option<Micros> {
        let settled = self.transits.len() >= self.settled;
        let prior = self.prior;
        self.compute()
            .map(|(_, raw)| if settled { raw } else { raw.max(prior) })
    }

    /// (baseline, raw target) of the current window: two lookups in the
    /// sorted window.
    fn compute(&self) -> Option<(Micros, Micros)> {
        let count = self.sorted.len();
        // The rank below which all but late_fraction of the window lies.
        let keep = ((1.0 - self.late_fraction) * count as f64).ceil() as usize;
        let rank = keep.clamp(1, count.max(1)) - 1;
        let quantile = self.sorted.get(rank).copied()?;
        let baseline = self.sorted.first().copied().unwrap_or(quantile);
        Some((baseline, quantile - baseline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so a failure repeats.
    fn transits(seed: u64, count: usize, spread: i64) -> Vec<Micros> {
        let mut state = seed.max(1);
        (0..count)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % spread.unsigned_abs()) as i64 - spread / 2
            })
            .collect()
    }

    #[test]
    fn the_sorted_window_is_always_the_last_transits_in_order() {
        // Narrow spreads give many equal transits, wide ones few; small
        // windows wrap many times.
        for (seed, capacity, spread) in [(1, 1, 10), (2, 7, 3), (3, 50, 1000), (4, 500, 40_000)] {
            let mut estimator = DelayEstimator::new(capacity, 0.05, 0);
            let all = transits(seed, capacity * 6 + 3, spread);
            for (count, &transit) in all.iter().enumerate() {
                estimator.add(transit);
                let start = (count + 1).saturating_sub(capacity);
                let mut expected = all[start..=count].to_vec();
                expected.sort_unstable();
                assert_eq!(estimator.sorted, expected, "seed {seed}, after {count}");
            }
        }
    }

    #[test]
    fn the_target_is_the_quantile_above_the_fastest_transit() {
        let mut estimator = DelayEstimator::new(20, 0.1, 0);
        for transit in (0..40).rev() {
            estimator.add(transit * 1000);
        }
        // The window holds 0..20 ms; 18 of 20 (90%) at or below 18 ms.
        assert_eq!(estimator.baseline(), Some(0));
        assert_eq!(estimator.target(), Some(17_000));
    }
}
