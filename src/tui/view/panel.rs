//! [`Panel`]: a pane's border and titles, drawn as ratatui's `Block`
//! draws them, for the kinds of block the view uses (all borders or some,
//! plain or rounded, titles left or right, top or bottom, no padding, no
//! style of its own).
//!
//! `Block` first applies its style to every cell of its area, even the
//! default style, which changes nothing: on a full screen that was a
//! quarter of a frame. A panel touches its border and title cells only.
//!
//! Invariant: a panel draws what the `Block` with the same settings draws;
//! the tests compare the two.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{BorderType, Borders, Widget};

#[derive(Debug, Clone, Default)]
pub(super) struct Panel<'a> {
    borders: Borders,
    border_type: BorderType,
    border_style: Style,
    top: Vec<Line<'a>>,
    bottom: Vec<Line<'a>>,
}

impl<'a> Panel<'a> {
    pub(super) fn new() -> Self {
        Panel::default()
    }

    pub(super) fn bordered() -> Self {
        Panel::new().borders(Borders::ALL)
    }

    pub(super) fn borders(mut self, borders: Borders) -> Self {
        self.borders = borders;
        self
    }

    pub(super) fn border_type(mut self, border_type: BorderType) -> Self {
        self.border_type = border_type;
        self
    }

    pub(super) fn border_style(mut self, style: Style) -> Self {
        self.border_style = style;
        self
    }

    /// A title on the top border; `Line::right_aligned` puts it right.
    pub(super) fn title(mut self, title: impl Into<Line<'a>>) -> Self {
        self.top.push(title.into());
        self
    }

    pub(super) fn title_bottom(mut self, title: impl Into<Line<'a>>) -> Self {
        self.bottom.push(title.into());
        self
    }

    /// The area inside the borders and title rows.
    pub(super) fn inner(&self, area: Rect) -> Rect {
        let mut inner = area;
        if self.borders.intersects(Borders::LEFT) {
            inner.x = inner.x.saturating_add(1).min(inner.right());
            inner.width = inner.width.saturating_sub(1);
        }
        if self.borders.intersects(Borders::TOP) || !self.top.is_empty() {
            inner.y = inner.y.saturating_add(1).min(inner.bottom());
            inner.height = inner.height.saturating_sub(1);
        }
        if self.borders.intersects(Borders::RIGHT) {
            inner.width = inner.width.saturating_sub(1);
        }
        if self.borders.intersects(Borders::BOTTOM) || !self.bottom.is_empty() {
            inner.height = inner.height.saturating_sub(1);
        }
        inner
    }

    fn render_borders(&self, area: Rect, buf: &mut Buffer) {
        let set = self.border_type.to_border_set();
        let (left, top) = (area.left(), area.top());
        let right = area.right().saturating_sub(1);
        let bottom = area.bottom().saturating_sub(1);
        // Sides first, full length; the corners then replace their ends.
        let sides = [
            (
                Borders::LEFT,
                (left, left),
                (top, bottom),
                set.vertical_left,
            ),
            (Borders::TOP, (left, right), (top, top), set.horizontal_top),
            (
                Borders::RIGHT,
                (right, right),
                (top, bottom),
                set.vertical_right,
            ),
            (
                Borders::BOTTOM,
                (left, right),
                (bottom, bottom),
                set.horizontal_bottom,
            ),
        ];
        for (border, (x0, x1), (y0, y1), symbol) in sides {
            if !self.borders.contains(border) {
                continue;
            }
            for y in y0..=y1 {
                for x in x0..=x1 {
                    self.border_cell(buf, x, y, symbol);
                }
            }
        }
        let corners = [
            (
                Borders::RIGHT | Borders::BOTTOM,
                right,
                bottom,
                set.bottom_right,
            ),
            (Borders::RIGHT | Borders::TOP, right, top, set.top_right),
            (
                Borders::LEFT | Borders::BOTTOM,
                left,
                bottom,
                set.bottom_left,
            ),
            (Borders::LEFT | Borders::TOP, left, top, set.top_left),
        ];
        for (border, x, y, symbol) in corners {
            if self.borders.contains(border) {
                self.border_cell(buf, x, y, symbol);
            }
        }
    }

    fn border_cell(&self, buf: &mut Buffer, x: u16, y: u16, symbol: &str) {
        if let Some(cell) = buf.cell_mut((x, y)) {
            cell.set_symbol(symbol).set_style(self.border_style);
        }
    }

