//! Seeded random rosters and edits for the roster and diff tests. Values
//! come from small pools, so that edits often land on what is already
//! there and fields are as often unchanged, cleared or new.

use rand::Rng;
use rand::rngs::StdRng;

use super::*;

pub const FOCUS: &str = "sip:amy@confab.local;gruu;opaque=app:conf:focus:id:4KT9QZ2M";

/// Every pool holds `None` or an empty value, a value that needs
/// escaping, and a keyword this crate does not know.
const DISPLAY_TEXTS: [Option<&str>; 5] = [
    None,
    Some("Amy Rivera"),
    Some("Bob <&> \"Bobby\" O'Neil"),
    Some("Zoë 東京"),
    Some(""),
];
const ROLES: [&str; 3] = ["presenter", "attendee", "organizer"];
const SUBJECTS: [Option<&str>; 4] = [
    None,
    Some("Weekly sync"),
    Some("Q3 <plans> & more"),
    Some(""),
];

/// Two rosters hold the same conference: version and departure notes
/// aside, everything a query can see.
#[track_caller]
pub fn assert_same(got: &Roster, want: &Roster) {
    assert_eq!(got.entity(), want.entity());
    assert_eq!(got.description(), want.description());
    assert_eq!(got.conference_state(), want.conference_state());
    let got_users: Vec<&User> = got.users().collect();
    let want_users: Vec<&User> = want.users().collect();
    assert_eq!(got_users, want_users);
}

pub fn user_entity(n: usize) -> String {
    format!("sip:user{n}@confab.local")
}

pub fn random_roster(rng: &mut StdRng, users: usize) -> Roster {
    let mut roster = Roster::new(FOCUS);
    roster.set_description(random_description(rng));
    roster.set_conference_state(random_conference_state(rng));
    while roster.users().len() < users {
        let entity = user_entity(rng.random_range(0..users * 2));
        roster.set_user(random_user(rng, &entity)).unwrap();
    }
    roster
}

/// One change a focus might make: a user joins, leaves, is ejected or
/// changes, or the conference does.
pub fn random_edit(rng: &mut StdRng, roster: &mut Roster, population: usize) {
    let entities: Vec<String> = roster.users().map(|user| user.entity.clone()).collect();
    match rng.random_range(0..10) {
        0..=2 => {
            let entity = user_entity(rng.random_range(0..population));
            roster.set_user(random_user(rng, &entity)).unwrap();
        }
        3 | 4 if !entities.is_empty() => {
            let entity = &entities[rng.random_range(0..entities.len())];
            let method = pick(
                rng,
                &[
                    None,
                    Some(DisconnectionMethod::Departed),
                    Some(DisconnectionMethod::Booted),
                ],
            );
            roster.remove_user(entity, method);
        }
        8 => roster.set_description(random_description(rng)),
        9 => roster.set_conference_state(random_conference_state(rng)),
        _ if !entities.is_empty() => {
            let entity = &entities[rng.random_range(0..entities.len())];
            let mut user = roster.user(entity).unwrap().clone();
            edit_user(rng, &mut user);
            roster.set_user(user).unwrap();
        }
        _ => {}
    }
}

pub fn random_user(rng: &mut StdRng, entity: &str) -> User {
    let mut user = User::new(entity);
    user.display_text = pick(rng, &DISPLAY_TEXTS).map(str::to_owned);
    user.roles = random_roles(rng);
    for _ in 0..rng.random_range(0..4) {
        user.endpoints.push(random_endpoint(rng, entity));
    }
    user
}

fn edit_user(rng: &mut StdRng, user: &mut User) {
    match rng.random_range(0..6) {
        0 => user.display_text = pick(rng, &DISPLAY_TEXTS).map(str::to_owned),
        1 => user.roles = random_roles(rng),
        2 => user.endpoints.push(random_endpoint(rng, &user.entity)),
        3 if !user.endpoints.is_empty() => {
            let index = rng.random_range(0..user.endpoints.len());
            user.endpoints.remove(index);
        }
        _ if !user.endpoints.is_empty() => {
            let index = rng.random_range(0..user.endpoints.len());
            edit_endpoint(rng, &mut user.endpoints[index]);
        }
        _ => {}
    }
}

fn random_roles(rng: &mut StdRng) -> Vec<String> {
    ROLES
        .iter()
        .filter(|_| rng.random_bool(0.3))
        .map(|role| (*role).to_owned())
        .collect()
}

fn random_endpoint(rng: &mut StdRng, user: &str) -> Endpoint {
    let mut endpoint = Endpoint::new(format!("{user};device={}", rng.random_range(0..4)));
    endpoint.session_type = pick(
        rng,
        &[
            None,
            Some(SessionType::Focus),
            Some(SessionType::Chat),
            Some(SessionType::AudioVideo),
            Some(SessionType::AudioVideo),
            Some(SessionType::Other("applicationsharing".into())),
        ],
    );
    for _ in 0..rng.random_range(0..5) {
        edit_endpoint(rng, &mut endpoint);
    }
    endpoint
}

