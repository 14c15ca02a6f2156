//! One conference's focus: admission, the leader's commands, and the
//! roster with its NOTIFY documents (see the parent module for the
//! choices made).

use std::collections::BTreeMap;

use super::{FocusError, RosterEvent};
use crate::proto::Time;
use crate::proto::c3p::{C3pCommand, C3pRequest, C3pResponse, FailureReason, ResponseCode, Role};
use crate::proto::conference_info::{
    self, ConfUri, ConferenceInfo, ConferenceState, Description, DisconnectionMethod, Endpoint,
    EndpointStatus, IngressFilter, JoiningMethod, Media, MediaStatus, Roster, RosterError,
    SessionType, User,
};
use crate::proto::conference_uri::{ConferencePart, ConferenceUri};

mod commands;
mod quality;

pub use quality::{DELAY_STEP_MS, LOSS_STEP_PERMILLE, moved_noticeably, roster_quality};

/// The RFC 4575 media `@id` of the audio stream of an audio-video
/// endpoint: each such endpoint carries one audio medium.
pub const AUDIO_MEDIA_ID: &str = "1";

/// One focus.
#[derive(Debug, Clone)]
pub struct Conference {
    id: String,
    focus: ConferenceUri,
    /// The creator's address of record.
    organizer: String,
    created: Time,
    last_activity: Time,
    /// The state now.
    roster: Roster,
    /// The state as of `version`, the last document subscribers were
    /// sent; `notify_document` diffs `roster` against it.
    published: Roster,
    version: u32,
    /// Roles given out, kept across a user's leaving so that a presenter
    /// who drops and rejoins is a presenter again; an ejection forgets.
    roles: BTreeMap<String, Role>,
    locked: bool,
    ended: bool,
    /// Numbers the endpoints of dial-outs that name none.
    dial_outs: u64,
    dial_in: Option<DialIn>,
}

/// How a phone joins by calling in: the conferencing service's access
/// number, then this conference's code and `#` on the keypad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialIn {
    pub access_number: String,
    pub code: String,
}

type Outcome = Result<Vec<RosterEvent>, FailureReason>;

