//! The roster: full and partial documents, stale ones, gaps, and bodies
//! that cannot be read.

use super::*;
use crate::client::{Participant, Quality};
use crate::proto::conference_info::MediaQuality;

fn rosters(harness: &mut Harness) -> Vec<(u32, bool, Vec<Participant>)> {
    harness
        .drain_events()
        .into_iter()
        .filter_map(|event| match event {
            Event::Roster {
                focus: f,
                version,
                locked,
                users,
                ..
            } => {
                assert_eq!(f, focus());
                Some((version, locked, users))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_full_roster_then_partials_are_reported_after_each_notify() {
    let mut joined = Joined::new();
    joined.harness.drain_events();
    joined.first_roster();
    assert_eq!(
        joined
            .harness
            .take_response(Method::Notify)
            .status_code
            .code(),
        200
    );
    let got = rosters(&mut joined.harness);
    assert_eq!(got.len(), 1);
    let (version, locked, users) = &got[0];
    assert_eq!((*version, *locked), (3, false));
    assert_eq!(
        users[1],
        Participant {
            uri: VIVIAN.into(),
            display: String::new(),
            roles: vec!["presenter".into()],
            status: "connected".into(),
            audio: "none".into(),
            muted: false,
            reason: None,
            joining: None,
            src_id: None,
            quality: None,
        }
    );
    assert_eq!(users[0].uri, AMY);

    // Partial: Amy joins the audio, muted, marked 7 in the mix, with the
    // MCU's figures; Hao comes in by phone only (figures of a phone not
    // yet answered are not shown); the conference is locked.
    let figures = MediaQuality {
        codec: Some("Opus".into()),
        loss_permille: Some(4),
        jitter_ms: Some(3),
        round_trip_ms: Some(12),
        buffer_ms: Some(60),
    };
    let mut amy = user(
        AMY,
        "attendee",
        None,
        Some((EndpointStatus::Connected, 7, true)),
    );
    amy.state = State::Partial;
    amy.display_text = Some("Amy Rivera".into());
    amy.endpoints[0].media[0].quality = Some(figures.clone());
    let mut hao = user(
        HAO,
        "attendee",
        None,
        Some((EndpointStatus::DialingOut, 9, false)),
    );
    hao.endpoints[0].media[0].quality = Some(figures);
    let mut partial = document(4, State::Partial, vec![amy, hao]);
    partial.conference_state = Some(ConferenceState {
        locked: Some(true),
        ..ConferenceState::default()
    });
    joined.notify(&partial);
    let got = rosters(&mut joined.harness);
    let (version, locked, users) = &got[0];
    assert_eq!((*version, *locked, users.len()), (4, true, 3));
    assert_eq!(
        users[0],
        Participant {
            uri: AMY.into(),
            display: "Amy Rivera".into(),
            roles: vec!["attendee".into()],
            // The partial kept her focus endpoint.
            status: "connected".into(),
            audio: "connected".into(),
            muted: true,
            reason: None,
            joining: None,
            src_id: Some(7),
            quality: Some(Quality {
                codec: Some("Opus".into()),
                loss_permille: Some(4),
                jitter_ms: Some(3),
                rtt_ms: Some(12),
                buffer_ms: Some(60),
            }),
        }
    );
    // No focus endpoint: the audio's status stands for the user's.
    assert_eq!(users[1].uri, HAO);
    assert_eq!(users[1].status, "dialing-out");
    assert_eq!(users[1].audio, "dialing-out");
    assert_eq!(users[1].src_id, Some(9));
    assert_eq!(users[1].quality, None);

    // Amy is promoted; Hao is deleted.
    let mut amy = User {
        state: State::Partial,
        roles: vec!["presenter".into()],
        ..User::new(AMY)
    };
    amy.endpoints.clear();
    let hao = User {
        state: State::Deleted,
        ..User::new(HAO)
    };
    joined.notify(&document(5, State::Partial, vec![amy, hao]));
    let got = rosters(&mut joined.harness);
    let (_, _, users) = &got[0];
    assert_eq!(users.len(), 2);
    assert_eq!(users[0].roles, ["presenter"]);
    assert!(users[0].muted, "the rest of Amy is as it was");
}

#[test]
fn stale_documents_are_dropped_and_a_gap_refreshes_the_subscription() {
    let mut joined = Joined::new();
    joined.first_roster();
    joined.harness.drain_events();

    // Version 3 again, and 2: stale, answered 200 and dropped.
    for version in [3, 2] {
        let stale = document(
            version,
            State::Partial,
            vec![user(HAO, "attendee", None, None)],
        );
        joined.notify(&stale);
        assert_eq!(
            joined
                .harness
                .take_response(Method::Notify)
                .status_code
                .code(),
            200
        );
    }
    assert!(rosters(&mut joined.harness).is_empty());
    assert!(joined.harness.sent_request(Method::Subscribe).is_none());

    // Version 5 after 3: a gap. Not applied; a refresh in the dialog.
    let gap = document(5, State::Partial, vec![user(HAO, "attendee", None, None)]);
    joined.notify(&gap);
    assert!(rosters(&mut joined.harness).is_empty());
    let refresh = joined.harness.take(Method::Subscribe);
    assert_eq!(
        header(&refresh, "Call-ID"),
        header(&joined.subscribe, "Call-ID")
    );
    assert!(header(&refresh, "To").unwrap().contains("tag=notifier1"));
    assert_eq!(header(&refresh, "Route").as_deref(), Some(RECORD_ROUTE));
    assert_eq!(header(&refresh, "Event").as_deref(), Some("conference"));
    joined
        .harness
        .reply_tagged(&refresh, 200, "notifier1", &[("Expires", "1800")], None);

    // The full state that follows is taken whatever its version.
    let users = vec![
        user(VIVIAN, "presenter", Some(EndpointStatus::Connected), None),
        user(
            HAO,
            "attendee",
            None,
            Some((EndpointStatus::Connected, 4, false)),
        ),
    ];
    joined.notify(&document(6, State::Full, users));
    let got = rosters(&mut joined.harness);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, 6);
    let uris: Vec<&str> = got[0].2.iter().map(|p| p.uri.as_str()).collect();
    assert_eq!(uris, [HAO, VIVIAN]);
}

#[test]
fn a_first_document_that_is_partial_asks_for_full_state() {
    let mut joined = Joined::new();
    joined.harness.drain_events();
    joined.notify(&document(
        2,
        State::Partial,
        vec![user(AMY, "attendee", None, None)],
    ));
    assert!(rosters(&mut joined.harness).is_empty());
    assert!(joined.harness.sent_request(Method::Subscribe).is_some());
}

#[test]
fn a_role_change_in_the_roster_is_reported_as_joined_again() {
    let mut joined = Joined::new();
    joined.first_roster();
    joined.harness.drain_events();
    let me = User {
        state: State::Partial,
        roles: vec!["attendee".into()],
        ..User::new(VIVIAN)
    };
    joined.notify(&document(4, State::Partial, vec![me]));
    assert!(joined.harness.took(|e| *e
        == Event::ConferenceJoined {
            focus: focus(),
            role: "attendee".into()
        }));
}

#[test]
fn malformed_roster_bodies_are_logged_and_change_nothing() {
    let mut joined = Joined::new();
    joined.first_roster();
    joined.harness.drain_events();
    let bodies: &[&[u8]] = &[
        b"not xml at all",
        b"<conference-info xmlns='urn:ietf:params:xml:ns:conference-info'",
        b"<conference-info xmlns='urn:ietf:params:xml:ns:conference-info' entity='x' state='full' version='-1'/>",
        b"<conference-info xmlns='urn:ietf:params:xml:ns:conference-info' entity='sip:other@confab.local' state='full' version='9'/>",
        b"<pidf/>",
        b"\xff\xfe\x00<",
        b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]><conference-info/>",
    ];
    for body in bodies {
        joined.notify_state("active;expires=1800", body);
        // The NOTIFY itself is fine: 200, and the roster stays.
        assert_eq!(
            joined
                .harness
                .take_response(Method::Notify)
                .status_code
                .code(),
            200
        );
    }
    assert!(rosters(&mut joined.harness).is_empty());
    // Still in step: the next partial applies.
    joined.notify(&document(
        4,
        State::Partial,
        vec![user(HAO, "attendee", None, None)],
    ));
    let got = rosters(&mut joined.harness);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].2.len(), 3);
}

