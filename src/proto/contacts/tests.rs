use super::*;

/// What an error must look like.
type Check = fn(&ContactsError) -> bool;

const LIST: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/contacts/list.xml"
));
const SET_CONTACT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/contacts/set-contact.xml"
));

fn entry(uri: &str, display: &str, group: &str) -> ContactEntry {
    ContactEntry {
        uri: uri.into(),
        display: display.into(),
        group: group.into(),
    }
}

fn sample() -> ContactList {
    ContactList {
        version: 7,
        groups: vec!["Friends".into(), "Release & QA".into()],
        contacts: vec![
            entry("sip:amy@confab.local", "Amy Rivera", "Friends"),
            entry(
                "sip:bo@confab.local",
                "Bo \"Bolt\" Nakamura",
                "Release & QA",
            ),
            entry("sip:cy@confab.local", "", ""),
        ],
    }
}

#[test]
fn the_fixture_list_reads_and_is_what_we_write() {
    assert_eq!(parse_list(LIST).unwrap(), sample());
    assert_eq!(sample().to_xml().as_bytes(), LIST);
}

#[test]
fn lists_round_trip_with_names_that_need_escaping() {
    let list = ContactList {
        version: u64::MAX,
        groups: vec!["<&>\"'".into(), "Família 家族 👪".into()],
        contacts: vec![
            entry("sip:a&b@confab.local", "O'Brien <ops>", "<&>\"'"),
            entry("SIP:zoë@Confab.Local", "Zoë", "Família 家族 👪"),
            entry("sip:x@confab.local", "", "Undeclared"),
        ],
    };
    assert_eq!(parse_list(list.to_xml().as_bytes()).unwrap(), list);
    let empty = ContactList::default();
    assert_eq!(parse_list(empty.to_xml().as_bytes()).unwrap(), empty);
}

#[test]
fn every_change_round_trips() {
    let changes = [
        ContactChange::Set(entry("sip:amy@confab.local", "Amy \"A\" R.", "Friends")),
        ContactChange::Set(entry("sip:amy@confab.local", "", "")),
        ContactChange::Delete {
            uri: "sip:amy@confab.local".into(),
        },
        ContactChange::SetGroup {
            name: "Q&A <team>".into(),
        },
        ContactChange::DeleteGroup {
            name: "Friends".into(),
        },
    ];
    for change in changes {
        let body = change.to_xml();
        assert_eq!(parse_change(body.as_bytes()).unwrap(), change, "{body}");
    }
    assert_eq!(
        parse_change(SET_CONTACT).unwrap(),
        ContactChange::Set(entry("sip:amy@confab.local", "Amy R.", "Friends"))
    );
}

#[test]
fn prefixes_unknown_elements_and_unknown_attributes_are_tolerated() {
    let body =
        br#"<c:contacts xmlns:c="urn:confab:params:xml:ns:contacts" version=" 3 " future="yes">
        <c:group name="A" colour="red"/>
        <c:favourite uri="sip:q@confab.local"/>
        <x:contact xmlns:x="urn:x-other" uri="not even a uri"/>
        <c:contact uri="sip:q@confab.local" group="A" note="ignored"/>
    </c:contacts>"#;
    let list = parse_list(body).unwrap();
    assert_eq!(list.version, 3);
    assert_eq!(list.groups, ["A"]);
    assert_eq!(list.contacts, [entry("sip:q@confab.local", "", "A")]);
}

fn list_with(contacts: Vec<ContactEntry>, groups: Vec<String>) -> String {
    ContactList {
        version: 1,
        groups,
        contacts,
    }
    .to_xml()
}

