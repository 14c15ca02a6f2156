//! What crosses the boundary between a sans-IO core and its driver.
//!
//! A core never owns a socket. It is fed received datagrams or framed
//! stream messages and hands back [`Transmit`]s; the driver in `net/` owns
//! the UDP socket and the TCP connections and only moves bytes. RFC 3261
//! §18.2.2: a response over TCP goes back on the connection the request came
//! on, which the driver does by keeping its connections keyed by peer.

use std::fmt;
use std::net::SocketAddr;

/// The transports confab speaks (RFC 3261 §18). TLS is not offered yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    /// The token used in Via and in the `transport` URI parameter.
    pub fn as_via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }

    /// RFC 3261 §17.1.1.2: unreliable transports retransmit, reliable ones don't.
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_via_token())
    }
}

/// The far end of a message: which transport and which address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Peer {
    pub transport: Transport,
    pub addr: SocketAddr,
}

impl Peer {
    pub fn udp(addr: SocketAddr) -> Self {
        Peer {
            transport: Transport::Udp,
            addr,
        }
    }

    pub fn tcp(addr: SocketAddr) -> Self {
        Peer {
            transport: Transport::Tcp,
            addr,
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.transport, self.addr)
    }
}

/// Bytes a core wants sent. One whole SIP message (or RTP packet) each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub destination: Peer,
    pub payload: Vec<u8>,
}
