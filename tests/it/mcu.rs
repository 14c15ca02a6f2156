//! The A/V MCU's media task on loopback: three participants on real UDP
//! sockets, two in Opus and one in PCMU, each sending a tone of its own.
//! Each hears the other two and not itself, with CSRCs naming who is mixed;
//! a leg a leader blocks is heard by nobody; a stranger's packets to a leg's
//! port are not mixed (symmetric RTP). Every wait is for packets, bounded
//! by a deadline that fails the test.
//!
//! Dial-in: a caller alone in its lobby keys a code and '#' as RFC 4733
//! telephone-events, which the MCU reports once each and in order; moved
//! into a conference and then into another, it hears each in turn, is
//! heard only in the one it is in, and its stream from the MCU goes on
//! (one SSRC, consecutive sequence numbers, a marker at each move).
//!
//! Quality (`quality`): every started leg's figures come back on their own.

use std::f64::consts::TAU;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::task::Poll;
use std::time::Duration;

use confab::media::codec::{AudioDecoder, AudioEncoder, Codec, OpusConfig};
use confab::media::{FRAME_SAMPLES, Frame, SILENCE};
use confab::net::run_mcu;
use confab::proto::dtmf;
use confab::proto::rtp::{self, RtpHeader};
use confab::proto::sdp::{AudioCodec, CodecChoice, Direction, NegotiatedAudio, TelephoneEvent};
use confab::proto::{IoRequest, IoResult};

use crate::harness::tone_level;
use tokio::io::ReadBuf;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

const WAIT: Duration = Duration::from_secs(10);
const CONFERENCE: &str = "sip:conf-1@confab.local;gruu;opaque=app:conf:audio-video:id:1";
/// Frames each check listens to, after the jitter buffers have settled.
const WINDOW: usize = 50;
const HEARD: f64 = 0.05;
const NOT_HEARD: f64 = 0.01;
/// The telephone-event payload type every participant negotiates.
const EVENT_PT: u8 = 101;

/// A tone under a 3 Hz envelope at a quarter of full scale: Opus's voice
/// activity flag keeps calling it speech, so the mixer keeps mixing it.
fn tone(hz: f64, frame: u64) -> Frame {
    let mut out = SILENCE;
    for (n, sample) in out.iter_mut().enumerate() {
        let t = (frame as f64 * FRAME_SAMPLES as f64 + n as f64) / 48_000.0;
        let envelope = 0.75 + 0.25 * (TAU * 3.0 * t).sin();
        *sample = (8000.0 * envelope * (TAU * hz * t).sin()) as i16;
    }
    out
}

struct Participant {
    leg: u64,
    hz: f64,
    codec: Codec,
    payload_type: u8,
    socket: UdpSocket,
    /// The leg's RTP port on the MCU, once open.
    mcu: Option<SocketAddr>,
    encoder: Box<dyn AudioEncoder>,
    decoder: Box<dyn AudioDecoder>,
    frame: u64,
    /// RTP sequence of its audio and telephone-events alike.
    sequence: u16,
    payload: Vec<u8>,
    datagram: Vec<u8>,
    buffer: Vec<u8>,
    /// One decoded frame, the CSRC list and (marker, sequence, SSRC) of
    /// each packet received.
    heard: Vec<Frame>,
    csrcs: Vec<Vec<u32>>,
    headers: Vec<(bool, u16, u32)>,
}

impl Participant {
    async fn new(leg: u64, codec: Codec, hz: f64, ip: Ipv4Addr) -> Participant {
        Participant {
            leg,
            hz,
            codec,
            payload_type: if codec == Codec::Opus { 111 } else { 0 },
            socket: UdpSocket::bind((ip, 0)).await.unwrap(),
            mcu: None,
            encoder: codec.encoder(&OpusConfig::default()).unwrap(),
            decoder: codec.decoder().unwrap(),
            frame: 0,
            sequence: 0,
            payload: Vec::new(),
            datagram: Vec::new(),
            buffer: vec![0; 2048],
            heard: Vec::new(),
            csrcs: Vec::new(),
            headers: Vec::new(),
        }
    }

