//! confab: a terminal client for unified communications, and the server that
//! makes it whole on one machine.
//!
//! # The shape of it
//!
//! Every protocol part is a *sans-IO core*: a plain struct that takes bytes,
//! commands and the current time in, and hands out bytes to send, events and
//! the time it next wants to be woken. Cores never touch a socket, a task, a
//! sound card or a clock, so the tests drive them in virtual time: a 32-second
//! SIP timer takes no time, and a whole registration with its retries runs in
//! microseconds, the same way every run.
//!
//! ```text
//!            stdin JSON / terminal keys
//!                      |
//!        agent.rs, tui/  (front ends: no SIP)
//!                      | Command            ^ Event
//!                      v                    |
//!   net/  driver: sockets, timers  <---->  client/ or server/ core (sans-IO)
//!                                              |
//!                                           proto/  (message, transaction,
//!                                                    dialog, digest: sans-IO)
//! ```
//!
//! - [`proto`] is the leaf: the SIP message layer over rsip, RFC 3261
//!   transactions and dialogs, digest authentication, and the [`proto::SipCore`]
//!   trait that every core implements (`handle_datagram`, `handle_command`,
//!   `handle_timeout` in; `poll_transmit`, `poll_event`, `poll_timeout` out).
//! - [`client`] is the user agent: registration with refresh and recovery,
//!   incoming calls. The agent (and later the TUI) speaks to it only through
//!   its `Command` and `Event` types.
//! - [`server`] holds the server cores: registrar (several contacts per user),
//!   authenticating stateful proxy with forking.
//! - [`net`] holds the tokio drivers, the only code with sockets and timers.
//!   A driver has no SIP state: it moves bytes between sockets and a core.
//! - [`store`] is SQLite: the server's directory of users.
//! - [`agent`] is `confab agent`, the headless front end of JSON lines.
//!
//! A CI check (`scripts/check-sans-io.sh`) fails the build when a core names
//! tokio, a socket type or the wall clock.

pub mod agent;
pub mod app;
pub mod client;
pub mod config;
pub mod demo;
pub mod local;
pub mod net;
pub mod proto;
pub mod server;
pub mod store;
pub mod tui;
