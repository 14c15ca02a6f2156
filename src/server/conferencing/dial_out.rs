//! The A/V MCU calling out (PROTOCOLS.md section 2, dial-out): an INVITE
//! From the MCU URI to every registered contact of the invitee, naming the
//! inviter in Referred-By (RFC 3892); the first contact to answer takes the
//! call, the other branches are CANCELled, and a second 2xx that crossed
//! the CANCEL is ACKed and hung up.

use rsip::headers::UntypedHeader as _;
use rsip::{Header, Method, Request, Response};

use super::mcu::{Leg, LegState, set_sdp, src_id};
use super::{ConferenceDialog, DialogKind, Outgoing};
use crate::proto::build;
use crate::proto::conference_info::DisconnectionMethod;
use crate::proto::dialog::{Dialog, DialogId};
use crate::proto::sdp::{self, LocalMedia};
use crate::proto::transaction::TransactionKey;
use crate::proto::{IoRequest, Peer, Time};
use crate::server::registrar::Aor;
use crate::server::{Server, gateway};

/// How long a dial-out rings before the MCU gives up on it.
pub(super) const RING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(45);

impl Server {
    /// The MCU is to call `target` for `user` (a leader's invitation, or
    /// "call me at").
    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_dial_out(
        &mut self,
        _now: Time,
        conference_id: &str,
        user: &str,
        endpoint: &str,
        target: &str,
        mcu_uri: &str,
        requester: Option<&str>,
    ) {
        let leg = self.conferencing.next_leg;
        self.conferencing.next_leg += 1;
        self.conferencing.legs.insert(
            leg,
            Leg {
                conference: conference_id.to_owned(),
                user: user.to_owned(),
                endpoint: endpoint.to_owned(),
                state: LegState::DialPending {
                    target: target.to_owned(),
                    referred_by: requester.map(str::to_owned),
                    mcu_uri: mcu_uri.to_owned(),
                },
                local: None,
            },
        );
        self.conferencing
            .io_requests
            .push_back(IoRequest::McuOpenLeg {
                conference: conference_id.to_owned(),
                leg,
            });
    }

