use super::super::testing::{FOCUS, user_entity};
use super::super::*;
use super::*;

macro_rules! fixture {
    ($name:literal) => {
        parse(include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/conference_info/",
            $name
        )))
        .unwrap()
    };
}

fn document(state: State, version: u32, users: Vec<User>) -> ConferenceInfo {
    ConferenceInfo {
        entity: FOCUS.into(),
        state,
        version,
        users_state: state,
        users,
        ..ConferenceInfo::default()
    }
}

fn partial_user(entity: &str, endpoints: Vec<Endpoint>) -> User {
    User {
        state: State::Partial,
        endpoints,
        ..User::new(entity)
    }
}

fn entities(roster: &Roster) -> Vec<&str> {
    roster.users().map(|user| user.entity.as_str()).collect()
}

#[test]
fn an_ocs_roster_follows_a_partial_notify_with_an_ejection() {
    let mut roster = Roster::default();
    let change = roster.apply(fixture!("ocs-full.xml")).unwrap();
    assert!(change.full && change.conference_changed);
    assert_eq!(change.added.len(), 3);
    assert_eq!(roster.entity(), FOCUS);
    assert_eq!(roster.version(), Some(1));
    assert_eq!(roster.subject(), Some("Weekly sync"));
    assert_eq!(
        roster.conf_uri("audio-video"),
        Some("sip:amy@confab.local;gruu;opaque=app:conf:audio-video:id:4KT9QZ2M")
    );
    assert!(roster.is_locked());
    assert_eq!(roster.roles("sip:amy@confab.local"), ["presenter"]);
    assert!(roster.in_audio("sip:bob@confab.local"));
    assert!(!roster.in_audio("sip:carol@confab.local"));

    let change = roster.apply(fixture!("ocs-partial-eject.xml")).unwrap();
    assert_eq!(
        change,
        RosterChange {
            version: 2,
            full: false,
            added: vec![],
            updated: vec!["sip:carol@confab.local".into()],
            removed: vec![Removal {
                entity: "sip:bob@confab.local".into(),
                method: Some(DisconnectionMethod::Booted),
            }],
            conference_changed: true,
        }
    );
    assert_eq!(
        entities(&roster),
        ["sip:amy@confab.local", "sip:carol@confab.local"]
    );
    assert!(!roster.is_locked());
    // The partial conference-state changed the count and the lock only.
    let state = roster.conference_state().unwrap();
    assert_eq!((state.user_count, state.active), (Some(2), Some(true)));
    // Carol kept her endpoints and roles, and gained the audio one.
    let carol = roster.user("sip:carol@confab.local").unwrap();
    assert_eq!(carol.endpoints.len(), 3);
    assert_eq!(carol.roles, ["attendee"]);
    assert_eq!(carol.display_text.as_deref(), Some("Carol Diaz"));
    assert!(roster.in_audio("sip:carol@confab.local"));
    assert!(!roster.in_audio("sip:bob@confab.local"));
    assert_eq!(roster.roles("sip:bob@confab.local"), [] as [String; 0]);
}

#[test]
fn versions_follow_rfc_4575_section_4_6() {
    let alice = User::new("sip:alice@confab.local");
    let mut roster = Roster::default();
    assert_eq!(
        roster.apply(document(State::Partial, 1, vec![alice.clone()])),
        Err(RosterError::NeedFullState { version: 1 })
    );
    assert_eq!(roster.version(), None);
    roster
        .apply(document(State::Full, 5, vec![alice.clone()]))
        .unwrap();

    let bob = User::new("sip:bob@confab.local");
    for version in [4, 5] {
        assert_eq!(
            roster.apply(document(State::Full, version, vec![bob.clone()])),
            Err(RosterError::Stale {
                version,
                current: 5
            })
        );
    }
    assert_eq!(
        roster.apply(document(State::Partial, 7, vec![bob.clone()])),
        Err(RosterError::Gap {
            version: 7,
            current: 5
        })
    );
    assert_eq!(entities(&roster), ["sip:alice@confab.local"]);
    assert_eq!(roster.version(), Some(5));

    // A full document may skip: it is the whole state.
    roster
        .apply(document(State::Full, 9, vec![bob.clone()]))
        .unwrap();
    roster
        .apply(document(State::Partial, 10, vec![alice.clone()]))
        .unwrap();
    assert_eq!(
        entities(&roster),
        ["sip:alice@confab.local", "sip:bob@confab.local"]
    );
    assert_eq!(roster.version(), Some(10));
    assert_eq!(
        roster.apply(document(State::Deleted, 11, vec![])),
        Err(RosterError::DeletedDocument)
    );
    let mut elsewhere = document(State::Partial, 11, vec![]);
    elsewhere.entity = "sip:other@confab.local".into();
    assert!(matches!(
        roster.apply(elsewhere),
        Err(RosterError::OtherConference { .. })
    ));

    // A new subscription starts over, from a full document of any version.
    roster.restart();
    assert_eq!(
        roster.apply(document(State::Partial, 11, vec![])),
        Err(RosterError::NeedFullState { version: 11 })
    );
    assert_eq!(entities(&roster).len(), 2, "kept until the full state");
    roster.apply(document(State::Full, 1, vec![bob])).unwrap();
    assert_eq!(entities(&roster), ["sip:bob@confab.local"]);
}