impl Conference {
    /// A conference with no one in it yet; `organizer` (an address of
    /// record) is its first leader.
    pub(super) fn new(
        now: Time,
        id: String,
        focus: ConferenceUri,
        organizer: &str,
        subject: &str,
        dial_in: Option<DialIn>,
    ) -> Conference {
        let mut roster = Roster::new(focus.to_string());
        let mut conf_uris: Vec<ConfUri> = [ConferencePart::Chat, ConferencePart::AudioVideo]
            .into_iter()
            .filter_map(|part| {
                let uri = focus.with_part(part).ok()?;
                Some(ConfUri {
                    uri: uri.to_string(),
                    display_text: None,
                    purpose: Some(part.as_str().to_owned()),
                })
            })
            .collect();
        if let Some(dial_in) = &dial_in {
            // RFC 4575 §5.3.5: a URI to join by, here a phone number; the
            // code to key in after it is its display text.
            conf_uris.push(ConfUri {
                uri: format!("tel:{}", dial_in.access_number),
                display_text: Some(format!("code {}", dial_in.code)),
                purpose: Some("participation".to_owned()),
            });
        }
        roster.set_description(Some(Description {
            subject: (!subject.is_empty()).then(|| subject.to_owned()),
            conf_uris,
        }));
        let mut conference = Conference {
            id,
            focus,
            organizer: organizer.to_owned(),
            created: now,
            last_activity: now,
            published: Roster::default(),
            roster,
            version: 1,
            roles: BTreeMap::from([(organizer.to_owned(), Role::Presenter)]),
            locked: false,
            ended: false,
            dial_outs: 0,
            dial_in,
        };
        conference.update_conference_state();
        conference.published = conference.roster.clone();
        conference.roster.take_touched();
        conference
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The focus URI.
    pub fn focus(&self) -> &ConferenceUri {
        &self.focus
    }

    /// The URI of one of this conference's MCUs.
    pub fn mcu_uri(&self, part: ConferencePart) -> Option<ConferenceUri> {
        self.focus.with_part(part).ok()
    }

    /// The access number and code to join by phone, when the service has
    /// an access number.
    pub fn dial_in(&self) -> Option<&DialIn> {
        self.dial_in.as_ref()
    }

    pub fn organizer(&self) -> &str {
        &self.organizer
    }

    pub fn created(&self) -> Time {
        self.created
    }

    /// When a command or SIP-side input last changed something.
    pub fn last_activity(&self) -> Time {
        self.last_activity
    }

    pub fn subject(&self) -> Option<&str> {
        self.roster.subject()
    }

    /// The state now, including changes not yet sent to subscribers.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// The role of a user in the roster.
    pub fn role(&self, user: &str) -> Option<&Role> {
        self.roster.user(user)?;
        self.roles.get(user)
    }

    pub fn is_locked(&self) -> bool {
        self.locked
    }

    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// The version of the last document subscribers were sent.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The first NOTIFY of a new subscription: the whole roster as of the
    /// last document the other subscribers were sent, so that the next
    /// [`Conference::notify_document`] takes every subscriber, old and new,
    /// to the same state.
    pub fn full_document(&self) -> ConferenceInfo {
        self.published.full_document(self.version)
    }

    /// The partial document of what changed since the last call, one
    /// version newer, for every subscription; `None` when nothing changed.
    pub fn notify_document(&mut self) -> Option<ConferenceInfo> {
        // Only the users touched since the last document are compared and
        // copied: a roster of two thousand costs what changed.
        let touched = self.roster.take_touched();
        let document = conference_info::diff_touched(&self.published, &self.roster, &touched);
        self.published.catch_up(&self.roster, &touched);
        let mut document = document?;
        self.version = self.version.saturating_add(1);
        document.version = self.version;
        Some(document)
    }

    /// Answers a C3P request sent to the focus by `from_user` (the
    /// authenticated address of record): `addUser` in the joining INVITE,
    /// the others in INFO.
    pub fn handle(
        &mut self,
        now: Time,
        from_user: &str,
        request: &C3pRequest,
    ) -> (C3pResponse, Vec<RosterEvent>) {
        if self.ended {
            return (
                request.failure(FailureReason::ConferenceDoesNotExist),
                Vec::new(),
            );
        }
        let mut command = request.command.clone();
        let outcome = match &mut command {
            C3pCommand::AddUser(add) if add.is_dial_out() => self.dial_out(from_user, add),
            C3pCommand::AddUser(add) => self.join(from_user, add),
            C3pCommand::DeleteUser(keys) => self.delete_user(from_user, keys),
            C3pCommand::ModifyUserRoles(modify) => self.modify_user_roles(from_user, modify),
            C3pCommand::ModifyEndpointMedia(modify) => {
                self.modify_endpoint_media(from_user, modify)
            }
            C3pCommand::ModifyConferenceLock(lock) => self.modify_lock(from_user, lock),
            C3pCommand::DeleteConference(keys) => self.delete_conference(from_user, keys),
            _ => Err(FailureReason::NotSupported),
        };
        match outcome {
            Ok(events) => {
                self.last_activity = now;
                let response = C3pResponse {
                    command,
                    ..request.response(ResponseCode::Success)
                };
                (response, events)
            }
            Err(reason) => (request.failure(reason), Vec::new()),
        }
    }

    /// Ends a conference that no one is in any more, or that a leader left
    /// unattended: for the expiry of conferences created and never
    /// joined. Returns the events of ending it; nothing if it was over.
    pub fn expire(&mut self, now: Time) -> Vec<RosterEvent> {
        let mut events = Vec::new();
        if !self.ended {
            self.last_activity = now;
            self.end(DisconnectionMethod::Departed, &mut events);
        }
        events
    }

    /// Gives `user` a display text if the roster has none for them (the
    /// SIP layer knows names from its directory); true if it did.
    pub fn name_user(&mut self, user: &str, display_text: &str) -> bool {
        let Some(mut entry) = self.roster.user(user).cloned() else {
            return false;
        };
        if entry
            .display_text
            .as_deref()
            .is_some_and(|text| !text.is_empty())
        {
            return false;
        }
        entry.display_text = Some(display_text.to_owned());
        self.set_user(entry).is_ok()
    }

    /// The user's focus dialog ended (BYE): it leaves the conference,
    /// `departed`.
    pub fn participant_left(
        &mut self,
        now: Time,
        user: &str,
    ) -> Result<Vec<RosterEvent>, FocusError> {
        self.check_live()?;
        if self.roster.user(user).is_none() {
            return Err(FocusError::UnknownUser(user.to_owned()));
        }
        self.last_activity = now;
        let mut events = Vec::new();
        self.remove(user, DisconnectionMethod::Departed, &mut events);
        self.end_if_empty(&mut events);
        Ok(events)
    }

    /// The user's call to the A/V MCU was answered, dialled in or out:
    /// `endpoint` (its RFC 4575 entity) is connected with one audio
    /// medium, marked in the mix by `src_id` (the CSRC the MCU gives its
    /// voice). A user not yet in the roster (a plain SIP phone dialling
    /// the MCU, PROTOCOLS.md section 4 step 5) joins as an attendee.
    pub fn audio_joined(
        &mut self,
        now: Time,
        user: &str,
        endpoint: &str,
        src_id: Option<u32>,
    ) -> Result<Vec<RosterEvent>, FocusError> {
        self.check_live()?;
        let mut events = Vec::new();
        let mut entry = match self.roster.user(user) {
            Some(present) => present.clone(),
            None if self.locked => return Err(FocusError::Locked),
            None => {
                let role = self.role_for_newcomer(user);
                events.push(RosterEvent::Joined {
                    user: user.to_owned(),
                    role: role.clone(),
                });
                User {
                    roles: vec![role.as_str().to_owned()],
                    ..User::new(user)
                }
            }
        };
        // An earlier, finished audio call is history now.
        entry.endpoints.retain(|existing| {
            existing.entity == endpoint
                || !(is_audio_video(existing)
                    && existing.status == Some(EndpointStatus::Disconnected))
        });
        let previous = entry
            .endpoints
            .iter()
            .position(|existing| existing.entity == endpoint)
            .map(|index| entry.endpoints.swap_remove(index));
        // A muted user stays muted across a redial.
        let filter = previous
            .as_ref()
            .and_then(|previous| audio_media(previous))
            .and_then(|media| media.ingress_filter.clone())
            .unwrap_or(IngressFilter::Unblock);
        let joining_method = previous
            .and_then(|previous| previous.joining_method)
            .unwrap_or(JoiningMethod::DialedIn);
        entry.endpoints.push(Endpoint {
            session_type: Some(SessionType::AudioVideo),
            status: Some(EndpointStatus::Connected),
            joining_method: Some(joining_method),
            media: vec![Media {
                media_type: Some("audio".to_owned()),
                status: Some(MediaStatus::SendRecv),
                src_id: src_id.map(|id| id.to_string()),
                ingress_filter: Some(filter),
                ..Media::new(AUDIO_MEDIA_ID)
            }],
            ..Endpoint::new(endpoint)
        });
        self.set_user(entry).map_err(|_| FocusError::Full)?;
        self.roles
            .entry(user.to_owned())
            .or_insert_with(|| Role::Attendee);
        self.last_activity = now;
        events.push(RosterEvent::AudioJoined {
            user: user.to_owned(),
            endpoint: endpoint.to_owned(),
        });
        Ok(events)
    }

    /// The user's audio calls ended (or a dial-out failed: `failed`,
    /// `busy`): its audio-video endpoints are disconnected. A user with no
    /// focus dialog (a phone) leaves the conference with them.
    pub fn audio_left(
        &mut self,
        now: Time,
        user: &str,
        method: DisconnectionMethod,
    ) -> Result<Vec<RosterEvent>, FocusError> {
        self.audio_ended(now, user, method, None)
    }

    /// A dial-out rings: the endpoint it calls shows `alerting`.
    pub fn audio_alerting(
        &mut self,
        now: Time,
        user: &str,
        endpoint: &str,
    ) -> Result<(), FocusError> {
        self.check_live()?;
        let mut entry = self
            .roster
            .user(user)
            .cloned()
            .ok_or_else(|| FocusError::UnknownUser(user.to_owned()))?;
        let Some(ringing) = entry
            .endpoints
            .iter_mut()
            .find(|existing| existing.entity == endpoint)
            .filter(|existing| existing.status == Some(EndpointStatus::DialingOut))
        else {
            return Ok(());
        };
        ringing.status = Some(EndpointStatus::Alerting);
        self.last_activity = now;
        self.set_user(entry).map_err(|_| FocusError::Full)
    }

    /// A dial-out failed (busy, not answered, no route): the endpoint shows
    /// disconnected with the method and `reason`, and the user stays in
    /// the roster so that everyone sees why, until a leader removes them or
    /// calls again.
    pub fn dial_out_failed(
        &mut self,
        now: Time,
        user: &str,
        method: DisconnectionMethod,
        reason: &str,
    ) -> Result<Vec<RosterEvent>, FocusError> {
        self.audio_ended(now, user, method, Some(reason))
    }

    fn audio_ended(
        &mut self,
        now: Time,
        user: &str,
        method: DisconnectionMethod,
        reason: Option<&str>,
    ) -> Result<Vec<RosterEvent>, FocusError> {
        self.check_live()?;
        let mut entry = self
            .roster
            .user(user)
            .cloned()
            .ok_or_else(|| FocusError::UnknownUser(user.to_owned()))?;
        let mut events = Vec::new();
        let mut never_answered = true;
        for endpoint in entry.endpoints.iter_mut().filter(|e| is_audio_video(e)) {
            if endpoint.status == Some(EndpointStatus::Disconnected) {
                continue;
            }
            never_answered &= matches!(
                endpoint.status,
                Some(
                    EndpointStatus::DialingOut | EndpointStatus::Alerting | EndpointStatus::Pending
                )
            );
            endpoint.status = Some(EndpointStatus::Disconnected);
            endpoint.disconnection_method = Some(method.clone());
            endpoint.disconnection_reason = reason.map(str::to_owned);
            // Figures of a call that is over say nothing any more.
            for media in &mut endpoint.media {
                media.quality = None;
            }
            events.push(RosterEvent::AudioLeft {
                user: user.to_owned(),
                endpoint: endpoint.entity.clone(),
                method: method.clone(),
            });
        }
        self.last_activity = now;
        let in_focus = entry.endpoints.iter().any(|endpoint| {
            endpoint.session_type == Some(SessionType::Focus)
                && endpoint.status == Some(EndpointStatus::Connected)
        });
        if in_focus || (reason.is_some() && never_answered) {
            // Only endpoints changed, which the limits do not count.
            self.set_user(entry).map_err(|_| FocusError::Full)?;
        } else {
            self.remove(user, method, &mut events);
            self.end_if_empty(&mut events);
        }
        Ok(events)
    }

    fn check_live(&self) -> Result<(), FocusError> {
        if self.ended {
            Err(FocusError::Ended)
        } else {
            Ok(())
        }
    }

    /// A command naming another conference is refused; an empty key means
    /// this one.
    fn check_conf_entity(&self, conf_entity: &str) -> Result<(), FailureReason> {
        if conf_entity.is_empty() {
            return Ok(());
        }
        match ConferenceUri::parse(conf_entity) {
            Ok(uri) if uri.id.as_deref() == Some(self.id.as_str()) => Ok(()),
            _ => Err(FailureReason::ConferenceDoesNotExist),
        }
    }

    fn check_leader(&self, from_user: &str, conf_entity: &str) -> Result<(), FailureReason> {
        self.check_conf_entity(conf_entity)?;
        if self.is_leader(from_user) {
            Ok(())
        } else {
            Err(FailureReason::Forbidden)
        }
    }

    /// A presenter in the roster.
    fn is_leader(&self, user: &str) -> bool {
        self.roster.user(user).is_some() && self.roles.get(user) == Some(&Role::Presenter)
    }

    fn role_for_newcomer(&self, user: &str) -> Role {
        self.roles.get(user).cloned().unwrap_or(Role::Attendee)
    }

    fn set_user(&mut self, user: User) -> Result<(), FailureReason> {
        self.roster.set_user(user).map_err(|error| match error {
            RosterError::TooManyUsers { .. } => FailureReason::MaximumMeetingSizeExceeded,
            _ => FailureReason::OtherFailure,
        })?;
        self.update_conference_state();
        Ok(())
    }

    fn remove(&mut self, user: &str, method: DisconnectionMethod, events: &mut Vec<RosterEvent>) {
        if self
            .roster
            .remove_user(user, Some(method.clone()))
            .is_some()
        {
            self.update_conference_state();
            events.push(RosterEvent::Left {
                user: user.to_owned(),
                method,
            });
        }
    }

    /// RFC 4579 leaves it to the focus; ours ends an ad-hoc conference
    /// when no one is connected to it any more.
    fn end_if_empty(&mut self, events: &mut Vec<RosterEvent>) {
        let connected = self.roster.users().any(|user| {
            user.endpoints
                .iter()
                .any(|endpoint| endpoint.status == Some(EndpointStatus::Connected))
        });
        if !connected {
            self.end(DisconnectionMethod::Departed, events);
        }
    }

    fn end(&mut self, method: DisconnectionMethod, events: &mut Vec<RosterEvent>) {
        let users: Vec<String> = self.roster.users().map(|u| u.entity.clone()).collect();
        for user in users {
            self.remove(&user, method.clone(), events);
        }
        self.ended = true;
        self.update_conference_state();
        events.push(RosterEvent::Ended);
    }

    fn update_conference_state(&mut self) {
        let user_count = u32::try_from(self.roster.users().len()).unwrap_or(u32::MAX);
        self.roster.set_conference_state(Some(ConferenceState {
            user_count: Some(user_count),
            active: Some(!self.ended),
            locked: Some(self.locked),
        }));
    }
}

fn is_audio_video(endpoint: &Endpoint) -> bool {
    endpoint.session_type == Some(SessionType::AudioVideo)
}

fn audio_media(endpoint: &Endpoint) -> Option<&Media> {
    endpoint
        .media
        .iter()
        .find(|media| media.media_type.as_deref() == Some("audio"))
}

fn audio_media_mut(endpoint: &mut Endpoint) -> Option<&mut Media> {
    endpoint
        .media
        .iter_mut()
        .find(|media| media.media_type.as_deref() == Some("audio"))
}
