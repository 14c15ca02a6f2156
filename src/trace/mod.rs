//! SIP traces: every message a driver sends or receives, with when, which
//! way, over what and with whom, for the trace pane of the terminal client
//! and for trace files (`--trace FILE`, `confab trace FILE`).

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
