//! The SIP server core: a registrar and an authenticating, forking,
//! record-routing stateful proxy for one domain (RFC 3261 §10, §16, §22).
//!
//! Every request takes the same road: parse (or answer 400/501 and drop),
//! transaction layer (retransmissions absorbed), admission (keep-alive,
//! trusted peer, route token, or digest credentials: see `policy`), then the
//! target: the server itself (REGISTER, OPTIONS), a user of the domain (fork
//! to every registered contact), or the next hop of a record-routed dialog.
//! Strangers are challenged before the target is looked at, so nothing they
//! send learns who exists or who is online.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

use rsip::headers::UntypedHeader;
use rsip::message::HeadersExt as _;
use rsip::{Header, Method, Request, Response, SipMessage};

use super::policy::{Admission, RouteTokens, TrustedPeers};
use super::proxy::Contexts;
use super::registrar::{Aor, Registrar, RegistrarConfig, RegistrarEvent};
use super::route::is_in_dialog;
use crate::proto::address;
use crate::proto::build::{self, Identifiers, status, status_with_reason};
use crate::proto::digest::{Challenger, Credentials};
use crate::proto::time::earliest;
use crate::proto::transaction::{TimerConfig, TransactionEvent, TransactionKey, TransactionLayer};
use crate::proto::{Peer, SipCore, Time, Transmit, Transport};
use crate::proto::{message, stun};

/// How long a nonce we hand out stays good.
const NONCE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(300);
/// RFC 3261 §16.6 step 3: the Max-Forwards we add when a request has none.
pub(super) const DEFAULT_MAX_FORWARDS: u32 = 70;

/// The users the server knows, as the core needs them. The store implements
/// it over SQLite; tests use a map.
pub trait UserDirectory {
    /// The digest credentials of `username` in `domain`, if such a user exists.
    fn credentials(&self, username: &str, domain: &str) -> Option<Credentials>;

    /// How `username` is named to others (rosters, relayed IMs).
    fn display_name(&self, _username: &str, _domain: &str) -> Option<String> {
        None
    }

    /// The user whose work number `e164` (`+` and digits) is in `domain`:
    /// who may register a desk phone for it.
    fn owner_of_number(&self, _e164: &str, _domain: &str) -> Option<String> {
        None
    }

    /// The user's work number, E.164, for provisioning.
    fn work_number(&self, _username: &str, _domain: &str) -> Option<String> {
        None
    }

    /// The name of the user's location profile (PROTOCOLS.md section 6);
    /// `None` gives them the default one.
    fn location_profile(&self, _username: &str, _domain: &str) -> Option<String> {
        None
    }
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The domain we are authoritative for; also the digest realm.
    pub domain: String,
    /// The address we listen on and put in Via and Record-Route.
    pub local: SocketAddr,
    /// Sources trusted without credentials (trunks, gateways).
    pub trusted_peers: Vec<IpAddr>,
    /// Seeds tags, branches and secrets.
    pub seed: u64,
    /// Where numbers that no desk phone here answers for go.
    pub pstn: Option<super::gateway::PstnRoute>,
    /// The E.164 number phones call to join a conference by its code.
    pub access_number: Option<String>,
}

/// What the server's driver hands it besides SIP: the answers to its I/O
/// requests (the A/V MCU's ports) and the MCU's reports.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerCommand {
    Io(crate::proto::IoResult),
}

/// What the server tells whoever runs it; for logs today.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    Registrar(RegistrarEvent),
}

/// Where a request is going, once our own Route entry is removed.
#[derive(Debug)]
pub(super) enum Target {
    /// The server itself (REGISTER, OPTIONS keep-alives).
    Server,
    /// A user of our domain.
    User(Aor),
    /// A next hop named by a Route or a contact Request-URI.
    NextHop(Peer),
    /// Somewhere we don't serve and won't relay to.
    Elsewhere,
}

