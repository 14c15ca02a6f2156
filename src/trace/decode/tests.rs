use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::proto::conference_uri::ConferencePart;
use crate::trace::testing::{self, AMY_ADDR, AV_MCU, CLIENT, FACTORY, FOCUS, SERVER};
use crate::trace::{Direction, TraceEntry};

fn summary_of(bytes: &[u8]) -> Summary {
    summarize(bytes)
}

#[test]
fn a_request_is_summarized_by_method_uri_call_id_parties_and_cseq() {
    let entries = testing::escalation();
    let service = summary_of(&entries[0].bytes);
    assert_eq!(
        service.start,
        StartLine::Request {
            method: "SERVICE".into(),
            uri: FACTORY.into()
        }
    );
    assert_eq!(service.line(), format!("SERVICE {FACTORY}"));
    assert_eq!(service.call_id.as_deref(), Some("svc-1@127.0.0.1"));
    assert_eq!(service.cseq, Some(1));
    assert_eq!(service.cseq_method.as_deref(), Some("SERVICE"));
    assert_eq!(service.from.as_deref(), Some("sip:vivian@confab.local"));
    assert_eq!(service.from_tag.as_deref(), Some("v1"));
    assert_eq!(service.to.as_deref(), Some(FACTORY));
    assert_eq!(service.branch.as_deref(), Some("z9hG4bKsvc1"));
    assert_eq!(
        service.content_type.as_deref(),
        Some("application/cccp+xml")
    );
    assert_eq!(service.problem, None);
    assert_eq!(service.label(), "SERVICE");
}

#[test]
fn a_response_keeps_its_reason_phrase_and_names_its_request() {
    let ok = summary_of(&testing::escalation()[1].bytes);
    assert_eq!(
        ok.start,
        StartLine::Response {
            code: 200,
            reason: "OK".into()
        }
    );
    assert_eq!(ok.line(), "200 OK (SERVICE)");
    assert_eq!(ok.method(), Some("SERVICE"));
    let odd = summary_of(
        b"SIP/2.0 486 Not Now Thanks\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1\r\n\
From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c\r\nCSeq: 2 INVITE\r\n\
Content-Length: 0\r\n\r\n",
    );
    assert_eq!(odd.label(), "486 Not Now Thanks");
    assert_eq!(odd.status(), Some(486));
}

#[test]
fn a_message_the_parser_refuses_is_still_summarized_with_the_reason() {
    let bytes = b"INVITE sip:amy@x SIP/2.0\r\ni: broken-1\r\nCSeq: 7 INVITE\r\n\
f: \"Amy\" <sip:amy@x>;tag=9\r\n\r\nhello";
    let summary = summary_of(bytes);
    assert!(summary.problem.is_some(), "{summary:?}");
    assert_eq!(summary.label(), "INVITE");
    assert_eq!(summary.call_id.as_deref(), Some("broken-1"));
    assert_eq!(summary.cseq, Some(7));
    assert_eq!(summary.from.as_deref(), Some("sip:amy@x"));
    assert_eq!(summary.from_tag.as_deref(), Some("9"));
    assert_eq!(summary.body, b"hello");
    let junk = summary_of(b"\x00\xffnot sip at all");
    assert!(matches!(junk.start, StartLine::Other(_)));
    assert_eq!(junk.call_id, None);
    assert_eq!(summary_of(b"").label(), "?");
}

#[test]
fn conference_uris_are_named_by_their_part() {
    assert_eq!(party(FOCUS), "focus 4KT9QZ2MABCD1234");
    assert_eq!(party(FACTORY), "focus factory");
    assert_eq!(party(AV_MCU), "A/V MCU 4KT9QZ2MABCD1234");
    assert_eq!(
        party("sip:amy@confab.local;transport=udp"),
        "amy@confab.local"
    );
    assert_eq!(party("tel:+14255550100"), "+14255550100");
    assert_eq!(conference_part(FOCUS), Some(ConferencePart::Focus));
    assert_eq!(conference_part("sip:amy@confab.local"), None);
    assert_eq!(user_of("sip:amy@confab.local"), Some("amy"));
    assert_eq!(user_of("sip:confab.local"), None);
    assert_eq!(
        address_uri("\"A, B\" <sip:a@x;opaque=app:conf:focus:id:1>;tag=3"),
        "sip:a@x;opaque=app:conf:focus:id:1"
    );
    assert_eq!(address_uri("sip:a@x;tag=3"), "sip:a@x");
}

