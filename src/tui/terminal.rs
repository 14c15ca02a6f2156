//! Taking the terminal and giving it back, for the client and the trace
//! viewer alike.
//!
//! - Raw mode on the alternate screen with bracketed paste, and with the
//!   kitty keyboard protocol where the terminal has it (so Shift-Enter is
//!   told apart from Enter, and Escape from the start of an Alt-key).
//! - Restored on return and, through a panic hook, on panic.
//! - Frames go out through a buffer that holds a whole frame.

use std::io::{self, BufWriter, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{
    DisableBracketedPaste, EnableBracketedPaste, KeyboardEnhancementFlags,
    PopKeyboardEnhancementFlags, PushKeyboardEnhancementFlags,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
    supports_keyboard_enhancement,
};

/// Set while the terminal is ours, so the panic hook restores it only then.
static TERMINAL_ACTIVE: AtomicBool = AtomicBool::new(false);
/// Set while the kitty keyboard flags are pushed, to pop them only then.
static KEYBOARD_PUSHED: AtomicBool = AtomicBool::new(false);

/// The terminal, written through a buffer that holds a whole frame.
/// ratatui flushes once a frame, so a frame goes out in one write rather
/// than in standard output's 1 KiB pieces, which a terminal can show
/// half drawn.
pub type Screen = ratatui::Terminal<CrosstermBackend<BufWriter<Stdout>>>;

/// Room for a whole frame: a full redraw of a large terminal, styles
/// included, is tens of kilobytes; a larger one is still written whole,
/// in more than one write.
const FRAME_BUFFER: usize = 64 * 1024;

/// Takes the terminal; [`leave`] gives it back.
pub fn enter() -> io::Result<Screen> {
    install_panic_hook();
    enable_raw_mode()?;
    TERMINAL_ACTIVE.store(true, Ordering::SeqCst);
    let mut out = io::stdout();
    execute!(out, EnterAlternateScreen, EnableBracketedPaste)?;
    if supports_keyboard_enhancement().unwrap_or(false) {
        execute!(
            out,
            PushKeyboardEnhancementFlags(KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES)
        )?;
        KEYBOARD_PUSHED.store(true, Ordering::SeqCst);
    }
    let terminal = ratatui::Terminal::new(CrosstermBackend::new(BufWriter::with_capacity(
        FRAME_BUFFER,
        out,
    )));
    if terminal.is_err() {
        let _ = leave();
    }
    terminal
}

/// Gives the terminal back as it was; harmless when it already is.
pub fn leave() -> io::Result<()> {
    if !TERMINAL_ACTIVE.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    let mut out = io::stdout();
    // Each step is tried even if one before it failed.
    let pop = if KEYBOARD_PUSHED.swap(false, Ordering::SeqCst) {
        execute!(out, PopKeyboardEnhancementFlags)
    } else {
        Ok(())
    };
    let paste = execute!(out, DisableBracketedPaste);
    let screen = execute!(out, LeaveAlternateScreen, ratatui::crossterm::cursor::Show);
    let raw = disable_raw_mode();
    pop.and(paste).and(screen).and(raw)
}

/// Restores the terminal before the panic message is printed, so the
/// message is readable and the shell usable. Installed once.
fn install_panic_hook() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = leave();
        previous(info);
    }));
}
