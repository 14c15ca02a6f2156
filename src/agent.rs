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
    },
    Audio {
        state: &'static str,
        reason: String,
    },
    IncomingCall {
        from: String,
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
            AgentCommand::Im { to, text, id } => {
                let id = id.unwrap_or_else(|| {
                    self.next_im_id += 1;
                    self.next_im_id
                });
                client::Command::SendIm { id, to, text }
            }
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
            AgentCommand::Quit {} => client::Command::Quit,
        })
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
        client::Event::Typing { from } => AgentEvent::Typing { from: from.clone() },
        client::Event::Audio { state, reason } => AgentEvent::Audio {
            state,
            reason: reason.clone(),
        },
        client::Event::IncomingCall { from } => AgentEvent::IncomingCall { from: from.clone() },
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
        client::Event::CallHeld { peer, held } => AgentEvent::Call {
            peer: peer.clone(),
            state: if *held {
                CallState::Held
            } else {
                CallState::Connected
            },
        },
        client::Event::Unregistered | client::Event::Muted { .. } => return None,
        // The conference events get their contract lines with the
        // conference commands.
        _ => return None,
    };
    // Serialising a plain enum of strings cannot fail.
    serde_json::to_string(&event).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_by_their_contract_names() {
        assert_eq!(
            parse_command(r#"{"cmd":"quit"}"#),
            Ok(Some(client::Command::Quit))
        );
        assert_eq!(
            parse_command(r#"{"cmd":"call.answer"}"#),
            Ok(Some(client::Command::AnswerCall))
        );
        assert_eq!(parse_command("   "), Ok(None));
    }

    #[test]
    fn bad_lines_become_error_events_naming_the_command() {
        let Err(AgentEvent::Error { command, reason }) = parse_command(r#"{"cmd":"fly"}"#) else {
            panic!("an unknown command must be an error");
        };
        assert_eq!(command.as_deref(), Some("fly"));
        assert!(reason.contains("not a command"), "{reason}");
        assert!(matches!(
            parse_command("{not json"),
            Err(AgentEvent::Error { command: None, .. })
        ));
    }

    #[test]
    fn events_print_with_their_contract_names() {
        let line = event_line(&client::Event::Registered {
            uri: "sip:amy@confab.local".into(),
        });
        assert_eq!(
            line.as_deref(),
            Some(r#"{"event":"registered","uri":"sip:amy@confab.local"}"#)
        );
        let line = event_line(&client::Event::RegistrationFailed {
            reason: "403 Forbidden".into(),
        });
        assert_eq!(
            line.as_deref(),
            Some(r#"{"event":"registration_failed","reason":"403 Forbidden"}"#)
        );
        let line = event_line(&client::Event::CallRinging {
            peer: "sip:hao@confab.local".into(),
        });
        assert_eq!(
            line.as_deref(),
            Some(r#"{"event":"call","peer":"sip:hao@confab.local","state":"ringing"}"#)
        );
    }
}
