//! Keys of the dialogs: help, status picker, note editor, call prompt,
//! contact form, remove confirmation, history search, and the
//! conference's "Add audio" choice, invite prompt and eject and end
//! confirmations. A dialog takes every key while open; Esc always closes
//! it without effect.

use ratatui::crossterm::event::{Event as TerminalEvent, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use crate::client::{AudioVia, Availability, Command};

use super::super::keys::{Action, Context};
use super::super::state::{AddAudio, AppState, AudioChoice, BuddyForm, FormField, Modal, Search};
use super::{Effects, note_option, open_conversation, quit, set_presence};

pub(super) fn handle_key(state: &mut AppState, key: KeyEvent, fx: &mut Effects) {
    let Some(modal) = state.modal.take() else {
        return;
    };
    state.modal = match modal {
        Modal::Help { scroll } => help(state, scroll, &key, fx),
        Modal::PresencePicker { selected } => picker(state, selected, &key, fx),
        Modal::NoteEditor { input } => note(state, input, key, fx),
        Modal::CallPrompt { input } => call_prompt(state, input, key, fx),
        Modal::BuddyForm(form) => buddy_form(state, form, key, fx),
        Modal::ConfirmRemove { uri } => confirm(state, Modal::ConfirmRemove { uri }, &key, fx),
        Modal::ConfirmEject { uri } => confirm(state, Modal::ConfirmEject { uri }, &key, fx),
        Modal::ConfirmEnd => confirm(state, Modal::ConfirmEnd, &key, fx),
        Modal::InvitePrompt { input } => invite_prompt(state, input, key, fx),
        Modal::AddAudio(dialog) if dialog.typing => other_number(state, dialog, key, fx),
        Modal::AddAudio(dialog) => add_audio(state, dialog, &key, fx),
        Modal::Search(search) => search_keys(state, search, key, fx),
    };
}

fn help(state: &mut AppState, scroll: u16, key: &KeyEvent, fx: &mut Effects) -> Option<Modal> {
    // The overlay scrolls by columns, at most one per section; the view
    // clamps to what the screen needs.
    let most = u16::try_from(Context::ALL.len()).unwrap_or(u16::MAX);
    let scroll = match state.keys.action(Context::Help, key) {
        Some(Action::Down) => (scroll + 1).min(most),
        Some(Action::Up) => scroll.saturating_sub(1),
        Some(Action::Cancel) => return None,
        Some(Action::Quit) => return quit_from_modal(state, fx),
        _ => {
            fx.redraw = false;
            scroll
        }
    };
    Some(Modal::Help { scroll })
}

fn picker(
    state: &mut AppState,
    selected: usize,
    key: &KeyEvent,
    fx: &mut Effects,
) -> Option<Modal> {
    let last = Availability::CHOSEN.len() - 1;
    let selected = match state.keys.action(Context::Picker, key) {
        Some(Action::Down) => (selected + 1).min(last),
        Some(Action::Up) => selected.saturating_sub(1),
        Some(Action::Accept) => {
            let chosen = Availability::CHOSEN[selected.min(last)];
            // Chosen by hand: no longer the automatic Away.
            state.auto_away = None;
            set_presence(state, chosen, fx);
            return None;
        }
        Some(Action::Cancel) => return None,
        Some(Action::Quit) => return quit_from_modal(state, fx),
        _ => {
            fx.redraw = false;
            selected
        }
    };
    Some(Modal::PresencePicker { selected })
}

fn note(state: &mut AppState, mut input: Input, key: KeyEvent, fx: &mut Effects) -> Option<Modal> {
    match state.keys.action(Context::Form, &key) {
        Some(Action::Accept) => {
            state.own.note = input.value().trim().to_owned();
            fx.commands.push(Command::SetPresence {
                availability: state.own.availability,
                note: note_option(&state.own.note),
            });
            return None;
        }
        Some(Action::Cancel) => return None,
        Some(Action::Quit) => return quit_from_modal(state, fx),
        _ => edit(&mut input, key, fx),
    }
    Some(Modal::NoteEditor { input })
}

/// The address is sent as typed, trimmed: the core knows what a user
/// name of our domain means, and answers a bad one with
/// [`Event::CommandFailed`](crate::client::Event::CommandFailed). A
/// number the preview shows as refused is not sent: the prompt stays, its
/// reason under the field.
fn call_prompt(
    state: &mut AppState,
    input: Input,
    key: KeyEvent,
    fx: &mut Effects,
) -> Option<Modal> {
    address_prompt(state, input, key, fx, super::call::place, |input| {
        Modal::CallPrompt { input }
    })
}

/// A prompt for an address or a number: Enter hands a dialable entry to
/// `accept`, and the prompt (`again`) stays otherwise.
fn address_prompt(
    state: &mut AppState,
    mut input: Input,
    key: KeyEvent,
    fx: &mut Effects,
    accept: fn(&mut AppState, &str, &mut Effects),
    again: fn(Input) -> Modal,
) -> Option<Modal> {
    match state.keys.action(Context::Form, &key) {
        Some(Action::Accept) => {
            let to = input.value().trim().to_owned();
            if !to.is_empty() && dialable(state, &to) {
                accept(state, &to, fx);
                return None;
            }
            fx.redraw = false;
        }
        Some(Action::Cancel) => return None,
        Some(Action::Quit) => return quit_from_modal(state, fx),
        _ => edit(&mut input, key, fx),
    }
    Some(again(input))
}

fn buddy_form(
    state: &mut AppState,
    mut form: BuddyForm,
    key: KeyEvent,
    fx: &mut Effects,
) -> Option<Modal> {
    let count = FormField::ALL.len();
    // The URI of a contact being moved is fixed: its field is skipped.
    let first = usize::from(form.editing.is_some());
    match state.keys.action(Context::Form, &key) {
        Some(Action::NextField) => {
            form.field = (form.field + 1) % count;
            if form.field < first {
                form.field = first;
            }
        }
        Some(Action::PreviousField) => {
            form.field = if form.field <= first {
                count - 1
            } else {
                form.field - 1
            };
        }
        Some(Action::Accept) => match add_buddy_command(&form) {
            Ok(command) => {
                fx.commands.push(command);
                return None;
            }
            Err(error) => form.error = Some(error.to_owned()),
        },
        Some(Action::Cancel) => return None,
        Some(Action::Quit) => return quit_from_modal(state, fx),
        _ => {
            let field = form.current();
            if form.editing.is_some() && field == FormField::Uri {
                fx.redraw = false;
            } else {
                edit(form.input_mut(field), key, fx);
            }
        }
    }
    Some(Modal::BuddyForm(form))
}

fn add_buddy_command(form: &BuddyForm) -> Result<Command, &'static str> {
    let uri = match &form.editing {
        Some(uri) => uri.clone(),
        None => normalise_uri(form.uri.value())?,
    };
    let optional = |input: &Input| {
        let text = input.value().trim();
        (!text.is_empty()).then(|| text.to_owned())
    };
    Ok(Command::AddBuddy {
        uri,
        display: optional(&form.display),
        group: optional(&form.group),
    })
}

