//! RTCP (RFC 3550 §6): compound packets of sender and receiver reports,
//! source descriptions and BYE, read and written; the round-trip time of
//! §6.4.1; and the report interval of §6.3.
//!
//! Reading checks what Appendix A.2 checks: version 2 everywhere, SR or RR
//! first, padding only on the last packet, and lengths that add up to the
//! datagram. Other packet types (APP, the feedback messages of RFC 4585,
//! XR) are kept as they are. Writing refuses what cannot be encoded
//! (more than 31 report blocks, text over 255 bytes) and then appends
//! nothing.

use std::time::Duration;

use rand::Rng;

use super::{RTP_VERSION, RtpError};

pub const PACKET_TYPE_SR: u8 = 200;
pub const PACKET_TYPE_RR: u8 = 201;
pub const PACKET_TYPE_SDES: u8 = 202;
pub const PACKET_TYPE_BYE: u8 = 203;

/// SDES item types (§6.5).
pub const SDES_CNAME: u8 = 1;
pub const SDES_NAME: u8 = 2;
pub const SDES_TOOL: u8 = 6;

/// §6.4.1: the five-bit counts (RC, SC) top out at 31.
const MAX_COUNT: usize = 31;
const REPORT_BLOCK_LEN: usize = 24;
const SENDER_INFO_LEN: usize = 20;

/// §6.2: the least time between reports; half of it before the first.
pub const MIN_INTERVAL: Duration = Duration::from_secs(5);

/// A 64-bit NTP timestamp (RFC 5905 §6): seconds since 1900 in the high
/// 32 bits, the fraction of a second in the low.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NtpTime(pub u64);

impl NtpTime {
    /// Seconds from 1900 to the Unix epoch.
    const UNIX_OFFSET: u64 = 2_208_988_800;

    /// The NTP time of a wall-clock reading given as time since the Unix
    /// epoch (the driver reads the clock; this only converts).
    pub fn from_unix(since_epoch: Duration) -> NtpTime {
        let seconds = since_epoch.as_secs().wrapping_add(Self::UNIX_OFFSET);
        let fraction = (u64::from(since_epoch.subsec_nanos()) << 32) / 1_000_000_000;
        NtpTime((seconds << 32) | fraction)
    }

    /// The middle 32 bits, as LSR carries it (§6.4.1): units of 1/65536 s.
    pub fn compact(self) -> u32 {
        // Truncation to the middle 32 bits is the definition.
        (self.0 >> 16) as u32
    }
}

/// One reception report (§6.4.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReportBlock {
    /// The source reported on.
    pub ssrc: u32,
    /// Lost since the last report, in 1/256.
    pub fraction_lost: u8,
    /// Signed 24 bits on the wire.
    pub cumulative_lost: i32,
    pub extended_highest_sequence: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// LSR: the compact NTP time of the last SR from the source, 0 if none.
    pub last_sender_report: u32,
    /// DLSR: since that SR arrived, in 1/65536 s.
    pub delay_since_last_sender_report: u32,
}

/// SR (§6.4.1): what a sender has sent, with reports on what it hears.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SenderReport {
    pub ssrc: u32,
    /// The wall-clock time of the report.
    pub ntp: NtpTime,
    /// The same instant on the RTP clock.
    pub rtp_timestamp: u32,
    pub packet_count: u32,
    pub octet_count: u32,
    pub reports: Vec<ReportBlock>,
}

/// RR (§6.4.2): a receiver's reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiverReport {
    pub ssrc: u32,
    pub reports: Vec<ReportBlock>,
}

/// One SDES chunk (§6.5): a source and its items.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SdesChunk {
    pub ssrc: u32,
    pub items: Vec<SdesItem>,
}

/// One SDES item: its type and text (UTF-8, §6.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SdesItem {
    pub kind: u8,
    pub text: String,
}

impl SdesChunk {
    /// A chunk with only a CNAME, which every compound carries (§6.1).
    pub fn cname(ssrc: u32, cname: &str) -> SdesChunk {
        SdesChunk {
            ssrc,
            items: vec![SdesItem {
                kind: SDES_CNAME,
                text: cname.to_owned(),
            }],
        }
    }

    /// The CNAME item, if any.
    pub fn canonical_name(&self) -> Option<&str> {
        self.items
            .iter()
            .find(|item| item.kind == SDES_CNAME)
            .map(|item| item.text.as_str())
    }
}

