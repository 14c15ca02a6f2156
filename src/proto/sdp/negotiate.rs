//! The offer/answer rules of RFC 3264: what we offer, how we answer, and
//! what an answer to our offer means.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::parse::{self, ConnectionAddress, Extmap, MediaDescription, SessionDescription};
use super::{
    AnswerOutcome, AudioCodec, CSRC_AUDIO_LEVEL_ID, CodecChoice, Direction, LocalMedia,
    NegotiatedAudio, PTIME_MS, SdpError, TELEPHONE_EVENT_PAYLOAD_TYPE, TelephoneEvent,
};
use crate::proto::rtp::CSRC_AUDIO_LEVEL_URI;
use crate::proto::rtp::extension::MAX_ONE_BYTE_ID;

/// The telephone-event encoding name (RFC 4733 §7.1.1).
const TELEPHONE_EVENT: &str = "telephone-event";
/// The events we send and understand: the DTMF digits (RFC 4733 §3.2).
const DTMF_EVENTS: &str = "0-15";
/// The telephone-event clock we offer.
const TELEPHONE_EVENT_RATE: u32 = 8_000;

/// Our offer (RFC 3264 §5): one audio stream with our codecs in our order,
/// telephone-event, RFC 6465 audio levels (RFC 8285 `a=extmap`), a 20 ms
/// ptime and our direction.
pub fn offer(local: &LocalMedia) -> String {
    let mut sdp = session_header(local);
    let codecs = distinct(&local.codecs);
    let mut formats: Vec<String> = codecs
        .iter()
        .map(|c| c.payload_type().to_string())
        .collect();
    formats.push(TELEPHONE_EVENT_PAYLOAD_TYPE.to_string());
    let _ = write!(
        sdp,
        "m=audio {} RTP/AVP {}\r\n",
        local.port,
        formats.join(" ")
    );
    for codec in codecs {
        // RFC 3264 §5.1: an rtpmap even for the static PCMU.
        write_codec(&mut sdp, codec, codec.payload_type());
    }
    write_telephone_event(&mut sdp, TELEPHONE_EVENT_PAYLOAD_TYPE, TELEPHONE_EVENT_RATE);
    write_extmap(&mut sdp, CSRC_AUDIO_LEVEL_ID, None);
    let _ = write!(sdp, "a=ptime:{PTIME_MS}\r\n");
    let _ = write!(sdp, "a={}\r\n", local.direction.attribute());
    sdp
}

/// Our answer to an offer (RFC 3264 §6).
///
/// Of the offered streams, the first RTP/AVP (or RTP/AVPF) audio stream
/// that has one of our codecs is accepted: the codec is the first of *our*
/// preference that the offer has, matched by encoding name and clock rate,
/// never by payload type number, and answered on the offer's payload type
/// (§6.1). Telephone-event is answered if offered, and so are RFC 6465
/// audio levels, under the offer's `a=extmap` ID. Every other m-line is
/// answered with port 0, so the answer has the offer's m-lines in order.
/// If nothing is accepted the outcome says so, and the INVITE should get
/// 488 ([`AnswerOutcome::is_not_acceptable`]).
pub fn answer(offer: &str, local: &LocalMedia) -> Result<AnswerOutcome, SdpError> {
    let offer = parse::parse(offer)?;
    let mut sdp = session_header(local);
    let mut negotiated = None;
    for media in &offer.media {
        if negotiated.is_none() {
            if let Some(audio) = accept_audio(&offer, media, local)? {
                let extmap = usable_extmap(&offer, media);
                write_answered_audio(&mut sdp, media, local, &audio, extmap);
                negotiated = Some(audio);
                continue;
            }
        }
        // RFC 3264 §6: a rejected stream keeps its media type, transport
        // and formats, with port 0.
        let _ = write!(
            sdp,
            "m={} 0 {} {}\r\n",
            media.media,
            media.proto,
            media.formats.join(" ")
        );
    }
    Ok(AnswerOutcome { sdp, negotiated })
}

/// What the answer to our offer agreed (RFC 3264 §7). Our offer had one
/// audio m-line, so the answer must have exactly one. A port of 0 there is
/// [`SdpError::AudioRejected`].
pub fn negotiated_from_answer(
    offer_we_sent: &LocalMedia,
    answer: &str,
) -> Result<NegotiatedAudio, SdpError> {
    let answer = parse::parse(answer)?;
    let media = match answer.media.as_slice() {
        [media] => media,
        other => {
            return Err(SdpError::MediaCountMismatch {
                offered: 1,
                answered: other.len(),
            });
        }
    };
    if !media.media.eq_ignore_ascii_case("audio") {
        return Err(SdpError::NotAudio(media.media.clone()));
    }
    if media.port == 0 {
        return Err(SdpError::AudioRejected);
    }
    // The answerer's first format that we offered (§6.1: its list is in
    // its order of preference).
    let codec = media
        .payload_types()
        .find_map(|pt| {
            codec_of(media, pt)
                .filter(|codec| offer_we_sent.codecs.contains(codec))
                .map(|codec| choice(media, codec, pt))
        })
        .ok_or(SdpError::NoCommonCodec)?;
    negotiated(&answer, media, offer_we_sent.direction, codec)
}