pub struct Server {
    pub(super) domain: String,
    pub(super) local: SocketAddr,
    /// `local` as the host and port of our Via and Record-Route, written
    /// once rather than for every forwarded request.
    pub(super) sent_by: String,
    pub(super) transactions: TransactionLayer,
    pub(super) registrar: Registrar,
    pub(super) challenger: Challenger,
    pub(super) directory: Box<dyn UserDirectory + Send>,
    pub(super) ids: Identifiers,
    pub(super) route_tokens: RouteTokens,
    pub(super) trusted: TrustedPeers,
    /// `--no-auth`: nothing is challenged (see `open`).
    pub(super) no_auth: bool,
    pub(super) contexts: Contexts,
    pub(super) presence: super::presence::PresenceService,
    pub(super) conferencing: super::conferencing::Conferencing,
    pub(super) pstn: Option<super::gateway::PstnRoute>,
    /// The location profiles provisioning hands out (see `provisioning`).
    pub(super) location_profiles: crate::proto::location_profile::LocationProfiles,
    /// `confab/VERSION (boot TOKEN)`, TOKEN new on every start.
    pub(super) server_header: String,
    /// Messages sent outside any transaction (replies to unparseable input).
    pub(super) outbox: VecDeque<Transmit>,
    pub(super) events: VecDeque<ServerEvent>,
}

