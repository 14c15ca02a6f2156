//! Extended sequence numbers and timestamps for one source (RFC 3550
//! Appendix A.1).
//!
//! The 16-bit sequence number wraps every 22 minutes at 50 packets a
//! second; [`SequenceTracker`] counts the wraps into a 64-bit extended
//! number, puts a new source on probation until [`MIN_SEQUENTIAL`] packets
//! in a row have been seen, treats a jump of more than [`MAX_DROPOUT`] as
//! bad until the next packet confirms it (the sender restarted), and
//! recognises duplicates of the last 128 packets. It also keeps the
//! received and expected counts A.3 turns into loss.

/// A.1: packets in sequence before a new source is believed.
pub const MIN_SEQUENTIAL: u8 = 2;
/// A.1: the largest gap ahead still taken as loss rather than a restart.
pub const MAX_DROPOUT: u16 = 3000;
/// A.1: how far behind a packet may arrive and still be taken as late.
pub const MAX_MISORDER: u16 = 100;

const SEQ_MOD: u64 = 1 << 16;
/// Duplicates are recognised this far back (more than [`MAX_MISORDER`]).
const WINDOW: u64 = 128;

/// What one packet's sequence number means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceUpdate {
    /// A packet not seen before, in order or late: use it.
    Valid { extended: u64 },
    /// The sender's numbering restarted (a jump, confirmed by the packet
    /// after it): the counts were reset and extended numbers start again
    /// from this packet. Whatever orders packets must start again too.
    Restarted { extended: u64 },
    /// A packet seen before: drop it.
    Duplicate { extended: u64 },
    /// The source is new and not yet believed (A.1 probation): drop it.
    Probation,
    /// A jump too far ahead or behind: dropped, unless the next packet
    /// follows on from it.
    Jump,
    /// Late from before the first packet counted: nothing to place it by.
    TooOld,
}

/// A.1's per-source sequence state, with 64-bit cycles.
#[derive(Clone, Debug, Default)]
pub struct SequenceTracker {
    state: Option<State>,
}

#[derive(Clone, Debug)]
struct State {
    max_seq: u16,
    /// Wraps seen, times 2^16.
    cycles: u64,
    /// The extended number of the first packet counted.
    base: u64,
    /// After a jump, the sequence number that would confirm it.
    bad_seq: Option<u16>,
    probation: u8,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Bit i set: extended number `cycles + max_seq - i` has been seen.
    seen: u128,
}

impl SequenceTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one packet's sequence number (A.1 `update_seq`).
    pub fn update(&mut self, seq: u16) -> SequenceUpdate {
        let state = self.state.get_or_insert_with(|| State {
            // A.1: a new source starts on probation, expecting `seq`.
            max_seq: seq.wrapping_sub(1),
            cycles: 0,
            base: 0,
            bad_seq: None,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            seen: 0,
        });
        state.update(seq)
    }

    /// True once a packet has been counted.
    pub fn is_valid(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.probation == 0)
    }

    /// The highest extended sequence number counted.
    pub fn extended_max(&self) -> Option<u64> {
        self.counted().map(State::extended_max)
    }

    /// Packets counted (duplicates are not).
    pub fn received(&self) -> u64 {
        self.counted().map_or(0, |s| s.received)
    }

    /// A.3: packets expected from the first to the highest counted.
    pub fn expected(&self) -> u64 {
        self.counted().map_or(0, State::expected)
    }

    /// A.3: expected minus received; negative when late duplicates of
    /// packets from before the first made it in.
    pub fn cumulative_lost(&self) -> i64 {
        self.counted().map_or(0, |s| {
            i64::try_from(s.expected())
                .unwrap_or(i64::MAX)
                .saturating_sub(i64::try_from(s.received).unwrap_or(i64::MAX))
        })
    }

    /// A.3: the fraction of packets lost since the last call, in 1/256,
    /// as the report block's 8-bit field; 0 when none or more came.
    pub fn fraction_lost_since_last(&mut self) -> u8 {
        let Some(state) = self.state.as_mut().filter(|s| s.probation == 0) else {
            return 0;
        };
        let expected = state.expected();
        let expected_interval = expected.saturating_sub(state.expected_prior);
        let received_interval = state.received.saturating_sub(state.received_prior);
        state.expected_prior = expected;
        state.received_prior = state.received;
        let lost_interval = expected_interval.saturating_sub(received_interval);
        if expected_interval == 0 || lost_interval == 0 {
            return 0;
        }
        // lost < expected, so the quotient is below 256.
        u8::try_from((lost_interval << 8) / expected_interval).unwrap_or(u8::MAX)
    }

    fn counted(&self) -> Option<&State> {
        self.state.as_ref().filter(|s| s.probation == 0)
    }
}

