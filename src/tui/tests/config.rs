//! The config file's `[keys]` and `[colours]` in the UI: rebound keys
//! dispatch and are listed in the help, conflicting ones are refused, and
//! chosen colours reach the screen.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use ratatui::style::Color;

use crate::client::Command;
use crate::config::{self, Colour, Colours, Config, KeyAction};
use crate::tui::keys::{Action, Context, Key, KeyError, KeyMap, action_for};
use crate::tui::state::{Focus, Modal};
use crate::tui::update::update;
use crate::tui::view::help;
use crate::tui::view::theme::Theme;

use super::view::draw;
use super::*;

fn rebound(pairs: &[(KeyAction, &str)]) -> Vec<(KeyAction, config::Key)> {
    pairs
        .iter()
        .map(|(action, key)| (*action, key.parse().unwrap()))
        .collect()
}

fn with_keys(pairs: &[(KeyAction, &str)]) -> AppState {
    demo_state_with(TuiConfig {
        keys: rebound(pairs),
        ..TuiConfig::default()
    })
}

fn ctrl(c: char) -> Msg {
    with(KeyModifiers::CONTROL, KeyCode::Char(c))
}

/// The keys the help overlay lists for `help` in `context`.
fn help_keys(keys: &KeyMap, context: Context, help: &str) -> String {
    help::sections(keys, false)
        .into_iter()
        .find(|section| section.title == context.title())
        .and_then(|section| section.rows.into_iter().find(|(_, h)| h == help))
        .map(|(keys, _)| keys)
        .unwrap_or_else(|| panic!("{help:?} is in the {context:?} help"))
}

