//! The focus factory and a focus on the wire, in virtual time, driven by
//! hand-written requests: what any C3P client (not only confab's) sees.

use std::time::Duration;

use confab::proto::c3p::{
    self, AddUser, C3pCommand, C3pRequest, ConferenceInfo, ConferenceUser, ResponseCode, Role,
};
use confab::proto::conference_info;

use super::simnet::{Network, answer, header_line};

const FACTORY: &str = "sip:vivian@confab.local;gruu;opaque=app:conf:focusfactory";

/// A request from a raw UA with a body.
#[allow(clippy::too_many_arguments)]
fn request_with_body(
    method: &str,
    target: &str,
    user: &str,
    net: &Network,
    ua: usize,
    call: &str,
    cseq: u32,
    extra: &str,
    content_type: &str,
    body: &str,
) -> String {
    let at = net.raw[ua].addr;
    format!(
        "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {at};branch=z9hG4bK{call}{cseq};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:{user}@confab.local>;tag=raw{call}\r\nTo: <{target}>\r\n\
         Call-ID: {call}\r\nCSeq: {cseq} {method}\r\nContact: <sip:{user}@{at}>\r\n{extra}\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Sends a request, answers the server's challenge, and returns the final
/// response.
#[allow(clippy::too_many_arguments)]
pub(crate) fn authenticated(
    net: &mut Network,
    ua: usize,
    user: &str,
    method: &str,
    target: &str,
    call: &str,
    extra: &str,
    content_type: &str,
    body: &str,
) -> String {
    let first = request_with_body(
        method,
        target,
        user,
        net,
        ua,
        call,
        1,
        extra,
        content_type,
        body,
    );
    net.send_raw(ua, &first);
    let challenge = net.expect_raw(ua, "SIP/2.0 407");
    let credentials = answer(user, &challenge, method, target);
    let extra = format!("{extra}{credentials}");
    let second = request_with_body(
        method,
        target,
        user,
        net,
        ua,
        call,
        2,
        &extra,
        content_type,
        body,
    );
    net.send_raw(ua, &second);
    loop {
        let response = net.expect_raw(ua, "SIP/2.0 ");
        if !response.starts_with("SIP/2.0 1") {
            return response;
        }
    }
}

/// Answers a request the raw UA received with 200 OK.
fn accept(net: &mut Network, ua: usize, request: &str) {
    let mut response = String::from("SIP/2.0 200 OK\r\n");
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        for line in request.lines().filter(|line| {
            line.to_ascii_lowercase()
                .starts_with(&format!("{}:", name.to_ascii_lowercase()))
        }) {
            response.push_str(line);
            response.push_str("\r\n");
        }
    }
    response.push_str("Content-Length: 0\r\n\r\n");
    net.send_raw(ua, &response);
}

/// The next NOTIFY for the raw UA, answered.
fn next_notify(net: &mut Network, ua: usize) -> conference_info::ConferenceInfo {
    let notify = net.expect_raw(ua, "NOTIFY");
    accept(net, ua, &notify);
    conference_info::parse(body_of(&notify).as_bytes()).unwrap()
}

fn body_of(message: &str) -> &str {
    message.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

fn c3p_request(from: &str, to: &str, id: u64, command: C3pCommand) -> String {
    C3pRequest {
        request_id: id,
        from: from.into(),
        to: to.into(),
        command,
    }
    .to_xml()
}

pub(crate) fn join_body(user: &str, focus: &str) -> String {
    c3p_request(
        user,
        focus,
        2,
        C3pCommand::AddUser(AddUser {
            mcu_uri: None,
            conf_entity: focus.into(),
            user: ConferenceUser {
                entity: user.into(),
                ..ConferenceUser::default()
            },
        }),
    )
}

/// Creates a conference as Vivian and returns its focus URI.
fn create(net: &mut Network, vivian: usize) -> String {
    let body = c3p_request(
        "sip:vivian@confab.local",
        FACTORY,
        1,
        C3pCommand::AddConference(ConferenceInfo {
            entity_views: vec!["chat".into(), "audio-video".into()],
            ..ConferenceInfo::default()
        }),
    );
    let response = authenticated(
        net,
        vivian,
        "vivian",
        "SERVICE",
        FACTORY,
        "create",
        "",
        c3p::CONTENT_TYPE,
        &body,
    );
    assert!(response.starts_with("SIP/2.0 200"), "{response}");
    let c3p_response = c3p::parse_response(body_of(&response).as_bytes()).unwrap();
    assert_eq!(c3p_response.code, ResponseCode::Success);
    let C3pCommand::AddConference(info) = c3p_response.command else {
        panic!("not an addConference response: {response}");
    };
    assert!(
        info.entity.contains("opaque=app:conf:focus:id:"),
        "{}",
        info.entity
    );
    info.entity
}

#[test]
fn a_conference_is_created_joined_and_its_roster_notified_to_subscribers() {
    let mut net = Network::new(0.0);
    let vivian = net.add_raw("10.0.0.20:5060");
    let hao = net.add_raw("10.0.0.21:5060");
    let focus = create(&mut net, vivian);

    // Vivian joins: presenter, with a focus Contact and our Record-Route.
    let joined = authenticated(
        &mut net,
        vivian,
        "vivian",
        "INVITE",
        &focus,
        "vjoin",
        "",
        c3p::CONTENT_TYPE,
        &join_body("sip:vivian@confab.local", &focus),
    );
    assert!(joined.starts_with("SIP/2.0 200"), "{joined}");
    let contact = header_line(&joined, "Contact").unwrap();
    assert!(contact.contains(";isfocus"), "{contact}");
    assert!(header_line(&joined, "Record-Route").is_some(), "{joined}");
    let granted = c3p::parse_response(body_of(&joined).as_bytes()).unwrap();
    let C3pCommand::AddUser(add) = granted.command else {
        panic!("{joined}");
    };
    assert_eq!(add.user.role, Some(Role::Presenter));

    // Her roster subscription: a full document first.
    let subscribed = authenticated(
        &mut net,
        vivian,
        "vivian",
        "SUBSCRIBE",
        &focus,
        "vroster",
        &format!(
            "Event: conference\r\nAccept: {}\r\nExpires: 600\r\n",
            conference_info::CONTENT_TYPE
        ),
        "text/plain",
        "",
    );
    assert!(subscribed.starts_with("SIP/2.0 200"), "{subscribed}");
    let full = next_notify(&mut net, vivian);
    assert_eq!(full.state, conference_info::State::Full);
    let first_version = full.version;
    assert!(
        full.users
            .iter()
            .any(|user| user.entity == "sip:vivian@confab.local")
    );

    // Hao joins as an attendee; Vivian hears of it one version later.
    let hao_joined = authenticated(
        &mut net,
        hao,
        "hao",
        "INVITE",
        &focus,
        "hjoin",
        "",
        c3p::CONTENT_TYPE,
        &join_body("sip:hao@confab.local", &focus),
    );
    assert!(hao_joined.starts_with("SIP/2.0 200"), "{hao_joined}");
    let granted = c3p::parse_response(body_of(&hao_joined).as_bytes()).unwrap();
    let C3pCommand::AddUser(add) = granted.command else {
        panic!("{hao_joined}");
    };
    assert_eq!(add.user.role, Some(Role::Attendee));
    let partial = next_notify(&mut net, vivian);
    assert_eq!(partial.state, conference_info::State::Partial);
    assert_eq!(partial.version, first_version + 1);
    assert!(
        partial
            .users
            .iter()
            .any(|user| user.entity == "sip:hao@confab.local")
    );
}

#[test]
fn bad_c3p_bodies_get_400_and_strangers_are_kept_out_of_the_roster() {
    let mut net = Network::new(0.0);
    let vivian = net.add_raw("10.0.0.20:5060");
    let hao = net.add_raw("10.0.0.21:5060");
    let refused = authenticated(
        &mut net,
        vivian,
        "vivian",
        "SERVICE",
        FACTORY,
        "junk",
        "",
        c3p::CONTENT_TYPE,
        "<request><addConference>",
    );
    assert!(refused.starts_with("SIP/2.0 400"), "{refused}");

    let focus = create(&mut net, vivian);
    let peek = authenticated(
        &mut net,
        hao,
        "hao",
        "SUBSCRIBE",
        &focus,
        "peek",
        "Event: conference\r\nExpires: 600\r\n",
        "text/plain",
        "",
    );
    assert!(peek.starts_with("SIP/2.0 403"), "{peek}");

    // A focus that does not exist.
    let missing = focus.replace(":id:", ":id:zz");
    let nowhere = authenticated(
        &mut net,
        hao,
        "hao",
        "INVITE",
        &missing,
        "nowhere",
        "",
        c3p::CONTENT_TYPE,
        &join_body("sip:hao@confab.local", &missing),
    );
    assert!(nowhere.starts_with("SIP/2.0 404"), "{nowhere}");
}

#[test]
fn a_conference_nobody_joins_expires() {
    let mut net = Network::new(0.0);
    let vivian = net.add_raw("10.0.0.20:5060");
    let focus = create(&mut net, vivian);
    net.run_for(Duration::from_secs(301));
    let late = authenticated(
        &mut net,
        vivian,
        "vivian",
        "INVITE",
        &focus,
        "late",
        "",
        c3p::CONTENT_TYPE,
        &join_body("sip:vivian@confab.local", &focus),
    );
    assert!(late.starts_with("SIP/2.0 404"), "{late}");
}

/// A request in the dialog that `ok` (a 2xx to the raw UA's INVITE with
/// Call-ID `call`) set up: routed by its Record-Route to its Contact.
#[allow(clippy::too_many_arguments)]
fn in_dialog(
    net: &Network,
    ua: usize,
    user: &str,
    ok: &str,
    call: &str,
    cseq: u32,
    method: &str,
    body: &str,
) -> String {
    let at = net.raw[ua].addr;
    let value = |name: &str| {
        header_line(ok, name)
            .and_then(|line| line.split_once(':'))
            .map(|(_, value)| value.trim().to_owned())
            .unwrap()
    };
    let contact = value("Contact");
    let target = contact
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_owned();
    format!(
        "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {at};branch=z9hG4bK{call}{method}{cseq};rport\r\n\
         Max-Forwards: 70\r\nRoute: {}\r\nFrom: <sip:{user}@confab.local>;tag=raw{call}\r\nTo: {}\r\n\
         Call-ID: {call}\r\nCSeq: {cseq} {method}\r\nContact: <sip:{user}@{at}>\r\n\
         Content-Type: {}\r\nContent-Length: {}\r\n\r\n{body}",
        value("Record-Route"),
        value("To"),
        c3p::CONTENT_TYPE,
        body.len()
    )
}

fn delete_user(from: &str, focus: &str, user: &str, id: u64) -> String {
    c3p_request(
        from,
        focus,
        id,
        C3pCommand::DeleteUser(c3p::UserKeys {
            conf_entity: focus.into(),
            user_entity: user.into(),
        }),
    )
}

#[test]
fn only_a_leader_ejects_and_the_ejected_get_bye_and_the_roster_says_booted() {
    let mut net = Network::new(0.0);
    let vivian = net.add_raw("10.0.0.20:5060");
    let hao = net.add_raw("10.0.0.21:5060");
    let focus = create(&mut net, vivian);
    let join = |net: &mut Network, ua: usize, user: &str, call: &str| {
        let ok = authenticated(
            net,
            ua,
            user,
            "INVITE",
            &focus,
            call,
            "",
            c3p::CONTENT_TYPE,
            &join_body(&format!("sip:{user}@confab.local"), &focus),
        );
        assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
        ok
    };
    let vivian_ok = join(&mut net, vivian, "vivian", "vjoin");
    let hao_ok = join(&mut net, hao, "hao", "hjoin");
    let subscribed = authenticated(
        &mut net,
        vivian,
        "vivian",
        "SUBSCRIBE",
        &focus,
        "vroster",
        "Event: conference\r\nExpires: 600\r\n",
        "text/plain",
        "",
    );
    assert!(subscribed.starts_with("SIP/2.0 200"), "{subscribed}");
    let full = next_notify(&mut net, vivian);
    assert_eq!(full.users.len(), 2);
    let hao_subscribed = authenticated(
        &mut net,
        hao,
        "hao",
        "SUBSCRIBE",
        &focus,
        "hroster",
        "Event: conference\r\nExpires: 600\r\n",
        "text/plain",
        "",
    );
    assert!(
        hao_subscribed.starts_with("SIP/2.0 200"),
        "{hao_subscribed}"
    );
    next_notify(&mut net, hao);

    // Hao, an attendee, may not eject Vivian: a C3P failure in the 200,
    // with the role diagnostic.
    let attempt = delete_user("sip:hao@confab.local", &focus, "sip:vivian@confab.local", 7);
    net.send_raw(
        hao,
        &in_dialog(&net, hao, "hao", &hao_ok, "hjoin", 3, "INFO", &attempt),
    );
    let refused = net.expect_raw(hao, "SIP/2.0 200");
    let answer = c3p::parse_response(body_of(&refused).as_bytes()).unwrap();
    assert_eq!(answer.code, ResponseCode::Failure);
    assert_eq!(answer.reason, Some(c3p::FailureReason::Forbidden));
    assert!(
        header_line(&refused, "ms-diagnostics").is_some(),
        "{refused}"
    );

    // Vivian, the leader, may: Hao's focus dialog gets a BYE and the
    // roster marks him booted.
    let eject = delete_user("sip:vivian@confab.local", &focus, "sip:hao@confab.local", 8);
    net.send_raw(
        vivian,
        &in_dialog(
            &net, vivian, "vivian", &vivian_ok, "vjoin", 3, "INFO", &eject,
        ),
    );
    let done = net.expect_raw(vivian, "SIP/2.0 200");
    let answer = c3p::parse_response(body_of(&done).as_bytes()).unwrap();
    assert_eq!(answer.code, ResponseCode::Success, "{done}");
    let bye = net.expect_raw(hao, "BYE");
    assert!(bye.contains("Call-ID: hjoin"), "{bye}");
    let partial = next_notify(&mut net, vivian);
    let hao_entry = partial
        .users
        .iter()
        .find(|user| user.entity == "sip:hao@confab.local")
        .unwrap();
    assert_eq!(hao_entry.state, conference_info::State::Deleted);
    assert_eq!(partial.version, full.version + 1);
    // Hao sees himself go, and then no more.
    next_notify(&mut net, hao);
    let last = net.expect_raw(hao, "NOTIFY");
    let state = header_line(&last, "Subscription-State").unwrap();
    assert!(
        state.contains("terminated") && state.contains("rejected"),
        "{state}"
    );
}

/// Registers the raw UA as `user` (digest, as any phone would).
pub(crate) fn register(net: &mut Network, ua: usize, user: &str) {
    register_as(net, ua, user, user);
}

/// Registers the raw UA for the address `sip:{aor}@confab.local` with the
/// credentials of `user` (a desk phone registers its owner's number).
pub(crate) fn register_as(net: &mut Network, ua: usize, aor: &str, user: &str) {
    let answer = try_register_as(net, ua, aor, user);
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
}

/// [`register_as`], returning the registrar's final answer.
pub(crate) fn try_register_as(net: &mut Network, ua: usize, aor: &str, user: &str) -> String {
    let at = net.raw[ua].addr;
    let registrar = "sip:confab.local";
    let register = |cseq: u32, credentials: &str| {
        format!(
            "REGISTER {registrar} SIP/2.0\r\nVia: SIP/2.0/UDP {at};branch=z9hG4bKreg{user}{cseq};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{aor}@confab.local>;tag=reg{user}\r\n\
             To: <sip:{aor}@confab.local>\r\nCall-ID: reg-{user}\r\nCSeq: {cseq} REGISTER\r\n\
             Contact: <sip:{user}@{at}>\r\nExpires: 3600\r\n{credentials}Content-Length: 0\r\n\r\n"
        )
    };
    net.send_raw(ua, &register(1, ""));
    let challenge = net.expect_raw(ua, "SIP/2.0 401");
    let credentials = answer(user, &challenge, "REGISTER", registrar);
    net.send_raw(ua, &register(2, &credentials));
    net.expect_raw(ua, "SIP/2.0 ")
}

#[test]
fn the_im_mcu_relays_a_message_to_every_other_participant_naming_the_sender() {
    let mut net = Network::new(0.0);
    let vivian = net.add_raw("10.0.0.20:5060");
    let hao = net.add_raw("10.0.0.21:5060");
    let amy = net.add_raw("10.0.0.22:5060");
    for (ua, user) in [(vivian, "vivian"), (hao, "hao"), (amy, "amy")] {
        register(&mut net, ua, user);
    }
    let focus = create(&mut net, vivian);
    for (ua, user) in [(vivian, "vivian"), (hao, "hao")] {
        let ok = authenticated(
            &mut net,
            ua,
            user,
            "INVITE",
            &focus,
            &format!("{user}join"),
            "",
            c3p::CONTENT_TYPE,
            &join_body(&format!("sip:{user}@confab.local"), &focus),
        );
        assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
    }
    let chat = focus.replace(":focus:", ":chat:");
    let sent = authenticated(
        &mut net,
        hao,
        "hao",
        "MESSAGE",
        &chat,
        "say",
        "",
        "text/plain",
        "hello all",
    );
    assert!(sent.starts_with("SIP/2.0 200"), "{sent}");
    let relayed = net.expect_raw(vivian, "MESSAGE");
    accept(&mut net, vivian, &relayed);
    assert!(
        header_line(&relayed, "From").unwrap().contains(":chat:"),
        "{relayed}"
    );
    let envelope = confab::proto::cpim::parse(body_of(&relayed).as_bytes()).unwrap();
    assert_eq!(envelope.from.as_ref().unwrap().uri, "sip:hao@confab.local");
    assert_eq!(envelope.body, b"hello all");
    // The sender hears nothing back; Amy, not in it, may not speak there.
    assert!(!net.raw[hao].inbox.iter().any(|m| m.starts_with("MESSAGE")));
    let outsider = authenticated(
        &mut net,
        amy,
        "amy",
        "MESSAGE",
        &chat,
        "barge",
        "",
        "text/plain",
        "hi?",
    );
    assert!(outsider.starts_with("SIP/2.0 403"), "{outsider}");
}

pub(crate) const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
                     m=audio 4000 RTP/AVP 111 0\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n";
pub(crate) const PCMU_ANSWER: &str = "v=0\r\no=- 2 1 IN IP4 10.0.0.21\r\ns=-\r\nc=IN IP4 10.0.0.21\r\nt=0 0\r\n\
                           m=audio 4100 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// Answers an INVITE the raw UA received: 200 with a To tag, a Contact
/// and `sdp`.
pub(crate) fn answer_invite(net: &mut Network, ua: usize, invite: &str, sdp: &str) {
    let at = net.raw[ua].addr;
    let mut response = String::from("SIP/2.0 200 OK\r\n");
    for line in invite.lines() {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("to:") {
            response.push_str(line);
            response.push_str(";tag=answered\r\n");
        } else if ["via:", "from:", "call-id:", "cseq:", "record-route:"]
            .iter()
            .any(|name| lower.starts_with(name))
        {
            response.push_str(line);
            response.push_str("\r\n");
        }
    }
    response.push_str(&format!(
        "Contact: <sip:phone@{at}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    ));
    net.send_raw(ua, &response);
}

#[test]
fn the_av_mcu_answers_media_invites_dials_out_and_mutes_at_the_mixer() {
    use confab::proto::IoRequest;
    let mut net = Network::new(0.0);
    let vivian = net.add_raw("10.0.0.20:5060");
    let hao = net.add_raw("10.0.0.21:5060");
    register(&mut net, hao, "hao");
    let focus = create(&mut net, vivian);
    let vivian_ok = authenticated(
        &mut net,
        vivian,
        "vivian",
        "INVITE",
        &focus,
        "vjoin",
        "",
        c3p::CONTENT_TYPE,
        &join_body("sip:vivian@confab.local", &focus),
    );
    assert!(vivian_ok.starts_with("SIP/2.0 200"), "{vivian_ok}");

    // This computer's audio: a media INVITE to the A/V MCU.
    let mcu = focus.replace(":focus:", ":audio-video:");
    let audio = authenticated(
        &mut net,
        vivian,
        "vivian",
        "INVITE",
        &mcu,
        "vaudio",
        "",
        "application/sdp",
        OFFER,
    );
    assert!(audio.starts_with("SIP/2.0 200"), "{audio}");
    assert!(body_of(&audio).contains("m=audio 40002 "), "{audio}");
    assert!(
        matches!(
            net.mcu[..],
            [
                IoRequest::McuOpenLeg { leg: 1, .. },
                IoRequest::McuStartLeg { leg: 1, .. }
            ]
        ),
        "{:?}",
        net.mcu
    );

    // Vivian invites Hao: the MCU calls him, From its own URI, naming her.
    let dial_out = c3p_request(
        "sip:vivian@confab.local",
        &focus,
        9,
        C3pCommand::AddUser(AddUser {
            mcu_uri: Some(mcu.clone()),
            conf_entity: focus.clone(),
            user: ConferenceUser {
                entity: "sip:hao@confab.local".into(),
                endpoint: Some(c3p::UserEndpoint {
                    entity: "{hao-av}".into(),
                    endpoint_uri: Some("sip:hao@confab.local".into()),
                    joining_method: Some(c3p::JoiningMethod::DialedOut),
                    ..c3p::UserEndpoint::default()
                }),
                ..ConferenceUser::default()
            },
        }),
    );
    net.send_raw(
        vivian,
        &in_dialog(
            &net, vivian, "vivian", &vivian_ok, "vjoin", 3, "INFO", &dial_out,
        ),
    );
    let done = net.expect_raw(vivian, "SIP/2.0 200");
    let answer = c3p::parse_response(body_of(&done).as_bytes()).unwrap();
    assert_eq!(answer.code, ResponseCode::Success, "{done}");
    let invite = net.expect_raw(hao, "INVITE");
    assert!(
        header_line(&invite, "From")
            .unwrap()
            .contains(":audio-video:"),
        "{invite}"
    );
    assert!(
        header_line(&invite, "Referred-By")
            .unwrap()
            .contains("sip:vivian@confab.local")
    );
    answer_invite(&mut net, hao, &invite, PCMU_ANSWER);
    let ack = net.expect_raw(hao, "ACK");
    assert!(ack.contains("tag=answered"), "{ack}");
    let started = net.mcu.iter().any(|request| {
        matches!(request, IoRequest::McuStartLeg { leg: 2, audio } if audio.remote.port() == 4100)
    });
    assert!(started, "{:?}", net.mcu);

    // Vivian mutes Hao: the mixer drops his leg.
    let mute = c3p_request(
        "sip:vivian@confab.local",
        &focus,
        10,
        C3pCommand::ModifyEndpointMedia(c3p::ModifyEndpointMedia {
            mcu_uri: mcu.clone(),
            keys: c3p::MediaKeys {
                conf_entity: focus.clone(),
                user_entity: "sip:hao@confab.local".into(),
                endpoint_entity: "{hao-av}".into(),
                media_id: "1".into(),
            },
            media: c3p::MediaChange {
                id: "1".into(),
                media_type: Some("audio".into()),
                ingress_filter: Some(c3p::MediaFilter::Block),
                ..c3p::MediaChange::default()
            },
        }),
    );
    net.send_raw(
        vivian,
        &in_dialog(
            &net, vivian, "vivian", &vivian_ok, "vjoin", 4, "INFO", &mute,
        ),
    );
    let done = net.expect_raw(vivian, "SIP/2.0 200");
    let answer = c3p::parse_response(body_of(&done).as_bytes()).unwrap();
    assert_eq!(answer.code, ResponseCode::Success, "{done}");
    assert!(
        net.mcu.contains(&IoRequest::McuFilterLeg {
            leg: 2,
            blocked: true
        }),
        "{:?}",
        net.mcu
    );
}
