//! Conferences: turning an IM into one, the invitation banner, the
//! roster's keys (everyone's and the leader's), the conference's IM, and
//! the core's conference events.
//!
//! Rules kept here:
//! - Adding audio to an IM asks first how to join it (the "Add audio"
//!   dialog: this terminal, or a phone the A/V MCU calls); nothing
//!   starts before the choice, and nothing if it is cancelled.
//! - The state follows the core's events: a mute, a role or the lock
//!   shows once the roster says so; our role is what
//!   [`Event::ConferenceJoined`] or our own roster row said last.
//! - Only what [`Conference::offered`] lists is done; a leader's key
//!   pressed by an attendee does nothing but say why.
//! - Removing someone and ending the conference ask first.
//! - An invitation rings the bell and its banner takes the keys, answered
//!   and declined as a call is (the core's `AnswerCall`, `DeclineCall`);
//!   the keys of a call that is already on still work.
//! - On joining, the IM with whom we escalated (or who invited us)
//!   continues as the conference's: its messages are carried over, its
//!   draft too, and the conference's IM takes its place on screen (and
//!   the keys, for an invitation answered).
//! - Ejected or ended, the conference view goes with a notice, and the
//!   conversation it came from is shown again.
//! - Conference IMs are not logged: their history is the conference's.

use ratatui::crossterm::event::KeyEvent;

use crate::client::{AudioVia, Command, Event, Participant};

use super::super::keys::{Action, Context};
use super::super::state::{
    AddAudio, AppState, CallPhase, Conference, Conversation, Delivery, Focus, Invitation,
    LEADER_ROLE, MediaMeters, Message, Modal, Origin, same_user,
};
use super::{Effects, millis, notice, open_conversation, quit};

/// Asks how to join the audio of the conference the IM with `peer`
/// becomes ("Add audio"), unless we are in one; nothing starts before
/// the choice.
pub(super) fn escalate(state: &mut AppState, peer: &str) {
    if !busy(state) {
        state.modal = Some(Modal::AddAudio(AddAudio::new(peer)));
    }
}

/// Turns the IM with `with` into a conference whose audio joins `via`,
/// unless one started meanwhile.
pub(super) fn start(state: &mut AppState, with: &str, via: AudioVia, fx: &mut Effects) {
    if busy(state) {
        return;
    }
    let origin = Origin::Escalated {
        with: with.to_owned(),
    };
    let mut conference = Conference::starting(origin, state.now_ms);
    if let AudioVia::Phone { number } = &via {
        conference.by_phone = Some(number.clone());
    }
    state.conference = Some(conference);
    fx.commands.push(Command::Escalate {
        with: vec![with.to_owned()],
        via,
    });
}

/// Whether a conference is on or starting; if so, says so.
fn busy(state: &mut AppState) -> bool {
    if state.conference.is_none() {
        return false;
    }
    notice(state, "Already in a conference".into(), true);
    true
}

/// Has the conference dial out to `uri`, if we lead one.
pub(super) fn invite(state: &mut AppState, uri: &str, fx: &mut Effects) {
    let Some(conference) = state.joined_conference() else {
        notice(state, "Not in a conference".into(), true);
        return;
    };
    if !conference.leader {
        return only_leaders(state);
    }
    let text = format!("Inviting {}…", state.participant_name(uri));
    notice(state, text, false);
    fx.commands.push(Command::ConferenceInvite {
        uri: uri.to_owned(),
    });
}

fn only_leaders(state: &mut AppState) {
    notice(
        state,
        "Only a leader of the conference can do that".into(),
        true,
    );
}

/// The invitation banner's keys; it takes every key while it shows,
/// except those of a call that is on. Returns whether it took the key.
pub(super) fn banner_key(state: &mut AppState, key: &KeyEvent, fx: &mut Effects) -> bool {
    let Some(invitation) = state.invitation.clone() else {
        return false;
    };
    let now = state.now_ms;
    match state.keys.action(Context::Incoming, key) {
        Some(Action::Answer) => {
            state.invitation = None;
            ringing_call(state, |call| call.phase = CallPhase::Answering);
            if state.conference.is_none() {
                let origin = Origin::Invited {
                    by: invitation.from,
                };
                state.conference = Some(Conference::starting(origin, now));
            }
            fx.commands.push(Command::AnswerCall);
        }
        Some(Action::Decline) => {
            state.invitation = None;
            ringing_call(state, |call| call.hanging_up = true);
            fx.commands.push(Command::DeclineCall);
        }
        Some(Action::Quit) => quit(state, fx),
        _ => {
            let talking = state
                .live_call()
                .is_some_and(|call| !call.is_ringing_here());
            if talking && state.keys.action_in(Context::Call, key).is_some() {
                return false;
            }
            fx.redraw = false;
        }
    }
    true
}

