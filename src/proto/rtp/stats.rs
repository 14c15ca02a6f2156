//! What a receiver knows of the source it hears (RFC 3550 §6.4.1 and
//! Appendix A.3, A.8): sequence state, loss, interarrival jitter, and the
//! last sender report, gathered into a report block.
//!
//! One [`ReceiverStats`] follows one source at a time: a packet with
//! another SSRC starts it again from nothing, on probation (A.1), as a
//! peer that restarts its stream or a new call leg behind a B2BUA does.

use std::time::Duration;

use super::packet::RtpHeader;
use super::rtcp::{NtpTime, ReportBlock};
use super::sequence::{SequenceTracker, SequenceUpdate};
use crate::proto::Time;

/// §6.4.1: cumulative loss is a signed 24-bit field.
const MAX_CUMULATIVE_LOST: i64 = (1 << 23) - 1;
const MIN_CUMULATIVE_LOST: i64 = -(1 << 23);

/// Reception statistics for the current source.
#[derive(Clone, Debug, Default)]
pub struct ReceiverStats {
    source: Option<Source>,
}

#[derive(Clone, Debug)]
struct Source {
    ssrc: u32,
    sequence: SequenceTracker,
    /// A.8: the jitter estimate times 16, in RTP timestamp units.
    jitter_x16: u32,
    /// The last packet's relative transit time and the clock it was in.
    last_transit: Option<(u32, u32)>,
    /// The compact NTP time of the last SR, and when it arrived.
    last_sender_report: Option<(u32, Time)>,
}

impl Source {
    fn new(ssrc: u32) -> Self {
        Source {
            ssrc,
            sequence: SequenceTracker::new(),
            jitter_x16: 0,
            last_transit: None,
            last_sender_report: None,
        }
    }
}

impl ReceiverStats {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one RTP packet arriving at `now`, whose timestamps run at
    /// `clock_rate` Hz. Returns what its sequence number means: only
    /// `Valid` and `Restarted` packets should be played.
    ///
    /// Jitter is measured between packets of the same clock rate, so
    /// telephone-event packets on another clock in the same stream (an
    /// 8 kHz event with 48 kHz Opus) neither feed nor disturb it.
    pub fn handle_packet(
        &mut self,
        now: Time,
        header: &RtpHeader<'_>,
        clock_rate: u32,
    ) -> SequenceUpdate {
        let update = self.handle_untimed_packet(header);
        if !matches!(
            update,
            SequenceUpdate::Valid { .. } | SequenceUpdate::Restarted { .. }
        ) {
            return update;
        }
        let source = self.source_of(header.ssrc);
        // A.8: the transit time in RTP units; only its changes matter, so
        // the epoch of `now` does not.
        let arrival = rtp_units(now.since_epoch(), clock_rate);
        let transit = arrival.wrapping_sub(header.timestamp);
        if let Some((last, last_rate)) = source.last_transit {
            if last_rate == clock_rate {
                let d = transit.wrapping_sub(last) as i32;
                let d = d.unsigned_abs();
                // J += (|D| - J) / 16, kept times 16 in integers (A.8).
                source.jitter_x16 = source
                    .jitter_x16
                    .saturating_add(d)
                    .saturating_sub(source.jitter_x16.saturating_add(8) >> 4);
            }
        }
        source.last_transit = Some((transit, clock_rate));
        update
    }

    /// Takes an RTP packet of the stream that is not timed like its audio:
    /// a telephone-event (RFC 4733 §2.1: same SSRC, same sequence space),
    /// whose timestamp stays the event's start for all its packets. It
    /// counts for the sequence, so that events are not reported as lost
    /// audio, and is kept out of the jitter.
    pub fn handle_untimed_packet(&mut self, header: &RtpHeader<'_>) -> SequenceUpdate {
        let source = self.source_of(header.ssrc);
        let update = source.sequence.update(header.sequence);
        if let SequenceUpdate::Restarted { .. } = update {
            source.last_transit = None;
            source.jitter_x16 = 0;
        }
        update
    }

    /// The state of source `ssrc`, started afresh if it is not the one
    /// followed so far.
    fn source_of(&mut self, ssrc: u32) -> &mut Source {
        if self
            .source
            .as_ref()
            .is_none_or(|source| source.ssrc != ssrc)
        {
            self.source = None;
        }
        self.source.get_or_insert_with(|| Source::new(ssrc))
    }

    /// Notes a sender report from the current source, for the LSR and DLSR
    /// of the next report block (§6.4.1). Reports from other SSRCs are
    /// ignored.
    pub fn handle_sender_report(&mut self, now: Time, ssrc: u32, ntp: NtpTime) {
        if let Some(source) = self.source.as_mut().filter(|s| s.ssrc == ssrc) {
            source.last_sender_report = Some((ntp.compact(), now));
        }
    }

    /// The source's SSRC, once a packet has come.
    pub fn ssrc(&self) -> Option<u32> {
        self.source.as_ref().map(|s| s.ssrc)
    }

    /// The sequence state of the current source.
    pub fn sequence(&self) -> Option<&SequenceTracker> {
        self.source.as_ref().map(|s| &s.sequence)
    }

    /// A.8's interarrival jitter, in RTP timestamp units.
    pub fn jitter(&self) -> u32 {
        self.source.as_ref().map_or(0, |s| s.jitter_x16 >> 4)
    }

    /// The report block about the current source at `now` (§6.4.1), or
    /// `None` before one is believed. Starts a new interval for the
    /// fraction lost, so call it once per report sent.
    pub fn report_block(&mut self, now: Time) -> Option<ReportBlock> {
        let source = self.source.as_mut()?;
        let extended_max = source.sequence.extended_max()?;
        let (last_sender_report, delay) = match source.last_sender_report {
            Some((lsr, arrived)) => (lsr, compact_duration(now - arrived)),
            None => (0, 0),
        };
        Some(ReportBlock {
            ssrc: source.ssrc,
            fraction_lost: source.sequence.fraction_lost_since_last(),
            cumulative_lost: source
                .sequence
                .cumulative_lost()
                .clamp(MIN_CUMULATIVE_LOST, MAX_CUMULATIVE_LOST)
                as i32,
            // The low 16 bits of the cycle count and the highest number
            // (§6.4.1): truncation is the field's definition.
            extended_highest_sequence: extended_max as u32,
            jitter: source.jitter_x16 >> 4,
            last_sender_report,
            delay_since_last_sender_report: delay,
        })
    }
}

/// A duration in RTP timestamp units, modulo 2^32.
fn rtp_units(duration: Duration, clock_rate: u32) -> u32 {
    // Truncation to 32 bits is RTP's own wrap-around.
    (duration.as_nanos() * u128::from(clock_rate) / 1_000_000_000) as u32
}

/// A duration in units of 1/65536 s, as DLSR carries it (§6.4.1),
/// saturating.
fn compact_duration(duration: Duration) -> u32 {
    let units = duration.as_nanos() * 65_536 / 1_000_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}
