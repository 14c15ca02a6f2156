//! Provisioning and numbers on the client, against a server written by
//! hand, in virtual time: what the client sends, and what it tells its
//! front end.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use rsip::headers::UntypedHeader as _;
use rsip::message::HeadersExt as _;
use rsip::{Header, Method, Request, SipMessage};

use crate::client::{Client, ClientConfig, Command, Event};
use crate::proto::build::{self, status};
use crate::proto::location_profile::{LocationProfile, LocationProfiles};
use crate::proto::provisioning::{self, Provisioning};
use crate::proto::{Peer, SipCore, Time, message};

const SERVER: &str = "10.0.0.1:5060";
const CLIENT: &str = "10.0.0.11:5062";
const VIVIAN: &str = "sip:vivian@confab.local";
/// The headers of the notifier's 2xx to a SUBSCRIBE.
const NOTIFIER: &[(&str, &str)] = &[("Expires", "3600"), ("Contact", "<sip:10.0.0.1:5060>")];

struct Harness {
    client: Client,
    now: Time,
    /// Requests the client sent that the test has not taken.
    sent: Vec<Request>,
    /// Responses the client sent.
    responses: Vec<rsip::Response>,
    events: Vec<Event>,
}

impl Harness {
    /// Vivian, registered; her PUBLISH answered, her buddy list refused
    /// (the list is then hers).
    fn signed_in() -> Harness {
        let mut client = Client::new(ClientConfig {
            user: "vivian".into(),
            domain: "confab.local".into(),
            password: "vivian".into(),
            server: Peer::udp(SERVER.parse().unwrap()),
            local: CLIENT.parse().unwrap(),
            register_expiry: Duration::from_secs(300),
            keepalive_interval: Duration::from_secs(30),
            media_port: 40_000,
            seed: 5,
        });
        client.start(Time::ZERO);
        let mut harness = Harness {
            client,
            now: Time::ZERO,
            sent: Vec::new(),
            responses: Vec::new(),
            events: Vec::new(),
        };
        let register = harness.take(Method::Register, None);
        let contact = format!("<sip:vivian@{CLIENT}>;expires=300");
        harness.reply(&register, 200, &[("Contact", &contact)], None);
        harness
    }

    fn pump(&mut self) {
        loop {
            let mut housekeeping = Vec::new();
            while let Some(transmit) = self.client.poll_transmit() {
                match message::parse(&transmit.payload).unwrap() {
                    SipMessage::Request(request) if request.method == Method::Publish => {
                        housekeeping.push(request)
                    }
                    SipMessage::Request(request)
                        if event_of(&request).as_deref() == Some("vnd.confab.contacts") =>
                    {
                        housekeeping.push(request)
                    }
                    SipMessage::Request(request) => self.sent.push(request),
                    SipMessage::Response(response) => self.responses.push(response),
                }
            }
            while let Some(event) = self.client.poll_event() {
                self.events.push(event);
            }
            while self.client.poll_io_request().is_some() {}
            if housekeeping.is_empty() {
                return;
            }
            for request in housekeeping {
                let code = if request.method == Method::Publish {
                    200
                } else {
                    489
                };
                self.reply(&request, code, &[("SIP-ETag", "e1")], None);
            }
        }
    }

    /// The first request of `method` (and of `event`, if given) the
    /// client sent; panics if none.
    #[track_caller]
    fn take(&mut self, method: Method, event: Option<&str>) -> Request {
        self.try_take(method, event)
            .unwrap_or_else(|| panic!("no {method} {event:?} sent; sent: {:#?}", self.sent))
    }

    fn try_take(&mut self, method: Method, event: Option<&str>) -> Option<Request> {
        self.pump();
        let index = self.sent.iter().position(|request| {
            request.method == method && (event.is_none() || event_of(request).as_deref() == event)
        })?;
        Some(self.sent.remove(index))
    }

