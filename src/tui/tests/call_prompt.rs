//! `update` and `render` for the call prompt: any address, user name or
//! number, not only a contact; a number shows what it dials as, or why it
//! cannot be dialled, before Enter.

use ratatui::crossterm::event::KeyCode;

use crate::client::{Command, Event};
use crate::tui::state::{CallPhase, Modal};

use super::calls::{client, in_call_with_amy};
use super::view::{assert_screen, buddy_list, draw};
use super::*;

fn prompt_value(state: &AppState) -> Option<String> {
    match &state.modal {
        Some(Modal::CallPrompt { input }) => Some(input.value().to_owned()),
        _ => None,
    }
}

#[test]
fn shift_c_asks_for_an_address_and_enter_calls_it_trimmed() {
    let mut state = demo_state();
    assert!(commands(&mut state, [ch('C')]).is_empty());
    assert_eq!(prompt_value(&state).as_deref(), Some(""));
    let mut msgs = typed("  bob@example.com ");
    msgs.push(key(KeyCode::Enter));
    assert_eq!(
        commands(&mut state, msgs),
        [Command::Call {
            to: "bob@example.com".into()
        }]
    );
    assert!(state.modal.is_none());
    let call = state.call.as_ref().unwrap();
    assert_eq!(call.peer, "bob@example.com");
    assert_eq!(call.phase, CallPhase::Calling);
}

#[test]
fn a_bad_address_is_the_cores_to_refuse_and_the_notice_says_why() {
    let mut state = demo_state();
    let mut msgs = vec![ch('C')];
    msgs.extend(typed("not an address"));
    msgs.push(key(KeyCode::Enter));
    assert_eq!(
        commands(&mut state, msgs),
        [Command::Call {
            to: "not an address".into()
        }]
    );
    update(
        &mut state,
        client(Event::CommandFailed {
            command: "call",
            reason: "not a SIP address".into(),
        }),
    );
    assert!(state.call.is_none());
    let notice = state.notice.as_ref().unwrap();
    assert!(notice.error);
    assert_eq!(notice.text, "call failed: not a SIP address");
}

#[test]
fn esc_cancels_and_an_empty_entry_does_nothing() {
    let mut state = demo_state();
    let fx = feed(&mut state, [ch('C'), ch(' '), key(KeyCode::Enter)]);
    assert!(fx.iter().all(|fx| fx.commands.is_empty()));
    assert!(!fx[2].redraw);
    assert_eq!(prompt_value(&state).as_deref(), Some(" "), "still open");
    assert!(state.call.is_none());
    let mut msgs = typed("amy");
    msgs.push(key(KeyCode::Esc));
    assert!(commands(&mut state, msgs).is_empty());
    assert!(state.modal.is_none());
    assert!(state.call.is_none());
}

#[test]
fn a_paste_goes_into_the_prompt_on_one_line() {
    let mut state = demo_state();
    feed(
        &mut state,
        [ch('C'), Msg::Paste("sip:rita@partner.example\n".into())],
    );
    assert_eq!(
        prompt_value(&state).as_deref(),
        Some("sip:rita@partner.example ")
    );
}

#[test]
fn not_offered_while_a_call_is_on() {
    let mut state = in_call_with_amy();
    assert!(commands(&mut state, [ch('C')]).is_empty());
    assert!(state.modal.is_none());
    assert_eq!(
        state.notice.as_ref().map(|n| n.text.as_str()),
        Some("Already in a call with Amy Tran")
    );
}

#[test]
fn the_prompt_says_what_to_type_and_the_key_is_in_the_help() {
    let mut state = buddy_list();
    feed(&mut state, [ch('C')]);
    feed(&mut state, typed("sip:someone@example.com"));
    let screen = draw(&state, 80, 24).backend().to_string();
    assert!(screen.contains(" Call "), "{screen}");
    assert!(screen.contains("Call: sip:someone@example.com"), "{screen}");
    assert!(screen.contains("Enter call · Esc cancel"), "{screen}");
    let help = crate::tui::view::help::sections(&state.keys, false);
    let contacts = help.iter().find(|s| s.title == "Contacts").unwrap();
    assert!(
        contacts
            .rows
            .contains(&("C".to_owned(), "call an address".to_owned()))
    );
}

#[test]
fn a_number_shows_what_it_dials_as_before_anything_is_dialled() {
    let mut state = buddy_list();
    let fx = feed(&mut state, [ch('C')].into_iter().chain(typed("555 0123")));
    assert!(fx.iter().all(|fx| fx.commands.is_empty()));
    let screen = draw(&state, 80, 24).backend().to_string();
    assert!(
        screen.contains("→ +14255550123 (rule: 7-digit local)"),
        "{screen}"
    );
    assert_screen("call_prompt_number", &state, 80, 24);
    assert_eq!(
        commands(&mut state, [key(KeyCode::Enter)]),
        [Command::Call {
            to: "555 0123".into()
        }],
        "sent as typed: the core normalizes it by the same profile"
    );
}

#[test]
fn a_number_that_cannot_be_dialled_says_why_and_enter_keeps_it() {
    let mut state = buddy_list();
    feed(&mut state, [ch('C')].into_iter().chain(typed("555-CALL")));
    let screen = draw(&state, 80, 24).backend().to_string();
    assert!(
        screen.contains("✗ 'C' is not a digit: a number has"),
        "{screen}"
    );
    assert_screen("call_prompt_refused", &state, 80, 24);
    assert!(commands(&mut state, [key(KeyCode::Enter)]).is_empty());
    assert_eq!(prompt_value(&state).as_deref(), Some("555-CALL"));
    assert!(state.call.is_none());

    // Fixed by hand, it calls.
    let mut msgs = vec![key(KeyCode::Backspace); 4];
    msgs.extend(typed("0123"));
    msgs.push(key(KeyCode::Enter));
    assert_eq!(
        commands(&mut state, msgs),
        [Command::Call {
            to: "555-0123".into()
        }]
    );

    // A number no rule knows.
    let mut state = buddy_list();
    feed(&mut state, [ch('C')].into_iter().chain(typed("12345")));
    let screen = draw(&state, 80, 24).backend().to_string();
    assert!(
        screen.contains("✗ no rule of location profile US matches 12345"),
        "{screen}"
    );
    assert!(commands(&mut state, [key(KeyCode::Enter)]).is_empty());
}

#[test]
fn addresses_and_names_have_no_preview() {
    for text in ["amy", "sip:+14255550123@confab.local", "4255@example.com"] {
        let mut state = buddy_list();
        feed(&mut state, [ch('C')].into_iter().chain(typed(text)));
        assert!(state.number_preview(text).is_none(), "{text}");
        let screen = draw(&state, 80, 24).backend().to_string();
        assert!(!screen.contains('→') && !screen.contains('✗'), "{screen}");
    }
}

#[test]
fn the_preview_follows_the_provisioned_profile() {
    let mut state = buddy_list();
    let berlin = crate::client::LocationProfile::from_rules(
        "DE-Berlin",
        [(r"^([1-9]\d{4,8})$", "+4930$1", "Berlin local")],
    )
    .unwrap();
    update(
        &mut state,
        client(Event::Provisioned {
            location_profile: berlin,
            from_server: true,
            work_number: None,
        }),
    );
    feed(&mut state, [ch('C')].into_iter().chain(typed("555 0123")));
    let screen = draw(&state, 80, 24).backend().to_string();
    assert!(
        screen.contains("→ +49305550123 (rule: Berlin local)"),
        "{screen}"
    );
}
