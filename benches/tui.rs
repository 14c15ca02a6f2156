//! The terminal UI's cost per frame at 120x40, on a busy screen: 500
//! contacts in five groups (names, presence, notes), a joined conference
//! of 50 that we lead with our audio as this terminal's call, and its IM
//! open with 200 messages. Four measures in the same run:
//!
//! - `render`: `tui::render` alone, into the frame's buffer (then
//!   cleared, as `Terminal::draw` does before the next frame).
//! - `draw/unchanged`: `Terminal::draw` of the same state again over a
//!   backend that discards what it is given: the render and ratatui's
//!   diff of the two buffers, which finds nothing to write.
//! - `draw/meters`: one meter update as the run loop carries it out:
//!   `update` with new levels (the microphone, three voices in view and
//!   one scrolled out of it), then `Terminal::draw` over the discarding
//!   backend, which is handed the changed cells.
//! - `draw/meters-crossterm`: the same over ratatui's crossterm backend
//!   writing to memory, so the escape sequences are encoded too.
//!
//! Before timing it prints the bytes the crossterm backend writes for the
//! first full frame, per meter update after it (averaged over a cycle of
//! updates) and for a redraw of an unchanged state, and whether a meter
//! update with the same levels as the last asks the run loop for a frame.
//!
//!   cargo bench --bench tui
//!
//! runs in about half a minute once built. The goal (the performance
//! issue): under 100 µs a frame.

use std::cell::Cell as StdCell;
use std::convert::Infallible;
use std::hint::black_box;
use std::io::{self, Write};
use std::rc::Rc;
use std::time::Duration;

use confab::client::{Availability, Buddy, DialIn, Event, Participant};
use confab::media::contributors::Contributors;
use confab::tui::state::{Focus, Row};
use confab::tui::{AppState, MediaMeters, Msg, TuiConfig, render, update};
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Rect, Size};
use ratatui::{Terminal, TerminalOptions, Viewport};

const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;
const BUDDIES: usize = 500;
const PARTICIPANTS: usize = 50;
const MESSAGES: usize = 200;
/// 2024-02-29 13:45:00 UTC.
const T0: i64 = 1_709_214_300_000;
const OWN: &str = "sip:vivian@confab.local";
const FOCUS: &str = "sip:vivian@confab.local;gruu;opaque=app:conf:focus:id:7QX2K9PA";
const AV_MCU: &str = "sip:vivian@confab.local;gruu;opaque=app:conf:audio-video:id:7QX2K9PA";
/// Roster rows whose voices are in the mix: three in view, one below.
const TALKERS: [usize; 4] = [1, 4, 7, 30];
/// Distinct meter updates, cycled.
const UPDATES: usize = 64;

const GROUPS: [(&str, usize); 5] = [
    ("Engineering", 200),
    ("Sales", 120),
    ("Support", 100),
    ("Partners", 50),
    ("Family", 30),
];
const FIRST: [&str; 20] = [
    "Amy", "Hao", "Mira", "Jo", "Sam", "Lee", "Rita", "Tom", "Ines", "Kofi", "Lena", "Raj", "Noor",
    "Pablo", "Yuki", "Olga", "Femi", "Chloé", "Marek", "Aiko",
];
const LAST: [&str; 25] = [
    "Tran",
    "Chen",
    "Patel",
    "Okafor",
    "Park",
    "Gomes",
    "Berg",
    "Moreau",
    "Mensah",
    "Novak",
    "Iyer",
    "Haddad",
    "Suárez",
    "Tanaka",
    "Petrov",
    "Adeyemi",
    "Lindqvist",
    "Kowalski",
    "Sato",
    "Fischer",
    "O'Brien",
    "Nakamura-Whitfield",
    "Rossi",
    "Dubois",
    "Singh",
];
const NOTES: [&str; 6] = [
    "Reviewing the Q3 plan",
    "Back at 3",
    "Focus time until noon, ping me if urgent",
    "In Lisbon this week",
    "On call for the SBC rollout",
    "Lunch",
];
const TEXTS: [&str; 5] = [
    "Sounds good",
    "I have the numbers for the Q3 plan here, shall I share them after this item?",
    "Can everyone hear me? The phone bridge dropped me a minute ago and I dialled back in.",
    "+1",
    "Let's take the SBC rollout offline: Kofi and I will write up the trunk failover tests and the codec list by Friday, then we review it together.",
];

