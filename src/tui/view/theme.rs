//! Colours and symbols, in one place so the screen stays consistent.
//!
//! Each presence state has its own symbol as well as a colour, so the list
//! reads on a monochrome terminal and for colour-blind users. The colours
//! of the presence states and the accent (keys, the focused border, our
//! name, unread counts) come from a [`Theme`], which the config file's
//! `[colours]` may change; by default green available; red busy, do not
//! disturb, in a call or a conference; yellow away or be right back; grey
//! offline; a cyan accent. The other styles are fixed.

use ratatui::style::{Color, Modifier, Style};

use crate::client::Availability;
use crate::config::{Colour, Colours};

/// The colours a user may choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub available: Color,
    /// Busy, do not disturb, in a call, in a conference.
    pub busy: Color,
    /// Away, be right back.
    pub away: Color,
    pub offline: Color,
    pub accent: Color,
}

impl Default for Theme {
    fn default() -> Theme {
        Theme {
            available: Color::Green,
            busy: Color::Red,
            away: Color::Yellow,
            offline: Color::DarkGray,
            accent: Color::Cyan,
        }
    }
}

impl Theme {
    /// The config file's colours over the defaults.
    pub fn from_config(colours: &Colours) -> Theme {
        let default = Theme::default();
        let or = |colour: Option<Colour>, fallback| colour.map_or(fallback, terminal_colour);
        Theme {
            available: or(colours.available, default.available),
            busy: or(colours.busy, default.busy),
            away: or(colours.away, default.away),
            offline: or(colours.offline, default.offline),
            accent: or(colours.accent, default.accent),
        }
    }

    pub fn colour(&self, availability: Availability) -> Color {
        match availability {
            Availability::Available => self.available,
            Availability::Busy
            | Availability::InACall
            | Availability::InAConference
            | Availability::DoNotDisturb => self.busy,
            Availability::BeRightBack | Availability::Away => self.away,
            Availability::Offline => self.offline,
        }
    }

    pub fn presence(&self, availability: Availability) -> Style {
        Style::new().fg(self.colour(availability))
    }

    /// The border of the pane or dialog that has the keys.
    pub fn focused_border(&self) -> Style {
        Style::new().fg(self.accent)
    }

    pub fn unread(&self) -> Style {
        Style::new().fg(self.accent).add_modifier(Modifier::BOLD)
    }

    pub fn own_name(&self) -> Style {
        Style::new().fg(self.accent)
    }

    /// A key in a hint or the help overlay.
    pub fn key(&self) -> Style {
        Style::new().fg(self.accent)
    }
}

/// A config file colour as ratatui's; the names are the same ANSI ones.
pub fn terminal_colour(colour: Colour) -> Color {
    match colour {
        Colour::Black => Color::Black,
        Colour::Red => Color::Red,
        Colour::Green => Color::Green,
        Colour::Yellow => Color::Yellow,
        Colour::Blue => Color::Blue,
        Colour::Magenta => Color::Magenta,
        Colour::Cyan => Color::Cyan,
        Colour::Gray => Color::Gray,
        Colour::DarkGray => Color::DarkGray,
        Colour::LightRed => Color::LightRed,
        Colour::LightGreen => Color::LightGreen,
        Colour::LightYellow => Color::LightYellow,
        Colour::LightBlue => Color::LightBlue,
        Colour::LightMagenta => Color::LightMagenta,
        Colour::LightCyan => Color::LightCyan,
        Colour::White => Color::White,
        Colour::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

/// The symbol of a presence state; every one a single column wide.
pub fn symbol(availability: Availability) -> &'static str {
    match availability {
        Availability::Available => "●",
        Availability::Busy => "◉",
        Availability::InACall => "☎",
        Availability::InAConference => "◎",
        Availability::DoNotDisturb => "⊖",
        Availability::BeRightBack => "◔",
        Availability::Away => "◑",
        Availability::Offline => "○",
    }
}

/// Secondary text: notes, times, hints.
pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

pub fn title() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

pub fn border() -> Style {
    Style::new().fg(Color::DarkGray)
}

/// The selected row of a list.
pub fn selected(focused: bool) -> Style {
    if focused {
        Style::new()
            .bg(Color::DarkGray)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::new().add_modifier(Modifier::BOLD)
    }
}

pub fn error() -> Style {
    Style::new().fg(Color::Red)
}

pub fn ok() -> Style {
    Style::new().fg(Color::Green)
}

pub fn peer_name() -> Style {
    Style::new().fg(Color::Magenta)
}
