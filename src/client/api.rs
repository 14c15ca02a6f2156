//! The client core's face to its front ends: the commands it takes, the
//! events it reports, and the plain types they carry. The TUI and the agent
//! see only these, never SIP.

pub use crate::proto::location_profile::{
    LocationProfile, NormalizeError, Normalized, looks_like_number,
};
pub use crate::proto::pidf::Availability;

/// One entry of the buddy list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buddy {
    pub uri: String,
    pub display: String,
    pub group: String,
}

/// What a front end asks of the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Publish our own state and note.
    SetPresence {
        availability: Availability,
        note: Option<String>,
    },
    /// Send an instant message; `id` is the front end's, echoed in
    /// [`Event::ImStatus`].
    SendIm {
        id: u64,
        to: String,
        text: String,
    },
    /// Tell `to` we are typing (RFC 3994).
    Typing {
        to: String,
    },
    /// Add a buddy, or move one to another group or rename it.
    AddBuddy {
        uri: String,
        display: Option<String>,
        group: Option<String>,
    },
    RemoveBuddy {
        uri: String,
    },
    /// The buddy list the front end saved last time: shown until the
    /// server's arrives, and kept by the client when the server has none.
    UseLocalBuddies {
        buddies: Vec<Buddy>,
    },
    /// Call someone: a SIP address, a user name of our domain, or a
    /// number (normalized by the location profile first).
    Call {
        to: String,
    },
    AnswerCall,
    DeclineCall,
    HangUp,
    /// Put the call on hold (or take it off).
    Hold {
        held: bool,
    },
    /// Mute our own microphone.
    Mute {
        muted: bool,
    },
    /// Send DTMF digits (RFC 4733) in the call.
    Dtmf {
        digits: String,
    },
    /// Turn the IM conversation with `with` into a conference: create it,
    /// join it, join its audio `via` this client or a phone the MCU calls
    /// ("call me at"), and have the focus dial out to each of `with`.
    Escalate {
        with: Vec<String>,
        via: AudioVia,
    },
    /// Create a conference and join it (no audio, nobody invited yet).
    CreateConference,
    /// Join the current conference's audio.
    JoinConferenceAudio {
        via: AudioVia,
    },
    /// Have the A/V MCU dial out to `uri` (a leader's invitation): a SIP
    /// address, a user name, or a number (normalized first).
    ConferenceInvite {
        uri: String,
    },
    /// Leader: remove `uri` from the conference.
    ConferenceEject {
        uri: String,
    },
    /// Leader: make `uri` a presenter (`leader: true`) or an attendee.
    ConferenceSetRole {
        uri: String,
        leader: bool,
    },
    /// Leader: block or unblock `uri`'s audio at the MCU.
    ConferenceMute {
        uri: String,
        muted: bool,
    },
    /// Leader: admit no one new (or open again).
    ConferenceLock {
        locked: bool,
    },
    /// Leader: end the conference for everyone.
    ConferenceEnd,
    /// Leave the conference (audio, roster and IM).
    LeaveConference,
    /// An IM to every participant; `id` is echoed in
    /// [`Event::ImStatus`], `to` being the focus.
    ConferenceIm {
        id: u64,
        text: String,
    },
    /// Tell the conference we are typing.
    ConferenceTyping,
    /// What `number` dials as under our location profile: answered with
    /// [`Event::Normalized`], or `CommandFailed` with the reason.
    Normalize {
        number: String,
    },
    /// Unregister and stop.
    Quit,
}

/// How to join a conference's audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioVia {
    /// This client's sound devices: a media INVITE to the A/V MCU.
    Client,
    /// "Call me at": the A/V MCU dials this number.
    Phone { number: String },
}

/// A conference's dial-in: call `number`, then key in `code` and `#`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialIn {
    pub number: String,
    pub code: String,
}

/// A conference participant as the roster shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub uri: String,
    /// The roster's display text; empty when it gives none.
    pub display: String,
    /// `presenter` (a leader) or `attendee`.
    pub roles: Vec<String>,
    /// The focus endpoint's RFC 4575 status (`connected`, `dialing-out`,
    /// ...), or the audio's for a user with no focus endpoint (a phone).
    pub status: String,
    /// The audio endpoint's status; `none` without one.
    pub audio: String,
    /// Muted by a leader (ingress blocked at the MCU).
    pub muted: bool,
    /// Why the audio ended, when the roster says: a dial-out that was
    /// `busy` or had `no answer`, or the disconnection method.
    pub reason: Option<String>,
    /// How the audio came: `dialed-out` (the MCU called them) or
    /// `dialed-in` (RFC 4575 joining-method).
    pub joining: Option<String>,
    /// The CSRC the MCU marks this participant's voice with in the mix
    /// (RFC 4575 media `src-id`), to tell who is speaking.
    pub src_id: Option<u32>,
    /// How their audio reaches the MCU, while they are in the audio and
    /// the focus reports it (confab's roster extension).
    pub quality: Option<Quality>,
}

/// How a participant's audio reaches the conference's mixer, as the
/// focus rounds it: what the mixer receives of theirs and the round trip
/// between the two. A figure the roster does not give is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quality {
    /// As a person reads it: `Opus`, `PCMU`.
    pub codec: Option<String>,
    /// Packets lost of those they sent, in tenths of a percent.
    pub loss_permille: Option<u16>,
    pub jitter_ms: Option<u32>,
    pub rtt_ms: Option<u32>,
    /// The delay the mixer's jitter buffer adds to their voice.
    pub buffer_ms: Option<u32>,
}

