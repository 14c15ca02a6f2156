//! The SIP trace pane: opening and closing it, following new messages
//! until the user scrolls, the method and text filters, the ladder of
//! every dialog, the bound on what it holds, and snapshots of its list,
//! ladder and message at 120x40.

use ratatui::crossterm::event::KeyCode;

use crate::trace::testing::{self, CLIENT, SERVER};
use crate::trace::{Direction, TraceEntry};
use crate::tui::state::Focus;
use crate::tui::trace::{MAX_MESSAGES, Scope, TraceFocus};

use super::view::{assert_screen, draw};
use super::*;

/// Vivian's client at 120x40 with the escalation traced, the pane open.
fn traced() -> AppState {
    let mut state = demo_state();
    state.trace.set_addresses(Some(CLIENT), Some(SERVER));
    feed(
        &mut state,
        [
            Msg::Resize {
                width: 120,
                height: 40,
            },
            Msg::Trace(testing::escalation()),
            key(KeyCode::F(9)),
        ],
    );
    state
}

fn selected_method(state: &AppState) -> String {
    state.trace.selected_dialog().unwrap().method.clone()
}

fn options(call_id: &str, millis: u64) -> TraceEntry {
    TraceEntry {
        at: testing::at(millis),
        direction: Direction::Received,
        transport: crate::proto::Transport::Udp,
        local: SERVER,
        peer: CLIENT,
        bytes: testing::sip(
            "OPTIONS sip:confab.local SIP/2.0",
            "127.0.0.1:5070;branch=z9hG4bKo",
            "<sip:vivian@confab.local>;tag=o",
            "<sip:confab.local>",
            call_id,
            "1 OPTIONS",
            "",
            None,
        ),
    }
}

#[test]
fn f9_or_t_opens_the_pane_and_q_or_esc_or_f9_close_it() {
    let mut state = demo_state();
    update(&mut state, key(KeyCode::F(9)));
    assert!(state.trace.open);
    update(&mut state, ch('q'));
    assert!(!state.trace.open);
    update(&mut state, ch('T'));
    assert!(state.trace.open, "T in the buddy list");
    update(&mut state, key(KeyCode::Esc));
    assert!(!state.trace.open);
    // F9 works from a conversation, where T is text.
    update(&mut state, key(KeyCode::Enter));
    assert_eq!(state.focus, Focus::Input);
    update(&mut state, ch('T'));
    assert!(!state.trace.open);
    update(&mut state, key(KeyCode::F(9)));
    assert!(state.trace.open);
    update(&mut state, key(KeyCode::F(9)));
    assert!(!state.trace.open);
}

#[test]
fn entries_are_taken_while_closed_and_redraw_only_when_open() {
    let mut state = demo_state();
    let fx = update(&mut state, Msg::Trace(testing::escalation()));
    assert!(!fx.redraw);
    assert_eq!(state.trace.len(), 10);
    assert!(state.trace.visible().is_empty(), "read only when opened");
    update(&mut state, key(KeyCode::F(9)));
    assert_eq!(state.trace.visible().len(), 4);
    let fx = update(&mut state, Msg::Trace(vec![options("o-1", 100)]));
    assert!(fx.redraw);
}

#[test]
fn the_pane_follows_new_dialogs_until_scrolled_up_and_g_follows_again() {
    let mut state = traced();
    assert!(state.trace.follow);
    assert_eq!(selected_method(&state), "SUBSCRIBE", "the newest");
    update(&mut state, Msg::Trace(vec![options("o-1", 100)]));
    assert_eq!(selected_method(&state), "OPTIONS");
    update(&mut state, ch('k'));
    assert!(!state.trace.follow);
    assert_eq!(selected_method(&state), "SUBSCRIBE");
    update(&mut state, Msg::Trace(vec![options("o-2", 200)]));
    assert_eq!(
        selected_method(&state),
        "SUBSCRIBE",
        "stays where the user is"
    );
    update(&mut state, ch('G'));
    assert!(state.trace.follow);
    assert_eq!(state.trace.selected.as_deref(), Some("o-2"));
    // Moving down to the end follows too.
    feed(&mut state, [ch('k'), ch('j')]);
    assert!(state.trace.follow);
}

