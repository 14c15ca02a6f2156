//! One leg of the A/V MCU, sans-IO: the RTP stream between the mixer and one
//! participant, and [`ConferenceMedia`], the legs of every conference with a
//! [`Mixer`](super::mixer::Mixer) each.
//!
//! In: RTP of the negotiated payload type from the leg's peer goes to the
//! leg's jitter buffer; on each 20 ms tick the buffer's [`Playout`] is
//! pushed into the conference's mixer. Out: the mixer's payload for the leg
//! goes out as RTP with the leg's own SSRC, sequence and timestamp (RFC 3550
//! §5.1, random initial values), and a CSRC list naming the talkers mixed
//! into it, the listener itself excluded (RFC 3550 §7.1: a mixer lists its
//! contributing sources). A leg's CSRC is its leg id truncated to 32 bits,
//! the `src-id` its roster entry carries. RTCP: a sender report while the
//! leg is sent audio, else a receiver report, with a report block on what
//! the leg sends us and our CNAME (RFC 3550 §6.1, §6.4).
//!
//! To a leg that negotiated RFC 6465 audio levels (`a=extmap`, RFC 8285
//! §5), every packet with CSRCs also carries them, in a one-byte-header
//! extension element under the leg's negotiated ID: one level per CSRC, in
//! CSRC order, in -dBov, as the mixer measured each talker's own audio in
//! the frame. Other legs get no header extension at all.
//!
//! RFC 4733 telephone-events from a leg that negotiated them (by payload
//! type, on the audio stream's SSRC) are read into key presses, one per
//! event however often its updates and end packets repeat (§2.5.1.4: the
//! end goes three times; a new event is a new RTP timestamp, §2.5.2), and
//! never reach the jitter buffer or the mixer. Events that are not DTMF
//! keys (§3) and malformed payloads are dropped. A dial-in caller keys a
//! conference's code this way; [`ConferenceMedia::move_leg`] then takes
//! its leg from the lobby into that conference's mixer, its stream
//! (ports, SSRC, sequence, timestamp, codec, jitter buffer, key presses
//! half read) going on as it was.
//!
//! Direction is ours, as negotiated (RFC 3264 §8.4): a leg we do not send
//! to (the participant put us on hold) is not listening in the mixer and is
//! sent nothing; a leg we do not receive from is not mixed, nor are its
//! key presses read. A leg is only mixed once started
//! ([`ConferenceMedia::start_leg`]); until then its packets are dropped.
//!
//! Each leg's [`LegStats`] (RFC 3550 §A.3 loss and §A.8 jitter of what
//! the participant sends, the round trip from its reports, the jitter
//! buffer's delay) are read out as a [`LegQuality`] for the roster.
//!
//! Invariants: bytes from the network never panic; once its buffers have
//! grown, a tick allocates nothing (each leg keeps one datagram buffer and
//! one CSRC list, reused); a conference exists exactly while it has legs.

mod bridge;

use std::net::SocketAddr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::codec::Codec;
use super::jitter::{JitterBuffer, JitterConfig, JitterStats, MediaPacket, Playout};
use super::session::codec_of;
use crate::proto::dtmf::{DtmfEvent, DtmfReceiver};
use crate::proto::rtp::{
    self, AudioLevel, ExtensionElement, HeaderExtension, NtpTime, ONE_BYTE_PROFILE, ReceiverReport,
    ReceiverStats, RtcpPacket, RtpHeader, SdesChunk, SenderReport,
};
use crate::proto::sdp::NegotiatedAudio;
use crate::proto::{LegQuality, Time};

pub use self::bridge::ConferenceMedia;

