//! The adaptive jitter buffer: RTP packets in at network times, one
//! decision out per 20 ms playout tick.
//!
//! [`JitterBuffer::push`] takes a packet with the time it arrived;
//! [`JitterBuffer::pop`] is called once per tick and says what the decoder
//! plays ([`Playout`]): a frame, the in-band FEC of the next packet in
//! place of a lost one, concealment, or silence. The buffer decides; the
//! codec executes. It is sans-IO: time is an argument and nothing here
//! reads a clock.
//!
//! How it plays (RFC 3550 §6.4.1 for transit and jitter; the rest is ours):
//! - Packets are held by extended sequence number (RFC 3550 §A.1), so
//!   reordering, duplicates and wrap-around of the 16-bit sequence and
//!   32-bit timestamp are handled in one place. A frame is played in
//!   sequence order; a timestamp step larger than one frame between
//!   consecutive sequence numbers is a pause by the sender (DTX or a talk
//!   spurt boundary), played as silence that can be shortened or
//!   lengthened freely.
//! - The target delay comes from the transit distribution of recent packets
//!   (`jitter/delay.rs`): the least delay that keeps late packets near 1%,
//!   between `min_delay` and `max_delay`.
//! - Growing is fast: when the next frame is missing and the playout is
//!   ahead of the target, the buffer waits (one concealed tick at a time)
//!   instead of declaring the frame lost. Shrinking is slow: at most one
//!   frame dropped per `shrink_interval`, and pauses are shortened at the
//!   start of the next talk spurt. Clock drift between the ends shows up as
//!   the same slow growth or shrinkage and is absorbed by the same two
//!   moves.
//! - A frame that is due and missing is lost: `Fec` if the next packet is
//!   held and the codec has in-band FEC, else `Conceal`. When nothing has
//!   arrived for `idle_after`, the stream is idle and plays silence; the
//!   next packets resynchronise it, skipping audio that has become too old
//!   to play and re-basing the timing if the sender's clock jumped.
//! - A new SSRC is a new stream: everything but the target delay is reset.
//!
//! Invariants: one [`Playout`] per `pop`; frames come out in sequence order
//! and each at most once; at most 64 packets (1.28 s) are held; no
//! allocation once payload buffers have grown to the packet size.

mod delay;
mod slots;
mod types;

use std::time::Duration;

use self::delay::{DelayEstimator, Micros};
use self::slots::{CAPACITY, Extender, Slots};
pub use self::types::{Arrival, JitterConfig, JitterStats, MediaPacket, Playout};
use crate::proto::Time;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Playing silence and waiting for packets; the next one starts a talk
    /// spurt at the target delay.
    Idle,
    Playing,
}

/// What `pop` decided, before the payload is borrowed.
enum Decision {
    Frame(i64),
    Fec(i64),
    Conceal,
    Silence,
}

/// Consecutive packets with transits far outside the window before the
/// timing is re-based (a sender's clock jump while playing).
const REBASE_AFTER: u32 = 3;

/// An adaptive jitter buffer for one RTP stream.
#[derive(Debug)]
pub struct JitterBuffer {
    config: JitterConfig,
    /// Timestamp units per 20 ms frame.
    frame: i64,
    ssrc: Option<u32>,
    sequences: Extender,
    timestamps: Extender,
    slots: Slots,
    delay: DelayEstimator,
    state: State,
    /// The extended sequence number to play next.
    next_sequence: i64,
    /// The extended timestamp of the playout position (the frame last
    /// played, or the silence standing in for one).
    playout_timestamp: i64,
    /// The last frame played from a packet, to rewind to when going idle.
    last_played: Option<(i64, i64)>,
    /// Received sequence numbers: bit i is `highest - i`.
    received: u128,
    probation: Option<i64>,
    out_of_range: u32,
    /// Ticks in a row that had no packet to play.
    starved: u32,
    /// Waiting out a sender's pause: the next frame starts a talk spurt.
    paused: bool,
    /// The target when the stream went idle, which a burst of stale
    /// packets on resumption must not inflate.
    idle_target: Option<Micros>,
    /// The earliest time (µs) the next frame may be dropped.
    next_drop: Micros,
    /// Whether the last tick produced audio (frame or concealment).
    audible: bool,
    /// RFC 3550 §6.4.1 jitter estimate (timestamp units, scaled by 16).
    jitter: i64,
    last_transit: Option<i64>,
    stats: JitterStats,
}

