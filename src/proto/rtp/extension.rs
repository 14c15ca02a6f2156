//! Header extension elements in RFC 8285's one-byte form, and the one
//! element we use: RFC 6465's mixer-to-client audio levels.
//!
//! RFC 8285 §4.2: the RFC 3550 §5.3.1 extension's profile field reads
//! [`ONE_BYTE_PROFILE`], and its data is a run of elements, each a byte of
//! 4-bit ID and 4-bit length minus one, then 1 to 16 bytes of data. Zero
//! bytes are padding, allowed between elements and after the last (§4.1);
//! ID 15 ends the run (§4.2). The IDs are those negotiated with
//! `a=extmap` (§5, §7): an element is written or looked at only when its
//! extension was negotiated.
//!
//! RFC 6465 §3: the `csrc-audio-level` element holds one byte per CSRC of
//! the packet, in the order of the CSRC list, each a reserved 0 bit and a
//! 7-bit level in -dBov ([`AudioLevel`]).
//!
//! Invariants: reading never panics and never reads past the extension's
//! data; any element that runs past the end, and any padding byte that is
//! not zero, is an [`RtpError`]. Writing appends whole 32-bit words or, on
//! error, nothing.

use super::{HeaderExtension, RtpError};

/// RFC 8285 §4.2: the "defined by profile" field of a one-byte-header
/// extension.
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// RFC 8285 §4.2: IDs 1 to 14 name elements; 0 is padding, 15 reserved.
pub const MAX_ONE_BYTE_ID: u8 = 14;
/// RFC 8285 §4.2: the 4-bit length field counts 1 to 16 bytes of data.
pub const MAX_ONE_BYTE_LEN: usize = 16;
/// RFC 8285 §4.2: the ID that ends the elements of an extension.
const TERMINATING_ID: u8 = 15;

/// RFC 6465 §4: the URI of the mixer-to-client audio level extension.
pub const CSRC_AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:csrc-audio-level";

/// One element of a header extension: its negotiated ID and its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtensionElement<'a> {
    pub id: u8,
    pub data: &'a [u8],
}

/// Appends the data of a one-byte-header extension holding `elements`,
/// zero-padded to whole 32-bit words, to `out`: what goes into a
/// [`HeaderExtension`] with [`ONE_BYTE_PROFILE`]. An ID outside 1..=14 or
/// data of 0 or more than 16 bytes is an error, and nothing is appended.
pub fn write_one_byte(
    elements: &[ExtensionElement<'_>],
    out: &mut Vec<u8>,
) -> Result<(), RtpError> {
    for element in elements {
        if !(1..=MAX_ONE_BYTE_ID).contains(&element.id) {
            return Err(RtpError::BadExtensionId(element.id));
        }
        if element.data.is_empty() || element.data.len() > MAX_ONE_BYTE_LEN {
            return Err(RtpError::BadElementLength(element.data.len()));
        }
    }
    let start = out.len();
    for element in elements {
        // Both checked above: the ID fits four bits, the length minus one
        // too.
        let length = (element.data.len() - 1) as u8;
        out.push((element.id << 4) | length);
        out.extend_from_slice(element.data);
    }
    // RFC 3550 §5.3.1: the extension is whole 32-bit words; RFC 8285
    // §4.1: padding bytes are zero.
    let written = out.len() - start;
    out.resize(start + written.next_multiple_of(4), 0);
    Ok(())
}

/// The elements of a one-byte-header extension, in order, padding skipped.
/// An extension of another profile (RFC 8285's two-byte form, or one of
/// no RFC 8285 form) is [`RtpError::NotOneByteExtension`].
pub fn one_byte_elements<'a>(
    extension: &HeaderExtension<'a>,
) -> Result<OneByteElements<'a>, RtpError> {
    if extension.profile != ONE_BYTE_PROFILE {
        return Err(RtpError::NotOneByteExtension(extension.profile));
    }
    Ok(OneByteElements {
        rest: extension.data,
    })
}

/// The data of element `id` in a one-byte-header extension, if there is
/// one. Every element is read, so that an extension that is malformed
/// anywhere is an error, not half believed.
pub fn find_one_byte<'a>(
    extension: &HeaderExtension<'a>,
    id: u8,
) -> Result<Option<&'a [u8]>, RtpError> {
    let mut found = None;
    for element in one_byte_elements(extension)? {
        let element = element?;
        if element.id == id && found.is_none() {
            found = Some(element.data);
        }
    }
    Ok(found)
}

/// Iterator over the elements of a one-byte-header extension; after an
/// error it ends.
#[derive(Clone, Debug)]
pub struct OneByteElements<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for OneByteElements<'a> {
    type Item = Result<ExtensionElement<'a>, RtpError>;

    fn next(&mut self) -> Option<Self::Item> {
        // Each turn consumes at least one byte: the work is bounded by the
        // extension's length.
        loop {
            let (&first, after) = self.rest.split_first()?;
            let id = first >> 4;
            if first == 0 {
                self.rest = after;
                continue;
            }
            if id == 0 {
                // RFC 8285 §4.1: padding is zero bytes; ID 0 names nothing.
                self.rest = &[];
                return Some(Err(RtpError::BadExtensionPadding(first)));
            }
            if id == TERMINATING_ID {
                // RFC 8285 §4.2: stop here; the elements before count.
                self.rest = &[];
                return None;
            }
            let length = usize::from(first & 0x0f) + 1;
            let Some((data, after)) = after.split_at_checked(length) else {
                let available = after.len();
                self.rest = &[];
                return Some(Err(RtpError::Truncated {
                    what: "header extension element",
                    needed: length,
                    available,
                }));
            };
            self.rest = after;
            return Some(Ok(ExtensionElement { id, data }));
        }
    }
}

/// An audio level as RFC 6464 §3 and RFC 6465 §3 carry it: 0 to 127,
/// the level in decibels below the overload point (-dBov), 127 being the
/// quietest (digital silence included).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AudioLevel(u8);

impl AudioLevel {
    /// Digital silence: -127 dBov.
    pub const SILENT: AudioLevel = AudioLevel(127);

    /// The level of `dbov` (0 at overload, negative below), rounded and
    /// held to -127..=0 dBov; NaN reads as silence.
    pub fn from_dbov(dbov: f32) -> AudioLevel {
        if dbov.is_nan() {
            return AudioLevel::SILENT;
        }
        // Clamped to 0..=127 first, so the cast is exact.
        AudioLevel((-dbov).round().clamp(0.0, 127.0) as u8)
    }

    /// A level byte read from an element: RFC 6465 §3's leading bit is
    /// reserved, so it is ignored.
    pub fn from_byte(byte: u8) -> AudioLevel {
        AudioLevel(byte & 0x7f)
    }

    /// The level as -dBov, 0 to 127: also the byte to write, its reserved
    /// bit zero.
    pub fn minus_dbov(self) -> u8 {
        self.0
    }

    /// The level in dBov, -127 to 0.
    pub fn dbov(self) -> f32 {
        -f32::from(self.0)
    }

    /// The level as a linear amplitude from 0 (silence) to 1 (overload),
    /// 10^(dBov/20); -127 dBov, the floor of the scale, reads as 0.
    pub fn amplitude(self) -> f32 {
        if self == AudioLevel::SILENT {
            return 0.0;
        }
        10f32.powf(self.dbov() / 20.0)
    }
}

/// The levels of an RFC 6465 element's data, one per CSRC in CSRC order.
pub fn csrc_audio_levels(data: &[u8]) -> impl Iterator<Item = AudioLevel> + '_ {
    data.iter().map(|&byte| AudioLevel::from_byte(byte))
}
