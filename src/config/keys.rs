//! The values of `[keys]` and `[colours]`: actions, keys and colours,
//! parsed from what a user writes and printed back in one canonical form.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// A value that does not parse; the message says what would.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValueError {
    #[error(
        "unknown key {0:?}: use one character, or F1 to F24, enter, esc, tab, space, \
         backspace, delete, insert, home, end, pageup, pagedown, up, down, left or right, \
         with ctrl-, alt- or shift- in front"
    )]
    Key(String),
    #[error(
        "unknown colour {0:?}: use #rrggbb or one of black, red, green, yellow, blue, \
         magenta, cyan, gray, darkgray, lightred, lightgreen, lightyellow, lightblue, \
         lightmagenta, lightcyan, white"
    )]
    Colour(String),
    #[error("unknown action {0:?}: use one of {names}", names = action_names())]
    Action(String),
}

/// The UI actions a user may rebind in `[keys]`: those of the buddy list
/// and the conference. Calls (call, answer, hang up, mute) and the SIP
/// trace get theirs when those keys are made configurable, so that no
/// accepted name is one that does nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub enum KeyAction {
    Quit,
    Help,
    Presence,
    Note,
    /// Moves the keys between the buddy list and the conversation.
    NextPane,
    Open,
    Search,
    AddBuddy,
    RemoveBuddy,
    MoveBuddy,
    /// Adds audio to an IM: a conference with the buddy.
    AddAudio,
    /// Invites the selected buddy (or an address) to the conference.
    Invite,
}

const ACTIONS: &[(&str, KeyAction)] = &[
    ("quit", KeyAction::Quit),
    ("help", KeyAction::Help),
    ("presence", KeyAction::Presence),
    ("note", KeyAction::Note),
    ("next_pane", KeyAction::NextPane),
    ("open", KeyAction::Open),
    ("search", KeyAction::Search),
    ("add_buddy", KeyAction::AddBuddy),
    ("remove_buddy", KeyAction::RemoveBuddy),
    ("move_buddy", KeyAction::MoveBuddy),
    ("add_audio", KeyAction::AddAudio),
    ("invite", KeyAction::Invite),
];

impl KeyAction {
    /// Every action, in the order the config file documents them.
    pub fn all() -> impl Iterator<Item = KeyAction> {
        ACTIONS.iter().map(|(_, action)| *action)
    }
}

fn action_names() -> String {
    let names: Vec<&str> = ACTIONS.iter().map(|(name, _)| *name).collect();
    names.join(", ")
}

impl FromStr for KeyAction {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<KeyAction, ValueError> {
        ACTIONS
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, action)| *action)
            .ok_or_else(|| ValueError::Action(text.to_owned()))
    }
}

impl TryFrom<String> for KeyAction {
    type Error = ValueError;

    fn try_from(text: String) -> Result<KeyAction, ValueError> {
        text.parse()
    }
}

impl fmt::Display for KeyAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = ACTIONS
            .iter()
            .find(|(_, action)| action == self)
            .map_or("?", |(name, _)| *name);
        f.write_str(name)
    }
}

/// A key with its modifiers, e.g. `q`, `?`, `F1`, `ctrl-q`, `alt-enter`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Key {
    pub name: KeyName,
    pub ctrl: bool,
    pub alt: bool,
    pub shift: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyName {
    /// Any one character; the space bar is `Char(' ')`, written `space`.
    Char(char),
    /// F1 to F24.
    F(u8),
    Enter,
    Esc,
    Tab,
    Backspace,
    Delete,
    Insert,
    Home,
    End,
    PageUp,
    PageDown,
    Up,
    Down,
    Left,
    Right,
}

const NAMES: &[(&str, KeyName)] = &[
    ("enter", KeyName::Enter),
    ("esc", KeyName::Esc),
    ("tab", KeyName::Tab),
    ("space", KeyName::Char(' ')),
    ("backspace", KeyName::Backspace),
    ("delete", KeyName::Delete),
    ("insert", KeyName::Insert),
    ("home", KeyName::Home),
    ("end", KeyName::End),
    ("pageup", KeyName::PageUp),
    ("pagedown", KeyName::PageDown),
    ("up", KeyName::Up),
    ("down", KeyName::Down),
    ("left", KeyName::Left),
    ("right", KeyName::Right),
    // Other spellings, accepted but not printed.
    ("return", KeyName::Enter),
    ("escape", KeyName::Esc),
    ("del", KeyName::Delete),
    ("ins", KeyName::Insert),
    ("pgup", KeyName::PageUp),
    ("pgdn", KeyName::PageDown),
];

