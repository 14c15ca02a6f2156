//! Where a message goes: the transport address named by a URI or a Via.
//!
//! Sans-IO cores do no DNS (RFC 3263 would need it), so only URIs with an IP
//! host resolve here; a domain name yields `None` and the caller answers or
//! reports that it cannot reach it.

use std::net::{IpAddr, SocketAddr};

use rsip::Transport as RsipTransport;
use rsip::common::uri::Host;
use rsip::param::Param;

use super::{Peer, Transport};

/// RFC 3261 §19.1.2: the default port of `sip:` is 5060.
pub const DEFAULT_SIP_PORT: u16 = 5060;

/// The transport a URI asks for (its `transport` parameter), UDP by default.
pub fn uri_transport(uri: &rsip::Uri) -> Transport {
    match uri.transport() {
        Some(RsipTransport::Tcp) => Transport::Tcp,
        _ => Transport::Udp,
    }
}

/// The peer a URI names, when its host is an IP address.
pub fn uri_peer(uri: &rsip::Uri) -> Option<Peer> {
    let ip = match uri.host() {
        Host::IpAddr(ip) => *ip,
        Host::Domain(domain) => domain.to_string().parse::<IpAddr>().ok()?,
    };
    let port = uri
        .port()
        .map(|port| *port.value())
        .unwrap_or(DEFAULT_SIP_PORT);
    Some(Peer {
        transport: uri_transport(uri),
        addr: SocketAddr::new(ip, port),
    })
}

/// Where a response travels back to, from the Via it answers
/// (RFC 3261 §18.2.2 with RFC 3581): `received` beats the sent-by host and
/// `rport` with a value beats the sent-by port.
pub fn via_peer(via: &rsip::headers::typed::Via) -> Option<Peer> {
    let transport = match via.transport {
        RsipTransport::Tcp => Transport::Tcp,
        RsipTransport::Udp => Transport::Udp,
        _ => return None,
    };
    let mut ip = match via.uri.host() {
        Host::IpAddr(ip) => Some(*ip),
        Host::Domain(domain) => domain.to_string().parse::<IpAddr>().ok(),
    };
    let mut port = via
        .uri
        .port()
        .map(|port| *port.value())
        .unwrap_or(DEFAULT_SIP_PORT);
    for param in &via.params {
        match param {
            Param::Received(received) => ip = received.value().parse().ok().or(ip),
            Param::Other(name, Some(value)) if name.value().eq_ignore_ascii_case("rport") => {
                port = value.value().parse().unwrap_or(port);
            }
            _ => {}
        }
    }
    Some(Peer {
        transport,
        addr: SocketAddr::new(ip?, port),
    })
}

/// A URI for this host as a SIP element: `sip:ip:port`.
pub fn host_uri(addr: SocketAddr) -> String {
    format!("sip:{}:{}", addr.ip(), addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsip::headers::{ToTypedHeader as _, UntypedHeader as _};
    use std::convert::TryFrom;

    fn uri(text: &str) -> rsip::Uri {
        rsip::Uri::try_from(text).unwrap()
    }

    #[test]
    fn ip_uris_resolve_with_default_port_and_transport() {
        let peer = uri_peer(&uri("sip:amy@127.0.0.1:5070;transport=tcp")).unwrap();
        assert_eq!(peer, Peer::tcp("127.0.0.1:5070".parse().unwrap()));
        let peer = uri_peer(&uri("sip:amy@10.0.0.1")).unwrap();
        assert_eq!(peer, Peer::udp("10.0.0.1:5060".parse().unwrap()));
        assert_eq!(uri_peer(&uri("sip:amy@example.com")), None);
    }

    #[test]
    fn via_received_and_rport_win() {
        let via = rsip::headers::Via::new(
            "SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK1;received=198.51.100.7;rport=40000",
        );
        let typed = via.typed().unwrap();
        assert_eq!(
            via_peer(&typed),
            Some(Peer::udp("198.51.100.7:40000".parse().unwrap()))
        );
        let plain = rsip::headers::Via::new("SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1;rport")
            .typed()
            .unwrap();
        assert_eq!(
            via_peer(&plain),
            Some(Peer::tcp("192.0.2.1:5060".parse().unwrap()))
        );
    }
}
