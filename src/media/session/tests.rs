use super::*;
use crate::proto::sdp::{CodecChoice, Direction, TelephoneEvent};

fn negotiated(codec: AudioCodec, remote: &str, direction: Direction) -> NegotiatedAudio {
    let remote: SocketAddr = remote.parse().unwrap();
    let (payload_type, clock_rate, channels) = match codec {
        AudioCodec::Opus => (111, 48_000, 2),
        AudioCodec::Pcmu => (0, 8_000, 1),
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

fn tone(hz: f64, frame: u64) -> Frame {
    let mut out = SILENCE;
    for (i, sample) in out.iter_mut().enumerate() {
        let t = (frame as f64 * 960.0 + i as f64) / 48_000.0;
        *sample = ((2.0 * std::f64::consts::PI * hz * t).sin() * 8000.0) as i16;
    }
    out
}

fn energy(frame: &Frame) -> f64 {
    frame.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / frame.len() as f64
}

/// Runs `frames` ticks of a call between `a` and `b`, delivering every
/// packet; returns the speaker frames of each side.
fn run(a: &mut MediaSession, b: &mut MediaSession, frames: u64) -> (Vec<Frame>, Vec<Frame>) {
    run_frames(a, b, 0..frames)
}

/// [`run`] over the 20 ms frames numbered `frames` from the start.
fn run_frames(
    a: &mut MediaSession,
    b: &mut MediaSession,
    frames: std::ops::Range<u64>,
) -> (Vec<Frame>, Vec<Frame>) {
    let (mut heard_a, mut heard_b) = (Vec::new(), Vec::new());
    for n in frames {
        let now = Time::ZERO + Duration::from_millis(20 * n);
        let (mut out_a, mut out_b) = (SILENCE, SILENCE);
        a.tick(now, &tone(440.0, n), &mut out_a);
        b.tick(now, &tone(880.0, n), &mut out_b);
        while let Some((_, packet)) = a.poll_transmit() {
            b.handle_packet(now + Duration::from_millis(5), &packet);
        }
        while let Some((_, packet)) = b.poll_transmit() {
            a.handle_packet(now + Duration::from_millis(5), &packet);
        }
        heard_a.push(out_a);
        heard_b.push(out_b);
    }
    (heard_a, heard_b)
}

fn pair(codec: AudioCodec) -> (MediaSession, MediaSession) {
    let a = MediaSession::new(negotiated(codec, "10.0.0.2:4000", Direction::SendRecv), 1).unwrap();
    let b = MediaSession::new(negotiated(codec, "10.0.0.1:4000", Direction::SendRecv), 2).unwrap();
    (a, b)
}

#[test]
fn both_sides_hear_each_other_in_opus_and_in_pcmu() {
    for codec in [AudioCodec::Opus, AudioCodec::Pcmu] {
        let (mut a, mut b) = pair(codec);
        let (heard_a, heard_b) = run(&mut a, &mut b, 50);
        assert!(energy(&heard_a[40]) > 1e6, "{codec:?}: a hears b");
        assert!(energy(&heard_b[40]) > 1e6, "{codec:?}: b hears a");
        assert_eq!(a.stats().packets_sent, 50);
        assert_eq!(b.stats().packets_received, 50);
    }
}

#[test]
fn muted_sends_silence_and_keeps_sending() {
    let (mut a, mut b) = pair(AudioCodec::Opus);
    a.set_muted(true);
    let (_, heard_b) = run(&mut a, &mut b, 50);
    assert!(heard_b[20..].iter().all(|frame| energy(frame) < 1e4));
    assert_eq!(a.stats().packets_sent, 50, "RTP keeps flowing while muted");
}

#[test]
fn on_hold_nothing_is_sent_or_played() {
    let mut a = MediaSession::new(
        negotiated(AudioCodec::Opus, "10.0.0.2:4000", Direction::SendOnly),
        1,
    )
    .unwrap();
    let mut b = MediaSession::new(
        negotiated(AudioCodec::Opus, "10.0.0.1:4000", Direction::RecvOnly),
        2,
    )
    .unwrap();
    let (heard_a, heard_b) = run(&mut a, &mut b, 30);
    assert_eq!(b.stats().packets_sent, 0, "the held side sends nothing");
    assert!(
        heard_a.iter().all(|frame| energy(frame) == 0.0),
        "the holder plays nothing"
    );
    assert!(
        energy(&heard_b[25]) > 1e6,
        "music on hold would still be heard"
    );
}

#[test]
fn dtmf_digits_arrive_once_each_in_order() {
    let (mut a, mut b) = pair(AudioCodec::Opus);
    // After some audio, so that the receiver follows the stream already.
    run(&mut a, &mut b, 20);
    a.send_dtmf(Time::ZERO + Duration::from_millis(400), "1#9")
        .unwrap();
    run_frames(&mut a, &mut b, 20..120);
    let digits: String = std::iter::from_fn(|| b.poll_dtmf()).collect();
    assert_eq!(digits, "1#9");
    // The events shared the audio's sequence numbers: none of them is
    // counted as lost audio.
    assert_eq!(b.stats().loss_received, 0.0);
    assert!(a.send_dtmf(Time::ZERO, "x").is_err());
}

#[test]
fn reports_give_loss_jitter_and_the_round_trip() {
    let (mut a, mut b) = pair(AudioCodec::Opus);
    run(&mut a, &mut b, 50);
    let sent_at = NtpTime::from_unix(Duration::from_secs(1_000_000));
    let (to, report) = a
        .rtcp_report(Time::ZERO + Duration::from_secs(1), sent_at)
        .unwrap();
    assert_eq!(to.port(), 4001, "RTCP goes to the port after RTP");
    b.handle_rtcp(Time::ZERO + Duration::from_secs(1), sent_at, &report);
    // b answers 30 ms later; a gets it 30 ms after that.
    let (_, answer) = b
        .rtcp_report(Time::ZERO + Duration::from_millis(1030), sent_at)
        .unwrap();
    let back = NtpTime::from_unix(Duration::from_millis(1_000_000_060));
    a.handle_rtcp(Time::ZERO + Duration::from_millis(1060), back, &answer);
    let stats = a.stats();
    assert_eq!(stats.loss_reported, Some(0.0));
    let round_trip = stats.round_trip.expect("an RTT from LSR/DLSR");
    assert!(round_trip.as_millis().abs_diff(30) <= 2, "{round_trip:?}");
    assert_eq!(b.stats().loss_received, 0.0);
    a.handle_rtcp(Time::ZERO, back, &[0x81, 0xc8, 0xff]);
}

#[test]
fn foreign_and_broken_packets_are_dropped() {
    let (mut a, _) = pair(AudioCodec::Pcmu);
    a.handle_packet(
        Time::ZERO,
        &[0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 1, 2, 3],
    );
    a.handle_packet(Time::ZERO, &[0x12, 0x34]);
    a.handle_packet(Time::ZERO, &[]);
    assert_eq!(a.stats().packets_dropped, 3);
    assert_eq!(a.stats().packets_received, 0);
}

/// A PCMU packet of `frame` listing `csrcs`, as a conference mixer sends.
fn mixed_packet(encoder: &mut dyn AudioEncoder, frame: u64, csrcs: Vec<u32>) -> Vec<u8> {
    mixed_packet_with(encoder, frame, csrcs, None)
}

/// The same with a one-byte-header extension of this `data`.
fn mixed_packet_with(
    encoder: &mut dyn AudioEncoder,
    frame: u64,
    csrcs: Vec<u32>,
    extension: Option<&[u8]>,
) -> Vec<u8> {
    let mut payload = Vec::new();
    encoder.encode(&tone(440.0, frame), &mut payload).unwrap();
    let header = RtpHeader {
        payload_type: 0,
        sequence: frame as u16,
        timestamp: frame as u32 * 160,
        ssrc: 0xabc,
        csrcs,
        extension: extension.map(|data| rtp::HeaderExtension {
            profile: rtp::ONE_BYTE_PROFILE,
            data,
        }),
        ..RtpHeader::default()
    };
    let mut datagram = Vec::new();
    rtp::write(&header, &payload, &mut datagram).unwrap();
    datagram
}

#[test]
fn contributing_sources_speak_until_a_while_after_their_last_packet() {
    let (mut a, _) = pair(AudioCodec::Pcmu);
    let mut encoder = Codec::Pcmu.encoder(&OpusConfig::default()).unwrap();
    let at = |frame: u64| Time::ZERO + Duration::from_millis(20 * frame);
    let mut speaker = SILENCE;
    // Sources 7 and 9 for 10 frames, then 7 alone for 20.
    for frame in 0..30 {
        let csrcs = if frame < 10 { vec![7, 9] } else { vec![7] };
        a.handle_packet(at(frame), &mixed_packet(&mut *encoder, frame, csrcs));
        a.tick(at(frame), &SILENCE, &mut speaker);
        if frame == 5 {
            let speaking = a.speaking(at(frame));
            assert!(speaking.level(7).is_some() && speaking.level(9).is_some());
        }
        if frame == 9 + 10 {
            assert_eq!(
                a.speaking(at(frame)).level(9),
                Some(a.played_peak),
                "200 ms on"
            );
        }
    }
    let speaking = a.speaking(at(29));
    assert_eq!(
        speaking.iter().map(|(csrc, _)| csrc).collect::<Vec<_>>(),
        [7]
    );
    let level = speaking.level(7).unwrap();
    assert!(level > 0.1, "the level of what is played: {level}");
    // Nothing more arrives: after the hold, nobody speaks.
    assert!(a.speaking(at(29) + SPEAKING_HOLD).level(7).is_some());
    assert!(a.speaking(at(40)).is_empty());
    // A call without a mixer has no contributing sources.
    let (mut c, mut d) = pair(AudioCodec::Opus);
    run(&mut c, &mut d, 10);
    assert!(c.speaking(at(10)).is_empty());
}

#[test]
fn sources_past_fifteen_replace_the_longest_unheard() {
    let (mut a, _) = pair(AudioCodec::Pcmu);
    let mut encoder = Codec::Pcmu.encoder(&OpusConfig::default()).unwrap();
    let at = |frame: u64| Time::ZERO + Duration::from_millis(frame);
    for frame in 0..20u64 {
        let csrcs = vec![100 + frame as u32];
        a.handle_packet(at(frame), &mixed_packet(&mut *encoder, frame, csrcs));
    }
    let speaking = a.speaking(at(20));
    assert_eq!(speaking.iter().count(), MAX_CONTRIBUTORS);
    assert!(speaking.level(119).is_some());
    assert!(speaking.level(100).is_none(), "the oldest made room");
}

/// The data of a one-byte-header extension with RFC 6465 `levels` (-dBov)
/// under `id`.
fn levels_extension(id: u8, levels: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    let element = rtp::ExtensionElement { id, data: levels };
    rtp::write_one_byte(&[element], &mut data).unwrap();
    data
}

#[test]
fn each_source_speaks_at_its_own_level_when_levels_were_negotiated() {
    let mut audio = negotiated(AudioCodec::Pcmu, "10.0.0.2:4000", Direction::SendRecv);
    audio.csrc_audio_level = Some(3);
    let mut a = MediaSession::new(audio, 1).unwrap();
    let mut encoder = Codec::Pcmu.encoder(&OpusConfig::default()).unwrap();
    let at = |frame: u64| Time::ZERO + Duration::from_millis(20 * frame);
    let mut speaker = SILENCE;
    let close = |level: Option<f32>, expected: f32| {
        level.is_some_and(|level| (level - expected).abs() < 1e-3)
    };

    // 7 at -6 dBov, 9 at -40: amplitudes 0.501 and 0.01.
    let mut frame = 0;
    let mut send = |a: &mut MediaSession, csrcs: Vec<u32>, extension: Option<Vec<u8>>| {
        let packet = mixed_packet_with(&mut *encoder, frame, csrcs, extension.as_deref());
        a.handle_packet(at(frame), &packet);
        a.tick(at(frame), &SILENCE, &mut speaker);
        frame += 1;
    };
    for _ in 0..10 {
        send(&mut a, vec![7, 9], Some(levels_extension(3, &[6, 40])));
    }
    let speaking = a.speaking(at(9));
    assert!(close(speaking.level(7), 0.501), "{speaking:?}");
    assert!(close(speaking.level(9), 0.01), "{speaking:?}");
    assert!(a.played_peak > 0.1, "what is played is louder than 9");

    // The levels follow the packets; the reserved bit is ignored.
    send(
        &mut a,
        vec![9, 7],
        Some(levels_extension(3, &[0x80 | 20, 127])),
    );
    let speaking = a.speaking(at(10));
    assert!(close(speaking.level(9), 0.1), "{speaking:?}");
    assert_eq!(speaking.level(7), Some(0.0), "-127 dBov is silence");

    // Fewer levels than CSRCs, levels under another ID, a malformed
    // extension: what has no level falls back to the frame played.
    send(&mut a, vec![7, 9, 11], Some(levels_extension(3, &[6])));
    let speaking = a.speaking(at(11));
    assert!(close(speaking.level(7), 0.501));
    assert_eq!(speaking.level(9), Some(a.played_peak));
    assert_eq!(speaking.level(11), Some(a.played_peak));
    send(&mut a, vec![7], Some(levels_extension(5, &[6])));
    assert_eq!(a.speaking(at(12)).level(7), Some(a.played_peak));
    send(&mut a, vec![7], Some(vec![0x33, 6, 0, 0]));
    assert_eq!(a.speaking(at(13)).level(7), Some(a.played_peak));
    assert_eq!(a.stats().packets_dropped, 0, "the audio still plays");

    // The hold is unchanged: 200 ms after its last packet, 9 is gone.
    assert!(a.speaking(at(11) + SPEAKING_HOLD).level(9).is_some());
    assert!(a.speaking(at(12) + SPEAKING_HOLD).level(9).is_none());

    // Without the negotiation the extension is not read (RFC 8285 §5).
    let (mut b, _) = pair(AudioCodec::Pcmu);
    for frame in 0..10 {
        let packet = mixed_packet_with(
            &mut *encoder,
            frame,
            vec![7, 9],
            Some(&levels_extension(3, &[6, 40])),
        );
        b.handle_packet(at(frame), &packet);
        b.tick(at(frame), &SILENCE, &mut speaker);
    }
    let speaking = b.speaking(at(9));
    assert_eq!(speaking.level(7), Some(b.played_peak));
    assert_eq!(speaking.level(9), Some(b.played_peak));
}
