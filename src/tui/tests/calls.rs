//! `update` for calls: placing one from the list and the conversation,
//! the incoming banner, hold and mute following the core's events, the
//! timer, the DTMF keypad, failures and the ended call going away.

use ratatui::crossterm::event::{KeyCode, KeyModifiers};

use crate::client::{Command, Event};
use crate::tui::state::{CallPhase, Modal, Row};
use crate::tui::update::call::ENDED_SHOWN_MS;

use super::*;

pub fn ctrl(c: char) -> Msg {
    with(KeyModifiers::CONTROL, KeyCode::Char(c))
}

pub fn client(event: Event) -> Msg {
    Msg::Client(event)
}

pub fn incoming(from: &str) -> Vec<Msg> {
    vec![
        client(Event::IncomingCall { from: from.into() }),
        client(Event::CallRinging { peer: from.into() }),
    ]
}

/// Demo state in a call with Amy, placed from the list and answered at
/// [`T0`].
pub fn in_call_with_amy() -> AppState {
    let mut state = demo_state();
    feed(
        &mut state,
        [
            ch('c'),
            client(Event::CallRinging { peer: AMY.into() }),
            client(Event::CallConnected { peer: AMY.into() }),
        ],
    );
    state
}

fn phase(state: &AppState) -> Option<CallPhase> {
    state.call.as_ref().map(|call| call.phase.clone())
}

fn offered(state: &AppState) -> Vec<crate::tui::keys::Action> {
    state
        .call
        .as_ref()
        .map(|call| call.offered())
        .unwrap_or_default()
}

#[test]
fn c_calls_the_selected_contact_and_the_phases_follow_the_core() {
    use crate::tui::keys::Action;
    let mut state = demo_state();
    assert_eq!(
        commands(&mut state, [ch('c')]),
        [Command::Call { to: AMY.into() }]
    );
    assert_eq!(phase(&state), Some(CallPhase::Calling));
    assert_eq!(
        offered(&state),
        [Action::HangUp, Action::Mute],
        "no hold yet"
    );
    update(&mut state, client(Event::CallRinging { peer: AMY.into() }));
    assert_eq!(phase(&state), Some(CallPhase::Ringing));
    assert!(commands(&mut state, [ctrl('z'), ctrl('d')]).is_empty());
    assert!(state.call.as_ref().unwrap().dial_pad.is_none());
    update(&mut state, tick(T0 + 4_000));
    update(
        &mut state,
        client(Event::CallConnected { peer: AMY.into() }),
    );
    assert_eq!(
        phase(&state),
        Some(CallPhase::Connected {
            since_ms: T0 + 4_000
        })
    );
    assert_eq!(
        offered(&state),
        [
            Action::HangUp,
            Action::Hold,
            Action::Mute,
            Action::DialTones
        ]
    );
}

#[test]
fn f5_calls_from_the_conversation_without_touching_the_draft() {
    let mut state = chatting_with(HAO);
    feed(&mut state, typed("hi"));
    let sent = commands(&mut state, [key(KeyCode::F(5))]);
    assert_eq!(sent, [Command::Call { to: HAO.into() }]);
    // The call keys are Ctrl keys: letters still type, Ctrl-X hangs up.
    let sent = commands(&mut state, [ch('x'), ctrl('x')]);
    assert_eq!(sent, [Command::HangUp]);
    assert_eq!(state.conversations[HAO].draft.value(), "hix");
    assert!(state.call.as_ref().unwrap().hanging_up);
}

#[test]
fn no_second_call_and_no_call_to_a_group() {
    let mut state = demo_state();
    state.selection = Some(Row::Group("Team".into()));
    assert!(commands(&mut state, [ch('c')]).is_empty());
    assert!(state.call.is_none());
    let mut state = in_call_with_amy();
    update(&mut state, ch('j'));
    assert!(commands(&mut state, [ch('c')]).is_empty());
    let notice = state.notice.as_ref().unwrap();
    assert_eq!(notice.text, "Already in a call with Amy Tran");
}

