use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::super::*;

fn one_byte(data: &[u8]) -> HeaderExtension<'_> {
    HeaderExtension {
        profile: ONE_BYTE_PROFILE,
        data,
    }
}

fn read_all(data: &[u8]) -> Result<Vec<ExtensionElement<'_>>, RtpError> {
    one_byte_elements(&one_byte(data))?.collect()
}

#[test]
fn elements_round_trip_in_whole_words() {
    let sixteen = [0xa5; 16];
    let elements = [
        ExtensionElement {
            id: 1,
            data: &[5, 40, 127],
        },
        ExtensionElement {
            id: 14,
            data: &sixteen,
        },
        ExtensionElement { id: 3, data: &[9] },
    ];
    let mut out = vec![0xee];
    write_one_byte(&elements, &mut out).unwrap();
    let data = &out[1..];
    // 1 + 3, 1 + 16, 1 + 1 = 23 bytes, padded to 24.
    assert_eq!(data.len(), 24);
    assert_eq!(&data[..4], &[0x12, 5, 40, 127]);
    assert_eq!(data[4], 0xef, "ID 14, length 16 written as 15");
    assert_eq!(data[23], 0, "zero padding");
    assert_eq!(read_all(data).unwrap(), elements);
    assert_eq!(find_one_byte(&one_byte(data), 3), Ok(Some(&[9][..])));
    assert_eq!(find_one_byte(&one_byte(data), 2), Ok(None));

    // Through a whole RTP packet and back.
    let header = RtpHeader {
        extension: Some(one_byte(data)),
        csrcs: vec![7, 9, 11],
        ..RtpHeader::default()
    };
    let mut datagram = Vec::new();
    write(&header, b"mix", &mut datagram).unwrap();
    let packet = parse(&datagram).unwrap();
    let extension = packet.header.extension.unwrap();
    let levels: Vec<u8> = csrc_audio_levels(find_one_byte(&extension, 1).unwrap().unwrap())
        .map(AudioLevel::minus_dbov)
        .collect();
    assert_eq!(levels, [5, 40, 127]);

    let mut empty = Vec::new();
    write_one_byte(&[], &mut empty).unwrap();
    assert!(empty.is_empty());
}

#[test]
fn padding_between_elements_is_skipped_and_id_15_ends_the_run() {
    let data = [0, 0x10, 7, 0, 0, 0x21, 1, 2, 0xf3, 0x30, 0, 0];
    assert_eq!(
        read_all(&data).unwrap(),
        [
            ExtensionElement { id: 1, data: &[7] },
            ExtensionElement {
                id: 2,
                data: &[1, 2]
            },
        ]
    );
    // A bad byte after ID 15 is not looked at.
    assert_eq!(read_all(&[0x10, 7, 0xf0, 0x05]).unwrap().len(), 1);
}

#[test]
fn malformed_and_truncated_extensions_are_errors() {
    // Element 1 says 4 bytes, 2 follow.
    assert_eq!(
        read_all(&[0x13, 1, 2]),
        Err(RtpError::Truncated {
            what: "header extension element",
            needed: 4,
            available: 2
        })
    );
    assert!(matches!(
        read_all(&[0x10, 7, 0, 0x1f]),
        Err(RtpError::Truncated { needed: 16, .. })
    ));
    // ID 0 with a length is not padding.
    assert_eq!(
        read_all(&[0x10, 7, 0x05, 0]),
        Err(RtpError::BadExtensionPadding(0x05))
    );
    // The element asked for comes before the fault: still an error.
    assert_eq!(
        find_one_byte(&one_byte(&[0x10, 7, 0x25, 0]), 1),
        Err(RtpError::Truncated {
            what: "header extension element",
            needed: 6,
            available: 1
        })
    );
    // RFC 8285's two-byte form, and a profile of no RFC 8285 form.
    for profile in [0x1000, 0x0001] {
        let extension = HeaderExtension {
            profile,
            data: &[0x10, 7, 0, 0],
        };
        assert_eq!(
            find_one_byte(&extension, 1),
            Err(RtpError::NotOneByteExtension(profile))
        );
    }
    // The iterator ends after its error.
    let mut elements = one_byte_elements(&one_byte(&[0x05, 0x10, 7])).unwrap();
    assert!(elements.next().unwrap().is_err());
    assert!(elements.next().is_none());
}

