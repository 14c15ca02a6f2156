//! Whole conferences between client cores and the server, in virtual time:
//! escalation, invitation, the roster on every participant, the leader's
//! commands and leaving; 3 participants and 50.

use std::time::Duration;

use confab::client::{AudioVia, Availability, Command, Event, Participant};
use confab::proto::IoRequest;

use crate::simnet::*;

/// The users of a client's latest roster, sorted by URI.
fn latest_roster(net: &Network, client: usize) -> Vec<Participant> {
    let mut users = rosters(net, client)
        .pop()
        .map(|(_, users)| users)
        .unwrap_or_default();
    users.sort_by(|a, b| a.uri.cmp(&b.uri));
    users
}

fn uris(users: &[Participant]) -> Vec<&str> {
    users.iter().map(|user| user.uri.as_str()).collect()
}

/// Every roster a client applied is one version newer than the one before
/// it, unless it is a full document after a resubscription.
fn assert_versions_rise_by_one(net: &Network, client: usize) {
    let versions: Vec<u32> = rosters(net, client).iter().map(|(v, _)| *v).collect();
    for pair in versions.windows(2) {
        assert!(
            pair[1] == pair[0] + 1,
            "client {client}: roster versions {versions:?}"
        );
    }
}

fn in_roster(
    net: &Network,
    client: usize,
    uri: &str,
    wanted: impl Fn(&Participant) -> bool,
) -> bool {
    latest_roster(net, client)
        .iter()
        .any(|user| user.uri == uri && wanted(user))
}

fn invited(net: &Network, client: usize) -> bool {
    net.has_event(client, |e| matches!(e, Event::ConferenceInvitation { .. }))
}

fn failed(net: &Network, client: usize, command: &str) -> Option<String> {
    net.clients[client]
        .events
        .iter()
        .find_map(|event| match event {
            Event::CommandFailed {
                command: name,
                reason,
            } if *name == command => Some(reason.clone()),
            _ => None,
        })
}

const VIVIAN: &str = "sip:vivian@confab.local";
const AMY: &str = "sip:amy@confab.local";
const HAO: &str = "sip:hao@confab.local";

#[test]
fn three_escalate_invite_mute_promote_eject_and_leave_with_rosters_converging() {
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let amy = net.add_client("10.0.0.12:5060", "amy", "amy");
    let hao = net.add_client("10.0.0.13:5060", "hao", "hao");
    net.run_until(Duration::from_secs(10), |net| {
        (0..3).all(|client| net.has_event(client, registered))
    });

    // Vivian adds audio to her IM with Amy: a conference she leads, her
    // audio through this client, and the focus dialling Amy.
    net.command(
        vivian,
        Command::Escalate {
            with: vec![AMY.into()],
            via: AudioVia::Client,
        },
    );
    net.run_until(Duration::from_secs(10), |net| invited(net, amy));
    assert!(net.has_event(
        vivian,
        |e| matches!(e, Event::ConferenceJoined { role, .. } if role == "presenter")
    ));
    net.command(amy, Command::AnswerCall);
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(
            amy,
            |e| matches!(e, Event::ConferenceJoined { role, .. } if role == "attendee"),
        ) && in_roster(net, vivian, AMY, |user| user.audio == "connected")
            && in_roster(net, amy, VIVIAN, |user| user.audio == "connected")
    });

    net.command(vivian, Command::ConferenceInvite { uri: HAO.into() });
    net.run_until(Duration::from_secs(10), |net| invited(net, hao));
    net.command(hao, Command::AnswerCall);
    net.run_until(Duration::from_secs(10), |net| {
        (0..3).all(|client| {
            latest_roster(net, client).len() == 3
                && in_roster(net, client, HAO, |user| user.audio == "connected")
        })
    });
    // In a conference's audio, presence says so to those who watch.
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(amy, |e| {
            matches!(e, Event::Presence { uri, availability: Availability::InAConference, .. } if uri == VIVIAN)
        })
    });
    let everyone = latest_roster(&net, vivian);
    assert_eq!(uris(&everyone), vec![AMY, HAO, VIVIAN]);
    assert!(
        everyone.iter().all(|user| user.src_id.is_some()),
        "{everyone:?}"
    );
    for client in [amy, hao] {
        assert_eq!(latest_roster(&net, client), everyone);
    }

    // The leader mutes Amy: the mixer stops taking her leg, and everyone
    // sees her muted.
    net.command(
        vivian,
        Command::ConferenceMute {
            uri: AMY.into(),
            muted: true,
        },
    );
    net.run_until(Duration::from_secs(10), |net| {
        (0..3).all(|client| in_roster(net, client, AMY, |user| user.muted))
    });
    assert!(
        net.mcu
            .iter()
            .any(|request| matches!(request, IoRequest::McuFilterLeg { blocked: true, .. }))
    );

    // An attendee may not eject the leader.
    net.command(hao, Command::ConferenceEject { uri: VIVIAN.into() });
    net.run_until(Duration::from_secs(10), |net| {
        failed(net, hao, "conference.eject").is_some()
    });
    assert!(
        failed(&net, hao, "conference.eject")
            .unwrap()
            .contains("forbidden")
    );

    // Promoted, Amy leads too, and ejects Hao: his client leaves, and
    // everyone's roster drops him.
    net.command(
        vivian,
        Command::ConferenceSetRole {
            uri: AMY.into(),
            leader: true,
        },
    );
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(
            amy,
            |e| matches!(e, Event::ConferenceJoined { role, .. } if role == "presenter"),
        )
    });
    net.command(amy, Command::ConferenceEject { uri: HAO.into() });
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(hao, |e| matches!(e, Event::Ejected { .. }))
            && [vivian, amy]
                .iter()
                .all(|&client| latest_roster(net, client).len() == 2)
    });

    // Amy leaves; Vivian is alone in her conference.
    net.command(amy, Command::LeaveConference);
    net.run_until(Duration::from_secs(10), |net| {
        uris(&latest_roster(net, vivian)) == vec![VIVIAN]
            && net.has_event(amy, |e| matches!(e, Event::ConferenceEnded { .. }))
    });
    for client in 0..3 {
        assert_versions_rise_by_one(&net, client);
    }
}

