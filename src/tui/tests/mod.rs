//! Tests of the front end without a terminal: `update` driven by messages,
//! and `render` drawn on ratatui's `TestBackend` and compared with insta
//! snapshots (in `src/tui/snapshots/`). All times come from the state, so
//! every run draws the same screen.

mod add_audio;
mod call_prompt;
mod call_stats;
mod call_view;
mod calls;
mod conference;
mod conference_view;
mod config;
mod conversation;
mod modals;
mod redraw;
mod roster;
mod roster_quality;
mod ticks;
mod trace;
mod update;
mod view;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::client::{Availability, Buddy, Event};

use super::state::{AppState, Row, TuiConfig};
use super::update::{Effects, Msg, update};

/// 2024-02-29 13:45:00 UTC.
pub const T0: i64 = 1_709_214_300_000;

pub const AMY: &str = "sip:amy@confab.local";
pub const HAO: &str = "sip:hao@confab.local";
pub const MIRA: &str = "sip:mira@confab.local";
pub const JO: &str = "sip:jo@confab.local";
pub const SAM: &str = "sip:sam@confab.local";
pub const LEE: &str = "sip:lee@confab.local";
pub const RITA: &str = "sip:rita@partner.example";
pub const TOM: &str = "sip:tom@partner.example";
pub const OWN: &str = "sip:vivian@confab.local";

pub fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub fn ch(c: char) -> Msg {
    key(KeyCode::Char(c))
}

pub fn with(modifiers: KeyModifiers, code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, modifiers))
}

pub fn typed(text: &str) -> Vec<Msg> {
    text.chars().map(ch).collect()
}

pub fn tick(now_ms: i64) -> Msg {
    Msg::Tick { now_ms }
}

/// Applies messages in order; returns every update's effects.
pub fn feed(state: &mut AppState, msgs: impl IntoIterator<Item = Msg>) -> Vec<Effects> {
    msgs.into_iter().map(|msg| update(state, msg)).collect()
}

/// Applies messages; returns all the commands they produced.
pub fn commands(
    state: &mut AppState,
    msgs: impl IntoIterator<Item = Msg>,
) -> Vec<crate::client::Command> {
    feed(state, msgs)
        .into_iter()
        .flat_map(|fx| fx.commands)
        .collect()
}

pub fn buddy(uri: &str, display: &str, group: &str) -> Buddy {
    Buddy {
        uri: uri.into(),
        display: display.into(),
        group: group.into(),
    }
}

fn presence(uri: &str, availability: Availability, note: &str) -> Msg {
    Msg::Client(Event::Presence {
        uri: uri.into(),
        availability,
        note: note.into(),
    })
}

/// Vivian, signed in at [`T0`], with three groups of contacts in every
/// presence state; Partners is collapsed.
pub fn demo_state() -> AppState {
    demo_state_with(TuiConfig::default())
}

/// [`demo_state`] with `config`'s keys and colours.
pub fn demo_state_with(config: TuiConfig) -> AppState {
    let mut state = AppState::new(TuiConfig {
        own_uri: OWN.into(),
        own_display: "Vivian Park".into(),
        ..config
    })
    .unwrap();
    feed(
        &mut state,
        [
            tick(T0),
            Msg::Resize {
                width: 80,
                height: 24,
            },
            Msg::Client(Event::Registered { uri: OWN.into() }),
            Msg::Client(Event::Buddies {
                buddies: vec![
                    buddy(AMY, "Amy Tran", "Team"),
                    buddy(HAO, "Hao Chen", "Team"),
                    buddy(MIRA, "Mira Patel", "Team"),
                    buddy(JO, "Jo Okafor", "Team"),
                    buddy(SAM, "Sam Park", "Family"),
                    buddy(LEE, "Lee Park", "Family"),
                    buddy(RITA, "Rita Gomes", "Partners"),
                    buddy(TOM, "Tom Berg", "Partners"),
                ],
            }),
            presence(
                OWN,
                Availability::Available,
                "Working from the Lisbon office",
            ),
            presence(AMY, Availability::Available, "Reviewing the Q3 plan"),
            presence(HAO, Availability::InACall, ""),
            presence(MIRA, Availability::Away, "Back at 3"),
            presence(JO, Availability::DoNotDisturb, "Focus time"),
            presence(LEE, Availability::BeRightBack, ""),
            presence(RITA, Availability::Busy, ""),
        ],
    );
    state.collapsed.insert("Partners".into());
    state
}

pub fn im(from: &str, text: &str) -> Msg {
    Msg::Client(Event::Im {
        from: from.into(),
        text: text.into(),
    })
}

pub fn status(id: u64, to: &str, delivered: bool, reason: Option<&str>) -> Msg {
    Msg::Client(Event::ImStatus {
        id,
        to: to.into(),
        delivered,
        reason: reason.map(Into::into),
    })
}

/// Demo state with `peer`'s conversation open and the input focused.
pub fn chatting_with(peer: &str) -> AppState {
    let mut state = demo_state();
    state.selection = Some(Row::Buddy {
        group: "Team".into(),
        uri: peer.into(),
    });
    update(&mut state, key(KeyCode::Enter));
    state
}
