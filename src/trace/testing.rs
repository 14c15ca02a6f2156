//! A traced conference escalation, as a confab server sees it, for the
//! decoder's and the trace pane's tests: vivian creates a conference
//! (SERVICE addConference), joins its focus (INVITE addUser), the A/V MCU
//! dials Amy out, and the focus NOTIFYs vivian that Amy is being called.
//! Bodies are written by the protocol layer's own writers.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::proto::c3p::{
    self, AddUser, C3pCommand, C3pRequest, ConferenceInfo as C3pConferenceInfo, ConferenceUser,
    FailureReason, JoiningMethod as C3pJoiningMethod, ResponseCode, Role, UserEndpoint, UserKeys,
};
use crate::proto::conference_info::{
    ConferenceInfo, Endpoint, EndpointStatus, JoiningMethod, Media, MediaStatus, SessionType,
    State, User,
};
use crate::proto::iscomposing::IsComposing;
use crate::proto::pidf::{Availability, PresenceDocument};
use crate::proto::{Transport, cpim};

use super::{Direction, TraceEntry};

pub const SERVER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 5060);
pub const CLIENT: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 5070);
pub const AMY_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 5080);

pub const VIVIAN: &str = "sip:vivian@confab.local";
pub const AMY: &str = "sip:amy@confab.local";
pub const FACTORY: &str = "sip:vivian@confab.local;gruu;opaque=app:conf:focusfactory";
pub const FOCUS: &str = "sip:vivian@confab.local;gruu;opaque=app:conf:focus:id:4KT9QZ2MABCD1234";
pub const AV_MCU: &str =
    "sip:vivian@confab.local;gruu;opaque=app:conf:audio-video:id:4KT9QZ2MABCD1234";

/// 2024-02-29 13:45:00 UTC, as the TUI tests' T0.
pub fn at(millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_709_214_300_000 + millis)
}

pub const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 40000 RTP/AVP 111 0 101\r\na=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 useinbandfec=1;minptime=10\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n\
a=extmap:1 urn:ietf:params:rtp-hdrext:csrc-audio-level\r\n";

