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
//!   transactions and dialogs, digest authentication, the XML bodies (PIDF,
//!   isComposing, the buddy list), and the [`proto::SipCore`] trait that
//!   every core implements (`handle_datagram`, `handle_command`,
//!   `handle_timeout` in; `poll_transmit`, `poll_event`, `poll_timeout` out).
//! - [`client`] is the user agent: registration with refresh and recovery,
//!   presence publication, subscriptions to the buddy list and to buddies,
//!   instant messages, incoming calls. Front ends speak to it only through
//!   its `Command` and `Event` types.
//! - [`server`] holds the server cores: registrar (several clients per
//!   user), the authenticating, forking, record-routing proxy, the
//!   presence agent with the roaming buddy list, the conference focus
//!   factory and foci (C3P, RFC 4575 rosters), the A/V MCU's and IM MCU's
//!   signalling, and the mediation gateway to phone numbers.
//! - [`net`] holds the tokio drivers, the only code with sockets and timers.
//!   A driver has no SIP state: it moves bytes between sockets and a core.
//! - [`media`] is audio: codecs, the jitter buffer, a call's session and the
//!   conference mixer (sans-IO), and the sound devices.
//! - [`trace`] is the SIP trace: capture, files, decoding for the pane.
//! - [`store`] is SQLite: the server's directory and buddy lists, the
//!   client's IM history. [`config`] reads the TOML config file, and
//!   [`logging`] formats the log's fields.
//! - Front ends: [`tui`] (the terminal client: `update` and `render` over an
//!   `AppState`), [`agent`] (`confab agent`, JSON lines), [`app`] (wiring
//!   the TUI to a client core, history and local mode), [`local`] (the
//!   server as a service, and local mode's demo buddies, whose brain is
//!   [`demo`]).
//!
//! A CI check (`scripts/check-sans-io.sh`) fails the build when a core names
//! tokio, a socket type or the wall clock.

pub mod agent;
pub mod app;
pub mod client;
pub mod config;
pub mod demo;
pub mod doctor;
pub mod local;
pub mod logging;
pub mod media;
pub mod net;
pub mod proto;
pub mod server;
pub mod store;
pub mod trace;
pub mod tui;
