//! Dial-in: the keys a caller presses (RFC 4733 telephone-events), and
//! moving a leg from one conference's mixer into another's.

use super::*;
use crate::proto::dtmf;

const EVENT_PT: u8 = 101;

/// The RTP packets of one press of `digit` for 100 ms as a phone sends
/// them (RFC 4733 §2.5.1: updates, then the end three times), the event
/// starting at RTP timestamp `timestamp`, on `participant`'s SSRC and
/// sequence.
fn press(participant: &mut Participant, digit: char, timestamp: u32) -> Vec<Vec<u8>> {
    let packets = dtmf::encode_press(digit, Duration::from_millis(100), 8_000, 10).unwrap();
    packets
        .iter()
        .map(|packet| {
            let header = RtpHeader {
                marker: packet.marker,
                payload_type: EVENT_PT,
                sequence: participant.sequence,
                timestamp: timestamp.wrapping_add(packet.timestamp_offset),
                ssrc: 0x5000 + participant.leg as u32,
                ..RtpHeader::default()
            };
            participant.sequence = participant.sequence.wrapping_add(1);
            let mut datagram = Vec::new();
            rtp::write(&header, &packet.payload.to_bytes(), &mut datagram).unwrap();
            datagram
        })
        .collect()
}

/// An RTP packet of the telephone-event payload type with `payload`.
fn event_packet(sequence: u16, timestamp: u32, payload: &[u8]) -> Vec<u8> {
    let header = RtpHeader {
        payload_type: EVENT_PT,
        sequence,
        timestamp,
        ssrc: 0x5001,
        ..RtpHeader::default()
    };
    let mut datagram = Vec::new();
    rtp::write(&header, payload, &mut datagram).unwrap();
    datagram
}

/// A caller alone in its lobby, leg 1, Opus with telephone-events.
fn lobby() -> (ConferenceMedia, Participant) {
    let mut media = ConferenceMedia::new(MixerConfig::default(), 9);
    let caller = Participant::new(1, Codec::Opus, 440.0);
    media.open_leg("lobby-1", 1).unwrap();
    let audio = negotiated(caller.codec, caller.addr, Direction::SendRecv);
    media.start_leg(1, audio).unwrap();
    (media, caller)
}

fn deliver(media: &mut ConferenceMedia, leg: u64, time: Time, packets: &[Vec<u8>]) {
    for packet in packets {
        media.handle_packet(time, leg, packet);
    }
}

fn pressed(media: &mut ConferenceMedia) -> Vec<(u64, char)> {
    std::iter::from_fn(|| media.poll_dtmf()).collect()
}

#[test]
fn a_key_press_is_reported_once_however_often_its_end_is_sent() {
    let (mut media, mut caller) = lobby();
    let packets = press(&mut caller, '5', 80_000);
    // Updates, then the end three times (RFC 4733 §2.5.1.4).
    assert!(packets.len() >= 5);
    let (updates, ends) = packets.split_at(packets.len() - 3);
    deliver(&mut media, 1, at(0), &updates[..1]);
    assert_eq!(pressed(&mut media), [(1, '5')], "reported as it begins");
    deliver(&mut media, 1, at(1), &updates[1..]);
    deliver(&mut media, 1, at(5), ends);
    // A network that duplicates: the ends come again, an update late.
    deliver(&mut media, 1, at(6), ends);
    deliver(&mut media, 1, at(7), &updates[1..2]);
    assert_eq!(pressed(&mut media), []);
    let stats = media.leg(1).unwrap().stats();
    assert_eq!(stats.events_received, packets.len() as u64 + 4);
    assert_eq!(stats.packets_dropped, 0);
}

#[test]
fn two_presses_of_the_same_key_count_twice_and_in_order() {
    let (mut media, mut caller) = lobby();
    // A code and '#': the same key twice in a row, told apart by the new
    // event's timestamp (RFC 4733 §2.5.2).
    let mut timestamp = 16_000u32;
    for (frame, digit) in (0..).step_by(10).zip(['4', '2', '2', '#']) {
        let packets = press(&mut caller, digit, timestamp);
        deliver(&mut media, 1, at(frame), &packets);
        timestamp = timestamp.wrapping_add(1_600);
    }
    assert_eq!(
        pressed(&mut media),
        [(1, '4'), (1, '2'), (1, '2'), (1, '#')]
    );
    // A press whose end packets were all lost is reported all the same,
    // and the next press after it too.
    let mut lost_end = press(&mut caller, '9', timestamp);
    lost_end.truncate(lost_end.len() - 3);
    deliver(&mut media, 1, at(50), &lost_end);
    let next = press(&mut caller, '9', timestamp.wrapping_add(1_600));
    deliver(&mut media, 1, at(60), &next);
    assert_eq!(pressed(&mut media), [(1, '9'), (1, '9')]);
}

