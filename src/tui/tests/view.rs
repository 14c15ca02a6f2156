//! `render` on a `TestBackend`: snapshots of the main screens at 80x24 and
//! 120x40, colours of the presence symbols, and every screen at sizes
//! down to nothing without a panic.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use ratatui::style::Color;

use crate::client::Event;
use crate::tui::history::LoggedMessage;
use crate::tui::state::Focus;
use crate::tui::update::{Msg, update};
use crate::tui::view::render;

use super::*;

pub(super) fn draw(state: &AppState, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    terminal
        .draw(|frame| render(state, frame))
        .expect("drawing on a test backend");
    terminal
}

/// Compares the screen with `src/tui/snapshots/<name>.snap`.
pub(super) fn assert_screen(name: &str, state: &AppState, width: u16, height: u16) {
    let screen = draw(state, width, height).backend().to_string();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(format!("{name}_{width}x{height}"), screen));
}

fn send(text: &str) -> Vec<Msg> {
    let mut msgs = typed(text);
    msgs.push(key(KeyCode::Enter));
    msgs
}

/// The buddy list with two unread messages from Hao.
pub(super) fn buddy_list() -> AppState {
    let mut state = demo_state();
    feed(
        &mut state,
        [im(HAO, "Got a sec?"), im(HAO, "About the demo")],
    );
    state
}

/// Amy's conversation: yesterday's history, then delivered, failed and
/// pending messages, Amy typing, and a draft.
fn conversation() -> AppState {
    let mut state = buddy_list();
    update(&mut state, key(KeyCode::Enter));
    let yesterday = |text: &str, outgoing, at| LoggedMessage {
        peer: AMY.into(),
        outgoing,
        text: text.into(),
        at_ms: T0 - 86_400_000 + at,
        delivered: outgoing.then_some(true),
        reason: None,
    };
    let mut msgs = vec![Msg::History {
        peer: AMY.into(),
        messages: vec![
            yesterday("Are we still on for the plan review tomorrow?", false, 0),
            yesterday("Yes, 10 o'clock in the small room.", true, 60_000),
        ],
    }];
    msgs.push(tick(T0 + 60_000));
    msgs.push(im(
        AMY,
        "Hi Vivian! Do you have a minute for the Q3 plan? I have a few questions about the budget section.",
    ));
    msgs.push(tick(T0 + 120_000));
    msgs.extend(send(
        "Sure, give me five minutes. I'm just finishing a call.",
    ));
    msgs.push(status(1, AMY, true, None));
    msgs.push(tick(T0 + 180_000));
    msgs.push(im(AMY, "Great, thanks!"));
    msgs.push(tick(T0 + 240_000));
    msgs.extend(send("Can Hao join us? He knows the numbers."));
    msgs.push(status(2, AMY, false, Some("480 Temporarily Unavailable")));
    msgs.push(tick(T0 + 300_000));
    msgs.extend(send(
        "Here is the draft: https://confab.local/docs/q3-plan-v2",
    ));
    msgs.push(Msg::Client(Event::Typing { from: AMY.into() }));
    msgs.extend(typed("Sounds good"));
    feed(&mut state, msgs);
    state
}

#[test]
fn buddy_list_screens() {
    let state = buddy_list();
    assert_screen("buddy_list", &state, 80, 24);
    assert_screen("buddy_list", &state, 120, 40);
}

#[test]
fn conversation_screens() {
    let state = conversation();
    assert_screen("conversation", &state, 80, 24);
    assert_screen("conversation", &state, 120, 40);
}

#[test]
fn help_screens() {
    let mut state = buddy_list();
    update(&mut state, ch('?'));
    assert_screen("help", &state, 80, 24);
    assert_screen("help", &state, 120, 40);
}

#[test]
fn presence_picker_screens() {
    let mut state = buddy_list();
    feed(&mut state, [ch('p'), ch('j')]);
    assert_screen("presence_picker", &state, 80, 24);
    assert_screen("presence_picker", &state, 120, 40);
}

#[test]
fn add_buddy_form_screen() {
    let mut state = buddy_list();
    feed(&mut state, [ch('a')]);
    feed(&mut state, typed("bob@confab.local"));
    update(&mut state, key(KeyCode::Tab));
    assert_screen("add_buddy", &state, 80, 24);
}

#[test]
fn narrow_terminals_show_the_focused_pane_alone() {
    let mut state = conversation();
    assert_screen("narrow_conversation", &state, 36, 16);
    state.focus = Focus::Buddies;
    assert_screen("narrow_buddy_list", &state, 36, 16);
}

#[test]
fn presence_symbols_are_coloured_by_state() {
    let state = buddy_list();
    let terminal = draw(&state, 80, 24);
    let buffer = terminal.backend().buffer();
    let colour_before = |name: &str| {
        let width = buffer.area.width;
        (0..buffer.area.height)
            .find_map(|y| {
                let row: String = (0..width).map(|x| buffer[(x, y)].symbol()).collect();
                let column = row.find(name)?;
                // The symbol sits two columns before the name.
                let x = u16::try_from(row[..column].chars().count()).ok()? - 2;
                Some(buffer[(x, y)].fg)
            })
            .unwrap_or_else(|| panic!("{name} is on screen"))
    };
    assert_eq!(colour_before("Amy Tran"), Color::Green);
    assert_eq!(colour_before("Hao Chen"), Color::Red);
    assert_eq!(colour_before("Jo Okafor"), Color::Red);
    assert_eq!(colour_before("Mira Patel"), Color::Yellow);
    assert_eq!(colour_before("Lee Park"), Color::Yellow);
    assert_eq!(colour_before("Sam Park"), Color::DarkGray);
}

#[test]
fn presence_symbols_are_distinct_and_one_column_wide() {
    use crate::client::Availability;
    use crate::tui::view::{text, theme};
    let symbols: std::collections::BTreeSet<_> = Availability::ALL
        .iter()
        .map(|a| theme::symbol(*a))
        .collect();
    assert_eq!(symbols.len(), Availability::ALL.len());
    assert!(symbols.iter().all(|s| text::width(s) == 1));
}

#[test]
fn no_size_makes_any_screen_panic() {
    let mut screens = vec![
        AppState::new(TuiConfig::default()).unwrap(),
        buddy_list(),
        conversation(),
    ];
    let mut focused_list = conversation();
    focused_list.focus = Focus::Buddies;
    screens.push(focused_list);
    for keys in [
        vec![ch('?')],
        vec![ch('p')],
        vec![ch('n')],
        vec![ch('a'), ch('x')],
        vec![ch('m')],
        vec![ch('d')],
        vec![ch('/'), ch('x')],
        typed("C5550123"),
        typed("C555-CALL"),
    ] {
        let mut state = buddy_list();
        feed(&mut state, keys);
        screens.push(state);
    }
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

#[test]
fn scrolling_the_help_at_80x24_shows_every_key() {
    let mut seen = String::new();
    let pages = u16::try_from(crate::tui::keys::Context::ALL.len()).unwrap();
    for scroll in 0..=pages {
        let mut state = buddy_list();
        state.modal = Some(crate::tui::state::Modal::Help { scroll });
        seen.push_str(&draw(&state, 80, 24).backend().to_string());
    }
    for binding in crate::tui::keys::BINDINGS {
        assert!(
            seen.contains(binding.help),
            "{:?} never shown",
            binding.help
        );
        assert!(
            seen.contains(&binding.keys_label()),
            "{:?} never shown",
            binding.keys_label()
        );
    }
}
