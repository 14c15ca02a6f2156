use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/sdp/",
            $name
        ))
    };
}

const FIXTURES: &[&str] = &[
    fixture!("linphone-offer.sdp"),
    fixture!("baresip-offer.sdp"),
    fixture!("asterisk-offer.sdp"),
    fixture!("cisco-offer.sdp"),
    fixture!("polycom-reinvite-hold.sdp"),
    fixture!("webrtc-offer.sdp"),
    fixture!("gateway-offer-t38.sdp"),
    fixture!("linphone-answer.sdp"),
    fixture!("asterisk-answer.sdp"),
    fixture!("baresip-answer-to-hold.sdp"),
];

fn local(codecs: &[AudioCodec]) -> LocalMedia {
    LocalMedia {
        ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        port: 40_000,
        codecs: codecs.to_vec(),
        direction: Direction::SendRecv,
        session_id: 7_770_001,
        version: 1,
    }
}

fn ours() -> LocalMedia {
    local(&[AudioCodec::Opus, AudioCodec::Pcmu])
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

fn accepted(offer: &str, local: &LocalMedia) -> (String, NegotiatedAudio) {
    let outcome = answer(offer, local).unwrap();
    let negotiated = outcome.negotiated.expect("audio accepted");
    (outcome.sdp, negotiated)
}

fn m_lines(sdp: &str) -> Vec<&str> {
    sdp.lines().filter(|l| l.starts_with("m=")).collect()
}

#[test]
fn our_offer_lists_opus_then_pcmu_then_telephone_event_and_audio_levels() {
    let expected = "v=0\r\n\
        o=- 7770001 1 IN IP4 192.0.2.1\r\n\
        s=-\r\n\
        c=IN IP4 192.0.2.1\r\n\
        t=0 0\r\n\
        m=audio 40000 RTP/AVP 111 0 101\r\n\
        a=rtpmap:111 opus/48000/2\r\n\
        a=fmtp:111 useinbandfec=1;minptime=10\r\n\
        a=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:101 telephone-event/8000\r\n\
        a=fmtp:101 0-15\r\n\
        a=extmap:1 urn:ietf:params:rtp-hdrext:csrc-audio-level\r\n\
        a=ptime:20\r\n\
        a=sendrecv\r\n";
    assert_eq!(offer(&ours()), expected);
}

#[test]
fn offer_follows_our_preference_without_repeats() {
    let sdp = offer(&local(&[
        AudioCodec::Pcmu,
        AudioCodec::Opus,
        AudioCodec::Pcmu,
    ]));
    assert_eq!(m_lines(&sdp), ["m=audio 40000 RTP/AVP 0 111 101"]);
}

#[test]
fn two_confabs_agree_on_opus_both_ways() {
    let alice = ours();
    let mut bob = ours();
    bob.ip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2));
    bob.port = 50_000;
    let (sdp, at_bob) = accepted(&offer(&alice), &bob);
    assert_eq!(at_bob.codec.codec, AudioCodec::Opus);
    assert_eq!(at_bob.codec.payload_type, 111);
    assert_eq!(
        at_bob.codec.fmtp.as_deref(),
        Some("useinbandfec=1;minptime=10")
    );
    assert_eq!(at_bob.remote, addr("192.0.2.1:40000"));
    assert_eq!(at_bob.remote_rtcp, addr("192.0.2.1:40001"));
    assert_eq!(m_lines(&sdp), ["m=audio 50000 RTP/AVP 111 101"]);

    let at_alice = negotiated_from_answer(&alice, &sdp).unwrap();
    assert_eq!(at_alice.codec, at_bob.codec);
    assert_eq!(at_alice.remote, addr("198.51.100.2:50000"));
    assert_eq!(at_alice.remote_rtcp, addr("198.51.100.2:50001"));
    assert_eq!(at_alice.direction, Direction::SendRecv);
    assert_eq!(at_alice.remote_ptime, Some(20));
    assert_eq!(at_bob.csrc_audio_level, Some(CSRC_AUDIO_LEVEL_ID));
    assert_eq!(at_alice.csrc_audio_level, Some(CSRC_AUDIO_LEVEL_ID));
    assert!(sdp.contains("a=extmap:1 urn:ietf:params:rtp-hdrext:csrc-audio-level\r\n"));
    assert_eq!(
        at_alice.telephone_event,
        Some(TelephoneEvent {
            payload_type: 101,
            clock_rate: 8000
        })
    );
}

