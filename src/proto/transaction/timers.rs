//! Timer values and timer bookkeeping for the transaction layer.
//!
//! RFC 3261 §17 and its Table 4 name the timers; RFC 6026 adds L and M. Each
//! transaction records, per timer, the deadline it currently has armed
//! ([`Deadlines`]); one queue ([`TimerQueue`]) holds every deadline of
//! every transaction. Disarming a timer only clears the transaction's record,
//! so the queue may hold stale entries: an entry counts only if its
//! transaction still exists and still records exactly that deadline for that
//! timer (lazy deletion).
//!
//! Timers D, I, J and K only end a transaction that is done, absorbing
//! retransmissions until then ([`Timer::only_ends`]); they have lanes of
//! their own, so that [`TimerQueue::peek_urgent`] can tell a user agent
//! it may sleep through them (they fire, late, at its next wake-up).
//!
//! The queue is a FIFO per delay rather than one heap: the RFC's timers use
//! a handful of delays (T1 doubling to T2, T4, 64*T1, ...), and deadlines
//! armed with one delay from a clock that does not go back come in time
//! order, so each FIFO is sorted as it is filled and the earliest deadline
//! is at one of the few fronts. Arming and firing are O(1) however many
//! transactions a registrar holds, without a heap's comparisons and moves
//! over tens of thousands of entries.

use std::collections::VecDeque;
use std::time::Duration;

use super::{TransactionEvent, TransactionKey};
use crate::proto::{Peer, Time, Transmit};

/// The RFC 3261 §17 timer base values, and the timers the RFC leaves to
/// configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerConfig {
    /// T1, the round-trip estimate: 500 ms by default (§17.1.1.1).
    pub t1: Duration,
    /// T2, the cap on non-INVITE and response retransmission intervals: 4 s.
    pub t2: Duration,
    /// T4, the longest a message stays in the network: 5 s.
    pub t4: Duration,
    /// Timer D, how long an INVITE client transaction absorbs retransmitted
    /// non-2xx finals over unreliable transports: at least 32 s (Table 4).
    pub timer_d: Duration,
    /// Timer C, for proxies (§16.6 step 11, §16.8): when set, an INVITE client
    /// transaction that sees no new provisional response for this long
    /// cancels its request (or times out if nothing came back at all). RFC
    /// 3261 asks for more than 3 minutes. `None` (the default) leaves it off,
    /// which is right for user agents.
    pub timer_c: Option<Duration>,
    /// How long an INVITE server transaction waits for the TU's first
    /// response before sending 100 Trying itself: 200 ms (§17.2.1).
    pub trying_delay: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
            timer_c: None,
            trying_delay: Duration::from_millis(200),
        }
    }
}

impl TimerConfig {
    /// 64*T1: Timers B, F, H, J, L and M, and the wait for a final response
    /// after a CANCEL (§9.1).
    pub fn transaction_timeout(&self) -> Duration {
        self.t1.saturating_mul(64)
    }
}

/// Every timer a transaction may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Timer {
    /// INVITE request retransmission (§17.1.1.2).
    A,
    /// INVITE transaction timeout in Calling.
    B,
    /// Proxy INVITE timeout (§16.6).
    C,
    /// Wait time for response retransmissions in INVITE Completed.
    D,
    /// Non-INVITE request retransmission (§17.1.2.2).
    E,
    /// Non-INVITE transaction timeout.
    F,
    /// INVITE final response retransmission (§17.2.1).
    G,
    /// Wait time for ACK receipt.
    H,
    /// Wait time for ACK retransmissions in Confirmed.
    I,
    /// Wait time for non-INVITE request retransmissions (§17.2.2).
    J,
    /// Wait time for non-INVITE response retransmissions.
    K,
    /// RFC 6026: INVITE server transaction in Accepted.
    L,
    /// RFC 6026: INVITE client transaction in Accepted.
    M,
    /// §17.2.1: send 100 Trying if the TU has not answered within 200 ms.
    Trying,
    /// §9.1: give up on a cancelled INVITE with no final response in 64*T1.
    CancelGrace,
    /// §13.3.1.4: the UAS retransmits its 2xx until the ACK arrives.
    Retransmit2xx,
}

impl Timer {
    const COUNT: usize = 16;

