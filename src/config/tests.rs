#![allow(clippy::unwrap_used)] // unwrap is how a test fails

use super::*;

fn parse_error(text: &str) -> (Option<usize>, Option<usize>, String) {
    match Config::parse(text) {
        Err(ConfigError::Parse {
            line,
            column,
            message,
            ..
        }) => (line, column, message),
        other => panic!("expected a parse error for {text:?}, got {other:?}"),
    }
}

fn key(text: &str) -> Key {
    text.parse().unwrap()
}

#[test]
fn an_empty_file_is_the_defaults() {
    assert_eq!(Config::parse("").unwrap(), Config::default());
    assert_eq!(Config::parse("# nothing\n\n").unwrap(), Config::default());
    let config = Config::default();
    assert_eq!(or_file(None, config.idle_minutes, DEFAULT_IDLE_MINUTES), 5);
    assert!(config.keys.is_empty());
    assert_eq!(config.colours, Colours::default());
}

#[test]
fn the_command_line_wins_over_the_file_and_the_file_over_the_default() {
    assert_eq!(or_file(Some(60), Some(120), 300), 60);
    assert_eq!(or_file(None, Some(120), 300), 120);
    assert_eq!(or_file(None, None, 300), 300);
    assert_eq!(or_file(Some("cli"), None, "default"), "cli");
}

#[test]
fn the_example_parses_to_what_it_says() {
    let config = Config::parse(example()).unwrap();
    assert_eq!(config.server.as_deref(), Some("sip.example.com:5060"));
    assert_eq!(config.user.as_deref(), Some("sip:amy@example.com"));
    assert_eq!(config.domain.as_deref(), Some("example.com"));
    assert_eq!(config.password_file, Some(PathBuf::from("amy.password")));
    assert_eq!(config.idle_minutes, Some(DEFAULT_IDLE_MINUTES));
    assert_eq!(config.register_expiry, Some(DEFAULT_REGISTER_EXPIRY));
    assert_eq!(config.keepalive, Some(DEFAULT_KEEPALIVE));
    assert_eq!(config.keys.len(), 3);
    assert_eq!(config.keys[&KeyAction::Quit], key("ctrl-q"));
    assert_eq!(config.keys[&KeyAction::Presence], key("s"));
    assert_eq!(config.keys[&KeyAction::Help], key("F2"));
    assert_eq!(config.colours.available, Some(Colour::Green));
    assert_eq!(config.colours.busy, Some(Colour::Rgb(0xd0, 0x30, 0x30)));
    assert_eq!(config.colours.offline, Some(Colour::DarkGray));
    assert_eq!(config.colours.accent, Some(Colour::LightBlue));
    // Every action the example lists is one the file accepts.
    let actions: String = example()
        .lines()
        .skip_while(|line| !line.starts_with("# Actions: "))
        .take(2)
        .map(|line| {
            line.trim_start_matches("# Actions: ")
                .trim_start_matches('#')
        })
        .collect();
    let names: Vec<&str> = actions
        .split([',', '.', ' '])
        .filter(|name| !name.is_empty())
        .collect();
    assert_eq!(names.len(), 12, "{names:?}");
    let all: Vec<String> = KeyAction::all().map(|a| a.to_string()).collect();
    assert_eq!(names, all, "the example lists every action, in order");
    for (n, name) in names.iter().enumerate() {
        let text = format!("[keys]\n{name} = \"F{}\"\n", n + 1);
        let config = Config::parse(&text).unwrap();
        assert_eq!(config.keys.keys().next().unwrap().to_string(), *name);
    }
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let (line, column, message) =
        parse_error("server = \"sip.example.com\"\n\nsevrer = \"typo.example.com\"\n");
    assert_eq!((line, column), (Some(3), Some(1)));
    assert!(message.contains("unknown field `sevrer`"), "{message}");

    let (line, _, message) =
        parse_error("[colours]\navailable = \"green\"\nbusy = \"red\"\npink = \"#ff00ff\"\n");
    assert_eq!(line, Some(4));
    assert!(message.contains("`pink`"), "{message}");

    let (line, _, message) = parse_error("[keys]\nquit = \"q\"\nqiut = \"x\"\n");
    assert_eq!(line, Some(3));
    assert!(
        message.starts_with("unknown action \"qiut\": use one of quit, help"),
        "{message}"
    );

    // Actions of features still to come are not accepted yet.
    let (line, _, message) = parse_error("[keys]\ncall = \"c\"\n");
    assert_eq!(line, Some(2));
    assert!(message.starts_with("unknown action \"call\""), "{message}");

    let (line, _, message) = parse_error("[colors]\naway = \"red\"\n");
    assert_eq!(line, Some(1));
    assert!(message.contains("`colors`"), "{message}");

    // The whole error reads as file:line:column: message.
    let error = Config::parse("user = \"amy\"\nidle = 3\n").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("config:2:1: unknown field `idle`"),
        "{error}"
    );
}

