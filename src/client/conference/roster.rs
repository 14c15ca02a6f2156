//! The roster: a subscription to the focus in the conference event package
//! (RFC 4575 over RFC 6665; PROTOCOLS.md section 3), its documents applied
//! to a [`Roster`] by the RFC 4575 §4.6 rules, each applied one reported as
//! [`Event::Roster`], and what the roster says about us: our role, and
//! whether we were ejected or the conference ended.
//!
//! A document that cannot be read, or that the roster refuses, changes
//! nothing; a stale one is dropped; a gap (or a first document that is not
//! full) refreshes the subscription so that the focus sends full state.

use rsip::Response;

use super::end::Outcome;
use super::{ConferenceRequest, ROSTER_EXPIRY};
use crate::client::subscription::{Subscription, SubscriptionAction};
use crate::client::{Client, Event, Participant, Purpose, Quality};
use crate::proto::address::uri_peer;
use crate::proto::conference_info::{
    self, DisconnectionMethod, Endpoint, EndpointStatus, IngressFilter, Media, RosterChange,
    RosterError, SessionType, User,
};
use crate::proto::pidf::Availability;
use crate::proto::transaction::TransactionKey;
use crate::proto::{Peer, Time};

impl Client {
    /// SUBSCRIBE to the focus, `Event: conference`.
    pub(super) fn start_roster_subscription(&mut self, now: Time) {
        let local = self.subscriber_info();
        let Some(conference) = self.conferencing.active_mut() else {
            return;
        };
        let focus = conference.focus_uri();
        let mut subscription = match Subscription::new(
            &focus,
            conference_info::EVENT_PACKAGE,
            conference_info::CONTENT_TYPE,
            ROSTER_EXPIRY,
        ) {
            Ok(subscription) => subscription,
            Err(error) => {
                tracing::info!(%focus, %error, "cannot subscribe to the roster");
                return;
            }
        };
        let request = subscription.build_subscribe(&local, &mut self.ids);
        conference.subscription = Some(subscription);
        self.send_roster_request(now, request);
    }

    fn send_roster_request(&mut self, now: Time, request: rsip::Request) {
        let destination = self.request_destination(&request);
        self.send_request(
            now,
            request,
            destination,
            Purpose::Conference(ConferenceRequest::Subscribe),
        );
    }

    /// RFC 6665 §4.1.2.3: Expires 0 in the subscription's dialog. The
    /// subscription stays (in the lingering conference) so that the final
    /// NOTIFY still gets its 200.
    pub(super) fn end_roster_subscription(&mut self, now: Time) {
        let local = self.subscriber_info();
        let request = self
            .conferencing
            .current
            .as_mut()
            .and_then(|conference| conference.subscription.as_mut())
            .and_then(|subscription| subscription.unsubscribe(&local, &mut self.ids));
        if let Some(request) = request {
            self.send_roster_request(now, request);
        }
    }

    /// Where a SUBSCRIBE goes: its first Route, else our outbound proxy.
    fn request_destination(&self, request: &rsip::Request) -> Peer {
        request
            .headers
            .iter()
            .find_map(|header| match header {
                rsip::Header::Route(route) => {
                    use rsip::headers::UntypedHeader as _;
                    crate::proto::build::address_uri(route.value())
                }
                _ => None,
            })
            .and_then(|uri| uri_peer(&uri))
            .unwrap_or(self.config.server)
    }

    /// What the subscription asks for.
    pub(super) fn roster_action(&mut self, now: Time, action: SubscriptionAction) {
        match action {
            SubscriptionAction::SendSubscribe => {
                let local = self.subscriber_info();
                let request = self
                    .conferencing
                    .current
                    .as_mut()
                    .and_then(|conference| conference.subscription.as_mut())
                    .map(|subscription| subscription.build_subscribe(&local, &mut self.ids));
                if let Some(request) = request {
                    self.send_roster_request(now, request);
                }
            }
            SubscriptionAction::Stopped { code, reason } => {
                tracing::info!(?code, %reason, "roster subscription over");
                let focus_gone = self
                    .conferencing
                    .active()
                    .is_some_and(|conference| conference.focus_gone);
                // RFC 6665 §4.1.3: noresource, the conference is gone.
                if reason == "noresource" {
                    self.conclude(now, Outcome::Ended);
                } else if focus_gone {
                    self.conclude(now, Outcome::Ejected);
                }
            }
        }
    }

