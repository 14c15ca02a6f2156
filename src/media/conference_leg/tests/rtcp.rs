//! The MCU's RTCP (RFC 3550 §6): what each leg's reports say, what is
//! read from the participants' answers, and when the reports go.

use super::*;

#[test]
fn rtcp_reports_each_leg_and_reads_its_answers() {
    let (mut media, mut participants) = conference();
    run(&mut media, &mut participants, 0, 50);
    let wall = NtpTime::from_unix(Duration::from_secs(1_000_000));
    // Each leg's first report comes 1.25-3.75 s after its timer starts.
    let reports = run_reporting(&mut media, &mut participants, 50, 50 + 190, wall);
    let mut legs: Vec<u64> = reports.iter().map(|(_, leg, _, _)| *leg).collect();
    legs.sort_unstable();
    assert_eq!(legs, [1, 2, 3]);
    for (frame, leg, to, datagram) in &reports {
        let participant = participants.iter().find(|p| p.leg == *leg).unwrap();
        assert_eq!(to.port(), participant.addr.port() + 1);
        let packets = rtp::parse_compound(datagram).unwrap();
        let RtcpPacket::SenderReport(report) = &packets[0] else {
            panic!("leg {leg}: a sender report first, not {:?}", packets[0]);
        };
        assert_eq!(report.ssrc, media.leg(*leg).unwrap().ssrc());
        assert_eq!(u64::from(report.packet_count), frame + 1);
        assert_eq!(report.reports.len(), 1, "a block on what the leg sends");
        assert_eq!(report.reports[0].ssrc, 0x5000 + *leg as u32);
        assert_eq!(report.reports[0].cumulative_lost, 0);
    }
    // Leg 1 reports a quarter of our packets lost.
    let block = rtp::ReportBlock {
        ssrc: media.leg(1).unwrap().ssrc(),
        fraction_lost: 64,
        ..Default::default()
    };
    let datagram = answer_of_participant_1(block);
    media.handle_rtcp(at(240), wall, 1, &datagram);
    assert_eq!(media.leg(1).unwrap().stats().loss_reported, Some(0.25));
}

/// A PCMU leg, started, whose participant sends nothing: enough to report.
fn start_quiet_leg(media: &mut ConferenceMedia, leg: u64) {
    media.open_leg("c", leg).unwrap();
    let address = SocketAddr::from(([10, 1, (leg >> 8) as u8, leg as u8], 4000));
    let audio = negotiated(Codec::Pcmu, address, Direction::SendRecv);
    media.start_leg(leg, audio).unwrap();
}

#[test]
fn legs_that_start_together_report_apart_each_on_its_own_timer() {
    let mut media = ConferenceMedia::new(MixerConfig::default(), 7);
    let legs = 200;
    for leg in 0..legs {
        start_quiet_leg(&mut media, leg);
    }
    let wall = NtpTime::from_unix(Duration::from_secs(1_000_000));
    // 60 s of ticks; a latecomer joins at 30 s.
    let mut reports = Vec::new();
    for frame in 0..3000 {
        if frame == 1500 {
            start_quiet_leg(&mut media, legs);
        }
        media.tick(at(frame));
        for (leg, _, _) in media.rtcp_reports(at(frame), wall) {
            reports.push((frame, leg));
        }
    }

    let mut per_tick = [0usize; 3000];
    let mut frames_of = vec![Vec::new(); legs as usize + 1];
    for (frame, leg) in &reports {
        per_tick[*frame as usize] += 1;
        frames_of[*leg as usize].push(*frame);
    }
    // Each leg is one report a tick's worth of work, not the conference's:
    // 200 legs give 1.6 a tick on average in the first round.
    let busiest = per_tick.iter().max().unwrap();
    assert!(*busiest <= 12, "{busiest} reports in one tick");
    // RFC 3550 §6.3: the first interval half the others; each drawn from
    // 0.5-1.5 times its base (here 2.5 and 5 s, at most a tick late).
    let seconds = |frames: u64| frames as f64 * 0.02;
    for (leg, frames) in frames_of.iter().enumerate() {
        let started = if leg as u64 == legs { 1500 } else { 0 };
        let first = frames
            .first()
            .unwrap_or_else(|| panic!("leg {leg} never reported"));
        let wait = seconds(first - started);
        assert!(
            (1.25..=3.77).contains(&wait),
            "leg {leg} first after {wait} s"
        );
        for pair in frames.windows(2) {
            let interval = seconds(pair[1] - pair[0]);
            assert!((2.5..=7.52).contains(&interval), "leg {leg}: {interval} s");
        }
    }
}
