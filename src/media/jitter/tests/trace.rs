//! Network traces for the jitter buffer, and a runner that replays them in
//! virtual time against a 20 ms playout tick.
//!
//! A sender emits one packet per 20 ms of its own clock; each packet gets a
//! transit (base plus a jitter model), may be lost, duplicated or held back
//! behind the next, and arrives at the receiver. The payload is the
//! sender's frame index (u32, little-endian), so the runner can tell which
//! frame was played.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::super::{Arrival, JitterBuffer, JitterConfig, JitterStats, MediaPacket, Playout};
use crate::proto::Time;

const FRAME_US: f64 = 20_000.0;

/// One packet as it arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Packet {
    pub at_us: i64,
    pub ssrc: u32,
    pub sequence: u16,
    pub timestamp: u32,
    pub index: u32,
}

/// How transit varies.
#[derive(Clone, Copy, Debug)]
pub(super) enum Jitter {
    None,
    /// Transit plus uniform 0..=ms, until `until_s` (then none).
    Uniform {
        ms: f64,
        until_s: f64,
    },
    /// Small jitter (0-4 ms) with delay spikes: every `every_s` on average,
    /// a queue stalls for 50-100% of `spike_ms` and then drains at once.
    Bursty {
        every_s: f64,
        spike_ms: f64,
    },
}

/// The sender stops sending for a while.
#[derive(Clone, Copy, Debug)]
pub(super) struct Pause {
    pub at_s: f64,
    pub seconds: f64,
    /// Whether the RTP timestamp keeps running through the pause (RFC 3550)
    /// or resumes where it stopped (a sender that pauses its clock).
    pub clock_runs: bool,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Spec {
    pub seconds: f64,
    pub seed: u64,
    pub ssrc: u32,
    pub transit_ms: f64,
    pub jitter: Jitter,
    pub loss: f64,
    pub duplicate: f64,
    /// Chance that a packet is held back 25 ms, behind the next one.
    pub reorder: f64,
    /// Sender clock rate error: positive sends faster than the receiver.
    pub drift_ppm: f64,
    pub pause: Option<Pause>,
    pub first_sequence: u16,
    pub first_timestamp: u32,
    /// Network outage: packets sent in [from, to) are queued and all
    /// delivered at `to`.
    pub outage: Option<(f64, f64)>,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            seconds: 60.0,
            seed: 1,
            ssrc: 0x5eed,
            transit_ms: 30.0,
            jitter: Jitter::None,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            drift_ppm: 0.0,
            pause: None,
            first_sequence: 1000,
            first_timestamp: 160_000,
            outage: None,
        }
    }
}

/// Builds the arrivals of a spec, sorted by arrival time.
pub(super) fn generate(spec: &Spec) -> Vec<Packet> {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let frames = (spec.seconds * 50.0) as u32;
    let period_us = FRAME_US * (1.0 - spec.drift_ppm * 1e-6);
    let mut spikes = Vec::new();
    if let Jitter::Bursty { every_s, spike_ms } = spec.jitter {
        let mut at = 0.0;
        loop {
            at += every_s * 1e6 * -(1.0 - rng.random::<f64>()).ln();
            if at > spec.seconds * 1e6 {
                break;
            }
            spikes.push((at, spike_ms * 1e3 * rng.random_range(0.5..=1.0)));
        }
    }
    let mut packets = Vec::new();
    let mut sent = 0u32;
    for index in 0..frames {
        let send_us = f64::from(index) * period_us;
        let timestamp_frames = match spec.pause {
            Some(pause) if send_us >= pause.at_s * 1e6 => {
                if send_us < (pause.at_s + pause.seconds) * 1e6 {
                    continue;
                }
                if pause.clock_runs { index } else { sent }
            }
            _ => index,
        };
        let sequence = spec.first_sequence.wrapping_add(sent as u16);
        let timestamp = spec
            .first_timestamp
            .wrapping_add(timestamp_frames.wrapping_mul(960));
        sent += 1;
        if rng.random::<f64>() < spec.loss {
            continue;
        }
        let mut transit = spec.transit_ms * 1e3;
        transit += match spec.jitter {
            Jitter::None => 0.0,
            Jitter::Uniform { ms, until_s } if send_us < until_s * 1e6 => {
                rng.random_range(0.0..=ms * 1e3)
            }
            Jitter::Uniform { .. } => 0.0,
            Jitter::Bursty { .. } => {
                let stall = spikes
                    .iter()
                    .find(|(at, height)| send_us >= *at && send_us < at + height)
                    .map_or(0.0, |(at, height)| at + height - send_us);
                stall + rng.random_range(0.0..4000.0)
            }
        };
        if rng.random::<f64>() < spec.reorder {
            transit += 25_000.0;
        }
        let mut at = send_us + transit;
        if let Some((from, to)) = spec.outage {
            if send_us >= from * 1e6 && send_us < to * 1e6 {
                // Queued: released together when the link comes back.
                at = at.max(to * 1e6);
            }
        }
        let packet = Packet {
            at_us: at as i64,
            ssrc: spec.ssrc,
            sequence,
            timestamp,
            index,
        };
        packets.push(packet);
        if rng.random::<f64>() < spec.duplicate {
            let again = at + rng.random_range(0.0..30_000.0);
            packets.push(Packet {
                at_us: again as i64,
                ..packet
            });
        }
    }
    packets.sort_by_key(|packet| packet.at_us);
    packets
}

