use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;

/// What an error must look like.
type Check = fn(&ConferenceUriError) -> bool;

const FOCUS: &str = "sip:vivian@confab.local;gruu;opaque=app:conf:focus:id:8386E6AEAAA41E4A";

#[test]
fn every_part_reads_and_prints_the_same() {
    let cases = [
        (
            "sip:vivian@confab.local;gruu;opaque=app:conf:focusfactory",
            ConferencePart::FocusFactory,
            None,
        ),
        (FOCUS, ConferencePart::Focus, Some("8386E6AEAAA41E4A")),
        (
            "sip:vivian@confab.local;gruu;opaque=app:conf:chat:id:8386E6AEAAA41E4A",
            ConferencePart::Chat,
            Some("8386E6AEAAA41E4A"),
        ),
        (
            "sip:vivian@confab.local;gruu;opaque=app:conf:audio-video:id:8386E6AEAAA41E4A",
            ConferencePart::AudioVideo,
            Some("8386E6AEAAA41E4A"),
        ),
    ];
    for (text, part, id) in cases {
        let uri = ConferenceUri::parse(text).unwrap();
        assert_eq!(uri.organizer_user, "vivian");
        assert_eq!(uri.domain, "confab.local");
        assert_eq!(uri.part, part);
        assert_eq!(uri.id.as_deref(), id);
        assert_eq!(uri.to_string(), text);
        assert_eq!(text.parse::<ConferenceUri>().unwrap(), uri);
    }
}

#[test]
fn reading_is_liberal_in_case_order_and_extra_parameters() {
    let uri = ConferenceUri::parse(
        "SIP:vivian@confab.local:5061;transport=tcp;OPAQUE=APP:CONF:Audio-Video:ID:abcd1234;gruu",
    )
    .unwrap();
    assert_eq!(uri.part, ConferencePart::AudioVideo);
    assert_eq!(uri.domain, "confab.local:5061");
    // The ID keeps its case: IDs compare case-sensitively.
    assert_eq!(uri.id.as_deref(), Some("abcd1234"));
    assert_eq!(
        uri.to_string(),
        "sip:vivian@confab.local:5061;gruu;opaque=app:conf:audio-video:id:abcd1234"
    );
    // gruu is written, but not required on reading.
    let without_gruu =
        ConferenceUri::parse("sip:vivian@10.0.0.7;opaque=app:conf:focusfactory").unwrap();
    assert_eq!(without_gruu.part, ConferencePart::FocusFactory);
}

#[test]
fn parts_convert_into_each_other() {
    let focus = ConferenceUri::parse(FOCUS).unwrap();
    let av = focus.with_part(ConferencePart::AudioVideo).unwrap();
    assert_eq!(
        av.to_string(),
        "sip:vivian@confab.local;gruu;opaque=app:conf:audio-video:id:8386E6AEAAA41E4A"
    );
    // PROTOCOLS.md section 4 step 3: the invitee finds the focus from the
    // A/V MCU's URI.
    assert_eq!(av.with_part(ConferencePart::Focus).unwrap(), focus);
    let chat = av.with_part(ConferencePart::Chat).unwrap();
    assert_eq!(chat.with_part(ConferencePart::Focus).unwrap(), focus);
    let factory = chat.with_part(ConferencePart::FocusFactory).unwrap();
    assert_eq!(
        factory.to_string(),
        "sip:vivian@confab.local;gruu;opaque=app:conf:focusfactory"
    );
    assert_eq!(
        factory.with_part(ConferencePart::Focus),
        Err(ConferenceUriError::MissingId(ConferencePart::Focus))
    );
}

#[test]
fn constructors_check_what_they_are_given() {
    let focus = ConferenceUri::conference(
        ConferencePart::Focus,
        "vivian",
        "confab.local",
        "8386E6AEAAA41E4A",
    )
    .unwrap();
    assert_eq!(focus.to_string(), FOCUS);
    assert_eq!(
        ConferenceUri::focus_factory("vivian", "confab.local")
            .unwrap()
            .to_string(),
        "sip:vivian@confab.local;gruu;opaque=app:conf:focusfactory"
    );
    assert!(matches!(
        ConferenceUri::conference(ConferencePart::Chat, "vivian", "confab.local", "short"),
        Err(ConferenceUriError::BadConferenceId(_))
    ));
    assert_eq!(
        ConferenceUri::conference(
            ConferencePart::FocusFactory,
            "vivian",
            "confab.local",
            "ABCDEFGH"
        ),
        Err(ConferenceUriError::UnexpectedId)
    );
    assert!(matches!(
        ConferenceUri::focus_factory("viv ian", "confab.local"),
        Err(ConferenceUriError::BadUser(_))
    ));
    assert!(matches!(
        ConferenceUri::focus_factory("vivian", "[::1]"),
        Err(ConferenceUriError::BadDomain(_))
    ));
}

