use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Feeds a press's packets, at RTP timestamp `start`, to `receiver`.
fn feed(receiver: &mut DtmfReceiver, packets: &[EventPacket], start: u32) {
    for packet in packets {
        let timestamp = start.wrapping_add(packet.timestamp_offset);
        receiver
            .handle_packet(timestamp, &packet.payload.to_bytes())
            .unwrap();
    }
}

fn drain(receiver: &mut DtmfReceiver) -> Vec<DtmfEvent> {
    std::iter::from_fn(|| receiver.poll_event()).collect()
}

fn began(digit: char) -> DtmfEvent {
    DtmfEvent::Began {
        event: event_for_digit(digit).unwrap(),
        digit: Some(digit),
    }
}

fn ended(digit: char, duration: Duration) -> DtmfEvent {
    DtmfEvent::Ended {
        event: event_for_digit(digit).unwrap(),
        digit: Some(digit),
        duration,
    }
}

#[test]
fn payload_layout_of_rfc4733() {
    let payload = EventPayload {
        event: 5,
        end: true,
        volume: 10,
        duration: 800,
    };
    assert_eq!(payload.to_bytes(), [5, 0x8a, 0x03, 0x20]);
    assert_eq!(
        EventPayload::parse(&[5, 0x8a, 0x03, 0x20, 0xff]),
        Ok(payload)
    );
    // The R bit is ignored on reading.
    assert_eq!(EventPayload::parse(&[5, 0xca, 0x03, 0x20]), Ok(payload));
    assert_eq!(
        EventPayload::parse(&[5, 0x8a, 0x03]),
        Err(DtmfError::Truncated(3))
    );
}

#[test]
fn digits_and_their_event_codes() {
    for (code, digit) in "0123456789*#ABCD".chars().enumerate() {
        assert_eq!(event_for_digit(digit), Some(code as u8));
        assert_eq!(digit_for_event(code as u8), Some(digit));
    }
    assert_eq!(event_for_digit('d'), Some(15));
    assert_eq!(event_for_digit('x'), None);
    assert_eq!(event_for_digit('٣'), None);
    // 16 is flash: an event, not a key.
    assert_eq!(digit_for_event(16), None);
    assert_eq!(
        encode_press('x', ms(100), 8000, DEFAULT_VOLUME),
        Err(DtmfError::UnknownDigit('x'))
    );
    assert_eq!(
        encode_press('1', ms(100), 0, DEFAULT_VOLUME),
        Err(DtmfError::BadClockRate)
    );
}

#[test]
fn a_press_is_marker_updates_and_three_ends() {
    let packets = encode_press('5', ms(120), 8000, DEFAULT_VOLUME).unwrap();
    let summary: Vec<(u64, bool, bool, u16)> = packets
        .iter()
        .map(|p| {
            (
                p.offset.as_millis() as u64,
                p.marker,
                p.payload.end,
                p.payload.duration,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (0, true, false, 400),
            (50, false, false, 800),
            (100, false, false, 960),
            (120, false, true, 960),
            (170, false, true, 960),
            (220, false, true, 960),
        ]
    );
    assert!(packets.iter().all(|p| p.payload.event == 5));
    assert!(packets.iter().all(|p| p.payload.volume == DEFAULT_VOLUME));
    assert!(packets.iter().all(|p| p.timestamp_offset == 0));
}

#[test]
fn short_presses_last_the_shortest_digit() {
    let packets = encode_press('#', ms(5), 8000, 99).unwrap();
    assert_eq!(packets.len(), 4);
    assert!(packets.iter().all(|p| p.payload.duration == 320));
    assert!(packets.iter().all(|p| p.payload.volume == 63));
    assert_eq!(packets[1].offset, ms(40));
}

#[test]
fn a_long_press_at_48_khz_goes_in_segments() {
    // 2 s at 48 kHz is 96000 units: 65535 and 30465.
    let packets = encode_press('0', ms(2_000), 48_000, DEFAULT_VOLUME).unwrap();
    assert_eq!(packets.iter().filter(|p| p.marker).count(), 1);
    assert!(packets[0].marker);
    assert!(packets.windows(2).all(|w| w[0].offset <= w[1].offset));
    let second: Vec<_> = packets
        .iter()
        .filter(|p| p.timestamp_offset == 65_535)
        .collect();
    let first: Vec<_> = packets.iter().filter(|p| p.timestamp_offset == 0).collect();
    assert_eq!(first.len() + second.len(), packets.len());
    assert!(first.iter().all(|p| !p.payload.end));
    assert_eq!(
        first
            .iter()
            .filter(|p| p.payload.duration == u16::MAX)
            .count(),
        3
    );
    let ends: Vec<_> = second.iter().filter(|p| p.payload.end).collect();
    assert_eq!(ends.len(), 3);
    assert!(ends.iter().all(|p| p.payload.duration == 30_465));
    assert_eq!(ends[0].offset, ms(2_000));

    let mut receiver = DtmfReceiver::new(48_000);
    feed(&mut receiver, &packets, u32::MAX - 1_000);
    assert_eq!(drain(&mut receiver), [began('0'), ended('0', ms(2_000))]);
}

#[test]
fn the_receiver_reports_each_press_once() {
    let mut receiver = DtmfReceiver::new(8000);
    let five = encode_press('5', ms(100), 8000, DEFAULT_VOLUME).unwrap();
    feed(&mut receiver, &five, 16_000);
    // The same key again is a new event: a new timestamp.
    feed(&mut receiver, &five, 18_000);
    assert_eq!(
        drain(&mut receiver),
        [
            began('5'),
            ended('5', ms(100)),
            began('5'),
            ended('5', ms(100))
        ]
    );
    // An update straggling in after its end changes nothing.
    receiver
        .handle_packet(18_000, &five[1].payload.to_bytes())
        .unwrap();
    assert_eq!(receiver.poll_event(), None);
}

#[test]
fn lost_packets_still_give_whole_presses() {
    let mut receiver = DtmfReceiver::new(8000);
    let one = encode_press('1', ms(200), 8000, DEFAULT_VOLUME).unwrap();
    let two = encode_press('2', ms(100), 8000, DEFAULT_VOLUME).unwrap();
    // All three ends of '1' lost; only its first two updates came.
    feed(&mut receiver, &one[..2], 0);
    // The start of '2' lost; updates arrive out of order.
    feed(&mut receiver, &[two[1], two[0]], 4_000);
    feed(&mut receiver, &two[2..], 4_000);
    assert_eq!(
        drain(&mut receiver),
        [
            began('1'),
            ended('1', ms(100)),
            began('2'),
            ended('2', ms(100))
        ]
    );
    // Only an end heard: the press still begins and ends.
    let star = encode_press('*', ms(80), 8000, DEFAULT_VOLUME).unwrap();
    let last = star.len() - 1;
    feed(&mut receiver, &star[last..], 9_000);
    assert_eq!(drain(&mut receiver), [began('*'), ended('*', ms(80))]);
}

#[test]
fn garbage_never_panics() {
    let mut receiver = DtmfReceiver::new(8000);
    let mut state = 0x4733u32;
    for n in 0..5_000u32 {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let bytes = state.to_be_bytes();
        let len = (n % 6) as usize;
        let payload: Vec<u8> = bytes.iter().copied().cycle().take(len).collect();
        let result = receiver.handle_packet(state >> (n % 32), &payload);
        assert_eq!(result.is_err(), len < PAYLOAD_LEN);
    }
    while receiver.poll_event().is_some() {}
}
