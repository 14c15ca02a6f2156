//! The call bar, above the status bar, and the incoming-call banner.
//!
//! The bar's first row says with whom, how far the call got, the time
//! talked, hold and mute, and keeps its right end for the level meters;
//! the second row hints the keys the call offers now
//! ([`Call::offered`]), or holds the DTMF keypad. An ended call keeps one
//! row for a while. When the row is short the meters give way first,
//! then hints from the right.
//!
//! Once the media task reports RTP figures, the codec follows the time
//! talked and the rest (loss, jitter, round trip, jitter buffer) takes
//! the right end of the second row, as many as fit after the hints,
//! least telling first to go.
//!
//! The banner is a dialog drawn over everything else, dialogs included,
//! since it takes the keys while it shows. A conference's invitation
//! has one too, in place of its call's.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::client::Availability;

use super::super::keys::{Action, Context};
use super::super::state::{
    AppState, Call, CallPhase, CallStats, DialPad, Invitation, conference_id, without_scheme,
};
use super::lines;
use super::modal;
use super::text::{elide, width};
use super::theme;

/// Cells of one level meter.
const METER: usize = 6;
/// Eighths of a cell, for a meter's last one.
const EIGHTHS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
/// From this level up a meter shows red: the sound clips, or nearly.
const LOUD: f32 = 0.9;

/// Rows the bar takes now: none without a call or while the banner
/// shows it, one once it ended, else two.
pub(super) fn height(state: &AppState) -> u16 {
    match &state.call {
        None => 0,
        Some(call) if call.phase == CallPhase::Incoming => 0,
        Some(call) if !call.is_live() => 1,
        Some(_) => 2,
    }
}

pub(super) fn render_bar(state: &AppState, frame: &mut Frame, area: Rect) {
    let Some(call) = &state.call else {
        return;
    };
    if area.is_empty() {
        return;
    }
    let [top, bottom] = area.layout(&Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
    ]));
    let room = usize::from(area.width);
    let mut first = status(state, call);
    if let Some(levels) = state
        .levels
        .filter(|_| call.talked_secs(state.now_ms).is_some())
    {
        // The place of the level meters: the right end of the first row.
        let meters = meters(levels);
        let used = spans_width(&first) + spans_width(&meters);
        if used < room {
            first.push(Span::raw(" ".repeat(room - used)));
            first.extend(meters);
        }
    }
    lines::render(&[Line::from(first)], top, frame.buffer_mut());
    if bottom.is_empty() || !call.is_live() {
        return;
    }
    match &call.dial_pad {
        Some(pad) => keypad(state, pad, frame, bottom),
        None => {
            let mut second = hints(state, call, room);
            if let Some(stats) = shown_stats(state, call) {
                // As many figures as fit: the buffer goes first, loss last.
                let used = spans_width(&second);
                let figures = (1..=4)
                    .rev()
                    .map(|count| figures(stats, count))
                    .find(|figures| used + 2 + spans_width(figures) <= room);
                if let Some(figures) = figures {
                    let used = used + spans_width(&figures);
                    second.push(Span::raw(" ".repeat(room - used)));
                    second.extend(figures);
                }
            }
            lines::render(&[Line::from(second)], bottom, frame.buffer_mut());
        }
    }
}

/// Who, how far, how long, held, muted.
fn status(state: &AppState, call: &Call) -> Vec<Span<'static>> {
    let theme = &state.config.theme;
    let name = state.display_name(&call.peer).to_owned();
    let separator = || Span::styled(" · ", theme::dim());
    let mut spans = vec![Span::styled(" ☎ ", theme.key())];
    if call.phase == CallPhase::Calling && !call.hanging_up {
        spans.push(Span::raw("Calling "));
        spans.push(Span::styled(name, theme::title()));
        spans.push(Span::raw("…"));
    } else {
        spans.push(Span::styled(name, theme::title()));
        spans.push(separator());
        spans.push(progress(state, call));
    }
    if let Some(stats) = shown_stats(state, call).filter(|s| !s.codec.is_empty()) {
        spans.push(separator());
        spans.push(Span::styled(stats.codec, theme::dim()));
    }
    if let Some(held) = hold(state, call).filter(|_| !call.hanging_up) {
        spans.push(separator());
        spans.push(held);
    }
    if state.muted && call.is_live() {
        spans.push(separator());
        spans.push(Span::styled("Muted", theme::error()));
    }
    spans
}

/// How far the call got, or the time talked.
fn progress(state: &AppState, call: &Call) -> Span<'static> {
    let waiting = state.config.theme.presence(Availability::Away);
    if call.hanging_up {
        let text = match call.phase {
            CallPhase::Calling | CallPhase::Ringing => "Cancelling…",
            _ => "Hanging up…",
        };
        return Span::styled(text, theme::dim());
    }
    match &call.phase {
        CallPhase::Incoming => Span::styled("Calling you…", waiting),
        CallPhase::Answering => Span::styled("Connecting…", waiting),
        CallPhase::Calling => Span::styled("Calling…", waiting),
        CallPhase::Ringing => Span::styled("Ringing…", waiting),
        CallPhase::Connected { .. } => {
            let talked = call.talked_secs(state.now_ms).unwrap_or(0);
            Span::styled(timer(talked), theme::ok())
        }
        CallPhase::Ended { reason, .. } => Span::raw(format!("Call ended: {reason}")),
    }
}

