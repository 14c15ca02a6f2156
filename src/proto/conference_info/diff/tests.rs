use std::collections::BTreeSet;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::super::testing::{FOCUS, assert_same, random_edit, random_roster, user_entity};
use super::super::*;

/// A subscriber that has applied `roster` as a full document.
fn subscriber_of(roster: &Roster, version: u32) -> Roster {
    let mut subscriber = Roster::default();
    subscriber.apply(roster.full_document(version)).unwrap();
    subscriber
}

/// Sends `document` over the wire and applies it.
fn deliver(
    subscriber: &mut Roster,
    document: &ConferenceInfo,
) -> Result<RosterChange, RosterError> {
    let body = document.to_xml();
    subscriber.apply(parse(body.as_bytes()).unwrap())
}

#[test]
fn applying_the_diff_of_two_rosters_to_the_first_gives_the_second() {
    let mut partial = 0;
    let mut full = 0;
    for seed in 0..500 {
        let mut rng = StdRng::seed_from_u64(seed);
        let population = rng.random_range(1..16);
        let users = rng.random_range(0..population);
        let old = random_roster(&mut rng, users);
        let mut new = old.clone();
        for _ in 0..rng.random_range(1..6) {
            random_edit(&mut rng, &mut new, population);
        }
        assert_eq!(diff(&new, &new), None, "seed {seed}");
        let mut subscriber = subscriber_of(&old, 41);
        match diff(&old, &new) {
            None => assert_same(&old, &new),
            Some(mut document) => {
                match document.state {
                    State::Partial => partial += 1,
                    _ => full += 1,
                }
                document.version = 42;
                let change = deliver(&mut subscriber, &document)
                    .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{}", document.to_xml()));
                assert!(!change.is_empty(), "seed {seed}");
                assert_same(&subscriber, &new);
            }
        }
    }
    // Full documents are the exception: a cleared subject or state field.
    assert!(partial > 4 * full, "{partial} partial, {full} full");
}

#[test]
fn a_diff_says_only_what_changed() {
    let mut old = Roster::new(FOCUS);
    let amy = User {
        display_text: Some("Amy".into()),
        roles: vec!["presenter".into()],
        endpoints: vec![Endpoint {
            session_type: Some(SessionType::AudioVideo),
            status: Some(EndpointStatus::Connected),
            joining_method: Some(JoiningMethod::DialedIn),
            media: vec![Media {
                media_type: Some("audio".into()),
                status: Some(MediaStatus::SendRecv),
                ..Media::new("1")
            }],
            ..Endpoint::new("av")
        }],
        ..User::new("sip:amy@confab.local")
    };
    old.set_user(amy.clone()).unwrap();
    let mut new = old.clone();
    let mut held = amy.clone();
    held.endpoints[0].status = Some(EndpointStatus::OnHold);
    new.set_user(held).unwrap();

    let document = diff(&old, &new).unwrap();
    assert_eq!(document.state, State::Partial);
    assert_eq!(document.version, 1);
    assert_eq!(
        (&document.description, &document.conference_state),
        (&None, &None)
    );
    assert_eq!(
        document.users,
        [User {
            state: State::Partial,
            endpoints: vec![Endpoint {
                state: State::Partial,
                status: Some(EndpointStatus::OnHold),
                ..Endpoint::new("av")
            }],
            ..User::new("sip:amy@confab.local")
        }]
    );

    // A cleared field cannot be said partially: the endpoint goes full.
    let mut cleared = amy.clone();
    cleared.endpoints[0].joining_method = None;
    let mut new = old.clone();
    new.set_user(cleared.clone()).unwrap();
    let document = diff(&old, &new).unwrap();
    assert_eq!(document.users[0].state, State::Partial);
    assert_eq!(document.users[0].endpoints, cleared.endpoints);

    // So does a removed medium.
    let mut no_media = amy;
    no_media.endpoints[0].media.clear();
    let mut new = old.clone();
    new.set_user(no_media.clone()).unwrap();
    let document = diff(&old, &new).unwrap();
    assert_eq!(document.users[0].endpoints, no_media.endpoints);

    // A cleared subject makes the whole document full.
    old.set_description(Some(Description {
        subject: Some("Weekly sync".into()),
        conf_uris: Vec::new(),
    }));
    let mut new = old.clone();
    new.set_description(Some(Description::default()));
    let document = diff(&old, &new).unwrap();
    assert_eq!(document.state, State::Full);
    assert_eq!(document, new.full_document(1));
}

