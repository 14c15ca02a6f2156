//! The focus factory and the foci on SIP: SERVICE to the factory, the
//! joining INVITE and the INFO commands of a focus (C3P in the body, the
//! C3P response in the 200), the roster subscription (RFC 4575 on the
//! presence agent's notifier), and what a roster change asks of SIP: BYE
//! to the ejected, dial-outs, mixer filters, the end of a conference.

use std::time::Duration;

use rsip::headers::UntypedHeader as _;
use rsip::{Header, Request, Response};

use super::{ConferenceDialog, DialogKind};
use crate::proto::Time;
use crate::proto::build::{self, status, status_with_reason};
use crate::proto::c3p::{self, C3pResponse, FailureReason, MediaFilter, ResponseCode};
use crate::proto::conference_info::{self, DisconnectionMethod};
use crate::proto::conference_uri::{ConferencePart, ConferenceUri};
use crate::proto::dialog::Dialog;
use crate::proto::transaction::TransactionKey;
use crate::server::Server;
use crate::server::focus::RosterEvent;

use crate::server::presence::CONFERENCE;

/// A conference that nobody is in ends this long after its last change
/// (one created and never joined, typically).
pub(super) const IDLE_EXPIRY: Duration = Duration::from_secs(300);

impl Server {
    /// The address of record of a user of our domain.
    pub(super) fn aor_of_user(&self, user: &str) -> String {
        format!("sip:{user}@{}", self.domain)
    }

    /// The C3P request in a body; a malformed one is answered 400 with no
    /// C3P response ([MS-CONFBAS] 2.2.3) and logged.
    fn c3p_body(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &Request,
        sender: &str,
    ) -> Option<c3p::C3pRequest> {
        match c3p::parse_request(&request.body) {
            Ok(parsed) => Some(parsed),
            Err(error) => {
                tracing::info!(%error, %sender, method = %request.method, "a malformed C3P body");
                self.reply(now, key, request, status_with_reason(400, "Bad C3P Body"));
                None
            }
        }
    }

    /// The ID of the live conference a focus or MCU URI names; a request
    /// for any other is answered 404.
    pub(super) fn live_conference(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &Request,
        target: &ConferenceUri,
    ) -> Option<String> {
        let id = self
            .conferencing
            .factory
            .conference_by_uri(&target.to_string())
            .filter(|conference| !conference.is_ended())
            .map(|conference| conference.id().to_owned());
        if id.is_none() {
            self.reply(
                now,
                key,
                request,
                status_with_reason(404, "No Such Conference"),
            );
        }
        id
    }

    /// SERVICE to the focus factory.
    pub(super) fn factory_service(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &Request,
        user: &str,
    ) {
        let Some(c3p_request) = self.c3p_body(now, key, request, user) else {
            return;
        };
        let aor = self.aor_of_user(user);
        let conferencing = &mut self.conferencing;
        let response = conferencing
            .factory
            .handle(now, &aor, &c3p_request, &mut conferencing.rng);
        tracing::info!(%aor, command = c3p_request.command.name(), code = ?response.code, "focus factory");
        self.reply_c3p(now, key, request, &response, None);
    }

