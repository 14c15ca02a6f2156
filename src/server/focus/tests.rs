use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::proto::Time;
use crate::proto::c3p::{
    self, AddUser, C3pCommand, C3pRequest, C3pResponse, ConferenceKeys, ConferenceUser,
    FailureReason, GetConference, JoiningMethod as C3pJoiningMethod, MediaChange, MediaKeys,
    ModifyConferenceLock, ModifyEndpointMedia, ModifyUserRoles, ResponseCode, UserEndpoint,
    UserKeys,
};
use crate::proto::conference_info::{
    self, DisconnectionMethod, EndpointStatus, IngressFilter, Removal, Roster,
};
use crate::proto::conference_uri::{ConferencePart, ConferenceUri};

mod crowd;
mod quality;

const DOMAIN: &str = "confab.local";
const VIVIAN: &str = "sip:vivian@confab.local";
const BOB: &str = "sip:bob@confab.local";
const CAROL: &str = "sip:carol@confab.local";
const DAVE: &str = "sip:dave@confab.local";

fn at(ms: u64) -> Time {
    Time::ZERO + Duration::from_millis(ms)
}

fn request(to: &str, from: &str, command: C3pCommand) -> C3pRequest {
    C3pRequest {
        request_id: 7,
        from: from.to_owned(),
        to: to.to_owned(),
        command,
    }
}

/// A factory with one conference that Vivian created; its ID.
fn created() -> (FocusFactory, String) {
    let mut factory = FocusFactory::new(DOMAIN);
    let mut rng = StdRng::seed_from_u64(1);
    let add = request(
        "sip:vivian@confab.local;gruu;opaque=app:conf:focusfactory",
        VIVIAN,
        C3pCommand::AddConference(c3p::ConferenceInfo {
            subject: "Q3 plans".into(),
            entity_views: vec!["chat".into(), "audio-video".into()],
            ..c3p::ConferenceInfo::default()
        }),
    );
    let response = factory.handle(at(0), VIVIAN, &add, &mut rng);
    assert_eq!(response.code, ResponseCode::Success, "{response:?}");
    let C3pCommand::AddConference(info) = response.command else {
        panic!("not addConference: {response:?}");
    };
    let focus = ConferenceUri::parse(&info.entity).unwrap();
    assert_eq!(focus.part, ConferencePart::Focus);
    assert_eq!(focus.organizer_user, "vivian");
    assert_eq!(focus.id, info.conference_id);
    (factory, info.conference_id.unwrap())
}

fn focus_uri(conference: &Conference) -> String {
    conference.focus().to_string()
}

fn join(conference: &mut Conference, user: &str) -> (C3pResponse, Vec<RosterEvent>) {
    let focus = focus_uri(conference);
    let command = C3pCommand::AddUser(AddUser {
        mcu_uri: None,
        conf_entity: focus.clone(),
        user: ConferenceUser {
            entity: user.to_owned(),
            ..ConferenceUser::default()
        },
    });
    conference.handle(at(10), user, &request(&focus, user, command))
}

fn command(conference: &mut Conference, from: &str, command: C3pCommand) -> C3pResponse {
    let focus = focus_uri(conference);
    conference
        .handle(at(20), from, &request(&focus, from, command))
        .0
}

fn user_keys(conference: &Conference, user: &str) -> UserKeys {
    UserKeys {
        conf_entity: focus_uri(conference),
        user_entity: user.to_owned(),
    }
}

fn promote(conference: &Conference, user: &str, role: c3p::Role) -> C3pCommand {
    C3pCommand::ModifyUserRoles(ModifyUserRoles {
        keys: user_keys(conference, user),
        role,
    })
}

fn mute(conference: &Conference, user: &str, filter: c3p::MediaFilter) -> C3pCommand {
    C3pCommand::ModifyEndpointMedia(ModifyEndpointMedia {
        mcu_uri: conference
            .mcu_uri(ConferencePart::AudioVideo)
            .unwrap()
            .to_string(),
        keys: MediaKeys {
            conf_entity: focus_uri(conference),
            user_entity: user.to_owned(),
            ..MediaKeys::default()
        },
        media: MediaChange {
            ingress_filter: Some(filter),
            ..MediaChange::default()
        },
    })
}