/// Random damage to every kind of body the focus and the MCUs send: the
/// client answers, logs, and never panics.
#[test]
fn damaged_bodies_never_panic() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    let mut rng = StdRng::seed_from_u64(4575);
    let mut damage = |body: &[u8]| {
        let mut body = body.to_vec();
        for _ in 0..rng.random_range(1..8) {
            if body.is_empty() {
                break;
            }
            let index = rng.random_range(0..body.len());
            match rng.random_range(0..3) {
                0 => body[index] = rng.random(),
                1 => body.truncate(index),
                _ => body.insert(index, b"<>\"'&;:\r\n"[rng.random_range(0..9)]),
            }
        }
        body
    };
    let mut joined = Joined::new();
    joined.first_roster();
    let full = document(
        9,
        State::Full,
        vec![user(
            AMY,
            "attendee",
            Some(EndpointStatus::Connected),
            Some((EndpointStatus::Connected, 3, true)),
        )],
    )
    .to_xml();
    let cpim = crate::proto::cpim::wrap(Some("Amy"), AMY, "text/plain", b"hello");
    for round in 0..200 {
        joined.notify_state("active;expires=1800", &damage(full.as_bytes()));
        let head = format!(
            "MESSAGE sip:vivian@{CLIENT} SIP/2.0\r\nFrom: <{}>;tag=r{round}\r\nTo: <{VIVIAN}>\r\n\
             Call-ID: r{round}@10.0.0.1\r\nCSeq: 1 MESSAGE\r\nContent-Type: message/cpim\r\n",
            chat()
        );
        joined.harness.send_request(&head, &damage(&cpim));
        joined
            .harness
            .command(Command::ConferenceLock { locked: true });
        if let Some(info) = joined.harness.sent_request(Method::Info) {
            let body = c3p_success(&c3p_of(&info), |_| {});
            let body = damage(&body);
            joined
                .harness
                .reply(&info, 200, &[], Some((c3p::CONTENT_TYPE, &body)));
        }
        joined.harness.sent.clear();
    }
    // Still answering: a good relay is taken.
    joined.harness.drain_events();
    let head = format!(
        "MESSAGE sip:vivian@{CLIENT} SIP/2.0\r\nFrom: <{}>;tag=last\r\nTo: <{VIVIAN}>\r\n\
         Call-ID: last@10.0.0.1\r\nCSeq: 1 MESSAGE\r\nContent-Type: message/cpim\r\n",
        chat()
    );
    joined.harness.send_request(&head, &cpim);
    assert_eq!(
        joined
            .harness
            .take_response(Method::Message)
            .status_code
            .code(),
        200
    );
    assert!(
        joined
            .harness
            .took(|e| matches!(e, Event::ConferenceIm { text, .. } if text == "hello"))
    );
}
