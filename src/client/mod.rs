//! The user agent core: everything a confab client does on the wire, with no
//! I/O. Front ends (the agent, the TUI) send it [`Command`]s and read its
//! [`Event`]s; a driver feeds it datagrams and time.
//!
//! It keeps a registration alive ([`registration`], `register`), sends and
//! receives instant messages (`im`), and takes incoming calls far enough to
//! ring, answer, decline and hang up ([`call`]); media arrives with the
//! audio work. It creates, joins and leads conferences (`conference`).
//! It takes its user's location profile from the server at sign-in and
//! normalizes the numbers it dials by it (`provisioning`).
//! Requests it starts go through `outgoing`, which answers digest
//! challenges.

mod api;
pub mod call;
mod conference;
mod im;
mod outgoing;
mod presence;
mod provisioning;
mod publish;
mod register;
pub mod registration;
pub mod subscription;

pub use api::{
    AudioVia, Availability, Buddy, Command, DialIn, Event, LocationProfile, NormalizeError,
    Normalized, Participant, Quality, looks_like_number,
};

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use rsip::{Method, Request, Response};

use crate::proto::build::{self, Identifiers};
use crate::proto::digest::DigestClient;
use crate::proto::message;
use crate::proto::stun::{self, StunTransaction};
use crate::proto::time::earliest;
use crate::proto::transaction::{TimerConfig, TransactionEvent, TransactionKey, TransactionLayer};
use crate::proto::{Peer, SipCore, Time, Transmit};
use call::Call;
use registration::{Registration, RegistrationAction};

/// What we say we are, in User-Agent.
const USER_AGENT: &str = build::PRODUCT;
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
    /// Our RTP port, bound by the media task (RTCP on the next one).
    pub media_port: u16,
    pub seed: u64,
}

/// Why an outstanding client transaction was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Purpose {
    Register,
    Unregister,
    KeepAlive,
    Bye,
    Message {
        id: u64,
        to: String,
    },
    Typing,
    Publish,
    Unpublish,
    Subscribe(presence::WatchKey),
    Unsubscribe,
    ContactChange(&'static str),
    Invite(u64),
    Reinvite {
        id: u64,
        held: bool,
    },
    Conference(conference::ConferenceRequest),
    /// SUBSCRIBE to our own provisioning (it answers its own challenges).
    Provisioning,
}

