//! [`KeyMap`]: the key table with the user's rebindings (the config file's
//! `[keys]`) applied, checked once at start-up.
//!
//! A rebinding replaces the action's default keys in the buddy list, and
//! in the conference roster where it has keys there (`help`, `open`,
//! `next_pane`). Where the action also has keys in the conversation
//! (`next_pane`: Tab), it replaces those too, unless it is a plain
//! character: in the conversation a character is text to type. Ctrl-C
//! (quit) and F1 (help), the [`Context::Anywhere`] keys, are never
//! rebound, so there is always a way out and a way to the help.
//!
//! Invariant: in every context, no key means two different actions, among
//! that context's keys, the [`Context::Anywhere`] keys consulted after them,
//! the [`Context::Call`] keys consulted before them while a call is on,
//! the leader's keys with the roster's and, where a text field has the
//! keys, the line editing keys. A map that would break this is refused
//! ([`KeyError::Conflict`]) rather than letting one binding silently
//! shadow another.

use std::borrow::Cow;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::config::{self, KeyAction, KeyName};

use super::{Action, BINDINGS, Binding, Context, Key};

/// A rebinding the UI cannot honour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "[keys]: {key}: terminals report the character Shift makes, not Shift; \
         write that character instead (e.g. \"!\" for shift-1)"
    )]
    Shifted { key: config::Key },
    #[error("[keys]: {action} is given twice")]
    Twice { action: KeyAction },
    #[error("[keys]: {key} would mean both {first} and {second} in {context}")]
    Conflict {
        /// The help overlay's title of the context.
        context: &'static str,
        /// The key as the help overlay writes it.
        key: String,
        first: String,
        second: String,
    },
}

/// The UI action a config file's action names.
pub fn action_for(action: KeyAction) -> Action {
    match action {
        KeyAction::Quit => Action::Quit,
        KeyAction::Help => Action::ShowHelp,
        KeyAction::Presence => Action::PickPresence,
        KeyAction::Note => Action::EditNote,
        KeyAction::NextPane => Action::SwitchFocus,
        KeyAction::Open => Action::Open,
        KeyAction::Search => Action::Search,
        KeyAction::AddBuddy => Action::AddBuddy,
        KeyAction::RemoveBuddy => Action::RemoveBuddy,
        KeyAction::MoveBuddy => Action::MoveBuddy,
        KeyAction::AddAudio => Action::Escalate,
        KeyAction::Invite => Action::Invite,
    }
}

impl Key {
    /// A key of the config file as crossterm reports it. Shift with a
    /// letter is its capital (terminals send `G`, not Shift-g); Shift-Tab
    /// is crossterm's BackTab. Shift with another character is refused:
    /// which character it makes depends on the keyboard layout.
    pub fn from_config(key: &config::Key) -> Result<Key, KeyError> {
        let mut modifiers = KeyModifiers::NONE;
        if key.ctrl {
            modifiers |= KeyModifiers::CONTROL;
        }
        if key.alt {
            modifiers |= KeyModifiers::ALT;
        }
        let shifted = |code| (code, key.shift);
        let (code, shift) = match key.name {
            KeyName::Char(c) if key.shift => {
                let mut upper = c.to_uppercase();
                match (upper.next(), upper.next()) {
                    (Some(capital), None) if capital != c || c.is_uppercase() => {
                        (KeyCode::Char(capital), false)
                    }
                    _ => return Err(KeyError::Shifted { key: key.clone() }),
                }
            }
            KeyName::Char(c) => (KeyCode::Char(c), false),
            KeyName::Tab if key.shift => (KeyCode::BackTab, false),
            KeyName::Tab => (KeyCode::Tab, false),
            KeyName::F(n) => shifted(KeyCode::F(n)),
            KeyName::Enter => shifted(KeyCode::Enter),
            KeyName::Esc => shifted(KeyCode::Esc),
            KeyName::Backspace => shifted(KeyCode::Backspace),
            KeyName::Delete => shifted(KeyCode::Delete),
            KeyName::Insert => shifted(KeyCode::Insert),
            KeyName::Home => shifted(KeyCode::Home),
            KeyName::End => shifted(KeyCode::End),
            KeyName::PageUp => shifted(KeyCode::PageUp),
            KeyName::PageDown => shifted(KeyCode::PageDown),
            KeyName::Up => shifted(KeyCode::Up),
            KeyName::Down => shifted(KeyCode::Down),
            KeyName::Left => shifted(KeyCode::Left),
            KeyName::Right => shifted(KeyCode::Right),
        };
        if shift {
            modifiers |= KeyModifiers::SHIFT;
        }
        Ok(Key { code, modifiers })
    }

    /// A character typed without Ctrl or Alt: text, in a text field.
    pub fn is_plain_char(&self) -> bool {
        matches!(self.code, KeyCode::Char(_))
            && !self
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    }
}

