use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::super::rtcp::{PACKET_TYPE_BYE, PACKET_TYPE_SDES, SDES_NAME};
use super::super::*;
use super::mutations;

fn block(ssrc: u32, cumulative_lost: i32) -> ReportBlock {
    ReportBlock {
        ssrc,
        fraction_lost: 25,
        cumulative_lost,
        extended_highest_sequence: 0x0001_0203,
        jitter: 240,
        last_sender_report: 0xb705_2000,
        delay_since_last_sender_report: 0x0005_4000,
    }
}

fn compound() -> Vec<RtcpPacket> {
    vec![
        RtcpPacket::SenderReport(SenderReport {
            ssrc: 0x1111,
            ntp: NtpTime(0xe9a1_b2c3_8000_0000),
            rtp_timestamp: 480_000,
            packet_count: 500,
            octet_count: 40_000,
            reports: vec![block(0x2222, -3)],
        }),
        RtcpPacket::SourceDescription(vec![SdesChunk::cname(0x1111, "amy@192.0.2.7")]),
    ]
}

#[test]
fn a_receiver_report_reads_as_laid_out_in_rfc3550() {
    let bytes: &[u8] = &[
        0x81, 201, 0x00, 0x07, // V=2 RC=1 RR, 7 words follow
        0x00, 0x00, 0x00, 0x2a, // reporter
        0x00, 0x00, 0x00, 0x63, // source
        0x19, 0xff, 0xff, 0xfe, // fraction 25, lost -2
        0x00, 0x01, 0x00, 0x05, // one cycle, highest 5
        0x00, 0x00, 0x00, 0xf0, // jitter
        0xb7, 0x05, 0x20, 0x00, // LSR
        0x00, 0x05, 0x40, 0x00, // DLSR
    ];
    let packets = parse_compound(bytes).unwrap();
    assert_eq!(
        packets,
        [RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 42,
            reports: vec![ReportBlock {
                ssrc: 99,
                fraction_lost: 25,
                cumulative_lost: -2,
                extended_highest_sequence: 0x0001_0005,
                jitter: 240,
                last_sender_report: 0xb705_2000,
                delay_since_last_sender_report: 0x0005_4000,
            }],
        })]
    );
    let mut out = Vec::new();
    write_compound(&packets, &mut out).unwrap();
    assert_eq!(out, bytes);
}

#[test]
fn sender_report_sdes_and_bye_round_trip() {
    let mut packets = compound();
    packets.push(RtcpPacket::Goodbye(Goodbye {
        sources: vec![0x1111],
        reason: Some("hung up".into()),
    }));
    let mut out = Vec::new();
    write_compound(&packets, &mut out).unwrap();
    assert_eq!(out.len() % 4, 0);
    let read = parse_compound(&out).unwrap();
    assert_eq!(read, packets);
    let RtcpPacket::SourceDescription(chunks) = &read[1] else {
        panic!("not SDES: {:?}", read[1]);
    };
    assert_eq!(chunks[0].canonical_name(), Some("amy@192.0.2.7"));
}

#[test]
fn sdes_chunks_pad_to_words_with_at_least_one_null() {
    // SSRC (4) + CNAME item (2 + 2) = 8: a full word of nulls follows.
    let packets = vec![
        RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 1,
            reports: vec![],
        }),
        RtcpPacket::SourceDescription(vec![
            SdesChunk::cname(1, "ab"),
            SdesChunk {
                ssrc: 2,
                items: vec![
                    SdesItem {
                        kind: 1,
                        text: "c".into(),
                    },
                    SdesItem {
                        kind: SDES_NAME,
                        text: "Dee".into(),
                    },
                ],
            },
        ]),
    ];
    let mut out = Vec::new();
    write_compound(&packets, &mut out).unwrap();
    let sdes = &out[8..];
    assert_eq!(&sdes[4..16], &[0, 0, 0, 1, 1, 2, b'a', b'b', 0, 0, 0, 0]);
    assert_eq!(parse_compound(&out).unwrap(), packets);
}

#[test]
fn padding_and_unknown_packet_types_are_read() {
    let mut out = Vec::new();
    write_compound(&compound(), &mut out).unwrap();
    // An RTPFB (RFC 4585) packet, padded with four octets.
    out.extend_from_slice(&[0xa1, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 4]);
    let packets = parse_compound(&out).unwrap();
    assert_eq!(
        packets[2],
        RtcpPacket::Other {
            packet_type: 205,
            count: 1,
            body: vec![0, 0, 0, 1, 0, 0, 0, 2],
        }
    );
}

