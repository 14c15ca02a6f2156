use super::*;

/// What an error must look like.
type Check = fn(&PidfError) -> bool;
/// A body and the state, note and contact it must read as.
type Reading = (
    &'static [u8],
    Availability,
    Option<&'static str>,
    Option<&'static str>,
);

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/pidf/",
            $name
        ))
        .as_slice()
    };
}

fn document(availability: Availability, note: Option<&str>) -> PresenceDocument {
    PresenceDocument {
        entity: "sip:amy@confab.local".into(),
        availability,
        note: note.map(str::to_owned),
        contact: Some("sip:amy@192.0.2.7:5060;transport=tcp".into()),
    }
}

#[test]
fn states_round_trip_by_their_contract_names_and_rank_by_ocs_value() {
    for state in Availability::ALL {
        assert_eq!(state.as_str().parse::<Availability>(), Ok(state));
    }
    assert!(
        "sleepy"
            .parse::<Availability>()
            .unwrap_err()
            .contains("dnd")
    );
    let ranks: Vec<_> = Availability::ALL
        .iter()
        .map(|s| s.ocs_availability())
        .collect();
    assert!(ranks.windows(2).all(|pair| pair[0] <= pair[1]), "{ranks:?}");
}

#[test]
fn the_most_available_endpoint_wins_whatever_the_order() {
    use Availability::*;
    assert_eq!(most_available([]), Offline);
    assert_eq!(most_available([Away, Offline]), Away);
    assert_eq!(
        most_available([Offline, DoNotDisturb, BeRightBack]),
        DoNotDisturb
    );
    assert_eq!(most_available([InAConference, Available, Away]), Available);
    // Busy and In a call share 6500; either order gives the same answer.
    assert_eq!(
        most_available([InACall, Busy]),
        most_available([Busy, InACall])
    );
    assert_eq!(most_available([InACall, Away]), InACall);
}