/// The hold state, if there is one to tell (only a connected call has one).
fn hold(state: &AppState, call: &Call) -> Option<Span<'static>> {
    call.talked_secs(state.now_ms)?;
    let style = state.config.theme.presence(Availability::Away);
    let text = match (call.hold_pending, call.held_by_us, call.held_by_them) {
        (Some(true), ..) => "Holding…",
        (Some(false), ..) => "Resuming…",
        (None, true, true) => "On hold (both)",
        (None, true, false) => "On hold (by you)",
        (None, false, true) => "On hold (by them)",
        (None, false, false) => return None,
    };
    Some(Span::styled(text, style))
}

/// `mm:ss`, or `h:mm:ss` from an hour.
pub fn timer(secs: i64) -> String {
    let secs = secs.max(0);
    let (hours, minutes, seconds) = (secs / 3600, secs / 60 % 60, secs % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes:02}:{seconds:02}")
    }
}

/// `mic ███▌·· spk █▍····`: the input and output peaks.
fn meters((input, output): (f32, f32)) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    for (label, level) in [("mic ", input), (" spk ", output)] {
        spans.push(Span::styled(label, theme::dim()));
        let (bar, empty) = meter(level);
        let style = if level >= LOUD {
            theme::error()
        } else {
            theme::ok()
        };
        spans.push(Span::styled(bar, style));
        spans.push(Span::styled("·".repeat(empty), theme::dim()));
    }
    spans.push(Span::raw(" "));
    spans
}

/// A level as [`METER`] cells of eighths: the bar, and the cells left.
pub(super) fn meter(level: f32) -> (String, usize) {
    let level = if level.is_nan() {
        0.0
    } else {
        level.clamp(0.0, 1.0)
    };
    // At most METER * 8, so the cast cannot truncate.
    let eighths = (level * (METER * 8) as f32).round() as usize;
    let (full, part) = (eighths / 8, eighths % 8);
    let mut bar = "█".repeat(full);
    bar.push_str(EIGHTHS[part]);
    let used = full + usize::from(part > 0);
    (bar, METER.saturating_sub(used))
}

/// The figures the bar shows, while the call is connected.
fn shown_stats(state: &AppState, call: &Call) -> Option<CallStats> {
    call.talked_secs(state.now_ms)?;
    state.stats_shown.filter(|_| !call.hanging_up)
}

/// From this loss on it shows red: speech breaks up.
pub(super) const LOSSY_PERCENT: f32 = 5.0;

/// `loss 0.4% · jitter 3 ms · rtt 12 ms · buffer 40 ms`, the first
/// `count` of them (the round trip only once known), and a space.
fn figures(stats: CallStats, count: usize) -> Vec<Span<'static>> {
    let loss_style = if stats.loss_percent >= LOSSY_PERCENT {
        theme::error()
    } else {
        ratatui::style::Style::default()
    };
    let mut all = vec![
        ("loss ", format!("{:.1}%", stats.loss_percent), loss_style),
        ("jitter ", ms(stats.jitter_ms), Default::default()),
    ];
    if let Some(rtt) = stats.round_trip_ms {
        all.push(("rtt ", ms(rtt), Default::default()));
    }
    all.push(("buffer ", ms(stats.buffer_ms), Default::default()));
    let mut spans = Vec::new();
    for (n, (label, value, style)) in all.into_iter().take(count).enumerate() {
        if n > 0 {
            spans.push(Span::styled(" · ", theme::dim()));
        }
        spans.push(Span::styled(label, theme::dim()));
        spans.push(Span::styled(value, style));
    }
    spans.push(Span::raw(" "));
    spans
}

/// Whole milliseconds: finer means nothing on a screen.
fn ms(value: f32) -> String {
    format!("{value:.0} ms")
}

/// The keys the call offers now, as many as fit.
fn hints(state: &AppState, call: &Call, room: usize) -> Vec<Span<'static>> {
    let theme = &state.config.theme;
    let mut spans = vec![Span::raw(" ")];
    for (n, action) in call.offered().into_iter().enumerate() {
        let key = state.keys.label(Context::Call, action);
        let what = match action {
            Action::HangUp => match call.phase {
                CallPhase::Incoming => "decline",
                CallPhase::Calling | CallPhase::Ringing => "cancel",
                _ => "hang up",
            },
            Action::Hold if call.held_by_us => "resume",
            Action::Hold => "hold",
            Action::Mute if state.muted => "unmute",
            Action::Mute => "mute",
            Action::DialTones => "dial tones",
            _ => continue,
        };
        let pair = [
            Span::styled(if n > 0 { " · " } else { "" }, theme::dim()),
            Span::styled(key, theme.key()),
            Span::styled(format!(" {what}"), theme::dim()),
        ];
        if spans_width(&spans) + spans_width(&pair) > room {
            break;
        }
        spans.extend(pair);
    }
    spans
}

