//! The leader's commands: what each INFO carries, and what its answer
//! comes to.

use super::*;
use crate::client::AudioVia;
use crate::proto::c3p::{FailureReason, MediaFilter};

/// Joined, with a roster in which Amy is in the audio.
fn joined_with_amy_in_audio() -> Joined {
    let mut joined = Joined::new();
    let users = vec![
        user(VIVIAN, "presenter", Some(EndpointStatus::Connected), None),
        user(
            AMY,
            "attendee",
            Some(EndpointStatus::Connected),
            Some((EndpointStatus::Connected, 7, false)),
        ),
    ];
    joined.notify(&document(3, State::Full, users));
    joined.harness.drain_events();
    joined
}

/// Sends `command`, answers its INFO with `answer` (None: success),
/// and returns the C3P command it carried.
fn run(joined: &mut Joined, command: Command, answer: Option<FailureReason>) -> C3pCommand {
    joined.harness.command(command);
    let info = joined.harness.take(Method::Info);
    assert_eq!(info.uri.to_string(), focus());
    assert_eq!(header(&info, "Call-ID"), header(&joined.invite, "Call-ID"));
    assert!(
        header(&info, "From")
            .unwrap()
            .starts_with(&format!("<{VIVIAN}>"))
    );
    assert!(header(&info, "To").unwrap().contains("tag=focus1"));
    let request = c3p_of(&info);
    assert_eq!(request.to, focus());
    let body = match answer {
        None => c3p_success(&request, |_| {}),
        Some(reason) => request.failure(reason).to_xml().into_bytes(),
    };
    joined
        .harness
        .reply(&info, 200, &[], Some((c3p::CONTENT_TYPE, &body)));
    request.command
}

#[test]
fn each_leader_command_is_its_c3p_request_in_an_info() {
    let mut joined = joined_with_amy_in_audio();
    let keys = |user: &str| c3p::UserKeys {
        conf_entity: focus(),
        user_entity: user.into(),
    };

    let eject = run(
        &mut joined,
        Command::ConferenceEject { uri: "amy".into() },
        None,
    );
    assert_eq!(eject, C3pCommand::DeleteUser(keys(AMY)));

    let promote = Command::ConferenceSetRole {
        uri: AMY.into(),
        leader: true,
    };
    let C3pCommand::ModifyUserRoles(modify) = run(&mut joined, promote, None) else {
        panic!("not modifyUserRoles");
    };
    assert_eq!((modify.keys, modify.role), (keys(AMY), Role::Presenter));
    let demote = Command::ConferenceSetRole {
        uri: AMY.into(),
        leader: false,
    };
    let C3pCommand::ModifyUserRoles(modify) = run(&mut joined, demote, None) else {
        panic!("not modifyUserRoles");
    };
    assert_eq!(modify.role, Role::Attendee);

    // Mute: the endpoint and media from the roster, the A/V MCU named.
    let mute = Command::ConferenceMute {
        uri: AMY.into(),
        muted: true,
    };
    let C3pCommand::ModifyEndpointMedia(media) = run(&mut joined, mute, None) else {
        panic!("not modifyEndpointMedia");
    };
    assert_eq!(media.mcu_uri, av_mcu());
    assert_eq!(media.keys.user_entity, AMY);
    assert_eq!(media.keys.endpoint_entity, format!("{AMY}-audio"));
    assert_eq!(media.keys.media_id, "1");
    assert_eq!(media.media.id, "1");
    assert_eq!(media.media.ingress_filter, Some(MediaFilter::Block));

    let lock = run(&mut joined, Command::ConferenceLock { locked: true }, None);
    assert_eq!(
        lock,
        C3pCommand::ModifyConferenceLock(c3p::ModifyConferenceLock {
            conf_entity: focus(),
            locked: true
        })
    );
    let invite = run(
        &mut joined,
        Command::ConferenceInvite {
            uri: "+14255550100".into(),
        },
        None,
    );
    let C3pCommand::AddUser(add) = invite else {
        panic!("not addUser");
    };
    assert_eq!(add.user.entity, "tel:+14255550100");
    assert_eq!(add.mcu_uri, Some(av_mcu()));

    let end = run(&mut joined, Command::ConferenceEnd, None);
    assert_eq!(
        end,
        C3pCommand::DeleteConference(c3p::ConferenceKeys {
            conf_entity: focus()
        })
    );
    assert!(
        !joined
            .harness
            .took(|e| matches!(e, Event::CommandFailed { .. })),
        "{:#?}",
        joined.harness.events
    );
}

