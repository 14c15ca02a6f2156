//! The buddy list pane: groups with online counts, and per buddy its
//! presence symbol, name, note (dimmed, elided to fit, dropped when there
//! is no room) and unread count.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{BorderType, Paragraph, Wrap};

use crate::client::{Availability, Buddy};

use super::super::keys::{Action, Context};
use super::super::state::{AppState, Focus, Group, Row};
use super::lines;
use super::panel::Panel;
use super::text::{elide, width};
use super::theme;

/// A note is shown only if at least this many columns are left for it.
const NOTE_MIN: usize = 6;

pub(super) fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let theme = &state.config.theme;
    let focused = state.focus == Focus::Buddies && state.modal.is_none();
    let contacts = &state.contacts;
    let block = Panel::bordered()
        .border_type(BorderType::Rounded)
        .border_style(if focused {
            theme.focused_border()
        } else {
            theme::border()
        })
        .title(Span::styled(" Contacts ", theme::title()))
        .title(
            Line::styled(
                format!(" {}/{} ", contacts.online(), contacts.buddies().len()),
                theme::dim(),
            )
            .right_aligned(),
        );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.is_empty() {
        return;
    }
    if contacts.buddies().is_empty() {
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

    let height = usize::from(inner.height);
    let selected = state
        .selection
        .as_ref()
        .and_then(|selection| position(state, selection));
    // Scroll just enough to keep the selection in view.
    let offset = selected.map_or(0, |s| (s + 1).saturating_sub(height));
    let rows = visible_rows(state, offset, height);
    let lines: Vec<Line> = rows
        .iter()
        .zip(offset..)
        .map(|(row, index)| {
            let is_selected = Some(index) == selected;
            let line = match row {
                Shown::Group(group) => group_line(
                    &group.name,
                    state.collapsed.contains(&group.name),
                    group.online,
                    group.len(),
                    is_selected,
                    inner.width,
                ),
                Shown::Buddy(buddy) => buddy_line(state, &buddy.uri, is_selected, inner.width),
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
    Group(&'a Group),
    Buddy(&'a Buddy),
}

/// Where the row `row` names is among [`AppState::rows`], worked out
/// group by group rather than by listing every row.
fn position(state: &AppState, row: &Row) -> Option<usize> {
    let contacts = &state.contacts;
    let mut at = 0;
    for group in contacts.groups() {
        let collapsed = state.collapsed.contains(&group.name);
        match row {
            Row::Group(name) if *name == group.name => return Some(at),
            Row::Buddy { group: name, uri } if *name == group.name => {
                if collapsed {
                    return None;
                }
                let index = contacts
                    .members(group)
                    .position(|buddy| buddy.uri == *uri)?;
                return Some(at + 1 + index);
            }
            _ => {}
        }
        at += 1 + if collapsed { 0 } else { group.len() };
    }
    None
}

/// The rows `offset..offset + count` of [`AppState::rows`], borrowing
/// from the state, without making the ones out of view.
fn visible_rows(state: &AppState, offset: usize, count: usize) -> Vec<Shown<'_>> {
    let contacts = &state.contacts;
    let end = offset.saturating_add(count);
    let mut rows =
        Vec::with_capacity(count.min(contacts.buddies().len() + contacts.groups().len()));
    let mut at = 0;
    for group in contacts.groups() {
        if at >= end {
            break;
        }
        if at >= offset {
            rows.push(Shown::Group(group));
        }
        at += 1;
        if state.collapsed.contains(&group.name) {
            continue;
        }
        let skip = offset.saturating_sub(at);
        let take = end.saturating_sub(at.max(offset));
        rows.extend(
            contacts
                .members(group)
                .skip(skip)
                .take(take)
                .map(Shown::Buddy),
        );
        at += group.len();
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
        let expected = state.rows();
        // Every row, each buddy under the group row before it.
        let all = visible_rows(&state, 0, usize::MAX);
        assert_eq!(all.len(), expected.len());
        let mut group = "";
        for (row, expected) in all.iter().zip(&expected) {
            match (row, expected) {
                (Shown::Group(shown), Row::Group(name)) => {
                    assert_eq!(shown.name, *name);
                    group = name;
                }
                (Shown::Buddy(buddy), Row::Buddy { group: g, uri }) => {
                    assert_eq!((group, buddy.uri.as_str()), (g.as_str(), uri.as_str()));
                }
                _ => panic!("{row:?} is not {expected:?}"),
            }
        }
        // Any window of them.
        let same = |a: &Shown, b: &Shown| match (a, b) {
            (Shown::Group(a), Shown::Group(b)) => std::ptr::eq(*a, *b),
            (Shown::Buddy(a), Shown::Buddy(b)) => std::ptr::eq(*a, *b),
            _ => false,
        };
        for offset in 0..=all.len() + 1 {
            for count in [0, 1, 2, 3, all.len()] {
                let drawn = visible_rows(&state, offset, count);
                let wanted: Vec<&Shown> = all.iter().skip(offset).take(count).collect();
                assert_eq!(drawn.len(), wanted.len(), "{offset} {count}");
                assert!(
                    drawn.iter().zip(wanted).all(|(a, b)| same(a, b)),
                    "{offset} {count}"
                );
            }
        }
        for (index, row) in expected.iter().enumerate() {
            assert_eq!(position(&state, row), Some(index), "{row:?}");
        }
        let hao = Row::Buddy {
            group: "Team".into(),
            uri: HAO.into(),
        };
        assert!(expected.contains(&hao));
        // A group is not a buddy, nor a buddy of another group, and a
        // collapsed group's buddies are not rows.
        for absent in [
            Row::Buddy {
                group: "Family".into(),
                uri: HAO.into(),
            },
            Row::Group("Nobody".into()),
        ] {
            assert_eq!(position(&state, &absent), None);
        }
    }
}
