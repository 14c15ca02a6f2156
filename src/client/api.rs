//! The client core's face to its front ends: the commands it takes, the
//! events it reports, and the plain types they carry. The TUI and the agent
//! see only these, never SIP.

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
    /// Call someone: a SIP address, or a user name of our domain.
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
    /// Unregister and stop.
    Quit,
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
}
