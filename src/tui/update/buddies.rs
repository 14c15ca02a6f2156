//! Keys of the buddy list, and a new buddy list from the core.
//!
//! The selection is kept as a [`Row`] rather than an index, so it stays on
//! the same contact when the list changes around it; when that contact
//! goes, the row now at its place is selected.

use ratatui::crossterm::event::KeyEvent;
use tui_input::Input;

use crate::client::{Availability, Buddy};

use super::super::keys::{Action, Context};
use super::super::state::{AppState, BuddyForm, FormField, Modal, Row, Search, group_name};
use super::{Effects, open_conversation, quit};

pub(super) fn handle_key(state: &mut AppState, key: KeyEvent, fx: &mut Effects) {
    let Some(action) = state.keys.action(Context::Buddies, &key) else {
        fx.redraw = false;
        return;
    };
    let rows = state.rows();
    let index = state.selected_index(&rows);
    let selected = index.and_then(|i| rows.get(i)).cloned();
    match action {
        Action::Down => select(state, &rows, index.map_or(0, |i| i + 1)),
        Action::Up => select(state, &rows, index.map_or(0, |i| i.saturating_sub(1))),
        Action::Top => select(state, &rows, 0),
        Action::Bottom => select(state, &rows, rows.len().saturating_sub(1)),
        Action::Open => match selected {
            Some(Row::Buddy { uri, .. }) => open_conversation(state, &uri, fx),
            Some(Row::Group(group)) => {
                state.collapsed.remove(&group);
            }
            None => fx.redraw = false,
        },
        Action::Collapse | Action::ToggleGroup => match selected {
            Some(Row::Group(group)) if action == Action::ToggleGroup => {
                if !state.collapsed.remove(&group) {
                    state.collapsed.insert(group);
                }
            }
            Some(Row::Group(group) | Row::Buddy { group, .. }) => {
                state.collapsed.insert(group.clone());
                state.selection = Some(Row::Group(group));
            }
            None => fx.redraw = false,
        },
        Action::SwitchFocus => match (&state.open, selected) {
            _ if state.conference.is_some() => state.focus = super::Focus::Roster,
            (Some(_), _) => state.focus = super::Focus::Input,
            (None, Some(Row::Buddy { uri, .. })) => open_conversation(state, &uri, fx),
            (None, _) => fx.redraw = false,
        },
        Action::AddBuddy => {
            let group = match &selected {
                Some(Row::Group(group) | Row::Buddy { group, .. }) => group.clone(),
                None => String::new(),
            };
            state.modal = Some(Modal::BuddyForm(BuddyForm {
                group: group.into(),
                ..BuddyForm::default()
            }));
        }
        Action::MoveBuddy => match selected {
            Some(Row::Buddy { uri, .. }) => {
                let Some(buddy) = state.buddy(&uri) else {
                    return;
                };
                let field = FormField::ALL
                    .iter()
                    .position(|f| *f == FormField::Group)
                    .unwrap_or(0);
                state.modal = Some(Modal::BuddyForm(BuddyForm {
                    editing: Some(uri.clone()),
                    uri: uri.clone().into(),
                    display: buddy.display.clone().into(),
                    group: group_name(buddy).to_owned().into(),
                    field,
                    error: None,
                }));
            }
            _ => fx.redraw = false,
        },
        Action::RemoveBuddy => match selected {
            Some(Row::Buddy { uri, .. }) => state.modal = Some(Modal::ConfirmRemove { uri }),
            _ => fx.redraw = false,
        },
        Action::PickPresence => {
            let selected = Availability::CHOSEN
                .iter()
                .position(|a| *a == state.own.availability)
                .unwrap_or(0);
            state.modal = Some(Modal::PresencePicker { selected });
        }
        Action::EditNote => {
            state.modal = Some(Modal::NoteEditor {
                input: state.own.note.clone().into(),
            });
        }
        Action::Call => match selected {
            Some(Row::Buddy { uri, .. }) => super::call::place(state, &uri, fx),
            _ => fx.redraw = false,
        },
        Action::CallAddress => {
            if !super::call::busy(state) {
                state.modal = Some(Modal::CallPrompt {
                    input: Input::default(),
                });
            }
        }
        Action::DialTones => super::call::act(state, action, fx),
        Action::Escalate => match selected {
            Some(Row::Buddy { uri, .. }) => super::conference::escalate(state, &uri),
            _ => fx.redraw = false,
        },
        Action::Invite => match selected {
            Some(Row::Buddy { uri, .. }) => super::conference::invite(state, &uri, fx),
            _ => fx.redraw = false,
        },
        Action::Search => state.modal = Some(Modal::Search(Search::default())),
        Action::ShowHelp => state.modal = Some(Modal::Help { scroll: 0 }),
        Action::Quit => quit(state, fx),
        _ => fx.redraw = false,
    }
}

fn select(state: &mut AppState, rows: &[Row], index: usize) {
    let last = rows.len().saturating_sub(1);
    state.selection = rows.get(index.min(last)).cloned();
}

/// A new buddy list: keeps the selection on the same row if it is still
/// there, else on the row now at its place.
pub(super) fn replace(state: &mut AppState, buddies: Vec<Buddy>) {
    let old_rows = state.rows();
    let old_index = state.selected_index(&old_rows);
    state.contacts.set_buddies(buddies);
    let rows = state.rows();
    if state.selected_index(&rows).is_none() {
        let first_buddy = rows.iter().position(|row| matches!(row, Row::Buddy { .. }));
        select(state, &rows, old_index.or(first_buddy).unwrap_or(0));
    }
}
