//! The log's fields read as tracing-subscriber's defaults do, with a
//! Call-ID bare; what cannot be written bare is quoted and escaped.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::Fields;

/// A log sink the tests read back (also conferencing's).
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// What `log` writes through confab's field formatter, and through the
/// default one.
fn both(log: impl Fn()) -> (String, String) {
    let ours = Captured::default();
    let sink = ours.clone();
    let subscriber = tracing_subscriber::fmt()
        .fmt_fields(Fields)
        .without_time()
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, &log);
    let default = Captured::default();
    let sink = default.clone();
    let subscriber = tracing_subscriber::fmt()
        .without_time()
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, &log);
    (ours.text(), default.text())
}

#[test]
fn a_call_id_is_written_bare_as_display_would_write_it() {
    let call_id = "a84b4c76e66710@pc33.atlanta.com";
    let (ours, _) = both(|| {
        let _call = tracing::info_span!("sip", call_id).entered();
        tracing::info!("handled");
    });
    let (_, displayed) = both(|| {
        let _call = tracing::info_span!("sip", call_id = %call_id).entered();
        tracing::info!("handled");
    });
    assert_eq!(ours, displayed);
    assert!(
        ours.contains("sip{call_id=a84b4c76e66710@pc33.atlanta.com}: "),
        "{ours}"
    );
}

#[test]
fn every_other_field_reads_as_the_default_formatter_writes_it() {
    let error = std::io::Error::other("socket gone");
    let (ours, default) = both(|| {
        let _conference =
            tracing::info_span!("conference", id = %"4KT9QZ2M", user = "amy").entered();
        tracing::warn!(
            count = 3,
            ratio = 0.5,
            ok = false,
            name = "a \"quoted\" name",
            error = &error as &(dyn std::error::Error + 'static),
            "the \x1b[31mmessage\x1b[0m itself"
        );
        tracing::info!(
            call_id = 17,
            "a Call-ID that is not a string is the default's"
        );
    });
    assert_eq!(ours, default);
    assert_eq!(ours.lines().count(), 2, "{ours}");
}

#[test]
fn a_call_id_that_is_not_visible_ascii_is_quoted_and_escaped() {
    for call_id in [
        "two words",
        "esc\x1b[2Jape",
        "quote\"d",
        "",
        "t\u{e9}l\u{e9}phone",
    ] {
        let (ours, default) = both(|| {
            let _call = tracing::info_span!("sip", call_id).entered();
            tracing::info!("handled");
        });
        assert_eq!(ours, default, "{call_id:?}");
        assert!(ours.contains("call_id=\""), "{ours}");
        assert!(!ours.contains('\x1b'), "{ours}");
    }
}

#[test]
fn a_call_id_after_other_fields_is_set_apart_and_a_long_one_is_whole() {
    let long = "x".repeat(300);
    let (ours, _) = both(|| {
        let _call =
            tracing::info_span!("sip", peer = 5, call_id = long.as_str(), cseq = 2).entered();
        tracing::info!("handled");
    });
    assert!(
        ours.contains(&format!("sip{{peer=5 call_id={long} cseq=2}}: ")),
        "{ours}"
    );
}
