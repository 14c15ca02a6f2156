//! The server cores, sans-IO: what `confab serve` (and local mode) runs.
//!
//! - [`registrar`]: the location service (RFC 3261 §10.3), several contacts
//!   per address of record.
//! - [`sip`]: the SIP server proper: admission (digest authentication for
//!   everything that reaches a user), the registrar's front, and the
//!   stateful forking proxy (RFC 3261 §16) with its response contexts in
//!   `proxy`.
//! - `policy`: the closed-domain rules and the Record-Route token.

pub mod notifier;
mod policy;
pub mod presence;
mod proxy;
pub mod publication;
pub mod registrar;
pub mod sip;

pub use presence::ContactStore;
pub use sip::{Server, ServerConfig, ServerEvent, UserDirectory};
