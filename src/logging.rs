//! How log lines write their fields: as tracing-subscriber's default
//! formatter does, except that a Call-ID is written bare and in one piece;
//! and standard error sent to the log file while the TUI has the terminal.
//!
//! Every datagram the server or client handles opens a span naming its
//! Call-ID, so that every line logged while it is handled says which call
//! it is about. The fields of a span are formatted when it opens, whether
//! or not anything is then logged. Through the default formatter that is a
//! trip through `core::fmt` and two growths of the span's string per
//! datagram, a few percent of the proxy's whole work on a MESSAGE;
//! written directly it is one small allocation.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Mutex, Once, PoisonError};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::{DefaultVisitor, Writer};

/// The name of the span field that holds a message's Call-ID.
pub const CALL_ID: &str = "call_id";

/// The field formatter of every confab log: give it to
/// `tracing_subscriber::fmt().fmt_fields(..)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fields;

impl<'a> MakeVisitor<Writer<'a>> for Fields {
    type Visitor = FieldVisitor<'a>;

    fn make_visitor(&self, writer: Writer<'a>) -> Self::Visitor {
        FieldVisitor {
            writer,
            is_empty: true,
            result: Ok(()),
        }
    }
}

/// Writes a [`CALL_ID`] field given as a `&str` itself; hands every other
/// field to the default visitor, so those read exactly as they always have.
pub struct FieldVisitor<'a> {
    writer: Writer<'a>,
    is_empty: bool,
    result: fmt::Result,
}

impl FieldVisitor<'_> {
    fn write_call_id(&mut self, value: &str) {
        let separator = if self.is_empty { "" } else { " " };
        self.is_empty = false;
        // One write, so that the span's string is allocated once at its
        // size rather than grown.
        let parts = [separator, CALL_ID, "=", value];
        let mut line = [0u8; 160];
        let mut rest = &mut line[..];
        let fits = parts
            .iter()
            .all(|part| std::io::Write::write_all(&mut rest, part.as_bytes()).is_ok());
        let unused = rest.len();
        let written = line.len() - unused;
        self.result = match (fits, line.get(..written).map(std::str::from_utf8)) {
            (true, Some(Ok(text))) => self.writer.write_str(text),
            _ => parts
                .iter()
                .try_for_each(|part| self.writer.write_str(part)),
        };
    }

    fn delegate(&mut self, field: &Field, record: impl FnOnce(&mut DefaultVisitor<'_>)) {
        if self.result.is_err() {
            return;
        }
        let mut inner = DefaultVisitor::new(self.writer.by_ref(), self.is_empty);
        record(&mut inner);
        self.result = inner.finish();
        // The default visitor skips the `log` crate's metadata fields.
        if !field.name().starts_with("log.") {
            self.is_empty = false;
        }
    }
}

/// A Call-ID that can be written bare: RFC 3261's `word`s are visible
/// ASCII, so anything else (a space, a control character, an escape that
/// would reach the terminal of whoever reads the log) is left to the
/// default visitor, which quotes and escapes it.
fn is_bare(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|byte| byte.is_ascii_graphic() && byte != b'"')
}

impl Visit for FieldVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() != CALL_ID || !is_bare(value) || self.result.is_err() {
            return self.delegate(field, |inner| inner.record_str(field, value));
        }
        if self.writer.has_ansi_escapes() {
            // Coloured as the default visitor colours a name, for a person
            // at a terminal; the cost does not matter there.
            return self.delegate(field, |inner| {
                inner.record_debug(field, &format_args!("{value}"))
            });
        }
        self.write_call_id(value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.delegate(field, |inner| inner.record_error(field, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.delegate(field, |inner| inner.record_debug(field, value));
    }
}

impl VisitOutput<fmt::Result> for FieldVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.result
    }
}

impl VisitFmt for FieldVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        &mut self.writer
    }
}

/// Standard error (file descriptor 2) as it was before
/// [`StderrToFile::redirect`], while redirected.
static SAVED_STDERR: Mutex<Option<OwnedFd>> = Mutex::new(None);

/// Standard error going to a file (the log, open already) until this is
/// dropped.
///
/// The terminal belongs to the TUI, but libraries write to standard error
/// unasked: ALSA's, on a machine with no sound card, prints eight lines
/// for each device it fails to open, over the screen or, left behind, on
/// the shell after confab quits. A panic puts standard error back before
/// its message is printed, so that the message reaches the person at the
/// terminal.
#[must_use = "standard error goes back when this is dropped"]
pub struct StderrToFile(());

impl StderrToFile {
    pub fn redirect(file: impl AsFd) -> io::Result<StderrToFile> {
        let saved = io::stderr().as_fd().try_clone_to_owned()?;
        rustix::stdio::dup2_stderr(file)?;
        *SAVED_STDERR.lock().unwrap_or_else(PoisonError::into_inner) = Some(saved);
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore_stderr();
                previous(info);
            }));
        });
        Ok(StderrToFile(()))
    }
}

impl Drop for StderrToFile {
    fn drop(&mut self) {
        restore_stderr();
    }
}

/// Puts standard error back where it was, if it is redirected.
fn restore_stderr() {
    // try_lock: a panic while the lock is held must not wait for it.
    let saved = match SAVED_STDERR.try_lock() {
        Ok(mut saved) => saved.take(),
        Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner().take(),
        Err(std::sync::TryLockError::WouldBlock) => None,
    };
    if let Some(saved) = saved {
        // Nothing is left to tell if this fails: standard error is where
        // it would be said.
        let _ = rustix::stdio::dup2_stderr(&saved);
    }
}

#[cfg(test)]
pub(crate) mod tests;