impl Quality {
    /// The loss in percent.
    pub fn loss_percent(&self) -> Option<f32> {
        self.loss_permille
            .map(|permille| f32::from(permille) / 10.0)
    }
}

impl Participant {
    pub fn is_leader(&self) -> bool {
        self.roles.iter().any(|role| role == "presenter")
    }
}

impl Command {
    /// The agent-contract name of the command, for error events.
    pub fn name(&self) -> &'static str {
        match self {
            Command::SetPresence { .. } => "presence",
            Command::SendIm { .. } => "im",
            Command::Typing { .. } => "typing",
            Command::AddBuddy { .. } => "buddy.add",
            Command::RemoveBuddy { .. } => "buddy.remove",
            Command::UseLocalBuddies { .. } => "buddies.local",
            Command::Call { .. } => "call",
            Command::AnswerCall => "call.answer",
            Command::Hold { .. } => "call.hold",
            Command::Mute { .. } => "mute",
            Command::Dtmf { .. } => "call.dtmf",
            Command::DeclineCall => "call.decline",
            Command::HangUp => "call.hangup",
            Command::Escalate { .. } => "escalate",
            Command::CreateConference => "conference.create",
            Command::JoinConferenceAudio { .. } => "conference.join_audio",
            Command::ConferenceInvite { .. } => "conference.invite",
            Command::ConferenceEject { .. } => "conference.eject",
            Command::ConferenceSetRole { leader: true, .. } => "conference.promote",
            Command::ConferenceSetRole { leader: false, .. } => "conference.demote",
            Command::ConferenceMute { .. } => "conference.mute",
            Command::ConferenceLock { .. } => "conference.lock",
            Command::ConferenceEnd => "conference.end",
            Command::LeaveConference => "conference.leave",
            Command::ConferenceIm { .. } => "conference.im",
            Command::ConferenceTyping => "conference.typing",
            Command::Normalize { .. } => "normalize",
            Command::Quit => "quit",
        }
    }
}

/// What the core tells its front end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Registered {
        uri: String,
    },
    RegistrationFailed {
        reason: String,
    },
    Unregistered,
    /// A watched user's state (our own too, as the server sees it).
    Presence {
        uri: String,
        availability: Availability,
        note: String,
    },
    /// The whole buddy list, at sign-in and on every change.
    Buddies {
        buddies: Vec<Buddy>,
    },
    Im {
        from: String,
        text: String,
    },
    /// What became of a message we sent.
    ImStatus {
        id: u64,
        to: String,
        delivered: bool,
        reason: Option<String>,
    },
    Typing {
        from: String,
    },
    IncomingCall {
        from: String,
    },
    CallRinging {
        peer: String,
    },
    CallConnected {
        peer: String,
    },
    CallEnded {
        peer: String,
        reason: String,
    },
    /// The call went on hold (by either side) or came off it.
    CallHeld {
        peer: String,
        held: bool,
    },
    /// Our microphone is muted or not.
    Muted {
        muted: bool,
    },
    /// A sound device changed under a call: `fallback` (the default device
    /// took over) or `unavailable` (no device: no sound that way). Not from
    /// the core: the media task reports it and the wiring merges it in.
    Audio {
        state: &'static str,
        reason: String,
    },
    CommandFailed {
        command: &'static str,
        reason: String,
    },
    /// A subscription the server refused for good (`package` of
    /// `target`), with its SIP status and reason.
    SubscriptionFailed {
        package: String,
        target: String,
        reason: String,
    },
    /// We are in the conference of `focus` with this role (`presenter` or
    /// `attendee`); again whenever our role changes.
    ConferenceJoined {
        focus: String,
        role: String,
    },
    /// The roster after a NOTIFY was applied: everyone in the conference.
    Roster {
        focus: String,
        version: u32,
        locked: bool,
        users: Vec<Participant>,
        /// How phones join by calling in, when the service takes calls.
        dial_in: Option<DialIn>,
    },
    /// An A/V MCU calls us into its conference (a leader's invitation);
    /// answered with [`Command::AnswerCall`], which also joins the focus.
    ConferenceInvitation {
        from: String,
        focus: String,
    },
    /// A conference IM relayed by the IM MCU.
    ConferenceIm {
        focus: String,
        from: String,
        text: String,
    },
    /// Someone in the conference is typing.
    ConferenceTyping {
        focus: String,
        from: String,
    },
    /// A leader removed us.
    Ejected {
        focus: String,
    },
    /// The conference is over (a leader ended it, or we left).
    ConferenceEnded {
        focus: String,
    },
    /// The answer to [`Command::Normalize`]: `number` dials as `e164`,
    /// by the rule named (its description, else its pattern).
    Normalized {
        number: String,
        e164: String,
        rule: String,
    },
    /// The server provisioned us: the location profile numbers are
    /// normalized by from now on (`from_server` false when the server sent
    /// none and the shipped one stays), and the user's work number.
    Provisioned {
        location_profile: LocationProfile,
        from_server: bool,
        work_number: Option<String>,
    },
}
