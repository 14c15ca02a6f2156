//! `update` on the main screen: moving through the buddy list, opening
//! conversations, focus, idle presence, quitting, registration.

use ratatui::crossterm::event::{KeyCode, KeyModifiers};

use crate::client::{Availability, Command, Event};
use crate::tui::state::{Delivery, Focus, Row};
use crate::tui::update::{Msg, update};

use super::*;

fn selected_uri(state: &AppState) -> Option<String> {
    match &state.selection {
        Some(Row::Buddy { uri, .. }) => Some(uri.clone()),
        Some(Row::Group(group)) => Some(format!("group {group}")),
        None => None,
    }
}

#[test]
fn vim_and_arrow_keys_move_the_selection_and_stop_at_the_ends() {
    let mut state = demo_state();
    assert_eq!(selected_uri(&state).as_deref(), Some(AMY), "first buddy");
    let mut path = Vec::new();
    for msg in [
        ch('j'),
        key(KeyCode::Down),
        ch('k'),
        key(KeyCode::Up),
        ch('k'),
        ch('k'),
        ch('G'),
        ch('j'),
        key(KeyCode::Home),
    ] {
        update(&mut state, msg);
        path.push(selected_uri(&state).unwrap_or_default());
    }
    assert_eq!(
        path,
        [
            HAO,
            JO,
            HAO,
            AMY,
            "group Team",
            "group Team",
            "group Partners",
            "group Partners",
            "group Team"
        ]
    );
}

#[test]
fn space_toggles_a_group_and_h_collapses_the_one_of_a_buddy() {
    let mut state = demo_state();
    update(&mut state, ch('h'));
    assert!(state.collapsed.contains("Team"));
    assert_eq!(state.selection, Some(Row::Group("Team".into())));
    assert!(!state.rows().iter().any(|row| *row
        == Row::Buddy {
            group: "Team".into(),
            uri: AMY.into()
        }));
    update(&mut state, ch(' '));
    assert!(!state.collapsed.contains("Team"));
    update(&mut state, ch('G'));
    update(&mut state, key(KeyCode::Right));
    assert!(!state.collapsed.contains("Partners"), "→ expands a group");
}

#[test]
fn enter_opens_the_selected_conversation_and_sends_to_that_peer() {
    let mut state = demo_state();
    update(&mut state, ch('j'));
    let fx = update(&mut state, key(KeyCode::Enter));
    assert_eq!(state.open.as_deref(), Some(HAO));
    assert_eq!(state.focus, Focus::Input);
    assert_eq!(fx.load_history, [HAO]);

    let sent = commands(
        &mut state,
        typed("hi there").into_iter().chain([key(KeyCode::Enter)]),
    );
    assert_eq!(
        sent,
        [
            Command::Typing { to: HAO.into() },
            Command::SendIm {
                id: 1,
                to: HAO.into(),
                text: "hi there".into()
            }
        ]
    );
    let conversation = &state.conversations[HAO];
    assert_eq!(conversation.messages[0].delivery, Delivery::Pending);
    assert_eq!(conversation.draft.value(), "");

    let sent = commands(
        &mut state,
        typed("again").into_iter().chain([key(KeyCode::Enter)]),
    );
    assert!(sent.contains(&Command::SendIm {
        id: 2,
        to: HAO.into(),
        text: "again".into()
    }));
    assert!(
        commands(
            &mut state,
            typed("   ").into_iter().chain([key(KeyCode::Enter)])
        )
        .iter()
        .all(|c| !matches!(c, Command::SendIm { .. })),
        "blank drafts are not sent"
    );
}

#[test]
fn l_and_right_open_too_and_tab_esc_move_focus() {
    for open in [ch('l'), key(KeyCode::Right), key(KeyCode::Tab)] {
        let mut state = demo_state();
        update(&mut state, open);
        assert_eq!(state.open.as_deref(), Some(AMY));
        assert_eq!(state.focus, Focus::Input);
        update(&mut state, key(KeyCode::Esc));
        assert_eq!(state.focus, Focus::Buddies);
        update(&mut state, key(KeyCode::Tab));
        assert_eq!(state.focus, Focus::Input);
        update(&mut state, key(KeyCode::Tab));
        assert_eq!(state.focus, Focus::Buddies);
        assert_eq!(state.open.as_deref(), Some(AMY), "stays shown");
    }
}

