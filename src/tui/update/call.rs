//! Calls: placing one, the incoming-call banner, the keys of a call, the
//! DTMF keypad, and the core's call events.
//!
//! Rules kept here:
//! - The state follows the core's events, not our commands: hold, resume
//!   and mute show once [`Event::CallHeld`] or [`Event::Muted`] says so;
//!   until then the bar says "Holding…" and the hold key is not offered.
//! - A [`Event::CallHeld`] answers our pending hold or resume if there is
//!   one, else it is the peer's.
//! - An incoming call rings the bell once and its banner takes the keys
//!   until it is answered, declined or cancelled.
//! - The keys of [`Context::Call`] work everywhere while a call is on,
//!   dialogs included; an action the call does not offer now does
//!   nothing.
//! - An ended call stays in the bar for [`ENDED_SHOWN_MS`], by ticks.
//! - The RTP figures are kept only while the call is connected; the bar
//!   shows those of the last tick (the first ones at once), so they
//!   change at most once a second.

use ratatui::crossterm::event::{Event as TerminalEvent, KeyEvent};
use tui_input::InputRequest;
use tui_input::backend::crossterm::to_input_request;

use crate::client::{Command, Event};

use super::super::keys::{Action, Context};
use super::super::state::{AppState, Call, CallPhase, DialPad, MediaMeters, Modal, dtmf_digit};
use super::{Effects, notice, quit};

/// How long "Call ended" stays in the bar.
pub const ENDED_SHOWN_MS: i64 = 5_000;

/// Takes the key if a call wants it: the call keys, the banner's, the
/// keypad's. Returns whether it did.
pub(super) fn handle_key(state: &mut AppState, key: KeyEvent, fx: &mut Effects) -> bool {
    let Some(call) = state.live_call() else {
        return false;
    };
    let ringing_here = call.is_ringing_here();
    let dialing = call.dial_pad.is_some();
    if let Some(action) = state.keys.action_in(Context::Call, &key) {
        act(state, action, fx);
    } else if ringing_here {
        banner(state, &key, fx);
    } else if dialing && state.modal.is_none() {
        dial_pad(state, key, fx);
    } else {
        return false;
    }
    true
}

/// Whether a call is on; if so, says so in the status bar.
pub(super) fn busy(state: &mut AppState) -> bool {
    let Some(call) = state.live_call() else {
        return false;
    };
    let text = format!("Already in a call with {}", state.display_name(&call.peer));
    notice(state, text, true);
    true
}

/// Calls `peer`, unless a call is on.
pub(super) fn place(state: &mut AppState, peer: &str, fx: &mut Effects) {
    if busy(state) {
        return;
    }
    state.call = Some(Call::new(peer, CallPhase::Calling));
    forget_media(state);
    fx.commands.push(Command::Call {
        to: peer.to_owned(),
    });
}

/// A call action, if the call offers it now.
pub(super) fn act(state: &mut AppState, action: Action, fx: &mut Effects) {
    let muted = state.muted;
    let Some(call) = state
        .call
        .as_mut()
        .filter(|call| call.offered().contains(&action))
    else {
        fx.redraw = false;
        return;
    };
    match action {
        Action::HangUp => {
            call.hanging_up = true;
            call.dial_pad = None;
            fx.commands.push(if call.phase == CallPhase::Incoming {
                Command::DeclineCall
            } else {
                Command::HangUp
            });
        }
        Action::Hold => {
            let held = !call.held_by_us;
            call.hold_pending = Some(held);
            fx.commands.push(Command::Hold { held });
        }
        Action::Mute => fx.commands.push(Command::Mute { muted: !muted }),
        Action::DialTones => {
            call.dial_pad = match call.dial_pad {
                Some(_) => None,
                None => Some(DialPad::default()),
            };
        }
        _ => fx.redraw = false,
    }
}

/// The banner's keys; it takes every key while it shows.
fn banner(state: &mut AppState, key: &KeyEvent, fx: &mut Effects) {
    let action = state.keys.action(Context::Incoming, key);
    let Some(call) = state.call.as_mut() else {
        return;
    };
    match action {
        Some(Action::Answer) => {
            call.phase = CallPhase::Answering;
            fx.commands.push(Command::AnswerCall);
        }
        Some(Action::Decline) => {
            call.hanging_up = true;
            fx.commands.push(Command::DeclineCall);
        }
        Some(Action::Quit) => quit(state, fx),
        _ => fx.redraw = false,
    }
}

/// The keypad's keys: DTMF digits and line editing; Enter sends.
fn dial_pad(state: &mut AppState, key: KeyEvent, fx: &mut Effects) {
    let action = state.keys.action(Context::DialPad, &key);
    match action {
        Some(Action::Quit) => return quit(state, fx),
        Some(Action::ShowHelp) => {
            state.modal = Some(Modal::Help { scroll: 0 });
            return;
        }
        _ => {}
    }
    let Some(pad) = state.call.as_mut().and_then(|call| call.dial_pad.as_mut()) else {
        return;
    };
    match action {
        Some(Action::Accept) => {
            let digits = pad.input.value().to_owned();
            if digits.is_empty() {
                fx.redraw = false;
                return;
            }
            pad.sent.push_str(&digits);
            pad.input.reset();
            fx.commands.push(Command::Dtmf { digits });
        }
        Some(Action::Cancel) => {
            if let Some(call) = state.call.as_mut() {
                call.dial_pad = None;
            }
        }
        _ => match to_input_request(&TerminalEvent::Key(key)) {
            Some(InputRequest::InsertChar(c)) => match dtmf_digit(c) {
                Some(digit) => {
                    pad.input.handle(InputRequest::InsertChar(digit));
                }
                None => fx.redraw = false,
            },
            Some(request) => {
                pad.input.handle(request);
            }
            None => fx.redraw = false,
        },
    }
}