fn body_of(entry: &TraceEntry) -> Vec<String> {
    let summary = summary_of(&entry.bytes);
    decode_body(summary.content_type.as_deref(), &summary.body)
}

#[test]
fn c3p_requests_and_responses_show_command_result_and_focus() {
    let entries = testing::escalation();
    let request = body_of(&entries[0]);
    assert_eq!(request[0], "C3P request addConference (requestId 1)");
    assert!(
        request.contains(&"  from: sip:vivian@confab.local".to_owned()),
        "{request:#?}"
    );
    assert!(
        request.contains(&"  MCUs: chat, audio-video".to_owned()),
        "{request:#?}"
    );
    let response = body_of(&entries[1]);
    assert_eq!(
        response[0],
        "C3P response addConference: success (requestId 1)"
    );
    assert!(
        response.contains(&format!("  focus: {FOCUS}")),
        "{response:#?}"
    );
    let add_user = body_of(&entries[2]);
    assert_eq!(add_user[0], "C3P request addUser (requestId 2)");
    assert!(
        add_user.contains(&"  user: sip:vivian@confab.local, role presenter".to_owned()),
        "{add_user:#?}"
    );
    let failure = decode_body(
        Some("application/cccp+xml"),
        testing::c3p_failure().as_bytes(),
    );
    assert_eq!(
        failure[0],
        "C3P response deleteUser: failure (forbidden) (requestId 9)"
    );
}

#[test]
fn conference_info_shows_version_state_and_each_user_change() {
    let notify = testing::escalation()
        .into_iter()
        .find(|entry| summary_of(&entry.bytes).method() == Some("NOTIFY"))
        .unwrap();
    let lines = body_of(&notify);
    assert_eq!(lines[0], "conference-info version 2, partial");
    assert!(lines.contains(&format!("  entity: {FOCUS}")), "{lines:#?}");
    assert!(
        lines.contains(&"  users (partial): 1".to_owned()),
        "{lines:#?}"
    );
    assert!(
        lines
            .contains(&"    sip:amy@confab.local (full) \"Amy Rivera\", roles attendee".to_owned()),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&"      endpoint audio-video: dialing-out, dialed-out".to_owned()),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&"        media 1 audio sendrecv, src-id 42".to_owned()),
        "{lines:#?}"
    );
}

#[test]
fn conference_media_quality_is_shown_under_its_medium() {
    let info = r#"<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"
        entity="sip:focus@confab.local" state="partial" version="7">
      <users state="partial">
        <user entity="sip:amy@confab.local" state="partial">
          <endpoint entity="sip:amy@confab.local" state="partial">
            <media id="1"><type>audio</type>
              <cq:quality xmlns:cq="urn:x-confab:params:xml:ns:call-quality"
                codec="Opus" loss="2.5" jitter="14" rtt="40"/>
            </media>
            <media id="2"><type>audio</type>
              <cq:quality xmlns:cq="urn:x-confab:params:xml:ns:call-quality" buffer="60"/>
            </media>
          </endpoint>
        </user>
      </users>
    </conference-info>"#;
    let lines = decode_body(Some("application/conference-info+xml"), info.as_bytes());
    let quality: Vec<&str> = lines
        .iter()
        .map(|line| line.trim_start())
        .filter(|line| line.starts_with("quality:"))
        .collect();
    assert_eq!(
        quality,
        [
            "quality: Opus, loss 2.5%, jitter 14 ms, round trip 40 ms",
            "quality: ?, buffer 60 ms"
        ],
        "{lines:#?}"
    );
}

