//! The REGISTER and keep-alive messages of [`super::registration`]'s state
//! machine, and what their answers mean (RFC 3261 §10.2).

use std::time::Duration;

use rsip::headers::UntypedHeader;
use rsip::{Header, Method, Request, Response};

use super::registration::RegistrationAction;
use super::{Client, Event, Purpose, status_line};
use crate::proto::{Time, message};

impl Client {
    /// Starts registering; call once, at `now`.
    pub fn start(&mut self, now: Time) {
        if let RegistrationAction::SendRegister = self.registration.start() {
            self.send_register(now, self.config.register_expiry);
        }
    }

    /// REGISTER (or, with a zero expiry, un-REGISTER) our contact. One
    /// Call-ID for the life of the client, CSeq rising (§10.2.4).
    pub(super) fn send_register(&mut self, now: Time, expiry: Duration) {
        self.register_cseq += 1;
        let expires = expiry.as_secs();
        let (aor, tag) = (self.aor.clone(), self.register_from_tag.clone());
        let cseq = format!("{} REGISTER", self.register_cseq);
        let mut headers = self.request_headers(&aor, &tag, self.register_call_id.clone(), &cseq);
        headers.push(Header::Contact(rsip::headers::Contact::new(format!(
            "<{}>;+sip.instance=\"<urn:uuid:{}>\";expires={expires}",
            self.contact, self.instance
        ))));
        headers.push(Header::Expires(rsip::headers::Expires::new(
            expires.to_string(),
        )));
        let Ok(uri) = rsip::Uri::try_from(format!("sip:{}", self.config.domain)) else {
            tracing::error!(domain = %self.config.domain, "the domain is not a SIP host");
            return;
        };
        let request = Request {
            method: Method::Register,
            uri,
            version: rsip::Version::V2,
            headers: headers.into(),
            body: Vec::new(),
        };
        let purpose = if expires == 0 {
            Purpose::Unregister
        } else {
            Purpose::Register
        };
        self.send_request(now, request, self.config.server, purpose);
    }

    /// OPTIONS to the server: proof that it is still there.
    pub(super) fn send_keepalive(&mut self, now: Time) {
        let server = format!("sip:{}", self.config.domain);
        self.send_new_request(
            now,
            Method::Options,
            &server,
            Vec::new(),
            Vec::new(),
            Purpose::KeepAlive,
        );
        self.registration.keepalive_sent(now);
    }

    /// A final answer to REGISTER other than a challenge.
    pub(super) fn handle_register_response(&mut self, now: Time, response: Response) {
        let code = response.status_code.code();
        match code {
            200..=299 => {
                let was_registered = self.registration.is_registered();
                let expiry =
                    granted_expiry(&response, &self.contact).unwrap_or(self.config.register_expiry);
                self.registration.registered(now, expiry);
                if !was_registered {
                    self.events.push_back(Event::Registered {
                        uri: self.aor.clone(),
                    });
                    self.on_registered(now);
                }
            }
            423 => {
                // RFC 3261 §10.2.8: ask again with at least Min-Expires.
                let min = min_expires(&response).unwrap_or(3600);
                self.send_register(now, Duration::from_secs(min.into()));
            }
            500..=699 | 408 | 480 => self.registration_failed(now, status_line(&response), true),
            _ => self.registration_failed(now, status_line(&response), false),
        }
    }

    pub(super) fn registration_failed(&mut self, now: Time, reason: String, retry: bool) {
        if retry {
            self.registration.failed_retryable(now);
        } else {
            self.registration.failed_permanently();
        }
        self.events.push_back(Event::RegistrationFailed { reason });
    }
}

/// RFC 3261 §10.2.4: the expiry the registrar granted our contact, from its
/// `expires` parameter in the 2xx, else the Expires header.
fn granted_expiry(response: &Response, our_contact: &str) -> Option<Duration> {
    let from_contact = response.headers.iter().find_map(|header| match header {
        Header::Contact(contact) if contact.value().contains(our_contact) => {
            message::param(contact.value(), "expires")
                .flatten()
                .and_then(|value| value.parse::<u64>().ok())
        }
        _ => None,
    });
    let from_header = response.headers.iter().find_map(|header| match header {
        Header::Expires(expires) => expires.value().trim().parse::<u64>().ok(),
        _ => None,
    });
    from_contact.or(from_header).map(Duration::from_secs)
}

fn min_expires(response: &Response) -> Option<u32> {
    response.headers.iter().find_map(|header| match header {
        Header::MinExpires(value) => value.value().trim().parse().ok(),
        _ => None,
    })
}