    /// Sends the dial-out INVITE to every registered contact of `target`.
    pub(super) fn dial(
        &mut self,
        now: Time,
        leg: u64,
        target: &str,
        referred_by: Option<&str>,
        mcu_uri: &str,
        local: &LocalMedia,
    ) {
        // A number goes through the mediation gateway, and the phone that
        // answers sees a plain call from the conferencing service, as a
        // telephone network would show it; anyone else is called From the
        // MCU, so that their client knows the conference.
        let number = gateway::number_of_target(target);
        let (routes, from, to) = match &number {
            Some(e164) => (
                self.number_route(now, e164, Peer::udp(self.local), false),
                format!(
                    "\"Conferencing service\" <sip:conferencing@{}>",
                    self.domain
                ),
                format!("<sip:{e164}@{};user=phone>", self.domain),
            ),
            None => (
                rsip::Uri::try_from(target)
                    .ok()
                    .and_then(|uri| self.aor_of_uri(&uri))
                    .map(|aor: Aor| self.registrar.contacts(&aor, now))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|binding| (Some(binding.contact), binding.source))
                    .collect(),
                format!("<{mcu_uri}>"),
                format!("<{target}>"),
            ),
        };
        if routes.is_empty() {
            let reason = if number.is_some() {
                "no route to the number"
            } else {
                "not signed in"
            };
            return self.dial_out_failed(now, leg, DisconnectionMethod::Failed, reason);
        }
        let tag = self.ids.tag();
        let offer = sdp::offer(local);
        let mut branches = Vec::new();
        for (contact, peer) in routes {
            let Some(contact) = contact else {
                continue;
            };
            let call_id = self.ids.call_id(&self.local.ip().to_string());
            let via = self.via(peer.transport);
            let mut headers = vec![
                Header::Via(rsip::headers::Via::new(via)),
                Header::MaxForwards(70.into()),
                Header::From(rsip::headers::From::new(format!("{from};tag={tag}"))),
                Header::To(rsip::headers::To::new(to.clone())),
                Header::CallId(rsip::headers::CallId::new(call_id.clone())),
                Header::CSeq(rsip::headers::CSeq::new("1 INVITE")),
                Header::Contact(rsip::headers::Contact::new(format!("<{mcu_uri}>;isfocus"))),
            ];
            // Our own Record-Route: the invitee's requests in the call come
            // back through us, where the route token admits them.
            let host = self.local;
            headers.push(Header::RecordRoute(rsip::headers::RecordRoute::new(
                format!(
                    "<sip:{}:{};lr;{}={}>",
                    host.ip(),
                    host.port(),
                    crate::server::policy::ROUTE_TOKEN_PARAM,
                    self.route_tokens.token(&call_id)
                ),
            )));
            if let Some(inviter) = referred_by {
                headers.push(Header::Other("Referred-By".into(), format!("<{inviter}>")));
            }
            let mut request = Request {
                method: Method::Invite,
                uri: contact,
                version: rsip::Version::V2,
                headers: headers.into(),
                body: Vec::new(),
            };
            set_sdp(&mut request.headers, &mut request.body, offer.clone());
            if let Some(key) =
                self.send_conference_request(now, request.clone(), peer, Outgoing::DialOut { leg })
            {
                branches.push((key, request));
            }
        }
        if branches.is_empty() {
            return self.dial_out_failed(now, leg, DisconnectionMethod::Failed, "could not call");
        }
        if let Some(entry) = self.conferencing.legs.get_mut(&leg) {
            entry.state = LegState::Dialing {
                branches,
                answered: false,
                ring_until: now + RING_TIMEOUT,
            };
        }
    }

    /// An answer on one branch of a dial-out.
    pub(super) fn dial_out_response(
        &mut self,
        now: Time,
        key: &TransactionKey,
        leg: u64,
        response: &Response,
    ) {
        let code = response.status_code.code();
        if code < 200 {
            if matches!(code, 180 | 183) {
                self.dial_out_alerting(now, leg);
            }
            return;
        }
        let Some(entry) = self.conferencing.legs.get_mut(&leg) else {
            // The dial-out was given up; an answer that crossed that is
            // taken and hung up.
            if (200..300).contains(&code) {
                self.hang_up_stray_answer(now, key, response);
            }
            return;
        };
        let LegState::Dialing {
            branches, answered, ..
        } = &mut entry.state
        else {
            return;
        };
        let Some(index) = branches.iter().position(|(branch, _)| branch == key) else {
            return;
        };
        let (_, invite) = branches.swap_remove(index);
        if code >= 300 {
            if branches.is_empty() && !*answered {
                let (method, reason) = failure_of(response);
                self.dial_out_failed(now, leg, method, &reason);
            } else if branches.is_empty() {
                entry.state = LegState::Up;
            }
            return;
        }
        let first = !*answered;
        *answered = true;
        let others: Vec<TransactionKey> = branches.iter().map(|(key, _)| key.clone()).collect();
        if branches.is_empty() {
            entry.state = LegState::Up;
        }
        let (conference_id, user, endpoint) = entry.whose();
        let local = entry.local.clone();
        let mut dialog = match Dialog::from_uac(&invite, response) {
            Ok(dialog) => dialog,
            Err(error) => {
                tracing::info!(%error, "a dial-out 2xx that makes no dialog");
                return;
            }
        };
        dialog.drop_own_routes(|uri| self.is_us(uri));
        let id: DialogId = dialog.id().clone();
        self.conferencing.dialogs.insert(
            id.clone(),
            ConferenceDialog {
                conference: conference_id.clone(),
                user: user.clone(),
                kind: DialogKind::Audio { leg },
                dialog,
            },
        );
        self.send_ack(&id, response);
        if !first {
            // Another contact of the user answered too late.
            return self.send_bye(now, &id);
        }
        for other in others {
            if let Err(error) = self.transactions.cancel(now, &other) {
                tracing::debug!(%error, "cancel of a dial-out branch");
            }
        }
        let answer = String::from_utf8_lossy(&response.body).into_owned();
        let audio = local
            .as_ref()
            .map(|local| sdp::negotiated_from_answer(local, &answer));
        match audio {
            Some(Ok(audio)) => self.start_leg(leg, audio),
            _ => {
                tracing::info!(leg, "a dial-out answer we cannot use");
                self.send_bye(now, &id);
                return self.leg_ended(now, leg, DisconnectionMethod::Failed);
            }
        }
        let joined = self
            .conferencing
            .factory
            .conference_mut(&conference_id)
            .map(|conference| conference.audio_joined(now, &user, &endpoint, Some(src_id(leg))));
        match joined {
            Some(Ok(events)) => {
                tracing::info!(%user, conference = %conference_id, leg, "dial-out answered");
                self.apply_roster_events(now, &conference_id, None, events);
            }
            _ => {
                self.send_bye(now, &id);
                self.drop_leg(leg);
            }
        }
    }

    /// The first ringing of a dial-out shows in the roster.
    fn dial_out_alerting(&mut self, now: Time, leg: u64) {
        let Some(entry) = self.conferencing.legs.get(&leg) else {
            return;
        };
        let (conference_id, user, endpoint) = entry.whose();
        let Some(conference) = self.conferencing.factory.conference_mut(&conference_id) else {
            return;
        };
        if let Err(error) = conference.audio_alerting(now, &user, &endpoint) {
            tracing::debug!(%error, "dial-out alerting");
        }
        self.apply_roster_events(now, &conference_id, None, Vec::new());
    }

    /// Dial-outs that rang too long are cancelled and shown not answered.
    pub(super) fn dial_out_timers(&mut self, now: Time) {
        let expired: Vec<u64> = self
            .conferencing
            .legs
            .iter()
            .filter(|(_, leg)| {
                matches!(leg.state, LegState::Dialing { ring_until, answered: false, .. } if ring_until <= now)
            })
            .map(|(id, _)| *id)
            .collect();
        for leg in expired {
            if let Some(LegState::Dialing { branches, .. }) =
                self.conferencing.legs.get(&leg).map(|entry| &entry.state)
            {
                let keys: Vec<TransactionKey> =
                    branches.iter().map(|(key, _)| key.clone()).collect();
                for key in keys {
                    if let Err(error) = self.transactions.cancel(now, &key) {
                        tracing::debug!(%error, "cancel of an unanswered dial-out");
                    }
                }
            }
            self.dial_out_failed(now, leg, DisconnectionMethod::Failed, "no answer");
        }
    }

    /// A 2xx to a dial-out that was given up: ACK it, then BYE.
    fn hang_up_stray_answer(&mut self, now: Time, key: &TransactionKey, response: &Response) {
        let Some(invite) = self.transactions.request(key).cloned() else {
            return;
        };
        let Ok(mut dialog) = Dialog::from_uac(&invite, response) else {
            return;
        };
        dialog.drop_own_routes(|uri| self.is_us(uri));
        let id = dialog.id().clone();
        self.conferencing.dialogs.insert(
            id.clone(),
            ConferenceDialog {
                conference: String::new(),
                user: String::new(),
                kind: DialogKind::Focus,
                dialog,
            },
        );
        self.send_ack(&id, response);
        self.send_bye(now, &id);
    }
}

/// How a dial-out's final failure shows in the roster: the RFC 4575
/// disconnection method and the reason in words.
fn failure_of(response: &Response) -> (DisconnectionMethod, String) {
    let code = response.status_code.code();
    let reason = match code {
        486 | 600 => "busy".to_owned(),
        603 => "declined".to_owned(),
        408 | 480 | 487 => "no answer".to_owned(),
        404 | 484 | 604 => "no such number".to_owned(),
        _ => format!("failed ({code} {})", build::reason_phrase(code)),
    };
    let method = if matches!(code, 486 | 600 | 603) {
        DisconnectionMethod::Busy
    } else {
        DisconnectionMethod::Failed
    };
    (method, reason)
}
