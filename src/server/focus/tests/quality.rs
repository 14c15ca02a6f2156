//! Call quality in the roster: the MCU's figures rounded, kept in the
//! participant's audio medium, and published only when one moved
//! noticeably.

use super::*;
use crate::proto::LegQuality;
use crate::proto::conference_info::MediaQuality;

fn figures(loss_permille: u16, jitter_ms: u32, round_trip_ms: Option<u32>) -> MediaQuality {
    MediaQuality {
        codec: Some("Opus".into()),
        loss_permille: Some(loss_permille),
        jitter_ms: Some(jitter_ms),
        round_trip_ms,
        buffer_ms: Some(60),
    }
}

#[test]
fn the_mcus_figures_are_rounded_for_the_roster() {
    let quality = roster_quality(&LegQuality {
        codec: "Opus",
        loss_percent: 0.44,
        jitter_ms: 3.4,
        round_trip_ms: Some(12.6),
        buffer_ms: 59.5,
    });
    assert_eq!(quality, figures(4, 3, Some(13)));
    let odd = roster_quality(&LegQuality {
        codec: "",
        loss_percent: f32::NAN,
        jitter_ms: -2.0,
        round_trip_ms: Some(f32::INFINITY),
        buffer_ms: 1e12,
    });
    assert_eq!(
        odd,
        MediaQuality {
            codec: None,
            loss_permille: None,
            jitter_ms: Some(0),
            round_trip_ms: None,
            buffer_ms: Some(600_000),
        }
    );
    let lost = roster_quality(&LegQuality {
        loss_percent: 250.0,
        ..LegQuality::default()
    });
    assert_eq!(lost.loss_permille, Some(1000));
}

#[test]
fn only_a_noticeable_move_is_worth_a_notify() {
    let was = figures(4, 3, Some(12));
    assert!(moved_noticeably(None, &was), "the first figures");
    assert!(!moved_noticeably(None, &MediaQuality::default()));
    assert!(!moved_noticeably(Some(&was), &was));
    // Loss by less than half a point, delays by less than 5 ms: no.
    assert!(!moved_noticeably(Some(&was), &figures(8, 7, Some(16))));
    assert!(!moved_noticeably(Some(&was), &figures(0, 0, Some(8))));
    // By that much or more, in either direction: yes.
    assert!(moved_noticeably(
        Some(&was),
        &figures(4 + LOSS_STEP_PERMILLE, 3, Some(12))
    ));
    assert!(moved_noticeably(Some(&figures(9, 3, Some(12))), &was));
    assert!(moved_noticeably(
        Some(&was),
        &figures(4, 3 + DELAY_STEP_MS, Some(12))
    ));
    assert!(moved_noticeably(Some(&was), &figures(4, 3, Some(17))));
    let buffered = MediaQuality {
        buffer_ms: Some(40),
        ..was.clone()
    };
    assert!(moved_noticeably(Some(&was), &buffered));
    // A figure that comes or goes, a new codec: yes.
    assert!(moved_noticeably(Some(&figures(4, 3, None)), &was));
    assert!(moved_noticeably(Some(&was), &figures(4, 3, None)));
    let pcmu = MediaQuality {
        codec: Some("PCMU".into()),
        ..was.clone()
    };
    assert!(moved_noticeably(Some(&was), &pcmu));
}

#[test]
fn figures_go_into_the_audio_medium_and_out_only_when_they_moved() {
    let (mut factory, id) = created();
    let conference = factory.conference_mut(&id).unwrap();
    join(conference, VIVIAN);
    join(conference, CAROL);
    conference
        .audio_joined(at(30), CAROL, "{carol-av}", Some(2))
        .unwrap();
    let mut subscribers = Subscribers(Vec::new());
    subscribers.subscribe(conference);
    subscribers.publish(conference);

    // Vivian is not in the audio; Carol's focus endpoint has no audio; a
    // user not in the roster has nothing.
    assert!(!conference.set_audio_quality(VIVIAN, "{carol-av}", figures(4, 3, None)));
    assert!(!conference.set_audio_quality(CAROL, "{elsewhere}", figures(4, 3, None)));
    assert!(!conference.set_audio_quality(DAVE, "{carol-av}", figures(4, 3, None)));
    assert!(conference.notify_document().is_none());

    assert!(conference.set_audio_quality(CAROL, "{carol-av}", figures(4, 3, Some(12))));
    let document = conference.notify_document().unwrap();
    let media = &document.users[0].endpoints[0].media[0];
    assert_eq!(media.quality, Some(figures(4, 3, Some(12))));
    assert_eq!(media.src_id.as_deref(), Some("2"), "the whole medium");
    for roster in &mut subscribers.0 {
        apply(roster, &document);
    }
    subscribers.assert_converged(conference);

    // A wobble changes nothing, not even the figures kept: drift is
    // measured from what was published.
    assert!(!conference.set_audio_quality(CAROL, "{carol-av}", figures(7, 6, Some(15))));
    assert!(!conference.set_audio_quality(CAROL, "{carol-av}", figures(8, 7, Some(16))));
    assert!(conference.notify_document().is_none());
    assert!(conference.set_audio_quality(CAROL, "{carol-av}", figures(9, 7, Some(16))));
    subscribers.publish(conference);
    subscribers.assert_converged(conference);
    let carol = subscribers.0[0].user(CAROL).unwrap();
    let media = &carol.endpoint("{carol-av}").unwrap().media[0];
    assert_eq!(media.quality, Some(figures(9, 7, Some(16))));

    // Muted by a leader, Carol is still in the audio and measured.
    let response = command(
        conference,
        VIVIAN,
        mute(conference, CAROL, c3p::MediaFilter::Block),
    );
    assert_eq!(response.code, ResponseCode::Success);
    assert!(conference.set_audio_quality(CAROL, "{carol-av}", figures(30, 7, Some(16))));

    // Her audio ends: the figures go with it, and no more come in.
    conference
        .audio_left(at(40), CAROL, DisconnectionMethod::Departed)
        .unwrap();
    subscribers.publish(conference);
    subscribers.assert_converged(conference);
    let carol = subscribers.0[0].user(CAROL).unwrap();
    let media = &carol.endpoint("{carol-av}").unwrap().media[0];
    assert_eq!(media.quality, None);
    assert!(!conference.set_audio_quality(CAROL, "{carol-av}", figures(4, 3, None)));
}
