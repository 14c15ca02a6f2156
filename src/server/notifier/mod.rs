//! The notifier side of RFC 6665 SIP-specific event notification, for any
//! event package and any body: presence (RFC 3856), confab's roaming buddy
//! list (`vnd.confab.contacts`), conference rosters (RFC 4575).
//!
//! [`Notifier`] answers SUBSCRIBE requests and builds NOTIFY requests; it
//! sends nothing itself. The owning core resolves the resource a SUBSCRIBE
//! names and authorizes the subscriber, hands the request to
//! [`Notifier::handle_subscribe`], sends the response it gets back through
//! its transaction layer, and then, when told to, gives the resource's
//! current state to [`Notifier::notify`]. Every NOTIFY to send comes out of
//! [`Notifier::poll_notify`]; the owner reports each one's final response
//! (or transaction timeout) back with [`Notifier::handle_notify_response`]
//! or [`Notifier::handle_notify_timeout`].
//!
//! What it implements: §4.2.1 (initial SUBSCRIBE, refresh, unsubscribe,
//! fetch; 423 with Min-Expires, 489 with Allow-Events, 481 for an unknown
//! dialog, 500 for an out-of-order CSeq), §4.2.2 (the NOTIFY that follows
//! every accepted SUBSCRIBE; Event with the subscription's `id`;
//! Subscription-State `active;expires=N` or `terminated;reason=R`; a NOTIFY
//! that fails with 481, times out, or fails with an error response without
//! Retry-After removes the subscription), and expiry with a final NOTIFY
//! `terminated;reason=timeout`. Unsubscribing (and fetching, an initial
//! SUBSCRIBE with `Expires: 0`, §4.4.3) ends with the NOTIFY of the current
//! state marked `terminated;reason=timeout`: the subscription has reached
//! its expiry.
//!
//! Not implemented: the `pending` state (the owner authorizes before it
//! accepts), several subscriptions sharing one dialog (RFC 6665 §4.5.2
//! deprecates it: a SUBSCRIBE in a known dialog naming another event or
//! `id` gets 481), and checking Accept against the package's body types,
//! which is the owner's business.
//!
//! NOTIFYs of one subscription are serialized: the next one is built only
//! when the previous one has its final response, and the states queued
//! meanwhile go out in order, none dropped (partial-state packages such as
//! RFC 4575 need every one). Two NOTIFYs in flight at once could arrive out
//! of order over UDP; the subscriber would answer the older one 500, and
//! §4.2.2 would then have us remove the subscription.
//!
//! Invariants: a subscription is in the dialog and resource indexes exactly
//! while it is live (not ending), and in the expiry index until its final
//! NOTIFY is queued; once that NOTIFY is built, or a NOTIFY fails, it is
//! gone entirely and [`NotifierEvent::Terminated`] has been emitted once;
//! every NOTIFY is built only when it is sent, so the CSeq numbers of a
//! dialog go out in increasing order.

mod subscribe;
#[cfg(test)]
mod tests;
mod types;

use std::collections::{BTreeSet, HashMap, VecDeque};

use rsip::headers::UntypedHeader as _;
use rsip::{Header, Method, Request, Response};
use tracing::debug;

use crate::proto::Time;
use crate::proto::address::uri_transport;
use crate::proto::build::Identifiers;
use crate::proto::dialog::{Dialog, DialogId, dialog_id_of_request};

pub use types::{
    EventHeader, EventPackage, NotifierConfig, NotifierError, NotifierEvent, OutgoingNotify,
    SubscribeAction, SubscribeOutcome, SubscriptionId,
};

/// A state waiting for the NOTIFY before it to be answered.
#[derive(Debug)]
struct Queued {
    body: Option<(String, Vec<u8>)>,
    /// `Some(reason)`: this is the final NOTIFY, `terminated;reason=...`.
    terminal: Option<String>,
}

#[derive(Debug)]
struct Subscription {
    resource: String,
    event: EventHeader,
    /// The watcher's address of record, from From.
    subscriber: String,
    dialog: Dialog,
    expires_at: Time,
    /// Set when the subscription is ending: the reason its final NOTIFY
    /// gives. It is then out of every index.
    ending: Option<String>,
    /// The final NOTIFY is queued; nothing may follow it.
    closed: bool,
    /// A NOTIFY of this subscription awaits its final response.
    in_flight: bool,
    queue: VecDeque<Queued>,
}

/// Every subscription of one notifier. See the module documentation.
#[derive(Debug)]
pub struct Notifier {
    config: NotifierConfig,
    ids: Identifiers,
    next_id: u64,
    subscriptions: HashMap<SubscriptionId, Subscription>,
    by_dialog: HashMap<DialogId, SubscriptionId>,
    by_resource: HashMap<(String, String), BTreeSet<SubscriptionId>>,
    /// (expires_at, id) of every live subscription: the earliest first.
    expiries: BTreeSet<(Time, SubscriptionId)>,
    outbox: VecDeque<OutgoingNotify>,
    events: VecDeque<NotifierEvent>,
}

