//! When the run loop ticks: only when a tick can change something
//! ([`next_tick_ms`]), so that an idle screen sleeps, and at least every
//! [`MAX_TICK_MS`].

use std::time::Duration;

use crate::client::{Availability, Command, Event};
use crate::tui::update::{MAX_TICK_MS, next_tick_ms};

use super::calls::in_call_with_amy;
use super::*;

const IDLE_MS: i64 = 5 * 60 * 1000;
/// [`T0`] is 13:45 UTC; this is the next midnight, UTC.
const MIDNIGHT: i64 = T0 + (10 * 60 + 15) * 60 * 1000;

#[test]
fn an_idle_screen_waits_for_going_away_then_for_the_longest_tick() {
    let mut state = demo_state();
    assert_eq!(next_tick_ms(&state), T0 + IDLE_MS, "going Away is on time");
    // A key moves it on.
    update(&mut state, tick(T0 + 60_000));
    update(&mut state, ch('j'));
    assert_eq!(next_tick_ms(&state), T0 + 60_000 + IDLE_MS);
    // Away, or any state but Available, waits for nothing.
    state.own.availability = Availability::Busy;
    assert_eq!(next_tick_ms(&state), T0 + 60_000 + MAX_TICK_MS);
}

#[test]
fn a_new_day_ticks_at_local_midnight_and_redraws_an_open_conversation() {
    let mut state = chatting_with(AMY);
    state.own.availability = Availability::Busy;
    update(&mut state, tick(MIDNIGHT - 1_000));
    assert_eq!(next_tick_ms(&state), MIDNIGHT);
    assert!(update(&mut state, tick(MIDNIGHT)).redraw, "today moved");
    assert!(!update(&mut state, tick(MIDNIGHT + 1_000)).redraw);

    // An hour east of UTC, the day ends an hour sooner.
    let mut state = demo_state_with(TuiConfig {
        utc_offset_minutes: 60,
        ..TuiConfig::default()
    });
    state.own.availability = Availability::Busy;
    update(&mut state, tick(MIDNIGHT - 2 * 3_600_000));
    assert_eq!(next_tick_ms(&state), MIDNIGHT - 3_600_000);
}

#[test]
fn typing_notices_and_calls_tick_when_they_change() {
    let mut state = demo_state();
    state.own.availability = Availability::Busy;
    update(&mut state, Msg::Client(Event::Typing { from: AMY.into() }));
    let shown = i64::try_from(TuiConfig::default().typing_shown.as_millis()).unwrap();
    assert_eq!(next_tick_ms(&state), T0 + shown, "the indicator goes out");
    let fx = update(&mut state, tick(T0 + shown));
    assert!(fx.redraw);
    assert_eq!(next_tick_ms(&state), T0 + shown + MAX_TICK_MS);

    // The call's clock shows seconds.
    let state = in_call_with_amy();
    assert_eq!(next_tick_ms(&state), T0 + 1_000);
}

#[test]
fn no_idle_minutes_means_never_away() {
    let mut state = demo_state_with(TuiConfig {
        idle: Duration::ZERO,
        ..TuiConfig::default()
    });
    let away: Vec<Command> = commands(&mut state, [tick(T0 + 10 * IDLE_MS)]);
    assert!(away.is_empty(), "{away:?}");
    assert_eq!(next_tick_ms(&state), T0 + 10 * IDLE_MS + MAX_TICK_MS);
}