/// Where `text` starts on screen.
fn find(buffer: &Buffer, text: &str) -> (u16, u16) {
    (0..buffer.area.height)
        .find_map(|y| {
            let row: String = (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect();
            let at = row.find(text)?;
            Some((u16::try_from(row[..at].chars().count()).ok()?, y))
        })
        .unwrap_or_else(|| panic!("{text:?} is on screen"))
}

#[test]
fn the_defaults_and_the_example_file_make_a_key_map() {
    assert_eq!(KeyMap::new(&[]), Ok(KeyMap::default()));
    assert_eq!(TuiConfig::default().validate(), Ok(()));
    let example = Config::parse(config::example()).unwrap();
    let config = TuiConfig {
        keys: example.keys.into_iter().collect(),
        ..TuiConfig::default()
    };
    assert_eq!(config.validate(), Ok(()));
    // Every action a file may name has keys of its own in the buddy list,
    // so rebinding it always changes something.
    for action in KeyAction::all() {
        let rows = KeyMap::default()
            .bindings(Context::Buddies)
            .filter(|binding| binding.action == action_for(action))
            .count();
        assert_eq!(rows, 1, "{action}");
    }
}

#[test]
fn config_keys_are_matched_as_the_terminal_reports_them() {
    let key = |text: &str| Key::from_config(&text.parse().unwrap());
    let expect = |code, modifiers| Ok(Key { code, modifiers });
    use KeyCode::{BackTab, Char, Enter, F, Tab};
    let none = KeyModifiers::NONE;
    assert_eq!(key("x"), expect(Char('x'), none));
    assert_eq!(key("G"), expect(Char('G'), none));
    assert_eq!(key("shift-g"), expect(Char('G'), none));
    assert_eq!(key("space"), expect(Char(' '), none));
    assert_eq!(key("ctrl-Q"), expect(Char('q'), KeyModifiers::CONTROL));
    assert_eq!(key("alt-enter"), expect(Enter, KeyModifiers::ALT));
    assert_eq!(key("shift-enter"), expect(Enter, KeyModifiers::SHIFT));
    assert_eq!(key("tab"), expect(Tab, none));
    assert_eq!(key("shift-tab"), expect(BackTab, none));
    assert_eq!(key("F2"), expect(F(2), none));
    assert!(matches!(key("shift-1"), Err(KeyError::Shifted { .. })));
    // Shift-G arrives as 'G' with Shift; Shift-Tab as BackTab with Shift.
    let g = key("shift-g").unwrap();
    assert!(g.matches(&KeyEvent::new(Char('G'), KeyModifiers::SHIFT)));
    let back = key("shift-tab").unwrap();
    assert!(back.matches(&KeyEvent::new(BackTab, KeyModifiers::SHIFT)));
    assert!(key("ctrl-x").is_ok_and(|k| !k.is_plain_char()));
    assert!(key("X").is_ok_and(|k| k.is_plain_char()));
}

#[test]
fn a_rebound_key_replaces_the_default_in_dispatch_and_help() {
    let mut state = with_keys(&[(KeyAction::Search, "ctrl-f"), (KeyAction::Quit, "x")]);
    // '/' no longer searches; Ctrl-F does.
    update(&mut state, ch('/'));
    assert!(state.modal.is_none());
    update(&mut state, ctrl('f'));
    assert!(matches!(state.modal, Some(Modal::Search(_))));
    update(&mut state, key(KeyCode::Esc));
    // 'q' no longer quits; 'x' does, and Ctrl-C still does.
    assert!(commands(&mut state, [ch('q')]).is_empty());
    assert!(!state.quitting);
    assert_eq!(commands(&mut state, [ch('x')]), vec![Command::Quit]);

    let keys = &with_keys(&[(KeyAction::Search, "ctrl-f")]).keys;
    assert_eq!(
        help_keys(keys, Context::Buddies, "search history"),
        "Ctrl-f"
    );
    assert_eq!(
        help_keys(&KeyMap::default(), Context::Buddies, "search history"),
        "/"
    );
    // Ctrl-C, an Anywhere key, is not rebound by `quit`.
    let keys = &with_keys(&[(KeyAction::Quit, "x")]).keys;
    assert_eq!(help_keys(keys, Context::Buddies, "sign out and quit"), "x");
    assert_eq!(
        help_keys(keys, Context::Anywhere, "sign out and quit"),
        "Ctrl-c"
    );
}

#[test]
fn the_drawn_help_and_hints_show_the_rebound_keys() {
    let mut state = with_keys(&[(KeyAction::Help, "F2"), (KeyAction::Search, "ctrl-f")]);
    let status = draw(&state, 80, 24).backend().to_string();
    let last = status.lines().last().unwrap();
    assert!(last.contains("F2 help"), "{last}");
    assert!(!last.contains("? help"), "{last}");
    update(&mut state, ch('?'));
    assert!(state.modal.is_none(), "'?' no longer opens the help");
    update(&mut state, key(KeyCode::F(2)));
    assert!(matches!(state.modal, Some(Modal::Help { .. })));
    let screen = draw(&state, 120, 40).backend().to_string();
    let line = screen
        .lines()
        .find(|line| line.contains("search history"))
        .unwrap();
    assert!(line.contains("Ctrl-f"), "{line}");
    assert!(!line.contains(" / "), "{line}");
}

#[test]
fn a_plain_character_rebinding_does_not_apply_in_the_conversation() {
    // 'o' switches panes from the list, but in the input it is text and
    // Tab still switches.
    let mut state = with_keys(&[(KeyAction::NextPane, "o")]);
    update(&mut state, ch('o'));
    assert_eq!(
        (state.open.as_deref(), state.focus),
        (Some(AMY), Focus::Input)
    );
    feed(&mut state, typed("hello"));
    assert_eq!(state.conversations[AMY].draft.value(), "hello");
    assert_eq!(state.focus, Focus::Input);
    update(&mut state, key(KeyCode::Tab));
    assert_eq!(state.focus, Focus::Buddies);
    update(&mut state, key(KeyCode::Tab));
    assert_eq!(state.focus, Focus::Buddies, "Tab is rebound in the list");
    assert_eq!(
        help_keys(&state.keys, Context::Conversation, "go to contacts"),
        "Tab"
    );

    // Ctrl-O is not text: it replaces Tab in both panes.
    let mut state = with_keys(&[(KeyAction::NextPane, "ctrl-o")]);
    update(&mut state, ctrl('o'));
    assert_eq!(state.focus, Focus::Input);
    update(&mut state, key(KeyCode::Tab));
    assert_eq!(state.focus, Focus::Input);
    update(&mut state, ctrl('o'));
    assert_eq!(state.focus, Focus::Buddies);
    assert_eq!(
        help_keys(&state.keys, Context::Conversation, "go to contacts"),
        "Ctrl-o"
    );
}

#[test]
fn a_key_with_two_meanings_is_refused() {
    let refused = |pairs: &[(KeyAction, &str)]| {
        let config = TuiConfig {
            keys: rebound(pairs),
            ..TuiConfig::default()
        };
        let error = config.validate().unwrap_err();
        assert_eq!(AppState::new(config).unwrap_err(), error);
        error
    };
    // A default key of another action in the list.
    let error = refused(&[(KeyAction::Search, "j")]);
    assert_eq!(
        error.to_string(),
        "[keys]: j would mean both \"next contact\" and search (\"search history\") in Contacts"
    );
    // Two rebindings on one key.
    assert!(matches!(
        refused(&[
            (KeyAction::Quit, "x"),
            (KeyAction::Help, "X"),
            (KeyAction::Note, "x")
        ]),
        KeyError::Conflict { .. }
    ));
    // An Anywhere key.
    assert!(matches!(
        refused(&[(KeyAction::Help, "ctrl-c")]),
        KeyError::Conflict { .. }
    ));
    // Line editing in the conversation input: Ctrl-A is start of line.
    let error = refused(&[(KeyAction::NextPane, "ctrl-a")]);
    assert!(
        error.to_string().contains("\"start of line\"")
            && error.to_string().contains("Conversation"),
        "{error}"
    );
    // One action twice; a key no terminal reports.
    assert_eq!(
        refused(&[(KeyAction::Help, "F2"), (KeyAction::Help, "F3")]),
        KeyError::Twice {
            action: KeyAction::Help
        }
    );
    assert!(matches!(
        refused(&[(KeyAction::Help, "shift-/")]),
        KeyError::Shifted { .. }
    ));
    // Swapping two keys is fine.
    let mut state = with_keys(&[(KeyAction::AddBuddy, "d"), (KeyAction::RemoveBuddy, "a")]);
    update(&mut state, ch('d'));
    assert!(matches!(state.modal, Some(Modal::BuddyForm(_))));
    update(&mut state, key(KeyCode::Esc));
    update(&mut state, ch('a'));
    assert!(matches!(state.modal, Some(Modal::ConfirmRemove { .. })));
    // Rebinding an action to its own Anywhere key is fine too.
    assert_eq!(
        KeyMap::new(&rebound(&[(KeyAction::Help, "F1")])).map(drop),
        Ok(())
    );
    assert_eq!(
        KeyMap::new(&rebound(&[(KeyAction::Help, "F1")]))
            .unwrap()
            .action(
                Context::Buddies,
                &KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE)
            ),
        Some(Action::ShowHelp)
    );
}

