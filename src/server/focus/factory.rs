//! The focus factory of one domain ([MS-CONFPRO]): the C3P commands that
//! SERVICE carries to it, and the conferences it made, by ID.

use std::collections::BTreeMap;

use rand::Rng;

use super::{Conference, DialIn};
use crate::proto::Time;
use crate::proto::c3p::{
    self, AdmissionPolicy, C3pCommand, C3pRequest, C3pResponse, FailureReason, GetConference,
    ResponseCode,
};
use crate::proto::conference_uri::{ConferencePart, ConferenceUri, generate_conference_id};

/// The MCU types every conference has, as `getConferencingCapabilities`
/// and `entity-view` name them.
pub const MCU_TYPES: [ConferencePart; 2] = [ConferencePart::Chat, ConferencePart::AudioVideo];

/// The most conferences one factory holds, ended ones included until
/// [`FocusFactory::remove_ended`]; past it `addConference` answers
/// `otherFailure`.
pub const MAX_CONFERENCES: usize = 10_000;

/// A domain's focus factory and its conferences.
#[derive(Debug, Clone)]
pub struct FocusFactory {
    domain: String,
    conferences: BTreeMap<String, Conference>,
    /// The conferencing service's dial-in number, if it has one.
    access_number: Option<String>,
}

impl FocusFactory {
    /// The factory of `domain` (a host name, with a port if it has one).
    pub fn new(domain: impl Into<String>) -> FocusFactory {
        FocusFactory {
            domain: domain.into(),
            conferences: BTreeMap::new(),
            access_number: None,
        }
    }

    /// Conferences made from now on can be joined by calling `number` (an
    /// E.164 number) and keying in their code.
    pub fn with_access_number(mut self, number: Option<String>) -> FocusFactory {
        self.access_number = number;
        self
    }

    /// The live conference whose dial-in code is `code`.
    pub fn conference_by_code(&self, code: &str) -> Option<&Conference> {
        self.conferences.values().find(|conference| {
            !conference.is_ended()
                && conference
                    .dial_in()
                    .is_some_and(|dial_in| dial_in.code == code)
        })
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Answers a C3P request that SERVICE carried to the factory from
    /// `from_user`, the authenticated address of record
    /// (`sip:vivian@confab.local`). Commands for a focus answer
    /// `notSupported`.
    pub fn handle(
        &mut self,
        now: Time,
        from_user: &str,
        request: &C3pRequest,
        rng: &mut impl Rng,
    ) -> C3pResponse {
        let result = match &request.command {
            C3pCommand::GetConferencingCapabilities { .. } => {
                Ok(C3pCommand::GetConferencingCapabilities {
                    mcu_types: MCU_TYPES.iter().map(|part| part.as_str().into()).collect(),
                })
            }
            C3pCommand::AddConference(info) => self
                .add_conference(now, from_user, info, rng)
                .map(C3pCommand::AddConference),
            C3pCommand::GetConference(get) => {
                self.get_conference(get).map(C3pCommand::GetConference)
            }
            _ => Err(FailureReason::NotSupported),
        };
        match result {
            Ok(command) => C3pResponse {
                command,
                ..request.response(ResponseCode::Success)
            },
            Err(reason) => request.failure(reason),
        }
    }

    pub fn conference(&self, id: &str) -> Option<&Conference> {
        self.conferences.get(id)
    }

    pub fn conference_mut(&mut self, id: &str) -> Option<&mut Conference> {
        self.conferences.get_mut(id)
    }

    /// The conference a focus or MCU URI of this domain names.
    pub fn conference_by_uri(&self, uri: &str) -> Option<&Conference> {
        let id = self.id_of(uri)?;
        self.conferences.get(&id)
    }

    pub fn conference_by_uri_mut(&mut self, uri: &str) -> Option<&mut Conference> {
        let id = self.id_of(uri)?;
        self.conferences.get_mut(&id)
    }

    /// Every conference, by ID.
    pub fn conferences(&self) -> impl ExactSizeIterator<Item = &Conference> + '_ {
        self.conferences.values()
    }

    /// Forgets the ended conferences, once their dialogs and subscriptions
    /// are gone; returns their IDs.
    pub fn remove_ended(&mut self) -> Vec<String> {
        let ended: Vec<String> = self
            .conferences
            .values()
            .filter(|conference| conference.is_ended())
            .map(|conference| conference.id().to_owned())
            .collect();
        for id in &ended {
            self.conferences.remove(id);
        }
        ended
    }