#[test]
fn invalid_lists_are_errors() {
    let long = "x".repeat(MAX_NAME_CHARS + 1);
    let long_uri = format!("sip:{}@confab.local", "u".repeat(MAX_NAME_CHARS));
    let cases: Vec<(String, Check)> = vec![
        (
            r#"<contacts xmlns="urn:confab:params:xml:ns:contacts"/>"#.into(),
            |e| {
                matches!(
                    e,
                    ContactsError::MissingAttribute {
                        element: "contacts",
                        attribute: "version"
                    }
                )
            },
        ),
        (
            r#"<contacts xmlns="urn:confab:params:xml:ns:contacts" version="-1"/>"#.into(),
            |e| matches!(e, ContactsError::BadVersion(v) if v == "-1"),
        ),
        (
            r#"<contacts version="1"/>"#.into(),
            |e| matches!(e, ContactsError::WrongRoot(_)),
        ),
        (
            r#"<contacts xmlns="urn:confab:params:xml:ns:contacts" version="1"><contact display="x"/></contacts>"#.into(),
            |e| matches!(e, ContactsError::MissingAttribute { attribute: "uri", .. }),
        ),
        (
            r#"<contacts xmlns="urn:confab:params:xml:ns:contacts" version="1"><group/></contacts>"#.into(),
            |e| matches!(e, ContactsError::MissingAttribute { attribute: "name", .. }),
        ),
        (
            list_with(vec![entry("tel:+15551234", "", "")], vec![]),
            |e| matches!(e, ContactsError::BadUri(_)),
        ),
        (
            list_with(vec![entry("sip:confab.local", "", "")], vec![]),
            |e| matches!(e, ContactsError::BadUri(_)),
        ),
        (
            list_with(vec![entry("sip:@confab.local", "", "")], vec![]),
            |e| matches!(e, ContactsError::BadUri(_)),
        ),
        (
            list_with(vec![entry("sip:amy@", "", "")], vec![]),
            |e| matches!(e, ContactsError::BadUri(_)),
        ),
        (
            list_with(vec![entry("sip:amy rivera@confab.local", "", "")], vec![]),
            |e| matches!(e, ContactsError::BadUri(_)),
        ),
        (
            list_with(vec![entry("sip:amy@confab.local", &long, "")], vec![]),
            |e| {
                matches!(
                    e,
                    ContactsError::TooLong {
                        what: "display name",
                        ..
                    }
                )
            },
        ),
        (
            list_with(vec![entry(&long_uri, "", "")], vec![]),
            |e| matches!(e, ContactsError::TooLong { what: "URI", .. }),
        ),
        (
            list_with(vec![], vec![long.clone()]),
            |e| matches!(e, ContactsError::TooLong { what: "group name", .. }),
        ),
        (
            list_with(vec![], vec!["  ".into()]),
            |e| matches!(e, ContactsError::BadName { .. }),
        ),
        (
            list_with(vec![entry("sip:amy@confab.local", "tab\there", "")], vec![]),
            |e| matches!(e, ContactsError::BadName { .. }),
        ),
        (
            list_with(vec![], vec!["A".into(), "A".into()]),
            |e| matches!(e, ContactsError::DuplicateGroup(g) if g == "A"),
        ),
        (
            list_with(
                vec![
                    entry("sip:amy@confab.local", "", ""),
                    entry("sip:amy@CONFAB.local", "", ""),
                ],
                vec![],
            ),
            |e| matches!(e, ContactsError::DuplicateContact(_)),
        ),
    ];
    for (body, expected) in cases {
        let error = parse_list(body.as_bytes()).unwrap_err();
        assert!(expected(&error), "{body}: {error:?}");
    }
}

#[test]
fn users_differing_by_case_are_different_contacts() {
    let body = list_with(
        vec![
            entry("sip:amy@confab.local", "", ""),
            entry("sip:Amy@confab.local", "", ""),
        ],
        vec![],
    );
    assert_eq!(parse_list(body.as_bytes()).unwrap().contacts.len(), 2);
}

