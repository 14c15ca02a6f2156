//! Ejection, the end of a conference, and leaving: whichever of the
//! focus's BYE and its NOTIFY comes first.

use super::*;
use crate::client::AudioVia;
use crate::client::conference::{DECIDE_GRACE, LINGER};
use crate::proto::conference_info::DisconnectionMethod;
use crate::proto::pidf::Availability;
use crate::proto::sdp::{self, AudioCodec, Direction, LocalMedia};

/// Joined, first roster applied, our audio call to the MCU connected.
fn in_audio() -> Joined {
    let mut joined = Joined::new();
    joined.first_roster();
    joined.harness.command(Command::JoinConferenceAudio {
        via: AudioVia::Client,
    });
    let invite = joined.harness.take(Method::Invite);
    assert_eq!(invite.uri.to_string(), av_mcu());
    let answer = sdp::offer(&LocalMedia {
        ip: "10.0.0.1".parse().unwrap(),
        port: 30_000,
        codecs: vec![AudioCodec::Opus],
        direction: Direction::SendRecv,
        session_id: 9,
        version: 1,
    });
    joined.harness.reply_tagged(
        &invite,
        200,
        "mcu1",
        &[
            ("Contact", &format!("<{}>", av_mcu())),
            ("Record-Route", RECORD_ROUTE),
        ],
        Some(("application/sdp", answer.as_bytes())),
    );
    joined.harness.take(Method::Ack);
    assert!(
        joined
            .harness
            .took(|e| matches!(e, Event::CallConnected { .. }))
    );
    joined.harness.drain_events();
    joined.harness.sent.clear();
    joined
}

/// The partial document that deletes us, `method`.
fn us_deleted(version: u32, method: DisconnectionMethod) -> ConferenceInfo {
    let mut me = User {
        state: State::Deleted,
        ..User::new(VIVIAN)
    };
    me.endpoints.push(Endpoint {
        disconnection_method: Some(method),
        status: Some(EndpointStatus::Disconnected),
        ..Endpoint::new(VIVIAN)
    });
    document(version, State::Partial, vec![me])
}

/// The audio call was hung up: BYE to the MCU, and the call over.
#[track_caller]
fn audio_hung_up(harness: &mut Harness) {
    let bye = harness.take(Method::Bye);
    assert_eq!(bye.uri.to_string(), av_mcu());
    harness.reply(&bye, 200, &[], None);
    assert!(harness.took(|e| matches!(e, Event::CallEnded { .. })));
    assert!(
        harness
            .io
            .iter()
            .any(|r| matches!(r, IoRequest::StopMedia { .. }))
    );
}

#[track_caller]
fn unsubscribed(joined: &mut Joined) {
    let unsubscribe = joined.harness.take(Method::Subscribe);
    assert_eq!(header(&unsubscribe, "Expires").as_deref(), Some("0"));
    assert_eq!(
        header(&unsubscribe, "Call-ID"),
        header(&joined.subscribe, "Call-ID")
    );
    let tag = joined.notifier_tag.clone();
    joined
        .harness
        .reply_tagged(&unsubscribe, 200, &tag, &[("Expires", "0")], None);
}

#[test]
fn ejected_when_the_bye_comes_before_the_roster() {
    let mut joined = in_audio();
    joined.focus_bye();
    assert_eq!(
        joined.harness.take_response(Method::Bye).status_code.code(),
        200
    );
    // Not yet: the BYE does not say why.
    assert!(
        joined.harness.events.is_empty(),
        "{:#?}",
        joined.harness.events
    );
    joined.notify(&us_deleted(4, DisconnectionMethod::Booted));
    assert!(
        joined
            .harness
            .took(|e| *e == Event::Ejected { focus: focus() })
    );
    assert!(
        !joined
            .harness
            .took(|e| matches!(e, Event::ConferenceEnded { .. }))
    );
    audio_hung_up(&mut joined.harness);
    unsubscribed(&mut joined);
    // The focus dialog is over: no BYE of ours, then or after lingering.
    joined.harness.advance(LINGER + Duration::from_secs(1));
    assert!(joined.harness.sent_request(Method::Bye).is_none());
    assert!(joined.harness.sent_request(Method::Info).is_none());
}

#[test]
fn ejected_when_the_roster_comes_before_the_bye() {
    let mut joined = in_audio();
    joined.notify(&us_deleted(4, DisconnectionMethod::Booted));
    assert_eq!(
        joined
            .harness
            .events
            .iter()
            .filter(|e| matches!(e, Event::Ejected { .. }))
            .count(),
        1
    );
    audio_hung_up(&mut joined.harness);
    unsubscribed(&mut joined);
    // The BYE that follows is answered, not refused.
    joined.focus_bye();
    assert_eq!(
        joined.harness.take_response(Method::Bye).status_code.code(),
        200
    );
    joined.harness.advance(LINGER + Duration::from_secs(1));
    assert!(joined.harness.sent_request(Method::Bye).is_none());
    // Nothing more is said.
    assert_eq!(
        joined
            .harness
            .events
            .iter()
            .filter(|e| matches!(e, Event::Ejected { .. } | Event::ConferenceEnded { .. }))
            .count(),
        1
    );
}

#[test]
fn a_bye_that_no_roster_explains_is_an_ejection() {
    let mut joined = in_audio();
    joined.focus_bye();
    joined
        .harness
        .advance(DECIDE_GRACE - Duration::from_millis(1));
    assert!(!joined.harness.took(|e| matches!(e, Event::Ejected { .. })));
    joined.harness.advance(Duration::from_millis(1));
    assert!(
        joined
            .harness
            .took(|e| *e == Event::Ejected { focus: focus() })
    );
    audio_hung_up(&mut joined.harness);
}

