//! The one integration test binary (STYLE.md): each module is a suite.

#![allow(clippy::unwrap_used)] // Tests may unwrap.

mod agents;
mod agents_im;
mod audio;
mod audio_devices;
mod audio_pulse;
mod conference;
mod fuzz_regressions;
mod harness;
mod kamailio;
mod keepalive;
mod linphone;
mod mcu;
mod no_auth;
mod rfc4475;
mod sim;
mod sim_call;
mod sim_conference;
mod sim_focus;
mod sim_im;
mod sim_presence;
mod sim_quality;
mod simnet;
mod sipp;
mod trace;
mod tui_tmux;