    fn audio(&self) -> NegotiatedAudio {
        let remote = self.socket.local_addr().unwrap();
        let (codec, clock_rate, channels) = match self.codec {
            Codec::Opus => (AudioCodec::Opus, 48_000, 2),
            Codec::Pcmu => (AudioCodec::Pcmu, 8_000, 1),
        };
        NegotiatedAudio {
            remote,
            remote_rtcp: SocketAddr::new(remote.ip(), remote.port() + 1),
            codec: CodecChoice {
                codec,
                payload_type: self.payload_type,
                clock_rate,
                channels,
                fmtp: None,
            },
            telephone_event: Some(TelephoneEvent {
                payload_type: EVENT_PT,
                clock_rate,
            }),
            direction: Direction::SendRecv,
            remote_ptime: Some(20),
            csrc_audio_level: None,
        }
    }

    /// Sends the next 20 ms of its tone to `to`.
    async fn send(&mut self, to: SocketAddr) {
        self.encoder
            .encode(&tone(self.hz, self.frame), &mut self.payload)
            .unwrap();
        let header = RtpHeader {
            payload_type: self.payload_type,
            sequence: self.sequence,
            timestamp: self.timestamp(),
            ssrc: 0xc0f_ab00 + self.leg as u32,
            ..RtpHeader::default()
        };
        self.datagram.clear();
        rtp::write(&header, &self.payload, &mut self.datagram).unwrap();
        self.socket.send_to(&self.datagram, to).await.unwrap();
        self.sequence = self.sequence.wrapping_add(1);
        self.frame += 1;
    }

    /// The RTP clock of its next frame.
    fn timestamp(&self) -> u32 {
        (self.frame as u32).wrapping_mul(self.codec.timestamp_increment())
    }

    /// Presses `digit` for 100 ms: every packet of the event (RFC 4733
    /// §2.5.1: updates, the end three times) at once, stamped with the
    /// audio clock now, on its SSRC and sequence.
    async fn press(&mut self, to: SocketAddr, digit: char) {
        let packets = dtmf::encode_press(
            digit,
            Duration::from_millis(100),
            self.codec.clock_rate(),
            dtmf::DEFAULT_VOLUME,
        )
        .unwrap();
        for packet in packets {
            let header = RtpHeader {
                marker: packet.marker,
                payload_type: EVENT_PT,
                sequence: self.sequence,
                timestamp: self.timestamp().wrapping_add(packet.timestamp_offset),
                ssrc: 0xc0f_ab00 + self.leg as u32,
                ..RtpHeader::default()
            };
            self.datagram.clear();
            rtp::write(&header, &packet.payload.to_bytes(), &mut self.datagram).unwrap();
            self.socket.send_to(&self.datagram, to).await.unwrap();
            self.sequence = self.sequence.wrapping_add(1);
        }
        // The event's time passes on the audio clock.
        self.frame += 5;
    }

    fn receive(&mut self, len: usize) {
        let packet = rtp::parse(&self.buffer[..len]).unwrap();
        let mut pcm = SILENCE;
        self.decoder.decode(packet.payload, &mut pcm).unwrap();
        self.heard.push(pcm);
        let header = packet.header;
        self.headers
            .push((header.marker, header.sequence, header.ssrc));
        let mut csrcs = header.csrcs;
        csrcs.sort_unstable();
        self.csrcs.push(csrcs);
    }

    /// The level of `hz` in the frames heard from `from` on, [`WINDOW`] of
    /// them.
    fn hears(&self, hz: f64, from: usize) -> f64 {
        let frames = &self.heard[from..from + WINDOW];
        tone_level(frames.as_flattened(), 48_000, hz)
    }
}

/// Sends every participant's tone each 20 ms and takes in what the MCU
/// sends them, until `done` holds; past [`WAIT`] the test fails.
async fn run_until(
    participants: &mut [Participant],
    stranger: Option<&mut Participant>,
    what: &str,
    done: impl Fn(&[Participant]) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut stranger = stranger;
    while !done(participants) {
        tokio::select! {
            _ = tick.tick() => {
                for participant in participants.iter_mut() {
                    let to = participant.mcu.unwrap();
                    participant.send(to).await;
                }
                if let Some(stranger) = stranger.as_deref_mut() {
                    let to = stranger.mcu.unwrap();
                    stranger.send(to).await;
                }
            }
            (index, len) = receive_any(participants) => participants[index].receive(len),
            () = tokio::time::sleep_until(deadline) => panic!("timed out waiting for {what}"),
        }
    }
}

