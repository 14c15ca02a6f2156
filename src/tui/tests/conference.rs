//! `update` for conferences: escalating an IM, the invitation banner, the
//! conference's IM, whose voices are in the mix, and leaving the
//! conference view when it ends; and the conference fixtures of the
//! other conference tests.

use ratatui::crossterm::event::KeyCode;

use crate::client::{AudioVia, Command, Event, Participant};
use crate::media::contributors::Contributors;
use crate::tui::keys::Action;
use crate::tui::state::{CallPhase, Delivery, Focus, MediaMeters, Modal, Origin, Row};
use crate::tui::update::{Msg, update};

use super::calls::{client, ctrl};
use super::*;

pub const FOCUS: &str = "sip:vivian@confab.local;gruu;opaque=app:conf:focus:id:7QX2K9PA";
pub const AV_MCU: &str = "sip:vivian@confab.local;gruu;opaque=app:conf:audio-video:id:7QX2K9PA";
pub const PHONE: &str = "tel:+14255550123";

pub fn user(
    uri: &str,
    display: &str,
    leader: bool,
    audio: &str,
    src_id: Option<u32>,
) -> Participant {
    Participant {
        uri: uri.into(),
        display: display.into(),
        roles: vec![if leader { "presenter" } else { "attendee" }.into()],
        status: "connected".into(),
        audio: audio.into(),
        muted: false,
        reason: None,
        joining: None,
        src_id,
        quality: None,
    }
}

pub fn muted(mut participant: Participant) -> Participant {
    participant.muted = true;
    participant
}

pub fn roster(version: u32, locked: bool, users: Vec<Participant>) -> Msg {
    client(Event::Roster {
        focus: FOCUS.into(),
        version,
        locked,
        users,
        dial_in: None,
    })
}

/// Everyone of the leader's conference: Vivian (us, leader), Amy, Hao
/// muted by a leader, Mira being dialled, and a phone.
pub fn everyone() -> Vec<Participant> {
    vec![
        user(OWN, "Vivian Park", true, "connected", Some(101)),
        user(AMY, "Amy Tran", false, "connected", Some(102)),
        muted(user(HAO, "", false, "connected", Some(103))),
        Participant {
            status: "dialing-out".into(),
            ..user(MIRA, "Mira Patel", false, "dialing-out", None)
        },
        user(PHONE, "", false, "connected", Some(105)),
    ]
}

pub fn conference_im(from: &str, text: &str) -> Msg {
    client(Event::ConferenceIm {
        focus: FOCUS.into(),
        from: from.into(),
        text: text.into(),
    })
}

/// Vivian writes with Amy, adds audio by this terminal (F6, Enter), and
/// leads the conference that the core reports, with [`everyone`] in it.
pub fn leading() -> AppState {
    let mut state = chatting_with(AMY);
    let mut msgs = typed("Can we talk it through?");
    msgs.push(key(KeyCode::Enter));
    msgs.push(status(1, AMY, true, None));
    msgs.push(im(AMY, "Sure, call me"));
    msgs.push(key(KeyCode::F(6)));
    msgs.push(key(KeyCode::Enter));
    msgs.push(client(Event::ConferenceJoined {
        focus: FOCUS.into(),
        role: "presenter".into(),
    }));
    msgs.push(roster(1, false, everyone()));
    feed(&mut state, msgs);
    state
}

/// Amy's side: Vivian invites her, she answers, joins as an attendee.
pub fn attending() -> AppState {
    let mut state = demo_state();
    state.own_uri = AMY.into();
    state.config.own_display = "Amy Tran".into();
    let contacts = vec![
        buddy(OWN, "Vivian Park", "Team"),
        buddy(HAO, "Hao Chen", "Team"),
        buddy(MIRA, "Mira Patel", "Team"),
    ];
    feed(
        &mut state,
        [
            client(Event::Buddies { buddies: contacts }),
            im(OWN, "Can we talk it through?"),
            client(Event::ConferenceInvitation {
                from: OWN.into(),
                focus: FOCUS.into(),
            }),
            ch('y'),
            client(Event::ConferenceJoined {
                focus: FOCUS.into(),
                role: "attendee".into(),
            }),
            roster(3, true, everyone()),
        ],
    );
    state
}

pub fn offered(state: &AppState) -> Vec<Action> {
    state.conference.as_ref().unwrap().offered(&state.own_uri)
}

pub fn select(state: &mut AppState, uri: &str) {
    state.conference.as_mut().unwrap().selected = Some(uri.into());
}