impl Notifier {
    pub fn new(config: NotifierConfig) -> Self {
        Notifier {
            ids: Identifiers::from_seed(config.seed),
            config,
            next_id: 0,
            subscriptions: HashMap::new(),
            by_dialog: HashMap::new(),
            by_resource: HashMap::new(),
            expiries: BTreeSet::new(),
            outbox: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &NotifierConfig {
        &self.config
    }

    /// Answers a SUBSCRIBE (RFC 6665 §4.2.1). `resource` is the canonical
    /// URI of what an initial SUBSCRIBE subscribes to, as the owner
    /// resolved it; a SUBSCRIBE inside a dialog keeps the resource of its
    /// subscription and `resource` is not read. The owner authorizes
    /// initial SUBSCRIBEs before calling this.
    pub fn handle_subscribe(
        &mut self,
        now: Time,
        request: &Request,
        resource: &str,
    ) -> SubscribeOutcome {
        let result = if request.method != Method::Subscribe {
            Err(NotifierError::NotSubscribe)
        } else if dialog_id_of_request(request, true).is_some() {
            self.refresh(now, request)
        } else {
            self.create(now, request, resource)
        };
        match result {
            Ok(outcome) => outcome,
            Err(error) => {
                debug!(%error, "SUBSCRIBE refused");
                let response = self.refusal(request, &error);
                SubscribeOutcome {
                    response,
                    action: SubscribeAction::Refused(error),
                }
            }
        }
    }

    /// Queues a NOTIFY with the current state of the subscription's
    /// resource: `body` is (Content-Type, bytes), or `None` for a NOTIFY
    /// without body. False if the subscription is gone or already closed.
    pub fn notify(&mut self, now: Time, id: SubscriptionId, body: Option<(&str, Vec<u8>)>) -> bool {
        let Some(subscription) = self.subscriptions.get_mut(&id) else {
            return false;
        };
        if subscription.closed {
            return false;
        }
        let terminal = subscription.ending.clone();
        if terminal.is_some() {
            // The NOTIFY that answers an unsubscribe or a fetch.
            subscription.closed = true;
            self.expiries.remove(&(subscription.expires_at, id));
        }
        subscription.queue.push_back(Queued {
            body: body.map(|(content_type, bytes)| (content_type.to_owned(), bytes)),
            terminal,
        });
        self.pump(now, id);
        true
    }

    /// Ends a subscription from our side (RFC 6665 §4.2.2): the final
    /// NOTIFY says `terminated;reason=<reason>` (`noresource` when the
    /// resource is gone, `rejected` when authorization is withdrawn,
    /// `deactivated` to make the subscriber come back at once). False if
    /// the subscription is gone or already ending.
    pub fn terminate(&mut self, now: Time, id: SubscriptionId, reason: &str) -> bool {
        let live = self
            .subscriptions
            .get(&id)
            .is_some_and(|subscription| subscription.ending.is_none());
        if !live {
            return false;
        }
        self.close(now, id, reason);
        true
    }

    /// The live subscriptions to `package` of `resource`, oldest first:
    /// whom to notify when its state changes.
    pub fn subscriptions_of(&self, resource: &str, package: &str) -> Vec<SubscriptionId> {
        self.by_resource
            .get(&(resource.to_owned(), package.to_owned()))
            .map(|ids| ids.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The watcher's address of record (the From URI of its SUBSCRIBE,
    /// without parameters), for the owner's authorization decisions.
    pub fn subscriber_of(&self, id: SubscriptionId) -> Option<&str> {
        self.subscriptions
            .get(&id)
            .map(|subscription| subscription.subscriber.as_str())
    }

    /// The resource and package of a subscription.
    pub fn resource_of(&self, id: SubscriptionId) -> Option<(&str, &str)> {
        self.subscriptions.get(&id).map(|subscription| {
            (
                subscription.resource.as_str(),
                subscription.event.package.as_str(),
            )
        })
    }

    /// How many subscriptions exist, ending ones included.
    pub fn len(&self) -> usize {
        self.subscriptions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.subscriptions.is_empty()
    }

    /// The final response to a NOTIFY of `id`. RFC 6665 §4.2.2: 481, and any
    /// other failure without Retry-After (401 and 407 excepted: they call
    /// for credentials, not for giving up), remove the subscription; the
    /// subscriber's next refresh then gets 481 and starts over. Returns
    /// true if the subscription was removed.
    pub fn handle_notify_response(
        &mut self,
        now: Time,
        id: SubscriptionId,
        response: &Response,
    ) -> bool {
        let code = response.status_code.code();
        if code < 200 {
            return false;
        }
        let Some(subscription) = self.subscriptions.get_mut(&id) else {
            return false;
        };
        subscription.in_flight = false;
        let retry_after = response
            .headers
            .iter()
            .any(|header| matches!(header, Header::RetryAfter(_)));
        let failed = code >= 300 && (code == 481 || !(retry_after || matches!(code, 401 | 407)));
        if failed {
            self.remove(id, format!("notify failed: {code}"));
            return true;
        }
        self.pump(now, id);
        false
    }

    /// A NOTIFY of `id` got no final response (RFC 3261 Timer F). RFC 6665
    /// §4.2.2: the subscription is removed. Returns true if it existed.
    pub fn handle_notify_timeout(&mut self, id: SubscriptionId) -> bool {
        if !self.subscriptions.contains_key(&id) {
            return false;
        }
        self.remove(id, "notify failed: timeout".to_owned());
        true
    }

    /// Ends every subscription whose expiry is at or before `now` with a
    /// final NOTIFY `terminated;reason=timeout` (RFC 6665 §4.2.2). A
    /// subscription lives while `now < expires_at`.
    pub fn handle_timeout(&mut self, now: Time) {
        while let Some(&(at, id)) = self.expiries.first() {
            if at > now {
                break;
            }
            self.expiries.remove(&(at, id));
            let reason = self
                .subscriptions
                .get(&id)
                .and_then(|subscription| subscription.ending.clone())
                .unwrap_or_else(|| "timeout".to_owned());
            self.close(now, id, &reason);
        }
    }

    /// When the earliest subscription expires; cheap.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.expiries.first().map(|&(at, _)| at)
    }

    /// The next NOTIFY to send, in the order they were built.
    pub fn poll_notify(&mut self) -> Option<OutgoingNotify> {
        self.outbox.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<NotifierEvent> {
        self.events.pop_front()
    }

    /// Starts the end of a live subscription: out of the indexes, final
    /// NOTIFY queued with `reason` and no body.
    fn close(&mut self, now: Time, id: SubscriptionId, reason: &str) {
        let Some(subscription) = self.subscriptions.get_mut(&id) else {
            return;
        };
        if subscription.closed {
            return;
        }
        subscription.ending = Some(reason.to_owned());
        subscription.closed = true;
        subscription.queue.push_back(Queued {
            body: None,
            terminal: Some(reason.to_owned()),
        });
        let expiry = (subscription.expires_at, id);
        let dialog_id = subscription.dialog.id().clone();
        let key = (
            subscription.resource.clone(),
            subscription.event.package.clone(),
        );
        self.expiries.remove(&expiry);
        self.unindex(id, &dialog_id, &key);
        self.pump(now, id);
    }

    fn unindex(&mut self, id: SubscriptionId, dialog_id: &DialogId, key: &(String, String)) {
        if self.by_dialog.get(dialog_id) == Some(&id) {
            self.by_dialog.remove(dialog_id);
        }
        if let Some(ids) = self.by_resource.get_mut(key) {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_resource.remove(key);
            }
        }
    }

    /// Drops a subscription without a final NOTIFY (the subscriber cannot
    /// be reached, or does not know it).
    fn remove(&mut self, id: SubscriptionId, reason: String) {
        let Some(subscription) = self.subscriptions.remove(&id) else {
            return;
        };
        let key = (
            subscription.resource.clone(),
            subscription.event.package.clone(),
        );
        self.expiries.remove(&(subscription.expires_at, id));
        self.unindex(id, subscription.dialog.id(), &key);
        self.events.push_back(NotifierEvent::Terminated {
            id,
            resource: subscription.resource,
            package: subscription.event.package,
            reason,
        });
    }

    /// Builds the next queued NOTIFY of `id` unless one is in flight. The
    /// final NOTIFY removes the subscription as it goes out: its response
    /// changes nothing.
    fn pump(&mut self, now: Time, id: SubscriptionId) {
        let Some(subscription) = self.subscriptions.get_mut(&id) else {
            return;
        };
        if subscription.in_flight {
            return;
        }
        let Some(queued) = subscription.queue.pop_front() else {
            return;
        };
        let next_hop = subscription.dialog.next_hop();
        let via = rsip::headers::Via::new(format!(
            "SIP/2.0/{} {}:{};branch={};rport",
            uri_transport(&next_hop),
            self.config.local.ip(),
            self.config.local.port(),
            self.ids.branch(),
        ));
        let contact = rsip::headers::Contact::new(format!("<{}>", self.config.contact));
        let mut request = subscription
            .dialog
            .build_request(Method::Notify, via, Some(contact));
        request.headers.push(subscription.event.header());
        let state = match &queued.terminal {
            Some(reason) => format!("terminated;reason={reason}"),
            None => {
                let left = subscription.expires_at - now;
                // Whole seconds left, at least 1 while it lives: 0 would
                // read as an expired subscription.
                let seconds = u32::try_from(left.as_secs()).unwrap_or(u32::MAX).max(1);
                format!("active;expires={seconds}")
            }
        };
        request.headers.push(Header::SubscriptionState(
            rsip::headers::SubscriptionState::new(state),
        ));
        if let Some((content_type, bytes)) = queued.body {
            request
                .headers
                .retain(|header| !matches!(header, Header::ContentLength(_)));
            request
                .headers
                .push(Header::ContentType(rsip::headers::ContentType::new(
                    content_type,
                )));
            request.headers.push(Header::ContentLength(
                u32::try_from(bytes.len()).unwrap_or(u32::MAX).into(),
            ));
            request.body = bytes;
        }
        subscription.in_flight = true;
        self.outbox.push_back(OutgoingNotify {
            id,
            request,
            next_hop,
        });
        if let Some(reason) = queued.terminal {
            self.remove(id, reason);
        }
    }
}
