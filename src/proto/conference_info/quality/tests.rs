use super::super::*;
use super::MAX_CODEC_BYTES;

const FOCUS: &str = "sip:amy@confab.local;gruu;opaque=app:conf:focus:id:4KT9QZ2M";

/// A roster where Amy is in the audio, without figures yet.
fn amy_in_audio() -> (Roster, User) {
    let mut roster = Roster::new(FOCUS);
    let mut amy = User::new("sip:amy@confab.local");
    amy.endpoints = vec![Endpoint {
        session_type: Some(SessionType::AudioVideo),
        status: Some(EndpointStatus::Connected),
        media: vec![Media {
            media_type: Some("audio".into()),
            status: Some(MediaStatus::SendRecv),
            src_id: Some("1".into()),
            ..Media::new("1")
        }],
        ..Endpoint::new("sip:amy@192.0.2.7:5060")
    }];
    roster.set_user(amy.clone()).unwrap();
    (roster, amy)
}

fn opus_figures() -> MediaQuality {
    MediaQuality {
        codec: Some("Opus".into()),
        loss_permille: Some(4),
        jitter_ms: Some(3),
        round_trip_ms: Some(12),
        buffer_ms: Some(60),
    }
}

/// The quality of Amy's audio medium in a document read from `media`, the
/// inside of her `<media>`.
fn read_media(media: &str) -> Option<MediaQuality> {
    let body = format!(
        r#"<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"
             entity="{FOCUS}" state="full" version="1">
           <users><user entity="sip:amy@confab.local"><endpoint entity="a">
             <media id="1"><type>audio</type>{media}</media>
           </endpoint></user></users></conference-info>"#
    );
    let info = parse(body.as_bytes()).unwrap();
    info.users[0].endpoints[0].media[0].quality.clone()
}

fn element(attributes: &str) -> String {
    format!(r#"<q:quality xmlns:q="{QUALITY_NAMESPACE}" {attributes}/>"#)
}

#[test]
fn new_figures_go_out_as_the_whole_medium_in_the_shape_of_the_fixture() {
    let (old, mut amy) = amy_in_audio();
    let mut new = old.clone();
    amy.endpoints[0].media[0].quality = Some(opus_figures());
    new.set_user(amy).unwrap();
    let mut document = diff(&old, &new).unwrap();
    document.version = 2;
    let body = document.to_xml();
    let fixture = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/conference_info/confab-quality.xml"
    ));
    assert_eq!(body, fixture);
    let read = parse(body.as_bytes()).unwrap();
    assert_eq!(read, document);
    let mut subscriber = old.clone();
    subscriber.apply(old.full_document(1)).unwrap();
    subscriber.apply(read).unwrap();
    let media = &subscriber.user("sip:amy@confab.local").unwrap().endpoints[0].media[0];
    assert_eq!(media.quality, Some(opus_figures()));
    assert_eq!(media.src_id.as_deref(), Some("1"), "the rest of it stays");
}

#[test]
fn figures_that_are_not_numbers_in_range_are_ignored() {
    let read = |attributes: &str| read_media(&element(attributes));
    assert_eq!(
        read(r#"codec="Opus" loss="0.4" jitter="3" rtt="12" buffer="60""#),
        Some(opus_figures())
    );
    // Rounded to what the model holds.
    let rounded = read(r#"loss=" 0.46 " jitter="12.7" rtt="0.2" buffer="59.5""#).unwrap();
    assert_eq!(
        (
            rounded.loss_permille,
            rounded.jitter_ms,
            rounded.round_trip_ms,
            rounded.buffer_ms
        ),
        (Some(5), Some(13), Some(0), Some(60))
    );
    assert_eq!(rounded.loss_percent(), Some(0.5));
    // Each bad figure goes alone; the others stay.
    let some = read(r#"codec="PCMU" loss="lots" jitter="-1" rtt="NaN" buffer="60""#).unwrap();
    assert_eq!(
        some,
        MediaQuality {
            codec: Some("PCMU".into()),
            buffer_ms: Some(60),
            ..MediaQuality::default()
        }
    );
    for nothing in [
        "",
        r#"codec="""#,
        r#"codec="   ""#,
        r#"loss="100.1""#,
        r#"loss="-0.1""#,
        r#"loss="inf""#,
        r#"jitter="1e12""#,
        r#"rtt="0x10""#,
        r#"buffer="""#,
        r#"buffer="60 ms""#,
        r#"loss="0,4""#,
    ] {
        assert_eq!(read(nothing), None, "{nothing}");
    }
    let long = "x".repeat(MAX_CODEC_BYTES + 1);
    assert_eq!(read(&format!(r#"codec="{long}""#)), None);
}

#[test]
fn only_the_element_in_our_namespace_counts() {
    // In the conference-info namespace (the default) or in another one,
    // a `quality` child is some other element, skipped.
    assert_eq!(read_media(r#"<quality codec="Opus"/>"#), None);
    assert_eq!(
        read_media(r#"<x:quality xmlns:x="urn:example:other" codec="Opus"/>"#),
        None
    );
    // Ours under any prefix, and as the default namespace of the element.
    let opus = Some(MediaQuality {
        codec: Some("Opus".into()),
        ..MediaQuality::default()
    });
    assert_eq!(
        read_media(&format!(
            r#"<zz:quality xmlns:zz="{QUALITY_NAMESPACE}" codec="Opus"/>"#
        )),
        opus
    );
    assert_eq!(
        read_media(&format!(
            r#"<quality xmlns="{QUALITY_NAMESPACE}" codec="Opus"/>"#
        )),
        opus
    );
}

#[test]
fn a_quality_with_nothing_in_it_is_not_written() {
    let (roster, mut amy) = amy_in_audio();
    amy.endpoints[0].media[0].quality = Some(MediaQuality::default());
    let mut with_empty = roster.clone();
    with_empty.set_user(amy).unwrap();
    let body = with_empty.full_document(1).to_xml();
    assert!(!body.contains("quality"), "{body}");
    assert_eq!(body, roster.full_document(1).to_xml());
}