impl JitterBuffer {
    pub fn new(config: JitterConfig) -> Self {
        let clock_rate = config.clock_rate.max(50);
        let frame = i64::from(clock_rate / 50);
        let delay = DelayEstimator::new(
            config.window,
            config.late_fraction,
            micros(config.initial_delay),
        );
        JitterBuffer {
            config: JitterConfig {
                clock_rate,
                ..config
            },
            frame,
            ssrc: None,
            sequences: Extender::new(),
            timestamps: Extender::new(),
            slots: Slots::new(),
            delay,
            state: State::Idle,
            next_sequence: 0,
            playout_timestamp: 0,
            last_played: None,
            received: 0,
            probation: None,
            out_of_range: 0,
            starved: 0,
            paused: false,
            idle_target: None,
            next_drop: Micros::MIN,
            audible: false,
            jitter: 0,
            last_transit: None,
            stats: JitterStats::default(),
        }
    }

    /// The counters and delays as of the last `pop`.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Takes a packet that arrived at `now`.
    pub fn push(&mut self, now: Time, packet: MediaPacket<'_>) -> Arrival {
        let mut arrival = Arrival::Buffered;
        if self.ssrc != Some(packet.ssrc) {
            if self.ssrc.is_some() {
                self.reset_stream();
                arrival = Arrival::NewStream;
            }
            self.ssrc = Some(packet.ssrc);
        }
        self.stats.received += 1;

        let mut sequence = self.sequences.sequence(packet.sequence);
        if let Some(highest) = self.sequences.highest() {
            // RFC 3550 §A.1: a big jump is believed only when the packet
            // after it follows on; then it is a new stream in all but SSRC.
            let jump = sequence - highest;
            if !(-(CAPACITY as i64)..=CAPACITY as i64 / 2).contains(&jump) {
                if self.probation == Some(sequence - 1) {
                    self.reset_stream();
                    sequence = self.sequences.sequence(packet.sequence);
                } else {
                    self.probation = Some(sequence);
                    return Arrival::Probation;
                }
            }
        }
        self.probation = None;
        let timestamp = self.timestamps.timestamp(packet.timestamp);

        if self.was_received(sequence) {
            self.stats.duplicates += 1;
            return Arrival::Duplicate;
        }
        self.mark_received(sequence);
        self.sequences.accept(sequence);
        self.timestamps.accept(timestamp);

        let transit = micros(now.since_epoch()) - self.media_micros(timestamp);
        self.update_jitter(transit);
        let in_range = self.observe_transit(transit);

        if self.state == State::Idle && self.last_played.is_none() && sequence < self.next_sequence
        {
            // Nothing played yet: an earlier packet simply starts earlier.
            self.next_sequence = sequence;
        }
        if self.ssrc_is_new_and_empty() {
            self.next_sequence = sequence;
        }
        if sequence < self.next_sequence {
            self.stats.late += 1;
            return Arrival::Late;
        }
        if sequence >= self.next_sequence + CAPACITY as i64 {
            // Only reachable while idle after a long silence: jump ahead,
            // older held packets are too old to matter.
            let skipped = self.slots.release_before(sequence);
            self.stats.late += skipped as u64;
            self.next_sequence = sequence;
        }
        if in_range || self.state == State::Idle {
            self.slots
                .insert(sequence, timestamp, transit, packet.payload);
        } else {
            // Far later than anything in the window while playing: it would
            // only be played over max_delay late.
            self.stats.late += 1;
            return Arrival::Late;
        }
        arrival
    }

