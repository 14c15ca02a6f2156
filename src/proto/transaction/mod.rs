//! RFC 3261 §17 transactions, sans-IO, with the RFC 6026 corrections.
//!
//! [`TransactionLayer`] owns every client and server transaction of one
//! endpoint. The transaction user (TU: a user agent core, a registrar, a
//! proxy) hands it parsed requests to send and the responses to requests it
//! received; the driver hands it parsed messages from the network and the
//! time. Out come [`Transmit`]s, [`TransactionEvent`]s for the TU, and the
//! next deadline. Retransmission, absorption of retransmissions, the ACK for
//! non-2xx finals and every timer (A–M, plus RFC 6026's L and M) live here.
//!
//! Behaviour worth knowing, beyond the RFC's state machines:
//! - Matching follows §17.1.3 and §17.2.3 for RFC 3261 branches only. A
//!   request whose top Via branch lacks the `z9hG4bK` magic cookie (RFC 2543)
//!   is refused: the layer answers it statelessly with 400 (unless it is an
//!   ACK) and reports [`TransactionEvent::Refused`]. Malformed Via or CSeq
//!   are refused the same way.
//! - A received request's top Via is stamped with `received` and `rport`
//!   (§18.2.1, RFC 3581), and every response in a server transaction goes to
//!   the transport address the request came from.
//! - CANCEL is answered by the layer (§9.2): 200 if it matches a server
//!   transaction, then [`TransactionEvent::Cancelled`] if that is an INVITE
//!   still without a final response (the TU then sends 487); 481 if nothing
//!   matches.
//! - The server transaction sends 100 Trying if the TU has not answered an
//!   INVITE within 200 ms (§17.2.1).
//! - 2xx to INVITE: [`TransactionLayer::respond`] retransmits it until the
//!   ACK arrives (the UAS duty of §13.3.1.4, offered here), reporting
//!   [`TransactionEvent::Timeout`] if none came within 64*T1 so the TU sends
//!   BYE; [`TransactionLayer::forward_response`] is for proxies and never
//!   retransmits. The ACK to a 2xx still reaches the TU as
//!   [`TransactionEvent::Ack`]: it belongs to the dialog.
//! - A TU may answer a request statelessly
//!   ([`TransactionLayer::respond_statelessly`], see `stateless`): its
//!   transaction is forgotten at once, and the ACK to such a non-2xx is
//!   absorbed by its To tag.
//! - Timer C is a [`TimerConfig`] option for proxies, off by default.
//! - The TU must answer every [`TransactionEvent::Request`]: a non-INVITE
//!   server transaction waits for its final response without a timer, as
//!   the RFC has it.
//!
//! Invariants: a transaction is in exactly one of the two maps under its key
//! until it terminates, and then [`TransactionEvent::Terminated`] is emitted
//! once (unless it was answered statelessly); the front of each lane of
//! the timer queue is always a live deadline, so
//! [`TransactionLayer::poll_timeout`] looks at a few lane fronts.

mod client;
mod compose;
mod event;
mod key;
mod server;
mod stateless;
mod timers;
mod via;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};

use rsip::prelude::*;
use rsip::{Method, Request, Response, SipMessage, StatusCode};
use tracing::debug;

use crate::proto::{Peer, Time, Transmit};
use client::{CancelIntent, ClientTransaction};
use compose::{derived_tag, encode, receive_request, response_to, to_tag};
use key::{checked_request, client_key_of_response};
use server::ServerTransaction;
use timers::{Context, TimerQueue};

pub use event::{TransactionEvent, TransactionState};
pub use key::{KeyMap, MAGIC_COOKIE, Role, TransactionKey};
pub use timers::TimerConfig;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    #[error("malformed {0} header")]
    MalformedHeader(&'static str),
    #[error("top Via has no RFC 3261 branch (z9hG4bK); RFC 2543 transactions are not supported")]
    NoMagicCookie,
    #[error("CSeq method differs from the request method")]
    CSeqMethodMismatch,
    #[error("ACK is not sent in a transaction; use send_stateless")]
    AckIsNotATransaction,
    #[error("a transaction with this branch and method already exists")]
    DuplicateTransaction,
    #[error("no such transaction")]
    NoSuchTransaction,
    #[error("not an INVITE client transaction")]
    NotAnInvite,
    #[error("a final response was already sent in this transaction")]
    FinalResponseSent,
    #[error("{0} is not a valid response status code")]
    InvalidStatus(u16),
}

/// What the layer does with a transaction after it handled an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Stay,
    Terminate,
    /// Start the CANCEL the TU asked for earlier, or that Timer C calls for.
    SendCancel,
}

