//! The SDP side of a call (RFC 3264): our offers and answers, and
//! re-INVITEs for hold and resume both ways (§8.4: holding is offering
//! sendonly; the held side answers recvonly). Mute and DTMF go straight to
//! the media task; they change nothing on the wire but the audio.

use rsip::headers::UntypedHeader;
use rsip::{Header, Method, Request, Response};

use super::CallState;
use crate::client::{Client, Event, Purpose};
use crate::proto::address::uri_peer;
use crate::proto::build::{self, status};
use crate::proto::sdp::{self, AudioCodec, Direction, LocalMedia, NegotiatedAudio};
use crate::proto::transaction::TransactionKey;
use crate::proto::{IoRequest, Time};

impl Client {
    /// Our side of a new call's SDP: this host, our RTP port, Opus first.
    pub(super) fn new_local_media(&mut self) -> LocalMedia {
        LocalMedia {
            ip: self.config.local.ip(),
            port: self.config.media_port,
            codecs: vec![AudioCodec::Opus, AudioCodec::Pcmu],
            direction: Direction::SendRecv,
            session_id: u64::from(rand::Rng::random::<u32>(self.ids.rng())),
            version: 1,
        }
    }

    /// Our answer to an offer, and what it settles; None when no codec is
    /// common.
    pub(super) fn answer_offer(
        &self,
        offer: &[u8],
        local: &LocalMedia,
    ) -> Option<(String, NegotiatedAudio)> {
        let offer = std::str::from_utf8(offer).ok()?;
        match sdp::answer(offer, local) {
            Ok(outcome) => Some((outcome.sdp, outcome.negotiated?)),
            Err(error) => {
                tracing::info!(%error, "an SDP offer we cannot read");
                None
            }
        }
    }