#[test]
fn bad_colours_are_refused_with_their_line() {
    for bad in [
        "purple",
        "#12345",
        "#1234567",
        "#gg0000",
        "",
        "#",
        "green!",
        "#ＡＢＣＤＥＦ",
    ] {
        let (line, column, message) = parse_error(&format!("[colours]\n\nbusy = \"{bad}\"\n"));
        assert_eq!(line, Some(3), "{bad:?}");
        assert_eq!(column, Some(8), "{bad:?}");
        assert!(
            message.starts_with(&format!("unknown colour {bad:?}")),
            "{message}"
        );
    }
    let (line, _, _) = parse_error("[colours]\naway = 3\n");
    assert_eq!(line, Some(2));
}

#[test]
fn colours_parse_by_name_or_rgb() {
    for (text, colour) in [
        ("green", Colour::Green),
        ("Light Blue", Colour::LightBlue),
        ("dark-grey", Colour::DarkGray),
        ("light_magenta", Colour::LightMagenta),
        ("GRAY", Colour::Gray),
        ("#00ff7F", Colour::Rgb(0, 255, 127)),
    ] {
        assert_eq!(text.parse::<Colour>(), Ok(colour), "{text}");
    }
    assert_eq!(Colour::Rgb(0, 255, 127).to_string(), "#00ff7f");
    assert_eq!(Colour::DarkGray.to_string(), "darkgray");
}

#[test]
fn bad_key_names_are_refused_with_their_line() {
    for bad in [
        "",
        "qq",
        "F0",
        "F25",
        "F01",
        "ctrl-",
        "ctrl",
        "hyper-q",
        "ctrl-hyper-q",
        "ctrl-qq",
        "escape!",
        "-q",
    ] {
        let (line, _, message) = parse_error(&format!("[keys]\nquit = \"{bad}\"\n"));
        assert_eq!(line, Some(2), "{bad:?}");
        assert!(
            message.starts_with(&format!("unknown key {bad:?}")),
            "{message}"
        );
    }
}

#[test]
fn keys_parse_and_print_canonically() {
    for (text, canonical) in [
        ("q", "q"),
        ("Q", "Q"),
        ("?", "?"),
        ("-", "-"),
        ("é", "é"),
        ("F1", "F1"),
        ("f12", "F12"),
        ("F24", "F24"),
        ("ctrl-q", "ctrl-q"),
        ("Ctrl-Q", "ctrl-q"),
        ("control-x", "ctrl-x"),
        ("ctrl--", "ctrl--"),
        ("alt-enter", "alt-enter"),
        ("ALT-Return", "alt-enter"),
        ("shift-tab", "shift-tab"),
        ("alt-ctrl-Delete", "ctrl-alt-delete"),
        ("space", "space"),
        (" ", "space"),
        ("PgDn", "pagedown"),
        ("esc", "esc"),
    ] {
        let parsed = key(text);
        assert_eq!(parsed.to_string(), canonical, "{text:?}");
        assert_eq!(key(canonical), parsed, "{canonical:?} reparses");
    }
    let ctrl_alt_delete = key("ctrl-alt-delete");
    assert_eq!(
        ctrl_alt_delete,
        Key {
            name: KeyName::Delete,
            ctrl: true,
            alt: true,
            shift: false
        }
    );
}

