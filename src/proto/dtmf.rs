//! DTMF as RFC 4733 telephone-events: the 4-octet event payload (§2.3),
//! the packets that carry one key press (§2.5.1), and reading them back
//! into digits (§2.5.2).
//!
//! Sending: [`encode_press`] turns a press into its whole schedule of
//! packets, each with its time and timestamp relative to the start of the
//! event, for the media task to send on the audio stream's SSRC with the
//! next sequence numbers. The first packet has the marker bit; updates
//! follow every [`UPDATE_INTERVAL`] with a growing duration (§2.5.1); the
//! final packet, with the E bit, goes [`END_REPEATS`] times (§2.5.1.4). A
//! press too long for the 16-bit duration is cut into segments, each with
//! its own timestamp (§2.5.1.3). Presses shorter than [`MIN_PRESS`] are
//! sent that long.
//!
//! Receiving: [`DtmfReceiver`] reports each event once when it begins and
//! once when it ends, however many updates and end packets repeat it, and
//! ends an event whose end packets were all lost when the next one
//! begins. Events are told apart by their RTP timestamp (§2.5.2).

use std::collections::VecDeque;
use std::time::Duration;

use thiserror::Error;

/// §2.3: event, E|R|volume, duration.
pub const PAYLOAD_LEN: usize = 4;
/// §2.5.1: how often a sender reports a continuing event.
pub const UPDATE_INTERVAL: Duration = Duration::from_millis(50);
/// §2.5.1.4: the final packet is sent three times.
pub const END_REPEATS: u32 = 3;
/// ITU-T Q.24's shortest digit; shorter presses are sent this long.
pub const MIN_PRESS: Duration = Duration::from_millis(40);
/// A usual power level, in -dBm0 (§2.3.4).
pub const DEFAULT_VOLUME: u8 = 10;

/// §2.3.5: the largest duration one segment can carry.
const MAX_SEGMENT: u64 = 0xffff;
/// §3: the DTMF events, 0-9 * # A-D.
const DIGITS: &[u8; 16] = b"0123456789*#ABCD";

/// One telephone-event payload (§2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventPayload {
    pub event: u8,
    /// The E bit: this event (or segment) is over.
    pub end: bool,
    /// Power in -dBm0, 0-63.
    pub volume: u8,
    /// In timestamp units since the event's (segment's) timestamp.
    pub duration: u16,
}

impl EventPayload {
    /// Reads the first event of a payload (RFC 2198 redundancy, which
    /// would put more after it, is not negotiated).
    pub fn parse(payload: &[u8]) -> Result<EventPayload, DtmfError> {
        let [event, flags, high, low] = *payload
            .first_chunk::<PAYLOAD_LEN>()
            .ok_or(DtmfError::Truncated(payload.len()))?;
        Ok(EventPayload {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3f,
            duration: u16::from_be_bytes([high, low]),
        })
    }

    /// The payload's four octets; the R bit is zero (§2.3.3).
    pub fn to_bytes(&self) -> [u8; PAYLOAD_LEN] {
        let flags = if self.end { 0x80 } else { 0 } | (self.volume & 0x3f);
        let [high, low] = self.duration.to_be_bytes();
        [self.event, flags, high, low]
    }
}

/// The event code of a DTMF key (§3), case-blind for A-D.
pub fn event_for_digit(digit: char) -> Option<u8> {
    let digit = u8::try_from(digit.to_ascii_uppercase()).ok()?;
    DIGITS
        .iter()
        .position(|&d| d == digit)
        .and_then(|i| u8::try_from(i).ok())
}

/// The DTMF key of an event code, if it is one.
pub fn digit_for_event(event: u8) -> Option<char> {
    DIGITS.get(usize::from(event)).map(|&d| char::from(d))
}

/// One packet of a press, as the sender schedules it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventPacket {
    /// When to send it, from the start of the press.
    pub offset: Duration,
    /// The RTP marker bit: set on the first packet of the event only.
    pub marker: bool,
    /// Added to the event's starting RTP timestamp: non-zero only in
    /// later segments of a long press.
    pub timestamp_offset: u32,
    pub payload: EventPayload,
}

/// The packets for pressing `digit` for `press` on a stream whose
/// telephone-event clock runs at `clock_rate`, in sending order.
pub fn encode_press(
    digit: char,
    press: Duration,
    clock_rate: u32,
    volume: u8,
) -> Result<Vec<EventPacket>, DtmfError> {
    let event = event_for_digit(digit).ok_or(DtmfError::UnknownDigit(digit))?;
    if clock_rate == 0 {
        return Err(DtmfError::BadClockRate);
    }
    let rate = u64::from(clock_rate);
    let to_units = |d: Duration| -> u64 {
        u64::try_from(d.as_nanos() * u128::from(rate) / 1_000_000_000).unwrap_or(u64::MAX)
    };
    let to_offset = |units: u64| Duration::from_nanos(units.saturating_mul(1_000_000_000) / rate);
    let total = to_units(press.max(MIN_PRESS)).max(1);
    let interval = to_units(UPDATE_INTERVAL).max(1);
    let volume = volume.min(63);

    let mut packets = Vec::new();
    let mut segment_start = 0u64;
    loop {
        let segment_len = (total - segment_start).min(MAX_SEGMENT);
        let last_segment = segment_start + segment_len == total;
        // The timestamp of a later segment is the earlier's plus its
        // duration (§2.5.1.3); it wraps like every RTP timestamp.
        let timestamp_offset = segment_start as u32;
        let packet = |at: u64, duration: u64, end: bool, marker: bool| EventPacket {
            offset: to_offset(at),
            marker,
            timestamp_offset,
            payload: EventPayload {
                event,
                end,
                volume,
                // At most MAX_SEGMENT by construction.
                duration: duration.min(MAX_SEGMENT) as u16,
            },
        };
        // Each update reports the tone up to the next one.
        let mut elapsed = 0;
        while elapsed < segment_len {
            let marker = packets.is_empty();
            let duration = (elapsed + interval).min(segment_len);
            packets.push(packet(segment_start + elapsed, duration, false, marker));
            elapsed += interval;
        }
        let segment_end = segment_start + segment_len;
        if last_segment {
            for repeat in 0..u64::from(END_REPEATS) {
                packets.push(packet(
                    segment_end + repeat * interval,
                    segment_len,
                    true,
                    false,
                ));
            }
            break;
        }
        // §2.5.1.4: a segment's final report is repeated too, while the
        // next segment starts.
        for repeat in 1..u64::from(END_REPEATS) {
            packets.push(packet(
                segment_end + repeat * interval,
                segment_len,
                false,
                false,
            ));
        }
        segment_start = segment_end;
    }
    // Stable: a segment's repeats go before the next segment's updates.
    packets.sort_by_key(|p| p.offset);
    Ok(packets)
}

