//! [`AppState`]: everything the screen shows, as plain data.
//!
//! It knows nothing of the terminal and nothing of time beyond what
//! [`Msg::Tick`](super::update::Msg::Tick) told it (`now_ms`, unix
//! milliseconds). Only [`update`](super::update::update) changes it; the view
//! reads it. The queries here (rows of the buddy list, display names,
//! presence of a URI) are shared by both so they agree.
//!
//! Invariants: `open`, when set, names a key of `conversations`; focus is
//! [`Focus::Input`] only while a conversation is open, and
//! [`Focus::Roster`] only while there is a conference. The conference's
//! IM is the conversation whose peer is its focus URI.

mod call;
mod conference;
mod contacts;
mod modal;

pub use call::{Call, CallPhase, CallStats, DialPad, MediaMeters, dtmf_digit};
pub use conference::{
    Conference, Invitation, LEADER_ROLE, Origin, PhoneAudio, conference_id, has_audio, same_user,
    user_part,
};
pub use contacts::{Contacts, Group, group_name};
pub use modal::{AddAudio, AudioChoice, BuddyForm, FormField, Modal, Search};

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tui_input::Input;

use crate::client::{Availability, Buddy, LocationProfile, NormalizeError, Normalized};
use crate::config::{self, KeyAction};

use super::history::LoggedMessage;
use super::keys::{KeyError, KeyMap};
use super::trace::TracePane;
use super::view::theme::Theme;

/// What the front end is told at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TuiConfig {
    /// Our address of record, until the core reports the registered one.
    pub own_uri: String,
    /// Our name as others see it; empty shows the URI.
    pub own_display: String,
    /// No key for this long while Available sets Away automatically.
    pub idle: Duration,
    /// How long a peer's typing indication stays on screen after the last.
    pub typing_shown: Duration,
    /// Least time between two typing indications we send to one peer
    /// (RFC 3994 §4.2 refreshes an active state; shorter than the peer's
    /// `typing_shown` keeps its indicator lit while we type).
    pub typing_refresh: Duration,
    /// Messages loaded from history when a conversation opens.
    pub history_limit: usize,
    /// Local time offset from UTC for the times shown, in minutes.
    pub utc_offset_minutes: i32,
    /// Rebound keys (the config file's `[keys]`); actions not named keep
    /// their default keys. See [`KeyMap::new`] for what a rebinding does.
    pub keys: Vec<(KeyAction, config::Key)>,
    /// The colours of presence states and of the accent.
    pub theme: Theme,
}

impl TuiConfig {
    /// The key table these rebindings make, or why they cannot be used.
    pub fn key_map(&self) -> Result<KeyMap, KeyError> {
        KeyMap::new(&self.keys)
    }

    /// Whether the UI can start with this configuration: the rebindings
    /// give no key two meanings. [`AppState::new`] checks it too; call this
    /// to report the problem before anything else starts.
    pub fn validate(&self) -> Result<(), KeyError> {
        self.key_map().map(drop)
    }
}

impl Default for TuiConfig {
    fn default() -> TuiConfig {
        TuiConfig {
            own_uri: String::new(),
            own_display: String::new(),
            idle: Duration::from_secs(5 * 60),
            typing_shown: Duration::from_secs(5),
            typing_refresh: Duration::from_secs(3),
            history_limit: 200,
            utc_offset_minutes: 0,
            keys: Vec::new(),
            theme: Theme::default(),
        }
    }
}

/// Where we stand with the registrar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    Connecting,
    Registered,
    Failed(String),
    Unregistered,
}

/// A user's published state and note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub availability: Availability,
    pub note: String,
}

/// Which pane takes the keys when no dialog is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Buddies,
    Input,
    /// The conference roster.
    Roster,
}

/// One visible row of the buddy list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    Group(String),
    Buddy { group: String, uri: String },
}

/// What became of an outgoing message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Sent, no report yet.
    Pending,
    Delivered,
    NotDelivered {
        reason: Option<String>,
    },
    /// From history, sent by a run that ended before the report; also
    /// every incoming message.
    Unknown,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub outgoing: bool,
    /// Who sent an incoming message, where the conversation has more than
    /// one peer (a conference's IM); `None` for the peer of a one-to-one
    /// conversation, and for ours.
    pub from: Option<String>,
    /// The id given to [`Command::SendIm`](crate::client::Command),
    /// for outgoing messages of this run.
    pub id: Option<u64>,
    pub text: String,
    pub at_ms: i64,
    pub delivery: Delivery,
}

impl Message {
    /// Its stored form.
    pub fn logged(&self, peer: &str) -> LoggedMessage {
        let (delivered, reason) = match &self.delivery {
            Delivery::Delivered => (Some(true), None),
            Delivery::NotDelivered { reason } => (Some(false), reason.clone()),
            Delivery::Pending | Delivery::Unknown => (None, None),
        };
        LoggedMessage {
            peer: peer.to_owned(),
            outgoing: self.outgoing,
            text: self.text.clone(),
            at_ms: self.at_ms,
            delivered: if self.outgoing { delivered } else { None },
            reason,
        }
    }

