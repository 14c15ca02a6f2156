//! Creating, joining, escalating, and being invited.

use super::*;
use crate::client::AudioVia;
use crate::proto::c3p::{AdmissionPolicy, JoiningMethod};
use crate::proto::sdp::{self, AudioCodec, Direction, LocalMedia};

#[test]
fn create_joins_the_focus_and_subscribes_to_its_roster() {
    let mut harness = Harness::signed_in("vivian");
    harness.command(Command::CreateConference);

    // SERVICE addConference to our focus factory.
    let service = harness.take(Method::Service);
    assert_eq!(
        service.uri.to_string(),
        "sip:vivian@confab.local;gruu;opaque=app:conf:focusfactory"
    );
    let create = c3p_of(&service);
    assert_eq!(create.from, VIVIAN);
    assert_eq!(create.to, service.uri.to_string());
    let C3pCommand::AddConference(info) = &create.command else {
        panic!("not addConference: {create:?}");
    };
    assert_eq!(info.entity, "");
    assert_eq!(info.entity_views, ["chat", "audio-video"]);
    assert_eq!(
        info.admission_policy,
        Some(AdmissionPolicy::OpenAuthenticated)
    );
    let body = c3p_success(&create, |command| {
        if let C3pCommand::AddConference(info) = command {
            info.entity = focus();
        }
    });
    harness.reply(&service, 200, &[], Some((c3p::CONTENT_TYPE, &body)));

    // INVITE addUser to the focus, no SDP.
    let invite = harness.take(Method::Invite);
    assert_eq!(invite.uri.to_string(), focus());
    assert_eq!(header(&invite, "To").unwrap(), format!("<{}>", focus()));
    let join = c3p_of(&invite);
    assert_ne!(join.request_id, create.request_id);
    let C3pCommand::AddUser(add) = &join.command else {
        panic!("not addUser: {join:?}");
    };
    assert_eq!(add.conf_entity, focus());
    assert_eq!(add.user.entity, VIVIAN);
    assert!(!add.is_dial_out());
    assert!(header(&invite, "Contact").unwrap().contains(CLIENT));
    let body = c3p_success(&join, |command| {
        if let C3pCommand::AddUser(add) = command {
            add.user.role = Some(Role::Presenter);
        }
    });
    let contact = format!("<{}>;isfocus", focus());
    harness.reply_tagged(
        &invite,
        200,
        "focus1",
        &[("Contact", &contact), ("Record-Route", RECORD_ROUTE)],
        Some((c3p::CONTENT_TYPE, &body)),
    );

    // RFC 3261 §13.2.2.4: the ACK, in the dialog, through the server.
    let ack = harness.take(Method::Ack);
    assert_eq!(ack.uri.to_string(), focus());
    assert_eq!(header(&ack, "Route").as_deref(), Some(RECORD_ROUTE));
    assert!(header(&ack, "To").unwrap().contains("tag=focus1"));
    assert_eq!(header(&ack, "CSeq").as_deref(), Some("1 ACK"));
    assert!(harness.took(|e| *e
        == Event::ConferenceJoined {
            focus: focus(),
            role: "presenter".into()
        }));

    // SUBSCRIBE Event: conference to the focus.
    let subscribe = harness.take(Method::Subscribe);
    assert_eq!(subscribe.uri.to_string(), focus());
    assert_eq!(header(&subscribe, "Event").as_deref(), Some("conference"));
    assert_eq!(
        header(&subscribe, "Accept").as_deref(),
        Some("application/conference-info+xml")
    );
    assert!(header(&subscribe, "Expires").is_some());
    // A retransmitted 2xx is ACKed again (RFC 3261 §13.2.2.4).
    harness.reply_tagged(
        &invite,
        200,
        "focus1",
        &[("Contact", &contact), ("Record-Route", RECORD_ROUTE)],
        Some((c3p::CONTENT_TYPE, &body)),
    );
    assert!(harness.sent_request(Method::Ack).is_some());
    // Nothing failed on the way.
    assert!(!harness.took(|e| matches!(e, Event::CommandFailed { .. })));
}