/// What the receiver tells: a key went down, a key came up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtmfEvent {
    Began {
        event: u8,
        digit: Option<char>,
    },
    Ended {
        event: u8,
        digit: Option<char>,
        /// The whole event, all segments; as far as heard if its end was
        /// lost.
        duration: Duration,
    },
}

/// Reads the telephone-events of one stream into [`DtmfEvent`]s.
#[derive(Clone, Debug)]
pub struct DtmfReceiver {
    clock_rate: u32,
    current: Option<Current>,
    /// The timestamp and event of the last event that ended, so that its
    /// repeated end packets and late updates are not taken for a new one.
    last_ended: Option<(u32, u8)>,
    events: VecDeque<DtmfEvent>,
}

#[derive(Clone, Copy, Debug)]
struct Current {
    event: u8,
    /// The current segment's timestamp and reported duration.
    segment: u32,
    segment_duration: u16,
    /// The segment before, whose final report is repeated into this one.
    previous_segment: Option<u32>,
    /// Units in the segments before the current one.
    earlier_segments: u64,
}

impl Current {
    fn total(&self) -> u64 {
        self.earlier_segments + u64::from(self.segment_duration)
    }
}

impl DtmfReceiver {
    /// A receiver for events whose clock runs at `clock_rate` Hz (the
    /// negotiated telephone-event rate).
    pub fn new(clock_rate: u32) -> Self {
        DtmfReceiver {
            clock_rate: clock_rate.max(1),
            current: None,
            last_ended: None,
            events: VecDeque::new(),
        }
    }

    /// Takes one telephone-event packet: its RTP timestamp and payload.
    pub fn handle_packet(&mut self, timestamp: u32, payload: &[u8]) -> Result<(), DtmfError> {
        let payload = EventPayload::parse(payload)?;
        if self.last_ended == Some((timestamp, payload.event)) {
            // §2.5.1.4: the repeats of an end, or an update that came late.
            return Ok(());
        }
        if self
            .current
            .is_some_and(|c| c.event == payload.event && c.previous_segment == Some(timestamp))
        {
            // A repeat of the last segment's final report (§2.5.1.4).
            return Ok(());
        }
        let continues = self.current.is_some_and(|c| {
            c.event == payload.event && (c.segment == timestamp || is_next_segment(&c, timestamp))
        });
        if !continues {
            // A new event; one still going lost all its end packets.
            self.end_current();
            self.current = Some(Current {
                event: payload.event,
                segment: timestamp,
                segment_duration: 0,
                previous_segment: None,
                earlier_segments: 0,
            });
            self.events.push_back(DtmfEvent::Began {
                event: payload.event,
                digit: digit_for_event(payload.event),
            });
        }
        if let Some(current) = self.current.as_mut() {
            if current.segment != timestamp {
                current.earlier_segments += u64::from(current.segment_duration);
                current.previous_segment = Some(current.segment);
                current.segment = timestamp;
                current.segment_duration = 0;
            }
            // Durations only grow; a reordered update does not shrink it.
            current.segment_duration = current.segment_duration.max(payload.duration);
        }
        if payload.end {
            self.end_current();
        }
        Ok(())
    }

    /// The next event, in order.
    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        self.events.pop_front()
    }

    fn end_current(&mut self) {
        let Some(current) = self.current.take() else {
            return;
        };
        self.last_ended = Some((current.segment, current.event));
        let nanos = current.total().saturating_mul(1_000_000_000) / u64::from(self.clock_rate);
        self.events.push_back(DtmfEvent::Ended {
            event: current.event,
            digit: digit_for_event(current.event),
            duration: Duration::from_nanos(nanos),
        });
    }
}

/// §2.5.1.3: a long event goes on in a segment whose timestamp is the
/// previous segment's plus its full duration.
fn is_next_segment(current: &Current, timestamp: u32) -> bool {
    current.segment_duration == u16::MAX
        && timestamp == current.segment.wrapping_add(u32::from(u16::MAX))
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DtmfError {
    #[error("telephone-event payload of {0} bytes; it needs 4")]
    Truncated(usize),
    #[error("{0:?} is not a DTMF key")]
    UnknownDigit(char),
    #[error("a clock rate of 0 Hz")]
    BadClockRate,
}

#[cfg(test)]
mod tests;