fn lock(conference: &Conference, locked: bool) -> C3pCommand {
    C3pCommand::ModifyConferenceLock(ModifyConferenceLock {
        conf_entity: focus_uri(conference),
        locked,
    })
}

fn assert_forbidden(response: &C3pResponse) {
    assert_eq!(response.code, ResponseCode::Failure);
    assert_eq!(response.reason, Some(FailureReason::Forbidden));
    let diagnostics = c3p::ms_diagnostics_header(FailureReason::Forbidden).unwrap();
    assert!(diagnostics.starts_with("3014;"), "{diagnostics}");
}

/// Subscribers of one conference, each holding the roster its NOTIFYs
/// built; documents go through XML as on the wire.
struct Subscribers(Vec<Roster>);

impl Subscribers {
    fn subscribe(&mut self, conference: &Conference) {
        let mut roster = Roster::new(focus_uri(conference));
        apply(&mut roster, &conference.full_document());
        self.0.push(roster);
    }

    /// Sends the pending NOTIFY to all; what the last subscriber saw.
    fn publish(&mut self, conference: &mut Conference) -> Option<conference_info::RosterChange> {
        let document = conference.notify_document()?;
        self.0
            .iter_mut()
            .map(|roster| apply(roster, &document))
            .last()
    }

    #[track_caller]
    fn assert_converged(&self, conference: &Conference) {
        for roster in &self.0 {
            assert_same(roster, conference.roster());
            assert_eq!(roster.version(), Some(conference.version()));
        }
    }
}

fn apply(
    roster: &mut Roster,
    document: &conference_info::ConferenceInfo,
) -> conference_info::RosterChange {
    let wire = conference_info::parse(document.to_xml().as_bytes()).unwrap();
    roster.apply(wire).unwrap()
}

#[track_caller]
fn assert_same(got: &Roster, want: &Roster) {
    assert_eq!(got.entity(), want.entity());
    assert_eq!(got.description(), want.description());
    assert_eq!(got.conference_state(), want.conference_state());
    assert_eq!(
        got.users().collect::<Vec<_>>(),
        want.users().collect::<Vec<_>>()
    );
}

#[test]
fn capabilities_name_chat_and_audio_video() {
    let mut factory = FocusFactory::new(DOMAIN);
    let ask = request(
        "sip:vivian@confab.local;gruu;opaque=app:conf:focusfactory",
        VIVIAN,
        C3pCommand::GetConferencingCapabilities { mcu_types: vec![] },
    );
    let response = factory.handle(at(0), VIVIAN, &ask, &mut StdRng::seed_from_u64(1));
    assert_eq!(response.code, ResponseCode::Success);
    assert_eq!(
        response.command,
        C3pCommand::GetConferencingCapabilities {
            mcu_types: vec!["chat".into(), "audio-video".into()]
        }
    );
    assert_eq!(response.to, VIVIAN);
}

#[test]
fn add_conference_records_it_and_get_conference_finds_it() {
    let (mut factory, id) = created();
    let conference = factory.conference(&id).unwrap();
    assert_eq!(conference.organizer(), VIVIAN);
    assert_eq!(conference.subject(), Some("Q3 plans"));
    let focus = focus_uri(conference);
    assert!(factory.conference_by_uri(&focus).is_some());
    let av = conference.mcu_uri(ConferencePart::AudioVideo).unwrap();
    assert!(factory.conference_by_uri(&av.to_string()).is_some());
    let other_organizer = focus.replace("vivian", "bob");
    assert!(factory.conference_by_uri(&other_organizer).is_none());

    let mut rng = StdRng::seed_from_u64(2);
    let get = |id: Option<&str>, entity: Option<&str>| {
        request(
            "sip:bob@confab.local;gruu;opaque=app:conf:focusfactory",
            BOB,
            C3pCommand::GetConference(GetConference {
                conference_id: id.map(str::to_owned),
                conf_entity: entity.map(str::to_owned),
                info: None,
            }),
        )
    };
    for ask in [get(Some(&id), None), get(None, Some(&focus))] {
        let response = factory.handle(at(5), BOB, &ask, &mut rng);
        assert_eq!(response.code, ResponseCode::Success, "{response:?}");
        let C3pCommand::GetConference(found) = response.command else {
            panic!("{response:?}");
        };
        assert_eq!(found.info.unwrap().entity, focus);
    }
    let response = factory.handle(at(5), BOB, &get(Some("NOSUCHID1"), None), &mut rng);
    assert_eq!(response.reason, Some(FailureReason::ConferenceDoesNotExist));
}