#[test]
fn the_factory_or_the_focus_saying_no_fails_the_command() {
    // A C3P failure: its reason.
    let mut harness = Harness::signed_in("vivian");
    harness.command(Command::CreateConference);
    let service = harness.take(Method::Service);
    let refusal = c3p_of(&service)
        .failure(c3p::FailureReason::Forbidden)
        .to_xml();
    harness.reply(
        &service,
        200,
        &[],
        Some((c3p::CONTENT_TYPE, refusal.as_bytes())),
    );
    assert_eq!(
        harness.drain_events(),
        [Event::CommandFailed {
            command: "conference.create",
            reason: "forbidden".into()
        }]
    );
    assert!(harness.sent_request(Method::Invite).is_none());

    // A SIP failure: the status.
    harness.command(Command::Escalate {
        with: vec!["amy".into()],
        via: AudioVia::Client,
    });
    let service = harness.take(Method::Service);
    harness.reply(&service, 503, &[], None);
    assert!(harness.took(|e| matches!(e,
        Event::CommandFailed { command: "escalate", reason } if reason.starts_with("503"))));

    // A malformed body is logged and fails the command; nothing panics.
    for body in [
        &b"<request/>"[..],
        b"\xff\xfe",
        b"<response xmlns='urn:ietf:params:xml:ns:cccp'",
    ] {
        harness.drain_events();
        harness.command(Command::CreateConference);
        let service = harness.take(Method::Service);
        harness.reply(&service, 200, &[], Some((c3p::CONTENT_TYPE, body)));
        assert!(harness.took(|e| matches!(e,
            Event::CommandFailed { command: "conference.create", reason } if reason.contains("unreadable"))));
    }

    // The focus refuses the join: 403 with its diagnostic.
    harness.drain_events();
    harness.command(Command::CreateConference);
    let service = harness.take(Method::Service);
    let body = c3p_success(&c3p_of(&service), |command| {
        if let C3pCommand::AddConference(info) = command {
            info.entity = focus();
        }
    });
    harness.reply(&service, 200, &[], Some((c3p::CONTENT_TYPE, &body)));
    let invite = harness.take(Method::Invite);
    harness.reply(
        &invite,
        403,
        &[("ms-diagnostics", "3014;reason=\"conference locked\"")],
        None,
    );
    assert_eq!(
        harness.drain_events(),
        [Event::CommandFailed {
            command: "conference.create",
            reason: "403 Forbidden (conference locked)".into()
        }]
    );
    // Not in a conference now, so a new one can start.
    harness.command(Command::LeaveConference);
    assert!(harness.took(|e| matches!(e,
        Event::CommandFailed { command: "conference.leave", reason } if reason == "not in a conference")));
}

#[test]
fn one_conference_at_a_time_and_only_signed_in() {
    let mut joined = Joined::new();
    joined.harness.command(Command::CreateConference);
    assert!(joined.harness.took(|e| matches!(e,
        Event::CommandFailed { command: "conference.create", reason } if reason.contains("already in a conference"))));

    let mut client = Client::new(ClientConfig {
        user: "amy".into(),
        domain: "confab.local".into(),
        password: "amy".into(),
        server: Peer::udp(SERVER.parse().unwrap()),
        local: CLIENT.parse().unwrap(),
        register_expiry: Duration::from_secs(300),
        keepalive_interval: Duration::from_secs(30),
        media_port: 40_000,
        seed: 1,
    });
    client.handle_command(Time::ZERO, Command::CreateConference);
    assert_eq!(
        client.poll_event(),
        Some(Event::CommandFailed {
            command: "conference.create",
            reason: "not signed in".into()
        })
    );
}