    /// The final answer to a roster SUBSCRIBE (`None`: no answer).
    pub(in crate::client) fn conference_subscribe_answered(
        &mut self,
        now: Time,
        response: Option<&Response>,
    ) {
        let action = self
            .conferencing
            .current
            .as_mut()
            .and_then(|conference| conference.subscription.as_mut())
            .and_then(|subscription| match response {
                Some(response) => subscription.handle_response(now, response),
                None => subscription.handle_transaction_timeout(now),
            });
        if let Some(action) = action {
            self.roster_action(now, action);
        }
    }

    /// A NOTIFY; true if the roster subscription took it.
    pub(in crate::client) fn conference_notify(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &rsip::Request,
    ) -> bool {
        let Some(subscription) = self
            .conferencing
            .current
            .as_mut()
            .and_then(|conference| conference.subscription.as_mut())
            .filter(|subscription| subscription.matches_notify(request))
        else {
            return false;
        };
        let outcome = subscription.handle_notify(now, request);
        self.respond(now, key, outcome.response);
        match outcome.notification {
            Ok(notification) if !notification.body.is_empty() => self.roster_document(
                now,
                notification.content_type.as_deref(),
                &notification.body,
            ),
            Ok(_) => {}
            Err(error) => tracing::info!(%error, "roster NOTIFY refused"),
        }
        if let Some(action) = outcome.action {
            self.roster_action(now, action);
        }
        true
    }

    /// One conference-info document.
    fn roster_document(&mut self, now: Time, content_type: Option<&str>, body: &[u8]) {
        let Some(conference) = self.conferencing.active_mut() else {
            return;
        };
        let media_type = content_type
            .and_then(|value| value.split(';').next())
            .map(|value| value.trim().to_ascii_lowercase());
        if media_type.is_some_and(|media_type| media_type != conference_info::CONTENT_TYPE) {
            tracing::info!(?content_type, "roster NOTIFY body of another type; ignored");
            return;
        }
        let document = match conference_info::parse(body) {
            Ok(document) => document,
            Err(error) => {
                tracing::info!(%error, "unreadable conference-info document; dropped");
                return;
            }
        };
        match conference.roster.apply(document) {
            Ok(change) => self.roster_applied(now, &change),
            Err(error @ RosterError::Stale { .. }) => {
                tracing::debug!(%error, "stale roster document dropped")
            }
            Err(error @ (RosterError::Gap { .. } | RosterError::NeedFullState { .. })) => {
                // RFC 4575 §4.6: refresh the subscription to get full state.
                tracing::info!(%error, "roster out of step; refreshing for full state");
                let action = conference
                    .subscription
                    .as_mut()
                    .and_then(Subscription::refresh_now);
                if let Some(action) = action {
                    self.roster_action(now, action);
                }
            }
            Err(error) => tracing::info!(%error, "roster document refused"),
        }
    }

    /// After an applied document: the roster event, our role, and whether
    /// we are still in.
    fn roster_applied(&mut self, now: Time, change: &RosterChange) {
        let aor = self.aor.clone();
        let Some(conference) = self.conferencing.active_mut() else {
            return;
        };
        let focus = conference.focus_uri();
        let roster = &conference.roster;
        let users = roster.users().map(participant).collect();
        let locked = roster.is_locked();
        let dial_in = dial_in_of(roster);
        let role = roster.roles(&aor).first().cloned();
        let ended = roster
            .conference_state()
            .and_then(|state| state.active)
            .is_some_and(|active| !active);
        let in_audio = roster.in_audio(&aor);
        let removal = change.removed.iter().find(|removal| removal.entity == aor);
        let outcome = match removal {
            _ if ended => Some(Outcome::Ended),
            // RFC 4575 §5.6.7: booted, removed by the focus.
            Some(removal)
                if removal.method == Some(DisconnectionMethod::Booted) || conference.focus_gone =>
            {
                Some(Outcome::Ejected)
            }
            Some(_) => Some(Outcome::Ended),
            None => None,
        };
        let role = role.filter(|role| *role != conference.role);
        if let Some(role) = &role {
            conference.role = role.clone();
        }
        self.events.push_back(Event::Roster {
            focus: focus.clone(),
            version: change.version,
            locked,
            users,
            dial_in,
        });
        if let Some(role) = role {
            self.events
                .push_back(Event::ConferenceJoined { focus, role });
        }
        match outcome {
            Some(outcome) => self.conclude(now, outcome),
            // "Call me at": our audio is a phone the MCU called.
            None if self.call.is_none() => {
                self.set_automatic_presence(now, in_audio.then_some(Availability::InAConference))
            }
            None => {}
        }
    }
}