/// A SIP message with the usual fields and `body` of `content_type`.
#[allow(clippy::too_many_arguments)]
pub fn sip(
    start: &str,
    via: &str,
    from: &str,
    to: &str,
    call_id: &str,
    cseq: &str,
    extra: &str,
    body: Option<(&str, &[u8])>,
) -> Vec<u8> {
    let (content_type, body) = body.unwrap_or(("", b""));
    let mut out = format!(
        "{start}\r\nVia: SIP/2.0/UDP {via}\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\n\
CSeq: {cseq}\r\n{extra}"
    );
    if !content_type.is_empty() {
        out.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn entry(millis: u64, direction: Direction, peer: SocketAddr, bytes: Vec<u8>) -> TraceEntry {
    TraceEntry {
        at: at(millis),
        direction,
        transport: Transport::Udp,
        local: SERVER,
        peer,
        bytes,
    }
}

pub fn add_conference() -> C3pRequest {
    C3pRequest {
        request_id: 1,
        from: VIVIAN.into(),
        to: FACTORY.into(),
        command: C3pCommand::AddConference(C3pConferenceInfo {
            entity_views: vec!["chat".into(), "audio-video".into()],
            ..C3pConferenceInfo::default()
        }),
    }
}

pub fn add_user() -> C3pRequest {
    C3pRequest {
        request_id: 2,
        from: VIVIAN.into(),
        to: FOCUS.into(),
        command: C3pCommand::AddUser(AddUser {
            mcu_uri: None,
            conf_entity: FOCUS.into(),
            user: ConferenceUser {
                entity: VIVIAN.into(),
                display_text: None,
                role: Some(Role::Presenter),
                endpoint: Some(UserEndpoint {
                    entity: "{8A6F6D0B-0001}".into(),
                    endpoint_uri: None,
                    refer_to_uri: None,
                    joining_method: Some(C3pJoiningMethod::DialedIn),
                }),
            },
        }),
    }
}

pub fn c3p_failure() -> String {
    C3pRequest {
        request_id: 9,
        from: AMY.into(),
        to: FOCUS.into(),
        command: C3pCommand::DeleteUser(UserKeys {
            conf_entity: FOCUS.into(),
            user_entity: VIVIAN.into(),
        }),
    }
    .failure(FailureReason::Forbidden)
    .to_xml()
}

pub fn amy_dialed_out() -> ConferenceInfo {
    ConferenceInfo {
        entity: FOCUS.into(),
        state: State::Partial,
        version: 2,
        description: None,
        conference_state: None,
        users_state: State::Partial,
        users: vec![User {
            entity: AMY.into(),
            state: State::Full,
            display_text: Some("Amy Rivera".into()),
            roles: vec!["attendee".into()],
            endpoints: vec![Endpoint {
                entity: "sip:amy@127.0.0.1:5080".into(),
                state: State::Full,
                session_type: Some(SessionType::AudioVideo),
                status: Some(EndpointStatus::DialingOut),
                joining_method: Some(JoiningMethod::DialedOut),
                disconnection_method: None,
                disconnection_reason: None,
                media: vec![Media {
                    id: "1".into(),
                    media_type: Some("audio".into()),
                    status: Some(MediaStatus::SendRecv),
                    src_id: Some("42".into()),
                    ingress_filter: None,
                    quality: None,
                }],
            }],
        }],
    }
}

pub fn pidf() -> String {
    PresenceDocument {
        entity: AMY.into(),
        availability: Availability::InAConference,
        note: Some("Planning".into()),
        contact: Some("sip:amy@127.0.0.1:5070".into()),
    }
    .to_xml()
}

pub fn iscomposing() -> String {
    IsComposing {
        active: true,
        refresh: Some(60),
        content_type: Some("text/plain".into()),
    }
    .to_xml()
}

pub fn cpim() -> Vec<u8> {
    cpim::wrap(Some("Amy Rivera"), AMY, "text/plain", b"Hello all")
}

/// The escalation, ten messages traced on the server.
pub fn escalation() -> Vec<TraceEntry> {
    use Direction::{Received, Sent};
    let client_via = "127.0.0.1:5070;branch=";
    let server_via = "127.0.0.1:5060;branch=";
    let vivian = |tag: &str| format!("<{VIVIAN}>;tag={tag}");
    let request = add_conference();
    let mut created = request.response(ResponseCode::Success);
    if let C3pCommand::AddConference(info) = &mut created.command {
        info.entity = FOCUS.into();
    }
    let join = add_user();
    let joined = join.response(ResponseCode::Success);
    let c3p = c3p::CONTENT_TYPE;
    let notify = amy_dialed_out().to_xml();
    vec![
        entry(
            0,
            Received,
            CLIENT,
            sip(
                &format!("SERVICE {FACTORY} SIP/2.0"),
                &format!("{client_via}z9hG4bKsvc1"),
                &vivian("v1"),
                &format!("<{FACTORY}>"),
                "svc-1@127.0.0.1",
                "1 SERVICE",
                "",
                Some((c3p, request.to_xml().as_bytes())),
            ),
        ),
        entry(
            4,
            Sent,
            CLIENT,
            sip(
                "SIP/2.0 200 OK",
                &format!("{client_via}z9hG4bKsvc1"),
                &vivian("v1"),
                &format!("<{FACTORY}>;tag=ff1"),
                "svc-1@127.0.0.1",
                "1 SERVICE",
                "",
                Some((c3p, created.to_xml().as_bytes())),
            ),
        ),
        entry(
            20,
            Received,
            CLIENT,
            sip(
                &format!("INVITE {FOCUS} SIP/2.0"),
                &format!("{client_via}z9hG4bKjoin1"),
                &vivian("v2"),
                &format!("<{FOCUS}>"),
                "join-1@127.0.0.1",
                "1 INVITE",
                "Contact: <sip:vivian@127.0.0.1:5070>\r\n",
                Some((c3p, join.to_xml().as_bytes())),
            ),
        ),
        entry(
            25,
            Sent,
            CLIENT,
            sip(
                "SIP/2.0 200 OK",
                &format!("{client_via}z9hG4bKjoin1"),
                &vivian("v2"),
                &format!("<{FOCUS}>;tag=f1"),
                "join-1@127.0.0.1",
                "1 INVITE",
                "Contact: <sip:127.0.0.1:5060;transport=udp>;isfocus\r\n",
                Some((c3p, joined.to_xml().as_bytes())),
            ),
        ),
        entry(
            40,
            Sent,
            AMY_ADDR,
            sip(
                "INVITE sip:amy@127.0.0.1:5080 SIP/2.0",
                &format!("{server_via}z9hG4bKdial1"),
                &format!("<{AV_MCU}>;tag=m1"),
                &format!("<{AMY}>"),
                "dial-1@127.0.0.1",
                "1 INVITE",
                &format!("Referred-By: <{VIVIAN}>\r\n"),
                Some(("application/sdp", SDP.as_bytes())),
            ),
        ),
        entry(
            52,
            Received,
            AMY_ADDR,
            sip(
                "SIP/2.0 180 Ringing",
                &format!("{server_via}z9hG4bKdial1"),
                &format!("<{AV_MCU}>;tag=m1"),
                &format!("<{AMY}>;tag=a1"),
                "dial-1@127.0.0.1",
                "1 INVITE",
                "",
                None,
            ),
        ),
        entry(
            60,
            Received,
            CLIENT,
            sip(
                &format!("SUBSCRIBE {FOCUS} SIP/2.0"),
                &format!("{client_via}z9hG4bKsub1"),
                &vivian("v3"),
                &format!("<{FOCUS}>"),
                "sub-1@127.0.0.1",
                "1 SUBSCRIBE",
                "Event: conference\r\nExpires: 600\r\n",
                None,
            ),
        ),
        entry(
            61,
            Sent,
            CLIENT,
            sip(
                "SIP/2.0 200 OK",
                &format!("{client_via}z9hG4bKsub1"),
                &vivian("v3"),
                &format!("<{FOCUS}>;tag=f2"),
                "sub-1@127.0.0.1",
                "1 SUBSCRIBE",
                "Expires: 600\r\n",
                None,
            ),
        ),
        entry(
            62,
            Sent,
            CLIENT,
            sip(
                "NOTIFY sip:vivian@127.0.0.1:5070 SIP/2.0",
                &format!("{server_via}z9hG4bKntf1"),
                &format!("<{FOCUS}>;tag=f2"),
                &vivian("v3"),
                "sub-1@127.0.0.1",
                "1 NOTIFY",
                "Event: conference\r\nSubscription-State: active;expires=600\r\n",
                Some(("application/conference-info+xml", notify.as_bytes())),
            ),
        ),
        entry(
            63,
            Received,
            CLIENT,
            sip(
                "SIP/2.0 200 OK",
                &format!("{server_via}z9hG4bKntf1"),
                &format!("<{FOCUS}>;tag=f2"),
                &vivian("v3"),
                "sub-1@127.0.0.1",
                "1 NOTIFY",
                "",
                None,
            ),
        ),
    ]
}