/// BYE (§6.6): sources leaving, and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Goodbye {
    pub sources: Vec<u32>,
    pub reason: Option<String>,
}

/// One packet of a compound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RtcpPacket {
    SenderReport(SenderReport),
    ReceiverReport(ReceiverReport),
    SourceDescription(Vec<SdesChunk>),
    Goodbye(Goodbye),
    /// Any other type, its body kept (padding removed).
    Other {
        packet_type: u8,
        count: u8,
        body: Vec<u8>,
    },
}

/// Reads a compound RTCP packet (§6.1, checks of A.2).
pub fn parse_compound(datagram: &[u8]) -> Result<Vec<RtcpPacket>, RtpError> {
    if datagram.is_empty() {
        return Err(RtpError::Empty);
    }
    let mut packets = Vec::new();
    let mut rest = datagram;
    while !rest.is_empty() {
        let head: &[u8; 4] = rest
            .first_chunk()
            .ok_or(truncated("RTCP header", 4, rest.len()))?;
        let version = head[0] >> 6;
        if version != RTP_VERSION {
            return Err(RtpError::BadVersion(version));
        }
        let padded = head[0] & 0x20 != 0;
        let count = head[0] & 0x1f;
        let packet_type = head[1];
        // The length is in 32-bit words, minus one.
        let len = (usize::from(u16::from_be_bytes([head[2], head[3]])) + 1) * 4;
        let (packet, after) =
            rest.split_at_checked(len)
                .ok_or(truncated("RTCP packet", len, rest.len()))?;
        if packets.is_empty() && !matches!(packet_type, PACKET_TYPE_SR | PACKET_TYPE_RR) {
            return Err(RtpError::NotReportFirst(packet_type));
        }
        if padded && !after.is_empty() {
            return Err(RtpError::PaddingNotLast);
        }
        let mut body = &packet[4..];
        if padded {
            let padding = usize::from(body.last().copied().unwrap_or(0));
            let unpadded = body
                .len()
                .checked_sub(padding)
                .filter(|_| padding > 0)
                .ok_or(RtpError::BadPadding {
                    padding,
                    available: body.len(),
                })?;
            body = &body[..unpadded];
        }
        packets.push(parse_packet(packet_type, count, body)?);
        rest = after;
    }
    Ok(packets)
}

fn parse_packet(packet_type: u8, count: u8, body: &[u8]) -> Result<RtcpPacket, RtpError> {
    let overrun = RtpError::CountOverrun { packet_type, count };
    let mut reader = Reader(body);
    Ok(match packet_type {
        PACKET_TYPE_SR => {
            let fixed = 4 + SENDER_INFO_LEN;
            if body.len() < fixed {
                return Err(truncated("SR", fixed, body.len()));
            }
            let report = (|| {
                Some(SenderReport {
                    ssrc: reader.u32()?,
                    ntp: NtpTime(reader.u64()?),
                    rtp_timestamp: reader.u32()?,
                    packet_count: reader.u32()?,
                    octet_count: reader.u32()?,
                    // Profile extensions after the blocks are skipped
                    // (§6.4.1).
                    reports: report_blocks(&mut reader, count)?,
                })
            })();
            RtcpPacket::SenderReport(report.ok_or(overrun)?)
        }
        PACKET_TYPE_RR => {
            let ssrc = reader.u32().ok_or(truncated("RR", 4, body.len()))?;
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc,
                reports: report_blocks(&mut reader, count).ok_or(overrun)?,
            })
        }
        PACKET_TYPE_SDES => {
            let mut chunks = Vec::with_capacity(usize::from(count));
            for _ in 0..count {
                chunks.push(sdes_chunk(&mut reader).ok_or(overrun.clone())?);
            }
            RtcpPacket::SourceDescription(chunks)
        }
        PACKET_TYPE_BYE => {
            let mut sources = Vec::with_capacity(usize::from(count));
            for _ in 0..count {
                sources.push(reader.u32().ok_or(overrun.clone())?);
            }
            // §6.6: an optional length-prefixed reason, then padding.
            let reason = match reader.u8() {
                Some(len) => {
                    let text = reader.take(usize::from(len)).ok_or(overrun)?;
                    Some(String::from_utf8_lossy(text).into_owned())
                }
                None => None,
            };
            RtcpPacket::Goodbye(Goodbye { sources, reason })
        }
        _ => RtcpPacket::Other {
            packet_type,
            count,
            body: body.to_vec(),
        },
    })
}

