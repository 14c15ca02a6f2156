//! The C3P commands a focus answers: the join that the INVITE carries and
//! the leader's commands in INFO ([MS-CONFBAS], [MS-CONFAV], PROTOCOLS.md
//! section 2), each returning the events of what it changed or the UCMA
//! failure reason.

use super::{Conference, Outcome, is_audio_video};
use crate::proto::c3p::{
    AddUser, ConferenceKeys, FailureReason, MediaFilter, ModifyConferenceLock, ModifyEndpointMedia,
    ModifyUserRoles, Role, UserKeys,
};
use crate::proto::conference_info::{
    DisconnectionMethod, Endpoint, EndpointStatus, IngressFilter, JoiningMethod, SessionType, User,
};
use crate::proto::conference_uri::{ConferencePart, ConferenceUri};
use crate::server::focus::RosterEvent;

impl Conference {
    /// `addUser` in the INVITE to the focus: the sender joins, the
    /// creator (and anyone made presenter before) as presenter, the rest
    /// as attendees. Rejoining refreshes the focus endpoint.
    pub(super) fn join(&mut self, from_user: &str, add: &mut AddUser) -> Outcome {
        if !add.user.entity.is_empty() && add.user.entity != from_user {
            return Err(FailureReason::InvalidUserEntity);
        }
        self.check_conf_entity(&add.conf_entity)?;
        let present = self.roster.user(from_user).cloned();
        if present.is_none() && self.locked {
            return Err(FailureReason::OtherFailure);
        }
        let role = self.role_for_newcomer(from_user);
        let mut user = present.clone().unwrap_or_else(|| User::new(from_user));
        if let Some(display_text) = add.user.display_text.as_ref().filter(|t| !t.is_empty()) {
            user.display_text = Some(display_text.clone());
        }
        user.roles = vec![role.as_str().to_owned()];
        user.endpoints
            .retain(|endpoint| endpoint.entity != from_user);
        user.endpoints.push(Endpoint {
            session_type: Some(SessionType::Focus),
            status: Some(EndpointStatus::Connected),
            joining_method: Some(JoiningMethod::DialedIn),
            ..Endpoint::new(from_user)
        });
        self.set_user(user)?;
        self.roles.insert(from_user.to_owned(), role.clone());
        add.user.entity = from_user.to_owned();
        add.user.role = Some(role.clone());
        Ok(if present.is_none() {
            vec![RosterEvent::Joined {
                user: from_user.to_owned(),
                role,
            }]
        } else {
            Vec::new()
        })
    }

    /// `addUser` with `mscp:mcuUri` in INFO: the A/V MCU is to call the
    /// user; the roster shows the endpoint dialing out until
    /// [`Conference::audio_joined`] or [`Conference::audio_left`].
    pub(super) fn dial_out(&mut self, from_user: &str, add: &mut AddUser) -> Outcome {
        self.check_conf_entity(&add.conf_entity)?;
        if self.roster.user(from_user).is_none() {
            return Err(FailureReason::Forbidden);
        }
        let target_user = add.user.entity.clone();
        if target_user.is_empty() {
            return Err(FailureReason::InvalidUserEntity);
        }
        if target_user != from_user && !self.is_leader(from_user) {
            return Err(FailureReason::Forbidden);
        }
        let mcu = self.mcu_uri(ConferencePart::AudioVideo);
        let mcu_uri = match (&add.mcu_uri, mcu) {
            (_, None) => return Err(FailureReason::OtherFailure),
            (Some(asked), Some(mcu)) => {
                if ConferenceUri::parse(asked).ok().as_ref() != Some(&mcu) {
                    return Err(FailureReason::McuTypeNotAvailable);
                }
                mcu.to_string()
            }
            (None, Some(mcu)) => mcu.to_string(),
        };
        let endpoint_entity = match add.user.endpoint.as_ref() {
            Some(endpoint) if !endpoint.entity.is_empty() => endpoint.entity.clone(),
            _ => {
                self.dial_outs = self.dial_outs.saturating_add(1);
                format!("dial-out-{}", self.dial_outs)
            }
        };
        let present = self.roster.user(&target_user).cloned();
        let role = self.role_for_newcomer(&target_user);
        let mut user = present.clone().unwrap_or_else(|| {
            let mut user = User::new(target_user.clone());
            user.display_text = add.user.display_text.clone().filter(|t| !t.is_empty());
            user.roles = vec![role.as_str().to_owned()];
            user
        });
        // A call that ended (or a dial-out that failed) is history now.
        user.endpoints.retain(|endpoint| {
            endpoint.entity != endpoint_entity
                && !(is_audio_video(endpoint)
                    && endpoint.status == Some(EndpointStatus::Disconnected))
        });
        user.endpoints.push(Endpoint {
            session_type: Some(SessionType::AudioVideo),
            status: Some(EndpointStatus::DialingOut),
            joining_method: Some(JoiningMethod::DialedOut),
            ..Endpoint::new(endpoint_entity.clone())
        });
        self.set_user(user)?;
        let mut events = Vec::new();
        if present.is_none() {
            self.roles.insert(target_user.clone(), role.clone());
            events.push(RosterEvent::Joined {
                user: target_user.clone(),
                role: role.clone(),
            });
        }
        events.push(RosterEvent::DialOut {
            user: target_user.clone(),
            endpoint: endpoint_entity.clone(),
            target: add.dial_out_target().to_owned(),
            mcu_uri: mcu_uri.clone(),
        });
        add.mcu_uri = Some(mcu_uri);
        if let Some(endpoint) = add.user.endpoint.as_mut() {
            endpoint.entity = endpoint_entity;
        }
        add.user.role = self.roles.get(&target_user).cloned();
        Ok(events)
    }