/// What can go wrong managing the MCU's legs.
#[derive(Debug, thiserror::Error)]
pub enum ConferenceLegError {
    #[error("no leg {0}")]
    UnknownLeg(u64),
    #[error("leg {0} is already open")]
    DuplicateLeg(u64),
    #[error("mixer: {0}")]
    Mixer(#[from] super::mixer::MixerError),
}

/// Counters of one leg, for diagnostics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LegStats {
    pub packets_sent: u64,
    pub packets_received: u64,
    /// Packets that were not the leg's audio or telephone-events, or not
    /// RTP, or telephone-events whose payload did not parse.
    pub packets_dropped: u64,
    /// Telephone-event packets taken in (their repeats included).
    pub events_received: u64,
    pub jitter: JitterStats,
    /// Of the packets the participant sent us, the share lost (RFC 3550
    /// §A.3, cumulative).
    pub loss_received: f64,
    /// Interarrival jitter of what the participant sends (RFC 3550 §A.8).
    pub jitter_received: Duration,
    /// What the participant reports losing of ours, from its last report.
    pub loss_reported: Option<f64>,
    /// Round-trip time from the participant's last report (RFC 3550
    /// §6.4.1).
    pub round_trip: Option<Duration>,
}

/// The RTP stream between the mixer and one participant.
pub struct ConferenceLeg {
    id: u64,
    /// The key of the conference (and so of the mixer) the leg is in.
    conference: String,
    /// `None` until the leg is started: nothing is mixed or sent before.
    audio: Option<NegotiatedAudio>,
    codec: Codec,
    jitter: JitterBuffer,
    receiver: ReceiverStats,
    /// Reads telephone-events while they are negotiated.
    dtmf: Option<DtmfReceiver>,
    blocked: bool,
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    /// RFC 3551 §4.1: the first packet of a talk spurt carries the marker.
    marker: bool,
    /// Reused for every packet: the contributing sources, their RFC 6465
    /// levels, the header extension's data, the datagram.
    csrcs: Vec<u32>,
    levels: Vec<u8>,
    extension: Vec<u8>,
    datagram: Vec<u8>,
    /// Whether `datagram` holds this tick's packet, not yet taken.
    pending: bool,
    octets_sent: u32,
    stats: LegStats,
    cname: String,
    /// When the leg's next RTCP report is due; `None` until its timer
    /// starts (see [`ConferenceMedia::rtcp_reports`]).
    next_report: Option<Time>,
}

impl ConferenceLeg {
    pub fn new(conference: &str, id: u64, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let codec = Codec::Opus;
        ConferenceLeg {
            id,
            conference: conference.to_owned(),
            audio: None,
            codec,
            jitter: JitterBuffer::new(leg_jitter_config(codec)),
            receiver: ReceiverStats::new(),
            dtmf: None,
            blocked: false,
            // RFC 3550 §5.1: random initial sequence, timestamp and SSRC.
            ssrc: rng.random(),
            sequence: rng.random(),
            timestamp: rng.random(),
            marker: true,
            csrcs: Vec::with_capacity(rtp::packet::MAX_CSRCS),
            levels: Vec::with_capacity(rtp::packet::MAX_CSRCS),
            // One element header and 15 levels, in whole words.
            extension: Vec::with_capacity(16),
            datagram: Vec::with_capacity(1500),
            pending: false,
            octets_sent: 0,
            stats: LegStats::default(),
            cname: format!("confab-mcu-{:08x}", rng.random::<u32>()),
            next_report: None,
        }
    }

    /// The leg's CSRC in the mixes others hear (its roster `src-id`).
    pub fn csrc(&self) -> u32 {
        csrc_of(self.id)
    }

    pub fn conference(&self) -> &str {
        &self.conference
    }

    /// Our SSRC towards this leg.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Where the leg's RTP comes from and goes, once started.
    pub fn remote(&self) -> Option<SocketAddr> {
        self.audio.as_ref().map(|audio| audio.remote)
    }

    pub fn is_started(&self) -> bool {
        self.audio.is_some()
    }

    /// Whether we send the leg its mix (false on hold, RFC 3264 §8.4).
    pub fn is_listening(&self) -> bool {
        self.audio
            .as_ref()
            .is_some_and(|audio| audio.direction.sends())
    }

    /// Whether we take the leg's audio into the mix.
    pub fn is_heard(&self) -> bool {
        self.audio
            .as_ref()
            .is_some_and(|audio| audio.direction.receives())
    }

