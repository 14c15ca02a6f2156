//! Every input the fuzzer (fuzz/, target `sip_message`) ever crashed on,
//! kept in tests/fixtures/fuzz/ and replayed with the target's checks.

use std::path::Path;

use confab::proto::framing::StreamFramer;
use confab::proto::message::{parse, to_bytes};

/// The properties the fuzz target asserts, for one input.
fn check(input: &[u8]) {
    match parse(input) {
        Ok(message) => {
            let printed = to_bytes(&message);
            let again = parse(&printed).expect("a printed message parses again");
            assert_eq!(again.body(), message.body());
        }
        Err(error) => {
            // A reply copies the request's fields as they came, so it need
            // not parse; it must print with a sane Status-Line.
            if let Some(reply) = error.reply() {
                let printed = to_bytes(&reply.into());
                assert!(printed.starts_with(b"SIP/2.0 "));
                let _ = parse(&printed);
            }
        }
    }
    let mut whole = StreamFramer::new();
    whole.push(input);
    let mut bytewise = StreamFramer::new();
    let mut expected = Vec::new();
    while let Some(message) = whole.next_message() {
        let failed = message.is_err();
        expected.push(message);
        if failed {
            break;
        }
    }
    let mut got = Vec::new();
    for byte in input {
        bytewise.push(&[*byte]);
        while let Some(message) = bytewise.next_message() {
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
}

#[test]
fn fuzz_findings_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    files.sort();
    for file in files {
        let input = std::fs::read(&file).unwrap();
        // The fuzz target spends its first byte on the chunking.
        let message = input.split_first().map_or(&input[..], |(_, rest)| rest);
        check(message);
    }
}

#[test]
fn rfc4475_messages_pass_the_fuzz_checks() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rfc4475");
    for entry in std::fs::read_dir(dir).unwrap() {
        check(&std::fs::read(entry.unwrap().path()).unwrap());
    }
}