#[test]
fn pidf_sdp_cpim_iscomposing_text_and_binary_bodies_decode() {
    let pidf = decode_body(Some("application/pidf+xml"), testing::pidf().as_bytes());
    assert_eq!(
        pidf,
        vec![
            "PIDF presence of sip:amy@confab.local: In a conference",
            "  note: Planning",
            "  contact: sip:amy@127.0.0.1:5070",
        ]
    );
    let sdp = decode_body(Some("application/sdp"), testing::SDP.as_bytes());
    assert_eq!(
        sdp,
        vec![
            "SDP",
            "  origin: - 1 1 IN IP4 127.0.0.1",
            "  address: IN IP4 127.0.0.1",
            "  audio port 40000 RTP/AVP, formats 111 0 101",
            "    fmtp 111 useinbandfec=1;minptime=10",
            "    direction: sendrecv",
            "    extmap 1 urn:ietf:params:rtp-hdrext:csrc-audio-level",
            "    codecs: opus/48000/2 (111), PCMU/8000 (0), telephone-event/8000 (101)",
        ]
    );
    let cpim = decode_body(Some("message/cpim"), &testing::cpim());
    assert_eq!(
        cpim,
        vec![
            "CPIM message from Amy Rivera <sip:amy@confab.local>",
            "  content: text/plain",
            "    Hello all",
        ]
    );
    let composing = decode_body(
        Some("application/im-iscomposing+xml"),
        testing::iscomposing().as_bytes(),
    );
    assert_eq!(
        composing,
        vec!["isComposing: active, refresh 60 s, composing text/plain"]
    );
    assert_eq!(
        decode_body(Some("text/plain"), b"one\r\ntwo"),
        vec!["one", "two"]
    );
    let binary = decode_body(Some("application/octet-stream"), &[0, 1, 2, 0xff]);
    assert_eq!(binary, vec!["4 bytes of binary data", "  00 01 02 ff"]);
    let broken = decode_body(Some("application/pidf+xml"), b"<presence");
    assert!(
        broken[0].starts_with("unreadable application/pidf+xml: "),
        "{broken:?}"
    );
    assert_eq!(broken[1], "  <presence");
    assert!(decode_body(None, b"").is_empty());
}

#[test]
fn decoding_is_bounded_and_never_panics() {
    let many = "a\n".repeat(10_000);
    assert_eq!(
        decode_body(Some("text/plain"), many.as_bytes()).len(),
        body::MAX_LINES
    );
    for content_type in [
        "application/cccp+xml",
        "application/conference-info+xml",
        "application/pidf+xml",
        "application/sdp",
        "message/cpim",
        "application/im-iscomposing+xml",
    ] {
        for body in [
            &b"\xff\xfe<"[..],
            b"m=",
            b"a=rtpmap:",
            b"From: <\n\n",
            b"<x/>",
        ] {
            let _ = decode_body(Some(content_type), body);
        }
    }
}

fn dialogs_of(entries: &[TraceEntry]) -> Dialogs {
    let mut dialogs = Dialogs::new();
    for (seq, entry) in entries.iter().enumerate() {
        dialogs.push(seq as u64, entry.at, &summary_of(&entry.bytes));
    }
    dialogs
}

#[test]
fn messages_group_by_call_id_with_the_first_requests_method_parties_and_a_state() {
    let entries = testing::escalation();
    let dialogs = dialogs_of(&entries);
    let rows: Vec<(String, String, String)> = dialogs
        .list()
        .iter()
        .map(|d| (d.method.clone(), party(&d.to), d.state.label()))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("SERVICE".into(), "focus factory".into(), "200 OK".into()),
            (
                "INVITE".into(),
                "focus 4KT9QZ2MABCD1234".into(),
                "connected".into()
            ),
            ("INVITE".into(), "amy@confab.local".into(), "ringing".into()),
            (
                "SUBSCRIBE".into(),
                "focus 4KT9QZ2MABCD1234".into(),
                "active".into()
            ),
        ]
    );
    let service = dialogs.get("svc-1@127.0.0.1").unwrap();
    assert_eq!(service.messages, vec![0, 1]);
    assert_eq!(service.first_at, entries[0].at);
    assert!(dialogs.list()[3].methods.contains("NOTIFY"));
}

