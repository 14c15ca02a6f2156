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
use crate::proto::rtp::{self, RtpHeader};
use crate::proto::sdp::{AudioCodec, NegotiatedAudio};

/// How long one DTMF digit is pressed, and the gap before the next.
const DTMF_PRESS: Duration = Duration::from_millis(120);
const DTMF_GAP: Duration = Duration::from_millis(80);
/// RFC 4733 §2.3.2: the volume field, in -dBm0 (10 is a usual level).
const DTMF_VOLUME: u8 = 10;

/// Counters for diagnostics (the UI's call details, RTCP).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MediaStats {
    pub packets_sent: u64,
    pub packets_received: u64,
    /// Packets that were not our stream's audio or DTMF, or not RTP.
    pub packets_dropped: u64,
    pub jitter: JitterStats,
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
        MediaStats {
            jitter: self.jitter.stats(),
            ..self.stats
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
fn jitter_config(codec: Codec) -> JitterConfig {
    let mut config = JitterConfig::for_codec(codec);
    if codec.has_inband_fec() {
        config.min_delay = config.min_delay.max(Duration::from_millis(40));
    }
    config
}

fn codec_of(codec: AudioCodec) -> Codec {
    match codec {
        AudioCodec::Opus => Codec::Opus,
        AudioCodec::Pcmu => Codec::Pcmu,
    }
}
