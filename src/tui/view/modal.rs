//! The dialogs, centred over the main screen: status picker, note editor,
//! call prompt, contact form, remove confirmation, history search, and the
//! conference's "Add audio" choice, invite prompt and eject and end
//! confirmations (the help overlay is in `help`). Each says which keys it
//! takes on its bottom border. The call and invite prompts, and "Add
//! audio"'s number field, show under the field what a typed number dials
//! as under the location profile, or why it cannot be dialled, before
//! anything is.

use ratatui::Frame;
use ratatui::layout::{Constraint, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{BorderType, Clear, Paragraph, Wrap};
use tui_input::Input;

use crate::client::{Availability, NormalizeError, Normalized};

use super::super::keys::{Action, Context};
use super::super::state::{
    AddAudio, AppState, AudioChoice, BuddyForm, FormField, Modal, Search, without_scheme,
};
use super::help;
use super::panel::Panel;
use super::text::{self, clock, elide, grouped_number};
use super::theme::{self, Theme};

pub(super) fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let Some(modal) = &state.modal else {
        return;
    };
    match modal {
        Modal::Help { scroll } => help::render(state, frame, area, *scroll),
        Modal::PresencePicker { selected } => picker(state, *selected, frame, area),
        Modal::NoteEditor { input } => note(&state.config.theme, input, frame, area),
        Modal::CallPrompt { input } => prompt(state, CALL, input, frame, area),
        Modal::InvitePrompt { input } => prompt(state, INVITE, input, frame, area),
        Modal::BuddyForm(form) => buddy_form(state, form, frame, area),
        Modal::ConfirmRemove { uri } => confirm(state, uri, frame, area),
        Modal::ConfirmEject { uri } => confirm_eject(state, uri, frame, area),
        Modal::ConfirmEnd => confirm_end(state, frame, area),
        Modal::AddAudio(dialog) => add_audio(state, dialog, frame, area),
        Modal::Search(search) => search_overlay(state, search, frame, area),
    }
}

/// A hint for a bottom border: pairs of (key, what it does).
pub(super) fn hint(theme: &Theme, pairs: &[(&str, &str)]) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for (n, (key, what)) in pairs.iter().enumerate() {
        if n > 0 {
            spans.push(Span::styled(" · ", theme::dim()));
        }
        spans.push(Span::styled(key.to_string(), theme.key()));
        spans.push(Span::styled(format!(" {what}"), theme::dim()));
    }
    spans.push(Span::raw(" "));
    Line::from(spans).right_aligned()
}

/// Clears a centred box, draws its frame and returns the inside.
pub(super) fn dialog(
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    title: String,
    keys: Line<'static>,
    width: u16,
    height: u16,
) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    let outer = area.centered(Constraint::Length(width), Constraint::Length(height));
    let block = Panel::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.focused_border())
        .title(Span::styled(format!(" {title} "), theme::title()))
        .title_bottom(keys);
    let inner = block.inner(outer).inner(ratatui::layout::Margin::new(1, 0));
    frame.render_widget(Clear, outer);
    frame.render_widget(block, outer);
    inner
}

pub(super) fn row(area: Rect, n: u16) -> Rect {
    if n >= area.height {
        return Rect::new(area.x, area.y, area.width, 0);
    }
    Rect::new(area.x, area.y + n, area.width, 1)
}

/// An input on one row, with the cursor placed when `active`.
pub(super) fn input_row(frame: &mut Frame, area: Rect, input: &Input, active: bool) {
    if area.is_empty() {
        return;
    }
    let (shown, cursor) = text::field(input.value(), input.cursor(), usize::from(area.width));
    frame.render_widget(Paragraph::new(shown), area);
    let x = area
        .x
        .saturating_add(u16::try_from(cursor).unwrap_or(u16::MAX));
    if active && x < area.right() {
        frame.set_cursor_position(Position::new(x, area.y));
    }
}

fn picker(state: &AppState, selected: usize, frame: &mut Frame, area: Rect) {
    let theme = &state.config.theme;
    let rows = u16::try_from(Availability::CHOSEN.len()).unwrap_or(0);
    let keys = hint(theme, &[("Enter", "choose"), ("Esc", "cancel")]);
    let inner = dialog(theme, frame, area, "Your status".into(), keys, 32, rows + 4);
    let lines: Vec<Line> = Availability::CHOSEN
        .iter()
        .enumerate()
        .map(|(n, availability)| {
            let is_selected = n == selected;
            let mut spans = vec![
                Span::raw(if is_selected { "› " } else { "  " }),
                Span::styled(theme::symbol(*availability), theme.presence(*availability)),
                Span::raw(" "),
                Span::raw(availability.label()),
            ];
            if *availability == state.own.availability {
                spans.push(Span::styled("  (now)", theme::dim()));
            }
            let line = Line::from(spans);
            if is_selected {
                line.patch_style(theme::selected(true))
            } else {
                line
            }
        })
        .collect();
    let mut list = inner;
    list.y = list.y.saturating_add(1).min(list.bottom());
    list.height = list.height.saturating_sub(1);
    frame.render_widget(Paragraph::new(lines), list);
}

