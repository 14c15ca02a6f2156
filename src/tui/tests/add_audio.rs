//! `update` and `render` for the "Add audio" dialog that adding audio to
//! an IM opens: this terminal, the provisioned work number, or another
//! number typed in with its preview; and a conference whose audio a
//! phone carries, in the status bar and the roster.

use ratatui::crossterm::event::{KeyCode, KeyModifiers};

use crate::client::{AudioVia, Command, Event, LocationProfile};
use crate::tui::state::{AudioChoice, Modal, PhoneAudio};

use super::calls::client;
use super::conference::{AV_MCU, FOCUS, roster, user};
use super::view::{assert_screen, draw};
use super::*;

const WORK: &str = "+14255032002";

fn provisioned(work_number: Option<&str>) -> Msg {
    client(Event::Provisioned {
        location_profile: LocationProfile::fallback(),
        from_server: true,
        work_number: work_number.map(Into::into),
    })
}

/// Amy's conversation open, with the work number provisioned or not, and
/// the dialog opened by F6.
fn asking(work_number: Option<&str>) -> AppState {
    let mut state = chatting_with(AMY);
    feed(&mut state, [provisioned(work_number), key(KeyCode::F(6))]);
    state
}

fn selected(state: &AppState) -> Option<AudioChoice> {
    match &state.modal {
        Some(Modal::AddAudio(dialog)) => Some(dialog.selected),
        _ => None,
    }
}

/// The number typed, while its field has the keys.
fn typing(state: &AppState) -> Option<String> {
    match &state.modal {
        Some(Modal::AddAudio(dialog)) if dialog.typing => Some(dialog.number.value().to_owned()),
        _ => None,
    }
}

fn escalate(via: AudioVia) -> Vec<Command> {
    vec![Command::Escalate {
        with: vec![AMY.into()],
        via,
    }]
}

fn phone(number: &str) -> AudioVia {
    AudioVia::Phone {
        number: number.into(),
    }
}

fn screen(state: &AppState) -> String {
    draw(state, 80, 24).backend().to_string()
}

#[test]
fn provisioning_keeps_the_work_number() {
    let mut state = demo_state();
    assert_eq!(state.work_number, None);
    update(&mut state, provisioned(Some(WORK)));
    assert_eq!(state.work_number.as_deref(), Some(WORK));
    update(&mut state, provisioned(None));
    assert_eq!(state.work_number, None);
}

#[test]
fn this_terminal_is_the_default_and_t_chooses_it_too() {
    let mut state = asking(Some(WORK));
    assert_eq!(selected(&state), Some(AudioChoice::Terminal));
    assert_eq!(
        commands(&mut state, [key(KeyCode::Enter)]),
        escalate(AudioVia::Client)
    );
    assert!(state.modal.is_none());
    assert!(state.conference.is_some());

    let mut state = asking(Some(WORK));
    feed(&mut state, [ch('j'), ch('j')]);
    assert_eq!(
        commands(&mut state, [ch('t')]),
        escalate(AudioVia::Client),
        "the letter chooses wherever the selection is"
    );
}

#[test]
fn the_work_number_is_offered_when_provisioned_and_the_mcu_calls_it() {
    let mut state = asking(Some(WORK));
    assert!(commands(&mut state, [key(KeyCode::Down)]).is_empty());
    assert_eq!(selected(&state), Some(AudioChoice::WorkNumber));
    assert_eq!(
        commands(&mut state, [key(KeyCode::Enter)]),
        escalate(phone(WORK))
    );
    let conference = state.conference.as_ref().unwrap();
    assert_eq!(conference.by_phone.as_deref(), Some(WORK));

    let mut state = asking(Some(WORK));
    assert_eq!(commands(&mut state, [ch('w')]), escalate(phone(WORK)));
}