fn edit_endpoint(rng: &mut StdRng, endpoint: &mut Endpoint) {
    match rng.random_range(0..6) {
        0 => {
            endpoint.status = pick(
                rng,
                &[
                    None,
                    Some(EndpointStatus::Connected),
                    Some(EndpointStatus::Connected),
                    Some(EndpointStatus::Disconnected),
                    Some(EndpointStatus::OnHold),
                    Some(EndpointStatus::MutedViaFocus),
                    Some(EndpointStatus::Other("calling".into())),
                ],
            )
        }
        1 => {
            endpoint.joining_method = pick(
                rng,
                &[
                    None,
                    Some(JoiningMethod::DialedIn),
                    Some(JoiningMethod::DialedOut),
                    Some(JoiningMethod::FocusOwner),
                ],
            )
        }
        2 => {
            endpoint.disconnection_method = pick(
                rng,
                &[
                    None,
                    Some(DisconnectionMethod::Departed),
                    Some(DisconnectionMethod::Booted),
                    Some(DisconnectionMethod::Other("timeout".into())),
                ],
            );
            endpoint.disconnection_reason =
                pick(rng, &[None, Some("busy"), Some("no answer")]).map(str::to_owned);
        }
        3 if !endpoint.media.is_empty() => {
            let index = rng.random_range(0..endpoint.media.len());
            endpoint.media.remove(index);
        }
        _ => {
            let media = random_media(rng);
            match endpoint.media.iter_mut().find(|m| m.id == media.id) {
                Some(existing) => *existing = media,
                None => endpoint.media.push(media),
            }
        }
    }
}

fn random_media(rng: &mut StdRng) -> Media {
    let mut media = Media::new(pick(rng, &["1", "2", "3"]));
    media.media_type =
        pick(rng, &[None, Some("audio"), Some("audio"), Some("video")]).map(str::to_owned);
    media.status = pick(
        rng,
        &[
            None,
            Some(MediaStatus::SendRecv),
            Some(MediaStatus::RecvOnly),
            Some(MediaStatus::Inactive),
        ],
    );
    media.src_id = pick(rng, &[None, Some("1"), Some("1847")]).map(str::to_owned);
    media.ingress_filter = pick(
        rng,
        &[
            None,
            Some(IngressFilter::Block),
            Some(IngressFilter::Unblock),
            Some(IngressFilter::Other("unblocking".into())),
        ],
    );
    media.quality = random_quality(rng);
    media
}

/// None half the time; else figures from small pools, some absent, so
/// that edits often leave a quality as it was.
fn random_quality(rng: &mut StdRng) -> Option<MediaQuality> {
    if rng.random_bool(0.5) {
        return None;
    }
    let quality = MediaQuality {
        codec: pick(
            rng,
            &[None, Some("Opus"), Some("PCMU"), Some("G.722 <&> \"wide\"")],
        )
        .map(str::to_owned),
        loss_permille: pick(rng, &[None, Some(0), Some(4), Some(1000)]),
        jitter_ms: pick(rng, &[None, Some(0), Some(3)]),
        round_trip_ms: pick(rng, &[None, Some(12), Some(250)]),
        buffer_ms: pick(rng, &[Some(20), Some(60)]),
    };
    Some(quality)
}

fn random_description(rng: &mut StdRng) -> Option<Description> {
    if rng.random_bool(0.2) {
        return None;
    }
    let mut conf_uris = Vec::new();
    if rng.random_bool(0.7) {
        conf_uris.push(ConfUri {
            uri: FOCUS.replace(":focus:", ":chat:"),
            display_text: None,
            purpose: Some("chat".into()),
        });
    }
    if rng.random_bool(0.7) {
        conf_uris.push(ConfUri {
            uri: FOCUS.replace(":focus:", ":audio-video:"),
            display_text: pick(rng, &[None, Some("code 123456")]).map(str::to_owned),
            purpose: pick(rng, &[None, Some("audio-video")]).map(str::to_owned),
        });
    }
    Some(Description {
        subject: pick(rng, &SUBJECTS).map(str::to_owned),
        conf_uris,
    })
}

fn random_conference_state(rng: &mut StdRng) -> Option<ConferenceState> {
    if rng.random_bool(0.2) {
        return None;
    }
    Some(ConferenceState {
        user_count: pick(rng, &[None, Some(0), Some(3), Some(50)]),
        active: pick(rng, &[None, Some(true), Some(false)]),
        locked: pick(rng, &[None, Some(true), Some(false)]),
    })
}

fn pick<T: Clone>(rng: &mut StdRng, choices: &[T]) -> T {
    choices[rng.random_range(0..choices.len())].clone()
}
