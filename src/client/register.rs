//! The REGISTER and keep-alive messages of [`super::registration`]'s state
//! machine, and what their answers mean (RFC 3261 §10.2; RFC 6223 and RFC
//! 5626 §4.4.2 for STUN keep-alives).

use std::time::Duration;

use rand::Rng;
use rsip::headers::UntypedHeader;
use rsip::{Header, Method, Request, Response};

use super::registration::RegistrationAction;
use super::{Client, Event, Purpose, status_line};
use crate::proto::stun::{self, StunTransaction};
use crate::proto::{Peer, Time, Transmit, Transport, message};

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
        if expires > 0 {
            if let Some(Header::Via(via)) = headers.first_mut() {
                let offered = self.offer_keep(via.value());
                *via = rsip::headers::Via::new(offered);
            }
        }
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

    /// RFC 6223 §4.2.1: a REGISTER over UDP offers keep-alives with a bare
    /// `keep` in our Via, if we send keep-alives at all.
    pub(super) fn offer_keep(&self, via: &str) -> String {
        if self.config.server.transport == Transport::Udp && self.registration.offers_keep() {
            format!("{via};keep")
        } else {
            via.to_owned()
        }
    }

    /// Proof that the server is still there, and that the way to us stays
    /// open: a STUN Binding request where the server granted it, else an
    /// OPTIONS.
    pub(super) fn send_keepalive(&mut self, now: Time) {
        if self.registration.uses_stun() {
            let transaction: StunTransaction = self.ids.rng().random();
            self.stun_keepalive = Some(transaction);
            self.queue_stun(transaction);
            self.registration.keepalive_sent(now);
            return;
        }
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

    /// The STUN keep-alive in flight, again (RFC 8489 §6.2.1).
    pub(super) fn resend_keepalive(&mut self) {
        if let Some(transaction) = self.stun_keepalive {
            self.queue_stun(transaction);
        }
    }

    fn queue_stun(&mut self, transaction: StunTransaction) {
        self.outbox.push_back(Transmit {
            destination: self.config.server,
            payload: stun::binding_request(transaction),
        });
    }

    /// The answer to a STUN keep-alive. It proves the server is there; its
    /// SOFTWARE says whether it restarted, and its mapped address whether a
    /// NAT on the way now maps us elsewhere: either way we register again
    /// (RFC 5626 §4.4.2).
    pub(super) fn handle_stun(&mut self, now: Time, from: Peer, bytes: &[u8]) {
        let answer = match stun::read_binding_answer(bytes) {
            Ok(answer) => answer,
            Err(error) => return tracing::info!(%from, %error, "STUN message dropped"),
        };
        if from != self.config.server || self.stun_keepalive != Some(answer.transaction) {
            return tracing::debug!(%from, "a STUN answer to no keep-alive of ours, ignored");
        }
        self.stun_keepalive = None;
        let restarted = answer
            .software
            .as_deref()
            .and_then(super::build::boot_token)
            .is_some_and(|boot| self.server_boot_is(boot));
        let moved = self
            .mapped_address
            .replace(answer.mapped)
            .is_some_and(|before| before != answer.mapped);
        if restarted {
            return self.sign_in_afresh(now);
        }
        if moved {
            tracing::info!(mapped = %answer.mapped, "our address as the server sees it changed; registering again");
            return self.register_afresh(now);
        }
        self.registration.keepalive_answered(now);
    }

    /// A restarted server lost our registration and everything after it.
    pub(super) fn sign_in_afresh(&mut self, now: Time) {
        tracing::info!("the server restarted; signing in afresh");
        self.register_afresh(now);
    }

    /// REGISTER as if for the first time; keep-alives wait for its answer.
    fn register_afresh(&mut self, now: Time) {
        self.registration.start();
        self.send_register(now, self.config.register_expiry);
    }

    /// Whether a confab server's answer comes from a new run of it (it
    /// then knows nothing of our publication and subscriptions). The first
    /// answer only records the run.
    pub(super) fn server_restarted(&mut self, response: &Response) -> bool {
        super::build::server_boot(response).is_some_and(|boot| self.server_boot_is(boot))
    }

    /// Records the server's run; true when it differs from the last one
    /// (copied only then: this runs on every keep-alive answer).
    fn server_boot_is(&mut self, boot: &str) -> bool {
        if self.server_boot.as_deref() == Some(boot) {
            return false;
        }
        self.server_boot.replace(boot.to_owned()).is_some()
    }

    /// A final answer to REGISTER other than a challenge.
    pub(super) fn handle_register_response(&mut self, now: Time, response: Response) {
        let code = response.status_code.code();
        match code {
            200..=299 => {
                let was_registered = self.registration.is_registered();
                let expiry =
                    granted_expiry(&response, &self.contact).unwrap_or(self.config.register_expiry);
                let keep = stun::granted_keep(&response)
                    .filter(|_| self.config.server.transport == Transport::Udp);
                self.registration.registered(now, expiry, keep);
                // The flow as registered now is the one keep-alives watch.
                self.mapped_address = None;
                self.stun_keepalive = None;
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
    use crate::client::{ClientConfig, registration};
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

    fn client() -> Client {
        Client::new(ClientConfig {
            user: "vivian".into(),
            domain: "confab.local".into(),
            password: "vivian".into(),
            server: Peer::udp(SERVER.parse().unwrap()),
            local: "10.0.0.11:5062".parse().unwrap(),
            register_expiry: Duration::from_secs(300),
            keepalive_interval: Duration::from_secs(30),
            media_port: 40_000,
            seed: 5,
        })
    }

    fn top_via(request: &Request) -> String {
        request
            .headers
            .iter()
            .find_map(|header| match header {
                Header::Via(via) => Some(via.value().to_owned()),
                _ => None,
            })
            .unwrap()
    }

    /// The server's 200 to `register`, granting STUN keep-alives every
    /// 30 s if it offered them, from the run `boot`.
    fn grant(client: &mut Client, now: Time, register: &Request, boot: &str) {
        let mut response = build::response_to(register, status(200), Some("srv"));
        if stun::offers_keep(register) {
            stun::grant_keep(&mut response, Duration::from_secs(30));
        }
        response
            .headers
            .push(Header::Server(rsip::headers::Server::new(format!(
                "confab/0.1.0 (boot {boot})"
            ))));
        response.headers.push(Header::ContentLength(0.into()));
        let bytes = response.to_string();
        client.handle_datagram(now, Peer::udp(SERVER.parse().unwrap()), bytes.as_bytes());
    }

    /// The STUN requests the client has queued, and how many OPTIONS.
    fn take_stun(client: &mut Client) -> (Vec<Vec<u8>>, usize) {
        let (mut stun_requests, mut options) = (Vec::new(), 0);
        while let Some(transmit) = client.poll_transmit() {
            assert_eq!(transmit.destination, Peer::udp(SERVER.parse().unwrap()));
            if stun::is_stun(&transmit.payload) {
                stun_requests.push(transmit.payload);
            } else if let Ok(SipMessage::Request(request)) = message::parse(&transmit.payload) {
                options += usize::from(request.method == Method::Options);
            }
        }
        (stun_requests, options)
    }

    fn answer_stun(client: &mut Client, now: Time, request: &[u8], mapped: &str, boot: &str) {
        let answer = stun::answer_binding(
            request,
            mapped.parse().unwrap(),
            &format!("confab/0.1.0 (boot {boot})"),
        )
        .unwrap()
        .unwrap();
        client.handle_datagram(now, Peer::udp(SERVER.parse().unwrap()), &answer);
    }

    /// Runs the client to its next keep-alive: when it went, and the request.
    fn next_keepalive(client: &mut Client) -> (Time, Vec<u8>) {
        let at = client.registration().poll_timeout().unwrap();
        client.handle_timeout(at);
        (at, take_stun(client).0.remove(0))
    }

    /// A client registered at 0 with STUN keep-alives granted, and the
    /// time of its first keep-alive.
    fn registered_with_stun() -> (Client, Time) {
        let mut client = client();
        client.start(Time::ZERO);
        let register = take(&mut client, Method::Register).remove(0);
        grant(&mut client, Time::ZERO, &register, "one");
        assert!(client.registration().uses_stun());
        while client.poll_event().is_some() {}
        take(&mut client, Method::Publish);
        let first = client.registration().poll_timeout().unwrap();
        (client, first)
    }

    #[test]
    fn a_register_over_udp_offers_keepalives_also_when_sent_again_with_credentials() {
        let mut client = client();
        client.start(Time::ZERO);
        let register = take(&mut client, Method::Register).remove(0);
        assert!(
            top_via(&register).ends_with(";keep"),
            "{}",
            top_via(&register)
        );
        let challenge = Header::WwwAuthenticate(rsip::headers::WwwAuthenticate::new(
            r#"Digest realm="confab.local", nonce="n1", algorithm=MD5, qop="auth""#,
        ));
        reply(&mut client, Time::ZERO, &register, 401, Some(challenge));
        let again = take(&mut client, Method::Register).remove(0);
        assert!(has_credentials(&again));
        assert!(top_via(&again).ends_with(";keep"), "{}", top_via(&again));
        assert_ne!(top_via(&again), top_via(&register), "a new branch");
    }

    #[test]
    fn granted_keepalives_are_stun_not_options() {
        let (mut client, first) = registered_with_stun();
        assert!(
            first >= Time::ZERO + Duration::from_secs(24)
                && first <= Time::ZERO + Duration::from_secs(30),
            "{first:?}"
        );
        let mut now = first;
        for _ in 0..3 {
            client.handle_timeout(now);
            let (requests, options) = take_stun(&mut client);
            assert_eq!(
                (requests.len(), options),
                (1, 0),
                "one STUN request, no OPTIONS"
            );
            answer_stun(&mut client, now, &requests[0], "10.0.0.11:5062", "one");
            assert!(client.registration().is_registered());
            assert_eq!(
                take_stun(&mut client),
                (Vec::new(), 0),
                "nothing more to send"
            );
            now = client.registration().poll_timeout().unwrap();
        }
        while let Some(event) = client.poll_event() {
            assert!(
                !matches!(event, Event::RegistrationFailed { .. }),
                "{event:?}"
            );
        }
    }

    #[test]
    fn a_moved_mapping_or_a_restarted_server_means_registering_again() {
        for (mapped, boot, why) in [
            ("203.0.113.9:40000", "one", "the NAT mapped us elsewhere"),
            ("10.0.0.11:5062", "two", "the server restarted"),
        ] {
            let (mut client, _) = registered_with_stun();
            let (now, request) = next_keepalive(&mut client);
            answer_stun(&mut client, now, &request, "10.0.0.11:5062", "one");
            let (later, request) = next_keepalive(&mut client);
            answer_stun(&mut client, later, &request, mapped, boot);
            assert_eq!(take(&mut client, Method::Register).len(), 1, "{why}");
        }
    }

    #[test]
    fn after_a_lost_keepalive_the_new_registration_starts_a_new_mapping() {
        let (mut client, _) = registered_with_stun();
        let (now, request) = next_keepalive(&mut client);
        answer_stun(&mut client, now, &request, "10.0.0.11:5062", "one");
        // The next keep-alive goes unanswered: the NAT forgot us.
        let (next, lost) = next_keepalive(&mut client);
        let mut at = next;
        while client.registration().is_registered() {
            at = client.poll_timeout().unwrap();
            client.handle_timeout(at);
        }
        // Answered too late: it is not taken as the flow's answer.
        answer_stun(&mut client, at, &lost, "203.0.113.9:40000", "one");
        assert!(
            take(&mut client, Method::Register).is_empty(),
            "a late answer re-registers nothing"
        );
        let retry = client.poll_timeout().unwrap();
        client.handle_timeout(retry);
        let register = take(&mut client, Method::Register).remove(0);
        grant(&mut client, retry, &register, "one");
        assert!(client.registration().is_registered());
        // Through the new mapping now: the first answer sets it, no second REGISTER.
        let (keepalive, request) = next_keepalive(&mut client);
        answer_stun(&mut client, keepalive, &request, "203.0.113.9:40000", "one");
        assert!(take(&mut client, Method::Register).is_empty());
    }

    #[test]
    fn a_stray_stun_answer_is_ignored_and_a_lost_keepalive_is_resent_then_reported() {
        let (mut client, _) = registered_with_stun();
        let (now, request) = next_keepalive(&mut client);
        let mut stray = request.clone();
        stray[19] ^= 0xFF; // another transaction
        answer_stun(&mut client, now, &stray, "10.0.0.11:5062", "one");
        client.handle_datagram(now, Peer::udp(SERVER.parse().unwrap()), &request[..12]);
        let mut resent = 0;
        let mut failed = false;
        let mut at = now;
        while !failed {
            at = client.poll_timeout().unwrap();
            client.handle_timeout(at);
            let (requests, _) = take_stun(&mut client);
            for again in &requests {
                assert_eq!(again, &request, "the same transaction");
            }
            resent += requests.len();
            while let Some(event) = client.poll_event() {
                failed |= matches!(event, Event::RegistrationFailed { .. });
            }
        }
        assert_eq!(resent, 3);
        assert_eq!(at, now + registration::KEEPALIVE_TIMEOUT);
    }

    #[test]
    fn keepalives_carry_no_credentials_and_a_challenge_answers_them() {
        let mut client = client();
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
