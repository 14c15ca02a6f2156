//! Publications in virtual time, from PUBLISH requests written as text.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use rsip::SipMessage;

use super::*;

const AMY: &str = "sip:amy@confab.local";
const PIDF: &str = "application/pidf+xml";

fn at(seconds: u64) -> Time {
    Time::ZERO + Duration::from_secs(seconds)
}

fn store() -> Publications {
    Publications::new(PublicationConfig::new(5).with_package("presence"))
}

/// A PUBLISH of Amy's presence with extra header lines and a body.
fn publish(cseq: u32, extra: &[&str], body: &str) -> Request {
    let mut text = format!(
        "PUBLISH sip:amy@confab.local SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bKp{cseq}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:amy@confab.local>;tag=a1\r\n\
         To: <sip:amy@confab.local>\r\n\
         Call-ID: pub-{cseq}@192.0.2.20\r\n\
         CSeq: {cseq} PUBLISH\r\n"
    );
    for line in extra {
        text.push_str(line);
        text.push_str("\r\n");
    }
    if !body.is_empty() {
        text.push_str(&format!("Content-Type: {PIDF}\r\n"));
    }
    text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    match message::parse(text.as_bytes()).unwrap() {
        SipMessage::Request(request) => request,
        SipMessage::Response(_) => panic!("not a request"),
    }
}

fn bodies(store: &Publications) -> Vec<String> {
    store
        .current(AMY, "presence")
        .iter()
        .map(|published| String::from_utf8(published.body.clone()).unwrap())
        .collect()
}

#[test]
fn initial_refresh_modify_and_remove() {
    let mut store = store();
    let initial = store.handle_publish(
        at(0),
        &publish(1, &["Event: presence", "Expires: 600"], "<open/>"),
        AMY,
    );
    assert_eq!(initial.status, 200);
    assert!(initial.changed);
    assert_eq!(initial.expires, Some(600));
    let etag = initial.etag.clone().unwrap();
    assert_eq!(bodies(&store), vec!["<open/>"]);
    assert_eq!(store.current(AMY, "presence")[0].content_type, PIDF);
    assert_eq!(store.poll_timeout(), Some(at(600)));

    // RFC 3903 §6 step 7: every success but a removal has a new entity-tag.
    let if_match = format!("SIP-If-Match: {etag}");
    let refresh = store.handle_publish(
        at(300),
        &publish(2, &["Event: presence", &if_match], ""),
        AMY,
    );
    assert_eq!(refresh.status, 200);
    assert!(!refresh.changed);
    assert_eq!(refresh.expires, Some(3600), "the default");
    let refreshed = refresh.etag.clone().unwrap();
    assert_ne!(refreshed, etag);
    assert_eq!(store.poll_timeout(), Some(at(3900)));
    assert_eq!(store.current(AMY, "presence")[0].published_at, at(0));

    // The old entity-tag is spent.
    let stale = store.handle_publish(
        at(301),
        &publish(3, &["Event: presence", &if_match], ""),
        AMY,
    );
    assert_eq!(stale.status, 412);
    assert_eq!(stale.error, Some(PublicationError::UnknownEtag(etag)));

    let if_match = format!("SIP-If-Match: {refreshed}");
    let modify = store.handle_publish(
        at(400),
        &publish(
            4,
            &["Event: presence", &if_match, "Expires: 600"],
            "<closed/>",
        ),
        AMY,
    );
    assert_eq!(modify.status, 200);
    assert!(modify.changed);
    let modified = modify.etag.clone().unwrap();
    assert_eq!(bodies(&store), vec!["<closed/>"]);
    assert_eq!(store.current(AMY, "presence")[0].published_at, at(400));

    let if_match = format!("SIP-If-Match: {modified}");
    let remove = store.handle_publish(
        at(500),
        &publish(5, &["Event: presence", &if_match, "Expires: 0"], ""),
        AMY,
    );
    assert_eq!(remove.status, 200);
    assert!(remove.changed);
    assert_eq!(remove.etag, None);
    assert_eq!(remove.expires, Some(0));
    assert!(store.current(AMY, "presence").is_empty());
    assert!(store.is_empty());
    assert_eq!(store.poll_timeout(), None);
    assert_eq!(
        store.poll_changed(),
        None,
        "PUBLISH changes are in the outcome"
    );
}

