//! The SIP carriage of conferencing (PROTOCOLS.md sections 1-4): the focus
//! factory and the foci of [`super::focus`] reached by SERVICE, INVITE,
//! INFO and SUBSCRIBE (`focus`); the A/V MCU's legs, media INVITEs to it and
//! dial-outs from it, whose audio the driver's mixer carries (`mcu`); and
//! the IM MCU's relay (`chat`).
//!
//! The focus and the MCUs are user agents living inside the server: they
//! answer requests whose Request-URI is a conference URI (an `opaque`
//! parameter `app:conf:...`), and they send requests of their own (BYE,
//! dial-out INVITEs, relayed MESSAGEs) straight to the user's registered
//! contacts. Their 2xx carry our Record-Route, so the peer's requests in
//! the dialog come back through us and find the dialog here.
//!
//! Who asks: a request outside a dialog is digest-authenticated first and
//! the authenticated address of record is the requester; a request inside
//! one of our dialogs speaks for the user the dialog was made with.

mod chat;
mod dial_in;
mod dial_out;
mod focus;
mod mcu;

use std::collections::HashMap;

use rand::SeedableRng as _;
use rand::rngs::StdRng;
use rsip::headers::UntypedHeader as _;
use rsip::message::HeadersExt as _;
use rsip::{Header, Method, Request, Response};

use super::Server;
use super::focus::FocusFactory;
use crate::proto::address::uri_peer;
use crate::proto::build::{self, status, status_with_reason};
use crate::proto::conference_uri::{ConferencePart, ConferenceUri};
use crate::proto::dialog::{Dialog, DialogId, dialog_id_of_request, dialog_id_of_response};
use crate::proto::transaction::{KeyMap, TransactionKey};
use crate::proto::{IoRequest, IoResult, Peer, Time, Transport};

/// The conferencing part of the server.
pub(super) struct Conferencing {
    factory: FocusFactory,
    rng: StdRng,
    /// Every dialog the focus or the A/V MCU is in, by its id as we see it.
    dialogs: HashMap<DialogId, ConferenceDialog>,
    legs: HashMap<u64, mcu::Leg>,
    next_leg: u64,
    /// What our own client transactions are for.
    outgoing: KeyMap<Outgoing>,
    io_requests: std::collections::VecDeque<IoRequest>,
    /// The E.164 number phones call to join by code.
    access_number: Option<String>,
    /// Conferences whose roster took in quality figures not yet
    /// published, and when they are: the MCU reports every leg at once,
    /// and one NOTIFY carries them all.
    quality_changed: Vec<String>,
    quality_publish: Option<Time>,
}

impl Conferencing {
    pub(super) fn new(domain: &str, seed: u64, access_number: Option<String>) -> Self {
        Conferencing {
            factory: FocusFactory::new(domain).with_access_number(access_number.clone()),
            access_number,
            rng: StdRng::seed_from_u64(seed),
            dialogs: HashMap::new(),
            legs: HashMap::new(),
            next_leg: 1,
            outgoing: KeyMap::default(),
            io_requests: std::collections::VecDeque::new(),
            quality_changed: Vec::new(),
            quality_publish: None,
        }
    }

    pub(super) fn poll_io_request(&mut self) -> Option<IoRequest> {
        self.io_requests.pop_front()
    }

    pub(super) fn poll_timeout(&self) -> Option<Time> {
        let expiry = self
            .factory
            .conferences()
            .filter(|conference| is_unattended(conference))
            .map(|conference| conference.last_activity() + focus::IDLE_EXPIRY)
            .min();
        let deadline = crate::proto::time::earliest(
            expiry,
            self.legs.values().filter_map(mcu::Leg::ring_until).min(),
        );
        crate::proto::time::earliest(deadline, self.quality_publish)
    }
}