#[test]
fn unwritable_elements_append_nothing() {
    let seventeen = [1; 17];
    let cases: [(ExtensionElement<'_>, RtpError); 4] = [
        (
            ExtensionElement { id: 0, data: &[1] },
            RtpError::BadExtensionId(0),
        ),
        (
            ExtensionElement { id: 15, data: &[1] },
            RtpError::BadExtensionId(15),
        ),
        (
            ExtensionElement { id: 1, data: &[] },
            RtpError::BadElementLength(0),
        ),
        (
            ExtensionElement {
                id: 1,
                data: &seventeen,
            },
            RtpError::BadElementLength(17),
        ),
    ];
    for (bad, error) in cases {
        let good = ExtensionElement { id: 2, data: &[3] };
        let mut out = vec![9];
        assert_eq!(write_one_byte(&[good, bad], &mut out), Err(error));
        assert_eq!(out, [9]);
    }
}

#[test]
fn random_extensions_never_panic_and_stay_in_bounds() {
    let mut rng = StdRng::seed_from_u64(8285);
    for _ in 0..2000 {
        let len = rng.random_range(0..48);
        let data: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let profile = if rng.random_bool(0.9) {
            ONE_BYTE_PROFILE
        } else {
            rng.random()
        };
        let extension = HeaderExtension {
            profile,
            data: &data,
        };
        let _ = find_one_byte(&extension, rng.random_range(0..16));
        let Ok(elements) = one_byte_elements(&extension) else {
            continue;
        };
        let mut read = 0;
        for element in elements.take(data.len() + 1) {
            let Ok(element) = element else { break };
            assert!((1..=14).contains(&element.id));
            assert!((1..=16).contains(&element.data.len()));
            read += 1 + element.data.len();
        }
        assert!(read <= data.len());
        let _: Vec<AudioLevel> = csrc_audio_levels(&data).collect();
    }
}

#[test]
fn audio_levels_follow_rfc_6464_scale() {
    assert_eq!(AudioLevel::from_dbov(0.0).minus_dbov(), 0);
    assert_eq!(AudioLevel::from_dbov(-3.4).minus_dbov(), 3);
    assert_eq!(AudioLevel::from_dbov(-3.6).minus_dbov(), 4);
    assert_eq!(
        AudioLevel::from_dbov(2.0).minus_dbov(),
        0,
        "no louder than 0"
    );
    assert_eq!(AudioLevel::from_dbov(-200.0), AudioLevel::SILENT);
    assert_eq!(AudioLevel::from_dbov(f32::NAN), AudioLevel::SILENT);
    assert_eq!(AudioLevel::from_dbov(f32::NEG_INFINITY), AudioLevel::SILENT);
    // The reserved bit is ignored when read.
    assert_eq!(AudioLevel::from_byte(0x80 | 20).minus_dbov(), 20);
    assert_eq!(AudioLevel::from_byte(20).dbov(), -20.0);
    // Amplitude: 10^(dBov/20).
    assert_eq!(AudioLevel::from_byte(0).amplitude(), 1.0);
    assert!((AudioLevel::from_byte(20).amplitude() - 0.1).abs() < 1e-6);
    assert!((AudioLevel::from_byte(6).amplitude() - 0.501).abs() < 1e-3);
    assert_eq!(AudioLevel::SILENT.amplitude(), 0.0);
    assert!(AudioLevel::from_byte(126).amplitude() > 0.0);
}
