//! The conversation pane: a header with the peer's presence and note, the
//! message history (time, sender, text, delivery mark), the typing line
//! and the input.
//!
//! History is laid out from the newest message upwards, so only what fits
//! is wrapped. The sender's name is written when it changes; a date line
//! separates days; `conversation.scroll` hides that many newest messages.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph, Wrap};

use super::super::keys::{Action, Context};
use super::super::state::{AppState, Conversation, Delivery, Focus, Message, without_scheme};
use super::text::{self, clock, date, day, elide, width, wrap};
use super::theme::{self, Theme};

/// The widest the sender column gets.
const NAME_MAX: usize = 12;
/// Under this many columns for the text, it goes under the sender instead.
const TEXT_MIN: usize = 24;

pub(super) fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let theme = &state.config.theme;
    let focused = state.focus == Focus::Input && state.modal.is_none();
    let border = if focused {
        theme.focused_border()
    } else {
        theme::border()
    };
    let Some((peer, conversation)) = state.open_conversation() else {
        welcome(state, frame, area);
        return;
    };
    let name = state.display_name(peer);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(border)
        .title(Span::styled(format!(" {name} "), theme::title()))
        .title(Line::styled(format!(" {} ", without_scheme(peer)), theme::dim()).right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [header, history, typing, input] = inner.layout(&Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(2),
    ]));

    let presence = state.presence_of(peer);
    let label = presence.availability.label();
    let mut spans = vec![
        Span::styled(
            theme::symbol(presence.availability),
            theme.presence(presence.availability),
        ),
        Span::raw(" "),
        Span::raw(label),
    ];
    let room = usize::from(header.width).saturating_sub(2 + width(label) + 3);
    if !presence.note.trim().is_empty() && room > 0 {
        spans.push(Span::styled(" · ", theme::dim()));
        spans.push(Span::styled(
            elide(presence.note.trim(), room),
            theme::dim().add_modifier(Modifier::ITALIC),
        ));
    }
    let rule = Block::new()
        .borders(Borders::BOTTOM)
        .border_style(theme::border());
    frame.render_widget(Paragraph::new(Line::from(spans)).block(rule), header);

    render_history(state, conversation, name, frame, history);
    if state.is_typing(peer) {
        let line = Line::styled(
            format!("{name} is typing…"),
            theme::dim().add_modifier(Modifier::ITALIC),
        );
        frame.render_widget(Paragraph::new(line), typing);
    }
    render_input(state, conversation, focused, frame, input);
}