impl Server {
    pub fn new(
        config: ServerConfig,
        directory: Box<dyn UserDirectory + Send>,
        contacts: Box<dyn super::ContactStore + Send>,
    ) -> Self {
        let mut ids = Identifiers::from_seed(config.seed);
        let mut trusted_peers = config.trusted_peers.clone();
        let challenger = Challenger::new(&config.domain, ids.secret(), NONCE_LIFETIME);
        let route_tokens = RouteTokens::new(ids.secret());
        let server_header = format!("{} (boot {})", crate::proto::build::PRODUCT, ids.tag());
        let presence = super::presence::PresenceService::new(
            &address::host_uri(config.local),
            config.local,
            config.seed.rotate_left(17),
            contacts,
        );
        let conferencing = super::conferencing::Conferencing::new(
            &config.domain.to_ascii_lowercase(),
            config.seed.rotate_left(29),
            config.access_number.clone(),
        );
        let pstn = config.pstn.clone();
        if let Some(super::gateway::PstnRoute::Trunk(trunk)) = &pstn {
            // A trunk's calls come in without credentials.
            trusted_peers.push(trunk.addr.ip());
        }
        Server {
            pstn,
            conferencing,
            domain: config.domain.to_ascii_lowercase(),
            local: config.local,
            sent_by: config.local.to_string(),
            transactions: TransactionLayer::new(TimerConfig {
                // RFC 3261 §16.6 step 11: a proxy gives up on a branch that
                // rings for more than three minutes.
                timer_c: Some(std::time::Duration::from_secs(180)),
                ..TimerConfig::default()
            }),
            registrar: Registrar::new(RegistrarConfig::default()),
            challenger,
            directory,
            ids,
            route_tokens,
            trusted: TrustedPeers::new(trusted_peers),
            no_auth: false,
            contexts: Contexts::default(),
            presence,
            location_profiles: crate::proto::location_profile::LocationProfiles::shipped(),
            server_header,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    pub fn registrar(&self) -> &Registrar {
        &self.registrar
    }

    fn drain_transaction_events(&mut self, now: Time) {
        while let Some(event) = self.transactions.poll_event() {
            match event {
                TransactionEvent::Request { key, request, from } => {
                    self.handle_request(now, key, request, from)
                }
                TransactionEvent::Response { key, response } => {
                    if !self.presence_response(now, &key, &response)
                        && !self.conference_response(now, &key, &response)
                    {
                        self.handle_branch_response(now, &key, response)
                    }
                }
                TransactionEvent::Timeout { key } if self.presence_timeout(now, &key) => {}
                TransactionEvent::Timeout { key } if self.conference_timeout(now, &key) => {}
                TransactionEvent::Timeout { key } => {
                    // RFC 3261 §16.7 step 2: a branch that timed out counts as 408.
                    let timeout = Response {
                        status_code: status(408),
                        ..Default::default()
                    };
                    self.handle_branch_final(now, &key, timeout);
                }
                TransactionEvent::Cancelled { invite, .. }
                    if self.conference_cancelled(now, &invite) => {}
                TransactionEvent::Cancelled { invite, .. } => {
                    for branch in self.contexts.pending_branches(&invite) {
                        if let Err(error) = self.transactions.cancel(now, &branch) {
                            tracing::debug!(%error, "cancel of a branch");
                        }
                    }
                }
                TransactionEvent::Ack { request, .. } if self.conference_ack(&request) => {}
                TransactionEvent::Ack { request, from } => self.forward_ack(request, from),
                TransactionEvent::StrayResponse { response, .. } => {
                    self.forward_statelessly(response)
                }
                TransactionEvent::Terminated { key } => self.contexts.forget(&key),
                #[allow(unreachable_patterns)]
                other => tracing::debug!(?other, "transaction event ignored"),
            }
        }
        while let Some(event) = self.registrar.poll_event() {
            match &event {
                RegistrarEvent::AorOffline { aor } => self.user_offline(now, aor),
                RegistrarEvent::AorOnline { aor } => self.notify_presence(now, &aor.to_string()),
                _ => {}
            }
            self.events.push_back(ServerEvent::Registrar(event));
        }
    }

    fn handle_request(&mut self, now: Time, key: TransactionKey, mut request: Request, from: Peer) {
        let routed_by_us = self.strip_own_route(&mut request);
        let conference = super::route::first_route(&request)
            .is_none()
            .then(|| self.conference_target(&request.uri))
            .flatten();
        let target = self.target_of(&request);
        let admission = self.admission(&request, &target, from, routed_by_us.as_deref());
        let user = match admission {
            Admission::Authenticate => match self.authenticate(now, &key, &request, from) {
                Some(user) => Some(user),
                // Challenged or refused: answered already.
                None => return,
            },
            Admission::Unauthenticated => {
                match self.admit_unauthenticated(now, &key, &request, &target) {
                    Ok(user) => user,
                    // Refused: answered already.
                    Err(super::open::Refused) => return,
                }
            }
            _ => None,
        };
        if self.in_conference_dialog(&request) {
            return self.handle_conference_dialog_request(now, key, request);
        }
        if let Some(conference) = conference {
            return self.handle_conference_request(now, key, request, from, conference, user);
        }
        if let Target::User(aor) = &target {
            if self.is_access_number(aor.user()) {
                return self.access_call(now, key, request, user.as_deref());
            }
        }
        let presence_target = match &target {
            Target::User(aor) => Some(aor),
            Target::Server if request.method == Method::Subscribe => None,
            _ => {
                return self.dispatch(now, key, request, from, target);
            }
        };
        let presence_target = presence_target.cloned();
        if let Some(request) = self.route_presence(
            now,
            &key,
            request,
            presence_target.as_ref(),
            user.as_deref(),
        ) {
            self.dispatch(now, key, request, from, target);
        }
    }

    fn dispatch(
        &mut self,
        now: Time,
        key: TransactionKey,
        request: Request,
        from: Peer,
        target: Target,
    ) {
        match target {
            Target::Server => self.handle_local(now, key, request, from),
            Target::User(aor) => self.route_to_user(now, key, request, aor, from),
            Target::NextHop(peer) => self.forward(now, key, request, vec![(None, peer)]),
            Target::Elsewhere => self.reply(
                now,
                &key,
                &request,
                status_with_reason(403, "Relaying Denied"),
            ),
        }
    }

    /// Requests addressed to the server itself.
    fn handle_local(&mut self, now: Time, key: TransactionKey, request: Request, from: Peer) {
        match request.method {
            Method::Register => {
                let Some(aor) = self.aor_of_to(&request) else {
                    return self.reply(
                        now,
                        &key,
                        &request,
                        status_with_reason(404, "Not Our Domain"),
                    );
                };
                let outcome = self.registrar.handle_register(now, from, &request, &aor);
                let mut response =
                    build::response_to(&request, outcome.status_code(), Some(&self.ids.tag()));
                for header in outcome.response_headers(now) {
                    response.headers.push(header);
                }
                if from.transport == Transport::Udp
                    && response.status_code.code() < 300
                    && stun::offers_keep(&request)
                {
                    stun::grant_keep(&mut response, KEEPALIVE_INTERVAL);
                }
                self.send_response(now, &key, response);
            }
            Method::Options => {
                let mut response = build::response_to(&request, status(200), Some(&self.ids.tag()));
                response
                    .headers
                    .push(Header::Allow(rsip::headers::Allow::new(ALLOWED_METHODS)));
                self.send_response(now, &key, response);
            }
            _ => {
                let mut response = build::response_to(&request, status(405), Some(&self.ids.tag()));
                response
                    .headers
                    .push(Header::Allow(rsip::headers::Allow::new(ALLOWED_METHODS)));
                self.send_response(now, &key, response);
            }
        }
    }

    fn route_to_user(
        &mut self,
        now: Time,
        key: TransactionKey,
        request: Request,
        aor: Aor,
        from: Peer,
    ) {
        if super::gateway::is_e164(aor.user()) {
            let targets = self.number_route(now, aor.user(), from, true);
            if targets.is_empty() {
                let reason = status_with_reason(404, "No Route To Number");
                return self.reply(now, &key, &request, reason);
            }
            return self.forward(now, key, request, targets);
        }
        if self
            .directory
            .credentials(aor.user(), aor.domain())
            .is_none()
        {
            return self.reply(now, &key, &request, status(404));
        }
        let targets: Vec<_> = self
            .registrar
            .live_bindings(&aor, now)
            .into_iter()
            .map(|binding| (Some(binding.contact.clone()), binding.source))
            .collect();
        if targets.is_empty() {
            // RFC 3261 §10.3 / §16.5: known, but signed in nowhere.
            return self.reply(now, &key, &request, status(480));
        }
        self.forward(now, key, request, targets)
    }

    fn admission(
        &self,
        request: &Request,
        target: &Target,
        from: Peer,
        route_token: Option<&str>,
    ) -> Admission {
        if request.method == Method::Options && matches!(target, Target::Server) {
            return Admission::KeepAlive;
        }
        if self.trusted.contains(from.addr.ip()) {
            return Admission::Trusted;
        }
        if let (Some(token), Ok(call_id)) = (route_token, request.call_id_header()) {
            if is_in_dialog(request) && self.route_tokens.verify(call_id.value(), token) {
                return Admission::InDialog;
            }
        }
        if self.no_auth {
            return Admission::Unauthenticated;
        }
        Admission::Authenticate
    }

    pub(super) fn aor_of_to(&self, request: &Request) -> Option<Aor> {
        self.aor_of_address(request.to_header().ok()?.value())
    }

    /// Who a request says it comes from, if a user of our domain: To for a
    /// REGISTER (RFC 3261 §10.3 step 3), From for anything else.
    pub(super) fn claimed_aor(&self, request: &Request) -> Option<Aor> {
        if request.method == Method::Register {
            return self.aor_of_to(request);
        }
        self.aor_of_address(request.from_header().ok()?.value())
    }

    /// The address of record a From or To value names, if it is a user of
    /// our domain.
    fn aor_of_address(&self, value: &str) -> Option<Aor> {
        let (uri, _) = message::split_address(value)?;
        let aor = Aor::from_uri_text(uri)?;
        (aor.domain() == self.domain).then_some(aor)
    }

    /// The address of record a URI names, if it is a user of our domain.
    pub(super) fn aor_of_uri(&self, uri: &rsip::Uri) -> Option<Aor> {
        uri.user()?;
        let aor = Aor::from_uri(uri).ok()?;
        (aor.domain() == self.domain).then_some(aor)
    }

    pub(super) fn reply(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &Request,
        code: rsip::StatusCode,
    ) {
        let response = build::response_to(request, code, Some(&self.ids.tag()));
        self.send_response(now, key, response);
    }

    /// Sends a response of our own. Its Server header (RFC 3261 §20.35)
    /// names this run of the server, so that a confab client notices a
    /// restart (and the state the server lost) at its next keep-alive.
    pub(super) fn send_response(
        &mut self,
        now: Time,
        key: &TransactionKey,
        mut response: Response,
    ) {
        self.add_server_header(&mut response);
        if let Err(error) = self.transactions.respond(now, key, response) {
            tracing::debug!(%error, "response not sent");
        }
    }

    /// A STUN keep-alive (RFC 5626 §4.4.2) on the SIP port: answered at
    /// once, outside the SIP stack; its SOFTWARE is our Server header, so a
    /// client notices a restart as it would from an OPTIONS. Only flows
    /// that registered are answered: the answer is larger than the
    /// request, and a spoofed source must not make us a reflector.
    fn answer_stun(&mut self, from: Peer, bytes: &[u8]) {
        if !self.registrar.has_flow(from) {
            return tracing::debug!(%from, "STUN from a flow with no binding, not answered");
        }
        match stun::answer_binding(bytes, from.addr, &self.server_header) {
            Ok(Some(payload)) => self.outbox.push_back(Transmit {
                destination: from,
                payload,
            }),
            Ok(None) => tracing::debug!(%from, "STUN that is not a request, ignored"),
            Err(error) => tracing::info!(%from, %error, "STUN message dropped"),
        }
    }

    /// The Server header of [`Self::send_response`], for responses sent
    /// outside it.
    pub(super) fn add_server_header(&self, response: &mut Response) {
        response
            .headers
            .push(Header::Server(rsip::headers::Server::new(
                self.server_header.clone(),
            )));
    }
}

/// How often we ask clients that offer it to keep their flow alive (RFC
/// 6223): NATs commonly forget an idle UDP mapping after 30 s or more, and
/// the client sends at 80-100% of this (RFC 5626 §4.4.1).
pub const KEEPALIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

const ALLOWED_METHODS: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, MESSAGE, INFO, SUBSCRIBE, NOTIFY, PUBLISH, SERVICE";

impl SipCore for Server {
    type Command = ServerCommand;
    type Event = ServerEvent;

    fn handle_datagram(&mut self, now: Time, from: Peer, bytes: &[u8]) {
        if from.transport == Transport::Udp && stun::is_stun(bytes) {
            return self.answer_stun(from, bytes);
        }
        match message::parse(bytes) {
            Ok(message) => {
                // Whatever is logged while this message is handled names
                // its call.
                let _call =
                    tracing::info_span!("sip", call_id = message::call_id_of(&message)).entered();
                self.transactions.handle_message(now, from, message);
                self.drain_transaction_events(now);
                return;
            }
            Err(error) => {
                tracing::info!(%from, %error, "unparseable message");
                if let Some(reply) = error.reply() {
                    self.outbox.push_back(Transmit {
                        destination: from,
                        payload: message::to_bytes(&SipMessage::Response(reply)),
                    });
                }
            }
        }
        self.drain_transaction_events(now);
    }

    fn handle_command(&mut self, now: Time, command: Self::Command) {
        match command {
            ServerCommand::Io(result) => self.handle_io_result(now, result),
        }
        self.drain_transaction_events(now);
    }

    fn handle_timeout(&mut self, now: Time) {
        self.transactions.handle_timeout(now);
        self.registrar.handle_timeout(now);
        self.presence_timers(now);
        self.conference_timers(now);
        self.drain_transaction_events(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.outbox
            .pop_front()
            .or_else(|| self.transactions.poll_transmit())
    }

    fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Time> {
        let deadline = earliest(
            self.transactions.poll_timeout(),
            self.registrar.poll_timeout(),
        );
        let deadline = earliest(deadline, self.presence.poll_timeout());
        earliest(deadline, self.conferencing.poll_timeout())
    }

    fn poll_io_request(&mut self) -> Option<crate::proto::IoRequest> {
        self.conferencing.poll_io_request()
    }
}