const LEVELS: &str = "urn:ietf:params:rtp-hdrext:csrc-audio-level";

/// A bare offer of PCMU with `extra` lines under its m-line.
fn offer_with(extra: &str) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n\
         m=audio 5004 RTP/AVP 0\r\n{extra}"
    )
}

fn extmap_lines(sdp: &str) -> Vec<&str> {
    sdp.lines().filter(|l| l.starts_with("a=extmap")).collect()
}

#[test]
fn audio_levels_are_answered_under_the_offered_id_and_only_if_offered() {
    let (sdp, audio) = accepted(&offer_with(&format!("a=extmap:5 {LEVELS}\r\n")), &ours());
    assert_eq!(audio.csrc_audio_level, Some(5));
    assert_eq!(extmap_lines(&sdp), [format!("a=extmap:5 {LEVELS}")]);

    // Among other extensions, with a direction and extension attributes.
    let offer = offer_with(&format!(
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level vad=on\r\n\
         a=extmap:3/recvonly {LEVELS} future\r\n\
         a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    ));
    let (sdp, audio) = accepted(&offer, &ours());
    assert_eq!(audio.csrc_audio_level, Some(3));
    assert_eq!(
        extmap_lines(&sdp),
        [format!("a=extmap:3/sendonly {LEVELS}")],
        "the offerer only receives them: we only send them"
    );

    // At session level it holds for the stream (RFC 8285 §7).
    let offer = offer_with("").replace("t=0 0\r\n", &format!("t=0 0\r\na=extmap:2 {LEVELS}\r\n"));
    let (sdp, audio) = accepted(&offer, &ours());
    assert_eq!(audio.csrc_audio_level, Some(2));
    assert_eq!(extmap_lines(&sdp), [format!("a=extmap:2 {LEVELS}")]);

    // Not offered, or only other extensions offered: not answered.
    for extra in [
        "",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n",
        "a=extmap-allow-mixed\r\na=extmap:1 urn:ietf:params:rtp-hdrext:toffset\r\n",
    ] {
        let (sdp, audio) = accepted(&offer_with(extra), &ours());
        assert_eq!(audio.csrc_audio_level, None, "{extra:?}");
        assert!(extmap_lines(&sdp).is_empty(), "{extra:?}");
    }
    let (sdp, audio) = accepted(fixture!("linphone-offer.sdp"), &ours());
    assert_eq!(audio.csrc_audio_level, None);
    assert!(!sdp.contains("extmap"));

    // IDs the one-byte header cannot carry, and inactive, are declined.
    for entry in ["15", "300", "0", "2/inactive"] {
        let (sdp, audio) = accepted(
            &offer_with(&format!("a=extmap:{entry} {LEVELS}\r\n")),
            &ours(),
        );
        assert_eq!(audio.csrc_audio_level, None, "{entry}");
        assert!(extmap_lines(&sdp).is_empty(), "{entry}");
    }
}

