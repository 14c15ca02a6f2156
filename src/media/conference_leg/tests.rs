use std::f64::consts::TAU;
use std::time::Duration;

use rand::{Rng, SeedableRng};

use super::*;
use crate::media::codec::{AudioDecoder, AudioEncoder, OpusConfig};
use crate::media::mixer::MixerConfig;
use crate::media::{FRAME_SAMPLES, Frame, SAMPLE_RATE, SILENCE};
use crate::proto::sdp::{AudioCodec, CodecChoice, Direction, TelephoneEvent};

const OPUS_PT: u8 = 111;

fn negotiated(codec: Codec, remote: SocketAddr, direction: Direction) -> NegotiatedAudio {
    let (codec, payload_type, clock_rate, channels) = match codec {
        Codec::Opus => (AudioCodec::Opus, OPUS_PT, 48_000, 2),
        Codec::Pcmu => (AudioCodec::Pcmu, 0, 8_000, 1),
    };
    NegotiatedAudio {
        remote,
        remote_rtcp: SocketAddr::new(remote.ip(), remote.port() + 1),
        codec: CodecChoice {
            codec,
            payload_type,
            clock_rate,
            channels,
            fmtp: None,
        },
        telephone_event: Some(TelephoneEvent {
            payload_type: 101,
            clock_rate: 8_000,
        }),
        direction,
        remote_ptime: Some(20),
        csrc_audio_level: None,
    }
}

fn at(frame: u64) -> Time {
    Time::ZERO + Duration::from_millis(20 * frame)
}

/// A tone under a 3 Hz envelope: Opus's voice-activity flag keeps calling
/// it speech, as it would not a steady tone, so the mixer keeps mixing it.
fn tone(hz: f64, frame: u64) -> Frame {
    let mut out = SILENCE;
    for (n, sample) in out.iter_mut().enumerate() {
        let t = (frame as f64 * FRAME_SAMPLES as f64 + n as f64) / f64::from(SAMPLE_RATE);
        let envelope = 0.75 + 0.25 * (TAU * 3.0 * t).sin();
        *sample = (8000.0 * envelope * (TAU * hz * t).sin()) as i16;
    }
    out
}

/// The strength of `hz` in `samples` (Goertzel), as a fraction of full
/// scale.
fn tone_level(samples: &[i16], hz: f64) -> f64 {
    let coefficient = 2.0 * (TAU * hz / f64::from(SAMPLE_RATE)).cos();
    let (mut previous, mut before) = (0.0, 0.0);
    for &sample in samples {
        let current = f64::from(sample) / 32768.0 + coefficient * previous - before;
        before = previous;
        previous = current;
    }
    let power = previous * previous + before * before - coefficient * previous * before;
    2.0 * power.max(0.0).sqrt() / samples.len() as f64
}

/// A participant at the far end of one leg: sends its tone as RTP, decodes
/// what the MCU sends it.
struct Participant {
    leg: u64,
    addr: SocketAddr,
    hz: f64,
    codec: Codec,
    payload_type: u8,
    encoder: Box<dyn AudioEncoder>,
    decoder: Box<dyn AudioDecoder>,
    sequence: u16,
    payload: Vec<u8>,
    /// Decoded audio, one frame per packet received.
    heard: Vec<i16>,
    /// Every packet's RTP header fields: (marker, pt, seq, ts, ssrc, csrcs).
    headers: Vec<(bool, u8, u16, u32, u32, Vec<u32>)>,
    /// Every packet's header extension: (profile, data).
    extensions: Vec<Option<(u16, Vec<u8>)>>,
    silent: bool,
    /// What its tone is scaled by.
    gain: f64,
}

impl Participant {
    fn new(leg: u64, codec: Codec, hz: f64) -> Self {
        Participant {
            leg,
            addr: SocketAddr::from(([10, 0, 0, leg as u8], 4000)),
            hz,
            codec,
            payload_type: if codec == Codec::Opus { OPUS_PT } else { 0 },
            encoder: codec.encoder(&OpusConfig::default()).unwrap(),
            decoder: codec.decoder().unwrap(),
            sequence: 1000,
            payload: Vec::new(),
            heard: Vec::new(),
            headers: Vec::new(),
            extensions: Vec::new(),
            silent: false,
            gain: 1.0,
        }
    }