#[test]
fn escalation_joins_the_audio_and_dials_out_to_each() {
    let mut joined = Joined::by(Command::Escalate {
        with: vec!["amy".into(), "sip:hao@confab.local".into()],
        via: AudioVia::Client,
    });
    let harness = &mut joined.harness;
    // The audio: a normal call with SDP straight to the A/V MCU.
    let invite = harness.take(Method::Invite);
    assert_eq!(invite.uri.to_string(), av_mcu());
    assert_eq!(
        header(&invite, "Content-Type").as_deref(),
        Some("application/sdp")
    );
    assert!(!invite.body.is_empty());

    // The dial-outs: INFO addUser in the focus dialog, one at a time.
    let info = harness.take(Method::Info);
    assert_eq!(info.uri.to_string(), focus());
    assert_eq!(header(&info, "Route").as_deref(), Some(RECORD_ROUTE));
    assert_eq!(header(&info, "Call-ID"), header(&joined.invite, "Call-ID"));
    assert_eq!(header(&info, "CSeq").as_deref(), Some("2 INFO"));
    let request = c3p_of(&info);
    let C3pCommand::AddUser(add) = &request.command else {
        panic!("not addUser: {request:?}");
    };
    assert_eq!(add.mcu_uri.as_deref(), Some(av_mcu().as_str()));
    assert_eq!(add.user.entity, AMY);
    let endpoint = add.user.endpoint.as_ref().unwrap();
    assert_eq!(endpoint.endpoint_uri.as_deref(), Some(AMY));
    assert_eq!(endpoint.joining_method, Some(JoiningMethod::DialedOut));
    assert!(endpoint.entity.starts_with('{'), "{}", endpoint.entity);
    assert!(
        harness.sent_request(Method::Info).is_none(),
        "one INFO at a time"
    );
    let body = c3p_success(&request, |_| {});
    harness.reply(&info, 200, &[], Some((c3p::CONTENT_TYPE, &body)));
    let info = harness.take(Method::Info);
    assert_eq!(header(&info, "CSeq").as_deref(), Some("3 INFO"));
    let C3pCommand::AddUser(add) = c3p_of(&info).command else {
        panic!("not addUser");
    };
    assert_eq!(add.user.entity, HAO);

    // The MCU answers the audio call: In a conference, not In a call.
    let answer = sdp::offer(&LocalMedia {
        ip: "10.0.0.1".parse().unwrap(),
        port: 30_000,
        codecs: vec![AudioCodec::Opus],
        direction: Direction::SendRecv,
        session_id: 9,
        version: 1,
    });
    harness.reply_tagged(
        &invite,
        200,
        "mcu1",
        &[("Contact", &format!("<{}>", av_mcu()))],
        Some(("application/sdp", answer.as_bytes())),
    );
    assert!(harness.took(|e| matches!(e, Event::CallConnected { peer } if *peer == av_mcu())));
    let publish_state = harness.took(|e| {
        matches!(
            e,
            Event::Presence {
                availability: crate::proto::pidf::Availability::InAConference,
                ..
            }
        )
    });
    assert!(publish_state, "{:#?}", harness.events);
    assert!(
        harness
            .io
            .iter()
            .any(|r| matches!(r, IoRequest::StartMedia { .. }))
    );
}

#[test]
fn audio_by_phone_is_a_dial_out_to_ourselves() {
    let mut joined = Joined::new();
    let harness = &mut joined.harness;
    harness.command(Command::JoinConferenceAudio {
        via: AudioVia::Phone {
            number: "+1 425 503 2002".into(),
        },
    });
    let info = harness.take(Method::Info);
    let C3pCommand::AddUser(add) = c3p_of(&info).command else {
        panic!("not addUser");
    };
    assert_eq!(add.user.entity, VIVIAN);
    assert_eq!(
        add.user.endpoint.unwrap().endpoint_uri.as_deref(),
        Some("tel:+14255032002")
    );
    harness.command(Command::JoinConferenceAudio {
        via: AudioVia::Phone {
            number: "call me".into(),
        },
    });
    assert!(harness.took(|e| matches!(
        e,
        Event::CommandFailed {
            command: "conference.join_audio",
            ..
        }
    )));
}

