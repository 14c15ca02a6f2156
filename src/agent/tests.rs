use super::*;

#[test]
fn commands_parse_by_their_contract_names() {
    assert_eq!(
        parse_command(r#"{"cmd":"quit"}"#),
        Ok(Some(client::Command::Quit))
    );
    assert_eq!(
        parse_command(r#"{"cmd":"call.answer"}"#),
        Ok(Some(client::Command::AnswerCall))
    );
    assert_eq!(parse_command("   "), Ok(None));
}

#[test]
fn bad_lines_become_error_events_naming_the_command() {
    let Err(AgentEvent::Error { command, reason }) = parse_command(r#"{"cmd":"fly"}"#) else {
        panic!("an unknown command must be an error");
    };
    assert_eq!(command.as_deref(), Some("fly"));
    assert!(reason.contains("not a command"), "{reason}");
    assert!(matches!(
        parse_command("{not json"),
        Err(AgentEvent::Error { command: None, .. })
    ));
}

#[test]
fn events_print_with_their_contract_names() {
    let line = event_line(&client::Event::Registered {
        uri: "sip:amy@confab.local".into(),
    });
    assert_eq!(
        line.as_deref(),
        Some(r#"{"event":"registered","uri":"sip:amy@confab.local"}"#)
    );
    let line = event_line(&client::Event::RegistrationFailed {
        reason: "403 Forbidden".into(),
    });
    assert_eq!(
        line.as_deref(),
        Some(r#"{"event":"registration_failed","reason":"403 Forbidden"}"#)
    );
    let line = event_line(&client::Event::CallRinging {
        peer: "sip:hao@confab.local".into(),
    });
    assert_eq!(
        line.as_deref(),
        Some(r#"{"event":"call","peer":"sip:hao@confab.local","state":"ringing"}"#)
    );
}

#[test]
fn every_conference_command_parses() {
    let cases = [
        (
            r#"{"cmd":"escalate","with":["sip:amy@confab.local","hao"]}"#,
            client::Command::Escalate {
                with: vec!["sip:amy@confab.local".into(), "hao".into()],
                via: client::AudioVia::Client,
            },
        ),
        (
            r#"{"cmd":"conference.create"}"#,
            client::Command::CreateConference,
        ),
        (
            r#"{"cmd":"conference.join_audio","via":"client"}"#,
            client::Command::JoinConferenceAudio {
                via: client::AudioVia::Client,
            },
        ),
        (
            r#"{"cmd":"conference.join_audio","via":"phone","number":"+14255032002"}"#,
            client::Command::JoinConferenceAudio {
                via: client::AudioVia::Phone {
                    number: "+14255032002".into(),
                },
            },
        ),
        (
            r#"{"cmd":"conference.invite","uri":"sip:hao@confab.local"}"#,
            client::Command::ConferenceInvite {
                uri: "sip:hao@confab.local".into(),
            },
        ),
        (
            r#"{"cmd":"conference.eject","uri":"amy"}"#,
            client::Command::ConferenceEject { uri: "amy".into() },
        ),
        (
            r#"{"cmd":"conference.promote","uri":"amy"}"#,
            client::Command::ConferenceSetRole {
                uri: "amy".into(),
                leader: true,
            },
        ),
        (
            r#"{"cmd":"conference.demote","uri":"amy"}"#,
            client::Command::ConferenceSetRole {
                uri: "amy".into(),
                leader: false,
            },
        ),
        (
            r#"{"cmd":"conference.mute","uri":"amy","muted":true}"#,
            client::Command::ConferenceMute {
                uri: "amy".into(),
                muted: true,
            },
        ),
        (
            r#"{"cmd":"conference.lock","locked":false}"#,
            client::Command::ConferenceLock { locked: false },
        ),
        (
            r#"{"cmd":"conference.end"}"#,
            client::Command::ConferenceEnd,
        ),
        (
            r#"{"cmd":"conference.leave"}"#,
            client::Command::LeaveConference,
        ),
        (
            r#"{"cmd":"conference.im","text":"hi all","id":4}"#,
            client::Command::ConferenceIm {
                id: 4,
                text: "hi all".into(),
            },
        ),
        (
            r#"{"cmd":"conference.typing"}"#,
            client::Command::ConferenceTyping,
        ),
    ];
    for (line, command) in cases {
        assert_eq!(parse_command(line), Ok(Some(command.clone())), "{line}");
        // The name a failure reports is the command's own.
        let name: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(name["cmd"], command.name(), "{line}");
    }
}

#[test]
fn conference_ims_share_the_numbering_of_ims() {
    let mut reader = CommandReader::default();
    let im = reader
        .read(r#"{"cmd":"im","to":"amy","text":"a"}"#)
        .unwrap();
    assert!(matches!(im, Some(client::Command::SendIm { id: 1, .. })));
    let im = reader
        .read(r#"{"cmd":"conference.im","text":"b"}"#)
        .unwrap();
    assert!(matches!(
        im,
        Some(client::Command::ConferenceIm { id: 2, .. })
    ));
}

#[test]
fn bad_conference_commands_are_errors() {
    for (line, wanted) in [
        (
            r#"{"cmd":"conference.join_audio","via":"phone"}"#,
            "needs a number",
        ),
        (
            r#"{"cmd":"conference.join_audio","via":"pigeon"}"#,
            "neither",
        ),
        (r#"{"cmd":"conference.mute","uri":"amy"}"#, "muted"),
        (r#"{"cmd":"conference.lock"}"#, "locked"),
    ] {
        let Err(AgentEvent::Error { command, reason }) = parse_command(line) else {
            panic!("{line} must be an error");
        };
        assert!(
            command.is_some_and(|c| c.starts_with("conference.")),
            "{line}"
        );
        assert!(reason.contains(wanted), "{line}: {reason}");
    }
}

#[test]
fn conference_events_print_with_their_contract_names() {
    let focus = "sip:vivian@confab.local;gruu;opaque=app:conf:focus:id:K7Q2M9XA4B";
    let line = |event: client::Event| event_line(&event).unwrap();
    assert_eq!(
        line(client::Event::ConferenceJoined {
            focus: focus.into(),
            role: "presenter".into()
        }),
        format!(r#"{{"event":"conference","focus":"{focus}","role":"presenter"}}"#)
    );
    let roster = line(client::Event::Roster {
        focus: focus.into(),
        version: 4,
        locked: true,
        dial_in: None,
        users: vec![
            client::Participant {
                uri: "sip:amy@confab.local".into(),
                display: "Amy Rivera".into(),
                roles: vec!["attendee".into()],
                status: "connected".into(),
                audio: "connected".into(),
                muted: true,
                reason: None,
                joining: None,
                src_id: Some(7),
                quality: Some(client::Quality {
                    codec: Some("Opus".into()),
                    loss_permille: Some(4),
                    jitter_ms: Some(3),
                    rtt_ms: None,
                    buffer_ms: Some(60),
                }),
            },
            client::Participant {
                uri: "sip:hao@confab.local".into(),
                display: "sip:hao@confab.local".into(),
                roles: vec!["presenter".into()],
                status: "connected".into(),
                audio: "none".into(),
                muted: false,
                reason: None,
                joining: None,
                src_id: None,
                quality: None,
            },
        ],
    });
    assert_eq!(
        roster,
        format!(
            r#"{{"event":"roster","focus":"{focus}","version":4,"locked":true,"users":[{{"uri":"sip:amy@confab.local","display":"Amy Rivera","roles":["attendee"],"status":"connected","audio":"connected","muted":true,"src_id":7,"quality":{{"codec":"Opus","loss":0.4,"jitter_ms":3,"buffer_ms":60}}}},{{"uri":"sip:hao@confab.local","display":"sip:hao@confab.local","roles":["presenter"],"status":"connected","audio":"none","muted":false}}]}}"#
        )
    );
    assert_eq!(
        line(client::Event::ConferenceInvitation {
            from: "sip:vivian@confab.local".into(),
            focus: focus.into()
        }),
        format!(
            r#"{{"event":"incoming_call","from":"sip:vivian@confab.local","conference":"{focus}"}}"#
        )
    );
    assert_eq!(
        line(client::Event::IncomingCall {
            from: "sip:amy@confab.local".into()
        }),
        r#"{"event":"incoming_call","from":"sip:amy@confab.local"}"#
    );
    assert_eq!(
        line(client::Event::ConferenceIm {
            focus: focus.into(),
            from: "sip:amy@confab.local".into(),
            text: "hi".into()
        }),
        format!(
            r#"{{"event":"im","from":"sip:amy@confab.local","text":"hi","conference":"{focus}"}}"#
        )
    );
    assert_eq!(
        line(client::Event::Im {
            from: "sip:amy@confab.local".into(),
            text: "hi".into()
        }),
        r#"{"event":"im","from":"sip:amy@confab.local","text":"hi"}"#
    );
    assert_eq!(
        line(client::Event::ConferenceTyping {
            focus: focus.into(),
            from: "sip:amy@confab.local".into()
        }),
        format!(r#"{{"event":"typing","from":"sip:amy@confab.local","conference":"{focus}"}}"#)
    );
    assert_eq!(
        line(client::Event::Ejected {
            focus: focus.into()
        }),
        format!(r#"{{"event":"ejected","focus":"{focus}"}}"#)
    );
    assert_eq!(
        line(client::Event::ConferenceEnded {
            focus: focus.into()
        }),
        format!(r#"{{"event":"conference_ended","focus":"{focus}"}}"#)
    );
}

#[test]
fn normalize_parses_and_its_answer_prints_by_the_contract() {
    assert_eq!(
        parse_command(r#"{"cmd":"normalize","number":"(425) 555-0123"}"#),
        Ok(Some(client::Command::Normalize {
            number: "(425) 555-0123".into()
        }))
    );
    assert!(matches!(
        parse_command(r#"{"cmd":"normalize"}"#),
        Err(AgentEvent::Error { command: Some(name), .. }) if name == "normalize"
    ));
    let line = event_line(&client::Event::Normalized {
        number: "5550123".into(),
        e164: "+14255550123".into(),
        rule: "7-digit local".into(),
    });
    assert_eq!(
        line.as_deref(),
        Some(
            r#"{"event":"normalized","number":"5550123","e164":"+14255550123","rule":"7-digit local"}"#
        )
    );
    let line = event_line(&client::Event::CommandFailed {
        command: "normalize",
        reason: "no rule of location profile US matches 12345".into(),
    });
    assert_eq!(
        line.as_deref(),
        Some(
            r#"{"event":"error","command":"normalize","reason":"no rule of location profile US matches 12345"}"#
        )
    );
    // Provisioning is the core's own business: no line.
    let provisioned = client::Event::Provisioned {
        location_profile: client::LocationProfile::fallback(),
        from_server: true,
        work_number: None,
    };
    assert_eq!(event_line(&provisioned), None);
}