    fn packet(&mut self, frame: u64) -> Vec<u8> {
        let mut pcm = if self.silent {
            SILENCE
        } else {
            tone(self.hz, frame)
        };
        for sample in &mut pcm {
            *sample = (f64::from(*sample) * self.gain) as i16;
        }
        self.encoder.encode(&pcm, &mut self.payload).unwrap();
        let header = RtpHeader {
            payload_type: self.payload_type,
            sequence: self.sequence,
            timestamp: (frame as u32).wrapping_mul(self.codec.timestamp_increment()),
            ssrc: 0x5000 + self.leg as u32,
            ..RtpHeader::default()
        };
        self.sequence = self.sequence.wrapping_add(1);
        let mut datagram = Vec::new();
        rtp::write(&header, &self.payload, &mut datagram).unwrap();
        datagram
    }

    fn receive(&mut self, to: SocketAddr, datagram: &[u8]) {
        assert_eq!(to, self.addr, "leg {}'s packet went elsewhere", self.leg);
        let packet = rtp::parse(datagram).unwrap();
        let header = packet.header;
        self.extensions.push(
            header
                .extension
                .map(|extension| (extension.profile, extension.data.to_vec())),
        );
        self.headers.push((
            header.marker,
            header.payload_type,
            header.sequence,
            header.timestamp,
            header.ssrc,
            header.csrcs,
        ));
        let mut pcm = SILENCE;
        self.decoder.decode(packet.payload, &mut pcm).unwrap();
        self.heard.extend_from_slice(&pcm);
    }

    /// The level of `hz` in the last `frames` frames heard.
    fn hears(&self, hz: f64, frames: usize) -> f64 {
        let start = self.heard.len().saturating_sub(frames * FRAME_SAMPLES);
        tone_level(&self.heard[start..], hz)
    }

    fn last_csrcs(&self) -> Vec<u32> {
        let mut csrcs = self.headers.last().unwrap().5.clone();
        csrcs.sort_unstable();
        csrcs
    }
}

/// Runs frames `from..to`: every participant sends, the MCU ticks, every
/// packet is delivered 5 ms later in the same frame.
fn run(media: &mut ConferenceMedia, participants: &mut [Participant], from: u64, to: u64) {
    for frame in from..to {
        for participant in participants.iter_mut() {
            let datagram = participant.packet(frame);
            media.handle_packet(at(frame), participant.leg, &datagram);
        }
        media.tick(at(frame) + Duration::from_millis(5));
        for (leg, to, datagram) in media.transmits() {
            let participant = participants.iter_mut().find(|p| p.leg == leg).unwrap();
            participant.receive(to, datagram);
        }
    }
}

/// Runs frames `from..to` as [`run`] does, and after each tick takes the
/// RTCP reports that fell due, as the MCU does: each with its frame.
fn run_reporting(
    media: &mut ConferenceMedia,
    participants: &mut [Participant],
    from: u64,
    to: u64,
    wall: NtpTime,
) -> Vec<(u64, u64, SocketAddr, Vec<u8>)> {
    let mut reports = Vec::new();
    for frame in from..to {
        run(media, participants, frame, frame + 1);
        for (leg, address, datagram) in media.rtcp_reports(at(frame), wall) {
            reports.push((frame, leg, address, datagram));
        }
    }
    reports
}

/// Participant 1's receiver report, with `block` on what leg 1 sends it.
fn answer_of_participant_1(block: rtp::ReportBlock) -> Vec<u8> {
    let answer = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 0x5001,
        reports: vec![block],
    });
    let mut datagram = Vec::new();
    rtp::write_compound(&[answer], &mut datagram).unwrap();
    datagram
}