    pub fn is_blocked(&self) -> bool {
        self.blocked
    }

    /// The jitter buffer's counters and delays alone (cheap: no loss
    /// figures worked out).
    pub fn jitter_stats(&self) -> JitterStats {
        self.jitter.stats()
    }

    pub fn stats(&self) -> LegStats {
        let loss_received = self.receiver.sequence().map_or(0.0, |sequence| {
            match sequence.expected() {
                0 => 0.0,
                // A.3: duplicates can make the count negative; none lost.
                expected => sequence.cumulative_lost().max(0) as f64 / expected as f64,
            }
        });
        let clock = f64::from(self.codec.clock_rate());
        LegStats {
            jitter: self.jitter.stats(),
            loss_received,
            jitter_received: Duration::from_secs_f64(f64::from(self.receiver.jitter()) / clock),
            ..self.stats
        }
    }

    /// How the participant's audio reaches us, for the roster: what we
    /// receive of theirs (loss, jitter, our buffer's delay) and the round
    /// trip their reports tell.
    pub fn quality(&self) -> LegQuality {
        quality_of(self.codec, &self.stats())
    }

    /// Starts the leg or applies a re-INVITE. Returns true when the codec
    /// changed (the mixer needs the participant anew, with a decoder for
    /// the new codec).
    fn start(&mut self, audio: NegotiatedAudio) -> bool {
        let codec = codec_of(audio.codec.codec);
        let changed = codec != self.codec;
        if changed {
            self.jitter = JitterBuffer::new(leg_jitter_config(codec));
            self.codec = codec;
        }
        if !self.is_listening() && audio.direction.sends() {
            self.marker = true;
        }
        // A re-INVITE that keeps the telephone-event clock keeps the
        // receiver: an event in progress is not reported a second time.
        let events = |audio: Option<&NegotiatedAudio>| {
            audio.and_then(|audio| audio.telephone_event.map(|event| event.clock_rate))
        };
        let clock_rate = events(Some(&audio));
        if clock_rate != events(self.audio.as_ref()) || self.dtmf.is_none() {
            self.dtmf = clock_rate.map(DtmfReceiver::new);
        }
        self.audio = Some(audio);
        changed
    }

    /// Back to not started: nothing mixed or sent (the mixer could not take
    /// the leg).
    fn stop(&mut self) {
        self.audio = None;
        self.pending = false;
    }

    /// A datagram from the leg's peer on the RTP port; the key its caller
    /// pressed, if it is the first packet of a telephone-event for a DTMF
    /// key.
    pub fn handle_packet(&mut self, now: Time, bytes: &[u8]) -> Option<char> {
        let Some(audio) = self.audio.as_ref() else {
            self.stats.packets_dropped += 1;
            return None;
        };
        if rtp::is_rtcp(bytes) {
            return None; // RFC 5761 reports are read on the RTCP port only.
        }
        let Ok(packet) = rtp::parse(bytes) else {
            self.stats.packets_dropped += 1;
            return None;
        };
        let header = &packet.header;
        if header.payload_type != audio.codec.payload_type {
            // RFC 4733 §2.1: telephone-events are told by their payload
            // type; they are read, never mixed. Anything else is foreign.
            let event = audio
                .telephone_event
                .is_some_and(|event| event.payload_type == header.payload_type);
            if !event {
                self.stats.packets_dropped += 1;
                return None;
            }
            self.stats.packets_received += 1;
            self.stats.events_received += 1;
            self.receiver.handle_untimed_packet(header);
            if !audio.direction.receives() {
                return None;
            }
            return self.handle_event(header.timestamp, packet.payload);
        }
        self.stats.packets_received += 1;
        self.receiver
            .handle_packet(now, header, self.codec.clock_rate());
        if !audio.direction.receives() {
            return None;
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
        None
    }

    /// One telephone-event packet: the key pressed, when it begins a new
    /// event that is a DTMF key (RFC 4733 §3: 0-9, *, #, A-D).
    fn handle_event(&mut self, timestamp: u32, payload: &[u8]) -> Option<char> {
        let receiver = self.dtmf.as_mut()?;
        if let Err(error) = receiver.handle_packet(timestamp, payload) {
            tracing::debug!(%error, leg = self.id, "a telephone-event that does not parse");
            self.stats.packets_dropped += 1;
        }
        // One packet begins at most one event; its end, if it ended one
        // whose end packets were lost, says nothing new.
        let mut pressed = None;
        while let Some(event) = receiver.poll_event() {
            if let DtmfEvent::Began {
                digit: Some(digit), ..
            } = event
            {
                pressed = Some(digit);
            }
        }
        pressed
    }

    /// What the leg says on this tick: its jitter buffer's decision, or
    /// silence when it is not heard.
    fn playout(&mut self, now: Time) -> Playout<'_> {
        if self.is_heard() {
            self.jitter.pop(now)
        } else {
            Playout::Silence
        }
    }

