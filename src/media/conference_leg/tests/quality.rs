//! What the MCU reports of each leg for the roster: the codec, the loss
//! and jitter of what the participant sends, the round trip its reports
//! tell, and the jitter buffer's delay.

use super::*;

#[test]
fn a_legs_counters_read_as_percent_and_milliseconds() {
    let stats = LegStats {
        loss_received: 0.004,
        jitter_received: Duration::from_micros(3_250),
        round_trip: Some(Duration::from_millis(12)),
        jitter: JitterStats {
            current_delay: Duration::from_millis(60),
            // The target is not what the buffer holds now.
            target_delay: Duration::from_millis(80),
            ..JitterStats::default()
        },
        // What the participant says of ours is not what we receive.
        loss_reported: Some(0.5),
        ..LegStats::default()
    };
    let quality = quality_of(Codec::Pcmu, &stats);
    assert_eq!(quality.codec, "PCMU");
    assert!((quality.loss_percent - 0.4).abs() < 1e-4, "{quality:?}");
    assert!((quality.jitter_ms - 3.25).abs() < 1e-4, "{quality:?}");
    assert_eq!(quality.round_trip_ms, Some(12.0));
    assert_eq!(quality.buffer_ms, 60.0);

    let quiet = quality_of(Codec::Opus, &LegStats::default());
    assert_eq!(quiet.codec, "Opus");
    assert_eq!(quiet.round_trip_ms, None, "no report, no round trip");
    assert_eq!((quiet.loss_percent, quiet.jitter_ms), (0.0, 0.0));
}

#[test]
fn every_started_leg_reports_its_codec_loss_and_round_trip() {
    let (mut media, mut participants) = conference();
    // Leg 4 is open but not started: nothing to report on.
    media.open_leg("c", 4).unwrap();
    // Leg 2 loses one packet in ten on its way to the MCU.
    for frame in 0..100 {
        for participant in participants.iter_mut() {
            let datagram = participant.packet(frame);
            if participant.leg == 2 && frame % 10 == 5 {
                continue;
            }
            media.handle_packet(at(frame), participant.leg, &datagram);
        }
        media.tick(at(frame) + Duration::from_millis(5));
    }
    let qualities = media.qualities();
    let legs: Vec<u64> = qualities.iter().map(|(leg, _)| *leg).collect();
    assert_eq!(legs, [1, 2, 3]);
    let quality = |leg: u64| qualities.iter().find(|(id, _)| *id == leg).unwrap().1;
    assert_eq!(quality(1).codec, "Opus");
    assert_eq!(quality(3).codec, "PCMU");
    assert_eq!(quality(1).loss_percent, 0.0);
    assert!(
        (quality(2).loss_percent - 10.0).abs() < 0.5,
        "{:?}",
        quality(2)
    );
    // Packets every 20 ms, each played by the tick 5 ms after it: with
    // no jitter the buffer holds less than a frame (no floor of its own).
    assert!(quality(1).buffer_ms < 20.0, "{:?}", quality(1));
    assert_eq!(quality(1).round_trip_ms, None);

    // Leg 1's answer to our sender report arrives 12 ms after it went
    // out, 8 ms of which the participant held it: 4 ms on the wire.
    let wall = NtpTime::from_unix(Duration::from_secs(1_000_000));
    assert!(!run_reporting(&mut media, &mut participants, 100, 300, wall).is_empty());
    let block = rtp::ReportBlock {
        ssrc: media.leg(1).unwrap().ssrc(),
        last_sender_report: wall.compact(),
        // 8 ms in units of 1/65536 s.
        delay_since_last_sender_report: 524,
        ..Default::default()
    };
    let datagram = answer_of_participant_1(block);
    let arrival = NtpTime::from_unix(Duration::from_millis(1_000_000_012));
    media.handle_rtcp(at(300), arrival, 1, &datagram);
    let round_trip = media.leg(1).unwrap().quality().round_trip_ms.unwrap();
    assert!((3.5..4.5).contains(&round_trip), "{round_trip}");
}
