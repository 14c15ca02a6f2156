//! The subscriber side of RFC 6665: one subscription to one resource's
//! state in one event package, kept alive for as long as its owner wants
//! it, whatever the package and whatever the body.
//!
//! A [`Subscription`] builds SUBSCRIBE requests and reads the responses and
//! NOTIFYs its owner routes to it; it sends nothing itself. The owner (the
//! client core) sends each request from [`Subscription::build_subscribe`]
//! in a client transaction, adding credentials when the server challenged
//! the previous one, and hands back the final response
//! ([`Subscription::handle_response`]) or the transaction's timeout
//! ([`Subscription::handle_transaction_timeout`]). It routes incoming
//! NOTIFYs with [`Subscription::matches_notify`] and answers each with the
//! response [`Subscription::handle_notify`] returns. Whenever one of these
//! or [`Subscription::handle_timeout`] returns
//! [`SubscriptionAction::SendSubscribe`], the owner builds and sends the
//! next SUBSCRIBE at once.
//!
//! Behaviour, by RFC 6665 section:
//! - §4.1.2.1: the dialog comes from the 2xx, or from a NOTIFY that
//!   overtakes it (§4.1.2.4); later NOTIFYs from other forks get 481.
//! - §4.1.2.2: refresh at half the granted duration (or of the `expires` of
//!   the last NOTIFY, §4.1.3). A refresh that fails with 404, 405, 410,
//!   416, 480-485, 489, 501 or 604 ends the subscription: 481 and the
//!   temporary ones start over with a fresh Call-ID and From tag, the others
//!   stop it. Any other failure leaves it valid until its expiry; refreshes
//!   are retried meanwhile, and when it lapses it starts over.
//! - 423 is retried at once with the Min-Expires asked for; 401 and 407
//!   are retried at once for the owner to add credentials (three in a row
//!   stop it, so wrong credentials cannot loop).
//! - Initial SUBSCRIBEs that fail for a reason that may pass (timeouts,
//!   408, 480, 486, 491, most 5xx) are retried with a back-off that starts
//!   at one second and doubles up to a minute, or after Retry-After when
//!   that is longer; 3xx, 6xx and the client errors no retry can fix (403,
//!   404, 489 ...) stop it, so the owner can fall back.
//! - §4.1.3: a NOTIFY `terminated` with reason deactivated or timeout
//!   starts over at once (after retry-after if given); probation, giveup
//!   and no reason after retry-after or the back-off; rejected, noresource
//!   and invariant stop it.
//! - §4.1.2.3: unsubscribing sends `Expires: 0` in the dialog.
//!
//! Invariants: at most one SUBSCRIBE is outstanding; a response counts only
//! if its Call-ID and CSeq are those of the outstanding request; a new
//! subscription after an ended one always has a fresh Call-ID and From tag;
//! once stopped, it never asks for a SUBSCRIBE again.

mod notify;
mod response;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::time::Duration;

use rsip::headers::UntypedHeader as _;
use rsip::message::HeadersExt as _;
use rsip::{Header, Method, Request, Uri};
use tracing::debug;

use crate::proto::build::Identifiers;
use crate::proto::dialog::{Dialog, DialogError};
use crate::proto::time::earliest;
use crate::proto::{Time, Transport};

pub use notify::{Notification, NotifyOutcome, NotifyState};

/// The back-off after a failure starts here and doubles up to the cap.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(60);
/// Challenges in a row after which the credentials are taken as wrong.
const MAX_CHALLENGES: u32 = 3;

/// Who we are, as a SUBSCRIBE says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalInfo {
    /// Our address of record, for From (`sip:vivian@confab.local`).
    pub aor: String,
    /// Our contact URI, where NOTIFYs come to.
    pub contact: String,
    /// Our address and transport, for Via.
    pub local: SocketAddr,
    pub transport: Transport,
}

