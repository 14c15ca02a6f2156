//! The audio of one call, sans-IO: what goes out as RTP on each 20 ms tick,
//! what comes in, and what we play.
//!
//! On every tick the media task hands in the microphone's frame and takes
//! the speaker's: the session encodes (or, muted, encodes silence, so RTP
//! keeps flowing), and asks the jitter buffer what to play, decoding,
//! rebuilding from FEC or concealing as it says. Incoming packets go to
//! the jitter buffer (audio) or the DTMF receiver (RFC 4733); foreign
//! payload types and malformed packets are counted and dropped. Sending
//! follows the negotiated direction: on hold we neither send (sendonly
//! peer) nor play (recvonly), per RFC 3264 §8.4.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::codec::{AudioDecoder, AudioEncoder, Codec, CodecError, OpusConfig};
use super::jitter::{JitterBuffer, JitterConfig, JitterStats, MediaPacket, Playout};
use super::{Frame, SILENCE};
use crate::proto::Time;
use crate::proto::dtmf::{self, DtmfReceiver};
use crate::proto::rtp::{
    self, NtpTime, ReceiverReport, ReceiverStats, RtcpPacket, RtpHeader, SdesChunk, SenderReport,
};
use crate::proto::sdp::{AudioCodec, NegotiatedAudio};

/// How long one DTMF digit is pressed, and the gap before the next.
const DTMF_PRESS: Duration = Duration::from_millis(120);
const DTMF_GAP: Duration = Duration::from_millis(80);
/// RFC 4733 §2.3.2: the volume field, in -dBm0 (10 is a usual level).
const DTMF_VOLUME: u8 = 10;

/// Counters for diagnostics (the UI's call details, RTCP).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MediaStats {
    /// The codec in use, as a person reads it ("Opus", "PCMU").
    pub codec: &'static str,
    pub packets_sent: u64,
    pub packets_received: u64,
    /// Packets that were not our stream's audio or DTMF, or not RTP.
    pub packets_dropped: u64,
    pub jitter: JitterStats,
    /// Of the packets the other side sent us, the share lost (RFC 3550 A.3).
    pub loss_received: f64,
    /// Interarrival jitter of what we receive (RFC 3550 A.8).
    pub jitter_received: Duration,
    /// What the other side reports losing of ours, from its last report.
    pub loss_reported: Option<f64>,
    /// Round-trip time from the other side's report (RFC 3550 §6.4.1).
    pub round_trip: Option<Duration>,
}

/// One scheduled telephone-event packet.
#[derive(Debug)]
struct PendingEvent {
    at: Time,
    marker: bool,
    timestamp: u32,
    payload: Vec<u8>,
}

pub struct MediaSession {
    audio: NegotiatedAudio,
    codec: Codec,
    encoder: Box<dyn AudioEncoder>,
    decoder: Box<dyn AudioDecoder>,
    jitter: JitterBuffer,
    dtmf_in: Option<DtmfReceiver>,
    dtmf_out: VecDeque<PendingEvent>,
    received_digits: VecDeque<char>,
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    muted: bool,
    payload: Vec<u8>,
    outbox: VecDeque<(SocketAddr, Vec<u8>)>,
    stats: MediaStats,
    receiver: ReceiverStats,
    octets_sent: u32,
    cname: String,
}

impl MediaSession {
    pub fn new(audio: NegotiatedAudio, seed: u64) -> Result<Self, CodecError> {
        let mut rng = StdRng::seed_from_u64(seed);
        let codec = codec_of(audio.codec.codec);
        let opus = OpusConfig::default();
        Ok(MediaSession {
            encoder: codec.encoder(&opus)?,
            decoder: codec.decoder()?,
            jitter: JitterBuffer::new(jitter_config(codec)),
            dtmf_in: audio
                .telephone_event
                .map(|event| DtmfReceiver::new(event.clock_rate)),
            dtmf_out: VecDeque::new(),
            received_digits: VecDeque::new(),
            // RFC 3550 §5.1: random initial sequence, timestamp and SSRC.
            ssrc: rng.random(),
            sequence: rng.random(),
            timestamp: rng.random(),
            muted: false,
            payload: Vec::with_capacity(1500),
            outbox: VecDeque::new(),
            stats: MediaStats::default(),
            receiver: ReceiverStats::new(),
            octets_sent: 0,
            cname: format!("confab-{:08x}", rng.random::<u32>()),
            codec,
            audio,
        })
    }