#[test]
fn fifty_join_by_invitation_and_every_roster_converges_through_mutes_ejects_and_leaves() {
    const CROWD: usize = 49;
    let names: Vec<String> = (1..=CROWD).map(|n| format!("user{n:02}")).collect();
    let mut net = Network::new(0.0);
    net.server = server_with_users(1, &names);
    let vivian = net.add_client("10.0.0.10:5060", "vivian", "vivian");
    let crowd: Vec<usize> = names
        .iter()
        .enumerate()
        .map(|(n, name)| net.add_client(&format!("10.0.1.{}:5060", n + 1), name, name))
        .collect();
    net.run_until(Duration::from_secs(30), |net| {
        (0..=CROWD).all(|client| net.has_event(client, registered))
    });

    net.command(vivian, Command::CreateConference);
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(vivian, |e| matches!(e, Event::ConferenceJoined { .. }))
    });
    for (client, name) in crowd.iter().zip(&names) {
        net.command(
            vivian,
            Command::ConferenceInvite {
                uri: format!("sip:{name}@confab.local"),
            },
        );
        net.run_until(Duration::from_secs(10), |net| invited(net, *client));
        net.command(*client, Command::AnswerCall);
    }
    net.run_until(Duration::from_secs(60), |net| {
        (0..=CROWD).all(|client| latest_roster(net, client).len() == CROWD + 1)
    });

    // Mute three, eject three, three leave.
    for name in &names[0..3] {
        net.command(
            vivian,
            Command::ConferenceMute {
                uri: format!("sip:{name}@confab.local"),
                muted: true,
            },
        );
    }
    for name in &names[3..6] {
        net.command(
            vivian,
            Command::ConferenceEject {
                uri: format!("sip:{name}@confab.local"),
            },
        );
    }
    for client in &crowd[6..9] {
        net.command(*client, Command::LeaveConference);
    }
    let remaining: Vec<usize> = std::iter::once(vivian)
        .chain(crowd[0..3].iter().copied())
        .chain(crowd[9..].iter().copied())
        .collect();
    net.run_until(Duration::from_secs(60), |net| {
        remaining.iter().all(|&client| {
            let roster = latest_roster(net, client);
            roster.len() == CROWD + 1 - 6 && roster.iter().filter(|user| user.muted).count() == 3
        })
    });
    let reference = latest_roster(&net, vivian);
    for &client in &remaining {
        assert_eq!(latest_roster(&net, client), reference, "client {client}");
        assert_versions_rise_by_one(&net, client);
    }
    for &client in &crowd[3..6] {
        assert!(net.has_event(client, |e| matches!(e, Event::Ejected { .. })));
    }
}