#[test]
fn audio_levels_are_read_from_the_answer() {
    let mut answer = fixture!("linphone-answer.sdp").to_owned();
    assert_eq!(
        negotiated_from_answer(&ours(), &answer)
            .unwrap()
            .csrc_audio_level,
        None,
        "a peer that does not know them leaves them out"
    );
    answer.push_str(&format!("a=extmap:7 {LEVELS}\r\n"));
    assert_eq!(
        negotiated_from_answer(&ours(), &answer)
            .unwrap()
            .csrc_audio_level,
        Some(7)
    );
    let other = fixture!("linphone-answer.sdp").to_owned()
        + "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n";
    assert_eq!(
        negotiated_from_answer(&ours(), &other)
            .unwrap()
            .csrc_audio_level,
        None
    );
}

#[test]
fn an_unreadable_extmap_is_malformed_only_when_it_is_ours() {
    for entry in ["x", "1/sideways", "123456", "-1", "/sendrecv"] {
        let offer = offer_with(&format!("a=extmap:{entry} {LEVELS}\r\n"));
        assert!(
            matches!(answer(&offer, &ours()), Err(SdpError::Malformed { .. })),
            "{entry:?}"
        );
    }
    // Someone else's extension is not looked into.
    for line in ["a=extmap:x urn:example:other", "a=extmap:", "a=extmap:1"] {
        let (_, audio) = accepted(&offer_with(&format!("{line}\r\n")), &ours());
        assert_eq!(audio.csrc_audio_level, None, "{line}");
    }
}

#[test]
fn linphone_offer_gets_opus_on_its_payload_type_and_its_video_rejected() {
    let (sdp, audio) = accepted(fixture!("linphone-offer.sdp"), &ours());
    assert_eq!(
        audio.codec,
        CodecChoice {
            codec: AudioCodec::Opus,
            payload_type: 96,
            clock_rate: 48_000,
            channels: 2,
            fmtp: Some("useinbandfec=1".into()),
        }
    );
    // Linphone offers events at 48, 16 and 8 kHz: the Opus clock wins.
    assert_eq!(
        audio.telephone_event,
        Some(TelephoneEvent {
            payload_type: 101,
            clock_rate: 48_000
        })
    );
    assert_eq!(audio.remote, addr("192.0.2.20:7078"));
    // RFC 3605 a=rtcp:7079.
    assert_eq!(audio.remote_rtcp, addr("192.0.2.20:7079"));
    assert_eq!(audio.remote_ptime, None);
    assert_eq!(
        m_lines(&sdp),
        ["m=audio 40000 RTP/AVP 96 101", "m=video 0 RTP/AVP 96 97"]
    );
    assert!(sdp.contains("a=rtpmap:96 opus/48000/2\r\n"));
    assert!(sdp.contains("a=rtpmap:101 telephone-event/48000\r\na=fmtp:101 0-15\r\n"));
}

#[test]
fn our_preference_decides_and_static_pcmu_needs_no_rtpmap() {
    // Linphone lists PT 0 without an rtpmap; it is PCMU by RFC 3551.
    let (sdp, audio) = accepted(
        fixture!("linphone-offer.sdp"),
        &local(&[AudioCodec::Pcmu, AudioCodec::Opus]),
    );
    assert_eq!(audio.codec.codec, AudioCodec::Pcmu);
    assert_eq!(audio.codec.payload_type, 0);
    assert_eq!(audio.codec.fmtp, None);
    assert_eq!(audio.telephone_event.map(|e| e.payload_type), Some(100));
    assert_eq!(m_lines(&sdp)[0], "m=audio 40000 RTP/AVP 0 100");
    assert!(sdp.contains("a=rtpmap:0 PCMU/8000\r\n"));
}

#[test]
fn baresip_offer_keeps_its_opus_parameters_for_our_encoder() {
    let (_, audio) = accepted(fixture!("baresip-offer.sdp"), &ours());
    assert_eq!(audio.codec.payload_type, 96);
    assert_eq!(audio.codec.fmtp.as_deref(), Some("stereo=1;sprop-stereo=1"));
    assert_eq!(audio.remote_ptime, Some(20));
    // Only an 8 kHz event clock is offered; it is still taken.
    assert_eq!(
        audio.telephone_event,
        Some(TelephoneEvent {
            payload_type: 101,
            clock_rate: 8000
        })
    );
    assert_eq!(audio.remote, addr("198.51.100.33:10012"));
}

