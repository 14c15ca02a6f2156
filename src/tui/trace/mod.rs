//! The SIP trace pane, in the manner of sngrep: the dialogs of the trace
//! (method, from, to, state, time), a ladder of the selected one's messages
//! between the lanes that sent them (this client, the server, the focus,
//! the MCUs, other users), and the full message with its body decoded.
//!
//! The pane is its own model, view and update, inside [`AppState`]
//! (`state.trace`) and in the read-only viewer of `confab trace FILE`
//! ([`viewer`]), which is the same pane on the whole screen:
//! - [`TracePane`]: the messages (at most [`MAX_MESSAGES`], the oldest
//!   dropped first, in batches) with their decoded summaries, grouped into
//!   dialogs by [`crate::trace::decode::Dialogs`], and what the user chose
//!   (selection, filters, scope, whether to follow).
//! - [`update`](mod@update): keys (context [`Context::Trace`]), and
//!   entries arriving.
//! - [`view`]: the list, the ladder, the message.
//!
//! It sees traced bytes and the plain types of [`crate::trace`], never
//! rsip.
//!
//! Invariants: `selected`, when set, names a dialog in the trace;
//! `message`, when set, a message still held. Following (the default)
//! keeps the newest dialog and message selected as entries arrive; moving
//! up stops it, moving to the end resumes it.
//!
//! [`AppState`]: super::state::AppState
//! [`Context::Trace`]: super::keys::Context::Trace

pub mod update;
pub mod view;
pub mod viewer;

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;

use tui_input::Input;

use crate::trace::TraceEntry;
use crate::trace::decode::{self, Dialog, Dialogs, Lane, Lanes, Summary};

/// The most messages the pane holds.
pub const MAX_MESSAGES: usize = 5_000;
/// How many of the oldest go at once when it is full: regrouping what
/// remains costs a pass over them, so not on every message.
const EVICTED_AT_ONCE: usize = 500;

/// One message of the trace, read.
#[derive(Debug, Clone)]
pub struct Traced {
    /// Rises by one with each message, never reused.
    pub seq: u64,
    pub entry: TraceEntry,
    pub summary: Summary,
    /// The lanes it goes from and to.
    pub from: Lane,
    pub to: Lane,
}

/// Which part of the pane has the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceFocus {
    List,
    Ladder,
    /// One message in full.
    Message,
}

/// What the ladder shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The selected dialog's messages.
    Dialog,
    /// Every message of the dialogs the list shows, in order.
    All,
}

/// The pane's whole state.
#[derive(Debug, Clone)]
pub struct TracePane {
    messages: VecDeque<Traced>,
    /// Entries taken in while the pane is closed, read when it opens: an
    /// idle client's keep-alives then cost no decoding.
    unread: VecDeque<TraceEntry>,
    next_seq: u64,
    dialogs: Dialogs,
    lanes: Lanes,
    /// Messages dropped to stay within [`MAX_MESSAGES`].
    pub dropped: u64,
    /// Shown (in the client, in place of the other panes).
    pub open: bool,
    /// The viewer of a trace file: closing the pane quits.
    pub read_only: bool,
    /// What the title bar calls the trace.
    pub title: String,
    pub focus: TraceFocus,
    /// The selected dialog's Call-ID.
    pub selected: Option<String>,
    /// The selected message of the ladder.
    pub message: Option<u64>,
    pub follow: bool,
    /// Only dialogs with a message of this method.
    pub method: Option<String>,
    /// Only dialogs with a message containing this text (no case).
    pub text: String,
    /// The text filter being typed.
    pub editing: Option<Input>,
    pub scope: Scope,
    /// Lines scrolled in the full message.
    pub scroll: u16,
    /// Local time offset from UTC for the times shown, in minutes.
    pub utc_offset_minutes: i32,
    /// The Call-IDs with a message matching `text`.
    matching: HashSet<String>,
    /// Rows the list and the ladder had when last drawn, for paging.
    pub page: usize,
}