#[test]
fn every_state_round_trips_with_a_note_that_needs_escaping() {
    let notes = [
        None,
        Some(r#"<&>"' in a <b>note</b> & more"#),
        Some("Zürich → 東京, back Monday 🙂"),
        Some("line one\nline two\ttabbed"),
    ];
    for state in Availability::ALL {
        for note in notes {
            let sent = document(state, note);
            let body = sent.to_xml();
            let read = parse(body.as_bytes()).unwrap_or_else(|e| panic!("{e}: {body}"));
            assert_eq!(read, sent, "{body}");
        }
    }
}

#[test]
fn the_entity_and_contact_are_escaped_too() {
    let sent = PresenceDocument {
        entity: r#"sip:"odd"&<user>@confab.local"#.into(),
        availability: Availability::Busy,
        note: None,
        contact: Some("sip:amy@h;a=\"<&>\"".into()),
    };
    assert_eq!(parse(sent.to_xml().as_bytes()).unwrap(), sent);
}

#[test]
fn an_empty_note_is_not_written_and_control_characters_cannot_break_the_document() {
    let body = document(Availability::Away, Some("  \n ")).to_xml();
    assert!(!body.contains("note>"), "{body}");
    assert_eq!(parse(body.as_bytes()).unwrap().note, None);

    let body = document(Availability::Away, Some("bell\u{7}end")).to_xml();
    let read = parse(body.as_bytes()).unwrap();
    assert_eq!(read.note.as_deref(), Some("bell\u{fffd}end"));
}

#[test]
fn our_document_has_the_shape_protocols_md_describes() {
    let body = document(Availability::DoNotDisturb, Some("Writing the Q3 report")).to_xml();
    let expected = std::str::from_utf8(fixture!("confab-dnd.xml")).unwrap();
    assert_eq!(body, expected);
}

#[test]
fn each_state_is_written_with_its_rpid_encoding() {
    let cases = [
        (Availability::Available, "open", &[][..]),
        (Availability::Busy, "open", &["<rpid:busy/>"][..]),
        (Availability::InACall, "open", &["<rpid:on-the-phone/>"][..]),
        (
            Availability::InAConference,
            "open",
            &["<rpid:other>in-a-conference</rpid:other>"][..],
        ),
        (
            Availability::DoNotDisturb,
            "open",
            &["<rpid:busy/>", "<rpid:other>dnd</rpid:other>"][..],
        ),
        (
            Availability::BeRightBack,
            "open",
            &["<rpid:away/>", "<rpid:other>brb</rpid:other>"][..],
        ),
        (Availability::Away, "open", &["<rpid:away/>"][..]),
        (Availability::Offline, "closed", &[][..]),
    ];
    for (state, basic, activities) in cases {
        let body = document(state, None).to_xml();
        assert!(body.contains(&format!("<basic>{basic}</basic>")), "{body}");
        for activity in activities {
            assert!(body.contains(activity), "{state:?}: {body}");
        }
        assert_eq!(
            body.contains("<rpid:activities>"),
            !activities.is_empty(),
            "{body}"
        );
    }
}

#[test]
fn the_rfc_3863_example_is_open_with_the_persons_absent_and_the_first_tuple_note() {
    let read = parse(fixture!("rfc3863-example.xml")).unwrap();
    assert_eq!(read.entity, "pres:someone@example.com");
    // <im:im>busy</im:im> is the IM status extension, not RPID.
    assert_eq!(read.availability, Availability::Available);
    // No person: the presence-level note comes before the tuples'.
    assert_eq!(read.note.as_deref(), Some("I'll be in Tokyo next week"));
    assert_eq!(
        read.contact.as_deref(),
        Some("im:someone@mobilecarrier.net")
    );
}

#[test]
fn the_rfc_4480_example_is_away_with_the_persons_note() {
    let read = parse(fixture!("rfc4480-example.xml")).unwrap();
    assert_eq!(read.availability, Availability::Away);
    assert_eq!(read.note.as_deref(), Some("Scoring 120"));
    assert_eq!(
        read.contact.as_deref(),
        Some("im:someone@mobile.example.net")
    );
}

#[test]
fn other_clients_documents_read_as_their_users_meant() {
    let cases: [Reading; 9] = [
        (
            fixture!("linphone-on-the-phone.xml"),
            Availability::InACall,
            None,
            Some("sip:carol@example.org"),
        ),
        // <rpid:meal/> has no confab state; the note still reads.
        (
            fixture!("linphone-out-to-lunch.xml"),
            Availability::Available,
            Some("Back at two"),
            Some("sip:carol@example.org"),
        ),
        (
            fixture!("linphone-online.xml"),
            Availability::Available,
            None,
            Some("sip:dave@192.0.2.14:5060"),
        ),
        (
            fixture!("pidgin.xml"),
            Availability::Available,
            Some("Working on the release"),
            None,
        ),
        (
            fixture!("pidgin-closed.xml"),
            Availability::Offline,
            None,
            None,
        ),
        (
            fixture!("activities-in-status.xml"),
            Availability::InACall,
            None,
            None,
        ),
        (
            fixture!("pjsip-idle.xml"),
            Availability::Available,
            Some("Idle"),
            None,
        ),
        // Prefixes of the server's choosing; busy and on-the-phone at once.
        (
            fixture!("merged-prefixes.xml"),
            Availability::InACall,
            Some("Quarterly numbers"),
            Some("sip:150@example.com"),
        ),
        (
            fixture!("jitsi.xml"),
            Availability::Available,
            Some("Online"),
            Some("sip:grace@example.com"),
        ),
    ];
    for (body, availability, note, contact) in cases {
        let read = parse(body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)));
        assert_eq!(
            (
                read.availability,
                read.note.as_deref(),
                read.contact.as_deref()
            ),
            (availability, note, contact),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn any_open_tuple_makes_the_presentity_open() {
    let body = br#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:h@example.com">
        <tuple id="a"><status><basic>closed</basic></status><contact>sip:h@desk</contact></tuple>
        <tuple id="b"><status><basic>open</basic></status><contact>sip:h@mobile</contact></tuple>
    </presence>"#;
    let read = parse(body).unwrap();
    assert_eq!(read.availability, Availability::Available);
    assert_eq!(read.contact.as_deref(), Some("sip:h@mobile"));
}

#[test]
fn closed_wins_over_activities_and_a_person_alone_is_open() {
    let closed = br#"<presence xmlns="urn:ietf:params:xml:ns:pidf"
        xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
        xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:i@example.com">
        <tuple id="a"><status><basic>closed</basic></status></tuple>
        <dm:person id="p"><rpid:activities><rpid:busy/></rpid:activities></dm:person>
    </presence>"#;
    assert_eq!(parse(closed).unwrap().availability, Availability::Offline);

    let person_only = br#"<presence xmlns="urn:ietf:params:xml:ns:pidf"
        xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
        xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:i@example.com">
        <dm:person id="p"><r:activities><r:vacation/></r:activities></dm:person>
    </presence>"#;
    assert_eq!(parse(person_only).unwrap().availability, Availability::Away);

    let nothing = br#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:i@example.com"/>"#;
    assert_eq!(parse(nothing).unwrap().availability, Availability::Offline);
}

#[test]
fn standard_activities_map_to_the_nearest_state() {
    let cases = [
        ("<r:meeting/>", Availability::Busy),
        ("<r:sleeping/>", Availability::Away),
        ("<r:vacation/>", Availability::Away),
        ("<r:away/><r:on-the-phone/>", Availability::InACall),
        ("<r:other>DND</r:other>", Availability::DoNotDisturb),
        ("<r:other>gone fishing</r:other>", Availability::Available),
        ("<r:unknown/>", Availability::Available),
        // Same local name, wrong namespace: not an activity.
        ("<x:busy xmlns:x=\"urn:x-other\"/>", Availability::Available),
    ];
    for (activities, expected) in cases {
        let body = format!(
            r#"<presence xmlns="urn:ietf:params:xml:ns:pidf"
                xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
                xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:j@example.com">
                <tuple id="t"><status><basic>open</basic></status></tuple>
                <dm:person id="p"><r:activities>{activities}</r:activities></dm:person>
            </presence>"#
        );
        assert_eq!(
            parse(body.as_bytes()).unwrap().availability,
            expected,
            "{activities}"
        );
    }
}

#[test]
fn a_document_without_its_namespace_is_still_read() {
    let body = br#"<presence entity="sip:k@example.com"><tuple id="t"><status><basic>open</basic></status><note>hi</note></tuple></presence>"#;
    let read = parse(body).unwrap();
    assert_eq!(read.availability, Availability::Available);
    assert_eq!(read.note.as_deref(), Some("hi"));
}

#[test]
fn malformed_documents_are_errors() {
    let ours = document(Availability::Busy, Some("note")).to_xml();
    let truncated = &ours.as_bytes()[..ours.len() / 2];
    let cases: [(&[u8], Check); 9] = [
        (b"", |e| matches!(e, PidfError::Xml(XmlError::NoRoot))),
        (truncated, |e| matches!(e, PidfError::Xml(_))),
        (
            b"<presence entity=\"sip:a@b\"><tuple>",
            |e| matches!(e, PidfError::Xml(XmlError::Truncated(name)) if name == "tuple"),
        ),
        (b"<presence entity=\"sip:a@b\"></tuple>", |e| {
            matches!(e, PidfError::Xml(_))
        }),
        (
            b"<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\"/>",
            |e| matches!(e, PidfError::NotPresence(_)),
        ),
        (
            b"<presence xmlns=\"urn:ietf:params:xml:ns:cpim-pidf\" entity=\"sip:a@b\"/>",
            |e| matches!(e, PidfError::NotPresence(_)),
        ),
        (b"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"/>", |e| {
            matches!(e, PidfError::MissingEntity)
        }),
        (
            b"<presence entity=\"sip:a@b\"/><presence entity=\"sip:a@b\"/>",
            |e| matches!(e, PidfError::Xml(XmlError::OutsideRoot)),
        ),
        (b"<x:presence entity=\"sip:a@b\"/>", |e| {
            matches!(e, PidfError::Xml(XmlError::UndeclaredPrefix(_)))
        }),
    ];
    for (body, expected) in cases {
        let error = parse(body).unwrap_err();
        assert!(
            expected(&error),
            "{:?}: {error:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn entity_declarations_are_never_expanded() {
    let laughs = br#"<?xml version="1.0"?>
<!DOCTYPE presence [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><note>&lol3;</note></presence>"#;
    assert!(matches!(
        parse(laughs),
        Err(PidfError::Xml(XmlError::DocType))
    ));

    let undeclared = br#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><note>&lol3;</note></presence>"#;
    assert!(matches!(
        parse(undeclared),
        Err(PidfError::Xml(XmlError::UndefinedEntity(name))) if name == "lol3"
    ));

    let external =
        br#"<!DOCTYPE presence SYSTEM "file:///etc/passwd"><presence entity="sip:a@b"/>"#;
    assert!(matches!(
        parse(external),
        Err(PidfError::Xml(XmlError::DocType))
    ));
}

#[test]
fn oversized_and_overdeep_documents_are_refused() {
    let huge_attribute = format!(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:{}@b"/>"#,
        "a".repeat(MAX_DOCUMENT_BYTES)
    );
    assert!(matches!(
        parse(huge_attribute.as_bytes()),
        Err(PidfError::Xml(XmlError::TooLarge { .. }))
    ));

    let deep = format!(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b">{}{}</presence>"#,
        "<x>".repeat(MAX_DEPTH),
        "</x>".repeat(MAX_DEPTH)
    );
    assert!(matches!(
        parse(deep.as_bytes()),
        Err(PidfError::Xml(XmlError::TooDeep { limit: MAX_DEPTH }))
    ));
    let just_deep_enough = format!(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b">{}{}</presence>"#,
        "<x>".repeat(MAX_DEPTH - 1),
        "</x>".repeat(MAX_DEPTH - 1)
    );
    assert!(parse(just_deep_enough.as_bytes()).is_ok());
}

#[test]
fn arbitrary_bytes_never_panic() {
    // Every prefix of a real document, and the document with each byte
    // replaced by a troublesome one.
    let body = fixture!("rfc4480-example.xml");
    for end in 0..body.len() {
        let _ = parse(&body[..end]);
    }
    for (index, replacement) in
        (0..body.len()).zip([b'<', b'>', b'&', b'"', 0xff, b':', 0].iter().cycle())
    {
        let mut mangled = body.to_vec();
        mangled[index] = *replacement;
        let _ = parse(&mangled);
    }
}