    /// INVITE with `addUser` to a focus: joining it.
    pub(super) fn focus_invite(
        &mut self,
        now: Time,
        key: TransactionKey,
        request: Request,
        target: &ConferenceUri,
        user: &str,
    ) {
        let Some(c3p_request) = self.c3p_body(now, &key, &request, user) else {
            return;
        };
        let aor = self.aor_of_user(user);
        let Some(conference_id) = self.live_conference(now, &key, &request, target) else {
            return;
        };
        let Some(conference) = self.conferencing.factory.conference_mut(&conference_id) else {
            return;
        };
        let (response, events) = conference.handle(now, &aor, &c3p_request);
        if response.code != ResponseCode::Success {
            let reason = response.reason.unwrap_or(FailureReason::OtherFailure);
            tracing::info!(%aor, conference = %conference_id, ?reason, "focus join refused");
            let mut refusal = build::response_to(&request, status(403), Some(&self.ids.tag()));
            if let Some(diagnostics) = c3p::ms_diagnostics_header(reason) {
                refusal.headers.push(Header::Other(
                    c3p::MS_DIAGNOSTICS_HEADER.into(),
                    diagnostics,
                ));
            }
            return self.send_response(now, &key, refusal);
        }
        let tag = self.ids.tag();
        let dialog = match Dialog::from_uas(&request, &tag) {
            Ok(dialog) => dialog,
            Err(error) => {
                tracing::info!(%error, "a focus INVITE that makes no dialog");
                return self.reply(now, &key, &request, status(400));
            }
        };
        // A rejoin replaces the user's earlier focus dialog.
        self.conferencing.dialogs.retain(|_, entry| {
            !(entry.conference == conference_id
                && entry.user == aor
                && entry.kind == DialogKind::Focus)
        });
        self.conferencing.dialogs.insert(
            dialog.id().clone(),
            ConferenceDialog {
                conference: conference_id.clone(),
                user: aor.clone(),
                kind: DialogKind::Focus,
                dialog,
            },
        );
        let mut ok = build::response_to(&request, status(200), Some(&tag));
        self.add_contact(&mut ok, &conference_id, ConferencePart::Focus);
        let record_route = self.record_route(&request);
        ok.headers
            .push(Header::RecordRoute(rsip::headers::RecordRoute::new(
                record_route,
            )));
        set_c3p_body(&mut ok, &response);
        tracing::info!(%aor, conference = %conference_id, "joined the focus");
        self.send_response(now, &key, ok);
        self.apply_roster_events(now, &conference_id, Some(&aor), events);
    }

    /// INFO in a focus dialog: a leader's command, or a dial-out.
    pub(super) fn focus_info(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &Request,
        conference_id: &str,
        aor: &str,
    ) {
        let Some(c3p_request) = self.c3p_body(now, key, request, aor) else {
            return;
        };
        let Some(conference) = self.conferencing.factory.conference_mut(conference_id) else {
            let failure = c3p_request.failure(FailureReason::ConferenceDoesNotExist);
            return self.reply_c3p(
                now,
                key,
                request,
                &failure,
                Some(FailureReason::ConferenceDoesNotExist),
            );
        };
        let (response, events) = conference.handle(now, aor, &c3p_request);
        tracing::info!(%aor, conference = %conference_id, command = c3p_request.command.name(), code = ?response.code, reason = ?response.reason, "focus command");
        let reason = response
            .reason
            .filter(|_| response.code == ResponseCode::Failure);
        self.reply_c3p(now, key, request, &response, reason);
        self.apply_roster_events(now, conference_id, Some(aor), events);
    }

    /// The user hung up their focus dialog: they leave the conference.
    pub(super) fn focus_dialog_ended(&mut self, now: Time, conference_id: &str, aor: &str) {
        let Some(conference) = self.conferencing.factory.conference_mut(conference_id) else {
            return;
        };
        match conference.participant_left(now, aor) {
            Ok(events) => self.apply_roster_events(now, conference_id, None, events),
            Err(error) => tracing::debug!(%error, "focus BYE"),
        }
    }

    /// SUBSCRIBE `Event: conference` to a focus: participants only.
    pub(super) fn roster_subscribe(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &Request,
        target: &ConferenceUri,
        user: &str,
    ) {
        let aor = self.aor_of_user(user);
        let Some(conference_id) = self.live_conference(now, key, request, target) else {
            return;
        };
        let focus = self
            .conferencing
            .factory
            .conference(&conference_id)
            .filter(|conference| {
                conference.roster().user(&aor).is_some() || conference.organizer() == aor
            })
            .map(|conference| conference.focus().to_string());
        match focus {
            Some(focus) => self.handle_subscribe(now, key, request, &focus),
            None => self.reply(
                now,
                key,
                request,
                status_with_reason(403, "Not In The Conference"),
            ),
        }
    }

