//! Timer values and timer bookkeeping for the transaction layer.
//!
//! RFC 3261 §17 and its Table 4 name the timers; RFC 6026 adds L and M. Each
//! transaction records, per timer, the deadline it currently has armed
//! ([`Deadlines`]); one binary heap ([`TimerQueue`]) holds every deadline of
//! every transaction. Disarming a timer only clears the transaction's record,
//! so the heap may hold stale entries: an entry counts only if its transaction
//! still exists and still records exactly that deadline for that timer (lazy
//! deletion). This keeps arming O(log n) and `poll_timeout` O(1) however many
//! transactions a registrar holds.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
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

/// All deadlines of all transactions, earliest first, with lazy deletion.
#[derive(Debug, Default)]
pub(super) struct TimerQueue {
    heap: BinaryHeap<Reverse<Entry>>,
    next_seq: u64,
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

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl TimerQueue {
    fn push(&mut self, at: Time, key: TransactionKey, timer: Timer) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.heap.push(Reverse(Entry {
            at,
            seq,
            key,
            timer,
        }));
    }

    /// The earliest deadline in the heap, stale or not.
    pub(super) fn peek(&self) -> Option<Time> {
        self.heap.peek().map(|Reverse(entry)| entry.at)
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    pub(super) fn pop_due(&mut self, now: Time) -> Option<(Time, TransactionKey, Timer)> {
        if self.peek()? > now {
            return None;
        }
        self.heap
            .pop()
            .map(|Reverse(entry)| (entry.at, entry.key, entry.timer))
    }

    /// Drops stale entries from the top of the heap, so that [`Self::peek`]
    /// answers a live deadline. `is_live(key, timer, at)` says whether the
    /// transaction still has that deadline armed.
    pub(super) fn prune(&mut self, mut is_live: impl FnMut(&TransactionKey, Timer, Time) -> bool) {
        while let Some(Reverse(entry)) = self.heap.peek() {
            if is_live(&entry.key, entry.timer, entry.at) {
                return;
            }
            self.heap.pop();
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.heap.len()
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
        self.queue.push(at, key.clone(), timer);
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
