//! Traces as pcap files (`--trace-pcap FILE`) for Wireshark: each SIP
//! message in a synthetic Ethernet / IPv4 / UDP packet between the
//! addresses it travelled between, time-stamped to the microsecond.
//!
//! The packets are made up: no TCP stream is rebuilt, a message that
//! crossed TCP is written as one UDP datagram between the same addresses
//! (Wireshark's SIP dissector reads it all the same), the MAC addresses are
//! locally administered placeholders, and the UDP checksum is zero, which
//! IPv4 allows (RFC 768). The IPv4 header checksum is real, so Wireshark
//! shows no error. IPv6 addresses get an IPv6 header, whose UDP checksum is
//! computed since IPv6 requires it (RFC 8200 §8.1). A message too large for
//! one IP packet is cut to fit, and the record says how long it really was.
//!
//! Format: libpcap's classic file (magic `a1b2c3d4`, version 2.4, link type
//! 1, Ethernet), little-endian as written by most capture tools.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::UNIX_EPOCH;

use super::TraceEntry;

const MAGIC: u32 = 0xa1b2_c3d4;
const LINKTYPE_ETHERNET: u32 = 1;
const SNAPLEN: u32 = 65_535;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const UDP_PROTOCOL: u8 = 17;
/// Room for the payload in one IP packet with the headers we write.
const MAX_PAYLOAD: usize = 65_535 - 20 - 8;

/// Writes pcap records; [`PcapWriter::new`] writes the file header.
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    pub fn new(mut out: W) -> io::Result<PcapWriter<W>> {
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&MAGIC.to_le_bytes());
        header.extend_from_slice(&2u16.to_le_bytes());
        header.extend_from_slice(&4u16.to_le_bytes());
        header.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        header.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        header.extend_from_slice(&SNAPLEN.to_le_bytes());
        header.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&header)?;
        Ok(PcapWriter { out })
    }

    pub fn write_entry(&mut self, entry: &TraceEntry) -> io::Result<()> {
        let (frame, original) = frame(entry.source(), entry.destination(), &entry.bytes);
        let since = entry.at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let seconds = u32::try_from(since.as_secs()).unwrap_or(u32::MAX);
        let captured = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let original = u32::try_from(original).unwrap_or(u32::MAX);
        let mut record = Vec::with_capacity(16 + frame.len());
        record.extend_from_slice(&seconds.to_le_bytes());
        record.extend_from_slice(&since.subsec_micros().to_le_bytes());
        record.extend_from_slice(&captured.to_le_bytes());
        record.extend_from_slice(&original.to_le_bytes());
        record.extend_from_slice(&frame);
        self.out.write_all(&record)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// The Ethernet frame carrying `payload` from `source` to `destination`,
/// and the length the frame would have had uncut.
pub fn frame(source: SocketAddr, destination: SocketAddr, payload: &[u8]) -> (Vec<u8>, usize) {
    let kept = payload.get(..MAX_PAYLOAD).unwrap_or(payload);
    let cut = payload.len() - kept.len();
    let udp_len = 8 + kept.len();
    let mut udp = Vec::with_capacity(udp_len);
    udp.extend_from_slice(&source.port().to_be_bytes());
    udp.extend_from_slice(&destination.port().to_be_bytes());
    udp.extend_from_slice(&(udp_len as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(kept);

    let mut frame = Vec::with_capacity(14 + 40 + udp.len());
    // Locally administered unicast MACs: 02:00:00:00:00:01 and :02.
    frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02]);
    frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
    match (source.ip(), destination.ip()) {
        (IpAddr::V4(from), IpAddr::V4(to)) => {
            frame.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
            let mut ip = [0u8; 20];
            ip[0] = 0x45; // version 4, 5 words of header
            ip[2..4].copy_from_slice(&((20 + udp_len) as u16).to_be_bytes());
            ip[6] = 0x40; // don't fragment
            ip[8] = 64; // TTL
            ip[9] = UDP_PROTOCOL;
            ip[12..16].copy_from_slice(&from.octets());
            ip[16..20].copy_from_slice(&to.octets());
            let checksum = internet_checksum(&[&ip]);
            ip[10..12].copy_from_slice(&checksum.to_be_bytes());
            frame.extend_from_slice(&ip);
        }
        (from, to) => {
            let (from, to) = (v6(from), v6(to));
            frame.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
            let mut ip = [0u8; 40];
            ip[0] = 0x60;
            ip[4..6].copy_from_slice(&(udp_len as u16).to_be_bytes());
            ip[6] = UDP_PROTOCOL;
            ip[7] = 64; // hop limit
            ip[8..24].copy_from_slice(&from);
            ip[24..40].copy_from_slice(&to);
            // RFC 8200 §8.1: the pseudo-header, then the UDP datagram.
            let mut pseudo = [0u8; 40];
            pseudo[..16].copy_from_slice(&from);
            pseudo[16..32].copy_from_slice(&to);
            pseudo[32..36].copy_from_slice(&(udp_len as u32).to_be_bytes());
            pseudo[39] = UDP_PROTOCOL;
            let checksum = match internet_checksum(&[&pseudo, &udp]) {
                0 => 0xffff,
                sum => sum,
            };
            udp[6..8].copy_from_slice(&checksum.to_be_bytes());
            frame.extend_from_slice(&ip);
        }
    }
    frame.extend_from_slice(&udp);
    let original = frame.len() + cut;
    (frame, original)
}

fn v6(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(ip) => ip.to_ipv6_mapped().octets(),
        IpAddr::V6(ip) => ip.octets(),
    }
}