/// Pasted text, if the keypad is open to take it: its DTMF digits.
pub(super) fn paste(state: &mut AppState, text: &str) -> bool {
    if state.modal.is_some() {
        return false;
    }
    let Some(pad) = state.call.as_mut().and_then(|call| call.dial_pad.as_mut()) else {
        return false;
    };
    let digits: String = text.chars().filter_map(dtmf_digit).collect();
    super::conversation::insert_str(&mut pad.input, &digits);
    true
}

/// The core's call events.
pub(super) fn handle_event(state: &mut AppState, event: Event, fx: &mut Effects) {
    let now = state.now_ms;
    match event {
        Event::IncomingCall { from } => {
            state.call = Some(Call::new(&from, CallPhase::Incoming));
            forget_media(state);
            fx.bell = true;
        }
        Event::CallRinging { peer } => match state.call.as_mut().filter(|c| c.is_live()) {
            Some(call) if call.phase == CallPhase::Calling => call.phase = CallPhase::Ringing,
            Some(_) => fx.redraw = false,
            None => state.call = Some(Call::new(&peer, CallPhase::Ringing)),
        },
        Event::CallConnected { peer } => {
            let phase = CallPhase::Connected { since_ms: now };
            match state.call.as_mut().filter(|c| c.is_live()) {
                Some(call) => call.phase = phase,
                None => state.call = Some(Call::new(&peer, phase)),
            }
        }
        Event::CallHeld { held, .. } => {
            let Some(call) = state.call.as_mut().filter(|c| c.is_live()) else {
                fx.redraw = false;
                return;
            };
            if call.hold_pending.take().is_some() {
                call.held_by_us = held;
            } else {
                call.held_by_them = held;
            }
        }
        Event::CallEnded { peer, reason } => {
            let peer = match state.call.take() {
                Some(call) if call.is_live() => call.peer,
                _ => peer,
            };
            let phase = CallPhase::Ended {
                reason,
                until_ms: now.saturating_add(ENDED_SHOWN_MS),
            };
            state.call = Some(Call::new(&peer, phase));
            forget_media(state);
        }
        Event::Muted { muted } => state.muted = muted,
        _ => fx.redraw = false,
    }
}

/// A call command failed: undo what we expected of it. The notice is
/// shown by the caller, as for every command.
pub(super) fn command_failed(state: &mut AppState, command: &str) {
    let Some(call) = state.call.as_mut().filter(|c| c.is_live()) else {
        return;
    };
    match command {
        // Never placed.
        "call" if call.phase == CallPhase::Calling => state.call = None,
        // Still ringing, presumably: the banner comes back to decline it.
        "call.answer" if call.phase == CallPhase::Answering => call.phase = CallPhase::Incoming,
        // The core has no call to end: neither have we.
        "call.hangup" | "call.decline" if call.hanging_up => state.call = None,
        "call.hold" => call.hold_pending = None,
        _ => {}
    }
}

/// Levels and figures of the last call: none for the next.
fn forget_media(state: &mut AppState) {
    state.levels = None;
    state.stats = None;
    state.stats_shown = None;
}

/// What the media task measured; returns whether the bar shows it.
pub(super) fn meters(state: &mut AppState, meters: MediaMeters) -> bool {
    let peak = |level: f32| {
        if level.is_nan() {
            0.0
        } else {
            level.clamp(0.0, 1.0)
        }
    };
    let levels = Some((peak(meters.input), peak(meters.output)));
    let talking = state
        .live_call()
        .is_some_and(|call| call.talked_secs(state.now_ms).is_some());
    let stats = meters
        .stats
        .filter(|_| talking)
        .map(|stats| stats.sanitised());
    // The media task reports every 20 ms whether or not anything moved:
    // only a change is worth a frame.
    let changed = levels != state.levels || stats_shown_change(state, stats);
    state.levels = levels;
    state.stats = stats;
    if state.stats_shown.is_none() {
        // The first figures need not wait for a tick.
        state.stats_shown = state.stats;
    }
    talking && changed
}

/// Whether the first figures arrive now (the bar shows them at once).
fn stats_shown_change(state: &AppState, stats: Option<crate::tui::state::CallStats>) -> bool {
    state.stats_shown.is_none() && stats.is_some()
}

/// The time now: the timer runs, the figures shown catch up, and an
/// ended call goes. Returns whether anything visible changed.
pub(super) fn tick(state: &mut AppState) -> bool {
    match state.call.as_ref().map(|call| &call.phase) {
        Some(CallPhase::Ended { until_ms, .. }) if *until_ms <= state.now_ms => {
            state.call = None;
            forget_media(state);
            true
        }
        Some(CallPhase::Connected { .. }) => {
            state.stats_shown = state.stats;
            true
        }
        _ => false,
    }
}