pub fn in_roster(mut state: AppState) -> AppState {
    state.focus = Focus::Roster;
    state
}

#[test]
fn f6_in_a_conversation_and_a_on_a_contact_escalate_to_a_conference() {
    let mut state = chatting_with(AMY);
    // F6 asks how to join the audio; Enter takes "This terminal".
    assert!(commands(&mut state, [key(KeyCode::F(6))]).is_empty());
    assert!(matches!(state.modal, Some(Modal::AddAudio(_))));
    assert!(
        state.conference.is_none(),
        "nothing starts before the choice"
    );
    assert_eq!(
        commands(&mut state, [key(KeyCode::Enter)]),
        [Command::Escalate {
            with: vec![AMY.into()],
            via: AudioVia::Client,
        }]
    );
    assert!(state.modal.is_none());
    let conference = state.conference.as_ref().unwrap();
    assert!(!conference.joined);
    assert_eq!(conference.origin, Origin::Escalated { with: AMY.into() });
    assert_eq!(conference.by_phone, None);
    // One conference at a time: not even the question.
    assert!(commands(&mut state, [key(KeyCode::F(6))]).is_empty());
    assert!(state.modal.is_none());
    assert_eq!(
        state.notice.as_ref().unwrap().text,
        "Already in a conference"
    );

    let mut state = demo_state();
    update(&mut state, ch('j'));
    assert_eq!(
        commands(&mut state, [ch('A'), key(KeyCode::Enter)]),
        [Command::Escalate {
            with: vec![HAO.into()],
            via: AudioVia::Client,
        }]
    );
    // Not from a group row.
    let mut state = demo_state();
    state.selection = Some(Row::Group("Team".into()));
    assert!(commands(&mut state, [ch('A'), key(KeyCode::F(6))]).is_empty());
    assert!(state.modal.is_none());
}

#[test]
fn a_failed_escalation_leaves_no_conference() {
    let mut state = chatting_with(AMY);
    feed(&mut state, [key(KeyCode::F(6)), key(KeyCode::Enter)]);
    update(
        &mut state,
        client(Event::CommandFailed {
            command: "escalate",
            reason: "no focus factory".into(),
        }),
    );
    assert!(state.conference.is_none());
    assert!(
        state
            .notice
            .as_ref()
            .unwrap()
            .text
            .contains("no focus factory")
    );
}

#[test]
fn the_im_continues_as_the_conference_im() {
    let mut state = chatting_with(AMY);
    let mut msgs = typed("Can we talk?");
    msgs.push(key(KeyCode::Enter));
    msgs.push(im(AMY, "Sure"));
    msgs.push(key(KeyCode::F(6)));
    msgs.push(key(KeyCode::Enter));
    msgs.extend(typed("Half-wri"));
    msgs.push(client(Event::ConferenceJoined {
        focus: FOCUS.into(),
        role: "presenter".into(),
    }));
    feed(&mut state, msgs);
    assert_eq!(state.open.as_deref(), Some(FOCUS));
    assert_eq!(state.focus, Focus::Input, "the keys stay in the input");
    let chat = &state.conversations[FOCUS];
    let carried: Vec<_> = chat
        .messages
        .iter()
        .map(|m| (m.outgoing, m.from.as_deref(), m.text.as_str()))
        .collect();
    assert_eq!(
        carried,
        [(true, None, "Can we talk?"), (false, Some(AMY), "Sure")]
    );
    assert_eq!(chat.draft.value(), "Half-wri", "the draft came along");
    assert_eq!(state.conversations[AMY].draft.value(), "");

    // Typing and sending go to the conference, not to Amy.
    let mut msgs = typed("tten");
    msgs.push(key(KeyCode::Enter));
    let sent = commands(&mut state, msgs);
    assert_eq!(
        sent,
        [
            Command::ConferenceTyping,
            Command::ConferenceIm {
                id: 2,
                text: "Half-written".into()
            }
        ]
    );
    let fx = update(&mut state, status(2, FOCUS, true, None));
    assert!(fx.log.is_empty(), "conference IMs are not logged");
    let last = state.conversations[FOCUS].messages.last().unwrap();
    assert_eq!(
        (last.delivery.clone(), last.outgoing),
        (Delivery::Delivered, true)
    );
    // F5 and F6 do nothing in the conference IM.
    assert!(commands(&mut state, [key(KeyCode::F(5)), key(KeyCode::F(6))]).is_empty());
}

