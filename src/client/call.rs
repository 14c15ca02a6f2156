//! Incoming one-to-one calls, as far as signalling goes: ring, answer,
//! decline, be cancelled, hang up or be hung up on (RFC 3261 §13-15).
//!
//! A client takes one call at a time; a second INVITE gets 486 Busy Here.
//! There is no media yet, so an answer rejects every offered stream with
//! port 0 (RFC 3264 §6), which is a valid answer meaning "no audio": the
//! call is set up and torn down properly, and audio joins it later without
//! changing this state machine.

use rsip::headers::UntypedHeader;
use rsip::message::HeadersExt as _;
use rsip::{Header, Method, Request};

use super::{Client, Event, Purpose};
use crate::proto::address::uri_peer;
use crate::proto::build::{self, status};
use crate::proto::dialog::Dialog;
use crate::proto::transaction::TransactionKey;
use crate::proto::{Peer, Time};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// 180 sent; waiting for the user.
    Ringing,
    /// 200 sent; waiting for the ACK.
    Answered,
    /// ACK received.
    Connected,
}

#[derive(Debug)]
pub struct Call {
    invite_key: TransactionKey,
    invite: Request,
    dialog: Dialog,
    local_tag: String,
    peer: String,
    pub state: CallState,
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
            // Re-INVITEs (hold, codec changes) arrive with the audio work.
            let response = build::response_to(&request, status(488), None);
            return self.respond(now, &key, response);
        }
        if self.call.is_some() {
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
        let peer = request
            .from_header()
            .ok()
            .and_then(|from| rsip::headers::typed::From::try_from(from.clone()).ok())
            .map(|from| from.uri.to_string())
            .unwrap_or_default();
        let mut ringing = build::response_to(&request, status(180), Some(&local_tag));
        build::copy_record_route(&request, &mut ringing);
        ringing.headers.push(self.contact_header());
        self.respond(now, &key, ringing);
        self.events
            .push_back(Event::IncomingCall { from: peer.clone() });
        self.events
            .push_back(Event::CallRinging { peer: peer.clone() });
        self.call = Some(Call {
            invite_key: key,
            invite: request,
            dialog,
            local_tag,
            peer,
            state: CallState::Ringing,
        });
    }

    pub(super) fn answer_call(&mut self, now: Time) -> Result<(), String> {
        let Some(call) = self
            .call
            .as_mut()
            .filter(|call| call.state == CallState::Ringing)
        else {
            return Err("no call is ringing".into());
        };
        call.state = CallState::Answered;
        call.dialog.confirm();
        let mut ok = build::response_to(&call.invite, status(200), Some(&call.local_tag));
        let key = call.invite_key.clone();
        if let Some(answer) = reject_all_streams(&call.invite.body, self.config.local.ip()) {
            ok.headers
                .push(Header::ContentType(rsip::headers::ContentType::new(
                    "application/sdp",
                )));
            ok.body = answer.into_bytes();
        }
        build::copy_record_route(&call.invite, &mut ok);
        ok.headers.push(self.contact_header());
        self.respond(now, &key, ok);
        Ok(())
    }

    pub(super) fn decline_call(&mut self, now: Time) -> Result<(), String> {
        let Some(call) = self.call.take_if(|call| call.state == CallState::Ringing) else {
            return Err("no call is ringing".into());
        };
        let decline = build::response_to(&call.invite, status(603), Some(&call.local_tag));
        self.respond(now, &call.invite_key, decline);
        self.events.push_back(Event::CallEnded {
            peer: call.peer,
            reason: "declined".into(),
        });
        Ok(())
    }

    /// The caller (or a forking proxy) cancelled while we rang.
    pub(super) fn call_cancelled(&mut self, now: Time, invite: &TransactionKey) {
        let Some(call) = self
            .call
            .take_if(|call| &call.invite_key == invite && call.state == CallState::Ringing)
        else {
            return;
        };
        // RFC 3261 §9.2: the INVITE gets 487 once it is cancelled.
        let terminated = build::response_to(&call.invite, status(487), Some(&call.local_tag));
        self.respond(now, &call.invite_key, terminated);
        self.events.push_back(Event::CallEnded {
            peer: call.peer,
            reason: "cancelled".into(),
        });
    }

    pub(super) fn call_acked(&mut self, ack: &Request) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        if call.state == CallState::Answered && same_call_id(ack, &call.invite) {
            call.state = CallState::Connected;
            self.events.push_back(Event::CallConnected {
                peer: call.peer.clone(),
            });
        }
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
            self.events.push_back(Event::CallEnded {
                peer: call.peer,
                reason: "the other party hung up".into(),
            });
        }
    }

    pub(super) fn hang_up(&mut self, now: Time) -> Result<(), String> {
        match self.call.as_ref().map(|call| call.state) {
            None => Err("there is no call".into()),
            Some(CallState::Ringing) => self.decline_call(now),
            Some(_) => {
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
        let unacknowledged = self
            .call
            .as_ref()
            .is_some_and(|call| &call.invite_key == key && call.state == CallState::Answered);
        if unacknowledged {
            self.send_bye(now, "the caller never confirmed the answer (no ACK)");
        }
    }

    fn send_bye(&mut self, now: Time, reason: &str) {
        let Some(mut call) = self.call.take() else {
            return;
        };
        let via = self.via();
        let contact = self.contact.clone();
        let bye = call.dialog.build_request(
            Method::Bye,
            rsip::headers::Via::new(via),
            Some(rsip::headers::Contact::new(format!("<{contact}>"))),
        );
        match uri_peer(&call.dialog.next_hop()) {
            Some(peer) => self.send_request(now, bye, peer, Purpose::Bye),
            None => tracing::warn!("the dialog's next hop is not an address; BYE not sent"),
        }
        self.events.push_back(Event::CallEnded {
            peer: call.peer,
            reason: reason.into(),
        });
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

/// An SDP answer that rejects every media line of `offer` (RFC 3264 §6:
/// port zero, with the first offered format). None when there is no offer.
fn reject_all_streams(offer: &[u8], local_ip: std::net::IpAddr) -> Option<String> {
    let offer = std::str::from_utf8(offer).ok()?;
    let media: Vec<String> = offer
        .lines()
        .filter_map(|line| line.trim_end().strip_prefix("m="))
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let kind = fields.next()?;
            let _port = fields.next()?;
            let proto = fields.next()?;
            let format = fields.next()?;
            Some(format!("m={kind} 0 {proto} {format}\r\n"))
        })
        .collect();
    if media.is_empty() {
        return None;
    }
    Some(format!(
        "v=0\r\no=- 1 1 IN IP4 {local_ip}\r\ns=confab\r\nc=IN IP4 {local_ip}\r\nt=0 0\r\n{}",
        media.concat()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_rejects_each_offered_stream_with_port_zero() {
        let offer = b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
                      m=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n\
                      m=video 51372 RTP/AVP 31\r\n";
        let answer = reject_all_streams(offer, "127.0.0.1".parse().unwrap()).unwrap();
        assert!(answer.contains("m=audio 0 RTP/AVP 0\r\n"), "{answer}");
        assert!(answer.contains("m=video 0 RTP/AVP 31\r\n"), "{answer}");
        assert_eq!(reject_all_streams(b"", "127.0.0.1".parse().unwrap()), None);
        assert_eq!(
            reject_all_streams(&[0xff, 0xfe], "127.0.0.1".parse().unwrap()),
            None
        );
    }
}
