//! The sans-IO protocol leaf: everything about SIP that is true whoever runs
//! it, with no sockets, no tasks and no clock.
//!
//! - [`message`]: bytes to messages and back, on top of rsip, with rsip's
//!   gaps covered in one place (compact headers, unknown methods,
//!   Content-Length, `tel:` and IPv6).
//! - [`framing`]: RFC 3261 §18.3 stream framing for TCP.
//! - [`transaction`]: RFC 3261 §17 client and server transactions with every
//!   timer, driven by explicit [`Time`].
//! - [`dialog`]: RFC 3261 §12 dialog state and in-dialog requests.
//! - [`digest`]: RFC 3261 §22 / RFC 8760 digest authentication.
//!
//! Every core in the crate (client, server) is built from these parts and has
//! the same shape, the [`SipCore`] trait, so one driver in `net/` runs any of
//! them.

pub mod address;
pub mod build;
pub mod c3p;
pub mod conference_info;
pub mod conference_uri;
pub mod contacts;
pub mod cpim;
pub mod dialog;
pub mod digest;
pub mod dtmf;
pub mod framing;
pub mod io;
pub mod iscomposing;
pub mod location_profile;
pub mod message;
pub mod pidf;
pub mod provisioning;
pub mod rtp;
pub mod sdp;
pub mod stun;
pub mod time;
pub mod transaction;
pub mod transport;
pub mod xml;

pub use io::{IoRequest, IoResult, LegQuality};
pub use time::Time;
pub use transport::{Peer, Transmit, Transport};

/// The verbs every sans-IO core speaks (DESIGN.md section 3).
///
/// A driver feeds input with the `handle_*` methods, then drains
/// `poll_transmit` and `poll_event` until both are empty, and sleeps until
/// `poll_timeout` or the next input, whichever comes first.
pub trait SipCore {
    type Command;
    type Event;

    /// One whole SIP message from the network (a UDP datagram, or one
    /// message framed off a TCP stream).
    fn handle_datagram(&mut self, now: Time, from: Peer, bytes: &[u8]);
    fn handle_command(&mut self, now: Time, command: Self::Command);
    fn handle_timeout(&mut self, now: Time);

    fn poll_transmit(&mut self) -> Option<Transmit>;
    fn poll_event(&mut self) -> Option<Self::Event>;
    /// When the core next needs `handle_timeout`; `None` if it is idle.
    fn poll_timeout(&self) -> Option<Time>;

    /// What the core needs done besides sending messages (media to start,
    /// change or stop); the driver hands it to whoever runs the media.
    fn poll_io_request(&mut self) -> Option<IoRequest> {
        None
    }

    /// True once the core has nothing left to do (a client that has
    /// unregistered after a quit); the driver then stops.
    fn is_finished(&self) -> bool {
        false
    }
}
