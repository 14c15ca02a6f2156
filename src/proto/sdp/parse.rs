//! Reading a session description into the parts offer/answer looks at.
//!
//! The frame (lines, the session part, one section per `m=` line) is
//! scanned here so that every m-line survives whatever its media type; the
//! `c=`, `a=rtpmap`, `a=rtcp` and `a=ptime` values go through webrtc-sdp's
//! line parser. Of `a=extmap` (RFC 8285 §7) only the lines naming an
//! extension we use are read, by hand: a peer's others are its business.

use std::net::IpAddr;

use webrtc_sdp::address::ExplicitlyTypedAddress;
use webrtc_sdp::attribute_type::SdpAttribute;
use webrtc_sdp::{SdpType, parse_sdp_line};

use super::{Direction, SdpError};
use crate::proto::rtp::CSRC_AUDIO_LEVEL_URI;

/// More than any real description has; a bound on work per message.
const MAX_LINES: usize = 2_000;

/// The parts of a description that offer/answer uses.
#[derive(Debug, Default)]
pub(super) struct SessionDescription {
    /// The session-level `c=`.
    pub connection: Option<ConnectionAddress>,
    /// The session-level direction attribute, the default for every stream
    /// (RFC 3264 §5.1).
    pub direction: Option<Direction>,
    /// A session-level `a=extmap` for RFC 6465 audio levels, the default
    /// for every stream (RFC 8285 §7).
    pub csrc_audio_level: Option<Extmap>,
    pub media: Vec<MediaDescription>,
}

/// One m-line and the lines under it.
#[derive(Debug, Default)]
pub(super) struct MediaDescription {
    /// `audio`, `video`, `image`... as written.
    pub media: String,
    pub port: u16,
    /// `RTP/AVP`, `UDP/TLS/RTP/SAVPF`... as written.
    pub proto: String,
    /// The formats in the m-line's order; payload types for RTP.
    pub formats: Vec<String>,
    pub connection: Option<ConnectionAddress>,
    pub rtpmaps: Vec<Rtpmap>,
    /// `a=fmtp` as (payload type, raw parameters).
    pub fmtps: Vec<(u8, String)>,
    pub direction: Option<Direction>,
    pub ptime: Option<u32>,
    /// RFC 3605 `a=rtcp`: port, and an address if it differs from `c=`.
    pub rtcp: Option<(u16, Option<ConnectionAddress>)>,
    /// The `a=extmap` for RFC 6465 audio levels.
    pub csrc_audio_level: Option<Extmap>,
}

/// An `a=extmap` (RFC 8285 §7): the local ID an extension is sent under,
/// and the direction it is sent in, if the line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Extmap {
    pub id: u32,
    pub direction: Option<Direction>,
}

/// An `a=rtpmap` (RFC 4566 §6).
#[derive(Debug, Clone)]
pub(super) struct Rtpmap {
    pub payload_type: u8,
    pub encoding_name: String,
    pub clock_rate: u32,
    pub channels: Option<u32>,
}

/// A connection address as the description gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ConnectionAddress {
    Ip(IpAddr),
    Name(String),
}

impl MediaDescription {
    /// The payload types of the m-line that are numbers, in order.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse::<u8>().ok())
    }

    pub fn rtpmap(&self, payload_type: u8) -> Option<&Rtpmap> {
        self.rtpmaps.iter().find(|r| r.payload_type == payload_type)
    }

    pub fn fmtp(&self, payload_type: u8) -> Option<&str> {
        self.fmtps
            .iter()
            .find(|(pt, _)| *pt == payload_type)
            .map(|(_, params)| params.as_str())
    }
}