#[test]
fn add_conference_refuses_an_unknown_mcu_type() {
    let mut factory = FocusFactory::new(DOMAIN);
    let add = request(
        "sip:vivian@confab.local;gruu;opaque=app:conf:focusfactory",
        VIVIAN,
        C3pCommand::AddConference(c3p::ConferenceInfo {
            entity_views: vec!["applicationsharing".into()],
            ..c3p::ConferenceInfo::default()
        }),
    );
    let response = factory.handle(at(0), VIVIAN, &add, &mut StdRng::seed_from_u64(1));
    assert_eq!(response.reason, Some(FailureReason::McuTypeNotAvailable));
    assert_eq!(factory.conferences().len(), 0);
}

#[test]
fn leader_controls_and_attendees_are_forbidden() {
    let (mut factory, id) = created();
    let conference = factory.conference_mut(&id).unwrap();
    let mut subscribers = Subscribers(Vec::new());
    subscribers.subscribe(conference);

    let (response, events) = join(conference, VIVIAN);
    let C3pCommand::AddUser(granted) = &response.command else {
        panic!("{response:?}");
    };
    assert_eq!(granted.user.role, Some(c3p::Role::Presenter));
    assert_eq!(
        events,
        vec![RosterEvent::Joined {
            user: VIVIAN.into(),
            role: c3p::Role::Presenter
        }]
    );
    for user in [BOB, CAROL] {
        let (response, _) = join(conference, user);
        let C3pCommand::AddUser(granted) = &response.command else {
            panic!("{response:?}");
        };
        assert_eq!(granted.user.role, Some(c3p::Role::Attendee));
    }
    subscribers.publish(conference);
    subscribers.assert_converged(conference);
    assert_eq!(conference.roster().roles(BOB), ["attendee"]);
    // A second subscriber arrives mid-conference.
    subscribers.subscribe(conference);

    // Bob, an attendee, may not eject, promote, mute or lock.
    let attempts = [
        C3pCommand::DeleteUser(user_keys(conference, CAROL)),
        promote(conference, BOB, c3p::Role::Presenter),
        lock(conference, true),
        C3pCommand::DeleteConference(ConferenceKeys {
            conf_entity: focus_uri(conference),
        }),
    ];
    for attempt in attempts {
        assert_forbidden(&command(conference, BOB, attempt));
    }
    assert!(subscribers.publish(conference).is_none());

    let response = command(
        conference,
        VIVIAN,
        promote(conference, BOB, c3p::Role::Other("organizer".into())),
    );
    assert_eq!(response.reason, Some(FailureReason::InvalidRole));
    let response = command(
        conference,
        VIVIAN,
        promote(conference, BOB, c3p::Role::Presenter),
    );
    assert_eq!(response.code, ResponseCode::Success);
    subscribers.publish(conference);
    subscribers.assert_converged(conference);
    assert_eq!(subscribers.0[1].roles(BOB), ["presenter"]);

    // Carol joins the audio and Bob, now a leader, mutes her.
    conference
        .audio_joined(at(30), CAROL, "{carol-av}", None)
        .unwrap();
    assert!(conference.roster().in_audio(CAROL));
    let response = command(
        conference,
        BOB,
        mute(conference, CAROL, c3p::MediaFilter::Block),
    );
    assert_eq!(response.code, ResponseCode::Success, "{response:?}");
    subscribers.publish(conference);
    subscribers.assert_converged(conference);
    let carol = subscribers.0[0].user(CAROL).unwrap();
    let media = &carol.endpoint("{carol-av}").unwrap().media[0];
    assert_eq!(media.ingress_filter, Some(IngressFilter::Block));
    let response = command(
        conference,
        VIVIAN,
        mute(conference, DAVE, c3p::MediaFilter::Block),
    );
    assert_eq!(response.reason, Some(FailureReason::InvalidUserEntity));
    // Bob has no audio to mute.
    let response = command(
        conference,
        VIVIAN,
        mute(conference, BOB, c3p::MediaFilter::Block),
    );
    assert_eq!(response.reason, Some(FailureReason::EndpointDoesNotExist));
    // Keys naming another conference are refused.
    let mut elsewhere = user_keys(conference, BOB);
    elsewhere.conf_entity = focus_uri(conference).replace(&format!(":id:{id}"), ":id:OTHERCONF1");
    let response = command(conference, VIVIAN, C3pCommand::DeleteUser(elsewhere));
    assert_eq!(response.reason, Some(FailureReason::ConferenceDoesNotExist));

    // Vivian ejects Carol: subscribers see her booted.
    let response = command(
        conference,
        VIVIAN,
        C3pCommand::DeleteUser(user_keys(conference, CAROL)),
    );
    assert_eq!(response.code, ResponseCode::Success);
    let change = subscribers.publish(conference).unwrap();
    assert_eq!(
        change.removed,
        vec![Removal {
            entity: CAROL.into(),
            method: Some(DisconnectionMethod::Booted)
        }]
    );
    subscribers.assert_converged(conference);

    // Locked: newcomers are refused, those present may rejoin.
    assert_eq!(
        command(conference, VIVIAN, lock(conference, true)).code,
        ResponseCode::Success
    );
    let (refused, events) = join(conference, DAVE);
    assert_eq!(refused.reason, Some(FailureReason::OtherFailure));
    assert!(events.is_empty());
    assert_eq!(join(conference, BOB).0.code, ResponseCode::Success);
    subscribers.publish(conference);
    subscribers.assert_converged(conference);
    assert!(subscribers.0[0].is_locked());
    assert!(conference.roster().user(DAVE).is_none());

    // Vivian ends it.
    let focus = focus_uri(conference);
    let (response, events) = conference.handle(
        at(40),
        VIVIAN,
        &request(
            &focus,
            VIVIAN,
            C3pCommand::DeleteConference(ConferenceKeys {
                conf_entity: focus.clone(),
            }),
        ),
    );
    assert_eq!(response.code, ResponseCode::Success);
    assert_eq!(events.last(), Some(&RosterEvent::Ended));
    assert!(conference.is_ended());
    subscribers.publish(conference);
    subscribers.assert_converged(conference);
    assert_eq!(subscribers.0[1].users().len(), 0);
    assert_eq!(
        subscribers.0[1].conference_state().unwrap().active,
        Some(false)
    );
    let (late, _) = join(conference, BOB);
    assert_eq!(late.reason, Some(FailureReason::ConferenceDoesNotExist));
    assert_eq!(factory.remove_ended(), vec![id]);
}

