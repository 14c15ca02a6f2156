//! The call's RTP figures in the bar: kept while connected, refreshed by
//! ticks, shortened to fit, and a snapshot of a connected call with them.

use crate::client::Event;
use crate::tui::state::{CallStats, MediaMeters};

use super::calls::{client, in_call_with_amy};
use super::view::{assert_screen, buddy_list, draw};
use super::*;

fn stats(loss_percent: f32, jitter_ms: f32) -> CallStats {
    CallStats {
        codec: "Opus",
        loss_percent,
        jitter_ms,
        round_trip_ms: Some(12.0),
        buffer_ms: 40.0,
    }
}

fn meters(stats: CallStats) -> Msg {
    Msg::Meters(MediaMeters {
        input: 0.62,
        output: 0.35,
        stats: Some(stats),
        speaking: Default::default(),
    })
}

fn rows(state: &AppState, width: u16) -> (String, String) {
    let screen = draw(state, width, 24).backend().to_string();
    let lines: Vec<&str> = screen.lines().collect();
    (
        lines[lines.len() - 3].to_owned(),
        lines[lines.len() - 2].to_owned(),
    )
}

#[test]
fn figures_are_stored_shown_and_refreshed_at_most_once_a_second() {
    let mut state = in_call_with_amy();
    update(&mut state, tick(T0 + 5_000));
    let fx = update(&mut state, meters(stats(0.4, 3.2)));
    assert!(fx.redraw);
    assert_eq!(state.stats, Some(stats(0.4, 3.2)));
    assert_eq!(
        state.stats_shown,
        Some(stats(0.4, 3.2)),
        "the first at once"
    );
    let (first, second) = rows(&state, 120);
    assert!(first.contains("Amy Tran · 00:05 · Opus"), "{first}");
    assert!(
        second.contains("loss 0.4% · jitter 3 ms · rtt 12 ms · buffer 40 ms"),
        "{second}"
    );

    // Newer figures wait for the next tick.
    update(&mut state, meters(stats(2.5, 18.0)));
    assert_eq!(state.stats, Some(stats(2.5, 18.0)));
    assert_eq!(state.stats_shown, Some(stats(0.4, 3.2)));
    assert!(rows(&state, 120).1.contains("loss 0.4%"));
    update(&mut state, tick(T0 + 6_000));
    assert_eq!(state.stats_shown, Some(stats(2.5, 18.0)));
    assert!(rows(&state, 120).1.contains("loss 2.5% · jitter 18 ms"));
}

#[test]
fn at_80_columns_the_figures_shorten_after_the_hints() {
    let mut state = in_call_with_amy();
    feed(&mut state, [tick(T0 + 5_000), meters(stats(0.4, 3.2))]);
    let (_, second) = rows(&state, 80);
    assert!(
        second.contains("Ctrl-d dial tones"),
        "hints first: {second}"
    );
    assert!(second.contains("loss 0.4%"), "{second}");
    assert!(!second.contains("buffer"), "{second}");
    let (_, narrow) = rows(&state, 64);
    assert!(!narrow.contains("loss"), "hidden: {narrow}");
}

#[test]
fn figures_are_kept_only_while_connected_and_made_fit_to_show() {
    let mut state = demo_state();
    update(&mut state, ch('c'));
    update(&mut state, meters(stats(1.0, 1.0)));
    assert_eq!(state.stats, None, "not connected yet");
    feed(
        &mut state,
        [
            client(Event::CallConnected { peer: AMY.into() }),
            meters(CallStats {
                round_trip_ms: Some(f32::NAN),
                ..stats(250.0, -3.0)
            }),
        ],
    );
    let kept = state.stats.unwrap();
    assert_eq!(
        (kept.loss_percent, kept.jitter_ms, kept.round_trip_ms),
        (100.0, 0.0, None)
    );
    update(
        &mut state,
        client(Event::CallEnded {
            peer: AMY.into(),
            reason: "the other party hung up".into(),
        }),
    );
    assert_eq!((state.stats, state.stats_shown), (None, None));
}

#[test]
fn connected_call_with_figures_screen() {
    let mut state = buddy_list();
    feed(
        &mut state,
        [
            ch('c'),
            client(Event::CallRinging { peer: AMY.into() }),
            client(Event::CallConnected { peer: AMY.into() }),
            tick(T0 + 83_000),
            meters(stats(0.4, 3.0)),
        ],
    );
    assert_screen("call_stats", &state, 120, 40);
}

#[test]
fn the_same_levels_again_ask_for_no_frame_and_new_ones_do() {
    let mut state = in_call_with_amy();
    let first = update(&mut state, meters(stats(0.0, 2.0)));
    assert!(first.redraw, "the first levels are drawn");
    let again = update(&mut state, meters(stats(0.0, 2.0)));
    assert!(
        !again.redraw,
        "the media task's report every 20 ms, unchanged"
    );
    let louder = update(
        &mut state,
        Msg::Meters(MediaMeters {
            input: 0.9,
            output: 0.35,
            stats: Some(stats(0.0, 2.0)),
            speaking: Default::default(),
        }),
    );
    assert!(louder.redraw);
}