    pub(super) fn start_media(&mut self, audio: NegotiatedAudio) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        call.audio = Some(audio.clone());
        self.io_requests.push_back(IoRequest::StartMedia {
            call: call.id,
            audio,
        });
    }

    /// Hold (sendonly) or resume (sendrecv) by re-INVITE with a new offer.
    pub(crate) fn hold_call(&mut self, now: Time, held: bool) -> Result<(), String> {
        let Some(call) = self.call.as_mut() else {
            return Err("there is no call".into());
        };
        if call.state != CallState::Connected {
            return Err("the call is not connected yet".into());
        }
        if call.held == held {
            return Ok(());
        }
        if call.reinvite_pending {
            return Err("a hold or resume is already in progress".into());
        }
        call.local_media.direction = if held {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        call.local_media.version += 1;
        let offer = sdp::offer(&call.local_media);
        let Some(dialog) = call.dialog.as_mut() else {
            return Err("the call has no dialog".into());
        };
        let via = rsip::headers::Via::new(format!(
            "SIP/2.0/{} {}:{};branch={};rport",
            self.config.server.transport,
            self.config.local.ip(),
            self.config.local.port(),
            self.ids.branch()
        ));
        let contact = rsip::headers::Contact::new(format!("<{}>", self.contact));
        let mut reinvite = dialog.build_request(Method::Invite, via, Some(contact));
        reinvite
            .headers
            .retain(|header| !matches!(header, Header::ContentLength(_)));
        reinvite
            .headers
            .push(Header::ContentType(rsip::headers::ContentType::new(
                "application/sdp",
            )));
        reinvite.body = offer.into_bytes();
        let Some(peer) = uri_peer(&dialog.next_hop()) else {
            return Err("the dialog's next hop is not an address".into());
        };
        call.reinvite_pending = true;
        let id = call.id;
        self.send_request(now, reinvite, peer, Purpose::Reinvite { id, held });
        Ok(())
    }

    /// The answer to our hold/resume re-INVITE.
    pub(crate) fn reinvite_answered(
        &mut self,
        now: Time,
        id: u64,
        held: bool,
        response: Option<&Response>,
    ) {
        let Some(call) = self.call.as_mut().filter(|call| call.id == id) else {
            return;
        };
        call.reinvite_pending = false;
        let Some(response) = response.filter(|r| (200..300).contains(&r.status_code.code())) else {
            // RFC 3261 §14.1: a failed re-INVITE leaves the session as it was.
            call.local_media.direction = if call.held {
                Direction::SendOnly
            } else {
                Direction::SendRecv
            };
            let reason = response.map_or("no answer".to_owned(), crate::client::status_line);
            self.events.push_back(Event::CommandFailed {
                command: "call.hold",
                reason,
            });
            return;
        };
        call.held = held;
        let local = call.local_media.clone();
        let peer = call.peer.clone();
        let answer = String::from_utf8_lossy(&response.body).into_owned();
        self.send_ack(now, response);
        match sdp::negotiated_from_answer(&local, &answer) {
            Ok(audio) => self.start_media(audio),
            Err(error) => tracing::info!(%error, "unusable answer to our re-INVITE"),
        }
        self.events.push_back(Event::CallHeld { peer, held });
    }

    /// A re-INVITE from the other side (hold, resume, new address): answer
    /// its offer, keep our own hold if we hold.
    pub(super) fn handle_reinvite(&mut self, now: Time, key: TransactionKey, request: Request) {
        let Some(call) = self.call.as_mut().filter(|call| {
            call.state == CallState::Connected && super::same_call_id(&request, &call.invite)
        }) else {
            let response = build::response_to(&request, status(481), None);
            return self.respond(now, &key, response);
        };
        if let Some(dialog) = call.dialog.as_mut() {
            if let Err(error) = dialog.handle_request(&request) {
                tracing::info!(%error, "re-INVITE out of order");
                let response = build::response_to(&request, status(500), None);
                return self.respond(now, &key, response);
            }
        }
        if call.reinvite_pending {
            // RFC 3261 §14.2: our own re-INVITE is in flight: 491, try later.
            let response = build::response_to(&request, status(491), None);
            return self.respond(now, &key, response);
        }
        call.local_media.version += 1;
        let local = call.local_media.clone();
        let answered = if request.body.is_empty() {
            Some((sdp::offer(&local), None))
        } else {
            self.answer_offer(&request.body, &local)
                .map(|(sdp, audio)| (sdp, Some(audio)))
        };
        let Some((body, audio)) = answered else {
            let response = build::response_to(&request, status(488), None);
            return self.respond(now, &key, response);
        };
        let mut ok = build::response_to(&request, status(200), None);
        ok.headers
            .push(Header::Contact(rsip::headers::Contact::new(format!(
                "<{}>",
                self.contact
            ))));
        ok.headers
            .push(Header::ContentType(rsip::headers::ContentType::new(
                "application/sdp",
            )));
        ok.body = body.into_bytes();
        self.respond(now, &key, ok);
        if let Some(audio) = audio {
            let remote_holds = matches!(audio.direction, Direction::RecvOnly | Direction::Inactive);
            let peer = self
                .call
                .as_ref()
                .map(|call| call.peer.clone())
                .unwrap_or_default();
            self.start_media(audio);
            self.events.push_back(Event::CallHeld {
                peer,
                held: remote_holds,
            });
        }
    }

    pub(crate) fn mute(&mut self, muted: bool) {
        self.io_requests.push_back(IoRequest::Mute { muted });
        self.events.push_back(Event::Muted { muted });
    }

    pub(crate) fn send_dtmf(&mut self, digits: &str) -> Result<(), String> {
        let Some(call) = self
            .call
            .as_ref()
            .filter(|call| call.state == CallState::Connected)
        else {
            return Err("no connected call".into());
        };
        if digits.is_empty()
            || !digits
                .chars()
                .all(|c| c.is_ascii_digit() || "*#ABCDabcd".contains(c))
        {
            return Err(format!("{digits:?}: DTMF digits are 0-9, *, # and A-D"));
        }
        self.io_requests.push_back(IoRequest::Dtmf {
            call: call.id,
            digits: digits.to_ascii_uppercase(),
        });
        Ok(())
    }
}
