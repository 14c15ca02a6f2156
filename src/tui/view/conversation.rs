//! The conversation pane: a header with the peer's presence and note, the
//! message history (time, sender, text, delivery mark), the typing line
//! and the input. The conference's IM is drawn the same way, with the
//! others in the conference in its header, each message's sender named,
//! and everyone who types on the typing line.
//!
//! History is laid out from the newest message upwards, so only what fits
//! is wrapped. The sender's name is written when it changes; a date line
//! separates days; `conversation.scroll` hides that many newest messages.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph, Wrap};

use crate::client::Availability;

use super::super::keys::{Action, Context};
use super::super::state::{
    AppState, Conference, Conversation, Delivery, Focus, Message, conference_id, without_scheme,
};
use super::lines;
use super::names::Names;
use super::panel::Panel;
use super::text::{self, clock, date, day, elide, width, wrap};
use super::theme::{self, Theme};

/// The widest the sender column gets.
const NAME_MAX: usize = 12;
/// Under this many columns for the text, it goes under the sender instead.
const TEXT_MIN: usize = 24;

pub(super) fn render(state: &AppState, names: &Names, frame: &mut Frame, area: Rect) {
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
    let conference = state
        .joined_conference()
        .filter(|conference| conference.focus == peer);
    let (name, address) = match conference {
        Some(_) => ("Conference IM", conference_id(peer).unwrap_or_default()),
        None => (state.display_name(peer), without_scheme(peer)),
    };
    let block = Panel::bordered()
        .border_type(BorderType::Rounded)
        .border_style(border)
        .title(Span::styled(format!(" {name} "), theme::title()))
        .title(Line::styled(format!(" {address} "), theme::dim()).right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [header, history, typing, input] = inner.layout(&Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(2),
    ]));

    let rule = Block::new()
        .borders(Borders::BOTTOM)
        .border_style(theme::border());
    let header_line = match conference {
        Some(conference) => others(state, names, conference, usize::from(header.width)),
        None => presence_line(state, peer, usize::from(header.width)),
    };
    frame.render_widget(Paragraph::new(header_line).block(rule), header);

    render_history(state, names, peer, conversation, frame, history);
    let typists = match conference {
        Some(conference) => conference
            .users
            .iter()
            .enumerate()
            .filter(|(_, user)| conference.is_typing(&user.uri, state.now_ms))
            .filter_map(|(index, _)| names.user(index))
            .map(|(name, _)| name)
            .collect(),
        None if state.is_typing(peer) => vec![name],
        None => Vec::new(),
    };
    if let Some(text) = typing_text(&typists) {
        let line = Line::styled(
            elide(&text, usize::from(typing.width)),
            theme::dim().add_modifier(Modifier::ITALIC),
        );
        frame.render_widget(Paragraph::new(line), typing);
    }
    render_input(state, conversation, focused, frame, input);
}

/// "Amy is typing…", "Amy and Hao are typing…", "3 people are typing…".
fn typing_text(names: &[&str]) -> Option<String> {
    match names {
        [] => None,
        [one] => Some(format!("{one} is typing…")),
        [one, two] => Some(format!("{one} and {two} are typing…")),
        more => Some(format!("{} people are typing…", more.len())),
    }
}

/// The conference IM's header: who else is in the conference.
fn others(state: &AppState, names: &Names, conference: &Conference, room: usize) -> Line<'static> {
    let theme = &state.config.theme;
    let names: Vec<&str> = (0..conference.users.len())
        .filter_map(|index| names.user(index))
        .filter(|(_, own)| !own)
        .map(|(name, _)| name)
        .collect();
    let text = if names.is_empty() {
        "Nobody else yet".to_owned()
    } else {
        format!("With {}", names.join(", "))
    };
    Line::from(vec![
        Span::styled(
            theme::symbol(Availability::InAConference),
            theme.presence(Availability::InAConference),
        ),
        Span::raw(" "),
        Span::raw(elide(&text, room.saturating_sub(2))),
    ])
}

/// A one-to-one conversation's header: the peer's presence and note.
fn presence_line(state: &AppState, peer: &str, width: usize) -> Line<'static> {
    let theme = &state.config.theme;
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
    let room = width.saturating_sub(2 + text::width(label) + 3);
    if !presence.note.trim().is_empty() && room > 0 {
        spans.push(Span::styled(" · ", theme::dim()));
        spans.push(Span::styled(
            elide(presence.note.trim(), room),
            theme::dim().add_modifier(Modifier::ITALIC),
        ));
    }
    Line::from(spans)
}

fn welcome(state: &AppState, frame: &mut Frame, area: Rect) {
    let block = Panel::bordered()
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

/// Who wrote a message, as its line names them.
fn sender<'a>(
    state: &'a AppState,
    names: &Names<'a>,
    peer: &'a str,
    message: &'a Message,
) -> &'a str {
    match &message.from {
        _ if message.outgoing => "you",
        Some(from) => names.participant(from),
        None => state.display_name(peer),
    }
}

fn render_history<'a>(
    state: &'a AppState,
    names: &Names<'a>,
    peer: &'a str,
    conversation: &'a Conversation,
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
    // The sender column is as wide as the longest name ("you" at least),
    // and a peer's name even before they wrote.
    let peer_name = match state.is_conference_chat(peer) {
        true => 0,
        false => width(state.display_name(peer)),
    };
    // Each sender once: a long conversation has many messages and few
    // senders.
    let mut senders: Vec<Option<&str>> = conversation
        .messages
        .iter()
        .filter(|message| !message.outgoing)
        .map(|message| message.from.as_deref())
        .collect();
    senders.sort_unstable();
    senders.dedup();
    let widest = senders
        .into_iter()
        .map(|from| match from {
            Some(from) => width(names.participant(from)),
            None => width(state.display_name(peer)),
        })
        .fold(peer_name, usize::max);
    let layout = Columns::new(widest, usize::from(area.width), &state.config.theme);
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
        let same_sender = !new_day
            && previous.is_some_and(|p| p.outgoing == message.outgoing && p.from == message.from);
        let mut lines = Vec::new();
        if new_day {
            lines.push(Line::styled(format!("── {} ──", date(this_day)), theme::dim()).centered());
        }
        let name = sender(state, names, peer, message);
        lines.extend(layout.message(message, name, !same_sender, offset));
        filled += lines.len();
        blocks.push(lines);
        if filled >= height {
            break;
        }
    }
    let mut lines: Vec<Line> = blocks.into_iter().rev().flatten().collect();
    let skip = lines.len().saturating_sub(height);
    lines.drain(..skip);
    lines::render(&lines, area, frame.buffer_mut());
}

/// The columns of a history line: time, sender, text.
struct Columns<'a> {
    theme: &'a Theme,
    name_width: usize,
    width: usize,
    /// Text under the sender, for narrow panes.
    stacked: bool,
}

impl<'a> Columns<'a> {
    /// Columns for senders' names up to `widest` columns wide.
    fn new(widest: usize, width: usize, theme: &'a Theme) -> Columns<'a> {
        let name_width = widest.clamp(3, NAME_MAX);
        let stacked = width.saturating_sub(5 + 1 + name_width + 2) < TEXT_MIN;
        Columns {
            theme,
            name_width,
            width,
            stacked,
        }
    }

    fn message(
        &self,
        message: &Message,
        name: &str,
        with_name: bool,
        offset: i32,
    ) -> Vec<Line<'static>> {
        let name_style = if message.outgoing {
            self.theme.own_name()
        } else {
            theme::peer_name()
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
    let block = Panel::new()
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