#[test]
fn a_partial_document_merges_users_endpoints_and_media_by_key() {
    let mut amy = User::new("sip:amy@confab.local");
    amy.display_text = Some("Amy".into());
    amy.roles = vec!["attendee".into()];
    amy.endpoints = vec![
        Endpoint {
            session_type: Some(SessionType::AudioVideo),
            status: Some(EndpointStatus::Connected),
            joining_method: Some(JoiningMethod::DialedIn),
            media: vec![
                Media {
                    media_type: Some("audio".into()),
                    status: Some(MediaStatus::SendRecv),
                    ..Media::new("1")
                },
                Media::new("2"),
            ],
            ..Endpoint::new("av")
        },
        Endpoint::new("chat"),
    ];
    let mut roster = Roster::default();
    roster
        .apply(document(State::Full, 1, vec![amy.clone()]))
        .unwrap();

    // Promote Amy; put her audio on hold and block it; drop her chat
    // endpoint; add a focus endpoint.
    let update = User {
        roles: vec!["presenter".into()],
        ..partial_user(
            "sip:amy@confab.local",
            vec![
                Endpoint {
                    state: State::Partial,
                    status: Some(EndpointStatus::OnHold),
                    media: vec![Media {
                        ingress_filter: Some(IngressFilter::Block),
                        ..Media::new("1")
                    }],
                    ..Endpoint::new("av")
                },
                Endpoint {
                    state: State::Deleted,
                    ..Endpoint::new("chat")
                },
                Endpoint {
                    session_type: Some(SessionType::Focus),
                    ..Endpoint::new("focus")
                },
            ],
        )
    };
    let change = roster
        .apply(document(State::Partial, 2, vec![update]))
        .unwrap();
    assert_eq!(change.updated, ["sip:amy@confab.local"]);

    let amy = roster.user("sip:amy@confab.local").unwrap();
    assert_eq!(amy.display_text.as_deref(), Some("Amy"));
    assert_eq!(amy.roles, ["presenter"]);
    let keys: Vec<_> = amy.endpoints.iter().map(|e| e.entity.as_str()).collect();
    assert_eq!(keys, ["av", "focus"], "in entity order");
    let av = amy.endpoint("av").unwrap();
    assert_eq!(av.status, Some(EndpointStatus::OnHold));
    assert_eq!(av.joining_method, Some(JoiningMethod::DialedIn));
    // A medium is replaced whole: medium 1 now says only its filter.
    assert_eq!(
        av.media,
        [
            Media {
                ingress_filter: Some(IngressFilter::Block),
                ..Media::new("1")
            },
            Media::new("2")
        ]
    );
    assert!(!roster.in_audio("sip:amy@confab.local"), "on hold");

    // A full user replaces the stored one.
    let change = roster
        .apply(document(
            State::Partial,
            3,
            vec![User::new("sip:amy@confab.local")],
        ))
        .unwrap();
    assert_eq!(change.updated.len(), 1);
    assert_eq!(
        roster.user("sip:amy@confab.local"),
        Some(&User::new("sip:amy@confab.local"))
    );
}

