//! The names of the people a frame shows, worked out once per frame.
//!
//! [`AppState::participant_name`] finds a URI's roster entry by comparing
//! it with every user's through [`same_user`], which lowercases both
//! sides; the roster pane, the conference IM's header and its sender
//! column ask it for every participant and every message, so a frame of
//! a 50-person conference with a long IM made thousands of such
//! comparisons. [`Names`] keys the roster once by the same bare form and
//! answers from that.
//!
//! Invariant: [`Names::participant`] is [`AppState::participant_name`],
//! and [`Names::user`] says of each roster user what `participant_name`
//! and [`same_user`] with our URI say; the tests hold them to it.
//!
//! [`same_user`]: crate::tui::state::same_user

use std::collections::HashMap;

use crate::client::Participant;

use super::super::state::{AppState, user_part, without_scheme};

/// A roster user's URI as [`same_user`] compares it: no scheme, no URI
/// parameters, lowercase.
fn bare(uri: &str) -> String {
    let uri = without_scheme(uri.trim());
    uri.split(';').next().unwrap_or(uri).to_ascii_lowercase()
}

/// The names of the conference's users, and which of them is us.
pub(super) struct Names<'a> {
    state: &'a AppState,
    /// The first roster user of each bare URI, as `participant_name`
    /// finds it.
    first: HashMap<String, &'a Participant>,
    /// Per roster user, in roster order: the name shown and whether it
    /// is us.
    users: Vec<(&'a str, bool)>,
}

impl<'a> Names<'a> {
    pub(super) fn new(state: &'a AppState) -> Names<'a> {
        let roster = state
            .conference
            .as_ref()
            .map_or(&[][..], |conference| &conference.users[..]);
        let own = bare(&state.own_uri);
        let mut first = HashMap::with_capacity(roster.len());
        let mut users = Vec::with_capacity(roster.len());
        for user in roster {
            let key = bare(&user.uri);
            let is_own = key == own;
            // The first of a bare URI names every later one, as the
            // roster search in `participant_name` finds it first.
            let first_user = *first.entry(key).or_insert(user);
            users.push((name(state, Some(first_user), &user.uri), is_own));
        }
        Names {
            state,
            first,
            users,
        }
    }

    /// [`AppState::participant_name`] of `uri`.
    pub(super) fn participant(&self, uri: &'a str) -> &'a str {
        name(self.state, self.first.get(&bare(uri)).copied(), uri)
    }

    /// The name of the roster's `index`th user, and whether it is us.
    pub(super) fn user(&self, index: usize) -> Option<(&'a str, bool)> {
        self.users.get(index).copied()
    }
}

/// `uri`'s name given its roster entry: the roster's display text, else
/// the buddy's name, else the user part.
fn name<'a>(state: &'a AppState, roster: Option<&'a Participant>, uri: &'a str) -> &'a str {
    let display = roster
        .map(|user| user.display.trim())
        .filter(|display| !display.is_empty());
    if let Some(display) = display {
        return display;
    }
    match state.buddy(uri) {
        Some(buddy) if !buddy.display.trim().is_empty() => &buddy.display,
        _ => user_part(uri),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::state::{Conference, Origin, same_user};
    use crate::tui::tests::{AMY, HAO, MIRA, OWN, SAM, demo_state};

    fn user(uri: &str, display: &str) -> Participant {
        Participant {
            uri: uri.into(),
            display: display.into(),
            roles: vec!["attendee".into()],
            status: "connected".into(),
            audio: "connected".into(),
            muted: false,
            reason: None,
            joining: None,
            quality: None,
            src_id: None,
        }
    }

    #[test]
    fn names_are_the_states_participant_names() {
        let mut state = demo_state();
        let mut conference = Conference::starting(Origin::Joined, 0);
        conference.joined = true;
        conference.users = vec![
            // Our own row, written another way.
            user("sip:Vivian@confab.local;gruu", "Vivian Park"),
            // Hao twice: the first row, nameless, names both.
            user(HAO, ""),
            user("sip:HAO@confab.local;transport=tcp", "Hao (phone)"),
            user(AMY, "  "),
            user("tel:+14255550123", ""),
            user("sip:guest@elsewhere.example", "Guest"),
        ];
        state.conference = Some(conference);
        let names = Names::new(&state);
        let users = &state.conference.as_ref().unwrap().users;
        for (index, user) in users.iter().enumerate() {
            assert_eq!(
                names.user(index),
                Some((
                    state.participant_name(&user.uri),
                    same_user(&user.uri, &state.own_uri)
                )),
                "{}",
                user.uri
            );
        }
        assert_eq!(names.user(users.len()), None);
        assert_eq!(names.user(0), Some(("Vivian Park", true)));
        assert_eq!(names.user(1), Some(("Hao Chen", false)), "the buddy's name");
        assert_eq!(
            names.user(2),
            Some(("HAO", false)),
            "the first row's, nameless"
        );
        let asked = [
            OWN,
            HAO,
            "sip:hao@CONFAB.local",
            "SIP:hao@confab.local",
            AMY,
            MIRA,
            SAM,
            "tel:+14255550123",
            "sip:guest@elsewhere.example;gruu",
            "sip:nobody@nowhere.example",
            "",
        ];
        for uri in asked {
            assert_eq!(names.participant(uri), state.participant_name(uri), "{uri}");
        }
    }
}
