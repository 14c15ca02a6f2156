//! The trace pane's keys. Moving up in the list or the ladder stops
//! following new messages; moving to the end (or `G`) follows again.
//! Enter goes one level in (list, ladder, whole message) and Esc one level
//! out, closing the pane from the list.

use ratatui::crossterm::event::{Event as TerminalEvent, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use super::super::keys::{Action, Context, KeyMap};
use super::{Scope, TraceFocus, TracePane};

/// What a key asks of the front end around the pane.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    pub redraw: bool,
    /// Show the help overlay.
    pub help: bool,
    /// Quit the program (Ctrl-C).
    pub quit: bool,
}

/// Opens the pane on the list, following.
pub fn open(pane: &mut TracePane) {
    pane.open = true;
    pane.catch_up();
    pane.focus = TraceFocus::List;
}

pub fn handle_key(pane: &mut TracePane, keys: &KeyMap, key: KeyEvent) -> Outcome {
    let mut outcome = Outcome {
        redraw: true,
        ..Outcome::default()
    };
    if let Some(input) = pane.editing.take() {
        filter_key(pane, keys, input, key, &mut outcome);
        return outcome;
    }
    let Some(action) = keys.action(Context::Trace, &key) else {
        outcome.redraw = false;
        return outcome;
    };
    match action {
        Action::Quit => outcome.quit = true,
        Action::ShowHelp => outcome.help = true,
        Action::ShowTrace | Action::CloseTrace => pane.open = false,
        Action::TraceMethod => {
            let methods = pane.methods();
            let next = match &pane.method {
                None => methods.first().cloned(),
                Some(current) => methods
                    .iter()
                    .position(|method| method == current)
                    .and_then(|at| methods.get(at + 1))
                    .cloned(),
            };
            pane.set_method(next);
        }
        Action::Search => pane.editing = Some(Input::new(pane.text.clone())),
        Action::TraceScope => {
            pane.scope = match pane.scope {
                Scope::Dialog => Scope::All,
                Scope::All => Scope::Dialog,
            };
            pane.message = pane.ladder().last().map(|traced| traced.seq);
        }
        _ => match pane.focus {
            TraceFocus::List => list_key(pane, action, &mut outcome),
            TraceFocus::Ladder => ladder_key(pane, action, &mut outcome),
            TraceFocus::Message => message_key(pane, action, &mut outcome),
        },
    }
    outcome
}

fn filter_key(
    pane: &mut TracePane,
    keys: &KeyMap,
    mut input: Input,
    key: KeyEvent,
    outcome: &mut Outcome,
) {
    match keys.action(Context::TraceFilter, &key) {
        Some(Action::Accept) => pane.set_text(input.value()),
        Some(Action::Cancel) => pane.set_text(""),
        Some(Action::Quit) => outcome.quit = true,
        _ => {
            match to_input_request(&TerminalEvent::Key(key)) {
                Some(request) => {
                    input.handle(request);
                }
                None => outcome.redraw = false,
            }
            pane.editing = Some(input);
        }
    }
}

/// Where a move lands among `len` rows from `at`, and whether it follows.
fn moved(action: Action, at: Option<usize>, len: usize, page: usize) -> Option<(usize, bool)> {
    let last = len.checked_sub(1)?;
    let at = at.unwrap_or(last);
    let to = match action {
        Action::Down => at.saturating_add(1).min(last),
        Action::Up => at.saturating_sub(1),
        Action::Top => 0,
        Action::Bottom => last,
        Action::PageDown => at.saturating_add(page.max(1)).min(last),
        Action::PageUp => at.saturating_sub(page.max(1)),
        _ => return None,
    };
    Some((to, to == last))
}

fn list_key(pane: &mut TracePane, action: Action, outcome: &mut Outcome) {
    match action {
        Action::Open | Action::SwitchFocus => {
            if pane.selected.is_some() {
                pane.focus = TraceFocus::Ladder;
            } else {
                outcome.redraw = false;
            }
        }
        Action::Back => pane.open = false,
        _ => {
            let visible = pane.visible();
            let at = visible
                .iter()
                .position(|dialog| Some(&dialog.call_id) == pane.selected.as_ref());
            let Some((to, last)) = moved(action, at, visible.len(), pane.page) else {
                outcome.redraw = false;
                return;
            };
            pane.selected = visible.get(to).map(|dialog| dialog.call_id.clone());
            pane.follow = last;
            // A dialog is read from its start, unless we follow its end.
            let ladder = pane.ladder();
            let message = if last { ladder.last() } else { ladder.first() };
            pane.message = message.map(|traced| traced.seq);
            pane.scroll = 0;
        }
    }
}

fn ladder_key(pane: &mut TracePane, action: Action, outcome: &mut Outcome) {
    match action {
        Action::Open => {
            if pane.message.is_some() {
                pane.focus = TraceFocus::Message;
                pane.scroll = 0;
            } else {
                outcome.redraw = false;
            }
        }
        Action::Back | Action::SwitchFocus => pane.focus = TraceFocus::List,
        _ => {
            let ladder = pane.ladder();
            let at = ladder
                .iter()
                .position(|traced| Some(traced.seq) == pane.message);
            let Some((to, last)) = moved(action, at, ladder.len(), pane.page) else {
                outcome.redraw = false;
                return;
            };
            let target = ladder
                .get(to)
                .map(|traced| (traced.seq, traced.summary.call_id.clone()));
            if let Some((seq, call_id)) = target {
                pane.message = Some(seq);
                // In the ladder of every dialog, the selected message's
                // dialog becomes the list's selection.
                if pane.scope == Scope::All && call_id.is_some() {
                    pane.selected = call_id;
                }
            }
            pane.follow = last && pane.is_last_dialog();
            pane.scroll = 0;
        }
    }
}

fn message_key(pane: &mut TracePane, action: Action, outcome: &mut Outcome) {
    let page = u16::try_from(pane.page.max(1)).unwrap_or(u16::MAX);
    pane.scroll = match action {
        Action::Back | Action::Open => {
            pane.focus = TraceFocus::Ladder;
            0
        }
        Action::SwitchFocus => {
            pane.focus = TraceFocus::List;
            0
        }
        Action::Down => pane.scroll.saturating_add(1),
        Action::Up => pane.scroll.saturating_sub(1),
        Action::PageDown => pane.scroll.saturating_add(page),
        Action::PageUp => pane.scroll.saturating_sub(page),
        Action::Top => 0,
        Action::Bottom => u16::MAX / 2,
        _ => {
            outcome.redraw = false;
            pane.scroll
        }
    };
}

impl TracePane {
    /// Whether the selected dialog is the last one listed.
    fn is_last_dialog(&self) -> bool {
        self.visible().last().map(|dialog| &dialog.call_id) == self.selected.as_ref()
    }
}