    /// A re-INVITE changed the session: a new direction or address keeps
    /// the stream; a new codec starts the coders afresh.
    pub fn update(&mut self, audio: NegotiatedAudio) -> Result<(), CodecError> {
        let codec = codec_of(audio.codec.codec);
        if codec != self.codec {
            self.encoder = codec.encoder(&OpusConfig::default())?;
            self.decoder = codec.decoder()?;
            self.jitter = JitterBuffer::new(jitter_config(codec));
            self.codec = codec;
        }
        self.dtmf_in = audio
            .telephone_event
            .map(|event| DtmfReceiver::new(event.clock_rate));
        self.audio = audio;
        Ok(())
    }

    pub fn set_muted(&mut self, muted: bool) {
        self.muted = muted;
    }

    pub fn is_muted(&self) -> bool {
        self.muted
    }

    pub fn stats(&self) -> MediaStats {
        let loss_received = self.receiver.sequence().map_or(0.0, |sequence| {
            let expected = sequence.expected();
            if expected == 0 {
                0.0
            } else {
                sequence.cumulative_lost().max(0) as f64 / expected as f64
            }
        });
        let clock = f64::from(self.codec.clock_rate());
        MediaStats {
            codec: match self.codec {
                Codec::Opus => "Opus",
                Codec::Pcmu => "PCMU",
            },
            jitter: self.jitter.stats(),
            loss_received,
            jitter_received: Duration::from_secs_f64(f64::from(self.receiver.jitter()) / clock),
            ..self.stats
        }
    }

    /// An RTCP compound from the other side (`wall` is our clock now, as
    /// NTP time, for the round trip).
    pub fn handle_rtcp(&mut self, now: Time, wall: NtpTime, bytes: &[u8]) {
        let Ok(packets) = rtp::parse_compound(bytes) else {
            self.stats.packets_dropped += 1;
            return;
        };
        for packet in packets {
            let (reports, sender) = match packet {
                RtcpPacket::SenderReport(report) => {
                    self.receiver
                        .handle_sender_report(now, report.ssrc, report.ntp);
                    (report.reports, true)
                }
                RtcpPacket::ReceiverReport(report) => (report.reports, false),
                _ => continue,
            };
            let _ = sender;
            for block in reports.iter().filter(|block| block.ssrc == self.ssrc) {
                self.stats.loss_reported = Some(f64::from(block.fraction_lost) / 256.0);
                if let Some(round_trip) = rtp::round_trip_time(wall, block) {
                    self.stats.round_trip = Some(round_trip);
                }
            }
        }
    }