#[test]
fn an_ejected_user_is_deleted_with_booted_and_a_leaver_with_departed() {
    let mut old = Roster::new(FOCUS);
    for name in ["bob", "carol", "dan"] {
        let user = User {
            endpoints: vec![
                Endpoint {
                    session_type: Some(SessionType::Focus),
                    status: Some(EndpointStatus::Connected),
                    ..Endpoint::new(format!("sip:{name}@192.0.2.9"))
                },
                Endpoint {
                    session_type: Some(SessionType::AudioVideo),
                    status: Some(EndpointStatus::Connected),
                    ..Endpoint::new(format!("sip:{name}@192.0.2.9;av"))
                },
            ],
            ..User::new(format!("sip:{name}@confab.local"))
        };
        old.set_user(user).unwrap();
    }
    old.set_user(User::new("sip:erin@confab.local")).unwrap();
    let mut new = old.clone();
    new.remove_user("sip:bob@confab.local", Some(DisconnectionMethod::Booted));
    new.remove_user("sip:erin@confab.local", Some(DisconnectionMethod::Booted));
    new.remove_user(
        "sip:carol@confab.local",
        Some(DisconnectionMethod::Departed),
    );
    new.remove_user("sip:dan@confab.local", None);

    let document = diff(&old, &new).unwrap();
    let body = document.to_xml();
    assert!(
        body.contains("<disconnection-method>booted</disconnection-method>"),
        "{body}"
    );
    let bob = &document.users[0];
    assert_eq!(bob.state, State::Deleted);
    assert!(bob.endpoints.iter().all(|endpoint| {
        endpoint.status == Some(EndpointStatus::Disconnected)
            && endpoint.disconnection_method == Some(DisconnectionMethod::Booted)
    }));
    assert_eq!(bob.endpoints.len(), 2);
    // Nothing known about how Dan left: no endpoints are invented.
    assert_eq!(document.users[2].endpoints, []);
    // Erin had no endpoint to carry `booted`; one named after her does.
    assert_eq!(
        document.users[3].endpoints,
        [Endpoint {
            status: Some(EndpointStatus::Disconnected),
            disconnection_method: Some(DisconnectionMethod::Booted),
            ..Endpoint::new("sip:erin@confab.local")
        }]
    );

    let mut subscriber = subscriber_of(&old, 1);
    let mut document = document;
    document.version = 2;
    let change = deliver(&mut subscriber, &document).unwrap();
    let removals: Vec<_> = change
        .removed
        .iter()
        .map(|removal| (removal.entity.as_str(), removal.method.clone()))
        .collect();
    assert_eq!(
        removals,
        [
            ("sip:bob@confab.local", Some(DisconnectionMethod::Booted)),
            (
                "sip:carol@confab.local",
                Some(DisconnectionMethod::Departed)
            ),
            ("sip:dan@confab.local", None),
            ("sip:erin@confab.local", Some(DisconnectionMethod::Booted)),
        ]
    );
    assert_eq!(subscriber.users().len(), 0);

    // A user who comes back is new again, with no note left over.
    new.set_user(User::new("sip:bob@confab.local")).unwrap();
    let mut later = new.clone();
    later.remove_user("sip:bob@confab.local", None);
    let document = diff(&new, &later).unwrap();
    assert_eq!(document.users[0].endpoints, []);
}