/// The A/V MCU's dial-out INVITE to Amy, invited by Vivian.
fn mcu_invite(harness: &mut Harness, referred_by: Option<&str>) -> String {
    let offer = sdp::offer(&LocalMedia {
        ip: "10.0.0.1".parse().unwrap(),
        port: 30_002,
        codecs: vec![AudioCodec::Opus, AudioCodec::Pcmu],
        direction: Direction::SendRecv,
        session_id: 5,
        version: 1,
    });
    let referred_by = referred_by.map_or(String::new(), |by| format!("Referred-By: <{by}>\r\n"));
    let cseq = harness.next_cseq();
    let head = format!(
        "INVITE sip:amy@{CLIENT} SIP/2.0\r\n\
         From: \"Weekly sync\" <{mcu}>;tag=mcu7\r\n\
         To: <{AMY}>\r\n\
         Call-ID: dialout1@10.0.0.1\r\n\
         CSeq: {cseq} INVITE\r\n\
         Contact: <{mcu}>\r\n\
         Record-Route: {RECORD_ROUTE}\r\n\
         {referred_by}\
         Content-Type: application/sdp\r\n",
        mcu = av_mcu(),
    );
    harness.send_request(&head, offer.as_bytes());
    offer
}

#[test]
fn an_invitation_rings_and_answering_joins_the_focus() {
    let mut harness = Harness::signed_in("amy");
    mcu_invite(&mut harness, Some(VIVIAN));
    let ringing = harness.take_response(Method::Invite);
    assert_eq!(ringing.status_code.code(), 180);
    assert!(harness.took(|e| *e
        == Event::ConferenceInvitation {
            from: VIVIAN.into(),
            focus: focus()
        }));
    assert!(!harness.took(|e| matches!(e, Event::IncomingCall { .. })));

    harness.command(Command::AnswerCall);
    let ok = harness.take_response(Method::Invite);
    assert_eq!(ok.status_code.code(), 200);
    assert_eq!(
        header(&ok, "Content-Type").as_deref(),
        Some("application/sdp")
    );
    // Then the focus: INVITE addUser, as after a create.
    let invite = harness.take(Method::Invite);
    assert_eq!(invite.uri.to_string(), focus());
    let join = c3p_of(&invite);
    let C3pCommand::AddUser(add) = &join.command else {
        panic!("not addUser");
    };
    assert_eq!(add.user.entity, AMY);
    let body = c3p_success(&join, |command| {
        if let C3pCommand::AddUser(add) = command {
            add.user.role = Some(Role::Attendee);
        }
    });
    harness.reply_tagged(
        &invite,
        200,
        "focus2",
        &[("Contact", &format!("<{}>;isfocus", focus()))],
        Some((c3p::CONTENT_TYPE, &body)),
    );
    assert!(harness.sent_request(Method::Ack).is_some());
    assert!(harness.took(|e| *e
        == Event::ConferenceJoined {
            focus: focus(),
            role: "attendee".into()
        }));
    let subscribe = harness.take(Method::Subscribe);
    assert_eq!(subscribe.uri.to_string(), focus());
}

#[test]
fn an_invitation_without_referred_by_names_the_organizer() {
    let mut harness = Harness::signed_in("amy");
    mcu_invite(&mut harness, None);
    assert!(harness.took(|e| *e
        == Event::ConferenceInvitation {
            from: VIVIAN.into(),
            focus: focus()
        }));
    // Declining it joins nothing.
    harness.command(Command::DeclineCall);
    assert_eq!(
        harness.take_response(Method::Invite).status_code.code(),
        180
    );
    assert_eq!(
        harness.take_response(Method::Invite).status_code.code(),
        603
    );
    assert!(harness.sent_request(Method::Invite).is_none());
}

#[test]
fn conference_uris_are_found_after_any_display_name() {
    use crate::client::conference::conference_uri_in;
    let mcu = av_mcu();
    for value in [
        format!("<{mcu}>;tag=1"),
        format!("\"Q3 <plans> \\\"x\\\"\" <{mcu}>;tag=1"),
        format!("Weekly <{mcu}>"),
    ] {
        assert_eq!(
            conference_uri_in(&value).unwrap().to_string(),
            mcu,
            "{value}"
        );
    }
    for value in [
        "<sip:amy@confab.local>",
        "\"unclosed <x>",
        "sip:a@b",
        "",
        "<",
        "\"\\",
    ] {
        assert!(conference_uri_in(value).is_none(), "{value}");
    }
}