/// One dialog of the focus or of an A/V MCU leg.
struct ConferenceDialog {
    conference: String,
    /// The user's address of record.
    user: String,
    kind: DialogKind,
    dialog: Dialog,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DialogKind {
    Focus,
    Audio { leg: u64 },
}

/// What one of our client transactions is for.
#[derive(Debug, Clone)]
enum Outgoing {
    /// A BYE, a relayed MESSAGE: nothing to do with the answer.
    Fire,
    /// One branch of a dial-out INVITE of `leg`.
    DialOut { leg: u64 },
}

impl Server {
    /// The conference (part, conference ID) a Request-URI names, if it is
    /// one of ours.
    pub(super) fn conference_target(&self, uri: &rsip::Uri) -> Option<ConferenceUri> {
        // Every request asks; a conference URI names itself in its opaque
        // parameter, so others need not be printed and read again.
        let has_opaque = uri.params.iter().any(|param| {
            matches!(param, rsip::Param::Other(name, _) if name.value().eq_ignore_ascii_case("opaque"))
        });
        if !has_opaque {
            return None;
        }
        let text = uri.to_string();
        if !text.contains("app:conf:") {
            return None;
        }
        ConferenceUri::parse(&text)
            .ok()
            .filter(|uri| uri.domain.eq_ignore_ascii_case(&self.domain))
    }

    /// A request for the focus factory, a focus or an MCU; `user` is the
    /// authenticated requester, if the request was authenticated.
    pub(super) fn handle_conference_request(
        &mut self,
        now: Time,
        key: TransactionKey,
        request: Request,
        from: Peer,
        target: ConferenceUri,
        user: Option<String>,
    ) {
        let id = target.id.clone().unwrap_or_default();
        let _conference = tracing::info_span!("conference", id = %id).entered();
        if let Some(id) = dialog_id_of_request(&request, true) {
            if build::to_has_tag(request.to_header().map(|to| to.value()).unwrap_or_default()) {
                return self.handle_in_dialog(now, key, request, id);
            }
        }
        let Some(user) = user else {
            // Admitted without credentials (a trusted peer) but outside any
            // dialog: the focus needs to know who asks.
            tracing::info!(method = %request.method, "a conference request from no one we know");
            return self.reply(
                now,
                &key,
                &request,
                status_with_reason(403, "Sign In First"),
            );
        };
        match (request.method, target.part) {
            (Method::Service, ConferencePart::FocusFactory) => {
                self.factory_service(now, &key, &request, &user)
            }
            (Method::Invite, ConferencePart::Focus) if is_c3p(&request) => {
                self.focus_invite(now, key, request, &target, &user)
            }
            (Method::Invite, ConferencePart::Focus | ConferencePart::AudioVideo) => {
                self.media_invite(now, key, request, from, &target, &user)
            }
            (Method::Subscribe, ConferencePart::Focus) => {
                self.roster_subscribe(now, &key, &request, &target, &user)
            }
            (Method::Message, ConferencePart::Chat) => {
                self.chat_message(now, &key, &request, &target, &user)
            }
            (Method::Options, _) => self.reply(now, &key, &request, status(200)),
            _ => self.reply(now, &key, &request, status(405)),
        }
    }

    /// A request in a dialog the focus or an MCU is in, whatever its
    /// Request-URI.
    pub(in crate::server) fn in_conference_dialog(&self, request: &Request) -> bool {
        let in_dialog =
            build::to_has_tag(request.to_header().map(|to| to.value()).unwrap_or_default());
        in_dialog
            && dialog_id_of_request(request, true)
                .is_some_and(|id| self.conferencing.dialogs.contains_key(&id))
    }

    pub(in crate::server) fn handle_conference_dialog_request(
        &mut self,
        now: Time,
        key: TransactionKey,
        request: Request,
    ) {
        if let Some(id) = dialog_id_of_request(&request, true) {
            self.handle_in_dialog(now, key, request, id);
        }
    }

