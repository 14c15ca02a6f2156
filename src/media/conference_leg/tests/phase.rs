//! The mix's phase follows its talkers: while their frames wait for the
//! tick, the tick may come sooner, a step at a time, until they wait no
//! more than the margin; with no talker, or none waiting, it stays.

use super::*;
use crate::media::conference_leg::bridge::{PHASE_MARGIN, PHASE_STEP};

/// Legs 1 and 2 talk, their packets arriving `lead` before each tick;
/// the phase moves as `tick_advance` says. The advance of each tick.
fn advances(lead: Duration, frames: u64, talking: bool) -> Vec<Duration> {
    let (mut media, mut participants) = conference();
    participants.truncate(2);
    media.close_leg(3);
    for participant in &mut participants {
        participant.silent = !talking;
    }
    let mut shift = Duration::ZERO;
    let mut out = Vec::new();
    for frame in 0..frames {
        // The packets come at fixed times; the tick moves. A packet later
        // than its tick comes in after it.
        let arrival = Duration::from_millis(20 * frame + 100) - lead;
        let tick = Duration::from_millis(20 * frame + 100) - shift;
        let datagrams: Vec<(u64, Vec<u8>)> = participants
            .iter_mut()
            .map(|participant| (participant.leg, participant.packet(frame)))
            .collect();
        let deliver = |media: &mut ConferenceMedia| {
            for (leg, datagram) in &datagrams {
                media.handle_packet(Time::ZERO + arrival, *leg, datagram);
            }
        };
        if arrival <= tick {
            deliver(&mut media);
            media.tick(Time::ZERO + tick);
        } else {
            media.tick(Time::ZERO + tick);
            deliver(&mut media);
        }
        let advance = media.tick_advance();
        assert!(advance <= PHASE_STEP, "{advance:?}");
        shift += advance;
        out.push(advance);
    }
    out
}

#[test]
fn talkers_waiting_for_the_tick_bring_it_forward_to_the_margin() {
    let lead = Duration::from_millis(12);
    let steps = advances(lead, 150, true);
    let moved: Duration = steps.iter().sum();
    // The frames waited 12 ms: the tick came about 11 ms sooner (the
    // margin is kept), and then moved no more.
    assert!(
        moved + PHASE_MARGIN + Duration::from_millis(2) >= lead && moved < lead,
        "moved {moved:?}"
    );
    assert!(steps[100..].iter().all(Duration::is_zero), "{steps:?}");
}

#[test]
fn without_talkers_or_spare_time_the_phase_stays() {
    let quiet = advances(Duration::from_millis(12), 60, false);
    assert!(quiet.iter().all(Duration::is_zero), "{quiet:?}");
    let tight = advances(Duration::ZERO, 60, true);
    assert!(tight.iter().all(Duration::is_zero), "{tight:?}");
}
