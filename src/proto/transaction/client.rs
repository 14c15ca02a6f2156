//! Client transactions: RFC 3261 §17.1.1 (INVITE, with the RFC 6026
//! Accepted state) and §17.1.2 (non-INVITE).
//!
//! A client transaction retransmits its request over unreliable transports,
//! passes responses up, absorbs retransmitted final responses, sends the ACK
//! for a non-2xx final response itself, and reports a timeout when no
//! response comes. It never sends on its own after reaching Terminated.

use std::time::Duration;

use rsip::{Method, Request, Response};
use tracing::debug;

use super::compose::{ack_for, cancel_for, encode};
use super::timers::{Context, Deadlines, Timer};
use super::{Step, TransactionEvent, TransactionKey, TransactionState};
use crate::proto::{Peer, Time};

/// Whether the TU wants this INVITE cancelled (§9.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum CancelIntent {
    None,
    /// Asked before any provisional response: wait for one.
    Pending,
    Sent(TransactionKey),
}

#[derive(Debug)]
pub(super) struct ClientTransaction {
    key: TransactionKey,
    state: TransactionState,
    /// The request, for a CANCEL and for the ACK to a non-2xx, until a
    /// final response. An INVITE keeps it through Accepted, where the TU
    /// may need it to answer a 2xx from another fork; any other drops it,
    /// as a non-INVITE waits out Timer K (5 s) by the thousand under load.
    request: Option<Box<Request>>,
    cseq: u32,
    /// The request as sent, for retransmissions; emptied at the final.
    wire: Vec<u8>,
    destination: Peer,
    deadlines: Deadlines,
    /// The current interval of Timer A or E.
    interval: Duration,
    /// The ACK sent for a non-2xx final, re-sent for each retransmission.
    ack: Option<Vec<u8>>,
    pub(super) cancel: CancelIntent,
}

impl ClientTransaction {
    /// Sends the request and arms the timers of Calling / Trying.
    pub(super) fn start(
        ctx: &mut Context<'_>,
        key: TransactionKey,
        request: Request,
        cseq: u32,
        destination: Peer,
    ) -> Box<Self> {
        let invite = key.method() == Method::Invite;
        let wire = crate::proto::message::to_bytes_request(&request);
        let mut tx = Box::new(ClientTransaction {
            key,
            state: if invite {
                TransactionState::Calling
            } else {
                TransactionState::Trying
            },
            request: Some(Box::new(request)),
            cseq,
            wire,
            destination,
            deadlines: Deadlines::default(),
            interval: ctx.config.t1,
            ack: None,
            cancel: CancelIntent::None,
        });
        ctx.send(destination, tx.wire.clone());
        let reliable = destination.transport.is_reliable();
        let timeout = ctx.config.transaction_timeout();
        if invite {
            // §17.1.1.2: Timer A only over unreliable transports; Timer B always.
            if !reliable {
                ctx.arm(&mut tx.deadlines, &tx.key, Timer::A, tx.interval);
            }
            ctx.arm(&mut tx.deadlines, &tx.key, Timer::B, timeout);
            if let Some(timer_c) = ctx.config.timer_c {
                ctx.arm(&mut tx.deadlines, &tx.key, Timer::C, timer_c);
            }
        } else {
            // §17.1.2.2: Timer E only over unreliable transports; Timer F always.
            if !reliable {
                ctx.arm(&mut tx.deadlines, &tx.key, Timer::E, tx.interval);
            }
            ctx.arm(&mut tx.deadlines, &tx.key, Timer::F, timeout);
        }
        tx
    }

    pub(super) fn state(&self) -> TransactionState {
        self.state
    }

    /// The request, until a final response (through Accepted for an
    /// INVITE's 2xx).
    pub(super) fn request(&self) -> Option<&Request> {
        self.request.as_deref()
    }

    pub(super) fn cseq(&self) -> u32 {
        self.cseq
    }

