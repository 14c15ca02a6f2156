//! Fuzzes everything that reads SIP from the network: `parse`, the replies
//! built for refused requests, the `to_bytes` round trip, and the stream
//! framer under random chunking. Any panic is a bug; so is a message that
//! parsed but does not parse again once printed.

#![no_main]

use confab::proto::framing::StreamFramer;
use confab::proto::message::{parse, to_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk sizes for the framer; the rest is the
    // message (or stream).
    let (seed, input) = match data.split_first() {
        Some((seed, rest)) => (*seed, rest),
        None => (0, data),
    };

    match parse(input) {
        Ok(message) => {
            let printed = to_bytes(&message);
            let again = parse(&printed).unwrap_or_else(|e| {
                panic!(
                    "printed message does not parse again: {e}\n{}",
                    String::from_utf8_lossy(&printed)
                )
            });
            assert_eq!(again.body(), message.body());
        }
        Err(error) => {
            // A reply copies the request's fields as they came, malformed or
            // not, so it need not parse; it must print with a sane
            // Status-Line.
            if let Some(reply) = error.reply() {
                let printed = to_bytes(&reply.into());
                assert!(printed.starts_with(b"SIP/2.0 "));
                let _ = parse(&printed);
            }
        }
    }

    // The framer must return the same messages whatever the chunking.
    let mut whole = StreamFramer::new();
    whole.push(input);
    let mut chunked = StreamFramer::new();
    let mut expected = Vec::new();
    while let Some(message) = whole.next_message() {
        let failed = message.is_err();
        expected.push(message);
        if failed {
            break;
        }
    }
    let mut got = Vec::new();
    let mut step = usize::from(seed % 17) + 1;
    let mut offset = 0;
    while offset < input.len() {
        let end = (offset + step).min(input.len());
        chunked.push(&input[offset..end]);
        offset = end;
        step = step % 13 + 1;
        while let Some(message) = chunked.next_message() {
            let failed = message.is_err();
            got.push(message);
            if failed {
                break;
            }
        }
        if got.last().is_some_and(|m| m.is_err()) {
            break;
        }
    }
    assert_eq!(got, expected);
    for message in expected.into_iter().flatten() {
        let _ = parse(&message);
    }
});