#[test]
fn idle_sets_away_automatically_and_the_next_key_restores_available() {
    let mut state = demo_state();
    let idle = 5 * 60 * 1000;
    assert!(commands(&mut state, [tick(T0 + idle - 1)]).is_empty());
    let note = Some("Working from the Lisbon office".to_owned());
    assert_eq!(
        commands(&mut state, [tick(T0 + idle)]),
        [Command::SetPresence {
            availability: Availability::Away,
            note: note.clone()
        }]
    );
    assert!(
        commands(&mut state, [tick(T0 + idle + 60_000)]).is_empty(),
        "once"
    );
    assert_eq!(
        commands(&mut state, [ch('j')]),
        [Command::SetPresence {
            availability: Availability::Available,
            note
        }]
    );
    assert_eq!(state.auto_away, None);
    assert!(commands(&mut state, [ch('k')]).is_empty());
}

#[test]
fn idle_leaves_other_states_alone_and_a_changed_state_is_not_restored() {
    let mut state = demo_state();
    state.own.availability = Availability::Busy;
    assert!(commands(&mut state, [tick(T0 + 3_600_000)]).is_empty());

    let mut state = demo_state();
    update(&mut state, tick(T0 + 300_000));
    update(
        &mut state,
        Msg::Client(Event::Presence {
            uri: OWN.into(),
            availability: Availability::Busy,
            note: String::new(),
        }),
    );
    assert!(commands(&mut state, [ch('j')]).is_empty());
    assert_eq!(state.own.availability, Availability::Busy);
}

#[test]
fn q_and_ctrl_c_quit_once_and_keys_stop_working() {
    let mut state = demo_state();
    assert_eq!(commands(&mut state, [ch('q')]), [Command::Quit]);
    assert!(state.quitting);
    assert!(commands(&mut state, [ch('q'), ch('a')]).is_empty());
    assert!(state.modal.is_none());

    let mut state = chatting_with(AMY);
    assert!(
        !commands(&mut state, [ch('q')]).contains(&Command::Quit),
        "q is text here"
    );
    assert_eq!(
        commands(
            &mut state,
            [with(KeyModifiers::CONTROL, KeyCode::Char('c'))]
        ),
        [Command::Quit]
    );
}

#[test]
fn a_terminal_that_hangs_up_signs_out_once_even_from_a_modal() {
    let mut state = demo_state();
    state.modal = Some(crate::tui::state::Modal::Help { scroll: 0 });
    let fx = update(&mut state, Msg::TerminalGone);
    assert_eq!(fx.commands, [Command::Quit]);
    assert!(state.quitting);
    assert!(state.modal.is_none());
    assert!(update(&mut state, Msg::TerminalGone).commands.is_empty());
}

#[test]
fn a_new_buddy_list_keeps_the_selection_on_its_contact() {
    let mut state = demo_state();
    update(&mut state, ch('j'));
    assert_eq!(selected_uri(&state).as_deref(), Some(HAO));
    let mut buddies = state.contacts.buddies().to_vec();
    buddies.retain(|b| b.uri != AMY);
    update(
        &mut state,
        Msg::Client(Event::Buddies {
            buddies: buddies.clone(),
        }),
    );
    assert_eq!(selected_uri(&state).as_deref(), Some(HAO));
    buddies.retain(|b| b.uri != HAO);
    update(&mut state, Msg::Client(Event::Buddies { buddies }));
    assert_eq!(
        selected_uri(&state).as_deref(),
        Some(JO),
        "the next row takes its place"
    );
}

#[test]
fn failures_and_registration_show_in_the_state() {
    let mut state = demo_state();
    update(
        &mut state,
        Msg::Client(Event::CommandFailed {
            command: "buddy.add",
            reason: "403 Forbidden".into(),
        }),
    );
    assert!(
        state
            .notice
            .as_ref()
            .is_some_and(|n| n.error && n.text.contains("403"))
    );
    update(&mut state, tick(T0 + 8_000));
    assert!(state.notice.is_none(), "notices pass");
    update(
        &mut state,
        Msg::Client(Event::RegistrationFailed {
            reason: "401 Unauthorized".into(),
        }),
    );
    assert_eq!(
        state.registration,
        crate::tui::state::Registration::Failed("401 Unauthorized".into())
    );
}
