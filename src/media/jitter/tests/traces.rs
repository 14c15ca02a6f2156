//! Whole traces replayed in virtual time, asserting properties of the
//! playout rather than exact outputs. Two traces are fixtures (CSV under
//! tests/fixtures/jitter/) so they do not depend on the RNG's stream; the
//! rest are generated from fixed seeds.

use super::trace::{Jitter, Out, Pause, Run, Spec, generate, parse_csv, run, to_csv};
use super::*;

fn opus_config() -> JitterConfig {
    JitterConfig::for_codec(Codec::Opus)
}

fn replay(spec: &Spec) -> Run {
    let run = run(&generate(spec), opus_config(), spec.seconds + 1.0, 7.0);
    run.assert_invariants();
    run
}

fn report(name: &str, run: &Run, from_s: f64, to_s: f64) {
    let (mean, max) = run.delay_ms(from_s, to_s);
    let stats = run.stats;
    eprintln!(
        "{name}: delay mean {mean:.1} ms max {max:.1} ms, target {:?}, late {:.2}% \
         (after {from_s} s), played {} fec {} concealed {} inserted {} dropped {} resyncs {}",
        stats.target_delay,
        100.0 * run.late_fraction_after(from_s),
        stats.played,
        stats.fec_recovered,
        stats.concealed,
        stats.inserted,
        stats.dropped,
        stats.resyncs,
    );
}

const UNIFORM_FIXTURE: &str = include_str!("../../../../tests/fixtures/jitter/uniform_40ms.csv");
const BURSTY_FIXTURE: &str = include_str!("../../../../tests/fixtures/jitter/bursty_spikes.csv");

fn uniform_spec() -> Spec {
    Spec {
        seed: 11,
        jitter: Jitter::Uniform {
            ms: 40.0,
            until_s: f64::INFINITY,
        },
        ..Spec::default()
    }
}

fn bursty_spec() -> Spec {
    Spec {
        seed: 12,
        jitter: Jitter::Bursty {
            every_s: 4.0,
            spike_ms: 150.0,
        },
        ..Spec::default()
    }
}

/// Rewrites the fixtures from their specs: `cargo test write_jitter_fixtures
/// -- --ignored`. Only needed if the trace format changes.
#[test]
#[ignore]
fn write_jitter_fixtures() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jitter");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        format!("{dir}/uniform_40ms.csv"),
        to_csv(&generate(&uniform_spec())),
    )
    .unwrap();
    std::fs::write(
        format!("{dir}/bursty_spikes.csv"),
        to_csv(&generate(&bursty_spec())),
    )
    .unwrap();
}

#[test]
fn a_steady_network_holds_the_minimum_delay() {
    let run = replay(&Spec::default());
    report("steady", &run, 5.0, 60.0);
    let (_, max) = run.delay_ms(5.0, 60.0);
    assert!(max <= 45.0, "max delay {max} ms");
    assert_eq!(run.stats.target_delay, Duration::from_millis(20));
    assert_eq!(run.stats.late, 0);
    // Every tick from the first frame to the last is a frame.
    let frames: Vec<bool> = run
        .ticks
        .iter()
        .map(|(_, out, _, _)| matches!(out, Out::Frame(_)))
        .collect();
    let first = frames.iter().position(|frame| *frame).unwrap();
    let last = frames.iter().rposition(|frame| *frame).unwrap();
    assert!(frames[first..=last].iter().all(|frame| *frame));
    // Two frames are dropped to come down from the 60 ms initial target.
    assert_eq!(run.stats.played + run.stats.dropped, 3000);
}

#[test]
fn uniform_jitter_keeps_late_loss_under_one_percent() {
    let packets = parse_csv(UNIFORM_FIXTURE);
    let run = run(&packets, opus_config(), 61.0, 7.0);
    run.assert_invariants();
    report("uniform 0-40 ms", &run, 15.0, 60.0);
    let late = run.late_fraction_after(15.0);
    assert!(late <= 0.01, "late {:.2}%", late * 100.0);
    // The least delay that covers the spread: about 40 ms, not the maximum.
    let (mean, _) = run.delay_ms(15.0, 60.0);
    assert!((38.0..=70.0).contains(&mean), "mean delay {mean} ms");
}

