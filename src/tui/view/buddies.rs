//! The buddy list pane: groups with online counts, and per buddy its
//! presence symbol, name, note (dimmed, elided to fit, dropped when there
//! is no room) and unread count.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};

use crate::client::{Availability, Buddy};

use super::super::keys::{Action, Context};
use super::super::state::{AppState, Focus, Row};
use super::lines;
use super::text::{elide, width};
use super::theme;

/// A note is shown only if at least this many columns are left for it.
const NOTE_MIN: usize = 6;

pub(super) fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let theme = &state.config.theme;
    let focused = state.focus == Focus::Buddies && state.modal.is_none();
    let groups = state.groups();
    // Each group's online count, and the list's: every buddy is in one
    // group.
    let online: Vec<usize> = groups
        .iter()
        .map(|(_, members)| {
            members
                .iter()
                .filter(|b| state.presence_of(&b.uri).availability != Availability::Offline)
                .count()
        })
        .collect();
    let all_online: usize = online.iter().sum();
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(if focused {
            theme.focused_border()
        } else {
            theme::border()
        })
        .title(Span::styled(" Contacts ", theme::title()))
        .title(
            Line::styled(
                format!(" {all_online}/{} ", state.buddies.len()),
                theme::dim(),
            )
            .right_aligned(),
        );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.is_empty() {
        return;
    }
    if state.buddies.is_empty() {
        let hint = vec![
            Line::styled("No contacts yet.", theme::dim()),
            Line::default(),
            Line::from(vec![
                Span::styled("Press ", theme::dim()),
                Span::styled(
                    state.keys.label(Context::Buddies, Action::AddBuddy),
                    theme.key(),
                ),
                Span::styled(" to add one.", theme::dim()),
            ]),
        ];
        frame.render_widget(Paragraph::new(hint).wrap(Wrap { trim: true }), inner);
        return;
    }

    let rows = rows(state, &groups);
    let selected = state
        .selection
        .as_ref()
        .and_then(|selection| rows.iter().position(|row| row.is(selection)));
    let height = usize::from(inner.height);
    // Scroll just enough to keep the selection in view.
    let offset = selected.map_or(0, |s| (s + 1).saturating_sub(height));
    let lines: Vec<Line> = rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(index, row)| {
            let is_selected = Some(index) == selected;
            let line = match row {
                Shown::Group {
                    name,
                    index,
                    members,
                } => {
                    let collapsed = state.collapsed.contains(*name);
                    group_line(
                        name,
                        collapsed,
                        online.get(*index).copied().unwrap_or_default(),
                        members.len(),
                        is_selected,
                        inner.width,
                    )
                }
                Shown::Buddy { buddy, .. } => {
                    buddy_line(state, &buddy.uri, is_selected, inner.width)
                }
            };
            if is_selected {
                line.patch_style(theme::selected(focused))
            } else {
                line
            }
        })
        .collect();
    lines::render(&lines, inner, frame.buffer_mut());
}

/// A row of the list as drawn.
#[derive(Debug)]
enum Shown<'a> {
    Group {
        name: &'a str,
        /// Its place among the groups.
        index: usize,
        members: &'a [&'a Buddy],
    },
    Buddy {
        group: &'a str,
        buddy: &'a Buddy,
    },
}

impl Shown<'_> {
    /// Whether this is the row `row` names.
    fn is(&self, row: &Row) -> bool {
        match (self, row) {
            (Shown::Group { name, .. }, Row::Group(group)) => name == group,
            (Shown::Buddy { group, buddy }, Row::Buddy { group: g, uri }) => {
                group == g && buddy.uri == *uri
            }
            _ => false,
        }
    }
}

