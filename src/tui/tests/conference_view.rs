//! `render` in a conference: snapshots of the roster pane for a leader
//! and for an attendee, with speaking meters and a muted participant, at
//! 80x24 and 120x40; the invitation banner; the hints the roster offers;
//! the status bar; and no size panics.

use ratatui::crossterm::event::KeyCode;

use crate::client::Event;
use crate::media::contributors::Contributors;
use crate::tui::state::MediaMeters;
use crate::tui::update::{Msg, update};

use super::calls::client;
use super::conference::*;
use super::view::{assert_screen, draw};
use super::*;

pub(super) fn screen(state: &AppState, width: u16, height: u16) -> String {
    draw(state, width, height).backend().to_string()
}

/// Amy (CSRC 102) talks loudly and the phone (105) softly; our
/// microphone is at 0.4.
fn voices() -> Msg {
    let mut speaking = Contributors::default();
    speaking.insert(102, 0.7);
    speaking.insert(105, 0.2);
    Msg::Meters(MediaMeters {
        speaking,
        ..MediaMeters::from((0.4, 0.3))
    })
}

/// The audio as a call to the A/V MCU, connected at [`T0`], 1:23 ago.
pub(super) fn with_audio(state: &mut AppState) {
    feed(
        state,
        [
            client(Event::CallConnected {
                peer: AV_MCU.into(),
            }),
            tick(T0 + 83_000),
        ],
    );
}

/// The leader's screen: the roster has the keys, Hao selected (muted),
/// Amy and the phone speaking, Hao's IM in the conference's.
pub(super) fn leader_screen() -> AppState {
    let mut state = leading();
    with_audio(&mut state);
    feed(
        &mut state,
        [
            conference_im(HAO, "I have the Q3 numbers here"),
            key(KeyCode::Esc),
            key(KeyCode::Tab),
            ch('j'),
            ch('j'),
            voices(),
        ],
    );
    state
}

/// Amy's screen: an attendee of a locked conference, writing in its IM
/// while Hao types.
fn attendee_screen() -> AppState {
    let mut state = attending();
    with_audio(&mut state);
    feed(
        &mut state,
        [
            conference_im(HAO, "Joining from the train"),
            client(Event::ConferenceTyping {
                focus: FOCUS.into(),
                from: HAO.into(),
            }),
            voices(),
        ],
    );
    feed(&mut state, typed("Welcome"));
    state
}

#[test]
fn leader_roster_screens() {
    let state = leader_screen();
    assert_screen("conference_leader", &state, 80, 24);
    assert_screen("conference_leader", &state, 120, 40);
}

#[test]
fn attendee_roster_screens() {
    let state = attendee_screen();
    assert_screen("conference_attendee", &state, 80, 24);
    assert_screen("conference_attendee", &state, 120, 40);
}

#[test]
fn invitation_banner_screen() {
    let mut state = demo_state();
    update(
        &mut state,
        client(Event::ConferenceInvitation {
            from: HAO.into(),
            focus: FOCUS.into(),
        }),
    );
    let shown = screen(&state, 80, 24);
    assert!(
        shown.contains("Hao Chen invites you to a conference"),
        "{shown}"
    );
    assert_screen("conference_invitation", &state, 80, 24);
}

#[test]
fn the_roster_hints_only_what_can_be_done_on_the_selected_row() {
    let hints = |state: &AppState| {
        let shown = screen(state, 120, 40);
        shown.lines().nth(6).unwrap_or_default().to_owned()
    };
    let mut state = leader_screen();
    let on_hao = hints(&state);
    assert!(
        on_hao
            .contains("m unmute · d remove · p make leader · i invite · L lock · E end · X leave"),
        "{on_hao}"
    );
    update(&mut state, ch('g'));
    let on_us = hints(&state);
    assert!(
        on_us.contains("m mute · i invite · L lock · E end · X leave"),
        "{on_us}"
    );
    let mut users = everyone();
    users[1].roles = vec!["presenter".into()];
    feed(&mut state, [roster(2, true, users), ch('j')]);
    let on_amy = hints(&state);
    assert!(on_amy.contains("p make attendee"), "{on_amy}");
    assert!(on_amy.contains("L unlock"), "{on_amy}");
    let shown = screen(&state, 120, 40);
    assert!(shown.contains("Conference 7QX2K9PA · Locked"), "{shown}");

    let mut state = attendee_screen();
    feed(&mut state, [key(KeyCode::Esc), key(KeyCode::Tab)]);
    let attendee = hints(&state);
    assert!(attendee.contains("─ X leave ╯"), "{attendee}");
    for leaders in ["mute", "remove", "leader", "invite", "lock", "end"] {
        assert!(!attendee.contains(leaders), "{attendee}");
    }
}

