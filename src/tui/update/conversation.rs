//! Keys of the conversation input: editing the draft, sending it, typing
//! indications, scrolling the history; and pasted text. The conference's
//! IM is a conversation too, whose messages and typing indications go to
//! the conference.
//!
//! A draft may hold newlines (Alt-Enter, Shift-Enter where the terminal
//! reports it, Ctrl-J, or a paste); the message is sent with them.

use ratatui::crossterm::event::{Event as TerminalEvent, KeyEvent};
use tui_input::backend::crossterm::to_input_request;
use tui_input::{Input, InputRequest};

use crate::client::Command;

use super::super::keys::{Action, Context};
use super::super::state::{AppState, Delivery, Focus, Message, Modal};
use super::{Effects, millis, quit};

pub(super) fn handle_key(state: &mut AppState, key: KeyEvent, fx: &mut Effects) {
    let Some(peer) = state.open.clone() else {
        state.focus = Focus::Buddies;
        return;
    };
    match state.keys.action(Context::Conversation, &key) {
        Some(Action::Send) => send(state, &peer, fx),
        Some(Action::Newline) => edit(state, &peer, InputRequest::InsertChar('\n'), fx),
        Some(Action::PageUp) => scroll(state, &peer, true),
        Some(Action::PageDown) => scroll(state, &peer, false),
        Some(Action::Back | Action::SwitchFocus) => state.focus = Focus::Buddies,
        Some(Action::ShowHelp) => state.modal = Some(Modal::Help { scroll: 0 }),
        // Neither a call nor a second conference from the conference's IM.
        Some(Action::Call | Action::Escalate) if state.is_conference_chat(&peer) => {
            fx.redraw = false;
        }
        Some(Action::Call) => super::call::place(state, &peer, fx),
        Some(Action::Escalate) => super::conference::escalate(state, &peer),
        Some(Action::Quit) => quit(state, fx),
        _ => match to_input_request(&TerminalEvent::Key(key)) {
            Some(request) => edit(state, &peer, request, fx),
            None => fx.redraw = false,
        },
    }
}

/// Pasted text goes to whatever takes text: a dialog's field (on one
/// line) or the open conversation's draft (newlines kept).
pub(super) fn paste(state: &mut AppState, text: &str, fx: &mut Effects) {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    if let Some(modal) = &mut state.modal {
        let one_line = text.replace('\n', " ");
        match modal {
            Modal::NoteEditor { input }
            | Modal::CallPrompt { input }
            | Modal::InvitePrompt { input } => {
                insert_str(input, &one_line);
            }
            Modal::BuddyForm(form) => insert_str(form.input_mut(form.current()), &one_line),
            Modal::AddAudio(dialog) if dialog.typing => insert_str(&mut dialog.number, &one_line),
            Modal::Search(search) => {
                insert_str(&mut search.query, &one_line);
                fx.search = Some(search.query.value().trim().to_owned());
            }
            _ => fx.redraw = false,
        }
        return;
    }
    let Some(peer) = state.open.clone().filter(|_| state.focus == Focus::Input) else {
        fx.redraw = false;
        return;
    };
    if let Some(conversation) = state.conversations.get_mut(&peer) {
        insert_str(&mut conversation.draft, &text);
        typing(state, &peer, fx);
    }
}

/// Inserts `text` at the cursor in one step (a long paste char by char
/// would copy the value once per char).
pub(super) fn insert_str(input: &mut Input, text: &str) {
    let cursor = input.cursor();
    let value = input.value();
    let at = value
        .char_indices()
        .nth(cursor)
        .map_or(value.len(), |(byte, _)| byte);
    let mut joined = String::with_capacity(value.len() + text.len());
    joined.push_str(&value[..at]);
    joined.push_str(text);
    joined.push_str(&value[at..]);
    *input = Input::new(joined).with_cursor(cursor + text.chars().count());
}

fn edit(state: &mut AppState, peer: &str, request: InputRequest, fx: &mut Effects) {
    let Some(conversation) = state.conversations.get_mut(peer) else {
        return;
    };
    let changed = conversation.draft.handle(request).is_some_and(|c| c.value);
    if changed {
        typing(state, peer, fx);
    }
}

/// RFC 3994 §4.2: tells the peer we are composing, no more often than
/// `typing_refresh`; an emptied draft tells nothing.
fn typing(state: &mut AppState, peer: &str, fx: &mut Effects) {
    let now = state.now_ms;
    let refresh = millis(state.config.typing_refresh);
    let to_conference = state.is_conference_chat(peer);
    let Some(conversation) = state.conversations.get_mut(peer) else {
        return;
    };
    if conversation.draft.value().trim().is_empty() {
        return;
    }
    let due = conversation
        .typing_sent_ms
        .is_none_or(|sent| now.saturating_sub(sent) >= refresh);
    if due {
        conversation.typing_sent_ms = Some(now);
        fx.commands.push(if to_conference {
            Command::ConferenceTyping
        } else {
            Command::Typing {
                to: peer.to_owned(),
            }
        });
    }
}

fn send(state: &mut AppState, peer: &str, fx: &mut Effects) {
    let id = state.next_im_id;
    let now = state.now_ms;
    let to_conference = state.is_conference_chat(peer);
    let Some(conversation) = state.conversations.get_mut(peer) else {
        return;
    };
    let text = conversation.draft.value().trim_end().to_owned();
    if text.trim().is_empty() {
        fx.redraw = false;
        return;
    }
    conversation.draft.reset();
    conversation.scroll = 0;
    conversation.typing_sent_ms = None;
    if to_conference {
        return super::conference::send_im(state, peer, text, fx);
    }
    state.next_im_id += 1;
    conversation.messages.push(Message {
        outgoing: true,
        from: None,
        id: Some(id),
        text: text.clone(),
        at_ms: now,
        delivery: Delivery::Pending,
    });
    fx.commands.push(Command::SendIm {
        id,
        to: peer.to_owned(),
        text,
    });
}

/// Pages through history by messages: half a screen's worth, at least one.
fn scroll(state: &mut AppState, peer: &str, older: bool) {
    let page = usize::from(state.screen.1.saturating_sub(8) / 2).max(1);
    let Some(conversation) = state.conversations.get_mut(peer) else {
        return;
    };
    let most = conversation.messages.len().saturating_sub(1);
    conversation.scroll = if older {
        (conversation.scroll + page).min(most)
    } else {
        conversation.scroll.saturating_sub(page)
    };
}
