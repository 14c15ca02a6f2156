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

use rsip::headers::ToTypedHeader as _;
use rsip::headers::UntypedHeader;
use rsip::message::HeadersExt as _;
use rsip::{Header, Method, Request, Response, SipMessage};

use super::policy::{Admission, ROUTE_TOKEN_PARAM, RouteTokens, TrustedPeers};
use super::proxy::{Contexts, Upstream};
use super::registrar::{Aor, Registrar, RegistrarConfig, RegistrarEvent};
use crate::proto::address::{self, uri_peer};
use crate::proto::build::{self, Identifiers, MAGIC_COOKIE, status, status_with_reason};
use crate::proto::digest::{AuthOutcome, ChallengeKind, Challenger, Credentials};
use crate::proto::message;
use crate::proto::time::earliest;
use crate::proto::transaction::{TimerConfig, TransactionEvent, TransactionKey, TransactionLayer};
use crate::proto::{Peer, SipCore, Time, Transmit, Transport};

/// How long a nonce we hand out stays good.
const NONCE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(300);
/// RFC 3261 §16.6 step 3: the Max-Forwards we add when a request has none.
const DEFAULT_MAX_FORWARDS: u32 = 70;

/// The users the server knows, as the core needs them. The store implements
/// it over SQLite; tests use a map.
pub trait UserDirectory {
    /// The digest credentials of `username` in `domain`, if such a user exists.
    fn credentials(&self, username: &str, domain: &str) -> Option<Credentials>;
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
}

/// What the server tells whoever runs it; for logs today.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    Registrar(RegistrarEvent),
}

/// Where a request is going, once our own Route entry is removed.
#[derive(Debug)]
enum Target {
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
    domain: String,
    local: SocketAddr,
    pub(super) transactions: TransactionLayer,
    pub(super) registrar: Registrar,
    challenger: Challenger,
    directory: Box<dyn UserDirectory + Send>,
    pub(super) ids: Identifiers,
    route_tokens: RouteTokens,
    trusted: TrustedPeers,
    contexts: Contexts,
    pub(super) presence: super::presence::PresenceService,
    /// `confab/VERSION (boot TOKEN)`, TOKEN new on every start.
    server_header: String,
    /// Messages sent outside any transaction (replies to unparseable input).
    outbox: VecDeque<Transmit>,
    events: VecDeque<ServerEvent>,
}