fn note(theme: &Theme, input: &Input, frame: &mut Frame, area: Rect) {
    let keys = hint(theme, &[("Enter", "save"), ("Esc", "cancel")]);
    let width = area.width.saturating_sub(4).clamp(30, 64);
    let inner = dialog(theme, frame, area, "Your note".into(), keys, width, 7);
    let label = Line::styled("Shown next to your name; empty clears it.", theme::dim());
    frame.render_widget(Paragraph::new(label), row(inner, 1));
    let field = row(inner, 3);
    frame.render_widget(Paragraph::new(Span::styled("› ", theme.key())), field);
    let mut text = field;
    text.x = text.x.saturating_add(2).min(text.right());
    text.width = text.width.saturating_sub(2);
    input_row(frame, text, input, true);
}

/// The words of a one-field prompt: title, what Enter does, the
/// explanation and the field's label.
struct Prompt {
    title: &'static str,
    accept: &'static str,
    label: &'static str,
    field: &'static str,
}

const CALL: Prompt = Prompt {
    title: "Call",
    accept: "call",
    label: "An address (amy@example.com), a user name or a number.",
    field: "Call: ",
};

const INVITE: Prompt = Prompt {
    title: "Invite to the conference",
    accept: "invite",
    label: "An address, a user name or a phone number.",
    field: "Invite: ",
};

fn prompt(state: &AppState, words: Prompt, input: &Input, frame: &mut Frame, area: Rect) {
    let theme = &state.config.theme;
    let accept = state.keys.label(Context::Form, Action::Accept);
    let cancel = state.keys.label(Context::Form, Action::Cancel);
    let keys = hint(theme, &[(&accept, words.accept), (&cancel, "cancel")]);
    let width = area.width.saturating_sub(4).clamp(30, 64);
    let inner = dialog(theme, frame, area, words.title.into(), keys, width, 8);
    let label = Line::styled(words.label, theme::dim());
    frame.render_widget(Paragraph::new(label), row(inner, 1));
    let field = row(inner, 3);
    let prompt = words.field;
    frame.render_widget(Paragraph::new(Span::styled(prompt, theme.key())), field);
    let mut text = field;
    let skip = u16::try_from(text::width(prompt)).unwrap_or(0);
    text.x = text.x.saturating_add(skip).min(text.right());
    text.width = text.width.saturating_sub(skip);
    input_row(frame, text, input, true);
    let first = row(inner, 4);
    number_preview(
        state,
        state.number_preview(input.value()),
        frame,
        first,
        inner,
    );
}

/// From the row `first` on, at most two rows, wrapped: "→ +14255550123
/// (rule: 7-digit local)" for a number the location profile makes
/// E.164, or the reason it cannot be dialled; nothing for `None`.
fn number_preview(
    state: &AppState,
    preview: Option<Result<Normalized, NormalizeError>>,
    frame: &mut Frame,
    first: Rect,
    inner: Rect,
) {
    let Some(preview) = preview else {
        return;
    };
    let line = match preview {
        Ok(normalized) => Line::from(vec![
            Span::styled("→ ", state.config.theme.key()),
            Span::styled(normalized.e164, theme::title()),
            Span::styled(
                format!(" (rule: {})", normalized.rule.label()),
                theme::dim(),
            ),
        ]),
        Err(error) => Line::styled(format!("✗ {error}"), theme::error()),
    };
    if first.is_empty() {
        return;
    }
    let area = Rect {
        height: inner.bottom().saturating_sub(first.y).min(2),
        ..first
    };
    frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), area);
}

