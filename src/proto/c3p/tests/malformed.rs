use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

/// What an error must look like.
type Check = fn(&C3pError) -> bool;

#[test]
fn every_malformed_fixture_is_an_error_of_its_kind() {
    let cases: &[(&str, Check)] = &[
        ("truncated.xml", |e| {
            matches!(
                e,
                C3pError::Xml(XmlError::Truncated(_) | XmlError::Malformed(_))
            )
        }),
        (
            "wrong-root.xml",
            |e| matches!(e, C3pError::WrongRoot(name) if name == "conference-info"),
        ),
        ("no-namespace.xml", |e| matches!(e, C3pError::WrongRoot(_))),
        ("missing-request-id.xml", |e| {
            matches!(
                e,
                C3pError::MissingAttribute {
                    element: "request",
                    attribute: "requestId"
                }
            )
        }),
        (
            "negative-request-id.xml",
            |e| matches!(e, C3pError::BadRequestId(id) if id == "-1"),
        ),
        ("overflowing-request-id.xml", |e| {
            matches!(e, C3pError::BadRequestId(_))
        }),
        ("missing-from.xml", |e| {
            matches!(
                e,
                C3pError::MissingAttribute {
                    attribute: "from",
                    ..
                }
            )
        }),
        (
            "version-2.xml",
            |e| matches!(e, C3pError::UnsupportedVersion(v) if v == "2"),
        ),
        ("no-command.xml", |e| {
            matches!(e, C3pError::NoCommand("request"))
        }),
        ("two-commands.xml", |e| {
            matches!(e, C3pError::SeveralCommands("request", 2))
        }),
        ("response-without-code.xml", |e| {
            matches!(
                e,
                C3pError::MissingAttribute {
                    attribute: "code",
                    ..
                }
            )
        }),
        ("unknown-code.xml", |e| {
            matches!(e, C3pError::BadValue { what: "code", .. })
        }),
        (
            "huge-attribute.xml",
            |e| matches!(e, C3pError::TooLong { what: "from", chars, .. } if *chars > MAX_VALUE_CHARS),
        ),
        ("billion-laughs.xml", |e| {
            matches!(e, C3pError::Xml(XmlError::DocType))
        }),
        (
            "undeclared-prefix.xml",
            |e| matches!(e, C3pError::Xml(XmlError::UndeclaredPrefix(prefix)) if prefix == "ci"),
        ),
        ("add-user-without-user.xml", |e| {
            matches!(
                e,
                C3pError::MissingElement {
                    parent: "addUser",
                    element: "user"
                }
            )
        }),
        ("lock-not-boolean.xml", |e| {
            matches!(e, C3pError::BadValue { what: "locked", .. })
        }),
        ("delete-user-without-user-entity.xml", |e| {
            matches!(
                e,
                C3pError::MissingAttribute {
                    attribute: "userEntity",
                    ..
                }
            )
        }),
        ("mute-without-mcu-uri.xml", |e| {
            matches!(
                e,
                C3pError::MissingAttribute {
                    attribute: "mcuUri",
                    ..
                }
            )
        }),
        // Only a failure may echo its command incompletely.
        ("success-with-incomplete-echo.xml", |e| {
            matches!(
                e,
                C3pError::MissingElement {
                    element: "conference-info",
                    ..
                }
            )
        }),
        ("latin-1.xml", |e| {
            matches!(e, C3pError::Xml(XmlError::NotUtf8))
        }),
        ("empty.xml", |e| {
            matches!(e, C3pError::Xml(XmlError::NoRoot))
        }),
    ];
    let directory = fixture_dir().join("malformed");
    let mut on_disk: Vec<String> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".xml"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = cases.iter().map(|(name, _)| name.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "every malformed fixture has a case here");
    for (name, check) in cases {
        let error = parse(&fixture(&format!("malformed/{name}"))).unwrap_err();
        assert!(check(&error), "{name}: {error:?}");
    }
}