impl Server {
    pub fn new(
        config: ServerConfig,
        directory: Box<dyn UserDirectory + Send>,
        contacts: Box<dyn super::ContactStore + Send>,
    ) -> Self {
        let mut ids = Identifiers::from_seed(config.seed);
        let challenger = Challenger::new(&config.domain, ids.secret(), NONCE_LIFETIME);
        let route_tokens = RouteTokens::new(ids.secret());
        let server_header = format!("{} (boot {})", crate::proto::build::PRODUCT, ids.tag());
        let presence = super::presence::PresenceService::new(
            &address::host_uri(config.local),
            config.local,
            config.seed.rotate_left(17),
            contacts,
        );
        Server {
            domain: config.domain.to_ascii_lowercase(),
            local: config.local,
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
            trusted: TrustedPeers::new(config.trusted_peers),
            contexts: Contexts::default(),
            presence,
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
                    if !self.presence_response(now, &key, &response) {
                        self.handle_branch_response(now, &key, response)
                    }
                }
                TransactionEvent::Timeout { key } if self.presence_timeout(now, &key) => {}
                TransactionEvent::Timeout { key } => {
                    // RFC 3261 §16.7 step 2: a branch that timed out counts as 408.
                    let timeout = Response {
                        status_code: status(408),
                        ..Default::default()
                    };
                    self.handle_branch_final(now, &key, timeout);
                }
                TransactionEvent::Cancelled { invite, .. } => {
                    for branch in self.contexts.pending_branches(&invite) {
                        if let Err(error) = self.transactions.cancel(now, &branch) {
                            tracing::debug!(%error, "cancel of a branch");
                        }
                    }
                }
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
        let target = self.target_of(&request);
        let admission = self.admission(&request, &target, from, routed_by_us.as_deref());
        let user = match admission {
            Admission::Authenticate => match self.authenticate(now, &key, &request, from) {
                Some(user) => Some(user),
                // Challenged or refused: answered already.
                None => return,
            },
            _ => None,
        };
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
            Target::User(aor) => self.route_to_user(now, key, request, aor),
            Target::NextHop(peer) => self.forward(now, key, request, vec![(None, peer)]),
            Target::Elsewhere => self.reply(
                now,
                &key,
                &request,
                status_with_reason(403, "Relaying Denied"),
            ),
        }
    }

    /// Digest authentication (RFC 3261 §22): the user the request proved
    /// to come from, or None once it has been challenged or refused.
    fn authenticate(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &Request,
        from: Peer,
    ) -> Option<String> {
        let kind = if request.method == Method::Register {
            ChallengeKind::Www
        } else {
            ChallengeKind::Proxy
        };
        let domain = self.domain.clone();
        let directory = &self.directory;
        let outcome =
            self.challenger
                .verify(now, &request.method, &request.headers, kind, |user| {
                    directory.credentials(user, &domain)
                });
        match outcome {
            AuthOutcome::Authenticated { username } => {
                if self.identity_matches(request, &username) {
                    return Some(username);
                }
                self.reply(
                    now,
                    key,
                    request,
                    status_with_reason(403, "Identity Mismatch"),
                );
            }
            AuthOutcome::Challenge { stale } => {
                let code = if kind == ChallengeKind::Www { 401 } else { 407 };
                let mut response = build::response_to(request, status(code), Some(&self.ids.tag()));
                for header in self.challenger.challenge(now, kind, stale) {
                    response.headers.push(header);
                }
                self.send_response(now, key, response);
            }
            AuthOutcome::Rejected { reason } => {
                tracing::info!(%from, %reason, method = %request.method, "credentials rejected");
                self.reply(now, key, request, status(403));
            }
        }
        None
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

    fn route_to_user(&mut self, now: Time, key: TransactionKey, request: Request, aor: Aor) {
        if self
            .directory
            .credentials(aor.user(), aor.domain())
            .is_none()
        {
            return self.reply(now, &key, &request, status(404));
        }
        let targets: Vec<_> = self
            .registrar
            .contacts(&aor, now)
            .into_iter()
            .map(|binding| (Some(binding.contact.clone()), binding.source))
            .collect();
        if targets.is_empty() {
            // RFC 3261 §10.3 / §16.5: known, but signed in nowhere.
            return self.reply(now, &key, &request, status(480));
        }
        self.forward(now, key, request, targets)
    }

    /// RFC 3261 §16.6: one copy of the request per target, each in its own
    /// client transaction, tied together by a response context.
    fn forward(
        &mut self,
        now: Time,
        server: TransactionKey,
        request: Request,
        targets: Vec<(Option<rsip::Uri>, Peer)>,
    ) {
        let Some(max_forwards) = decremented_max_forwards(&request) else {
            return self.reply(now, &server, &request, status(483));
        };
        let is_invite = request.method == Method::Invite;
        if is_invite {
            // RFC 3261 §16.2: say at once that we are on it, so the UAC stops
            // retransmitting while the branches ring.
            let trying = build::response_to(&request, status(100), None);
            self.send_response(now, &server, trying);
        }
        let record_route = creates_dialog(&request).then(|| self.record_route(&request));
        let mut branches = Vec::new();
        for (uri, peer) in targets {
            let mut copy = request.clone();
            if let Some(uri) = uri {
                copy.uri = uri;
            }
            let via = self.via(peer.transport);
            copy.headers = outgoing_headers(copy.headers, via, record_route.clone(), max_forwards);
            match self.transactions.send_request(now, copy, peer) {
                Ok(branch) => branches.push(branch),
                Err(error) => tracing::warn!(%error, %peer, "could not start a branch"),
            }
        }
        if branches.is_empty() {
            return self.reply(now, &server, &request, status(480));
        }
        self.contexts.open(server, is_invite, branches);
    }

    fn handle_branch_response(&mut self, now: Time, branch: &TransactionKey, response: Response) {
        if response.status_code.code() >= 200 {
            return self.handle_branch_final(now, branch, response);
        }
        let Some(response) = without_top_via(response) else {
            return;
        };
        if let Upstream::Forward(response) = self.contexts.on_branch_response(branch, response) {
            if let Some(server) = self.contexts.server_of(branch).cloned() {
                self.relay_response(now, &server, response);
            }
        }
    }

    fn handle_branch_final(&mut self, now: Time, branch: &TransactionKey, response: Response) {
        let Some(server) = self.contexts.server_of(branch).cloned() else {
            // A 2xx retransmission after the context is gone still goes up.
            if (200..300).contains(&response.status_code.code()) {
                self.forward_statelessly(response);
            }
            return;
        };
        let response = match without_top_via(response.clone()) {
            Some(response) => response,
            // A synthesised timeout has no Via: build it from the request.
            None => response,
        };
        match self.contexts.on_branch_response(branch, response) {
            Upstream::Forward(response) => self.send_final(now, &server, response),
            Upstream::ForwardAndCancel(response, cancel) => {
                self.send_final(now, &server, response);
                for branch in cancel {
                    if let Err(error) = self.transactions.cancel(now, &branch) {
                        tracing::debug!(%error, "cancel of a losing branch");
                    }
                }
            }
            Upstream::Hold => {}
        }
    }

    /// Sends a final response upstream. A synthesised one (a timeout) has
    /// no headers yet and takes them from the request of the transaction.
    fn send_final(&mut self, now: Time, server: &TransactionKey, mut response: Response) {
        if response.headers.is_empty() {
            let Some(request) = self.transactions.request(server).cloned() else {
                return;
            };
            response = build::response_to(&request, response.status_code, Some(&self.ids.tag()));
        }
        // RFC 3261 §16.7 step 6: a 503 from downstream goes up as 500.
        if response.status_code.code() == 503 {
            response.status_code = status(500);
        }
        self.relay_response(now, server, response);
    }

    /// A downstream response going upstream: the proxy path of the
    /// transaction layer, which never retransmits a relayed 2xx.
    fn relay_response(&mut self, now: Time, server: &TransactionKey, response: Response) {
        if let Err(error) = self.transactions.forward_response(now, server, response) {
            tracing::debug!(%error, "relayed response not sent");
        }
    }

    /// ACK for a 2xx: no transaction, forwarded by its route (§16.11, §13.2.2.4).
    fn forward_ack(&mut self, mut request: Request, from: Peer) {
        let Some(_token) = self.strip_own_route(&mut request) else {
            tracing::debug!(%from, "ACK not routed through us; dropped");
            return;
        };
        let Target::NextHop(peer) = self.target_of(&request) else {
            tracing::debug!(%from, "ACK without a next hop; dropped");
            return;
        };
        let Some(max_forwards) = decremented_max_forwards(&request) else {
            return;
        };
        // A stateless element's branch must be the same for retransmissions:
        // derive it from the incoming one (RFC 3261 §16.11).
        let incoming = message::top_via_branch(&request).unwrap_or_default();
        let via = format!(
            "SIP/2.0/{} {}:{};branch={MAGIC_COOKIE}{}",
            peer.transport,
            self.local.ip(),
            self.local.port(),
            self.route_tokens.token(&incoming)
        );
        request.headers = outgoing_headers(request.headers, via, None, max_forwards);
        self.transactions
            .send_stateless(SipMessage::Request(request), peer);
    }

    /// A response matching no transaction: if the top Via is ours, pop it and
    /// send it to the next one (RFC 3261 §16.11).
    fn forward_statelessly(&mut self, response: Response) {
        if !self.top_via_is_ours(&response) {
            return;
        }
        let Some(response) = without_top_via(response) else {
            return;
        };
        let next = response
            .via_header()
            .ok()
            .and_then(|via| via.typed().ok())
            .and_then(|via| address::via_peer(&via));
        match next {
            Some(peer) => self
                .transactions
                .send_stateless(SipMessage::Response(response), peer),
            None => tracing::debug!("stray response with no usable Via; dropped"),
        }
    }

    fn top_via_is_ours(&self, response: &Response) -> bool {
        let Ok(via) = response.via_header().and_then(|via| via.typed()) else {
            return false;
        };
        address::via_peer(&via).is_some_and(|peer| peer.addr == self.local)
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
        Admission::Authenticate
    }

    /// The authenticated user must be who the request claims to be: From
    /// for requests, To for REGISTER (RFC 3261 §10.3 step 3; third-party
    /// registration is not offered).
    fn identity_matches(&self, request: &Request, username: &str) -> bool {
        let claimed = if request.method == Method::Register {
            self.aor_of_to(request)
        } else {
            request
                .from_header()
                .ok()
                .and_then(|from| from.typed().ok())
                .and_then(|from| self.aor_of_uri(&from.uri))
        };
        claimed.is_some_and(|aor| aor.user() == username)
    }

    fn aor_of_to(&self, request: &Request) -> Option<Aor> {
        let to = request.to_header().ok()?.typed().ok()?;
        self.aor_of_uri(&to.uri)
    }

    /// The address of record a URI names, if it is a user of our domain.
    fn aor_of_uri(&self, uri: &rsip::Uri) -> Option<Aor> {
        uri.user()?;
        let aor = Aor::from_uri(uri).ok()?;
        (aor.domain() == self.domain).then_some(aor)
    }

    fn is_us(&self, uri: &rsip::Uri) -> bool {
        let host = uri.host().to_string().to_ascii_lowercase();
        if host == self.domain && uri.port().is_none() {
            return true;
        }
        uri_peer(uri).is_some_and(|peer| peer.addr == self.local)
    }

    fn target_of(&self, request: &Request) -> Target {
        if let Some(next) = first_route(request) {
            return match uri_peer(&next) {
                Some(peer) => Target::NextHop(peer),
                None => Target::Elsewhere,
            };
        }
        let uri = &request.uri;
        if uri.user().is_none() && self.is_us(uri) {
            return Target::Server;
        }
        if let Some(aor) = self.aor_of_uri(uri) {
            return Target::User(aor);
        }
        if let Some(peer) = uri_peer(uri) {
            if peer.addr == self.local {
                return Target::Server;
            }
            // A contact URI: only in a dialog we record-routed.
            if is_in_dialog(request) {
                return Target::NextHop(peer);
            }
        }
        Target::Elsewhere
    }

    /// RFC 3261 §16.4: if the top Route names us, remove it. Returns our
    /// route token when there was one.
    fn strip_own_route(&self, request: &mut Request) -> Option<String> {
        let mut token = None;
        let mut stripped = false;
        let mut headers = Vec::new();
        for header in std::mem::take(&mut request.headers) {
            if !stripped {
                if let Header::Route(route) = &header {
                    stripped = true;
                    if let Some(uri) = route_uris(route.value()).into_iter().next() {
                        if self.is_us(&uri) {
                            token = Some(route_token(&uri).unwrap_or_default());
                            let rest = route_rest(route.value());
                            if !rest.is_empty() {
                                headers.push(Header::Route(rsip::headers::Route::new(rest)));
                            }
                            continue;
                        }
                    }
                }
            }
            headers.push(header);
        }
        request.headers = headers.into();
        token
    }

    fn via(&mut self, transport: Transport) -> String {
        format!(
            "SIP/2.0/{transport} {}:{};branch={};rport",
            self.local.ip(),
            self.local.port(),
            self.ids.branch()
        )
    }

    fn record_route(&self, request: &Request) -> String {
        let call_id = request
            .call_id_header()
            .map(|id| id.value().to_owned())
            .unwrap_or_default();
        format!(
            "<sip:{}:{};lr;{ROUTE_TOKEN_PARAM}={}>",
            self.local.ip(),
            self.local.port(),
            self.route_tokens.token(&call_id)
        )
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
        response
            .headers
            .push(Header::Server(rsip::headers::Server::new(
                self.server_header.clone(),
            )));
        if let Err(error) = self.transactions.respond(now, key, response) {
            tracing::debug!(%error, "response not sent");
        }
    }
}