fn message(start: &str, call_id: &str, cseq: &str, extra: &str) -> Vec<u8> {
    format!(
        "{start}\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK{cseq}\r\n\
From: <sip:vivian@confab.local>;tag=v\r\nTo: <sip:amy@confab.local>\r\n\
Call-ID: {call_id}\r\nCSeq: {cseq}\r\n{extra}Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn states(steps: &[(&str, &str, &str)]) -> Vec<String> {
    let mut dialogs = Dialogs::new();
    steps
        .iter()
        .enumerate()
        .map(|(seq, (start, cseq, extra))| {
            let summary = summary_of(&message(start, "x", cseq, extra));
            dialogs.push(seq as u64, UNIX_EPOCH, &summary);
            dialogs.list()[0].state.label()
        })
        .collect()
}

#[test]
fn an_invite_dialog_goes_calling_ringing_connected_ended_or_fails() {
    let invite = "INVITE sip:amy@confab.local SIP/2.0";
    assert_eq!(
        states(&[
            (invite, "1 INVITE", ""),
            ("SIP/2.0 407 Proxy Authentication Required", "1 INVITE", ""),
            (invite, "2 INVITE", ""),
            ("SIP/2.0 100 Trying", "2 INVITE", ""),
            ("SIP/2.0 180 Ringing", "2 INVITE", ""),
            ("SIP/2.0 200 OK", "2 INVITE", ""),
            (invite, "3 INVITE", ""),
            ("SIP/2.0 200 OK", "3 INVITE", ""),
            ("BYE sip:amy@confab.local SIP/2.0", "4 BYE", ""),
            ("SIP/2.0 200 OK", "4 BYE", ""),
        ]),
        vec![
            "calling",
            "failed 407 Proxy Authentication Required",
            "calling",
            "calling",
            "ringing",
            "connected",
            "connected",
            "connected",
            "ended",
            "ended"
        ]
    );
    assert_eq!(
        states(&[
            (invite, "1 INVITE", ""),
            ("CANCEL sip:amy@confab.local SIP/2.0", "1 CANCEL", ""),
            ("SIP/2.0 200 OK", "1 CANCEL", ""),
            ("SIP/2.0 487 Request Terminated", "1 INVITE", ""),
        ]),
        vec![
            "calling",
            "calling",
            "calling",
            "failed 487 Request Terminated"
        ]
    );
}

#[test]
fn other_dialogs_show_their_last_answer_or_the_subscription_state() {
    let subscribe = "SUBSCRIBE sip:amy@confab.local SIP/2.0";
    let notify = "NOTIFY sip:vivian@127.0.0.1 SIP/2.0";
    assert_eq!(
        states(&[
            (subscribe, "1 SUBSCRIBE", ""),
            ("SIP/2.0 401 Unauthorized", "1 SUBSCRIBE", ""),
            (subscribe, "2 SUBSCRIBE", ""),
            ("SIP/2.0 200 OK", "2 SUBSCRIBE", ""),
            (
                notify,
                "1 NOTIFY",
                "Subscription-State: active;expires=600\r\n"
            ),
            ("SIP/2.0 200 OK", "1 NOTIFY", ""),
            (subscribe, "3 SUBSCRIBE", ""),
            ("SIP/2.0 200 OK", "3 SUBSCRIBE", ""),
            (
                notify,
                "2 NOTIFY",
                "Subscription-State: terminated;reason=timeout\r\n"
            ),
        ]),
        vec![
            "waiting",
            "401 Unauthorized",
            "401 Unauthorized",
            "200 OK",
            "active",
            "active",
            "active",
            "active",
            "terminated"
        ]
    );
}

#[test]
fn lanes_put_the_focus_and_the_mcus_beside_the_server() {
    let entries = testing::escalation();
    let mut lanes = Lanes::default();
    lanes.set_own(CLIENT);
    for entry in &entries {
        lanes.observe(entry, &summary_of(&entry.bytes));
    }
    assert_eq!(
        lanes.server(),
        Some(SERVER),
        "found from the conference lanes"
    );
    let ends = |entry: &TraceEntry| {
        let (from, to) = lanes::endpoints(entry, &summary_of(&entry.bytes));
        (lanes.label(from), lanes.label(to))
    };
    let pairs: Vec<(String, String)> = entries.iter().map(ends).collect();
    assert_eq!(pairs[0], ("this client".into(), "focus factory".into()));
    assert_eq!(pairs[1], ("focus factory".into(), "this client".into()));
    assert_eq!(pairs[2], ("this client".into(), "focus".into()));
    let dial_out = entries
        .iter()
        .position(|e| e.destination() == AMY_ADDR)
        .unwrap();
    assert_eq!(pairs[dial_out], ("A/V MCU".into(), "amy".into()));
    assert_eq!(pairs[dial_out + 1], ("amy".into(), "A/V MCU".into()));
    let plain = TraceEntry {
        at: UNIX_EPOCH + Duration::from_secs(1),
        direction: Direction::Sent,
        transport: crate::proto::Transport::Udp,
        local: CLIENT,
        peer: SERVER,
        bytes: message("REGISTER sip:confab.local SIP/2.0", "r", "1 REGISTER", ""),
    };
    let (from, to) = lanes::endpoints(&plain, &summary_of(&plain.bytes));
    assert_eq!(
        (lanes.label(from), lanes.label(to)),
        ("this client".into(), "server".into())
    );
    assert!(lanes.rank(from) < lanes.rank(to));
    let mut guessed = Lanes::default();
    guessed.observe(&plain, &summary_of(&plain.bytes));
    assert_eq!(
        guessed.server(),
        Some(SERVER),
        "a REGISTER goes to the server"
    );
    assert_eq!(guessed.label(from), "vivian");
}
