//! `update` in the conference roster: moving along it, the leader's
//! actions on a row and on the conference, confirmations, inviting from
//! the contacts, what an attendee is offered, and our role following the
//! core.

use ratatui::crossterm::event::KeyCode;

use crate::client::{Command, Event};
use crate::tui::keys::Action;
use crate::tui::state::{Focus, Modal};
use crate::tui::update::update;
use crate::tui::view::help;

use super::calls::client;
use super::conference::*;
use super::*;

#[test]
fn tab_goes_round_contacts_roster_and_conversation() {
    let mut state = leading();
    assert_eq!(state.focus, Focus::Input);
    update(&mut state, key(KeyCode::Tab));
    assert_eq!(state.focus, Focus::Buddies);
    update(&mut state, key(KeyCode::Tab));
    assert_eq!(state.focus, Focus::Roster);
    update(&mut state, key(KeyCode::Tab));
    assert_eq!(state.focus, Focus::Input);
    feed(
        &mut state,
        [key(KeyCode::Tab), key(KeyCode::Tab), key(KeyCode::Esc)],
    );
    assert_eq!(state.focus, Focus::Buddies, "Esc leaves the roster");

    // j k and the arrows move along the roster, stopping at its ends.
    let mut state = in_roster(leading());
    let selected = |state: &AppState| state.conference.as_ref().unwrap().selected.clone();
    assert_eq!(selected(&state).as_deref(), Some(OWN), "the first row");
    feed(&mut state, [ch('j'), key(KeyCode::Down)]);
    assert_eq!(selected(&state).as_deref(), Some(HAO));
    feed(&mut state, [ch('G'), ch('j')]);
    assert_eq!(selected(&state).as_deref(), Some(PHONE));
    feed(&mut state, [ch('k'), key(KeyCode::Up), ch('g'), ch('k')]);
    assert_eq!(selected(&state).as_deref(), Some(OWN));
}

#[test]
fn the_leader_mutes_promotes_locks_and_invites_from_the_roster() {
    let mut state = in_roster(leading());
    select(&mut state, AMY);
    assert_eq!(
        offered(&state),
        [
            Action::MuteUser,
            Action::Eject,
            Action::ToggleRole,
            Action::Invite,
            Action::Lock,
            Action::EndConference,
            Action::Leave
        ]
    );
    assert_eq!(
        commands(&mut state, [ch('m'), ch('p'), ch('L')]),
        [
            Command::ConferenceMute {
                uri: AMY.into(),
                muted: true
            },
            Command::ConferenceSetRole {
                uri: AMY.into(),
                leader: true
            },
            Command::ConferenceLock { locked: true },
        ]
    );
    // The roster says what happened; the keys then undo it.
    let mut users = everyone();
    users[1] = muted(user(AMY, "Amy Tran", true, "connected", Some(102)));
    update(&mut state, roster(2, true, users));
    assert_eq!(
        commands(&mut state, [ch('m'), ch('p'), ch('L')]),
        [
            Command::ConferenceMute {
                uri: AMY.into(),
                muted: false
            },
            Command::ConferenceSetRole {
                uri: AMY.into(),
                leader: false
            },
            Command::ConferenceLock { locked: false },
        ]
    );

    // Invite an address or a number, as typed.
    update(&mut state, ch('i'));
    assert!(matches!(state.modal, Some(Modal::InvitePrompt { .. })));
    let mut msgs = typed(" +1 425 555 0100 ");
    msgs.push(key(KeyCode::Enter));
    assert_eq!(
        commands(&mut state, msgs),
        [Command::ConferenceInvite {
            uri: "+1 425 555 0100".into()
        }]
    );
    assert!(state.modal.is_none());
    feed(&mut state, [ch('i'), key(KeyCode::Esc)]);
    assert!(state.modal.is_none());

    // A number no rule of the profile knows is refused in the prompt.
    feed(&mut state, [ch('i')].into_iter().chain(typed("12345")));
    let screen = super::view::draw(&state, 80, 24).backend().to_string();
    assert!(
        screen.contains("✗ no rule of location profile US matches 12345"),
        "{screen}"
    );
    assert!(commands(&mut state, [key(KeyCode::Enter)]).is_empty());
    assert!(matches!(state.modal, Some(Modal::InvitePrompt { .. })));
    super::view::assert_screen("invite_prompt_refused", &state, 80, 24);
}