/// The call that rings here, which is the invitation's own leg if the
/// core reported one: answered or declined with it.
fn ringing_call(state: &mut AppState, change: impl FnOnce(&mut super::super::state::Call)) {
    if let Some(call) = state.call.as_mut().filter(|call| call.is_ringing_here()) {
        change(call);
    }
}

/// The roster pane's keys: the leader's first while we lead, then
/// everyone's.
pub(super) fn handle_key(state: &mut AppState, key: KeyEvent, fx: &mut Effects) {
    let Some(conference) = state.conference.as_ref() else {
        state.focus = Focus::Buddies;
        return;
    };
    let leader = state.keys.action_in(Context::Leader, &key);
    let action = leader.or_else(|| state.keys.action(Context::Roster, &key));
    let count = conference.users.len();
    let index = conference.selected_index();
    match action {
        Some(Action::Down) => select(state, index.map_or(0, |i| i + 1)),
        Some(Action::Up) => select(state, index.map_or(0, |i| i.saturating_sub(1))),
        Some(Action::Top) => select(state, 0),
        Some(Action::Bottom) => select(state, count.saturating_sub(1)),
        Some(Action::Open) => match state.joined_conference() {
            Some(conference) => {
                let focus = conference.focus.clone();
                open_conversation(state, &focus, fx);
            }
            None => fx.redraw = false,
        },
        Some(Action::SwitchFocus) => {
            state.focus = if state.open.is_some() {
                Focus::Input
            } else {
                Focus::Buddies
            };
        }
        Some(Action::Back) => state.focus = Focus::Buddies,
        Some(Action::ShowHelp) => state.modal = Some(Modal::Help { scroll: 0 }),
        Some(Action::Quit) => quit(state, fx),
        Some(action) => act(state, action, fx),
        None => fx.redraw = false,
    }
}

fn select(state: &mut AppState, index: usize) {
    let Some(conference) = state.conference.as_mut() else {
        return;
    };
    let last = conference.users.len().saturating_sub(1);
    conference.selected = conference
        .users
        .get(index.min(last))
        .map(|user| user.uri.clone());
}

/// A roster action, if the conference offers it now.
fn act(state: &mut AppState, action: Action, fx: &mut Effects) {
    let own = state.own_uri.clone();
    let attendee = state.is_attendee();
    let Some(conference) = state.conference.as_mut() else {
        fx.redraw = false;
        return;
    };
    if !conference.offered(&own).contains(&action) {
        if action.is_leaders() && attendee {
            only_leaders(state);
        } else {
            fx.redraw = false;
        }
        return;
    }
    let selected = conference.selected_user().cloned();
    match action {
        Action::MuteUser => {
            if let Some(user) = selected {
                fx.commands.push(Command::ConferenceMute {
                    muted: !user.muted,
                    uri: user.uri,
                });
            }
        }
        Action::ToggleRole => {
            if let Some(user) = selected {
                fx.commands.push(Command::ConferenceSetRole {
                    leader: !user.is_leader(),
                    uri: user.uri,
                });
            }
        }
        Action::Eject => {
            if let Some(user) = selected {
                state.modal = Some(Modal::ConfirmEject { uri: user.uri });
            }
        }
        Action::Lock => fx.commands.push(Command::ConferenceLock {
            locked: !conference.locked,
        }),
        Action::Invite => {
            state.modal = Some(Modal::InvitePrompt {
                input: Default::default(),
            });
        }
        Action::EndConference => state.modal = Some(Modal::ConfirmEnd),
        Action::Leave => {
            conference.leaving = true;
            fx.commands.push(Command::LeaveConference);
        }
        _ => fx.redraw = false,
    }
}

/// The leader confirmed the end: it ends for everyone.
pub(super) fn end(state: &mut AppState, fx: &mut Effects) {
    let Some(conference) = state.conference.as_mut().filter(|c| c.joined) else {
        return;
    };
    conference.leaving = true;
    fx.commands.push(Command::ConferenceEnd);
}