#[test]
fn malformed_compounds_are_errors() {
    let mut good = Vec::new();
    write_compound(&compound(), &mut good).unwrap();

    assert_eq!(parse_compound(&[]), Err(RtpError::Empty));
    let mut version = good.clone();
    version[0] &= 0x3f;
    assert_eq!(parse_compound(&version), Err(RtpError::BadVersion(0)));
    assert!(matches!(
        parse_compound(&good[..good.len() - 1]),
        Err(RtpError::Truncated { .. })
    ));
    // SDES alone is not a compound.
    let sr_len = (usize::from(good[3]) + 1) * 4;
    assert_eq!(
        parse_compound(&good[sr_len..]),
        Err(RtpError::NotReportFirst(PACKET_TYPE_SDES))
    );
    // Padding on the first of two.
    let mut padded = good.clone();
    padded[0] |= 0x20;
    assert_eq!(parse_compound(&padded), Err(RtpError::PaddingNotLast));
    // RC says two blocks, the length holds one.
    let mut count = good.clone();
    count[0] += 1;
    assert!(matches!(
        parse_compound(&count),
        Err(RtpError::CountOverrun { .. })
    ));
    // An SDES item longer than its packet.
    let mut item = good.clone();
    item[sr_len + 9] = 200;
    assert!(matches!(
        parse_compound(&item),
        Err(RtpError::CountOverrun { .. })
    ));
    // A BYE reason longer than its packet.
    let bye = [
        0x80,
        201,
        0,
        1,
        0,
        0,
        0,
        1,
        0x81,
        PACKET_TYPE_BYE,
        0,
        2,
        0,
        0,
        0,
        1,
        9,
        b'x',
        0,
        0,
    ];
    assert!(matches!(
        parse_compound(&bye),
        Err(RtpError::CountOverrun { .. })
    ));
}

#[test]
fn unwritable_compounds_append_nothing() {
    let mut out = vec![7];
    let too_many = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 1,
        reports: vec![block(2, 0); 32],
    });
    assert!(matches!(
        write_compound(&[too_many], &mut out),
        Err(RtpError::TooManyItems { count: 32, .. })
    ));
    let mut long = compound();
    long[1] = RtcpPacket::SourceDescription(vec![SdesChunk::cname(1, &"x".repeat(256))]);
    assert_eq!(
        write_compound(&long, &mut out),
        Err(RtpError::TextTooLong(256))
    );
    let mut end = compound();
    end[1] = RtcpPacket::SourceDescription(vec![SdesChunk {
        ssrc: 1,
        items: vec![SdesItem {
            kind: 0,
            text: String::new(),
        }],
    }]);
    assert_eq!(write_compound(&end, &mut out), Err(RtpError::SdesEnd));
    let bye_first = [RtcpPacket::Goodbye(Goodbye::default())];
    assert_eq!(
        write_compound(&bye_first, &mut out),
        Err(RtpError::NotReportFirst(PACKET_TYPE_BYE))
    );
    assert_eq!(write_compound(&[], &mut out), Err(RtpError::Empty));
    assert_eq!(out, [7]);
}

#[test]
fn round_trip_time_of_the_rfc3550_example() {
    // §6.4.1's figure: A = b710:8000, LSR = b705:2000, DLSR = 0005:4000.
    let arrival = NtpTime(0xb710_8000 << 16);
    let report = block(1, 0);
    assert_eq!(
        round_trip_time(arrival, &report),
        Some(Duration::from_millis(6_125))
    );
    // No SR seen yet, or a block that would make time run backwards.
    let none = ReportBlock {
        last_sender_report: 0,
        ..report
    };
    assert_eq!(round_trip_time(arrival, &none), None);
    assert_eq!(round_trip_time(NtpTime(0xb705_2000 << 16), &report), None);
}

#[test]
fn ntp_time_from_the_unix_epoch() {
    assert_eq!(NtpTime::from_unix(Duration::ZERO).0, 2_208_988_800 << 32);
    let half = NtpTime::from_unix(Duration::from_millis(1_500));
    assert_eq!(half.0, ((2_208_988_801u64) << 32) | 0x8000_0000);
    assert_eq!(
        half.compact(),
        ((2_208_988_801u64 & 0xffff) << 16) as u32 | 0x8000
    );
}

#[test]
fn report_interval_is_randomised_around_five_seconds() {
    let mut rng = StdRng::seed_from_u64(6);
    let intervals: Vec<Duration> = (0..1_000).map(|_| rtcp_interval(false, &mut rng)).collect();
    assert!(intervals.iter().all(|t| *t >= Duration::from_millis(2_500)));
    assert!(intervals.iter().all(|t| *t < Duration::from_millis(7_500)));
    let mean = intervals.iter().sum::<Duration>() / 1_000;
    assert!(mean > Duration::from_millis(4_800) && mean < Duration::from_millis(5_200));
    let first = rtcp_interval(true, &mut rng);
    assert!(first >= Duration::from_millis(1_250) && first < Duration::from_millis(3_750));
    // Repeatable from the seed.
    let mut again = StdRng::seed_from_u64(6);
    assert_eq!(rtcp_interval(false, &mut again), intervals[0]);
}

#[test]
fn mutated_compounds_never_panic_and_what_parses_writes_back() {
    let mut packets = compound();
    packets.push(RtcpPacket::Goodbye(Goodbye {
        sources: vec![1, 2],
        reason: Some("bye".into()),
    }));
    let mut valid = Vec::new();
    write_compound(&packets, &mut valid).unwrap();
    for bytes in mutations(&valid, 3551, 5_000) {
        let Ok(read) = parse_compound(&bytes) else {
            continue;
        };
        let mut out = Vec::new();
        if write_compound(&read, &mut out).is_ok() {
            assert_eq!(parse_compound(&out).unwrap(), read);
        }
    }
}
