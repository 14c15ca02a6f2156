//! The client core's face to its front ends: the commands it takes, the
//! events it reports, and the plain types they carry. The TUI and the agent
//! see only these, never SIP.

use std::fmt;
use std::str::FromStr;

/// A presence state (PROTOCOLS.md section 5). The agent contract spells
/// them as [`Availability::as_str`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Availability {
    Available,
    Busy,
    InACall,
    InAConference,
    DoNotDisturb,
    BeRightBack,
    Away,
    Offline,
}

impl Availability {
    /// Every state, most available first.
    pub const ALL: [Availability; 8] = [
        Availability::Available,
        Availability::Busy,
        Availability::InACall,
        Availability::InAConference,
        Availability::DoNotDisturb,
        Availability::BeRightBack,
        Availability::Away,
        Availability::Offline,
    ];

    /// The states a user picks by hand; the others are set by the client
    /// (in a call, in a conference) or by the server (offline).
    pub const CHOSEN: [Availability; 5] = [
        Availability::Available,
        Availability::Busy,
        Availability::DoNotDisturb,
        Availability::BeRightBack,
        Availability::Away,
    ];

    /// The agent-contract name.
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Available => "available",
            Availability::Busy => "busy",
            Availability::InACall => "in_a_call",
            Availability::InAConference => "in_a_conference",
            Availability::DoNotDisturb => "dnd",
            Availability::BeRightBack => "brb",
            Availability::Away => "away",
            Availability::Offline => "offline",
        }
    }

    /// How a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            Availability::Available => "Available",
            Availability::Busy => "Busy",
            Availability::InACall => "In a call",
            Availability::InAConference => "In a conference",
            Availability::DoNotDisturb => "Do not disturb",
            Availability::BeRightBack => "Be right back",
            Availability::Away => "Away",
            Availability::Offline => "Offline",
        }
    }

    /// The OCS availability number ([MS-PRES]); lower is more available,
    /// which is how several endpoints of one user are aggregated.
    pub fn ocs_availability(self) -> u32 {
        match self {
            Availability::Available => 3500,
            Availability::Busy | Availability::InACall => 6500,
            Availability::InAConference => 7000,
            Availability::DoNotDisturb => 9500,
            Availability::BeRightBack => 12500,
            Availability::Away => 15500,
            Availability::Offline => 18500,
        }
    }
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Availability {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Availability::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<_> = Availability::ALL.iter().map(|s| s.as_str()).collect();
                format!(
                    "unknown presence state {text:?}; one of {}",
                    names.join(", ")
                )
            })
    }
}

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
    AnswerCall,
    DeclineCall,
    HangUp,
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
            Command::AnswerCall => "call.answer",
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
    CommandFailed {
        command: &'static str,
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_by_their_contract_names_and_rank_by_ocs_value() {
        for state in Availability::ALL {
            assert_eq!(state.as_str().parse::<Availability>(), Ok(state));
        }
        assert!(
            "sleepy"
                .parse::<Availability>()
                .unwrap_err()
                .contains("dnd")
        );
        let ranks: Vec<_> = Availability::ALL
            .iter()
            .map(|s| s.ocs_availability())
            .collect();
        assert!(ranks.windows(2).all(|pair| pair[0] <= pair[1]), "{ranks:?}");
    }
}
