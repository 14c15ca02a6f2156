//! The conference as the front end shows it: which focus, our role, the
//! roster the core last sent (RFC 4575 conference-info, applied by the
//! core), who is typing in its IM, whose voice is in the mix; and a
//! pending invitation.
//!
//! The conference's IM lives with the other conversations, under the
//! focus URI as its peer, so drafts, paging and delivery reports work as
//! for any conversation; its messages name their senders.
//!
//! [`Conference::offered`] is the one answer to "what can be done in the
//! roster now": the update dispatches only those actions and the roster
//! pane hints only those, so an attendee is never offered a leader's.
//!
//! Invariants: `focus` is empty exactly while `joined` is false; the
//! selection, when set, is a roster row's URI, except for a moment after
//! a roster update, which moves it to a row still there.

use std::collections::BTreeMap;

use crate::client::Participant;
use crate::media::contributors::Contributors;

use super::super::keys::Action;
use super::without_scheme;

/// RFC 4575 §5.6.5 `roles`: a leader is a `presenter` (PROTOCOLS.md §2).
pub const LEADER_ROLE: &str = "presenter";

/// A conference calls us (the A/V MCU dials out to us for a leader): the
/// banner asks to answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Who invited us, as the core says: the inviting leader, or the
    /// conference's own address.
    pub from: String,
    pub focus: String,
}

/// How we came to the conference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// We turned our IM with `with` into this conference.
    Escalated { with: String },
    /// `by` invited us and we answered.
    Invited { by: String },
    /// The core joined us without a request from this screen.
    Joined,
}

/// How far the phone the A/V MCU calls for us has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneAudio {
    /// Asked for; the MCU dials it, or is about to.
    Calling,
    /// Answered: our audio is in the mix by that phone.
    Connected,
}

/// The one conference we are in, or are joining.
#[derive(Debug, Clone, PartialEq)]
pub struct Conference {
    /// The focus URI; empty until the core says we joined.
    pub focus: String,
    pub joined: bool,
    pub origin: Origin,
    /// We lead it (role `presenter`), as [`ConferenceJoined`] or our own
    /// roster row last said.
    ///
    /// [`ConferenceJoined`]: crate::client::Event::ConferenceJoined
    pub leader: bool,
    /// The roster's version (RFC 4575 §4.6), as the core last sent it.
    pub version: u32,
    pub locked: bool,
    pub users: Vec<Participant>,
    /// The selected roster row, by its user's URI.
    pub selected: Option<String>,
    /// Whose voices the mixer sends us now, by CSRC (the roster's
    /// `src-id`), with their levels.
    pub speaking: Contributors,
    /// Participants typing in the conference's IM, until when it shows.
    pub typing_until: BTreeMap<String, i64>,
    /// We asked to leave or to end it; waiting for the core.
    pub leaving: bool,
    /// When we joined, by the state's clock.
    pub since_ms: i64,
    /// How phones dial in: the access number and the code.
    pub dial_in: Option<(String, String)>,
    /// The number we asked the A/V MCU to call for our audio ("call me
    /// at"), as chosen; `None` when the audio is this terminal's.
    pub by_phone: Option<String>,
}

impl Conference {
    /// A conference asked for or answered here, not joined yet.
    pub fn starting(origin: Origin, now_ms: i64) -> Conference {
        Conference {
            focus: String::new(),
            joined: false,
            origin,
            leader: false,
            version: 0,
            locked: false,
            users: Vec::new(),
            selected: None,
            speaking: Contributors::default(),
            typing_until: BTreeMap::new(),
            leaving: false,
            since_ms: now_ms,
            dial_in: None,
            by_phone: None,
        }
    }

    /// The peer whose IM conversation continues as the conference's.
    pub fn from_im(&self) -> Option<&str> {
        match &self.origin {
            Origin::Escalated { with } => Some(with),
            Origin::Invited { by } => Some(by),
            Origin::Joined => None,
        }
    }

    pub fn user(&self, uri: &str) -> Option<&Participant> {
        self.users.iter().find(|user| same_user(&user.uri, uri))
    }

    /// The selected roster row's user.
    pub fn selected_user(&self) -> Option<&Participant> {
        self.user(self.selected.as_deref()?)
    }

    /// The position of the selection in the roster.
    pub fn selected_index(&self) -> Option<usize> {
        let selected = self.selected.as_deref()?;
        self.users
            .iter()
            .position(|user| same_user(&user.uri, selected))
    }

    /// Whether `uri` is typing in the conference's IM at `now_ms`.
    pub fn is_typing(&self, uri: &str, now_ms: i64) -> bool {
        self.typing_until
            .get(uri)
            .is_some_and(|until| *until > now_ms)
    }

    /// The level of `user`'s voice in the mix now, if it is there.
    pub fn speaking_level(&self, user: &Participant) -> Option<f32> {
        self.speaking.level(user.src_id?)
    }

    /// The roster actions that can be done now, in the order the pane
    /// hints them: a leader's on the selected row first (mute needs audio
    /// or a mute to undo; removing and changing the role of ourselves are
    /// not offered: leaving is), then the conference's, then leaving.
    pub fn offered(&self, own_uri: &str) -> Vec<Action> {
        if !self.joined || self.leaving {
            return Vec::new();
        }
        let mut actions = Vec::new();
        if self.leader {
            if let Some(user) = self.selected_user() {
                if has_audio(user) || user.muted {
                    actions.push(Action::MuteUser);
                }
                if !same_user(&user.uri, own_uri) {
                    actions.extend([Action::Eject, Action::ToggleRole]);
                }
            }
            actions.extend([Action::Invite, Action::Lock, Action::EndConference]);
        }
        actions.push(Action::Leave);
        actions
    }
}

/// Whether the user has an audio leg the mixer could block: one that is
/// up, or on its way or on hold.
pub fn has_audio(user: &Participant) -> bool {
    !matches!(user.audio.as_str(), "" | "none" | "disconnected")
}

/// Whether two URIs name the same user: the scheme, URI parameters and
/// case aside (RFC 3261 §19.1.4 compares the user part case-sensitively,
/// but a roster's entity and our address of record are the same
/// provisioned string in another form at most).
pub fn same_user(one: &str, other: &str) -> bool {
    let bare = |uri: &str| {
        let uri = without_scheme(uri.trim());
        uri.split(';').next().unwrap_or(uri).to_ascii_lowercase()
    };
    bare(one) == bare(other)
}

/// The user part of a URI, to name someone the roster gives no name:
/// `hao` for `sip:hao@confab.local`, the number for a `tel:` URI.
pub fn user_part(uri: &str) -> &str {
    let uri = without_scheme(uri.trim());
    let uri = uri.strip_prefix("tel:").unwrap_or(uri);
    uri.split(['@', ';']).next().unwrap_or(uri)
}

/// The conference ID of a conference URI (PROTOCOLS.md §1:
/// `opaque=app:conf:focus:id:<ID>`, and likewise `chat` and
/// `audio-video`), if it is one.
pub fn conference_id(uri: &str) -> Option<&str> {
    let (_, rest) = uri.split_once("opaque=app:conf:")?;
    let (_, id) = rest.split_once(":id:")?;
    let id = id
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default();
    (!id.is_empty()).then_some(id)
}
