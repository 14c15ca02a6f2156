//! confab: a terminal client for unified communications, and the server that
//! makes it whole.
//!
//! (The architecture page is written with the modules; see DESIGN.md.)

pub mod proto;
pub mod server;