#[test]
fn delay_spikes_raise_the_target_and_late_loss_stays_low() {
    let packets = parse_csv(BURSTY_FIXTURE);
    let run = run(&packets, opus_config(), 61.0, 7.0);
    run.assert_invariants();
    report("bursty spikes", &run, 15.0, 60.0);
    let late = run.late_fraction_after(15.0);
    assert!(late <= 0.03, "late {:.2}%", late * 100.0);
    assert!(run.stats.target_delay >= Duration::from_millis(60));
}

#[test]
fn random_loss_is_repaired_by_fec_where_the_next_packet_is_there() {
    let spec = Spec {
        seed: 3,
        loss: 0.10,
        ..Spec::default()
    };
    let run = replay(&spec);
    report("10% loss", &run, 5.0, 60.0);
    let lost = 3000 - generate(&spec).len() as u64;
    // Concealment at the end of the stream (before going idle) is not loss.
    let concealed = run.count_before(60.0, |out| *out == Out::Conceal) as u64;
    let repaired = run.stats.fec_recovered + concealed;
    assert!(
        repaired.abs_diff(lost) <= 3,
        "{repaired} repaired of {lost} lost"
    );
    // With independent 10% loss, the next packet is there 90% of the time.
    assert!(run.stats.fec_recovered as f64 >= 0.8 * lost as f64);
    assert_eq!(run.stats.late, 0);
}

#[test]
fn reordering_is_absorbed_without_late_loss() {
    let spec = Spec {
        seed: 4,
        reorder: 0.05,
        jitter: Jitter::Uniform {
            ms: 5.0,
            until_s: f64::INFINITY,
        },
        ..Spec::default()
    };
    let run = replay(&spec);
    report("5% reordered by 25 ms", &run, 10.0, 60.0);
    assert!(run.late_fraction_after(10.0) <= 0.01);
    let (mean, _) = run.delay_ms(10.0, 60.0);
    assert!((25.0..=70.0).contains(&mean), "mean delay {mean} ms");
}

#[test]
fn duplicates_are_played_once() {
    let spec = Spec {
        seed: 5,
        duplicate: 0.05,
        jitter: Jitter::Uniform {
            ms: 10.0,
            until_s: f64::INFINITY,
        },
        ..Spec::default()
    };
    let packets = generate(&spec);
    let run = replay(&spec);
    report("5% duplicated", &run, 5.0, 60.0);
    let copies = packets.len() - 3000;
    // A copy arriving after its original was played counts as a duplicate
    // too (the received map remembers 128 packets).
    assert_eq!(run.stats.duplicates as usize, copies);
    assert_eq!(run.played().len(), run.stats.played as usize);
}

fn drift(ppm: f64) -> Run {
    let spec = Spec {
        seed: 6,
        seconds: 600.0,
        drift_ppm: ppm,
        jitter: Jitter::Uniform {
            ms: 10.0,
            until_s: f64::INFINITY,
        },
        ..Spec::default()
    };
    let run = replay(&spec);
    report(&format!("drift {ppm} ppm"), &run, 10.0, 600.0);
    run
}

#[test]
fn a_fast_sender_clock_is_absorbed_by_dropping_frames() {
    // 0.1% over 10 minutes: the sender gets 600 ms ahead.
    let run = drift(1000.0);
    let (_, max) = run.delay_ms(300.0, 600.0);
    assert!(max <= 80.0, "delay grew to {max} ms");
    assert!(
        (20..=45).contains(&run.stats.dropped),
        "{} dropped",
        run.stats.dropped
    );
    assert!(run.late_fraction_after(10.0) <= 0.01);
}

#[test]
fn a_slow_sender_clock_is_absorbed_by_waiting() {
    let run = drift(-1000.0);
    let (mean, _) = run.delay_ms(300.0, 600.0);
    assert!(mean <= 60.0, "mean delay {mean} ms");
    // 600 ms behind: about 30 ticks are stretched.
    assert!(
        (20..=60).contains(&run.stats.inserted),
        "{} inserted",
        run.stats.inserted
    );
    assert!(run.late_fraction_after(10.0) <= 0.01);
}

