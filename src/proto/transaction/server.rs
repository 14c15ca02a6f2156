//! Server transactions: RFC 3261 §17.2.1 (INVITE, with the RFC 6026
//! Accepted state) and §17.2.2 (non-INVITE).
//!
//! A server transaction passes its request up once, absorbs retransmissions
//! of it (answering each with the latest response), sends 100 Trying when the
//! TU is slow, retransmits a non-2xx final response to an INVITE until the
//! ACK comes, and absorbs that ACK. Responses go to the transport address
//! the request came from (§18.2.2, RFC 3581), whatever the Via says.
//!
//! 2xx to INVITE: RFC 3261 makes their retransmission the UAS core's job
//! (§13.3.1.4). The layer offers it: a 2xx sent with
//! [`super::TransactionLayer::respond`] is retransmitted (T1 doubling to T2,
//! unreliable transports only) until an ACK for it arrives or Timer L ends
//! the Accepted state, which then reports a timeout so the TU sends BYE.
//! Proxies forward 2xx with [`super::TransactionLayer::forward_response`]
//! instead, which never retransmits (§16.7 step 10).

use std::time::Duration;

use rsip::{Method, Request, Response, StatusCode};
use tracing::debug;

use super::compose::{encode, response_to, to_tag};
use super::timers::{Context, Deadlines, Timer};
use super::{Step, TransactionError, TransactionEvent, TransactionKey, TransactionState};
use crate::proto::{Peer, Time};

#[derive(Debug)]
pub(super) struct ServerTransaction {
    key: TransactionKey,
    state: TransactionState,
    /// The request, until a final response: what a 100 Trying of our own
    /// or a response the TU makes up (a proxy's timeout) answers. An
    /// INVITE's is kept from the start, for that 100 Trying; any other
    /// request only once the TU asks ([`Self::keep_request`]): most are
    /// answered at once (a registration, a challenge), and a copy is a
    /// dozen allocations made only to be dropped. Not kept after the
    /// final: a non-INVITE waits out Timer J (32 s) by the thousand under
    /// load, and a parsed request is a few kilobytes in dozens of pieces.
    /// Boxed, so that a finished transaction does not carry the request's
    /// 216 bytes.
    request: Option<Box<Request>>,
    /// An INVITE's Call-ID and CSeq number, which find the ACK to its 2xx.
    ack_id: Option<(String, u32)>,
    source: Peer,
    deadlines: Deadlines,
    /// The current interval of Timer G, or of 2xx retransmission.
    interval: Duration,
    /// The latest response sent, for retransmitted requests and Timer G;
    /// none after a 2xx a proxy forwards, which is never sent again.
    last_response: Option<Vec<u8>>,
    /// The To tag of the latest response sent.
    to_tag: Option<String>,
    /// A 2xx is being retransmitted until its ACK arrives (§13.3.1.4).
    awaiting_ack: bool,
}

impl ServerTransaction {
    /// A new server transaction for `request`, which came from `source`.
    pub(super) fn start(
        ctx: &mut Context<'_>,
        key: TransactionKey,
        request: &Request,
        source: Peer,
    ) -> Box<Self> {
        let invite = key.method() == Method::Invite;
        let mut tx = Box::new(ServerTransaction {
            key,
            state: if invite {
                TransactionState::Proceeding
            } else {
                TransactionState::Trying
            },
            request: invite.then(|| Box::new(request.clone())),
            ack_id: if invite { super::ack_id(request) } else { None },
            source,
            deadlines: Deadlines::default(),
            interval: ctx.config.t1,
            last_response: None,
            to_tag: None,
            awaiting_ack: false,
        });
        if invite {
            // §17.2.1: 100 Trying unless the TU answers within 200 ms.
            let delay = ctx.config.trying_delay;
            ctx.arm(&mut tx.deadlines, &tx.key, Timer::Trying, delay);
        }
        tx
    }

    pub(super) fn state(&self) -> TransactionState {
        self.state
    }