    /// `addConference`: a new conference with a fresh ID, organized by the
    /// sender; the response's `entity` is its focus and its entity views
    /// its MCUs.
    fn add_conference(
        &mut self,
        now: Time,
        from_user: &str,
        asked: &c3p::ConferenceInfo,
        rng: &mut impl Rng,
    ) -> Result<c3p::ConferenceInfo, FailureReason> {
        for view in &asked.entity_views {
            let known = MCU_TYPES.iter().any(|part| part.as_str() == view);
            if !known {
                return Err(FailureReason::McuTypeNotAvailable);
            }
        }
        if self.conferences.len() >= MAX_CONFERENCES {
            return Err(FailureReason::OtherFailure);
        }
        let organizer_user = aor_user(from_user).ok_or(FailureReason::InvalidUserEntity)?;
        // 36^16 IDs make a collision unlikely; drawing again keeps it
        // impossible.
        let id = loop {
            let id = generate_conference_id(rng);
            if !self.conferences.contains_key(&id) {
                break id;
            }
        };
        let focus =
            ConferenceUri::conference(ConferencePart::Focus, organizer_user, &self.domain, &id)
                .map_err(|_| FailureReason::InvalidUserEntity)?;
        let dial_in = self.access_number.clone().map(|access_number| {
            // Six digits, unique among the live conferences.
            let code = loop {
                let code = format!("{:06}", rng.random_range(0..1_000_000u32));
                if self.conference_by_code(&code).is_none() {
                    break code;
                }
            };
            DialIn {
                access_number,
                code,
            }
        });
        let conference =
            Conference::new(now, id.clone(), focus, from_user, &asked.subject, dial_in);
        let info = describe(&conference, asked);
        self.conferences.insert(id, conference);
        Ok(info)
    }

    /// `getConference`, by ID or focus URI.
    fn get_conference(&self, get: &GetConference) -> Result<GetConference, FailureReason> {
        let id = match (&get.conference_id, &get.conf_entity) {
            (Some(id), _) => Some(id.clone()),
            (None, Some(entity)) => self.id_of(entity),
            (None, None) => None,
        };
        let conference = id
            .and_then(|id| self.conferences.get(&id))
            .filter(|conference| !conference.is_ended())
            .ok_or(FailureReason::ConferenceDoesNotExist)?;
        Ok(GetConference {
            conf_entity: Some(conference.focus().to_string()),
            conference_id: Some(conference.id().to_owned()),
            info: Some(describe(conference, &c3p::ConferenceInfo::default())),
        })
    }

    /// The conference ID of a focus or MCU URI in this domain.
    fn id_of(&self, uri: &str) -> Option<String> {
        let uri = ConferenceUri::parse(uri).ok()?;
        if !uri.domain.eq_ignore_ascii_case(&self.domain) {
            return None;
        }
        let conference = self.conferences.get(uri.id.as_deref()?)?;
        // The organizer is part of the name: the same ID under another
        // user names no conference.
        (conference.focus().organizer_user == uri.organizer_user)
            .then(|| conference.id().to_owned())
    }
}

/// The conference as C3P's `conference-info` says it, keeping what the
/// request asked for that the focus does not decide.
fn describe(conference: &Conference, asked: &c3p::ConferenceInfo) -> c3p::ConferenceInfo {
    c3p::ConferenceInfo {
        entity: conference.focus().to_string(),
        subject: conference.subject().unwrap_or_default().to_owned(),
        conference_id: Some(conference.id().to_owned()),
        expiry_time: asked.expiry_time.clone(),
        admission_policy: Some(
            asked
                .admission_policy
                .unwrap_or(AdmissionPolicy::OpenAuthenticated),
        ),
        entity_views: MCU_TYPES
            .iter()
            .filter_map(|part| conference.mcu_uri(*part))
            .map(|uri| uri.to_string())
            .collect(),
    }
}

/// The user part of a `sip:` address of record.
fn aor_user(aor: &str) -> Option<&str> {
    let scheme = aor.get(..4)?;
    if !scheme.eq_ignore_ascii_case("sip:") {
        return None;
    }
    let (user, _domain) = aor.get(4..)?.split_once('@')?;
    (!user.is_empty()).then_some(user)
}