/// "Add audio": the ways to join, each with its letter at the right end,
/// the work number only when provisioned; under them, once "Another
/// number…" is chosen, its field and the number's preview.
fn add_audio(state: &AppState, asked: &AddAudio, frame: &mut Frame, area: Rect) {
    let theme = &state.config.theme;
    let (context, accept) = if asked.typing {
        (Context::Form, "call me there")
    } else {
        (Context::AddAudio, "choose")
    };
    let accept_key = state.keys.label(context, Action::Accept);
    let cancel_key = state.keys.label(context, Action::Cancel);
    let keys = hint(theme, &[(&accept_key, accept), (&cancel_key, "cancel")]);
    let choices = AudioChoice::offered(state.work_number.as_deref());
    let count = u16::try_from(choices.len()).unwrap_or(0);
    let height = if asked.typing { count + 9 } else { count + 6 };
    let width = area.width.saturating_sub(4).clamp(30, 56);
    let title = "Add audio".to_owned();
    let inner = dialog(theme, frame, area, title, keys, width, height);
    let label = format!(
        "Start a conference with {}, your audio on:",
        state.display_name(&asked.with)
    );
    let label = Line::styled(elide(&label, usize::from(inner.width)), theme::dim());
    frame.render_widget(Paragraph::new(label), row(inner, 1));
    let room = usize::from(inner.width);
    for (n, choice) in choices.iter().enumerate() {
        let (words, action) = match choice {
            AudioChoice::Terminal => ("This terminal".to_owned(), Action::ViaTerminal),
            AudioChoice::WorkNumber => {
                let number = state.work_number.as_deref().unwrap_or_default();
                let number = grouped_number(number);
                (format!("My work number  {number}"), Action::ViaWorkNumber)
            }
            AudioChoice::OtherNumber => ("Another number…".to_owned(), Action::ViaOtherNumber),
        };
        let letter = state.keys.label(Context::AddAudio, action);
        let is_selected = *choice == asked.selected;
        let marker = if is_selected { "› " } else { "  " };
        let words = elide(&words, room.saturating_sub(4 + text::width(&letter)));
        let gap = room.saturating_sub(2 + text::width(&words) + text::width(&letter));
        let mut line = Line::from(vec![
            Span::raw(marker),
            Span::raw(words),
            Span::raw(" ".repeat(gap)),
            Span::styled(letter, theme.key()),
        ]);
        if is_selected {
            line = line.patch_style(theme::selected(!asked.typing));
        }
        let at = 3 + u16::try_from(n).unwrap_or(0);
        frame.render_widget(Paragraph::new(line), row(inner, at));
    }
    if !asked.typing {
        return;
    }
    let field = row(inner, count + 4);
    let prompt = "  Number: ";
    frame.render_widget(Paragraph::new(Span::styled(prompt, theme.key())), field);
    let mut text = field;
    let skip = u16::try_from(text::width(prompt)).unwrap_or(0);
    text.x = text.x.saturating_add(skip).min(text.right());
    text.width = text.width.saturating_sub(skip);
    input_row(frame, text, &asked.number, true);
    let typed = asked.number.value();
    let mut first = row(inner, count + 5);
    // Under the number, not under its label.
    first.x = first.x.saturating_add(2).min(first.right());
    first.width = first.width.saturating_sub(2);
    number_preview(
        state,
        state.phone_number_preview(typed),
        frame,
        first,
        inner,
    );
}

fn buddy_form(state: &AppState, form: &BuddyForm, frame: &mut Frame, area: Rect) {
    let theme = &state.config.theme;
    let title = match &form.editing {
        Some(uri) => format!("Move or rename {}", state.display_name(uri)),
        None => "Add a contact".to_owned(),
    };
    let keys = hint(
        theme,
        &[("Tab", "next"), ("Enter", "save"), ("Esc", "cancel")],
    );
    let width = area.width.saturating_sub(4).clamp(30, 60);
    let inner = dialog(theme, frame, area, title, keys, width, 10);
    let labels = [
        (FormField::Uri, "Address", "amy@example.com"),
        (FormField::Display, "Name", "as you want to see it"),
        (FormField::Group, "Group", "Contacts"),
    ];
    for (n, (field, label, placeholder)) in labels.into_iter().enumerate() {
        let line_area = row(inner, 1 + 2 * u16::try_from(n).unwrap_or(0));
        let active = form.current() == field;
        let fixed = field == FormField::Uri && form.editing.is_some();
        let marker = if active { "› " } else { "  " };
        let label_style = if active { theme.key() } else { theme::dim() };
        let head = Line::from(vec![
            Span::styled(marker, theme.key()),
            Span::styled(format!("{label:<9}"), label_style),
        ]);
        frame.render_widget(Paragraph::new(head), line_area);
        let mut value = line_area;
        value.x = value.x.saturating_add(11).min(value.right());
        value.width = value.width.saturating_sub(11);
        let input = form.input(field);
        if input.value().is_empty() && !active {
            frame.render_widget(
                Paragraph::new(Span::styled(placeholder, theme::dim())),
                value,
            );
        } else if fixed {
            let uri = elide(without_scheme(input.value()), usize::from(value.width));
            frame.render_widget(Paragraph::new(Span::styled(uri, theme::dim())), value);
        } else {
            input_row(frame, value, input, active);
        }
    }
    if let Some(error) = &form.error {
        let line = Line::styled(format!("✗ {error}"), theme::error());
        frame.render_widget(Paragraph::new(line), row(inner, 7));
    }
}