    pub(super) fn source(&self) -> Peer {
        self.source
    }

    /// The request, until a final response has been sent.
    pub(super) fn request(&self) -> Option<&Request> {
        self.request.as_deref()
    }

    /// Keeps a copy of `request` (the one this transaction was started
    /// for) until the final response, unless one is kept already or the
    /// final has been sent.
    pub(super) fn keep_request(&mut self, request: &Request) {
        let answered = matches!(
            self.state,
            TransactionState::Completed | TransactionState::Confirmed | TransactionState::Accepted
        );
        if self.request.is_none() && !answered {
            self.request = Some(Box::new(request.clone()));
        }
    }

    /// For an INVITE, the Call-ID and CSeq number its ACK will carry.
    pub(super) fn ack_id(&self) -> Option<&(String, u32)> {
        self.ack_id.as_ref()
    }

    pub(super) fn to_tag(&self) -> Option<&str> {
        self.to_tag.as_deref()
    }

    pub(super) fn deadline(&self, timer: Timer) -> Option<Time> {
        self.deadlines.get(timer)
    }

    /// The same request again: answer with the latest response, or absorb.
    pub(super) fn on_retransmission(&mut self, ctx: &mut Context<'_>) {
        use TransactionState::*;
        match (self.key.method() == Method::Invite, self.state) {
            // §17.2.1: the latest provisional, or the final while Completed.
            // If the TU has said nothing yet, 100 Trying now: the client is
            // already retransmitting.
            (true, Proceeding) if self.last_response.is_none() => self.send_trying(ctx),
            (true, Proceeding | Completed) | (false, Proceeding | Completed) => {
                if let Some(last) = &self.last_response {
                    ctx.send(self.source, last.clone());
                }
            }
            // RFC 6026 §8.7: INVITE retransmissions in Accepted are absorbed,
            // as they are in Confirmed; §17.2.2: and before any response.
            _ => debug!(key = %self.key, state = ?self.state, "absorbing retransmitted request"),
        }
    }

    /// An ACK matching this (INVITE) transaction by branch.
    pub(super) fn on_ack(&mut self, ctx: &mut Context<'_>, ack: Request, from: Peer) -> Step {
        match self.state {
            TransactionState::Completed => {
                // §17.2.1: Confirmed; Timer I absorbs ACK retransmissions.
                self.state = TransactionState::Confirmed;
                self.deadlines.disarm(Timer::G);
                self.deadlines.disarm(Timer::H);
                if self.source.transport.is_reliable() {
                    return Step::Terminate;
                }
                ctx.arm(&mut self.deadlines, &self.key, Timer::I, ctx.config.t4);
                Step::Stay
            }
            TransactionState::Accepted => {
                // RFC 6026 §8.7: an ACK matching in Accepted goes to the TU.
                self.on_2xx_ack();
                ctx.emit(TransactionEvent::Ack { request: ack, from });
                Step::Stay
            }
            _ => {
                debug!(key = %self.key, state = ?self.state, "absorbing ACK");
                Step::Stay
            }
        }
    }

    /// The ACK for our 2xx arrived: stop retransmitting it.
    pub(super) fn on_2xx_ack(&mut self) {
        self.awaiting_ack = false;
        self.deadlines.disarm(Timer::Retransmit2xx);
    }

