//! The conference roster pane (DESIGN.md §4): one row per participant
//! with the leader mark, the name ("(you)" on ours), muted, the audio
//! state and a speaking meter; the conference ID and whether it is locked
//! in the title, how many are in it on the right; and, while the pane has
//! the keys, the actions [`Conference::offered`] lists on the bottom
//! border, as many as fit.
//!
//! A participant's meter shows the level of their voice in the mix we
//! hear (the CSRC the MCU marks it with is their roster `src-id`, RFC
//! 3550 §5.1, RFC 4575 §5.7.1.2.3); ours, which the MCU leaves out of our
//! mix, shows our microphone while the audio is this terminal's call
//! (with our audio on a phone, the row says "by phone"). When the row is short the meter gives way
//! first, then the audio state.
//!
//! Once the focus reports how participants' audio reaches the MCU (the
//! roster's call-quality figures), the pane's last row tells them for the
//! selected participant: `Amy Tran · Opus · loss 0.4% · jitter 3 ms ·
//! rtt 12 ms · buffer 60 ms`, as many figures as fit, the buffer first to
//! go and the loss last, as on the call bar.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{BorderType, Paragraph};

use crate::client::{Availability, Participant};

use super::super::keys::{Action, Context};
use super::super::state::{AppState, Conference, Focus, Origin, PhoneAudio, conference_id};
use super::call::{LOSSY_PERCENT, meter};
use super::lines;
use super::names::Names;
use super::panel::Panel;
use super::text::{elide, width};
use super::theme;

/// Columns of the right part of a row.
const MUTED: usize = 5;
const AUDIO: usize = 11;
const METER: usize = 6;
/// A name gets at least this many columns before the right part shrinks.
const NAME_MIN: usize = 10;
/// After our own name.
const YOU: &str = " (you)";

/// Rows the pane takes out of `available`: the roster, the quality row
/// if there are figures, and its borders, at most half of them (the
/// conversation needs the rest), at least a row for one participant.
pub(super) fn height(state: &AppState, available: u16) -> u16 {
    let (users, details) = state.conference.as_ref().map_or((0, 0), |conference| {
        (conference.users.len(), usize::from(has_figures(conference)))
    });
    let wanted = u16::try_from(users.max(1) + details)
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    wanted.min((available / 2).max(3))
}

/// Whether anyone's call-quality figures are known: the pane then keeps
/// its last row for the selected participant's.
fn has_figures(conference: &Conference) -> bool {
    conference.joined && conference.users.iter().any(|user| user.quality.is_some())
}

