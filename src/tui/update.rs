//! `update(state, msg) -> Effects`: the only code that changes
//! [`AppState`], and it does no I/O.
//!
//! Instead of a bare list of client commands, [`update`] returns
//! [`Effects`]: the commands plus what else the run loop must do outside,
//! namely ring the bell, append to the history log, read history for a
//! conversation (answered with [`Msg::History`]), search it (answered with
//! [`Msg::SearchResults`]), and whether to redraw.
//!
//! Rules kept here:
//! - An IM from a peer whose conversation is not open counts as unread and
//!   rings the bell once, on the first unread message; in the open one it
//!   does nothing extra.
//! - A peer's typing indication shows for `typing_shown` after the last
//!   one; an IM from them ends it. Ours go out at most every
//!   `typing_refresh` while the draft changes (RFC 3994 §4.2).
//! - After `idle` with no key while Available and not in a call or a
//!   conference we publish Away, marked as automatic; the next key restores the state
//!   it replaced, unless our state changed meanwhile.
//! - The first time a conversation is touched (opened, or an IM or a
//!   typing indication arrives) its history is requested once.
//! - Calls follow their own rules, in [`call`](mod@call), and so do the
//!   call's meters and RTP figures; conferences theirs, in `conference`.

pub mod call;

mod buddies;
mod conference;
mod conversation;
mod modal;

use ratatui::crossterm::event::{KeyEvent, KeyEventKind};

use crate::client::{Availability, Command, Event};
use crate::trace::TraceEntry;

use super::history::LoggedMessage;
use super::keys::{Action, Context};
use super::state::{
    AppState, Conversation, Delivery, Focus, MediaMeters, Message, Notice, Presence, Registration,
};

/// How long a failed command's notice stays in the status bar.
const NOTICE_MS: i64 = 8_000;

/// Everything that can happen to the front end.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyEvent),
    Client(Event),
    /// The time now, unix milliseconds; sent when [`next_tick_ms`] says,
    /// and before any other message once a second has passed.
    Tick {
        now_ms: i64,
    },
    Resize {
        width: u16,
        height: u16,
    },
    /// Text pasted into the terminal (bracketed paste).
    Paste(String),
    /// History read for a conversation, in answer to
    /// [`Effects::load_history`]; oldest first.
    History {
        peer: String,
        messages: Vec<LoggedMessage>,
    },
    /// Found by a history search, in answer to [`Effects::search`].
    SearchResults {
        query: String,
        results: Vec<LoggedMessage>,
    },
    /// What the media task measured: the call's audio peaks since the
    /// last and its RTP figures. Sent while a call has audio.
    Meters(MediaMeters),
    /// SIP messages traced since the last, for the trace pane.
    Trace(Vec<TraceEntry>),
    /// The terminal hung up: sign out and quit, as the quit key does.
    TerminalGone,
}

/// What the run loop must do after an update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// To send to the client core, in order.
    pub commands: Vec<Command>,
    /// Ring the terminal bell.
    pub bell: bool,
    /// To append to the history log.
    pub log: Vec<LoggedMessage>,
    /// Peers whose history to load and hand back as [`Msg::History`].
    /// The run loop loads these before it appends `log`, so a message
    /// logged by this same update is not loaded twice.
    pub load_history: Vec<String>,
    /// A history search to run and hand back as [`Msg::SearchResults`].
    pub search: Option<String>,
    /// Something visible changed.
    pub redraw: bool,
}