    /// The TU's response. `retransmit_2xx`: a 2xx to INVITE is retransmitted
    /// until its ACK (a UAS), or sent once (a proxy).
    pub(super) fn respond(
        &mut self,
        ctx: &mut Context<'_>,
        response: Response,
        retransmit_2xx: bool,
    ) -> Result<Step, TransactionError> {
        use TransactionState::*;
        let code = response.status_code.code();
        if !(100..=699).contains(&code) {
            return Err(TransactionError::InvalidStatus(code));
        }
        let invite = self.key.method() == Method::Invite;
        let reliable = self.source.transport.is_reliable();
        let timeout = ctx.config.transaction_timeout();
        let next = match (invite, self.state, code) {
            (true, Proceeding, 100..=199) | (false, Trying | Proceeding, 100..=199) => Proceeding,
            (true, Proceeding | Accepted, 200..=299) => Accepted,
            (true, Proceeding, _) | (false, Trying | Proceeding, _) => Completed,
            _ => return Err(TransactionError::FinalResponseSent),
        };
        self.deadlines.disarm(Timer::Trying);
        if code >= 200 {
            self.request = None;
        }
        self.to_tag = to_tag(&response);
        let wire = encode(response);
        // A proxy's 2xx goes once; in Accepted retransmitted INVITEs are
        // absorbed, so nothing will send it again (RFC 6026 §8.7).
        let sent_again = next != Accepted || retransmit_2xx;
        self.last_response = sent_again.then(|| wire.clone());
        ctx.send(self.source, wire);
        let entering = self.state != next;
        self.state = next;
        match next {
            Accepted if entering => {
                // RFC 6026 §8.5: Timer L bounds the Accepted state; it is also
                // the 64*T1 of 2xx retransmission (§13.3.1.4).
                ctx.arm(&mut self.deadlines, &self.key, Timer::L, timeout);
                if retransmit_2xx {
                    self.awaiting_ack = true;
                    if !reliable {
                        self.interval = ctx.config.t1;
                        ctx.arm(
                            &mut self.deadlines,
                            &self.key,
                            Timer::Retransmit2xx,
                            self.interval,
                        );
                    }
                }
            }
            Completed if invite => {
                // §17.2.1: Timer G over unreliable transports, H always.
                if !reliable {
                    self.interval = ctx.config.t1;
                    ctx.arm(&mut self.deadlines, &self.key, Timer::G, self.interval);
                }
                ctx.arm(&mut self.deadlines, &self.key, Timer::H, timeout);
            }
            Completed => {
                // §17.2.2: Timer J, zero over reliable transports.
                if reliable {
                    return Ok(Step::Terminate);
                }
                ctx.arm(&mut self.deadlines, &self.key, Timer::J, timeout);
            }
            _ => {}
        }
        Ok(Step::Stay)
    }

    pub(super) fn on_timer(&mut self, ctx: &mut Context<'_>, timer: Timer) -> Step {
        use TransactionState::*;
        self.deadlines.disarm(timer);
        match (timer, self.state) {
            (Timer::Trying, Proceeding) if self.last_response.is_none() => {
                self.send_trying(ctx);
                Step::Stay
            }
            (Timer::G, Completed) | (Timer::Retransmit2xx, Accepted) => {
                // §17.2.1 and §13.3.1.4: T1 doubling up to T2.
                if let Some(last) = &self.last_response {
                    ctx.send(self.source, last.clone());
                }
                self.interval = self.interval.saturating_mul(2).min(ctx.config.t2);
                ctx.arm(&mut self.deadlines, &self.key, timer, self.interval);
                Step::Stay
            }
            (Timer::H, Completed) => {
                // §17.2.1: the ACK never came.
                ctx.emit(TransactionEvent::Timeout {
                    key: self.key.clone(),
                });
                Step::Terminate
            }
            (Timer::L, Accepted) => {
                // §13.3.1.4: no ACK for our 2xx in 64*T1; the TU ends the
                // session with BYE.
                if self.awaiting_ack {
                    ctx.emit(TransactionEvent::Timeout {
                        key: self.key.clone(),
                    });
                }
                Step::Terminate
            }
            (Timer::I, Confirmed) | (Timer::J, Completed) => Step::Terminate,
            _ => Step::Stay,
        }
    }

    fn send_trying(&mut self, ctx: &mut Context<'_>) {
        self.deadlines.disarm(Timer::Trying);
        let Some(request) = &self.request else {
            return;
        };
        let trying = encode(response_to(request, StatusCode::Trying, None));
        ctx.send(self.source, trying.clone());
        self.last_response = Some(trying);
    }
}
