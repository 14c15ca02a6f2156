//! The user agent core: everything a confab client does on the wire, with no
//! I/O. Front ends (the agent, the TUI) send it [`Command`]s and read its
//! [`Event`]s; a driver feeds it datagrams and time.
//!
//! Today it keeps a registration alive (see [`registration`]) and takes
//! incoming calls far enough to ring, answer, decline and hang up (see
//! [`call`]); media arrives with the audio work.

mod api;
pub mod call;
pub mod registration;
pub mod subscription;

pub use api::{Availability, Buddy, Command, Event};

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use rsip::headers::UntypedHeader;
use rsip::{Header, Method, Request, Response};

use crate::proto::build::{self, Identifiers};
use crate::proto::digest::{ChallengeKind, DigestClient, DigestError};
use crate::proto::message;
use crate::proto::time::earliest;
use crate::proto::transaction::{TimerConfig, TransactionEvent, TransactionKey, TransactionLayer};
use crate::proto::{Peer, SipCore, Time, Transmit};
use call::Call;
use registration::{Registration, RegistrationAction};

/// What we say we are, in User-Agent.
const USER_AGENT: &str = concat!("confab/", env!("CARGO_PKG_VERSION"));
/// How long a quitting client waits for its un-REGISTER to be answered.
const QUIT_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub user: String,
    pub domain: String,
    pub password: String,
    /// The registrar and outbound proxy.
    pub server: Peer,
    /// Our own SIP address, for Via and Contact.
    pub local: SocketAddr,
    /// The expiry we ask for; the server may grant less.
    pub register_expiry: Duration,
    pub keepalive_interval: Duration,
    pub seed: u64,
}

/// Why an outstanding client transaction was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Register,
    Unregister,
    KeepAlive,
    Bye,
}

pub struct Client {
    config: ClientConfig,
    aor: String,
    contact: String,
    instance: String,
    transactions: TransactionLayer,
    ids: Identifiers,
    digest: DigestClient,
    registration: Registration,
    register_call_id: String,
    register_from_tag: String,
    register_cseq: u32,
    /// Whether the last REGISTER carried credentials (a second plain
    /// challenge then means they were wrong).
    outstanding: Vec<(TransactionKey, Purpose)>,
    /// The one call this client handles at a time.
    call: Option<Call>,
    events: VecDeque<Event>,
    quit_deadline: Option<Time>,
    finished: bool,
}

impl Client {
    pub fn new(config: ClientConfig) -> Self {
        let mut ids = Identifiers::from_seed(config.seed);
        let aor = format!("sip:{}@{}", config.user, config.domain);
        let contact = format!(
            "sip:{}@{}:{}",
            config.user,
            config.local.ip(),
            config.local.port()
        );
        let instance = ids.uuid();
        let register_call_id = ids.call_id(&config.local.ip().to_string());
        let register_from_tag = ids.tag();
        let digest = DigestClient::new(&config.user, &config.password);
        let registration = Registration::new(config.keepalive_interval);
        Client {
            aor,
            contact,
            instance,
            transactions: TransactionLayer::new(TimerConfig::default()),
            digest,
            registration,
            register_call_id,
            register_from_tag,
            register_cseq: 0,
            outstanding: Vec::new(),
            call: None,
            events: VecDeque::new(),
            quit_deadline: None,
            finished: false,
            ids,
            config,
        }
    }

    /// Starts registering; call once, at `now`.
    pub fn start(&mut self, now: Time) {
        if let RegistrationAction::SendRegister = self.registration.start() {
            self.send_register(now, self.config.register_expiry);
        }
    }

    pub fn aor(&self) -> &str {
        &self.aor
    }

    pub fn registration(&self) -> &Registration {
        &self.registration
    }

    fn via(&mut self) -> String {
        format!(
            "SIP/2.0/{} {}:{};branch={};rport",
            self.config.server.transport,
            self.config.local.ip(),
            self.config.local.port(),
            self.ids.branch()
        )
    }

    /// The headers every out-of-dialog request from us starts with
    /// (RFC 3261 §8.1.1).
    fn request_headers(
        &mut self,
        to: &str,
        from_tag: &str,
        call_id: String,
        cseq: &str,
    ) -> Vec<Header> {
        vec![
            Header::Via(rsip::headers::Via::new(self.via())),
            Header::MaxForwards(70.into()),
            Header::From(rsip::headers::From::new(format!(
                "<{}>;tag={from_tag}",
                self.aor
            ))),
            Header::To(rsip::headers::To::new(format!("<{to}>"))),
            Header::CallId(rsip::headers::CallId::new(call_id)),
            Header::CSeq(rsip::headers::CSeq::new(cseq)),
            Header::UserAgent(rsip::headers::UserAgent::new(USER_AGENT)),
        ]
    }

