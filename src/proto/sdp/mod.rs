//! SDP offer/answer for one audio stream: RFC 3264 over RFC 4566 session
//! descriptions, with Opus (RFC 7587), PCMU (RFC 3551 static PT 0) and
//! telephone-event (RFC 4733), and RFC 6465 mixer-to-client audio levels
//! negotiated with `a=extmap` (RFC 8285 §5, §7).
//!
//! This module owns what goes into and comes out of an SDP body: the offer
//! we send ([`offer`]), the answer we give to someone else's offer
//! ([`answer`]), and what an answer to our offer means
//! ([`negotiated_from_answer`]). The result of either side is one
//! [`NegotiatedAudio`]: where to send RTP and RTCP, which codec and payload
//! type, which telephone-event payload type, our direction, and the
//! header extension ID of the audio levels if both ends want them.
//!
//! Our offer always asks for the audio levels: a conference mixer answers
//! with the same `a=extmap` and sends them, any other peer leaves the line
//! out of its answer (RFC 8285 §6) and nothing changes. We answer an
//! `a=extmap` for them only when the offer has one, under its ID.
//!
//! Parsing uses Mozilla's webrtc-sdp for the fields it types well: the
//! `c=` line (network and address types, IPv4, IPv6 and names) and the
//! `a=rtpmap`, `a=rtcp` and `a=ptime` values. The frame around
//! them is scanned here, because webrtc-sdp's whole-session parser is built
//! for WebRTC and refuses what SIP peers send: it drops `m=` lines of media
//! types it does not know (`m=image` for T.38, `m=text`), which would shift
//! every later attribute onto the wrong stream and break RFC 3264 §6's rule
//! that the answer keeps every m-line in order; and it rejects a whole
//! description for an `i=`, `u=` or `e=` line, or an `a=fmtp` value it
//! reads differently. `a=fmtp` is kept as its raw text, since it belongs to
//! the codec, not to SDP. Printing is done by hand: the bodies are short,
//! and the order of their lines is ours to choose.
//!
//! Invariants: no input panics; lines we do not use are skipped without
//! being looked into, lines we use must parse or the description is
//! [`SdpError::Malformed`]. An answer has as many m-lines as its offer, in
//! the same order (RFC 3264 §6), and accepts at most one audio stream.
//! Remote addresses are IPv4 only: an IPv6 or host-name connection address
//! is a clear error, not a guess.

mod negotiate;
mod parse;

#[cfg(test)]
mod tests;

use std::net::{IpAddr, SocketAddr};

use thiserror::Error;

pub use negotiate::{answer, negotiated_from_answer, offer};

/// The SIP status for an offer of which nothing at all is acceptable
/// (RFC 3261 §21.4.26, RFC 3264 §6).
pub const NOT_ACCEPTABLE_HERE: u16 = 488;

/// The dynamic payload type we offer Opus on.
pub const OPUS_PAYLOAD_TYPE: u8 = 111;
/// The dynamic payload type we offer telephone-event on.
pub const TELEPHONE_EVENT_PAYLOAD_TYPE: u8 = 101;
/// The packet time we send and ask for, in milliseconds.
pub const PTIME_MS: u32 = 20;
/// The `a=extmap` ID we offer RFC 6465 audio levels under: one of the
/// one-byte header's 1 to 14 (RFC 8285 §4.2).
pub const CSRC_AUDIO_LEVEL_ID: u8 = 1;

/// The audio codecs we speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// RFC 7587: always `opus/48000/2` in SDP, whatever is encoded.
    Opus,
    /// G.711 µ-law, RFC 3551 static payload type 0.
    Pcmu,
}

impl AudioCodec {
    /// The encoding name of `a=rtpmap`.
    pub fn encoding_name(self) -> &'static str {
        match self {
            AudioCodec::Opus => "opus",
            AudioCodec::Pcmu => "PCMU",
        }
    }

    /// The RTP clock rate.
    pub fn clock_rate(self) -> u32 {
        match self {
            AudioCodec::Opus => 48_000,
            AudioCodec::Pcmu => 8_000,
        }
    }

    /// The channel count `a=rtpmap` gives (RFC 7587 §7: Opus says 2 even
    /// for mono).
    pub fn channels(self) -> u8 {
        match self {
            AudioCodec::Opus => 2,
            AudioCodec::Pcmu => 1,
        }
    }

    /// The payload type we offer it on.
    pub fn payload_type(self) -> u8 {
        match self {
            AudioCodec::Opus => OPUS_PAYLOAD_TYPE,
            AudioCodec::Pcmu => 0,
        }
    }

    /// The `a=fmtp` parameters we send with it: what we want to receive.
    pub fn local_fmtp(self) -> Option<&'static str> {
        match self {
            // RFC 7587 §6.1: ask for in-band FEC; 10 ms is Opus's shortest
            // useful frame.
            AudioCodec::Opus => Some("useinbandfec=1;minptime=10"),
            AudioCodec::Pcmu => None,
        }
    }
}

/// A codec as negotiated with one peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodecChoice {
    pub codec: AudioCodec,
    /// The payload type both directions use (RFC 3264 §6.1: the offer's).
    pub payload_type: u8,
    pub clock_rate: u32,
    /// As in `a=rtpmap`; Opus always says 2 (RFC 7587 §7).
    pub channels: u8,
    /// The peer's `a=fmtp` parameters for this payload type, raw: what it
    /// wants to receive (for Opus, `useinbandfec`, `maxaveragebitrate`...).
    pub fmtp: Option<String>,
}

