//! One-to-one calls (RFC 3261 §13-15, with SDP offer/answer of RFC 3264):
//! placing, ringing, answering, declining, cancelling, holding, hanging up.
//!
//! A client has one call at a time; a second INVITE gets 486 Busy Here.
//! An INVITE from a conference's A/V MCU rings as an invitation to that
//! conference (see `super::conference`).
//! The core negotiates the media and tells the driver's media task what to
//! do through [`IoRequest`]s on the RTP port it was given; it never touches
//! audio itself. `outgoing` places calls; `media` holds the SDP side
//! (offers, answers, re-INVITEs for hold and resume).

mod media;
mod outgoing;

use rsip::headers::UntypedHeader;
use rsip::message::HeadersExt as _;
use rsip::{Header, Method, Request};

use super::{Client, Event, Purpose};
use crate::proto::address::uri_peer;
use crate::proto::build::{self, status};
use crate::proto::dialog::Dialog;
use crate::proto::sdp::{LocalMedia, NegotiatedAudio};
use crate::proto::transaction::TransactionKey;
use crate::proto::{IoRequest, Peer, Time};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// Outgoing: the INVITE is out, nothing heard but 100 Trying.
    Calling,
    /// Incoming: 180 sent, waiting for the user. Outgoing: it rings there.
    Ringing,
    /// Incoming: 200 sent, waiting for the ACK.
    Answered,
    Connected,
}

#[derive(Debug)]
pub struct Call {
    /// Names the call to the media task.
    id: u64,
    outgoing: bool,
    /// Incoming: the INVITE's server transaction. Outgoing: unused (the
    /// INVITE may be sent twice, with credentials; see `outgoing`).
    invite_key: Option<TransactionKey>,
    /// The INVITE that made the call (as received, or as last sent).
    invite: Request,
    dialog: Option<Dialog>,
    local_tag: String,
    peer: String,
    pub state: CallState,
    /// Our side of the SDP, its version rising with each offer.
    local_media: LocalMedia,
    audio: Option<NegotiatedAudio>,
    /// We put the call on hold.
    held: bool,
    /// A hold/resume re-INVITE of ours is in flight.
    reinvite_pending: bool,
    /// Hung up while still calling: the CANCEL is out, the final answer
    /// will end it.
    cancelled: bool,
}

impl Call {
    pub fn peer(&self) -> &str {
        &self.peer
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn set_invite(&mut self, invite: Request) {
        self.invite = invite;
    }
}

impl Client {
    pub(super) fn handle_invite(
        &mut self,
        now: Time,
        key: TransactionKey,
        request: Request,
        from: Peer,
    ) {
        if request
            .to_header()
            .is_ok_and(|to| build::to_has_tag(to.value()))
        {
            return self.handle_reinvite(now, key, request);
        }
        let invitation = self.conference_invitation(&request);
        // One call, and one conference, at a time.
        let busy = self.call.is_some()
            || invitation
                .as_ref()
                .is_some_and(|invitation| self.in_other_conference(&invitation.focus));
        if busy {
            let response = build::response_to(&request, status(486), Some(&self.ids.tag()));
            return self.respond(now, &key, response);
        }
        let local_tag = self.ids.tag();
        let dialog = match Dialog::from_uas(&request, &local_tag) {
            Ok(dialog) => dialog,
            Err(error) => {
                tracing::info!(%from, %error, "INVITE that cannot make a dialog");
                let response = build::response_to(&request, status(400), Some(&local_tag));
                return self.respond(now, &key, response);
            }
        };
        let local_media = self.new_local_media();
        // RFC 3264 §6: an offer we can answer nothing to is refused now,
        // rather than rung and then failed.
        if !request.body.is_empty() && self.answer_offer(&request.body, &local_media).is_none() {
            let response = build::response_to(&request, status(488), Some(&local_tag));
            return self.respond(now, &key, response);
        }
        let peer = match &invitation {
            Some(invitation) => invitation.mcu.clone(),
            None => request
                .from_header()
                .ok()
                .and_then(|from| build::address_of(from.value()))
                .unwrap_or_default(),
        };
        let mut ringing = build::response_to(&request, status(180), Some(&local_tag));
        build::copy_record_route(&request, &mut ringing);
        ringing.headers.push(self.contact_header());
        self.respond(now, &key, ringing);
        // A/V MCU dial-out: an invitation to its conference (PROTOCOLS.md
        // section 4, step 3), answered like any call.
        match invitation {
            Some(invitation) => self.events.push_back(Event::ConferenceInvitation {
                from: invitation.from,
                focus: invitation.focus,
            }),
            None => self
                .events
                .push_back(Event::IncomingCall { from: peer.clone() }),
        }
        self.events
            .push_back(Event::CallRinging { peer: peer.clone() });
        self.next_call_id += 1;
        self.call = Some(Call {
            id: self.next_call_id,
            outgoing: false,
            invite_key: Some(key),
            invite: request,
            dialog: Some(dialog),
            local_tag,
            peer,
            state: CallState::Ringing,
            local_media,
            audio: None,
            held: false,
            reinvite_pending: false,
            cancelled: false,
        });
    }