#[test]
fn conference_ends_when_the_last_participant_leaves() {
    let (mut factory, id) = created();
    let conference = factory.conference_mut(&id).unwrap();
    join(conference, VIVIAN);
    join(conference, BOB);
    let events = conference.participant_left(at(50), VIVIAN).unwrap();
    assert_eq!(
        events,
        vec![RosterEvent::Left {
            user: VIVIAN.into(),
            method: DisconnectionMethod::Departed
        }]
    );
    assert!(!conference.is_ended());
    // Bob, an attendee, holds it alone; Vivian rejoins as presenter.
    assert_eq!(
        join(conference, VIVIAN).1.first(),
        Some(&RosterEvent::Joined {
            user: VIVIAN.into(),
            role: c3p::Role::Presenter
        })
    );
    conference.participant_left(at(60), VIVIAN).unwrap();
    let events = conference.participant_left(at(70), BOB).unwrap();
    assert_eq!(events.last(), Some(&RosterEvent::Ended));
    assert!(conference.is_ended());
    assert_eq!(
        conference.participant_left(at(80), BOB),
        Err(FocusError::Ended)
    );
}

fn dial_out(conference: &Conference, user: &str, uri: &str) -> C3pCommand {
    C3pCommand::AddUser(AddUser {
        mcu_uri: Some(
            conference
                .mcu_uri(ConferencePart::AudioVideo)
                .unwrap()
                .to_string(),
        ),
        conf_entity: focus_uri(conference),
        user: ConferenceUser {
            entity: user.to_owned(),
            endpoint: Some(UserEndpoint {
                entity: format!("{{{user}-phone}}"),
                endpoint_uri: Some(uri.to_owned()),
                joining_method: Some(C3pJoiningMethod::DialedOut),
                ..UserEndpoint::default()
            }),
            ..ConferenceUser::default()
        },
    })
}

