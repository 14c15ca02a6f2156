//! Setting a conference up: SERVICE `addConference` to our focus factory
//! ([MS-CONFPRO] 3.2.5), INVITE `addUser` to the focus with its 2xx ACKed
//! (RFC 3261 §13.2.2.4), the roster subscription and the audio call that
//! follow; and the other way in, an invitation from the A/V MCU answered
//! like a call (PROTOCOLS.md section 4, step 3).

use rsip::headers::UntypedHeader as _;
use rsip::message::HeadersExt as _;
use rsip::{Header, Method, Request, Response};

use super::{Answer, Conference, ConferenceRequest, Phase};
use crate::client::{AudioVia, Client, Event, Purpose, status_line};
use crate::proto::Time;
use crate::proto::c3p::{
    self, AddUser, AdmissionPolicy, C3pCommand, ConferenceInfo, ConferenceUser, ResponseCode,
    UserEndpoint,
};
use crate::proto::conference_info::Roster;
use crate::proto::conference_uri::{ConferencePart, ConferenceUri};
use crate::proto::dialog::{Dialog, dialog_id_of_response};
use crate::proto::{build, message};

/// An A/V MCU calling us into its conference.
pub(in crate::client) struct Invitation {
    /// Who invited us: Referred-By (RFC 3892), else the organizer.
    pub from: String,
    pub focus: String,
    /// The A/V MCU's URI, the call's peer.
    pub mcu: String,
}

impl Client {
    /// CreateConference (`audio` false) or Escalate (`audio` true, and a
    /// dial-out to each of `invitees` once joined).
    pub(super) fn create_conference(
        &mut self,
        now: Time,
        origin: &'static str,
        audio: bool,
        invitees: &[String],
    ) -> Result<(), String> {
        if !self.registration.is_registered() {
            return Err("not signed in".into());
        }
        if self.conferencing.active().is_some() {
            return Err("already in a conference; leave it first".into());
        }
        if audio && self.call.is_some() {
            return Err("already in a call; hang up first".into());
        }
        let dial_outs = invitees
            .iter()
            .map(|invitee| self.dial_out(origin, invitee))
            .collect::<Result<Vec<_>, _>>()?;
        let factory = ConferenceUri::focus_factory(&self.config.user, &self.config.domain)
            .map_err(|error| format!("no focus factory for {}: {error}", self.aor))?
            .to_string();
        let info = ConferenceInfo {
            admission_policy: Some(AdmissionPolicy::OpenAuthenticated),
            entity_views: [ConferencePart::Chat, ConferencePart::AudioVideo]
                .map(|part| part.as_str().to_owned())
                .into(),
            ..ConferenceInfo::default()
        };
        let request = self.c3p_request(&factory, C3pCommand::AddConference(info));
        let purpose = Purpose::Conference(ConferenceRequest::Create);
        self.send_new_request(
            now,
            Method::Service,
            &factory,
            vec![Self::cccp_content_type()],
            request.to_xml().into_bytes(),
            purpose.clone(),
        );
        if self.last_sent(&purpose).is_none() {
            return Err("the request to the focus factory could not be sent".into());
        }
        self.forget_conference(now);
        let mut conference = Conference::new(origin, Phase::Creating, None);
        conference.audio_after_join = audio;
        conference.queue.extend(dial_outs);
        self.conferencing.current = Some(conference);
        Ok(())
    }

    /// The final answer to one of the conference's requests.
    pub(in crate::client) fn conference_answered(
        &mut self,
        now: Time,
        request: ConferenceRequest,
        answer: Answer<'_>,
    ) {
        match request {
            ConferenceRequest::Create => self.conference_created(now, answer),
            ConferenceRequest::Join => self.focus_answered(now, answer),
            ConferenceRequest::Command(command) => self.control_answered(now, command, answer),
            // Routed to `conference_subscribe_answered` by the caller.
            ConferenceRequest::Subscribe => {}
            ConferenceRequest::Bye => {
                if let Answer::Failed(reason) = answer {
                    tracing::debug!(%reason, "BYE to the focus unanswered");
                }
            }
        }
    }