    /// The first NOTIFY of a roster subscription to `focus`: the whole
    /// roster; None once the conference is gone.
    pub(in crate::server) fn roster_full_document(&self, focus: &str) -> Option<Vec<u8>> {
        let conference = self.conferencing.factory.conference_by_uri(focus)?;
        (!conference.is_ended()).then(|| conference.full_document().to_xml().into_bytes())
    }

    /// Acts on what a command or a SIP-side input changed, then tells the
    /// roster's subscribers. `requester` is whoever caused it, for the
    /// Referred-By of a dial-out.
    pub(super) fn apply_roster_events(
        &mut self,
        now: Time,
        conference_id: &str,
        requester: Option<&str>,
        events: Vec<RosterEvent>,
    ) {
        let mut ended = false;
        let mut gone = Vec::new();
        for event in events {
            match event {
                RosterEvent::Left { user, method } => {
                    if method == DisconnectionMethod::Booted {
                        tracing::info!(%user, conference = %conference_id, "ejected");
                    }
                    self.hang_up_user(now, conference_id, &user);
                    gone.push((user, method));
                }
                RosterEvent::MediaFiltered {
                    user,
                    endpoint,
                    filter,
                } => self.filter_user_audio(conference_id, &user, &endpoint, filter),
                RosterEvent::DialOut {
                    user,
                    endpoint,
                    target,
                    mcu_uri,
                } => self.start_dial_out(
                    now,
                    conference_id,
                    &user,
                    &endpoint,
                    &target,
                    &mcu_uri,
                    requester,
                ),
                RosterEvent::Ended => ended = true,
                RosterEvent::Joined { .. }
                | RosterEvent::RoleChanged { .. }
                | RosterEvent::LockChanged { .. }
                | RosterEvent::AudioJoined { .. }
                | RosterEvent::AudioLeft { .. } => {}
            }
        }
        self.name_participants(conference_id);
        self.publish_roster(now, conference_id);
        if ended {
            self.end_conference(now, conference_id);
        } else {
            self.end_roster_subscriptions(now, conference_id, &gone);
        }
    }

    /// Those who left see the roster no more: their subscriptions end
    /// after the document that shows them gone (`rejected` for the
    /// ejected, RFC 6665 §4.2.2; `noresource` for those who left).
    fn end_roster_subscriptions(
        &mut self,
        now: Time,
        conference_id: &str,
        gone: &[(String, DisconnectionMethod)],
    ) {
        let Some(focus) = self
            .conferencing
            .factory
            .conference(conference_id)
            .map(|conference| conference.focus().to_string())
        else {
            return;
        };
        for id in self.presence.notifier.subscriptions_of(&focus, CONFERENCE) {
            let Some(subscriber) = self.presence.notifier.subscriber_of(id) else {
                continue;
            };
            let Some((_, method)) = gone.iter().find(|(user, _)| user == subscriber) else {
                continue;
            };
            let reason = if *method == DisconnectionMethod::Booted {
                "rejected"
            } else {
                "noresource"
            };
            self.presence.notifier.terminate(now, id, reason);
        }
        self.send_notifies(now);
    }

    /// Names from the directory for the users of our domain the roster
    /// shows without one (C3P clients may send none; phones never do).
    fn name_participants(&mut self, conference_id: &str) {
        let Some(conference) = self.conferencing.factory.conference(conference_id) else {
            return;
        };
        let unnamed: Vec<String> = conference
            .roster()
            .users()
            .filter(|user| user.display_text.as_deref().is_none_or(str::is_empty))
            .map(|user| user.entity.clone())
            .collect();
        for user in unnamed {
            // A phone is named by its number.
            if let Some(number) = crate::server::gateway::number_of_target(&user) {
                if let Some(conference) = self.conferencing.factory.conference_mut(conference_id) {
                    conference.name_user(&user, &number);
                }
                continue;
            }
            let Some(aor) = rsip::Uri::try_from(user.as_str())
                .ok()
                .and_then(|uri| self.aor_of_uri(&uri))
            else {
                continue;
            };
            let Some(name) = self.directory.display_name(aor.user(), aor.domain()) else {
                continue;
            };
            if let Some(conference) = self.conferencing.factory.conference_mut(conference_id) {
                conference.name_user(&user, &name);
            }
        }
    }

