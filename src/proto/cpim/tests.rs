// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

const TEXT: &str = "text/plain;charset=UTF-8";

#[test]
fn what_wrap_writes_parse_reads_back() {
    let body = wrap(Some("Amy Lee"), "sip:amy@confab.local", TEXT, b"hello all");
    assert_eq!(
        String::from_utf8(body.clone()).unwrap(),
        "From: \"Amy Lee\" <sip:amy@confab.local>\r\n\r\n\
         Content-Type: text/plain;charset=UTF-8\r\n\r\nhello all"
    );
    let message = parse(&body).unwrap();
    assert_eq!(
        message.from,
        Some(CpimAddress {
            display: Some("Amy Lee".into()),
            uri: "sip:amy@confab.local".into(),
        })
    );
    assert_eq!(message.content_type.as_deref(), Some(TEXT));
    assert_eq!(message.media_type().as_deref(), Some("text/plain"));
    assert_eq!(message.body, b"hello all");
}

#[test]
fn a_sender_without_a_name_has_none() {
    let body = wrap(None, "sip:hao@confab.local", TEXT, b"");
    let message = parse(&body).unwrap();
    let from = message.from.unwrap();
    assert_eq!(from.display, None);
    assert_eq!(from.uri, "sip:hao@confab.local");
    assert!(message.body.is_empty());
    // A name of white space is no name.
    let body = wrap(Some("  "), "sip:hao@confab.local", TEXT, b"x");
    assert_eq!(parse(&body).unwrap().from.unwrap().display, None);
}

/// RFC 3862 §2's example, with its MIME header left out as SIP carries it
/// in Content-Type.
#[test]
fn the_rfc_example_reads() {
    let body = b"From: MR SANDERS <im:piglet@100akerwood.com>\r\n\
To: Depressed Donkey <im:eeyore@100akerwood.com>\r\n\
DateTime: 2000-12-13T13:40:00-08:00\r\n\
Subject: the weather will be fine today\r\n\
\r\n\
Content-type: text/xml; charset=utf-8\r\n\
Content-ID: <1234567890@foo.com>\r\n\
\r\n\
<body>\r\nHere is the text of my message.\r\n</body>\r\n";
    let message = parse(body).unwrap();
    let from = message.from.clone().unwrap();
    assert_eq!(from.display.as_deref(), Some("MR SANDERS"));
    assert_eq!(from.uri, "im:piglet@100akerwood.com");
    assert_eq!(message.to.len(), 1);
    assert_eq!(message.to[0].uri, "im:eeyore@100akerwood.com");
    assert_eq!(
        message.header("subject"),
        Some("the weather will be fine today")
    );
    assert_eq!(message.media_type().as_deref(), Some("text/xml"));
    assert_eq!(message.content_headers.len(), 2);
    assert!(message.body.starts_with(b"<body>"));
}