impl State {
    fn extended_max(&self) -> u64 {
        self.cycles + u64::from(self.max_seq)
    }

    fn expected(&self) -> u64 {
        (self.extended_max() + 1).saturating_sub(self.base)
    }

    /// A.1 `init_seq`: counting starts (again) at `seq`.
    fn restart(&mut self, seq: u16) {
        self.max_seq = seq;
        self.cycles = 0;
        self.base = u64::from(seq);
        self.bad_seq = None;
        self.received = 1;
        self.expected_prior = 0;
        self.received_prior = 0;
        self.seen = 1;
    }

    fn update(&mut self, seq: u16) -> SequenceUpdate {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if udelta == 1 {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.restart(seq);
                    return SequenceUpdate::Valid {
                        extended: u64::from(seq),
                    };
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return SequenceUpdate::Probation;
        }

        if udelta < MAX_DROPOUT {
            // In order, perhaps with a gap: slide the window forward.
            if seq < self.max_seq {
                self.cycles += SEQ_MOD;
            }
            self.max_seq = seq;
            let extended = self.extended_max();
            if udelta == 0 {
                return SequenceUpdate::Duplicate { extended };
            }
            self.seen = if u64::from(udelta) >= WINDOW {
                1
            } else {
                (self.seen << udelta) | 1
            };
            self.bad_seq = None;
            self.received += 1;
            SequenceUpdate::Valid { extended }
        } else if u64::from(udelta) <= SEQ_MOD - u64::from(MAX_MISORDER) {
            // A.1: a big jump. Two in a row mean the sender restarted.
            if self.bad_seq == Some(seq) {
                self.restart(seq);
                SequenceUpdate::Restarted {
                    extended: u64::from(seq),
                }
            } else {
                self.bad_seq = Some(seq.wrapping_add(1));
                SequenceUpdate::Jump
            }
        } else {
            // Behind the highest by at most MAX_MISORDER: late or a copy.
            let behind = u64::from(self.max_seq.wrapping_sub(seq));
            let Some(extended) = self
                .extended_max()
                .checked_sub(behind)
                .filter(|&e| e >= self.base)
            else {
                return SequenceUpdate::TooOld;
            };
            let bit = 1u128 << behind;
            if self.seen & bit != 0 {
                return SequenceUpdate::Duplicate { extended };
            }
            self.seen |= bit;
            self.received += 1;
            SequenceUpdate::Valid { extended }
        }
    }
}

/// Extends 32-bit RTP timestamps into a signed 64-bit count that keeps
/// going across wrap-around (every 24.8 hours at 48 kHz): each timestamp
/// is placed within 2^31 of the highest seen so far.
#[derive(Clone, Debug, Default)]
pub struct TimestampExtender {
    highest: Option<i64>,
}

impl TimestampExtender {
    pub fn new() -> Self {
        Self::default()
    }

    /// The extended value of `timestamp`; the first one is itself, one a
    /// little before it is negative.
    pub fn extend(&mut self, timestamp: u32) -> i64 {
        let Some(highest) = self.highest else {
            self.highest = Some(i64::from(timestamp));
            return i64::from(timestamp);
        };
        // The low 32 bits of `highest`: truncation is the point.
        let delta = timestamp.wrapping_sub(highest as u32) as i32;
        let extended = highest.saturating_add(i64::from(delta));
        if extended > highest {
            self.highest = Some(extended);
        }
        extended
    }

    /// Forgets the source, for a new SSRC.
    pub fn reset(&mut self) {
        self.highest = None;
    }
}