#[test]
fn asterisk_payload_type_111_is_not_opus_there() {
    // Asterisk puts G726-32 on 111 and Opus on 107: names decide.
    let (sdp, audio) = accepted(fixture!("asterisk-offer.sdp"), &ours());
    assert_eq!(audio.codec.codec, AudioCodec::Opus);
    assert_eq!(audio.codec.payload_type, 107);
    assert_eq!(m_lines(&sdp), ["m=audio 40000 RTP/AVP 107 101"]);
    assert!(sdp.contains("a=rtpmap:107 opus/48000/2\r\n"));

    let (_, audio) = accepted(fixture!("asterisk-offer.sdp"), &local(&[AudioCodec::Pcmu]));
    assert_eq!(audio.codec.codec, AudioCodec::Pcmu);
    assert_eq!(audio.codec.payload_type, 0);
}

#[test]
fn desk_phone_offering_only_pcmu_with_media_level_connection() {
    let (sdp, audio) = accepted(fixture!("cisco-offer.sdp"), &ours());
    assert_eq!(audio.codec.codec, AudioCodec::Pcmu);
    assert_eq!(audio.codec.clock_rate, 8000);
    assert_eq!(audio.codec.channels, 1);
    assert_eq!(audio.remote, addr("192.0.2.55:29146"));
    assert_eq!(audio.remote_rtcp, addr("192.0.2.55:29147"));
    assert_eq!(audio.direction, Direction::SendRecv);
    assert_eq!(m_lines(&sdp), ["m=audio 40000 RTP/AVP 0 101"]);
    assert!(sdp.ends_with("a=ptime:20\r\na=sendrecv\r\n"));
}

#[test]
fn hold_from_the_peer_is_answered_recvonly_or_inactive() {
    // Session-level a=sendonly applies to the stream (RFC 3264 §5.1).
    let (sdp, audio) = accepted(fixture!("polycom-reinvite-hold.sdp"), &ours());
    assert_eq!(audio.direction, Direction::RecvOnly);
    assert!(sdp.contains("a=recvonly\r\n"));

    // If we had put them on hold first, nobody sends.
    let mut held = ours();
    held.direction = Direction::SendRecv.held();
    let (sdp, audio) = accepted(fixture!("polycom-reinvite-hold.sdp"), &held);
    assert_eq!(audio.direction, Direction::Inactive);
    assert!(sdp.contains("a=inactive\r\n"));
}

#[test]
fn rfc2543_hold_with_a_null_address_stops_our_sending() {
    let offer = fixture!("cisco-offer.sdp").replace("c=IN IP4 192.0.2.55", "c=IN IP4 0.0.0.0");
    let (sdp, audio) = accepted(&offer, &ours());
    assert_eq!(audio.direction, Direction::RecvOnly);
    assert!(sdp.contains("a=recvonly\r\n"));
}

#[test]
fn we_hold_and_resume_by_reoffer_with_a_rising_version() {
    let mut me = ours();
    let first = offer(&me);
    me.direction = me.direction.held();
    me.next_version();
    let hold = offer(&me);
    assert!(first.contains("o=- 7770001 1 IN IP4"));
    assert!(hold.contains("o=- 7770001 2 IN IP4"));
    assert!(hold.contains("a=sendonly\r\n"));

    let audio = negotiated_from_answer(&me, fixture!("baresip-answer-to-hold.sdp")).unwrap();
    assert_eq!(audio.direction, Direction::SendOnly);
    assert_eq!(audio.codec.payload_type, 111);

    me.direction = me.direction.resumed();
    me.next_version();
    let resume = offer(&me);
    assert!(resume.contains("o=- 7770001 3 IN IP4"));
    assert!(resume.contains("a=sendrecv\r\n"));
}