#[test]
fn conference_ims_and_typing_name_their_sender() {
    let mut state = leading();
    let fx = update(&mut state, conference_im(HAO, "I have the numbers"));
    assert!(!fx.bell, "the conference IM is open");
    let last = state.conversations[FOCUS].messages.last().unwrap();
    assert_eq!(
        (last.from.as_deref(), last.text.as_str(), last.outgoing),
        (Some(HAO), "I have the numbers", false)
    );
    assert!(!state.conversations.contains_key(HAO), "not Hao's own IM");
    // Another conference's IM is not ours.
    let fx = update(
        &mut state,
        client(Event::ConferenceIm {
            focus: "sip:x@confab.local;gruu;opaque=app:conf:focus:id:OTHER".into(),
            from: HAO.into(),
            text: "stray".into(),
        }),
    );
    assert!(!fx.redraw);
    assert_eq!(state.conversations[FOCUS].messages.len(), 3);

    let typing = |from: &str| {
        client(Event::ConferenceTyping {
            focus: FOCUS.into(),
            from: from.into(),
        })
    };
    feed(&mut state, [typing(HAO), typing(PHONE)]);
    let conference = state.conference.as_ref().unwrap();
    assert!(conference.is_typing(HAO, T0) && conference.is_typing(PHONE, T0));
    update(&mut state, conference_im(PHONE, "Hello from the phone"));
    let conference = state.conference.as_ref().unwrap();
    assert!(!conference.is_typing(PHONE, T0), "an IM ends the typing");
    let fx = update(&mut state, tick(T0 + 5_000));
    assert!(fx.redraw);
    assert!(state.conference.as_ref().unwrap().typing_until.is_empty());

    // Unread, with one bell, while another conversation is shown.
    feed(
        &mut state,
        [key(KeyCode::Esc), ch('j'), key(KeyCode::Enter)],
    );
    assert_eq!(state.open.as_deref(), Some(HAO));
    let fx = feed(
        &mut state,
        [conference_im(AMY, "one"), conference_im(AMY, "two")],
    );
    assert!(fx[0].bell && !fx[1].bell);
    assert_eq!(state.conversations[FOCUS].unread, 2);
    // Enter on the roster shows it again.
    feed(
        &mut state,
        [key(KeyCode::Esc), key(KeyCode::Tab), key(KeyCode::Enter)],
    );
    assert_eq!(
        (state.open.as_deref(), state.focus),
        (Some(FOCUS), Focus::Input)
    );
    assert_eq!(state.conversations[FOCUS].unread, 0);
}

#[test]
fn an_invitation_rings_like_a_call_and_is_answered_with_the_call_keys() {
    let invitation = || {
        client(Event::ConferenceInvitation {
            from: OWN.into(),
            focus: FOCUS.into(),
        })
    };
    let mut state = demo_state();
    let fx = update(&mut state, invitation());
    assert!(fx.bell);
    // The banner takes the keys: nothing moves, nothing opens.
    assert!(commands(&mut state, [ch('j'), ch('p'), ch('A')]).is_empty());
    assert!(state.modal.is_none() && state.conference.is_none());
    assert_eq!(commands(&mut state, [ch('y')]), [Command::AnswerCall]);
    assert!(state.invitation.is_none());
    assert_eq!(
        state.conference.as_ref().unwrap().origin,
        Origin::Invited { by: OWN.into() }
    );

    for (answer, decline) in [(ch('y'), ch('n')), (key(KeyCode::Enter), key(KeyCode::Esc))] {
        let mut state = demo_state();
        update(&mut state, invitation());
        assert_eq!(commands(&mut state, [decline]), [Command::DeclineCall]);
        assert!(state.invitation.is_none() && state.conference.is_none());
        let mut state = demo_state();
        update(&mut state, invitation());
        assert_eq!(commands(&mut state, [answer]), [Command::AnswerCall]);
    }

    // With the MCU's call reported too: one answer answers both.
    let mut state = demo_state();
    feed(
        &mut state,
        [
            client(Event::IncomingCall {
                from: AV_MCU.into(),
            }),
            invitation(),
        ],
    );
    assert_eq!(
        commands(&mut state, [key(KeyCode::Enter)]),
        [Command::AnswerCall]
    );
    assert_eq!(state.call.as_ref().unwrap().phase, CallPhase::Answering);
    // Cancelled before an answer: the banner goes.
    let mut state = demo_state();
    feed(
        &mut state,
        [
            client(Event::IncomingCall {
                from: AV_MCU.into(),
            }),
            invitation(),
        ],
    );
    update(
        &mut state,
        client(Event::CallEnded {
            peer: AV_MCU.into(),
            reason: "cancelled".into(),
        }),
    );
    assert!(state.invitation.is_none());
    update(&mut state, ch('j'));
    assert!(matches!(&state.selection, Some(Row::Buddy { uri, .. }) if uri == HAO));
}

