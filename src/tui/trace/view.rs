//! Draws the trace pane: the dialog list on top, the ladder of the
//! selected dialog below it with the selected message beside it, or, once
//! a message is opened, that message over the whole pane. `›` marks the
//! selection, so it reads without colour too.
//!
//! Everything is cut to its area with saturating arithmetic: no size
//! makes it panic.

use std::time::UNIX_EPOCH;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph};

use crate::trace::decode::{self, Lane, StartLine, party};
use crate::trace::file::format_time;

use super::super::keys::{Action, Context, KeyMap};
use super::super::view::text::{elide, width};
use super::super::view::theme::{self, Theme};
use super::{Scope, TraceFocus, TracePane, Traced};

/// Columns of a time, `HH:MM:SS.mmm`.
const TIME: usize = 12;
/// The list's method column.
const METHOD: usize = 10;
/// The list's message count column.
const COUNT: usize = 5;
/// The list's state column.
const STATE: usize = 22;
/// The message beside the ladder, at most.
const PREVIEW: u16 = 40;

/// Draws the pane over `area`; with `hints`, the last row tells the keys
/// (the viewer, which has no status bar).
pub fn render(pane: &TracePane, keys: &KeyMap, theme: &Theme, frame: &mut Frame, area: Rect) {
    if area.is_empty() {
        return;
    }
    let (body, hint_row) = if pane.read_only && area.height > 2 {
        let [body, hint_row] = area.layout(&Layout::vertical([
            Constraint::Min(0),
            Constraint::Length(1),
        ]));
        (body, Some(hint_row))
    } else {
        (area, None)
    };
    if pane.focus == TraceFocus::Message {
        message(pane, theme, frame, body);
    } else {
        let list_height = (body.height / 3).max(5).min(body.height);
        let [top, bottom] = body.layout(&Layout::vertical([
            Constraint::Length(list_height),
            Constraint::Min(0),
        ]));
        list(pane, theme, frame, top);
        let preview = if bottom.width >= 90 {
            PREVIEW.min(bottom.width / 2)
        } else {
            0
        };
        let [ladder_area, preview_area] = bottom.layout(&Layout::horizontal([
            Constraint::Min(0),
            Constraint::Length(preview),
        ]));
        ladder(pane, theme, frame, ladder_area);
        if !preview_area.is_empty() {
            self::preview(pane, theme, frame, preview_area);
        }
    }
    if let Some(row) = hint_row {
        frame.render_widget(Paragraph::new(hints(pane, keys, theme)), row);
    }
}

fn block<'a>(title: String, focused: bool, theme: &Theme) -> Block<'a> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(if focused {
            theme.focused_border()
        } else {
            theme::border()
        })
        .title(Span::styled(format!(" {title} "), theme::title()))
}

/// The list's title: the counts, the filters, and whether it follows.
fn list_title(pane: &TracePane) -> String {
    let visible = pane.visible().len();
    let mut title = format!(
        "{}: {} messages, {} dialogs",
        pane.title,
        pane.len(),
        visible
    );
    if let Some(method) = &pane.method {
        title.push_str(&format!(" │ method {method}"));
    }
    if let Some(input) = &pane.editing {
        title.push_str(&format!(" │ filter: {}▏", input.value()));
    } else if !pane.text.is_empty() {
        title.push_str(&format!(" │ filter \"{}\"", pane.text));
    }
    if pane.dropped > 0 {
        title.push_str(&format!(" │ {} oldest dropped", pane.dropped));
    }
    if pane.follow {
        title.push_str(" │ following");
    }
    title
}

