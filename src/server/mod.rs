//! The server cores, sans-IO: what `confab serve` (and local mode) runs.
//!
//! - [`registrar`]: the location service (RFC 3261 §10.3), several contacts
//!   per address of record.
//! - [`sip`]: the SIP server proper: admission (digest authentication for
//!   everything that reaches a user) and the registrar's front; `route`
//!   finds where a request goes, `forward` is the stateful forking proxy
//!   (RFC 3261 §16) with its response contexts in `proxy`.
//! - `policy`: the closed-domain rules and the Record-Route token; `open`:
//!   the same server without authentication, for lab networks.
//! - [`focus`]: the conference focus factory and foci (C3P, the RFC 4575
//!   roster), without their SIP carriage.
//! - [`presence`]: the presence agent and the roaming buddy list, on the
//!   generic [`notifier`] (RFC 6665) and [`publication`] (RFC 3903) cores.
//! - `provisioning`: what a client learns of its user at sign-in (location
//!   profile, work number), over the presence agent's notifier.

mod conferencing;
pub mod focus;
mod forward;
pub mod gateway;
pub mod notifier;
mod open;
mod policy;
pub mod presence;
mod provisioning;
mod proxy;
pub mod publication;
pub mod registrar;
mod route;
pub mod sip;

pub use presence::ContactStore;
pub use sip::{Server, ServerCommand, ServerConfig, ServerEvent, UserDirectory};

/// A server for `confab.local` with the demo directory, in memory, at
/// `local`: the unit tests' server.
#[cfg(test)]
pub(crate) fn demo_server(local: &str) -> Server {
    demo_server_trusting(local, &[])
}

/// [`demo_server`], trusting the peers at `trusted` (`ip:port`): their
/// requests are not challenged.
#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test's set-up failing is a failed test
pub(crate) fn demo_server_trusting(local: &str, trusted: &[&str]) -> Server {
    let directory = crate::store::Directory::open_in_memory().unwrap();
    directory.seed_demo("confab.local").unwrap();
    let trusted_peers = trusted
        .iter()
        .map(|peer| peer.parse::<std::net::SocketAddr>().unwrap().ip())
        .collect();
    Server::new(
        ServerConfig {
            domain: "confab.local".into(),
            local: local.parse().unwrap(),
            trusted_peers,
            seed: 5,
            pstn: None,
            access_number: None,
        },
        Box::new(directory),
        Box::new(crate::store::Contacts::open_in_memory().unwrap()),
    )
}