    /// `deleteUser`: eject; the roster says `booted`.
    pub(super) fn delete_user(&mut self, from_user: &str, keys: &UserKeys) -> Outcome {
        self.check_leader(from_user, &keys.conf_entity)?;
        if self.roster.user(&keys.user_entity).is_none() {
            return Err(FailureReason::InvalidUserEntity);
        }
        let mut events = Vec::new();
        self.remove(&keys.user_entity, DisconnectionMethod::Booted, &mut events);
        // An ejected presenter does not come back as one.
        self.roles.remove(&keys.user_entity);
        self.end_if_empty(&mut events);
        Ok(events)
    }

    /// `modifyUserRoles`: promote to presenter or demote to attendee.
    pub(super) fn modify_user_roles(
        &mut self,
        from_user: &str,
        modify: &ModifyUserRoles,
    ) -> Outcome {
        self.check_leader(from_user, &modify.keys.conf_entity)?;
        if !matches!(modify.role, Role::Presenter | Role::Attendee) {
            return Err(FailureReason::InvalidRole);
        }
        let target = &modify.keys.user_entity;
        let mut user = self
            .roster
            .user(target)
            .cloned()
            .ok_or(FailureReason::InvalidUserEntity)?;
        user.roles = vec![modify.role.as_str().to_owned()];
        self.set_user(user)?;
        self.roles.insert(target.clone(), modify.role.clone());
        Ok(vec![RosterEvent::RoleChanged {
            user: target.clone(),
            role: modify.role.clone(),
        }])
    }

    /// `modifyEndpointMedia` ([MS-CONFAV]): the media ingress filter of one
    /// audio medium, block to mute.
    pub(super) fn modify_endpoint_media(
        &mut self,
        from_user: &str,
        modify: &ModifyEndpointMedia,
    ) -> Outcome {
        self.check_leader(from_user, &modify.keys.conf_entity)?;
        let keys = &modify.keys;
        let mut user = self
            .roster
            .user(&keys.user_entity)
            .cloned()
            .ok_or(FailureReason::InvalidUserEntity)?;
        // No endpoint named: the user's audio-video one.
        let endpoint = user
            .endpoints
            .iter_mut()
            .find(|endpoint| {
                if keys.endpoint_entity.is_empty() {
                    is_audio_video(endpoint)
                } else {
                    endpoint.entity == keys.endpoint_entity
                }
            })
            .ok_or(FailureReason::EndpointDoesNotExist)?;
        let media_id = if keys.media_id.is_empty() {
            modify.media.id.as_str()
        } else {
            keys.media_id.as_str()
        };
        let media = endpoint
            .media
            .iter_mut()
            .find(|media| {
                if media_id.is_empty() {
                    media.media_type.as_deref() == Some("audio")
                } else {
                    media.id == media_id
                }
            })
            .ok_or(FailureReason::EndpointDoesNotExist)?;
        let Some(filter) = modify.media.ingress_filter else {
            return Ok(Vec::new());
        };
        media.ingress_filter = Some(match filter {
            MediaFilter::Block => IngressFilter::Block,
            MediaFilter::Unblock => IngressFilter::Unblock,
        });
        let endpoint_entity = endpoint.entity.clone();
        self.set_user(user)?;
        Ok(vec![RosterEvent::MediaFiltered {
            user: keys.user_entity.clone(),
            endpoint: endpoint_entity,
            filter,
        }])
    }

    pub(super) fn modify_lock(&mut self, from_user: &str, lock: &ModifyConferenceLock) -> Outcome {
        self.check_leader(from_user, &lock.conf_entity)?;
        if self.locked == lock.locked {
            return Ok(Vec::new());
        }
        self.locked = lock.locked;
        self.update_conference_state();
        Ok(vec![RosterEvent::LockChanged {
            locked: lock.locked,
        }])
    }

    /// `deleteConference`: everyone is disconnected by the focus
    /// (`booted`, RFC 4575 §5.6.4) and the conference ends.
    pub(super) fn delete_conference(&mut self, from_user: &str, keys: &ConferenceKeys) -> Outcome {
        self.check_leader(from_user, &keys.conf_entity)?;
        let mut events = Vec::new();
        self.end(DisconnectionMethod::Booted, &mut events);
        Ok(events)
    }
}
