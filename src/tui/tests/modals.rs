//! `update` in the dialogs, and the key table behind the help overlay.

use ratatui::crossterm::event::{Event as TerminalEvent, KeyCode, KeyEvent, KeyModifiers};
use tui_input::backend::crossterm::to_input_request;

use crate::client::{Availability, Command};
use crate::tui::history::LoggedMessage;
use crate::tui::keys::{Action, BINDINGS, Context, KeyMap};
use crate::tui::state::{Modal, Row};
use crate::tui::update::{Msg, update};
use crate::tui::view::help;

use super::*;

fn ctrl(c: char) -> Msg {
    with(KeyModifiers::CONTROL, KeyCode::Char(c))
}

const NOTE: &str = "Working from the Lisbon office";

#[test]
fn the_presence_picker_publishes_the_chosen_state_with_the_note() {
    let mut state = demo_state();
    update(&mut state, ch('p'));
    assert!(matches!(
        state.modal,
        Some(Modal::PresencePicker { selected: 0 })
    ));
    let sent = commands(
        &mut state,
        [
            ch('j'),
            key(KeyCode::Down),
            ch('k'),
            ch('j'),
            key(KeyCode::Enter),
        ],
    );
    assert_eq!(
        sent,
        [Command::SetPresence {
            availability: Availability::DoNotDisturb,
            note: Some(NOTE.into())
        }]
    );
    assert_eq!(state.own.availability, Availability::DoNotDisturb);
    assert!(state.modal.is_none());

    update(&mut state, ch('p'));
    assert!(matches!(
        state.modal,
        Some(Modal::PresencePicker { selected: 2 })
    ));
    assert!(commands(&mut state, [ch('j'), key(KeyCode::Esc)]).is_empty());
    assert!(state.modal.is_none(), "Esc cancels");
}

#[test]
fn the_note_editor_publishes_the_note_and_an_empty_one_clears_it() {
    let mut state = demo_state();
    update(&mut state, ch('n'));
    let mut msgs = vec![ctrl('u')];
    msgs.extend(typed("At lunch"));
    msgs.push(key(KeyCode::Enter));
    assert_eq!(
        commands(&mut state, msgs),
        [Command::SetPresence {
            availability: Availability::Available,
            note: Some("At lunch".into())
        }]
    );
    assert_eq!(state.own.note, "At lunch");

    update(&mut state, ch('n'));
    update(&mut state, Msg::Paste("two\nlines".into()));
    match &state.modal {
        Some(Modal::NoteEditor { input }) => assert_eq!(input.value(), "At lunchtwo lines"),
        other => panic!("{other:?}"),
    }
    let sent = commands(&mut state, [ctrl('u'), key(KeyCode::Enter)]);
    assert_eq!(
        sent,
        [Command::SetPresence {
            availability: Availability::Available,
            note: None
        }]
    );
}

#[test]
fn the_add_form_sends_add_buddy_in_the_selected_group() {
    let mut state = demo_state();
    update(&mut state, ch('a'));
    let mut msgs = typed("bob@confab.local");
    msgs.push(key(KeyCode::Tab));
    msgs.extend(typed("Bob Ito"));
    msgs.push(key(KeyCode::Enter));
    assert_eq!(
        commands(&mut state, msgs),
        [Command::AddBuddy {
            uri: "sip:bob@confab.local".into(),
            display: Some("Bob Ito".into()),
            group: Some("Team".into())
        }]
    );
    assert!(state.modal.is_none());
}

#[test]
fn the_add_form_refuses_an_address_it_cannot_use() {
    let mut state = demo_state();
    update(&mut state, ch('a'));
    assert!(commands(&mut state, [key(KeyCode::Enter)]).is_empty());
    let Some(Modal::BuddyForm(form)) = &state.modal else {
        panic!("the form stays open");
    };
    assert!(form.error.as_deref().is_some_and(|e| e.contains("address")));
    let mut msgs = typed("bob");
    msgs.push(key(KeyCode::Enter));
    assert!(commands(&mut state, msgs).is_empty(), "no host");
    assert!(matches!(state.modal, Some(Modal::BuddyForm(_))));
    update(&mut state, key(KeyCode::Esc));
    assert!(state.modal.is_none());
}