impl Default for TracePane {
    fn default() -> TracePane {
        TracePane {
            messages: VecDeque::new(),
            unread: VecDeque::new(),
            next_seq: 0,
            dialogs: Dialogs::new(),
            lanes: Lanes::default(),
            dropped: 0,
            open: false,
            read_only: false,
            title: "SIP trace".into(),
            focus: TraceFocus::List,
            selected: None,
            message: None,
            follow: true,
            method: None,
            text: String::new(),
            editing: None,
            scope: Scope::Dialog,
            scroll: 0,
            utc_offset_minutes: 0,
            matching: HashSet::new(),
            page: 10,
        }
    }
}

impl TracePane {
    /// A closed, empty pane showing times shifted from UTC by this much.
    pub fn with_utc_offset(utc_offset_minutes: i32) -> TracePane {
        TracePane {
            utc_offset_minutes,
            ..TracePane::default()
        }
    }

    /// A pane that knows our own address ("this client") and the
    /// server's, where they are known.
    pub fn with_addresses(own: Option<SocketAddr>, server: Option<SocketAddr>) -> TracePane {
        let mut pane = TracePane::default();
        pane.set_addresses(own, server);
        pane
    }

    pub fn set_addresses(&mut self, own: Option<SocketAddr>, server: Option<SocketAddr>) {
        if let Some(own) = own {
            self.lanes.set_own(own);
        }
        if let Some(server) = server {
            self.lanes.set_server(server);
        }
        self.regroup();
    }

    /// Takes in new entries; drops the oldest past [`MAX_MESSAGES`]. While
    /// the pane is closed they are only kept, and read by [`Self::catch_up`].
    pub fn push(&mut self, entries: impl IntoIterator<Item = TraceEntry>) {
        if !self.open {
            self.unread.extend(entries);
            if self.unread.len() > MAX_MESSAGES {
                let excess = self.unread.len() - MAX_MESSAGES;
                self.unread.drain(..excess);
                self.dropped += excess as u64;
            }
            return;
        }
        self.read(entries);
    }

    /// Reads the entries taken in while the pane was closed.
    pub fn catch_up(&mut self) {
        if !self.unread.is_empty() {
            let unread = std::mem::take(&mut self.unread);
            self.read(unread);
        }
    }

    fn read(&mut self, entries: impl IntoIterator<Item = TraceEntry>) {
        let lowered = self.text.to_lowercase();
        for entry in entries {
            let summary = decode::summarize(&entry.bytes);
            self.lanes.observe(&entry, &summary);
            let (from, to) = decode::lanes::endpoints(&entry, &summary);
            let seq = self.next_seq;
            self.next_seq += 1;
            let traced = Traced {
                seq,
                entry,
                summary,
                from,
                to,
            };
            self.add(traced, &lowered);
        }
        if self.messages.len() > MAX_MESSAGES {
            let excess = self.messages.len() - MAX_MESSAGES + EVICTED_AT_ONCE;
            self.messages.drain(..excess.min(self.messages.len()));
            self.dropped += excess as u64;
            self.regroup();
        }
        self.keep_selection();
    }

    fn add(&mut self, traced: Traced, lowered: &str) {
        let index = self
            .dialogs
            .push(traced.seq, traced.entry.at, &traced.summary);
        if !lowered.is_empty() && contains(&traced.entry.bytes, lowered) {
            if let Some(dialog) = self.dialogs.list().get(index) {
                self.matching.insert(dialog.call_id.clone());
            }
        }
        self.messages.push_back(traced);
    }

    /// Groups the messages held afresh (after dropping some, or when the
    /// addresses became known).
    fn regroup(&mut self) {
        let messages = std::mem::take(&mut self.messages);
        self.dialogs = Dialogs::new();
        self.matching.clear();
        let lowered = self.text.to_lowercase();
        for mut traced in messages {
            let (from, to) = decode::lanes::endpoints(&traced.entry, &traced.summary);
            traced.from = from;
            traced.to = to;
            self.add(traced, &lowered);
        }
    }

