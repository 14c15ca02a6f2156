//! The drivers: the only place in confab with sockets and timers.
//!
//! A SIP port runs on tokio ([`SipDriver::run`], the client's) or on a
//! thread of its own blocking on its UDP socket
//! ([`SipDriver::run_on_thread`], the server's; see `port_thread`).
//! A driver owns a sans-IO core (anything that implements
//! [`SipCore`](crate::proto::SipCore)), the UDP socket and TCP connections of
//! one SIP port, a command channel in and an event channel out. It feeds
//! bytes and time into the core and drains what the core wants sent. It makes
//! no SIP decision of its own: the only thing it knows about SIP is how to cut
//! a TCP stream into messages, and that comes from `proto::framing`.

mod deadline;
mod heap;
mod mcu;
pub mod media;
mod outlets;
mod port_thread;
mod priority;
mod sip;
mod udp;

pub use mcu::{QUALITY_INTERVAL, run_mcu, spawn_mcu};
pub use sip::{SipDriver, SipSockets};