#[test]
fn m_cycles_the_method_filter_and_slash_filters_by_text() {
    let mut state = traced();
    assert_eq!(state.trace.visible().len(), 4);
    update(&mut state, ch('m'));
    assert_eq!(state.trace.method.as_deref(), Some("INVITE"));
    let methods: Vec<&str> = state
        .trace
        .visible()
        .iter()
        .map(|d| d.method.as_str())
        .collect();
    assert_eq!(methods, ["INVITE", "INVITE"]);
    update(&mut state, ch('m'));
    assert_eq!(state.trace.method.as_deref(), Some("NOTIFY"));
    assert_eq!(state.trace.visible().len(), 1);
    feed(&mut state, [ch('m'), ch('m')]);
    assert_eq!(state.trace.method.as_deref(), Some("SUBSCRIBE"));
    update(&mut state, ch('m'));
    assert_eq!(state.trace.method, None, "then all again");

    update(&mut state, ch('/'));
    feed(&mut state, typed("AMY RIVERA"));
    assert!(state.trace.editing.is_some());
    assert_eq!(state.trace.visible().len(), 4, "not applied while typed");
    update(&mut state, key(KeyCode::Enter));
    assert_eq!(state.trace.text, "AMY RIVERA");
    let methods: Vec<&str> = state
        .trace
        .visible()
        .iter()
        .map(|d| d.method.as_str())
        .collect();
    assert_eq!(
        methods,
        ["SUBSCRIBE"],
        "only the NOTIFY names her display name"
    );
    feed(&mut state, [ch('/'), key(KeyCode::Esc)]);
    assert_eq!(state.trace.text, "");
    assert_eq!(state.trace.visible().len(), 4);
    assert!(
        state.trace.open,
        "Esc in the filter clears it, the pane stays"
    );
}

#[test]
fn enter_goes_to_the_ladder_then_the_message_and_esc_comes_back() {
    let mut state = traced();
    feed(&mut state, [key(KeyCode::Home), key(KeyCode::Enter)]);
    assert_eq!(state.trace.focus, TraceFocus::Ladder);
    assert_eq!(selected_method(&state), "SERVICE");
    let ladder: Vec<String> = state
        .trace
        .ladder()
        .iter()
        .map(|t| t.summary.label())
        .collect();
    assert_eq!(ladder, ["SERVICE", "200 OK"]);
    assert_eq!(
        state.trace.selected_message().unwrap().summary.label(),
        "SERVICE"
    );
    update(&mut state, ch('j'));
    assert_eq!(
        state.trace.selected_message().unwrap().summary.label(),
        "200 OK"
    );
    update(&mut state, key(KeyCode::Enter));
    assert_eq!(state.trace.focus, TraceFocus::Message);
    feed(&mut state, [ch('j'), ch('j')]);
    assert_eq!(state.trace.scroll, 2);
    update(&mut state, key(KeyCode::Esc));
    assert_eq!(state.trace.focus, TraceFocus::Ladder);
    update(&mut state, key(KeyCode::Esc));
    assert_eq!(state.trace.focus, TraceFocus::List);
    assert!(state.trace.open);
}

#[test]
fn a_shows_every_dialog_in_one_ladder_and_moving_in_it_selects_the_dialog() {
    let mut state = traced();
    feed(&mut state, [ch('a'), key(KeyCode::Tab)]);
    assert_eq!(state.trace.scope, Scope::All);
    assert_eq!(state.trace.ladder().len(), 10);
    feed(&mut state, [key(KeyCode::Home), ch('j'), ch('j')]);
    assert_eq!(
        state.trace.selected_message().unwrap().summary.label(),
        "INVITE"
    );
    assert_eq!(state.trace.selected.as_deref(), Some("join-1@127.0.0.1"));
    assert!(!state.trace.follow);
}