    fn handle_in_dialog(&mut self, now: Time, key: TransactionKey, request: Request, id: DialogId) {
        let Some(entry) = self.conferencing.dialogs.get_mut(&id) else {
            return self.reply(now, &key, &request, status(481));
        };
        if let Err(error) = entry.dialog.handle_request(&request) {
            tracing::info!(%error, method = %request.method, "conference dialog request refused");
            return self.reply(now, &key, &request, status(500));
        }
        let (conference, user, kind) = (entry.conference.clone(), entry.user.clone(), entry.kind);
        match (request.method, kind) {
            (Method::Bye, DialogKind::Focus) => {
                self.conferencing.dialogs.remove(&id);
                self.reply(now, &key, &request, status(200));
                self.focus_dialog_ended(now, &conference, &user);
            }
            (Method::Bye, DialogKind::Audio { leg }) => {
                self.conferencing.dialogs.remove(&id);
                self.reply(now, &key, &request, status(200));
                self.leg_ended(
                    now,
                    leg,
                    crate::proto::conference_info::DisconnectionMethod::Departed,
                );
            }
            (Method::Info, DialogKind::Focus) => {
                self.focus_info(now, &key, &request, &conference, &user)
            }
            (Method::Invite, DialogKind::Audio { leg }) => {
                self.leg_reinvite(now, key, request, leg)
            }
            (Method::Invite, DialogKind::Focus) => {
                // A session refresh of the focus dialog: nothing changes.
                let mut ok = build::response_to(&request, status(200), None);
                self.add_contact(&mut ok, &conference, ConferencePart::Focus);
                self.send_response(now, &key, ok);
            }
            (Method::Options, _) => self.reply(now, &key, &request, status(200)),
            _ => self.reply(now, &key, &request, status(405)),
        }
    }

    /// The ACK of one of our 2xx: the dialog is confirmed. True if it was
    /// for a conference dialog.
    pub(super) fn conference_ack(&mut self, request: &Request) -> bool {
        let Some(id) = dialog_id_of_request(request, true) else {
            return false;
        };
        match self.conferencing.dialogs.get_mut(&id) {
            Some(entry) => {
                entry.dialog.confirm();
                true
            }
            None => false,
        }
    }

    /// The answer to one of our own requests; true if it was one.
    pub(super) fn conference_response(
        &mut self,
        now: Time,
        key: &TransactionKey,
        response: &Response,
    ) -> bool {
        let Some(purpose) = self.conferencing.outgoing.get(key).cloned() else {
            // A 2xx retransmitted after its transaction ended: ACK again.
            return self.reack(response);
        };
        if response.status_code.code() >= 200 {
            self.conferencing.outgoing.remove(key);
        }
        match purpose {
            Outgoing::Fire => {}
            Outgoing::DialOut { leg } => self.dial_out_response(now, key, leg, response),
        }
        true
    }

    /// No answer to one of our requests; true if it was one.
    pub(super) fn conference_timeout(&mut self, now: Time, key: &TransactionKey) -> bool {
        let Some(purpose) = self.conferencing.outgoing.remove(key) else {
            return false;
        };
        if let Outgoing::DialOut { leg } = purpose {
            let timeout = Response {
                status_code: status(408),
                ..Default::default()
            };
            self.dial_out_response(now, key, leg, &timeout);
        }
        true
    }

    /// The driver's answer to one of the A/V MCU's requests.
    pub(super) fn handle_io_result(&mut self, now: Time, result: IoResult) {
        match result {
            IoResult::McuLegReady { leg, port } => self.leg_ready(now, leg, port),
            IoResult::McuLegFailed { leg, reason } => {
                tracing::warn!(leg, %reason, "no media ports for a conference leg");
                self.leg_failed(now, leg);
            }
            IoResult::McuDtmf { leg, digit } => self.leg_dtmf(now, leg, digit),
            IoResult::McuLegQuality { leg, quality } => self.leg_quality(now, leg, &quality),
        }
    }

    /// Conferences created and left unattended end after a while.
    pub(super) fn conference_timers(&mut self, now: Time) {
        self.dial_out_timers(now);
        self.publish_quality(now);
        let expired: Vec<String> = self
            .conferencing
            .factory
            .conferences()
            .filter(|conference| {
                is_unattended(conference) && conference.last_activity() + focus::IDLE_EXPIRY <= now
            })
            .map(|conference| conference.id().to_owned())
            .collect();
        for id in expired {
            tracing::info!(conference = %id, "an unattended conference expired");
            let events = self
                .conferencing
                .factory
                .conference_mut(&id)
                .map(|conference| conference.expire(now))
                .unwrap_or_default();
            self.apply_roster_events(now, &id, None, events);
        }
    }

    /// Sends `request` (a new request of ours or one in a dialog) to
    /// `peer` through a client transaction kept for `purpose`.
    fn send_conference_request(
        &mut self,
        now: Time,
        request: Request,
        peer: Peer,
        purpose: Outgoing,
    ) -> Option<TransactionKey> {
        match self.transactions.send_request(now, request, peer) {
            Ok(key) => {
                self.conferencing.outgoing.insert(key.clone(), purpose);
                Some(key)
            }
            Err(error) => {
                tracing::warn!(%error, "conference request not sent");
                None
            }
        }
    }

