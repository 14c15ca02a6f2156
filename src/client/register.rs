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

#[cfg(test)]
mod tests {
    // Tests may unwrap: a panic is a failed test.
    #![allow(clippy::unwrap_used)]

    use rsip::SipMessage;

    use super::*;
    use crate::client::ClientConfig;
    use crate::proto::build::{self, status};
    use crate::proto::{Peer, SipCore};

    const SERVER: &str = "10.0.0.1:5060";

    /// Every request the client has queued for `method`, oldest first.
    fn take(client: &mut Client, method: Method) -> Vec<Request> {
        let mut taken = Vec::new();
        while let Some(transmit) = client.poll_transmit() {
            if let Ok(SipMessage::Request(request)) = message::parse(&transmit.payload) {
                if request.method == method {
                    taken.push(request);
                }
            }
        }
        taken
    }

    fn reply(client: &mut Client, now: Time, request: &Request, code: u16, extra: Option<Header>) {
        let mut response = build::response_to(request, status(code), Some("srv"));
        response.headers.extend(extra.into_iter().collect());
        response.headers.push(Header::ContentLength(0.into()));
        let bytes = response.to_string();
        client.handle_datagram(now, Peer::udp(SERVER.parse().unwrap()), bytes.as_bytes());
    }

    fn has_credentials(request: &Request) -> bool {
        request.headers.iter().any(|header| {
            matches!(
                header,
                Header::Authorization(_) | Header::ProxyAuthorization(_)
            )
        })
    }

    #[test]
    fn keepalives_carry_no_credentials_and_a_challenge_answers_them() {
        let mut client = Client::new(ClientConfig {
            user: "vivian".into(),
            domain: "confab.local".into(),
            password: "vivian".into(),
            server: Peer::udp(SERVER.parse().unwrap()),
            local: "10.0.0.11:5062".parse().unwrap(),
            register_expiry: Duration::from_secs(300),
            keepalive_interval: Duration::from_secs(30),
            media_port: 40_000,
            seed: 5,
        });
        let mut now = Time::ZERO;
        client.start(now);
        let register = take(&mut client, Method::Register).remove(0);
        let challenge = Header::WwwAuthenticate(rsip::headers::WwwAuthenticate::new(
            r#"Digest realm="confab.local", nonce="n1", algorithm=MD5, qop="auth""#,
        ));
        reply(&mut client, now, &register, 401, Some(challenge.clone()));
        let register = take(&mut client, Method::Register).remove(0);
        assert!(has_credentials(&register), "the challenge was answered");
        reply(&mut client, now, &register, 200, None);
        assert!(client.registration().is_registered());

        now += Duration::from_secs(30);
        client.handle_timeout(now);
        let options = take(&mut client, Method::Options);
        assert_eq!(options.len(), 1, "one keep-alive");
        assert!(!has_credentials(&options[0]));
        // A server that challenges OPTIONS still answers it.
        reply(&mut client, now, &options[0], 401, Some(challenge));
        assert!(
            take(&mut client, Method::Options).is_empty(),
            "not sent again"
        );
        now += Duration::from_secs(10);
        client.handle_timeout(now);
        assert!(client.registration().is_registered());
        while let Some(event) = client.poll_event() {
            assert!(
                !matches!(event, Event::RegistrationFailed { .. }),
                "{event:?}"
            );
        }
        assert_eq!(
            client.registration().poll_timeout(),
            Some(Time::ZERO + Duration::from_secs(60)),
            "the next keep-alive, 30 s after the answer"
        );
    }
}