    fn reply(&mut self, request: &Request, code: u16, headers: &[(&str, &str)], tag: Option<&str>) {
        let mut response = build::response_to(request, status(code), Some(tag.unwrap_or("srv1")));
        for (name, value) in headers {
            response
                .headers
                .push(Header::Other((*name).into(), (*value).into()));
        }
        response.headers.push(Header::ContentLength(0.into()));
        self.feed(response.to_string().as_bytes());
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.client
            .handle_datagram(self.now, Peer::udp(SERVER.parse().unwrap()), bytes);
        self.pump();
    }

    fn command(&mut self, command: Command) {
        self.client.handle_command(self.now, command);
        self.pump();
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.client.handle_timeout(self.now);
        self.pump();
    }

    /// A NOTIFY in the subscription `subscribe` made, with `body`.
    fn notify(&mut self, subscribe: &Request, cseq: u32, body: &str) {
        let call_id = subscribe.call_id_header().unwrap().value().to_owned();
        let from_tag = build::tag_of(subscribe.from_header().unwrap().value())
            .unwrap()
            .to_owned();
        let bytes = format!(
            "NOTIFY sip:vivian@{CLIENT} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {SERVER};branch=z9hG4bKnotify{cseq}\r\n\
             Max-Forwards: 70\r\n\
             From: <{VIVIAN}>;tag=notifier1\r\n\
             To: <{VIVIAN}>;tag={from_tag}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} NOTIFY\r\n\
             Contact: <sip:{SERVER}>\r\n\
             Event: vnd.confab.provisioning\r\n\
             Subscription-State: active;expires=3600\r\n\
             Content-Type: {}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            provisioning::CONTENT_TYPE,
            body.len()
        );
        self.feed(bytes.as_bytes());
    }

    fn failed(&self, command: &str) -> Option<&str> {
        self.events.iter().find_map(|event| match event {
            Event::CommandFailed {
                command: name,
                reason,
            } if *name == command => Some(reason.as_str()),
            _ => None,
        })
    }
}

fn event_of(request: &Request) -> Option<String> {
    request.headers.iter().find_map(|header| match header {
        Header::Event(event) => Some(event.value().to_owned()),
        _ => None,
    })
}