/// The telephone-event format a peer agreed to (RFC 4733 §7.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TelephoneEvent {
    pub payload_type: u8,
    /// The clock of its timestamps and durations; it may differ from the
    /// audio codec's when the peer offered no other.
    pub clock_rate: u32,
}

/// A stream's direction, from the point of view of whoever writes the SDP
/// (RFC 4566 §6, RFC 3264 §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    pub fn from_flags(sends: bool, receives: bool) -> Direction {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The same stream seen from the other end: sendonly there is
    /// recvonly here.
    pub fn reversed(self) -> Direction {
        Direction::from_flags(self.receives(), self.sends())
    }

    /// The direction to answer `offered` with when we would like `self`
    /// (RFC 3264 §6.1): we send only if the offerer receives, and receive
    /// only if it sends. Offered sendonly gives recvonly, recvonly gives
    /// sendonly, inactive gives inactive.
    pub fn answer_to(self, offered: Direction) -> Direction {
        Direction::from_flags(
            self.sends() && offered.receives(),
            self.receives() && offered.sends(),
        )
    }

    /// The direction that puts a stream on hold (RFC 3264 §8.4): sendrecv
    /// becomes sendonly, recvonly becomes inactive; we stop asking for the
    /// peer's media and keep sending ours (music on hold) if we did.
    pub fn held(self) -> Direction {
        Direction::from_flags(self.sends(), false)
    }

    /// The direction that takes a held stream off hold: receiving again.
    pub fn resumed(self) -> Direction {
        Direction::from_flags(self.sends(), true)
    }

    /// The attribute's name (`a=sendrecv`...).
    pub fn attribute(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    pub(crate) fn from_attribute(name: &str) -> Option<Direction> {
        match name.to_ascii_lowercase().as_str() {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }
}

/// What we put into our SDP: where we receive, what we can decode, and
/// the o= line's session id and version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalMedia {
    /// The address we receive RTP on (the `c=` line).
    pub ip: IpAddr,
    /// Our RTP port; RTCP is on the next one (RFC 3550 §11).
    pub port: u16,
    /// In our order of preference.
    pub codecs: Vec<AudioCodec>,
    pub direction: Direction,
    /// The o= line's sess-id: fixed for the session.
    pub session_id: u64,
    /// The o= line's sess-version: see [`LocalMedia::next_version`].
    pub version: u64,
}

impl LocalMedia {
    /// Raises the o= version, as RFC 3264 §8 requires before every SDP of
    /// the session that differs from the one before (a re-offer for hold,
    /// a new port). An SDP sent again unchanged keeps its version.
    pub fn next_version(&mut self) {
        self.version = self.version.wrapping_add(1);
    }
}

/// The audio stream both ends agreed on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiatedAudio {
    /// Where to send RTP: the m= port at the `c=` address, the media-level
    /// `c=` winning over the session-level one (RFC 4566 §5.7).
    pub remote: SocketAddr,
    /// Where to send RTCP: `a=rtcp` (RFC 3605) if given, else the RTP port
    /// plus one (RFC 3550 §11).
    pub remote_rtcp: SocketAddr,
    pub codec: CodecChoice,
    pub telephone_event: Option<TelephoneEvent>,
    /// Our direction: whether we send and whether we should expect media.
    pub direction: Direction,
    /// The peer's `a=ptime`, in milliseconds.
    pub remote_ptime: Option<u32>,
    /// The one-byte header extension ID (1 to 14) of RFC 6465 mixer-to-
    /// client audio levels, when both ends agreed to them (RFC 8285 §5:
    /// without that, the extension is neither sent nor read).
    pub csrc_audio_level: Option<u8>,
}

/// Our answer to an offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerOutcome {
    /// The answer body: every offered m-line, rejected ones with port 0.
    pub sdp: String,
    /// The audio stream we accepted; `None` if we accepted nothing.
    pub negotiated: Option<NegotiatedAudio>,
}

impl AnswerOutcome {
    /// True when nothing at all was acceptable: the INVITE is then
    /// answered 488 ([`NOT_ACCEPTABLE_HERE`]) rather than with an SDP that
    /// rejects every stream (RFC 3264 §6).
    pub fn is_not_acceptable(&self) -> bool {
        self.negotiated.is_none()
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SdpError {
    #[error("malformed SDP at line {line}: {reason}")]
    Malformed { line: usize, reason: String },
    #[error("IPv6 media addresses are not supported")]
    Ipv6Unsupported,
    #[error("media address {0:?} is a host name; only IPv4 addresses are supported")]
    HostName(String),
    #[error("no c= line for the audio stream, at media or session level")]
    NoConnection,
    #[error("the answer has {answered} m-lines for our {offered}")]
    MediaCountMismatch { offered: usize, answered: usize },
    #[error("the answer's m-line is {0}, not audio")]
    NotAudio(String),
    #[error("the audio stream was rejected (port 0)")]
    AudioRejected,
    #[error("the answer names no codec we offered")]
    NoCommonCodec,
}

impl SdpError {
    /// The SIP status to refuse an offer with: 400 when it cannot be read
    /// (RFC 3261 §21.4.1), 488 when it can but asks for what we lack.
    pub fn status_code(&self) -> u16 {
        match self {
            SdpError::Malformed { .. } | SdpError::NoConnection => 400,
            _ => NOT_ACCEPTABLE_HERE,
        }
    }
}