fn paused(clock_runs: bool) -> Run {
    let spec = Spec {
        seed: 7,
        pause: Some(Pause {
            at_s: 20.0,
            seconds: 5.0,
            clock_runs,
        }),
        jitter: Jitter::Uniform {
            ms: 10.0,
            until_s: f64::INFINITY,
        },
        ..Spec::default()
    };
    let run = replay(&spec);
    report(
        &format!("5 s pause, clock runs {clock_runs}"),
        &run,
        26.0,
        60.0,
    );
    // Silence through the pause after a short concealment.
    let during = run
        .ticks
        .iter()
        .filter(|(at, _, _, _)| (20_500_000..25_000_000).contains(at));
    assert!(during.clone().all(|(_, out, _, _)| *out == Out::Silence));
    // Back to normal delay within a second, with nothing lost.
    let (_, max) = run.delay_ms(26.0, 60.0);
    assert!(max <= 60.0, "delay after the pause {max} ms");
    assert_eq!(run.stats.late, 0);
    run
}

#[test]
fn a_pause_with_a_running_clock_resumes_at_the_same_delay() {
    let run = paused(true);
    assert_eq!(run.stats.resyncs, 0);
}

#[test]
fn a_pause_with_a_stopped_clock_resynchronises() {
    let run = paused(false);
    assert_eq!(run.stats.resyncs, 1);
}

#[test]
fn after_an_outage_old_audio_is_skipped() {
    // Packets sent during 2 s are queued and delivered at once.
    let spec = Spec {
        seed: 8,
        outage: Some((20.0, 22.0)),
        ..Spec::default()
    };
    let run = replay(&spec);
    report("2 s outage", &run, 23.0, 60.0);
    let first_after = run
        .ticks
        .iter()
        .find_map(|(at, out, _, _)| match out {
            Out::Frame(index) if *at >= 22_000_000 => Some(*index),
            _ => None,
        })
        .unwrap();
    // Frame 1100 was sent at 22 s: nothing much older is played.
    assert!(
        first_after >= 1097,
        "played frame {first_after} after the outage"
    );
    let (_, max) = run.delay_ms(23.0, 60.0);
    assert!(max <= 45.0, "delay after the outage {max} ms");
}

#[test]
fn the_delay_comes_back_down_when_jitter_stops() {
    let spec = Spec {
        seed: 9,
        seconds: 90.0,
        jitter: Jitter::Uniform {
            ms: 80.0,
            until_s: 40.0,
        },
        ..Spec::default()
    };
    let run = replay(&spec);
    report("80 ms jitter then none", &run, 10.0, 40.0);
    let (jittery, _) = run.delay_ms(10.0, 40.0);
    let (_, calm) = run.delay_ms(75.0, 90.0);
    assert!(jittery >= 70.0, "delay under jitter {jittery} ms");
    assert!(calm <= 45.0, "delay once calm {calm} ms");
}

#[test]
fn sequence_and_timestamp_wrap_without_a_glitch() {
    let spec = Spec {
        seed: 10,
        first_sequence: 65_000,
        first_timestamp: u32::MAX - 200_000,
        jitter: Jitter::Uniform {
            ms: 10.0,
            until_s: f64::INFINITY,
        },
        ..Spec::default()
    };
    let run = replay(&spec);
    assert_eq!((run.stats.late, run.stats.resyncs), (0, 0));
    assert_eq!(run.count_before(60.0, |out| *out == Out::Conceal), 0);
    assert_eq!(run.stats.played + run.stats.dropped, 3000);
}

#[test]
fn a_new_ssrc_mid_call_is_followed() {
    let first = generate(&Spec {
        seconds: 10.0,
        ..Spec::default()
    });
    let mut second = generate(&Spec {
        seconds: 10.0,
        ssrc: 0xbeef,
        first_sequence: 7,
        first_timestamp: 3_000_000_000,
        ..Spec::default()
    });
    for packet in &mut second {
        packet.at_us += 10_000_000;
        packet.index += 500;
    }
    let packets: Vec<_> = first.into_iter().chain(second).collect();
    let run = run(&packets, opus_config(), 21.0, 7.0);
    run.assert_invariants();
    assert_eq!(run.stats.resyncs, 1);
    // At most the old stream's last couple of frames are cut off.
    assert!(run.played().len() >= 997, "{} played", run.played().len());
}