#[test]
fn theme_colours_come_from_the_config_file() {
    assert_eq!(Theme::from_config(&Colours::default()), Theme::default());
    let theme = Theme::from_config(&Colours {
        available: Some(Colour::Rgb(1, 2, 3)),
        busy: None,
        away: Some(Colour::LightMagenta),
        offline: None,
        accent: Some(Colour::LightBlue),
    });
    assert_eq!(theme.available, Color::Rgb(1, 2, 3));
    assert_eq!(theme.busy, Color::Red);
    assert_eq!(theme.away, Color::LightMagenta);
    assert_eq!(theme.accent, Color::LightBlue);

    let mut state = demo_state_with(TuiConfig {
        theme,
        ..TuiConfig::default()
    });
    let terminal = draw(&state, 80, 24);
    let buffer = terminal.backend().buffer();
    // The symbol sits two columns before the name.
    let (x, y) = find(buffer, "Amy Tran");
    assert_eq!(buffer[(x - 2, y)].fg, Color::Rgb(1, 2, 3));
    let (x, y) = find(buffer, "Mira Patel");
    assert_eq!(buffer[(x - 2, y)].fg, Color::LightMagenta);
    let (x, y) = find(buffer, "Jo Okafor");
    assert_eq!(buffer[(x - 2, y)].fg, Color::Red);
    // The focused pane's border and the keys of hints are the accent.
    assert_eq!(buffer[(0, 0)].fg, Color::LightBlue);
    let (x, y) = find(buffer, "? help");
    assert_eq!(buffer[(x, y)].fg, Color::LightBlue);
    // So are the keys of the help overlay, and its presence legend is in
    // the presence colours.
    update(&mut state, ch('?'));
    // Tall enough for the whole overlay, the presence legend last.
    let terminal = draw(&state, 120, 60);
    let buffer = terminal.backend().buffer();
    let (x, y) = find(buffer, "F1");
    assert_eq!(buffer[(x, y)].fg, Color::LightBlue);
    let (x, y) = find(buffer, "Available");
    assert_eq!(buffer[(x - 13, y)].fg, Color::Rgb(1, 2, 3));
}

#[test]
fn a_rebinding_onto_a_call_key_is_refused() {
    let config = TuiConfig {
        keys: rebound(&[(KeyAction::Search, "ctrl-x")]),
        ..TuiConfig::default()
    };
    let error = config.validate().unwrap_err();
    assert!(
        matches!(&error, KeyError::Conflict { second, .. } if second.contains("hang up")),
        "{error}"
    );
}