#[test]
fn an_invitation_rings_every_client_of_the_user_and_the_first_to_answer_takes_it() {
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let hao_desk = net.add_client("10.0.0.13:5060", "hao", "hao");
    let hao_laptop = net.add_client("10.0.0.14:5060", "hao", "hao");
    net.run_until(Duration::from_secs(10), |net| {
        (0..3).all(|client| net.has_event(client, registered))
    });
    net.command(vivian, Command::CreateConference);
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(vivian, |e| matches!(e, Event::ConferenceJoined { .. }))
    });
    net.command(vivian, Command::ConferenceInvite { uri: HAO.into() });
    net.run_until(Duration::from_secs(10), |net| {
        invited(net, hao_desk) && invited(net, hao_laptop)
    });
    net.command(hao_laptop, Command::AnswerCall);
    net.run_until(Duration::from_secs(10), |net| {
        in_roster(net, vivian, HAO, |user| user.audio == "connected")
            && net.has_event(hao_desk, |e| matches!(e, Event::CallEnded { .. }))
    });
    assert!(net.has_event(hao_laptop, |e| matches!(e, Event::ConferenceJoined { .. })));
    assert!(!net.has_event(hao_desk, |e| matches!(e, Event::ConferenceJoined { .. })));
    // One Hao in the roster, with one audio endpoint.
    let roster = latest_roster(&net, vivian);
    assert_eq!(uris(&roster), vec![HAO, VIVIAN]);
}

#[test]
fn a_leader_locks_out_newcomers_and_ends_the_conference_for_everyone() {
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let amy = net.add_client("10.0.0.12:5060", "amy", "amy");
    net.run_until(Duration::from_secs(10), |net| {
        (0..2).all(|client| net.has_event(client, registered))
    });
    net.command(
        vivian,
        Command::Escalate {
            with: vec![AMY.into()],
            via: AudioVia::Client,
        },
    );
    net.run_until(Duration::from_secs(10), |net| invited(net, amy));
    net.command(amy, Command::AnswerCall);
    net.run_until(Duration::from_secs(10), |net| {
        in_roster(net, vivian, AMY, |user| user.audio == "connected")
    });

    net.command(vivian, Command::ConferenceLock { locked: true });
    net.run_until(Duration::from_secs(10), |net| {
        net.clients[amy]
            .events
            .iter()
            .rev()
            .find_map(|event| match event {
                Event::Roster { locked, .. } => Some(*locked),
                _ => None,
            })
            == Some(true)
    });
    // Hao, uninvited, is kept out.
    let focus = net.clients[vivian]
        .events
        .iter()
        .find_map(|event| match event {
            Event::ConferenceJoined { focus, .. } => Some(focus.clone()),
            _ => None,
        })
        .unwrap();
    let hao = net.add_raw("10.0.0.13:5060");
    let refused = crate::sim_focus::authenticated(
        &mut net,
        hao,
        "hao",
        "INVITE",
        &focus,
        "late",
        "",
        confab::proto::c3p::CONTENT_TYPE,
        &crate::sim_focus::join_body(HAO, &focus),
    );
    assert!(refused.starts_with("SIP/2.0 403"), "{refused}");
    // An attendee may not unlock.
    net.command(amy, Command::ConferenceLock { locked: false });
    net.run_until(Duration::from_secs(10), |net| {
        failed(net, amy, "conference.lock").is_some()
    });

    net.command(vivian, Command::ConferenceEnd);
    net.run_until(Duration::from_secs(10), |net| {
        [vivian, amy]
            .iter()
            .all(|&client| net.has_event(client, |e| matches!(e, Event::ConferenceEnded { .. })))
    });
    assert!(!net.has_event(amy, |e| matches!(e, Event::Ejected { .. })));
    // Both audio calls to the MCU are over.
    assert!(
        net.mcu
            .iter()
            .filter(|r| matches!(r, IoRequest::McuCloseLeg { .. }))
            .count()
            >= 2
    );
}