#[test]
fn removing_someone_and_ending_the_conference_ask_first() {
    let mut state = in_roster(leading());
    select(&mut state, HAO);
    assert!(commands(&mut state, [ch('d')]).is_empty());
    assert!(matches!(&state.modal, Some(Modal::ConfirmEject { uri }) if uri == HAO));
    assert!(commands(&mut state, [ch('x'), ch('n')]).is_empty());
    assert!(state.modal.is_none(), "n keeps them");
    assert_eq!(
        commands(&mut state, [ch('d'), ch('y')]),
        [Command::ConferenceEject { uri: HAO.into() }]
    );

    assert!(commands(&mut state, [ch('E')]).is_empty());
    assert!(matches!(state.modal, Some(Modal::ConfirmEnd)));
    assert!(commands(&mut state, [key(KeyCode::Esc)]).is_empty());
    assert_eq!(
        commands(&mut state, [ch('E'), key(KeyCode::Enter)]),
        [Command::ConferenceEnd]
    );
    assert!(state.conference.as_ref().unwrap().leaving);
    assert!(offered(&state).is_empty(), "nothing more while it ends");
    assert!(commands(&mut state, [ch('X'), ch('m')]).is_empty());
    // The end failed: it can be asked again.
    update(
        &mut state,
        client(Event::CommandFailed {
            command: "conference.end",
            reason: "forbidden".into(),
        }),
    );
    assert_eq!(commands(&mut state, [ch('X')]), [Command::LeaveConference]);
}

#[test]
fn our_own_row_offers_no_removal_nor_role_change() {
    let mut state = in_roster(leading());
    select(&mut state, OWN);
    assert_eq!(
        offered(&state),
        [
            Action::MuteUser,
            Action::Invite,
            Action::Lock,
            Action::EndConference,
            Action::Leave
        ]
    );
    assert!(commands(&mut state, [ch('d'), ch('p')]).is_empty());
    assert!(state.modal.is_none());
    // Nor muting someone with no audio to block.
    let mut state = in_roster(leading());
    let mut users = everyone();
    users[1].audio = "none".into();
    update(&mut state, roster(2, false, users));
    select(&mut state, AMY);
    assert!(!offered(&state).contains(&Action::MuteUser));
    assert!(commands(&mut state, [ch('m')]).is_empty());
}

#[test]
fn i_on_a_contact_invites_them_if_we_lead() {
    let mut state = leading();
    feed(&mut state, [key(KeyCode::Esc), ch('j'), ch('j')]);
    assert_eq!(
        commands(&mut state, [ch('i')]),
        [Command::ConferenceInvite { uri: JO.into() }]
    );
    assert_eq!(state.notice.as_ref().unwrap().text, "Inviting Jo Okafor…");

    let mut state = demo_state();
    assert!(commands(&mut state, [ch('i')]).is_empty());
    assert_eq!(state.notice.as_ref().unwrap().text, "Not in a conference");

    let mut state = attending();
    state.focus = Focus::Buddies;
    assert!(commands(&mut state, [ch('i')]).is_empty());
    let notice = state.notice.as_ref().unwrap();
    assert_eq!(notice.text, "Only a leader of the conference can do that");
}

