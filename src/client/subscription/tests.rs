//! The subscriber alone, against responses and NOTIFYs written by hand, in
//! virtual time. The exchange with a real notifier is in
//! `server::notifier`'s tests.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use rsip::{Response, SipMessage};

use super::*;
use crate::proto::build::{self, status};
use crate::proto::message;

const RESOURCE: &str = "sip:amy@confab.local";
const PIDF: &str = "application/pidf+xml";
/// The notifier's To tag.
const NOTIFIER_TAG: &str = "n1";

fn at(seconds: u64) -> Time {
    Time::ZERO + Duration::from_secs(seconds)
}

fn local() -> LocalInfo {
    LocalInfo {
        aor: "sip:vivian@confab.local".into(),
        contact: "sip:vivian@192.0.2.10:5062".into(),
        local: "192.0.2.10:5062".parse().unwrap(),
        transport: Transport::Udp,
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

/// A subscription to Amy's presence and the identifiers it draws from.
struct Subscriber {
    subscription: Subscription,
    ids: Identifiers,
}

impl Subscriber {
    fn new() -> Subscriber {
        Subscriber {
            subscription: Subscription::new(RESOURCE, "presence", PIDF, Duration::from_secs(600))
                .unwrap(),
            ids: Identifiers::from_seed(3),
        }
    }

    fn build(&mut self) -> Request {
        self.subscription.build_subscribe(&local(), &mut self.ids)
    }

    fn respond(
        &mut self,
        now: Time,
        request: &Request,
        code: u16,
        extra: &[Header],
    ) -> Option<SubscriptionAction> {
        let response = reply(request, code, extra);
        self.subscription.handle_response(now, &response)
    }

    /// Subscribed at `now`, granted 600 s; returns the SUBSCRIBE.
    fn established(now: Time) -> (Subscriber, Request) {
        let mut subscriber = Subscriber::new();
        let request = subscriber.build();
        let expires = Header::Expires(600.into());
        assert_eq!(subscriber.respond(now, &request, 200, &[expires]), None);
        (subscriber, request)
    }
}

fn reply(request: &Request, code: u16, extra: &[Header]) -> Response {
    let mut response = build::response_to(request, status(code), Some(NOTIFIER_TAG));
    if (200..300).contains(&code) {
        response
            .headers
            .push(Header::Contact(rsip::headers::Contact::new(
                "<sip:192.0.2.5:5060>",
            )));
    }
    for header in extra {
        response.headers.push(header.clone());
    }
    response
}

/// A NOTIFY of Event `event` in the dialog of `subscribe`, from the
/// notifier tag `from_tag`, with more header lines `extra`.
fn notify_of(
    event: &str,
    subscribe: &Request,
    from_tag: &str,
    cseq: u32,
    state: &str,
    extra: &[&str],
) -> Request {
    let call_id = header(subscribe, "Call-ID").unwrap();
    let our_tag = message::tag(subscribe.from_header().unwrap()).unwrap();
    let mut text = format!(
        "NOTIFY sip:vivian@192.0.2.10:5062 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bKn{cseq}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:amy@confab.local>;tag={from_tag}\r\n\
         To: <sip:vivian@confab.local>;tag={our_tag}\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} NOTIFY\r\n\
         Contact: <sip:192.0.2.5:5060>\r\n\
         Event: {event}\r\n\
         Subscription-State: {state}\r\n"
    );
    for line in extra {
        text.push_str(line);
        text.push_str("\r\n");
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    match message::parse(text.as_bytes()).unwrap() {
        SipMessage::Request(request) => request,
        SipMessage::Response(_) => panic!("not a request"),
    }
}

/// A presence NOTIFY; see [`notify_of`].
fn notify(subscribe: &Request, from_tag: &str, cseq: u32, state: &str, extra: &[&str]) -> Request {
    notify_of("presence", subscribe, from_tag, cseq, state, extra)
}

#[test]
fn the_initial_subscribe_has_what_rfc_6665_asks() {
    let mut subscriber = Subscriber::new();
    assert_eq!(subscriber.subscription.state(), SubscriptionState::Idle);
    let request = subscriber.build();
    assert_eq!(request.method, Method::Subscribe);
    assert_eq!(request.uri.to_string(), RESOURCE);
    assert_eq!(header(&request, "Event").as_deref(), Some("presence"));
    assert_eq!(header(&request, "Accept").as_deref(), Some(PIDF));
    assert_eq!(header(&request, "Expires").as_deref(), Some("600"));
    assert_eq!(
        header(&request, "To").as_deref(),
        Some("<sip:amy@confab.local>")
    );
    assert_eq!(header(&request, "CSeq").as_deref(), Some("1 SUBSCRIBE"));
    assert_eq!(
        header(&request, "Contact").as_deref(),
        Some("<sip:vivian@192.0.2.10:5062>")
    );
    assert!(header(&request, "From").unwrap().contains(";tag="));
    assert_eq!(
        subscriber.subscription.state(),
        SubscriptionState::Subscribing
    );
    assert_eq!(subscriber.subscription.poll_timeout(), None);
}

#[test]
fn failures_back_off_from_one_second_doubling_to_a_minute() {
    let mut subscriber = Subscriber::new();
    let mut now = at(0);
    let mut call_ids = Vec::new();
    let mut waits = Vec::new();
    for _ in 0..8 {
        let request = subscriber.build();
        call_ids.push(header(&request, "Call-ID").unwrap());
        assert_eq!(
            subscriber.subscription.handle_transaction_timeout(now),
            None
        );
        let due = subscriber.subscription.poll_timeout().unwrap();
        waits.push((due - now).as_secs());
        assert_eq!(
            subscriber.subscription.handle_timeout(Time::from_epoch(
                due.since_epoch() - Duration::from_millis(1)
            )),
            None
        );
        assert_eq!(
            subscriber.subscription.handle_timeout(due),
            Some(SubscriptionAction::SendSubscribe)
        );
        now = due;
    }
    assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 60, 60]);
    call_ids.dedup();
    assert_eq!(call_ids.len(), 8, "each attempt is a new subscription");

    // A success resets the back-off.
    let request = subscriber.build();
    subscriber.respond(now, &request, 200, &[Header::Expires(600.into())]);
    subscriber
        .subscription
        .handle_timeout(now + Duration::from_secs(300));
    let refresh = subscriber.build();
    let later = now + Duration::from_secs(300);
    subscriber.respond(later, &refresh, 500, &[]);
    assert_eq!(
        subscriber.subscription.poll_timeout(),
        Some(later + Duration::from_secs(1))
    );
}

#[test]
fn retry_after_longer_than_the_back_off_is_honoured() {
    let mut subscriber = Subscriber::new();
    let request = subscriber.build();
    let retry = Header::RetryAfter(rsip::headers::RetryAfter::new("120 (maintenance)"));
    assert_eq!(subscriber.respond(at(0), &request, 503, &[retry]), None);
    assert_eq!(subscriber.subscription.poll_timeout(), Some(at(120)));
}

#[test]
fn refusals_no_retry_can_fix_stop_the_subscription() {
    for code in [403, 404, 489, 603] {
        let mut subscriber = Subscriber::new();
        let request = subscriber.build();
        let action = subscriber.respond(at(0), &request, code, &[]);
        assert!(
            matches!(action, Some(SubscriptionAction::Stopped { code: Some(c), .. }) if c == code),
            "{code}: {action:?}"
        );
        assert!(matches!(
            subscriber.subscription.state(),
            SubscriptionState::Terminated { .. }
        ));
        assert_eq!(subscriber.subscription.poll_timeout(), None);
        assert_eq!(subscriber.subscription.handle_timeout(at(3600)), None);
    }
}

#[test]
fn challenges_are_retried_in_the_same_call_until_three_in_a_row() {
    let mut subscriber = Subscriber::new();
    let first = subscriber.build();
    assert_eq!(
        subscriber.respond(at(0), &first, 407, &[]),
        Some(SubscriptionAction::SendSubscribe)
    );
    let second = subscriber.build();
    assert_eq!(header(&second, "Call-ID"), header(&first, "Call-ID"));
    assert_eq!(header(&second, "CSeq").as_deref(), Some("2 SUBSCRIBE"));
    assert_eq!(
        subscriber.respond(at(0), &second, 407, &[]),
        Some(SubscriptionAction::SendSubscribe)
    );
    let third = subscriber.build();
    assert!(matches!(
        subscriber.respond(at(0), &third, 407, &[]),
        Some(SubscriptionAction::Stopped {
            code: Some(407),
            ..
        })
    ));
}

#[test]
fn a_stale_response_is_ignored() {
    let mut subscriber = Subscriber::new();
    let first = subscriber.build();
    subscriber.subscription.handle_transaction_timeout(at(0));
    subscriber.subscription.handle_timeout(at(1));
    let _second = subscriber.build();
    assert_eq!(subscriber.respond(at(2), &first, 200, &[]), None);
    assert_eq!(
        subscriber.subscription.state(),
        SubscriptionState::Subscribing
    );
}

#[test]
fn a_failing_refresh_keeps_the_subscription_until_it_lapses() {
    let (mut subscriber, _) = Subscriber::established(at(0));
    assert_eq!(subscriber.subscription.poll_timeout(), Some(at(300)));
    subscriber.subscription.handle_timeout(at(300));
    let refresh = subscriber.build();
    assert!(message::tag(refresh.to_header().unwrap()).is_some());
    assert_eq!(subscriber.respond(at(300), &refresh, 500, &[]), None);
    assert_eq!(subscriber.subscription.state(), SubscriptionState::Active);
    assert_eq!(subscriber.subscription.poll_timeout(), Some(at(301)));
    subscriber.subscription.handle_timeout(at(301));
    let again = subscriber.build();
    assert!(
        message::tag(again.to_header().unwrap()).is_some(),
        "still in the dialog"
    );
    assert_eq!(
        subscriber.subscription.handle_transaction_timeout(at(333)),
        None
    );
    assert_eq!(subscriber.subscription.poll_timeout(), Some(at(335)));

    // It lapses at 600 without a successful refresh: start over.
    assert_eq!(
        subscriber.subscription.handle_timeout(at(600)),
        Some(SubscriptionAction::SendSubscribe)
    );
    assert_eq!(subscriber.subscription.state(), SubscriptionState::Idle);
    let fresh = subscriber.build();
    assert_eq!(message::tag(fresh.to_header().unwrap()), None);
}

#[test]
fn a_refresh_refused_for_good_stops_and_a_temporary_one_starts_over_later() {
    let (mut subscriber, _) = Subscriber::established(at(0));
    subscriber.subscription.handle_timeout(at(300));
    let refresh = subscriber.build();
    assert!(matches!(
        subscriber.respond(at(300), &refresh, 404, &[]),
        Some(SubscriptionAction::Stopped {
            code: Some(404),
            ..
        })
    ));

    let (mut subscriber, _) = Subscriber::established(at(0));
    subscriber.subscription.handle_timeout(at(300));
    let refresh = subscriber.build();
    assert_eq!(subscriber.respond(at(300), &refresh, 480, &[]), None);
    assert_eq!(subscriber.subscription.state(), SubscriptionState::Idle);
    assert_eq!(subscriber.subscription.poll_timeout(), Some(at(301)));
    subscriber.subscription.handle_timeout(at(301));
    assert_eq!(message::tag(subscriber.build().to_header().unwrap()), None);
}

#[test]
fn terminated_reasons_decide_whether_and_when_to_come_back() {
    let cases: [(&str, Option<SubscriptionAction>, Option<Time>); 5] = [
        (
            "terminated;reason=rejected",
            Some(SubscriptionAction::Stopped {
                code: None,
                reason: "rejected".into(),
            }),
            None,
        ),
        (
            "terminated;reason=deactivated",
            Some(SubscriptionAction::SendSubscribe),
            None,
        ),
        (
            "terminated;reason=probation;retry-after=30",
            None,
            Some(at(40)),
        ),
        (
            "terminated;reason=timeout;retry-after=5",
            None,
            Some(at(15)),
        ),
        ("terminated", None, Some(at(11))),
    ];
    for (state, action, due) in cases {
        let (mut subscriber, request) = Subscriber::established(at(0));
        let outcome = subscriber
            .subscription
            .handle_notify(at(10), &notify(&request, NOTIFIER_TAG, 1, state, &[]));
        assert_eq!(outcome.response.status_code.code(), 200, "{state}");
        assert_eq!(outcome.action, action, "{state}");
        assert_eq!(subscriber.subscription.poll_timeout(), due, "{state}");
        assert!(subscriber.subscription.dialog().is_none(), "{state}");
    }
}

#[test]
fn notifies_that_are_not_ours_or_malformed_are_refused() {
    let (mut subscriber, request) = Subscriber::established(at(0));
    let fork = notify(&request, "other-fork", 1, "active", &[]);
    assert!(!subscriber.subscription.matches_notify(&fork));
    let outcome = subscriber.subscription.handle_notify(at(1), &fork);
    assert_eq!(outcome.response.status_code.code(), 481);

    let wrong_event = notify_of("dialog", &request, NOTIFIER_TAG, 1, "active", &[]);
    assert!(subscriber.subscription.matches_notify(&wrong_event));
    let outcome = subscriber.subscription.handle_notify(at(1), &wrong_event);
    assert_eq!(outcome.response.status_code.code(), 489);

    let with_id = notify_of("presence;id=7", &request, NOTIFIER_TAG, 1, "active", &[]);
    let outcome = subscriber.subscription.handle_notify(at(1), &with_id);
    assert_eq!(outcome.response.status_code.code(), 489);

    let mut stateless = notify(&request, NOTIFIER_TAG, 1, "active", &[]);
    stateless
        .headers
        .retain(|header| !header.to_string().starts_with("Subscription-State"));
    let outcome = subscriber.subscription.handle_notify(at(1), &stateless);
    assert_eq!(outcome.response.status_code.code(), 400);

    let second = notify(&request, NOTIFIER_TAG, 5, "active", &[]);
    assert_eq!(
        subscriber
            .subscription
            .handle_notify(at(1), &second)
            .response
            .status_code
            .code(),
        200
    );
    let older = notify(&request, NOTIFIER_TAG, 4, "active", &[]);
    let outcome = subscriber.subscription.handle_notify(at(1), &older);
    assert_eq!(outcome.response.status_code.code(), 500);
}

#[test]
fn a_notify_before_the_2xx_gives_the_dialog_its_route_set() {
    let mut subscriber = Subscriber::new();
    let request = subscriber.build();
    // The notifier's proxy p1 record-routed first, then p2, nearer to us.
    let early = notify(
        &request,
        NOTIFIER_TAG,
        1,
        "pending;expires=600",
        &[
            "Record-Route: <sip:p2.example.com;lr>",
            "Record-Route: <sip:p1.example.com;lr>",
        ],
    );
    assert!(subscriber.subscription.matches_notify(&early));
    let outcome = subscriber.subscription.handle_notify(at(0), &early);
    assert_eq!(outcome.response.status_code.code(), 200);
    assert_eq!(
        outcome.notification.unwrap().state,
        NotifyState::Pending {
            expires: Some(Duration::from_secs(600))
        }
    );
    assert_eq!(subscriber.subscription.state(), SubscriptionState::Pending);

    let refresh = subscriber.build();
    assert_eq!(refresh.uri.to_string(), "sip:192.0.2.5:5060");
    let routes: Vec<String> = refresh
        .headers
        .iter()
        .filter(|header| matches!(header, Header::Route(_)))
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        routes,
        vec![
            "Route: <sip:p2.example.com;lr>",
            "Route: <sip:p1.example.com;lr>"
        ]
    );
    assert_eq!(header(&refresh, "CSeq").as_deref(), Some("2 SUBSCRIBE"));
}