    /// Decides what to play on the tick at `now`. Call exactly once per
    /// 20 ms tick.
    pub fn pop(&mut self, now: Time) -> Playout<'_> {
        let decision = self.decide(now);
        self.audible = !matches!(decision, Decision::Silence);
        match decision {
            Decision::Frame(sequence) => {
                self.stats.played += 1;
                self.starved = 0;
                Playout::Frame(self.slots.payload(sequence))
            }
            Decision::Fec(sequence) => Playout::Fec(self.slots.payload(sequence)),
            Decision::Conceal => Playout::Conceal,
            Decision::Silence => Playout::Silence,
        }
    }

    fn decide(&mut self, now: Time) -> Decision {
        let (Some(baseline), Some(target)) = (self.delay.baseline(), self.delay.target()) else {
            return Decision::Silence;
        };
        let mut target = self.clamp_target(target);
        let now = micros(now.since_epoch());
        let frame = self.frame;
        let frame_micros = self.media_micros(frame);
        // How long ago the fastest packet would have brought a timestamp.
        let delay_of =
            |buffer: &Self, timestamp: i64| now - buffer.media_micros(timestamp) - baseline;

        if self.state == State::Idle {
            let Some(mut first) = self.slots.earliest(self.next_sequence) else {
                return Decision::Silence;
            };
            // Resynchronise: audio that would already be over a frame past
            // the target is too old to start with.
            if let Some(before) = self.idle_target.take() {
                target = target.min(before);
            }
            let mut skipped = false;
            while let (Some(timestamp), Some(later)) =
                (self.slots.timestamp(first), self.slots.earliest(first + 1))
            {
                if delay_of(self, timestamp) <= target + frame_micros {
                    break;
                }
                self.slots.release(first);
                self.stats.late += 1;
                skipped = true;
                first = later;
            }
            if skipped {
                // The window measured a burst of stale packets as jitter:
                // measure again from what is still held.
                self.delay.restart(target);
                for sequence in first..first + CAPACITY as i64 {
                    if let Some(transit) = self.slots.transit(sequence) {
                        self.delay.add(transit);
                    }
                }
            }
            self.next_sequence = first;
            self.state = State::Playing;
            self.paused = true;
            self.playout_timestamp = self.slots.timestamp(first).unwrap_or(0) - frame;
        }

        self.stats.target_delay = duration(target);
        let sequence = self.next_sequence;
        let nominal = self.playout_timestamp + frame;
        if let Some(timestamp) = self.slots.timestamp(sequence) {
            if self.paused || timestamp > nominal {
                // A talk spurt begins: start it when it has waited the
                // target, whatever that does to the pause before it.
                if delay_of(self, timestamp) >= target {
                    return self.play(sequence, timestamp, delay_of(self, timestamp));
                }
                self.paused = true;
                self.playout_timestamp = nominal.min(timestamp - frame);
                self.stats.current_delay = duration(delay_of(self, self.playout_timestamp));
                return Decision::Silence;
            }
            let excess = delay_of(self, timestamp) - target;
            let next_follows = self.slots.timestamp(sequence + 1) == Some(timestamp + frame);
            if excess >= frame_micros + frame_micros / 4 && self.next_drop <= now && next_follows {
                // Over a frame too much delay: drop this frame.
                self.slots.release(sequence);
                self.stats.dropped += 1;
                self.next_drop = now + micros(self.config.shrink_interval);
                let next = timestamp + frame;
                return self.play(sequence + 1, next, delay_of(self, next));
            }
            return self.play(sequence, timestamp, delay_of(self, timestamp));
        }

        // The frame is not here.
        let lateness = delay_of(self, nominal);
        if lateness < target {
            self.stats.current_delay = duration(lateness);
            // Not due yet by the target: wait for it, which grows the delay.
            self.stats.inserted += u64::from(self.audible);
            return if self.audible {
                Decision::Conceal
            } else {
                Decision::Silence
            };
        }
        let next_held = self.slots.timestamp(sequence + 1);
        if self.config.inband_fec && next_held == Some(nominal + frame) {
            self.advance(sequence, nominal);
            // Rebuilt, so as good as played: never rewind before it.
            self.last_played = Some((sequence, nominal));
            self.stats.current_delay = duration(lateness);
            self.stats.fec_recovered += 1;
            return Decision::Fec(sequence + 1);
        }
        if self.slots.is_empty() {
            self.starved += 1;
            let starved_for = i64::from(self.starved) * frame_micros;
            if starved_for >= micros(self.config.idle_after) || !self.audible {
                self.go_idle();
                return Decision::Silence;
            }
        }
        self.advance(sequence, nominal);
        self.stats.current_delay = duration(lateness);
        self.stats.concealed += 1;
        Decision::Conceal
    }

    fn play(&mut self, sequence: i64, timestamp: i64, delay: Micros) -> Decision {
        self.paused = false;
        self.slots.release(sequence);
        self.advance(sequence, timestamp);
        self.last_played = Some((sequence, timestamp));
        self.stats.current_delay = duration(delay);
        Decision::Frame(sequence)
    }

    fn advance(&mut self, sequence: i64, timestamp: i64) {
        self.next_sequence = sequence + 1;
        self.playout_timestamp = timestamp;
    }

    /// Nothing has come for a while: the sender has probably paused rather
    /// than lost everything, so rewind to just after the last real frame
    /// and wait for whatever comes next.
    fn go_idle(&mut self) {
        self.state = State::Idle;
        self.idle_target = self.delay.target().map(|target| self.clamp_target(target));
        self.starved = 0;
        if let Some((sequence, timestamp)) = self.last_played {
            self.next_sequence = sequence + 1;
            self.playout_timestamp = timestamp;
        }
    }

    /// Feeds the delay estimator; returns whether the transit is within
    /// `max_delay` of the window, re-basing the window when the sender's
    /// timing has evidently jumped.
    fn observe_transit(&mut self, transit: Micros) -> bool {
        let max = micros(self.config.max_delay);
        let Some(baseline) = self.delay.baseline() else {
            self.delay.add(transit);
            return true;
        };
        let early = transit < baseline - max;
        let slow = transit > baseline + max;
        if !early && !slow {
            self.out_of_range = 0;
            self.delay.add(transit);
            return true;
        }
        self.out_of_range += 1;
        if early || self.state == State::Idle || self.out_of_range >= REBASE_AFTER {
            // The timestamps jumped against arrival times (a sender's clock
            // change, or a sender that paused its clock): measure afresh,
            // keeping the target learnt so far.
            let prior = self
                .delay
                .target()
                .unwrap_or(micros(self.config.initial_delay));
            self.delay.restart(prior);
            self.delay.add(transit);
            self.out_of_range = 0;
            self.stats.resyncs += 1;
            if self.state == State::Playing {
                self.go_idle();
            }
            return true;
        }
        false
    }

    /// RFC 3550 §6.4.1: J += (|D| - J) / 16, with D in timestamp units.
    fn update_jitter(&mut self, transit: Micros) {
        let rate = i64::from(self.config.clock_rate);
        if let Some(last) = self.last_transit {
            let difference = ((transit - last).abs() * rate) / 1_000_000;
            self.jitter += difference - ((self.jitter + 8) >> 4);
        }
        self.last_transit = Some(transit);
        self.stats.interarrival_jitter = u32::try_from(self.jitter >> 4).unwrap_or(u32::MAX);
    }

    fn was_received(&self, sequence: i64) -> bool {
        match self.sequences.highest() {
            Some(highest) if sequence <= highest => {
                let back = highest - sequence;
                back < 128 && self.received & (1u128 << back) != 0
            }
            _ => false,
        }
    }

    fn mark_received(&mut self, sequence: i64) {
        match self.sequences.highest() {
            Some(highest) if sequence > highest => {
                let shift = sequence - highest;
                self.received = if shift >= 128 {
                    0
                } else {
                    self.received << shift
                };
                self.received |= 1;
            }
            Some(highest) => {
                let back = highest - sequence;
                if back < 128 {
                    self.received |= 1u128 << back;
                }
            }
            None => self.received = 1,
        }
    }

    fn ssrc_is_new_and_empty(&self) -> bool {
        self.last_played.is_none() && self.slots.is_empty() && self.state == State::Idle
    }

    /// A new stream (new SSRC, or a confirmed sequence jump): forget it
    /// all but the target delay learnt so far.
    fn reset_stream(&mut self) {
        let prior = self
            .delay
            .target()
            .unwrap_or(micros(self.config.initial_delay));
        self.delay.restart(prior);
        self.slots.clear();
        self.sequences = Extender::new();
        self.timestamps = Extender::new();
        self.received = 0;
        self.probation = None;
        self.out_of_range = 0;
        self.starved = 0;
        self.paused = false;
        self.idle_target = None;
        self.last_played = None;
        self.last_transit = None;
        self.state = State::Idle;
        self.stats.resyncs += 1;
    }

    fn clamp_target(&self, target: Micros) -> Micros {
        target.clamp(micros(self.config.min_delay), micros(self.config.max_delay))
    }

    /// A timestamp in microseconds of media time.
    fn media_micros(&self, timestamp: i64) -> Micros {
        timestamp * 1_000_000 / i64::from(self.config.clock_rate)
    }
}

fn micros(duration: Duration) -> Micros {
    Micros::try_from(duration.as_micros()).unwrap_or(Micros::MAX)
}

fn duration(micros: Micros) -> Duration {
    Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

#[cfg(test)]
mod tests;
