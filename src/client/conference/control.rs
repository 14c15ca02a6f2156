//! The C3P commands a participant sends the focus as INFO in the focus
//! dialog ([MS-CONFBAS], [MS-CONFAV]; PROTOCOLS.md section 2): dial-outs
//! (inviting someone, "call me at"), and the leader's eject, promote and
//! demote, mute, lock and end. The focus answers each INFO with 200 and
//! the C3P response in its body; a failure there, or a SIP failure,
//! becomes [`Event::CommandFailed`] with the C3P reason or the status.
//!
//! The focus decides who may do what (it answers `forbidden`); the client
//! checks only what it needs to build the command. Commands wait in a
//! queue while the conference is being joined, and go one INFO at a time.

use rsip::headers::UntypedHeader as _;
use rsip::{Header, Method};

use super::join::failure_reason;
use super::roster::{audio_endpoint, audio_media};
use super::{Answer, ConferenceRequest, Phase};
use crate::client::{Client, Command, Event, Purpose, status_line};
use crate::proto::Time;
use crate::proto::c3p::{
    self, AddUser, C3pCommand, ConferenceKeys, ConferenceUser, JoiningMethod, MediaChange,
    MediaFilter, MediaKeys, ModifyConferenceLock, ModifyEndpointMedia, ModifyUserRoles,
    ResponseCode, Role, UserEndpoint, UserKeys,
};
use crate::proto::conference_uri::ConferencePart;

/// A command for the focus, and the front-end command it answers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Control {
    pub command: &'static str,
    kind: ControlKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ControlKind {
    /// `addUser` with `mscp:mcuUri`: the A/V MCU calls `endpoint_uri` for
    /// the user `user`.
    DialOut {
        user: String,
        endpoint_uri: String,
    },
    Eject {
        user: String,
    },
    SetRole {
        user: String,
        role: Role,
    },
    Mute {
        user: String,
        endpoint: String,
        media_id: String,
        muted: bool,
    },
    Lock {
        locked: bool,
    },
    End,
}

impl Client {
    /// Invite, eject, promote or demote, mute, lock, end.
    pub(super) fn conference_control(
        &mut self,
        now: Time,
        command: &Command,
    ) -> Result<(), String> {
        let Some(conference) = self.conferencing.active() else {
            return Err("not in a conference".into());
        };
        let kind = match command {
            Command::ConferenceInvite { uri } => {
                return self
                    .dial_out(command.name(), uri)
                    .map(|control| self.queue_control(now, control));
            }
            Command::ConferenceEject { uri } => ControlKind::Eject {
                user: self.target_uri(uri)?,
            },
            Command::ConferenceSetRole { uri, leader } => ControlKind::SetRole {
                user: self.target_uri(uri)?,
                role: if *leader {
                    Role::Presenter
                } else {
                    Role::Attendee
                },
            },
            Command::ConferenceMute { uri, muted } => {
                let user = self.target_uri(uri)?;
                // [MS-CONFAV]: the media keys come from the roster.
                let keys = conference
                    .roster
                    .user(&user)
                    .and_then(audio_endpoint)
                    .and_then(|endpoint| {
                        let media = audio_media(endpoint)?;
                        Some((endpoint.entity.clone(), media.id.clone()))
                    });
                let Some((endpoint, media_id)) = keys else {
                    return Err(format!("{user} is not in the conference's audio"));
                };
                ControlKind::Mute {
                    user,
                    endpoint,
                    media_id,
                    muted: *muted,
                }
            }
            Command::ConferenceLock { locked } => ControlKind::Lock { locked: *locked },
            Command::ConferenceEnd => ControlKind::End,
            other => return Err(format!("{} is not a conference command", other.name())),
        };
        let control = Control {
            command: command.name(),
            kind,
        };
        self.queue_control(now, control);
        Ok(())
    }

    /// A dial-out to `target`: a SIP address, or a phone number normalized
    /// by the location profile and sent as a `tel:` URI (RFC 3966), for the
    /// mediation gateway; a number that cannot be normalized is refused.
    pub(super) fn dial_out(&self, command: &'static str, target: &str) -> Result<Control, String> {
        let (user, endpoint_uri) = match self.phone_number(target)? {
            Some(e164) => (format!("tel:{e164}"), format!("tel:{e164}")),
            None => {
                let uri = self.target_uri(target)?;
                (uri.clone(), uri)
            }
        };
        Ok(Control {
            command,
            kind: ControlKind::DialOut { user, endpoint_uri },
        })
    }

    /// "Call me at": the A/V MCU calls `number` for our own user.
    pub(super) fn phone_dial_out(&self, number: &str) -> Result<Control, String> {
        let e164 = self
            .phone_number(number)?
            .ok_or_else(|| format!("{number:?} is not a phone number"))?;
        let endpoint_uri = format!("tel:{e164}");
        Ok(Control {
            command: "conference.join_audio",
            kind: ControlKind::DialOut {
                user: self.aor.clone(),
                endpoint_uri,
            },
        })
    }