#[test]
fn without_a_work_number_the_list_skips_it_and_w_does_nothing() {
    let mut state = asking(None);
    let fx = update(&mut state, ch('w'));
    assert!(fx.commands.is_empty() && !fx.redraw);
    assert_eq!(selected(&state), Some(AudioChoice::Terminal));
    update(&mut state, ch('j'));
    assert_eq!(selected(&state), Some(AudioChoice::OtherNumber));
    // The last stays the last, and the first the first.
    update(&mut state, key(KeyCode::Down));
    assert_eq!(selected(&state), Some(AudioChoice::OtherNumber));
    feed(&mut state, [ch('k'), key(KeyCode::Up)]);
    assert_eq!(selected(&state), Some(AudioChoice::Terminal));
    assert!(state.conference.is_none());
    let shown = screen(&state);
    assert!(!shown.contains("work number"), "{shown}");
}

#[test]
fn another_number_opens_a_field_whose_number_the_mcu_calls() {
    let mut state = asking(Some(WORK));
    feed(&mut state, [ch('j'), ch('j')]);
    assert_eq!(selected(&state), Some(AudioChoice::OtherNumber));
    assert!(commands(&mut state, [key(KeyCode::Enter)]).is_empty());
    assert_eq!(typing(&state).as_deref(), Some(""));
    // Letters are the number's now, not the list's.
    let fx = feed(&mut state, typed("555 0123"));
    assert!(fx.iter().all(|fx| fx.commands.is_empty()));
    let shown = screen(&state);
    assert!(
        shown.contains("→ +14255550123 (rule: 7-digit local)"),
        "{shown}"
    );
    assert_eq!(
        commands(&mut state, [key(KeyCode::Enter)]),
        escalate(phone("555 0123")),
        "sent as typed: the core normalizes it by the same profile"
    );
    assert!(state.modal.is_none());
    let conference = state.conference.as_ref().unwrap();
    assert_eq!(conference.by_phone.as_deref(), Some("555 0123"));

    // o opens it straight away, and a paste goes in on one line.
    let mut state = asking(None);
    feed(
        &mut state,
        [ch('o'), Msg::Paste("+44 20 7946 0958\n".into())],
    );
    assert_eq!(typing(&state).as_deref(), Some("+44 20 7946 0958 "));
    assert_eq!(
        commands(&mut state, [key(KeyCode::Enter)]),
        escalate(phone("+44 20 7946 0958"))
    );
}

#[test]
fn a_number_that_cannot_be_dialled_keeps_the_dialog_with_the_reason() {
    let mut state = asking(None);
    feed(&mut state, [ch('o')]);
    feed(&mut state, typed("555-CALL"));
    let shown = screen(&state);
    assert!(
        shown.contains("✗ 'C' is not a digit: a number has"),
        "{shown}"
    );
    let fx = update(&mut state, key(KeyCode::Enter));
    assert!(fx.commands.is_empty());
    assert_eq!(typing(&state).as_deref(), Some("555-CALL"), "still open");
    assert!(state.conference.is_none());

    // No rule of the profile knows it.
    let mut msgs = vec![with(KeyModifiers::CONTROL, KeyCode::Char('u'))];
    msgs.extend(typed("12345"));
    feed(&mut state, msgs);
    let shown = screen(&state);
    assert!(
        shown.contains("✗ no rule of location profile US matches 12345"),
        "{shown}"
    );
    assert!(commands(&mut state, [key(KeyCode::Enter)]).is_empty());

    // A name is no number here: only a number goes in this field.
    feed(
        &mut state,
        [with(KeyModifiers::CONTROL, KeyCode::Char('u'))],
    );
    feed(&mut state, typed("amy"));
    let shown = screen(&state);
    assert!(shown.contains("✗ 'a' is not a digit"), "{shown}");
    assert!(commands(&mut state, [key(KeyCode::Enter)]).is_empty());

    // Nothing typed: Enter does nothing.
    feed(
        &mut state,
        [with(KeyModifiers::CONTROL, KeyCode::Char('u'))],
    );
    let fx = update(&mut state, key(KeyCode::Enter));
    assert!(fx.commands.is_empty() && !fx.redraw);
    assert_eq!(typing(&state).as_deref(), Some(""));
    assert!(state.conference.is_none());
}