#[test]
fn dial_out_invites_a_buddy_for_presenters_and_calls_anyone_back() {
    let (mut factory, id) = created();
    let conference = factory.conference_mut(&id).unwrap();
    let mut subscribers = Subscribers(Vec::new());
    subscribers.subscribe(conference);
    join(conference, VIVIAN);
    join(conference, BOB);

    assert_forbidden(&command(
        conference,
        BOB,
        dial_out(conference, CAROL, CAROL),
    ));
    // "Call me at": Bob has the MCU call his phone.
    let response = command(
        conference,
        BOB,
        dial_out(conference, BOB, "tel:+14255032002"),
    );
    assert_eq!(response.code, ResponseCode::Success, "{response:?}");

    let focus = focus_uri(conference);
    let (response, events) = conference.handle(
        at(25),
        VIVIAN,
        &request(&focus, VIVIAN, dial_out(conference, CAROL, CAROL)),
    );
    assert_eq!(response.code, ResponseCode::Success);
    let mcu = conference
        .mcu_uri(ConferencePart::AudioVideo)
        .unwrap()
        .to_string();
    assert_eq!(
        events.last(),
        Some(&RosterEvent::DialOut {
            user: CAROL.into(),
            endpoint: format!("{{{CAROL}-phone}}"),
            target: CAROL.into(),
            mcu_uri: mcu,
        })
    );
    subscribers.publish(conference);
    subscribers.assert_converged(conference);
    let carol = subscribers.0[0].user(CAROL).unwrap();
    assert_eq!(carol.endpoints[0].status, Some(EndpointStatus::DialingOut));
    assert!(!subscribers.0[0].in_audio(CAROL));

    conference
        .audio_joined(at(30), CAROL, &format!("{{{CAROL}-phone}}"), None)
        .unwrap();
    subscribers.publish(conference);
    subscribers.assert_converged(conference);
    assert!(subscribers.0[0].in_audio(CAROL));

    // Carol hangs up; she had no focus dialog, so she leaves.
    conference
        .audio_left(at(40), CAROL, DisconnectionMethod::Departed)
        .unwrap();
    let change = subscribers.publish(conference).unwrap();
    assert_eq!(change.removed[0].entity, CAROL);
    subscribers.assert_converged(conference);
    // Bob's callback is busy: his audio endpoint says so, he stays.
    conference
        .audio_left(at(45), BOB, DisconnectionMethod::Busy)
        .unwrap();
    subscribers.publish(conference);
    subscribers.assert_converged(conference);
    let bob = subscribers.0[0].user(BOB).unwrap();
    let phone = bob.endpoint(&format!("{{{BOB}-phone}}")).unwrap();
    assert_eq!(phone.disconnection_method, Some(DisconnectionMethod::Busy));
}