    /// Whether the timer's firing only ends a transaction that is done:
    /// late, it absorbs retransmissions a little longer and nothing else.
    pub(super) fn only_ends(self) -> bool {
        matches!(self, Timer::D | Timer::I | Timer::J | Timer::K)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The deadline a transaction has armed for each of its timers.
#[derive(Clone, Debug, Default)]
pub(super) struct Deadlines([Option<Time>; Timer::COUNT]);

impl Deadlines {
    pub(super) fn get(&self, timer: Timer) -> Option<Time> {
        self.0[timer.index()]
    }

    pub(super) fn disarm(&mut self, timer: Timer) {
        self.0[timer.index()] = None;
    }
}

/// All deadlines of all transactions, earliest first, with lazy deletion:
/// one FIFO per delay (see the module documentation).
#[derive(Debug, Default)]
pub(super) struct TimerQueue {
    lanes: Vec<Lane>,
    next_seq: u64,
}

/// The deadlines armed with one delay, ordered by (at, seq), of timers
/// that only end transactions or of the others.
#[derive(Debug)]
struct Lane {
    delay: Duration,
    only_ends: bool,
    entries: VecDeque<Entry>,
}

#[derive(Debug)]
struct Entry {
    at: Time,
    /// Insertion order, so that timers due at the same time fire in the
    /// order they were armed.
    seq: u64,
    key: TransactionKey,
    timer: Timer,
}

impl Entry {
    fn order(&self) -> (Time, u64) {
        (self.at, self.seq)
    }
}

impl TimerQueue {
    fn push(&mut self, delay: Duration, at: Time, key: TransactionKey, timer: Timer) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let entry = Entry {
            at,
            seq,
            key,
            timer,
        };
        let only_ends = timer.only_ends();
        let lane = match self
            .lanes
            .iter()
            .position(|lane| lane.delay == delay && lane.only_ends == only_ends)
        {
            Some(index) => &mut self.lanes[index],
            None => {
                self.lanes.push(Lane {
                    delay,
                    only_ends,
                    entries: VecDeque::new(),
                });
                let last = self.lanes.len() - 1;
                &mut self.lanes[last]
            }
        };
        match lane.entries.back() {
            Some(back) if back.order() > entry.order() => {
                // Only if the clock went back: keep the lane sorted.
                let index = lane.entries.partition_point(|e| e.order() <= entry.order());
                lane.entries.insert(index, entry);
            }
            _ => lane.entries.push_back(entry),
        }
    }

    /// The lane whose front is the earliest deadline.
    fn earliest_lane(&self) -> Option<usize> {
        self.lanes
            .iter()
            .enumerate()
            .filter_map(|(index, lane)| lane.entries.front().map(|e| (e.order(), index)))
            .min()
            .map(|(_, index)| index)
    }

    fn earliest(&self) -> Option<&Entry> {
        let index = self.earliest_lane()?;
        self.lanes.get(index)?.entries.front()
    }

    /// The earliest deadline in the queue, stale or not.
    pub(super) fn peek(&self) -> Option<Time> {
        self.earliest().map(|entry| entry.at)
    }

    /// The earliest deadline of a timer that does more than end a
    /// transaction (see [`Timer::only_ends`]); live once pruned.
    pub(super) fn peek_urgent(&self) -> Option<Time> {
        self.lanes
            .iter()
            .filter(|lane| !lane.only_ends)
            .filter_map(|lane| lane.entries.front().map(|entry| entry.at))
            .min()
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    pub(super) fn pop_due(&mut self, now: Time) -> Option<(Time, TransactionKey, Timer)> {
        let index = self.earliest_lane()?;
        let entries = &mut self.lanes.get_mut(index)?.entries;
        if entries.front()?.at > now {
            return None;
        }
        entries
            .pop_front()
            .map(|entry| (entry.at, entry.key, entry.timer))
    }

    /// Drops stale entries from the front of every lane, so that
    /// [`Self::peek`] and [`Self::peek_urgent`] answer live deadlines.
    /// `is_live(key, timer, at)` says whether the transaction still has
    /// that deadline armed.
    pub(super) fn prune(&mut self, mut is_live: impl FnMut(&TransactionKey, Timer, Time) -> bool) {
        for lane in &mut self.lanes {
            while let Some(entry) = lane.entries.front() {
                if is_live(&entry.key, entry.timer, entry.at) {
                    break;
                }
                lane.entries.pop_front();
            }
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lanes.iter().map(|lane| lane.entries.len()).sum()
    }
}

/// What a transaction may touch while it handles an input: the clock, the
/// configuration, and the layer's outputs.
pub(super) struct Context<'a> {
    pub(super) now: Time,
    pub(super) config: &'a TimerConfig,
    pub(super) transmits: &'a mut VecDeque<Transmit>,
    pub(super) events: &'a mut VecDeque<TransactionEvent>,
    pub(super) queue: &'a mut TimerQueue,
}

impl Context<'_> {
    /// Arms (or re-arms) `timer` to fire `after` from now.
    pub(super) fn arm(
        &mut self,
        deadlines: &mut Deadlines,
        key: &TransactionKey,
        timer: Timer,
        after: Duration,
    ) {
        let at = self.now + after;
        deadlines.0[timer.index()] = Some(at);
        self.queue.push(after, at, key.clone(), timer);
    }

    pub(super) fn send(&mut self, destination: Peer, payload: Vec<u8>) {
        self.transmits.push_back(Transmit {
            destination,
            payload,
        });
    }

    pub(super) fn emit(&mut self, event: TransactionEvent) {
        self.events.push_back(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(branch: &str) -> TransactionKey {
        TransactionKey::client(branch, rsip::Method::Options)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Everything popped by `until`, as (ms, branch).
    fn drain(queue: &mut TimerQueue, until: u64) -> Vec<(u64, String)> {
        let mut fired = Vec::new();
        while let Some((at, key, _)) = queue.pop_due(Time::ZERO + ms(until)) {
            let at = u64::try_from((at - Time::ZERO).as_millis()).unwrap_or(u64::MAX);
            fired.push((at, key.branch().to_owned()));
        }
        fired
    }

    #[test]
    fn deadlines_of_every_delay_fire_in_time_then_arming_order() {
        let mut queue = TimerQueue::default();
        let at = |n| Time::ZERO + ms(n);
        // Armed at 0 with 500 ms, at 100 with 200 ms (due at 300), at 100
        // with 500 ms, at 300 with 0 ms (due at 300, after the first).
        queue.push(ms(500), at(500), key("a"), Timer::E);
        queue.push(ms(200), at(300), key("b"), Timer::Trying);
        queue.push(ms(500), at(600), key("c"), Timer::E);
        queue.push(ms(0), at(300), key("d"), Timer::K);
        assert_eq!(queue.peek(), Some(at(300)));
        assert_eq!(drain(&mut queue, 299), []);
        assert_eq!(
            drain(&mut queue, 1000),
            [
                (300, "b".to_owned()),
                (300, "d".to_owned()),
                (500, "a".to_owned()),
                (600, "c".to_owned())
            ]
        );
        assert_eq!(queue.peek(), None);
    }

    #[test]
    fn a_clock_that_goes_back_still_fires_in_order() {
        let mut queue = TimerQueue::default();
        let at = |n| Time::ZERO + ms(n);
        queue.push(ms(500), at(900), key("late"), Timer::E);
        queue.push(ms(500), at(600), key("early"), Timer::E);
        assert_eq!(
            drain(&mut queue, 1000),
            [(600, "early".to_owned()), (900, "late".to_owned())]
        );
    }

    #[test]
    fn prune_drops_stale_fronts_of_every_lane_and_stops_at_a_live_one() {
        let mut queue = TimerQueue::default();
        let at = |n| Time::ZERO + ms(n);
        queue.push(ms(100), at(100), key("stale"), Timer::E);
        queue.push(ms(200), at(200), key("live"), Timer::F);
        queue.push(ms(100), at(300), key("stale too, behind"), Timer::E);
        queue.push(ms(300), at(300), key("live"), Timer::A);
        queue.push(ms(300), at(400), key("stale, behind a live one"), Timer::A);
        queue.prune(|key, _, _| key.branch() == "live");
        assert_eq!(queue.peek(), Some(at(200)));
        assert_eq!(queue.len(), 3);
    }

    #[test]
    fn timers_that_only_end_a_transaction_are_not_urgent() {
        let mut queue = TimerQueue::default();
        let at = |n| Time::ZERO + ms(n);
        // K and E share a delay here, and still not a lane.
        queue.push(ms(500), at(500), key("done"), Timer::K);
        queue.push(ms(500), at(600), key("running"), Timer::E);
        queue.push(ms(100), at(200), key("confirmed"), Timer::I);
        assert_eq!(queue.peek(), Some(at(200)));
        assert_eq!(queue.peek_urgent(), Some(at(600)));
        assert_eq!(drain(&mut queue, 550).len(), 2, "both fire when due");
        assert_eq!(queue.peek_urgent(), Some(at(600)));
        drain(&mut queue, 600);
        assert_eq!((queue.peek(), queue.peek_urgent()), (None, None));
    }
}
