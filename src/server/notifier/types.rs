//! What the notifier is configured with and what it hands back: the
//! packages it serves, why it refuses a SUBSCRIBE, the outcome of one, the
//! NOTIFYs to send and the events of subscriptions ending.

use std::net::SocketAddr;

use rsip::headers::UntypedHeader as _;
use rsip::{Header, Request, Response, Uri};

use crate::proto::dialog::DialogError;
use crate::proto::message;

/// One event package the notifier serves (RFC 6665 §7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventPackage {
    /// The event-type token, compared byte by byte (RFC 6665 §8.2.1).
    pub name: String,
    /// Seconds granted when a SUBSCRIBE has no Expires (§4.2.1.1: each
    /// package defines its default; RFC 3856 §6.4 says 3600 for presence).
    pub default_expires: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifierConfig {
    /// Our Contact URI, in 2xx to SUBSCRIBE and in every NOTIFY: where
    /// in-dialog SUBSCRIBEs come to (`sip:192.0.2.5:5060`).
    pub contact: String,
    /// The address in the Via of the NOTIFYs we send.
    pub local: SocketAddr,
    /// Shorter non-zero requests get 423 with Min-Expires (§4.2.1.1).
    pub min_expires: u32,
    /// Longer requests are shortened to this (§4.2.1.1 allows it).
    pub max_expires: u32,
    /// The packages served; a SUBSCRIBE for any other gets 489.
    pub packages: Vec<EventPackage>,
    /// Seeds the To tags and Via branches.
    pub seed: u64,
}

impl NotifierConfig {
    /// 60 s minimum, one hour maximum, no packages yet.
    pub fn new(contact: &str, local: SocketAddr, seed: u64) -> Self {
        NotifierConfig {
            contact: contact.to_owned(),
            local,
            min_expires: 60,
            max_expires: 3600,
            packages: Vec::new(),
            seed,
        }
    }

    pub fn with_package(mut self, name: &str, default_expires: u32) -> Self {
        self.packages.push(EventPackage {
            name: name.to_owned(),
            default_expires,
        });
        self
    }
}

/// Why a SUBSCRIBE was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotifierError {
    #[error("not a SUBSCRIBE")]
    NotSubscribe,
    /// RFC 6665 §4.2.1.1: answered 489 with Allow-Events.
    #[error("no Event header")]
    MissingEvent,
    /// RFC 6665 §4.2.1.1: answered 489 with Allow-Events.
    #[error("event package {0:?} is not served here")]
    BadEvent(String),
    /// RFC 6665 §4.2.1.1: answered 423 with Min-Expires.
    #[error("requested expiry {requested} s is below the minimum {min_expires} s")]
    IntervalTooBrief { requested: u32, min_expires: u32 },
    /// A SUBSCRIBE with a To tag that names no subscription of ours: 481.
    #[error("no subscription in this dialog")]
    NoSuchSubscription,
    /// RFC 3261 §12.2.2: answered 500.
    #[error("CSeq {cseq} is lower than the last one seen ({remote}): out of order")]
    OutOfOrder { cseq: u32, remote: u32 },
    /// The request cannot make a dialog (no Contact, malformed From): 400.
    #[error("cannot create the dialog: {0}")]
    Dialog(DialogError),
}

impl NotifierError {
    /// The status code of the response that reports this error.
    pub fn status(&self) -> u16 {
        match self {
            NotifierError::NotSubscribe => 405,
            NotifierError::MissingEvent | NotifierError::BadEvent(_) => 489,
            NotifierError::IntervalTooBrief { .. } => 423,
            NotifierError::NoSuchSubscription => 481,
            NotifierError::OutOfOrder { .. } => 500,
            NotifierError::Dialog(_) => 400,
        }
    }
}

/// Names one subscription for the lifetime of the [`Notifier`](super::Notifier); never
/// reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubscriptionId(pub(super) u64);

/// What an accepted SUBSCRIBE asks of the owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscribeAction {
    /// A new subscription: call [`Notifier::notify`](super::Notifier::notify) now with the
    /// resource's current state (RFC 6665 §4.2.1.1).
    Created(SubscriptionId),
    /// A refresh: call [`Notifier::notify`](super::Notifier::notify) now with the current state
    /// (RFC 6665 §4.2.1.2).
    Refreshed(SubscriptionId),
    /// `Expires: 0`, an unsubscribe or a fetch: call [`Notifier::notify`](super::Notifier::notify)
    /// now with the current state; that NOTIFY says `terminated` and ends
    /// the subscription (RFC 6665 §4.2.1.4, §4.4.3). If the owner never
    /// does, the next [`Notifier::handle_timeout`](super::Notifier::handle_timeout) sends it without a body.
    Ending(SubscriptionId),
    /// Refused; the response says why.
    Refused(NotifierError),
}

impl SubscribeAction {
    /// The subscription to notify now, if any.
    pub fn subscription(&self) -> Option<SubscriptionId> {
        match self {
            SubscribeAction::Created(id)
            | SubscribeAction::Refreshed(id)
            | SubscribeAction::Ending(id) => Some(*id),
            SubscribeAction::Refused(_) => None,
        }
    }
}

/// The answer to a SUBSCRIBE.
#[derive(Clone, Debug)]
pub struct SubscribeOutcome {
    /// To send in the SUBSCRIBE's server transaction.
    pub response: Response,
    pub action: SubscribeAction,
}

/// A NOTIFY to send in a new client transaction.
#[derive(Clone, Debug)]
pub struct OutgoingNotify {
    /// Report the transaction's outcome for this id.
    pub id: SubscriptionId,
    pub request: Request,
    /// Where the request goes first (RFC 3261 §12.2.1.1): the first route
    /// of the dialog, else the subscriber's Contact. The owner resolves it.
    pub next_hop: Uri,
}

/// What the owner hears about subscriptions it did not end itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifierEvent {
    /// The subscription is gone: its final NOTIFY was built, or a NOTIFY
    /// failed. `reason` is the Subscription-State reason sent, or what went
    /// wrong (`"notify failed: 481"`).
    Terminated {
        id: SubscriptionId,
        resource: String,
        package: String,
        reason: String,
    },
}

/// The Event header field of a SUBSCRIBE: package and optional `id`
/// (RFC 6665 §8.2.1). Both compare byte by byte.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EventHeader {
    pub package: String,
    pub id: Option<String>,
}

impl EventHeader {
    /// The Event header field of a request, if it has a non-empty one.
    pub fn of(request: &Request) -> Option<EventHeader> {
        let value = request.headers.iter().find_map(|header| match header {
            Header::Event(event) => Some(event.value()),
            _ => None,
        })?;
        let package = value.split(';').next().unwrap_or_default().trim();
        if package.is_empty() {
            return None;
        }
        Some(EventHeader {
            package: package.to_owned(),
            id: message::param(value, "id").flatten(),
        })
    }

    pub(super) fn header(&self) -> Header {
        let value = match &self.id {
            Some(id) => format!("{};id={id}", self.package),
            None => self.package.clone(),
        };
        Header::Event(rsip::headers::Event::new(value))
    }
}
