//! `confab agent`: the client core with no screen, for scripts, bots and
//! tests (DESIGN.md section 5).
//!
//! One JSON object per line each way: commands on stdin carry `"cmd"`,
//! events on stdout carry `"event"`. The names here are a contract with
//! scripts outside the crate: fields may be added, nothing is renamed. A line
//! that is not a command we know gets an `error` event naming what was wrong;
//! the agent never exits on bad input.

use serde::{Deserialize, Serialize};

use crate::client;

/// A command line from stdin.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "cmd")]
pub enum AgentCommand {
    #[serde(rename = "presence")]
    Presence {
        state: String,
        #[serde(default)]
        note: Option<String>,
    },
    #[serde(rename = "im")]
    Im {
        to: String,
        text: String,
        /// Echoed in `im_status`; the agent numbers messages itself if absent.
        #[serde(default)]
        id: Option<u64>,
    },
    #[serde(rename = "typing")]
    Typing { to: String },
    #[serde(rename = "buddy.add")]
    BuddyAdd {
        uri: String,
        #[serde(default)]
        group: Option<String>,
        #[serde(default)]
        display: Option<String>,
    },
    #[serde(rename = "buddy.remove")]
    BuddyRemove { uri: String },
    #[serde(rename = "call")]
    Call { to: String },
    #[serde(rename = "call.hold")]
    CallHold { held: bool },
    #[serde(rename = "call.dtmf")]
    CallDtmf { digits: String },
    #[serde(rename = "mute")]
    Mute { muted: bool },
    #[serde(rename = "call.answer")]
    CallAnswer {},
    #[serde(rename = "call.decline")]
    CallDecline {},
    #[serde(rename = "call.hangup")]
    CallHangup {},
    /// IM to conference: create one, join its audio from here, and have
    /// the A/V MCU call each of `with`.
    #[serde(rename = "escalate")]
    Escalate {
        #[serde(default)]
        with: Vec<String>,
        /// As `conference.join_audio`'s: `client` (the default) or `phone`
        /// with a `number` ("call me at").
        #[serde(default)]
        via: Option<String>,
        #[serde(default)]
        number: Option<String>,
    },
    #[serde(rename = "conference.create")]
    ConferenceCreate {},
    /// `via`: `client` (this client's sound) or `phone` (the MCU calls
    /// `number`).
    #[serde(rename = "conference.join_audio")]
    ConferenceJoinAudio {
        via: String,
        #[serde(default)]
        number: Option<String>,
    },
    /// A sip: address or a phone number.
    #[serde(rename = "conference.invite")]
    ConferenceInvite { uri: String },
    #[serde(rename = "conference.eject")]
    ConferenceEject { uri: String },
    #[serde(rename = "conference.promote")]
    ConferencePromote { uri: String },
    #[serde(rename = "conference.demote")]
    ConferenceDemote { uri: String },
    #[serde(rename = "conference.mute")]
    ConferenceMute { uri: String, muted: bool },
    #[serde(rename = "conference.lock")]
    ConferenceLock { locked: bool },
    #[serde(rename = "conference.end")]
    ConferenceEnd {},
    #[serde(rename = "conference.leave")]
    ConferenceLeave {},
    #[serde(rename = "conference.im")]
    ConferenceIm {
        text: String,
        /// Echoed in `im_status`, as for `im`.
        #[serde(default)]
        id: Option<u64>,
    },
    #[serde(rename = "conference.typing")]
    ConferenceTyping {},
    /// What a number dials as under the location profile.
    #[serde(rename = "normalize")]
    Normalize { number: String },
    #[serde(rename = "quit")]
    Quit {},
}