/// Applies one message to the state.
pub fn update(state: &mut AppState, msg: Msg) -> Effects {
    let mut fx = Effects {
        redraw: true,
        ..Effects::default()
    };
    match msg {
        Msg::Key(key) => handle_key(state, key, &mut fx),
        Msg::Client(event) => handle_event(state, event, &mut fx),
        Msg::Tick { now_ms } => fx.redraw = handle_tick(state, now_ms, &mut fx),
        Msg::Resize { width, height } => state.screen = (width, height),
        Msg::Paste(text) => {
            user_active(state, &mut fx);
            if !call::paste(state, &text) {
                conversation::paste(state, &text, &mut fx);
            }
        }
        Msg::History { peer, messages } => {
            let conversation = state.conversations.entry(peer).or_default();
            let mut earlier: Vec<Message> = messages.iter().map(Message::from_logged).collect();
            earlier.append(&mut conversation.messages);
            conversation.messages = earlier;
        }
        Msg::SearchResults { query, results } => {
            if let Some(super::state::Modal::Search(search)) = &mut state.modal {
                if search.query.value().trim() == query {
                    search.results = results;
                    search.selected = 0;
                }
            }
        }
        Msg::Meters(meters) => {
            let roster = conference::meters(state, &meters);
            fx.redraw = call::meters(state, meters) || roster;
        }
        Msg::Trace(entries) => {
            state.trace.push(entries);
            fx.redraw = state.trace.open;
        }
        Msg::TerminalGone => quit(state, &mut fx),
    }
    fx
}

fn handle_key(state: &mut AppState, key: KeyEvent, fx: &mut Effects) {
    if key.kind == KeyEventKind::Release {
        fx.redraw = false;
        return;
    }
    user_active(state, fx);
    if state.quitting || conference::banner_key(state, &key, fx) || call::handle_key(state, key, fx)
    {
        return;
    }
    if state.modal.is_some() {
        modal::handle_key(state, key, fx);
    } else if state.trace.open {
        let outcome = super::trace::update::handle_key(&mut state.trace, &state.keys, key);
        fx.redraw = outcome.redraw;
        if outcome.help {
            state.modal = Some(super::state::Modal::Help { scroll: 0 });
        }
        if outcome.quit {
            quit(state, fx);
        }
    } else if opens_trace(state, &key) {
        super::trace::update::open(&mut state.trace);
    } else if state.focus == Focus::Roster && state.conference.is_some() {
        conference::handle_key(state, key, fx);
    } else if state.focus == Focus::Input && state.open.is_some() {
        conversation::handle_key(state, key, fx);
    } else {
        state.focus = Focus::Buddies;
        buddies::handle_key(state, key, fx);
    }
}

/// Whether `key` opens the trace pane: its key anywhere, or in the
/// buddy list.
fn opens_trace(state: &AppState, key: &KeyEvent) -> bool {
    let buddies = state.focus == Focus::Buddies || state.open.is_none();
    state.keys.action_in(Context::Anywhere, key) == Some(Action::ShowTrace)
        || (buddies && state.keys.action_in(Context::Buddies, key) == Some(Action::ShowTrace))
}

/// A key or a paste: the user is here. Ends the automatic Away.
fn user_active(state: &mut AppState, fx: &mut Effects) {
    state.last_input_ms = Some(state.now_ms);
    if let Some(previous) = state.auto_away.take() {
        if state.own.availability == Availability::Away {
            set_presence(state, previous, fx);
        }
    }
}