const ALLOWED_METHODS: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, MESSAGE, INFO, SUBSCRIBE, NOTIFY, PUBLISH, SERVICE";

impl SipCore for Server {
    type Command = std::convert::Infallible;
    type Event = ServerEvent;

    fn handle_datagram(&mut self, now: Time, from: Peer, bytes: &[u8]) {
        match message::parse(bytes) {
            Ok(message) => self.transactions.handle_message(now, from, message),
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

    fn handle_command(&mut self, _now: Time, command: Self::Command) {
        match command {}
    }

    fn handle_timeout(&mut self, now: Time) {
        self.transactions.handle_timeout(now);
        self.registrar.handle_timeout(now);
        self.presence_timers(now);
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
        earliest(deadline, self.presence.poll_timeout())
    }
}

/// The headers of a forwarded request: our Via on top, our Record-Route on
/// top when we record-route, Max-Forwards decremented, and our own realm's
/// credentials removed (they were for us; RFC 3261 §22.3 lets a proxy
/// consume them).
fn outgoing_headers(
    headers: rsip::Headers,
    via: String,
    record_route: Option<String>,
    max_forwards: u32,
) -> rsip::Headers {
    let mut out = vec![Header::Via(rsip::headers::Via::new(via))];
    if let Some(record_route) = record_route {
        out.push(Header::RecordRoute(rsip::headers::RecordRoute::new(
            record_route,
        )));
    }
    let mut max_forwards_set = false;
    for header in headers {
        match header {
            Header::MaxForwards(_) => {
                max_forwards_set = true;
                out.push(Header::MaxForwards(max_forwards.into()));
            }
            Header::ProxyAuthorization(_) => {}
            other => out.push(other),
        }
    }
    if !max_forwards_set {
        out.push(Header::MaxForwards(max_forwards.into()));
    }
    out.into()
}

/// RFC 3261 §16.3 step 3 and §16.6 step 3: None when no hops are left.
fn decremented_max_forwards(request: &Request) -> Option<u32> {
    let current = request
        .headers
        .iter()
        .find_map(|header| match header {
            Header::MaxForwards(value) => value.value().trim().parse::<u32>().ok(),
            _ => None,
        })
        .unwrap_or(DEFAULT_MAX_FORWARDS);
    current.checked_sub(1)
}

fn without_top_via(mut response: Response) -> Option<Response> {
    let mut removed = false;
    response.headers.retain(|header| {
        if !removed && matches!(header, Header::Via(_)) {
            removed = true;
            return false;
        }
        true
    });
    let has_more = response
        .headers
        .iter()
        .any(|header| matches!(header, Header::Via(_)));
    (removed && has_more).then_some(response)
}

fn is_in_dialog(request: &Request) -> bool {
    request
        .to_header()
        .is_ok_and(|to| build::to_has_tag(to.value()))
}

/// Requests that may create a dialog, which we stay in by Record-Route.
fn creates_dialog(request: &Request) -> bool {
    matches!(
        request.method,
        Method::Invite | Method::Subscribe | Method::Refer
    ) && !is_in_dialog(request)
}

fn first_route(request: &Request) -> Option<rsip::Uri> {
    request.headers.iter().find_map(|header| match header {
        Header::Route(route) => route_uris(route.value()).into_iter().next(),
        _ => None,
    })
}

/// The URIs of a Route or Record-Route value, which may hold several
/// comma-separated `<uri>;params` entries.
fn route_uris(value: &str) -> Vec<rsip::Uri> {
    split_route_entries(value)
        .into_iter()
        .filter_map(|entry| {
            let start = entry.find('<')?;
            let end = entry.get(start..)?.find('>')? + start;
            rsip::Uri::try_from(entry.get(start + 1..end)?).ok()
        })
        .collect()
}

/// Everything after the first entry of a Route value.
fn route_rest(value: &str) -> String {
    split_route_entries(value)
        .into_iter()
        .skip(1)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits on commas outside `<...>` and quotes.
fn split_route_entries(value: &str) -> Vec<&str> {
    let mut entries = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    for (index, character) in value.char_indices() {
        match character {
            '"' => quoted = !quoted,
            '<' if !quoted => depth += 1,
            '>' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                entries.push(value.get(start..index).unwrap_or_default().trim());
                start = index + 1;
            }
            _ => {}
        }
    }
    entries.push(value.get(start..).unwrap_or_default().trim());
    entries.retain(|entry| !entry.is_empty());
    entries
}

fn route_token(uri: &rsip::Uri) -> Option<String> {
    uri.params.iter().find_map(|param| match param {
        rsip::Param::Other(name, Some(value)) if name.value() == ROUTE_TOKEN_PARAM => {
            Some(value.value().to_owned())
        }
        _ => None,
    })
}