    /// Writes this tick's packet: `payload` from the mixer, the talkers of
    /// the mix (leg ids, with their levels in dBov) as CSRCs, the leg itself
    /// left out, and their RFC 6465 levels if the leg negotiated them.
    fn send_mix(&mut self, payload: &[u8], talkers: &[(u64, f32)]) {
        let Some((payload_type, levels_id)) = self
            .audio
            .as_ref()
            .filter(|audio| audio.direction.sends())
            .map(|audio| (audio.codec.payload_type, audio.csrc_audio_level))
        else {
            return;
        };
        self.csrcs.clear();
        self.levels.clear();
        for &(talker, dbov) in talkers
            .iter()
            .filter(|(talker, _)| *talker != self.id)
            .take(rtp::packet::MAX_CSRCS)
        {
            self.csrcs.push(csrc_of(talker));
            self.levels.push(AudioLevel::from_dbov(dbov).minus_dbov());
        }
        let extension = self.write_levels(levels_id).then_some(HeaderExtension {
            profile: ONE_BYTE_PROFILE,
            data: &self.extension,
        });
        let header = RtpHeader {
            padding: 0,
            extension,
            marker: self.marker,
            payload_type,
            sequence: self.sequence,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
            csrcs: std::mem::take(&mut self.csrcs),
        };
        self.datagram.clear();
        let written = rtp::write(&header, payload, &mut self.datagram);
        self.csrcs = header.csrcs;
        match written {
            Ok(()) => {
                self.pending = true;
                self.marker = false;
                self.sequence = self.sequence.wrapping_add(1);
                self.stats.packets_sent += 1;
                let octets = u32::try_from(payload.len()).unwrap_or(u32::MAX);
                self.octets_sent = self.octets_sent.wrapping_add(octets);
            }
            Err(error) => {
                tracing::warn!(%error, leg = self.id, "an RTP packet that cannot be written")
            }
        }
    }

