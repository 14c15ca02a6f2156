//! Fuzzes every other reader of outside input: the XML bodies (C3P,
//! conference-info with the roster that applies it, PIDF, the buddy list
//! and its changes, isComposing, provisioning), CPIM, SDP offers, RTP with
//! its header extension and RTCP, RFC 4733 events, and trace files. The
//! first byte picks the reader; the rest is its input. Any panic is a bug,
//! and so is a document that was read but does not read again once
//! written.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use confab::proto::conference_info::Roster;
use confab::proto::sdp::{AudioCodec, Direction, LocalMedia};
use confab::proto::{c3p, conference_info, contacts, cpim, dtmf, iscomposing, pidf};
use confab::proto::{provisioning, rtp, sdp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((selector, input)) = data.split_first() else {
        return;
    };
    match selector % 11 {
        0 => {
            if let Ok(document) = c3p::parse(input) {
                let written = match &document {
                    c3p::C3pDocument::Request(request) => request.to_xml(),
                    c3p::C3pDocument::Response(response) => response.to_xml(),
                };
                let again = c3p::parse(written.as_bytes())
                    .unwrap_or_else(|e| panic!("written C3P does not read: {e}\n{written}"));
                assert_eq!(again, document);
            }
        }
        1 => {
            if let Ok(document) = conference_info::parse(input) {
                let written = document.to_xml();
                conference_info::parse(written.as_bytes()).unwrap_or_else(|e| {
                    panic!("written conference-info does not read: {e}\n{written}")
                });
                let mut roster = Roster::default();
                let _ = roster.apply(document);
            }
        }
        2 => {
            if let Ok(document) = pidf::parse(input) {
                let written = document.to_xml();
                pidf::parse(written.as_bytes())
                    .unwrap_or_else(|e| panic!("written PIDF does not read: {e}\n{written}"));
            }
        }
        3 => {
            let _ = contacts::parse_list(input).map(|list| list.to_xml());
            let _ = contacts::parse_change(input).map(|change| change.to_xml());
        }
        4 => {
            let _ = iscomposing::parse(input);
        }
        5 => {
            if let Ok(document) = provisioning::parse(input) {
                let written = document.to_xml();
                provisioning::parse(written.as_bytes()).unwrap_or_else(|e| {
                    panic!("written provisioning does not read: {e}\n{written}")
                });
            }
        }
        6 => {
            let _ = cpim::parse(input);
        }
        7 => {
            let local = LocalMedia {
                ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port: 40_000,
                codecs: vec![AudioCodec::Opus, AudioCodec::Pcmu],
                direction: Direction::SendRecv,
                session_id: 1,
                version: 1,
            };
            let text = String::from_utf8_lossy(input);
            let _ = sdp::answer(&text, &local);
            let _ = sdp::negotiated_from_answer(&local, &text);
        }
        8 => {
            if let Ok(packet) = rtp::parse(input) {
                if let Some(extension) = &packet.header.extension {
                    if let Ok(elements) = rtp::one_byte_elements(extension) {
                        for element in elements.flatten() {
                            let _ = rtp::csrc_audio_levels(element.data).count();
                        }
                    }
                }
            }
            let _ = rtp::rtcp::parse_compound(input);
        }
        9 => {
            let _ = dtmf::EventPayload::parse(input);
        }
        _ => {
            let _ = confab::trace::file::read(input);
        }
    }
});