/// Reads a description. Lines may end in CRLF or bare LF; blank lines are
/// skipped.
pub(super) fn parse(text: &str) -> Result<SessionDescription, SdpError> {
    let mut session = SessionDescription::default();
    let mut seen_version = false;
    let mut seen_origin = false;
    for (index, raw) in text.split('\n').enumerate() {
        let number = index + 1;
        if index >= MAX_LINES {
            return Err(malformed(number, "too many lines"));
        }
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let (kind, value) =
            split_line(line).ok_or_else(|| malformed(number, "not a type=value line"))?;
        if !seen_version {
            // RFC 4566 §5: the description starts with v=0.
            if kind != 'v' || value.trim() != "0" {
                return Err(malformed(number, "does not start with v=0"));
            }
            seen_version = true;
            continue;
        }
        match (kind, session.media.last_mut()) {
            ('m', _) => session.media.push(media_line(number, value)?),
            ('o', None) => {
                // RFC 4566 §5.2: six fields. Their values are not checked:
                // some stacks write a sess-id wider than 64 bits, and
                // nothing here depends on it.
                if value.split_ascii_whitespace().count() != 6 {
                    return Err(malformed(number, "o= needs six fields"));
                }
                seen_origin = true;
            }
            ('c', None) => session.connection = Some(connection(number, line)?),
            ('c', Some(media)) => {
                // RFC 4566 §5.7: several c= lines are for layered multicast;
                // the first is the one that matters to a unicast peer.
                let address = connection(number, line)?;
                media.connection.get_or_insert(address);
            }
            ('a', None) => {
                let value = value.trim();
                if let Some(direction) = Direction::from_attribute(value) {
                    session.direction = Some(direction);
                } else if let Some(argument) = extmap_argument(value) {
                    if let Some(extmap) = extmap(number, argument)? {
                        session.csrc_audio_level.get_or_insert(extmap);
                    }
                }
            }
            ('a', Some(media)) => media_attribute(number, line, value, media)?,
            _ => {} // s=, t=, i=, b=, k=, u=, e=, p=, r=, z=: nothing for us.
        }
    }
    if !seen_version {
        return Err(malformed(0, "empty description"));
    }
    if !seen_origin {
        return Err(malformed(0, "no o= line"));
    }
    Ok(session)
}

fn malformed(line: usize, reason: impl Into<String>) -> SdpError {
    SdpError::Malformed {
        line,
        reason: reason.into(),
    }
}

/// `x=value` with a single-letter type (RFC 4566 §5).
fn split_line(line: &str) -> Option<(char, &str)> {
    let (kind, value) = line.split_once('=')?;
    let mut chars = kind.chars();
    match (chars.next(), chars.next()) {
        (Some(kind), None) if kind.is_ascii_lowercase() => Some((kind, value)),
        _ => None,
    }
}

/// A line through webrtc-sdp, for the types it reads.
fn typed_line(number: usize, line: &str) -> Result<SdpType, SdpError> {
    parse_sdp_line(line, number)
        .map(|parsed| parsed.sdp_type)
        .map_err(|error| malformed(number, error.to_string()))
}

fn connection(number: usize, line: &str) -> Result<ConnectionAddress, SdpError> {
    match typed_line(number, line)? {
        SdpType::Connection(connection) => Ok(address(connection.address)),
        _ => Err(malformed(number, "not a connection line")),
    }
}

fn address(address: ExplicitlyTypedAddress) -> ConnectionAddress {
    match address {
        ExplicitlyTypedAddress::Ip(ip) => ConnectionAddress::Ip(ip),
        ExplicitlyTypedAddress::Fqdn { domain, .. } => ConnectionAddress::Name(domain),
    }
}

/// `m=<media> <port>[/<count>] <proto> <fmt> ...` (RFC 4566 §5.14), read
/// here for every media type so that none is dropped.
fn media_line(number: usize, value: &str) -> Result<MediaDescription, SdpError> {
    let mut tokens = value.split_ascii_whitespace();
    let (Some(media), Some(port), Some(proto)) = (tokens.next(), tokens.next(), tokens.next())
    else {
        return Err(malformed(number, "m= needs media, port, proto and formats"));
    };
    let port = port.split('/').next().unwrap_or(port);
    let port = port
        .parse::<u16>()
        .map_err(|_| malformed(number, format!("bad m= port {port:?}")))?;
    let formats: Vec<String> = tokens.map(str::to_owned).collect();
    if formats.is_empty() {
        return Err(malformed(number, "m= lists no formats"));
    }
    Ok(MediaDescription {
        media: media.to_owned(),
        port,
        proto: proto.to_owned(),
        formats,
        ..MediaDescription::default()
    })
}

