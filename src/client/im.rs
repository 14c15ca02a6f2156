//! Instant messages: page-mode MESSAGE (RFC 3428) with typing indication
//! (RFC 3994). Every message we send ends in an [`Event::ImStatus`]:
//! delivered on a 2xx, not delivered with the server's reason otherwise
//! (480 when nobody is signed in, 408 when nothing answered), so no message
//! is lost without the user knowing.

use rsip::headers::UntypedHeader;
use rsip::message::HeadersExt as _;
use rsip::{Header, Method, Request, Response};

use super::{Client, Event, Purpose};
use crate::proto::build::{self, status};
use crate::proto::iscomposing::{self, IsComposing};
use crate::proto::transaction::TransactionKey;
use crate::proto::{Peer, Time};

const TEXT_PLAIN: &str = "text/plain;charset=UTF-8";
/// The largest message we send; a person's message, not a file transfer.
const MAX_TEXT: usize = 60 * 1024;
/// RFC 3428 §7 and RFC 3261 §18.1.1: a request this big must not go over
/// UDP; bodies past this size go over TCP to the server.
const UDP_BODY_LIMIT: usize = 1000;

impl Client {
    pub(super) fn send_im(
        &mut self,
        now: Time,
        id: u64,
        to: &str,
        text: &str,
    ) -> Result<(), String> {
        let target = self.target_uri(to)?;
        self.send_text(now, id, &target, target.clone(), text)
    }

    /// A text MESSAGE to `target`; its [`Event::ImStatus`] names `to` (the
    /// target itself, or a conference's focus for its IM MCU).
    pub(super) fn send_text(
        &mut self,
        now: Time,
        id: u64,
        target: &str,
        to: String,
        text: &str,
    ) -> Result<(), String> {
        if text.trim().is_empty() {
            return Err("an empty message is not sent".into());
        }
        if text.len() > MAX_TEXT {
            return Err(format!("a message is at most {MAX_TEXT} bytes"));
        }
        let extra = vec![Header::ContentType(rsip::headers::ContentType::new(
            TEXT_PLAIN,
        ))];
        let body = text.as_bytes().to_vec();
        let destination = if body.len() > UDP_BODY_LIMIT {
            Peer::tcp(self.config.server.addr)
        } else {
            self.config.server
        };
        let purpose = Purpose::Message { id, to };
        self.send_new_request_to(
            now,
            Method::Message,
            target,
            extra,
            body,
            purpose,
            destination,
        );
        Ok(())
    }

    /// RFC 3994 §3.2: "active", refreshed by the front end while typing.
    pub(super) fn send_typing(&mut self, now: Time, to: &str) -> Result<(), String> {
        let target = self.target_uri(to)?;
        self.send_typing_to(now, &target);
        Ok(())
    }

    /// An "active" isComposing MESSAGE to `target`.
    pub(super) fn send_typing_to(&mut self, now: Time, target: &str) {
        let document = IsComposing {
            active: true,
            refresh: Some(60),
            content_type: Some("text/plain".into()),
        };
        let extra = vec![Header::ContentType(rsip::headers::ContentType::new(
            iscomposing::CONTENT_TYPE,
        ))];
        let body = document.to_xml().into_bytes();
        self.send_new_request(now, Method::Message, target, extra, body, Purpose::Typing);
    }

    /// An incoming MESSAGE: text, or a typing indication.
    pub(super) fn handle_message(&mut self, now: Time, key: TransactionKey, request: Request) {
        if self.conference_message(now, &key, &request) {
            return;
        }
        let Some(from) = request
            .from_header()
            .ok()
            .and_then(|from| build::address_of(from.value()))
        else {
            let response = build::response_to(&request, status(400), Some(&self.ids.tag()));
            return self.respond(now, &key, response);
        };
        let content_type = request
            .headers
            .iter()
            .find_map(|header| match header {
                Header::ContentType(value) => Some(value.value().to_ascii_lowercase()),
                _ => None,
            })
            .unwrap_or_else(|| "text/plain".into());
        let media_type = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let code = match media_type.as_str() {
            "text/plain" => match String::from_utf8(request.body.clone()) {
                Ok(text) => {
                    self.events.push_back(Event::Im { from, text });
                    200
                }
                Err(_) => 400,
            },
            iscomposing::CONTENT_TYPE => match iscomposing::parse(&request.body) {
                Ok(document) => {
                    if document.active {
                        self.events.push_back(Event::Typing { from });
                    }
                    200
                }
                Err(error) => {
                    tracing::info!(%error, %from, "bad isComposing document");
                    400
                }
            },
            _ => 415,
        };
        let mut response = build::response_to(&request, status(code), Some(&self.ids.tag()));
        if code == 415 {
            // RFC 3261 §21.4.13: say what we do accept.
            response
                .headers
                .push(Header::Accept(rsip::headers::Accept::new(format!(
                    "text/plain, {}",
                    iscomposing::CONTENT_TYPE
                ))));
        }
        self.respond(now, &key, response);
    }

    /// The final answer to a MESSAGE we sent (challenges already handled).
    pub(super) fn message_answered(&mut self, id: u64, to: String, response: Option<&Response>) {
        let (delivered, reason) = match response {
            Some(response) if (200..300).contains(&response.status_code.code()) => (true, None),
            Some(response) => (false, Some(super::status_line(response))),
            None => (false, Some("no answer (408 Request Timeout)".to_owned())),
        };
        self.events.push_back(Event::ImStatus {
            id,
            to,
            delivered,
            reason,
        });
    }

    /// A MESSAGE we could not get through: the server refused our credentials.
    pub(super) fn message_failed(&mut self, id: u64, to: String, reason: String) {
        self.events.push_back(Event::ImStatus {
            id,
            to,
            delivered: false,
            reason: Some(reason),
        });
    }

    /// A user's address from what a person types: `sip:amy@example.com`,
    /// `amy@example.com`, or `amy` in our own domain.
    pub(super) fn target_uri(&self, to: &str) -> Result<String, String> {
        let to = to.trim();
        let bare = to.strip_prefix("sip:").unwrap_or(to);
        let (user, host) = match bare.split_once('@') {
            Some((user, host)) => (user, host),
            None => (bare, self.config.domain.as_str()),
        };
        let valid = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/%".contains(c))
        };
        if !valid(user) || !valid(host) || host.contains(';') {
            return Err(format!("{to:?} is not a SIP address (user@domain)"));
        }
        Ok(format!("sip:{user}@{host}"))
    }
}