    /// The focus factory's answer: the focus to join, or why not.
    fn conference_created(&mut self, now: Time, answer: Answer<'_>) {
        let creating = self
            .conferencing
            .current
            .as_ref()
            .is_some_and(|conference| conference.phase == Phase::Creating);
        if !creating {
            tracing::debug!("focus factory answered a conference no longer wanted");
            return;
        }
        let focus = match answer {
            Answer::Failed(reason) => return self.setup_failed(now, reason),
            Answer::Response { response, .. } if !is_success(response) => {
                return self.setup_failed(now, status_line(response));
            }
            Answer::Response { response, .. } => match created_focus(&response.body) {
                Ok(focus) => focus,
                Err(reason) => return self.setup_failed(now, reason),
            },
        };
        if let Some(conference) = self.conferencing.current.as_mut() {
            conference.roster = Roster::new(focus.to_string());
            conference.focus = Some(focus);
            conference.phase = Phase::Joining;
        }
        self.send_join(now);
    }

    /// INVITE `addUser` to the focus, no SDP (PROTOCOLS.md section 2).
    fn send_join(&mut self, now: Time) {
        let Some(focus) = self.conferencing.active().map(Conference::focus_uri) else {
            return;
        };
        let add = AddUser {
            mcu_uri: None,
            conf_entity: focus.clone(),
            user: ConferenceUser {
                entity: self.aor.clone(),
                display_text: None,
                role: None,
                endpoint: Some(UserEndpoint {
                    entity: self.aor.clone(),
                    ..UserEndpoint::default()
                }),
            },
        };
        let body = self
            .c3p_request(&focus, C3pCommand::AddUser(add))
            .to_xml()
            .into_bytes();
        let extra = vec![
            Header::Contact(rsip::headers::Contact::new(format!("<{}>", self.contact))),
            Header::Allow(rsip::headers::Allow::new(
                "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, NOTIFY, INFO",
            )),
            Header::Accept(rsip::headers::Accept::new(c3p::CONTENT_TYPE)),
            Self::cccp_content_type(),
        ];
        let purpose = Purpose::Conference(ConferenceRequest::Join);
        self.send_new_request(now, Method::Invite, &focus, extra, body, purpose.clone());
        if self.last_sent(&purpose).is_none() {
            self.setup_failed(now, "the INVITE to the focus could not be sent".into());
        }
    }

    /// The focus's final answer to our joining INVITE.
    fn focus_answered(&mut self, now: Time, answer: Answer<'_>) {
        let Some(phase) = self
            .conferencing
            .current
            .as_ref()
            .filter(|conference| conference.dialog.is_none())
            .map(|conference| conference.phase)
        else {
            return;
        };
        if !matches!(phase, Phase::Joining | Phase::Over) {
            return;
        }
        let (request, response) = match answer {
            Answer::Response { request, response } if is_success(response) => (request, response),
            Answer::Response { response, .. } => {
                if phase == Phase::Joining {
                    self.setup_failed(now, refusal(response));
                }
                return;
            }
            Answer::Failed(reason) => {
                if phase == Phase::Joining {
                    self.setup_failed(now, reason);
                }
                return;
            }
        };
        let dialog = match Dialog::from_uac(request, response) {
            Ok(dialog) => dialog,
            Err(error) => {
                tracing::info!(%error, "the focus's 2xx makes no dialog");
                if phase == Phase::Joining {
                    self.setup_failed(now, "the focus's answer makes no dialog".into());
                }
                return;
            }
        };
        if let Some(conference) = self.conferencing.current.as_mut() {
            conference.dialog = Some(dialog);
        }
        self.send_focus_ack(response);
        if phase == Phase::Over {
            // Left while joining: out again at once.
            return self.send_focus_bye(now);
        }
        let role = match granted_role(&response.body) {
            Ok(role) => role,
            Err(JoinRefused(reason)) => return self.setup_failed(now, reason),
        };
        let Some(conference) = self.conferencing.current.as_mut() else {
            return;
        };
        conference.phase = Phase::Joined;
        conference.role = role.clone();
        let focus = conference.focus_uri();
        let origin = conference.origin;
        let audio = std::mem::take(&mut conference.audio_after_join);
        self.events
            .push_back(Event::ConferenceJoined { focus, role });
        self.start_roster_subscription(now);
        if audio {
            if let Err(reason) = self.call_conference_audio(now) {
                self.events.push_back(Event::CommandFailed {
                    command: origin,
                    reason,
                });
            }
        }
        self.send_next_control(now);
    }

