//! `render(&AppState, &mut Frame)`: draws the state and changes nothing.
//!
//! Layout: the buddy list on the left, the conversation on the right, one
//! status line at the bottom with the call bar above it during a call,
//! and a dialog, when one is open, centred on top; the incoming-call
//! banner goes over everything. The buddy list takes a third of the width, between 20 and 36
//! columns; under 40 columns only the focused pane is shown. The right
//! side is one column for now; the conference roster will share it.
//!
//! Every size is computed with saturating arithmetic and every text is cut
//! to its area, so no terminal size makes it panic (tests draw at 1x1).

mod buddies;
pub mod call;
mod conversation;
pub mod help;
mod modal;
mod status;
pub mod text;
pub mod theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use super::state::{AppState, Focus};

/// Below this width the two panes do not fit side by side.
const SIDE_BY_SIDE: u16 = 40;

/// Draws the whole screen.
pub fn render(state: &AppState, frame: &mut Frame) {
    let area = frame.area();
    if area.is_empty() {
        return;
    }
    let [main, call_bar, status_line] = area.layout(&Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(call::height(state)),
        Constraint::Length(1),
    ]));
    let (list, right) = panes(state, main);
    if let Some(list) = list {
        buddies::render(state, frame, list);
    }
    if let Some(right) = right {
        conversation::render(state, frame, right);
    }
    call::render_bar(state, frame, call_bar);
    status::render(state, frame, status_line);
    modal::render(state, frame, area);
    call::render_banner(state, frame, area);
}

/// The buddy list's and the conversation's areas; at narrow widths only
/// one of them.
fn panes(state: &AppState, area: Rect) -> (Option<Rect>, Option<Rect>) {
    if area.width < SIDE_BY_SIDE {
        return match state.focus {
            Focus::Input if state.open.is_some() => (None, Some(area)),
            _ => (Some(area), None),
        };
    }
    let list_width = (area.width / 3).clamp(20, 36);
    let [list, right] = area.layout(&Layout::horizontal([
        Constraint::Length(list_width),
        Constraint::Min(0),
    ]));
    (Some(list), Some(right))
}
