//! The RTP fixed header, CSRC list, header extension and padding (RFC 3550
//! §5.1, §5.3.1), read in place from a datagram and written to a buffer.
//!
//! Reading borrows: the payload and the extension's data are slices of the
//! datagram; only a non-empty CSRC list allocates. The version is always 2
//! and so is not a field.

use super::{RTP_VERSION, RtpError};

/// The fixed part of the header.
const FIXED_HEADER_LEN: usize = 12;
/// RFC 3550 §5.1: CC is four bits.
pub const MAX_CSRCS: usize = 15;

/// An RTP header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RtpHeader<'a> {
    /// Octets of padding after the payload, the count octet included; 0
    /// means the P bit is clear.
    pub padding: u8,
    /// The header extension (X bit).
    pub extension: Option<HeaderExtension<'a>>,
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// Contributing sources, put in by a mixer (§5.1).
    pub csrcs: Vec<u32>,
}

/// A header extension (RFC 3550 §5.3.1): a profile-defined 16 bits and
/// whole 32-bit words of data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderExtension<'a> {
    pub profile: u16,
    pub data: &'a [u8],
}

/// A read packet: its header and its payload, padding removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub header: RtpHeader<'a>,
    pub payload: &'a [u8],
}

/// Reads an RTP packet, checking every length against the datagram.
pub fn parse(datagram: &[u8]) -> Result<RtpPacket<'_>, RtpError> {
    let fixed: &[u8; FIXED_HEADER_LEN] =
        datagram
            .first_chunk()
            .ok_or(truncated("RTP header", FIXED_HEADER_LEN, datagram.len()))?;
    let version = fixed[0] >> 6;
    if version != RTP_VERSION {
        return Err(RtpError::BadVersion(version));
    }
    let has_padding = fixed[0] & 0x20 != 0;
    let has_extension = fixed[0] & 0x10 != 0;
    let csrc_count = usize::from(fixed[0] & 0x0f);
    let mut header = RtpHeader {
        padding: 0,
        extension: None,
        marker: fixed[1] & 0x80 != 0,
        payload_type: fixed[1] & 0x7f,
        sequence: u16::from_be_bytes([fixed[2], fixed[3]]),
        timestamp: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
        ssrc: u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]),
        csrcs: Vec::new(),
    };

    let mut rest = &datagram[FIXED_HEADER_LEN..];
    let csrc_len = csrc_count * 4;
    let (csrcs, after) = rest.split_at_checked(csrc_len).ok_or(truncated(
        "CSRC list",
        FIXED_HEADER_LEN + csrc_len,
        datagram.len(),
    ))?;
    header.csrcs = csrcs
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    rest = after;

    if has_extension {
        let (head, after) =
            rest.split_first_chunk::<4>()
                .ok_or(truncated("header extension", 4, rest.len()))?;
        let words = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let (data, after) = after.split_at_checked(words * 4).ok_or(truncated(
            "header extension data",
            words * 4,
            after.len(),
        ))?;
        header.extension = Some(HeaderExtension {
            profile: u16::from_be_bytes([head[0], head[1]]),
            data,
        });
        rest = after;
    }

    if has_padding {
        // §5.1: the last octet counts the padding, itself included.
        let padding = rest.last().copied().unwrap_or(0);
        let payload_len = rest
            .len()
            .checked_sub(usize::from(padding))
            .filter(|_| padding > 0)
            .ok_or(RtpError::BadPadding {
                padding: usize::from(padding),
                available: rest.len(),
            })?;
        header.padding = padding;
        rest = &rest[..payload_len];
    }

    Ok(RtpPacket {
        header,
        payload: rest,
    })
}

/// Appends the packet `header` + `payload` to `out`. On error nothing is
/// appended.
pub fn write(header: &RtpHeader<'_>, payload: &[u8], out: &mut Vec<u8>) -> Result<(), RtpError> {
    if header.csrcs.len() > MAX_CSRCS {
        return Err(RtpError::TooManyCsrcs(header.csrcs.len()));
    }
    if header.payload_type > 0x7f {
        return Err(RtpError::BadPayloadType(header.payload_type));
    }
    let extension_words = match &header.extension {
        Some(extension) => {
            let len = extension.data.len();
            if len % 4 != 0 || len / 4 > usize::from(u16::MAX) {
                return Err(RtpError::BadExtension(len));
            }
            Some(len / 4)
        }
        None => None,
    };

    out.reserve(
        FIXED_HEADER_LEN
            + header.csrcs.len() * 4
            + header.extension.map_or(0, |e| 4 + e.data.len())
            + payload.len()
            + usize::from(header.padding),
    );
    let first = (RTP_VERSION << 6)
        | if header.padding > 0 { 0x20 } else { 0 }
        | if header.extension.is_some() { 0x10 } else { 0 }
        // At most 15, checked above.
        | header.csrcs.len() as u8;
    out.push(first);
    out.push(if header.marker { 0x80 } else { 0 } | header.payload_type);
    out.extend_from_slice(&header.sequence.to_be_bytes());
    out.extend_from_slice(&header.timestamp.to_be_bytes());
    out.extend_from_slice(&header.ssrc.to_be_bytes());
    for csrc in &header.csrcs {
        out.extend_from_slice(&csrc.to_be_bytes());
    }
    if let (Some(extension), Some(words)) = (&header.extension, extension_words) {
        out.extend_from_slice(&extension.profile.to_be_bytes());
        // At most u16::MAX, checked above.
        out.extend_from_slice(&(words as u16).to_be_bytes());
        out.extend_from_slice(extension.data);
    }
    out.extend_from_slice(payload);
    if header.padding > 0 {
        out.extend(std::iter::repeat_n(0, usize::from(header.padding) - 1));
        out.push(header.padding);
    }
    Ok(())
}

fn truncated(what: &'static str, needed: usize, available: usize) -> RtpError {
    RtpError::Truncated {
        what,
        needed,
        available,
    }
}