fn buddy_uri(n: usize) -> String {
    format!("sip:user{n:03}@confab.local")
}

fn buddy_name(n: usize) -> String {
    // Every one of the 500 a different first and last name pair.
    format!(
        "{} {}",
        FIRST[n % FIRST.len()],
        LAST[n / FIRST.len() % LAST.len()]
    )
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn apply(state: &mut AppState, msgs: impl IntoIterator<Item = Msg>) {
    for msg in msgs {
        update(state, msg);
    }
}

/// The roster: us (leading, first), then 49 others; every tenth a phone
/// with no name, two muted, one still being dialled.
fn roster() -> Vec<Participant> {
    (0..PARTICIPANTS)
        .map(|n| {
            let (uri, display) = match n {
                0 => (OWN.to_owned(), "Vivian Park".to_owned()),
                n if n % 10 == 9 => (format!("tel:+1425555{n:04}"), String::new()),
                n => (buddy_uri(n), buddy_name(n)),
            };
            let dialling = n == 12;
            Participant {
                uri,
                display,
                roles: vec![if n == 0 { "presenter" } else { "attendee" }.into()],
                status: if dialling { "dialing-out" } else { "connected" }.into(),
                audio: if dialling { "dialing-out" } else { "connected" }.into(),
                muted: n == 5 || n == 17,
                reason: None,
                joining: Some(
                    if n % 10 == 9 {
                        "dialed-in"
                    } else {
                        "dialed-out"
                    }
                    .into(),
                ),
                quality: None,
                src_id: (!dialling).then_some(1_000 + n as u32),
            }
        })
        .collect()
}

/// The screen described at the top, built by the messages the run loop
/// would give `update`.
fn busy_state() -> AppState {
    let mut state = AppState::new(TuiConfig {
        own_uri: OWN.into(),
        own_display: "Vivian Park".into(),
        ..TuiConfig::default()
    })
    .expect("default keys");
    let mut buddies = Vec::with_capacity(BUDDIES);
    for (group, count) in GROUPS {
        for _ in 0..count {
            let n = buddies.len();
            buddies.push(Buddy {
                uri: buddy_uri(n),
                display: buddy_name(n),
                group: group.into(),
            });
        }
    }
    let presence = buddies.iter().enumerate().map(|(n, buddy)| {
        Msg::Client(Event::Presence {
            uri: buddy.uri.clone(),
            availability: Availability::ALL[n % Availability::ALL.len()],
            note: if n % 3 == 0 {
                NOTES[n % NOTES.len()].into()
            } else {
                String::new()
            },
        })
    });
    apply(
        &mut state,
        [
            Msg::Tick { now_ms: T0 },
            Msg::Resize {
                width: WIDTH,
                height: HEIGHT,
            },
            Msg::Client(Event::Registered { uri: OWN.into() }),
            Msg::Client(Event::Buddies {
                buddies: buddies.clone(),
            }),
        ],
    );
    apply(&mut state, presence);
    // Write with the first contact, escalate (F6, "This terminal"), join.
    state.selection = Some(Row::Buddy {
        group: "Engineering".into(),
        uri: buddy_uri(1),
    });
    apply(
        &mut state,
        [
            key(KeyCode::Enter),
            Msg::Client(Event::Im {
                from: buddy_uri(1),
                text: "Can we talk it through with the team?".into(),
            }),
            key(KeyCode::F(6)),
            key(KeyCode::Enter),
            Msg::Client(Event::ConferenceJoined {
                focus: FOCUS.into(),
                role: "presenter".into(),
            }),
            Msg::Client(Event::Roster {
                focus: FOCUS.into(),
                version: 1,
                locked: false,
                users: roster(),
                dial_in: Some(DialIn {
                    number: "+14255550100".into(),
                    code: "7294".into(),
                }),
            }),
            Msg::Client(Event::CallConnected {
                peer: AV_MCU.into(),
            }),
        ],
    );
    // An hour of conference IM, a message every 18 s.
    for n in 0..MESSAGES {
        let from = match n % 7 {
            0 => buddy_uri(1),
            1 | 4 => buddy_uri(4),
            2 => "tel:+14255550019".to_owned(),
            _ => buddy_uri(n % (PARTICIPANTS - 1) + 1),
        };
        apply(
            &mut state,
            [
                Msg::Tick {
                    now_ms: T0 + 18_000 * n as i64,
                },
                Msg::Client(Event::ConferenceIm {
                    focus: FOCUS.into(),
                    from,
                    text: TEXTS[n % TEXTS.len()].into(),
                }),
            ],
        );
    }
    apply(&mut state, [meters(0)]);
    let conference = state.joined_conference().expect("joined");
    assert_eq!(conference.users.len(), PARTICIPANTS);
    assert_eq!(state.open.as_deref(), Some(FOCUS), "the conference IM open");
    assert_eq!(state.focus, Focus::Input);
    assert!(state.conversations[FOCUS].messages.len() > MESSAGES);
    assert!(state.conference_call().is_some(), "audio by this terminal");
    state
}

/// The `step`th meter update: the microphone and the talkers at levels
/// that move every update, as a voice's peaks do.
fn meters(step: usize) -> Msg {
    let level = |phase: usize| {
        let x = (step * 37 + phase * 101) % 97;
        x as f32 / 96.0
    };
    let mut speaking = Contributors::default();
    for (n, talker) in TALKERS.iter().enumerate() {
        speaking.insert(1_000 + *talker as u32, level(n + 1));
    }
    Msg::Meters(MediaMeters {
        speaking,
        ..MediaMeters::from((level(0), level(9)))
    })
}

/// A backend that takes cells and writes them nowhere, counting them.
#[derive(Default)]
struct Discard {
    cells: usize,
}

impl Backend for Discard {
    type Error = Infallible;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Infallible>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        for (_, _, cell) in content {
            black_box(cell);
            self.cells += 1;
        }
        Ok(())
    }

    fn hide_cursor(&mut self) -> Result<(), Infallible> {
        Ok(())
    }

    fn show_cursor(&mut self) -> Result<(), Infallible> {
        Ok(())
    }

    fn get_cursor_position(&mut self) -> Result<Position, Infallible> {
        Ok(Position::ORIGIN)
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, _: P) -> Result<(), Infallible> {
        Ok(())
    }

    fn clear(&mut self) -> Result<(), Infallible> {
        Ok(())
    }

    fn clear_region(&mut self, _: ClearType) -> Result<(), Infallible> {
        Ok(())
    }

    fn size(&self) -> Result<Size, Infallible> {
        Ok(Size::new(WIDTH, HEIGHT))
    }

    fn window_size(&mut self) -> Result<WindowSize, Infallible> {
        Ok(WindowSize {
            columns_rows: Size::new(WIDTH, HEIGHT),
            pixels: Size::new(0, 0),
        })
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// A terminal of 120x40 over `backend`; fixed, so it never asks the
/// backend for its size.
fn terminal<B: Backend>(backend: B) -> Terminal<B> {
    let options = TerminalOptions {
        viewport: Viewport::Fixed(Rect::new(0, 0, WIDTH, HEIGHT)),
    };
    Terminal::with_options(backend, options).unwrap_or_else(|_| panic!("a fixed viewport"))
}

/// Draws `state` on the discarding terminal.
fn draw(terminal: &mut Terminal<Discard>, state: &AppState) {
    let Ok(_) = terminal.draw(|frame| render(state, frame));
}

/// Where the crossterm backend writes: nowhere, counting the bytes.
#[derive(Clone, Default)]
struct Count(Rc<StdCell<usize>>);

impl Write for Count {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.set(self.0.get() + bytes.len());
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

type Crossterm = Terminal<CrosstermBackend<Count>>;

/// A crossterm terminal, and what counts its bytes.
fn crossterm() -> (Crossterm, Count) {
    let count = Count::default();
    (terminal(CrosstermBackend::new(count.clone())), count)
}

/// Draws `state`; returns the bytes written.
fn draw_crossterm(terminal: &mut Crossterm, count: &Count, state: &AppState) -> usize {
    let before = count.0.get();
    terminal
        .draw(|frame| render(state, frame))
        .expect("writes nowhere");
    count.0.get() - before
}

/// The bytes written for the first frame, per meter update after it, and
/// for a redraw with nothing changed.
fn report_bytes(state: &AppState) {
    let mut state = state.clone();
    let (mut terminal, count) = crossterm();
    let first = draw_crossterm(&mut terminal, &count, &state);
    let mut total = 0;
    let (mut least, mut most) = (usize::MAX, 0);
    for step in 1..=UPDATES {
        update(&mut state, meters(step));
        let bytes = draw_crossterm(&mut terminal, &count, &state);
        total += bytes;
        least = least.min(bytes);
        most = most.max(bytes);
    }
    let unchanged = draw_crossterm(&mut terminal, &count, &state);
    // The media task publishes every 20 ms whether or not the levels
    // moved; the run loop draws when the update says so.
    let again = update(&mut state, meters(UPDATES)).redraw;
    eprintln!(
        "tui {WIDTH}x{HEIGHT}: first frame {first} bytes; per meter update {:.0} bytes on average \
         ({least} to {most}, {UPDATES} updates); a redraw of an unchanged state {unchanged} bytes; \
         levels equal to the last ask for a redraw: {again}",
        total as f64 / UPDATES as f64
    );
}

/// With `TUI_RENDERS=N` or `TUI_DRAWS=N` in the environment: renders N
/// frames, or draws N of an unchanged state, and nothing else. For
/// counting instructions on a busy machine, where times are noise:
/// `valgrind --tool=callgrind` with N and with 2N, the difference being N
/// frames' worth.
fn count_frames(state: &AppState) -> bool {
    let count = |name| {
        std::env::var(name)
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
    };
    let mut discard = terminal(Discard::default());
    if let Some(renders) = count("TUI_RENDERS") {
        for _ in 0..renders {
            let mut frame = discard.get_frame();
            render(black_box(state), &mut frame);
            discard.current_buffer_mut().reset();
        }
        true
    } else if let Some(draws) = count("TUI_DRAWS") {
        for _ in 0..draws {
            draw(&mut discard, black_box(state));
        }
        true
    } else {
        false
    }
}

fn frame(c: &mut Criterion) {
    let state = busy_state();
    if count_frames(&state) {
        return;
    }
    report_bytes(&state);
    let mut group = c.benchmark_group(format!("tui/{WIDTH}x{HEIGHT}"));

    let mut discard = terminal(Discard::default());
    group.bench_function("render", |b| {
        b.iter(|| {
            let mut frame = discard.get_frame();
            render(black_box(&state), &mut frame);
            discard.current_buffer_mut().reset();
        });
    });

    let mut discard = terminal(Discard::default());
    draw(&mut discard, &state);
    group.bench_function("draw/unchanged", |b| {
        b.iter(|| draw(&mut discard, black_box(&state)));
    });

    let mut changing = state.clone();
    let updates: Vec<Msg> = (0..UPDATES).map(meters).collect();
    let mut step = 0;
    let before = discard.backend().cells;
    let mut draws = 0usize;
    group.bench_function("draw/meters", |b| {
        b.iter(|| {
            step += 1;
            update(&mut changing, updates[step % UPDATES].clone());
            draws += 1;
            draw(&mut discard, &changing);
        });
    });
    eprintln!(
        "tui draw/meters: {:.1} cells handed to the backend per update",
        (discard.backend().cells - before) as f64 / draws.max(1) as f64
    );

    let (mut crossterm, count) = crossterm();
    draw_crossterm(&mut crossterm, &count, &changing);
    group.bench_function("draw/meters-crossterm", |b| {
        b.iter(|| {
            step += 1;
            update(&mut changing, updates[step % UPDATES].clone());
            draw_crossterm(&mut crossterm, &count, &changing)
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    targets = frame
}
criterion_main!(benches);
