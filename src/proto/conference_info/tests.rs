use rand::SeedableRng;
use rand::rngs::StdRng;

use super::testing::{FOCUS, random_edit, random_roster};
use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/conference_info/",
            $name
        ))
        .as_slice()
    };
}

const FIXTURES: [&[u8]; 7] = [
    fixture!("rfc4575-basic.xml"),
    fixture!("ocs-full.xml"),
    fixture!("ocs-partial-eject.xml"),
    fixture!("confab-partial.xml"),
    fixture!("confab-quality.xml"),
    fixture!("truncated.xml"),
    fixture!("version-not-a-number.xml"),
];

#[test]
fn the_rfc_4575_basic_example_reads_with_its_extras_skipped() {
    let info = parse(fixture!("rfc4575-basic.xml")).unwrap();
    assert_eq!(info.entity, "sips:conf233@example.com");
    assert_eq!((info.state, info.version), (State::Full, 1));
    // service-uris is not modelled; the description keeps its subject.
    assert_eq!(
        info.description,
        Some(Description {
            subject: Some("Agenda: This month's goals".into()),
            conf_uris: Vec::new(),
        })
    );
    assert_eq!(
        info.conference_state,
        Some(ConferenceState {
            user_count: Some(33),
            active: None,
            locked: None,
        })
    );
    let bob = &info.users[0];
    assert_eq!(bob.entity, "sip:bob@example.com");
    assert_eq!(bob.display_text.as_deref(), Some("Bob Hoskins"));
    assert_eq!(
        bob.endpoints,
        [Endpoint {
            entity: "sip:bob@pc33.example.com".into(),
            status: Some(EndpointStatus::Disconnected),
            disconnection_method: Some(DisconnectionMethod::Departed),
            disconnection_reason: Some("bad voice quality".into()),
            media: vec![Media {
                id: "1".into(),
                media_type: Some("audio".into()),
                status: Some(MediaStatus::SendRecv),
                src_id: Some("432424".into()),
                ingress_filter: None,
                quality: None,
            }],
            ..Endpoint::default()
        }]
    );
    let alice = &info.users[1];
    assert_eq!(alice.entity, "sip:alice@example.com");
    let endpoint = &alice.endpoints[0];
    assert_eq!(
        endpoint.entity,
        "sip:4kfk4j392jsu@example.com;grid=433kj4j3u"
    );
    assert_eq!(endpoint.status, Some(EndpointStatus::Connected));
    assert_eq!(endpoint.joining_method, Some(JoiningMethod::DialedOut));
    assert_eq!(endpoint.session_type, None);
    // No session-type: an endpoint with audio counts as the audio one.
    assert!(alice.in_audio());
    assert!(!bob.in_audio());
}

#[test]
fn an_ocs_document_reads_past_its_microsoft_extensions() {
    let info = parse(fixture!("ocs-full.xml")).unwrap();
    assert_eq!(info.entity, FOCUS);
    let description = info.description.as_ref().unwrap();
    assert_eq!(description.subject.as_deref(), Some("Weekly sync"));
    let purposes: Vec<_> = description
        .conf_uris
        .iter()
        .map(|conf_uri| conf_uri.purpose.as_deref())
        .collect();
    assert_eq!(purposes, [Some("chat"), Some("audio-video")]);
    assert_eq!(
        info.conference_state,
        Some(ConferenceState {
            user_count: Some(3),
            active: Some(true),
            locked: Some(true),
        })
    );
    let entities: Vec<_> = info.users.iter().map(|u| u.entity.as_str()).collect();
    assert_eq!(
        entities,
        [
            "sip:amy@confab.local",
            "sip:bob@confab.local",
            "sip:carol@confab.local"
        ]
    );
    let [amy, bob, carol] = &info.users[..] else {
        panic!("three users");
    };
    assert_eq!(amy.roles, ["presenter"]);
    assert_eq!(bob.roles, ["attendee"]);
    let session_types: Vec<_> = amy
        .endpoints
        .iter()
        .map(|e| e.session_type.clone())
        .collect();
    assert_eq!(
        session_types,
        [
            Some(SessionType::Focus),
            Some(SessionType::Chat),
            Some(SessionType::AudioVideo)
        ]
    );
    let amy_audio = &amy.endpoints[2].media[0];
    assert_eq!(amy_audio.ingress_filter, Some(IngressFilter::Unblock));
    let bob_audio = &bob.endpoints[1];
    assert_eq!(bob_audio.status, Some(EndpointStatus::MutedViaFocus));
    assert_eq!(
        bob_audio.media[0].ingress_filter,
        Some(IngressFilter::Block)
    );
    assert_eq!(bob_audio.media[0].status, Some(MediaStatus::RecvOnly));
    assert!(amy.in_audio() && bob.in_audio() && !carol.in_audio());
}