#[test]
fn an_incoming_call_rings_once_and_its_banner_takes_the_keys() {
    let mut state = demo_state();
    let fx = feed(&mut state, incoming(HAO));
    assert!(fx[0].bell);
    assert!(!fx[1].bell, "one ring per call");
    assert!(state.call.as_ref().unwrap().is_ringing_here());
    // Other keys do nothing while it rings: j does not move, p opens nothing.
    assert!(commands(&mut state, [ch('j'), ch('p'), ctrl('z')]).is_empty());
    assert!(state.modal.is_none());
    assert_eq!(
        state.selection,
        Some(Row::Buddy {
            group: "Team".into(),
            uri: AMY.into()
        })
    );
    assert_eq!(commands(&mut state, [ch('y')]), [Command::AnswerCall]);
    assert_eq!(phase(&state), Some(CallPhase::Answering));
    assert!(!state.call.as_ref().unwrap().is_ringing_here());
    update(
        &mut state,
        client(Event::CallConnected { peer: HAO.into() }),
    );
    assert!(state.call.as_ref().unwrap().talked_secs(T0).is_some());

    for (answer, decline) in [(ch('y'), ch('n')), (key(KeyCode::Enter), key(KeyCode::Esc))] {
        let mut state = demo_state();
        feed(&mut state, incoming(HAO));
        assert_eq!(commands(&mut state, [decline]), [Command::DeclineCall]);
        assert!(!state.call.as_ref().unwrap().is_ringing_here());
        let mut state = demo_state();
        feed(&mut state, incoming(HAO));
        assert_eq!(commands(&mut state, [answer]), [Command::AnswerCall]);
    }
    // Ctrl-X declines too, and the banner shows over an open dialog.
    let mut state = demo_state();
    update(&mut state, ch('?'));
    feed(&mut state, incoming(HAO));
    assert_eq!(commands(&mut state, [ctrl('x')]), [Command::DeclineCall]);
}

#[test]
fn a_cancelled_incoming_call_takes_its_banner_away() {
    let mut state = demo_state();
    feed(&mut state, incoming(HAO));
    let ended = client(Event::CallEnded {
        peer: HAO.into(),
        reason: "cancelled".into(),
    });
    update(&mut state, ended);
    let call = state.call.as_ref().unwrap();
    assert!(!call.is_ringing_here());
    assert!(matches!(&call.phase, CallPhase::Ended { reason, .. } if reason == "cancelled"));
    // Keys are the list's again.
    update(&mut state, ch('j'));
    assert!(matches!(&state.selection, Some(Row::Buddy { uri, .. }) if uri == HAO));
}

#[test]
fn hold_and_mute_toggle_and_the_state_follows_the_events() {
    let mut state = in_call_with_amy();
    assert_eq!(
        commands(&mut state, [ctrl('z')]),
        [Command::Hold { held: true }]
    );
    assert_eq!(state.call.as_ref().unwrap().hold_pending, Some(true));
    assert!(
        commands(&mut state, [ctrl('z')]).is_empty(),
        "one at a time"
    );
    let held = |held| {
        client(Event::CallHeld {
            peer: AMY.into(),
            held,
        })
    };
    update(&mut state, held(true));
    let call = state.call.as_ref().unwrap();
    assert!(call.held_by_us && !call.held_by_them && call.hold_pending.is_none());
    assert_eq!(
        commands(&mut state, [ctrl('z')]),
        [Command::Hold { held: false }]
    );
    // A failed resume leaves it held and offers the key again.
    update(
        &mut state,
        client(Event::CommandFailed {
            command: "call.hold",
            reason: "488 Not Acceptable Here".into(),
        }),
    );
    assert!(state.notice.as_ref().unwrap().text.contains("488"));
    assert_eq!(
        commands(&mut state, [ctrl('z')]),
        [Command::Hold { held: false }]
    );
    update(&mut state, held(false));
    assert!(!state.call.as_ref().unwrap().held_by_us);
    // With nothing asked, a CallHeld is the peer's.
    update(&mut state, held(true));
    let call = state.call.as_ref().unwrap();
    assert!(call.held_by_them && !call.held_by_us);

    assert_eq!(
        commands(&mut state, [ctrl('t')]),
        [Command::Mute { muted: true }]
    );
    assert!(!state.muted, "muted once the core says so");
    update(&mut state, client(Event::Muted { muted: true }));
    assert!(state.muted);
    assert_eq!(
        commands(&mut state, [ctrl('t')]),
        [Command::Mute { muted: false }]
    );
}

#[test]
fn the_timer_counts_from_the_tick_before_connected() {
    let mut state = demo_state();
    feed(&mut state, [ch('c'), tick(T0 + 1_000)]);
    update(
        &mut state,
        client(Event::CallConnected { peer: AMY.into() }),
    );
    let talked = |state: &AppState| state.call.as_ref().unwrap().talked_secs(state.now_ms);
    assert_eq!(talked(&state), Some(0));
    let fx = update(&mut state, tick(T0 + 66_400));
    assert!(fx.redraw, "every tick moves the timer");
    assert_eq!(talked(&state), Some(65));
    use crate::tui::view::call::timer;
    assert_eq!(timer(65), "01:05");
    assert_eq!(timer(3_601), "1:00:01");
}