    /// A request in one of our dialogs, with our Via; None if the dialog
    /// has no reachable next hop.
    fn dialog_request(&mut self, id: &DialogId, method: Method) -> Option<(Request, Peer)> {
        let via = self.via(Transport::Udp);
        let entry = self.conferencing.dialogs.get_mut(id)?;
        let peer = uri_peer(&entry.dialog.next_hop())?;
        let request = entry
            .dialog
            .build_request(method, rsip::headers::Via::new(via), None);
        Some((request, peer))
    }

    /// BYE on every dialog of ours that `which` picks.
    fn bye_dialogs(&mut self, now: Time, which: impl Fn(&ConferenceDialog) -> bool) {
        let dialogs: Vec<DialogId> = self
            .conferencing
            .dialogs
            .iter()
            .filter(|(_, entry)| which(entry))
            .map(|(id, _)| id.clone())
            .collect();
        for id in dialogs {
            self.send_bye(now, &id);
        }
    }

    /// BYE on a dialog of ours, forgetting it.
    fn send_bye(&mut self, now: Time, id: &DialogId) {
        if let Some((bye, peer)) = self.dialog_request(id, Method::Bye) {
            self.send_conference_request(now, bye, peer, Outgoing::Fire);
        }
        self.conferencing.dialogs.remove(id);
    }

    /// The Contact of a focus or MCU: its conference URI, marked as a
    /// focus (RFC 4579 §3).
    fn add_contact(&self, response: &mut Response, conference: &str, part: ConferencePart) {
        let uri = self
            .conferencing
            .factory
            .conference(conference)
            .and_then(|conference| conference.mcu_uri(part));
        if let Some(uri) = uri {
            response
                .headers
                .push(Header::Contact(rsip::headers::Contact::new(format!(
                    "<{uri}>;isfocus"
                ))));
        }
    }

    /// A 2xx of a dial-out whose transaction is gone came again: its ACK
    /// was lost. True if the dialog is ours.
    fn reack(&mut self, response: &Response) -> bool {
        // Only a 2xx to INVITE is ACKed, and only in a dialog of ours:
        // checked before the dialog id is read, since every response the
        // proxy relays comes this way.
        if !(200..300).contains(&response.status_code.code())
            || self.conferencing.dialogs.is_empty()
            || crate::proto::message::cseq_method(response) != Some(rsip::Method::Invite)
        {
            return false;
        }
        let Some(id) = dialog_id_of_response(response, true) else {
            return false;
        };
        if !self.conferencing.dialogs.contains_key(&id) {
            return false;
        }
        self.send_ack(&id, response);
        true
    }

    fn send_ack(&mut self, id: &DialogId, response: &Response) {
        let via = self.via(Transport::Udp);
        let Some(entry) = self.conferencing.dialogs.get(id) else {
            return;
        };
        let cseq = response
            .cseq_header()
            .ok()
            .and_then(|cseq| cseq.value().split_whitespace().next()?.parse::<u32>().ok())
            .unwrap_or(1);
        let ack = entry.dialog.build_ack(cseq, rsip::headers::Via::new(via));
        match uri_peer(&entry.dialog.next_hop()) {
            Some(peer) => self.transactions.send_stateless(ack.into(), peer),
            None => tracing::warn!("a dial-out's next hop is not an address; ACK not sent"),
        }
    }
}

/// A live conference with nobody in it.
fn is_unattended(conference: &super::focus::Conference) -> bool {
    !conference.is_ended() && conference.roster().users().len() == 0
}

/// A body of C3P.
fn is_c3p(request: &Request) -> bool {
    content_type(request).is_some_and(|media| media == crate::proto::c3p::CONTENT_TYPE)
}

/// The media type of a request's body, lower case, without parameters.
fn content_type(request: &Request) -> Option<String> {
    request.headers.iter().find_map(|header| match header {
        Header::ContentType(value) => value
            .value()
            .split(';')
            .next()
            .map(|media| media.trim().to_ascii_lowercase()),
        _ => None,
    })
}

#[cfg(test)]
mod tests;