    /// RFC 3261 §13.2.2.4: the ACK for the focus's 2xx, in its dialog.
    fn send_focus_ack(&mut self, response: &Response) {
        let via = rsip::headers::Via::new(self.via());
        let Some(dialog) = self
            .conferencing
            .current
            .as_ref()
            .and_then(|conference| conference.dialog.as_ref())
        else {
            return;
        };
        let cseq = response
            .cseq_header()
            .ok()
            .and_then(|cseq| cseq.value().split_whitespace().next()?.parse::<u32>().ok())
            .unwrap_or(1);
        let ack = dialog.build_ack(cseq, via);
        let destination = super::dialog_destination(dialog, self.config.server);
        self.transactions.send_stateless(ack.into(), destination);
    }

    /// A 2xx to our joining INVITE again (our ACK was lost): ACK it again.
    /// False if it is not the focus dialog's.
    pub(in crate::client) fn conference_2xx_again(&mut self, response: &Response) -> bool {
        let ours = self
            .conferencing
            .current
            .as_ref()
            .and_then(|conference| conference.dialog.as_ref())
            .is_some_and(|dialog| {
                dialog_id_of_response(response, true).as_ref() == Some(dialog.id())
                    && message::cseq_method(response) == Some(Method::Invite)
            });
        if ours && is_success(response) {
            self.send_focus_ack(response);
        }
        ours
    }

    /// The setup failed: say so under the command that started it, and
    /// leave the focus dialog if the focus admitted us after all.
    fn setup_failed(&mut self, now: Time, reason: String) {
        let Some(conference) = self.conferencing.current.as_ref() else {
            return;
        };
        tracing::info!(%reason, "conference setup failed");
        self.events.push_back(Event::CommandFailed {
            command: conference.origin,
            reason,
        });
        self.send_focus_bye(now);
        self.conferencing.current = None;
    }

    /// Whether an INVITE is an A/V MCU's dial-out (From is its URI), and
    /// to which conference.
    pub(in crate::client) fn conference_invitation(&self, request: &Request) -> Option<Invitation> {
        let from = request.from_header().ok()?;
        let mcu = super::conference_uri_in(from.value())?;
        if mcu.part != ConferencePart::AudioVideo {
            return None;
        }
        let focus = mcu.with_part(ConferencePart::Focus).ok()?;
        let inviter = message::header_value(&request.headers, "Referred-By")
            .and_then(build::address_of)
            .unwrap_or_else(|| format!("sip:{}@{}", mcu.organizer_user, mcu.domain));
        Some(Invitation {
            from: inviter,
            focus: focus.to_string(),
            mcu: mcu.to_string(),
        })
    }

    /// Whether we are in a conference other than `focus`'s.
    pub(in crate::client) fn in_other_conference(&self, focus: &str) -> bool {
        self.conferencing
            .active()
            .is_some_and(|conference| conference.focus_uri() != focus)
    }

    /// After AnswerCall: if the call is an A/V MCU's invitation, join its
    /// focus as well (its audio is this call).
    pub(in crate::client) fn conference_call_answered(&mut self, now: Time) {
        let Some((id, mcu)) = self.call.as_ref().and_then(|call| {
            let uri = ConferenceUri::parse(call.peer()).ok()?;
            (uri.part == ConferencePart::AudioVideo).then(|| (call.id(), uri))
        }) else {
            return;
        };
        let Ok(focus) = mcu.with_part(ConferencePart::Focus) else {
            return;
        };
        if let Some(conference) = self.conferencing.active_mut() {
            // Already in it (the MCU called us back): this is its audio.
            if conference.focus.as_ref() == Some(&focus) {
                conference.audio_call = Some(id);
            }
            return;
        }
        self.forget_conference(now);
        let mut conference = Conference::new("call.answer", Phase::Joining, Some(focus));
        conference.audio_call = Some(id);
        self.conferencing.current = Some(conference);
        self.send_join(now);
    }

