//! The client's conference side against a server written by hand, in
//! virtual time: every message the test feeds is what conf-wire.md says
//! the confab server sends, and every assertion is on what the client puts
//! on the wire or tells its front end.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

mod control;
mod end;
mod im;
mod join;
mod roster;

use std::collections::VecDeque;
use std::time::Duration;

use rsip::headers::UntypedHeader as _;
use rsip::message::HeadersExt as _;
use rsip::{Header, Method, Request, Response, SipMessage};

use crate::client::{Client, ClientConfig, Command, Event};
use crate::proto::build::{self, status};
use crate::proto::c3p::{self, C3pCommand, C3pRequest, ResponseCode, Role};
use crate::proto::conference_info::{
    self, ConferenceInfo, ConferenceState, Endpoint, EndpointStatus, IngressFilter, Media,
    SessionType, State, User,
};
use crate::proto::{IoRequest, Peer, SipCore, Time, message};

pub const SERVER: &str = "10.0.0.1:5060";
pub const CLIENT: &str = "10.0.0.11:5062";
pub const VIVIAN: &str = "sip:vivian@confab.local";
pub const AMY: &str = "sip:amy@confab.local";
pub const HAO: &str = "sip:hao@confab.local";
pub const ID: &str = "K7Q2M9XA4B";
/// The server's Record-Route: in-dialog requests go back through it.
pub const RECORD_ROUTE: &str = "<sip:10.0.0.1:5060;lr>";

pub fn focus() -> String {
    format!("sip:vivian@confab.local;gruu;opaque=app:conf:focus:id:{ID}")
}

pub fn chat() -> String {
    format!("sip:vivian@confab.local;gruu;opaque=app:conf:chat:id:{ID}")
}

pub fn av_mcu() -> String {
    format!("sip:vivian@confab.local;gruu;opaque=app:conf:audio-video:id:{ID}")
}

/// A client core and the hand-written server around it.
pub struct Harness {
    pub client: Client,
    pub now: Time,
    /// What the client sent and the test has not taken yet.
    pub sent: VecDeque<SipMessage>,
    pub events: Vec<Event>,
    pub io: Vec<IoRequest>,
    next_tag: u32,
    next_cseq: u32,
}

impl Harness {
    /// `user` of confab.local, registered, its presence published.
    pub fn signed_in(user: &str) -> Harness {
        let mut client = Client::new(ClientConfig {
            user: user.into(),
            domain: "confab.local".into(),
            password: user.into(),
            server: Peer::udp(SERVER.parse().unwrap()),
            local: CLIENT.parse().unwrap(),
            register_expiry: Duration::from_secs(300),
            keepalive_interval: Duration::from_secs(30),
            media_port: 40_000,
            seed: 7,
        });
        client.start(Time::ZERO);
        let mut harness = Harness {
            client,
            now: Time::ZERO,
            sent: VecDeque::new(),
            events: Vec::new(),
            io: Vec::new(),
            next_tag: 0,
            next_cseq: 100,
        };
        let register = harness.take(Method::Register);
        let contact = format!("<sip:{user}@{CLIENT}>;expires=300");
        harness.reply(&register, 200, &[("Contact", &contact)], None);
        assert!(harness.took(|e| matches!(e, Event::Registered { .. })));
        harness.events.clear();
        harness
    }

    /// Drains the client: answers its housekeeping (PUBLISH, the buddy
    /// list and presence SUBSCRIBEs, keep-alives) and keeps the rest.
    pub fn pump(&mut self) {
        loop {
            let mut housekeeping = Vec::new();
            while let Some(transmit) = self.client.poll_transmit() {
                assert_eq!(transmit.destination.addr, SERVER.parse().unwrap());
                let message = message::parse(&transmit.payload).unwrap();
                match &message {
                    SipMessage::Request(request) if is_housekeeping(request) => {
                        housekeeping.push(request.clone())
                    }
                    _ => self.sent.push_back(message),
                }
            }
            while let Some(event) = self.client.poll_event() {
                self.events.push(event);
            }
            while let Some(request) = self.client.poll_io_request() {
                self.io.push(request);
            }
            if housekeeping.is_empty() {
                return;
            }
            for request in housekeeping {
                match request.method {
                    Method::Publish => self.reply(
                        &request,
                        200,
                        &[("SIP-ETag", "e1"), ("Expires", "600")],
                        None,
                    ),
                    Method::Subscribe => self.reply(&request, 489, &[], None),
                    _ => self.reply(&request, 200, &[], None),
                }
            }
        }
    }

    /// The first request of `method` the client sent; panics if none.
    #[track_caller]
    pub fn take(&mut self, method: Method) -> Request {
        self.pump();
        let index = self
            .sent
            .iter()
            .position(|m| matches!(m, SipMessage::Request(r) if r.method == method))
            .unwrap_or_else(|| panic!("no {method} sent; sent: {:#?}", self.sent));
        match self.sent.remove(index) {
            Some(SipMessage::Request(request)) => request,
            _ => unreachable!(),
        }
    }