/// Legs 1 and 2 in Opus (440 and 660 Hz), leg 3 in PCMU (1000 Hz), all in
/// conference "c", started send-receive.
fn conference() -> (ConferenceMedia, Vec<Participant>) {
    let mut media = ConferenceMedia::new(MixerConfig::default(), 7);
    let participants = vec![
        Participant::new(1, Codec::Opus, 440.0),
        Participant::new(2, Codec::Opus, 660.0),
        Participant::new(3, Codec::Pcmu, 1000.0),
    ];
    for participant in &participants {
        media.open_leg("c", participant.leg).unwrap();
        let audio = negotiated(participant.codec, participant.addr, Direction::SendRecv);
        media.start_leg(participant.leg, audio).unwrap();
    }
    (media, participants)
}

const HEARD: f64 = 0.05;
const NOT_HEARD: f64 = 0.01;

#[test]
fn each_leg_hears_the_other_two_and_not_itself_across_codecs() {
    let (mut media, mut participants) = conference();
    run(&mut media, &mut participants, 0, 100);
    for listener in &participants {
        for talker in &participants {
            let level = listener.hears(talker.hz, 50);
            if talker.leg == listener.leg {
                assert!(
                    level < NOT_HEARD,
                    "leg {} hears itself: {level}",
                    listener.leg
                );
            } else {
                assert!(
                    level > HEARD,
                    "leg {} hears leg {} at {level}",
                    listener.leg,
                    talker.leg
                );
            }
        }
        let others: Vec<u32> = (1..=3).filter(|&leg| leg != listener.leg as u32).collect();
        assert_eq!(listener.last_csrcs(), others, "leg {}", listener.leg);
        assert_eq!(
            listener.heard.len(),
            100 * FRAME_SAMPLES,
            "one packet a tick"
        );
    }
}

#[test]
fn audio_levels_go_with_the_csrcs_to_the_legs_that_negotiated_them() {
    let mut media = ConferenceMedia::new(MixerConfig::default(), 5);
    let mut participants = vec![
        Participant::new(1, Codec::Opus, 440.0),
        Participant::new(2, Codec::Opus, 660.0),
        Participant::new(3, Codec::Pcmu, 1000.0),
    ];
    // Leg 2 speaks 18 dB below the others.
    participants[1].gain = 0.125;
    let ids = [Some(4), Some(1), None];
    for (participant, id) in participants.iter().zip(ids) {
        media.open_leg("c", participant.leg).unwrap();
        let mut audio = negotiated(participant.codec, participant.addr, Direction::SendRecv);
        audio.csrc_audio_level = id;
        media.start_leg(participant.leg, audio).unwrap();
    }
    run(&mut media, &mut participants, 0, 60);

    for (participant, id) in participants.iter().zip(ids) {
        let mut with_levels = 0;
        for (header, extension) in participant.headers.iter().zip(&participant.extensions) {
            let csrcs = &header.5;
            let Some(id) = id.filter(|_| !csrcs.is_empty()) else {
                assert_eq!(extension, &None, "leg {}", participant.leg);
                continue;
            };
            let (profile, data) = extension.as_ref().expect("levels with the CSRCs");
            let extension = rtp::HeaderExtension {
                profile: *profile,
                data,
            };
            let element = rtp::find_one_byte(&extension, id).unwrap().unwrap();
            let levels: Vec<u8> = rtp::csrc_audio_levels(element)
                .map(rtp::AudioLevel::minus_dbov)
                .collect();
            assert_eq!(levels.len(), csrcs.len(), "one level per CSRC");
            with_levels += 1;
        }
        if id.is_some() {
            assert!(with_levels > 50, "leg {}: {with_levels}", participant.leg);
        }
    }

    // The last packet to each leg: levels in CSRC order, the quiet talker
    // (leg 2) about 18 dB below the others (leg 1 at 8000 of 32768 reads
    // -15 to -21 dBov along its envelope).
    let levels_heard = |participant: &Participant, id: u8| -> Vec<(u32, u8)> {
        let (profile, data) = participant.extensions.last().unwrap().clone().unwrap();
        let extension = rtp::HeaderExtension {
            profile,
            data: &data,
        };
        let element = rtp::find_one_byte(&extension, id).unwrap().unwrap();
        let csrcs = participant.headers.last().unwrap().5.clone();
        csrcs
            .into_iter()
            .zip(rtp::csrc_audio_levels(element).map(rtp::AudioLevel::minus_dbov))
            .collect()
    };
    let at_1 = levels_heard(&participants[0], 4);
    let level_of = |heard: &[(u32, u8)], csrc| heard.iter().find(|(c, _)| *c == csrc).unwrap().1;
    assert_eq!(at_1.len(), 2);
    let (quiet, loud) = (level_of(&at_1, 2), level_of(&at_1, 3));
    assert!((13..=23).contains(&loud), "{at_1:?}");
    assert!(quiet >= loud + 12, "{at_1:?}");
    let at_2 = levels_heard(&participants[1], 1);
    assert_eq!(at_2.len(), 2);
    for (csrc, level) in at_2 {
        assert!((13..=23).contains(&level), "leg {csrc}: {level}");
    }
    assert!(participants[2].extensions.iter().all(Option::is_none));
}