#[test]
fn lenient_forms_are_read() {
    // Bare LF, no space after the colon, a folded content header, a bare URI.
    let body = b"From:sip:amy@confab.local\nNS: MyFeatures <mid:MessageFeatures@id.foo.com>\n\n\
Content-Type: text/plain;\n charset=UTF-8\n\nhi";
    let message = parse(body).unwrap();
    assert_eq!(message.from.unwrap().uri, "sip:amy@confab.local");
    assert_eq!(
        message.content_type.as_deref(),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(message.body, b"hi");
}

#[test]
fn quoted_names_undo_their_escapes() {
    let body = wrap(
        Some("Vivian \"V\" \\ Ng"),
        "sip:vivian@confab.local",
        TEXT,
        b"x",
    );
    let from = parse(&body).unwrap().from.unwrap();
    assert_eq!(from.display.as_deref(), Some("Vivian \"V\" \\ Ng"));
    assert_eq!(from.uri, "sip:vivian@confab.local");
}

#[test]
fn hostile_values_cannot_add_header_lines() {
    let body = wrap(
        Some("Eve\r\nTo: <sip:all@x>"),
        "sip:eve@x>\r\nFrom: <sip:amy@confab.local",
        "text/plain\r\n\r\ninjected",
        b"real",
    );
    let message = parse(&body).unwrap();
    assert_eq!(message.headers.len(), 1, "{message:?}");
    assert!(message.to.is_empty());
    let from = message.from.unwrap();
    assert_eq!(from.display.as_deref(), Some("EveTo: <sip:all@x>"));
    assert!(!from.uri.contains(['<', '>', '\r', '\n']), "{}", from.uri);
    assert_eq!(message.content_headers.len(), 1);
    assert_eq!(message.body, b"real");
}

#[test]
fn malformed_bodies_are_errors() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "empty"),
        (b"From: <sip:a@b>\r\n", "no end of the message headers"),
        (
            b"From: <sip:a@b>\r\n\r\nContent-Type: text/plain\r\n",
            "no end of the content headers",
        ),
        (b"From <sip:a@b>\r\n\r\n\r\nx", "no colon"),
        (b": nameless\r\n\r\n\r\nx", "no name"),
        (
            b" From: <sip:a@b>\r\n\r\n\r\nx",
            "folding in message headers",
        ),
        (b"From: \"Amy <sip:a@b>\r\n\r\n\r\nx", "unclosed quote"),
        (b"From: Amy <sip:a@b\r\n\r\n\r\nx", "unclosed bracket"),
        (b"From: <>\r\n\r\n\r\nx", "empty URI"),
        (b"From: <amy>\r\n\r\n\r\nx", "no scheme"),
        (b"From: <sip:a b@c>\r\n\r\n\r\nx", "space in URI"),
        (b"From: <sip:\xff@b>\r\n\r\n\r\nx", "not UTF-8"),
    ];
    for (body, why) in cases {
        assert!(parse(body).is_err(), "{why}: {:?}", parse(body));
    }
}

#[test]
fn limits_are_enforced() {
    let big = vec![b'a'; MAX_MESSAGE_BYTES + 1];
    assert!(matches!(parse(&big), Err(CpimError::TooLarge { .. })));

    let long_line = format!("X: {}\r\n\r\n\r\n", "v".repeat(MAX_LINE_BYTES));
    assert_eq!(
        parse(long_line.as_bytes()),
        Err(CpimError::LineTooLong {
            limit: MAX_LINE_BYTES
        })
    );

    let many: String = (0..=MAX_HEADERS).map(|i| format!("H{i}: v\r\n")).collect();
    let many = format!("{many}\r\n\r\n");
    assert_eq!(
        parse(many.as_bytes()),
        Err(CpimError::TooManyHeaders { limit: MAX_HEADERS })
    );

    // Folding cannot grow a value past the line limit.
    let folds: String = (0..MAX_HEADERS)
        .map(|_| format!(" {}\r\n", "f".repeat(200)))
        .collect();
    let folded = format!("From: <sip:a@b>\r\n\r\nContent-Type: t\r\n{folds}\r\nx");
    assert!(matches!(
        parse(folded.as_bytes()),
        Err(CpimError::LineTooLong { .. })
    ));

    // The content itself may be any bytes, up to the overall limit.
    let mut binary = wrap(None, "sip:a@b", "application/octet-stream", &[0, 255, 13]);
    binary.extend_from_slice(b"\r\n\r\n");
    assert_eq!(parse(&binary).unwrap().body, [0, 255, 13, 13, 10, 13, 10]);
}

/// Random bytes and random cuts and flips of a good body: an answer every
/// time, never a panic.
#[test]
fn any_input_gets_an_answer() {
    let mut rng = StdRng::seed_from_u64(3862);
    let good = wrap(Some("Amy"), "sip:amy@confab.local", TEXT, b"hello");
    for _ in 0..2000 {
        let mut body = good.clone();
        for _ in 0..rng.random_range(1..6) {
            let index = rng.random_range(0..body.len());
            match rng.random_range(0..3) {
                0 => body[index] = rng.random(),
                1 => body.truncate(index),
                _ => body.insert(
                    index,
                    *b"\r\n<>\":; \\".get(rng.random_range(0..9)).unwrap(),
                ),
            }
            if body.is_empty() {
                break;
            }
        }
        let _ = parse(&body);
        let noise: Vec<u8> = (0..rng.random_range(0..64)).map(|_| rng.random()).collect();
        let _ = parse(&noise);
    }
}