fn confirm(state: &AppState, uri: &str, frame: &mut Frame, area: Rect) {
    let theme = &state.config.theme;
    let keys = hint(theme, &[("y", "remove"), ("n", "keep")]);
    let width = area.width.saturating_sub(4).clamp(30, 56);
    let inner = dialog(theme, frame, area, "Remove contact".into(), keys, width, 6);
    let text = Line::from(vec![
        Span::raw("Remove "),
        Span::styled(state.display_name(uri).to_owned(), theme::title()),
        Span::styled(format!(" ({})", without_scheme(uri)), theme::dim()),
        Span::raw(" from your contacts?"),
    ]);
    let mut body = inner;
    body.y = body.y.saturating_add(1).min(body.bottom());
    body.height = body.height.saturating_sub(1);
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), body);
}

fn confirm_eject(state: &AppState, uri: &str, frame: &mut Frame, area: Rect) {
    let theme = &state.config.theme;
    let keys = hint(theme, &[("y", "remove"), ("n", "keep")]);
    let width = area.width.saturating_sub(4).clamp(30, 56);
    let inner = dialog(
        theme,
        frame,
        area,
        "Remove participant".into(),
        keys,
        width,
        6,
    );
    let text = Line::from(vec![
        Span::raw("Remove "),
        Span::styled(state.participant_name(uri).to_owned(), theme::title()),
        Span::raw(" from the conference?"),
    ]);
    question(frame, inner, text);
}

fn confirm_end(state: &AppState, frame: &mut Frame, area: Rect) {
    let theme = &state.config.theme;
    let keys = hint(theme, &[("y", "end it"), ("n", "keep it")]);
    let width = area.width.saturating_sub(4).clamp(30, 56);
    let inner = dialog(
        theme,
        frame,
        area,
        "End the conference".into(),
        keys,
        width,
        6,
    );
    let text = Line::raw("End the conference for everyone in it?");
    question(frame, inner, text);
}

/// A confirmation's question, under a blank row.
fn question(frame: &mut Frame, inner: Rect, text: Line<'static>) {
    let mut body = inner;
    body.y = body.y.saturating_add(1).min(body.bottom());
    body.height = body.height.saturating_sub(1);
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), body);
}

fn search_overlay(state: &AppState, search: &Search, frame: &mut Frame, area: Rect) {
    let theme = &state.config.theme;
    let keys = hint(
        theme,
        &[("↑↓", "choose"), ("Enter", "open"), ("Esc", "close")],
    );
    let width = area.width.saturating_sub(4).clamp(30, 90);
    let height = area.height.saturating_sub(4).clamp(6, 24);
    let inner = dialog(
        theme,
        frame,
        area,
        "Search history".into(),
        keys,
        width,
        height,
    );
    let field = row(inner, 0);
    frame.render_widget(Paragraph::new(Span::styled("/ ", theme.key())), field);
    let mut text = field;
    text.x = text.x.saturating_add(2).min(text.right());
    text.width = text.width.saturating_sub(2);
    input_row(frame, text, &search.query, true);

    let mut list = inner;
    list.y = list.y.saturating_add(2).min(list.bottom());
    list.height = list.height.saturating_sub(2);
    let query = search.query.value().trim();
    if search.results.is_empty() {
        let message = if query.is_empty() {
            "Type to search every conversation."
        } else {
            "No messages match."
        };
        frame.render_widget(Paragraph::new(Span::styled(message, theme::dim())), list);
        return;
    }
    let height = usize::from(list.height);
    let offset = (search.selected + 1).saturating_sub(height);
    let room = usize::from(list.width);
    let lines: Vec<Line> = search
        .results
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(n, found)| {
            let who = if found.outgoing {
                format!("you → {}", state.display_name(&found.peer))
            } else {
                state.display_name(&found.peer).to_owned()
            };
            let who = elide(&who, 18);
            let when = clock(found.at_ms, state.config.utc_offset_minutes);
            let used = 2 + 5 + 1 + 18 + 2;
            let line = Line::from(vec![
                Span::raw(if n == search.selected { "› " } else { "  " }),
                Span::styled(when, theme::dim()),
                Span::raw(" "),
                Span::styled(format!("{who:<18}"), theme::peer_name()),
                Span::raw("  "),
                Span::raw(elide(
                    &found.text.replace('\n', " "),
                    room.saturating_sub(used),
                )),
            ]);
            if n == search.selected {
                line.patch_style(theme::selected(true))
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), list);
}
