//! RTP and RTCP (RFC 3550): packets, sequence tracking, reception
//! statistics and the RTCP reports built from them.
//!
//! - [`packet`]: the RTP header (§5.1) read in place and written, with
//!   CSRCs, the header extension (§5.3.1) and padding.
//! - [`sequence`]: extended sequence numbers across wrap-around with
//!   probation, resynchronisation and duplicates (Appendix A.1), and
//!   extended timestamps.
//! - [`stats`]: what a receiver knows of one source: loss (A.3),
//!   interarrival jitter (A.8), and the report block that says so.
//! - [`extension`]: RFC 8285 one-byte header extension elements, and
//!   the RFC 6465 mixer-to-client audio levels carried in one.
//! - [`rtcp`]: compound RTCP packets (§6.1) with SR, RR, SDES and BYE, the
//!   round-trip time of §6.4.1, and the report interval of §6.3.
//!
//! Sans-IO: arrival times are [`crate::proto::Time`] and NTP wall-clock
//! times are arguments, randomness comes from the caller's RNG. Bytes from
//! the network never panic: anything short, of another version, or with a
//! length that runs past the end is an [`RtpError`].

pub mod extension;
pub mod packet;
pub mod rtcp;
pub mod sequence;
pub mod stats;

#[cfg(test)]
mod tests;

use thiserror::Error;

pub use extension::{
    AudioLevel, CSRC_AUDIO_LEVEL_URI, ExtensionElement, ONE_BYTE_PROFILE, csrc_audio_levels,
    find_one_byte, one_byte_elements, write_one_byte,
};
pub use packet::{HeaderExtension, RtpHeader, RtpPacket, parse, write};
pub use rtcp::{
    Goodbye, NtpTime, ReceiverReport, ReportBlock, RtcpPacket, SdesChunk, SdesItem, SenderReport,
    parse_compound, round_trip_time, rtcp_interval, write_compound,
};
pub use sequence::{SequenceTracker, SequenceUpdate, TimestampExtender};
pub use stats::ReceiverStats;

/// The only RTP version (RFC 3550 §5.1).
pub const RTP_VERSION: u8 = 2;

/// Whether a datagram on a shared port is RTCP rather than RTP (RFC 5761
/// §4): the second octet is an RTCP packet type in 192-223, which an RTP
/// header could only show with payload types 64-95, kept free for this.
pub fn is_rtcp(datagram: &[u8]) -> bool {
    matches!(datagram.get(1), Some(192..=223))
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RtpError {
    #[error("{what} needs {needed} bytes, has {available}")]
    Truncated {
        what: &'static str,
        needed: usize,
        available: usize,
    },
    #[error("version {0}, not 2")]
    BadVersion(u8),
    #[error("padding of {padding} bytes in {available} bytes of payload")]
    BadPadding { padding: usize, available: usize },
    #[error("{0} CSRCs; at most 15")]
    TooManyCsrcs(usize),
    #[error("payload type {0} is above 127")]
    BadPayloadType(u8),
    #[error("header extension of {0} bytes is not whole 32-bit words under 256 KiB")]
    BadExtension(usize),
    #[error("header extension profile {0:#06x} is not RFC 8285's one-byte form")]
    NotOneByteExtension(u16),
    #[error("one-byte header extension element ID {0}; IDs are 1 to 14")]
    BadExtensionId(u8),
    #[error("one-byte header extension element of {0} bytes; 1 to 16")]
    BadElementLength(usize),
    #[error("header extension byte {0:#04x} is neither padding (0) nor an element")]
    BadExtensionPadding(u8),
    #[error("compound RTCP must start with SR or RR, not packet type {0}")]
    NotReportFirst(u8),
    #[error("only the last RTCP packet of a compound may be padded")]
    PaddingNotLast,
    #[error("RTCP packet type {packet_type}: {count} items do not fit its length")]
    CountOverrun { packet_type: u8, count: u8 },
    #[error("{what}: {count} is more than 31")]
    TooManyItems { what: &'static str, count: usize },
    #[error("SDES item or BYE reason of {0} bytes; at most 255")]
    TextTooLong(usize),
    #[error("SDES item type 0 is the end of a chunk, not an item")]
    SdesEnd,
    #[error("RTCP packet of {0} bytes is over its 16-bit length")]
    PacketTooLong(usize),
    #[error("empty compound RTCP packet")]
    Empty,
}
