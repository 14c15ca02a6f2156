//! `render(&AppState, &mut Frame)`: draws the state and changes nothing.
//!
//! Layout: the buddy list on the left, the conversation on the right, one
//! status line at the bottom with the call bar above it during a call,
//! and a dialog, when one is open, centred on top; the incoming-call
//! banner (or a conference's invitation) goes over everything. The buddy
//! list takes a third of the width, between 20 and 36 columns. In a
//! conference the roster takes the top of the right side, as many rows
//! as it has participants up to half of it, above the conversation.
//! Under 40 columns only the focused pane is shown. The SIP trace pane,
//! when open, takes the place of all of them (and of the status bar too in
//! the trace viewer).
//!
//! Every size is computed with saturating arithmetic and every text is cut
//! to its area, so no terminal size makes it panic (tests draw at 1x1).

mod buddies;
pub mod call;
mod conversation;
pub mod help;
mod lines;
mod modal;
mod names;
mod panel;
mod roster;
mod status;
pub mod text;
pub mod theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use super::state::{AppState, Focus};
use names::Names;

/// Below this width the two panes do not fit side by side.
const SIDE_BY_SIDE: u16 = 40;

/// Draws the whole screen.
pub fn render(state: &AppState, frame: &mut Frame) {
    let area = frame.area();
    if area.is_empty() {
        return;
    }
    if state.trace.open && state.trace.read_only {
        super::trace::view::render(&state.trace, &state.keys, &state.config.theme, frame, area);
        modal::render(state, frame, area);
        return;
    }
    let [main, call_bar, status_line] = area.layout(&Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(call::height(state)),
        Constraint::Length(1),
    ]));
    if state.trace.open {
        super::trace::view::render(&state.trace, &state.keys, &state.config.theme, frame, main);
        call::render_bar(state, frame, call_bar);
        status::render(state, frame, status_line);
        modal::render(state, frame, area);
        call::render_banner(state, frame, area);
        return;
    }
    let panes = panes(state, main);
    let names = Names::new(state);
    if let Some(list) = panes.list {
        buddies::render(state, frame, list);
    }
    if let Some(roster) = panes.roster {
        roster::render(state, &names, frame, roster);
    }
    if let Some(chat) = panes.chat {
        conversation::render(state, &names, frame, chat);
    }
    call::render_bar(state, frame, call_bar);
    status::render(state, frame, status_line);
    modal::render(state, frame, area);
    call::render_banner(state, frame, area);
}

/// Where the panes go; a pane not shown has none.
#[derive(Default)]
struct Panes {
    list: Option<Rect>,
    roster: Option<Rect>,
    chat: Option<Rect>,
}

/// The buddy list's, the roster's and the conversation's areas; at
/// narrow widths only one of them.
fn panes(state: &AppState, area: Rect) -> Panes {
    let in_conference = state.conference.is_some();
    if area.width < SIDE_BY_SIDE {
        return match state.focus {
            Focus::Input if state.open.is_some() => Panes {
                chat: Some(area),
                ..Panes::default()
            },
            Focus::Roster if in_conference => Panes {
                roster: Some(area),
                ..Panes::default()
            },
            _ => Panes {
                list: Some(area),
                ..Panes::default()
            },
        };
    }
    let list_width = (area.width / 3).clamp(20, 36);
    let [list, right] = area.layout(&Layout::horizontal([
        Constraint::Length(list_width),
        Constraint::Min(0),
    ]));
    if !in_conference {
        return Panes {
            list: Some(list),
            roster: None,
            chat: Some(right),
        };
    }
    let [roster, chat] = right.layout(&Layout::vertical([
        Constraint::Length(roster::height(state, right.height)),
        Constraint::Min(0),
    ]));
    Panes {
        list: Some(list),
        roster: Some(roster),
        chat: Some(chat),
    }
}