#[test]
fn a_document_round_trips_through_xml_with_text_that_needs_escaping() {
    let info = ConferenceInfo {
        entity: FOCUS.into(),
        state: State::Partial,
        version: 4_000_000_000,
        description: Some(Description {
            subject: Some("Q3 <plans> & \"more\" — 東京".into()),
            conf_uris: vec![ConfUri {
                uri: "sip:amy@confab.local;gruu;opaque=app:conf:chat:id:4KT9QZ2M".into(),
                display_text: Some("code <1> & 2".into()),
                purpose: None,
            }],
        }),
        conference_state: Some(ConferenceState::default()),
        users_state: State::Full,
        users: vec![
            User {
                entity: "sip:o'neil@confab.local".into(),
                state: State::Partial,
                display_text: Some("O'Neil & <Sons>".into()),
                roles: vec!["presenter".into(), "organizer".into()],
                endpoints: vec![
                    Endpoint {
                        entity: "{A}".into(),
                        state: State::Deleted,
                        ..Endpoint::default()
                    },
                    Endpoint {
                        entity: String::new(),
                        state: State::Partial,
                        session_type: Some(SessionType::Other("applicationsharing".into())),
                        status: Some(EndpointStatus::Other("calling".into())),
                        joining_method: Some(JoiningMethod::FocusOwner),
                        disconnection_method: Some(DisconnectionMethod::Busy),
                        disconnection_reason: Some("busy <here> & now".into()),
                        media: vec![Media::new("7")],
                    },
                ],
            },
            User::new("sip:bare@confab.local"),
        ],
    };
    let body = info.to_xml();
    assert_eq!(parse(body.as_bytes()).unwrap(), info, "{body}");
}

#[test]
fn confab_writes_a_partial_document_in_the_shape_of_the_fixture() {
    let mut old = Roster::new(FOCUS);
    let mut amy = User::new("sip:amy@confab.local");
    amy.roles = vec!["presenter".into()];
    amy.endpoints = vec![Endpoint {
        session_type: Some(SessionType::AudioVideo),
        status: Some(EndpointStatus::Connected),
        joining_method: Some(JoiningMethod::DialedIn),
        media: vec![Media {
            media_type: Some("audio".into()),
            status: Some(MediaStatus::SendRecv),
            ingress_filter: Some(IngressFilter::Unblock),
            ..Media::new("1")
        }],
        ..Endpoint::new("sip:amy@192.0.2.7:5060;transport=tcp")
    }];
    old.set_user(amy.clone()).unwrap();
    old.set_user(User {
        endpoints: vec![Endpoint {
            session_type: Some(SessionType::Focus),
            status: Some(EndpointStatus::Connected),
            ..Endpoint::new("sip:bob@198.51.100.4:5061;transport=tls")
        }],
        ..User::new("sip:bob@confab.local")
    })
    .unwrap();
    let mut new = old.clone();
    amy.endpoints[0].media[0].ingress_filter = Some(IngressFilter::Block);
    amy.endpoints[0].media[0].status = Some(MediaStatus::RecvOnly);
    new.set_user(amy).unwrap();
    new.remove_user("sip:bob@confab.local", Some(DisconnectionMethod::Booted));
    let mut carol = User::new("sip:carol@confab.local");
    carol.display_text = Some("Carol Diaz".into());
    carol.roles = vec!["attendee".into()];
    new.set_user(carol).unwrap();
    new.set_conference_state(Some(ConferenceState {
        locked: Some(true),
        ..ConferenceState::default()
    }));

    let mut document = diff(&old, &new).unwrap();
    document.version = 5;
    let body = document.to_xml();
    assert_eq!(body.as_bytes(), fixture!("confab-partial.xml"), "{body}");
}

#[test]
fn diff_documents_of_random_rosters_round_trip_through_xml() {
    for seed in 0..200 {
        let mut rng = StdRng::seed_from_u64(seed);
        let old = random_roster(&mut rng, 6);
        let mut new = old.clone();
        for _ in 0..4 {
            random_edit(&mut rng, &mut new, 12);
        }
        let documents = [Some(old.full_document(1)), diff(&old, &new)];
        for document in documents.into_iter().flatten() {
            let body = document.to_xml();
            assert_eq!(
                parse(body.as_bytes()).unwrap(),
                document,
                "seed {seed}\n{body}"
            );
        }
    }
}