pub(super) fn render(state: &AppState, names: &Names, frame: &mut Frame, area: Rect) {
    let Some(conference) = &state.conference else {
        return;
    };
    if area.is_empty() {
        return;
    }
    let theme = &state.config.theme;
    let focused = state.focus == Focus::Roster && state.modal.is_none();
    let mut title = vec![Span::styled(" Conference ", theme::title())];
    // How others join by phone says more than the conference's ID, and
    // the title has room for one of them.
    if let Some((number, code)) = &conference.dial_in {
        title.push(Span::styled(
            format!("☎ {number} code {code}# "),
            theme::dim(),
        ));
    } else if let Some(id) = conference_id(&conference.focus) {
        title.push(Span::styled(format!("{id} "), theme::dim()));
    }
    if conference.locked {
        title.push(Span::styled(
            "· Locked ",
            theme.presence(Availability::Away),
        ));
    }
    let mut count = Vec::new();
    let unread = state
        .conversations
        .get(&conference.focus)
        .map_or(0, |chat| chat.unread);
    if unread > 0 {
        count.push(Span::styled(format!(" ✉ {unread}"), theme.unread()));
    }
    if conference.joined {
        let people = match conference.users.len() {
            1 => "1 person".to_owned(),
            n => format!("{n} people"),
        };
        count.push(Span::styled(format!(" {people} "), theme::dim()));
    }
    let mut block = Panel::bordered()
        .border_type(BorderType::Rounded)
        .border_style(if focused {
            theme.focused_border()
        } else {
            theme::border()
        })
        .title(Line::from(title))
        .title(Line::from(count).right_aligned());
    if focused {
        let room = usize::from(area.width).saturating_sub(4);
        block = block.title_bottom(hints(state, conference, room).right_aligned());
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.is_empty() {
        return;
    }
    let room = usize::from(inner.width);
    if !conference.joined {
        let text = match &conference.origin {
            Origin::Escalated { with } => {
                format!("Starting a conference with {}…", state.display_name(with))
            }
            Origin::Invited { .. } | Origin::Joined => "Joining the conference…".to_owned(),
        };
        let line = Line::styled(elide(&text, room), theme::dim());
        frame.render_widget(Paragraph::new(line), inner);
        return;
    }
    // Names take the room of the longest, so the states stay near them.
    let widest = (0..conference.users.len())
        .filter_map(|index| names.user(index))
        .map(|(name, own)| width(name) + if own { width(YOU) } else { 0 })
        .max()
        .unwrap_or(0);
    let selected = conference.selected_index();
    // The quality row, when there are figures and room for a row above.
    let (inner, details) = if has_figures(conference) && inner.height >= 2 {
        let rows = Rect {
            height: inner.height - 1,
            ..inner
        };
        let details = Rect {
            y: inner.y + inner.height - 1,
            height: 1,
            ..inner
        };
        (rows, Some(details))
    } else {
        (inner, None)
    };
    if let (Some(area), Some(user)) = (details, conference.selected_user()) {
        let line = quality_line(state, user, usize::from(area.width));
        frame.render_widget(Paragraph::new(line), area);
    }
    let height = usize::from(inner.height);
    // Scroll just enough to keep the selection in view.
    let offset = selected.map_or(0, |s| (s + 1).saturating_sub(height));
    let lines: Vec<Line> = conference
        .users
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(index, user)| {
            let is_selected = Some(index) == selected;
            let (name, own) = names.user(index).unwrap_or_default();
            let line = row(
                state,
                conference,
                user,
                (name, own),
                is_selected,
                (widest, room),
            );
            if is_selected {
                line.patch_style(theme::selected(focused))
            } else {
                line
            }
        })
        .collect();
    lines::render(&lines, inner, frame.buffer_mut());
}

/// `› ★ Amy Tran (you)   muted connected   ██▌···`, its names given the
/// room of the `widest`, out of `room`.
fn row(
    state: &AppState,
    conference: &Conference,
    user: &Participant,
    (name, own): (&str, bool),
    selected: bool,
    (widest, room): (usize, usize),
) -> Line<'static> {
    let theme = &state.config.theme;
    let lead = 4;
    // The right part's columns, as many as leave the name its room.
    let columns = [MUTED, MUTED + 1 + AUDIO, MUTED + 1 + AUDIO + 1 + METER]
        .into_iter()
        .rev()
        .find(|right| lead + NAME_MIN + 1 + right <= room)
        .unwrap_or(0);
    let name_room = room
        .saturating_sub(lead + usize::from(columns > 0) + columns)
        .min(widest.max(NAME_MIN));
    let you = if own { YOU } else { "" };
    let name = if width(name) + width(you) <= name_room {
        format!("{name}{you}")
    } else {
        elide(name, name_room.saturating_sub(width(you)).max(1)) + you
    };
    let name = elide(&name, name_room);
    let (mark, mark_style) = if user.is_leader() {
        ("★", theme.key())
    } else {
        (" ", Style::new())
    };
    let mut spans = vec![
        Span::raw(if selected { "›" } else { " " }),
        Span::raw(" "),
        Span::styled(mark, mark_style),
        Span::raw(" "),
        Span::styled(
            name.clone(),
            if own { theme.own_name() } else { Style::new() },
        ),
        Span::raw(" ".repeat(name_room.saturating_sub(width(&name)))),
    ];
    if columns == 0 {
        return Line::from(spans);
    }
    spans.push(Span::raw(" "));
    let muted = user.muted || user.audio == "muted-via-focus";
    spans.push(if muted {
        Span::styled("muted", theme::error())
    } else {
        Span::raw(" ".repeat(MUTED))
    });
    if columns > MUTED {
        let (label, style) = audio(state, user, own);
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!("{label:<AUDIO$}"), style));
    }
    if columns > MUTED + 1 + AUDIO {
        spans.push(Span::raw(" "));
        spans.extend(speaking(state, conference, user, own, muted));
    }
    Line::from(spans)
}