/// The core's conference events.
pub(super) fn handle_event(state: &mut AppState, event: Event, fx: &mut Effects) {
    match event {
        Event::ConferenceJoined { focus, role } => joined(state, focus, role == LEADER_ROLE),
        Event::Roster {
            focus,
            version,
            locked,
            users,
            dial_in,
        } => {
            if let Some(conference) = state.conference.as_mut().filter(|c| c.focus == focus) {
                conference.dial_in = dial_in.map(|dial_in| (dial_in.number, dial_in.code));
            }
            roster(state, &focus, version, locked, users, fx)
        }
        Event::ConferenceInvitation { from, focus } => {
            state.invitation = Some(Invitation { from, focus });
            fx.bell = true;
        }
        Event::ConferenceIm { focus, from, text } => receive_im(state, &focus, from, text, fx),
        Event::ConferenceTyping { focus, from } => {
            let until = state.now_ms + millis(state.config.typing_shown);
            match state
                .conference
                .as_mut()
                .filter(|c| c.joined && c.focus == focus)
            {
                Some(conference) => {
                    conference.typing_until.insert(from, until);
                }
                None => fx.redraw = false,
            }
        }
        Event::Ejected { focus } => {
            ended(
                state,
                &focus,
                "You were removed from the conference",
                true,
                fx,
            );
        }
        Event::ConferenceEnded { focus } => {
            let left = state.conference.as_ref().is_some_and(|c| c.leaving);
            let text = if left {
                "You left the conference"
            } else {
                "The conference ended"
            };
            ended(state, &focus, text, false, fx);
        }
        _ => fx.redraw = false,
    }
}

/// We are in the conference of `focus`, or our role in it changed.
fn joined(state: &mut AppState, focus: String, leader: bool) {
    let now = state.now_ms;
    if state.invitation.as_ref().is_some_and(|i| i.focus == focus) {
        state.invitation = None;
    }
    match state.conference.as_ref() {
        Some(conference) if conference.joined && conference.focus == focus => {
            return set_leader(state, leader);
        }
        Some(conference) if !conference.joined => {}
        Some(conference) => {
            // Another conference replaces this one: its IM goes with it.
            let old = conference.focus.clone();
            forget_chat(state, &old, None);
            state.conference = Some(Conference::starting(Origin::Joined, now));
        }
        None => state.conference = Some(Conference::starting(Origin::Joined, now)),
    }
    let Some(conference) = state.conference.as_mut() else {
        return;
    };
    conference.focus = focus.clone();
    conference.joined = true;
    conference.leader = leader;
    conference.since_ms = now;
    let from_im = conference.from_im().map(str::to_owned);
    let invited = matches!(conference.origin, Origin::Invited { .. });
    let mut chat = Conversation::default();
    if let Some(peer) = &from_im {
        if let Some(earlier) = state.conversations.get_mut(peer) {
            chat.messages = earlier
                .messages
                .iter()
                .map(|message| Message {
                    from: (!message.outgoing).then(|| peer.clone()),
                    ..message.clone()
                })
                .collect();
            if state.open.as_deref() == Some(peer.as_str()) {
                chat.draft = std::mem::take(&mut earlier.draft);
            }
            // Unread there is unread here, where it is now read.
            chat.unread = std::mem::take(&mut earlier.unread);
        }
    }
    state.conversations.insert(focus.clone(), chat);
    if state.open.is_none() || state.open == from_im {
        // Shown where the IM it continues was shown (the keys stay there).
        state.open = Some(focus.clone());
        if let Some(chat) = state.conversations.get_mut(&focus) {
            chat.unread = 0;
        }
    }
    if invited && state.open.as_deref() == Some(focus.as_str()) {
        // Answering was joining: the keys go to its IM.
        state.focus = Focus::Input;
    }
}

fn set_leader(state: &mut AppState, leader: bool) {
    let Some(conference) = state.conference.as_mut().filter(|c| c.joined) else {
        return;
    };
    if conference.leader == leader {
        return;
    }
    conference.leader = leader;
    let text = if leader {
        "You are now a leader of the conference"
    } else {
        "You are no longer a leader of the conference"
    };
    notice(state, text.into(), false);
}

/// A new roster: everyone in the conference. The selection stays on the
/// same user if they are still there, else on the row now at its place.
fn roster(
    state: &mut AppState,
    focus: &str,
    version: u32,
    locked: bool,
    users: Vec<Participant>,
    fx: &mut Effects,
) {
    let own = state.own_uri.clone();
    let Some(conference) = state
        .conference
        .as_mut()
        .filter(|c| c.joined && c.focus == focus)
    else {
        fx.redraw = false;
        return;
    };
    let old_index = conference.selected_index();
    conference.version = version;
    conference.locked = locked;
    conference.users = users;
    if conference.selected_index().is_none() {
        let last = conference.users.len().saturating_sub(1);
        conference.selected = conference
            .users
            .get(old_index.unwrap_or(0).min(last))
            .map(|user| user.uri.clone());
    }
    let me = conference.users.iter().find(|u| same_user(&u.uri, &own));
    if let Some(leader) = me.map(Participant::is_leader) {
        set_leader(state, leader);
    }
}