/// The audio stream we accept from `media`, if we can.
fn accept_audio(
    offer: &SessionDescription,
    media: &MediaDescription,
    local: &LocalMedia,
) -> Result<Option<NegotiatedAudio>, SdpError> {
    // RFC 4585 §5: an AVPF peer works with an endpoint that sends no
    // feedback; SAVP and the DTLS profiles need keys we do not have.
    let plain_rtp = ["RTP/AVP", "RTP/AVPF"]
        .iter()
        .any(|proto| media.proto.eq_ignore_ascii_case(proto));
    if !media.media.eq_ignore_ascii_case("audio") || media.port == 0 || !plain_rtp {
        return Ok(None);
    }
    let chosen = distinct(&local.codecs).into_iter().find_map(|codec| {
        media
            .payload_types()
            .find(|&pt| codec_of(media, pt) == Some(codec))
            .map(|pt| choice(media, codec, pt))
    });
    match chosen {
        Some(codec) => negotiated(offer, media, local.direction, codec).map(Some),
        None => Ok(None),
    }
}

/// The rest of a [`NegotiatedAudio`] once the codec is known: addresses,
/// telephone-event, direction, ptime, audio levels. `remote` is the
/// peer's description, `wanted` the direction we asked for.
fn negotiated(
    remote: &SessionDescription,
    media: &MediaDescription,
    wanted: Direction,
    codec: CodecChoice,
) -> Result<NegotiatedAudio, SdpError> {
    let (rtp, rtcp) = remote_addresses(remote, media)?;
    let mut theirs = media
        .direction
        .or(remote.direction)
        .unwrap_or(Direction::SendRecv);
    if rtp.ip() == IpAddr::V4(Ipv4Addr::UNSPECIFIED) {
        // RFC 3264 §8.4: c=0.0.0.0 is RFC 2543's hold; there is nowhere
        // to send to, whatever the direction attribute says.
        theirs = Direction::from_flags(theirs.sends(), false);
    }
    Ok(NegotiatedAudio {
        remote: rtp,
        remote_rtcp: rtcp,
        telephone_event: telephone_event(media, codec.clock_rate),
        codec,
        direction: wanted.answer_to(theirs),
        remote_ptime: media.ptime,
        csrc_audio_level: usable_extmap(remote, media)
            .and_then(|extmap| u8::try_from(extmap.id).ok()),
    })
}

/// The peer's `a=extmap` for RFC 6465 audio levels, at media level or else
/// session level (RFC 8285 §7), if we can use it: an ID the one-byte
/// header can carry (RFC 8285 §4.2: 1 to 14), and not inactive. IDs of the
/// two-byte form would need `a=extmap-allow-mixed` or two-byte headers
/// throughout, which we do not write.
fn usable_extmap(session: &SessionDescription, media: &MediaDescription) -> Option<Extmap> {
    media
        .csrc_audio_level
        .or(session.csrc_audio_level)
        .filter(|extmap| (1..=u32::from(MAX_ONE_BYTE_ID)).contains(&extmap.id))
        .filter(|extmap| extmap.direction != Some(Direction::Inactive))
}

/// The codec behind a payload type of `media`: its rtpmap's encoding name
/// and clock rate, or the static assignment of RFC 3551 for PT 0 without
/// one.
fn codec_of(media: &MediaDescription, payload_type: u8) -> Option<AudioCodec> {
    let Some(rtpmap) = media.rtpmap(payload_type) else {
        return (payload_type == 0).then_some(AudioCodec::Pcmu);
    };
    [AudioCodec::Opus, AudioCodec::Pcmu]
        .into_iter()
        .find(|codec| {
            rtpmap.encoding_name.eq_ignore_ascii_case(codec.encoding_name())
                && rtpmap.clock_rate == codec.clock_rate()
                // RFC 4566 §6: no count means one channel. Opus must say 2
                // (RFC 7587 §7), but some stacks leave it out.
                && rtpmap.channels.is_none_or(|n| n == u32::from(codec.channels()))
        })
}

fn choice(media: &MediaDescription, codec: AudioCodec, payload_type: u8) -> CodecChoice {
    CodecChoice {
        codec,
        payload_type,
        clock_rate: codec.clock_rate(),
        channels: codec.channels(),
        fmtp: media.fmtp(payload_type).map(str::to_owned),
    }
}

/// The telephone-event of `media`, preferring the one on the audio
/// codec's clock: events go in the audio's RTP stream, whose timestamps
/// then keep one clock.
fn telephone_event(media: &MediaDescription, audio_clock_rate: u32) -> Option<TelephoneEvent> {
    let mut offered = media.payload_types().filter_map(|pt| {
        media
            .rtpmap(pt)
            .filter(|r| r.encoding_name.eq_ignore_ascii_case(TELEPHONE_EVENT))
            .map(|r| TelephoneEvent {
                payload_type: pt,
                clock_rate: r.clock_rate,
            })
    });
    let first = offered.next()?;
    if first.clock_rate == audio_clock_rate {
        return Some(first);
    }
    Some(
        offered
            .find(|event| event.clock_rate == audio_clock_rate)
            .unwrap_or(first),
    )
}

