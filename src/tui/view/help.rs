//! The help overlay, written from the key table in force ([`KeyMap`], the
//! defaults with the user's rebindings) and the presence symbols, so it
//! lists every key there is, as it is bound. Sections flow into
//! as many columns as fit; what does not fit scrolls by columns.
//!
//! The one exception: in a conference we do not lead, a leader's keys
//! ([`Action::is_leaders`](super::super::keys::Action::is_leaders)) are
//! left out, since they do nothing for us.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{BorderType, Clear, Paragraph};

use crate::client::Availability;

use super::super::keys::{Context, KeyMap};
use super::super::state::AppState;
use super::panel::Panel;
use super::text::{elide, width};
use super::theme::{self, Theme};

/// Narrowest and widest a column of the overlay gets.
const COLUMN: u16 = 36;
const COLUMN_MAX: u16 = 40;
const KEY_COLUMN: usize = 13;

/// One section: a title and its rows as (keys, what they do).
pub struct Section {
    pub title: &'static str,
    pub rows: Vec<(String, String)>,
}

/// Every section of the overlay: the bindings of each context, then the
/// presence symbols. For an `attendee` the leader's keys are left out.
pub fn sections(keys: &KeyMap, attendee: bool) -> Vec<Section> {
    let mut sections: Vec<Section> = Context::ALL
        .iter()
        .map(|context| Section {
            title: context.title(),
            rows: keys
                .bindings(*context)
                .filter(|binding| !(attendee && binding.action.is_leaders()))
                .map(|binding| (binding.keys_label(), binding.help.to_owned()))
                .collect(),
        })
        .filter(|section| !section.rows.is_empty())
        .collect();
    sections.push(Section {
        title: "Presence",
        rows: Availability::ALL
            .iter()
            .map(|a| (theme::symbol(*a).to_owned(), a.label().to_owned()))
            .collect(),
    });
    sections
}

fn section_lines(section: &Section, column: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(section.title, theme::title())];
    let presence = section.title == "Presence";
    for (keys, help) in &section.rows {
        let key_style = match Availability::ALL
            .iter()
            .find(|a| theme::symbol(**a) == keys)
        {
            Some(a) if presence => theme.presence(*a),
            _ => theme.key(),
        };
        let text_room = column.saturating_sub(KEY_COLUMN + 2);
        if width(keys) + 1 > KEY_COLUMN {
            // A long list of keys gets its own line.
            lines.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(elide(keys, column.saturating_sub(2)), key_style),
            ]));
            lines.push(Line::from(vec![
                Span::raw(" ".repeat(KEY_COLUMN + 2)),
                Span::raw(elide(help, text_room)),
            ]));
        } else {
            lines.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(keys.clone(), key_style),
                Span::raw(" ".repeat(KEY_COLUMN - width(keys))),
                Span::raw(elide(help, text_room)),
            ]));
        }
    }
    lines.push(Line::default());
    lines
}

pub(super) fn render(state: &AppState, frame: &mut Frame, area: Rect, scroll: u16) {
    let theme = &state.config.theme;
    let outer_width = area.width.saturating_sub(2).min(3 * COLUMN_MAX + 4);
    let columns = usize::from((outer_width.saturating_sub(4) / COLUMN).max(1));
    let column_width = usize::from(outer_width.saturating_sub(4)) / columns;
    let sections: Vec<Vec<Line>> = sections(&state.keys, state.is_attendee())
        .iter()
        .map(|s| section_lines(s, column_width, theme))
        .collect();
    let most_height = area.height.saturating_sub(2);
    let rows = usize::from(most_height.saturating_sub(2));
    let balanced = balance(sections.clone(), columns);
    let longest = balanced.iter().map(Vec::len).max().unwrap_or(0);
    let (flowed, scrolls) = if longest <= rows {
        (balanced, false)
    } else {
        newspaper(sections, columns, rows, usize::from(scroll))
    };
    let wanted = u16::try_from(longest + 2).unwrap_or(u16::MAX);
    let height = most_height.min(wanted);
    let dialog = area.centered(Constraint::Length(outer_width), Constraint::Length(height));
    let mut hint = vec![Span::raw(" ")];
    if scrolls {
        hint.push(Span::styled("j k", theme.key()));
        hint.push(Span::styled(" scroll · ", theme::dim()));
    }
    hint.push(Span::styled("Esc", theme.key()));
    hint.push(Span::styled(" close ", theme::dim()));
    let block = Panel::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.focused_border())
        .title(Span::styled(" Keys ", theme::title()))
        .title_bottom(Line::from(hint).right_aligned());
    let inner = block.inner(dialog).inner(Margin::new(1, 0));
    frame.render_widget(Clear, dialog);
    frame.render_widget(block, dialog);
    let ratio = u32::try_from(columns).unwrap_or(1);
    let areas = inner.layout_vec(&Layout::horizontal(vec![
        Constraint::Ratio(1, ratio);
        columns
    ]));
    for (lines, column) in flowed.into_iter().zip(areas) {
        frame.render_widget(Paragraph::new(lines), column);
    }
}

/// Whole sections per column, the columns about even.
fn balance(sections: Vec<Vec<Line<'static>>>, columns: usize) -> Vec<Vec<Line<'static>>> {
    let total: usize = sections.iter().map(Vec::len).sum();
    let target = total.div_ceil(columns);
    let mut flowed: Vec<Vec<Line>> = vec![Vec::new(); columns];
    let mut current = 0;
    for section in sections {
        if flowed.get(current).is_some_and(|c| c.len() >= target) && current + 1 < columns {
            current += 1;
        }
        if let Some(column) = flowed.get_mut(current) {
            column.extend(section);
        }
    }
    flowed
}

/// Sections run through the columns like a newspaper's, a section that
/// does not fit what is left of a column starting the next one; `scroll`
/// moves along by whole columns, so a page never starts mid-section.
/// Also says whether there is more than one page, to scroll through.
fn newspaper(
    sections: Vec<Vec<Line<'static>>>,
    columns: usize,
    rows: usize,
    scroll: usize,
) -> (Vec<Vec<Line<'static>>>, bool) {
    let rows = rows.max(1);
    let mut chunks: Vec<Vec<Line>> = vec![Vec::new()];
    for section in sections {
        let used = chunks.last().map_or(0, Vec::len);
        if used > 0 && used + section.len() > rows {
            chunks.push(Vec::new());
        }
        for line in section {
            if chunks.last().is_none_or(|chunk| chunk.len() >= rows) {
                chunks.push(Vec::new());
            }
            if let Some(chunk) = chunks.last_mut() {
                chunk.push(line);
            }
        }
    }
    let more = chunks.len() > columns;
    let start = scroll.min(chunks.len().saturating_sub(columns));
    (chunks.into_iter().skip(start).take(columns).collect(), more)
}