    /// Back from its stored form.
    pub fn from_logged(logged: &LoggedMessage) -> Message {
        let delivery = match (logged.outgoing, logged.delivered) {
            (true, Some(true)) => Delivery::Delivered,
            (true, Some(false)) => Delivery::NotDelivered {
                reason: logged.reason.clone(),
            },
            _ => Delivery::Unknown,
        };
        Message {
            outgoing: logged.outgoing,
            from: None,
            id: None,
            text: logged.text.clone(),
            at_ms: logged.at_ms,
            delivery,
        }
    }
}

/// The IM exchange with one peer.
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    pub messages: Vec<Message>,
    /// Incoming messages not yet seen.
    pub unread: usize,
    /// Messages scrolled off the bottom; 0 shows the newest.
    pub scroll: usize,
    /// What we are writing to this peer, kept while another is open.
    pub draft: Input,
    /// When we last sent this peer a typing indication.
    pub typing_sent_ms: Option<i64>,
}

/// A line for the status bar that goes away by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
    pub until_ms: i64,
}

/// The whole front-end state.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: TuiConfig,
    /// The keys in force, made from `config.keys`.
    pub keys: KeyMap,
    pub own_uri: String,
    pub registration: Registration,
    /// Our state as last chosen or reported.
    pub own: Presence,
    /// While the automatic Away is in force: the state it replaced.
    pub auto_away: Option<Availability>,
    /// The buddy list as the core last sent it, and everyone's last
    /// reported presence.
    pub contacts: Contacts,
    pub collapsed: BTreeSet<String>,
    pub selection: Option<Row>,
    pub conversations: BTreeMap<String, Conversation>,
    /// The conversation shown in the right pane.
    pub open: Option<String>,
    pub focus: Focus,
    pub modal: Option<Modal>,
    /// Peers typing to us, until when the indication shows.
    pub typing_until: BTreeMap<String, i64>,
    pub notice: Option<Notice>,
    pub now_ms: i64,
    /// When the user last pressed a key; `None` before the first tick.
    pub last_input_ms: Option<i64>,
    pub next_im_id: u64,
    /// Terminal size, for paging.
    pub screen: (u16, u16),
    /// Quit was sent; waiting for the core to sign out.
    pub quitting: bool,
    /// The call, from the first event or our command until a while after
    /// it ended.
    pub call: Option<Call>,
    /// Our microphone is muted, as the core last said; it stays so from
    /// one call to the next.
    pub muted: bool,
    /// The call's audio peaks, microphone and speaker, each 0 to 1, as
    /// the run loop last measured them ([`Msg::Meters`](super::update::Msg::Meters)).
    pub levels: Option<(f32, f32)>,
    /// The connected call's latest RTP figures.
    pub stats: Option<CallStats>,
    /// The figures the bar shows: `stats` as of the last tick, so they
    /// change at most once a second and stay readable.
    pub stats_shown: Option<CallStats>,
    /// The conference we are in or joining.
    pub conference: Option<Conference>,
    /// A conference that calls us, until answered, declined or gone.
    pub invitation: Option<Invitation>,
    /// What the prompts preview typed numbers by: the shipped profile
    /// until the core reports the provisioned one.
    pub location_profile: LocationProfile,
    /// The user's work number (E.164), once the server provisioned one:
    /// the "Add audio" dialog offers it.
    pub work_number: Option<String>,
    /// The SIP trace pane, and the messages it holds while closed.
    pub trace: TracePane,
}

impl AppState {
    /// The state at start; refused if the configured keys conflict.
    pub fn new(config: TuiConfig) -> Result<AppState, KeyError> {
        let utc_offset_minutes = config.utc_offset_minutes;
        Ok(AppState {
            keys: config.key_map()?,
            own_uri: config.own_uri.clone(),
            config,
            registration: Registration::Connecting,
            own: Presence {
                availability: Availability::Available,
                note: String::new(),
            },
            auto_away: None,
            contacts: Contacts::default(),
            collapsed: BTreeSet::new(),
            selection: None,
            conversations: BTreeMap::new(),
            open: None,
            focus: Focus::Buddies,
            modal: None,
            typing_until: BTreeMap::new(),
            notice: None,
            now_ms: 0,
            last_input_ms: None,
            next_im_id: 1,
            screen: (80, 24),
            quitting: false,
            call: None,
            muted: false,
            levels: None,
            stats: None,
            stats_shown: None,
            conference: None,
            invitation: None,
            location_profile: LocationProfile::fallback(),
            work_number: None,
            trace: TracePane::with_utc_offset(utc_offset_minutes),
        })
    }