/// Why a NOTIFY was refused, or why a subscription ended.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    /// Answered 481: not a NOTIFY of this subscription's dialog.
    #[error("the NOTIFY belongs to no dialog of this subscription")]
    NotOurs,
    /// Answered 489 (RFC 6665 §4.1.3).
    #[error("the NOTIFY is for event {0:?}, not ours")]
    BadEvent(String),
    /// Answered 400: RFC 6665 §4.1.3 makes Subscription-State mandatory.
    #[error("no Subscription-State header, or a malformed one")]
    BadSubscriptionState,
    /// Answered 500 (RFC 3261 §12.2.2).
    #[error("CSeq {cseq} is lower than the last one seen ({remote}): out of order")]
    OutOfOrder { cseq: u32, remote: u32 },
    /// Answered 400.
    #[error("the NOTIFY cannot make the dialog: {0}")]
    Dialog(DialogError),
}

impl SubscriptionError {
    /// The status code of the response to the NOTIFY.
    pub fn status(&self) -> u16 {
        match self {
            SubscriptionError::NotOurs => 481,
            SubscriptionError::BadEvent(_) => 489,
            SubscriptionError::OutOfOrder { .. } => 500,
            SubscriptionError::BadSubscriptionState | SubscriptionError::Dialog(_) => 400,
        }
    }
}

/// What the subscription asks of its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscriptionAction {
    /// Call [`Subscription::build_subscribe`] and send the request now.
    SendSubscribe,
    /// The subscription is over for good and will send nothing more: the
    /// notifier refused it (`code`) or terminated it for good (`code` is
    /// `None` and `reason` the Subscription-State reason). The owner may
    /// fall back (a local buddy list when the server does not know the
    /// contacts package).
    Stopped { code: Option<u16>, reason: String },
}

/// Where the subscription stands, for the owner and for tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscriptionState {
    /// No dialog and nothing in flight: not started, or waiting for
    /// [`Subscription::poll_timeout`] to try again.
    Idle,
    /// The initial SUBSCRIBE is in flight.
    Subscribing,
    /// A dialog exists; the notifier has not authorized us yet.
    Pending,
    /// A dialog exists and the notifier accepted it.
    Active,
    /// An `Expires: 0` SUBSCRIBE is on its way.
    Unsubscribing,
    /// Over for good: refused, terminated, or unsubscribed.
    Terminated { reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// The owner wants the subscription.
    Wanted,
    /// The owner asked to unsubscribe; an `Expires: 0` goes (or will go,
    /// once the dialog exists) out.
    Unsubscribing,
    Stopped {
        reason: String,
    },
}

/// The SUBSCRIBE awaiting its final response.
#[derive(Clone, Debug)]
struct Outstanding {
    request: Request,
    expires: u32,
}

/// One subscription. See the module documentation.
#[derive(Debug)]
pub struct Subscription {
    target: Uri,
    package: String,
    accept: String,
    /// The duration asked for; raised by a 423.
    expires: Duration,
    phase: Phase,
    dialog: Option<Dialog>,
    /// Call-ID and From tag of the current attempt; `None` until the next
    /// SUBSCRIBE is built, after which a new subscription starts.
    call_id: Option<String>,
    from_tag: String,
    /// CSeq of out-of-dialog SUBSCRIBEs (inside the dialog, it counts).
    cseq: u32,
    outstanding: Option<Outstanding>,
    /// The notifier's last word on authorization: `pending` or not.
    pending: bool,
    /// The subscription is valid until then (the last 2xx or NOTIFY).
    expires_at: Option<Time>,
    /// When the next SUBSCRIBE is due (refresh or retry).
    wake_at: Option<Time>,
    backoff: Duration,
    challenges: u32,
}

impl Subscription {
    /// A subscription to `target` (a SIP URI) in `package`, accepting the
    /// body types `accept` (an Accept header value), asking for `expires`.
    /// Nothing is sent until the owner calls [`Self::build_subscribe`].
    pub fn new(
        target: &str,
        package: &str,
        accept: &str,
        expires: Duration,
    ) -> Result<Self, rsip::Error> {
        Ok(Subscription {
            target: Uri::try_from(target)?,
            package: package.to_owned(),
            accept: accept.to_owned(),
            expires,
            phase: Phase::Wanted,
            dialog: None,
            call_id: None,
            from_tag: String::new(),
            cseq: 0,
            outstanding: None,
            pending: false,
            expires_at: None,
            wake_at: None,
            backoff: FIRST_RETRY,
            challenges: 0,
        })
    }

    pub fn target(&self) -> &Uri {
        &self.target
    }

    pub fn package(&self) -> &str {
        &self.package
    }

