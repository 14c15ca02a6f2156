//! `update` in a conversation: sending, delivery reports, unread counts
//! and the bell, typing indications both ways, history, paging, pasting.

use ratatui::crossterm::event::{KeyCode, KeyModifiers};

use crate::client::{Command, Event};
use crate::tui::history::LoggedMessage;
use crate::tui::state::{Delivery, Row};
use crate::tui::update::{Msg, update};

use super::*;

#[test]
fn alt_enter_and_shift_enter_put_newlines_in_the_message() {
    let mut state = chatting_with(AMY);
    let mut msgs = typed("one");
    msgs.push(with(KeyModifiers::ALT, KeyCode::Enter));
    msgs.extend(typed("two"));
    msgs.push(with(KeyModifiers::SHIFT, KeyCode::Enter));
    msgs.extend(typed("three"));
    msgs.push(with(KeyModifiers::CONTROL, KeyCode::Char('j')));
    msgs.push(key(KeyCode::Enter));
    let sent = commands(&mut state, msgs);
    assert!(sent.contains(&Command::SendIm {
        id: 1,
        to: AMY.into(),
        text: "one\ntwo\nthree".into()
    }));
}

#[test]
fn delivery_reports_mark_the_message_with_their_id_and_are_logged() {
    let mut state = chatting_with(AMY);
    let mut msgs = typed("first");
    msgs.push(key(KeyCode::Enter));
    msgs.extend(typed("second"));
    msgs.push(key(KeyCode::Enter));
    feed(&mut state, msgs);

    let fx = update(
        &mut state,
        status(2, AMY, false, Some("480 Temporarily Unavailable")),
    );
    let messages = &state.conversations[AMY].messages;
    assert_eq!(messages[0].delivery, Delivery::Pending);
    assert_eq!(
        messages[1].delivery,
        Delivery::NotDelivered {
            reason: Some("480 Temporarily Unavailable".into())
        }
    );
    assert_eq!(fx.log.len(), 1);
    assert_eq!(fx.log[0].delivered, Some(false));
    assert_eq!(fx.log[0].text, "second");

    update(&mut state, status(1, AMY, true, None));
    assert_eq!(
        state.conversations[AMY].messages[0].delivery,
        Delivery::Delivered
    );

    let fx = update(&mut state, status(99, AMY, true, None));
    assert!(
        fx.log.is_empty() && !fx.redraw,
        "unknown ids change nothing"
    );
}

#[test]
fn an_im_elsewhere_counts_as_unread_and_rings_once() {
    let mut state = chatting_with(HAO);
    let first = update(&mut state, im(AMY, "Lunch?"));
    assert!(first.bell);
    assert_eq!(first.load_history, [AMY]);
    assert_eq!(first.log.len(), 1);
    let second = update(&mut state, im(AMY, "At noon"));
    assert!(!second.bell, "the bell rings once, not per message");
    assert_eq!(state.conversations[AMY].unread, 2);

    let open_conversation = update(&mut state, im(HAO, "back"));
    assert!(!open_conversation.bell);
    assert_eq!(state.conversations[HAO].unread, 0);

    update(&mut state, key(KeyCode::Esc));
    state.selection = Some(Row::Buddy {
        group: "Team".into(),
        uri: AMY.into(),
    });
    let fx = update(&mut state, key(KeyCode::Enter));
    assert_eq!(state.conversations[AMY].unread, 0);
    assert!(fx.load_history.is_empty(), "history is read once");
}

#[test]
fn a_typing_indication_shows_for_five_seconds_or_until_the_message() {
    let mut state = demo_state();
    update(&mut state, Msg::Client(Event::Typing { from: AMY.into() }));
    assert!(state.is_typing(AMY));
    assert!(!update(&mut state, tick(T0 + 4_000)).redraw);
    assert!(state.is_typing(AMY));
    let fx = update(&mut state, tick(T0 + 5_000));
    assert!(fx.redraw && !state.is_typing(AMY));
    assert!(!update(&mut state, tick(T0 + 6_000)).redraw);

    update(&mut state, Msg::Client(Event::Typing { from: AMY.into() }));
    update(&mut state, im(AMY, "done typing"));
    assert!(!state.is_typing(AMY));
}

#[test]
fn our_typing_indications_are_sent_at_most_every_three_seconds() {
    let mut state = chatting_with(AMY);
    let typing = |state: &mut AppState, msgs: Vec<Msg>| {
        commands(state, msgs)
            .iter()
            .filter(|c| matches!(c, Command::Typing { .. }))
            .count()
    };
    assert_eq!(typing(&mut state, typed("hel")), 1);
    assert_eq!(typing(&mut state, vec![tick(T0 + 2_999), ch('l')]), 0);
    assert_eq!(typing(&mut state, vec![tick(T0 + 3_000), ch('o')]), 1);
    assert_eq!(typing(&mut state, vec![key(KeyCode::Left)]), 0, "no change");
    update(&mut state, key(KeyCode::Enter));
    assert_eq!(
        typing(&mut state, typed("x")),
        1,
        "a new message starts afresh"
    );
}

#[test]
fn history_arrives_before_the_messages_of_this_run() {
    let mut state = demo_state();
    update(&mut state, im(AMY, "new"));
    let logged = |text: &str, outgoing, delivered| LoggedMessage {
        peer: AMY.into(),
        outgoing,
        text: text.into(),
        at_ms: T0 - 86_400_000,
        delivered,
        reason: None,
    };
    update(
        &mut state,
        Msg::History {
            peer: AMY.into(),
            messages: vec![
                logged("old", true, Some(true)),
                logged("older?", true, None),
            ],
        },
    );
    let messages = &state.conversations[AMY].messages;
    let texts: Vec<_> = messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["old", "older?", "new"]);
    assert_eq!(messages[0].delivery, Delivery::Delivered);
    assert_eq!(messages[1].delivery, Delivery::Unknown);
}

#[test]
fn page_keys_scroll_by_messages_within_the_history() {
    let mut state = chatting_with(AMY);
    for n in 0..30 {
        update(&mut state, im(AMY, &format!("message {n}")));
    }
    update(&mut state, key(KeyCode::PageUp));
    assert_eq!(
        state.conversations[AMY].scroll, 8,
        "half of 24 rows less chrome"
    );
    for _ in 0..10 {
        update(&mut state, key(KeyCode::PageUp));
    }
    assert_eq!(
        state.conversations[AMY].scroll, 29,
        "the oldest stays on screen"
    );
    update(&mut state, im(AMY, "while reading"));
    assert_eq!(
        state.conversations[AMY].scroll, 30,
        "the page read stays still"
    );
    for _ in 0..10 {
        update(&mut state, key(KeyCode::PageDown));
    }
    assert_eq!(state.conversations[AMY].scroll, 0);
}

#[test]
fn a_paste_goes_into_the_draft_with_its_newlines() {
    let mut state = chatting_with(AMY);
    let fx = update(&mut state, Msg::Paste("line one\r\nline two".into()));
    assert_eq!(state.conversations[AMY].draft.value(), "line one\nline two");
    assert_eq!(fx.commands, [Command::Typing { to: AMY.into() }]);
}
