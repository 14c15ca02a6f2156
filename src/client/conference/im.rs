//! Conference IM through the IM MCU (PROTOCOLS.md section 4.4, conf-wire
//! step 7): page-mode MESSAGEs to the chat MCU URI (RFC 3428), text or an
//! isComposing document (RFC 3994); the MCU relays each to the others as a
//! MESSAGE from its own URI whose `message/cpim` body (RFC 3862) names the
//! sender and carries the original.

use rsip::headers::UntypedHeader as _;
use rsip::message::HeadersExt as _;
use rsip::{Header, Request};

use crate::client::{Client, Event};
use crate::proto::build::{self, status};
use crate::proto::conference_uri::ConferencePart;
use crate::proto::transaction::TransactionKey;
use crate::proto::{Time, cpim, iscomposing};

impl Client {
    /// A text to everyone; its ImStatus names the focus.
    pub(super) fn send_conference_im(
        &mut self,
        now: Time,
        id: u64,
        text: &str,
    ) -> Result<(), String> {
        let (chat, focus) = self.conference_chat()?;
        self.send_text(now, id, &chat, focus, text)
    }

    pub(super) fn send_conference_typing(&mut self, now: Time) -> Result<(), String> {
        let (chat, _) = self.conference_chat()?;
        self.send_typing_to(now, &chat);
        Ok(())
    }

    /// The IM MCU's URI and the focus's, once the focus is known.
    fn conference_chat(&self) -> Result<(String, String), String> {
        let conference = self
            .conferencing
            .active()
            .filter(|conference| conference.focus.is_some())
            .ok_or("not in a conference")?;
        let chat = conference
            .mcu_uri(ConferencePart::Chat)
            .ok_or("the conference has no IM MCU")?;
        Ok((chat, conference.focus_uri()))
    }

    /// A MESSAGE; true if it came from an IM MCU (and was answered here).
    pub(in crate::client) fn conference_message(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &Request,
    ) -> bool {
        let Some(chat) = request
            .from_header()
            .ok()
            .and_then(|from| super::conference_uri_in(from.value()))
            .filter(|uri| uri.part == ConferencePart::Chat)
        else {
            return false;
        };
        let Ok(focus) = chat.with_part(ConferencePart::Focus) else {
            return false;
        };
        let focus = focus.to_string();
        let content_type = request.headers.iter().find_map(|header| match header {
            Header::ContentType(value) => Some(value.value().to_owned()),
            _ => None,
        });
        let code = match media_type(content_type.as_deref()).as_str() {
            cpim::CONTENT_TYPE => self.relayed_message(&focus, &request.body),
            // Not relayed in CPIM: the sender is unknown, so the MCU it is.
            other => self.conference_content(&focus, chat.to_string(), other, &request.body),
        };
        let mut response = build::response_to(request, status(code), Some(&self.ids.tag()));
        if code == 415 {
            // RFC 3261 §21.4.13: say what we do accept.
            response
                .headers
                .push(Header::Accept(rsip::headers::Accept::new(format!(
                    "{}, text/plain, {}",
                    cpim::CONTENT_TYPE,
                    iscomposing::CONTENT_TYPE
                ))));
        }
        self.respond(now, key, response);
        true
    }

    /// A `message/cpim` relay: the sender from its From, then the content.
    fn relayed_message(&mut self, focus: &str, body: &[u8]) -> u16 {
        let message = match cpim::parse(body) {
            Ok(message) => message,
            Err(error) => {
                tracing::info!(%error, %focus, "unreadable CPIM from the IM MCU");
                return 400;
            }
        };
        let Some(sender) = message
            .from
            .as_ref()
            .and_then(|from| build::address_of(&format!("<{}>", from.uri)))
        else {
            tracing::info!(%focus, "CPIM from the IM MCU names no sender");
            return 400;
        };
        let media_type = media_type(message.content_type.as_deref());
        self.conference_content(focus, sender, &media_type, &message.body)
    }

    /// Text or a typing indication from `from` in the conference.
    fn conference_content(
        &mut self,
        focus: &str,
        from: String,
        media_type: &str,
        body: &[u8],
    ) -> u16 {
        let focus = focus.to_owned();
        match media_type {
            "text/plain" => match String::from_utf8(body.to_vec()) {
                Ok(text) => {
                    self.events
                        .push_back(Event::ConferenceIm { focus, from, text });
                    200
                }
                Err(_) => {
                    tracing::info!(%focus, %from, "conference IM that is not UTF-8");
                    400
                }
            },
            iscomposing::CONTENT_TYPE => match iscomposing::parse(body) {
                Ok(document) => {
                    if document.active {
                        self.events
                            .push_back(Event::ConferenceTyping { focus, from });
                    }
                    200
                }
                Err(error) => {
                    tracing::info!(%error, %focus, %from, "bad isComposing document");
                    400
                }
            },
            other => {
                tracing::info!(media_type = other, %focus, "conference IM of a type we do not show");
                415
            }
        }
    }
}

/// A Content-Type's media type, lower case; text/plain when there is none
/// (RFC 2045 §5.2).
fn media_type(content_type: Option<&str>) -> String {
    content_type
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase())
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| "text/plain".into())
}