/// What a person types as an address, as a URI: `amy@example.com` gains
/// `sip:`.
pub fn normalise_uri(text: &str) -> Result<String, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Enter an address, like amy@example.com");
    }
    if text.contains(char::is_whitespace) {
        return Err("An address has no spaces");
    }
    let has_scheme = ["sip:", "sips:", "tel:"]
        .iter()
        .any(|scheme| text.to_ascii_lowercase().starts_with(scheme));
    let uri = if has_scheme {
        text.to_owned()
    } else {
        format!("sip:{text}")
    };
    if !uri.starts_with("tel:") && !uri.contains('@') {
        return Err("An address looks like amy@example.com");
    }
    Ok(uri)
}

/// A yes-or-no question: removing a contact, removing someone from the
/// conference, ending it.
fn confirm(state: &mut AppState, asked: Modal, key: &KeyEvent, fx: &mut Effects) -> Option<Modal> {
    match state.keys.action(Context::Confirm, key) {
        Some(Action::Yes) => {
            match asked {
                Modal::ConfirmRemove { uri } => fx.commands.push(Command::RemoveBuddy { uri }),
                Modal::ConfirmEject { uri } => fx.commands.push(Command::ConferenceEject { uri }),
                Modal::ConfirmEnd => super::conference::end(state, fx),
                _ => {}
            }
            None
        }
        Some(Action::No) => None,
        Some(Action::Quit) => quit_from_modal(state, fx),
        _ => {
            fx.redraw = false;
            Some(asked)
        }
    }
}

/// The address or number is sent as typed, trimmed, as the call
/// prompt's is: the core normalizes a number by the location profile
/// (PROTOCOLS.md §6) and answers a bad one with a failed command. As
/// in the call prompt, a number the preview shows as refused stays.
fn invite_prompt(
    state: &mut AppState,
    input: Input,
    key: KeyEvent,
    fx: &mut Effects,
) -> Option<Modal> {
    address_prompt(state, input, key, fx, super::conference::invite, |input| {
        Modal::InvitePrompt { input }
    })
}