#[test]
fn conference_ids_are_8_to_32_alphanumerics() {
    for good in ["ABCDEFGH", "abc123XY", &"Z".repeat(32)] {
        assert_eq!(validate_conference_id(good), Ok(()), "{good}");
    }
    for bad in [
        "ABCDEFG",
        &"Z".repeat(33),
        "ABCD-EFGH",
        "ABCDEFGÉ",
        "",
        "ABCD EFGH",
    ] {
        assert!(
            matches!(
                validate_conference_id(bad),
                Err(ConferenceUriError::BadConferenceId(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn generated_ids_are_valid_and_repeatable_from_the_seed() {
    let mut rng = StdRng::seed_from_u64(7);
    let first = generate_conference_id(&mut rng);
    let second = generate_conference_id(&mut rng);
    assert_eq!(first.len(), GENERATED_CONFERENCE_ID_LEN);
    assert_eq!(validate_conference_id(&first), Ok(()));
    assert_ne!(first, second);
    assert!(
        first
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    );
    let mut again = StdRng::seed_from_u64(7);
    assert_eq!(generate_conference_id(&mut again), first);
}

#[test]
fn malformed_uris_are_errors() {
    let cases: [(&str, Check); 14] = [
        ("", |e| matches!(e, ConferenceUriError::NotSip(_))),
        ("tel:+14255550100", |e| {
            matches!(e, ConferenceUriError::NotSip(_))
        }),
        (
            "sips:vivian@confab.local;opaque=app:conf:focusfactory",
            |e| matches!(e, ConferenceUriError::NotSip(_)),
        ),
        ("sip:confab.local;opaque=app:conf:focusfactory", |e| {
            matches!(e, ConferenceUriError::BadUser(_))
        }),
        ("sip:@confab.local;opaque=app:conf:focusfactory", |e| {
            matches!(e, ConferenceUriError::BadUser(_))
        }),
        ("sip:vivian@;opaque=app:conf:focusfactory", |e| {
            matches!(e, ConferenceUriError::BadDomain(_))
        }),
        (
            "sip:vivian@confab.local:99999;opaque=app:conf:focusfactory",
            |e| matches!(e, ConferenceUriError::BadDomain(_)),
        ),
        ("sip:vivian@confab.local;gruu", |e| {
            *e == ConferenceUriError::NoOpaque
        }),
        (
            "sip:vivian@confab.local;opaque=app:conf:focusfactory;opaque=app:conf:focusfactory",
            |e| *e == ConferenceUriError::DuplicateOpaque,
        ),
        ("sip:vivian@confab.local;opaque=app:voicemail", |e| {
            matches!(e, ConferenceUriError::NotConference(_))
        }),
        (
            "sip:vivian@confab.local;opaque=app:conf:meeting:id:ABCDEFGH",
            |e| matches!(e, ConferenceUriError::UnknownPart(_)),
        ),
        ("sip:vivian@confab.local;opaque=app:conf:focus", |e| {
            *e == ConferenceUriError::MissingId(ConferencePart::Focus)
        }),
        (
            "sip:vivian@confab.local;opaque=app:conf:focusfactory:id:ABCDEFGH",
            |e| *e == ConferenceUriError::UnexpectedId,
        ),
        (
            "sip:vivian@confab.local;opaque=app:conf:chat:key:ABCDEFGH",
            |e| matches!(e, ConferenceUriError::NotConference(_)),
        ),
    ];
    for (text, check) in cases {
        let error = ConferenceUri::parse(text).unwrap_err();
        assert!(check(&error), "{text}: {error:?}");
    }
    let huge = format!(
        "sip:{}@confab.local;opaque=app:conf:focusfactory",
        "a".repeat(5000)
    );
    assert!(matches!(
        ConferenceUri::parse(&huge),
        Err(ConferenceUriError::TooLong { .. })
    ));
    // Multi-byte characters at every cut point must not panic.
    for text in [
        "é",
        "sié",
        "sip:é@é;opaque=app:conf:é",
        "sip:a@b;opaque=app:conf:focus:é",
    ] {
        assert!(ConferenceUri::parse(text).is_err(), "{text}");
    }
}

#[test]
fn rsip_reads_the_whole_opaque_value_off_the_wire() {
    // rsip 0.4.0 stopped a parameter value at ':' (vendor/rsip carries the
    // fix), so conference URIs from requests and headers read whole.
    let parsed = rsip::Uri::try_from(FOCUS).unwrap();
    assert_eq!(parsed.to_string(), FOCUS);
    assert_eq!(
        ConferenceUri::from_rsip(&parsed).unwrap(),
        ConferenceUri::parse(FOCUS).unwrap()
    );
    let request = format!(
        "INVITE {FOCUS} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n\
         From: <sip:amy@confab.local>;tag=1\r\nTo: <{FOCUS}>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\
         Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    let parsed = crate::proto::message::parse(request.as_bytes()).unwrap();
    let rsip::SipMessage::Request(request) = parsed else {
        panic!("a request")
    };
    assert_eq!(
        ConferenceUri::from_rsip(&request.uri).unwrap(),
        ConferenceUri::parse(FOCUS).unwrap()
    );
}

#[test]
fn to_rsip_keeps_the_whole_opaque_value() {
    let focus = ConferenceUri::parse(FOCUS).unwrap();
    let uri = focus.to_rsip().unwrap();
    assert_eq!(uri.to_string(), FOCUS);
    assert_eq!(ConferenceUri::from_rsip(&uri).unwrap(), focus);
    let with_port = ConferenceUri::parse("sip:amy@127.0.0.1:5070;opaque=app:conf:focusfactory")
        .unwrap()
        .to_rsip()
        .unwrap();
    assert_eq!(
        with_port.to_string(),
        "sip:amy@127.0.0.1:5070;gruu;opaque=app:conf:focusfactory"
    );
}