#[test]
fn two_actions_on_one_key_are_refused() {
    let error = Config::parse("[keys]\nquit = \"ctrl-q\"\nhelp = \"Ctrl-Q\"\n").unwrap_err();
    assert!(
        matches!(error, ConfigError::DuplicateKey { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "config: [keys]: quit and help are both bound to ctrl-q"
    );
}

#[test]
fn values_of_the_wrong_type_or_range_are_refused() {
    let (line, _, message) = parse_error("idle_minutes = \"five\"\n");
    assert_eq!(line, Some(1));
    assert!(message.contains("expected u32"), "{message}");
    let (line, _, message) = parse_error("keepalive = 30\nregister_expiry = 0\n");
    assert_eq!(line, Some(2));
    assert_eq!(message, "must be at least 1 second");
    let (line, _, _) = parse_error("keepalive = -1\n");
    assert_eq!(line, Some(1));
    // Not TOML at all.
    let (line, _, _) = parse_error("server = \"a\"\nuser =\n");
    assert_eq!(line, Some(2));
    // A zero keep-alive (none) and zero idle minutes (never) are allowed.
    let config = Config::parse("keepalive = 0\nidle_minutes = 0\n").unwrap();
    assert_eq!((config.keepalive, config.idle_minutes), (Some(0), Some(0)));
}

#[test]
fn files_are_read_and_their_relative_paths_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "password_file = \"secrets/amy.password\"\ndata = \"/var/lib/confab\"\n",
    )
    .unwrap();
    let config = Config::load(Some(&path)).unwrap();
    assert_eq!(
        config.password_file,
        Some(dir.path().join("secrets").join("amy.password"))
    );
    assert_eq!(config.data, Some(PathBuf::from("/var/lib/confab")));

    std::fs::write(&path, "data = \"~/confab-data\"\n").unwrap();
    if let Some(home) = dirs::home_dir() {
        let config = Config::load(Some(&path)).unwrap();
        assert_eq!(config.data, Some(home.join("confab-data")));
    }

    // Errors name the file.
    std::fs::write(&path, "\nsevrer = \"x\"\n").unwrap();
    let error = Config::load(Some(&path)).unwrap_err().to_string();
    assert!(
        error.starts_with(&format!("{}:2:1: ", path.display())),
        "{error}"
    );
}

#[test]
fn a_missing_file_is_an_error_only_when_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let error = Config::load(Some(&missing)).unwrap_err();
    assert!(matches!(error, ConfigError::Read { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with(&format!("reading {}", missing.display()))
    );
    // The default file may be absent.
    assert_eq!(
        Config::read_if_present(&missing).unwrap(),
        Config::default()
    );
    // But one that exists and is broken is reported.
    std::fs::write(&missing, "idle_minutes = \n").unwrap();
    assert!(Config::read_if_present(&missing).is_err());
}

#[test]
fn the_default_path_is_in_the_config_directory() {
    if let Some(path) = Config::default_path() {
        assert!(path.ends_with("confab/config.toml"));
        assert_eq!(
            path.parent().unwrap().parent(),
            dirs::config_dir().as_deref()
        );
    }
}

#[test]
fn lines_and_columns_count_characters() {
    assert_eq!(line_and_column("abc", 0), (1, 1));
    assert_eq!(line_and_column("a\nbc", 3), (2, 2));
    assert_eq!(line_and_column("é\néé x", 6), (2, 3));
    assert_eq!(line_and_column("ab", 99), (1, 3));
}
