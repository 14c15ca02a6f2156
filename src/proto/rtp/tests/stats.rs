use std::time::Duration;

use super::super::*;
use crate::proto::Time;

const OPUS: u32 = 48_000;

fn header(ssrc: u32, sequence: u16, timestamp: u32) -> RtpHeader<'static> {
    RtpHeader {
        payload_type: 111,
        sequence,
        timestamp,
        ssrc,
        ..RtpHeader::default()
    }
}

fn at_ms(ms: u64) -> Time {
    Time::ZERO + Duration::from_millis(ms)
}

#[test]
fn evenly_paced_packets_have_no_jitter() {
    let mut stats = ReceiverStats::new();
    for n in 0..100u16 {
        let ts = 7_000 + u32::from(n) * 960;
        stats.handle_packet(at_ms(1_000 + u64::from(n) * 20), &header(5, n, ts), OPUS);
    }
    assert_eq!(stats.jitter(), 0);
}

#[test]
fn jitter_converges_on_the_transit_time_swing() {
    // Every other packet 5 ms late: |D| is 5 ms = 240 units each time,
    // and A.8's estimate converges on it.
    let mut stats = ReceiverStats::new();
    for n in 0..400u16 {
        let late = if n % 2 == 1 { 5 } else { 0 };
        let ts = u32::from(n) * 960;
        stats.handle_packet(at_ms(u64::from(n) * 20 + late), &header(5, n, ts), OPUS);
    }
    let jitter = stats.jitter();
    assert!((236..=240).contains(&jitter), "jitter {jitter}");
}

#[test]
fn events_on_another_clock_leave_jitter_alone() {
    let mut stats = ReceiverStats::new();
    for n in 0..100u16 {
        let now = at_ms(u64::from(n) * 20);
        if n % 10 == 5 {
            // An 8 kHz telephone-event packet with a timestamp in its own
            // clock, sharing the sequence numbers.
            stats.handle_packet(now, &header(5, n, u32::from(n) * 160), 8_000);
        } else {
            stats.handle_packet(now, &header(5, n, u32::from(n) * 960), OPUS);
        }
    }
    assert_eq!(stats.jitter(), 0);
    assert_eq!(stats.sequence().unwrap().cumulative_lost(), 0);
}

#[test]
fn untimed_events_count_for_the_sequence_and_not_the_jitter() {
    // Telephone-events at the audio's own 48 kHz: all packets of one event
    // carry its start as their timestamp. Fed as audio they would swing
    // the transit time; left out they would count as lost.
    let mut with = ReceiverStats::new();
    let mut without = ReceiverStats::new();
    for n in 0..100u16 {
        let now = at_ms(u64::from(n) * 20);
        if (40..46).contains(&n) {
            with.handle_untimed_packet(&header(5, n, 40 * 960));
        } else {
            let audio = header(5, n, u32::from(n) * 960);
            with.handle_packet(now, &audio, OPUS);
            without.handle_packet(now, &audio, OPUS);
        }
    }
    assert_eq!(with.jitter(), 0);
    assert_eq!(with.sequence().unwrap().cumulative_lost(), 0);
    assert_eq!(without.sequence().unwrap().cumulative_lost(), 6);
}

#[test]
fn a_new_ssrc_starts_from_nothing() {
    let mut stats = ReceiverStats::new();
    for n in 0..50u16 {
        let late = if n % 2 == 1 { 7 } else { 0 };
        stats.handle_packet(
            at_ms(u64::from(n) * 20 + late),
            &header(5, n, u32::from(n) * 960),
            OPUS,
        );
    }
    assert!(stats.jitter() > 0);
    assert_eq!(stats.ssrc(), Some(5));

    let update = stats.handle_packet(at_ms(2_000), &header(6, 9_000, 1), OPUS);
    assert_eq!(update, SequenceUpdate::Probation);
    assert_eq!(stats.ssrc(), Some(6));
    assert_eq!(stats.jitter(), 0);
    assert_eq!(stats.report_block(at_ms(2_000)), None);
    assert_eq!(
        stats.handle_packet(at_ms(2_020), &header(6, 9_001, 961), OPUS),
        SequenceUpdate::Valid { extended: 9_001 }
    );
    assert_eq!(stats.sequence().unwrap().received(), 1);
}

#[test]
fn report_block_carries_loss_and_the_last_sender_report() {
    let mut stats = ReceiverStats::new();
    // Packets 0..=50 without 20 and 21, 20 ms apart.
    for n in (0..=50u16).filter(|n| !(20..=21).contains(n)) {
        stats.handle_packet(
            at_ms(u64::from(n) * 20),
            &header(0xabc, n, u32::from(n) * 960),
            OPUS,
        );
    }
    let ntp = NtpTime(0x0000_b705_2000_0000);
    stats.handle_sender_report(at_ms(1_000), 0xabc, ntp);
    // Reports from other sources are not ours to answer.
    stats.handle_sender_report(at_ms(1_100), 0xdef, NtpTime(1 << 40));

    let block = stats.report_block(at_ms(1_500)).unwrap();
    assert_eq!(block.ssrc, 0xabc);
    // Counting starts at 1 (0 was on probation): 50 expected, 48 came.
    assert_eq!(block.cumulative_lost, 2);
    assert_eq!(block.fraction_lost, (2 * 256 / 50) as u8);
    assert_eq!(block.extended_highest_sequence, 50);
    assert_eq!(block.jitter, 0);
    assert_eq!(block.last_sender_report, 0xb705_2000);
    // Half a second in 1/65536 s.
    assert_eq!(block.delay_since_last_sender_report, 32_768);

    // The next block's fraction covers only what came since.
    stats.handle_packet(at_ms(1_520), &header(0xabc, 51, 51 * 960), OPUS);
    let block = stats.report_block(at_ms(1_600)).unwrap();
    assert_eq!(block.fraction_lost, 0);
    assert_eq!(block.cumulative_lost, 2);
}
