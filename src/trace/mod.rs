//! SIP traces: every message a driver sends or receives, with when, which
//! way, over what and with whom, for the trace pane of the terminal client
//! and for trace files (`--trace FILE`, `confab trace FILE`).
//!
//! - [`file`](mod@file): the text form of a trace, written and read back byte-exact.
//! - [`pcap`]: the same messages for Wireshark, in synthetic UDP packets.
//! - [`decode`]: what a person wants to see of a message: a one-line
//!   summary, the dialog it belongs to, the body decoded by its type, and
//!   who talks to whom (the ladder's lanes). Pure functions.
//! - [`sink`]: the task that takes a driver's entries to the files and to
//!   the trace pane.
//!
//! Nothing here is on the path of a message: the driver copies each one to
//! a channel only when a trace is wanted ([`crate::net::SipDriver::with_trace`]).

pub mod decode;
pub mod file;
pub mod pcap;
pub mod sink;
#[cfg(test)]
pub(crate) mod testing;

use std::net::SocketAddr;
use std::time::SystemTime;

use crate::proto::Transport;

/// Which way a message went, seen from the side that traced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Sent,
    Received,
}

/// One SIP message as it crossed the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    /// Wall-clock time it was sent or received.
    pub at: SystemTime,
    pub direction: Direction,
    pub transport: Transport,
    /// Our address.
    pub local: SocketAddr,
    /// The other end.
    pub peer: SocketAddr,
    /// The message as on the wire.
    pub bytes: Vec<u8>,
}

impl TraceEntry {
    /// Where the message came from.
    pub fn source(&self) -> SocketAddr {
        match self.direction {
            Direction::Sent => self.local,
            Direction::Received => self.peer,
        }
    }

    /// Where it went.
    pub fn destination(&self) -> SocketAddr {
        match self.direction {
            Direction::Sent => self.peer,
            Direction::Received => self.local,
        }
    }
}