/// Reads `arrival_us,ssrc,sequence,timestamp,index` lines.
pub(super) fn parse_csv(text: &str) -> Vec<Packet> {
    text.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            Packet {
                at_us: fields[0].parse().unwrap(),
                ssrc: fields[1].parse().unwrap(),
                sequence: fields[2].parse().unwrap(),
                timestamp: fields[3].parse().unwrap(),
                index: fields[4].parse().unwrap(),
            }
        })
        .collect()
}

pub(super) fn to_csv(packets: &[Packet]) -> String {
    let mut text = String::from("arrival_us,ssrc,sequence,timestamp,index\n");
    for packet in packets {
        text.push_str(&format!(
            "{},{},{},{},{}\n",
            packet.at_us, packet.ssrc, packet.sequence, packet.timestamp, packet.index
        ));
    }
    text
}

/// What one tick played.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Out {
    Frame(u32),
    Fec(u32),
    Conceal,
    Silence,
}

/// The result of replaying a trace.
pub(super) struct Run {
    /// One entry per tick: (tick time µs, output, current delay, target).
    pub ticks: Vec<(i64, Out, Duration, Duration)>,
    /// One entry per pushed packet: (arrival µs, outcome).
    pub arrivals: Vec<(i64, Arrival)>,
    pub stats: JitterStats,
}

fn index_of(payload: &[u8]) -> u32 {
    u32::from_le_bytes(payload.try_into().unwrap())
}

/// Replays `packets` against a tick every 20 ms (first at `phase_ms`) for
/// `seconds`.
pub(super) fn run(packets: &[Packet], config: JitterConfig, seconds: f64, phase_ms: f64) -> Run {
    let mut buffer = JitterBuffer::new(config);
    let mut ticks = Vec::new();
    let mut arrivals = Vec::new();
    let mut next = 0;
    let tick_count = (seconds * 50.0) as i64;
    for tick in 0..tick_count {
        let now_us = (phase_ms * 1e3) as i64 + tick * 20_000;
        while let Some(packet) = packets.get(next).filter(|packet| packet.at_us <= now_us) {
            let payload = packet.index.to_le_bytes();
            let outcome = buffer.push(
                at(packet.at_us),
                MediaPacket {
                    ssrc: packet.ssrc,
                    sequence: packet.sequence,
                    timestamp: packet.timestamp,
                    payload: &payload,
                },
            );
            arrivals.push((packet.at_us, outcome));
            next += 1;
        }
        let out = match buffer.pop(at(now_us)) {
            Playout::Frame(payload) => Out::Frame(index_of(payload)),
            Playout::Fec(payload) => Out::Fec(index_of(payload)),
            Playout::Conceal => Out::Conceal,
            Playout::Silence => Out::Silence,
        };
        let stats = buffer.stats();
        ticks.push((now_us, out, stats.current_delay, stats.target_delay));
    }
    Run {
        ticks,
        arrivals,
        stats: buffer.stats(),
    }
}

pub(super) fn at(micros: i64) -> Time {
    Time::ZERO + Duration::from_micros(u64::try_from(micros).unwrap())
}

impl Run {
    /// Frame indices played (decoded from a packet), in tick order.
    pub fn played(&self) -> Vec<u32> {
        self.ticks
            .iter()
            .filter_map(|(_, out, _, _)| match out {
                Out::Frame(index) => Some(*index),
                _ => None,
            })
            .collect()
    }

    /// Late packets as a share of first arrivals after `from_s`.
    pub fn late_fraction_after(&self, from_s: f64) -> f64 {
        let from = (from_s * 1e6) as i64;
        let counted: Vec<&Arrival> = self
            .arrivals
            .iter()
            .filter(|(at, outcome)| *at >= from && *outcome != Arrival::Duplicate)
            .map(|(_, outcome)| outcome)
            .collect();
        let late = counted
            .iter()
            .filter(|outcome| ***outcome == Arrival::Late)
            .count();
        late as f64 / counted.len().max(1) as f64
    }

    /// Mean and largest current delay (ms) over ticks in [from_s, to_s)
    /// that played a frame.
    pub fn delay_ms(&self, from_s: f64, to_s: f64) -> (f64, f64) {
        let delays: Vec<f64> = self
            .ticks
            .iter()
            .filter(|(at, out, _, _)| {
                *at >= (from_s * 1e6) as i64
                    && *at < (to_s * 1e6) as i64
                    && matches!(out, Out::Frame(_))
            })
            .map(|(_, _, delay, _)| delay.as_secs_f64() * 1e3)
            .collect();
        let mean = delays.iter().sum::<f64>() / delays.len().max(1) as f64;
        let max = delays.iter().copied().fold(0.0, f64::max);
        (mean, max)
    }

    /// Ticks before `to_s` whose output is `wanted`.
    pub fn count_before(&self, to_s: f64, wanted: fn(&Out) -> bool) -> usize {
        self.ticks
            .iter()
            .filter(|(at, out, _, _)| *at < (to_s * 1e6) as i64 && wanted(out))
            .count()
    }

    /// Checks the invariants every run must keep: frames in sender order,
    /// each at most once; an FEC payload is always the frame played next.
    pub fn assert_invariants(&self) {
        let played = self.played();
        assert!(
            played.windows(2).all(|pair| pair[0] < pair[1]),
            "frames out of order or repeated"
        );
        for pair in self.ticks.windows(2) {
            if let (Out::Fec(next), following) = (pair[0].1, pair[1].1) {
                assert!(
                    matches!(following, Out::Frame(index) if index >= next),
                    "FEC from {next} then {following:?}"
                );
            }
        }
    }
}