    fn send_register(&mut self, now: Time, expiry: Duration) {
        self.register_cseq += 1;
        let expires = expiry.as_secs();
        let uri = format!("sip:{}", self.config.domain);
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
        let purpose = if expires == 0 {
            Purpose::Unregister
        } else {
            Purpose::Register
        };
        self.send(now, Method::Register, &uri, headers, purpose);
    }

    fn send_keepalive(&mut self, now: Time) {
        let uri = format!("sip:{}", self.config.domain);
        let tag = self.ids.tag();
        let call_id = self.ids.call_id(&self.config.local.ip().to_string());
        let headers = self.request_headers(&uri, &tag, call_id, "1 OPTIONS");
        self.send(now, Method::Options, &uri, headers, Purpose::KeepAlive);
        self.registration.keepalive_sent(now);
    }

    fn send(
        &mut self,
        now: Time,
        method: Method,
        uri: &str,
        mut headers: Vec<Header>,
        purpose: Purpose,
    ) {
        let Ok(uri) = rsip::Uri::try_from(uri) else {
            tracing::warn!(%uri, "cannot send to an unparseable URI");
            return;
        };
        if matches!(purpose, Purpose::Register | Purpose::Unregister) {
            headers.extend(self.digest.authorization(self.ids.rng(), &method, &uri));
        }
        let request = Request {
            method,
            uri,
            version: rsip::Version::V2,
            headers: headers.into(),
            body: Vec::new(),
        };
        match self
            .transactions
            .send_request(now, request, self.config.server)
        {
            Ok(key) => self.outstanding.push((key, purpose)),
            Err(error) => tracing::warn!(%error, "request not sent"),
        }
    }

    fn take_purpose(&mut self, key: &TransactionKey, is_final: bool) -> Option<Purpose> {
        let index = self.outstanding.iter().position(|(k, _)| k == key)?;
        let purpose = self.outstanding.get(index).map(|(_, purpose)| *purpose);
        if is_final {
            self.outstanding.remove(index);
        }
        purpose
    }

    fn drain_transaction_events(&mut self, now: Time) {
        while let Some(event) = self.transactions.poll_event() {
            match event {
                TransactionEvent::Response { key, response } => {
                    let is_final = response.status_code.code() >= 200;
                    match self.take_purpose(&key, is_final) {
                        Some(purpose) => self.handle_response(now, purpose, response),
                        None => tracing::debug!(?key, "response to a finished request"),
                    }
                }
                TransactionEvent::Timeout { key } => match self.take_purpose(&key, true) {
                    Some(purpose) => self.handle_timeout_of(now, purpose),
                    None => self.call_timed_out(now, &key),
                },
                TransactionEvent::Request { key, request, from } => {
                    self.handle_request(now, key, request, from)
                }
                TransactionEvent::Cancelled { invite, .. } => self.call_cancelled(now, &invite),
                TransactionEvent::Ack { request, .. } => self.call_acked(&request),
                _ => {}
            }
        }
    }

    fn handle_response(&mut self, now: Time, purpose: Purpose, response: Response) {
        let code = response.status_code.code();
        if code < 200 {
            return;
        }
        match purpose {
            Purpose::KeepAlive => self.registration.keepalive_answered(now),
            Purpose::Bye => {}
            Purpose::Unregister => {
                self.registration.closed();
                self.events.push_back(Event::Unregistered);
                self.finished = true;
            }
            Purpose::Register => self.handle_register_response(now, response),
        }
    }