/// One focus, fifty users, two hundred rounds of changes: every subscriber
/// fed the same NOTIFYs holds the focus's roster after each, and one that
/// loses a NOTIFY catches up through a refresh.
#[test]
fn fifty_subscribers_and_one_lossy_one_converge_on_the_focus_roster() {
    let mut rng = StdRng::seed_from_u64(0x4575);
    let population = 150;
    let mut focus = Roster::new(FOCUS);
    while focus.users().len() < 50 {
        let entity = user_entity(rng.random_range(0..population));
        focus
            .set_user(super::super::testing::random_user(&mut rng, &entity))
            .unwrap();
    }
    let first = focus.full_document(1);
    let mut subscribers: Vec<Roster> = (0..50).map(|_| Roster::new(FOCUS)).collect();
    let mut lossy = Roster::default();
    for subscriber in subscribers.iter_mut().chain([&mut lossy]) {
        deliver(subscriber, &first).unwrap();
    }
    let mut sent = focus.clone();
    let mut version = 1;
    let mut notifies = 0;
    for round in 0..200 {
        for _ in 0..rng.random_range(1..4) {
            random_edit(&mut rng, &mut focus, population);
        }
        let Some(mut document) = diff(&sent, &focus) else {
            continue;
        };
        version += 1;
        notifies += 1;
        document.version = version;
        let body = document.to_xml();
        for subscriber in &mut subscribers {
            subscriber.apply(parse(body.as_bytes()).unwrap()).unwrap();
        }
        // The lossy subscriber misses every seventh NOTIFY and sees every
        // fifth twice.
        if round % 7 != 3 {
            match deliver(&mut lossy, &document) {
                Ok(_) => {}
                Err(RosterError::Gap { .. }) if document.state == State::Partial => {
                    // It refreshes; the focus answers with full state.
                    deliver(&mut lossy, &focus.full_document(version)).unwrap();
                }
                Err(error) => panic!("round {round}: {error}"),
            }
            if round % 5 == 0 {
                assert!(matches!(
                    deliver(&mut lossy, &document),
                    Err(RosterError::Stale { .. })
                ));
            }
        }
        sent = focus.clone();
        for subscriber in &subscribers {
            assert_same(subscriber, &focus);
            assert_eq!(subscriber.version(), Some(version));
        }
        if round % 7 != 3 {
            assert_same(&lossy, &focus);
        }
    }
    assert!(notifies > 150, "{notifies} NOTIFYs");
    assert!(focus.users().len() > 20, "the roster stayed populated");
}

/// A focus publishing document after document: comparing only the users
/// touched since the last one gives what comparing every user gives, and
/// the copy kept by catching up is the roster itself.
#[test]
fn a_diff_of_the_touched_users_is_the_whole_diff_and_the_kept_copy_catches_up() {
    let mut documents = 0;
    for seed in 0..300 {
        let mut rng = StdRng::seed_from_u64(seed);
        let population = rng.random_range(1..16);
        let users = rng.random_range(0..population);
        let mut roster = random_roster(&mut rng, users);
        let mut published = roster.clone();
        roster.take_touched();
        for round in 0..8 {
            for _ in 0..rng.random_range(0..4) {
                random_edit(&mut rng, &mut roster, population);
            }
            let touched = roster.take_touched();
            let whole = diff(&published, &roster);
            assert_eq!(
                diff_touched(&published, &roster, &touched),
                whole,
                "seed {seed}, round {round}"
            );
            documents += usize::from(whole.is_some());
            published.catch_up(&roster, &touched);
            assert_same(&published, &roster);
            assert_eq!(
                diff(&published, &roster),
                None,
                "seed {seed}, round {round}"
            );
        }
    }
    assert!(
        documents > 1000,
        "the edits changed too little: {documents}"
    );
}

#[test]
fn a_user_untouched_is_not_compared() {
    let mut roster = Roster::new(FOCUS);
    roster.set_user(User::new(user_entity(1))).unwrap();
    let published = Roster::new(FOCUS);
    // The user was set, so the roster says so; a caller that drops what
    // was touched gets no document for it: only the touched are looked at.
    assert_eq!(roster.take_touched().len(), 1);
    assert!(diff(&published, &roster).is_some());
    assert_eq!(diff_touched(&published, &roster, &BTreeSet::new()), None);
}