#[test]
fn malformed_documents_are_refused() {
    type Check = fn(&ConferenceInfoError) -> bool;
    let cases: [(&[u8], Check); 14] = [
        (fixture!("truncated.xml"), |e| {
            matches!(e, ConferenceInfoError::Xml(XmlError::Truncated(_)))
        }),
        (fixture!("wrong-root.xml"), |e| {
            matches!(e, ConferenceInfoError::WrongRoot(root) if root.contains("presence"))
        }),
        (fixture!("version-not-a-number.xml"), |e| {
            matches!(e, ConferenceInfoError::BadVersion(v) if v == "two")
        }),
        (
            br#"<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:f@x" version="-1"/>"#,
            |e| matches!(e, ConferenceInfoError::BadVersion(_)),
        ),
        (
            br#"<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:f@x" version="4294967296"/>"#,
            |e| matches!(e, ConferenceInfoError::BadVersion(_)),
        ),
        (
            br#"<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:f@x"/>"#,
            |e| {
                matches!(
                    e,
                    ConferenceInfoError::MissingAttribute {
                        attribute: "version",
                        ..
                    }
                )
            },
        ),
        (
            br#"<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity=" " version="1"/>"#,
            |e| {
                matches!(
                    e,
                    ConferenceInfoError::MissingAttribute {
                        attribute: "entity",
                        ..
                    }
                )
            },
        ),
        (
            br#"<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:f@x" version="1" state="some"/>"#,
            |e| matches!(e, ConferenceInfoError::BadState(s) if s == "some"),
        ),
        (
            br#"<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:f@x" version="1"><conference-state><locked>yes</locked></conference-state></conference-info>"#,
            |e| {
                matches!(
                    e,
                    ConferenceInfoError::BadValue {
                        element: "locked",
                        ..
                    }
                )
            },
        ),
        (
            br#"<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:f@x" version="1"><conference-state><user-count>many</user-count></conference-state></conference-info>"#,
            |e| {
                matches!(
                    e,
                    ConferenceInfoError::BadValue {
                        element: "user-count",
                        ..
                    }
                )
            },
        ),
        (
            br#"<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:f@x" version="1"><users><user/></users></conference-info>"#,
            |e| {
                matches!(
                    e,
                    ConferenceInfoError::MissingAttribute { element: "user", .. }
                )
            },
        ),
        (
            br#"<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:f@x" version="1"><users><user entity="sip:a@x"><endpoint><media/></endpoint></user></users></conference-info>"#,
            |e| {
                matches!(
                    e,
                    ConferenceInfoError::MissingAttribute {
                        element: "media",
                        ..
                    }
                )
            },
        ),
        (
            b"<!DOCTYPE c [<!ENTITY a \"aaaa\">]><conference-info entity=\"&a;\" version=\"1\"/>",
            |e| matches!(e, ConferenceInfoError::Xml(XmlError::DocType)),
        ),
        (
            b"<conference-info entity=\"sip:f@x\xff\" version=\"1\"/>",
            |e| matches!(e, ConferenceInfoError::Xml(XmlError::NotUtf8)),
        ),
    ];
    for (body, check) in cases {
        let error = parse(body).unwrap_err();
        assert!(
            check(&error),
            "{error:?} for {}",
            String::from_utf8_lossy(body)
        );
    }
}

/// A document with `users` users of `extra` endpoints each.
fn large_document(users: usize, endpoints: usize) -> String {
    let mut body = format!(
        r#"<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="{FOCUS}" state="full" version="1"><users>"#
    );
    for n in 0..users {
        body.push_str(&format!(r#"<user entity="sip:user{n}@confab.local">"#));
        for k in 0..endpoints {
            body.push_str(&format!(r#"<endpoint entity="e{k}"/>"#));
        }
        body.push_str("</user>");
    }
    body.push_str("</users></conference-info>");
    body
}

#[test]
fn documents_past_the_limits_are_refused_whole() {
    let at_limit = parse(large_document(MAX_USERS, 1).as_bytes()).unwrap();
    assert_eq!(at_limit.users.len(), MAX_USERS);

    let ten_thousand = large_document(10_000, 0);
    assert!(ten_thousand.len() < MAX_DOCUMENT_BYTES);
    let error = parse(ten_thousand.as_bytes()).unwrap_err();
    assert!(
        matches!(
            error,
            ConferenceInfoError::TooMany {
                what: "users",
                limit: MAX_USERS
            }
        ),
        "{error:?}"
    );

    let error = parse(large_document(1, MAX_ENDPOINTS + 1).as_bytes()).unwrap_err();
    assert!(
        matches!(
            error,
            ConferenceInfoError::TooMany {
                limit: MAX_ENDPOINTS,
                ..
            }
        ),
        "{error:?}"
    );

    let mut huge = large_document(1, 0);
    huge.insert_str(
        huge.len() - "</conference-info>".len(),
        &" ".repeat(MAX_DOCUMENT_BYTES),
    );
    let error = parse(huge.as_bytes()).unwrap_err();
    assert!(
        matches!(error, ConferenceInfoError::Xml(XmlError::TooLarge { .. })),
        "{error:?}"
    );
}

#[test]
fn no_cut_or_corruption_of_a_fixture_panics_the_reader_or_the_roster() {
    let mut tried = 0;
    for body in FIXTURES {
        let cuts = (0..body.len()).map(|end| body[..end].to_vec());
        // Every byte in turn replaced with one that breaks markup or text.
        let corruptions = (0..body.len()).flat_map(|at| {
            [b'<', b'"', 0xff, b'0'].map(|byte| {
                let mut corrupted = body.to_vec();
                corrupted[at] = byte;
                corrupted
            })
        });
        for input in cuts.chain(corruptions) {
            tried += 1;
            if let Ok(document) = parse(&input) {
                let mut roster = Roster::default();
                let _ = roster.apply(document.clone());
                let _ = roster.apply(document);
            }
        }
    }
    assert!(tried > 10_000);
}
