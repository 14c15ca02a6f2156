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
//!
//! From a conference mixer, audio packets list their contributing sources
//! (RFC 3550 §5.1 CSRCs); the session keeps each one's last arrival and
//! tells who spoke within [`SPEAKING_HOLD`]. When RFC 6465 audio levels
//! were negotiated (RFC 8285 §5: never read otherwise), each source speaks
//! at the level the mixer gave it in the last packet that listed it, as a
//! linear amplitude; a source listed without one (levels not negotiated,
//! not sent, or unreadable) speaks at the peak of the frame last played.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::codec::{AudioDecoder, AudioEncoder, Codec, CodecError, OpusConfig};
use super::contributors::{Contributors, MAX_CONTRIBUTORS};
use super::jitter::{JitterBuffer, JitterConfig, JitterStats, MediaPacket, Playout};
use super::{Frame, SILENCE};
use crate::proto::Time;
use crate::proto::dtmf::{self, DtmfReceiver};
use crate::proto::rtp::{
    self, AudioLevel, NtpTime, ReceiverReport, ReceiverStats, RtcpPacket, RtpHeader, SdesChunk,
    SenderReport,
};
use crate::proto::sdp::{AudioCodec, NegotiatedAudio};

/// How long one DTMF digit is pressed, and the gap before the next.
const DTMF_PRESS: Duration = Duration::from_millis(120);
const DTMF_GAP: Duration = Duration::from_millis(80);
/// RFC 4733 §2.3.2: the volume field, in -dBm0 (10 is a usual level).
const DTMF_VOLUME: u8 = 10;
/// A contributing source counts as speaking this long after the last packet
/// that listed it: a few frames, so a meter follows the mixer's talkers
/// without flickering between packets.
pub const SPEAKING_HOLD: Duration = Duration::from_millis(200);

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

/// A contributing source heard lately.
#[derive(Clone, Copy, Debug)]
struct HeardSource {
    csrc: u32,
    /// When a packet last listed it.
    seen: Time,
    /// Its RFC 6465 level in that packet, as a linear amplitude, 0 to 1.
    level: Option<f32>,
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
    /// The contributing sources heard lately; at most [`MAX_CONTRIBUTORS`].
    sources: Vec<HeardSource>,
    /// The peak of the last frame played, 0 to 1: the level of a source
    /// listed without an RFC 6465 level.
    played_peak: f32,
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
            sources: Vec::with_capacity(MAX_CONTRIBUTORS),
            played_peak: 0.0,
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
            codec: self.codec.display_name(),
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
            // RFC 8285 §5: the levels only under the negotiated ID; a
            // malformed extension loses them, not the packet.
            let levels = self
                .audio
                .csrc_audio_level
                .zip(header.extension.as_ref())
                .and_then(|(id, extension)| rtp::find_one_byte(extension, id).ok().flatten());
            self.note_sources(now, &header.csrcs, levels);
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
            self.receiver.handle_untimed_packet(header);
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

    /// The contributing sources listed within [`SPEAKING_HOLD`] of `now`,
    /// each at its RFC 6465 level from the last packet that listed it (the
    /// linear amplitude of its dBov, 0 to 1, as a frame's peak reads), or
    /// else at the peak of the frame last played.
    pub fn speaking(&self, now: Time) -> Contributors {
        let mut speaking = Contributors::default();
        for source in &self.sources {
            if now.saturating_since(source.seen) <= SPEAKING_HOLD {
                speaking.insert(source.csrc, source.level.unwrap_or(self.played_peak));
            }
        }
        speaking
    }

    /// Notes the CSRCs of an audio packet that arrived at `now`, with the
    /// RFC 6465 element's data if it had one (a level per CSRC, in CSRC
    /// order, RFC 6465 §3); sources not heard within [`SPEAKING_HOLD`] are
    /// forgotten, and past [`MAX_CONTRIBUTORS`] the longest unheard one
    /// makes room.
    fn note_sources(&mut self, now: Time, csrcs: &[u32], levels: Option<&[u8]>) {
        self.sources
            .retain(|source| now.saturating_since(source.seen) <= SPEAKING_HOLD);
        for (index, &csrc) in csrcs.iter().enumerate() {
            let heard = HeardSource {
                csrc,
                seen: now,
                level: levels
                    .and_then(|levels| levels.get(index))
                    .map(|&byte| AudioLevel::from_byte(byte).amplitude()),
            };
            if let Some(source) = self.sources.iter_mut().find(|s| s.csrc == csrc) {
                // A packet that arrived out of order says nothing newer.
                if source.seen <= now {
                    *source = heard;
                }
            } else if self.sources.len() < MAX_CONTRIBUTORS {
                self.sources.push(heard);
            } else if let Some(oldest) = self.sources.iter_mut().min_by_key(|s| s.seen) {
                *oldest = heard;
            }
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
        self.played_peak = super::source::Level::of(speaker).peak;
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
mod tests;