    pub(super) fn queue_control(&mut self, now: Time, control: Control) {
        if let Some(conference) = self.conferencing.active_mut() {
            conference.queue.push_back(control);
        }
        self.send_next_control(now);
    }

    /// The next queued command as INFO, once joined and none is in flight.
    pub(super) fn send_next_control(&mut self, now: Time) {
        let ready = self.conferencing.active().is_some_and(|conference| {
            conference.phase == Phase::Joined
                && !conference.info_in_flight
                && conference.dialog.is_some()
                && !conference.queue.is_empty()
        });
        if !ready {
            return;
        }
        let Some(conference) = self.conferencing.active_mut() else {
            return;
        };
        let Some(control) = conference.queue.pop_front() else {
            return;
        };
        let focus = conference.focus_uri();
        let mcu = conference
            .mcu_uri(ConferencePart::AudioVideo)
            .unwrap_or_default();
        let endpoint_guid = format!("{{{}}}", self.ids.uuid());
        let command = control.kind.to_c3p(&focus, &mcu, endpoint_guid);
        let body = self.c3p_request(&focus, command).to_xml().into_bytes();
        let via = rsip::headers::Via::new(self.via());
        let Some(conference) = self.conferencing.active_mut() else {
            return;
        };
        let Some(dialog) = conference.dialog.as_mut() else {
            return;
        };
        let mut info = dialog.build_request(Method::Info, via, None);
        info.headers
            .retain(|header| !matches!(header, Header::ContentLength(_)));
        info.headers.push(Self::cccp_content_type());
        info.body = body;
        conference.info_in_flight = true;
        let destination = super::dialog_destination(dialog, self.config.server);
        let purpose = Purpose::Conference(ConferenceRequest::Command(control.command));
        self.send_request(now, info, destination, purpose);
    }

    /// The focus's answer to an INFO: the C3P response in a 2xx.
    pub(super) fn control_answered(
        &mut self,
        now: Time,
        command: &'static str,
        answer: Answer<'_>,
    ) {
        let Some(conference) = self.conferencing.active_mut() else {
            return;
        };
        conference.info_in_flight = false;
        let failure = match answer {
            Answer::Failed(reason) => Some(reason),
            Answer::Response { response, .. } if response.status_code.code() >= 300 => {
                Some(status_line(response))
            }
            Answer::Response { response, .. } => match c3p::parse_response(&response.body) {
                Ok(c3p) if c3p.code == ResponseCode::Failure => Some(failure_reason(c3p.reason)),
                Ok(_) => None,
                Err(error) => {
                    tracing::info!(%error, command, "unreadable C3P answer from the focus");
                    Some(format!("the focus's answer is unreadable ({error})"))
                }
            },
        };
        if let Some(reason) = failure {
            self.events
                .push_back(Event::CommandFailed { command, reason });
        }
        self.send_next_control(now);
    }
}

impl ControlKind {
    fn to_c3p(&self, focus: &str, mcu: &str, endpoint_guid: String) -> C3pCommand {
        let user_keys = |user: &str| UserKeys {
            conf_entity: focus.to_owned(),
            user_entity: user.to_owned(),
        };
        match self {
            ControlKind::DialOut { user, endpoint_uri } => C3pCommand::AddUser(AddUser {
                mcu_uri: Some(mcu.to_owned()),
                conf_entity: focus.to_owned(),
                user: ConferenceUser {
                    entity: user.clone(),
                    display_text: None,
                    role: None,
                    endpoint: Some(UserEndpoint {
                        entity: endpoint_guid,
                        endpoint_uri: Some(endpoint_uri.clone()),
                        refer_to_uri: None,
                        joining_method: Some(JoiningMethod::DialedOut),
                    }),
                },
            }),
            ControlKind::Eject { user } => C3pCommand::DeleteUser(user_keys(user)),
            ControlKind::SetRole { user, role } => C3pCommand::ModifyUserRoles(ModifyUserRoles {
                keys: user_keys(user),
                role: role.clone(),
            }),
            ControlKind::Mute {
                user,
                endpoint,
                media_id,
                muted,
            } => C3pCommand::ModifyEndpointMedia(ModifyEndpointMedia {
                mcu_uri: mcu.to_owned(),
                keys: MediaKeys {
                    conf_entity: focus.to_owned(),
                    user_entity: user.clone(),
                    endpoint_entity: endpoint.clone(),
                    media_id: media_id.clone(),
                },
                media: MediaChange {
                    id: media_id.clone(),
                    media_type: Some("audio".into()),
                    status: None,
                    ingress_filter: Some(if *muted {
                        MediaFilter::Block
                    } else {
                        MediaFilter::Unblock
                    }),
                },
            }),
            ControlKind::Lock { locked } => {
                C3pCommand::ModifyConferenceLock(ModifyConferenceLock {
                    conf_entity: focus.to_owned(),
                    locked: *locked,
                })
            }
            ControlKind::End => C3pCommand::DeleteConference(ConferenceKeys {
                conf_entity: focus.to_owned(),
            }),
        }
    }
}
