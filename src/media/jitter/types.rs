//! The types the jitter buffer speaks: its configuration, its input
//! packet, what it says on each tick, and its counters.

use std::time::Duration;

use crate::media::codec::Codec;

/// How the buffer adapts.
#[derive(Clone, Debug, PartialEq)]
pub struct JitterConfig {
    /// The RTP clock rate of the stream (48000 for Opus, 8000 for PCMU).
    pub clock_rate: u32,
    /// Whether a packet carries FEC for the one before (Opus).
    pub inband_fec: bool,
    /// The least delay held, even on a perfect network.
    pub min_delay: Duration,
    /// The most delay held; packets later than this are given up on.
    pub max_delay: Duration,
    /// The target before enough packets have been seen to measure one.
    pub initial_delay: Duration,
    /// The share of packets the target lets arrive too late.
    pub late_fraction: f64,
    /// How many recent packets the target is measured over.
    pub window: usize,
    /// The least time between two frames dropped to shrink the delay.
    pub shrink_interval: Duration,
    /// How long without a playable frame before the stream counts as idle.
    pub idle_after: Duration,
}

impl JitterConfig {
    /// The defaults for a codec: 20 ms to 400 ms, 1% late, a 10 s window.
    pub fn for_codec(codec: Codec) -> Self {
        JitterConfig {
            clock_rate: codec.clock_rate(),
            inband_fec: codec.has_inband_fec(),
            min_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(400),
            initial_delay: Duration::from_millis(60),
            late_fraction: 0.01,
            window: 500,
            shrink_interval: Duration::from_millis(500),
            idle_after: Duration::from_millis(200),
        }
    }
}

/// The RTP fields the buffer needs, and the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaPacket<'a> {
    pub ssrc: u32,
    pub sequence: u16,
    pub timestamp: u32,
    pub payload: &'a [u8],
}

/// What [`JitterBuffer::push`](super::JitterBuffer::push) did with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// Held for playout.
    Buffered,
    /// Already held or played.
    Duplicate,
    /// Its turn has passed.
    Late,
    /// Far from the stream's sequence numbers; held back until the next
    /// packet confirms the jump (RFC 3550 §A.1 probation).
    Probation,
    /// A new SSRC: the buffer was reset and holds this packet.
    NewStream,
}

/// What to play on this tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Playout<'a> {
    /// Decode this payload.
    Frame(&'a [u8]),
    /// The frame is lost: rebuild it from the FEC in this, the next
    /// packet's payload (which is played normally on the next tick).
    Fec(&'a [u8]),
    /// The frame is lost or late: run the decoder's concealment.
    Conceal,
    /// Nothing to play: before the first frame, in a sender's pause, or idle.
    Silence,
}

/// Counters and delays for diagnostics and RTCP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// The delay the buffer aims for.
    pub target_delay: Duration,
    /// The delay of the frame played on the last tick, above the fastest
    /// recent packet.
    pub current_delay: Duration,
    /// RFC 3550 §6.4.1 interarrival jitter, in timestamp units (for RTCP).
    pub interarrival_jitter: u32,
    pub received: u64,
    pub duplicates: u64,
    /// Packets that arrived after their turn, or were too old to play.
    pub late: u64,
    /// Frames played from a packet.
    pub played: u64,
    /// Lost frames rebuilt from the next packet's FEC.
    pub fec_recovered: u64,
    /// Lost frames concealed.
    pub concealed: u64,
    /// Ticks held back (concealment without losing a frame) to grow the delay.
    pub inserted: u64,
    /// Frames dropped to shrink the delay.
    pub dropped: u64,
    /// Times the buffer started over: new SSRC, sequence jump, timing jump.
    pub resyncs: u64,
}