#[test]
fn direction_rules_of_rfc3264() {
    use Direction::*;
    // §6.1, answering with sendrecv wishes.
    assert_eq!(SendRecv.answer_to(SendRecv), SendRecv);
    assert_eq!(SendRecv.answer_to(SendOnly), RecvOnly);
    assert_eq!(SendRecv.answer_to(RecvOnly), SendOnly);
    assert_eq!(SendRecv.answer_to(Inactive), Inactive);
    // Our own wishes narrow it further.
    assert_eq!(RecvOnly.answer_to(SendRecv), RecvOnly);
    assert_eq!(SendOnly.answer_to(SendOnly), Inactive);
    assert_eq!(Inactive.answer_to(SendRecv), Inactive);
    // §8.4: hold.
    assert_eq!(SendRecv.held(), SendOnly);
    assert_eq!(RecvOnly.held(), Inactive);
    assert_eq!(SendOnly.held(), SendOnly);
    assert_eq!(SendOnly.resumed(), SendRecv);
    assert_eq!(Inactive.resumed(), RecvOnly);
    for direction in [SendRecv, SendOnly, RecvOnly, Inactive] {
        assert_eq!(direction.reversed().reversed(), direction);
        assert_eq!(
            Direction::from_attribute(direction.attribute()),
            Some(direction)
        );
    }
}

#[test]
fn webrtc_offer_is_not_acceptable() {
    let outcome = answer(fixture!("webrtc-offer.sdp"), &ours()).unwrap();
    assert!(outcome.is_not_acceptable());
    assert_eq!(outcome.negotiated, None);
    assert_eq!(
        m_lines(&outcome.sdp),
        ["m=audio 0 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126"]
    );
}

#[test]
fn every_m_line_is_answered_in_order_even_unknown_media() {
    let outcome = answer(fixture!("gateway-offer-t38.sdp"), &ours()).unwrap();
    assert!(outcome.is_not_acceptable());
    assert_eq!(
        m_lines(&outcome.sdp),
        ["m=audio 0 RTP/AVP 0", "m=image 0 udptl t38"]
    );
}

#[test]
fn no_common_codec_rejects_audio_with_port_zero() {
    let offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n\
                 m=audio 5004 RTP/AVP 8 9 101\r\na=rtpmap:8 PCMA/8000\r\n\
                 a=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
    let outcome = answer(offer, &ours()).unwrap();
    assert!(outcome.is_not_acceptable());
    assert_eq!(m_lines(&outcome.sdp), ["m=audio 0 RTP/AVP 8 9 101"]);
    assert_eq!(NOT_ACCEPTABLE_HERE, 488);

    // Names match case-blind, but clock rate and channels must agree.
    for other in ["opus/16000", "PCMU/8000/2"] {
        let offer = offer.replace("G722/8000", other);
        assert!(answer(&offer, &ours()).unwrap().is_not_acceptable());
    }
    for ours_too in ["OPUS/48000/2", "opus/48000", "pcmu/8000"] {
        let offer = offer.replace("G722/8000", ours_too);
        let audio = answer(&offer, &ours()).unwrap().negotiated.unwrap();
        assert_eq!(audio.codec.payload_type, 9);
    }
}

#[test]
fn the_first_usable_audio_stream_is_taken_and_later_ones_rejected() {
    let offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n\
                 m=audio 5004 RTP/SAVP 0\r\n\
                 m=audio 5006 RTP/AVPF 0\r\n\
                 m=audio 5008 RTP/AVP 0\r\n";
    let (sdp, audio) = accepted(offer, &ours());
    assert_eq!(audio.remote, addr("192.0.2.9:5006"));
    assert_eq!(
        m_lines(&sdp),
        [
            "m=audio 0 RTP/SAVP 0",
            "m=audio 40000 RTP/AVPF 0",
            "m=audio 0 RTP/AVP 0"
        ]
    );
}

