//! Hand-made cases here; whole network traces in `traces`.

mod trace;
mod traces;

use std::time::Duration;

use super::slots::Extender;
use super::*;
use crate::media::codec::Codec;
use trace::at;

const SSRC: u32 = 0x1234_5678;

fn opus() -> JitterBuffer {
    JitterBuffer::new(JitterConfig::for_codec(Codec::Opus))
}

fn packet(sequence: u16, payload: &[u8]) -> MediaPacket<'_> {
    MediaPacket {
        ssrc: SSRC,
        sequence,
        timestamp: u32::from(sequence) * 960,
        payload,
    }
}

fn ms(value: u64) -> Time {
    Time::ZERO + Duration::from_millis(value)
}

#[test]
fn plays_silence_until_the_first_packet_has_waited_the_target() {
    let mut buffer = opus();
    assert_eq!(buffer.pop(ms(0)), Playout::Silence);
    assert_eq!(buffer.push(ms(5), packet(10, b"a")), Arrival::Buffered);
    // The initial target is 60 ms: ticks at 20 and 40 ms are too early.
    assert_eq!(buffer.pop(ms(20)), Playout::Silence);
    assert_eq!(buffer.pop(ms(40)), Playout::Silence);
    assert_eq!(buffer.pop(ms(65)), Playout::Frame(b"a"));
    assert_eq!(buffer.stats().played, 1);
}

#[test]
fn a_lost_frame_is_rebuilt_from_the_next_packets_fec() {
    let mut buffer = opus();
    buffer.push(ms(0), packet(1, b"one"));
    // Packet 2 is lost; 3 arrives on time.
    buffer.push(ms(40), packet(3, b"three"));
    assert_eq!(buffer.pop(ms(60)), Playout::Frame(b"one"));
    assert_eq!(buffer.pop(ms(80)), Playout::Fec(b"three"));
    assert_eq!(buffer.pop(ms(100)), Playout::Frame(b"three"));
    let stats = buffer.stats();
    assert_eq!(
        (stats.fec_recovered, stats.concealed, stats.played),
        (1, 0, 2)
    );
}

#[test]
fn without_fec_a_lost_frame_is_concealed() {
    let mut buffer = JitterBuffer::new(JitterConfig::for_codec(Codec::Pcmu));
    let pcmu = |sequence: u16, payload| MediaPacket {
        timestamp: u32::from(sequence) * 160,
        ..packet(sequence, payload)
    };
    buffer.push(ms(0), pcmu(1, b"one"));
    buffer.push(ms(40), pcmu(3, b"three"));
    assert_eq!(buffer.pop(ms(60)), Playout::Frame(b"one"));
    assert_eq!(buffer.pop(ms(80)), Playout::Conceal);
    assert_eq!(buffer.pop(ms(100)), Playout::Frame(b"three"));
}

#[test]
fn reordered_packets_play_in_order_and_duplicates_once() {
    let mut buffer = opus();
    assert_eq!(buffer.push(ms(0), packet(1, b"1")), Arrival::Buffered);
    assert_eq!(buffer.push(ms(21), packet(3, b"3")), Arrival::Buffered);
    assert_eq!(buffer.push(ms(22), packet(2, b"2")), Arrival::Buffered);
    assert_eq!(buffer.push(ms(23), packet(2, b"2")), Arrival::Duplicate);
    assert_eq!(buffer.pop(ms(60)), Playout::Frame(b"1"));
    assert_eq!(buffer.pop(ms(80)), Playout::Frame(b"2"));
    assert_eq!(buffer.pop(ms(100)), Playout::Frame(b"3"));
    // A packet whose turn has passed is late, and one played is a duplicate.
    assert_eq!(buffer.push(ms(120), packet(3, b"3")), Arrival::Duplicate);
    let mut second = opus();
    second.push(ms(0), packet(1, b"1"));
    second.push(ms(30), packet(3, b"3"));
    assert_eq!(second.pop(ms(60)), Playout::Frame(b"1"));
    assert_eq!(second.pop(ms(80)), Playout::Fec(b"3"));
    assert_eq!(second.push(ms(85), packet(2, b"2")), Arrival::Late);
    assert_eq!(second.stats().late, 1);
}

#[test]
fn a_new_ssrc_starts_a_new_stream() {
    let mut buffer = opus();
    buffer.push(ms(0), packet(1, b"old"));
    let fresh = MediaPacket {
        ssrc: 99,
        sequence: 40_000,
        timestamp: 7,
        payload: b"new",
    };
    assert_eq!(buffer.push(ms(1), fresh), Arrival::NewStream);
    assert_eq!(buffer.pop(ms(70)), Playout::Frame(b"new"));
    assert_eq!(buffer.stats().resyncs, 1);
}

#[test]
fn a_sequence_jump_is_believed_on_the_second_packet() {
    let mut buffer = opus();
    buffer.push(ms(0), packet(1, b"1"));
    assert_eq!(buffer.pop(ms(60)), Playout::Frame(b"1"));
    assert_eq!(
        buffer.push(ms(70), packet(30_000, b"x")),
        Arrival::Probation
    );
    assert_eq!(buffer.push(ms(90), packet(2, b"2")), Arrival::Buffered);
    assert_eq!(
        buffer.push(ms(100), packet(30_000, b"x")),
        Arrival::Probation
    );
    assert_eq!(
        buffer.push(ms(120), packet(30_001, b"y")),
        Arrival::Buffered
    );
    assert_eq!(buffer.stats().resyncs, 1);
}

#[test]
fn extension_survives_wrap_around() {
    let mut sequences = Extender::new();
    let mut last = 0;
    for step in 0..70_000u32 {
        let wire = (65_000 + step) as u16;
        let extended = sequences.sequence(wire);
        sequences.accept(extended);
        if step > 0 {
            assert_eq!(extended, last + 1);
        }
        last = extended;
    }
    // A late packet from before the wrap stays before it.
    assert_eq!(last, 134_999);
    assert_eq!(sequences.sequence(65_535), 131_071);
    let mut timestamps = Extender::new();
    timestamps.accept(timestamps.timestamp(u32::MAX - 100));
    assert_eq!(timestamps.timestamp(860), i64::from(u32::MAX) + 861);
}

#[test]
fn stats_report_rfc_3550_interarrival_jitter() {
    // Transit alternating 0 and 10 ms: |D| is 10 ms = 480 units at 48 kHz,
    // and J converges to it.
    let mut buffer = opus();
    for sequence in 0..400u16 {
        let arrival = u64::from(sequence) * 20 + if sequence % 2 == 0 { 0 } else { 10 };
        buffer.push(ms(arrival), packet(sequence, b"p"));
        let _ = buffer.pop(ms(arrival));
    }
    let jitter = buffer.stats().interarrival_jitter;
    assert!((470..=480).contains(&jitter), "{jitter}");
    let _ = at(0);
}