#[test]
fn m_moves_a_contact_through_the_same_form_with_its_uri_fixed() {
    let mut state = demo_state();
    update(&mut state, ch('m'));
    let mut msgs = vec![ctrl('u')];
    msgs.extend(typed("Friends"));
    // Group, then Display, then back past the fixed URI field to Group
    // (Shift-Tab as crossterm reports it).
    msgs.extend([
        key(KeyCode::Tab),
        with(KeyModifiers::SHIFT, KeyCode::BackTab),
    ]);
    msgs.extend(typed("x"));
    msgs.push(key(KeyCode::Enter));
    assert_eq!(
        commands(&mut state, msgs),
        [Command::AddBuddy {
            uri: AMY.into(),
            display: Some("Amy Tran".into()),
            group: Some("Friendsx".into())
        }]
    );
}

#[test]
fn remove_asks_first_and_sends_only_on_yes() {
    let mut state = demo_state();
    update(&mut state, ch('d'));
    assert!(matches!(&state.modal, Some(Modal::ConfirmRemove { uri }) if uri == AMY));
    assert!(commands(&mut state, [ch('x'), ch('n')]).is_empty());
    assert!(state.modal.is_none());
    assert_eq!(
        commands(&mut state, [ch('d'), ch('y')]),
        [Command::RemoveBuddy { uri: AMY.into() }]
    );
    state.selection = Some(Row::Group("Team".into()));
    update(&mut state, ch('d'));
    assert!(state.modal.is_none(), "a group is not a contact");
}

#[test]
fn search_asks_for_results_and_opens_the_chosen_conversation() {
    let mut state = demo_state();
    update(&mut state, ch('/'));
    let searches: Vec<_> = feed(&mut state, typed("lun"))
        .into_iter()
        .map(|fx| fx.search)
        .collect();
    assert_eq!(
        searches,
        [Some("l".into()), Some("lu".into()), Some("lun".into())]
    );
    let found = |peer: &str| LoggedMessage {
        peer: peer.into(),
        outgoing: false,
        text: "lunch?".into(),
        at_ms: T0,
        delivered: None,
        reason: None,
    };
    update(
        &mut state,
        Msg::SearchResults {
            query: "lu".into(),
            results: vec![found(MIRA)],
        },
    );
    let Some(Modal::Search(search)) = &state.modal else {
        panic!("search is open");
    };
    assert!(
        search.results.is_empty(),
        "results of an older query are dropped"
    );
    update(
        &mut state,
        Msg::SearchResults {
            query: "lun".into(),
            results: vec![found(MIRA), found(HAO)],
        },
    );
    update(&mut state, key(KeyCode::Down));
    let fx = update(&mut state, key(KeyCode::Enter));
    assert_eq!(state.open.as_deref(), Some(HAO));
    assert!(state.modal.is_none());
    assert_eq!(fx.load_history, [HAO]);
}

#[test]
fn help_opens_scrolls_and_closes_without_quitting() {
    let mut state = demo_state();
    update(&mut state, ch('?'));
    update(&mut state, ch('j'));
    assert!(matches!(state.modal, Some(Modal::Help { scroll: 1 })));
    assert!(commands(&mut state, [ch('q')]).is_empty());
    assert!(state.modal.is_none() && !state.quitting);
    update(&mut state, key(KeyCode::F(1)));
    assert!(matches!(state.modal, Some(Modal::Help { .. })));
}

#[test]
fn help_lists_every_binding_of_the_key_table() {
    let sections = help::sections(&KeyMap::default(), false);
    for binding in BINDINGS {
        let section = sections
            .iter()
            .find(|s| s.title == binding.context.title())
            .expect("a section per context");
        assert!(
            section
                .rows
                .iter()
                .any(|(keys, help)| *keys == binding.keys_label() && help == binding.help),
            "{binding:?} is missing from the help"
        );
    }
    for context in Context::ALL {
        assert!(
            KeyMap::default().bindings(context).next().is_some(),
            "{context:?} has keys"
        );
    }
    let presence = sections
        .iter()
        .find(|s| s.title == "Presence")
        .expect("legend");
    assert_eq!(presence.rows.len(), Availability::ALL.len());
}

#[test]
fn every_listed_key_does_what_the_table_says() {
    for binding in BINDINGS {
        for key in binding.keys.iter() {
            let event = KeyEvent::new(key.code, key.modifiers);
            if binding.action == Action::Edit {
                assert!(
                    to_input_request(&TerminalEvent::Key(event)).is_some(),
                    "tui-input does not handle {}",
                    key.label()
                );
            } else {
                assert_eq!(
                    KeyMap::default().action(binding.context, &event),
                    Some(binding.action),
                    "{} in {:?} is shadowed",
                    key.label(),
                    binding.context
                );
            }
        }
    }
}
