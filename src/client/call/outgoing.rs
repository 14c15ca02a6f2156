//! Placing a call: INVITE with our SDP offer to a user or to a number
//! normalized by the location profile (see `provisioning`), through the
//! server (which
//! challenges it: `outgoing` sends it again with credentials), ringing,
//! the 2xx and its ACK (RFC 3261 §13.2.2.4, sent by us, not by the
//! transaction), or a failure, or our CANCEL while it rings (§9.1).

use rsip::headers::UntypedHeader;
use rsip::message::HeadersExt as _;
use rsip::{Header, Method, Request, Response};

use super::{Call, CallState};
use crate::client::{Client, Event, Purpose, status_line};
use crate::proto::Time;
use crate::proto::address::uri_peer;
use crate::proto::dialog::Dialog;
use crate::proto::sdp;

impl Client {
    pub(crate) fn place_call(&mut self, now: Time, to: &str) -> Result<(), String> {
        if self.call.is_some() {
            return Err("already in a call; hang up first".into());
        }
        if !self.registration.is_registered() {
            return Err("not signed in".into());
        }
        // A number goes through the server as a SIP URI (rsip has no tel:
        // Request-URI), RFC 3261 §19.1.6's user=phone saying it is one.
        let target = match self.phone_number(to)? {
            Some(e164) => format!("sip:{e164}@{};user=phone", self.config.domain),
            None => self.target_uri(to)?,
        };
        if target == self.aor {
            return Err("you cannot call yourself".into());
        }
        self.start_call(now, target).map(|_| ())
    }

    /// Sends the INVITE with our offer to `target` (a user, or a
    /// conference's A/V MCU) and makes it the call; its id.
    pub(crate) fn start_call(&mut self, now: Time, target: String) -> Result<u64, String> {
        if self.call.is_some() {
            return Err("already in a call; hang up first".into());
        }
        let local_media = self.new_local_media();
        let offer = sdp::offer(&local_media);
        let extra = vec![
            Header::Contact(rsip::headers::Contact::new(format!("<{}>", self.contact))),
            Header::Allow(rsip::headers::Allow::new(
                "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, NOTIFY",
            )),
            Header::ContentType(rsip::headers::ContentType::new("application/sdp")),
        ];
        self.next_call_id += 1;
        let id = self.next_call_id;
        self.send_new_request(
            now,
            Method::Invite,
            &target,
            extra,
            offer.into_bytes(),
            Purpose::Invite(id),
        );
        let Some(invite) = self.last_sent(&Purpose::Invite(id)) else {
            return Err("the INVITE could not be sent".into());
        };
        self.call = Some(Call {
            id,
            outgoing: true,
            invite_key: None,
            invite,
            dialog: None,
            local_tag: String::new(),
            peer: target,
            state: CallState::Calling,
            local_media,
            audio: None,
            held: false,
            reinvite_pending: false,
            cancelled: false,
        });
        Ok(id)
    }

    /// A provisional response to our INVITE: 180/183 mean it rings there.
    pub(crate) fn invite_provisional(&mut self, id: u64, response: &Response) {
        let code = response.status_code.code();
        let Some(call) = self.call.as_mut().filter(|call| call.id == id) else {
            return;
        };
        if (180..=183).contains(&code) && call.state == CallState::Calling {
            call.state = CallState::Ringing;
            self.events.push_back(Event::CallRinging {
                peer: call.peer.clone(),
            });
        }
    }

    /// The final answer to our INVITE (challenges already answered).
    pub(crate) fn invite_answered(&mut self, now: Time, id: u64, response: Option<&Response>) {
        let Some(response) = response else {
            if let Some(call) = self.call.take_if(|call| call.id == id) {
                self.call_over(now, id, call.peer, "no answer (408 Request Timeout)");
            }
            return;
        };
        let code = response.status_code.code();
        if !(200..300).contains(&code) {
            if let Some(call) = self.call.take_if(|call| call.id == id) {
                let reason = if call.cancelled {
                    "cancelled".to_owned()
                } else {
                    status_line(response)
                };
                self.call_over(now, id, call.peer, &reason);
            }
            return;
        }
        self.invite_accepted(now, id, response);
    }