#[test]
fn the_status_bar_says_in_a_conference_with_the_count_and_the_timer() {
    let last = |state: &AppState| {
        let shown = screen(state, 120, 40);
        shown.lines().last().unwrap_or_default().to_owned()
    };
    let mut state = chatting_with(AMY);
    feed(&mut state, [key(KeyCode::F(6)), key(KeyCode::Enter)]);
    assert!(
        last(&state).contains("◎ Joining a conference…"),
        "{}",
        last(&state)
    );
    let shown = screen(&state, 120, 40);
    assert!(
        shown.contains("Starting a conference with Amy Tran…"),
        "{shown}"
    );
    let mut state = leading();
    assert!(
        last(&state).contains("◎ In a conference · 5 people │"),
        "{}",
        last(&state)
    );
    with_audio(&mut state);
    assert!(
        last(&state).contains("◎ In a conference · 5 people · 01:23"),
        "{}",
        last(&state)
    );
    // Our presence says it already: the bar does not say it twice.
    update(
        &mut state,
        Msg::Client(Event::Presence {
            uri: OWN.into(),
            availability: crate::client::Availability::InAConference,
            note: String::new(),
        }),
    );
    let bar = last(&state);
    assert_eq!(bar.matches("In a conference").count(), 1, "{bar}");
    assert!(bar.contains("◎ 5 people · 01:23"), "{bar}");
}

#[test]
fn narrow_terminals_show_the_roster_alone_when_it_has_the_keys() {
    let mut state = leader_screen();
    let shown = screen(&state, 36, 16);
    assert!(shown.contains("Conference"), "{shown}");
    assert!(!shown.contains("Contacts"), "{shown}");
    update(&mut state, key(KeyCode::Esc));
    let shown = screen(&state, 36, 16);
    assert!(shown.contains("Contacts"), "{shown}");
}

#[test]
fn no_size_makes_a_conference_screen_panic() {
    let mut screens = vec![leader_screen(), attendee_screen()];
    let mut starting = chatting_with(AMY);
    feed(&mut starting, [key(KeyCode::F(6)), key(KeyCode::Enter)]);
    screens.push(starting);
    let mut dialogs = leader_screen();
    update(&mut dialogs, ch('d'));
    screens.push(dialogs.clone());
    feed(&mut dialogs, [key(KeyCode::Esc), ch('E')]);
    screens.push(dialogs.clone());
    feed(&mut dialogs, [key(KeyCode::Esc), ch('i'), ch('4')]);
    screens.push(dialogs);
    let mut invited = demo_state();
    update(
        &mut invited,
        client(Event::ConferenceInvitation {
            from: AV_MCU.into(),
            focus: FOCUS.into(),
        }),
    );
    screens.push(invited);
    let mut crowded = leader_screen();
    let crowd = (0..40)
        .map(|n| {
            user(
                &format!("sip:guest{n}@confab.local"),
                "",
                false,
                "none",
                None,
            )
        })
        .collect();
    feed(&mut crowded, [roster(2, true, crowd), ch('G')]);
    screens.push(crowded);
    for state in &screens {
        for (width, height) in [
            (0, 0),
            (1, 1),
            (2, 2),
            (10, 5),
            (20, 3),
            (39, 12),
            (40, 6),
            (45, 8),
            (200, 2),
            (3, 60),
        ] {
            draw(state, width, height);
        }
    }
}