#[test]
fn each_leg_has_its_own_stream_in_its_own_codec() {
    let (mut media, mut participants) = conference();
    run(&mut media, &mut participants, 0, 20);
    let mut ssrcs = Vec::new();
    for participant in &participants {
        let leg = media.leg(participant.leg).unwrap();
        let increment = participant.codec.timestamp_increment();
        let first = &participant.headers[0];
        assert!(first.0, "the first packet is marked");
        for (n, header) in participant.headers.iter().enumerate() {
            let n = n as u32;
            assert_eq!(header.1, participant.payload_type);
            assert_eq!(header.2, first.2.wrapping_add(n as u16));
            assert_eq!(header.3, first.3.wrapping_add(n * increment));
            assert_eq!(header.4, leg.ssrc());
            assert_eq!(header.0, n == 0, "only the first packet is marked");
        }
        ssrcs.push(leg.ssrc());
        assert_eq!(leg.stats().packets_sent, 20);
        assert_eq!(leg.stats().packets_received, 20);
    }
    ssrcs.dedup();
    assert_eq!(ssrcs.len(), 3);
}

#[test]
fn a_blocked_leg_is_not_mixed_but_still_hears() {
    let (mut media, mut participants) = conference();
    run(&mut media, &mut participants, 0, 50);
    media.filter_leg(2, true).unwrap();
    run(&mut media, &mut participants, 50, 100);
    for listener in [&participants[0], &participants[2]] {
        assert!(
            listener.hears(660.0, 45) < NOT_HEARD,
            "leg {}",
            listener.leg
        );
        assert!(!listener.last_csrcs().contains(&2));
    }
    assert!(participants[1].hears(440.0, 45) > HEARD);
    assert!(participants[1].hears(1000.0, 45) > HEARD);
    assert_eq!(participants[1].last_csrcs(), vec![1, 3]);

    media.filter_leg(2, false).unwrap();
    run(&mut media, &mut participants, 100, 150);
    assert!(participants[0].hears(660.0, 40) > HEARD, "unblocked");
    assert_eq!(participants[0].last_csrcs(), vec![2, 3]);
}

#[test]
fn a_leg_blocked_before_it_starts_stays_blocked_when_it_starts() {
    let mut media = ConferenceMedia::new(MixerConfig::default(), 1);
    let mut participants = vec![
        Participant::new(1, Codec::Opus, 440.0),
        Participant::new(2, Codec::Opus, 660.0),
    ];
    media.open_leg("c", 1).unwrap();
    media.open_leg("c", 2).unwrap();
    media.filter_leg(2, true).unwrap();
    for participant in &participants {
        let audio = negotiated(participant.codec, participant.addr, Direction::SendRecv);
        media.start_leg(participant.leg, audio).unwrap();
    }
    run(&mut media, &mut participants, 0, 60);
    assert!(participants[0].hears(660.0, 40) < NOT_HEARD);
    assert!(participants[1].hears(440.0, 40) > HEARD);
}