#[test]
fn a_refused_command_fails_with_the_c3p_reason_or_the_status() {
    let mut joined = joined_with_amy_in_audio();
    run(
        &mut joined,
        Command::ConferenceEject { uri: AMY.into() },
        Some(FailureReason::Forbidden),
    );
    assert_eq!(
        joined.harness.drain_events(),
        [Event::CommandFailed {
            command: "conference.eject",
            reason: "forbidden".into()
        }]
    );

    // A SIP failure: the status line.
    joined
        .harness
        .command(Command::ConferenceLock { locked: true });
    let info = joined.harness.take(Method::Info);
    joined.harness.reply(&info, 481, &[], None);
    assert!(joined.harness.took(|e| matches!(e,
        Event::CommandFailed { command: "conference.lock", reason } if reason.starts_with("481"))));

    // No answer at all: Timer F.
    joined.harness.drain_events();
    joined.harness.command(Command::ConferenceEnd);
    joined.harness.take(Method::Info);
    joined.harness.advance(Duration::from_secs(40));
    // Its retransmissions are of no more interest.
    joined.harness.sent.clear();
    assert!(joined.harness.took(|e| matches!(e,
        Event::CommandFailed { command: "conference.end", reason } if reason.contains("408"))));

    // Malformed C3P in the 200: logged, the command failed, nothing panics.
    for body in [&b"garbage"[..], b"<response/>", b"<?xml version='1.0'?><request xmlns='urn:ietf:params:xml:ns:cccp' C3PVersion='1' requestId='1' from='a' to='b'><deleteUser/></request>"] {
        joined.harness.drain_events();
        joined.harness.command(Command::ConferenceLock { locked: false });
        let info = joined.harness.take(Method::Info);
        joined
            .harness
            .reply(&info, 200, &[], Some((c3p::CONTENT_TYPE, body)));
        assert!(joined.harness.took(|e| matches!(e,
            Event::CommandFailed { command: "conference.lock", reason } if reason.contains("unreadable"))));
    }
}

#[test]
fn a_number_is_normalized_before_the_dial_out_and_a_bad_one_never_sent() {
    let mut joined = joined_with_amy_in_audio();
    // The harness's server has no provisioning: the shipped US profile.
    for (typed, tel) in [
        ("555 0123", "tel:+14255550123"),
        ("(425) 503-2002", "tel:+14255032002"),
        ("011 44 20 7946 0958", "tel:+442079460958"),
        ("tel:0123", "tel:+14255550123"),
    ] {
        let invite = run(
            &mut joined,
            Command::ConferenceInvite { uri: typed.into() },
            None,
        );
        let C3pCommand::AddUser(add) = invite else {
            panic!("not addUser");
        };
        assert_eq!(add.user.entity, tel, "{typed}");
        assert_eq!(
            add.user.endpoint.unwrap().endpoint_uri.as_deref(),
            Some(tel),
            "{typed}"
        );
    }
    joined.harness.drain_events();
    for (typed, reason) in [
        ("555-CALL", "'C' is not a digit"),
        ("12345", "no rule of location profile US matches 12345"),
        (
            "011",
            "rule \"international\" of location profile US makes \"+\"",
        ),
    ] {
        joined
            .harness
            .command(Command::ConferenceInvite { uri: typed.into() });
        assert!(
            joined.harness.took(|e| matches!(e,
                Event::CommandFailed { command: "conference.invite", reason: why } if why.starts_with(reason))),
            "{typed}: {:?}",
            joined.harness.events
        );
        joined.harness.command(Command::JoinConferenceAudio {
            via: AudioVia::Phone {
                number: typed.into(),
            },
        });
        assert!(
            joined.harness.took(|e| matches!(e,
                Event::CommandFailed { command: "conference.join_audio", reason: why } if why.starts_with(reason))),
            "{typed}: {:?}",
            joined.harness.events
        );
        joined.harness.drain_events();
    }
    assert!(joined.harness.sent_request(Method::Info).is_none());
}

#[test]
fn commands_need_a_conference_and_mute_needs_the_user_in_its_audio() {
    let mut harness = Harness::signed_in("vivian");
    for command in [
        Command::ConferenceEject { uri: AMY.into() },
        Command::ConferenceLock { locked: true },
        Command::ConferenceEnd,
        Command::ConferenceInvite { uri: AMY.into() },
        Command::LeaveConference,
        Command::ConferenceIm {
            id: 1,
            text: "hi".into(),
        },
        Command::ConferenceTyping,
    ] {
        let name = command.name();
        harness.command(command);
        assert_eq!(
            harness.drain_events(),
            [Event::CommandFailed {
                command: name,
                reason: "not in a conference".into()
            }]
        );
    }
    assert!(harness.sent_request(Method::Info).is_none());

    let mut joined = joined_with_amy_in_audio();
    joined.harness.command(Command::ConferenceMute {
        uri: VIVIAN.into(),
        muted: true,
    });
    assert!(joined.harness.took(|e| matches!(e,
        Event::CommandFailed { command: "conference.mute", reason } if reason.contains("not in the conference's audio"))));
    assert!(joined.harness.sent_request(Method::Info).is_none());
}

#[test]
fn commands_given_while_joining_wait_for_the_focus_dialog() {
    let mut harness = Harness::signed_in("vivian");
    harness.command(Command::CreateConference);
    harness.command(Command::ConferenceLock { locked: true });
    assert!(harness.sent_request(Method::Info).is_none());
    let service = harness.take(Method::Service);
    let body = c3p_success(&c3p_of(&service), |command| {
        if let C3pCommand::AddConference(info) = command {
            info.entity = focus();
        }
    });
    harness.reply(&service, 200, &[], Some((c3p::CONTENT_TYPE, &body)));
    let invite = harness.take(Method::Invite);
    let body = c3p_success(&c3p_of(&invite), |_| {});
    harness.reply_tagged(
        &invite,
        200,
        "focus1",
        &[("Contact", &format!("<{}>", focus()))],
        Some((c3p::CONTENT_TYPE, &body)),
    );
    let info = harness.take(Method::Info);
    assert!(matches!(
        c3p_of(&info).command,
        C3pCommand::ModifyConferenceLock(c3p::ModifyConferenceLock { locked: true, .. })
    ));
    // Without Record-Route the INFO goes to the focus URI itself, through
    // our outbound proxy.
    assert_eq!(header(&info, "Route"), None);
}