/// The "Add audio" list: a way is chosen by Enter on it or by its
/// letter. "Another number…" opens its field rather than starting
/// anything; the work number is there only when provisioned.
fn add_audio(
    state: &mut AppState,
    mut dialog: AddAudio,
    key: &KeyEvent,
    fx: &mut Effects,
) -> Option<Modal> {
    let choices = AudioChoice::offered(state.work_number.as_deref());
    let at = choices
        .iter()
        .position(|choice| *choice == dialog.selected)
        .unwrap_or(0);
    let pick = |n: usize| choices.get(n).copied().unwrap_or(AudioChoice::Terminal);
    let chosen = match state.keys.action(Context::AddAudio, key) {
        Some(Action::Down) => {
            dialog.selected = pick((at + 1).min(choices.len() - 1));
            None
        }
        Some(Action::Up) => {
            dialog.selected = pick(at.saturating_sub(1));
            None
        }
        Some(Action::Accept) => Some(pick(at)),
        Some(Action::ViaTerminal) => Some(AudioChoice::Terminal),
        Some(Action::ViaWorkNumber) if choices.contains(&AudioChoice::WorkNumber) => {
            Some(AudioChoice::WorkNumber)
        }
        Some(Action::ViaOtherNumber) => Some(AudioChoice::OtherNumber),
        Some(Action::Cancel) => return None,
        Some(Action::Quit) => return quit_from_modal(state, fx),
        _ => {
            fx.redraw = false;
            None
        }
    };
    let via = match chosen {
        None => return Some(Modal::AddAudio(dialog)),
        Some(AudioChoice::Terminal) => AudioVia::Client,
        Some(AudioChoice::WorkNumber) => match state.work_number.clone() {
            Some(number) => AudioVia::Phone { number },
            None => return Some(Modal::AddAudio(dialog)),
        },
        Some(AudioChoice::OtherNumber) => {
            dialog.selected = AudioChoice::OtherNumber;
            dialog.typing = true;
            return Some(Modal::AddAudio(dialog));
        }
    };
    super::conference::start(state, &dialog.with, via, fx);
    None
}

/// The "Add audio" dialog's number field. The number is sent as typed,
/// trimmed, as the prompts' are: the core normalizes it by the same
/// profile. One the preview refuses stays, its reason under the field;
/// the list takes the keys again on the previous-field key.
fn other_number(
    state: &mut AppState,
    mut dialog: AddAudio,
    key: KeyEvent,
    fx: &mut Effects,
) -> Option<Modal> {
    match state.keys.action(Context::Form, &key) {
        Some(Action::Accept) => {
            let number = dialog.number.value().trim().to_owned();
            if let Some(Ok(_)) = state.phone_number_preview(&number) {
                let via = AudioVia::Phone { number };
                super::conference::start(state, &dialog.with, via, fx);
                return None;
            }
            fx.redraw = false;
        }
        Some(Action::PreviousField) => dialog.typing = false,
        Some(Action::NextField) => fx.redraw = false,
        Some(Action::Cancel) => return None,
        Some(Action::Quit) => return quit_from_modal(state, fx),
        _ => edit(&mut dialog.number, key, fx),
    }
    Some(Modal::AddAudio(dialog))
}

fn search_keys(
    state: &mut AppState,
    mut search: Search,
    key: KeyEvent,
    fx: &mut Effects,
) -> Option<Modal> {
    match state.keys.action(Context::Search, &key) {
        Some(Action::Down) => {
            search.selected = (search.selected + 1).min(search.results.len().saturating_sub(1));
        }
        Some(Action::Up) => search.selected = search.selected.saturating_sub(1),
        Some(Action::Accept) => match search.results.get(search.selected) {
            Some(found) => {
                let peer = found.peer.clone();
                open_conversation(state, &peer, fx);
                return None;
            }
            None => fx.redraw = false,
        },
        Some(Action::Cancel) => return None,
        Some(Action::Quit) => return quit_from_modal(state, fx),
        _ => {
            let before = search.query.value().to_owned();
            edit(&mut search.query, key, fx);
            let query = search.query.value().trim();
            if search.query.value() != before {
                if query.is_empty() {
                    search.results.clear();
                } else {
                    fx.search = Some(query.to_owned());
                }
            }
        }
    }
    Some(Modal::Search(search))
}

/// Not a number, or a number the location profile makes E.164.
fn dialable(state: &AppState, text: &str) -> bool {
    !matches!(state.number_preview(text), Some(Err(_)))
}

/// Line editing in a dialog's field: tui-input's keys, on one line.
fn edit(input: &mut Input, key: KeyEvent, fx: &mut Effects) {
    match to_input_request(&TerminalEvent::Key(key)) {
        Some(request) => {
            input.handle(request);
        }
        None => fx.redraw = false,
    }
}

fn quit_from_modal(state: &mut AppState, fx: &mut Effects) -> Option<Modal> {
    quit(state, fx);
    None
}