#[test]
fn the_pane_holds_at_most_its_bound_dropping_the_oldest() {
    let mut state = traced();
    let many: Vec<TraceEntry> = (0..MAX_MESSAGES as u64 + 100)
        .map(|n| options(&format!("o-{n}"), n))
        .collect();
    update(&mut state, Msg::Trace(many));
    assert!(state.trace.len() <= MAX_MESSAGES);
    assert!(state.trace.dropped >= 110);
    assert!(state.trace.get(0).is_none(), "the escalation went first");
    assert_eq!(
        state.trace.selected.as_deref(),
        Some(format!("o-{}", MAX_MESSAGES + 99).as_str())
    );
    assert_eq!(state.trace.visible().len(), state.trace.len());
}

#[test]
fn a_closed_pane_keeps_at_most_its_bound_unread_and_reads_them_on_opening() {
    let mut state = demo_state();
    let many: Vec<TraceEntry> = (0..MAX_MESSAGES as u64 + 5)
        .map(|n| options(&format!("o-{n}"), n))
        .collect();
    update(&mut state, Msg::Trace(many));
    assert_eq!(state.trace.len(), MAX_MESSAGES);
    assert_eq!(state.trace.dropped, 5);
    update(&mut state, key(KeyCode::F(9)));
    assert_eq!(state.trace.visible().len(), MAX_MESSAGES);
    assert_eq!(
        state.trace.selected.as_deref(),
        Some(format!("o-{}", MAX_MESSAGES + 4).as_str())
    );
}

#[test]
fn ctrl_c_in_the_pane_quits_and_question_mark_shows_help() {
    let mut state = traced();
    update(&mut state, ch('?'));
    assert!(matches!(
        state.modal,
        Some(crate::tui::state::Modal::Help { .. })
    ));
    update(&mut state, key(KeyCode::Esc));
    assert!(state.modal.is_none() && state.trace.open);
    let commands = commands(
        &mut state,
        [with(
            ratatui::crossterm::event::KeyModifiers::CONTROL,
            KeyCode::Char('c'),
        )],
    );
    assert_eq!(commands, vec![crate::client::Command::Quit]);
}

#[test]
fn snapshot_the_list_following_with_the_subscription_selected() {
    let state = traced();
    assert_screen("trace_list", &state, 120, 40);
}

#[test]
fn snapshot_the_ladder_of_every_dialog_at_the_dial_out() {
    let mut state = traced();
    feed(&mut state, [ch('a'), key(KeyCode::Tab), key(KeyCode::Home)]);
    feed(&mut state, (0..4).map(|_| ch('j')));
    assert_eq!(state.trace.selected.as_deref(), Some("dial-1@127.0.0.1"));
    assert_screen("trace_ladder", &state, 120, 40);
}

#[test]
fn snapshot_the_whole_addconference_answer_decoded() {
    let mut state = traced();
    feed(
        &mut state,
        [
            key(KeyCode::Home),
            key(KeyCode::Enter),
            ch('j'),
            key(KeyCode::Enter),
        ],
    );
    assert_screen("trace_message", &state, 120, 40);
}

#[test]
fn the_viewer_starts_on_the_first_dialog_read_only_and_q_ends_it() {
    let mut state =
        crate::tui::trace::viewer::viewer_state("trace.txt", testing::escalation()).unwrap();
    assert!(state.trace.read_only && state.trace.open && !state.trace.follow);
    assert_eq!(selected_method(&state), "SERVICE");
    let screen = draw(&state, 120, 40).backend().to_string();
    assert!(
        screen.contains("trace.txt: 10 messages, 4 dialogs"),
        "{screen}"
    );
    assert!(screen.contains("q quit"), "the key line: {screen}");
    update(&mut state, ch('q'));
    assert!(!state.trace.open);
}

#[test]
fn the_pane_draws_at_every_size_without_a_panic() {
    let mut state = traced();
    for focus in 0..3 {
        for (width, height) in [(1, 1), (10, 3), (40, 10), (80, 24), (200, 60)] {
            draw(&state, width, height);
        }
        update(&mut state, key(KeyCode::Enter));
        let _ = focus;
    }
}