fn header(request: &Request, name: &str) -> Option<String> {
    request.headers.iter().find_map(|header| {
        let text = header.to_string();
        let (field, value) = text.split_once(':')?;
        field
            .trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

fn berlin() -> LocationProfile {
    LocationProfile::from_rules(
        "DE-Berlin",
        [
            (r"^0([1-9]\d+)$", "+49$1", "national"),
            (r"^([1-9]\d{4,8})$", "+4930$1", "Berlin local"),
        ],
    )
    .unwrap()
}

#[test]
fn signing_in_subscribes_to_our_own_provisioning_and_takes_the_document() {
    let mut harness = Harness::signed_in();
    let subscribe = harness.take(Method::Subscribe, Some("vnd.confab.provisioning"));
    assert_eq!(subscribe.uri.to_string(), VIVIAN);
    assert_eq!(
        header(&subscribe, "Accept").as_deref(),
        Some(provisioning::CONTENT_TYPE)
    );
    harness.reply(&subscribe, 200, NOTIFIER, Some("notifier1"));
    let document = Provisioning {
        user: VIVIAN.into(),
        work_number: Some("+14255032002".into()),
        location_profile: Some(berlin()),
    };
    harness.notify(&subscribe, 1, &document.to_xml());
    let ok = harness.responses.pop().unwrap();
    assert_eq!(ok.status_code.code(), 200);
    assert!(harness.events.contains(&Event::Provisioned {
        location_profile: berlin(),
        from_server: true,
        work_number: Some("+14255032002".into()),
    }));
    assert_eq!(harness.client.work_number(), Some("+14255032002"));

    harness.command(Command::Normalize {
        number: "030 1234 5678".into(),
    });
    assert!(harness.events.contains(&Event::Normalized {
        number: "030 1234 5678".into(),
        e164: "+493012345678".into(),
        rule: "national".into(),
    }));

    // A bad document changes nothing.
    harness.notify(&subscribe, 2, "<provisioning/>");
    assert_eq!(harness.client.location_profile(), &berlin());

    // Refreshed in the dialog, well before it lapses.
    harness.advance(Duration::from_secs(1800));
    let refresh = harness.take(Method::Subscribe, Some("vnd.confab.provisioning"));
    assert!(header(&refresh, "To").unwrap().contains("tag=notifier1"));

    // Quitting ends it: Expires 0 in the dialog.
    harness.reply(&refresh, 200, NOTIFIER, Some("notifier1"));
    harness.command(Command::Quit);
    let end = harness.take(Method::Subscribe, Some("vnd.confab.provisioning"));
    assert_eq!(header(&end, "Expires").as_deref(), Some("0"));
}

#[test]
fn without_the_package_the_shipped_us_profile_stays() {
    let mut harness = Harness::signed_in();
    let subscribe = harness.take(Method::Subscribe, Some("vnd.confab.provisioning"));
    // Kamailio with its presence module: 489 Bad Event.
    harness.reply(&subscribe, 489, &[], None);
    harness.advance(Duration::from_secs(120));
    assert!(
        harness
            .try_take(Method::Subscribe, Some("vnd.confab.provisioning"))
            .is_none(),
        "a refused subscription is not tried again"
    );
    assert_eq!(
        harness.client.location_profile(),
        &LocationProfile::fallback()
    );
    assert_eq!(
        harness.client.location_profile(),
        LocationProfiles::shipped().get("US").unwrap()
    );
    assert!(
        !harness
            .events
            .iter()
            .any(|event| matches!(event, Event::Provisioned { .. }))
    );

    // The table of PROTOCOLS.md section 6, through the command.
    for (number, e164, rule) in [
        ("0123", "+14255550123", "4-digit extension"),
        ("555-0123", "+14255550123", "7-digit local"),
        ("(425) 555-0123", "+14255550123", "10-digit NANP"),
        ("1 425 555 0123", "+14255550123", "1 + 10 digits"),
        ("011 44 20 7946 0958", "+442079460958", "international"),
        ("+44 20 7946 0958", "+442079460958", "already E.164"),
    ] {
        harness.command(Command::Normalize {
            number: number.into(),
        });
        assert_eq!(
            harness.events.pop(),
            Some(Event::Normalized {
                number: number.into(),
                e164: e164.into(),
                rule: rule.into(),
            }),
            "{number}"
        );
    }
    harness.command(Command::Normalize {
        number: "555-CALL".into(),
    });
    assert_eq!(
        harness.failed("normalize"),
        Some(
            "'C' is not a digit: a number has digits, a leading +, and spaces, dashes, dots or parentheses"
        )
    );
}

#[test]
fn a_call_to_a_number_goes_to_its_e164_address_and_a_bad_one_nowhere() {
    let mut harness = Harness::signed_in();
    harness.command(Command::Call {
        to: "555-CALL".into(),
    });
    assert!(
        harness
            .failed("call")
            .is_some_and(|reason| reason.starts_with("'C' is not a digit")),
        "{:?}",
        harness.events
    );
    harness.command(Command::Call { to: "12345".into() });
    assert!(
        harness.events.iter().any(|event| *event
            == Event::CommandFailed {
                command: "call",
                reason: "no rule of location profile US matches 12345".into(),
            }),
        "{:?}",
        harness.events
    );
    assert!(harness.try_take(Method::Invite, None).is_none());

    harness.command(Command::Call {
        to: "(425) 555-0123".into(),
    });
    let invite = harness.take(Method::Invite, None);
    assert_eq!(
        invite.uri.to_string(),
        "sip:+14255550123@confab.local;user=phone"
    );
    assert!(
        header(&invite, "To")
            .unwrap()
            .contains("sip:+14255550123@confab.local;user=phone")
    );
}