/// The next datagram any participant receives: its index and length.
async fn receive_any(participants: &mut [Participant]) -> (usize, usize) {
    std::future::poll_fn(|cx| {
        for (index, participant) in participants.iter_mut().enumerate() {
            let mut read = ReadBuf::new(&mut participant.buffer);
            if let Poll::Ready(received) = participant.socket.poll_recv_from(cx, &mut read) {
                received.unwrap();
                return Poll::Ready((index, read.filled().len()));
            }
        }
        Poll::Pending
    })
    .await
}

/// The MCU's next answer, its periodic quality reports passed over.
async fn expect_result(results: &mut mpsc::UnboundedReceiver<IoResult>) -> IoResult {
    let deadline = Instant::now() + WAIT;
    loop {
        let result = tokio::time::timeout_at(deadline, results.recv())
            .await
            .expect("an answer from the MCU")
            .expect("the MCU is running");
        if !matches!(result, IoResult::McuLegQuality { .. }) {
            return result;
        }
    }
}

/// Opens the participant's leg in `conference` on the MCU and starts it.
async fn join(
    requests: &mpsc::UnboundedSender<IoRequest>,
    results: &mut mpsc::UnboundedReceiver<IoResult>,
    participant: &mut Participant,
    conference: &str,
) {
    requests
        .send(IoRequest::McuOpenLeg {
            conference: conference.into(),
            leg: participant.leg,
        })
        .unwrap();
    let IoResult::McuLegReady { leg, port } = expect_result(results).await else {
        panic!("leg {} not opened", participant.leg);
    };
    assert_eq!(leg, participant.leg);
    assert_eq!(port % 2, 0, "RTP on an even port (RFC 3550 §11)");
    participant.mcu = Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    requests
        .send(IoRequest::McuStartLeg {
            leg,
            audio: participant.audio(),
        })
        .unwrap();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn each_leg_hears_the_others_and_a_blocked_leg_is_heard_by_nobody() {
    let _turn = crate::harness::audio_call_turn();
    runtime().block_on(three_legs());
}

async fn three_legs() {
    let loopback = Ipv4Addr::LOCALHOST;
    let (requests, requests_rx) = mpsc::unbounded_channel();
    let (results_tx, mut results) = mpsc::unbounded_channel();
    let mcu = tokio::spawn(run_mcu(IpAddr::V4(loopback), requests_rx, results_tx));
    let mut participants = vec![
        Participant::new(1, Codec::Opus, 440.0, loopback).await,
        Participant::new(2, Codec::Opus, 660.0, loopback).await,
        Participant::new(3, Codec::Pcmu, 1000.0, loopback).await,
    ];
    for participant in &mut participants {
        join(&requests, &mut results, participant, CONFERENCE).await;
    }
    // Another host sends a tone to leg 1's port: symmetric RTP drops it.
    let mut stranger = Participant::new(99, Codec::Opus, 1500.0, Ipv4Addr::new(127, 0, 0, 2)).await;
    stranger.mcu = participants[0].mcu;

    // A second of audio to settle the jitter buffers, then a window.
    let settled = 50;
    run_until(
        &mut participants,
        Some(&mut stranger),
        "the mix",
        |participants| {
            participants
                .iter()
                .all(|p| p.heard.len() >= settled + WINDOW)
        },
    )
    .await;
    for listener in &participants {
        for talker in &participants {
            let level = listener.hears(talker.hz, settled);
            if talker.leg == listener.leg {
                assert!(
                    level < NOT_HEARD,
                    "leg {} hears itself: {level}",
                    listener.leg
                );
            } else {
                assert!(
                    level > HEARD,
                    "leg {} hears leg {} at only {level}",
                    listener.leg,
                    talker.leg
                );
            }
        }
        assert!(
            listener.hears(1500.0, settled) < NOT_HEARD,
            "leg {} hears the stranger",
            listener.leg
        );
        let others: Vec<u32> = (1..=3).filter(|&leg| leg != listener.leg as u32).collect();
        assert_eq!(
            listener.csrcs.last().unwrap(),
            &others,
            "leg {}",
            listener.leg
        );
    }

    // A leader blocks leg 2: from the first packet that no longer lists
    // it, legs 1 and 3 stop hearing it; leg 2 still hears them.
    requests
        .send(IoRequest::McuFilterLeg {
            leg: 2,
            blocked: true,
        })
        .unwrap();
    let marks: Vec<usize> = participants.iter().map(|p| p.heard.len()).collect();
    let unlisted = |participant: &Participant, mark: usize| {
        (mark..participant.csrcs.len()).find(|&k| !participant.csrcs[k].contains(&2))
    };
    // A few frames for the decoder to leave the old mix behind.
    let after = 5;
    run_until(
        &mut participants,
        None,
        "the mix without leg 2",
        |participants| {
            [0, 2].iter().all(|&index| {
                unlisted(&participants[index], marks[index])
                    .is_some_and(|k| participants[index].heard.len() >= k + after + WINDOW)
            }) && participants[1].heard.len() >= marks[1] + after + WINDOW
        },
    )
    .await;
    for index in [0, 2] {
        let listener = &participants[index];
        let from = unlisted(listener, marks[index]).unwrap() + after;
        let level = listener.hears(660.0, from);
        assert!(
            level < NOT_HEARD,
            "leg {} still hears leg 2: {level}",
            listener.leg
        );
        let other = if index == 0 { 1000.0 } else { 440.0 };
        assert!(listener.hears(other, from) > HEARD, "leg {}", listener.leg);
        assert!(
            listener.csrcs[from..]
                .iter()
                .all(|csrcs| !csrcs.contains(&2)),
            "leg {}: CSRC 2 came back",
            listener.leg
        );
    }
    let blocked = &participants[1];
    let from = marks[1] + after;
    assert!(blocked.hears(440.0, from) > HEARD);
    assert!(blocked.hears(1000.0, from) > HEARD);
    assert_eq!(blocked.csrcs.last().unwrap(), &[1, 3]);

    for participant in &participants {
        requests
            .send(IoRequest::McuCloseLeg {
                leg: participant.leg,
            })
            .unwrap();
    }
    drop(requests);
    tokio::time::timeout(WAIT, mcu)
        .await
        .expect("the MCU stops when its requests end")
        .unwrap();
}

#[test]
fn a_leg_that_cannot_bind_is_answered_failed() {
    runtime().block_on(async {
        let (requests, requests_rx) = mpsc::unbounded_channel();
        let (results_tx, mut results) = mpsc::unbounded_channel();
        // TEST-NET-1 (RFC 5737): no interface of this host has it.
        let elsewhere = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        tokio::spawn(run_mcu(elsewhere, requests_rx, results_tx));
        requests
            .send(IoRequest::McuOpenLeg {
                conference: CONFERENCE.into(),
                leg: 9,
            })
            .unwrap();
        match expect_result(&mut results).await {
            IoResult::McuLegFailed { leg, reason } => {
                assert_eq!(leg, 9);
                assert!(!reason.is_empty());
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    });
}

#[test]
fn a_dial_in_caller_keys_a_code_and_is_moved_from_conference_to_conference() {
    let _turn = crate::harness::audio_call_turn();
    runtime().block_on(dial_in());
}

/// The first packet from `from` on whose CSRCs list `csrc` (or, if not
/// `listed`, do not).
fn first_packet(participant: &Participant, from: usize, csrc: u32, listed: bool) -> Option<usize> {
    (from..participant.csrcs.len()).find(|&k| participant.csrcs[k].contains(&csrc) == listed)
}

async fn dial_in() {
    let loopback = Ipv4Addr::LOCALHOST;
    let (requests, requests_rx) = mpsc::unbounded_channel();
    let (results_tx, mut results) = mpsc::unbounded_channel();
    let mcu = tokio::spawn(run_mcu(IpAddr::V4(loopback), requests_rx, results_tx));
    let (first, second) = (CONFERENCE, "sip:conf-2@confab.local");
    // Leg 1 talks in the first conference, leg 2 in the second; leg 7, a
    // phone in PCMU, dialled in and waits in its lobby.
    let mut participants = vec![
        Participant::new(1, Codec::Opus, 440.0, loopback).await,
        Participant::new(2, Codec::Opus, 660.0, loopback).await,
        Participant::new(7, Codec::Pcmu, 1000.0, loopback).await,
    ];
    for (participant, conference) in participants.iter_mut().zip([first, second, "lobby-7"]) {
        join(&requests, &mut results, participant, conference).await;
    }
    run_until(&mut participants, None, "the lobby", |participants| {
        participants.iter().all(|p| p.heard.len() >= 25)
    })
    .await;

    // The code, then '#': the same key twice in a row counts twice, and
    // every key once however often its end packets come (three times).
    let mcu_port = participants[2].mcu.unwrap();
    for digit in ['4', '2', '2', '#'] {
        participants[2].press(mcu_port, digit).await;
    }
    let mut digits = Vec::new();
    while digits.len() < 4 {
        match expect_result(&mut results).await {
            IoResult::McuDtmf { leg: 7, digit } => digits.push(digit),
            other => panic!("expected leg 7's keys, got {other:?}"),
        }
    }
    assert_eq!(digits, ['4', '2', '2', '#']);

    // A few frames for the decoders to leave the old mix behind.
    let after = 5;
    let mut moves = Vec::new();
    for (conference, into, left) in [(first, 0, None), (second, 1, Some(0))] {
        requests
            .send(IoRequest::McuMoveLeg {
                leg: 7,
                conference: conference.into(),
            })
            .unwrap();
        let marks: Vec<usize> = participants.iter().map(|p| p.heard.len()).collect();
        moves.push(marks.clone());
        let talker = participants[into].leg as u32;
        // The packets from which the move shows: the caller's mix lists
        // the new conference's talker; that talker's lists the caller; the
        // talker left behind is no longer sent the caller.
        let shown = move |participants: &[Participant]| {
            let caller = first_packet(&participants[2], marks[2], talker, true);
            let joined = first_packet(&participants[into], marks[into], 7, true);
            let left = left.map(|index: usize| {
                let from = first_packet(&participants[index], marks[index], 7, false);
                (index, from)
            });
            (caller, joined, left)
        };
        let ready = |participant: &Participant, from: Option<usize>| {
            from.is_some_and(|from| participant.heard.len() >= from + after + WINDOW)
        };
        run_until(&mut participants, None, "the move", |participants| {
            let (caller, joined, left) = shown(participants);
            ready(&participants[2], caller)
                && ready(&participants[into], joined)
                && left.is_none_or(|(index, from)| ready(&participants[index], from))
        })
        .await;
        let (caller, joined, left) = shown(&participants);
        let from = caller.unwrap() + after;
        let (hz, other_hz) = if into == 0 {
            (440.0, 660.0)
        } else {
            (660.0, 440.0)
        };
        let level = participants[2].hears(hz, from);
        assert!(
            level > HEARD,
            "the caller hears {conference} at only {level}"
        );
        let level = participants[2].hears(other_hz, from);
        assert!(level < NOT_HEARD, "the caller hears the other one: {level}");
        let from = joined.unwrap() + after;
        let level = participants[into].hears(1000.0, from);
        assert!(
            level > HEARD,
            "leg {talker} hears the caller at only {level}"
        );
        if let Some((index, from)) = left {
            let level = participants[index].hears(1000.0, from.unwrap() + after);
            assert!(level < NOT_HEARD, "the caller is still heard where it left");
        }
    }
    // Leg 2 never heard the caller while it was in the first conference.
    let before = moves[1][1];
    assert!(
        participants[1].csrcs[..before]
            .iter()
            .all(|csrcs| !csrcs.contains(&7))
    );

    // One stream to the caller throughout: one SSRC, no gap in the
    // sequence, a marker on the first packet and at each move.
    let headers = &participants[2].headers;
    assert!(headers.iter().all(|header| header.2 == headers[0].2));
    for pair in headers.windows(2) {
        assert_eq!(
            pair[1].1,
            pair[0].1.wrapping_add(1),
            "a gap in the sequence"
        );
    }
    let marked: Vec<usize> = (0..headers.len()).filter(|&k| headers[k].0).collect();
    assert_eq!(marked.len(), 3, "{marked:?}");
    assert_eq!(marked[0], 0);
    assert!(
        marked[1] >= moves[0][2] && marked[2] >= moves[1][2],
        "{marked:?}"
    );
    // Every key was reported once: nothing came after the '#'.
    while let Ok(result) = results.try_recv() {
        assert!(
            matches!(result, IoResult::McuLegQuality { .. }),
            "a key reported twice: {result:?}"
        );
    }

    for participant in &participants {
        requests
            .send(IoRequest::McuCloseLeg {
                leg: participant.leg,
            })
            .unwrap();
    }
    drop(requests);
    tokio::time::timeout(WAIT, mcu)
        .await
        .expect("the MCU stops when its requests end")
        .unwrap();
}

mod quality;
