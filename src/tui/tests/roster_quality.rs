//! The roster's call-quality row: the selected participant's figures on
//! the pane's last row once anyone has some, as many as fit, following
//! the selection and the roster's updates.

use crate::client::{Participant, Quality};
use crate::tui::update::update;

use super::conference::*;
use super::conference_view::{leader_screen, screen};
use super::view::{assert_screen, draw};
use super::*;

fn figures(loss_permille: u16, jitter_ms: u32, rtt_ms: Option<u32>) -> Option<Quality> {
    Some(Quality {
        codec: Some("Opus".into()),
        loss_permille: Some(loss_permille),
        jitter_ms: Some(jitter_ms),
        rtt_ms,
        buffer_ms: Some(60),
    })
}

/// [`everyone`] with figures for all in the audio but Hao (Mira is still
/// being dialled): our own, Amy's, and the phone's, in PCMU, lossy.
fn measured() -> Vec<Participant> {
    let mut users = everyone();
    users[0].quality = figures(0, 1, Some(4));
    users[1].quality = figures(4, 3, Some(12));
    users[4].quality = Some(Quality {
        codec: Some("PCMU".into()),
        rtt_ms: None,
        ..figures(62, 18, None).unwrap()
    });
    users
}

/// The last row inside the roster pane at 120x40 (the pane's border is
/// the row below it).
fn quality_row(state: &AppState) -> String {
    let shown = screen(state, 120, 40);
    let lines: Vec<&str> = shown.lines().collect();
    let bottom = lines
        .iter()
        .position(|line| line.contains("╰") && line.contains("leave"))
        .expect("the roster's bottom border");
    lines[bottom - 1].to_owned()
}

#[test]
fn the_selected_participants_figures_show_under_the_roster() {
    let mut state = leader_screen();
    update(&mut state, roster(2, false, measured()));
    select(&mut state, AMY);
    assert_screen("conference_quality", &state, 120, 40);
    let row = quality_row(&state);
    assert!(
        row.contains("Amy Tran · Opus · loss 0.4% · jitter 3 ms · rtt 12 ms · buffer 60 ms"),
        "{row}"
    );

    // It follows the selection: the phone's has no round trip; Hao has
    // no figures.
    select(&mut state, PHONE);
    let row = quality_row(&state);
    assert!(
        row.contains("+14255550123 · PCMU · loss 6.2% · jitter 18 ms · buffer 60 ms"),
        "{row}"
    );
    select(&mut state, HAO);
    let row = quality_row(&state);
    assert!(row.contains("Hao Chen · no audio figures"), "{row}");

    // A new roster brings new figures for the same selection.
    let mut users = measured();
    users[2].quality = figures(0, 7, Some(30));
    update(&mut state, roster(3, false, users));
    let row = quality_row(&state);
    assert!(
        row.contains("Hao Chen · Opus · loss 0.0% · jitter 7 ms · rtt 30 ms"),
        "{row}"
    );
}

#[test]
fn without_figures_the_roster_keeps_no_row_for_them() {
    let state = leader_screen();
    let shown = screen(&state, 120, 40);
    assert!(!shown.contains("no audio figures"), "{shown}");
    let mut measured_state = leader_screen();
    update(&mut measured_state, roster(2, false, measured()));
    let rows = |shown: &str| {
        shown
            .lines()
            .position(|line| line.contains("╰") && line.contains("leave"))
            .unwrap()
    };
    assert_eq!(
        rows(&screen(&measured_state, 120, 40)),
        rows(&shown) + 1,
        "one row more for the figures"
    );
}

#[test]
fn a_narrow_roster_drops_the_least_telling_figures_first() {
    let mut state = leader_screen();
    update(&mut state, roster(2, false, measured()));
    select(&mut state, AMY);
    let shown = screen(&state, 80, 24);
    let row = shown
        .lines()
        .find(|line| line.contains("Amy Tran · Opus"))
        .unwrap_or_else(|| panic!("{shown}"));
    // The loss stays; the buffer goes first.
    assert!(row.contains("loss 0.4%"), "{row}");
    assert!(!row.contains("buffer"), "{row}");
    // No size panics, figures or not.
    for (width, height) in [(0, 0), (1, 1), (20, 3), (36, 16), (40, 6), (200, 2)] {
        draw(&state, width, height);
    }
}