/// [`AppState::rows`], made from the `groups` the list draws from rather
/// than by grouping and sorting every buddy a second time.
fn rows<'a>(state: &AppState, groups: &'a [(String, Vec<&'a Buddy>)]) -> Vec<Shown<'a>> {
    let mut rows = Vec::new();
    for (index, (name, members)) in groups.iter().enumerate() {
        rows.push(Shown::Group {
            name,
            index,
            members,
        });
        if !state.collapsed.contains(name) {
            rows.extend(
                members
                    .iter()
                    .map(|buddy| Shown::Buddy { group: name, buddy }),
            );
        }
    }
    rows
}

fn marker(selected: bool) -> &'static str {
    if selected { "›" } else { " " }
}

fn group_line(
    name: &str,
    collapsed: bool,
    online: usize,
    total: usize,
    selected: bool,
    area_width: u16,
) -> Line<'static> {
    let area_width = usize::from(area_width);
    let arrow = if collapsed { "▸" } else { "▾" };
    let count = format!("{online}/{total}");
    let room = area_width.saturating_sub(3 + width(&count) + 1);
    let name = elide(name, room);
    let used = 3 + width(&name) + width(&count);
    let pad = area_width.saturating_sub(used);
    Line::from(vec![
        Span::raw(marker(selected)),
        Span::raw(arrow),
        Span::raw(" "),
        Span::styled(name, Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(" ".repeat(pad)),
        Span::styled(count, theme::dim()),
    ])
}

fn buddy_line(state: &AppState, uri: &str, selected: bool, area_width: u16) -> Line<'static> {
    let area_width = usize::from(area_width);
    let theme = &state.config.theme;
    let presence = state.presence_of(uri);
    let unread = state.conversations.get(uri).map_or(0, |c| c.unread);
    let badge = if unread > 0 {
        format!("✉ {unread}")
    } else {
        String::new()
    };
    // "› ● " before the name, and a space before the badge.
    let lead = 4;
    let badge_room = if badge.is_empty() {
        0
    } else {
        width(&badge) + 1
    };
    let room = area_width.saturating_sub(lead + badge_room);
    let full_name = state.display_name(uri);
    let name = elide(full_name, room);
    let mut used = lead + width(&name);
    let name_style = if presence.availability == Availability::Offline {
        theme::dim()
    } else {
        Style::new()
    };
    let mut spans = vec![
        Span::raw(marker(selected)),
        Span::raw(" "),
        Span::styled(
            theme::symbol(presence.availability),
            theme.presence(presence.availability),
        ),
        Span::raw(" "),
        Span::styled(name, name_style),
    ];
    let left = room.saturating_sub(width(full_name).min(room));
    let note = presence.note.trim();
    if !note.is_empty() && left >= NOTE_MIN + 2 {
        let note = elide(note, left - 2);
        used += 2 + width(&note);
        spans.push(Span::raw("  "));
        spans.push(Span::styled(note, theme::dim()));
    }
    if !badge.is_empty() {
        let pad = area_width.saturating_sub(used + width(&badge));
        spans.push(Span::raw(" ".repeat(pad)));
        spans.push(Span::styled(badge, theme.unread()));
    } else {
        spans.push(Span::raw(" ".repeat(area_width.saturating_sub(used))));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::tests::{HAO, demo_state};

    #[test]
    fn the_rows_drawn_are_the_rows_of_the_state() {
        let mut state = demo_state();
        state.collapsed.insert("Family".into());
        let groups = state.groups();
        let drawn = rows(&state, &groups);
        let expected = state.rows();
        assert_eq!(drawn.len(), expected.len(), "{drawn:?}");
        for (row, expected) in drawn.iter().zip(&expected) {
            assert!(row.is(expected), "{row:?} is not {expected:?}");
        }
        let hao = Row::Buddy {
            group: "Team".into(),
            uri: HAO.into(),
        };
        let at = drawn.iter().position(|row| row.is(&hao));
        assert!(at.is_some());
        assert_eq!(at, expected.iter().position(|row| *row == hao));
        // A group is not a buddy, nor a buddy of another group.
        assert!(!drawn.iter().any(|row| row.is(&Row::Buddy {
            group: "Family".into(),
            uri: HAO.into(),
        })));
    }
}