    pub(super) fn destination(&self) -> Peer {
        self.destination
    }

    pub(super) fn deadline(&self, timer: Timer) -> Option<Time> {
        self.deadlines.get(timer)
    }

    /// The TU will not ask for the request again: it goes, unless the
    /// transaction still needs it for a CANCEL or an ACK (no final yet).
    pub(super) fn forget_request(&mut self) {
        if !matches!(
            self.state,
            TransactionState::Calling | TransactionState::Trying | TransactionState::Proceeding
        ) {
            self.request = None;
        }
    }

    /// §9.1: the CANCEL for this transaction's request, before its final.
    pub(super) fn cancel_request(&self) -> Option<Request> {
        Some(cancel_for(self.request.as_deref()?, self.cseq))
    }

    /// The CANCEL went out as `cancel`: if the INVITE still has no final
    /// response 64*T1 from now, give up on it (§9.1).
    pub(super) fn cancel_sent(&mut self, ctx: &mut Context<'_>, cancel: TransactionKey) {
        self.cancel = CancelIntent::Sent(cancel);
        let grace = ctx.config.transaction_timeout();
        ctx.arm(&mut self.deadlines, &self.key, Timer::CancelGrace, grace);
    }

    pub(super) fn on_response(&mut self, ctx: &mut Context<'_>, response: Response) -> Step {
        let code = response.status_code.code();
        if !(100..=699).contains(&code) {
            debug!(key = %self.key, code, "dropping response with an invalid status code");
            return Step::Stay;
        }
        if self.key.method() == Method::Invite {
            self.on_invite_response(ctx, response, code)
        } else {
            self.on_non_invite_response(ctx, response, code)
        }
    }

    fn on_invite_response(&mut self, ctx: &mut Context<'_>, response: Response, code: u16) -> Step {
        use TransactionState::*;
        match (self.state, code) {
            (Calling | Proceeding, 100..=199) => {
                // §17.1.1.2: a provisional response stops retransmissions and
                // Timer B; §16.7 step 2: it restarts Timer C.
                self.state = Proceeding;
                self.deadlines.disarm(Timer::A);
                self.deadlines.disarm(Timer::B);
                if let Some(timer_c) = ctx.config.timer_c {
                    ctx.arm(&mut self.deadlines, &self.key, Timer::C, timer_c);
                }
                self.pass_up(ctx, response);
                if self.cancel == CancelIntent::Pending {
                    return Step::SendCancel;
                }
                Step::Stay
            }
            (Calling | Proceeding, 200..=299) => {
                // RFC 6026 §8.4: Accepted, where further 2xx (retransmitted,
                // or from other forks) still reach the TU until Timer M.
                self.state = Accepted;
                self.end_running();
                if self.cancel == CancelIntent::Pending {
                    self.cancel = CancelIntent::None;
                }
                let timeout = ctx.config.transaction_timeout();
                ctx.arm(&mut self.deadlines, &self.key, Timer::M, timeout);
                self.pass_up(ctx, response);
                Step::Stay
            }
            (Calling | Proceeding, _) => {
                // §17.1.1.2: Completed; the transaction ACKs the final itself.
                self.state = Completed;
                self.end_running();
                if self.cancel == CancelIntent::Pending {
                    self.cancel = CancelIntent::None;
                }
                if let Some(request) = self.request.take() {
                    let ack = encode(ack_for(&request, self.cseq, &response));
                    ctx.send(self.destination, ack.clone());
                    self.ack = Some(ack);
                }
                self.pass_up(ctx, response);
                if self.destination.transport.is_reliable() {
                    // Timer D is zero over reliable transports.
                    return Step::Terminate;
                }
                ctx.arm(&mut self.deadlines, &self.key, Timer::D, ctx.config.timer_d);
                Step::Stay
            }
            (Completed, 300..=699) => {
                // A retransmitted final: our ACK was lost. Re-send it, absorb
                // the response.
                if let Some(ack) = &self.ack {
                    ctx.send(self.destination, ack.clone());
                }
                Step::Stay
            }
            (Accepted, 200..=299) => {
                // RFC 6026: the TU re-sends its ACK for a retransmitted 2xx.
                self.pass_up(ctx, response);
                Step::Stay
            }
            _ => {
                debug!(key = %self.key, code, state = ?self.state, "absorbing response");
                Step::Stay
            }
        }
    }

