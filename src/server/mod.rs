//! The sans-IO server cores: what `confab serve` runs behind its sockets.
//!
//! - [`registrar`]: the location service of RFC 3261 §10.3, several
//!   bindings per address of record so one user can be signed in from
//!   several clients at once.
//! - The proxy (RFC 3261 §16), forking to every binding the registrar holds,
//!   is to come, and after it the presence agent (RFC 3856, marking a user
//!   offline when the registrar reports its last binding gone) and the
//!   conference focus (C3P).
//!
//! Like every core they take `now` as an argument and never touch a socket
//! or a clock; authentication happens in the server core before a request
//! reaches any of these parts.

pub mod registrar;