    /// Whether the client sent a request of `method` (and takes it).
    pub fn sent_request(&mut self, method: Method) -> Option<Request> {
        self.pump();
        let index = self
            .sent
            .iter()
            .position(|m| matches!(m, SipMessage::Request(r) if r.method == method))?;
        match self.sent.remove(index) {
            Some(SipMessage::Request(request)) => Some(request),
            _ => None,
        }
    }

    /// The response the client sent to a request with this CSeq method.
    #[track_caller]
    pub fn take_response(&mut self, method: Method) -> Response {
        self.pump();
        let index = self
            .sent
            .iter()
            .position(
                |m| matches!(m, SipMessage::Response(r) if message::cseq_method(r) == Some(method)),
            )
            .unwrap_or_else(|| panic!("no response to {method}; sent: {:#?}", self.sent));
        match self.sent.remove(index) {
            Some(SipMessage::Response(response)) => response,
            _ => unreachable!(),
        }
    }

    pub fn command(&mut self, command: Command) {
        self.client.handle_command(self.now, command);
        self.pump();
    }

    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.client.handle_timeout(self.now);
        self.pump();
    }

    /// Feeds bytes as the server sent them.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.client
            .handle_datagram(self.now, Peer::udp(SERVER.parse().unwrap()), bytes);
        self.pump();
    }

    /// Answers `request` with `code`, extra header lines and a body.
    pub fn reply(
        &mut self,
        request: &Request,
        code: u16,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) {
        self.next_tag += 1;
        let response = response(request, code, &format!("s{}", self.next_tag), headers, body);
        self.feed(response.to_string().as_bytes());
    }

    /// Answers with a fixed To tag (the dialog's).
    pub fn reply_tagged(
        &mut self,
        request: &Request,
        code: u16,
        tag: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) {
        let response = response(request, code, tag, headers, body);
        self.feed(response.to_string().as_bytes());
    }

    /// A request from the server: start line and headers (without
    /// Content-Length), then the body.
    pub fn send_request(&mut self, head: &str, body: &[u8]) {
        self.next_cseq += 1;
        let mut bytes = format!(
            "{head}Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKsrv{}\r\nMax-Forwards: 70\r\nContent-Length: {}\r\n\r\n",
            self.next_cseq,
            body.len()
        )
        .into_bytes();
        bytes.extend_from_slice(body);
        self.feed(&bytes);
    }

    pub fn next_cseq(&mut self) -> u32 {
        self.next_cseq += 1;
        self.next_cseq
    }

    /// Whether an event matching `wanted` came (all are kept).
    pub fn took(&self, wanted: impl Fn(&Event) -> bool) -> bool {
        self.events.iter().any(wanted)
    }

    /// The events so far, forgotten.
    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
}

fn is_housekeeping(request: &Request) -> bool {
    let event = request.headers.iter().find_map(|header| match header {
        Header::Event(event) => Some(event.value().to_owned()),
        _ => None,
    });
    match request.method {
        Method::Publish | Method::Options => true,
        Method::Subscribe => event.is_some_and(|event| event != "conference"),
        _ => false,
    }
}

