//! The notifier against a real subscriber, in memory and virtual time:
//! every message is printed and parsed again on its way, as the network
//! would carry it.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use rsip::SipMessage;
use rsip::message::HeadersExt as _;

use super::*;
use crate::client::subscription::{
    LocalInfo, NotifyOutcome, NotifyState, Subscription, SubscriptionAction, SubscriptionState,
};
use crate::proto::Transport;
use crate::proto::build::{self, status};
use crate::proto::message;

const RESOURCE: &str = "sip:amy@confab.local";
const PIDF: &str = "application/pidf+xml";

fn at(seconds: u64) -> Time {
    Time::ZERO + Duration::from_secs(seconds)
}

fn wire_request(request: Request) -> Request {
    match message::parse(&message::to_bytes_request(&request)).unwrap() {
        SipMessage::Request(request) => request,
        SipMessage::Response(_) => panic!("a request became a response"),
    }
}

fn wire_response(response: Response) -> Response {
    match message::parse(&message::to_bytes_response(&response)).unwrap() {
        SipMessage::Response(response) => response,
        SipMessage::Request(_) => panic!("a response became a request"),
    }
}

fn header(message: &impl rsip::message::HeadersExt, name: &str) -> Option<String> {
    message.headers().iter().find_map(|header| {
        let text = header.to_string();
        let (field, value) = text.split_once(':')?;
        field
            .trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

fn notifier(seed: u64) -> Notifier {
    let local: SocketAddr = "192.0.2.5:5060".parse().unwrap();
    Notifier::new(
        NotifierConfig::new("sip:192.0.2.5:5060", local, seed)
            .with_package("presence", 3600)
            .with_package("vnd.confab.contacts", 3600),
    )
}

/// Vivian's client subscribing to Amy's presence, and the notifier.
struct Pair {
    notifier: Notifier,
    subscription: Subscription,
    ids: Identifiers,
    local: LocalInfo,
}

impl Pair {
    fn new(package: &str, expires: u64) -> Pair {
        Pair {
            notifier: notifier(1),
            subscription: Subscription::new(RESOURCE, package, PIDF, Duration::from_secs(expires))
                .unwrap(),
            ids: Identifiers::from_seed(9),
            local: LocalInfo {
                aor: "sip:vivian@confab.local".into(),
                contact: "sip:vivian@192.0.2.10:5062".into(),
                local: "192.0.2.10:5062".parse().unwrap(),
                transport: Transport::Udp,
            },
        }
    }

    fn build(&mut self) -> Request {
        wire_request(
            self.subscription
                .build_subscribe(&self.local, &mut self.ids),
        )
    }

    /// The subscriber's next SUBSCRIBE, answered by the notifier; the
    /// response is not yet delivered.
    fn subscribe(&mut self, now: Time) -> SubscribeOutcome {
        let request = self.build();
        self.notifier.handle_subscribe(now, &request, RESOURCE)
    }

    fn answer(&mut self, now: Time, outcome: &SubscribeOutcome) -> Option<SubscriptionAction> {
        let response = wire_response(outcome.response.clone());
        self.subscription.handle_response(now, &response)
    }

    /// SUBSCRIBE, 2xx delivered, then the NOTIFY of `body` delivered.
    fn establish(&mut self, now: Time, body: &str) -> SubscriptionId {
        let outcome = self.subscribe(now);
        assert_eq!(self.answer(now, &outcome), None);
        let id = outcome.action.subscription().unwrap();
        assert!(self.notifier.notify(now, id, Some((PIDF, body.into()))));
        let delivered = self.deliver(now);
        assert_eq!(delivered.len(), 1);
        id
    }

    /// Every queued NOTIFY to the subscriber, and its response back.
    fn deliver(&mut self, now: Time) -> Vec<NotifyOutcome> {
        let mut outcomes = Vec::new();
        while let Some(notify) = self.notifier.poll_notify() {
            let request = wire_request(notify.request);
            let outcome = self.subscription.handle_notify(now, &request);
            let response = wire_response(outcome.response.clone());
            self.notifier
                .handle_notify_response(now, notify.id, &response);
            outcomes.push(outcome);
        }
        outcomes
    }
}

#[test]
fn subscribe_notify_refresh_and_unsubscribe() {
    let mut pair = Pair::new("presence", 600);
    let outcome = pair.subscribe(at(0));
    let SubscribeAction::Created(id) = outcome.action else {
        panic!("{:?}", outcome.action)
    };
    let response = &outcome.response;
    assert_eq!(response.status_code.code(), 200);
    assert!(message::tag(response.to_header().unwrap()).is_some());
    assert_eq!(header(response, "Expires").as_deref(), Some("600"));
    assert_eq!(
        header(response, "Contact").as_deref(),
        Some("<sip:192.0.2.5:5060>")
    );
    assert_eq!(
        pair.notifier.subscriber_of(id),
        Some("sip:vivian@confab.local")
    );
    assert_eq!(
        pair.notifier.subscriptions_of(RESOURCE, "presence"),
        vec![id]
    );
    assert!(
        pair.notifier
            .subscriptions_of(RESOURCE, "vnd.confab.contacts")
            .is_empty()
    );
    assert_eq!(pair.answer(at(0), &outcome), None);
    assert_eq!(pair.subscription.state(), SubscriptionState::Active);

    // The initial NOTIFY, a second after the SUBSCRIBE.
    pair.notifier
        .notify(at(1), id, Some((PIDF, b"<open/>".to_vec())));
    let notify = pair.notifier.poll_notify().unwrap();
    assert_eq!(notify.id, id);
    assert_eq!(notify.next_hop.to_string(), "sip:vivian@192.0.2.10:5062");
    let request = wire_request(notify.request);
    assert_eq!(request.method, Method::Notify);
    assert_eq!(request.uri.to_string(), "sip:vivian@192.0.2.10:5062");
    assert_eq!(header(&request, "Event").as_deref(), Some("presence"));
    assert_eq!(
        header(&request, "Subscription-State").as_deref(),
        Some("active;expires=599")
    );
    assert_eq!(header(&request, "Content-Type").as_deref(), Some(PIDF));
    assert_eq!(header(&request, "CSeq").as_deref(), Some("1 NOTIFY"));
    let via = header(&request, "Via").unwrap();
    assert!(
        via.starts_with("SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bK"),
        "{via}"
    );
    let received = pair.subscription.handle_notify(at(1), &request);
    assert_eq!(received.response.status_code.code(), 200);
    let notification = received.notification.unwrap();
    assert_eq!(notification.body, b"<open/>");
    assert_eq!(notification.content_type.as_deref(), Some(PIDF));
    assert_eq!(
        notification.state,
        NotifyState::Active {
            expires: Some(Duration::from_secs(599))
        }
    );
    assert!(
        !pair
            .notifier
            .handle_notify_response(at(1), id, &received.response)
    );

    // Refresh at half the last known duration, in the dialog.
    assert_eq!(
        pair.subscription.poll_timeout(),
        Some(at(1) + Duration::from_millis(299_500))
    );
    assert_eq!(pair.subscription.handle_timeout(at(300)), None);
    assert_eq!(
        pair.subscription.handle_timeout(at(301)),
        Some(SubscriptionAction::SendSubscribe)
    );
    let refresh = pair.subscribe(at(301));
    assert_eq!(refresh.action, SubscribeAction::Refreshed(id));
    assert_eq!(pair.answer(at(301), &refresh), None);
    pair.notifier
        .notify(at(301), id, Some((PIDF, b"<closed/>".to_vec())));
    let refreshed = pair.deliver(at(301));
    assert_eq!(
        refreshed[0].notification.as_ref().unwrap().body,
        b"<closed/>"
    );
    assert_eq!(pair.notifier.poll_timeout(), Some(at(901)));

    // Unsubscribe: 200, then the final NOTIFY with the current state.
    let unsubscribe = pair
        .subscription
        .unsubscribe(&pair.local, &mut pair.ids)
        .unwrap();
    assert_eq!(header(&unsubscribe, "Expires").as_deref(), Some("0"));
    let outcome = pair
        .notifier
        .handle_subscribe(at(400), &wire_request(unsubscribe), RESOURCE);
    assert_eq!(outcome.action, SubscribeAction::Ending(id));
    assert_eq!(header(&outcome.response, "Expires").as_deref(), Some("0"));
    assert!(
        pair.notifier
            .subscriptions_of(RESOURCE, "presence")
            .is_empty()
    );
    assert_eq!(pair.answer(at(400), &outcome), None);
    assert!(
        pair.notifier
            .notify(at(400), id, Some((PIDF, b"<closed/>".to_vec())))
    );
    let last = pair.deliver(at(400));
    let last = last[0].notification.as_ref().unwrap();
    assert_eq!(
        last.state,
        NotifyState::Terminated {
            reason: Some("timeout".into()),
            retry_after: None
        }
    );
    assert_eq!(
        pair.subscription.state(),
        SubscriptionState::Terminated {
            reason: "unsubscribed".into()
        }
    );
    assert!(pair.notifier.is_empty());
    assert_eq!(pair.notifier.poll_timeout(), None);
    assert!(matches!(
        pair.notifier.poll_event(),
        Some(NotifierEvent::Terminated { id: gone, .. }) if gone == id
    ));
    assert_eq!(pair.subscription.poll_timeout(), None);
}

#[test]
fn expiry_sends_a_final_notify_and_the_subscriber_comes_back() {
    let mut pair = Pair::new("presence", 600);
    let id = pair.establish(at(0), "<open/>");
    let first_call_id = pair.subscription.dialog().unwrap().id().call_id.clone();
    assert_eq!(pair.notifier.poll_timeout(), Some(at(600)));
    pair.notifier.handle_timeout(at(599));
    assert!(pair.notifier.poll_notify().is_none());

    pair.notifier.handle_timeout(at(600));
    let notify = pair.notifier.poll_notify().unwrap();
    assert_eq!(
        header(&notify.request, "Subscription-State").as_deref(),
        Some("terminated;reason=timeout")
    );
    assert!(notify.request.body.is_empty());
    assert!(!pair.notifier.notify(at(600), id, None), "gone");
    let outcome = pair
        .subscription
        .handle_notify(at(600), &wire_request(notify.request));
    assert_eq!(outcome.response.status_code.code(), 200);
    // RFC 6665 §4.1.3: after `timeout` the subscriber may come back at once,
    // as a new subscription.
    assert_eq!(outcome.action, Some(SubscriptionAction::SendSubscribe));
    let again = pair.subscribe(at(600));
    assert!(matches!(again.action, SubscribeAction::Created(new) if new != id));
    assert_ne!(header(&again.response, "Call-ID").unwrap(), first_call_id);
}

#[test]
fn a_failed_notify_removes_the_subscription() {
    let mut pair = Pair::new("presence", 600);
    let id = pair.establish(at(0), "<open/>");

    // A 2xx and a failure with Retry-After keep it.
    pair.notifier.notify(at(5), id, None);
    let notify = pair.notifier.poll_notify().unwrap();
    let mut busy = build::response_to(&notify.request, status(503), None);
    busy.headers
        .push(Header::RetryAfter(rsip::headers::RetryAfter::new("30")));
    assert!(!pair.notifier.handle_notify_response(at(5), id, &busy));
    assert_eq!(
        pair.notifier.subscriptions_of(RESOURCE, "presence"),
        vec![id]
    );

    // The subscriber forgot it (RFC 6665 §4.2.2).
    pair.notifier.notify(at(6), id, None);
    let notify = pair.notifier.poll_notify().unwrap();
    let stranger = Subscription::new(RESOURCE, "presence", PIDF, Duration::from_secs(600)).unwrap();
    let request = wire_request(notify.request);
    assert!(!stranger.matches_notify(&request));
    // 481 removes it even with Retry-After: the subscriber does not know it.
    let mut forgotten = build::response_to(&request, status(481), None);
    forgotten
        .headers
        .push(Header::RetryAfter(rsip::headers::RetryAfter::new("30")));
    assert!(pair.notifier.handle_notify_response(at(6), id, &forgotten));
    assert!(
        pair.notifier
            .subscriptions_of(RESOURCE, "presence")
            .is_empty()
    );
    assert!(pair.notifier.is_empty());
    assert_eq!(pair.notifier.poll_timeout(), None);
    assert_eq!(
        pair.notifier.poll_event(),
        Some(NotifierEvent::Terminated {
            id,
            resource: RESOURCE.into(),
            package: "presence".into(),
            reason: "notify failed: 481".into(),
        })
    );
}

#[test]
fn a_notify_that_times_out_removes_the_subscription() {
    let mut pair = Pair::new("presence", 600);
    let id = pair.establish(at(0), "<open/>");
    pair.notifier.notify(at(5), id, None);
    assert!(pair.notifier.poll_notify().is_some());
    assert!(pair.notifier.handle_notify_timeout(id));
    assert!(pair.notifier.is_empty());
    assert!(!pair.notifier.handle_notify_timeout(id));
}

#[test]
fn notifies_of_one_subscription_go_one_at_a_time_in_order() {
    let mut pair = Pair::new("presence", 600);
    let id = pair.establish(at(0), "<open/>");
    pair.notifier
        .notify(at(10), id, Some((PIDF, b"one".to_vec())));
    pair.notifier
        .notify(at(10), id, Some((PIDF, b"two".to_vec())));
    pair.notifier
        .notify(at(10), id, Some((PIDF, b"three".to_vec())));
    let first = pair.notifier.poll_notify().unwrap();
    assert!(
        pair.notifier.poll_notify().is_none(),
        "one in flight at a time"
    );
    let ok = build::response_to(&first.request, status(200), None);
    pair.notifier.handle_notify_response(at(10), id, &ok);
    let bodies: Vec<Vec<u8>> = pair
        .deliver(at(10))
        .into_iter()
        .map(|outcome| outcome.notification.unwrap().body)
        .collect();
    assert_eq!(bodies, vec![b"two".to_vec(), b"three".to_vec()]);
    assert_eq!(header(&first.request, "CSeq").as_deref(), Some("2 NOTIFY"));
}

#[test]
fn an_unknown_package_gets_489_and_the_subscriber_stops() {
    let mut pair = Pair::new("dialog", 600);
    let outcome = pair.subscribe(at(0));
    assert_eq!(outcome.response.status_code.code(), 489);
    assert_eq!(
        header(&outcome.response, "Allow-Events").as_deref(),
        Some("presence, vnd.confab.contacts")
    );
    assert_eq!(
        outcome.action,
        SubscribeAction::Refused(NotifierError::BadEvent("dialog".into()))
    );
    assert!(matches!(
        pair.answer(at(0), &outcome),
        Some(SubscriptionAction::Stopped {
            code: Some(489),
            ..
        })
    ));
    assert_eq!(pair.subscription.poll_timeout(), None);
    assert!(pair.notifier.is_empty());

    let mut request = pair.build();
    request
        .headers
        .retain(|header| !matches!(header, Header::Event(_)));
    let outcome = pair.notifier.handle_subscribe(at(0), &request, RESOURCE);
    assert_eq!(
        outcome.action,
        SubscribeAction::Refused(NotifierError::MissingEvent)
    );
}

#[test]
fn too_brief_gets_423_and_the_subscriber_asks_for_min_expires() {
    let mut pair = Pair::new("presence", 30);
    let outcome = pair.subscribe(at(0));
    assert_eq!(outcome.response.status_code.code(), 423);
    assert_eq!(
        header(&outcome.response, "Min-Expires").as_deref(),
        Some("60")
    );
    assert_eq!(
        pair.answer(at(0), &outcome),
        Some(SubscriptionAction::SendSubscribe)
    );
    let retry = pair.subscribe(at(0));
    assert!(matches!(retry.action, SubscribeAction::Created(_)));
    assert_eq!(header(&retry.response, "Expires").as_deref(), Some("60"));
    assert_eq!(
        header(&retry.response, "CSeq").as_deref(),
        Some("2 SUBSCRIBE")
    );
}

#[test]
fn long_requests_are_shortened_and_fetches_end_at_once() {
    let mut pair = Pair::new("presence", 86_400);
    let outcome = pair.subscribe(at(0));
    assert_eq!(
        header(&outcome.response, "Expires").as_deref(),
        Some("3600")
    );

    // RFC 6665 §4.4.3: an initial SUBSCRIBE with Expires: 0 is a fetch.
    let mut fetch = Pair::new("presence", 600);
    let mut request = fetch.build();
    request
        .headers
        .retain(|header| !matches!(header, Header::Expires(_)));
    request.headers.push(Header::Expires(0.into()));
    let outcome = fetch.notifier.handle_subscribe(at(0), &request, RESOURCE);
    let SubscribeAction::Ending(id) = outcome.action else {
        panic!("{:?}", outcome.action)
    };
    assert!(
        fetch
            .notifier
            .subscriptions_of(RESOURCE, "presence")
            .is_empty()
    );
    fetch
        .notifier
        .notify(at(0), id, Some((PIDF, b"<open/>".to_vec())));
    let notify = fetch.notifier.poll_notify().unwrap();
    assert_eq!(
        header(&notify.request, "Subscription-State").as_deref(),
        Some("terminated;reason=timeout")
    );
    assert_eq!(notify.request.body, b"<open/>");
    assert!(fetch.notifier.is_empty());
}

#[test]
fn a_notify_before_the_2xx_makes_the_dialog() {
    let mut pair = Pair::new("presence", 600);
    let outcome = pair.subscribe(at(0));
    let id = outcome.action.subscription().unwrap();
    pair.notifier
        .notify(at(0), id, Some((PIDF, b"<open/>".to_vec())));
    // RFC 6665 §4.1.2.4: the NOTIFY overtakes the 200.
    let early = pair.deliver(at(0));
    assert_eq!(early[0].response.status_code.code(), 200);
    assert!(early[0].notification.is_ok());
    assert_eq!(pair.subscription.state(), SubscriptionState::Active);
    assert_eq!(
        pair.subscription.poll_timeout(),
        None,
        "the 2xx is still due"
    );
    assert_eq!(pair.answer(at(0), &outcome), None);
    assert_eq!(pair.subscription.poll_timeout(), Some(at(300)));

    // The dialog is whole: a refresh reaches the subscription.
    pair.subscription.handle_timeout(at(300));
    let refresh = pair.subscribe(at(300));
    assert_eq!(refresh.action, SubscribeAction::Refreshed(id));
    assert_eq!(
        header(&refresh.response, "CSeq").as_deref(),
        Some("2 SUBSCRIBE")
    );
}

#[test]
fn after_a_notifier_restart_the_refresh_gets_481_and_the_subscriber_starts_over() {
    let mut pair = Pair::new("presence", 600);
    pair.establish(at(0), "<open/>");
    let old_call_id = pair.subscription.dialog().unwrap().id().call_id.clone();
    pair.notifier = notifier(2);

    pair.subscription.handle_timeout(at(300));
    let refresh = pair.subscribe(at(300));
    assert_eq!(refresh.response.status_code.code(), 481);
    assert_eq!(
        refresh.action,
        SubscribeAction::Refused(NotifierError::NoSuchSubscription)
    );
    assert_eq!(
        pair.answer(at(300), &refresh),
        Some(SubscriptionAction::SendSubscribe)
    );
    let request = pair.build();
    assert_eq!(message::tag(request.to_header().unwrap()), None);
    assert_ne!(header(&request, "Call-ID").unwrap(), old_call_id);
    let outcome = pair.notifier.handle_subscribe(at(300), &request, RESOURCE);
    assert!(matches!(outcome.action, SubscribeAction::Created(_)));
}

#[test]
fn an_out_of_order_refresh_gets_500() {
    let mut pair = Pair::new("presence", 600);
    let id = pair.establish(at(0), "<open/>");
    let older = pair.build();
    let newer = pair.build();
    let outcome = pair.notifier.handle_subscribe(at(10), &newer, RESOURCE);
    assert_eq!(outcome.action, SubscribeAction::Refreshed(id));
    let outcome = pair.notifier.handle_subscribe(at(10), &older, RESOURCE);
    assert_eq!(outcome.response.status_code.code(), 500);
    assert_eq!(
        outcome.action,
        SubscribeAction::Refused(NotifierError::OutOfOrder { cseq: 2, remote: 3 })
    );
}

#[test]
fn terminate_ends_the_subscription_for_good() {
    let mut pair = Pair::new("presence", 600);
    let id = pair.establish(at(0), "<open/>");
    assert!(pair.notifier.terminate(at(20), id, "noresource"));
    assert!(!pair.notifier.terminate(at(20), id, "noresource"));
    let outcomes = pair.deliver(at(20));
    assert_eq!(
        outcomes[0].action,
        Some(SubscriptionAction::Stopped {
            code: None,
            reason: "noresource".into()
        })
    );
    assert!(pair.notifier.is_empty());
    assert_eq!(pair.subscription.poll_timeout(), None);
}

#[test]
fn a_subscribe_in_an_unknown_dialog_gets_481() {
    let mut pair = Pair::new("presence", 600);
    pair.establish(at(0), "<open/>");
    let mut request = pair.build();
    let to = request
        .to_header()
        .unwrap()
        .value()
        .replace("tag=", "tag=x");
    request
        .headers
        .retain(|header| !matches!(header, Header::To(_)));
    request.headers.push(Header::To(rsip::headers::To::new(to)));
    let outcome = pair.notifier.handle_subscribe(at(10), &request, RESOURCE);
    assert_eq!(outcome.response.status_code.code(), 481);
}