/// The keypad: what is typed, what was sent, and its keys.
fn keypad(state: &AppState, pad: &DialPad, frame: &mut Frame, area: Rect) {
    let theme = &state.config.theme;
    let label = " Dial tones › ";
    let send = state.keys.label(Context::DialPad, Action::Accept);
    let close = state.keys.label(Context::DialPad, Action::Cancel);
    let mut tail = vec![
        Span::styled(send, theme.key()),
        Span::styled(" send · ", theme::dim()),
        Span::styled(close, theme.key()),
        Span::styled(" close ", theme::dim()),
    ];
    if !pad.sent.is_empty() {
        let sent = elide(&pad.sent, 16);
        tail.insert(0, Span::styled(format!("sent {sent} · "), theme::dim()));
    }
    let room = usize::from(area.width);
    let tail_width = spans_width(&tail);
    let field = 12.max(room.saturating_sub(width(label) + tail_width + 2));
    let [head, input, rest] = area.layout(&Layout::horizontal([
        Constraint::Length(u16::try_from(width(label)).unwrap_or(0)),
        Constraint::Length(u16::try_from(field).unwrap_or(0)),
        Constraint::Min(0),
    ]));
    frame.render_widget(Paragraph::new(Span::styled(label, theme.key())), head);
    let typing = state.modal.is_none();
    modal::input_row(frame, input, &pad.input, typing);
    frame.render_widget(Paragraph::new(Line::from(tail).right_aligned()), rest);
}

/// "Amy is calling", over everything, while the call rings here.
pub(super) fn render_banner(state: &AppState, frame: &mut Frame, area: Rect) {
    if area.is_empty() {
        return;
    }
    if let Some(invitation) = &state.invitation {
        return invitation_banner(state, invitation, frame, area);
    }
    let Some(call) = state.call.as_ref().filter(|call| call.is_ringing_here()) else {
        return;
    };
    let theme = &state.config.theme;
    let answer = state.keys.label(Context::Incoming, Action::Answer);
    let decline = state.keys.label(Context::Incoming, Action::Decline);
    let keys = modal::hint(theme, &[(&answer, "answer"), (&decline, "decline")]);
    let box_width = area.width.saturating_sub(4).clamp(30, 50);
    let inner = modal::dialog(
        theme,
        frame,
        area,
        "Incoming call".into(),
        keys,
        box_width,
        6,
    );
    let room = usize::from(inner.width).saturating_sub(3 + width(" is calling"));
    let who = Line::from(vec![
        Span::styled("☎  ", theme.key()),
        Span::styled(elide(state.display_name(&call.peer), room), theme::title()),
        Span::raw(" is calling"),
    ]);
    frame.render_widget(Paragraph::new(who), modal::row(inner, 1));
    let address = elide(
        without_scheme(&call.peer),
        usize::from(inner.width).saturating_sub(3),
    );
    let address = Line::from(vec![Span::raw("   "), Span::styled(address, theme::dim())]);
    frame.render_widget(Paragraph::new(address), modal::row(inner, 2));
}

/// "Vivian invites you to a conference", while the invitation rings.
fn invitation_banner(state: &AppState, invitation: &Invitation, frame: &mut Frame, area: Rect) {
    let theme = &state.config.theme;
    let answer = state.keys.label(Context::Incoming, Action::Answer);
    let decline = state.keys.label(Context::Incoming, Action::Decline);
    let keys = modal::hint(theme, &[(&answer, "join"), (&decline, "decline")]);
    let box_width = area.width.saturating_sub(4).clamp(30, 56);
    let inner = modal::dialog(
        theme,
        frame,
        area,
        "Conference invitation".into(),
        keys,
        box_width,
        6,
    );
    let room = usize::from(inner.width).saturating_sub(3);
    let symbol = Span::styled(
        format!("{}  ", theme::symbol(Availability::InAConference)),
        theme.key(),
    );
    let who = match conference_id(&invitation.from) {
        // From the conference itself: no one to name.
        Some(_) => Line::from(vec![symbol, Span::raw("You are invited to a conference")]),
        None => {
            let words = " invites you to a conference";
            let name = state.display_name(&invitation.from);
            Line::from(vec![
                symbol,
                Span::styled(
                    elide(name, room.saturating_sub(width(words))),
                    theme::title(),
                ),
                Span::raw(words),
            ])
        }
    };
    frame.render_widget(Paragraph::new(who), modal::row(inner, 1));
    let id = conference_id(&invitation.focus).unwrap_or_else(|| without_scheme(&invitation.focus));
    let line = Line::from(vec![
        Span::raw("   "),
        Span::styled(elide(&format!("Conference {id}"), room), theme::dim()),
    ]);
    frame.render_widget(Paragraph::new(line), modal::row(inner, 2));
}

fn spans_width(spans: &[Span]) -> usize {
    spans.iter().map(Span::width).sum()
}