    pub fn dialog(&self) -> Option<&Dialog> {
        self.dialog.as_ref()
    }

    /// When the subscription lapses unless refreshed.
    pub fn expires_at(&self) -> Option<Time> {
        self.expires_at
    }

    pub fn state(&self) -> SubscriptionState {
        match &self.phase {
            Phase::Stopped { reason } => SubscriptionState::Terminated {
                reason: reason.clone(),
            },
            Phase::Unsubscribing => SubscriptionState::Unsubscribing,
            Phase::Wanted => match (&self.dialog, &self.outstanding) {
                (Some(_), _) if self.pending => SubscriptionState::Pending,
                (Some(_), _) => SubscriptionState::Active,
                (None, Some(_)) => SubscriptionState::Subscribing,
                (None, None) => SubscriptionState::Idle,
            },
        }
    }

    /// The next SUBSCRIBE: an initial one outside any dialog, or a refresh
    /// inside it; `Expires: 0` when unsubscribing. It becomes the
    /// outstanding request whose response the owner reports.
    pub fn build_subscribe(&mut self, local: &LocalInfo, ids: &mut Identifiers) -> Request {
        let expires = match self.phase {
            Phase::Unsubscribing => 0,
            _ => u32::try_from(self.expires.as_secs()).unwrap_or(u32::MAX),
        };
        let via = rsip::headers::Via::new(format!(
            "SIP/2.0/{} {}:{};branch={};rport",
            local.transport,
            local.local.ip(),
            local.local.port(),
            ids.branch()
        ));
        let contact = rsip::headers::Contact::new(format!("<{}>", local.contact));
        let mut request = match &mut self.dialog {
            Some(dialog) => dialog.build_request(Method::Subscribe, via, Some(contact)),
            None => self.initial_request(local, ids, via, contact),
        };
        request
            .headers
            .push(Header::Event(rsip::headers::Event::new(
                self.package.clone(),
            )));
        request
            .headers
            .push(Header::Accept(rsip::headers::Accept::new(
                self.accept.clone(),
            )));
        request.headers.push(Header::Expires(expires.into()));
        self.outstanding = Some(Outstanding {
            request: request.clone(),
            expires,
        });
        self.wake_at = None;
        request
    }

    /// Ends the subscription (RFC 6665 §4.1.2.3): the `Expires: 0`
    /// SUBSCRIBE to send now, if there is a dialog to send it in and no
    /// SUBSCRIBE in flight. With one in flight it goes once that is
    /// answered ([`SubscriptionAction::SendSubscribe`]); with neither, the
    /// subscription just stops.
    pub fn unsubscribe(&mut self, local: &LocalInfo, ids: &mut Identifiers) -> Option<Request> {
        if self.phase != Phase::Wanted {
            return None;
        }
        self.phase = Phase::Unsubscribing;
        self.wake_at = None;
        if self.outstanding.is_some() {
            return None;
        }
        if self.dialog.is_some() {
            return Some(self.build_subscribe(local, ids));
        }
        self.stop("unsubscribed");
        None
    }

    /// True if `request` is a NOTIFY of this subscription: its Call-ID, its
    /// To tag (our From tag) and, once the dialog exists, its From tag
    /// (the notifier's tag). Before the dialog, any From tag matches while
    /// the initial SUBSCRIBE is in flight (RFC 6665 §4.1.2.4).
    pub fn matches_notify(&self, request: &Request) -> bool {
        if request.method != Method::Notify {
            return false;
        }
        let Some(call_id) = &self.call_id else {
            return false;
        };
        let same_call = request
            .call_id_header()
            .is_ok_and(|header| header.value() == call_id);
        let to_tag = request
            .to_header()
            .ok()
            .and_then(crate::proto::message::tag);
        if !same_call || to_tag.as_deref() != Some(self.from_tag.as_str()) {
            return false;
        }
        match &self.dialog {
            Some(dialog) => {
                let from_tag = request
                    .from_header()
                    .ok()
                    .and_then(crate::proto::message::tag)
                    .unwrap_or_default();
                from_tag == dialog.id().remote_tag
            }
            None => self.outstanding.is_some(),
        }
    }