    /// Our RTCP compound (RFC 3550 §6.1): a sender report while we send
    /// (a receiver report otherwise), with a report on what we hear, and
    /// our CNAME. The media task sends it every few seconds.
    pub fn rtcp_report(&mut self, now: Time, wall: NtpTime) -> Option<(SocketAddr, Vec<u8>)> {
        let reports: Vec<_> = self.receiver.report_block(now).into_iter().collect();
        let first = if self.stats.packets_sent > 0 && self.audio.direction.sends() {
            RtcpPacket::SenderReport(SenderReport {
                ssrc: self.ssrc,
                ntp: wall,
                rtp_timestamp: self.timestamp,
                packet_count: u32::try_from(self.stats.packets_sent).unwrap_or(u32::MAX),
                octet_count: self.octets_sent,
                reports,
            })
        } else {
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: self.ssrc,
                reports,
            })
        };
        let description =
            RtcpPacket::SourceDescription(vec![SdesChunk::cname(self.ssrc, &self.cname)]);
        let mut datagram = Vec::with_capacity(128);
        match rtp::write_compound(&[first, description], &mut datagram) {
            Ok(()) => Some((self.audio.remote_rtcp, datagram)),
            Err(error) => {
                tracing::warn!(%error, "an RTCP report that cannot be written");
                None
            }
        }
    }

    pub fn remote(&self) -> SocketAddr {
        self.audio.remote
    }

    /// A datagram from the network.
    pub fn handle_packet(&mut self, now: Time, bytes: &[u8]) {
        if rtp::is_rtcp(bytes) {
            return; // Reports are read by the RTCP side, not here.
        }
        let Ok(packet) = rtp::parse(bytes) else {
            self.stats.packets_dropped += 1;
            return;
        };
        let header = &packet.header;
        if header.payload_type == self.audio.codec.payload_type {
            self.stats.packets_received += 1;
            self.receiver
                .handle_packet(now, header, self.codec.clock_rate());
            if !self.audio.direction.receives() {
                return;
            }
            self.jitter.push(
                now,
                MediaPacket {
                    ssrc: header.ssrc,
                    sequence: header.sequence,
                    timestamp: header.timestamp,
                    payload: packet.payload,
                },
            );
        } else if self
            .audio
            .telephone_event
            .is_some_and(|event| event.payload_type == header.payload_type)
        {
            self.stats.packets_received += 1;
            if let Some(receiver) = self.dtmf_in.as_mut() {
                if receiver
                    .handle_packet(header.timestamp, packet.payload)
                    .is_err()
                {
                    self.stats.packets_dropped += 1;
                }
                while let Some(event) = receiver.poll_event() {
                    if let dtmf::DtmfEvent::Began {
                        digit: Some(digit), ..
                    } = event
                    {
                        self.received_digits.push_back(digit);
                    }
                }
            }
        } else {
            self.stats.packets_dropped += 1;
        }
    }

    /// One 20 ms tick: send the microphone's frame, fill the speaker's.
    pub fn tick(&mut self, now: Time, microphone: &Frame, speaker: &mut Frame) {
        self.send_due_events(now);
        if self.audio.direction.sends() && self.dtmf_out.is_empty() {
            let frame = if self.muted { &SILENCE } else { microphone };
            self.payload.clear();
            match self.encoder.encode(frame, &mut self.payload) {
                Ok(()) => {
                    let payload = std::mem::take(&mut self.payload);
                    self.send(
                        self.audio.codec.payload_type,
                        false,
                        self.timestamp,
                        &payload,
                    );
                    self.payload = payload;
                }
                Err(error) => tracing::warn!(%error, "encoding a frame failed"),
            }
        }
        self.timestamp = self
            .timestamp
            .wrapping_add(self.codec.timestamp_increment());
        self.play(now, speaker);
    }

    fn play(&mut self, now: Time, speaker: &mut Frame) {
        if !self.audio.direction.receives() {
            *speaker = SILENCE;
            return;
        }
        let result = match self.jitter.pop(now) {
            Playout::Frame(payload) => self.decoder.decode(payload, speaker).map(|_| ()),
            Playout::Fec(next) => self.decoder.decode_fec(next, speaker).map(|_| ()),
            Playout::Conceal => {
                self.decoder.conceal(speaker);
                Ok(())
            }
            Playout::Silence => {
                *speaker = SILENCE;
                Ok(())
            }
        };
        if let Err(error) = result {
            tracing::debug!(%error, "a frame that does not decode; concealed");
            self.decoder.conceal(speaker);
        }
    }

    /// RFC 4733: queues the event packets of each digit; audio pauses while
    /// they go out.
    pub fn send_dtmf(&mut self, now: Time, digits: &str) -> Result<(), String> {
        let Some(event) = self.audio.telephone_event else {
            return Err("the other side did not offer telephone-event (RFC 4733)".into());
        };
        let mut start = self.dtmf_out.back().map_or(now, |last| last.at) + DTMF_GAP;
        for digit in digits.chars() {
            let packets = dtmf::encode_press(digit, DTMF_PRESS, event.clock_rate, DTMF_VOLUME)
                .map_err(|error| error.to_string())?;
            // The event's timestamp is the audio clock at its start.
            let offset = u32::try_from(start.saturating_since(now).as_millis()).unwrap_or(0);
            let timestamp = self
                .timestamp
                .wrapping_add(offset.wrapping_mul(self.codec.clock_rate() / 1000));
            for packet in &packets {
                self.dtmf_out.push_back(PendingEvent {
                    at: start + packet.offset,
                    marker: packet.marker,
                    timestamp: timestamp.wrapping_add(packet.timestamp_offset),
                    payload: packet.payload.to_bytes().to_vec(),
                });
            }
            start = start + DTMF_PRESS + DTMF_GAP;
        }
        Ok(())
    }

    /// Digits the other side pressed.
    pub fn poll_dtmf(&mut self) -> Option<char> {
        self.received_digits.pop_front()
    }

    fn send_due_events(&mut self, now: Time) {
        let Some(event) = self.audio.telephone_event else {
            self.dtmf_out.clear();
            return;
        };
        while self
            .dtmf_out
            .front()
            .is_some_and(|pending| pending.at <= now)
        {
            if let Some(pending) = self.dtmf_out.pop_front() {
                self.send(
                    event.payload_type,
                    pending.marker,
                    pending.timestamp,
                    &pending.payload,
                );
            }
        }
    }

    fn send(&mut self, payload_type: u8, marker: bool, timestamp: u32, payload: &[u8]) {
        let header = RtpHeader {
            padding: 0,
            extension: None,
            marker,
            payload_type,
            sequence: self.sequence,
            timestamp,
            ssrc: self.ssrc,
            csrcs: Vec::new(),
        };
        let mut datagram = Vec::with_capacity(12 + payload.len());
        match rtp::write(&header, payload, &mut datagram) {
            Ok(()) => {
                self.sequence = self.sequence.wrapping_add(1);
                self.stats.packets_sent += 1;
                let octets = u32::try_from(payload.len()).unwrap_or(u32::MAX);
                self.octets_sent = self.octets_sent.wrapping_add(octets);
                self.outbox.push_back((self.audio.remote, datagram));
            }
            Err(error) => tracing::warn!(%error, "an RTP packet that cannot be written"),
        }
    }

    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.outbox.pop_front()
    }
}

