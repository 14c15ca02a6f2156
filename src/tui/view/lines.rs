//! Lines drawn as `Paragraph::new(lines)` draws them (no wrap, no
//! scroll, no block, no style of its own): one line a row from the top,
//! each placed by its alignment and cut at the first grapheme that does
//! not fit.
//!
//! The panes that draw a row per contact, participant or message use it:
//! `Paragraph` splits every span into graphemes by Unicode segmentation,
//! the largest single cost of a frame. Here a span of ASCII text, which
//! most are, is taken a byte at a time, since each printable ASCII byte
//! is a grapheme one column wide and control characters are dropped as
//! ratatui drops them; other spans go through ratatui's own segmentation.
//!
//! Invariant: it draws what `Paragraph` draws; the tests compare the two.

use ratatui::buffer::{Buffer, CellWidth};
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::Line;

/// Draws `lines` into `area` of `buf`.
pub(super) fn render(lines: &[Line], area: Rect, buf: &mut Buffer) {
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return;
    }
    let room = area.width;
    for (line, y) in lines.iter().zip(area.top()..area.bottom()) {
        let start = match line.alignment.unwrap_or(Alignment::Left) {
            Alignment::Left => 0,
            // Centred and right-aligned lines are measured first.
            alignment => offset(graphemes(line, room, |_, _, _| {}), room, alignment),
        };
        // The row's cells are contiguous: index them from its start rather
        // than through `buf[(x, y)]`, which works out and checks the
        // position of every cell.
        let mut at = buf.index_of(area.left(), y) + usize::from(start);
        let cells = &mut buf.content;
        graphemes(line, room, |symbol, style, width| {
            if width == 0 {
                return;
            }
            if let Some(cell) = cells.get_mut(at) {
                // Most of a frame is spaces over a cleared buffer's
                // spaces: comparing costs less than building the symbol.
                if !same_symbol(cell.symbol(), symbol) {
                    cell.set_symbol(symbol);
                }
                cell.set_style(style);
            }
            at += usize::from(width);
        });
    }
}

/// Calls `visit` with each grapheme of `line` that fits in `room`
/// columns, its style and width, in order; returns the columns used.
fn graphemes<'a>(line: &'a Line, room: u16, mut visit: impl FnMut(&'a str, Style, u16)) -> u16 {
    let line_style = Style::default().patch(line.style);
    let mut used: u16 = 0;
    for span in &line.spans {
        let text: &str = &span.content;
        if text.is_ascii() {
            let style = line_style.patch(span.style);
            for at in 0..text.len() {
                let Some(symbol) = text.get(at..at + 1) else {
                    break;
                };
                if symbol.as_bytes().iter().any(u8::is_ascii_control) {
                    continue;
                }
                if used.saturating_add(1) > room {
                    return used;
                }
                visit(symbol, style, 1);
                used += 1;
            }
        } else if let Some(symbol) = single_char(text) {
            // One character is one grapheme (a marker, a presence dot):
            // no segmentation needed. Controls are dropped, as ratatui does.
            if symbol.contains(char::is_control) {
                continue;
            }
            let width = symbol.cell_width();
            if width > room {
                continue;
            }
            if used.saturating_add(width) > room {
                return used;
            }
            visit(symbol, line_style.patch(span.style), width);
            used += width;
        } else {
            for grapheme in span.styled_graphemes(line_style) {
                let width = grapheme.symbol.cell_width();
                // Wider than the whole row: left out, as ratatui does.
                if width > room {
                    continue;
                }
                if used.saturating_add(width) > room {
                    return used;
                }
                visit(grapheme.symbol, grapheme.style, width);
                used += width;
            }
        }
    }
    used
}

/// `text` if it is exactly one character.
fn single_char(text: &str) -> Option<&str> {
    let mut chars = text.chars();
    chars.next()?;
    chars.next().is_none().then_some(text)
}

/// Symbol equality with the common case, one byte each, compared inline.
fn same_symbol(a: &str, b: &str) -> bool {
    match (a.as_bytes(), b.as_bytes()) {
        ([a], [b]) => a == b,
        (a, b) => a == b,
    }
}

/// Where a line `used` columns wide starts in `room`.
fn offset(used: u16, room: u16, alignment: Alignment) -> u16 {
    match alignment {
        Alignment::Left => 0,
        Alignment::Center => (room / 2).saturating_sub(used / 2),
        Alignment::Right => room.saturating_sub(used),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use ratatui::style::{Color, Modifier};
    use ratatui::text::Span;
    use ratatui::widgets::{Paragraph, Widget};

    use super::*;

    /// A buffer with something drawn in it already, to draw over.
    pub(in crate::tui::view) fn scribbled(area: Rect) -> Buffer {
        let mut buf = Buffer::empty(area);
        for y in area.top()..area.bottom() {
            let text = "#~".repeat(usize::from(area.width));
            buf.set_string(area.x, y, text, Style::new().fg(Color::Blue));
        }
        buf
    }

    fn lines() -> Vec<Line<'static>> {
        vec![
            Line::from(vec![
                Span::raw("› "),
                Span::styled("●", Style::new().fg(Color::Green)),
                Span::raw(" Amy Tran  "),
                Span::styled(
                    "Reviewing the Q3 plan",
                    Style::new().add_modifier(Modifier::DIM),
                ),
            ]),
            Line::from("tab\there, bell\u{7}, CR LF\r\n, delete\u{7f}."),
            Line::from(vec![
                Span::raw("wide: "),
                Span::styled("漢字かな", Style::new().bold()),
                Span::raw(" é e\u{301} 👩‍👩‍👧 ﾊﾞ x\u{200b}y"),
            ]),
            Line::from("right").right_aligned(),
            Line::from("── 2024-02-29 ──").centered(),
            Line::from(vec![Span::raw("a"), Span::raw(""), Span::raw("b")])
                .patch_style(Style::new().reversed().fg(Color::Yellow)),
            Line::default(),
            Line::from("x".repeat(200)).centered(),
            Line::from("漢".repeat(100)).right_aligned(),
            Line::from("ascii then 漢 overflowing the row entirely and more".to_owned()),
            Line::from(vec![
                Span::styled("not a control: ", Style::new().italic()),
                Span::raw("ü\u{1b}[31m"),
            ]),
            Line::from(vec![
                Span::raw("›"),
                Span::raw("\u{85}"),
                Span::styled("●", Style::new().fg(Color::Red)),
                Span::raw("漢"),
                Span::raw("\u{301}"),
                Span::raw("x"),
            ]),
        ]
    }

    #[test]
    fn draws_what_a_paragraph_draws() {
        let lines = lines();
        let screens = [
            (Rect::new(0, 0, 40, 14), Rect::new(0, 0, 40, 14)),
            (Rect::new(0, 0, 40, 14), Rect::new(3, 2, 17, 6)),
            (Rect::new(0, 0, 40, 14), Rect::new(30, 10, 20, 10)),
            (Rect::new(5, 5, 30, 8), Rect::new(6, 6, 1, 8)),
            (Rect::new(0, 0, 40, 14), Rect::new(0, 0, 2, 3)),
            (Rect::new(0, 0, 40, 14), Rect::new(0, 0, 0, 3)),
        ];
        for (screen, area) in screens {
            for count in [0, 3, lines.len()] {
                let lines = &lines[..count];
                let mut expected = scribbled(screen);
                Paragraph::new(lines.to_vec()).render(area, &mut expected);
                let mut drawn = scribbled(screen);
                render(lines, area, &mut drawn);
                assert_eq!(drawn, expected, "{area:?}, {count} lines");
            }
        }
    }
}
