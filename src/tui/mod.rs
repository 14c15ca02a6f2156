//! The terminal front end (DESIGN.md section 4): a buddy list with live
//! presence, IM conversations, calls, a conference's roster and IM, and a
//! status bar, over the client core's
//! [`Command`](crate::client::Command) and
//! [`Event`](crate::client::Event) and nothing else: no SIP here.
//!
//! The shape is model, update, view:
//! - [`state`]: [`AppState`], plain data; it knows nothing of the terminal.
//! - [`update`](mod@update): `update(&mut AppState, Msg) -> Effects`, the only place the
//!   state changes. It does no I/O: what must happen outside (commands to
//!   the core, the bell, history reads and writes) comes back as
//!   [`Effects`] for the run loop to carry out. Time is an input
//!   ([`Msg::Tick`]), so typing expiry and idle detection are tested
//!   without a clock.
//! - [`view`]: `render(&AppState, &mut Frame)`, which draws and changes
//!   nothing.
//! - [`keys`]: the one key table, with the config file's rebindings
//!   applied ([`KeyMap`], checked at start-up so no key means two things),
//!   used both to dispatch keys and to write the help overlay and hints,
//!   so they cannot drift apart. Colours come from a [`Theme`].
//! - [`history`]: the [`ConversationLog`] trait that stores IM history.
//! - [`run`](mod@run): the channels and the redraw throttle.
//! - `terminal`: taking the terminal and giving it back, for the run
//!   loop and the trace viewer alike.
//! - [`trace`]: the SIP trace pane (F9), and the viewer of trace files.
//!
//! Invariants: the terminal is restored on every exit, panics included;
//! `render` never panics, at any terminal size down to 1x1.

pub mod history;
pub mod keys;
pub mod run;
pub mod state;
mod terminal;
pub mod trace;
pub mod update;
pub mod view;

pub use history::{ConversationLog, LoggedMessage, MemoryLog};
pub use keys::{KeyError, KeyMap};
pub use run::run;
pub use state::{AppState, CallStats, MediaMeters, TuiConfig};
pub use update::{Effects, Msg, update};
pub use view::render;
pub use view::theme::Theme;

#[cfg(test)]
mod tests;