/// An event line for stdout.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AgentEvent {
    Registered {
        uri: String,
    },
    RegistrationFailed {
        reason: String,
    },
    Presence {
        uri: String,
        state: &'static str,
        note: String,
    },
    Buddies {
        buddies: Vec<AgentBuddy>,
    },
    Im {
        from: String,
        text: String,
        /// The conference's focus, for a conference IM.
        #[serde(skip_serializing_if = "Option::is_none")]
        conference: Option<String>,
    },
    ImStatus {
        id: u64,
        to: String,
        delivered: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Typing {
        from: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        conference: Option<String>,
    },
    Audio {
        state: &'static str,
        reason: String,
    },
    /// With `conference` (its focus): an invitation to a conference,
    /// answered with `call.answer`.
    IncomingCall {
        from: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        conference: Option<String>,
    },
    Call {
        peer: String,
        state: CallState,
    },
    Error {
        #[serde(skip_serializing_if = "Option::is_none")]
        command: Option<String>,
        reason: String,
    },
    /// Joined the conference of `focus`, with this role; again when the
    /// role changes.
    Conference {
        focus: String,
        role: String,
    },
    Roster {
        focus: String,
        version: u32,
        locked: bool,
        users: Vec<AgentParticipant>,
        #[serde(skip_serializing_if = "Option::is_none")]
        dial_in: Option<AgentDialIn>,
    },
    Ejected {
        focus: String,
    },
    ConferenceEnded {
        focus: String,
    },
    /// `number` dials as `e164`, by the location profile's `rule` (its
    /// description, else its pattern).
    Normalized {
        number: String,
        e164: String,
        rule: String,
    },
}

/// How phones join a conference (see [`client::DialIn`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentDialIn {
    pub number: String,
    pub code: String,
}

/// One roster user (see [`client::Participant`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentParticipant {
    pub uri: String,
    pub display: String,
    pub roles: Vec<String>,
    pub status: String,
    pub audio: String,
    pub muted: bool,
    /// Why the audio ended (`busy`, `no answer`), when the roster says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `dialed-out` or `dialed-in`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joining: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_id: Option<u32>,
    /// How their audio reaches the MCU, while in the audio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<AgentQuality>,
}

/// A participant's call quality (see [`client::Quality`]): `loss` in
/// percent, the rest in milliseconds; a figure the roster lacks is left
/// out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentQuality {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffer_ms: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentBuddy {
    pub uri: String,
    pub display: String,
    pub group: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    Ringing,
    Connected,
    Held,
    Ended,
}

/// Reads stdin lines into core commands, numbering messages that come
/// without an `id`.
#[derive(Debug, Default)]
pub struct CommandReader {
    next_im_id: u64,
}

impl CommandReader {
    /// One stdin line: a core command, nothing (a blank line), or the error
    /// event to print.
    pub fn read(&mut self, line: &str) -> Result<Option<client::Command>, AgentEvent> {
        let line = line.trim();
        if line.is_empty() {
            return Ok(None);
        }
        let command: AgentCommand =
            serde_json::from_str(line).map_err(|error| AgentEvent::Error {
                command: command_name(line),
                reason: format!("not a command: {error}"),
            })?;
        self.convert(command)
            .map(Some)
            .map_err(|reason| AgentEvent::Error {
                command: command_name(line),
                reason,
            })
    }

