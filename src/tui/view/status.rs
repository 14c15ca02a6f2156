//! The status bar: who we are, our presence and note, the conference we
//! are in (how many are in it, and the timer of its audio call, or that
//! a phone carries our audio), the registration, a passing notice, and
//! `? help` at the right end.
//!
//! When the line is too narrow, parts give way in a fixed order
//! ([`STEPS`]): our URI first, our presence last. Our note starts at
//! [`NOTE_SHOWN`] columns and grows into what room is left; a notice takes
//! the note's place while it lasts, elided to the room left, and goes when
//! less than [`NOTICE_MIN`] columns remain.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::client::Availability;

use super::super::keys::{Action, Context};
use super::super::state::{AppState, PhoneAudio, Registration, without_scheme};
use super::lines;
use super::text::{elide, width};
use super::theme;

const SEPARATOR: &str = " │ ";
const NOTICE_MIN: usize = 8;
const NOTE_SHOWN: usize = 20;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Identity,
    Presence,
    Conference,
    Registration,
    Help,
}

/// How the bar shrinks: each step takes a part to its next shorter form
/// (an empty form hides it).
const STEPS: [Part; 11] = [
    Part::Identity,
    Part::Presence,
    Part::Conference,
    Part::Registration,
    Part::Identity,
    Part::Help,
    Part::Presence,
    Part::Registration,
    Part::Conference,
    Part::Presence,
    Part::Help,
];

pub(super) fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    if area.is_empty() {
        return;
    }
    let available = usize::from(area.width);
    let mut parts = [
        (Part::Identity, identity(state), 0),
        (Part::Presence, presence(state), 0),
        (Part::Conference, conference(state), 0),
        (Part::Registration, registration(state), 0),
        (Part::Help, help(state), 0),
    ];
    let total = |parts: &[(Part, Vec<Vec<Span<'static>>>, usize)]| {
        let widths: Vec<usize> = parts
            .iter()
            .map(|(_, forms, form)| forms.get(*form).map_or(0, |f| spans_width(f)))
            .filter(|w| *w > 0)
            .collect();
        1 + widths.iter().sum::<usize>() + widths.len().saturating_sub(1) * width(SEPARATOR)
    };
    for step in STEPS {
        if total(&parts) <= available {
            break;
        }
        if let Some((_, forms, form)) = parts.iter_mut().find(|(part, ..)| *part == step) {
            *form = (*form + 1).min(forms.len());
        }
    }

    let spare = available.saturating_sub(total(&parts));
    let mut left = vec![Span::raw(" ")];
    let mut right = Vec::new();
    // Our note's span, to widen once the room left is known.
    let mut note_at = None;
    for (part, forms, form) in &mut parts {
        let Some(spans) = forms.get_mut(*form).filter(|f| !f.is_empty()) else {
            continue;
        };
        if *part == Part::Help {
            right.append(spans);
            continue;
        }
        if left.len() > 1 {
            left.push(Span::styled(SEPARATOR, theme::border()));
        }
        left.append(spans);
        let has_note = !state.own.note.trim().is_empty() && state.notice.is_none();
        if *part == Part::Presence && *form == 0 && has_note {
            note_at = Some(left.len() - 1);
        }
    }
    if let Some(notice) = &state.notice {
        let (mark, style) = if notice.error {
            ("✗ ", theme::error())
        } else {
            ("", state.config.theme.presence(Availability::Away))
        };
        let room = spare.saturating_sub(width(SEPARATOR));
        if room >= NOTICE_MIN {
            let text = elide(&format!("{mark}{}", notice.text), room);
            left.push(Span::styled(SEPARATOR, theme::border()));
            left.push(Span::styled(text, style));
        }
    }
    let note = state.own.note.trim();
    if let Some(span) = note_at.and_then(|at| left.get_mut(at)) {
        let shown = span.width().saturating_sub(3);
        *span = Span::styled(format!(" · {}", elide(note, shown + spare)), span.style);
    }
    let used = spans_width(&left) + spans_width(&right);
    left.push(Span::raw(" ".repeat(available.saturating_sub(used))));
    left.append(&mut right);
    lines::render(&[Line::from(left)], area, frame.buffer_mut());
}

fn spans_width(spans: &[Span]) -> usize {
    spans.iter().map(Span::width).sum()
}

fn identity(state: &AppState) -> Vec<Vec<Span<'static>>> {
    let name = state.own_display().to_owned();
    let uri = without_scheme(&state.own_uri).to_owned();
    let short = vec![Span::styled(name.clone(), theme::title())];
    if name == uri || uri.is_empty() {
        return vec![short.clone(), short];
    }
    let full = vec![
        Span::styled(name, theme::title()),
        Span::styled(format!(" {uri}"), theme::dim()),
    ];
    vec![full, short]
}