/// An `a=` line under an m-line. Only the attributes offer/answer uses are
/// looked into.
fn media_attribute(
    number: usize,
    line: &str,
    value: &str,
    media: &mut MediaDescription,
) -> Result<(), SdpError> {
    let value = value.trim();
    let (name, argument) = match value.split_once(':') {
        Some((name, argument)) => (name, argument.trim()),
        None => (value, ""),
    };
    let name = name.to_ascii_lowercase();
    match name.as_str() {
        "rtpmap" | "rtcp" | "ptime" => match typed_line(number, line)? {
            SdpType::Attribute(SdpAttribute::Rtpmap(rtpmap)) => media.rtpmaps.push(Rtpmap {
                payload_type: rtpmap.payload_type,
                encoding_name: rtpmap.codec_name,
                clock_rate: rtpmap.frequency,
                channels: rtpmap.channels,
            }),
            SdpType::Attribute(SdpAttribute::Rtcp(rtcp)) => {
                media.rtcp = Some((rtcp.port, rtcp.unicast_addr.map(address)));
            }
            SdpType::Attribute(SdpAttribute::Ptime(ptime)) => {
                media.ptime = u32::try_from(ptime).ok();
            }
            _ => return Err(malformed(number, format!("unreadable a={name}"))),
        },
        "fmtp" => {
            // Kept raw: the parameters are the codec's business (RFC 4566
            // §6), and webrtc-sdp would rewrite or refuse some of them.
            let (payload_type, parameters) = argument
                .split_once(|c: char| c.is_ascii_whitespace())
                .unwrap_or((argument, ""));
            let payload_type = payload_type
                .parse::<u8>()
                .map_err(|_| malformed(number, "bad a=fmtp payload type"))?;
            media
                .fmtps
                .push((payload_type, parameters.trim().to_owned()));
        }
        "extmap" => {
            if let Some(extmap) = extmap(number, argument)? {
                media.csrc_audio_level.get_or_insert(extmap);
            }
        }
        _ => {
            if let Some(direction) = Direction::from_attribute(&name) {
                media.direction = Some(direction);
            }
        }
    }
    Ok(())
}

/// The part after `extmap:` of an attribute's value, whatever the case of
/// its name.
fn extmap_argument(value: &str) -> Option<&str> {
    let (name, argument) = value.split_once(':')?;
    name.eq_ignore_ascii_case("extmap")
        .then_some(argument.trim())
}

/// `a=extmap:<value>["/"<direction>] <URI> [<attributes>]` (RFC 8285 §7),
/// read only when the URI is one we use; any other extension is `None`
/// without a look at the rest of the line.
fn extmap(number: usize, argument: &str) -> Result<Option<Extmap>, SdpError> {
    let mut tokens = argument.split_ascii_whitespace();
    let (Some(entry), Some(uri)) = (tokens.next(), tokens.next()) else {
        return Ok(None);
    };
    if !uri.eq_ignore_ascii_case(CSRC_AUDIO_LEVEL_URI) {
        return Ok(None);
    }
    let (id, direction) = match entry.split_once('/') {
        Some((id, direction)) => (id, Some(direction)),
        None => (entry, None),
    };
    // RFC 8285 §7: 1*5DIGIT.
    let id = id
        .parse::<u32>()
        .ok()
        .filter(|_| id.len() <= 5 && id.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| malformed(number, format!("bad a=extmap value {id:?}")))?;
    let direction = direction
        .map(|name| {
            Direction::from_attribute(name)
                .ok_or_else(|| malformed(number, format!("bad a=extmap direction {name:?}")))
        })
        .transpose()?;
    Ok(Some(Extmap { id, direction }))
}