#[test]
fn linphone_answer_to_our_offer() {
    let audio = negotiated_from_answer(&ours(), fixture!("linphone-answer.sdp")).unwrap();
    assert_eq!(audio.codec.codec, AudioCodec::Opus);
    assert_eq!(audio.codec.payload_type, 111);
    assert_eq!(audio.remote, addr("192.0.2.30:7078"));
    assert_eq!(audio.remote_rtcp, addr("192.0.2.30:7081"));
    assert_eq!(audio.direction, Direction::SendRecv);
    assert_eq!(audio.telephone_event.map(|e| e.payload_type), Some(101));
}

#[test]
fn asterisk_answer_media_level_connection_beats_session_level() {
    let audio = negotiated_from_answer(&ours(), fixture!("asterisk-answer.sdp")).unwrap();
    assert_eq!(audio.codec.codec, AudioCodec::Pcmu);
    assert_eq!(audio.remote, addr("203.0.113.77:17210"));
    assert_eq!(audio.remote_rtcp, addr("203.0.113.77:17211"));
    assert_eq!(audio.remote_ptime, Some(20));
}

#[test]
fn answers_that_agree_on_nothing() {
    let base = fixture!("asterisk-answer.sdp");
    let rejected = base.replace("m=audio 17210", "m=audio 0");
    assert_eq!(
        negotiated_from_answer(&ours(), &rejected),
        Err(SdpError::AudioRejected)
    );
    let pcma = base
        .replace("RTP/AVP 0 101", "RTP/AVP 8 101")
        .replace("rtpmap:0 PCMU", "rtpmap:8 PCMA");
    assert_eq!(
        negotiated_from_answer(&ours(), &pcma),
        Err(SdpError::NoCommonCodec)
    );
    // Our offer without Opus: an Opus answer is not one we can use.
    assert_eq!(
        negotiated_from_answer(&local(&[AudioCodec::Pcmu]), fixture!("linphone-answer.sdp")),
        Err(SdpError::NoCommonCodec)
    );
    let two = format!("{base}m=video 0 RTP/AVP 96\r\n");
    assert_eq!(
        negotiated_from_answer(&ours(), &two),
        Err(SdpError::MediaCountMismatch {
            offered: 1,
            answered: 2
        })
    );
    let image = base.replace("m=audio 17210 RTP/AVP 0 101", "m=image 17210 udptl t38");
    assert_eq!(
        negotiated_from_answer(&ours(), &image),
        Err(SdpError::NotAudio("image".into()))
    );
}

#[test]
fn ipv6_and_host_names_are_refused_clearly() {
    let v6 = fixture!("cisco-offer.sdp").replace("c=IN IP4 192.0.2.55", "c=IN IP6 2001:db8::55");
    let error = answer(&v6, &ours()).unwrap_err();
    assert_eq!(error, SdpError::Ipv6Unsupported);
    assert_eq!(error.status_code(), 488);

    let name =
        fixture!("cisco-offer.sdp").replace("c=IN IP4 192.0.2.55", "c=IN IP4 phone.example.com");
    assert!(matches!(
        answer(&name, &ours()),
        Err(SdpError::HostName(host)) if host == "phone.example.com"
    ));

    let rtcp_v6 =
        fixture!("linphone-answer.sdp").replace("a=rtcp:7081", "a=rtcp:7081 IN IP6 2001:db8::30");
    assert_eq!(
        negotiated_from_answer(&ours(), &rtcp_v6),
        Err(SdpError::Ipv6Unsupported)
    );
}

#[test]
fn rtcp_attribute_with_its_own_address() {
    let answer =
        fixture!("linphone-answer.sdp").replace("a=rtcp:7081", "a=rtcp:53020 IN IP4 198.51.100.7");
    let audio = negotiated_from_answer(&ours(), &answer).unwrap();
    assert_eq!(audio.remote, addr("192.0.2.30:7078"));
    assert_eq!(audio.remote_rtcp, addr("198.51.100.7:53020"));
}

