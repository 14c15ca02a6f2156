use super::super::*;
use super::mutations;

/// V=2, M=1, PT=111, seq 0x1234, ts 0xdeadbeef, SSRC 0x01020304, "opus".
const PLAIN: &[u8] = &[
    0x80, 0xef, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, b'o', b'p', b'u', b's',
];

fn full_header() -> RtpHeader<'static> {
    RtpHeader {
        padding: 4,
        extension: Some(HeaderExtension {
            profile: 0xbede,
            data: &[0x10, 0xaa, 0, 0],
        }),
        marker: false,
        payload_type: 0,
        sequence: 65_535,
        timestamp: 160,
        ssrc: 0xcafe_f00d,
        csrcs: vec![1, 2, 3],
    }
}

#[test]
fn reads_the_fixed_header_in_place() {
    let packet = parse(PLAIN).unwrap();
    assert_eq!(
        packet.header,
        RtpHeader {
            marker: true,
            payload_type: 111,
            sequence: 0x1234,
            timestamp: 0xdead_beef,
            ssrc: 0x0102_0304,
            ..RtpHeader::default()
        }
    );
    assert_eq!(packet.payload, b"opus");
    assert!(std::ptr::eq(packet.payload.as_ptr(), PLAIN[12..].as_ptr()));

    let mut out = Vec::new();
    write(&packet.header, packet.payload, &mut out).unwrap();
    assert_eq!(out, PLAIN);
}

#[test]
fn csrcs_extension_and_padding_round_trip() {
    let header = full_header();
    let mut out = Vec::new();
    write(&header, b"pcmu", &mut out).unwrap();
    // 12 fixed + 12 CSRC + 4 + 4 extension + 4 payload + 4 padding.
    assert_eq!(out.len(), 40);
    assert_eq!(out[0], 0x80 | 0x20 | 0x10 | 3);
    assert_eq!(&out[36..], &[0, 0, 0, 4]);
    let packet = parse(&out).unwrap();
    assert_eq!(packet.header, header);
    assert_eq!(packet.payload, b"pcmu");
}

#[test]
fn bad_packets_are_errors() {
    let mut v1 = PLAIN.to_vec();
    v1[0] = 0x40;
    assert_eq!(parse(&v1), Err(RtpError::BadVersion(1)));
    assert!(matches!(
        parse(&PLAIN[..11]),
        Err(RtpError::Truncated { .. })
    ));

    // CC=15 with only a 4-byte payload behind the fixed header.
    let mut csrcs = PLAIN.to_vec();
    csrcs[0] |= 0x0f;
    assert!(matches!(
        parse(&csrcs),
        Err(RtpError::Truncated {
            what: "CSRC list",
            ..
        })
    ));

    // X set; the "extension" says 0x7075 words follow.
    let mut extension = PLAIN.to_vec();
    extension[0] |= 0x10;
    assert!(matches!(parse(&extension), Err(RtpError::Truncated { .. })));

    // P set: the last octet, b's' = 115, counts more than there is.
    let mut padding = PLAIN.to_vec();
    padding[0] |= 0x20;
    assert_eq!(
        parse(&padding),
        Err(RtpError::BadPadding {
            padding: 115,
            available: 4
        })
    );
    // A count of zero cannot count itself.
    *padding.last_mut().unwrap() = 0;
    assert!(matches!(parse(&padding), Err(RtpError::BadPadding { .. })));
    // The whole payload may be padding.
    *padding.last_mut().unwrap() = 4;
    assert_eq!(parse(&padding).unwrap().payload, b"");
}

#[test]
fn unwritable_headers_append_nothing() {
    let mut out = vec![9];
    let mut header = full_header();
    header.csrcs = vec![0; 16];
    assert_eq!(
        write(&header, b"", &mut out),
        Err(RtpError::TooManyCsrcs(16))
    );
    let mut header = full_header();
    header.extension = Some(HeaderExtension {
        profile: 1,
        data: &[1, 2, 3],
    });
    assert_eq!(
        write(&header, b"", &mut out),
        Err(RtpError::BadExtension(3))
    );
    let mut header = full_header();
    header.payload_type = 128;
    assert_eq!(
        write(&header, b"", &mut out),
        Err(RtpError::BadPayloadType(128))
    );
    assert_eq!(out, [9]);
}

#[test]
fn rtcp_is_told_from_rtp_on_a_shared_port() {
    assert!(!is_rtcp(PLAIN));
    assert!(is_rtcp(&[0x80, 200, 0, 6]));
    assert!(is_rtcp(&[0x81, 201, 0, 7]));
    assert!(!is_rtcp(&[0x80]));
    assert!(!is_rtcp(&[]));
}

#[test]
fn mutated_packets_never_panic_and_what_parses_writes_back() {
    let mut full = Vec::new();
    write(&full_header(), b"some payload", &mut full).unwrap();
    for valid in [PLAIN, full.as_slice()] {
        for bytes in mutations(valid, 3550, 3000) {
            let Ok(packet) = parse(&bytes) else { continue };
            let mut out = Vec::new();
            write(&packet.header, packet.payload, &mut out).unwrap();
            assert_eq!(parse(&out).unwrap(), packet);
            // Only the padding's filler may differ.
            let filler = usize::from(packet.header.padding.saturating_sub(1));
            let end = out.len() - filler - usize::from(packet.header.padding > 0);
            assert_eq!(out[..end], bytes[..end]);
        }
    }
}
