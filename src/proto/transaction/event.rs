//! What the transaction layer reports to its user, and the states of its
//! transactions (RFC 3261 §17 figures 5 to 8, with RFC 6026's Accepted).

use rsip::{Request, Response};

use super::{TransactionError, TransactionKey};
use crate::proto::Peer;

/// Where a live transaction is in its state machine. Terminated
/// transactions no longer exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionState {
    /// INVITE client, before any response.
    Calling,
    /// Non-INVITE client or server, before any response.
    Trying,
    Proceeding,
    Completed,
    /// INVITE server: the ACK for a non-2xx final arrived.
    Confirmed,
    /// RFC 6026: INVITE, after a 2xx.
    Accepted,
}

/// What the transaction layer tells its user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransactionEvent {
    /// A new request, in a new server transaction: the TU must respond.
    Request {
        key: TransactionKey,
        request: Request,
        from: Peer,
    },
    /// A provisional or final response in a client transaction. For INVITE,
    /// 2xx retransmissions also come up while in Accepted (RFC 6026) so that
    /// the TU re-sends its ACK.
    Response {
        key: TransactionKey,
        response: Response,
    },
    /// No response in time (Timer B, F, C or §9.1's wait after CANCEL): the
    /// TU treats it as 408. For an INVITE server transaction: no ACK came
    /// for the final response (Timer H, or Timer L after a 2xx).
    Timeout { key: TransactionKey },
    /// A CANCEL matched this INVITE server transaction before its final
    /// response; the layer already answered the CANCEL with 200. The TU
    /// should answer the INVITE with 487.
    Cancelled {
        invite: TransactionKey,
        cancel: Request,
    },
    /// An ACK that is not part of a server transaction: the ACK for a 2xx.
    Ack { request: Request, from: Peer },
    /// A response matching no client transaction (a proxy forwards 2xx like
    /// this statelessly, §16.7; a UA may see late 2xx retransmissions).
    StrayResponse { response: Response, from: Peer },
    /// A request the layer would not match (no RFC 3261 branch, bad Via or
    /// CSeq); it was answered 400 unless it was an ACK.
    Refused {
        request: Request,
        from: Peer,
        error: TransactionError,
    },
    /// The driver reported that the peer of this transaction is unreachable
    /// (§17.1.4, §17.2.4); the transaction is terminated.
    TransportError { key: TransactionKey },
    /// The transaction is gone; the TU may drop what it kept for it.
    Terminated { key: TransactionKey },
}