    pub(super) fn answer_call(&mut self, now: Time) -> Result<(), String> {
        let Some(call) = self
            .call
            .as_ref()
            .filter(|call| call.state == CallState::Ringing && !call.outgoing)
        else {
            return Err("no call is ringing".into());
        };
        // An INVITE without SDP gets our offer in the 200 and the answer in
        // the ACK (RFC 3264 §5, "late offer").
        let (body, audio) = if call.invite.body.is_empty() {
            (crate::proto::sdp::offer(&call.local_media), None)
        } else {
            match self.answer_offer(&call.invite.body, &call.local_media) {
                Some((sdp, audio)) => (sdp, Some(audio)),
                None => return Err("the caller's audio offer cannot be answered".into()),
            }
        };
        let Some(call) = self.call.as_mut() else {
            return Ok(());
        };
        call.state = CallState::Answered;
        if let Some(dialog) = call.dialog.as_mut() {
            dialog.confirm();
        }
        let mut ok = build::response_to(&call.invite, status(200), Some(&call.local_tag));
        ok.headers
            .push(Header::ContentType(rsip::headers::ContentType::new(
                "application/sdp",
            )));
        ok.body = body.into_bytes();
        build::copy_record_route(&call.invite, &mut ok);
        ok.headers
            .push(Header::Contact(rsip::headers::Contact::new(format!(
                "<{}>",
                self.contact
            ))));
        let key = call.invite_key.clone();
        if let Some(audio) = audio {
            self.start_media(audio);
        }
        if let Some(key) = key {
            self.respond(now, &key, ok);
        }
        Ok(())
    }

    pub(super) fn decline_call(&mut self, now: Time) -> Result<(), String> {
        let Some(call) = self
            .call
            .take_if(|call| call.state == CallState::Ringing && !call.outgoing)
        else {
            return Err("no call is ringing".into());
        };
        let decline = build::response_to(&call.invite, status(603), Some(&call.local_tag));
        if let Some(key) = &call.invite_key {
            self.respond(now, key, decline);
        }
        self.call_over(now, call.id, call.peer, "declined");
        Ok(())
    }

    /// The caller (or a forking proxy) cancelled while we rang.
    pub(super) fn call_cancelled(&mut self, now: Time, invite: &TransactionKey) {
        let Some(call) = self.call.take_if(|call| {
            call.invite_key.as_ref() == Some(invite) && call.state == CallState::Ringing
        }) else {
            return;
        };
        // RFC 3261 §9.2: the INVITE gets 487 once it is cancelled.
        let terminated = build::response_to(&call.invite, status(487), Some(&call.local_tag));
        self.respond(now, invite, terminated);
        self.call_over(now, call.id, call.peer, "cancelled");
    }