#[test]
fn unsubscribing_while_the_initial_subscribe_is_in_flight_waits_for_its_dialog() {
    let mut subscriber = Subscriber::new();
    let request = subscriber.build();
    assert_eq!(
        subscriber
            .subscription
            .unsubscribe(&local(), &mut subscriber.ids),
        None
    );
    assert_eq!(
        subscriber.subscription.state(),
        SubscriptionState::Unsubscribing
    );
    assert_eq!(
        subscriber.respond(at(0), &request, 200, &[Header::Expires(600.into())]),
        Some(SubscriptionAction::SendSubscribe)
    );
    let unsubscribe = subscriber.build();
    assert_eq!(header(&unsubscribe, "Expires").as_deref(), Some("0"));
    assert!(message::tag(unsubscribe.to_header().unwrap()).is_some());
    subscriber.respond(at(0), &unsubscribe, 200, &[Header::Expires(0.into())]);
    assert_eq!(
        subscriber.subscription.state(),
        SubscriptionState::Terminated {
            reason: "unsubscribed".into()
        }
    );

    // Never started: unsubscribing just stops it.
    let mut idle = Subscriber::new();
    assert_eq!(idle.subscription.unsubscribe(&local(), &mut idle.ids), None);
    assert!(matches!(
        idle.subscription.state(),
        SubscriptionState::Terminated { .. }
    ));
}

#[test]
fn subscription_state_values_parse() {
    assert_eq!(
        NotifyState::parse("active;expires=600"),
        Some(NotifyState::Active {
            expires: Some(Duration::from_secs(600))
        })
    );
    assert_eq!(
        NotifyState::parse("Terminated ; reason=Probation ; retry-after=30"),
        Some(NotifyState::Terminated {
            reason: Some("probation".into()),
            retry_after: Some(Duration::from_secs(30))
        })
    );
    assert_eq!(
        NotifyState::parse("waiting"),
        Some(NotifyState::Pending { expires: None })
    );
    assert_eq!(NotifyState::parse(""), None);
}