#[test]
fn an_attendee_is_offered_only_leaving() {
    let mut state = in_roster(attending());
    assert!(!state.conference.as_ref().unwrap().leader);
    select(&mut state, HAO);
    assert_eq!(offered(&state), [Action::Leave]);
    for leaders in ['m', 'd', 'p', 'L', 'E', 'i'] {
        state.notice = None;
        assert!(commands(&mut state, [ch(leaders)]).is_empty(), "{leaders}");
        assert!(state.modal.is_none(), "{leaders}");
        let notice = state.notice.as_ref().unwrap();
        assert_eq!(notice.text, "Only a leader of the conference can do that");
    }
    // Nor are they in the help.
    let sections = help::sections(&state.keys, state.is_attendee());
    assert!(sections.iter().all(|s| s.title != "Conference leader"));
    assert!(
        sections
            .iter()
            .flat_map(|s| &s.rows)
            .all(|(_, help)| help != "invite to conference")
    );
    let roster = sections
        .iter()
        .find(|s| s.title == "Conference roster")
        .unwrap();
    assert!(
        roster
            .rows
            .iter()
            .any(|(_, help)| help == "leave the conference")
    );
    // A leader's help has them.
    let state = leading();
    let sections = help::sections(&state.keys, state.is_attendee());
    assert!(sections.iter().any(|s| s.title == "Conference leader"));

    let mut state = in_roster(attending());
    assert_eq!(commands(&mut state, [ch('X')]), [Command::LeaveConference]);
    assert!(commands(&mut state, [ch('X')]).is_empty(), "once");
}

#[test]
fn our_role_follows_the_core_and_the_roster() {
    let mut state = leading();
    update(
        &mut state,
        client(Event::ConferenceJoined {
            focus: FOCUS.into(),
            role: "attendee".into(),
        }),
    );
    assert!(state.is_attendee());
    assert_eq!(
        state.notice.as_ref().unwrap().text,
        "You are no longer a leader of the conference"
    );
    assert_eq!(state.open.as_deref(), Some(FOCUS), "still in it");
    assert_eq!(state.conversations[FOCUS].messages.len(), 2, "IM kept");
    // Our own roster row says presenter: a leader again.
    update(&mut state, roster(2, false, everyone()));
    assert!(!state.is_attendee());
    assert_eq!(
        state.notice.as_ref().unwrap().text,
        "You are now a leader of the conference"
    );
}

#[test]
fn a_rebound_pane_key_and_help_key_work_in_the_roster_too() {
    use crate::config::KeyAction;
    use crate::tui::keys::KeyMap;
    let rebound = |pairs: &[(KeyAction, &str)]| {
        let pairs: Vec<_> = pairs
            .iter()
            .map(|(action, key)| (*action, key.parse().unwrap()))
            .collect();
        KeyMap::new(&pairs)
    };
    let mut state = in_roster(leading());
    state.keys = rebound(&[(KeyAction::NextPane, "o"), (KeyAction::Help, "F2")]).unwrap();
    update(&mut state, key(KeyCode::Tab));
    assert_eq!(state.focus, Focus::Roster, "Tab is rebound");
    update(&mut state, ch('o'));
    assert_eq!(state.focus, Focus::Input);
    state.focus = Focus::Roster;
    update(&mut state, key(KeyCode::F(2)));
    assert!(matches!(state.modal, Some(Modal::Help { .. })));
    // A key the leader's roster keys take is refused, naming the roster.
    let error = rebound(&[(KeyAction::NextPane, "L")]).unwrap_err();
    assert!(error.to_string().contains("Conference roster"), "{error}");
}

#[test]
fn a_dial_out_that_failed_shows_why_on_its_row() {
    let mut state = leading();
    let mut phone = user(PHONE, "+14255550123", false, "disconnected", None);
    phone.reason = Some("busy".into());
    let mut users = everyone();
    users.retain(|participant| participant.uri != PHONE);
    users.push(phone);
    update(&mut state, roster(2, false, users));
    let screen = super::view::draw(&state, 120, 40).backend().to_string();
    let row = screen
        .lines()
        .find(|line| line.contains("+14255550123"))
        .expect("the phone's row");
    assert!(row.contains("busy"), "{row}");
}

#[test]
fn the_roster_title_says_how_to_dial_in() {
    let mut state = leading();
    update(
        &mut state,
        client(Event::Roster {
            focus: FOCUS.into(),
            version: 2,
            locked: false,
            users: everyone(),
            dial_in: Some(crate::client::DialIn {
                number: "+14255550100".into(),
                code: "123456".into(),
            }),
        }),
    );
    let screen = super::view::draw(&state, 120, 40).backend().to_string();
    let title = screen
        .lines()
        .find(|line| line.contains("Conference"))
        .expect("the roster's title");
    assert!(title.contains("☎ +14255550100 code 123456#"), "{title}");
}