    /// The rows of the buddy list as shown: collapsed groups hide theirs.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        for group in self.contacts.groups() {
            rows.push(Row::Group(group.name.clone()));
            if !self.collapsed.contains(&group.name) {
                rows.extend(self.contacts.members(group).map(|buddy| Row::Buddy {
                    group: group.name.clone(),
                    uri: buddy.uri.clone(),
                }));
            }
        }
        rows
    }

    /// The position of the selection among [`AppState::rows`].
    pub fn selected_index(&self, rows: &[Row]) -> Option<usize> {
        let selected = self.selection.as_ref()?;
        rows.iter().position(|row| row == selected)
    }

    pub fn buddy(&self, uri: &str) -> Option<&Buddy> {
        self.contacts.buddy(uri)
    }

    /// The name to show for a URI: the buddy's display name, else
    /// "Conference" for a conference's address, else the URI without its
    /// scheme.
    pub fn display_name<'a>(&'a self, uri: &'a str) -> &'a str {
        match self.buddy(uri) {
            Some(buddy) if !buddy.display.trim().is_empty() => &buddy.display,
            _ if conference_id(uri).is_some() => "Conference",
            _ => without_scheme(uri),
        }
    }

    /// The name of someone in the conference: the roster's display text,
    /// else the buddy's name, else the user part of the URI.
    pub fn participant_name<'a>(&'a self, uri: &'a str) -> &'a str {
        let roster = self
            .conference
            .as_ref()
            .and_then(|conference| conference.user(uri))
            .map(|user| user.display.trim())
            .filter(|display| !display.is_empty());
        if let Some(display) = roster {
            return display;
        }
        match self.buddy(uri) {
            Some(buddy) if !buddy.display.trim().is_empty() => &buddy.display,
            _ => user_part(uri),
        }
    }

    /// The conference, once joined.
    pub fn joined_conference(&self) -> Option<&Conference> {
        self.conference
            .as_ref()
            .filter(|conference| conference.joined)
    }

    /// Whether `peer` is the joined conference's IM.
    pub fn is_conference_chat(&self, peer: &str) -> bool {
        self.joined_conference()
            .is_some_and(|conference| conference.focus == peer)
    }

    /// Whether we are in a conference and do not lead it.
    pub fn is_attendee(&self) -> bool {
        self.joined_conference()
            .is_some_and(|conference| !conference.leader)
    }

    /// Our own name for the status bar.
    pub fn own_display(&self) -> &str {
        if self.config.own_display.trim().is_empty() {
            without_scheme(&self.own_uri)
        } else {
            &self.config.own_display
        }
    }

    /// A user's presence; offline until reported.
    pub fn presence_of(&self, uri: &str) -> &Presence {
        self.contacts.presence_of(uri)
    }

    pub fn is_typing(&self, peer: &str) -> bool {
        self.typing_until
            .get(peer)
            .is_some_and(|until| *until > self.now_ms)
    }

    /// What typed text dials as, while it looks like a number: the
    /// prompts show it under the field before anything is dialled.
    pub fn number_preview(&self, text: &str) -> Option<Result<Normalized, NormalizeError>> {
        crate::client::looks_like_number(text).then(|| self.location_profile.normalize(text))
    }

    /// What a number typed where only a number goes dials as, or why it
    /// cannot be dialled, as soon as anything is typed: text that is no
    /// number is refused by its first character that is not a digit.
    pub fn phone_number_preview(&self, text: &str) -> Option<Result<Normalized, NormalizeError>> {
        (!text.trim().is_empty()).then(|| self.location_profile.normalize(text))
    }

    /// The call, unless it is over.
    pub fn live_call(&self) -> Option<&Call> {
        self.call.as_ref().filter(|call| call.is_live())
    }

    /// The joined conference's audio as this terminal's call: the live
    /// call to its A/V MCU, whose URI carries the conference's ID as the
    /// focus's does (PROTOCOLS.md §1).
    pub fn conference_call(&self) -> Option<&Call> {
        let id = conference_id(&self.joined_conference()?.focus)?;
        self.live_call()
            .filter(|call| conference_id(&call.peer) == Some(id))
    }

    /// Our audio in the joined conference when a phone carries it: we
    /// asked the A/V MCU to call one ("call me at") and this terminal has
    /// no call to it. Connected once our roster row's audio is; nothing
    /// once that phone hung up or never answered.
    pub fn phone_audio(&self) -> Option<PhoneAudio> {
        let conference = self.joined_conference()?;
        conference.by_phone.as_ref()?;
        if self.conference_call().is_some() {
            return None;
        }
        let audio = conference
            .user(&self.own_uri)
            .map_or("", |user| user.audio.as_str());
        match audio {
            "connected" | "muted-via-focus" | "on-hold" => Some(PhoneAudio::Connected),
            "disconnected" | "disconnecting" => None,
            _ => Some(PhoneAudio::Calling),
        }
    }

    /// The open conversation with its peer.
    pub fn open_conversation(&self) -> Option<(&str, &Conversation)> {
        let peer = self.open.as_deref()?;
        Some((peer, self.conversations.get(peer)?))
    }
}

/// `sip:amy@example.com` as `amy@example.com`.
pub fn without_scheme(uri: &str) -> &str {
    uri.strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))
        .unwrap_or(uri)
}