    fn convert(&mut self, command: AgentCommand) -> Result<client::Command, String> {
        Ok(match command {
            AgentCommand::Presence { state, note } => client::Command::SetPresence {
                availability: state.parse()?,
                note,
            },
            AgentCommand::Im { to, text, id } => client::Command::SendIm {
                id: id.unwrap_or_else(|| self.next_id()),
                to,
                text,
            },
            AgentCommand::Typing { to } => client::Command::Typing { to },
            AgentCommand::BuddyAdd {
                uri,
                group,
                display,
            } => client::Command::AddBuddy {
                uri,
                display,
                group,
            },
            AgentCommand::BuddyRemove { uri } => client::Command::RemoveBuddy { uri },
            AgentCommand::Call { to } => client::Command::Call { to },
            AgentCommand::CallHold { held } => client::Command::Hold { held },
            AgentCommand::CallDtmf { digits } => client::Command::Dtmf { digits },
            AgentCommand::Mute { muted } => client::Command::Mute { muted },
            AgentCommand::CallAnswer {} => client::Command::AnswerCall,
            AgentCommand::CallDecline {} => client::Command::DeclineCall,
            AgentCommand::CallHangup {} => client::Command::HangUp,
            AgentCommand::Escalate { with, via, number } => client::Command::Escalate {
                with,
                via: audio_via(via.as_deref().unwrap_or("client"), number)?,
            },
            AgentCommand::ConferenceCreate {} => client::Command::CreateConference,
            AgentCommand::ConferenceJoinAudio { via, number } => {
                client::Command::JoinConferenceAudio {
                    via: audio_via(&via, number)?,
                }
            }
            AgentCommand::ConferenceInvite { uri } => client::Command::ConferenceInvite { uri },
            AgentCommand::ConferenceEject { uri } => client::Command::ConferenceEject { uri },
            AgentCommand::ConferencePromote { uri } => {
                client::Command::ConferenceSetRole { uri, leader: true }
            }
            AgentCommand::ConferenceDemote { uri } => {
                client::Command::ConferenceSetRole { uri, leader: false }
            }
            AgentCommand::ConferenceMute { uri, muted } => {
                client::Command::ConferenceMute { uri, muted }
            }
            AgentCommand::ConferenceLock { locked } => client::Command::ConferenceLock { locked },
            AgentCommand::ConferenceEnd {} => client::Command::ConferenceEnd,
            AgentCommand::ConferenceLeave {} => client::Command::LeaveConference,
            AgentCommand::ConferenceIm { text, id } => client::Command::ConferenceIm {
                id: id.unwrap_or_else(|| self.next_id()),
                text,
            },
            AgentCommand::ConferenceTyping {} => client::Command::ConferenceTyping,
            AgentCommand::Normalize { number } => client::Command::Normalize { number },
            AgentCommand::Quit {} => client::Command::Quit,
        })
    }

    fn next_id(&mut self) -> u64 {
        self.next_im_id += 1;
        self.next_im_id
    }
}

/// `conference.join_audio`'s `via` and `number`.
fn audio_via(via: &str, number: Option<String>) -> Result<client::AudioVia, String> {
    match (via, number) {
        ("client", _) => Ok(client::AudioVia::Client),
        ("phone", Some(number)) if !number.trim().is_empty() => {
            Ok(client::AudioVia::Phone { number })
        }
        ("phone", _) => Err("via \"phone\" needs a number".into()),
        (other, _) => Err(format!("via {other:?} is neither \"client\" nor \"phone\"")),
    }
}

/// Reads one line with a fresh reader (for tests and one-off use).
pub fn parse_command(line: &str) -> Result<Option<client::Command>, AgentEvent> {
    CommandReader::default().read(line)
}

/// The `cmd` of a line that failed to parse, so the error names it.
fn command_name(line: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    value.get("cmd")?.as_str().map(str::to_owned)
}