#[test]
fn leaving_before_the_factory_answers_ignores_its_answer() {
    let mut harness = Harness::signed_in("vivian");
    harness.command(Command::CreateConference);
    let service = harness.take(Method::Service);
    harness.command(Command::LeaveConference);
    assert_eq!(
        harness.drain_events(),
        [Event::ConferenceEnded {
            focus: String::new()
        }]
    );
    let body = c3p_success(&c3p_of(&service), |command| {
        if let C3pCommand::AddConference(info) = command {
            info.entity = focus();
        }
    });
    harness.reply(&service, 200, &[], Some((c3p::CONTENT_TYPE, &body)));
    assert!(harness.sent_request(Method::Invite).is_none());
    assert!(harness.drain_events().is_empty());
}

/// Created, the joining INVITE out; returns it.
fn joining(harness: &mut Harness) -> Request {
    harness.command(Command::CreateConference);
    let service = harness.take(Method::Service);
    let body = c3p_success(&c3p_of(&service), |command| {
        if let C3pCommand::AddConference(info) = command {
            info.entity = focus();
        }
    });
    harness.reply(&service, 200, &[], Some((c3p::CONTENT_TYPE, &body)));
    harness.take(Method::Invite)
}

#[test]
fn a_join_answer_that_cannot_be_read_still_joins_and_a_c3p_refusal_leaves() {
    // Unreadable C3P in the 200: admitted at the SIP level, so joined, as
    // attendee until the roster says more.
    let mut harness = Harness::signed_in("vivian");
    let invite = joining(&mut harness);
    let contact = format!("<{}>;isfocus", focus());
    harness.reply_tagged(
        &invite,
        200,
        "focus1",
        &[("Contact", &contact)],
        Some((c3p::CONTENT_TYPE, b"<response")),
    );
    assert!(harness.sent_request(Method::Ack).is_some());
    assert!(harness.took(|e| *e
        == Event::ConferenceJoined {
            focus: focus(),
            role: "attendee".into()
        }));
    assert!(harness.sent_request(Method::Subscribe).is_some());

    // A C3P failure in the 200: ACK, then BYE, and the command failed.
    let mut harness = Harness::signed_in("vivian");
    let invite = joining(&mut harness);
    let refusal = c3p_of(&invite)
        .failure(c3p::FailureReason::MaximumMeetingSizeExceeded)
        .to_xml();
    harness.reply_tagged(
        &invite,
        200,
        "focus1",
        &[("Contact", &contact)],
        Some((c3p::CONTENT_TYPE, refusal.as_bytes())),
    );
    assert!(harness.sent_request(Method::Ack).is_some());
    let bye = harness.take(Method::Bye);
    assert!(header(&bye, "To").unwrap().contains("tag=focus1"));
    assert_eq!(
        harness.drain_events(),
        [Event::CommandFailed {
            command: "conference.create",
            reason: "maximumMeetingSizeExceeded".into()
        }]
    );
    assert!(harness.sent_request(Method::Subscribe).is_none());

    // A focus URI that is not one: refused before any INVITE.
    let mut harness = Harness::signed_in("vivian");
    harness.command(Command::CreateConference);
    let service = harness.take(Method::Service);
    let body = c3p_success(&c3p_of(&service), |command| {
        if let C3pCommand::AddConference(info) = command {
            info.entity = av_mcu();
        }
    });
    harness.reply(&service, 200, &[], Some((c3p::CONTENT_TYPE, &body)));
    assert!(harness.sent_request(Method::Invite).is_none());
    assert!(harness.took(|e| matches!(e,
        Event::CommandFailed { reason, .. } if reason.contains("no focus URI"))));
}
