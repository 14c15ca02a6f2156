use super::*;

fn entry(direction: Direction, millis: u64, bytes: &[u8]) -> TraceEntry {
    TraceEntry {
        at: UNIX_EPOCH + Duration::from_millis(millis),
        direction,
        transport: Transport::Udp,
        local: "127.0.0.1:5060".parse().unwrap(),
        peer: "127.0.0.1:40000".parse().unwrap(),
        bytes: bytes.to_vec(),
    }
}

fn written(entries: &[TraceEntry]) -> Vec<u8> {
    let mut writer = TraceWriter::new(Vec::new()).unwrap();
    for entry in entries {
        writer.write_entry(entry).unwrap();
    }
    writer.into_inner()
}

const INVITE: &[u8] = b"INVITE sip:amy@confab.local SIP/2.0\r\nCall-ID: a\r\n\
Content-Type: application/sdp\r\nContent-Length: 12\r\n\r\nv=0\r\no=- 1\r\n";

#[test]
fn entries_come_back_byte_for_byte_whatever_the_body() {
    let entries = vec![
        entry(Direction::Received, 1_740_824_130_123, INVITE),
        // A body without a final newline, with bare LF, CR, NUL and
        // bytes that are not UTF-8; and one that looks like a header line.
        entry(
            Direction::Sent,
            1_740_824_130_125,
            b"MESSAGE sip:x SIP/2.0\r\n\r\nline\nCR\r\x00\xff\xfe\n2025-03-01T10:15:30.123Z sent UDP 1.2.3.4:5 -> 1.2.3.4:6 3 bytes",
        ),
        entry(Direction::Sent, 0, b""),
        TraceEntry {
            transport: Transport::Tcp,
            ..entry(Direction::Received, 86_400_000 * 366, b"\n\n")
        },
    ];
    let file = written(&entries);
    assert_eq!(read(&file).unwrap(), entries);
}

#[test]
fn the_header_line_reads_as_a_person_expects() {
    let file = written(&[
        entry(Direction::Received, 1_740_824_130_123, b"OPTIONS"),
        entry(Direction::Sent, 1_740_824_130_999, b"SIP/2.0 200 OK"),
    ]);
    let text = String::from_utf8(file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], FILE_HEADER);
    assert_eq!(
        lines[1],
        "2025-03-01T10:15:30.123Z received UDP 127.0.0.1:40000 -> 127.0.0.1:5060 7 bytes"
    );
    assert_eq!(lines[2], "OPTIONS");
    assert_eq!(
        lines[3],
        "2025-03-01T10:15:30.999Z sent UDP 127.0.0.1:5060 -> 127.0.0.1:40000 14 bytes"
    );
}