/// With in-band FEC a lost frame is rebuilt from the next packet, which
/// must be here by the lost frame's turn: one frame more than the minimum
/// buys that on a network without jitter (measured: 10% loss then leaves
/// next to no audible gap; see tests/it/audio.rs).
pub(super) fn jitter_config(codec: Codec) -> JitterConfig {
    let mut config = JitterConfig::for_codec(codec);
    if codec.has_inband_fec() {
        config.min_delay = config.min_delay.max(Duration::from_millis(40));
    }
    config
}

pub(super) fn codec_of(codec: AudioCodec) -> Codec {
    match codec {
        AudioCodec::Opus => Codec::Opus,
        AudioCodec::Pcmu => Codec::Pcmu,
    }
}

#[cfg(test)]
mod tests {
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
        let (mut heard_a, mut heard_b) = (Vec::new(), Vec::new());
        for n in 0..frames {
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
        let a =
            MediaSession::new(negotiated(codec, "10.0.0.2:4000", Direction::SendRecv), 1).unwrap();
        let b =
            MediaSession::new(negotiated(codec, "10.0.0.1:4000", Direction::SendRecv), 2).unwrap();
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
        a.send_dtmf(Time::ZERO, "1#9").unwrap();
        run(&mut a, &mut b, 100);
        let digits: String = std::iter::from_fn(|| b.poll_dtmf()).collect();
        assert_eq!(digits, "1#9");
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
}