#[test]
fn numbers_ring_the_owners_desk_phone_or_the_phone_line_and_join_the_roster() {
    use crate::sim_focus::{PCMU_ANSWER, answer_invite, register_as, try_register_as};
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let line = net.add_client("10.0.0.30:5060", "line", "line");
    net.run_until(Duration::from_secs(10), |net| {
        (0..2).all(|client| net.has_event(client, registered))
    });
    // Vivian's desk phone registers her work number with her credentials;
    // nobody else may.
    let desk = net.add_raw("10.0.0.21:5060");
    register_as(&mut net, desk, "+14255032002", "vivian");
    let impostor = net.add_raw("10.0.0.22:5060");
    let refused = try_register_as(&mut net, impostor, "+14255032002", "amy");
    assert!(refused.starts_with("SIP/2.0 403"), "{refused}");

    net.command(vivian, Command::CreateConference);
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(vivian, |e| matches!(e, Event::ConferenceJoined { .. }))
    });
    // "Call me at my work number": the desk phone rings, from the
    // conferencing service.
    net.command(
        vivian,
        Command::ConferenceInvite {
            uri: "tel:+14255032002".into(),
        },
    );
    let invite = net.expect_raw(desk, "INVITE");
    assert!(
        header_line(&invite, "From")
            .unwrap()
            .contains("Conferencing service"),
        "{invite}"
    );
    answer_invite(&mut net, desk, &invite, PCMU_ANSWER);
    net.run_until(Duration::from_secs(10), |net| {
        in_roster(net, vivian, "tel:+14255032002", |user| {
            user.audio == "connected"
                && user.display == "+14255032002"
                && user.joining.as_deref() == Some("dialed-out")
        })
    });

    // A number nobody here owns reaches the simulated phone line.
    net.command(
        vivian,
        Command::ConferenceInvite {
            uri: "tel:+15551230000".into(),
        },
    );
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(line, |e| matches!(e, Event::IncomingCall { .. }))
    });
    net.command(line, Command::AnswerCall);
    net.run_until(Duration::from_secs(10), |net| {
        in_roster(net, vivian, "tel:+15551230000", |user| {
            user.audio == "connected"
        })
    });
    let roles = latest_roster(&net, vivian)
        .into_iter()
        .filter(|user| user.uri.starts_with("tel:"))
        .all(|user| user.roles == ["attendee"]);
    assert!(roles);
}

/// A final response of the raw UA to a request it received.
fn refuse(net: &mut Network, ua: usize, request: &str, status: &str) {
    let mut response = format!("SIP/2.0 {status}\r\n");
    for line in request.lines() {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("to:") {
            response.push_str(line);
            response.push_str(";tag=refused\r\n");
        } else if ["via:", "from:", "call-id:", "cseq:"]
            .iter()
            .any(|name| lower.starts_with(name))
        {
            response.push_str(line);
            response.push_str("\r\n");
        }
    }
    response.push_str("Content-Length: 0\r\n\r\n");
    net.send_raw(ua, &response);
}

