//! The config file: TOML at `$XDG_CONFIG_HOME/confab/config.toml`
//! (`dirs::config_dir()`), every setting optional. Like the stores this
//! does synchronous I/O; it is read once, at start-up.
//!
//! Precedence: a command-line flag wins over the file, the file over the
//! built-in default. [`or_file`] spells that out for one setting; a
//! setting with no default (e.g. `server`, whose absence means local mode)
//! is `cli.or(file)`.
//!
//! Invariants: a file is either accepted whole or refused with the line
//! and column of the first problem; unknown keys are refused (so a typo is
//! reported, not ignored), as are key bindings and colours that do not
//! parse. Relative paths in the file are relative to the file's directory,
//! and `~/` is the home directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod keys;
pub use keys::{Colour, Key, KeyAction, KeyName, ValueError};

/// Minutes without input before presence turns to away.
pub const DEFAULT_IDLE_MINUTES: u32 = 5;
/// Seconds a registration asks to last.
pub const DEFAULT_REGISTER_EXPIRY: u32 = 300;
/// Seconds between keep-alives to the server.
pub const DEFAULT_KEEPALIVE: u32 = 30;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}{}: {message}", position(*line, *column))]
    Parse {
        /// The file's path, for messages.
        file: String,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    #[error("{file}: [keys]: {first} and {second} are both bound to {key}")]
    DuplicateKey {
        file: String,
        first: KeyAction,
        second: KeyAction,
        key: Key,
    },
}

fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(":{line}:{column}"),
        (Some(line), None) => format!(":{line}"),
        _ => String::new(),
    }
}

/// The config file's contents. `None` means "not in the file".
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The SIP server, `host[:port]`; without it, local mode.
    pub server: Option<String>,
    /// Who to sign in as: a SIP URI, or a user name of `domain`.
    pub user: Option<String>,
    /// A file holding the password.
    pub password_file: Option<PathBuf>,
    /// The domain of a user given by name alone.
    pub domain: Option<String>,
    /// Minutes without input before presence turns to away; 0: never.
    pub idle_minutes: Option<u32>,
    /// Seconds a registration asks to last; at least 1 (RFC 3261 §10.2.2:
    /// zero would remove the binding).
    #[serde(default, deserialize_with = "at_least_one")]
    pub register_expiry: Option<u32>,
    /// Seconds between keep-alives; 0: none.
    pub keepalive: Option<u32>,
    /// The data directory (history, local contact lists, server data).
    pub data: Option<PathBuf>,
    /// Where call audio comes from, as `--audio-in` (`device:NAME`, ...).
    pub audio_in: Option<String>,
    /// Where call audio goes, as `--audio-out`.
    pub audio_out: Option<String>,
    /// Rebound keys; actions not named keep the UI's defaults.
    #[serde(default)]
    pub keys: BTreeMap<KeyAction, Key>,
    #[serde(default)]
    pub colours: Colours,
}

/// The colours of presence states and of the UI's accent; `None` keeps the
/// UI's default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Colours {
    pub available: Option<Colour>,
    pub busy: Option<Colour>,
    pub away: Option<Colour>,
    pub offline: Option<Colour>,
    pub accent: Option<Colour>,
}

/// The setting to use: the command line's, else the file's, else the
/// default. For example
/// `or_file(args.keepalive, config.keepalive, DEFAULT_KEEPALIVE)`, with
/// the flag declared as `Option<u32>` so that "not given" is visible.
pub fn or_file<T>(cli: Option<T>, file: Option<T>, default: T) -> T {
    cli.or(file).unwrap_or(default)
}

impl Config {
    /// `$XDG_CONFIG_HOME/confab/config.toml`, or `None` on a system with no
    /// config directory.
    pub fn default_path() -> Option<PathBuf> {
        dirs::config_dir().map(|dir| dir.join("confab").join("config.toml"))
    }