fn presence(state: &AppState) -> Vec<Vec<Span<'static>>> {
    let availability = state.own.availability;
    let symbol = Span::styled(
        theme::symbol(availability),
        state.config.theme.presence(availability),
    );
    let mut label = availability.label().to_owned();
    if state.auto_away.is_some() {
        label.push_str(" (idle)");
    }
    let labelled = vec![symbol.clone(), Span::raw(" "), Span::raw(label)];
    let mut forms = vec![labelled.clone(), vec![symbol]];
    let note = state.own.note.trim();
    if !note.is_empty() && state.notice.is_none() {
        let mut with_note = labelled;
        // Widened later: see `render`.
        with_note.push(Span::styled(
            format!(" · {}", elide(note, NOTE_SHOWN)),
            theme::dim().add_modifier(Modifier::ITALIC),
        ));
        forms.insert(0, with_note);
    } else {
        // The same number of forms either way, for `STEPS`.
        forms.insert(0, forms[0].clone());
    }
    forms
}

/// "In a conference · 4 people · 01:23", the words left out when our
/// presence says them already, then shorter; nothing outside a
/// conference. It is never hidden: what is left is short. The timer is
/// that of the conference's own audio call: a call with someone else is
/// not the conference's, and with our audio on a phone the A/V MCU
/// called ("call me at") there is none, so "☎ by phone" says where it
/// is instead.
fn conference(state: &AppState) -> Vec<Vec<Span<'static>>> {
    let Some(conference) = &state.conference else {
        return Vec::new();
    };
    let theme = &state.config.theme;
    let symbol = || {
        Span::styled(
            theme::symbol(Availability::InAConference),
            theme.presence(Availability::InAConference),
        )
    };
    if !conference.joined {
        let joining = Span::styled(" Joining a conference…", theme::dim());
        return vec![vec![symbol(), joining], vec![symbol()]];
    }
    let count = conference.users.len();
    let people = match count {
        1 => "1 person".to_owned(),
        n => format!("{n} people"),
    };
    let timer = state
        .conference_call()
        .and_then(|call| call.talked_secs(state.now_ms))
        .map(super::call::timer);
    let phone = state.phone_audio().map(|phone| match phone {
        PhoneAudio::Calling => (
            "☎ calling your phone…",
            "☎…",
            theme.presence(Availability::Away),
        ),
        PhoneAudio::Connected => ("☎ by phone", "☎", theme::ok()),
    });
    let said = state.own.availability == Availability::InAConference;
    let mut full = vec![symbol(), Span::raw(" ")];
    if !said {
        full.push(Span::raw("In a conference"));
        full.push(Span::styled(" · ", theme::dim()));
    }
    full.push(Span::raw(people.clone()));
    let mut shorter = vec![symbol(), Span::raw(format!(" {people}"))];
    let mut shortest = vec![symbol(), Span::raw(format!(" {count}"))];
    if let Some(timer) = timer {
        for form in [&mut full, &mut shorter, &mut shortest] {
            form.push(Span::styled(" · ", theme::dim()));
            form.push(Span::styled(timer.clone(), theme::ok()));
        }
    }
    if let Some((words, short, style)) = phone {
        for (form, text) in [
            (&mut full, words),
            (&mut shorter, words),
            (&mut shortest, short),
        ] {
            form.push(Span::styled(" · ", theme::dim()));
            form.push(Span::styled(text, style));
        }
    }
    vec![full, shorter, shortest]
}

fn registration(state: &AppState) -> Vec<Vec<Span<'static>>> {
    let one = |text: String, style: Style| vec![Span::styled(text, style)];
    if state.quitting {
        return vec![one("Signing out…".into(), theme::dim())];
    }
    match &state.registration {
        Registration::Connecting => vec![one(
            "Signing in…".into(),
            state.config.theme.presence(Availability::Away),
        )],
        Registration::Registered => vec![
            one("✓ Signed in".into(), theme::ok()),
            one("✓".into(), theme::ok()),
        ],
        Registration::Failed(reason) => vec![
            one(format!("✗ Sign-in failed: {reason}"), theme::error()),
            one("✗ Sign-in failed".into(), theme::error()),
        ],
        Registration::Unregistered => vec![one("Signed out".into(), theme::dim())],
    }
}

fn help(state: &AppState) -> Vec<Vec<Span<'static>>> {
    vec![vec![
        Span::styled(
            state.keys.label(Context::Buddies, Action::ShowHelp),
            state.config.theme.key(),
        ),
        Span::styled(" help ", theme::dim()),
    ]]
}