#[test]
fn garbage_event_payloads_are_dropped_and_the_next_key_still_heard() {
    let (mut media, mut caller) = lobby();
    let mut rng = StdRng::seed_from_u64(4733);
    for sequence in 0..3000u16 {
        // Short payloads, and events that are no DTMF key (§3: 16 and up
        // are flash and others): nothing to report.
        let len = rng.random_range(0..12);
        let mut payload: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        if let Some(event) = payload.first_mut().filter(|_| len >= 4) {
            *event = rng.random_range(16..=255);
        }
        let timestamp = rng.random_range(0..4u32);
        media.handle_packet(at(0), 1, &event_packet(sequence, timestamp, &payload));
    }
    assert_eq!(pressed(&mut media), []);
    let stats = media.leg(1).unwrap().stats();
    assert!(stats.packets_dropped > 500, "{stats:?}");
    assert_eq!(stats.jitter.received, 0, "none of it reached the mix");

    let packets = press(&mut caller, '#', 9_999);
    deliver(&mut media, 1, at(1), &packets);
    assert_eq!(pressed(&mut media), [(1, '#')]);
}

#[test]
fn events_are_never_mixed_and_audio_between_them_is() {
    let mut media = ConferenceMedia::new(MixerConfig::default(), 2);
    let mut participants = vec![
        Participant::new(1, Codec::Opus, 440.0),
        Participant::new(2, Codec::Pcmu, 1000.0),
    ];
    for participant in &participants {
        media.open_leg("c", participant.leg).unwrap();
        let audio = negotiated(participant.codec, participant.addr, Direction::SendRecv);
        media.start_leg(participant.leg, audio).unwrap();
    }
    let mut timestamp = 0u32;
    for round in 0..4 {
        run(&mut media, &mut participants, round * 30, round * 30 + 25);
        let digit = char::from(b'1' + round as u8);
        let packets = press(&mut participants[1], digit, timestamp);
        deliver(&mut media, 2, at(round * 30 + 25), &packets);
        timestamp = timestamp.wrapping_add(8_000);
    }
    assert_eq!(
        pressed(&mut media),
        [(2, '1'), (2, '2'), (2, '3'), (2, '4')]
    );
    let stats = media.leg(2).unwrap().stats();
    assert_eq!(stats.jitter.received, 100, "the audio only");
    assert_eq!(
        stats.packets_received,
        100 + stats.events_received,
        "{stats:?}"
    );
    assert!(participants[0].hears(1000.0, 20) > HEARD);
}

#[test]
fn events_are_read_only_while_negotiated_and_a_reinvite_does_not_repeat_one() {
    let (mut media, mut caller) = lobby();
    let packets = press(&mut caller, '3', 500);
    let (first, rest) = packets.split_at(2);
    deliver(&mut media, 1, at(0), first);
    // A re-INVITE (here to the same session) in the middle of the press.
    let audio = negotiated(caller.codec, caller.addr, Direction::SendRecv);
    media.start_leg(1, audio.clone()).unwrap();
    deliver(&mut media, 1, at(1), rest);
    assert_eq!(pressed(&mut media), [(1, '3')]);

    // Without telephone-event the payload type is foreign.
    let without = NegotiatedAudio {
        telephone_event: None,
        ..audio.clone()
    };
    media.start_leg(1, without).unwrap();
    let dropped = media.leg(1).unwrap().stats().packets_dropped;
    let packets = press(&mut caller, '6', 4_000);
    deliver(&mut media, 1, at(10), &packets);
    assert_eq!(pressed(&mut media), []);
    let stats = media.leg(1).unwrap().stats();
    assert_eq!(stats.packets_dropped, dropped + packets.len() as u64);

    // Negotiated again: read again.
    media.start_leg(1, audio).unwrap();
    let packets = press(&mut caller, '6', 8_000);
    deliver(&mut media, 1, at(20), &packets);
    assert_eq!(pressed(&mut media), [(1, '6')]);
}

/// Conference "a": legs 1 (440 Hz) and 2 (660 Hz); conference "b": legs 3
/// (1000 Hz) and 4 (1400 Hz, PCMU). All send-receive.
fn two_conferences() -> (ConferenceMedia, Vec<Participant>) {
    let mut media = ConferenceMedia::new(MixerConfig::default(), 8);
    let participants = vec![
        Participant::new(1, Codec::Opus, 440.0),
        Participant::new(2, Codec::Opus, 660.0),
        Participant::new(3, Codec::Opus, 1000.0),
        Participant::new(4, Codec::Pcmu, 1400.0),
    ];
    for participant in &participants {
        let key = if participant.leg <= 2 { "a" } else { "b" };
        media.open_leg(key, participant.leg).unwrap();
        let audio = negotiated(participant.codec, participant.addr, Direction::SendRecv);
        media.start_leg(participant.leg, audio).unwrap();
    }
    (media, participants)
}