/// RFC 1071: the one's complement of the one's complement sum of 16-bit
/// words, over the parts in order (each but the last of even length).
fn internet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u64 = 0;
    for part in parts {
        for pair in part.chunks(2) {
            let word = match pair {
                [high, low] => u16::from_be_bytes([*high, *low]),
                [high] => u16::from_be_bytes([*high, 0]),
                _ => 0,
            };
            sum += u64::from(word);
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::proto::Transport;
    use crate::trace::Direction;

    #[test]
    fn a_message_becomes_an_ethernet_ipv4_udp_packet_with_a_valid_header_checksum() {
        let entry = TraceEntry {
            at: UNIX_EPOCH + Duration::from_micros(1_740_824_130_123_456),
            direction: Direction::Received,
            transport: Transport::Tcp,
            local: "127.0.0.1:5060".parse().unwrap(),
            peer: "10.0.0.7:40000".parse().unwrap(),
            bytes: b"OPTIONS sip:x SIP/2.0\r\n\r\n".to_vec(),
        };
        let mut writer = PcapWriter::new(Vec::new()).unwrap();
        writer.write_entry(&entry).unwrap();
        let file = writer.into_inner();
        assert_eq!(&file[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(u32::from_le_bytes(file[20..24].try_into().unwrap()), 1);
        let record = &file[24..];
        assert_eq!(
            u32::from_le_bytes(record[0..4].try_into().unwrap()),
            1_740_824_130
        );
        assert_eq!(
            u32::from_le_bytes(record[4..8].try_into().unwrap()),
            123_456
        );
        let frame = &record[16..];
        let payload_len = entry.bytes.len();
        assert_eq!(frame.len(), 14 + 20 + 8 + payload_len);
        assert_eq!(
            u32::from_le_bytes(record[8..12].try_into().unwrap()) as usize,
            frame.len()
        );
        assert_eq!(&frame[12..14], &[0x08, 0x00]);
        let ip = &frame[14..34];
        // A header whose checksum is right sums to zero.
        assert_eq!(internet_checksum(&[ip]), 0);
        assert_eq!(
            &ip[12..16],
            &[10, 0, 0, 7],
            "from the peer: it was received"
        );
        assert_eq!(&ip[16..20], &[127, 0, 0, 1]);
        let udp = &frame[34..];
        assert_eq!(u16::from_be_bytes([udp[0], udp[1]]), 40000);
        assert_eq!(u16::from_be_bytes([udp[2], udp[3]]), 5060);
        assert_eq!(
            u16::from_be_bytes([udp[4], udp[5]]) as usize,
            8 + payload_len
        );
        assert_eq!(&udp[8..], entry.bytes.as_slice());
    }

    #[test]
    fn ipv6_gets_a_udp_checksum_and_a_huge_message_is_cut_to_fit() {
        let from: SocketAddr = "[::1]:5060".parse().unwrap();
        let to: SocketAddr = "[::1]:5070".parse().unwrap();
        let (frame, original) = frame(from, to, b"hello");
        assert_eq!(original, frame.len());
        assert_eq!(&frame[12..14], &[0x86, 0xdd]);
        let udp = &frame[54..];
        let mut pseudo = [0u8; 40];
        pseudo[..16].copy_from_slice(&v6(from.ip()));
        pseudo[16..32].copy_from_slice(&v6(to.ip()));
        pseudo[35] = udp.len() as u8;
        pseudo[39] = UDP_PROTOCOL;
        assert_eq!(internet_checksum(&[&pseudo, udp]), 0);

        let big = vec![b'x'; 70_000];
        let v4: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let (frame, original) = super::frame(v4, v4, &big);
        assert_eq!(frame.len(), 14 + 65_535);
        assert_eq!(original, 14 + 20 + 8 + 70_000);
    }
}