fn receive_im(state: &mut AppState, focus: &str, from: String, text: String, fx: &mut Effects) {
    let now = state.now_ms;
    let outgoing = same_user(&from, &state.own_uri);
    let is_open = state.open.as_deref() == Some(focus);
    let Some(conference) = state
        .conference
        .as_mut()
        .filter(|c| c.joined && c.focus == focus)
    else {
        fx.redraw = false;
        return;
    };
    conference.typing_until.remove(&from);
    let conversation = state.conversations.entry(focus.to_owned()).or_default();
    conversation.messages.push(Message {
        outgoing,
        // Ours from another of our endpoints is ours, as in a
        // one-to-one conversation.
        from: (!outgoing).then_some(from),
        id: None,
        text,
        at_ms: now,
        delivery: Delivery::Unknown,
    });
    if conversation.scroll > 0 {
        conversation.scroll += 1;
    }
    if !is_open && !outgoing {
        conversation.unread += 1;
        fx.bell = conversation.unread == 1;
    }
}

/// The conference of `focus` is over for us.
fn ended(state: &mut AppState, focus: &str, text: &str, error: bool, fx: &mut Effects) {
    let invited = state.invitation.as_ref().is_some_and(|i| i.focus == focus);
    if invited {
        state.invitation = None;
    }
    let Some(conference) = state
        .conference
        .as_ref()
        .filter(|c| c.focus == focus || !c.joined)
    else {
        fx.redraw = invited;
        return;
    };
    let back_to = conference.from_im().map(str::to_owned);
    let focus = conference.focus.clone();
    state.conference = None;
    forget_chat(state, &focus, back_to);
    if matches!(
        state.modal,
        Some(Modal::InvitePrompt { .. } | Modal::ConfirmEject { .. } | Modal::ConfirmEnd)
    ) {
        state.modal = None;
    }
    notice(state, text.to_owned(), error);
}

/// Drops the conference's IM; if it was shown, `back_to`'s conversation
/// (the one it continued) is shown instead, if there is one.
fn forget_chat(state: &mut AppState, focus: &str, back_to: Option<String>) {
    if !focus.is_empty() {
        state.conversations.remove(focus);
    }
    if state.open.as_deref() == Some(focus) {
        state.open = back_to.filter(|peer| state.conversations.contains_key(peer));
    }
    if state.focus == Focus::Roster || (state.focus == Focus::Input && state.open.is_none()) {
        state.focus = Focus::Buddies;
    }
}

/// Sends the draft to the conference, as [`Command::ConferenceIm`].
pub(super) fn send_im(state: &mut AppState, focus: &str, text: String, fx: &mut Effects) {
    let id = state.next_im_id;
    let now = state.now_ms;
    let Some(conversation) = state.conversations.get_mut(focus) else {
        return;
    };
    state.next_im_id += 1;
    conversation.messages.push(Message {
        outgoing: true,
        from: None,
        id: Some(id),
        text: text.clone(),
        at_ms: now,
        delivery: Delivery::Pending,
    });
    fx.commands.push(Command::ConferenceIm { id, text });
}

/// A conference command failed: undo what we expected of it. The notice
/// is shown by the caller, as for every command.
pub(super) fn command_failed(state: &mut AppState, command: &str) {
    let Some(conference) = state.conference.as_mut() else {
        return;
    };
    match command {
        // Never started, or never joined.
        "escalate" | "conference.create" | "call.answer" if !conference.joined => {
            state.conference = None;
        }
        "conference.leave" | "conference.end" => conference.leaving = false,
        // The A/V MCU would not call our phone: the audio is not coming.
        "conference.join_audio" => conference.by_phone = None,
        _ => {}
    }
}

/// Whose voices are in the mix; returns whether the roster shows it.
pub(super) fn meters(state: &mut AppState, meters: &MediaMeters) -> bool {
    match state.conference.as_mut().filter(|c| c.joined) {
        Some(conference) => {
            // Reported every 20 ms, moved or not: only a change is drawn.
            let changed = conference.speaking != meters.speaking;
            conference.speaking = meters.speaking;
            changed
        }
        None => false,
    }
}

/// The time now: typing indications expire. Returns whether anything
/// visible changed.
pub(super) fn tick(state: &mut AppState) -> bool {
    let now = state.now_ms;
    let Some(conference) = state.conference.as_mut() else {
        return false;
    };
    let before = conference.typing_until.len();
    conference.typing_until.retain(|_, until| *until > now);
    conference.typing_until.len() != before
}