/// The key table in force: [`BINDINGS`] with the rebindings applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    bindings: Vec<Binding>,
}

impl Default for KeyMap {
    /// The default keys.
    fn default() -> KeyMap {
        KeyMap {
            bindings: BINDINGS.to_vec(),
        }
    }
}

impl KeyMap {
    /// The default table with `rebound` applied; refused if an action is
    /// given twice, a key cannot be matched, or a key would mean two
    /// things in one context.
    pub fn new(rebound: &[(KeyAction, config::Key)]) -> Result<KeyMap, KeyError> {
        let mut chosen: Vec<(KeyAction, Key)> = Vec::new();
        for (action, key) in rebound {
            if chosen.iter().any(|(seen, _)| seen == action) {
                return Err(KeyError::Twice { action: *action });
            }
            chosen.push((*action, Key::from_config(key)?));
        }
        let mut bindings = BINDINGS.to_vec();
        // Which rows were rebound, and by which action, for error messages.
        let mut by: Vec<Option<KeyAction>> = vec![None; bindings.len()];
        for (binding, by) in bindings.iter_mut().zip(&mut by) {
            let Some((action, key)) = chosen
                .iter()
                .find(|(action, _)| action_for(*action) == binding.action)
            else {
                continue;
            };
            let applies = match binding.context {
                Context::Buddies | Context::Roster => true,
                Context::Conversation => !key.is_plain_char(),
                _ => false,
            };
            if applies {
                binding.keys = Cow::Owned(vec![*key]);
                *by = Some(*action);
            }
        }
        let map = KeyMap { bindings };
        map.check(&by)?;
        Ok(map)
    }

    /// The invariant of the module: no key with two meanings in a context.
    fn check(&self, by: &[Option<KeyAction>]) -> Result<(), KeyError> {
        let rows: Vec<(&Binding, Option<KeyAction>)> =
            self.bindings.iter().zip(by.iter().copied()).collect();
        for context in Context::ALL {
            if matches!(context, Context::Anywhere | Context::Editing) {
                continue;
            }
            let consulted: Vec<&(&Binding, Option<KeyAction>)> = rows
                .iter()
                .filter(|(binding, _)| {
                    binding.context == context
                        || binding.context == Context::Anywhere
                        || binding.context == Context::Call
                        || (binding.context == Context::Editing && context.takes_text())
                        || together(binding.context, context)
                })
                .collect();
            for (n, (first, first_by)) in consulted.iter().enumerate() {
                for (second, second_by) in consulted.iter().skip(n + 1) {
                    if first.action == second.action {
                        continue;
                    }
                    if let Some(key) = first.keys.iter().find(|key| second.keys.contains(key)) {
                        return Err(KeyError::Conflict {
                            context: context.title(),
                            key: key.label(),
                            first: describe(first, *first_by),
                            second: describe(second, *second_by),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// What `event` means in `context`, [`Context::Anywhere`] bindings
    /// included. Key releases mean nothing (terminals that report them
    /// would otherwise act twice).
    pub fn action(&self, context: Context, event: &KeyEvent) -> Option<Action> {
        self.action_in(context, event)
            .or_else(|| self.action_in(Context::Anywhere, event))
    }

    /// What `event` means among `context`'s own bindings alone.
    pub fn action_in(&self, context: Context, event: &KeyEvent) -> Option<Action> {
        if event.kind == KeyEventKind::Release {
            return None;
        }
        self.bindings
            .iter()
            .filter(|binding| binding.context == context && binding.action != Action::Edit)
            .find(|binding| binding.keys.iter().any(|key| key.matches(event)))
            .map(|binding| binding.action)
    }

    /// The bindings of one context, in table order.
    pub fn bindings(&self, context: Context) -> impl Iterator<Item = &Binding> {
        self.bindings
            .iter()
            .filter(move |binding| binding.context == context)
    }

    /// The first key of `action` in `context`, as a hint writes it.
    pub fn label(&self, context: Context, action: Action) -> String {
        self.bindings(context)
            .find(|binding| binding.action == action)
            .and_then(|binding| binding.keys.first())
            .map(Key::label)
            .unwrap_or_default()
    }
}

/// Whether the keys of `one` are consulted with those of `other`: the
/// leader's roster keys with everyone's.
fn together(one: Context, other: Context) -> bool {
    matches!(
        (one, other),
        (Context::Leader, Context::Roster) | (Context::Roster, Context::Leader)
    )
}

/// A binding in an error message: its help text, and the config file's
/// name for it if it was rebound there.
fn describe(binding: &Binding, by: Option<KeyAction>) -> String {
    match by {
        Some(action) => format!("{action} (\"{}\")", binding.help),
        None => format!("\"{}\"", binding.help),
    }
}