#[test]
fn on_hold_a_leg_is_sent_nothing_and_inactive_is_not_heard() {
    let (mut media, mut participants) = conference();
    run(&mut media, &mut participants, 0, 20);
    // Leg 2 holds (sendonly): we answer recvonly, and only listen.
    let held = negotiated(Codec::Opus, participants[1].addr, Direction::RecvOnly);
    media.start_leg(2, held).unwrap();
    let before = participants[1].headers.len();
    run(&mut media, &mut participants, 20, 80);
    assert_eq!(
        participants[1].headers.len(),
        before,
        "nothing to the holder"
    );
    assert!(
        participants[0].hears(660.0, 40) > HEARD,
        "the holder still heard"
    );

    let inactive = negotiated(Codec::Opus, participants[1].addr, Direction::Inactive);
    media.start_leg(2, inactive).unwrap();
    run(&mut media, &mut participants, 80, 140);
    assert!(participants[0].hears(660.0, 40) < NOT_HEARD);
    assert_eq!(participants[1].headers.len(), before);

    // Resumed: the stream goes on (same SSRC), its first packet marked.
    let resumed = negotiated(Codec::Opus, participants[1].addr, Direction::SendRecv);
    media.start_leg(2, resumed).unwrap();
    run(&mut media, &mut participants, 140, 200);
    let resumed = &participants[1].headers[before];
    assert!(resumed.0, "a new talk spurt is marked");
    assert_eq!(resumed.4, participants[1].headers[0].4);
    let gap = resumed
        .3
        .wrapping_sub(participants[1].headers[before - 1].3);
    assert_eq!(gap, 121 * 960, "the clock ran on during the hold");
    assert!(participants[1].hears(440.0, 40) > HEARD);
    assert!(participants[0].hears(660.0, 30) > HEARD);
}

#[test]
fn a_reinvite_to_another_codec_keeps_the_stream_going() {
    let (mut media, mut participants) = conference();
    run(&mut media, &mut participants, 0, 40);
    let ssrc = media.leg(3).unwrap().ssrc();
    let before = participants[2].headers.len();
    participants[2] = Participant {
        headers: std::mem::take(&mut participants[2].headers),
        ..Participant::new(3, Codec::Opus, 1000.0)
    };
    media
        .start_leg(
            3,
            negotiated(Codec::Opus, participants[2].addr, Direction::SendRecv),
        )
        .unwrap();
    run(&mut media, &mut participants, 40, 100);
    let switched = &participants[2].headers[before];
    assert_eq!(switched.1, OPUS_PT);
    assert_eq!(switched.4, ssrc);
    assert_eq!(media.leg(3).unwrap().codec(), Codec::Opus);
    assert!(participants[2].hears(440.0, 40) > HEARD);
    assert!(participants[0].hears(1000.0, 40) > HEARD);
}