/// Where RTP and RTCP go: the media-level `c=` or else the session's
/// (RFC 4566 §5.7), the m= port, and RFC 3605 `a=rtcp` or port + 1.
fn remote_addresses(
    session: &SessionDescription,
    media: &MediaDescription,
) -> Result<(SocketAddr, SocketAddr), SdpError> {
    let address = media
        .connection
        .as_ref()
        .or(session.connection.as_ref())
        .ok_or(SdpError::NoConnection)?;
    let ip = ipv4(address)?;
    let rtcp = match &media.rtcp {
        Some((port, Some(address))) => SocketAddr::new(ipv4(address)?, *port),
        Some((port, None)) => SocketAddr::new(ip, *port),
        // RFC 3550 §11: the next port up.
        None => SocketAddr::new(ip, media.port.saturating_add(1)),
    };
    Ok((SocketAddr::new(ip, media.port), rtcp))
}

fn ipv4(address: &ConnectionAddress) -> Result<IpAddr, SdpError> {
    match address {
        ConnectionAddress::Ip(ip @ IpAddr::V4(_)) => Ok(*ip),
        ConnectionAddress::Ip(IpAddr::V6(_)) => Err(SdpError::Ipv6Unsupported),
        ConnectionAddress::Name(name) => Err(SdpError::HostName(name.clone())),
    }
}

/// v=, o=, s=, c= and t= (RFC 4566 §5), the same for offers and answers.
fn session_header(local: &LocalMedia) -> String {
    let address_type = match local.ip {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    };
    let mut sdp = String::with_capacity(512);
    let _ = write!(
        sdp,
        "v=0\r\n\
         o=- {session_id} {version} IN {address_type} {ip}\r\n\
         s=-\r\n\
         c=IN {address_type} {ip}\r\n\
         t=0 0\r\n",
        session_id = local.session_id,
        version = local.version,
        ip = local.ip,
    );
    sdp
}

/// The accepted audio m-line: the one codec, telephone-event and audio
/// levels if offered.
fn write_answered_audio(
    sdp: &mut String,
    offered: &MediaDescription,
    local: &LocalMedia,
    audio: &NegotiatedAudio,
    extmap: Option<Extmap>,
) {
    let mut formats = audio.codec.payload_type.to_string();
    if let Some(event) = audio.telephone_event {
        let _ = write!(formats, " {}", event.payload_type);
    }
    // The offer's proto as written: RFC 3264 §6 keeps the transport.
    let _ = write!(
        sdp,
        "m=audio {} {} {formats}\r\n",
        local.port, offered.proto
    );
    write_codec(sdp, audio.codec.codec, audio.codec.payload_type);
    if let Some(event) = audio.telephone_event {
        write_telephone_event(sdp, event.payload_type, event.clock_rate);
    }
    if let (Some(id), Some(extmap)) = (audio.csrc_audio_level, extmap) {
        // RFC 8285 §6: the offer's ID; a direction given is answered from
        // our side (its sendonly is our recvonly).
        write_extmap(sdp, id, extmap.direction.map(Direction::reversed));
    }
    let _ = write!(sdp, "a=ptime:{PTIME_MS}\r\n");
    let _ = write!(sdp, "a={}\r\n", audio.direction.attribute());
}

/// `a=extmap:<id>[/<direction>] <URI>` for RFC 6465 audio levels (RFC 8285
/// §7).
fn write_extmap(sdp: &mut String, id: u8, direction: Option<Direction>) {
    let _ = write!(sdp, "a=extmap:{id}");
    if let Some(direction) = direction {
        let _ = write!(sdp, "/{}", direction.attribute());
    }
    let _ = write!(sdp, " {CSRC_AUDIO_LEVEL_URI}\r\n");
}

fn write_codec(sdp: &mut String, codec: AudioCodec, payload_type: u8) {
    let _ = write!(
        sdp,
        "a=rtpmap:{payload_type} {}/{}",
        codec.encoding_name(),
        codec.clock_rate()
    );
    // RFC 4566 §6: the channel count may be left out when it is one.
    if codec.channels() != 1 {
        let _ = write!(sdp, "/{}", codec.channels());
    }
    sdp.push_str("\r\n");
    if let Some(fmtp) = codec.local_fmtp() {
        let _ = write!(sdp, "a=fmtp:{payload_type} {fmtp}\r\n");
    }
}

fn write_telephone_event(sdp: &mut String, payload_type: u8, clock_rate: u32) {
    let _ = write!(
        sdp,
        "a=rtpmap:{payload_type} {TELEPHONE_EVENT}/{clock_rate}\r\n\
         a=fmtp:{payload_type} {DTMF_EVENTS}\r\n"
    );
}

/// The codecs without repeats, in their first order.
fn distinct(codecs: &[AudioCodec]) -> Vec<AudioCodec> {
    let mut seen = Vec::with_capacity(codecs.len());
    for codec in codecs {
        if !seen.contains(codec) {
            seen.push(*codec);
        }
    }
    seen
}