/// The audio state in words: the audio endpoint's RFC 4575 §5.7.1.2
/// status, or, without one, the focus endpoint's while it is on its way;
/// ours connected by a phone the MCU called says "by phone".
fn audio(state: &AppState, user: &Participant, own: bool) -> (String, Style) {
    let waiting = state.config.theme.presence(Availability::Away);
    let no_audio = matches!(user.audio.as_str(), "" | "none");
    let status = if no_audio {
        user.status.as_str()
    } else {
        user.audio.as_str()
    };
    if own && state.phone_audio() == Some(PhoneAudio::Connected) {
        // Our audio is the phone the MCU called, not this terminal.
        return ("by phone".to_owned(), theme::ok());
    }
    if status == "disconnected" {
        // A dial-out that came to nothing says why: busy, no answer.
        if let Some(reason) = user.reason.as_deref().filter(|r| !r.is_empty()) {
            return (elide(reason, AUDIO), theme::error());
        }
    }
    let (label, style) = match status {
        "connected" | "muted-via-focus" if !no_audio => ("connected", theme::ok()),
        "on-hold" => ("on hold", waiting),
        "dialing-out" => ("dialing out", waiting),
        "dialing-in" => ("dialing in", waiting),
        "alerting" => ("ringing", waiting),
        "pending" => ("pending", waiting),
        "disconnecting" => ("leaving", theme::dim()),
        // In the focus, but with no audio.
        "" | "none" | "disconnected" | "connected" | "muted-via-focus" => {
            ("no audio", theme::dim())
        }
        other => return (elide(other, AUDIO), theme::dim()),
    };
    (label.to_owned(), style)
}

/// The speaking meter: the voice's level in the mix (ours: the
/// microphone), resting dots while in the audio and silent, nothing
/// without audio.
fn speaking(
    state: &AppState,
    conference: &Conference,
    user: &Participant,
    own: bool,
    muted: bool,
) -> Vec<Span<'static>> {
    let in_audio = matches!(user.audio.as_str(), "connected" | "muted-via-focus");
    let level = if own {
        state
            .levels
            .map(|(input, _)| input)
            .filter(|_| in_audio && !muted && !state.muted)
            // The microphone is ours only while the audio is this
            // terminal's call, not a phone's.
            .filter(|_| state.conference_call().is_some())
    } else {
        conference.speaking_level(user)
    };
    match level {
        Some(level) => {
            let (mut bar, empty) = meter(level);
            if bar.is_empty() && empty > 0 {
                // In the mix, however quietly: one eighth shows it.
                bar.push('▏');
            }
            let empty = METER.saturating_sub(width(&bar));
            vec![
                Span::styled(bar, theme::ok()),
                Span::styled("·".repeat(empty), theme::dim()),
            ]
        }
        None if in_audio => vec![Span::styled("·".repeat(METER), theme::dim())],
        None => vec![Span::raw(" ".repeat(METER))],
    }
}