fn welcome(state: &AppState, frame: &mut Frame, area: Rect) {
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme::border())
        .title(Span::styled(" Conversation ", theme::title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let key = |k: &'static str| Span::styled(k, state.config.theme.key());
    let bound = |action| {
        Span::styled(
            state.keys.label(Context::Buddies, action),
            state.config.theme.key(),
        )
    };
    let dim = |t: &'static str| Span::styled(t, theme::dim());
    let lines = vec![
        Line::default(),
        Line::styled("No conversation open", theme::title()).centered(),
        Line::default(),
        Line::from(vec![
            dim("Choose a contact with "),
            key("j k"),
            dim(" or "),
            key("↑ ↓"),
        ])
        .centered(),
        Line::from(vec![
            dim("and press "),
            bound(Action::Open),
            dim(" to write."),
        ])
        .centered(),
        Line::default(),
        Line::from(vec![dim("Every key: "), bound(Action::ShowHelp)]).centered(),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
}

fn render_history(
    state: &AppState,
    conversation: &Conversation,
    peer_name: &str,
    frame: &mut Frame,
    mut area: Rect,
) {
    if area.is_empty() {
        return;
    }
    let shown = conversation
        .messages
        .len()
        .saturating_sub(conversation.scroll);
    if conversation.scroll > 0 && area.height > 1 {
        area.height -= 1;
        let hint = format!("↓ {} newer · PgDn ", conversation.scroll);
        let below = Rect::new(area.x, area.bottom(), area.width, 1);
        frame.render_widget(
            Paragraph::new(Line::styled(hint, theme::dim()).right_aligned()),
            below,
        );
    }
    let layout = Columns::new(peer_name, usize::from(area.width), &state.config.theme);
    let height = usize::from(area.height);
    let offset = state.config.utc_offset_minutes;
    let today = day(state.now_ms, offset);
    let messages = &conversation.messages[..shown];
    // Newest first, until the area is full.
    let mut blocks: Vec<Vec<Line>> = Vec::new();
    let mut filled = 0;
    for (index, message) in messages.iter().enumerate().rev() {
        let previous = index.checked_sub(1).and_then(|i| messages.get(i));
        let this_day = day(message.at_ms, offset);
        let new_day = previous.map_or(this_day != today, |p| day(p.at_ms, offset) != this_day);
        let same_sender = !new_day && previous.is_some_and(|p| p.outgoing == message.outgoing);
        let mut lines = Vec::new();
        if new_day {
            lines.push(Line::styled(format!("── {} ──", date(this_day)), theme::dim()).centered());
        }
        lines.extend(layout.message(message, !same_sender, offset));
        filled += lines.len();
        blocks.push(lines);
        if filled >= height {
            break;
        }
    }
    let mut lines: Vec<Line> = blocks.into_iter().rev().flatten().collect();
    let skip = lines.len().saturating_sub(height);
    lines.drain(..skip);
    frame.render_widget(Paragraph::new(lines), area);
}

/// The columns of a history line: time, sender, text.
struct Columns<'a> {
    peer_name: &'a str,
    theme: &'a Theme,
    name_width: usize,
    width: usize,
    /// Text under the sender, for narrow panes.
    stacked: bool,
}

impl<'a> Columns<'a> {
    fn new(peer_name: &'a str, width: usize, theme: &'a Theme) -> Columns<'a> {
        let name_width = text::width(peer_name).clamp(3, NAME_MAX);
        let stacked = width.saturating_sub(5 + 1 + name_width + 2) < TEXT_MIN;
        Columns {
            peer_name,
            theme,
            name_width,
            width,
            stacked,
        }
    }

    fn message(&self, message: &Message, with_name: bool, offset: i32) -> Vec<Line<'static>> {
        let (name, name_style) = if message.outgoing {
            ("you", self.theme.own_name())
        } else {
            (self.peer_name, theme::peer_name())
        };
        let time = Span::styled(clock(message.at_ms, offset), theme::dim());
        let mut lines = Vec::new();
        let (indent, text_width) = if self.stacked {
            lines.push(Line::from(vec![
                time.clone(),
                Span::raw(" "),
                Span::styled(elide(name, self.width.saturating_sub(6)), name_style),
            ]));
            (2, self.width.saturating_sub(2))
        } else {
            (
                5 + 1 + self.name_width + 2,
                self.width.saturating_sub(5 + 1 + self.name_width + 2),
            )
        };
        let name = if with_name {
            elide(name, self.name_width)
        } else {
            String::new()
        };
        let name_pad = self.name_width.saturating_sub(width(&name)) + 2;
        let text_style = Style::new();
        for (n, part) in wrap(&message.text, text_width).into_iter().enumerate() {
            let mut spans = if self.stacked || n > 0 {
                vec![Span::raw(" ".repeat(indent))]
            } else {
                vec![
                    time.clone(),
                    Span::raw(" "),
                    Span::styled(name.clone(), name_style),
                    Span::raw(" ".repeat(name_pad)),
                ]
            };
            spans.push(Span::styled(part, text_style));
            lines.push(Line::from(spans));
        }
        let mark = match &message.delivery {
            Delivery::Delivered => Some(Span::styled(" ✓", theme::ok())),
            Delivery::Pending => Some(Span::styled(" …", theme::dim())),
            Delivery::NotDelivered { .. } | Delivery::Unknown => None,
        };
        if let (Some(mark), Some(last)) = (mark, lines.last_mut()) {
            let room = indent + text_width;
            if last.width() + 2 <= room.max(self.width) {
                last.spans.push(mark);
            } else {
                lines.push(Line::from(vec![Span::raw(" ".repeat(indent)), mark]));
            }
        }
        if let Delivery::NotDelivered { reason } = &message.delivery {
            let text = match reason {
                Some(reason) => format!("✗ not delivered: {reason}"),
                None => "✗ not delivered".to_owned(),
            };
            for part in wrap(&text, text_width) {
                lines.push(Line::from(vec![
                    Span::raw(" ".repeat(indent)),
                    Span::styled(part, theme::error()),
                ]));
            }
        }
        lines
    }
}

fn render_input(
    state: &AppState,
    conversation: &Conversation,
    focused: bool,
    frame: &mut Frame,
    area: Rect,
) {
    let theme = &state.config.theme;
    let hint = if focused && area.width < 50 {
        Line::from(vec![
            Span::styled(" Enter", theme.key()),
            Span::styled(" send · ", theme::dim()),
            Span::styled("Esc", theme.key()),
            Span::styled(" back ", theme::dim()),
        ])
    } else if focused {
        Line::from(vec![
            Span::styled(" Enter", theme.key()),
            Span::styled(" send · ", theme::dim()),
            Span::styled("Alt-Enter", theme.key()),
            Span::styled(" new line · ", theme::dim()),
            Span::styled("Esc", theme.key()),
            Span::styled(" back ", theme::dim()),
        ])
    } else {
        Line::from(vec![
            Span::styled(
                format!(
                    " {}",
                    state.keys.label(Context::Buddies, Action::SwitchFocus)
                ),
                theme.key(),
            ),
            Span::styled(" to write ", theme::dim()),
        ])
    };
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(theme::border())
        .title(hint.right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.is_empty() {
        return;
    }
    let draft = &conversation.draft;
    let prompt = Span::styled("› ", if focused { theme.key() } else { theme::dim() });
    let room = usize::from(inner.width).saturating_sub(2);
    let line = if draft.value().is_empty() {
        let placeholder = if focused { "Write a message" } else { "" };
        Line::from(vec![prompt, Span::styled(placeholder, theme::dim())])
    } else {
        let (shown, _) = text::field(draft.value(), draft.cursor(), room);
        Line::from(vec![prompt, Span::raw(shown)])
    };
    frame.render_widget(Paragraph::new(line), inner);
    if focused {
        let (_, cursor) = text::field(draft.value(), draft.cursor(), room);
        let x = inner
            .x
            .saturating_add(2)
            .saturating_add(u16::try_from(cursor).unwrap_or(0));
        if x < inner.right() {
            frame.set_cursor_position(Position::new(x, inner.y));
        }
    }
}