/// Turns a core event into the line to print, if the contract has one.
pub fn event_line(event: &client::Event) -> Option<String> {
    let event = match event {
        client::Event::Registered { uri } => AgentEvent::Registered { uri: uri.clone() },
        client::Event::RegistrationFailed { reason } => AgentEvent::RegistrationFailed {
            reason: reason.clone(),
        },
        client::Event::Presence {
            uri,
            availability,
            note,
        } => AgentEvent::Presence {
            uri: uri.clone(),
            state: availability.as_str(),
            note: note.clone(),
        },
        client::Event::Buddies { buddies } => AgentEvent::Buddies {
            buddies: buddies
                .iter()
                .map(|buddy| AgentBuddy {
                    uri: buddy.uri.clone(),
                    display: buddy.display.clone(),
                    group: buddy.group.clone(),
                })
                .collect(),
        },
        client::Event::Im { from, text } => AgentEvent::Im {
            from: from.clone(),
            text: text.clone(),
            conference: None,
        },
        client::Event::ImStatus {
            id,
            to,
            delivered,
            reason,
        } => AgentEvent::ImStatus {
            id: *id,
            to: to.clone(),
            delivered: *delivered,
            reason: reason.clone(),
        },
        client::Event::Typing { from } => AgentEvent::Typing {
            from: from.clone(),
            conference: None,
        },
        client::Event::Audio { state, reason } => AgentEvent::Audio {
            state,
            reason: reason.clone(),
        },
        client::Event::IncomingCall { from } => AgentEvent::IncomingCall {
            from: from.clone(),
            conference: None,
        },
        client::Event::CallRinging { peer } => AgentEvent::Call {
            peer: peer.clone(),
            state: CallState::Ringing,
        },
        client::Event::CallConnected { peer } => AgentEvent::Call {
            peer: peer.clone(),
            state: CallState::Connected,
        },
        client::Event::CallEnded { peer, .. } => AgentEvent::Call {
            peer: peer.clone(),
            state: CallState::Ended,
        },
        client::Event::CommandFailed { command, reason } => AgentEvent::Error {
            command: Some(command.to_string()),
            reason: reason.clone(),
        },
        client::Event::SubscriptionFailed {
            package,
            target,
            reason,
        } => AgentEvent::Error {
            command: None,
            reason: format!("the server refused the {package} subscription to {target}: {reason}"),
        },
        client::Event::CallHeld { peer, held } => AgentEvent::Call {
            peer: peer.clone(),
            state: if *held {
                CallState::Held
            } else {
                CallState::Connected
            },
        },
        client::Event::ConferenceJoined { focus, role } => AgentEvent::Conference {
            focus: focus.clone(),
            role: role.clone(),
        },
        client::Event::Roster {
            focus,
            version,
            locked,
            users,
            dial_in,
        } => AgentEvent::Roster {
            focus: focus.clone(),
            version: *version,
            locked: *locked,
            users: users.iter().map(participant).collect(),
            dial_in: dial_in.as_ref().map(|dial_in| AgentDialIn {
                number: dial_in.number.clone(),
                code: dial_in.code.clone(),
            }),
        },
        client::Event::ConferenceInvitation { from, focus } => AgentEvent::IncomingCall {
            from: from.clone(),
            conference: Some(focus.clone()),
        },
        client::Event::ConferenceIm { focus, from, text } => AgentEvent::Im {
            from: from.clone(),
            text: text.clone(),
            conference: Some(focus.clone()),
        },
        client::Event::ConferenceTyping { focus, from } => AgentEvent::Typing {
            from: from.clone(),
            conference: Some(focus.clone()),
        },
        client::Event::Ejected { focus } => AgentEvent::Ejected {
            focus: focus.clone(),
        },
        client::Event::ConferenceEnded { focus } => AgentEvent::ConferenceEnded {
            focus: focus.clone(),
        },
        client::Event::Normalized { number, e164, rule } => AgentEvent::Normalized {
            number: number.clone(),
            e164: e164.clone(),
            rule: rule.clone(),
        },
        client::Event::Unregistered
        | client::Event::Muted { .. }
        | client::Event::Provisioned { .. } => return None,
    };
    // Serialising a plain enum of strings cannot fail.
    serde_json::to_string(&event).ok()
}

fn participant(participant: &client::Participant) -> AgentParticipant {
    AgentParticipant {
        uri: participant.uri.clone(),
        display: participant.display.clone(),
        roles: participant.roles.clone(),
        status: participant.status.clone(),
        audio: participant.audio.clone(),
        muted: participant.muted,
        reason: participant.reason.clone(),
        joining: participant.joining.clone(),
        src_id: participant.src_id,
        quality: participant.quality.as_ref().map(|quality| AgentQuality {
            codec: quality.codec.clone(),
            loss: quality.loss_percent(),
            jitter_ms: quality.jitter_ms,
            rtt_ms: quality.rtt_ms,
            buffer_ms: quality.buffer_ms,
        }),
    }
}

#[cfg(test)]
mod tests;