fn list(pane: &TracePane, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = pane.focus == TraceFocus::List;
    let block = block(list_title(pane), focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.is_empty() {
        return;
    }
    let inner_width = usize::from(inner.width);
    let parties = inner_width.saturating_sub(2 + TIME + METHOD + COUNT + STATE + 5);
    let from_width = parties / 2;
    let to_width = parties - from_width;
    let row = |marker: &str,
               time: &str,
               method: &str,
               from: &str,
               to: &str,
               count: &str,
               state: &str| {
        format!(
            "{marker} {time:<TIME$} {method:<METHOD$} {from:<from_width$} {to:<to_width$} {count:>COUNT$} {state}",
            method = elide(method, METHOD),
            from = elide(from, from_width),
            to = elide(to, to_width),
        )
    };
    let mut lines = vec![Line::styled(
        row(" ", "Time", "Method", "From", "To", "Msgs", "State"),
        theme::dim(),
    )];
    let visible = pane.visible();
    let rows = usize::from(inner.height).saturating_sub(1);
    let selected = visible
        .iter()
        .position(|dialog| Some(&dialog.call_id) == pane.selected.as_ref());
    let offset = selected.map_or(0, |at| (at + 1).saturating_sub(rows));
    for (index, dialog) in visible.iter().enumerate().skip(offset).take(rows) {
        let is_selected = Some(index) == selected;
        let text = row(
            if is_selected { "›" } else { " " },
            &clock(pane, dialog.first_at),
            &dialog.method,
            &party(&dialog.from),
            &party(&dialog.to),
            &dialog.messages.len().to_string(),
            &elide(&dialog.state.label(), STATE),
        );
        let style = if is_selected {
            theme::selected(focused)
        } else {
            Style::new()
        };
        lines.push(Line::styled(elide(&text, inner_width), style));
    }
    if visible.is_empty() {
        let empty = if pane.is_empty() {
            "No SIP messages yet."
        } else {
            "No dialog matches the filters."
        };
        lines.push(Line::styled(format!("  {empty}"), theme::dim()));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `HH:MM:SS.mmm`, local by the pane's offset.
fn clock(pane: &TracePane, at: std::time::SystemTime) -> String {
    let offset =
        std::time::Duration::from_secs(u64::from(pane.utc_offset_minutes.unsigned_abs()) * 60);
    let local = if pane.utc_offset_minutes >= 0 {
        at.checked_add(offset)
    } else {
        at.checked_sub(offset).filter(|t| *t >= UNIX_EPOCH)
    };
    let text = format_time(local.unwrap_or(at));
    text.get(11..23).unwrap_or(&text).to_owned()
}

fn ladder(pane: &TracePane, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = pane.focus == TraceFocus::Ladder;
    let messages = pane.ladder();
    let title = match (pane.scope, pane.selected_dialog()) {
        (Scope::All, _) => "Ladder: every dialog listed".to_owned(),
        (Scope::Dialog, Some(dialog)) => format!("Ladder: {} {}", dialog.method, dialog.call_id),
        (Scope::Dialog, None) => "Ladder".to_owned(),
    };
    let block = block(title, focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.is_empty() || messages.is_empty() {
        return;
    }
    let lanes = lanes_of(pane, &messages);
    let lanes_width = usize::from(inner.width).saturating_sub(TIME + 1);
    let count = lanes.len().max(1);
    let step = (lanes_width / count).max(1);
    let centre = |index: usize| index * step + step / 2;
    let position = |lane: Lane| lanes.iter().position(|l| *l == lane).map(centre);

    // The lane names, centred over their lines.
    let mut header = vec![' '; lanes_width];
    for (index, lane) in lanes.iter().enumerate() {
        let label = elide(&pane.lanes().label(*lane), step);
        let start = centre(index).saturating_sub(width(&label) / 2);
        put(&mut header, start, &label);
    }
    let mut lines = vec![Line::styled(
        format!("{:TIME$} {}", "", header.iter().collect::<String>()),
        theme::title(),
    )];
    let rows = usize::from(inner.height).saturating_sub(1);
    let selected = messages
        .iter()
        .position(|traced| Some(traced.seq) == pane.message);
    let offset = selected.map_or(0, |at| (at + 1).saturating_sub(rows));
    for (index, traced) in messages.iter().enumerate().skip(offset).take(rows) {
        let mut cells = vec![' '; lanes_width];
        for index in 0..lanes.len() {
            if let Some(cell) = cells.get_mut(centre(index)) {
                *cell = '│';
            }
        }
        let (from, to) = (position(traced.from), position(traced.to));
        let (start, end) = arrow(&mut cells, from, to, &traced.summary.label());
        let is_selected = Some(index) == selected;
        let marker = if is_selected { '›' } else { ' ' };
        let time = clock(pane, traced.entry.at);
        let before: String = cells.iter().take(start).collect();
        let drawn: String = cells.iter().skip(start).take(end - start).collect();
        let after: String = cells.iter().skip(end).collect();
        let row_style = if is_selected {
            theme::selected(focused)
        } else {
            Style::new()
        };
        lines.push(
            Line::from(vec![
                Span::styled(format!("{marker}{:<w$} ", time, w = TIME - 1), theme::dim()),
                Span::raw(before),
                Span::styled(drawn, arrow_style(traced, theme)),
                Span::raw(after),
            ])
            .style(row_style),
        );
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The lanes of these messages, left to right: by rank, then in the order
/// they first appear.
fn lanes_of(pane: &TracePane, messages: &[&Traced]) -> Vec<Lane> {
    let mut lanes: Vec<Lane> = Vec::new();
    for traced in messages {
        for lane in [traced.from, traced.to] {
            if !lanes.contains(&lane) {
                lanes.push(lane);
            }
        }
    }
    // A stable sort keeps first appearance within a rank.
    lanes.sort_by_key(|lane| pane.lanes().rank(*lane));
    lanes
}

/// Draws an arrow between two lane positions into `cells` with its label
/// in the middle; returns the span of cells it took.
fn arrow(
    cells: &mut [char],
    from: Option<usize>,
    to: Option<usize>,
    label: &str,
) -> (usize, usize) {
    let (Some(from), Some(to)) = (from, to) else {
        return (0, 0);
    };
    let len = cells.len();
    if from == to {
        let text = format!("↺ {label}");
        let start = (from + 1).min(len);
        put(cells, start, &text);
        return (start, (start + text.chars().count()).min(len));
    }
    let (left, right) = (from.min(to), from.max(to));
    let start = (left + 1).min(len);
    let end = right.min(len);
    for cell in cells.iter_mut().take(end).skip(start) {
        *cell = '─';
    }
    if end > start {
        if to > from {
            cells[end - 1] = '▶';
        } else {
            cells[start] = '◀';
        }
    }
    let room = end.saturating_sub(start).saturating_sub(4);
    if room > 0 {
        let text = format!(" {} ", elide(label, room));
        let text_len = text.chars().count();
        let at = start + (end - start).saturating_sub(text_len) / 2;
        put(cells, at, &text);
    }
    (start, end)
}

/// Writes `text` into `cells` from `at`, cut at the end.
fn put(cells: &mut [char], at: usize, text: &str) {
    for (cell, c) in cells.iter_mut().skip(at).zip(text.chars()) {
        *cell = c;
    }
}

fn arrow_style(traced: &Traced, theme: &Theme) -> Style {
    match traced.summary.start {
        StartLine::Request { .. } => Style::new().fg(theme.accent),
        StartLine::Response { code, .. } if code < 200 => Style::new().fg(theme.away),
        StartLine::Response { code, .. } if code < 300 => Style::new().fg(theme.available),
        _ => Style::new().fg(theme.busy),
    }
}

/// The lines that tell a message: where it went, its start line and
/// headers, then its body decoded and as sent.
fn message_lines(pane: &TracePane, traced: &Traced, full: bool) -> Vec<Line<'static>> {
    let entry = &traced.entry;
    let lanes = pane.lanes();
    let direction = match entry.direction {
        crate::trace::Direction::Sent => "sent",
        crate::trace::Direction::Received => "received",
    };
    let when = if full {
        format_time(entry.at)
    } else {
        clock(pane, entry.at)
    };
    let mut lines = vec![
        Line::styled(
            format!(
                "{when} {direction} {} {} -> {} ({} bytes)",
                entry.transport,
                entry.source(),
                entry.destination(),
                entry.bytes.len()
            ),
            theme::dim(),
        ),
        Line::styled(
            format!("{} → {}", lanes.label(traced.from), lanes.label(traced.to)),
            theme::dim(),
        ),
        Line::styled(traced.summary.line(), theme::title()),
    ];
    if let Some(problem) = &traced.summary.problem {
        lines.push(Line::styled(format!("refused: {problem}"), theme::error()));
    }
    let text = String::from_utf8_lossy(&entry.bytes);
    let (head, _) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    if full {
        lines.push(Line::raw(""));
        lines.extend(head.lines().map(|line| Line::raw(printable(line))));
    } else {
        for name in ["From:", "To:", "Call-ID:", "CSeq:"] {
            if let Some(line) = head.lines().find(|line| line.starts_with(name)) {
                lines.push(Line::raw(printable(line)));
            }
        }
    }
    let summary = &traced.summary;
    if !summary.body.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!(
                "── body: {}, {} bytes, decoded ──",
                summary.content_type.as_deref().unwrap_or("no type"),
                summary.body.len()
            ),
            theme::title(),
        ));
        let decoded = decode::decode_body(summary.content_type.as_deref(), &summary.body);
        lines.extend(decoded.into_iter().map(Line::raw));
        if full {
            lines.push(Line::raw(""));
            lines.push(Line::styled("── body as sent ──", theme::title()));
            let body = String::from_utf8_lossy(&summary.body);
            lines.extend(body.lines().map(|line| Line::raw(printable(line))));
        }
    }
    lines
}

/// A line of the message with control characters shown as `·`.
fn printable(line: &str) -> String {
    line.trim_end_matches('\r')
        .chars()
        .map(|c| if c.is_control() && c != '\t' { '·' } else { c })
        .collect()
}

fn preview(pane: &TracePane, theme: &Theme, frame: &mut Frame, area: Rect) {
    let block = block("Message".into(), false, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(traced) = pane.selected_message() else {
        return;
    };
    let lines = cut_lines(message_lines(pane, traced, false), inner.width);
    frame.render_widget(Paragraph::new(lines), inner);
}

fn message(pane: &TracePane, theme: &Theme, frame: &mut Frame, area: Rect) {
    let ladder = pane.ladder();
    let at = ladder
        .iter()
        .position(|traced| Some(traced.seq) == pane.message);
    let title = match at {
        Some(at) => format!("Message {} of {}", at + 1, ladder.len()),
        None => "Message".into(),
    };
    let block = block(title, true, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(traced) = pane.selected_message() else {
        return;
    };
    let lines = cut_lines(message_lines(pane, traced, true), inner.width);
    let most = lines.len().saturating_sub(usize::from(inner.height));
    let scroll = usize::from(pane.scroll).min(most);
    let shown: Vec<Line<'static>> = lines.into_iter().skip(scroll).collect();
    frame.render_widget(Paragraph::new(shown), inner);
}

/// Lines folded to `columns`: a long line (a URI, an XML element)
/// goes on over the next rows rather than being cut.
fn cut_lines(lines: Vec<Line<'static>>, columns: u16) -> Vec<Line<'static>> {
    let max = usize::from(columns).max(1);
    let mut out = Vec::new();
    for line in lines {
        let style = line.style;
        let span_style = line
            .spans
            .first()
            .map(|span| span.style)
            .unwrap_or_default();
        let text: String = line
            .spans
            .iter()
            .map(|span| span.content.as_ref())
            .collect();
        let chars: Vec<char> = text.chars().collect();
        if chars.is_empty() {
            out.push(Line::raw(""));
            continue;
        }
        for chunk in chars.chunks(max) {
            let piece: String = chunk.iter().collect();
            out.push(Line::styled(elide(&piece, max), span_style).style(style));
        }
    }
    out
}

/// The viewer's key line.
fn hints(pane: &TracePane, keys: &KeyMap, theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    let mut hint = |action: Action, context: Context, what: &str| {
        let key = keys.label(context, action);
        if !key.is_empty() {
            spans.push(Span::styled(format!(" {key}"), theme.key()));
            spans.push(Span::styled(format!(" {what}"), theme::dim()));
        }
    };
    if pane.editing.is_some() {
        hint(Action::Accept, Context::TraceFilter, "apply");
        hint(Action::Cancel, Context::TraceFilter, "clear");
    } else {
        let open = match pane.focus {
            TraceFocus::List => "ladder",
            _ => "message",
        };
        hint(Action::Open, Context::Trace, open);
        hint(Action::Back, Context::Trace, "back");
        hint(Action::TraceMethod, Context::Trace, "method");
        hint(Action::Search, Context::Trace, "filter");
        hint(Action::TraceScope, Context::Trace, "all dialogs");
        hint(Action::ShowHelp, Context::Trace, "help");
        hint(Action::CloseTrace, Context::Trace, "quit");
    }
    Line::from(spans).style(Style::new().add_modifier(Modifier::empty()))
}