    /// Reads the file at `path`, which must exist; with `None`, the file at
    /// [`Config::default_path`] if there is one, else the defaults.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            Some(path) => Config::read(path),
            None => match Config::default_path() {
                Some(path) => Config::read_if_present(&path),
                None => Ok(Config::default()),
            },
        }
    }

    /// Parses config text; relative paths stay as written.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse_named(text, "config")
    }

    /// The defaults when the file does not exist; any other failure is an
    /// error.
    fn read_if_present(path: &Path) -> Result<Config, ConfigError> {
        match path.try_exists() {
            Ok(false) => Ok(Config::default()),
            _ => Config::read(path),
        }
    }

    fn read(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Config::parse_named(&text, &path.display().to_string())?;
        let base = path.parent().unwrap_or(Path::new(""));
        config.password_file = config.password_file.map(|p| resolve(base, p));
        config.data = config.data.map(|p| resolve(base, p));
        Ok(config)
    }

    fn parse_named(text: &str, file: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|error| {
            let (line, column) = match error.span() {
                Some(span) => {
                    let (line, column) = line_and_column(text, span.start);
                    (Some(line), Some(column))
                }
                None => (None, None),
            };
            ConfigError::Parse {
                file: file.to_owned(),
                line,
                column,
                message: error.message().trim_end().to_owned(),
            }
        })?;
        // Two actions on one key: the UI could only ever run one of them.
        let mut seen: BTreeMap<&Key, KeyAction> = BTreeMap::new();
        for (action, key) in &config.keys {
            if let Some(first) = seen.insert(key, *action) {
                return Err(ConfigError::DuplicateKey {
                    file: file.to_owned(),
                    first,
                    second: *action,
                    key: key.clone(),
                });
            }
        }
        Ok(config)
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before
        .get(line_start..)
        .map_or(0, |rest| String::from_utf8_lossy(rest).chars().count());
    (line, column + 1)
}

/// A path from the file: `~/` is the home directory, a relative path is
/// relative to the file's directory.
fn resolve(base: &Path, path: PathBuf) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~") {
        if let Some(home) = dirs::home_dir() {
            return home.join(rest);
        }
    }
    if path.is_relative() {
        base.join(path)
    } else {
        path
    }
}

fn at_least_one<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u32>, D::Error> {
    match Option::<u32>::deserialize(deserializer)? {
        Some(0) => Err(serde::de::Error::custom("must be at least 1 second")),
        value => Ok(value),
    }
}

/// A commented example of every setting, for the README.
pub fn example() -> &'static str {
    EXAMPLE
}

const EXAMPLE: &str = r##"# confab's config file: $XDG_CONFIG_HOME/confab/config.toml
# (usually ~/.config/confab/config.toml). Every setting is optional, and a
# command-line flag wins over the file.

# The SIP server (registrar and proxy), host[:port]. Without it: local mode.
server = "sip.example.com:5060"
# Who to sign in as: a SIP URI, or a user name of `domain`.
user = "sip:amy@example.com"
# The domain of a user given by name alone.
domain = "example.com"
# A file holding the password (a relative path is relative to this file).
password_file = "amy.password"
# Minutes without a key press before your presence turns to away; 0: never.
idle_minutes = 5
# Seconds a registration asks to last; it is refreshed at half of what the
# server grants.
register_expiry = 300
# Seconds between keep-alives to the server; 0: none.
keepalive = 30
# Where IM history and local data live (default: the XDG data directory).
data = "~/.local/share/confab"
# Call audio, as --audio-in and --audio-out: device, device:NAME (see
# `confab doctor` for the names), wav:PATH, tone:HZ (in), silence, null (out).
audio_in = "device"
audio_out = "device"

[keys]
# action = "key". A key is one character, or a name: F1 to F24, enter, esc,
# tab, space, backspace, delete, insert, home, end, pageup, pagedown, up,
# down, left, right; with ctrl-, alt- or shift- in front.
# Actions: quit, help, presence, note, next_pane, open, search, add_buddy,
# remove_buddy, move_buddy, add_audio, invite.
# A key given here replaces the action's own keys in the contact list, and
# in the conversation too unless it is a plain character (which types
# there). Ctrl-C (quit) and F1 (help) always work. A key that already does
# something else where the action applies is refused at start-up.
quit = "ctrl-q"
presence = "s"
help = "F2"

[colours]
# A name (black, red, green, yellow, blue, magenta, cyan, gray, darkgray,
# lightred, lightgreen, lightyellow, lightblue, lightmagenta, lightcyan,
# white) or #rrggbb.
available = "green"
busy = "#d03030"
away = "yellow"
offline = "darkgray"
accent = "lightblue"
"##;

#[cfg(test)]
mod tests;