#[test]
fn a_moved_leg_hears_the_new_conference_and_not_the_old_one() {
    let (mut media, mut participants) = two_conferences();
    run(&mut media, &mut participants, 0, 60);
    assert!(participants[1].hears(440.0, 40) > HEARD);
    assert!(participants[1].hears(1000.0, 40) < NOT_HEARD);
    let before = participants[1].headers.len();

    media.move_leg(2, "b").unwrap();
    assert_eq!(media.leg(2).unwrap().conference(), "b");
    run(&mut media, &mut participants, 60, 140);
    let moved = &participants[1];
    assert!(moved.hears(1000.0, 40) > HEARD);
    assert!(moved.hears(1400.0, 40) > HEARD);
    assert!(moved.hears(440.0, 40) < NOT_HEARD, "still hears leg 1");
    assert_eq!(moved.last_csrcs(), vec![3, 4]);
    for listener in [&participants[2], &participants[3]] {
        assert!(listener.hears(660.0, 40) > HEARD, "leg {}", listener.leg);
        assert!(listener.last_csrcs().contains(&2));
    }
    // Leg 1 is left alone: it hears nobody.
    assert!(participants[0].hears(660.0, 40) < NOT_HEARD);
    assert_eq!(participants[0].last_csrcs(), Vec::<u32>::new());

    // One stream throughout: SSRC, sequence and clock run on; the first
    // packet of the new mix is marked.
    let headers = &participants[1].headers;
    assert_eq!(headers.len(), 140, "one packet a tick, none lost");
    for (n, pair) in headers.windows(2).enumerate() {
        let ((_, pt, seq, ts, ssrc, _), (marker, next_pt, next_seq, next_ts, next_ssrc, _)) =
            (&pair[0], &pair[1]);
        assert_eq!((pt, ssrc), (next_pt, next_ssrc));
        assert_eq!(*next_seq, seq.wrapping_add(1));
        assert_eq!(*next_ts, ts.wrapping_add(960));
        assert_eq!(*marker, n + 1 == before, "packet {}", n + 1);
    }
}

#[test]
fn moving_a_lobby_leg_drops_the_lobby_and_makes_the_conference() {
    let (mut media, caller) = lobby();
    let mut participants = vec![caller, Participant::new(2, Codec::Pcmu, 1000.0)];
    media.open_leg("c", 2).unwrap();
    let audio = negotiated(Codec::Pcmu, participants[1].addr, Direction::SendRecv);
    media.start_leg(2, audio).unwrap();
    assert!(matches!(
        media.move_leg(7, "c"),
        Err(ConferenceLegError::UnknownLeg(7))
    ));
    // Into the conference it is in: nothing changes.
    media.move_leg(2, "c").unwrap();

    media.move_leg(1, "c").unwrap();
    assert_eq!(media.conferences().collect::<Vec<_>>(), ["c"]);
    run(&mut media, &mut participants, 0, 60);
    assert!(participants[0].hears(1000.0, 40) > HEARD);
    assert!(participants[1].hears(440.0, 40) > HEARD);

    // Out again into a conference nobody is in yet: it is made, and "c"
    // stays for leg 2.
    media.move_leg(1, "d").unwrap();
    let mut keys: Vec<_> = media.conferences().collect();
    keys.sort_unstable();
    assert_eq!(keys, ["c", "d"]);
    run(&mut media, &mut participants, 60, 120);
    assert!(participants[0].hears(1000.0, 40) < NOT_HEARD);
    assert!(participants[1].hears(440.0, 40) < NOT_HEARD);
}

#[test]
fn a_moved_leg_keeps_its_block_and_hold_and_an_unstarted_one_waits() {
    let (mut media, mut participants) = two_conferences();
    // Leg 1 blocked by a leader; leg 2 holds (we answer recvonly).
    media.filter_leg(1, true).unwrap();
    let held = negotiated(Codec::Opus, participants[1].addr, Direction::RecvOnly);
    media.start_leg(2, held).unwrap();
    run(&mut media, &mut participants, 0, 20);
    let sent_to_2 = participants[1].headers.len();
    media.move_leg(1, "b").unwrap();
    media.move_leg(2, "b").unwrap();
    assert_eq!(media.conferences().collect::<Vec<_>>(), ["b"]);
    run(&mut media, &mut participants, 20, 100);
    for listener in [&participants[2], &participants[3]] {
        assert!(listener.hears(440.0, 40) < NOT_HEARD, "the block moved");
        assert!(listener.hears(660.0, 40) > HEARD, "the holder is heard");
    }
    assert!(participants[0].hears(1000.0, 40) > HEARD, "blocked, hears");
    assert_eq!(participants[1].headers.len(), sent_to_2, "held: nothing");

    // A leg opened but not started moves as a member only, and is mixed
    // where it is once started (in the place of the holder, who falls
    // silent: three talkers are mixed).
    let late = Participant::new(5, Codec::Opus, 1800.0);
    media.open_leg("lobby-5", 5).unwrap();
    media.move_leg(5, "b").unwrap();
    assert_eq!(media.conferences().collect::<Vec<_>>(), ["b"]);
    let audio = negotiated(Codec::Opus, late.addr, Direction::SendRecv);
    media.start_leg(5, audio).unwrap();
    participants.push(late);
    participants[1].silent = true;
    run(&mut media, &mut participants, 100, 180);
    assert!(participants[4].hears(1000.0, 40) > HEARD);
    assert!(participants[2].hears(1800.0, 40) > HEARD);
}
