//! The IM MCU (PROTOCOLS.md section 4 step 4): a MESSAGE to a conference's
//! chat URI from a participant is relayed to every other participant, each
//! at every contact they are registered at.
//!
//! **confab:** the relayed MESSAGE comes From the chat URI and carries the
//! original as `message/cpim` (RFC 3862), whose `From` names the sender:
//! the relay must not claim to be the sender in SIP's From, and CPIM is the
//! standard envelope for a message passed on by an intermediary. Typing
//! indications (RFC 3994) travel the same way. The sender gets 200 once
//! the relay is under way; delivery to each recipient is best effort.

use rsip::headers::UntypedHeader as _;
use rsip::{Header, Method, Request};

use super::{Outgoing, content_type};
use crate::proto::build::{status, status_with_reason};
use crate::proto::conference_uri::{ConferencePart, ConferenceUri};
use crate::proto::transaction::TransactionKey;
use crate::proto::{Time, cpim};
use crate::server::Server;
use crate::server::registrar::Aor;

/// What the IM MCU relays: text and typing indications.
const RELAYED_TYPES: [&str; 2] = ["text/plain", crate::proto::iscomposing::CONTENT_TYPE];

impl Server {
    pub(super) fn chat_message(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &Request,
        target: &ConferenceUri,
        user: &str,
    ) {
        let sender = self.aor_of_user(user);
        let Some(conference_id) = self.live_conference(now, key, request, target) else {
            return;
        };
        let Some(conference) = self.conferencing.factory.conference(&conference_id) else {
            return;
        };
        let Some(sender_entry) = conference.roster().user(&sender) else {
            return self.reply(
                now,
                key,
                request,
                status_with_reason(403, "Not In The Conference"),
            );
        };
        let media_type = content_type(request).unwrap_or_else(|| "text/plain".into());
        if !RELAYED_TYPES.contains(&media_type.as_str()) {
            return self.reply(now, key, request, status(415));
        }
        let display = sender_entry
            .display_text
            .clone()
            .or_else(|| self.directory.display_name(user, &self.domain));
        let recipients: Vec<String> = conference
            .roster()
            .users()
            .map(|entry| entry.entity.clone())
            .filter(|entity| *entity != sender)
            .collect();
        let Some(chat_uri) = conference.mcu_uri(ConferencePart::Chat) else {
            return self.reply(now, key, request, status(500));
        };
        self.reply(now, key, request, status(200));
        let body = cpim::wrap(display.as_deref(), &sender, &media_type, &request.body);
        for recipient in recipients {
            self.relay_to(now, &chat_uri.to_string(), &recipient, &body);
        }
    }

    /// One relayed MESSAGE to every registered contact of `recipient`.
    fn relay_to(&mut self, now: Time, chat_uri: &str, recipient: &str, body: &[u8]) {
        let Some(aor) = rsip::Uri::try_from(recipient)
            .ok()
            .and_then(|uri| self.aor_of_uri(&uri))
        else {
            return;
        };
        let contacts = self.registrar.contacts(&aor as &Aor, now);
        for binding in contacts {
            let via = self.via(binding.source.transport);
            let tag = self.ids.tag();
            let call_id = self.ids.call_id(&self.local.ip().to_string());
            let headers = vec![
                Header::Via(rsip::headers::Via::new(via)),
                Header::MaxForwards(70.into()),
                Header::From(rsip::headers::From::new(format!("<{chat_uri}>;tag={tag}"))),
                Header::To(rsip::headers::To::new(format!("<{recipient}>"))),
                Header::CallId(rsip::headers::CallId::new(call_id)),
                Header::CSeq(rsip::headers::CSeq::new("1 MESSAGE")),
                Header::ContentType(rsip::headers::ContentType::new(cpim::CONTENT_TYPE)),
            ];
            let request = Request {
                method: Method::Message,
                uri: binding.contact.clone(),
                version: rsip::Version::V2,
                headers: headers.into(),
                body: body.to_vec(),
            };
            self.send_conference_request(now, request, binding.source, Outgoing::Fire);
        }
    }
}