    fn on_non_invite_response(
        &mut self,
        ctx: &mut Context<'_>,
        response: Response,
        code: u16,
    ) -> Step {
        use TransactionState::*;
        match (self.state, code) {
            (Trying | Proceeding, 100..=199) => {
                // §17.1.2.2: Proceeding; Timer E keeps running and its next
                // interval will be T2.
                self.state = Proceeding;
                self.pass_up(ctx, response);
                Step::Stay
            }
            (Trying | Proceeding, _) => {
                self.state = Completed;
                self.end_running();
                self.request = None;
                self.pass_up(ctx, response);
                if self.destination.transport.is_reliable() {
                    // Timer K is zero over reliable transports.
                    return Step::Terminate;
                }
                ctx.arm(&mut self.deadlines, &self.key, Timer::K, ctx.config.t4);
                Step::Stay
            }
            _ => {
                debug!(key = %self.key, code, "absorbing retransmitted response");
                Step::Stay
            }
        }
    }

    pub(super) fn on_timer(&mut self, ctx: &mut Context<'_>, timer: Timer) -> Step {
        use TransactionState::*;
        self.deadlines.disarm(timer);
        match (timer, self.state) {
            (Timer::A, Calling) => {
                // §17.1.1.2: Timer A doubles each time, with no cap.
                ctx.send(self.destination, self.wire.clone());
                self.interval = self.interval.saturating_mul(2);
                ctx.arm(&mut self.deadlines, &self.key, Timer::A, self.interval);
                Step::Stay
            }
            (Timer::E, Trying | Proceeding) => {
                // §17.1.2.2: E doubles up to T2 in Trying, is T2 in Proceeding.
                ctx.send(self.destination, self.wire.clone());
                self.interval = if self.state == Proceeding {
                    ctx.config.t2
                } else {
                    self.interval.saturating_mul(2).min(ctx.config.t2)
                };
                ctx.arm(&mut self.deadlines, &self.key, Timer::E, self.interval);
                Step::Stay
            }
            (Timer::B, Calling) | (Timer::F, Trying | Proceeding) => self.time_out(ctx),
            (Timer::C, Calling) => self.time_out(ctx),
            (Timer::C, Proceeding) => match self.cancel {
                CancelIntent::Sent(_) => Step::Stay,
                _ => Step::SendCancel,
            },
            (Timer::CancelGrace, Calling | Proceeding) => self.time_out(ctx),
            (Timer::D, Completed) | (Timer::K, Completed) | (Timer::M, Accepted) => Step::Terminate,
            _ => Step::Stay,
        }
    }

    /// The TU treats a timeout as a 408 (§8.1.3.1).
    fn time_out(&mut self, ctx: &mut Context<'_>) -> Step {
        ctx.emit(TransactionEvent::Timeout {
            key: self.key.clone(),
        });
        Step::Terminate
    }

    /// A final response ends Calling, Trying and Proceeding: their timers
    /// stop, and the request as sent, which only they retransmit, goes.
    fn end_running(&mut self) {
        self.wire = Vec::new();
        for timer in [
            Timer::A,
            Timer::B,
            Timer::C,
            Timer::E,
            Timer::F,
            Timer::CancelGrace,
        ] {
            self.deadlines.disarm(timer);
        }
    }

    fn pass_up(&self, ctx: &mut Context<'_>, response: Response) {
        ctx.emit(TransactionEvent::Response {
            key: self.key.clone(),
            response,
        });
    }
}