#[test]
fn a_list_is_bounded_in_contacts_and_groups() {
    let contacts = |count: usize| {
        (0..count)
            .map(|n| entry(&format!("sip:user{n}@confab.local"), "", ""))
            .collect::<Vec<_>>()
    };
    let full = list_with(contacts(MAX_CONTACTS), vec![]);
    assert_eq!(
        parse_list(full.as_bytes()).unwrap().contacts.len(),
        MAX_CONTACTS
    );

    let over = list_with(contacts(MAX_CONTACTS + 1), vec![]);
    assert!(matches!(
        parse_list(over.as_bytes()),
        Err(ContactsError::TooManyContacts { count, limit: MAX_CONTACTS }) if count == MAX_CONTACTS + 1
    ));

    let groups = (0..=MAX_GROUPS).map(|n| format!("g{n}")).collect();
    assert!(matches!(
        parse_list(list_with(vec![], groups).as_bytes()),
        Err(ContactsError::TooManyGroups { .. })
    ));

    // Far past any list: refused by the reader before it builds a tree.
    let flood = format!(
        r#"<contacts xmlns="urn:confab:params:xml:ns:contacts" version="1">{}</contacts>"#,
        "<x/>".repeat(LIMITS.max_elements)
    );
    assert!(matches!(
        parse_list(flood.as_bytes()),
        Err(ContactsError::Xml(XmlError::TooManyElements { .. }))
    ));
}

#[test]
fn invalid_changes_are_errors() {
    let huge = format!(
        r#"<setContact xmlns="urn:confab:params:xml:ns:contacts" uri="sip:{}@confab.local"/>"#,
        "a".repeat(1 << 20)
    );
    let cases: Vec<(String, Check)> = vec![
        (huge, |e| matches!(e, ContactsError::TooLong { what: "URI", .. })),
        (
            r#"<renameContact xmlns="urn:confab:params:xml:ns:contacts" uri="sip:a@b"/>"#.into(),
            |e| matches!(e, ContactsError::WrongRoot(r) if r == "renameContact"),
        ),
        (
            r#"<setContact uri="sip:a@b"/>"#.into(),
            |e| matches!(e, ContactsError::WrongRoot(_)),
        ),
        (
            r#"<deleteContact xmlns="urn:confab:params:xml:ns:contacts"/>"#.into(),
            |e| matches!(e, ContactsError::MissingAttribute { element: "deleteContact", .. }),
        ),
        (
            r#"<deleteContact xmlns="urn:confab:params:xml:ns:contacts" uri="mailto:a@b"/>"#.into(),
            |e| matches!(e, ContactsError::BadUri(_)),
        ),
        (
            r#"<setGroup xmlns="urn:confab:params:xml:ns:contacts" name=""/>"#.into(),
            |e| matches!(e, ContactsError::BadName { .. }),
        ),
        (
            r#"<deleteGroup xmlns="urn:confab:params:xml:ns:contacts" name="&#7;"/>"#.into(),
            |e| matches!(e, ContactsError::BadName { .. }),
        ),
        (
            r#"<setGroup xmlns="urn:confab:params:xml:ns:contacts" name="a"/><setGroup xmlns="urn:confab:params:xml:ns:contacts" name="b"/>"#.into(),
            |e| matches!(e, ContactsError::Xml(XmlError::OutsideRoot)),
        ),
        (
            r#"<!DOCTYPE x [<!ENTITY e "sip:a@b">]><deleteContact xmlns="urn:confab:params:xml:ns:contacts" uri="&e;"/>"#.into(),
            |e| matches!(e, ContactsError::Xml(XmlError::DocType)),
        ),
        (
            r#"<setContact xmlns="urn:confab:params:xml:ns:contacts" uri="sip:a@b"#.into(),
            |e| matches!(e, ContactsError::Xml(_)),
        ),
    ];
    for (body, expected) in cases {
        let error = parse_change(body.as_bytes()).unwrap_err();
        assert!(expected(&error), "{}: {error:?}", xml::excerpt(&body));
        // Messages quote bounded excerpts only.
        assert!(error.to_string().len() < 300, "{error}");
    }
}