/// All transactions of one endpoint. See the module documentation.
#[derive(Debug)]
pub struct TransactionLayer {
    config: TimerConfig,
    /// Boxed: a map of pointers grows by moving 16 bytes an entry, and a
    /// registrar or proxy holds tens of thousands of transactions.
    clients: KeyMap<Box<ClientTransaction>>,
    servers: KeyMap<Box<ServerTransaction>>,
    /// §13.3.1.4: (Call-ID, CSeq number) of each INVITE whose 2xx is being
    /// retransmitted until its ACK, to find it when the ACK comes (the ACK
    /// to a 2xx has a branch of its own).
    awaiting_ack: HashMap<(String, u32), TransactionKey>,
    queue: TimerQueue,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TransactionEvent>,
}

/// A [`Context`] over the layer's outputs, leaving its maps free to borrow.
macro_rules! context {
    ($layer:expr, $now:expr) => {
        Context {
            now: $now,
            config: &$layer.config,
            transmits: &mut $layer.transmits,
            events: &mut $layer.events,
            queue: &mut $layer.queue,
        }
    };
}

impl TransactionLayer {
    pub fn new(timers: TimerConfig) -> Self {
        TransactionLayer {
            config: timers,
            clients: KeyMap::default(),
            servers: KeyMap::default(),
            awaiting_ack: HashMap::new(),
            queue: TimerQueue::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &TimerConfig {
        &self.config
    }

    /// Starts a client transaction for `request` (§17.1) and sends it to
    /// `destination`. The request must carry a top Via with an RFC 3261
    /// branch, which the TU generates. ACK is refused: see
    /// [`Self::send_stateless`].
    pub fn send_request(
        &mut self,
        now: Time,
        request: Request,
        destination: Peer,
    ) -> Result<TransactionKey, TransactionError> {
        if request.method == Method::Ack {
            return Err(TransactionError::AckIsNotATransaction);
        }
        let id = checked_request(&request)?;
        let key = TransactionKey::client(id.branch, request.method);
        if self.clients.contains_key(&key) {
            return Err(TransactionError::DuplicateTransaction);
        }
        let tx = ClientTransaction::start(
            &mut context!(self, now),
            key.clone(),
            request,
            id.cseq,
            destination,
        );
        self.clients.insert(key.clone(), tx);
        self.prune();
        Ok(key)
    }

    /// Sends a message outside any transaction: the ACK for a 2xx (§13.2.2.4)
    /// or a response a proxy forwards statelessly (§16.11).
    pub fn send_stateless(&mut self, message: SipMessage, destination: Peer) {
        self.transmits.push_back(Transmit {
            destination,
            payload: encode(message),
        });
    }

    /// Cancels an INVITE client transaction (§9.1). Returns the key of the
    /// CANCEL's own client transaction once it is sent. Before any
    /// provisional response the CANCEL must wait: the intent is kept and the
    /// CANCEL goes out with the first provisional (`Ok(None)` now). After a
    /// final response there is nothing to cancel (`Ok(None)`).
    pub fn cancel(
        &mut self,
        now: Time,
        invite: &TransactionKey,
    ) -> Result<Option<TransactionKey>, TransactionError> {
        let tx = self
            .clients
            .get_mut(invite)
            .ok_or(TransactionError::NoSuchTransaction)?;
        if invite.method() != Method::Invite {
            return Err(TransactionError::NotAnInvite);
        }
        match (&tx.cancel, tx.state()) {
            (CancelIntent::Sent(cancel), _) => Ok(Some(cancel.clone())),
            (_, TransactionState::Calling) => {
                tx.cancel = CancelIntent::Pending;
                Ok(None)
            }
            (_, TransactionState::Proceeding) => {
                let cancel = self.start_cancel(now, invite);
                self.prune();
                Ok(cancel)
            }
            _ => Ok(None),
        }
    }

    /// One parsed message from the network.
    pub fn handle_message(&mut self, now: Time, from: Peer, message: SipMessage) {
        match message {
            SipMessage::Request(request) => self.handle_request(now, from, request),
            SipMessage::Response(response) => self.handle_response(now, from, response),
        }
        self.prune();
    }

    /// Sends `response` in the server transaction `key`, to where its
    /// request came from. A 2xx to INVITE is retransmitted until its ACK
    /// arrives (§13.3.1.4); proxies use [`Self::forward_response`].
    pub fn respond(
        &mut self,
        now: Time,
        key: &TransactionKey,
        response: Response,
    ) -> Result<(), TransactionError> {
        self.send_response(now, key, response, true)
    }

    /// Like [`Self::respond`], for a proxy forwarding a response upstream: a
    /// 2xx to INVITE is sent once, never retransmitted (§16.7 step 10), and
    /// more 2xx (from other forks) may follow.
    pub fn forward_response(
        &mut self,
        now: Time,
        key: &TransactionKey,
        response: Response,
    ) -> Result<(), TransactionError> {
        self.send_response(now, key, response, false)
    }

    /// The driver could not reach `peer` (a TCP connection failed or
    /// closed, an ICMP error): every transaction with that peer ends
    /// (§17.1.4, §17.2.4).
    pub fn handle_transport_error(&mut self, peer: Peer) {
        let clients = self
            .clients
            .iter()
            .filter(|(_, tx)| tx.destination() == peer)
            .map(|(key, _)| key.clone());
        let servers = self
            .servers
            .iter()
            .filter(|(_, tx)| tx.source() == peer)
            .map(|(key, _)| key.clone());
        let keys: Vec<TransactionKey> = clients.chain(servers).collect();
        for key in keys {
            self.events
                .push_back(TransactionEvent::TransportError { key: key.clone() });
            self.terminate(&key);
        }
        self.prune();
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Time) {
        while let Some((at, key, timer)) = self.queue.pop_due(now) {
            let step = match key.role() {
                Role::Client => match self.clients.get_mut(&key) {
                    Some(tx) if tx.deadline(timer) == Some(at) => {
                        tx.on_timer(&mut context!(self, now), timer)
                    }
                    _ => continue,
                },
                Role::Server => match self.servers.get_mut(&key) {
                    Some(tx) if tx.deadline(timer) == Some(at) => {
                        tx.on_timer(&mut context!(self, now), timer)
                    }
                    _ => continue,
                },
            };
            self.apply(now, &key, step);
        }
        self.prune();
    }

    /// When [`Self::handle_timeout`] is next due; `None` when idle.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.queue.peek()
    }

    /// When [`Self::handle_timeout`] is next due for something that goes
    /// on the wire or reaches the TU: [`Self::poll_timeout`] without the
    /// timers that only end a finished transaction (D, I, J, K). A user
    /// agent may sleep until its own next deadline or this one and let
    /// those fire late, absorbing retransmissions a little longer; it
    /// still wakes for them ([`Self::poll_timeout`]) when nothing else
    /// is pending, so that they do not pile up.
    pub fn poll_urgent_timeout(&self) -> Option<Time> {
        self.queue.peek_urgent()
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<TransactionEvent> {
        self.events.pop_front()
    }

    /// The state of a live transaction; `None` once it has terminated.
    pub fn state(&self, key: &TransactionKey) -> Option<TransactionState> {
        match key.role() {
            Role::Client => self.clients.get(key).map(|tx| tx.state()),
            Role::Server => self.servers.get(key).map(|tx| tx.state()),
        }
    }

    /// The request a live transaction was created for (as received, for a
    /// server transaction: with its top Via stamped). A transaction
    /// forgets it at its final response, except a client INVITE answered
    /// with a 2xx, which keeps it until Timer M for further 2xx. A server
    /// transaction has it only for an INVITE, or once the TU has asked
    /// with [`Self::keep_request`].
    pub fn request(&self, key: &TransactionKey) -> Option<&Request> {
        match key.role() {
            Role::Client => self.clients.get(key).and_then(|tx| tx.request()),
            Role::Server => self.servers.get(key).and_then(|tx| tx.request()),
        }
    }

    /// Asks the server transaction `key` to keep a copy of its `request`
    /// until its final response, for a TU that answers later from the
    /// request and may no longer hold it (a proxy that forwarded it makes
    /// up a timeout). An INVITE's is kept anyway; a request answered at
    /// once, as most are, is never copied.
    pub fn keep_request(&mut self, key: &TransactionKey, request: &Request) {
        if let Some(tx) = self.servers.get_mut(key) {
            tx.keep_request(request);
        }
    }

    /// Tells a client transaction that the TU will not ask for its
    /// request again, as a proxy will not once a branch has its final
    /// response: an INVITE answered with a 2xx then does not hold it
    /// through Accepted (Timer M, 32 s). Before the final it is kept, for
    /// a CANCEL or the ACK to a non-2xx.
    pub fn forget_request(&mut self, key: &TransactionKey) {
        if let Some(tx) = self.clients.get_mut(key) {
            tx.forget_request();
        }
    }

    /// How many transactions are live.
    pub fn len(&self) -> usize {
        self.clients.len() + self.servers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn handle_response(&mut self, now: Time, from: Peer, response: Response) {
        let Ok(key) = client_key_of_response(&response) else {
            self.events
                .push_back(TransactionEvent::StrayResponse { response, from });
            return;
        };
        let Some(tx) = self.clients.get_mut(&key) else {
            self.events
                .push_back(TransactionEvent::StrayResponse { response, from });
            return;
        };
        let step = tx.on_response(&mut context!(self, now), response);
        self.apply(now, &key, step);
    }

    fn handle_request(&mut self, now: Time, from: Peer, mut request: Request) {
        let id = match receive_request(&mut request, from) {
            Ok(id) => id,
            Err(error) => return self.refuse(from, request, error),
        };
        let key = TransactionKey::server(id.branch, id.sent_by, request.method);
        match request.method {
            Method::Ack => self.handle_ack(now, from, key, request),
            Method::Cancel => self.handle_cancel(now, from, key, request),
            _ => {
                if let Some(tx) = self.servers.get_mut(&key) {
                    tx.on_retransmission(&mut context!(self, now));
                    return;
                }
                let tx =
                    ServerTransaction::start(&mut context!(self, now), key.clone(), &request, from);
                self.servers.insert(key.clone(), tx);
                self.events
                    .push_back(TransactionEvent::Request { key, request, from });
            }
        }
    }

    fn handle_ack(&mut self, now: Time, from: Peer, key: TransactionKey, ack: Request) {
        if let Some(tx) = self.servers.get_mut(&key) {
            // The ACK for a non-2xx final (§17.2.3: it matches the INVITE).
            let step = tx.on_ack(&mut context!(self, now), ack, from);
            self.apply(now, &key, step);
            return;
        }
        if self.acknowledges_stateless(&key, &ack) {
            return;
        }
        // The ACK for a 2xx: stop retransmitting that 2xx if we do, and let
        // the TU confirm its dialog.
        if let Some(id) = ack_id(&ack) {
            if let Some(invite) = self.awaiting_ack.get(&id) {
                let tag = to_tag(&ack);
                if let Some(tx) = self.servers.get_mut(invite) {
                    if tx.to_tag().is_none() || tx.to_tag() == tag.as_deref() {
                        tx.on_2xx_ack();
                        self.awaiting_ack.remove(&id);
                    }
                }
            }
        }
        self.events
            .push_back(TransactionEvent::Ack { request: ack, from });
    }

    /// §9.2: the layer answers a CANCEL itself, in a server transaction of
    /// its own so that retransmissions get the same answer.
    fn handle_cancel(&mut self, now: Time, from: Peer, key: TransactionKey, cancel: Request) {
        if let Some(tx) = self.servers.get_mut(&key) {
            tx.on_retransmission(&mut context!(self, now));
            return;
        }
        let target = self.cancel_target(&key);
        let target_tx = target
            .as_ref()
            .and_then(|t| Some((t, self.servers.get(t)?)));
        let (status, tag, cancelled) = match target_tx {
            Some((target_key, target)) => (
                StatusCode::OK,
                // §9.2: the To tag of the answer to the CANCEL should be the
                // one of the response to the original request.
                target
                    .to_tag()
                    .map(str::to_owned)
                    .unwrap_or_else(|| derived_tag(key.branch())),
                target.state() == TransactionState::Proceeding
                    && target_key.method() == Method::Invite,
            ),
            None => (
                StatusCode::CallTransactionDoesNotExist,
                derived_tag(key.branch()),
                false,
            ),
        };
        let response = response_to(&cancel, status, Some(&tag));
        let mut ctx = context!(self, now);
        let mut tx = ServerTransaction::start(&mut ctx, key.clone(), &cancel, from);
        // A new transaction in Trying takes any final response: no error.
        let step = tx.respond(&mut ctx, response, false).unwrap_or(Step::Stay);
        self.servers.insert(key.clone(), tx);
        self.apply(now, &key, step);
        if let (true, Some(invite)) = (cancelled, target) {
            self.events
                .push_back(TransactionEvent::Cancelled { invite, cancel });
        }
    }

    /// §9.2: the server transaction a CANCEL matches, by §17.2.3 with any
    /// method but CANCEL. INVITE first: it is the only one worth cancelling.
    fn cancel_target(&self, cancel: &TransactionKey) -> Option<TransactionKey> {
        let invite = cancel.with_method(Method::Invite);
        if self.servers.contains_key(&invite) {
            return Some(invite);
        }
        Method::all()
            .into_iter()
            .filter(|method| !matches!(method, Method::Ack | Method::Cancel | Method::Invite))
            .map(|method| cancel.with_method(method))
            .find(|key| self.servers.contains_key(key))
    }

    fn refuse(&mut self, from: Peer, request: Request, error: TransactionError) {
        debug!(%from, %error, method = %request.method, "refusing request");
        let has_via = request.via_header().is_ok();
        if request.method != Method::Ack && has_via {
            let reason = match error {
                TransactionError::NoMagicCookie => "RFC 2543 Transactions Not Supported",
                _ => "Bad Request",
            };
            let seed = request
                .call_id_header()
                .map(|id| id.value().to_owned())
                .unwrap_or_default();
            let status = StatusCode::Other(400, reason.into());
            let response = response_to(&request, status, Some(&derived_tag(&seed)));
            self.transmits.push_back(Transmit {
                destination: from,
                payload: encode(response),
            });
        }
        self.events.push_back(TransactionEvent::Refused {
            request,
            from,
            error,
        });
    }

    fn send_response(
        &mut self,
        now: Time,
        key: &TransactionKey,
        response: Response,
        retransmit_2xx: bool,
    ) -> Result<(), TransactionError> {
        let tx = self
            .servers
            .get_mut(key)
            .ok_or(TransactionError::NoSuchTransaction)?;
        let code = response.status_code.code();
        let step = tx.respond(&mut context!(self, now), response, retransmit_2xx)?;
        if retransmit_2xx && key.method() == Method::Invite && (200..300).contains(&code) {
            if let Some(id) = tx.ack_id() {
                self.awaiting_ack.insert(id.clone(), key.clone());
            }
        }
        self.apply(now, key, step);
        self.prune();
        Ok(())
    }

    /// §9.1: builds and sends the CANCEL for a client INVITE in Proceeding.
    fn start_cancel(&mut self, now: Time, invite: &TransactionKey) -> Option<TransactionKey> {
        let tx = self.clients.get(invite)?;
        let request = tx.cancel_request()?;
        let (cseq, destination) = (tx.cseq(), tx.destination());
        let key = invite.with_method(Method::Cancel);
        let mut ctx = context!(self, now);
        if !self.clients.contains_key(&key) {
            let cancel =
                ClientTransaction::start(&mut ctx, key.clone(), request, cseq, destination);
            self.clients.insert(key.clone(), cancel);
        }
        if let Some(tx) = self.clients.get_mut(invite) {
            tx.cancel_sent(&mut ctx, key.clone());
        }
        Some(key)
    }

    fn apply(&mut self, now: Time, key: &TransactionKey, step: Step) {
        match step {
            Step::Stay => {}
            Step::Terminate => self.terminate(key),
            Step::SendCancel => {
                self.start_cancel(now, key);
            }
        }
    }

    fn terminate(&mut self, key: &TransactionKey) {
        let removed = match key.role() {
            Role::Client => self.clients.remove(key).is_some(),
            Role::Server => match self.servers.remove(key) {
                Some(tx) => {
                    // Only an INVITE's 2xx waits for an ACK (§13.3.1.4).
                    let waits = key.method() == Method::Invite && !self.awaiting_ack.is_empty();
                    if let Some(id) = waits.then(|| tx.ack_id()).flatten() {
                        if self.awaiting_ack.get(id) == Some(key) {
                            self.awaiting_ack.remove(id);
                        }
                    }
                    true
                }
                None => false,
            },
        };
        if removed {
            self.events
                .push_back(TransactionEvent::Terminated { key: key.clone() });
        }
    }

    /// Pops stale deadlines off the queue so its lanes' fronts are live
    /// (module invariant). Every `&mut self` entry point ends with it.
    fn prune(&mut self) {
        let (clients, servers) = (&self.clients, &self.servers);
        self.queue.prune(|key, timer, at| {
            let armed = match key.role() {
                Role::Client => clients.get(key).and_then(|tx| tx.deadline(timer)),
                Role::Server => servers.get(key).and_then(|tx| tx.deadline(timer)),
            };
            armed == Some(at)
        });
    }
}

/// What ties an ACK to the INVITE it acknowledges when branches differ:
/// Call-ID and CSeq number (§13.2.2.4: the ACK has the INVITE's CSeq number).
fn ack_id(request: &Request) -> Option<(String, u32)> {
    let call_id = request.call_id_header().ok()?.value().to_owned();
    let (cseq, _) = key::cseq(request).ok()?;
    Some((call_id, cseq))
}
