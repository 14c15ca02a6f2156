//! The run loop: owns the terminal and the [`AppState`], feeds it keys,
//! client events and ticks, carries out the [`Effects`], and redraws.
//!
//! - The terminal is taken and given back by `tui::terminal`.
//! - Terminal input is read by a plain thread that forwards crossterm
//!   events into a tokio channel, which needs no extra crossterm feature.
//!   It blocks until input comes, so an idle terminal wakes nothing, and
//!   is not waited for at the end: it stops at its next read, or with the
//!   process.
//! - It redraws only when an update says something changed, at most
//!   `FRAME` (33 ms) apart. It ticks when [`next_tick_ms`] says a tick
//!   can change something (each second of a call, a typing indication
//!   running out, going idle), so an idle screen sleeps; and before any
//!   other message once a second has passed, so that the state's time is
//!   never staler than it.
//! - It ends when the client closes the event channel (signed out), or a
//!   grace period after Quit if the client never does. A terminal that
//!   hangs up is a Quit with nothing more drawn: a thread of its own waits
//!   for that in `poll`, which input does not wake.

use std::io::{self, IsTerminal as _, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ratatui::crossterm::event::{self as terminal_event, Event as TerminalEvent};
use rustix::event::{PollFd, PollFlags, poll};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::{Instant, sleep_until};

use crate::client::{Command, Event};
use crate::trace::TraceEntry;

use super::history::ConversationLog;
use super::state::{AppState, MediaMeters, TuiConfig};
use super::terminal::{enter, leave};
use super::update::{Effects, Msg, next_tick_ms, update};
use super::view::render;

/// Least time between two frames: about 30 a second.
const FRAME: Duration = Duration::from_millis(33);
/// The state's time is brought up to date before a message once it is
/// this old (unix ms).
const STALE_MS: i64 = 1_000;
/// How long to wait for the client to sign out after Quit.
const QUIT_GRACE: Duration = Duration::from_secs(3);

/// The SIP messages for the trace pane, and the addresses that name its
/// lanes.
pub struct TraceFeed {
    pub entries: UnboundedReceiver<TraceEntry>,
    /// This client's SIP address ("this client").
    pub own: Option<std::net::SocketAddr>,
    /// The server's ("server").
    pub server: Option<std::net::SocketAddr>,
}

/// Most trace entries taken into one update: a burst becomes a few
/// updates, not one per message, and keys still get their turn.
const TRACE_BATCH: usize = 256;

/// Runs the terminal UI until the client is done or the user quits.
///
/// `meters` is what the media task publishes for the call bar: a
/// [`MediaMeters`], or anything that becomes one (a bare `(input,
/// output)` pair of levels gives the meters without RTP figures).
pub async fn run<M>(
    config: TuiConfig,
    commands: UnboundedSender<Command>,
    mut events: UnboundedReceiver<Event>,
    mut log: Box<dyn ConversationLog + Send>,
    mut meters: tokio::sync::watch::Receiver<M>,
    trace: Option<TraceFeed>,
) -> io::Result<()>
where
    M: Clone + Into<MediaMeters>,
{
    let mut meters_open = true;
    let history_limit = config.history_limit;
    // Refused before the terminal is taken, so the message is readable.
    let mut state = AppState::new(config)
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
    let mut trace_entries = match trace {
        Some(feed) => {
            state.trace.set_addresses(feed.own, feed.server);
            Some(feed.entries)
        }
        None => None,
    };
    let mut terminal = enter()?;
    let (input_tx, mut input) = unbounded_channel();
    let (hangup_tx, mut hangup) = unbounded_channel();
    // Detached: see the module documentation.
    thread::spawn(move || read_terminal(input_tx));
    spawn_hangup_watch(hangup_tx);
    let mut terminal_gone = false;

    let mut carry_out = |state: &mut AppState, msg: Msg| -> bool {
        let mut queue = vec![msg];
        let mut redraw = false;
        while let Some(msg) = queue.pop() {
            let fx = update(state, msg);
            redraw |= fx.redraw;
            queue.extend(effects(fx, &commands, log.as_mut(), history_limit));
        }
        redraw
    };

    let size = terminal.size()?;
    carry_out(
        &mut state,
        Msg::Resize {
            width: size.width,
            height: size.height,
        },
    );
    // The first tick at once: it starts the idle clock.
    let mut next_tick = Instant::now();
    let mut dirty = true;
    let mut last_frame = Instant::now()
        .checked_sub(FRAME)
        .unwrap_or_else(Instant::now);
    let mut quit_deadline: Option<Instant> = None;
    let result = loop {
        if dirty && !terminal_gone && last_frame.elapsed() >= FRAME {
            if let Err(error) = terminal.draw(|frame| render(&state, frame)) {
                break Err(error);
            }
            last_frame = Instant::now();
            dirty = false;
        }
        if state.quitting && quit_deadline.is_none() {
            quit_deadline = Some(Instant::now() + QUIT_GRACE);
        }
        let msg = tokio::select! {
            terminal_input = input.recv() => match terminal_input {
                Some(Ok(event)) => match from_terminal(event) {
                    Some(msg) => msg,
                    None => continue,
                },
                Some(Err(error)) => break Err(error),
                None => break Ok(()),
            },
            Some(error) = hangup.recv(), if !terminal_gone => {
                // Signed out as if the user had quit, with nothing drawn.
                tracing::info!(%error, "the terminal is gone; signing out");
                terminal_gone = true;
                Msg::TerminalGone
            }
            event = events.recv() => match event {
                Some(event) => Msg::Client(event),
                // The client is done: signed out, or gone.
                None => break Ok(()),
            },
            () = sleep_until(next_tick) => Msg::Tick { now_ms: unix_ms() },
            entry = next_trace(&mut trace_entries), if trace_entries.is_some() => match entry {
                Some(first) => {
                    let mut batch = vec![first];
                    if let Some(entries) = &mut trace_entries {
                        while batch.len() < TRACE_BATCH {
                            let Ok(entry) = entries.try_recv() else { break };
                            batch.push(entry);
                        }
                    }
                    Msg::Trace(batch)
                }
                None => {
                    trace_entries = None;
                    continue;
                }
            },
            // Meters move only while a call or a conference is on; the
            // throttle above keeps their redraws to the frame rate.
            changed = meters.changed(), if meters_open && (state.call.is_some() || state.conference.is_some()) => match changed {
                Ok(()) => Msg::Meters(meters.borrow_and_update().clone().into()),
                Err(_) => {
                    meters_open = false;
                    continue;
                }
            },
            _ = sleep_until(last_frame + FRAME), if dirty => continue,
            _ = sleep_until(quit_deadline.unwrap_or_else(Instant::now)), if quit_deadline.is_some() => {
                break Ok(());
            }
        };
        let now_ms = unix_ms();
        if !matches!(msg, Msg::Tick { .. }) && now_ms.saturating_sub(state.now_ms) >= STALE_MS {
            dirty |= carry_out(&mut state, Msg::Tick { now_ms });
        }
        dirty |= carry_out(&mut state, msg);
        let wait = next_tick_ms(&state).saturating_sub(now_ms).max(0);
        next_tick = Instant::now() + Duration::from_millis(u64::try_from(wait).unwrap_or(0));
    };

    // A terminal that is gone cannot be given back.
    let left = leave();
    if !terminal_gone {
        left?;
    }
    result
}

/// Carries out what an update asked for; returns the messages that answer
/// it (history read, search results).
fn effects(
    fx: Effects,
    commands: &UnboundedSender<Command>,
    log: &mut (dyn ConversationLog + Send),
    history_limit: usize,
) -> Vec<Msg> {
    let mut answers = Vec::new();
    // Loaded before appending: see `Effects::load_history`.
    for peer in fx.load_history {
        let messages = log.load(&peer, history_limit);
        answers.push(Msg::History { peer, messages });
    }
    for message in &fx.log {
        log.append(message);
    }
    if let Some(query) = fx.search {
        let results = log.search(&query, 100);
        answers.push(Msg::SearchResults { query, results });
    }
    for command in fx.commands {
        // A closed channel means the client is gone; the event channel
        // closing too ends the loop.
        let _ = commands.send(command);
    }
    if fx.bell {
        let mut out = io::stdout();
        let _ = out.write_all(b"\x07").and_then(|()| out.flush());
    }
    answers
}

/// The next trace entry, if a trace is fed.
async fn next_trace(entries: &mut Option<UnboundedReceiver<TraceEntry>>) -> Option<TraceEntry> {
    match entries {
        Some(entries) => entries.recv().await,
        None => std::future::pending().await,
    }
}

fn from_terminal(event: TerminalEvent) -> Option<Msg> {
    match event {
        TerminalEvent::Key(key) => Some(Msg::Key(key)),
        TerminalEvent::Paste(text) => Some(Msg::Paste(text)),
        TerminalEvent::Resize(width, height) => Some(Msg::Resize { width, height }),
        TerminalEvent::FocusGained | TerminalEvent::FocusLost | TerminalEvent::Mouse(_) => None,
    }
}

/// Forwards terminal events until the loop has gone (the channel is
/// closed) or reading fails.
fn read_terminal(forward: UnboundedSender<io::Result<TerminalEvent>>) {
    loop {
        let event = terminal_event::read();
        let failed = event.is_err();
        if forward.send(event).is_err() || failed {
            return;
        }
    }
}

/// Watches the terminal for a hang-up (its window closed, its ssh session
/// ended) on a thread of its own, which blocks in `poll` asking for no
/// event at all: only a hang-up or an error ends the wait, so input never
/// wakes it. The reading thread cannot tell: at the end of its input,
/// crossterm's `read` retries forever (crossterm-rs/crossterm#793), which
/// a process that ignores SIGHUP (under `nohup`, say) never leaves.
fn spawn_hangup_watch(gone: UnboundedSender<io::Error>) {
    // crossterm reads standard input when it is a terminal, else /dev/tty.
    let tty: Box<dyn AsFd + Send> = if io::stdin().is_terminal() {
        Box::new(io::stdin())
    } else {
        match std::fs::File::open("/dev/tty") {
            Ok(file) => Box::new(file),
            Err(error) => {
                return tracing::debug!(%error, "no terminal to watch for a hang-up");
            }
        }
    };
    let spawned = thread::Builder::new()
        .name("hangup".into())
        .stack_size(HANGUP_STACK)
        .spawn(move || {
            let error = wait_for_hangup(tty.as_fd());
            let _ = gone.send(error);
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "the terminal is not watched for a hang-up");
    }
}

/// Small: the thread only waits in `poll`.
const HANGUP_STACK: usize = 64 * 1024;

/// Blocks until `tty` hangs up or fails; returns why, as an error. Asked
/// for no event, `poll` reports only HUP, ERR or NVAL: any of them ends it.
fn wait_for_hangup(tty: BorrowedFd<'_>) -> io::Error {
    loop {
        let mut watched = [PollFd::from_borrowed_fd(tty, PollFlags::empty())];
        match poll(&mut watched, None) {
            Ok(_) => {
                let happened = watched[0].revents();
                if !happened.is_empty() {
                    return io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the terminal hung up ({happened:?})"),
                    );
                }
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(error) => return error.into(),
        }
    }
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::history::{LoggedMessage, MemoryLog};

    fn logged(text: &str, at_ms: i64) -> LoggedMessage {
        LoggedMessage {
            peer: "sip:amy@x".into(),
            outgoing: false,
            text: text.into(),
            at_ms,
            delivered: None,
            reason: None,
        }
    }

    #[test]
    fn effects_load_history_before_logging_and_forward_commands_in_order() {
        let mut log = MemoryLog::new();
        log.append(&logged("yesterday", 1_000));
        let (commands, mut sent) = unbounded_channel();
        let fx = Effects {
            commands: vec![
                Command::Typing {
                    to: "sip:amy@x".into(),
                },
                Command::Quit,
            ],
            log: vec![logged("today", 2_000)],
            load_history: vec!["sip:amy@x".into()],
            search: Some("day".into()),
            ..Effects::default()
        };
        let answers = effects(fx, &commands, &mut log, 10);
        let Some(Msg::History { messages, .. }) = answers.first() else {
            panic!("history first: {answers:?}");
        };
        assert_eq!(messages, &[logged("yesterday", 1_000)], "not the new one");
        let Some(Msg::SearchResults { results, .. }) = answers.get(1) else {
            panic!("then search results: {answers:?}");
        };
        assert_eq!(results.len(), 2, "the search sees the new one");
        assert_eq!(log.messages().len(), 2);
        assert_eq!(
            sent.try_recv().ok(),
            Some(Command::Typing {
                to: "sip:amy@x".into()
            })
        );
        assert_eq!(sent.try_recv().ok(), Some(Command::Quit));
    }

    #[test]
    fn terminal_events_become_messages_and_the_rest_is_dropped() {
        assert_eq!(
            from_terminal(TerminalEvent::Resize(100, 30)),
            Some(Msg::Resize {
                width: 100,
                height: 30
            })
        );
        assert_eq!(
            from_terminal(TerminalEvent::Paste("hi".into())),
            Some(Msg::Paste("hi".into()))
        );
        assert_eq!(from_terminal(TerminalEvent::FocusLost), None);
    }
}
