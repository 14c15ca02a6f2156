#![allow(clippy::unwrap_used)] // Tests may unwrap (STYLE.md).

use super::*;

const FIRST: &[u8] = b"MESSAGE sip:amy@confab.local SIP/2.0\r\n\
Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1\r\n\
l: 5\r\n\
\r\n\
hello";
const SECOND: &[u8] = b"SIP/2.0 200 OK\r\n\
Content-Length: 0\r\n\
\r\n";

fn drain(framer: &mut StreamFramer) -> Vec<Vec<u8>> {
    let mut messages = Vec::new();
    while let Some(message) = framer.next_message() {
        messages.push(message.unwrap());
    }
    messages
}

#[test]
fn byte_by_byte_feeding_yields_whole_messages() {
    let mut framer = StreamFramer::new();
    let mut messages = Vec::new();
    for byte in FIRST.iter().chain(SECOND) {
        framer.push(&[*byte]);
        messages.extend(drain(&mut framer));
    }
    assert_eq!(messages, [FIRST.to_vec(), SECOND.to_vec()]);
    assert_eq!(framer.buffered(), 0);
}

#[test]
fn two_messages_in_one_read() {
    let mut framer = StreamFramer::new();
    framer.push(&[FIRST, SECOND].concat());
    assert_eq!(drain(&mut framer), [FIRST.to_vec(), SECOND.to_vec()]);
}

#[test]
fn a_read_split_in_the_body_waits_for_the_rest() {
    let mut framer = StreamFramer::new();
    let split = FIRST.len() - 2;
    framer.push(&FIRST[..split]);
    assert!(framer.next_message().is_none());
    framer.push(&FIRST[split..]);
    assert_eq!(drain(&mut framer), [FIRST.to_vec()]);
}

#[test]
fn double_crlf_pings_are_counted_and_stray_crlfs_skipped() {
    let mut framer = StreamFramer::new();
    framer.push(b"\r\n\r\n\r\n");
    assert!(framer.next_message().is_none());
    assert_eq!(framer.take_pings(), 1);
    framer.push(b"\r\n");
    assert!(framer.next_message().is_none());
    assert_eq!(framer.take_pings(), 1);
    assert_eq!(framer.take_pings(), 0);
    // A ping split across reads is still one ping; a lone CRLF before a
    // message (a pong, or padding) is dropped.
    framer.push(b"\r\n\r");
    assert!(framer.next_message().is_none());
    framer.push(b"\n\r\n");
    framer.push(FIRST);
    assert_eq!(drain(&mut framer), [FIRST.to_vec()]);
    assert_eq!(framer.take_pings(), 1);
}

#[test]
fn a_missing_content_length_ends_the_stream() {
    let mut framer = StreamFramer::new();
    framer.push(b"OPTIONS sip:amy@confab.local SIP/2.0\r\nVia: x\r\n\r\n");
    assert_eq!(
        framer.next_message(),
        Some(Err(FramingError::MissingContentLength))
    );
    framer.push(SECOND);
    assert_eq!(
        framer.next_message(),
        Some(Err(FramingError::MissingContentLength))
    );
    assert_eq!(framer.buffered(), 0);
}

#[test]
fn bad_content_lengths_end_the_stream() {
    for head in [
        &b"SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n"[..],
        b"SIP/2.0 200 OK\r\nContent-Length: 1\r\nl: 2\r\n\r\n",
    ] {
        let mut framer = StreamFramer::new();
        framer.push(head);
        assert!(matches!(
            framer.next_message(),
            Some(Err(FramingError::BadContentLength(_)))
        ));
    }
}

#[test]
fn oversized_headers_and_bodies_are_refused() {
    let mut framer = StreamFramer::with_limits(64, 10);
    framer.push(&[b'a'; 65]);
    assert_eq!(
        framer.next_message(),
        Some(Err(FramingError::HeaderTooLarge { limit: 64 }))
    );

    let mut framer = StreamFramer::with_limits(64, 10);
    framer.push(b"SIP/2.0 200 OK\r\nl: 11\r\n\r\n");
    assert_eq!(
        framer.next_message(),
        Some(Err(FramingError::BodyTooLarge {
            length: 11,
            limit: 10
        }))
    );
}

#[test]
fn the_default_caps_hold_for_endless_headers() {
    let mut framer = StreamFramer::new();
    let line = b"X-Junk: 0123456789012345678901234567890123456789\r\n";
    framer.push(b"OPTIONS sip:a SIP/2.0\r\n");
    let mut result = None;
    for _ in 0..2000 {
        framer.push(line);
        if let Some(r) = framer.next_message() {
            result = Some(r);
            break;
        }
    }
    assert_eq!(
        result,
        Some(Err(FramingError::HeaderTooLarge {
            limit: StreamFramer::DEFAULT_MAX_HEADER
        }))
    );
}