    /// After a change: the selection on something that exists, and on
    /// the newest if following.
    fn keep_selection(&mut self) {
        let visible = self.visible();
        if self.follow || self.selected.is_none() {
            self.selected = visible.last().map(|dialog| dialog.call_id.clone());
        } else if !visible
            .iter()
            .any(|dialog| Some(&dialog.call_id) == self.selected.as_ref())
        {
            // Filtered out or dropped: the nearest that is left.
            self.selected = visible.last().map(|dialog| dialog.call_id.clone());
        }
        let ladder = self.ladder();
        let held = self
            .message
            .is_some_and(|seq| ladder.iter().any(|traced| traced.seq == seq));
        if self.follow || !held {
            self.message = ladder.last().map(|traced| traced.seq);
        }
    }

    /// Sets the text filter and finds the dialogs it matches.
    pub fn set_text(&mut self, text: &str) {
        self.text = text.trim().to_owned();
        self.matching.clear();
        let lowered = self.text.to_lowercase();
        if !lowered.is_empty() {
            for traced in &self.messages {
                if contains(&traced.entry.bytes, &lowered) {
                    if let Some(call_id) = &traced.summary.call_id {
                        self.matching.insert(call_id.clone());
                    } else {
                        self.matching.insert(decode::dialogs::NO_CALL_ID.into());
                    }
                }
            }
        }
        self.keep_selection();
    }

    /// Sets the method filter.
    pub fn set_method(&mut self, method: Option<String>) {
        self.method = method;
        self.keep_selection();
    }

    /// Every method in the trace, for the method filter to cycle through.
    pub fn methods(&self) -> Vec<String> {
        let mut methods: Vec<String> = self
            .dialogs
            .list()
            .iter()
            .flat_map(|dialog| dialog.methods.iter().cloned())
            .collect();
        methods.sort();
        methods.dedup();
        methods
    }

    /// The dialogs the filters let through, in the order they began.
    pub fn visible(&self) -> Vec<&Dialog> {
        self.dialogs
            .list()
            .iter()
            .filter(|dialog| {
                self.method
                    .as_ref()
                    .is_none_or(|method| dialog.methods.contains(method))
            })
            .filter(|dialog| self.text.is_empty() || self.matching.contains(&dialog.call_id))
            .collect()
    }

    pub fn selected_dialog(&self) -> Option<&Dialog> {
        self.dialogs.get(self.selected.as_deref()?)
    }

    /// The messages the ladder shows, in order.
    pub fn ladder(&self) -> Vec<&Traced> {
        match self.scope {
            Scope::Dialog => self
                .selected_dialog()
                .map(|dialog| {
                    dialog
                        .messages
                        .iter()
                        .filter_map(|seq| self.get(*seq))
                        .collect()
                })
                .unwrap_or_default(),
            Scope::All => {
                let shown: HashSet<&str> = self
                    .visible()
                    .iter()
                    .map(|dialog| dialog.call_id.as_str())
                    .collect();
                self.messages
                    .iter()
                    .filter(|traced| {
                        let call_id = traced
                            .summary
                            .call_id
                            .as_deref()
                            .unwrap_or(decode::dialogs::NO_CALL_ID);
                        shown.contains(call_id)
                    })
                    .collect()
            }
        }
    }

    /// A message by its number, if still held.
    pub fn get(&self, seq: u64) -> Option<&Traced> {
        let first = self.messages.front()?.seq;
        let index = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.messages.get(index)
    }

    /// The selected message of the ladder.
    pub fn selected_message(&self) -> Option<&Traced> {
        self.get(self.message?)
    }

    /// The messages held, read or not yet.
    pub fn len(&self) -> usize {
        self.messages.len() + self.unread.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.unread.is_empty()
    }

    pub fn lanes(&self) -> &Lanes {
        &self.lanes
    }
}

/// Whether `bytes` hold `lowered` (already lower case), without case.
fn contains(bytes: &[u8], lowered: &str) -> bool {
    String::from_utf8_lossy(bytes)
        .to_lowercase()
        .contains(lowered)
}
