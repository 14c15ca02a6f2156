//! `render` during calls: snapshots of the incoming banner, a connected
//! call with its timer and meters, and one on hold and muted; the bar's
//! words through a call's phases; the keypad; the level meters; and no
//! size panics.

use ratatui::crossterm::event::KeyCode;

use crate::client::Event;
use crate::tui::update::{Msg, update};

use super::calls::{client, ctrl, in_call_with_amy, incoming};
use super::view::{assert_screen, buddy_list, draw};
use super::*;

fn screen(state: &AppState, width: u16, height: u16) -> String {
    draw(state, width, height).backend().to_string()
}

/// Amy, called from the list, answered at [`T0`], talking for 1:23 with
/// sound both ways.
fn connected() -> AppState {
    let mut state = buddy_list();
    feed(
        &mut state,
        [
            ch('c'),
            client(Event::CallRinging { peer: AMY.into() }),
            client(Event::CallConnected { peer: AMY.into() }),
            tick(T0 + 83_000),
            Msg::Meters((0.62, 0.35).into()),
        ],
    );
    state
}

#[test]
fn incoming_call_screens() {
    let mut state = buddy_list();
    feed(&mut state, incoming(MIRA));
    assert_screen("incoming_call", &state, 80, 24);
    assert_screen("incoming_call", &state, 120, 40);
}

#[test]
fn connected_call_screens() {
    let state = connected();
    assert_screen("call_connected", &state, 80, 24);
    assert_screen("call_connected", &state, 120, 40);
}

#[test]
fn on_hold_and_muted_screens() {
    let mut state = connected();
    feed(
        &mut state,
        [
            key(KeyCode::Enter),
            ctrl('z'),
            client(Event::CallHeld {
                peer: AMY.into(),
                held: true,
            }),
            client(Event::Muted { muted: true }),
            tick(T0 + 245_000),
        ],
    );
    assert_screen("call_on_hold_muted", &state, 80, 24);
    assert_screen("call_on_hold_muted", &state, 120, 40);
}

#[test]
fn the_bar_says_how_far_the_call_got_and_offers_only_what_can_be_done() {
    let bar = |state: &AppState| {
        let screen = screen(state, 100, 24);
        let lines: Vec<&str> = screen.lines().collect();
        format!("{}\n{}", lines[lines.len() - 3], lines[lines.len() - 2])
    };
    let mut state = demo_state();
    update(&mut state, ch('c'));
    let calling = bar(&state);
    assert!(calling.contains("☎ Calling Amy Tran…"), "{calling}");
    assert!(calling.contains("Ctrl-x cancel · Ctrl-t mute"), "{calling}");
    update(&mut state, client(Event::CallRinging { peer: AMY.into() }));
    let ringing = bar(&state);
    assert!(ringing.contains("Amy Tran · Ringing…"), "{ringing}");
    assert!(!ringing.contains("hold"), "{ringing}");
    update(
        &mut state,
        client(Event::CallConnected { peer: AMY.into() }),
    );
    update(&mut state, tick(T0 + 5_000));
    let talking = bar(&state);
    assert!(talking.contains("Amy Tran · 00:05"), "{talking}");
    assert!(
        talking.contains("Ctrl-x hang up · Ctrl-z hold · Ctrl-t mute · Ctrl-d dial tones"),
        "{talking}"
    );
    assert!(!talking.contains("mic"), "no meters without levels");
    update(&mut state, ctrl('z'));
    let holding = bar(&state);
    assert!(holding.contains("00:05 · Holding…"), "{holding}");
    assert!(!holding.contains("Ctrl-z"), "{holding}");
    update(
        &mut state,
        client(Event::CallHeld {
            peer: AMY.into(),
            held: false,
        }),
    );
    update(
        &mut state,
        client(Event::CallHeld {
            peer: AMY.into(),
            held: true,
        }),
    );
    assert!(bar(&state).contains("On hold (by them)"));

    update(&mut state, ctrl('d'));
    feed(&mut state, typed("42"));
    update(&mut state, key(KeyCode::Enter));
    feed(&mut state, typed("7"));
    let dialing = bar(&state);
    assert!(dialing.contains("Dial tones › 7"), "{dialing}");
    assert!(
        dialing.contains("sent 42 · Enter send · Esc close"),
        "{dialing}"
    );

    update(&mut state, ctrl('x'));
    assert!(bar(&state).contains("Amy Tran · Hanging up…"));
    update(
        &mut state,
        client(Event::CallEnded {
            peer: AMY.into(),
            reason: "hung up".into(),
        }),
    );
    let ended = screen(&state, 100, 24);
    let ended: Vec<&str> = ended.lines().collect();
    assert!(ended[ended.len() - 2].contains("☎ Amy Tran · Call ended: hung up"));
    assert!(ended[ended.len() - 3].contains('╰'), "one row once ended");
    update(&mut state, tick(T0 + 60_000));
    let gone = screen(&state, 100, 24);
    assert!(!gone.contains("Call ended"), "{gone}");
    assert!(
        gone.lines().nth(22).is_some_and(|l| l.contains('╰')),
        "{gone}"
    );
}

#[test]
fn meters_show_the_levels_in_eighths() {
    let mut state = in_call_with_amy();
    update(&mut state, Msg::Meters((1.0, 0.0).into()));
    let screen = screen(&state, 100, 24);
    assert!(screen.contains("mic ██████ spk ······"), "{screen}");
    update(&mut state, Msg::Meters((0.25, 0.5).into()));
    let screen = super::view::draw(&state, 100, 24).backend().to_string();
    assert!(screen.contains("mic █▌···· spk ███···"), "{screen}");
}

#[test]
fn levels_are_clamped_and_drawn_only_in_a_connected_call() {
    let mut state = demo_state();
    let fx = update(&mut state, Msg::Meters((0.4, 0.1).into()));
    assert!(!fx.redraw);
    let mut state = in_call_with_amy();
    let fx = update(&mut state, Msg::Meters((1.7, f32::NAN).into()));
    assert!(fx.redraw);
    assert_eq!(state.levels, Some((1.0, 0.0)));
}

#[test]
fn no_size_makes_a_call_screen_panic() {
    let mut screens = vec![connected()];
    let mut banner = buddy_list();
    feed(&mut banner, incoming(HAO));
    screens.push(banner);
    let mut dialing = connected();
    feed(
        &mut dialing,
        [ctrl('d'), ch('1'), key(KeyCode::Enter), ch('2')],
    );
    screens.push(dialing);
    let mut ended = connected();
    update(
        &mut ended,
        client(Event::CallEnded {
            peer: AMY.into(),
            reason: "a very long reason that will not fit anywhere on a small screen".into(),
        }),
    );
    screens.push(ended);
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