    pub(super) fn join_conference_audio(
        &mut self,
        now: Time,
        via: &AudioVia,
    ) -> Result<(), String> {
        let Some(conference) = self.conferencing.active() else {
            return Err("not in a conference".into());
        };
        match via {
            AudioVia::Client => {
                if self.in_conference_audio() {
                    return Err("already in the conference's audio".into());
                }
                if self.call.is_some() {
                    return Err("already in a call; hang up first".into());
                }
                if conference.phase == Phase::Joined {
                    return self.call_conference_audio(now);
                }
                if let Some(conference) = self.conferencing.active_mut() {
                    conference.audio_after_join = true;
                }
                Ok(())
            }
            AudioVia::Phone { number } => {
                let control = self.phone_dial_out(number)?;
                self.queue_control(now, control);
                Ok(())
            }
        }
    }

    /// Our audio call to the conference's A/V MCU is up or on its way.
    fn in_conference_audio(&self) -> bool {
        let audio = self.conferencing.active().and_then(|c| c.audio_call);
        self.call
            .as_ref()
            .is_some_and(|call| audio == Some(call.id()))
    }

    /// A normal call with SDP to the A/V MCU (PROTOCOLS.md section 4.2).
    fn call_conference_audio(&mut self, now: Time) -> Result<(), String> {
        let mcu = self
            .conferencing
            .active()
            .and_then(|conference| conference.mcu_uri(ConferencePart::AudioVideo))
            .ok_or("the conference has no A/V MCU")?;
        let id = self.start_call(now, mcu)?;
        if let Some(conference) = self.conferencing.active_mut() {
            conference.audio_call = Some(id);
        }
        Ok(())
    }
}

/// A C3P failure in an answer that admitted us at the SIP level.
struct JoinRefused(String);

fn is_success(response: &Response) -> bool {
    (200..300).contains(&response.status_code.code())
}

/// The focus from the factory's C3P answer, or why there is none.
fn created_focus(body: &[u8]) -> Result<ConferenceUri, String> {
    let response = c3p::parse_response(body).map_err(|error| {
        tracing::info!(%error, "unreadable C3P answer from the focus factory");
        format!("the focus factory's answer is unreadable ({error})")
    })?;
    match (response.code, response.command) {
        (ResponseCode::Success, C3pCommand::AddConference(info)) => {
            match ConferenceUri::parse(&info.entity) {
                Ok(focus) if focus.part == ConferencePart::Focus => Ok(focus),
                _ => Err(format!(
                    "the focus factory answered no focus URI ({:?})",
                    info.entity
                )),
            }
        }
        (ResponseCode::Success, other) => Err(format!(
            "the focus factory answered {} instead of addConference",
            other.name()
        )),
        (ResponseCode::Failure, _) => Err(failure_reason(response.reason)),
        (ResponseCode::Pending, _) => Err("the focus factory left the request pending".into()),
    }
}

/// The role the focus granted in its C3P answer to our join. A body we
/// cannot read does not undo the SIP-level admission: the roster will say.
fn granted_role(body: &[u8]) -> Result<String, JoinRefused> {
    let default = || "attendee".to_owned();
    match c3p::parse_response(body) {
        Err(error) => {
            tracing::info!(%error, "unreadable C3P answer to our join; taking attendee");
            Ok(default())
        }
        Ok(response) => match (response.code, response.command) {
            (ResponseCode::Failure, _) => Err(JoinRefused(failure_reason(response.reason))),
            (_, C3pCommand::AddUser(add)) => Ok(add
                .user
                .role
                .map_or_else(default, |role| role.as_str().to_owned())),
            _ => Ok(default()),
        },
    }
}

/// The UCMA reason name of a C3P failure ([MS-CONFBAS]; PROTOCOLS.md 2).
pub(super) fn failure_reason(reason: Option<c3p::FailureReason>) -> String {
    reason
        .unwrap_or(c3p::FailureReason::OtherFailure)
        .as_str()
        .to_owned()
}

/// A refused join: the status line, with the [MS-OCER] diagnostic's
/// reason when the focus gave one (`403 Forbidden (conference locked)`).
fn refusal(response: &Response) -> String {
    let status = status_line(response);
    let diagnostic = message::header_value(&response.headers, c3p::MS_DIAGNOSTICS_HEADER)
        .and_then(|value| message::param(value, "reason").flatten());
    match diagnostic {
        Some(reason) => format!("{status} ({reason})"),
        None => status,
    }
}