    /// Asks for a refresh now, as RFC 4575 §4.6 has a subscriber do when
    /// it missed a document; `None` while a SUBSCRIBE is in flight (its
    /// answer brings a NOTIFY anyway) or once unsubscribing or stopped.
    pub fn refresh_now(&mut self) -> Option<SubscriptionAction> {
        if self.phase != Phase::Wanted || self.outstanding.is_some() {
            return None;
        }
        self.wake_at = None;
        Some(SubscriptionAction::SendSubscribe)
    }

    /// Fires the refresh or retry that is due, and starts over when the
    /// subscription lapsed while its refreshes failed.
    pub fn handle_timeout(&mut self, now: Time) -> Option<SubscriptionAction> {
        if self.phase != Phase::Wanted || self.outstanding.is_some() {
            return None;
        }
        let lapsed = self.dialog.is_some() && self.expires_at.is_some_and(|at| now >= at);
        if lapsed {
            debug!(target = %self.target, "subscription lapsed; subscribing again");
            self.start_over();
            return Some(SubscriptionAction::SendSubscribe);
        }
        if self.wake_at.is_some_and(|at| now >= at) {
            self.wake_at = None;
            return Some(SubscriptionAction::SendSubscribe);
        }
        None
    }

    /// When [`Self::handle_timeout`] is next due; `None` while a SUBSCRIBE
    /// is in flight (its response or timeout comes first) or once stopped.
    pub fn poll_timeout(&self) -> Option<Time> {
        if self.phase != Phase::Wanted || self.outstanding.is_some() {
            return None;
        }
        let lapse = self.dialog.as_ref().and(self.expires_at);
        earliest(self.wake_at, lapse)
    }

    fn initial_request(
        &mut self,
        local: &LocalInfo,
        ids: &mut Identifiers,
        via: rsip::headers::Via,
        contact: rsip::headers::Contact,
    ) -> Request {
        let call_id = match &self.call_id {
            Some(call_id) => call_id.clone(),
            None => {
                // A new subscription: fresh Call-ID and From tag (RFC 6665
                // §4.1.2.2), CSeq from 1.
                let call_id = ids.call_id(&local.local.ip().to_string());
                self.call_id = Some(call_id.clone());
                self.from_tag = ids.tag();
                self.cseq = 0;
                call_id
            }
        };
        self.cseq += 1;
        let headers = vec![
            Header::Via(via),
            Header::MaxForwards(70.into()),
            Header::From(rsip::headers::From::new(format!(
                "<{}>;tag={}",
                local.aor, self.from_tag
            ))),
            Header::To(rsip::headers::To::new(format!("<{}>", self.target))),
            Header::CallId(rsip::headers::CallId::new(call_id)),
            Header::CSeq(rsip::headers::CSeq::new(format!("{} SUBSCRIBE", self.cseq))),
            Header::Contact(contact),
            Header::ContentLength(0.into()),
        ];
        Request {
            method: Method::Subscribe,
            uri: self.target.clone(),
            version: rsip::Version::V2,
            headers: headers.into(),
            body: Vec::new(),
        }
    }

    fn schedule_refresh(&mut self, now: Time, duration: Duration) {
        self.expires_at = Some(now + duration);
        if self.outstanding.is_none() {
            // RFC 6665 §4.1.2.2: refresh well before expiry; half the
            // duration leaves room for retransmissions and retries.
            self.wake_at = Some(now + duration / 2);
        }
    }

    fn retry_later(&mut self, now: Time, retry_after: Option<Duration>) {
        let wait = retry_after.map_or(self.backoff, |after| after.max(self.backoff));
        self.wake_at = Some(now + wait);
        self.backoff = (self.backoff * 2).min(MAX_RETRY);
    }

    /// Forgets the dialog: the next SUBSCRIBE starts a new subscription.
    fn start_over(&mut self) {
        self.dialog = None;
        self.call_id = None;
        self.expires_at = None;
        self.pending = false;
        self.wake_at = None;
    }

    fn stop(&mut self, reason: &str) {
        self.phase = Phase::Stopped {
            reason: reason.to_owned(),
        };
        self.wake_at = None;
        self.outstanding = None;
    }

    fn stopped(&mut self, code: Option<u16>, reason: &str) -> SubscriptionAction {
        self.stop(reason);
        self.dialog = None;
        SubscriptionAction::Stopped {
            code,
            reason: reason.to_owned(),
        }
    }
}