#[test]
fn bare_line_feeds_and_port_counts_are_read() {
    let offer = "v=0\no=- 1 1 IN IP4 192.0.2.9\ns=-\nt=0 0\n\
                 m=audio 5004/2 RTP/AVP 0\nc=IN IP4 192.0.2.9\n\n";
    let (_, audio) = accepted(offer, &ours());
    assert_eq!(audio.remote, addr("192.0.2.9:5004"));
}

#[test]
fn malformed_descriptions_are_errors_with_status_400() {
    let good = fixture!("cisco-offer.sdp");
    let cases = [
        String::new(),
        "\r\n\r\n".to_owned(),
        "hello world".to_owned(),
        good.replace("v=0", "v=1"),
        good.replace("o=Cisco-SIPUA 8022 0 IN IP4 192.0.2.55\r\n", ""),
        good.replace("o=Cisco-SIPUA 8022 0", "o=Cisco-SIPUA 8022"),
        good.replace("m=audio 29146", "m=audio 70000"),
        good.replace("m=audio 29146 RTP/AVP 0 101", "m=audio 29146 RTP/AVP"),
        good.replace("c=IN IP4 192.0.2.55", "c=IN IP4"),
        good.replace(
            "a=rtpmap:101 telephone-event/8000",
            "a=rtpmap:101 telephone-event",
        ),
        good.replace("a=fmtp:101 0-15", "a=fmtp:x 0-15"),
        good.replace("a=sendrecv", "sendrecv"),
        good.replace("s=SIP Call", "sx=SIP Call"),
    ];
    for case in cases {
        let error = answer(&case, &ours()).unwrap_err();
        assert!(
            matches!(error, SdpError::Malformed { .. }),
            "{case:?} gave {error:?}"
        );
        assert_eq!(error.status_code(), 400);
    }
    let no_connection = good.replace("c=IN IP4 192.0.2.55\r\n", "");
    assert_eq!(answer(&no_connection, &ours()), Err(SdpError::NoConnection));
}

#[test]
fn lines_we_do_not_use_are_not_looked_into() {
    // webrtc-sdp would refuse each of these; SIP peers send them.
    let offer = fixture!("cisco-offer.sdp").replace(
        "s=SIP Call\r\n",
        "s=SIP Call\r\ni=desk phone\r\nu=http://example.com/\r\ne=ops@example.com\r\n",
    );
    let offer = offer.replace(
        "a=sendrecv",
        "a=sendrecv\r\na=fmtp:0 useinbandfec=true\r\na=X-cisco-media:umoh\r\na=sendrecv:oops",
    );
    let (_, audio) = accepted(&offer, &ours());
    assert_eq!(audio.codec.codec, AudioCodec::Pcmu);
}

#[test]
fn no_input_panics() {
    let mut rng = StdRng::seed_from_u64(3264);
    for text in FIXTURES {
        let bytes = text.as_bytes();
        for cut in 0..bytes.len() {
            let prefix = String::from_utf8_lossy(&bytes[..cut]);
            let _ = answer(&prefix, &ours());
            let _ = negotiated_from_answer(&ours(), &prefix);
        }
        for _ in 0..300 {
            let mut mutated = bytes.to_vec();
            for _ in 0..rng.random_range(1..6) {
                let at = rng.random_range(0..mutated.len());
                mutated[at] = match rng.random_range(0..4) {
                    0 => b'\n',
                    1 => b'0' + rng.random_range(0..10),
                    2 => b' ',
                    _ => rng.random(),
                };
            }
            let mutated = String::from_utf8_lossy(&mutated);
            let _ = answer(&mutated, &ours());
            let _ = negotiated_from_answer(&ours(), &mutated);
        }
    }
}