    /// An ACK for our 2xx: the call is up. A late offer's answer rides in it.
    pub(super) fn call_acked(&mut self, now: Time, ack: &Request) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        if call.state != CallState::Answered || !same_call_id(ack, &call.invite) {
            return;
        }
        call.state = CallState::Connected;
        let peer = call.peer.clone();
        if !ack.body.is_empty() && call.audio.is_none() {
            let local = call.local_media.clone();
            match crate::proto::sdp::negotiated_from_answer(
                &local,
                &String::from_utf8_lossy(&ack.body),
            ) {
                Ok(audio) => self.start_media(audio),
                Err(error) => tracing::info!(%error, "the answer in the ACK is unusable; no audio"),
            }
        }
        self.call_connected(now, peer);
    }

    pub(super) fn handle_bye(&mut self, now: Time, key: TransactionKey, request: Request) {
        let matches = self.call.as_ref().is_some_and(|call| {
            call.state != CallState::Ringing && same_call_id(&request, &call.invite)
        });
        if !matches {
            let response = build::response_to(&request, status(481), None);
            return self.respond(now, &key, response);
        }
        let ok = build::response_to(&request, status(200), None);
        self.respond(now, &key, ok);
        if let Some(call) = self.call.take() {
            self.call_over(now, call.id, call.peer, "the other party hung up");
        }
    }

    pub(super) fn hang_up(&mut self, now: Time) -> Result<(), String> {
        let Some(call) = self.call.as_ref() else {
            return Err("there is no call".into());
        };
        match (call.outgoing, call.state) {
            (false, CallState::Ringing) => self.decline_call(now),
            (true, CallState::Calling | CallState::Ringing) => {
                self.cancel_call(now);
                Ok(())
            }
            _ => {
                self.send_bye(now, "hung up");
                Ok(())
            }
        }
    }

    /// Ends whatever call there is, as a quitting client must.
    pub(super) fn end_call(&mut self, now: Time) {
        let _ = self.hang_up(now);
    }

    /// RFC 3261 §13.3.1.4: a 2xx that no ACK confirmed within 64*T1 ends
    /// the call with a BYE.
    pub(super) fn call_timed_out(&mut self, now: Time, key: &TransactionKey) {
        let unacknowledged = self.call.as_ref().is_some_and(|call| {
            call.invite_key.as_ref() == Some(key) && call.state == CallState::Answered
        });
        if unacknowledged {
            self.send_bye(now, "the caller never confirmed the answer (no ACK)");
        }
    }

    fn send_bye(&mut self, now: Time, reason: &str) {
        let Some(mut call) = self.call.take() else {
            return;
        };
        if let Some(dialog) = call.dialog.as_mut() {
            let via = rsip::headers::Via::new(self.via());
            let contact = rsip::headers::Contact::new(format!("<{}>", self.contact));
            let bye = dialog.build_request(Method::Bye, via, Some(contact));
            match uri_peer(&dialog.next_hop()) {
                Some(peer) => self.send_request(now, bye, peer, Purpose::Bye),
                None => tracing::warn!("the dialog's next hop is not an address; BYE not sent"),
            }
        }
        self.call_over(now, call.id, call.peer, reason);
    }

    /// A call is up: say so, and show In a call (In a conference, for a
    /// conference's audio) to our watchers.
    fn call_connected(&mut self, now: Time, peer: String) {
        let automatic = if super::conference::is_conference_audio(&peer) {
            crate::proto::pidf::Availability::InAConference
        } else {
            crate::proto::pidf::Availability::InACall
        };
        self.events.push_back(Event::CallConnected { peer });
        self.set_automatic_presence(now, Some(automatic));
    }

    /// A call is over, for whatever reason: media off, presence back.
    fn call_over(&mut self, now: Time, call: u64, peer: String, reason: &str) {
        self.io_requests.push_back(IoRequest::StopMedia { call });
        self.events.push_back(Event::CallEnded {
            peer,
            reason: reason.into(),
        });
        self.set_automatic_presence(now, None);
    }

    fn contact_header(&self) -> Header {
        Header::Contact(rsip::headers::Contact::new(format!("<{}>", self.contact)))
    }
}

fn same_call_id(a: &Request, b: &Request) -> bool {
    match (a.call_id_header(), b.call_id_header()) {
        (Ok(a), Ok(b)) => a.value() == b.value(),
        _ => false,
    }
}
