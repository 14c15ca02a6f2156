//! Conference IM: out to the IM MCU, in from it as CPIM.

use super::*;
use crate::proto::{cpim, iscomposing};

#[test]
fn an_im_and_typing_go_to_the_im_mcu() {
    let mut joined = Joined::new();
    let harness = &mut joined.harness;
    harness.drain_events();
    harness.command(Command::ConferenceIm {
        id: 12,
        text: "hello all".into(),
    });
    let message = harness.take(Method::Message);
    assert_eq!(message.uri.to_string(), chat());
    assert_eq!(header(&message, "To").unwrap(), format!("<{}>", chat()));
    assert!(
        header(&message, "Content-Type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(message.body, b"hello all");
    harness.reply(&message, 200, &[], None);
    assert_eq!(
        harness.drain_events(),
        [Event::ImStatus {
            id: 12,
            to: focus(),
            delivered: true,
            reason: None
        }]
    );

    harness.command(Command::ConferenceTyping);
    let typing = harness.take(Method::Message);
    assert_eq!(typing.uri.to_string(), chat());
    assert_eq!(
        header(&typing, "Content-Type").as_deref(),
        Some(iscomposing::CONTENT_TYPE)
    );
    assert!(iscomposing::parse(&typing.body).unwrap().active);

    // A failed one says so, to the focus.
    harness.command(Command::ConferenceIm {
        id: 13,
        text: "anyone?".into(),
    });
    let message = harness.take(Method::Message);
    harness.reply(&message, 480, &[], None);
    assert!(harness.took(|e| matches!(e,
        Event::ImStatus { id: 13, delivered: false, to, .. } if *to == focus())));
}

/// A MESSAGE from the IM MCU with this Content-Type and body; the status
/// of the client's answer.
fn relay(harness: &mut Harness, content_type: &str, body: &[u8]) -> u16 {
    let cseq = harness.next_cseq();
    let head = format!(
        "MESSAGE sip:vivian@{CLIENT} SIP/2.0\r\n\
         From: <{chat}>;tag=im{cseq}\r\n\
         To: <{VIVIAN}>\r\n\
         Call-ID: relay{cseq}@10.0.0.1\r\n\
         CSeq: {cseq} MESSAGE\r\n\
         Content-Type: {content_type}\r\n",
        chat = chat(),
    );
    harness.send_request(&head, body);
    harness.take_response(Method::Message).status_code.code()
}

#[test]
fn relayed_cpim_is_a_conference_im_from_its_sender() {
    let mut joined = Joined::new();
    let harness = &mut joined.harness;
    harness.drain_events();
    let body = cpim::wrap(
        Some("Amy Rivera"),
        AMY,
        "text/plain;charset=UTF-8",
        "hi both 👋".as_bytes(),
    );
    assert_eq!(relay(harness, cpim::CONTENT_TYPE, &body), 200);
    assert_eq!(
        harness.drain_events(),
        [Event::ConferenceIm {
            focus: focus(),
            from: AMY.into(),
            text: "hi both 👋".into()
        }]
    );

    let typing = iscomposing::IsComposing {
        active: true,
        refresh: Some(60),
        content_type: None,
    };
    let body = cpim::wrap(
        None,
        HAO,
        iscomposing::CONTENT_TYPE,
        typing.to_xml().as_bytes(),
    );
    assert_eq!(relay(harness, cpim::CONTENT_TYPE, &body), 200);
    assert_eq!(
        harness.drain_events(),
        [Event::ConferenceTyping {
            focus: focus(),
            from: HAO.into()
        }]
    );
    // "idle" is answered and shows nothing.
    let idle = iscomposing::IsComposing {
        active: false,
        refresh: None,
        content_type: None,
    };
    let body = cpim::wrap(
        None,
        HAO,
        iscomposing::CONTENT_TYPE,
        idle.to_xml().as_bytes(),
    );
    assert_eq!(relay(harness, cpim::CONTENT_TYPE, &body), 200);
    assert!(harness.drain_events().is_empty());
    // Never a plain IM from the MCU's organizer.
    assert!(!harness.took(|e| matches!(e, Event::Im { .. })));
}

#[test]
fn malformed_relays_are_refused_and_logged() {
    let mut harness = Harness::signed_in("amy");
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (cpim::CONTENT_TYPE, b"no headers at all".to_vec(), 400),
        (cpim::CONTENT_TYPE, b"From: <sip:a@b>\r\n\r\n".to_vec(), 400),
        (
            cpim::CONTENT_TYPE,
            b"Subject: x\r\n\r\n\r\nno sender".to_vec(),
            400,
        ),
        (
            cpim::CONTENT_TYPE,
            b"From: <>\r\n\r\n\r\nbad sender".to_vec(),
            400,
        ),
        (
            cpim::CONTENT_TYPE,
            cpim::wrap(None, AMY, "text/plain", b"\xff\xfe"),
            400,
        ),
        (
            cpim::CONTENT_TYPE,
            cpim::wrap(None, AMY, iscomposing::CONTENT_TYPE, b"<isComposing"),
            400,
        ),
        (
            cpim::CONTENT_TYPE,
            cpim::wrap(None, AMY, "image/png", b"\x89PNG"),
            415,
        ),
        ("application/octet-stream", b"\x00\x01".to_vec(), 415),
    ];
    for (content_type, body, code) in cases {
        assert_eq!(relay(&mut harness, content_type, &body), code, "{body:?}");
    }
    assert!(harness.drain_events().is_empty());
}
