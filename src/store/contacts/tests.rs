#![allow(clippy::unwrap_used)] // unwrap is how a test fails

use super::*;
use crate::store::Directory;

const AMY: &str = "sip:amy@confab.local";
const HAO: &str = "sip:hao@confab.local";
const VIVIAN: &str = "sip:vivian@confab.local";

fn uris(list: &ContactListRecord) -> Vec<(&str, &str)> {
    list.contacts
        .iter()
        .map(|c| (c.uri.as_str(), c.group.as_str()))
        .collect()
}

#[test]
fn contacts_are_added_updated_and_versioned() {
    let contacts = Contacts::open_in_memory().unwrap();
    assert_eq!(contacts.list(AMY).unwrap(), ContactListRecord::default());

    assert_eq!(
        contacts
            .set_contact(AMY, HAO, "Hao Nguyen", Some("Team"))
            .unwrap(),
        1
    );
    assert_eq!(
        contacts
            .set_contact(AMY, "sip:zoe@example.com", "zoe", None)
            .unwrap(),
        2
    );
    assert_eq!(
        contacts
            .set_contact(AMY, VIVIAN, "Vivian Chen", Some("Team"))
            .unwrap(),
        3
    );
    // The same values again: no change, no new version.
    assert_eq!(
        contacts
            .set_contact(AMY, HAO, "Hao Nguyen", Some("Team"))
            .unwrap(),
        3
    );
    assert_eq!(
        contacts.set_contact(AMY, HAO, "Hao Nguyen", None).unwrap(),
        3
    );

    let list = contacts.list(AMY).unwrap();
    assert_eq!(list.version, 3);
    assert_eq!(list.groups, ["Team", DEFAULT_GROUP]);
    // By group order, then display name.
    assert_eq!(
        uris(&list),
        [
            (HAO, "Team"),
            (VIVIAN, "Team"),
            ("sip:zoe@example.com", DEFAULT_GROUP)
        ]
    );
    assert_eq!(list.contacts[0].display, "Hao Nguyen");

    // A new display name without a group keeps the group.
    assert_eq!(contacts.set_contact(AMY, HAO, "Hao N.", None).unwrap(), 4);
    // A new group is created at the end.
    assert_eq!(
        contacts
            .set_contact(AMY, VIVIAN, "Vivian Chen", Some("Boss"))
            .unwrap(),
        5
    );
    let list = contacts.list(AMY).unwrap();
    assert_eq!(list.groups, ["Team", DEFAULT_GROUP, "Boss"]);
    assert_eq!(
        uris(&list),
        [
            (HAO, "Team"),
            ("sip:zoe@example.com", DEFAULT_GROUP),
            (VIVIAN, "Boss")
        ]
    );
    assert_eq!(list.contacts[0].display, "Hao N.");

    // Other owners are untouched.
    assert_eq!(contacts.version(HAO).unwrap(), 0);
    assert_eq!(contacts.version(AMY).unwrap(), 5);
}

#[test]
fn contacts_are_deleted_and_unknown_ones_are_named() {
    let contacts = Contacts::open_in_memory().unwrap();
    contacts.set_contact(AMY, HAO, "Hao", Some("Team")).unwrap();
    assert_eq!(contacts.delete_contact(AMY, HAO).unwrap(), 2);
    let list = contacts.list(AMY).unwrap();
    assert!(list.contacts.is_empty());
    assert_eq!(list.groups, ["Team"], "the group stays");
    match contacts.delete_contact(AMY, HAO) {
        Err(ContactsError::NoSuchContact { owner, uri }) => {
            assert_eq!((owner.as_str(), uri.as_str()), (AMY, HAO))
        }
        other => panic!("expected NoSuchContact, got {other:?}"),
    }
    assert_eq!(
        contacts.version(AMY).unwrap(),
        2,
        "a failed change is no change"
    );
}