    fn handle_register_response(&mut self, now: Time, response: Response) {
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
                }
            }
            401 | 407 => match ChallengeKind::from_status(&response.status_code)
                .ok_or(DigestError::NoUsableChallenge)
                .and_then(|kind| self.digest.handle_challenge(kind, &response.headers))
            {
                Ok(()) => self.send_register(now, self.config.register_expiry),
                Err(error) => {
                    self.registration.failed_permanently();
                    self.events.push_back(Event::RegistrationFailed {
                        reason: format!("{}: {error}", status_line(&response)),
                    });
                }
            },
            423 => {
                // RFC 3261 §10.2.8: ask again with at least Min-Expires.
                let min = min_expires(&response).unwrap_or(3600);
                self.send_register(now, Duration::from_secs(min.into()));
            }
            500..=699 | 408 | 480 => {
                self.registration.failed_retryable(now);
                self.events.push_back(Event::RegistrationFailed {
                    reason: status_line(&response),
                });
            }
            _ => {
                self.registration.failed_permanently();
                self.events.push_back(Event::RegistrationFailed {
                    reason: status_line(&response),
                });
            }
        }
    }

    fn handle_timeout_of(&mut self, now: Time, purpose: Purpose) {
        match purpose {
            Purpose::Register => {
                self.registration.failed_retryable(now);
                self.events.push_back(Event::RegistrationFailed {
                    reason: "no answer from the server (408 Request Timeout)".into(),
                });
            }
            Purpose::Unregister => {
                self.registration.closed();
                self.finished = true;
            }
            // A lost keep-alive is judged by its own, shorter deadline.
            Purpose::KeepAlive | Purpose::Bye => {}
        }
    }

    fn handle_request(&mut self, now: Time, key: TransactionKey, request: Request, from: Peer) {
        match request.method {
            Method::Invite => self.handle_invite(now, key, request, from),
            Method::Bye => self.handle_bye(now, key, request),
            Method::Options => {
                let response =
                    build::response_to(&request, build::status(200), Some(&self.ids.tag()));
                self.respond(now, &key, response);
            }
            _ => {
                let response =
                    build::response_to(&request, build::status(405), Some(&self.ids.tag()));
                self.respond(now, &key, response);
            }
        }
    }

    fn respond(&mut self, now: Time, key: &TransactionKey, response: Response) {
        if let Err(error) = self.transactions.respond(now, key, response) {
            tracing::debug!(%error, "response not sent");
        }
    }

    fn quit(&mut self, now: Time) {
        self.end_call(now);
        self.quit_deadline = Some(now + QUIT_GRACE);
        if self.registration.is_registered() {
            self.registration.unregistering();
            self.send_register(now, Duration::ZERO);
        } else {
            self.registration.closed();
            self.finished = true;
        }
    }
}

impl SipCore for Client {
    type Command = Command;
    type Event = Event;

    fn handle_datagram(&mut self, now: Time, from: Peer, bytes: &[u8]) {
        match message::parse(bytes) {
            Ok(message) => self.transactions.handle_message(now, from, message),
            Err(error) => tracing::info!(%from, %error, "unparseable message dropped"),
        }
        self.drain_transaction_events(now);
    }

    fn handle_command(&mut self, now: Time, command: Command) {
        let result = match command {
            Command::Quit => {
                self.quit(now);
                Ok(())
            }
            Command::AnswerCall => self.answer_call(now),
            Command::DeclineCall => self.decline_call(now),
            Command::HangUp => self.hang_up(now),
            Command::SetPresence { .. }
            | Command::SendIm { .. }
            | Command::Typing { .. }
            | Command::AddBuddy { .. }
            | Command::RemoveBuddy { .. } => Err("not available in this build".into()),
        };
        if let Err(reason) = result {
            self.events.push_back(Event::CommandFailed {
                command: command.name(),
                reason,
            });
        }
        self.drain_transaction_events(now);
    }

    fn handle_timeout(&mut self, now: Time) {
        if self.registration.state() == &registration::RegistrationState::Idle {
            self.start(now);
        }
        self.transactions.handle_timeout(now);
        match self.registration.handle_timeout(now) {
            Ok(Some(RegistrationAction::SendRegister)) => {
                self.send_register(now, self.config.register_expiry)
            }
            Ok(Some(RegistrationAction::SendKeepAlive)) => self.send_keepalive(now),
            Ok(None) => {}
            Err(registration::KeepAliveLost) => self.events.push_back(Event::RegistrationFailed {
                reason: "the server stopped answering keep-alives".into(),
            }),
        }
        if self.quit_deadline.is_some_and(|deadline| now >= deadline) {
            self.finished = true;
        }
        self.drain_transaction_events(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transactions.poll_transmit()
    }

    fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Time> {
        if self.registration.state() == &registration::RegistrationState::Idle {
            // Not started: wake at once to send the first REGISTER.
            return Some(Time::ZERO);
        }
        let deadline = earliest(
            self.transactions.poll_timeout(),
            self.registration.poll_timeout(),
        );
        earliest(deadline, self.quit_deadline)
    }

    fn is_finished(&self) -> bool {
        self.finished
    }
}

/// "403 Forbidden", from a response's status line.
fn status_line(response: &Response) -> String {
    let code = response.status_code.code();
    match &response.status_code {
        rsip::StatusCode::Other(_, reason) => format!("{code} {reason}"),
        _ => format!("{code} {}", build::reason_phrase(code)),
    }
}

/// RFC 3261 §10.2.4: the expiry the registrar granted our contact, from its
/// `expires` parameter in the 2xx, else the Expires header.
fn granted_expiry(response: &Response, our_contact: &str) -> Option<Duration> {
    let from_contact = response.headers.iter().find_map(|header| match header {
        Header::Contact(contact) if contact.value().contains(our_contact) => {
            param_value(contact.value(), "expires").and_then(|value| value.parse::<u64>().ok())
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

/// A header parameter after the `>` of a name-addr.
fn param_value<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    let params = value.rfind('>').and_then(|end| value.get(end + 1..))?;
    params
        .split(';')
        .filter_map(|param| param.trim().split_once('='))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim())
}