#[test]
fn conferences_are_mixed_apart_and_dropped_with_their_last_leg() {
    let mut media = ConferenceMedia::new(MixerConfig::default(), 3);
    assert!(!media.has_legs());
    let mut participants = vec![
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
    run(&mut media, &mut participants, 0, 60);
    assert!(participants[0].hears(660.0, 40) > HEARD);
    assert!(participants[0].hears(1000.0, 40) < NOT_HEARD);
    assert!(participants[3].hears(1000.0, 40) > HEARD);
    assert!(participants[3].hears(440.0, 40) < NOT_HEARD);

    assert!(media.close_leg(3));
    assert!(!media.close_leg(3));
    let mut keys: Vec<_> = media.conferences().collect();
    keys.sort_unstable();
    assert_eq!(keys, ["a", "b"]);
    assert!(media.close_leg(4));
    assert_eq!(media.conferences().collect::<Vec<_>>(), ["a"]);
    assert!(media.leg(4).is_none());
    // Packets for closed legs are ignored; the rest goes on.
    let heard = participants[0].heard.len();
    participants.truncate(2);
    run(&mut media, &mut participants, 60, 70);
    media.handle_packet(at(70), 4, &[0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9]);
    assert_eq!(participants[0].heard.len(), heard + 10 * FRAME_SAMPLES);
    assert!(media.has_legs());
    media.close_leg(1);
    media.close_leg(2);
    assert_eq!(media.conferences().count(), 0);
    // Nothing left to tick for: the MCU's task sleeps until the next leg.
    assert!(!media.has_legs());
}

#[test]
fn legs_are_opened_once_and_started_only_when_open() {
    let mut media = ConferenceMedia::new(MixerConfig::default(), 3);
    media.open_leg("c", 1).unwrap();
    assert!(matches!(
        media.open_leg("d", 1),
        Err(ConferenceLegError::DuplicateLeg(1))
    ));
    let audio = negotiated(
        Codec::Opus,
        "10.0.0.9:4000".parse().unwrap(),
        Direction::SendRecv,
    );
    assert!(matches!(
        media.start_leg(2, audio),
        Err(ConferenceLegError::UnknownLeg(2))
    ));
    assert!(media.filter_leg(2, true).is_err());
    // Opened, not started: its packets are dropped and it is sent nothing.
    media.handle_packet(at(0), 1, &[0x80, OPUS_PT, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 1]);
    media.tick(at(0));
    assert_eq!(media.transmits().count(), 0);
    assert_eq!(media.leg(1).unwrap().stats().packets_dropped, 1);
    assert!(
        media
            .rtcp_reports(at(0), NtpTime::from_unix(Duration::ZERO))
            .is_empty()
    );
}

#[test]
fn bad_packets_are_dropped_without_harm() {
    let (mut media, mut participants) = conference();
    let mut rng = StdRng::seed_from_u64(11);
    for _ in 0..2000 {
        let len = rng.random_range(0..80);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        if rng.random_bool(0.5) {
            // Version 2 and our payload type: deeper into the parsers.
            if let Some(first) = bytes.first_mut() {
                *first = 0x80 | (*first & 0x3f);
            }
            if let Some(second) = bytes.get_mut(1) {
                *second = OPUS_PT;
            }
        }
        media.handle_packet(at(0), 1, &bytes);
        media.handle_rtcp(at(0), NtpTime::from_unix(Duration::ZERO), 1, &bytes);
    }
    // Foreign payload type: dropped; telephone-event: counted, not mixed.
    media.handle_packet(at(0), 2, &[0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 1]);
    media.handle_packet(
        at(0),
        2,
        &[0x80, 101, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 1, 0, 0, 0],
    );
    let stats = media.leg(2).unwrap().stats();
    assert_eq!((stats.packets_dropped, stats.packets_received), (1, 1));
    assert!(media.leg(1).unwrap().stats().packets_dropped > 0);
    run(&mut media, &mut participants, 1, 60);
    assert!(
        participants[1].hears(1000.0, 30) > HEARD,
        "the mix survives"
    );
}

#[test]
fn telephone_events_are_not_counted_as_lost_audio() {
    let (mut media, mut participants) = conference();
    run(&mut media, &mut participants, 0, 20);
    // Leg 1 presses a key: six event packets in its stream, sharing its
    // sequence numbers (RFC 4733 §2.1), then its audio goes on.
    let amy = &mut participants[0];
    for n in 0..6u8 {
        let header = RtpHeader {
            payload_type: 101,
            marker: n == 0,
            sequence: amy.sequence,
            timestamp: 20 * amy.codec.timestamp_increment(),
            ssrc: 0x5000 + amy.leg as u32,
            ..RtpHeader::default()
        };
        amy.sequence = amy.sequence.wrapping_add(1);
        let mut datagram = Vec::new();
        let [high, low] = (160 * u16::from(n + 1)).to_be_bytes();
        rtp::write(&header, &[5, 10, high, low], &mut datagram).unwrap();
        media.handle_packet(at(20), amy.leg, &datagram);
    }
    run(&mut media, &mut participants, 20, 40);
    let stats = media.leg(1).unwrap().stats();
    assert_eq!(stats.events_received, 6);
    assert_eq!(stats.loss_received, 0.0);
}

mod dial_in;
mod phase;
mod quality;
mod rtcp;