#[test]
fn up_goes_back_to_the_list_keeping_the_number() {
    let mut state = asking(Some(WORK));
    feed(&mut state, [ch('o')]);
    feed(&mut state, typed("555 01"));
    update(&mut state, key(KeyCode::Up));
    assert_eq!(typing(&state), None);
    assert_eq!(selected(&state), Some(AudioChoice::OtherNumber));
    update(&mut state, ch('k'));
    assert_eq!(selected(&state), Some(AudioChoice::WorkNumber));
    feed(&mut state, [ch('o')]);
    assert_eq!(typing(&state).as_deref(), Some("555 01"));
}

#[test]
fn esc_cancels_from_the_list_and_from_the_field() {
    let mut state = asking(Some(WORK));
    assert!(commands(&mut state, [key(KeyCode::Esc)]).is_empty());
    assert!(state.modal.is_none());
    assert!(state.conference.is_none());
    assert_eq!(state.open.as_deref(), Some(AMY), "the IM stays");

    let mut state = asking(Some(WORK));
    let mut msgs = vec![ch('o')];
    msgs.extend(typed("555 0123"));
    msgs.push(key(KeyCode::Esc));
    assert!(commands(&mut state, msgs).is_empty());
    assert!(state.modal.is_none());
    assert!(state.conference.is_none());
}

#[test]
fn a_conference_started_meanwhile_wins_over_the_choice() {
    let mut state = asking(None);
    feed(
        &mut state,
        [
            client(Event::ConferenceJoined {
                focus: FOCUS.into(),
                role: "attendee".into(),
            }),
            key(KeyCode::Enter),
        ],
    );
    assert!(state.modal.is_none());
    assert_eq!(
        state.notice.as_ref().unwrap().text,
        "Already in a conference"
    );
}

#[test]
fn the_dialog_and_its_keys_are_in_the_help() {
    let state = asking(Some(WORK));
    let shown = screen(&state);
    assert!(shown.contains("Add audio"), "{shown}");
    assert!(shown.contains("Enter choose · Esc cancel"), "{shown}");
    let help = crate::tui::view::help::sections(&state.keys, false);
    let section = help.iter().find(|s| s.title == "Add audio").unwrap();
    for row in [
        ("t", "by this terminal"),
        ("w", "call my work number"),
        ("o", "call another number"),
        ("Esc", "cancel"),
    ] {
        assert!(
            section.rows.contains(&(row.0.to_owned(), row.1.to_owned())),
            "{row:?}"
        );
    }
}

#[test]
fn dialog_screens() {
    let state = asking(Some(WORK));
    let shown = screen(&state);
    assert!(shown.contains("My work number  +1 425 503 2002"), "{shown}");
    assert_screen("add_audio_work_number", &state, 80, 24);

    let state = asking(None);
    assert_screen("add_audio", &state, 80, 24);

    let mut state = asking(Some(WORK));
    feed(&mut state, [ch('o')]);
    feed(&mut state, typed("555 0123"));
    assert_screen("add_audio_other_number", &state, 80, 24);
}

/// Vivian chose her work number: the conference is joined, and the
/// roster says where the MCU's call to that phone is.
fn by_phone(own_audio: &str) -> AppState {
    let mut state = asking(Some(WORK));
    feed(
        &mut state,
        [
            ch('w'),
            client(Event::ConferenceJoined {
                focus: FOCUS.into(),
                role: "presenter".into(),
            }),
            roster(
                1,
                false,
                vec![
                    user(OWN, "Vivian Park", true, own_audio, Some(101)),
                    user(AMY, "Amy Tran", false, "connected", Some(102)),
                ],
            ),
            tick(T0 + 83_000),
        ],
    );
    state
}