#[test]
fn users_state_full_in_a_partial_document_lists_everyone() {
    let mut roster = Roster::default();
    let users = (0..3).map(|n| User::new(user_entity(n))).collect();
    roster.apply(document(State::Full, 1, users)).unwrap();
    let mut update = document(
        State::Partial,
        2,
        vec![partial_user(&user_entity(1), vec![Endpoint::new("e")])],
    );
    update.users_state = State::Full;
    let change = roster.apply(update).unwrap();
    assert_eq!(entities(&roster), [user_entity(1)]);
    assert_eq!(change.removed.len(), 2);
    assert_eq!(change.updated, [user_entity(1)]);

    let mut update = document(State::Partial, 3, vec![]);
    update.users_state = State::Deleted;
    roster.apply(update).unwrap();
    assert_eq!(roster.users().len(), 0);
}

#[test]
fn the_audio_is_an_audio_video_endpoint_that_hears_the_mix() {
    let cases = [
        (
            Some(SessionType::AudioVideo),
            EndpointStatus::Connected,
            true,
        ),
        (
            Some(SessionType::AudioVideo),
            EndpointStatus::MutedViaFocus,
            true,
        ),
        (Some(SessionType::AudioVideo), EndpointStatus::OnHold, false),
        (
            Some(SessionType::AudioVideo),
            EndpointStatus::Alerting,
            false,
        ),
        (
            Some(SessionType::AudioVideo),
            EndpointStatus::Disconnecting,
            false,
        ),
        (Some(SessionType::Chat), EndpointStatus::Connected, false),
        (Some(SessionType::Focus), EndpointStatus::Connected, false),
        (None, EndpointStatus::Connected, true),
    ];
    for (session_type, status, in_audio) in cases {
        let user = User {
            endpoints: vec![Endpoint {
                session_type: session_type.clone(),
                status: Some(status.clone()),
                media: vec![Media {
                    media_type: Some("audio".into()),
                    ..Media::new("1")
                }],
                ..Endpoint::new("e")
            }],
            ..User::new("sip:amy@confab.local")
        };
        assert_eq!(user.in_audio(), in_audio, "{session_type:?} {status:?}");
    }
}

#[test]
fn a_document_past_a_limit_changes_nothing() {
    let mut roster = Roster::default();
    let users = (0..MAX_USERS).map(|n| User::new(user_entity(n))).collect();
    roster.apply(document(State::Full, 1, users)).unwrap();
    let more = vec![
        User {
            state: State::Deleted,
            ..User::new(user_entity(0))
        },
        User::new(user_entity(MAX_USERS)),
        User::new(user_entity(MAX_USERS + 1)),
    ];
    assert_eq!(
        roster.apply(document(State::Partial, 2, more)),
        Err(RosterError::TooManyUsers { limit: MAX_USERS })
    );
    assert_eq!(roster.users().len(), MAX_USERS);
    assert!(roster.user(&user_entity(0)).is_some());
    assert_eq!(roster.version(), Some(1));

    // One out, one in, fits.
    let swap = vec![
        User {
            state: State::Deleted,
            ..User::new(user_entity(0))
        },
        User::new(user_entity(MAX_USERS)),
    ];
    roster.apply(document(State::Partial, 2, swap)).unwrap();
    assert_eq!(roster.users().len(), MAX_USERS);

    // Endpoints accumulate over partial documents, up to the limit.
    let endpoints = |range: std::ops::Range<usize>| {
        range
            .map(|k| Endpoint::new(format!("e{k}")))
            .collect::<Vec<_>>()
    };
    let entity = user_entity(1);
    let first = partial_user(&entity, endpoints(0..MAX_ENDPOINTS));
    roster
        .apply(document(State::Partial, 3, vec![first]))
        .unwrap();
    let one_more = partial_user(&entity, endpoints(MAX_ENDPOINTS..MAX_ENDPOINTS + 1));
    assert!(matches!(
        roster.apply(document(State::Partial, 4, vec![one_more])),
        Err(RosterError::TooManyEndpoints { .. })
    ));
    assert_eq!(roster.user(&entity).unwrap().endpoints.len(), MAX_ENDPOINTS);

    let mut focus = Roster::new(FOCUS);
    for n in 0..MAX_USERS {
        focus.set_user(User::new(user_entity(n))).unwrap();
    }
    assert_eq!(
        focus.set_user(User::new(user_entity(MAX_USERS))),
        Err(RosterError::TooManyUsers { limit: MAX_USERS })
    );
    focus.set_user(User::new(user_entity(7))).unwrap();
}
