//! Storage for buffered packets, and the extension of 16-bit sequence
//! numbers and 32-bit timestamps to values that never wrap.

/// How many packets the ring holds ahead of the playout point: 1.28 s of
/// 20 ms frames, over three times the largest target delay.
pub(super) const CAPACITY: usize = 64;

/// Extends a wrapping counter (RFC 3550 §A.1's sequence extension, also
/// used for timestamps) by reading each new value as the signed distance
/// from the highest seen so far.
#[derive(Clone, Copy, Debug)]
pub(super) struct Extender {
    highest: Option<i64>,
}

impl Extender {
    pub(super) const fn new() -> Self {
        Extender { highest: None }
    }

    /// The extended value of a 16-bit sequence number, without accepting
    /// it as the new highest.
    pub(super) fn sequence(&self, sequence: u16) -> i64 {
        match self.highest {
            None => i64::from(sequence),
            Some(highest) => {
                // highest is only ever set from a u16 plus small signed
                // steps, so truncating to u16 recovers its wire value.
                let delta = sequence.wrapping_sub(highest as u16) as i16;
                highest + i64::from(delta)
            }
        }
    }

    /// The extended value of a 32-bit timestamp.
    pub(super) fn timestamp(&self, timestamp: u32) -> i64 {
        match self.highest {
            None => i64::from(timestamp),
            Some(highest) => {
                let delta = timestamp.wrapping_sub(highest as u32) as i32;
                highest + i64::from(delta)
            }
        }
    }

    pub(super) fn highest(&self) -> Option<i64> {
        self.highest
    }

    /// Records an accepted extended value.
    pub(super) fn accept(&mut self, extended: i64) {
        self.highest = Some(
            self.highest
                .map_or(extended, |highest| highest.max(extended)),
        );
    }
}

/// One buffered packet. The payload buffer is kept when the slot empties,
/// so steady-state buffering allocates nothing.
#[derive(Debug, Default)]
struct Slot {
    sequence: i64,
    timestamp: i64,
    /// Arrival minus media time, for re-measuring after a resync.
    transit: i64,
    present: bool,
    payload: Vec<u8>,
}

/// A ring of packets indexed by extended sequence number.
#[derive(Debug)]
pub(super) struct Slots {
    ring: Vec<Slot>,
    count: usize,
}

impl Slots {
    pub(super) fn new() -> Self {
        Slots {
            ring: (0..CAPACITY).map(|_| Slot::default()).collect(),
            count: 0,
        }
    }

    fn index(sequence: i64) -> usize {
        // rem_euclid of a positive modulus is in 0..CAPACITY.
        sequence.rem_euclid(CAPACITY as i64) as usize
    }

    /// Stores a packet; false if the same sequence number is already held.
    /// The caller keeps `sequence` within `CAPACITY` of the playout point,
    /// so a slot still held by an older packet is one that was skipped.
    pub(super) fn insert(
        &mut self,
        sequence: i64,
        timestamp: i64,
        transit: i64,
        payload: &[u8],
    ) -> bool {
        let slot = &mut self.ring[Self::index(sequence)];
        if slot.present && slot.sequence == sequence {
            return false;
        }
        if !slot.present {
            self.count += 1;
        }
        slot.sequence = sequence;
        slot.timestamp = timestamp;
        slot.transit = transit;
        slot.present = true;
        slot.payload.clear();
        slot.payload.extend_from_slice(payload);
        true
    }

    /// The timestamp of a held packet.
    pub(super) fn timestamp(&self, sequence: i64) -> Option<i64> {
        let slot = &self.ring[Self::index(sequence)];
        (slot.present && slot.sequence == sequence).then_some(slot.timestamp)
    }

    /// The transit of a held packet.
    pub(super) fn transit(&self, sequence: i64) -> Option<i64> {
        let slot = &self.ring[Self::index(sequence)];
        (slot.present && slot.sequence == sequence).then_some(slot.transit)
    }

    /// Releases a packet. Its payload stays readable through [`payload`]
    /// until the slot is reused, which lets the playout hand it out.
    ///
    /// [`payload`]: Slots::payload
    pub(super) fn release(&mut self, sequence: i64) -> bool {
        let slot = &mut self.ring[Self::index(sequence)];
        let held = slot.present && slot.sequence == sequence;
        if held {
            slot.present = false;
            self.count -= 1;
        }
        held
    }

    /// The payload of a packet held now or released since.
    pub(super) fn payload(&self, sequence: i64) -> &[u8] {
        let slot = &self.ring[Self::index(sequence)];
        if slot.sequence == sequence {
            &slot.payload
        } else {
            &[]
        }
    }

    /// The lowest held sequence number at or after `from`.
    pub(super) fn earliest(&self, from: i64) -> Option<i64> {
        if self.count == 0 {
            return None;
        }
        (from..from + CAPACITY as i64).find(|&sequence| self.timestamp(sequence).is_some())
    }

    pub(super) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Releases everything before `sequence`; returns how many were held.
    pub(super) fn release_before(&mut self, sequence: i64) -> usize {
        let mut released = 0;
        for slot in &mut self.ring {
            if slot.present && slot.sequence < sequence {
                slot.present = false;
                released += 1;
            }
        }
        self.count -= released;
        released
    }

    pub(super) fn clear(&mut self) {
        for slot in &mut self.ring {
            slot.present = false;
        }
        self.count = 0;
    }
}