#[test]
fn the_response_carries_sip_etag_and_expires() {
    let mut store = store();
    let request = publish(1, &["Event: presence", "Expires: 600"], "<open/>");
    let outcome = store.handle_publish(at(0), &request, AMY);
    let text = outcome.response(&request, "t1").to_string();
    assert!(text.starts_with("SIP/2.0 200 OK\r\n"), "{text}");
    assert!(
        text.contains(&format!("SIP-ETag: {}\r\n", outcome.etag.unwrap())),
        "{text}"
    );
    assert!(text.contains("Expires: 600\r\n"), "{text}");
    assert!(
        text.contains("To: <sip:amy@confab.local>;tag=t1\r\n"),
        "{text}"
    );
}

#[test]
fn refusals() {
    let mut store = store();
    let brief = publish(1, &["Event: presence", "Expires: 10"], "<open/>");
    let outcome = store.handle_publish(at(0), &brief, AMY);
    assert_eq!(outcome.status, 423);
    let text = outcome.response(&brief, "t").to_string();
    assert!(
        text.starts_with("SIP/2.0 423 Interval Too Brief\r\n"),
        "{text}"
    );
    assert!(text.contains("Min-Expires: 60\r\n"), "{text}");

    let bad_event = publish(2, &["Event: dialog"], "<dialog-info/>");
    let outcome = store.handle_publish(at(0), &bad_event, AMY);
    assert_eq!(outcome.status, 489);
    assert!(
        outcome
            .response(&bad_event, "t")
            .to_string()
            .contains("Allow-Events: presence\r\n")
    );
    assert_eq!(
        store
            .handle_publish(at(0), &publish(3, &[], "<open/>"), AMY)
            .status,
        489
    );

    let empty = store.handle_publish(at(0), &publish(4, &["Event: presence"], ""), AMY);
    assert_eq!(empty.error, Some(PublicationError::MissingBody));
    assert_eq!(empty.status, 400);

    let unknown = store.handle_publish(
        at(0),
        &publish(5, &["Event: presence", "SIP-If-Match: nope"], ""),
        AMY,
    );
    assert_eq!(unknown.status, 412);
    let text = unknown.response(&publish(5, &[], ""), "t").to_string();
    assert!(
        text.starts_with("SIP/2.0 412 Conditional Request Failed\r\n"),
        "{text}"
    );

    // An entity-tag of another resource does not match (§6 step 3).
    let hao = store.handle_publish(
        at(0),
        &publish(6, &["Event: presence"], "<open/>"),
        "sip:hao@confab.local",
    );
    let if_match = format!("SIP-If-Match: {}", hao.etag.unwrap());
    let crossed =
        store.handle_publish(at(0), &publish(7, &["Event: presence", &if_match], ""), AMY);
    assert_eq!(crossed.status, 412);
    assert!(!crossed.changed);
    assert_eq!(store.len(), 1);
}

#[test]
fn expiry_is_reported_as_a_change() {
    let mut store = store();
    store.handle_publish(
        at(0),
        &publish(1, &["Event: presence", "Expires: 60"], "<open/>"),
        AMY,
    );
    store.handle_timeout(at(59));
    assert_eq!(store.poll_changed(), None);
    assert_eq!(store.poll_timeout(), Some(at(60)));
    store.handle_timeout(at(60));
    assert_eq!(store.poll_changed(), Some((AMY.into(), "presence".into())));
    assert_eq!(store.poll_changed(), None);
    assert!(store.is_empty());
    assert_eq!(store.poll_timeout(), None);
}

#[test]
fn two_endpoints_publish_for_one_resource() {
    let mut store = store();
    let desk = store.handle_publish(
        at(0),
        &publish(1, &["Event: presence", "Expires: 600"], "<desk/>"),
        AMY,
    );
    let phone = store.handle_publish(
        at(10),
        &publish(2, &["Event: presence", "Expires: 60"], "<phone/>"),
        AMY,
    );
    assert_ne!(desk.etag, phone.etag);
    assert_eq!(bodies(&store), vec!["<phone/>", "<desk/>"], "newest first");
    assert_eq!(store.len(), 2);

    // The phone's state lapses; the desk's stays.
    store.handle_timeout(at(70));
    assert_eq!(store.poll_changed(), Some((AMY.into(), "presence".into())));
    assert_eq!(bodies(&store), vec!["<desk/>"]);

    // Amy goes offline: everything goes, reported once per package.
    store.handle_publish(at(80), &publish(3, &["Event: presence"], "<phone/>"), AMY);
    assert!(store.remove_resource(AMY));
    assert_eq!(store.poll_changed(), Some((AMY.into(), "presence".into())));
    assert_eq!(store.poll_changed(), None);
    assert!(store.is_empty());
    assert_eq!(store.poll_timeout(), None);
    assert!(!store.remove_resource(AMY));
}