#[test]
fn times_round_trip_across_leap_days_and_centuries() {
    for (millis, text) in [
        (0, "1970-01-01T00:00:00.000Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (1_709_214_300_001, "2024-02-29T13:45:00.001Z"),
        (4_107_542_399_999, "2100-02-28T23:59:59.999Z"),
        (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
    ] {
        let at = UNIX_EPOCH + Duration::from_millis(millis);
        assert_eq!(format_time(at), text);
        assert_eq!(parse_time(text), Some(at), "{text}");
    }
    assert_eq!(
        parse_time("2025-03-01T10:15:30Z"),
        Some(UNIX_EPOCH + Duration::from_secs(1_740_824_130))
    );
    for bad in [
        "2025-02-29T00:00:00.000Z",
        "2025-13-01T00:00:00.000Z",
        "2025-03-01T24:00:00.000Z",
        "2025-03-01 10:15:30.123Z",
        "2025-03-01T10:15:30.123",
        "1969-12-31T23:59:59.000Z",
        "2025-3-01T10:15:30.123Z",
        "2025-03-01T10:15:30.Z",
        "+025-03-01T10:15:30.123Z",
    ] {
        assert_eq!(parse_time(bad), None, "{bad}");
    }
}

fn error_of(text: &[u8]) -> String {
    read(text).unwrap_err().to_string()
}

#[test]
fn errors_name_the_line() {
    let good = "2025-03-01T10:15:30.123Z sent UDP 127.0.0.1:1 -> 127.0.0.1:2 2 bytes\nab\n";
    assert_eq!(
        error_of(format!("# comment\n\n{good}garbage here\n").as_bytes()),
        "line 5: expected TIME sent|received TRANSPORT FROM -> TO N bytes, found \"garbage here\""
    );
    assert!(
        error_of(b"2025-03-01T10:15:30.123Z sent UDP 127.0.0.1:1 -> 127.0.0.1:2 10 bytes\nabc")
            .starts_with("line 1: the message is cut short: 10 bytes announced, 3 present"),
    );
    assert_eq!(
        error_of(b"x\n2025-03-01T10:15:30.123Z sent UDP 127.0.0.1:1 -> 127.0.0.1:2 1 bytes\nab\n"),
        "line 1: expected TIME sent|received TRANSPORT FROM -> TO N bytes, found \"x\""
    );
    assert_eq!(
        error_of(
            format!(
                "{good}2025-03-01T10:15:30.123Z sent UDP 127.0.0.1:1 -> 127.0.0.1:2 1 bytes\nab\n"
            )
            .as_bytes()
        ),
        "line 4: no newline after the message: is the byte count right?"
    );
    for (header, wanted) in [
        (
            "2025-03-01T10:15:30.123Z went UDP 1.2.3.4:1 -> 1.2.3.4:2 1 bytes",
            "neither sent nor received",
        ),
        (
            "2025-03-01T10:15:30.123Z sent SCTP 1.2.3.4:1 -> 1.2.3.4:2 1 bytes",
            "neither UDP nor TCP",
        ),
        (
            "2025-03-01T10:15:30.123Z sent UDP 1.2.3.4 -> 1.2.3.4:2 1 bytes",
            "not an address",
        ),
        (
            "2025-03-01T10:15:30.123Z sent UDP 1.2.3.4:1 <- 1.2.3.4:2 1 bytes",
            "FROM -> TO",
        ),
        (
            "2025-03-01T10:15:30.123Z sent UDP 1.2.3.4:1 -> 1.2.3.4:2 -1 bytes",
            "not a byte count",
        ),
        (
            "2025-03-01T10:15:30.123Z sent UDP 1.2.3.4:1 -> 1.2.3.4:2 99999999999 bytes",
            "over the limit",
        ),
        (
            "yesterday sent UDP 1.2.3.4:1 -> 1.2.3.4:2 1 bytes",
            "not a time",
        ),
    ] {
        let error = error_of(format!("{header}\nx\n").as_bytes());
        assert!(
            error.starts_with("line 1: ") && error.contains(wanted),
            "{header}: {error}"
        );
    }
    assert!(error_of(b"\xff\xfe\n").contains("not UTF-8"));
    assert!(error_of(&[b'a'; 600]).contains("header line of 600 bytes"));
}

#[test]
fn a_file_cut_short_yields_what_came_before_then_the_error() {
    let mut file = written(&[
        entry(Direction::Sent, 1, b"one"),
        entry(Direction::Sent, 2, b"two"),
    ]);
    file.truncate(file.len() - 3);
    let mut reader = TraceReader::new(&file);
    assert_eq!(reader.next().unwrap().unwrap().bytes, b"one");
    assert!(matches!(
        reader.next(),
        Some(Err(TraceFileError::Truncated {
            announced: 3,
            present: 1,
            ..
        }))
    ));
    assert!(reader.next().is_none(), "nothing after an error");
    // Without the final newline, the last message still reads.
    let mut file = written(&[entry(Direction::Sent, 1, b"one")]);
    file.pop();
    assert_eq!(read(&file).unwrap().len(), 1);
    assert!(read(b"").unwrap().is_empty());
    assert!(read(b"# only a comment\r\n\r\n").unwrap().is_empty());
}

#[test]
fn any_bytes_are_read_without_a_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let base = written(&[
        entry(Direction::Received, 1_740_824_130_123, INVITE),
        entry(
            Direction::Sent,
            1_740_824_130_125,
            b"SIP/2.0 200 OK\r\n\r\n",
        ),
    ]);
    for _ in 0..2_000 {
        let mut bytes = base.clone();
        for _ in 0..rng.random_range(1..6) {
            let at = rng.random_range(0..bytes.len());
            match rng.random_range(0..3) {
                0 => bytes[at] = rng.random(),
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, rng.random()),
            }
        }
        let _ = read(&bytes);
        let _ = TraceReader::new(&bytes).count();
    }
}