fn status_bar(state: &AppState) -> String {
    let shown = draw(state, 120, 40).backend().to_string();
    shown.lines().last().unwrap_or_default().to_owned()
}

#[test]
fn joined_by_phone_the_status_says_so_rather_than_a_call_timer() {
    let state = by_phone("dialing-out");
    assert_eq!(state.phone_audio(), Some(PhoneAudio::Calling));
    let bar = status_bar(&state);
    assert!(bar.contains("2 people · ☎ calling your phone…"), "{bar}");

    let mut state = by_phone("connected");
    assert_eq!(state.phone_audio(), Some(PhoneAudio::Connected));
    assert!(state.call.is_none());
    let bar = status_bar(&state);
    assert!(
        bar.contains("◎ In a conference · 2 people · ☎ by phone"),
        "{bar}"
    );
    let shown = draw(&state, 120, 40).backend().to_string();
    let own = shown
        .lines()
        .find(|line| line.contains("Vivian Park (you)"))
        .unwrap();
    assert!(own.contains("by phone"), "{own}");

    // A call with someone else meanwhile is not the conference's: its
    // timer is not the conference's, and the phone still carries it.
    feed(
        &mut state,
        [
            client(Event::CallConnected { peer: HAO.into() }),
            tick(T0 + 90_000),
        ],
    );
    assert_eq!(state.conference_call().map(|c| c.peer.as_str()), None);
    let bar = status_bar(&state);
    assert!(bar.contains("2 people · ☎ by phone"), "{bar}");
    assert!(!bar.contains("00:"), "{bar}");

    // The phone hung up: neither a phone nor a timer.
    let state = by_phone("disconnected");
    assert_eq!(state.phone_audio(), None);
    let bar = status_bar(&state);
    assert!(bar.contains("2 people │"), "{bar}");
}

#[test]
fn by_this_terminal_the_status_keeps_the_timer_of_the_conference_call() {
    let mut state = chatting_with(AMY);
    feed(
        &mut state,
        [
            key(KeyCode::F(6)),
            key(KeyCode::Enter),
            client(Event::ConferenceJoined {
                focus: FOCUS.into(),
                role: "presenter".into(),
            }),
            roster(
                1,
                false,
                vec![user(OWN, "Vivian Park", true, "connected", Some(101))],
            ),
            client(Event::CallConnected {
                peer: AV_MCU.into(),
            }),
            tick(T0 + 83_000),
        ],
    );
    assert_eq!(state.phone_audio(), None);
    let bar = status_bar(&state);
    assert!(bar.contains("1 person · 01:23"), "{bar}");
    assert!(!bar.contains("by phone"), "{bar}");
}

#[test]
fn a_refused_dial_out_to_our_phone_stops_saying_calling() {
    let mut state = by_phone("none");
    assert_eq!(state.phone_audio(), Some(PhoneAudio::Calling));
    update(
        &mut state,
        client(Event::CommandFailed {
            command: "conference.join_audio",
            reason: "the A/V MCU refused the dial-out".into(),
        }),
    );
    assert_eq!(state.phone_audio(), None);
    assert!(
        state.joined_conference().is_some(),
        "still in the conference"
    );
}

#[test]
fn by_phone_screen() {
    assert_screen("conference_by_phone", &by_phone("connected"), 80, 24);
}

#[test]
fn a_refused_subscription_shows_its_status_in_the_status_bar() {
    let mut state = demo_state();
    update(
        &mut state,
        client(Event::SubscriptionFailed {
            package: "presence".into(),
            target: "sip:amy@confab.local".into(),
            reason: "403 Forbidden".into(),
        }),
    );
    let bar = status_bar(&state);
    assert!(bar.contains("Amy Tran's presence: 403 Forbidden"), "{bar}");
}