    /// Left titles from the left, each followed by a space; then right
    /// titles from the right, over the left ones where they meet.
    fn render_titles(&self, titles: &[Line], area: Rect, y: u16, buf: &mut Buffer) {
        let left_border = u16::from(self.borders.contains(Borders::LEFT));
        let right_border = u16::from(self.borders.contains(Borders::RIGHT));
        let row = Rect {
            x: area.left().saturating_add(left_border),
            y,
            width: area
                .width
                .saturating_sub(left_border)
                .saturating_sub(right_border),
            height: 1,
        };
        let is = |line: &Line, alignment| line.alignment.unwrap_or(Alignment::Left) == alignment;
        let mut free = row;
        for title in titles.iter().filter(|line| is(line, Alignment::Left)) {
            if free.is_empty() {
                break;
            }
            let width = line_width(title);
            title.render(
                Rect {
                    width: width.min(free.width),
                    ..free
                },
                buf,
            );
            let advance = width.saturating_add(1);
            free.x = free.x.saturating_add(advance);
            free.width = free.width.saturating_sub(advance);
        }
        let mut free = row;
        for title in titles
            .iter()
            .rev()
            .filter(|line| is(line, Alignment::Right))
        {
            if free.is_empty() {
                break;
            }
            let width = line_width(title);
            title.render(
                Rect {
                    x: free.right().saturating_sub(width).max(free.left()),
                    width: width.min(free.width),
                    ..free
                },
                buf,
            );
            free.width = free.width.saturating_sub(width).saturating_sub(1);
        }
    }
}

fn line_width(line: &Line) -> u16 {
    u16::try_from(line.width()).unwrap_or(u16::MAX)
}

impl Widget for Panel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if area.is_empty() {
            return;
        }
        self.render_borders(area, buf);
        self.render_titles(&self.top, area, area.top(), buf);
        self.render_titles(&self.bottom, area, area.bottom().saturating_sub(1), buf);
    }
}

#[cfg(test)]
mod tests {
    use ratatui::style::{Color, Modifier};
    use ratatui::text::Span;
    use ratatui::widgets::Block;

    use super::super::lines::tests::scribbled;
    use super::*;

    /// The same settings as a panel and as a block.
    fn both(
        borders: Borders,
        border_type: BorderType,
        top: &[Line<'static>],
        bottom: &[Line<'static>],
    ) -> (Panel<'static>, Block<'static>) {
        let style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
        let mut panel = Panel::new()
            .borders(borders)
            .border_type(border_type)
            .border_style(style);
        let mut block = Block::new()
            .borders(borders)
            .border_type(border_type)
            .border_style(style);
        for title in top {
            panel = panel.title(title.clone());
            block = block.title(title.clone());
        }
        for title in bottom {
            panel = panel.title_bottom(title.clone());
            block = block.title_bottom(title.clone());
        }
        (panel, block)
    }

    #[test]
    fn draws_what_a_block_draws() {
        let titles: Vec<Vec<Line<'static>>> = vec![
            vec![],
            vec![Line::from(Span::styled(" Contacts ", Style::new().bold()))],
            vec![
                Line::from(" Amy Tran "),
                Line::styled(" sip:amy@confab.local ", Style::new().dim()).right_aligned(),
            ],
            vec![
                Line::from(" a "),
                Line::from(" 漢字 "),
                Line::from(" 12/500 ").right_aligned(),
                Line::from(" r ").right_aligned(),
            ],
            vec![
                Line::from("x".repeat(90)).right_aligned(),
                Line::from("left"),
            ],
        ];
        let kinds = [
            (Borders::ALL, BorderType::Rounded),
            (Borders::ALL, BorderType::Plain),
            (Borders::TOP, BorderType::Plain),
            (Borders::BOTTOM, BorderType::Plain),
            (Borders::NONE, BorderType::Plain),
        ];
        let screens = [
            (Rect::new(0, 0, 40, 10), Rect::new(0, 0, 40, 10)),
            (Rect::new(0, 0, 40, 10), Rect::new(5, 2, 24, 6)),
            (Rect::new(0, 0, 40, 10), Rect::new(30, 8, 20, 5)),
            (Rect::new(0, 0, 40, 10), Rect::new(3, 3, 1, 1)),
            (Rect::new(0, 0, 40, 10), Rect::new(3, 3, 2, 2)),
            (Rect::new(0, 0, 40, 10), Rect::new(3, 3, 7, 1)),
            (Rect::new(0, 0, 40, 10), Rect::new(3, 3, 0, 4)),
        ];
        for (borders, border_type) in kinds {
            for top in &titles {
                for bottom in [&titles[0], &titles[2]] {
                    let (panel, block) = both(borders, border_type, top, bottom);
                    for (screen, area) in screens {
                        assert_eq!(panel.inner(area), block.inner(area), "{area:?}");
                        let mut expected = scribbled(screen);
                        block.clone().render(area, &mut expected);
                        let mut drawn = scribbled(screen);
                        panel.clone().render(area, &mut drawn);
                        assert_eq!(
                            drawn,
                            expected,
                            "{borders:?} {border_type:?} {area:?}, {} top, {} bottom",
                            top.len(),
                            bottom.len()
                        );
                    }
                }
            }
        }
    }
}