#[test]
fn a_busy_or_unanswered_number_shows_so_in_the_roster() {
    use crate::sim_focus::register_as;
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(vivian, registered)
    });
    let desk = net.add_raw("10.0.0.21:5060");
    register_as(&mut net, desk, "+14255032002", "vivian");
    net.command(vivian, Command::CreateConference);
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(vivian, |e| matches!(e, Event::ConferenceJoined { .. }))
    });

    // Busy: 486 from the desk phone.
    net.command(
        vivian,
        Command::ConferenceInvite {
            uri: "tel:+14255032002".into(),
        },
    );
    let invite = net.expect_raw(desk, "INVITE");
    refuse(&mut net, desk, &invite, "486 Busy Here");
    net.run_until(Duration::from_secs(10), |net| {
        in_roster(net, vivian, "tel:+14255032002", |user| {
            user.audio == "disconnected" && user.reason.as_deref() == Some("busy")
        })
    });

    // No answer: it rings (alerting in the roster) until the MCU gives up.
    net.command(
        vivian,
        Command::ConferenceInvite {
            uri: "tel:+14255032002".into(),
        },
    );
    let invite = net.expect_raw(desk, "INVITE");
    let mut ringing = String::from("SIP/2.0 180 Ringing\r\n");
    for line in invite.lines().filter(|line| {
        let lower = line.to_ascii_lowercase();
        ["via:", "from:", "to:", "call-id:", "cseq:"]
            .iter()
            .any(|name| lower.starts_with(name))
    }) {
        ringing.push_str(line);
        ringing.push_str("\r\n");
    }
    ringing.push_str("Content-Length: 0\r\n\r\n");
    net.send_raw(desk, &ringing);
    net.run_until(Duration::from_secs(10), |net| {
        in_roster(net, vivian, "tel:+14255032002", |user| {
            user.audio == "alerting"
        })
    });
    net.run_until(Duration::from_secs(60), |net| {
        in_roster(net, vivian, "tel:+14255032002", |user| {
            user.audio == "disconnected" && user.reason.as_deref() == Some("no answer")
        })
    });
    // The MCU cancelled the ringing phone.
    let cancel = net.expect_raw(desk, "CANCEL");
    assert!(cancel.contains("CANCEL sip:"), "{cancel}");
}

#[test]
fn a_phone_dials_the_access_number_keys_in_the_code_and_joins() {
    use confab::proto::IoResult;
    use confab::proto::SipCore as _;
    use confab::server::ServerCommand;
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(vivian, registered)
    });
    net.command(vivian, Command::CreateConference);
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(vivian, |e| {
            matches!(
                e,
                Event::Roster {
                    dial_in: Some(_),
                    ..
                }
            )
        })
    });
    let dial_in = net.clients[vivian]
        .events
        .iter()
        .find_map(|event| match event {
            Event::Roster { dial_in, .. } => dial_in.clone(),
            _ => None,
        })
        .unwrap();
    assert_eq!(dial_in.number, confab::demo::ACCESS_NUMBER);
    assert_eq!(dial_in.code.len(), 6);

    // Hao's phone calls the access number and is answered into a lobby.
    let phone = net.add_raw("10.0.0.21:5060");
    let access = format!("sip:{}@confab.local;user=phone", dial_in.number);
    let answered = crate::sim_focus::authenticated(
        &mut net,
        phone,
        "hao",
        "INVITE",
        &access,
        "dialin",
        "",
        "application/sdp",
        crate::sim_focus::OFFER,
    );
    assert!(answered.starts_with("SIP/2.0 200"), "{answered}");
    let lobby = net
        .mcu
        .iter()
        .find_map(|request| match request {
            IoRequest::McuOpenLeg { conference, leg } if conference.starts_with("lobby") => {
                Some(*leg)
            }
            _ => None,
        })
        .unwrap();
    let press = |net: &mut Network, keys: &str| {
        for digit in keys.chars() {
            let now = net.now;
            net.server.handle_command(
                now,
                ServerCommand::Io(IoResult::McuDtmf { leg: lobby, digit }),
            );
        }
        net.run_for(Duration::from_millis(100));
    };
    // A wrong code changes nothing; `*` starts again; the right one joins.
    press(&mut net, "999999#");
    press(&mut net, "12*");
    press(&mut net, &format!("{}#", dial_in.code));
    assert!(net.mcu.iter().any(|request| matches!(
        request,
        IoRequest::McuMoveLeg { leg, .. } if *leg == lobby
    )));
    net.run_until(Duration::from_secs(10), |net| {
        in_roster(net, vivian, HAO, |user| {
            user.audio == "connected" && user.roles == ["attendee"]
        })
    });
}

