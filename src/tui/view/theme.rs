//! Colours and symbols, in one place so the screen stays consistent.
//!
//! Each presence state has its own symbol as well as a colour, so the list
//! reads on a monochrome terminal and for colour-blind users: green
//! available; red busy, do not disturb, in a call or a conference; yellow
//! away or be right back; grey offline.

use ratatui::style::{Color, Modifier, Style};

use crate::client::Availability;

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

pub fn colour(availability: Availability) -> Color {
    match availability {
        Availability::Available => Color::Green,
        Availability::Busy
        | Availability::InACall
        | Availability::InAConference
        | Availability::DoNotDisturb => Color::Red,
        Availability::BeRightBack | Availability::Away => Color::Yellow,
        Availability::Offline => Color::DarkGray,
    }
}

pub fn presence(availability: Availability) -> Style {
    Style::new().fg(colour(availability))
}

/// Secondary text: notes, times, hints.
pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

pub fn title() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

/// The border of the pane that has the keys.
pub fn focused_border() -> Style {
    Style::new().fg(Color::Cyan)
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

pub fn unread() -> Style {
    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
}

pub fn error() -> Style {
    Style::new().fg(Color::Red)
}

pub fn ok() -> Style {
    Style::new().fg(Color::Green)
}

pub fn own_name() -> Style {
    Style::new().fg(Color::Cyan)
}

pub fn peer_name() -> Style {
    Style::new().fg(Color::Magenta)
}

/// A key in a hint or the help overlay.
pub fn key() -> Style {
    Style::new().fg(Color::Cyan)
}