impl Purpose {
    fn is_registration(&self) -> bool {
        matches!(self, Purpose::Register | Purpose::Unregister)
    }
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
    /// The transport named in the Via of the request being built.
    via_transport: crate::proto::Transport,
    outstanding: Vec<outgoing::Outstanding>,
    /// What we publish about ourselves.
    own: publish::OwnPresence,
    /// Whom we watch: the buddy list and the buddies' presence.
    watching: presence::Watching,
    /// The run of the confab server we last heard from.
    server_boot: Option<String>,
    /// The STUN keep-alive in flight, by its transaction.
    stun_keepalive: Option<StunTransaction>,
    /// Where the server last saw our keep-alives come from (RFC 5626
    /// §4.4.2): a change means a NAT on the way has a new mapping for us.
    mapped_address: Option<SocketAddr>,
    /// Messages sent outside any transaction: STUN keep-alives.
    outbox: VecDeque<Transmit>,
    /// The one call this client handles at a time.
    call: Option<Call>,
    /// The one conference it is in (or entering, or just leaving).
    conferencing: conference::Conferencing,
    /// The location profile and work number, as provisioned.
    provisioning: provisioning::Provisioning,
    next_call_id: u64,
    /// Media work for the driver (see `proto::io`).
    io_requests: VecDeque<crate::proto::IoRequest>,
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
        let registration = Registration::new(config.keepalive_interval, config.seed.rotate_left(7));
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
            via_transport: config.server.transport,
            outstanding: Vec::new(),
            own: publish::OwnPresence::new(),
            watching: presence::Watching::default(),
            server_boot: None,
            stun_keepalive: None,
            mapped_address: None,
            outbox: VecDeque::new(),
            call: None,
            conferencing: conference::Conferencing::default(),
            provisioning: provisioning::Provisioning::default(),
            next_call_id: 0,
            io_requests: VecDeque::new(),
            events: VecDeque::new(),
            quit_deadline: None,
            finished: false,
            ids,
            config,
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
            self.via_transport,
            self.config.local.ip(),
            self.config.local.port(),
            self.ids.branch()
        )
    }

    fn drain_transaction_events(&mut self, now: Time) {
        while let Some(event) = self.transactions.poll_event() {
            match event {
                TransactionEvent::Response { key, response } => {
                    let is_final = response.status_code.code() >= 200;
                    match self.take_outstanding(&key, is_final) {
                        Some(outstanding) if is_final => {
                            self.handle_final(now, outstanding, response)
                        }
                        Some(outstanding) => {
                            if let Purpose::Invite(id) = outstanding.purpose {
                                self.invite_provisional(id, &response);
                            }
                        }
                        None => {
                            if !self.conference_2xx_again(&response) {
                                self.retransmitted_2xx(now, &response)
                            }
                        }
                    }
                }
                TransactionEvent::Timeout { key } => match self.take_outstanding(&key, true) {
                    Some(outstanding) => self.handle_no_answer(now, outstanding.purpose),
                    None => self.call_timed_out(now, &key),
                },
                TransactionEvent::Request { key, request, from } => {
                    self.handle_request(now, key, request, from)
                }
                TransactionEvent::Cancelled { invite, .. } => self.call_cancelled(now, &invite),
                TransactionEvent::Ack { request, .. } => self.call_acked(now, &request),
                _ => {}
            }
        }
    }

    /// A final response to a request we sent.
    fn handle_final(&mut self, now: Time, outstanding: outgoing::Outstanding, response: Response) {
        let code = response.status_code.code();
        let subscription = matches!(
            outstanding.purpose,
            Purpose::Subscribe(_)
                | Purpose::Provisioning
                | Purpose::Conference(conference::ConferenceRequest::Subscribe)
        );
        if subscription {
            // A subscription answers its own challenges, with its own CSeq.
            if code == 401 || code == 407 {
                if let Some(kind) =
                    crate::proto::digest::ChallengeKind::from_status(&response.status_code)
                {
                    if let Err(error) = self.digest.handle_challenge_to(
                        kind,
                        &response.headers,
                        outstanding.credentials(),
                    ) {
                        tracing::info!(%error, "subscription challenge not answerable");
                    }
                }
            }
            return match outstanding.purpose {
                Purpose::Subscribe(watch) => self.subscribe_answered(now, watch, Some(&response)),
                Purpose::Provisioning => self.provisioning_answered(now, Some(&response)),
                _ => self.conference_subscribe_answered(now, Some(&response)),
            };
        }
        if (code == 401 || code == 407) && outstanding.purpose != Purpose::KeepAlive {
            let purpose = outstanding.purpose.clone();
            match self.retry_with_credentials(now, outstanding, &response) {
                Ok(()) => return,
                Err(error) => {
                    let reason = format!("{}: {error}", status_line(&response));
                    return self.handle_failure(now, purpose, reason, &response);
                }
            }
        }
        if matches!(outstanding.purpose, Purpose::KeepAlive | Purpose::Register)
            && self.server_restarted(&response)
        {
            return self.sign_in_afresh(now);
        }
        match outstanding.purpose {
            Purpose::KeepAlive => self.registration.keepalive_answered(now),
            Purpose::Bye | Purpose::Typing => {}
            Purpose::Unregister => self.unregistered(),
            Purpose::Register => self.handle_register_response(now, response),
            Purpose::Message { id, to } => self.message_answered(id, to, Some(&response)),
            Purpose::Publish => self.publish_answered(now, Some(&response)),
            Purpose::Unsubscribe
            | Purpose::Subscribe(_)
            | Purpose::Provisioning
            | Purpose::Unpublish => {}
            Purpose::ContactChange(command) => {
                self.contact_change_answered(command, Some(&response))
            }
            Purpose::Invite(id) => {
                self.sync_invite(id, &outstanding);
                self.invite_answered(now, id, Some(&response))
            }
            Purpose::Reinvite { id, held } => {
                self.reinvite_answered(now, id, held, Some(&response))
            }
            Purpose::Conference(request) => {
                let answer = conference::Answer::Response {
                    request: outstanding.request(),
                    response: &response,
                };
                self.conference_answered(now, request, answer)
            }
        }
    }

    /// A request we could not get through: refused credentials.
    fn handle_failure(&mut self, now: Time, purpose: Purpose, reason: String, response: &Response) {
        match purpose {
            Purpose::Register => self.registration_failed(now, reason, false),
            Purpose::Unregister => self.unregistered(),
            Purpose::Message { id, to } => self.message_failed(id, to, reason),
            Purpose::Publish => self.publish_answered(now, Some(response)),
            Purpose::ContactChange(command) => self
                .events
                .push_back(Event::CommandFailed { command, reason }),
            Purpose::KeepAlive => self.registration.keepalive_answered(now),
            Purpose::Invite(id) => self.invite_answered(now, id, Some(response)),
            Purpose::Reinvite { id, held } => self.reinvite_answered(now, id, held, Some(response)),
            Purpose::Conference(request) => {
                self.conference_answered(now, request, conference::Answer::Failed(reason))
            }
            Purpose::Subscribe(_)
            | Purpose::Provisioning
            | Purpose::Unsubscribe
            | Purpose::Unpublish
            | Purpose::Bye
            | Purpose::Typing => tracing::info!(%reason, "request refused"),
        }
    }

    /// Timer B or F: nothing answered.
    fn handle_no_answer(&mut self, now: Time, purpose: Purpose) {
        match purpose {
            Purpose::Register => self.registration_failed(
                now,
                "no answer from the server (408 Request Timeout)".into(),
                true,
            ),
            Purpose::Unregister => self.unregistered(),
            Purpose::Message { id, to } => self.message_answered(id, to, None),
            Purpose::Publish => self.publish_answered(now, None),
            Purpose::Subscribe(watch) => self.subscribe_answered(now, watch, None),
            Purpose::Provisioning => self.provisioning_answered(now, None),
            Purpose::ContactChange(command) => self.contact_change_answered(command, None),
            Purpose::Unsubscribe | Purpose::Unpublish => {}
            Purpose::Invite(id) => self.invite_answered(now, id, None),
            Purpose::Reinvite { id, held } => self.reinvite_answered(now, id, held, None),
            Purpose::Conference(conference::ConferenceRequest::Subscribe) => {
                self.conference_subscribe_answered(now, None)
            }
            Purpose::Conference(request) => self.conference_answered(
                now,
                request,
                conference::Answer::Failed("no answer (408 Request Timeout)".into()),
            ),
            // A lost keep-alive is judged by its own, shorter deadline.
            Purpose::KeepAlive | Purpose::Bye | Purpose::Typing => {}
        }
    }

    /// Our INVITE as last sent (a retry with credentials has a new CSeq),
    /// for the dialog its 2xx makes.
    fn sync_invite(&mut self, id: u64, outstanding: &outgoing::Outstanding) {
        if let Some(call) = self.call.as_mut().filter(|call| call.id() == id) {
            call.set_invite(outstanding.request().clone());
        }
    }

    fn unregistered(&mut self) {
        self.registration.closed();
        self.events.push_back(Event::Unregistered);
        self.finished = true;
    }

    /// What follows a (re)registration: publish our presence afresh.
    fn on_registered(&mut self, now: Time) {
        self.own.reset();
        self.publish(now, true);
        self.start_watching(now);
        self.start_provisioning(now);
    }

    fn handle_request(&mut self, now: Time, key: TransactionKey, request: Request, from: Peer) {
        match request.method {
            Method::Invite => self.handle_invite(now, key, request, from),
            Method::Bye => {
                if !self.conference_bye(now, &key, &request) {
                    self.handle_bye(now, key, request)
                }
            }
            Method::Message => self.handle_message(now, key, request),
            Method::Notify => {
                if !self.conference_notify(now, &key, &request)
                    && !self.handle_notify(now, &key, &request)
                    && !self.provisioning_notify(now, &key, &request)
                {
                    let response = build::response_to(&request, build::status(481), None);
                    self.respond(now, &key, response);
                }
            }
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
        self.quit_conference(now);
        self.end_call(now);
        self.unwatch_all(now);
        self.end_provisioning(now);
        self.unpublish(now);
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
        if stun::is_stun(bytes) {
            return self.handle_stun(now, from, bytes);
        }
        match message::parse(bytes) {
            Ok(message) => {
                // Whatever is logged while this message is handled names
                // its call.
                let _call =
                    tracing::info_span!("sip", call_id = message::call_id_of(&message)).entered();
                self.transactions.handle_message(now, from, message);
                self.drain_transaction_events(now);
            }
            Err(error) => {
                tracing::info!(%from, %error, "unparseable message dropped");
                self.drain_transaction_events(now);
            }
        }
    }

    fn handle_command(&mut self, now: Time, command: Command) {
        let result = match command {
            Command::Quit => {
                self.quit(now);
                Ok(())
            }
            Command::Call { ref to } => self.place_call(now, to),
            Command::AnswerCall => self
                .answer_call(now)
                .map(|()| self.conference_call_answered(now)),
            Command::Hold { held } => self.hold_call(now, held),
            Command::Mute { muted } => {
                self.mute(muted);
                Ok(())
            }
            Command::Dtmf { ref digits } => self.send_dtmf(digits),
            Command::Normalize { ref number } => self.normalize_command(number),
            Command::DeclineCall => self.decline_call(now),
            Command::HangUp => self.hang_up(now),
            Command::SendIm {
                id,
                ref to,
                ref text,
            } => self.send_im(now, id, to, text),
            Command::Typing { ref to } => self.send_typing(now, to),
            Command::SetPresence {
                availability,
                ref note,
            } => self.set_presence(now, availability, note.clone()),
            Command::AddBuddy {
                ref uri,
                ref display,
                ref group,
            } => self.add_buddy(now, uri, display.clone(), group.clone()),
            Command::RemoveBuddy { ref uri } => self.remove_buddy(now, uri),
            Command::UseLocalBuddies { ref buddies } => {
                self.use_local_buddies(now, buddies.clone());
                Ok(())
            }
            ref conference => self.conference_command(now, conference),
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
            Ok(Some(RegistrationAction::ResendKeepAlive)) => self.resend_keepalive(),
            Ok(None) => {}
            Err(registration::KeepAliveLost) => {
                // A late answer to it must not count.
                self.stun_keepalive = None;
                self.events.push_back(Event::RegistrationFailed {
                    reason: "the server stopped answering keep-alives".into(),
                })
            }
        }
        self.handle_publish_timer(now);
        self.handle_watch_timers(now);
        self.handle_provisioning_timer(now);
        self.handle_conference_timer(now);
        if self.quit_deadline.is_some_and(|deadline| now >= deadline) {
            self.finished = true;
        }
        self.drain_transaction_events(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.outbox
            .pop_front()
            .or_else(|| self.transactions.poll_transmit())
    }

    fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Time> {
        if self.registration.state() == &registration::RegistrationState::Idle {
            // Not started: wake at once to send the first REGISTER.
            return Some(Time::ZERO);
        }
        // A finished transaction's last timer (K after each keep-alive,
        // say) waits for the next deadline that does something, rather
        // than waking an idle client on its own.
        let deadline = earliest(
            self.transactions.poll_urgent_timeout(),
            self.registration.poll_timeout(),
        );
        let deadline = earliest(deadline, self.own.poll_timeout());
        let deadline = earliest(deadline, self.watching.poll_timeout());
        let deadline = earliest(deadline, self.provisioning.poll_timeout());
        let deadline = earliest(deadline, self.conferencing.poll_timeout());
        earliest(deadline, self.quit_deadline).or_else(|| self.transactions.poll_timeout())
    }

    fn poll_io_request(&mut self) -> Option<crate::proto::IoRequest> {
        self.io_requests.pop_front()
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