#[test]
fn groups_are_created_in_order_and_deleted_into_the_default_group() {
    let contacts = Contacts::open_in_memory().unwrap();
    assert_eq!(contacts.set_group(AMY, "Friends").unwrap(), 1);
    assert_eq!(contacts.set_group(AMY, "Family").unwrap(), 2);
    assert_eq!(
        contacts.set_group(AMY, "Friends").unwrap(),
        2,
        "exists already"
    );
    contacts
        .set_contact(AMY, HAO, "Hao", Some("Friends"))
        .unwrap();
    contacts
        .set_contact(AMY, VIVIAN, "Vivian", Some("Family"))
        .unwrap();
    assert_eq!(contacts.list(AMY).unwrap().groups, ["Friends", "Family"]);

    // The default group does not exist yet: it is created, at the end.
    assert_eq!(contacts.delete_group(AMY, "Friends").unwrap(), 5);
    let list = contacts.list(AMY).unwrap();
    assert_eq!(list.groups, ["Family", DEFAULT_GROUP]);
    assert_eq!(uris(&list), [(VIVIAN, "Family"), (HAO, DEFAULT_GROUP)]);

    assert_eq!(contacts.delete_group(AMY, "Family").unwrap(), 6);
    let list = contacts.list(AMY).unwrap();
    assert_eq!(list.groups, [DEFAULT_GROUP]);
    assert_eq!(uris(&list), [(HAO, DEFAULT_GROUP), (VIVIAN, DEFAULT_GROUP)]);

    assert!(matches!(
        contacts.delete_group(AMY, DEFAULT_GROUP),
        Err(ContactsError::DefaultGroupNotEmpty)
    ));
    assert!(matches!(
        contacts.delete_group(AMY, "Nope"),
        Err(ContactsError::NoSuchGroup { .. })
    ));
    assert_eq!(contacts.version(AMY).unwrap(), 6);
    contacts.delete_contact(AMY, HAO).unwrap();
    contacts.delete_contact(AMY, VIVIAN).unwrap();
    // Empty, the default group may go.
    assert_eq!(contacts.delete_group(AMY, DEFAULT_GROUP).unwrap(), 9);
    assert_eq!(contacts.list(AMY).unwrap().groups, Vec::<String>::new());
}

#[test]
fn limits_are_enforced_with_clear_errors() {
    let contacts = Contacts::open_in_memory().unwrap();
    for n in 0..MAX_CONTACTS {
        contacts
            .set_contact(AMY, &format!("sip:user{n}@example.com"), "", None)
            .unwrap();
    }
    let error = contacts
        .set_contact(AMY, "sip:one-too-many@example.com", "", None)
        .unwrap_err();
    assert!(matches!(error, ContactsError::TooManyContacts { .. }));
    assert_eq!(
        error.to_string(),
        "sip:amy@confab.local already has 2000 contacts, the most a list may hold"
    );
    // Updating one of them is still allowed; another owner is not limited.
    contacts
        .set_contact(AMY, "sip:user0@example.com", "User Zero", None)
        .unwrap();
    contacts.set_contact(HAO, AMY, "Amy", None).unwrap();

    for n in 0..MAX_GROUPS {
        contacts.set_group(VIVIAN, &format!("group {n}")).unwrap();
    }
    assert!(matches!(
        contacts.set_group(VIVIAN, "one more"),
        Err(ContactsError::TooManyGroups { .. })
    ));
    assert!(matches!(
        contacts.set_contact(VIVIAN, AMY, "Amy", Some("one more")),
        Err(ContactsError::TooManyGroups { .. })
    ));
    assert_eq!(contacts.list(VIVIAN).unwrap().contacts.len(), 0);
}

#[test]
fn names_are_validated() {
    let contacts = Contacts::open_in_memory().unwrap();
    // Length counts characters, not bytes.
    let longest = "é".repeat(MAX_NAME_CHARS);
    contacts
        .set_contact(AMY, HAO, &longest, Some(&longest))
        .unwrap();
    let too_long = "é".repeat(MAX_NAME_CHARS + 1);
    let error = contacts.set_contact(AMY, HAO, &too_long, None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "display name is longer than 256 characters"
    );
    assert!(matches!(
        contacts.set_group(AMY, &too_long),
        Err(ContactsError::TooLong { what: "group name" })
    ));
    let long_uri = format!("sip:{}@example.com", "a".repeat(MAX_NAME_CHARS));
    assert!(matches!(
        contacts.set_contact(AMY, &long_uri, "", None),
        Err(ContactsError::TooLong {
            what: "contact URI"
        })
    ));

    for uri in [
        "",
        "amy",
        "sip:",
        ":amy",
        "1sip:amy",
        "s_p:amy",
        "sip:amy @x",
        "sip:amy\n",
    ] {
        let error = contacts.set_contact(AMY, uri, "", None).unwrap_err();
        assert!(
            matches!(
                error,
                ContactsError::Invalid {
                    what: "contact URI",
                    ..
                }
            ),
            "{uri:?}: {error}"
        );
        assert!(matches!(
            contacts.set_contact(uri, HAO, "", None),
            Err(ContactsError::Invalid { what: "owner", .. })
        ));
    }
    assert!(matches!(
        contacts.set_contact(AMY, HAO, "two\nlines", None),
        Err(ContactsError::Invalid {
            what: "display name",
            ..
        })
    ));
    for group in ["", "   ", "a\tb"] {
        assert!(matches!(
            contacts.set_group(AMY, group),
            Err(ContactsError::Invalid {
                what: "group name",
                ..
            })
        ));
    }
    // Any scheme and any owner: a client's own list for a foreign server.
    contacts
        .set_contact(
            "sips:me@provider.example",
            "tel:+14255550143",
            "Amy's desk",
            None,
        )
        .unwrap();
    contacts
        .set_contact(
            "sip:me@10.0.0.1:5070",
            "im:amy@example.com",
            "",
            Some("Ünïcødé 😀"),
        )
        .unwrap();
    assert_eq!(
        contacts.list(AMY).unwrap().version,
        1,
        "only the valid call counted"
    );
}