fn handle_event(state: &mut AppState, event: Event, fx: &mut Effects) {
    match event {
        Event::Registered { uri } => {
            state.own_uri = uri;
            state.registration = Registration::Registered;
        }
        Event::RegistrationFailed { reason } => state.registration = Registration::Failed(reason),
        Event::Unregistered => state.registration = Registration::Unregistered,
        Event::Presence {
            uri,
            availability,
            note,
        } => {
            if uri == state.own_uri {
                if state.auto_away.is_some() && availability != Availability::Away {
                    // Changed elsewhere (another endpoint): not ours to undo.
                    state.auto_away = None;
                }
                state.own = Presence {
                    availability,
                    note: note.clone(),
                };
            }
            state
                .contacts
                .set_presence(uri, Presence { availability, note });
        }
        Event::Buddies { buddies } => buddies::replace(state, buddies),
        Event::Im { from, text } => receive_im(state, from, text, fx),
        Event::ImStatus {
            id,
            to,
            delivered,
            reason,
        } => delivery_report(state, id, &to, delivered, reason, fx),
        Event::Typing { from } => {
            conversation_entry(state, &from, fx);
            let until = state.now_ms + millis(state.config.typing_shown);
            state.typing_until.insert(from, until);
        }
        Event::CallEnded { .. }
            if state.invitation.is_some()
                && state
                    .call
                    .as_ref()
                    .is_some_and(|call| call.is_ringing_here()) =>
        {
            // The invitation's own leg, cancelled: the banner goes too.
            state.invitation = None;
            call::handle_event(state, event, fx);
        }
        Event::IncomingCall { .. }
        | Event::CallRinging { .. }
        | Event::CallConnected { .. }
        | Event::CallEnded { .. }
        | Event::CallHeld { .. }
        | Event::Muted { .. } => call::handle_event(state, event, fx),
        // A sound device changed under us: say so once, as a warning.
        Event::Audio { reason, .. } => notice(state, reason, true),
        Event::CommandFailed { command, reason } => {
            call::command_failed(state, command);
            conference::command_failed(state, command);
            notice(state, format!("{command} failed: {reason}"), true);
        }
        // The status bar says what the server answered, not only the log.
        Event::SubscriptionFailed {
            package,
            target,
            reason,
        } => {
            let what = if package == "presence" {
                format!("{}'s presence", state.display_name(&target))
            } else {
                package
            };
            notice(state, format!("{what}: {reason}"), true);
        }
        Event::ConferenceJoined { .. }
        | Event::Roster { .. }
        | Event::ConferenceInvitation { .. }
        | Event::ConferenceIm { .. }
        | Event::ConferenceTyping { .. }
        | Event::Ejected { .. }
        | Event::ConferenceEnded { .. } => conference::handle_event(state, event, fx),
        Event::Provisioned {
            location_profile,
            work_number,
            ..
        } => {
            state.location_profile = location_profile;
            state.work_number = work_number.filter(|number| !number.trim().is_empty());
        }
        // Asked for by no key here: the prompts preview numbers themselves.
        Event::Normalized { .. } => fx.redraw = false,
    }
}

fn receive_im(state: &mut AppState, from: String, text: String, fx: &mut Effects) {
    let now = state.now_ms;
    let is_open = state.open.as_deref() == Some(from.as_str());
    state.typing_until.remove(&from);
    let conversation = conversation_entry(state, &from, fx);
    let message = Message {
        outgoing: false,
        from: None,
        id: None,
        text,
        at_ms: now,
        delivery: Delivery::Unknown,
    };
    fx.log.push(message.logged(&from));
    conversation.messages.push(message);
    if conversation.scroll > 0 {
        // Keep the page being read still.
        conversation.scroll += 1;
    }
    if !is_open {
        conversation.unread += 1;
        fx.bell = conversation.unread == 1;
    }
}

fn delivery_report(
    state: &mut AppState,
    id: u64,
    to: &str,
    delivered: bool,
    reason: Option<String>,
    fx: &mut Effects,
) {
    // The conference's IM is not logged (see `conference`).
    let logged = !state.is_conference_chat(to);
    let Some(conversation) = state.conversations.get_mut(to) else {
        fx.redraw = false;
        return;
    };
    let Some(message) = conversation
        .messages
        .iter_mut()
        .find(|message| message.outgoing && message.id == Some(id))
    else {
        fx.redraw = false;
        return;
    };
    message.delivery = if delivered {
        Delivery::Delivered
    } else {
        Delivery::NotDelivered { reason }
    };
    if logged {
        fx.log.push(message.logged(to));
    }
}

/// The longest wait for a [`Msg::Tick`]. The run loop also brings the
/// state's time up to date before any other message, so this only bounds
/// how stale it gets on a screen where nothing happens.
pub const MAX_TICK_MS: i64 = 3_600_000;

const DAY_MS: i64 = 86_400_000;