#[test]
fn oversized_documents_are_refused_before_reading() {
    let attribute = "a".repeat(70 * 1024);
    let body = format!(
        r#"<request xmlns="{CCCP_NAMESPACE}" requestId="1" from="{attribute}" to="x"><deleteConference/></request>"#
    );
    assert!(matches!(
        parse(body.as_bytes()),
        Err(C3pError::Xml(XmlError::TooLarge { .. }))
    ));
    let deep = format!(
        r#"<request xmlns="{CCCP_NAMESPACE}" requestId="1" from="a" to="b"><x>{}{}</x></request>"#,
        "<y>".repeat(40),
        "</y>".repeat(40)
    );
    assert!(matches!(
        parse(deep.as_bytes()),
        Err(C3pError::Xml(XmlError::TooDeep { .. }))
    ));
    let wide = format!(
        r#"<request xmlns="{CCCP_NAMESPACE}" requestId="1" from="a" to="b"><getConferencingCapabilities><mcu-types>{}</mcu-types></getConferencingCapabilities></request>"#,
        "<mcuType>chat</mcuType>".repeat(600)
    );
    assert!(matches!(
        parse(wide.as_bytes()),
        Err(C3pError::Xml(XmlError::TooManyElements { .. }))
    ));
    let long_text = format!(
        r#"<request xmlns="{CCCP_NAMESPACE}" xmlns:ci="{CONFERENCE_INFO_NAMESPACE}" requestId="1" from="a" to="b"><addConference><ci:conference-info entity=""><ci:conference-description><ci:subject>{}</ci:subject></ci:conference-description></ci:conference-info></addConference></request>"#,
        "s".repeat(MAX_VALUE_CHARS + 1)
    );
    assert!(matches!(
        parse(long_text.as_bytes()),
        Err(C3pError::TooLong {
            what: "subject",
            ..
        })
    ));
}

#[test]
fn request_ids_are_plain_digits() {
    for (id, expected) in [
        ("0", Some(0)),
        (" 42 ", Some(42)),
        ("18446744073709551615", Some(u64::MAX)),
        ("+5", None),
        ("5a", None),
        ("", None),
        ("٣", None),
    ] {
        let body = format!(
            r#"<request xmlns="{CCCP_NAMESPACE}" requestId="{id}" from="a" to="b"><deleteConference><conferenceKeys confEntity="c"/></deleteConference></request>"#
        );
        let parsed = parse_request(body.as_bytes()).map(|request| request.request_id);
        match expected {
            Some(value) => assert_eq!(parsed.unwrap(), value, "{id:?}"),
            None => assert!(
                matches!(parsed, Err(C3pError::BadRequestId(_))),
                "{id:?}: {parsed:?}"
            ),
        }
    }
}

/// Every prefix of every valid fixture: no panic, and an error unless the
/// cut left the whole root element.
#[test]
fn every_truncation_of_every_fixture_errors_without_panicking() {
    for (name, _) in confab_fixtures() {
        let bytes = fixture(name);
        let root_end = bytes.iter().rposition(|&b| b == b'>').unwrap();
        for cut in 0..bytes.len() {
            let result = parse(&bytes[..cut]);
            if cut <= root_end {
                assert!(result.is_err(), "{name} cut at {cut}");
            }
        }
    }
}

/// Seeded random byte changes to every fixture: reading may succeed or
/// fail, but never panics, and whatever it reads writes back to a document
/// that reads the same.
#[test]
fn mutated_fixtures_never_panic() {
    let mut rng = StdRng::seed_from_u64(3014);
    let mut names: Vec<String> = confab_fixtures()
        .into_iter()
        .map(|(name, _)| name.to_owned())
        .collect();
    names.extend(
        [
            "sipe-add-conference.xml",
            "sipe-modify-endpoint-media.xml",
            "confpro-get-conference.xml",
            "failure-reason-on-command.xml",
        ]
        .map(String::from),
    );
    const INTERESTING: &[u8] = b"<>/=\"'&;:!?- \0\xff\xc3ax";
    for name in names {
        let original = fixture(&name);
        for _ in 0..300 {
            let mut bytes = original.clone();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..bytes.len());
                match rng.random_range(0..3) {
                    0 => bytes[at] = INTERESTING[rng.random_range(0..INTERESTING.len())],
                    1 => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, INTERESTING[rng.random_range(0..INTERESTING.len())]),
                }
            }
            if let Ok(document) = parse(&bytes) {
                let again = document.to_xml();
                let reread = parse(again.as_bytes());
                // A failure's incomplete echo reads as an empty command,
                // which may not write a complete one back; anything else
                // must survive the round trip.
                if let C3pDocument::Request(_) = document {
                    assert_eq!(reread.unwrap(), document, "{name}: {again}");
                }
            }
        }
    }
}