    /// A 2xx: make the dialog, ACK it, start the media. A 2xx for a call we
    /// hung up meanwhile is ACKed and ended with BYE (RFC 3261 §15).
    fn invite_accepted(&mut self, now: Time, id: u64, response: &Response) {
        let Some(call) = self.call.as_mut().filter(|call| call.id == id) else {
            return;
        };
        let dialog = match Dialog::from_uac(&call.invite, response) {
            Ok(dialog) => dialog,
            Err(error) => {
                tracing::info!(%error, "a 2xx that makes no dialog");
                return;
            }
        };
        call.dialog = Some(dialog);
        call.state = CallState::Connected;
        let cancelled = call.cancelled;
        let answer = String::from_utf8_lossy(&response.body).into_owned();
        let local = call.local_media.clone();
        let peer = call.peer.clone();
        self.send_ack(now, response);
        if cancelled {
            return self.send_bye(now, "cancelled");
        }
        match sdp::negotiated_from_answer(&local, &answer) {
            Ok(audio) => self.start_media(audio),
            Err(error) => {
                tracing::info!(%error, "no usable audio in the answer; the call has no sound")
            }
        }
        self.call_connected(now, peer);
    }

    /// RFC 3261 §13.2.2.4: the ACK for a 2xx, in the dialog, new branch,
    /// the INVITE's CSeq number. Also for each retransmitted 2xx.
    pub(crate) fn send_ack(&mut self, _now: Time, response: &Response) {
        let via = rsip::headers::Via::new(self.via());
        let Some(call) = self.call.as_ref() else {
            return;
        };
        let Some(dialog) = call.dialog.as_ref() else {
            return;
        };
        if !same_dialog(response, &call.invite) {
            return;
        }
        let cseq = response
            .cseq_header()
            .ok()
            .and_then(|cseq| cseq.value().split_whitespace().next()?.parse::<u32>().ok())
            .unwrap_or(1);
        let ack = dialog.build_ack(cseq, via);
        match uri_peer(&dialog.next_hop()) {
            Some(peer) => self.transactions.send_stateless(ack.into(), peer),
            None => tracing::warn!("the dialog's next hop is not an address; ACK not sent"),
        }
    }

    /// A 2xx arriving again (its ACK was lost): ACK it again.
    pub(crate) fn retransmitted_2xx(&mut self, now: Time, response: &Response) {
        let is_invite_2xx = (200..300).contains(&response.status_code.code())
            && response
                .cseq_header()
                .is_ok_and(|cseq| cseq.value().ends_with("INVITE"));
        if is_invite_2xx {
            self.send_ack(now, response);
        }
    }

    /// Hung up while it rings: CANCEL (RFC 3261 §9.1); the 487 ends it.
    pub(crate) fn cancel_call(&mut self, now: Time) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        call.cancelled = true;
        let id = call.id;
        let key = self
            .outstanding
            .iter()
            .find(|outstanding| outstanding.purpose == Purpose::Invite(id))
            .map(|outstanding| outstanding.key.clone());
        match key.map(|key| self.transactions.cancel(now, &key)) {
            Some(Ok(_)) => {}
            Some(Err(error)) => tracing::info!(%error, "CANCEL not sent"),
            None => {
                // Nothing in flight (challenged and not yet resent): over now.
                if let Some(call) = self.call.take() {
                    self.call_over(now, id, call.peer, "cancelled");
                }
            }
        }
    }
}

fn same_dialog(response: &Response, invite: &Request) -> bool {
    match (response.call_id_header(), invite.call_id_header()) {
        (Ok(a), Ok(b)) => a.value() == b.value(),
        _ => false,
    }
}