/// `  Amy Tran · Opus · loss 0.4% · jitter 3 ms · rtt 12 ms · buffer 60
/// ms`: the selected participant's figures, as many as fit in `room`
/// (loss in red from [`LOSSY_PERCENT`]); or that there are none.
fn quality_line(state: &AppState, user: &Participant, room: usize) -> Line<'static> {
    let lead = "  ";
    let separator = || Span::styled(" · ", theme::dim());
    // The name gets a third of the row at most: the figures are the news.
    let name_room = (room / 3).max(NAME_MIN);
    let name = elide(state.participant_name(&user.uri), name_room);
    let mut spans = vec![Span::raw(lead), Span::styled(name, theme::title())];
    let Some(quality) = &user.quality else {
        spans.push(separator());
        spans.push(Span::styled("no audio figures", theme::dim()));
        return elided(spans, room);
    };
    if let Some(codec) = &quality.codec {
        spans.push(separator());
        spans.push(Span::styled(elide(codec, 12), theme::dim()));
    }
    let loss_style = if quality
        .loss_percent()
        .is_some_and(|loss| loss >= LOSSY_PERCENT)
    {
        theme::error()
    } else {
        Style::new()
    };
    let figures: Vec<(&str, String, Style)> = [
        quality
            .loss_percent()
            .map(|loss| ("loss ", format!("{loss:.1}%"), loss_style)),
        quality
            .jitter_ms
            .map(|ms| ("jitter ", millis(ms), Style::new())),
        quality.rtt_ms.map(|ms| ("rtt ", millis(ms), Style::new())),
        quality
            .buffer_ms
            .map(|ms| ("buffer ", millis(ms), Style::new())),
    ]
    .into_iter()
    .flatten()
    .collect();
    let used: usize = spans.iter().map(Span::width).sum();
    let mut fitted = Vec::new();
    for (label, value, style) in figures {
        let figure = [
            separator(),
            Span::styled(label, theme::dim()),
            Span::styled(value, style),
        ];
        let more: usize = fitted.iter().chain(&figure).map(Span::width).sum();
        if used + more > room {
            // The figures after this one are less telling still.
            break;
        }
        fitted.extend(figure);
    }
    spans.extend(fitted);
    elided(spans, room)
}

fn millis(ms: u32) -> String {
    format!("{ms} ms")
}

/// The spans, cut to `room` columns if they are wider (a terminal too
/// narrow even for the name).
fn elided(spans: Vec<Span<'static>>, room: usize) -> Line<'static> {
    let used: usize = spans.iter().map(Span::width).sum();
    if used <= room {
        return Line::from(spans);
    }
    let text: String = spans.iter().map(|span| span.content.as_ref()).collect();
    Line::styled(elide(&text, room), theme::dim())
}

/// The keys the roster offers now, as many as fit in `room`.
fn hints(state: &AppState, conference: &Conference, room: usize) -> Line<'static> {
    let theme = &state.config.theme;
    let selected = conference.selected_user();
    let mut spans = vec![Span::raw(" ")];
    for action in conference.offered(&state.own_uri) {
        let context = if action.is_leaders() {
            Context::Leader
        } else {
            Context::Roster
        };
        let key = state.keys.label(context, action);
        let what = match action {
            Action::MuteUser if selected.is_some_and(|u| u.muted) => "unmute",
            Action::MuteUser => "mute",
            Action::Eject => "remove",
            Action::ToggleRole if selected.is_some_and(Participant::is_leader) => "make attendee",
            Action::ToggleRole => "make leader",
            Action::Invite => "invite",
            Action::Lock if conference.locked => "unlock",
            Action::Lock => "lock",
            Action::EndConference => "end",
            Action::Leave => "leave",
            _ => continue,
        };
        let pair = [
            Span::styled(if spans.len() > 1 { " · " } else { "" }, theme::dim()),
            Span::styled(key, theme.key()),
            Span::styled(format!(" {what}"), theme::dim()),
        ];
        let used: usize = spans.iter().chain(&pair).map(Span::width).sum();
        if used + 1 > room {
            // A shorter one further on may still fit.
            continue;
        }
        spans.extend(pair);
    }
    spans.push(Span::raw(" "));
    Line::from(spans)
}