    /// Fills `extension` with the RFC 6465 element of `levels` under the
    /// negotiated ID; false when there is none to send: not negotiated, or
    /// no CSRCs (RFC 6465 §3: the levels are those of the CSRCs).
    fn write_levels(&mut self, id: Option<u8>) -> bool {
        self.extension.clear();
        let Some(id) = id.filter(|_| !self.levels.is_empty()) else {
            return false;
        };
        let element = ExtensionElement {
            id,
            data: &self.levels,
        };
        match rtp::write_one_byte(&[element], &mut self.extension) {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, leg = self.id, "audio levels that cannot be written");
                false
            }
        }
    }

    /// The RTP clock runs on whether or not a packet went out (RFC 3550
    /// §5.1: the timestamp reflects the sampling instant).
    fn advance(&mut self) {
        self.timestamp = self
            .timestamp
            .wrapping_add(self.codec.timestamp_increment());
    }

    /// This tick's packet and where it goes, if there is one.
    fn transmit(&self) -> Option<(SocketAddr, &[u8])> {
        let audio = self.audio.as_ref().filter(|_| self.pending)?;
        Some((audio.remote, self.datagram.as_slice()))
    }

    /// An RTCP compound from the leg's peer (`wall`: our clock now as NTP
    /// time, for the round trip).
    pub fn handle_rtcp(&mut self, now: Time, wall: NtpTime, bytes: &[u8]) {
        let Ok(packets) = rtp::parse_compound(bytes) else {
            self.stats.packets_dropped += 1;
            return;
        };
        for packet in packets {
            let reports = match packet {
                RtcpPacket::SenderReport(report) => {
                    self.receiver
                        .handle_sender_report(now, report.ssrc, report.ntp);
                    report.reports
                }
                RtcpPacket::ReceiverReport(report) => report.reports,
                _ => continue,
            };
            for block in reports.iter().filter(|block| block.ssrc == self.ssrc) {
                self.stats.loss_reported = Some(f64::from(block.fraction_lost) / 256.0);
                if let Some(round_trip) = rtp::round_trip_time(wall, block) {
                    self.stats.round_trip = Some(round_trip);
                }
            }
        }
    }

    /// Whether the started leg's RTCP report is due at `now`: its timer
    /// starts the first time it is asked, with the shorter first interval,
    /// and each report due draws the next interval (RFC 3550 §6.3).
    fn report_due<R: Rng + ?Sized>(&mut self, now: Time, rng: &mut R) -> bool {
        if !self.is_started() {
            return false;
        }
        match self.next_report {
            None => {
                self.next_report = Some(now + rtp::rtcp_interval(true, rng));
                false
            }
            Some(due) if now < due => false,
            Some(_) => {
                self.next_report = Some(now + rtp::rtcp_interval(false, rng));
                true
            }
        }
    }

    /// Our RTCP compound for the leg (RFC 3550 §6.1): SR while we send it
    /// audio, else RR; a report block on what it sends; our CNAME. None
    /// before the leg is started.
    pub fn rtcp_report(&mut self, now: Time, wall: NtpTime) -> Option<(SocketAddr, Vec<u8>)> {
        let audio = self.audio.as_ref()?;
        let to = audio.remote_rtcp;
        let sending = audio.direction.sends() && self.stats.packets_sent > 0;
        let reports: Vec<_> = self.receiver.report_block(now).into_iter().collect();
        let first = if sending {
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
            Ok(()) => Some((to, datagram)),
            Err(error) => {
                tracing::warn!(%error, leg = self.id, "an RTCP report that cannot be written");
                None
            }
        }
    }
}

/// The figures of a leg's counters, in percent and milliseconds, for the
/// server core ([`crate::proto::IoResult::McuLegQuality`]).
pub fn quality_of(codec: Codec, stats: &LegStats) -> LegQuality {
    let millis = |duration: Duration| duration.as_secs_f32() * 1000.0;
    LegQuality {
        codec: codec.display_name(),
        // A share of at most 1: the narrowing loses nothing a person reads.
        loss_percent: (stats.loss_received * 100.0) as f32,
        jitter_ms: millis(stats.jitter_received),
        round_trip_ms: stats.round_trip.map(millis),
        buffer_ms: millis(stats.jitter.current_delay),
    }
}

/// A leg's jitter buffer holds only what the network's jitter needs: the
/// bridge's delay adds to every listener's own buffer, so it keeps no
/// floor of its own (a call's 40 ms, held for Opus FEC, is not repeated
/// here: a lost frame is recovered from FEC when jitter has the next
/// packet waiting, and concealed otherwise). The target still grows with
/// the jitter measured.
pub fn leg_jitter_config(codec: Codec) -> JitterConfig {
    JitterConfig {
        min_delay: Duration::ZERO,
        // From the first packet on: the buffer grows at once if jitter
        // needs it, while a frame held from the start would stay (it is
        // dropped only once it is a quarter frame over).
        initial_delay: Duration::ZERO,
        ..JitterConfig::for_codec(codec)
    }
}

/// The CSRC that names a leg in the mix: its id's low 32 bits (the MCU
/// hands out ids that fit).
pub fn csrc_of(leg: u64) -> u32 {
    // Truncation is the mapping itself.
    leg as u32
}

#[cfg(test)]
mod tests;