    /// Sends every roster subscriber what changed.
    fn publish_roster(&mut self, now: Time, conference_id: &str) {
        let Some(conference) = self.conferencing.factory.conference_mut(conference_id) else {
            return;
        };
        let focus = conference.focus().to_string();
        let Some(document) = conference.notify_document() else {
            return;
        };
        let body = document.to_xml().into_bytes();
        for id in self.presence.notifier.subscriptions_of(&focus, CONFERENCE) {
            self.presence.notifier.notify(
                now,
                id,
                Some((conference_info::CONTENT_TYPE, body.clone())),
            );
        }
        self.send_notifies(now);
    }

    /// The conference is over: every dialog of it is hung up, every
    /// subscription ended, and the focus forgotten.
    fn end_conference(&mut self, now: Time, conference_id: &str) {
        let Some(focus) = self
            .conferencing
            .factory
            .conference(conference_id)
            .map(|conference| conference.focus().to_string())
        else {
            return;
        };
        tracing::info!(conference = %conference_id, "conference ended");
        self.bye_dialogs(now, |entry| entry.conference == conference_id);
        self.close_legs(now, |leg| leg.conference == conference_id);
        for id in self.presence.notifier.subscriptions_of(&focus, CONFERENCE) {
            self.presence.notifier.terminate(now, id, "noresource");
        }
        self.send_notifies(now);
        self.conferencing.factory.remove_ended();
    }

    /// BYE on every dialog `user` has in the conference, and their legs
    /// closed.
    fn hang_up_user(&mut self, now: Time, conference_id: &str, user: &str) {
        self.bye_dialogs(now, |entry| {
            entry.conference == conference_id && entry.user == user
        });
        self.close_legs(now, |leg| {
            leg.conference == conference_id && leg.user == user
        });
    }

    /// A C3P response in the body of a 200 (PROTOCOLS.md section 2), with
    /// the [MS-OCER] diagnostic of a refusal for the sender's role.
    fn reply_c3p(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &Request,
        response: &C3pResponse,
        failure: Option<FailureReason>,
    ) {
        let mut ok = build::response_to(request, status(200), Some(&self.ids.tag()));
        if let Some(diagnostics) = failure.and_then(c3p::ms_diagnostics_header) {
            ok.headers.push(Header::Other(
                c3p::MS_DIAGNOSTICS_HEADER.into(),
                diagnostics,
            ));
        }
        set_c3p_body(&mut ok, response);
        self.send_response(now, key, ok);
    }

    /// Mutes or unmutes at the mixer every leg of `user`'s endpoint.
    fn filter_user_audio(
        &mut self,
        conference_id: &str,
        user: &str,
        endpoint: &str,
        filter: MediaFilter,
    ) {
        let blocked = filter == MediaFilter::Block;
        let legs: Vec<u64> = self
            .conferencing
            .legs
            .iter()
            .filter(|(_, leg)| {
                leg.conference == conference_id && leg.user == user && leg.endpoint == endpoint
            })
            .map(|(id, _)| *id)
            .collect();
        for leg in legs {
            self.conferencing
                .io_requests
                .push_back(crate::proto::IoRequest::McuFilterLeg { leg, blocked });
        }
    }
}

fn set_c3p_body(response: &mut Response, c3p_response: &C3pResponse) {
    response
        .headers
        .push(Header::ContentType(rsip::headers::ContentType::new(
            c3p::CONTENT_TYPE,
        )));
    response.body = c3p_response.to_xml().into_bytes();
}