#[test]
fn call_me_at_escalates_an_im_with_the_conference_calling_my_desk_phone() {
    use crate::sim_focus::{PCMU_ANSWER, answer_invite, register_as};
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let amy = net.add_client("10.0.0.12:5060", "amy", "amy");
    net.run_until(Duration::from_secs(10), |net| {
        (0..2).all(|client| net.has_event(client, registered))
    });
    let desk = net.add_raw("10.0.0.21:5060");
    register_as(&mut net, desk, "+14255032002", "vivian");

    net.command(
        vivian,
        Command::Escalate {
            with: vec![AMY.into()],
            via: AudioVia::Phone {
                number: "+1 (425) 503-2002".into(),
            },
        },
    );
    let invite = net.expect_raw(desk, "INVITE");
    assert!(
        header_line(&invite, "From")
            .unwrap()
            .contains("Conferencing service")
    );
    answer_invite(&mut net, desk, &invite, PCMU_ANSWER);
    net.run_until(Duration::from_secs(10), |net| invited(net, amy));
    net.command(amy, Command::AnswerCall);
    // Vivian is in the audio by her desk phone; her client keeps the
    // roster and makes no call of its own.
    net.run_until(Duration::from_secs(10), |net| {
        in_roster(net, vivian, VIVIAN, |user| user.audio == "connected")
            && in_roster(net, vivian, AMY, |user| user.audio == "connected")
    });
    assert!(
        !net.clients[vivian]
            .io
            .iter()
            .any(|request| matches!(request, IoRequest::StartMedia { .. }))
    );
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(amy, |e| {
            matches!(e, Event::Presence { uri, availability: Availability::InAConference, .. } if uri == VIVIAN)
        })
    });
}

#[test]
fn with_a_trunk_unowned_numbers_go_to_it_and_its_calls_need_no_credentials() {
    use confab::proto::Peer;
    use confab::server::gateway::PstnRoute;
    let mut net = Network::new(0.0);
    let trunk_addr = "10.0.0.99:5060";
    net.server = server_with(1, &[], PstnRoute::Trunk(Peer::udp(addr(trunk_addr))));
    let trunk = net.add_raw(trunk_addr);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(vivian, registered)
    });
    net.command(vivian, Command::CreateConference);
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(vivian, |e| matches!(e, Event::ConferenceJoined { .. }))
    });
    net.command(
        vivian,
        Command::ConferenceInvite {
            uri: "tel:+15551230000".into(),
        },
    );
    let invite = net.expect_raw(trunk, "INVITE");
    assert!(
        invite.starts_with("INVITE sip:+15551230000@10.0.0.99:5060;user=phone SIP/2.0"),
        "{invite}"
    );
    crate::sim_focus::answer_invite(&mut net, trunk, &invite, crate::sim_focus::PCMU_ANSWER);
    net.run_until(Duration::from_secs(10), |net| {
        in_roster(net, vivian, "tel:+15551230000", |user| {
            user.audio == "connected"
        })
    });

    // From the telephone network, Vivian's work number rings her client
    // (she has no desk phone); the trunk is trusted, so no challenge.
    let target = "sip:+14255032002@confab.local;user=phone";
    let call = raw_request(
        "INVITE",
        target,
        "+15559870000",
        addr(trunk_addr),
        "pstn-in",
        1,
        "",
    );
    net.send_raw(trunk, &call);
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(vivian, |e| matches!(e, Event::IncomingCall { .. }))
    });
    assert!(
        !net.raw[trunk]
            .inbox
            .iter()
            .any(|m| m.starts_with("SIP/2.0 407"))
    );
    // A number nobody here owns, from the trunk, is not sent back to it.
    let nowhere = raw_request(
        "INVITE",
        "sip:+15550001111@confab.local;user=phone",
        "+15559870000",
        addr(trunk_addr),
        "loop",
        1,
        "",
    );
    net.send_raw(trunk, &nowhere);
    let refused = net.expect_raw(trunk, "SIP/2.0 404");
    assert!(refused.contains("loop"), "{refused}");
}

#[test]
fn call_me_at_a_number_that_will_not_do_starts_no_conference() {
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(vivian, registered)
    });
    net.command(
        vivian,
        Command::Escalate {
            with: vec![AMY.into()],
            via: AudioVia::Phone {
                number: "555-CALL".into(),
            },
        },
    );
    net.run_for(Duration::from_secs(5));
    let reason = failed(&net, vivian, "escalate").expect("refused");
    assert!(reason.contains('C'), "{reason}");
    assert!(!net.has_event(vivian, |e| matches!(e, Event::ConferenceJoined { .. })));
}