#[test]
fn the_keypad_sends_dtmf_digits_on_enter() {
    let mut state = in_call_with_amy();
    update(&mut state, ch('#'));
    assert!(state.call.as_ref().unwrap().dial_pad.is_some());
    // Only DTMF digits are taken; letters A-D in capitals.
    let mut msgs = typed("12#a x*");
    msgs.push(key(KeyCode::Enter));
    assert_eq!(
        commands(&mut state, msgs),
        [Command::Dtmf {
            digits: "12#A*".into()
        }]
    );
    let pad = state.call.as_ref().unwrap().dial_pad.as_ref().unwrap();
    assert_eq!((pad.input.value(), pad.sent.as_str()), ("", "12#A*"));
    assert!(
        commands(&mut state, [key(KeyCode::Enter)]).is_empty(),
        "nothing typed"
    );
    update(&mut state, Msg::Paste("PIN: 4711#".into()));
    assert_eq!(
        commands(&mut state, [key(KeyCode::Backspace), key(KeyCode::Enter)]),
        [Command::Dtmf {
            digits: "4711".into()
        }]
    );
    // Ctrl-X still hangs up from the keypad; Esc closes it.
    update(&mut state, key(KeyCode::Esc));
    assert!(state.call.as_ref().unwrap().dial_pad.is_none());
    update(&mut state, ctrl('d'));
    assert!(state.call.as_ref().unwrap().dial_pad.is_some());
    assert_eq!(commands(&mut state, [ctrl('x')]), [Command::HangUp]);
    assert!(state.call.as_ref().unwrap().dial_pad.is_none());
}

#[test]
fn an_ended_call_shows_its_reason_then_goes() {
    let mut state = in_call_with_amy();
    update(&mut state, Msg::Meters((0.5, 0.2).into()));
    update(&mut state, tick(T0 + 10_000));
    update(
        &mut state,
        client(Event::CallEnded {
            peer: AMY.into(),
            reason: "the other party hung up".into(),
        }),
    );
    assert!(state.levels.is_none());
    assert!(matches!(
        phase(&state),
        Some(CallPhase::Ended { until_ms, .. }) if until_ms == T0 + 10_000 + ENDED_SHOWN_MS
    ));
    assert!(state.live_call().is_none());
    update(&mut state, tick(T0 + 10_000 + ENDED_SHOWN_MS - 1));
    assert!(state.call.is_some());
    let fx = update(&mut state, tick(T0 + 10_000 + ENDED_SHOWN_MS));
    assert!(fx.redraw && state.call.is_none());
    // A new call may be placed while the old one still shows.
    let mut state = in_call_with_amy();
    update(
        &mut state,
        client(Event::CallEnded {
            peer: AMY.into(),
            reason: "hung up".into(),
        }),
    );
    assert_eq!(
        commands(&mut state, [ch('c')]),
        [Command::Call { to: AMY.into() }]
    );
}

#[test]
fn failed_call_commands_show_a_notice_and_undo_what_they_expected() {
    let failed = |command, reason: &str| {
        client(Event::CommandFailed {
            command,
            reason: reason.into(),
        })
    };
    let mut state = demo_state();
    feed(&mut state, [ch('c'), failed("call", "not signed in")]);
    assert!(state.call.is_none());
    let notice = state.notice.as_ref().unwrap();
    assert!(notice.error && notice.text == "call failed: not signed in");

    let mut state = demo_state();
    feed(&mut state, incoming(HAO));
    feed(&mut state, [ch('y'), failed("call.answer", "no audio")]);
    assert!(
        state.call.as_ref().unwrap().is_ringing_here(),
        "back to decline"
    );

    let mut state = in_call_with_amy();
    feed(
        &mut state,
        [ctrl('x'), failed("call.hangup", "there is no call")],
    );
    assert!(state.call.is_none());
}

#[test]
fn call_keys_work_in_dialogs_and_nothing_is_done_that_is_not_offered() {
    let mut state = in_call_with_amy();
    update(&mut state, ch('n'));
    assert!(matches!(state.modal, Some(Modal::NoteEditor { .. })));
    assert_eq!(
        commands(&mut state, [ctrl('z')]),
        [Command::Hold { held: true }]
    );
    assert!(matches!(state.modal, Some(Modal::NoteEditor { .. })));
    // Without a call the call keys mean nothing.
    let mut state = demo_state();
    assert!(commands(&mut state, [ctrl('x'), ctrl('z'), ctrl('t'), ch('#')]).is_empty());
}

#[test]
fn a_call_is_not_idleness() {
    let mut state = in_call_with_amy();
    let sent = commands(&mut state, [tick(T0 + 3_600_000)]);
    assert!(sent.is_empty(), "{sent:?}");
    assert!(state.auto_away.is_none());
}