pub fn response(
    request: &Request,
    code: u16,
    tag: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> Response {
    let mut response = build::response_to(request, status(code), Some(tag));
    for (name, value) in headers {
        response
            .headers
            .push(Header::Other((*name).into(), (*value).into()));
    }
    let body = body.map_or(Vec::new(), |(content_type, body)| {
        response
            .headers
            .push(Header::ContentType(rsip::headers::ContentType::new(
                content_type,
            )));
        body.to_vec()
    });
    response.headers.push(Header::ContentLength(
        u32::try_from(body.len()).unwrap().into(),
    ));
    response.body = body;
    response
}

/// A header's value, found by name whatever rsip made of it.
pub fn header(message: &impl rsip::message::HeadersExt, name: &str) -> Option<String> {
    message.headers().iter().find_map(|header| {
        let text = header.to_string();
        let (field, value) = text.split_once(':')?;
        field
            .trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// The C3P request a client's SIP request carries.
pub fn c3p_of(request: &Request) -> C3pRequest {
    assert_eq!(
        header(request, "Content-Type").as_deref(),
        Some(c3p::CONTENT_TYPE)
    );
    c3p::parse_request(&request.body).unwrap()
}

/// A success response to `request`, its command as `fill` leaves it.
pub fn c3p_success(request: &C3pRequest, fill: impl FnOnce(&mut C3pCommand)) -> Vec<u8> {
    let mut response = request.response(ResponseCode::Success);
    fill(&mut response.command);
    response.to_xml().into_bytes()
}

pub fn tag_of(value: &str) -> String {
    build::tag_of(value).unwrap().to_owned()
}

/// A roster user: a focus endpoint with `focus` status (none if `None`)
/// and an audio endpoint with (status, src-id, blocked) if given.
pub fn user(
    entity: &str,
    role: &str,
    focus: Option<EndpointStatus>,
    audio: Option<(EndpointStatus, u32, bool)>,
) -> User {
    let mut endpoints = Vec::new();
    if let Some(status) = focus {
        endpoints.push(Endpoint {
            session_type: Some(SessionType::Focus),
            status: Some(status),
            ..Endpoint::new(entity)
        });
    }
    if let Some((status, src_id, blocked)) = audio {
        endpoints.push(Endpoint {
            session_type: Some(SessionType::AudioVideo),
            status: Some(status),
            media: vec![Media {
                media_type: Some("audio".into()),
                src_id: Some(src_id.to_string()),
                ingress_filter: Some(if blocked {
                    IngressFilter::Block
                } else {
                    IngressFilter::Unblock
                }),
                ..Media::new("1")
            }],
            ..Endpoint::new(format!("{entity}-audio"))
        });
    }
    User {
        display_text: None,
        roles: vec![role.into()],
        endpoints,
        ..User::new(entity)
    }
}

/// A document of the test conference.
pub fn document(version: u32, state: State, users: Vec<User>) -> ConferenceInfo {
    ConferenceInfo {
        entity: focus(),
        state,
        version,
        description: None,
        conference_state: (state == State::Full).then(|| ConferenceState {
            user_count: Some(u32::try_from(users.len()).unwrap()),
            active: Some(true),
            locked: Some(false),
        }),
        users_state: state,
        users,
    }
}

/// A conference the client created and joined as presenter, roster
/// subscribed (SUBSCRIBE answered, no NOTIFY yet).
pub struct Joined {
    pub harness: Harness,
    /// The joining INVITE, and the focus's To tag.
    pub invite: Request,
    pub focus_tag: String,
    pub subscribe: Request,
    pub notifier_tag: String,
}

impl Joined {
    pub fn new() -> Joined {
        Self::by(Command::CreateConference)
    }

    /// Through `command` (CreateConference or Escalate).
    pub fn by(command: Command) -> Joined {
        let mut harness = Harness::signed_in("vivian");
        harness.command(command);
        let service = harness.take(Method::Service);
        let create = c3p_of(&service);
        let body = c3p_success(&create, |command| {
            if let C3pCommand::AddConference(info) = command {
                info.entity = focus();
            }
        });
        harness.reply(&service, 200, &[], Some((c3p::CONTENT_TYPE, &body)));
        let invite = harness.take(Method::Invite);
        let join = c3p_of(&invite);
        let body = c3p_success(&join, |command| {
            if let C3pCommand::AddUser(add) = command {
                add.user.role = Some(Role::Presenter);
            }
        });
        let contact = format!("<{}>;isfocus", focus());
        harness.reply_tagged(
            &invite,
            200,
            "focus1",
            &[("Contact", &contact), ("Record-Route", RECORD_ROUTE)],
            Some((c3p::CONTENT_TYPE, &body)),
        );
        let subscribe = harness.take(Method::Subscribe);
        harness.reply_tagged(
            &subscribe,
            200,
            "notifier1",
            &[
                ("Contact", &format!("<{}>", focus())),
                ("Record-Route", RECORD_ROUTE),
                ("Expires", "1800"),
            ],
            None,
        );
        Joined {
            harness,
            invite,
            focus_tag: "focus1".into(),
            subscribe,
            notifier_tag: "notifier1".into(),
        }
    }

    /// A NOTIFY of the roster subscription carrying `document`, with
    /// this Subscription-State.
    pub fn notify_state(&mut self, state: &str, body: &[u8]) {
        let cseq = self.harness.next_cseq();
        let call_id = header(&self.subscribe, "Call-ID").unwrap();
        let our_tag = tag_of(self.subscribe.from_header().unwrap().value());
        let head = format!(
            "NOTIFY sip:vivian@{CLIENT} SIP/2.0\r\n\
             From: <{focus}>;tag={tag}\r\n\
             To: <{VIVIAN}>;tag={our_tag}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} NOTIFY\r\n\
             Contact: <{focus}>\r\n\
             Event: conference\r\n\
             Subscription-State: {state}\r\n\
             Content-Type: {content_type}\r\n",
            focus = focus(),
            tag = self.notifier_tag,
            content_type = conference_info::CONTENT_TYPE,
        );
        self.harness.send_request(&head, body);
    }

    pub fn notify(&mut self, document: &ConferenceInfo) {
        self.notify_state("active;expires=1800", document.to_xml().as_bytes());
    }

    /// The focus hangs up our focus dialog.
    pub fn focus_bye(&mut self) {
        let cseq = self.harness.next_cseq();
        let call_id = header(&self.invite, "Call-ID").unwrap();
        let our_tag = tag_of(self.invite.from_header().unwrap().value());
        let head = format!(
            "BYE sip:vivian@{CLIENT} SIP/2.0\r\n\
             From: <{focus}>;tag={tag}\r\n\
             To: <{VIVIAN}>;tag={our_tag}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} BYE\r\n",
            focus = focus(),
            tag = self.focus_tag,
        );
        self.harness.send_request(&head, b"");
    }

    /// The first roster, full: us presenter in the focus, Amy attendee.
    pub fn first_roster(&mut self) {
        let users = vec![
            user(VIVIAN, "presenter", Some(EndpointStatus::Connected), None),
            user(AMY, "attendee", Some(EndpointStatus::Connected), None),
        ];
        self.notify(&document(3, State::Full, users));
    }
}