/// When a [`Msg::Tick`] can next change something, unix milliseconds: each
/// second of a call or a conference (its clock), a typing indication or a
/// notice running out, going Away after `idle`, local midnight (the
/// conversation marks days); at the latest [`MAX_TICK_MS`] on. An idle
/// screen needs no tick in between.
pub fn next_tick_ms(state: &AppState) -> i64 {
    let now = state.now_ms;
    let mut next = now.saturating_add(MAX_TICK_MS);
    let offset = i64::from(state.config.utc_offset_minutes) * 60_000;
    let midnight = (local_day(now, state.config.utc_offset_minutes) + 1) * DAY_MS - offset;
    next = next.min(midnight);
    if state.call.is_some() || state.conference.is_some() {
        next = next.min(now.saturating_add(1_000));
    }
    if let Some(until) = state.typing_until.values().min() {
        next = next.min(*until);
    }
    if let Some(notice) = &state.notice {
        next = next.min(notice.until_ms);
    }
    if let Some(away_at) = away_at(state) {
        next = next.min(away_at);
    }
    next.max(now)
}

/// When no key since the last one makes us Away, if it can: Available,
/// and `idle` is not zero (never).
fn away_at(state: &AppState) -> Option<i64> {
    let last_input = state.last_input_ms?;
    (state.own.availability == Availability::Available
        && !state.quitting
        && !state.config.idle.is_zero())
    .then(|| last_input.saturating_add(millis(state.config.idle)))
}

/// The local day `at_ms` falls on, as the conversation view counts days.
fn local_day(at_ms: i64, utc_offset_minutes: i32) -> i64 {
    (at_ms + i64::from(utc_offset_minutes) * 60_000).div_euclid(DAY_MS)
}

/// Returns whether anything visible changed.
fn handle_tick(state: &mut AppState, now_ms: i64, fx: &mut Effects) -> bool {
    let offset = state.config.utc_offset_minutes;
    // A new day moves the open conversation's "today".
    let new_day = local_day(state.now_ms, offset) != local_day(now_ms, offset);
    state.now_ms = now_ms;
    state.last_input_ms.get_or_insert(now_ms);
    let typing_before = state.typing_until.len();
    state.typing_until.retain(|_, until| *until > now_ms);
    let mut changed =
        state.typing_until.len() != typing_before || (new_day && state.open.is_some());
    if state.notice.as_ref().is_some_and(|n| n.until_ms <= now_ms) {
        state.notice = None;
        changed = true;
    }
    changed |= call::tick(state);
    changed |= conference::tick(state);
    let idle = away_at(state).is_some_and(|at| now_ms >= at);
    // Talking without a key is not being away, nor is listening.
    let in_call = state.live_call().is_some() || state.conference.is_some();
    if idle && !in_call {
        set_presence(state, Availability::Away, fx);
        state.auto_away = Some(Availability::Available);
        changed = true;
    }
    changed
}

/// The conversation with `peer`, created (and its history requested) on
/// first use.
fn conversation_entry<'a>(
    state: &'a mut AppState,
    peer: &str,
    fx: &mut Effects,
) -> &'a mut Conversation {
    if !state.conversations.contains_key(peer) {
        fx.load_history.push(peer.to_owned());
    }
    state.conversations.entry(peer.to_owned()).or_default()
}

/// Shows `peer`'s conversation and moves the keys to its input.
fn open_conversation(state: &mut AppState, peer: &str, fx: &mut Effects) {
    let conversation = conversation_entry(state, peer, fx);
    conversation.unread = 0;
    conversation.scroll = 0;
    state.open = Some(peer.to_owned());
    state.focus = Focus::Input;
}

/// Publishes our state, keeping the note.
fn set_presence(state: &mut AppState, availability: Availability, fx: &mut Effects) {
    state.own.availability = availability;
    fx.commands.push(Command::SetPresence {
        availability,
        note: note_option(&state.own.note),
    });
}

fn note_option(note: &str) -> Option<String> {
    let note = note.trim();
    (!note.is_empty()).then(|| note.to_owned())
}

fn quit(state: &mut AppState, fx: &mut Effects) {
    if !state.quitting {
        state.quitting = true;
        state.modal = None;
        fx.commands.push(Command::Quit);
    }
}

fn notice(state: &mut AppState, text: String, error: bool) {
    state.notice = Some(Notice {
        text,
        error,
        until_ms: state.now_ms + NOTICE_MS,
    });
}

fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