#[test]
fn a_roster_that_ejects_us_without_a_bye_ends_the_focus_dialog_after_lingering() {
    let mut joined = Joined::new();
    joined.first_roster();
    joined.notify(&us_deleted(4, DisconnectionMethod::Booted));
    assert!(joined.harness.took(|e| matches!(e, Event::Ejected { .. })));
    assert!(joined.harness.sent_request(Method::Bye).is_none());
    joined.harness.advance(LINGER);
    let bye = joined.harness.take(Method::Bye);
    assert_eq!(bye.uri.to_string(), focus());
    assert_eq!(header(&bye, "Call-ID"), header(&joined.invite, "Call-ID"));
}

#[test]
fn the_end_of_the_conference_is_not_an_ejection() {
    // deleteConference: everyone booted, the conference inactive, the
    // subscription terminated; the BYE comes after.
    let mut joined = in_audio();
    let mut last = us_deleted(4, DisconnectionMethod::Booted);
    last.conference_state = Some(ConferenceState {
        active: Some(false),
        user_count: Some(0),
        locked: None,
    });
    joined.notify_state("terminated;reason=noresource", last.to_xml().as_bytes());
    assert_eq!(
        joined
            .harness
            .take_response(Method::Notify)
            .status_code
            .code(),
        200
    );
    audio_hung_up(&mut joined.harness);
    let ends: Vec<Event> = joined
        .harness
        .drain_events()
        .into_iter()
        .filter(|e| matches!(e, Event::Ejected { .. } | Event::ConferenceEnded { .. }))
        .collect();
    assert_eq!(ends, [Event::ConferenceEnded { focus: focus() }]);
    joined.focus_bye();
    assert_eq!(
        joined.harness.take_response(Method::Bye).status_code.code(),
        200
    );
}

#[test]
fn the_end_said_by_noresource_alone_after_the_bye() {
    let mut joined = in_audio();
    joined.focus_bye();
    joined.notify_state("terminated;reason=noresource", b"");
    assert!(
        joined
            .harness
            .took(|e| *e == Event::ConferenceEnded { focus: focus() })
    );
    assert!(!joined.harness.took(|e| matches!(e, Event::Ejected { .. })));
    audio_hung_up(&mut joined.harness);
    joined.harness.advance(DECIDE_GRACE + LINGER);
    assert!(!joined.harness.took(|e| matches!(e, Event::Ejected { .. })));
}

#[test]
fn leaving_hangs_up_byes_the_focus_and_unsubscribes() {
    let mut joined = in_audio();
    joined.harness.command(Command::LeaveConference);
    assert!(
        joined
            .harness
            .took(|e| *e == Event::ConferenceEnded { focus: focus() })
    );
    audio_hung_up(&mut joined.harness);
    let bye = joined.harness.take(Method::Bye);
    assert_eq!(bye.uri.to_string(), focus());
    assert_eq!(header(&bye, "Route").as_deref(), Some(RECORD_ROUTE));
    assert!(header(&bye, "To").unwrap().contains("tag=focus1"));
    joined.harness.reply(&bye, 200, &[], None);
    unsubscribed(&mut joined);
    // The final NOTIFY is still answered 200.
    joined.notify_state(
        "terminated;reason=timeout",
        us_deleted(4, DisconnectionMethod::Departed)
            .to_xml()
            .as_bytes(),
    );
    assert_eq!(
        joined
            .harness
            .take_response(Method::Notify)
            .status_code
            .code(),
        200
    );
    // Presence is ours again.
    assert!(joined.harness.took(|e| matches!(
        e,
        Event::Presence {
            availability: Availability::Available,
            ..
        }
    )));
    joined.harness.advance(LINGER + Duration::from_secs(1));
    assert!(joined.harness.sent_request(Method::Bye).is_none());
    joined.harness.command(Command::LeaveConference);
    assert!(joined.harness.took(|e| matches!(e,
        Event::CommandFailed { reason, .. } if reason == "not in a conference")));
    // And a new conference can start.
    joined.harness.drain_events();
    joined.harness.command(Command::CreateConference);
    assert!(joined.harness.sent_request(Method::Service).is_some());
}

#[test]
fn leaving_while_joining_byes_the_focus_once_it_answers() {
    let mut harness = Harness::signed_in("vivian");
    harness.command(Command::CreateConference);
    let service = harness.take(Method::Service);
    let body = c3p_success(&c3p_of(&service), |command| {
        if let C3pCommand::AddConference(info) = command {
            info.entity = focus();
        }
    });
    harness.reply(&service, 200, &[], Some((c3p::CONTENT_TYPE, &body)));
    let invite = harness.take(Method::Invite);
    harness.command(Command::LeaveConference);
    assert!(harness.took(|e| *e == Event::ConferenceEnded { focus: focus() }));
    let body = c3p_success(&c3p_of(&invite), |_| {});
    harness.reply_tagged(
        &invite,
        200,
        "focus1",
        &[("Contact", &format!("<{}>", focus()))],
        Some((c3p::CONTENT_TYPE, &body)),
    );
    harness.take(Method::Ack);
    let bye = harness.take(Method::Bye);
    assert!(header(&bye, "To").unwrap().contains("tag=focus1"));
    assert!(!harness.took(|e| matches!(e, Event::ConferenceJoined { .. })));
    assert!(harness.sent_request(Method::Subscribe).is_none());
}