#[test]
fn the_call_keys_still_work_while_an_invitation_rings() {
    let mut state = super::calls::in_call_with_amy();
    update(
        &mut state,
        client(Event::ConferenceInvitation {
            from: HAO.into(),
            focus: FOCUS.into(),
        }),
    );
    assert_eq!(
        commands(&mut state, [ctrl('z')]),
        [Command::Hold { held: true }]
    );
    assert!(state.invitation.is_some(), "still ringing");
}

#[test]
fn the_invited_join_and_continue_the_inviters_im() {
    let state = attending();
    let conference = state.conference.as_ref().unwrap();
    assert!(conference.joined && !conference.leader && conference.locked);
    assert_eq!(state.open.as_deref(), Some(FOCUS));
    assert_eq!(state.focus, Focus::Input, "answering took us there");
    let chat = &state.conversations[FOCUS];
    assert_eq!(chat.messages.len(), 1);
    assert_eq!(chat.messages[0].from.as_deref(), Some(OWN));
    assert_eq!(chat.unread, 0, "shown");
    assert_eq!(state.conversations[OWN].unread, 0, "read in the conference");
}

#[test]
fn ejected_or_ended_the_conference_view_goes_with_a_notice() {
    let mut state = leading();
    let fx = update(
        &mut state,
        client(Event::Ejected {
            focus: FOCUS.into(),
        }),
    );
    assert!(fx.redraw);
    assert!(state.conference.is_none());
    assert!(!state.conversations.contains_key(FOCUS));
    assert_eq!(
        state.open.as_deref(),
        Some(AMY),
        "back to the IM it came from"
    );
    assert_eq!(state.focus, Focus::Input);
    let notice = state.notice.as_ref().unwrap();
    assert_eq!(notice.text, "You were removed from the conference");
    // A late end of the same conference says nothing more.
    update(
        &mut state,
        client(Event::ConferenceEnded {
            focus: FOCUS.into(),
        }),
    );
    assert_eq!(
        state.notice.as_ref().unwrap().text,
        "You were removed from the conference"
    );

    let mut state = in_roster(attending());
    update(&mut state, ch('E'));
    update(
        &mut state,
        client(Event::ConferenceEnded {
            focus: FOCUS.into(),
        }),
    );
    assert!(state.conference.is_none());
    assert_eq!(state.focus, Focus::Buddies, "the roster is gone");
    assert_eq!(state.notice.as_ref().unwrap().text, "The conference ended");

    let mut state = in_roster(leading());
    select(&mut state, AMY);
    feed(
        &mut state,
        [
            ch('d'),
            client(Event::ConferenceEnded {
                focus: FOCUS.into(),
            }),
        ],
    );
    assert!(state.modal.is_none(), "its dialogs go with it");

    let mut state = in_roster(leading());
    update(&mut state, ch('X'));
    update(
        &mut state,
        client(Event::ConferenceEnded {
            focus: FOCUS.into(),
        }),
    );
    assert_eq!(
        state.notice.as_ref().unwrap().text,
        "You left the conference"
    );
}

#[test]
fn voices_in_the_mix_are_kept_for_the_roster() {
    let mut state = leading();
    let mut speaking = Contributors::default();
    speaking.insert(102, 0.6);
    let fx = update(
        &mut state,
        Msg::Meters(MediaMeters {
            speaking,
            ..MediaMeters::from((0.3, 0.5))
        }),
    );
    assert!(fx.redraw);
    let conference = state.conference.as_ref().unwrap();
    assert_eq!(conference.speaking_level(&conference.users[1]), Some(0.6));
    assert_eq!(conference.speaking_level(&conference.users[0]), None);
    assert_eq!(
        conference.speaking_level(&conference.users[3]),
        None,
        "no src-id"
    );
    // Outside a conference the roster takes none.
    let mut state = demo_state();
    assert!(!update(&mut state, Msg::Meters(MediaMeters::from((0.3, 0.5)))).redraw);
}

#[test]
fn a_conference_is_not_idleness() {
    let mut state = leading();
    let sent = commands(&mut state, [tick(T0 + 3_600_000)]);
    assert!(sent.is_empty(), "{sent:?}");
}