#[test]
fn the_demo_lists_seed_once_and_keep_user_edits() {
    let contacts = Contacts::open_in_memory().unwrap();
    contacts.seed_demo("Confab.Local").unwrap();
    let amy = contacts.list(AMY).unwrap();
    assert_eq!(amy.groups, ["Team"]);
    assert_eq!(amy.version, 1);
    let buddies: Vec<_> = amy
        .contacts
        .iter()
        .map(|c| (c.uri.as_str(), c.display.as_str(), c.group.as_str()))
        .collect();
    assert_eq!(
        buddies,
        [(HAO, "Hao Nguyen", "Team"), (VIVIAN, "Vivian Chen", "Team")]
    );
    let displays = |owner| -> Vec<String> {
        contacts
            .list(owner)
            .unwrap()
            .contacts
            .into_iter()
            .map(|c| c.display)
            .collect()
    };
    assert_eq!(displays(VIVIAN), ["Amy Rivera", "Hao Nguyen"]);
    assert_eq!(displays(HAO), ["Amy Rivera", "Vivian Chen"]);

    contacts.seed_demo("confab.local").unwrap();
    assert_eq!(
        contacts.list(AMY).unwrap(),
        amy,
        "seeding twice changes nothing"
    );

    contacts.delete_contact(VIVIAN, AMY).unwrap();
    contacts.seed_demo("confab.local").unwrap();
    assert_eq!(
        displays(VIVIAN),
        ["Hao Nguyen"],
        "an edited list is left alone"
    );
    assert_eq!(contacts.version(VIVIAN).unwrap(), 2);

    // Another domain's demo is its own set of owners.
    contacts.seed_demo("example.com").unwrap();
    assert_eq!(
        contacts.list("sip:amy@example.com").unwrap().contacts.len(),
        2
    );
}

#[test]
fn the_lists_share_a_file_with_the_directory_in_either_order() {
    let dir = tempfile::tempdir().unwrap();
    for first_contacts in [true, false] {
        let path = dir.path().join(format!("server-{first_contacts}.sqlite3"));
        if first_contacts {
            Contacts::open(&path)
                .unwrap()
                .seed_demo("confab.local")
                .unwrap();
            Directory::open(&path)
                .unwrap()
                .seed_demo("confab.local")
                .unwrap();
        } else {
            Directory::open(&path)
                .unwrap()
                .seed_demo("confab.local")
                .unwrap();
            Contacts::open(&path)
                .unwrap()
                .seed_demo("confab.local")
                .unwrap();
        }
        // Both open side by side, again, with their data.
        let directory = Directory::open(&path).unwrap();
        let contacts = Contacts::open(&path).unwrap();
        assert_eq!(directory.users("confab.local").unwrap().len(), 4);
        assert_eq!(contacts.list(AMY).unwrap().contacts.len(), 2);
        contacts
            .set_contact(AMY, "sip:zoe@example.com", "Zoe", None)
            .unwrap();
        drop(contacts);

        let connection = Connection::open(&path).unwrap();
        let user_version: i64 = connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(
            user_version,
            crate::store::directory::SCHEMA_VERSION as i64,
            "the directory's own count"
        );
        let ours: i64 = connection
            .query_row(SELECT_SCHEMA_VERSION, [STORE], |row| row.get(0))
            .unwrap();
        assert_eq!(ours, 1);
        let contacts = Contacts::open(&path).unwrap();
        assert_eq!(contacts.list(AMY).unwrap().version, 2);

        // A newer contacts schema is refused, and the directory still opens.
        connection
            .execute(UPSERT_SCHEMA_VERSION, params![STORE, 99])
            .unwrap();
        match Contacts::open(&path) {
            Err(ContactsError::Store(StoreError::NewerSchema {
                found: 99,
                supported: 1,
            })) => {}
            Err(other) => panic!("expected NewerSchema, got {other:?}"),
            Ok(_) => panic!("expected NewerSchema, got a store"),
        }
        Directory::open(&path).unwrap();
    }
}

#[test]
fn a_client_list_lives_in_its_own_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("client").join("contacts-me.sqlite3");
    let owner = "sip:me@sip.provider.example";
    {
        let contacts = Contacts::open(&path).unwrap();
        contacts
            .set_contact(
                owner,
                "sip:friend@elsewhere.example",
                "Friend",
                Some("Pals"),
            )
            .unwrap();
    }
    let contacts = Contacts::open(&path).unwrap();
    let list = contacts.list(owner).unwrap();
    assert_eq!(list.version, 1);
    assert_eq!(uris(&list), [("sip:friend@elsewhere.example", "Pals")]);
}
