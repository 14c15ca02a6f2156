//! `confab trace FILE`: the trace pane alone on the whole screen, over the
//! messages of a trace file, read-only. `q` (or Esc from the list) quits.
//!
//! It runs the client's own [`update`] and [`render`] over an [`AppState`]
//! whose trace pane is open and read-only, so the keys, the help overlay
//! and the drawing are the client's; no client core runs, and the
//! commands an update might produce go nowhere.

use std::io;

use ratatui::crossterm::event::{self, Event as TerminalEvent};

use crate::trace::TraceEntry;

use super::super::state::{AppState, TuiConfig};
use super::super::terminal;
use super::super::update::{Msg, update};
use super::super::view::render;
use super::TracePane;

/// The state the viewer starts with: the pane open on the first dialog.
pub fn viewer_state(title: &str, entries: Vec<TraceEntry>) -> io::Result<AppState> {
    let mut state = AppState::new(TuiConfig::default())
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
    let mut pane = TracePane {
        read_only: true,
        open: true,
        title: title.to_owned(),
        ..TracePane::default()
    };
    pane.push(entries);
    pane.follow = false;
    pane.selected = pane.visible().first().map(|dialog| dialog.call_id.clone());
    pane.message = pane.ladder().first().map(|traced| traced.seq);
    state.trace = pane;
    Ok(state)
}

/// Shows `entries` until the user quits. Takes the terminal, and gives it
/// back on return and on panic.
pub fn run(title: &str, entries: Vec<TraceEntry>) -> io::Result<()> {
    let mut state = viewer_state(title, entries)?;
    let mut terminal = terminal::enter()?;
    let result = (|| -> io::Result<()> {
        let size = terminal.size()?;
        update(
            &mut state,
            Msg::Resize {
                width: size.width,
                height: size.height,
            },
        );
        loop {
            terminal.draw(|frame| render(&state, frame))?;
            let msg = match event::read()? {
                TerminalEvent::Key(key) => Msg::Key(key),
                TerminalEvent::Resize(width, height) => Msg::Resize { width, height },
                _ => continue,
            };
            update(&mut state, msg);
            if !state.trace.open || state.quitting {
                return Ok(());
            }
        }
    })();
    let left = terminal::leave();
    result.and(left)
}
