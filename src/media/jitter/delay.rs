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
    /// (a binary search and a short move), so that the quantile is a
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
        if self.transits.len() < self.capacity {
            self.transits.push(transit);
        } else {
            let evicted = std::mem::replace(&mut self.transits[self.next], transit);
            self.next = (self.next + 1) % self.capacity;
            if let Ok(index) = self.sorted.binary_search(&evicted) {
                self.sorted.remove(index);
            }
        }
        let index = self.sorted.partition_point(|&other| other < transit);
        self.sorted.insert(index, transit);
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