/// How to join by phone: the focus lists a `tel:` conference URI whose
/// display text gives the code (`code 123456`).
fn dial_in_of(roster: &crate::proto::conference_info::Roster) -> Option<crate::client::DialIn> {
    roster.description()?.conf_uris.iter().find_map(|entry| {
        let number = entry.uri.strip_prefix("tel:")?;
        let code = entry
            .display_text
            .as_deref()?
            .trim()
            .strip_prefix("code ")?
            .trim();
        (!number.is_empty() && !code.is_empty()).then(|| crate::client::DialIn {
            number: number.to_owned(),
            code: code.to_owned(),
        })
    })
}

/// A roster user as the front end sees it.
fn participant(user: &User) -> Participant {
    let focus = user
        .endpoints
        .iter()
        .find(|endpoint| endpoint.session_type == Some(SessionType::Focus));
    let audio = audio_endpoint(user);
    let media = audio.and_then(audio_media);
    let status_of = |endpoint: &Endpoint| {
        endpoint
            .status
            .as_ref()
            .map_or("unknown", EndpointStatus::as_str)
            .to_owned()
    };
    Participant {
        uri: user.entity.clone(),
        display: user
            .display_text
            .clone()
            .filter(|text| !text.trim().is_empty())
            .unwrap_or_default(),
        roles: user.roles.clone(),
        status: focus
            .or(audio)
            .map_or_else(|| "unknown".to_owned(), status_of),
        audio: audio.map_or_else(|| "none".to_owned(), status_of),
        muted: media.is_some_and(|media| media.ingress_filter == Some(IngressFilter::Block)),
        joining: audio
            .and_then(|endpoint| endpoint.joining_method.as_ref())
            .map(|method| method.as_str().to_owned()),
        reason: audio
            .filter(|endpoint| endpoint.status == Some(EndpointStatus::Disconnected))
            .and_then(|endpoint| {
                endpoint.disconnection_reason.clone().or_else(|| {
                    endpoint
                        .disconnection_method
                        .as_ref()
                        .map(|method| method.as_str().to_owned())
                })
            }),
        src_id: media
            .and_then(|media| media.src_id.as_deref())
            .and_then(|id| id.trim().parse().ok()),
        // Figures of audio that is not up are of a call that is over.
        quality: media
            .filter(|_| audio.is_some_and(is_connected))
            .and_then(|media| media.quality.as_ref())
            .map(|quality| Quality {
                codec: quality.codec.clone(),
                loss_permille: quality.loss_permille,
                jitter_ms: quality.jitter_ms,
                rtt_ms: quality.round_trip_ms,
                buffer_ms: quality.buffer_ms,
            }),
    }
}

/// The user's audio-video endpoint: a connected one first, else the last
/// listed. An endpoint without session-type counts when it has audio.
pub(super) fn audio_endpoint(user: &User) -> Option<&Endpoint> {
    let audio = |endpoint: &&Endpoint| match &endpoint.session_type {
        Some(session_type) => *session_type == SessionType::AudioVideo,
        None => endpoint.media.iter().any(is_audio),
    };
    user.endpoints
        .iter()
        .filter(audio)
        .find(|endpoint| is_connected(endpoint))
        .or_else(|| user.endpoints.iter().rev().find(audio))
}

/// In the call: `muted-via-focus` still hears the mix (RFC 4575 §5.6.4).
fn is_connected(endpoint: &Endpoint) -> bool {
    matches!(
        endpoint.status,
        Some(EndpointStatus::Connected | EndpointStatus::MutedViaFocus)
    )
}

/// The endpoint's audio medium (the first if none says its type).
pub(super) fn audio_media(endpoint: &Endpoint) -> Option<&Media> {
    endpoint
        .media
        .iter()
        .find(|media| is_audio(media))
        .or_else(|| endpoint.media.first())
}

fn is_audio(media: &Media) -> bool {
    media.media_type.as_deref() == Some("audio")
}