fn report_blocks(reader: &mut Reader<'_>, count: u8) -> Option<Vec<ReportBlock>> {
    let mut blocks = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let mut block = Reader(reader.take(REPORT_BLOCK_LEN)?);
        let ssrc = block.u32()?;
        let lost = block.u32()?;
        blocks.push(ReportBlock {
            ssrc,
            // Truncation: the high octet is the fraction.
            fraction_lost: (lost >> 24) as u8,
            // Sign-extends the low 24 bits.
            cumulative_lost: ((lost << 8) as i32) >> 8,
            extended_highest_sequence: block.u32()?,
            jitter: block.u32()?,
            last_sender_report: block.u32()?,
            delay_since_last_sender_report: block.u32()?,
        });
    }
    Some(blocks)
}

/// One chunk: SSRC, items up to a null type, then nulls to the next
/// 32-bit boundary (§6.5).
fn sdes_chunk(reader: &mut Reader<'_>) -> Option<SdesChunk> {
    let start = reader.0.len();
    let ssrc = reader.u32()?;
    let mut items = Vec::new();
    loop {
        let kind = reader.u8()?;
        if kind == 0 {
            break;
        }
        let len = reader.u8()?;
        let text = reader.take(usize::from(len))?;
        items.push(SdesItem {
            kind,
            text: String::from_utf8_lossy(text).into_owned(),
        });
    }
    let used = start - reader.0.len();
    reader.take((4 - used % 4) % 4)?;
    Some(SdesChunk { ssrc, items })
}