impl FromStr for Key {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Key, ValueError> {
        let bad = || ValueError::Key(text.to_owned());
        let mut key = Key {
            name: KeyName::Char(' '),
            ctrl: false,
            alt: false,
            shift: false,
        };
        let mut rest = text;
        // Modifiers end in '-'; what follows the last one is the key, which
        // may itself be '-' (`ctrl--`).
        while rest.chars().nth(1).is_some() {
            let Some((modifier, after)) = rest.split_once('-') else {
                break;
            };
            let flag = match modifier.to_ascii_lowercase().as_str() {
                "ctrl" | "control" => &mut key.ctrl,
                "alt" => &mut key.alt,
                "shift" => &mut key.shift,
                _ => break,
            };
            if after.is_empty() {
                return Err(bad());
            }
            *flag = true;
            rest = after;
        }
        let mut chars = rest.chars();
        key.name = match (chars.next(), chars.next()) {
            (None, _) => return Err(bad()),
            (Some(c), None) => KeyName::Char(c),
            _ => named(rest).ok_or_else(bad)?,
        };
        // A terminal cannot tell ctrl-Q from ctrl-q.
        if let (true, KeyName::Char(c)) = (key.ctrl, key.name) {
            key.name = KeyName::Char(c.to_ascii_lowercase());
        }
        Ok(key)
    }
}

fn named(text: &str) -> Option<KeyName> {
    let lower = text.to_ascii_lowercase();
    if let Some(digits) = lower.strip_prefix('f') {
        // One spelling per key: "F1", not "F01".
        if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let number: u8 = digits.parse().ok()?;
        return (1..=24).contains(&number).then_some(KeyName::F(number));
    }
    NAMES
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(_, key)| *key)
}

impl TryFrom<String> for Key {
    type Error = ValueError;

    fn try_from(text: String) -> Result<Key, ValueError> {
        text.parse()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (on, modifier) in [
            (self.ctrl, "ctrl-"),
            (self.alt, "alt-"),
            (self.shift, "shift-"),
        ] {
            if on {
                f.write_str(modifier)?;
            }
        }
        match self.name {
            KeyName::Char(' ') => f.write_str("space"),
            KeyName::Char(c) => write!(f, "{c}"),
            KeyName::F(n) => write!(f, "F{n}"),
            name => {
                let text = NAMES
                    .iter()
                    .find(|(_, key)| *key == name)
                    .map_or("?", |(text, _)| *text);
                f.write_str(text)
            }
        }
    }
}

/// A terminal colour: one of the 16 named ANSI colours, or 24-bit RGB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub enum Colour {
    Black,
    Red,
    Green,
    Yellow,
    Blue,
    Magenta,
    Cyan,
    Gray,
    DarkGray,
    LightRed,
    LightGreen,
    LightYellow,
    LightBlue,
    LightMagenta,
    LightCyan,
    White,
    Rgb(u8, u8, u8),
}

const COLOURS: &[(&str, Colour)] = &[
    ("black", Colour::Black),
    ("red", Colour::Red),
    ("green", Colour::Green),
    ("yellow", Colour::Yellow),
    ("blue", Colour::Blue),
    ("magenta", Colour::Magenta),
    ("cyan", Colour::Cyan),
    ("gray", Colour::Gray),
    ("darkgray", Colour::DarkGray),
    ("lightred", Colour::LightRed),
    ("lightgreen", Colour::LightGreen),
    ("lightyellow", Colour::LightYellow),
    ("lightblue", Colour::LightBlue),
    ("lightmagenta", Colour::LightMagenta),
    ("lightcyan", Colour::LightCyan),
    ("white", Colour::White),
];

impl FromStr for Colour {
    type Err = ValueError;

    /// `#rrggbb`, or a name in any case, with `-`, `_` or spaces between
    /// words and `grey` for `gray`.
    fn from_str(text: &str) -> Result<Colour, ValueError> {
        let bad = || ValueError::Colour(text.to_owned());
        if let Some(hex) = text.strip_prefix('#') {
            if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            let channel = |i: usize| {
                hex.get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(bad)
            };
            return Ok(Colour::Rgb(channel(0)?, channel(2)?, channel(4)?));
        }
        let name: String = text
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .collect::<String>()
            .to_ascii_lowercase()
            .replace("grey", "gray");
        COLOURS
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, colour)| *colour)
            .ok_or_else(bad)
    }
}

impl TryFrom<String> for Colour {
    type Error = ValueError;

    fn try_from(text: String) -> Result<Colour, ValueError> {
        text.parse()
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Colour::Rgb(r, g, b) => write!(f, "#{r:02x}{g:02x}{b:02x}"),
            colour => {
                let name = COLOURS
                    .iter()
                    .find(|(_, known)| known == colour)
                    .map_or("?", |(name, _)| *name);
                f.write_str(name)
            }
        }
    }
}
