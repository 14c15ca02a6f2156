//! What costs a frame. The run loop draws only after an update whose
//! [`Effects::redraw`](crate::tui::Effects) is set, at most every 33 ms
//! (`run.rs`); these are the messages that reach a screen where nothing
//! moves, and they must not ask for one. The screen drawn after them is
//! compared too, so that "no redraw" is not a lie.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::client::Event;
use crate::trace::testing;

use super::calls::client;
use super::view::draw;
use super::*;

#[test]
fn what_changes_nothing_on_screen_asks_for_no_frame() {
    let mut state = demo_state();
    let before = draw(&state, 80, 24).backend().to_string();
    let release = KeyEvent::new_with_kind(
        KeyCode::Char('j'),
        KeyModifiers::NONE,
        KeyEventKind::Release,
    );
    let quiet = [
        // A second passes: no typing to expire, no notice, not idle yet.
        tick(T0 + 1_000),
        Msg::Key(release),
        // A number normalized for no prompt of ours.
        client(Event::Normalized {
            number: "5550123".into(),
            e164: "+14255550123".into(),
            rule: "local".into(),
        }),
        // Levels with no call to show them.
        Msg::Meters((0.5, 0.2).into()),
        // SIP messages for the trace pane, which is closed.
        Msg::Trace(testing::escalation()),
        // A delivery report for a message not on screen.
        status(99, AMY, true, None),
    ];
    for msg in quiet {
        let shown = format!("{msg:?}");
        let fx = update(&mut state, msg);
        assert!(!fx.redraw, "{shown}");
        let after = draw(&state, 80, 24).backend().to_string();
        assert_eq!(after, before, "{shown} changed the screen");
    }
}