/// Appends a compound packet; on error nothing is appended.
pub fn write_compound(packets: &[RtcpPacket], out: &mut Vec<u8>) -> Result<(), RtpError> {
    match packets.first() {
        None => return Err(RtpError::Empty),
        Some(RtcpPacket::SenderReport(_) | RtcpPacket::ReceiverReport(_)) => {}
        Some(other) => return Err(RtpError::NotReportFirst(packet_type(other))),
    }
    let start = out.len();
    let result = packets
        .iter()
        .try_for_each(|packet| write_packet(packet, out));
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn packet_type(packet: &RtcpPacket) -> u8 {
    match packet {
        RtcpPacket::SenderReport(_) => PACKET_TYPE_SR,
        RtcpPacket::ReceiverReport(_) => PACKET_TYPE_RR,
        RtcpPacket::SourceDescription(_) => PACKET_TYPE_SDES,
        RtcpPacket::Goodbye(_) => PACKET_TYPE_BYE,
        RtcpPacket::Other { packet_type, .. } => *packet_type,
    }
}

fn write_packet(packet: &RtcpPacket, out: &mut Vec<u8>) -> Result<(), RtpError> {
    let at = out.len();
    let count = match packet {
        RtcpPacket::SenderReport(sr) => sr.reports.len(),
        RtcpPacket::ReceiverReport(rr) => rr.reports.len(),
        RtcpPacket::SourceDescription(chunks) => chunks.len(),
        RtcpPacket::Goodbye(bye) => bye.sources.len(),
        RtcpPacket::Other { count, .. } => usize::from(*count),
    };
    if count > MAX_COUNT {
        return Err(RtpError::TooManyItems {
            what: "RTCP packet",
            count,
        });
    }
    // At most 31, checked above.
    out.extend_from_slice(&[(RTP_VERSION << 6) | count as u8, packet_type(packet), 0, 0]);
    match packet {
        RtcpPacket::SenderReport(sr) => {
            out.extend_from_slice(&sr.ssrc.to_be_bytes());
            out.extend_from_slice(&sr.ntp.0.to_be_bytes());
            out.extend_from_slice(&sr.rtp_timestamp.to_be_bytes());
            out.extend_from_slice(&sr.packet_count.to_be_bytes());
            out.extend_from_slice(&sr.octet_count.to_be_bytes());
            sr.reports.iter().for_each(|block| write_block(block, out));
        }
        RtcpPacket::ReceiverReport(rr) => {
            out.extend_from_slice(&rr.ssrc.to_be_bytes());
            rr.reports.iter().for_each(|block| write_block(block, out));
        }
        RtcpPacket::SourceDescription(chunks) => {
            for chunk in chunks {
                let chunk_start = out.len();
                out.extend_from_slice(&chunk.ssrc.to_be_bytes());
                for item in &chunk.items {
                    if item.kind == 0 {
                        return Err(RtpError::SdesEnd);
                    }
                    out.push(item.kind);
                    write_text(&item.text, out)?;
                }
                // §6.5: at least one null octet ends the items, and nulls
                // pad the chunk to 32 bits.
                out.push(0);
                pad_to_word(out, chunk_start);
            }
        }
        RtcpPacket::Goodbye(bye) => {
            for source in &bye.sources {
                out.extend_from_slice(&source.to_be_bytes());
            }
            if let Some(reason) = &bye.reason {
                write_text(reason, out)?;
            }
            pad_to_word(out, at);
        }
        RtcpPacket::Other { body, .. } => {
            out.extend_from_slice(body);
            pad_to_word(out, at);
        }
    }
    let words = (out.len() - at) / 4 - 1;
    let words = u16::try_from(words).map_err(|_| RtpError::PacketTooLong(out.len() - at))?;
    out[at + 2..at + 4].copy_from_slice(&words.to_be_bytes());
    Ok(())
}

fn write_block(block: &ReportBlock, out: &mut Vec<u8>) {
    out.extend_from_slice(&block.ssrc.to_be_bytes());
    // The low 24 bits of the two's complement, under the fraction.
    let lost =
        (u32::from(block.fraction_lost) << 24) | (block.cumulative_lost as u32 & 0x00ff_ffff);
    out.extend_from_slice(&lost.to_be_bytes());
    out.extend_from_slice(&block.extended_highest_sequence.to_be_bytes());
    out.extend_from_slice(&block.jitter.to_be_bytes());
    out.extend_from_slice(&block.last_sender_report.to_be_bytes());
    out.extend_from_slice(&block.delay_since_last_sender_report.to_be_bytes());
}

/// A length octet and the text.
fn write_text(text: &str, out: &mut Vec<u8>) -> Result<(), RtpError> {
    let len = u8::try_from(text.len()).map_err(|_| RtpError::TextTooLong(text.len()))?;
    out.push(len);
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

fn pad_to_word(out: &mut Vec<u8>, from: usize) {
    while (out.len() - from) % 4 != 0 {
        out.push(0);
    }
}

/// The round-trip time a report block shows (§6.4.1): its arrival time,
/// minus when we sent the SR it answers (LSR), minus how long the peer
/// held it (DLSR). `None` if the peer has had no SR from us (LSR 0) or the
/// result is negative (clocks or a bogus block).
pub fn round_trip_time(arrival: NtpTime, block: &ReportBlock) -> Option<Duration> {
    if block.last_sender_report == 0 {
        return None;
    }
    let rtt = arrival
        .compact()
        .wrapping_sub(block.last_sender_report)
        .wrapping_sub(block.delay_since_last_sender_report);
    // Wrapped past half the range means below zero.
    if rtt > u32::MAX / 2 {
        return None;
    }
    Some(Duration::from_nanos(
        u64::from(rtt) * 1_000_000_000 / 65_536,
    ))
}

/// The time until the next report (§6.3), simplified for the two-member
/// unicast sessions of a call or an MCU leg: there the bandwidth term
/// (members × average size / 5 % of the session bandwidth) is far below
/// [`MIN_INTERVAL`], so the interval is that minimum (halved before the
/// first report, §6.2), times a random factor in [0.5, 1.5) so that
/// reports do not synchronise (§6.3.1). The `e - 3/2` compensation of
/// §6.3.1 belongs to timer reconsideration, which two members do not
/// need, and is not applied.
pub fn rtcp_interval<R: Rng + ?Sized>(initial: bool, rng: &mut R) -> Duration {
    let minimum = if initial {
        MIN_INTERVAL / 2
    } else {
        MIN_INTERVAL
    };
    minimum.mul_f64(rng.random_range(0.5..1.5))
}

fn truncated(what: &'static str, needed: usize, available: usize) -> RtpError {
    RtpError::Truncated {
        what,
        needed,
        available,
    }
}

/// A cursor over a body that never reads past its end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(taken)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).and_then(|b| b.first().copied())
    }

    fn u32(&mut self) -> Option<u32> {
        let (bytes, rest) = self.0.split_first_chunk::<4>()?;
        self.0 = rest;
        Some(u32::from_be_bytes(*bytes))
    }

    fn u64(&mut self) -> Option<u64> {
        let (bytes, rest) = self.0.split_first_chunk::<8>()?;
        self.0 = rest;
        Some(u64::from_be_bytes(*bytes))
    }
}
