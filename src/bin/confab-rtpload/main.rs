//! confab-rtpload: the RTP load generator of benches/peers/bridge.sh. It
//! joins plain-RTP Opus participants to one conference on a bridge (confab
//! by SIP, Janus AudioBridge by its HTTP API), sends every participant's
//! 20 ms frames and reads every mix, and measures one of:
//!
//! - `capacity`: the most participants the bridge serves with no late
//!   frames (`measure` says what late is; a share of late frames up to
//!   `--tolerance` passes, for the noise of a shared machine). The count
//!   doubles from `--start` until a window fails, then is bisected; 3 of
//!   the participants talk (a speech-like voice each), the others send a
//!   quiet room's noise floor.
//! - `delay`: the bridge's transit delay. One participant sends silence
//!   and a tone burst every half second, each packet held back by a random
//!   0 to `--jitter-ms` (uniform, so that with 20 ms between packets they
//!   never overtake one another); another decodes its mix and finds each
//!   burst's onset. The delay of an impulse is the onset's arrival (the
//!   packet's arrival plus the onset's place in it) less the impulse's
//!   place in what was sent, timed when its packet would have left with no
//!   jitter. It includes the bridge's Opus re-encoding but not ours.
//!
//! The result is one JSON object on stdout; progress goes to stderr.

mod cpu;
mod janus;
mod measure;
mod media;
mod signal;
mod sip;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::janus::JanusBridge;
use crate::media::{Command, Media, NewParticipant, Role, WindowReport};
use crate::signal::Signals;
use crate::sip::ConfabBridge;

#[derive(Parser)]
#[command(version, about = "RTP load generator for conference bridges")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// The most participants served with no late frames.
    Capacity(CapacityArgs),
    /// The transit delay of impulses through the bridge.
    Delay(DelayArgs),
}

#[derive(Args)]
struct BridgeArgs {
    #[arg(long, value_enum)]
    bridge: BridgeKind,
    /// confab: the server's SIP address (loopback).
    #[arg(long, default_value = "127.0.0.1:5080")]
    sip: SocketAddr,
    #[arg(long, default_value = "confab.local")]
    domain: String,
    /// confab: participant N signs in as PREFIX followed by N in 4 digits
    /// (password = user name); PREFIX0000 creates the conference.
    #[arg(long, default_value = "user")]
    user_prefix: String,
    /// Janus: the HTTP API's URL (loopback).
    #[arg(long, default_value = "http://127.0.0.1:8088/janus")]
    janus: String,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BridgeKind {
    Confab,
    Janus,
}

#[derive(Args)]
struct CapacityArgs {
    #[command(flatten)]
    bridge: BridgeArgs,
    #[arg(long, default_value_t = 16)]
    start: usize,
    #[arg(long, default_value_t = 4096)]
    max: usize,
    /// Seconds after each change of the count before the window.
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// Seconds of each measurement window.
    #[arg(long, default_value_t = 4.0)]
    window: f64,
    #[arg(long, default_value_t = 3)]
    talkers: usize,
    /// The share of late frames a window may have and pass.
    #[arg(long, default_value_t = 0.001)]
    tolerance: f64,
    /// Bisection stops when the bounds are this share of the lower apart.
    #[arg(long, default_value_t = 0.1)]
    resolution: f64,
    /// The bridge's process: its CPU time (and its descendants', every
    /// thread) over each window is reported.
    #[arg(long)]
    cpu_of: Option<u32>,
}

#[derive(Args)]
struct DelayArgs {
    #[command(flatten)]
    bridge: BridgeArgs,
    #[arg(long, default_value_t = 20)]
    participants: usize,
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Seconds measured, after the settling time.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    #[arg(long, default_value_t = 3.0)]
    settle: f64,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let result = match cli.mode {
        Mode::Capacity(args) => capacity(&args)?,
        Mode::Delay(args) => delay(&args)?,
    };
    println!("{result}");
    Ok(())
}

/// A bridge and the participants in its conference.
struct Conference {
    bridge: Bridge,
    media: Media,
    /// In the order they joined.
    participants: Vec<u64>,
    next_id: u64,
    /// Ids of participants who left, taken again first (lowest first), so
    /// that a ramp up and down stays within the users the bridge knows.
    free_ids: Vec<u64>,
    role_of: Box<dyn Fn(u64) -> Role>,
}

enum Bridge {
    Confab {
        bridge: Box<ConfabBridge>,
        user_prefix: String,
    },
    Janus(JanusBridge),
}

impl Bridge {
    fn connect(args: &BridgeArgs) -> Result<(Bridge, IpAddr, u8)> {
        Ok(match args.bridge {
            BridgeKind::Confab => {
                let creator = format!("{}{:04}", args.user_prefix, 0);
                let bridge = ConfabBridge::connect(args.sip, &args.domain, &creator)?;
                eprintln!("confab conference {}", bridge.focus());
                let ip = args.sip.ip();
                let payload_type = confab::proto::sdp::AudioCodec::Opus.payload_type();
                let bridge = Bridge::Confab {
                    bridge: Box::new(bridge),
                    user_prefix: args.user_prefix.clone(),
                };
                (bridge, ip, payload_type)
            }
            BridgeKind::Janus => {
                let bridge = JanusBridge::connect(&args.janus)?;
                (
                    Bridge::Janus(bridge),
                    IpAddr::V4(Ipv4Addr::LOCALHOST),
                    janus::PAYLOAD_TYPE,
                )
            }
        })
    }

    fn join(&mut self, joins: &[(u64, SocketAddr)]) -> Result<Vec<SocketAddr>> {
        match self {
            Bridge::Confab {
                bridge,
                user_prefix,
            } => {
                let joins: Vec<_> = joins
                    .iter()
                    .map(|&(id, rtp)| (id, format!("{user_prefix}{id:04}"), rtp))
                    .collect();
                bridge.join_many(&joins)
            }
            Bridge::Janus(bridge) => bridge.join_many(joins),
        }
    }

    fn leave(&mut self, ids: &[u64]) -> Result<()> {
        match self {
            Bridge::Confab { bridge, .. } => bridge.leave_many(ids),
            Bridge::Janus(bridge) => bridge.leave_many(ids),
        }
    }
}

struct Setup {
    ip: IpAddr,
    payload_type: u8,
}

impl Conference {
    fn open(
        args: &BridgeArgs,
        signals: Arc<Signals>,
        jitter: Duration,
        role_of: Box<dyn Fn(u64) -> Role>,
    ) -> Result<(Conference, Setup)> {
        let (bridge, ip, payload_type) = Bridge::connect(args)?;
        let media = Media::spawn(signals, jitter)?;
        Ok((
            Conference {
                bridge,
                media,
                participants: Vec::new(),
                next_id: 1,
                free_ids: Vec::new(),
                role_of,
            },
            Setup { ip, payload_type },
        ))
    }

    /// Joins or hangs up participants until there are `count`.
    fn resize(&mut self, setup: &Setup, count: usize) -> Result<()> {
        if count < self.participants.len() {
            let leaving = self.participants.split_off(count);
            for &id in &leaving {
                self.media.send(Command::Remove(id))?;
            }
            self.bridge.leave(&leaving)?;
            self.free_ids.extend(leaving);
            self.free_ids.sort_unstable_by(|a, b| b.cmp(a));
            return Ok(());
        }
        let mut sockets = Vec::new();
        let mut joins = Vec::new();
        for _ in self.participants.len()..count {
            let id = self.free_ids.pop().unwrap_or_else(|| {
                self.next_id += 1;
                self.next_id - 1
            });
            let socket = UdpSocket::bind(SocketAddr::new(setup.ip, 0))
                .context("a participant's RTP socket")?;
            joins.push((id, socket.local_addr()?));
            sockets.push(socket);
        }
        let remotes = self.bridge.join(&joins)?;
        for ((socket, (id, _)), bridge) in sockets.into_iter().zip(joins).zip(remotes) {
            self.media.send(Command::Add(NewParticipant {
                id,
                socket,
                bridge,
                payload_type: setup.payload_type,
                role: (self.role_of)(id),
            }))?;
            self.participants.push(id);
        }
        Ok(())
    }
}

fn window_json(count: usize, report: &WindowReport, pass: bool) -> Value {
    json!({
        "participants": count,
        "pass": pass,
        "late": report.late,
        "expected": report.expected,
        "late_share": share(report),
        "streams_with_late": report.streams_with_late,
        "worst_ms": round(report.worst_ms),
        "received": report.received,
        "seconds": round(report.seconds),
        "generator_slip_p99_ms": round(report.slip_p99_ms),
        "generator_slip_max_ms": round(report.slip_max_ms),
        "send_errors": report.send_errors,
    })
}

fn share(report: &WindowReport) -> f64 {
    if report.expected == 0 {
        1.0
    } else {
        report.late as f64 / report.expected as f64
    }
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The generator cannot keep its own schedule: its figures are its own
/// limit, not the bridge's.
const GENERATOR_SLIP_MS: f64 = 5.0;

fn capacity(args: &CapacityArgs) -> Result<Value> {
    if args.start == 0 || args.max < args.start {
        bail!("--start must be at least 1 and at most --max");
    }
    let talkers = args.talkers;
    let signals = Arc::new(Signals::new(talkers)?);
    let role_of = Box::new(move |id: u64| {
        let index = (id - 1) as usize;
        if index < talkers {
            Role::Talker(index)
        } else {
            Role::Quiet
        }
    });
    let (mut conference, setup) = Conference::open(&args.bridge, signals, Duration::ZERO, role_of)?;
    let mut steps = Vec::new();
    let mut generator_limited = false;
    let mut measure = |conference: &mut Conference, count: usize| -> Result<bool> {
        conference.resize(&setup, count)?;
        std::thread::sleep(Duration::from_secs_f64(args.settle));
        let before = args.cpu_of.and_then(cpu::seconds);
        let report = conference.media.window(args.window)?;
        let after = args.cpu_of.and_then(cpu::seconds);
        let pass = report.participants == count && share(&report) <= args.tolerance;
        if report.slip_p99_ms > GENERATOR_SLIP_MS {
            generator_limited = true;
        }
        eprintln!(
            "  {count} participants: {} of {} frames late ({:.4}%), worst {:.1} ms, generator slip p99 {:.1} ms: {}",
            report.late,
            report.expected,
            share(&report) * 100.0,
            report.worst_ms,
            report.slip_p99_ms,
            if pass { "pass" } else { "FAIL" },
        );
        let mut step = window_json(count, &report, pass);
        if let (Some(before), Some(after)) = (before, after) {
            let share = (after - before) / report.seconds.max(1e-9);
            step["bridge_cpu_share"] = json!(round(share * 1000.0) / 1000.0);
            // µs of the bridge's CPU per participant per 20 ms frame.
            let frames = report.seconds * 50.0 * count as f64;
            step["bridge_cpu_us_per_participant_frame"] =
                json!(round((after - before) * 1e6 / frames.max(1.0)));
        }
        steps.push(step);
        Ok(pass)
    };
    let mut lower = 0;
    let mut upper = None;
    let mut count = args.start;
    let mut stopped = None;
    loop {
        match measure(&mut conference, count) {
            Ok(true) => lower = count,
            Ok(false) => {
                upper = Some(count);
                break;
            }
            Err(error) => {
                stopped = Some(format!("{error:#}"));
                break;
            }
        }
        if count >= args.max {
            break;
        }
        count = (count * 2).min(args.max);
    }
    while let (Some(high), None) = (upper, &stopped) {
        let gap = ((lower as f64 * args.resolution).ceil() as usize).max(1);
        if high - lower <= gap {
            break;
        }
        let middle = (lower + high) / 2;
        match measure(&mut conference, middle) {
            Ok(true) => lower = middle,
            Ok(false) => upper = Some(middle),
            Err(error) => stopped = Some(format!("{error:#}")),
        }
    }
    let _ = conference.resize(&setup, 0);
    conference.media.stop()?;
    let limit = match (&stopped, upper) {
        (Some(error), _) => format!("stopped: {error}"),
        (None, Some(_)) => "late frames".to_owned(),
        (None, None) => "the ramp's maximum".to_owned(),
    };
    Ok(json!({
        "mode": "capacity",
        "capacity": lower,
        "first_failing": upper,
        "limit": limit,
        "generator_limited": generator_limited,
        "tolerance": args.tolerance,
        "steps": steps,
    }))
}

/// Onsets later than this after an impulse are not its (impulses come
/// every second).
const MAX_DELAY_US: i64 = 950_000;

fn delay(args: &DelayArgs) -> Result<Value> {
    if args.participants < 2 {
        bail!("the delay needs at least 2 participants: a clicker and a listener");
    }
    let signals = Arc::new(Signals::new(0)?);
    let role_of = Box::new(|id: u64| match id {
        1 => Role::Clicker,
        2 => Role::Listener,
        _ => Role::Quiet,
    });
    let jitter = Duration::from_millis(args.jitter_ms);
    let (mut conference, setup) = Conference::open(&args.bridge, signals, jitter, role_of)?;
    conference.resize(&setup, args.participants)?;
    std::thread::sleep(Duration::from_secs_f64(args.settle));
    let from = conference.media.delays()?;
    let report = conference.media.window(args.seconds)?;
    let to = conference.media.delays()?;
    let _ = conference.resize(&setup, 0);
    conference.media.stop()?;
    // Impulses sent in the measured span, and what was heard of them.
    let start = from.impulses.len();
    let impulses: Vec<i64> = to.impulses.get(start..).unwrap_or_default().to_vec();
    let first = impulses.first().copied().unwrap_or(i64::MAX);
    let onsets: Vec<i64> = to
        .onsets
        .iter()
        .copied()
        .filter(|&onset| onset >= first)
        .collect();
    let delays = measure::match_onsets(&impulses, &onsets, MAX_DELAY_US);
    let millis: Vec<f64> = delays.iter().map(|&us| us as f64 / 1000.0).collect();
    let quantile = |q| measure::quantile(&millis, q).map(round);
    Ok(json!({
        "mode": "delay",
        "participants": args.participants,
        "jitter_ms": args.jitter_ms,
        "impulses": impulses.len(),
        "heard": delays.len(),
        "median_ms": quantile(0.5),
        "p10_ms": quantile(0.1),
        "p90_ms": quantile(0.9),
        "min_ms": quantile(0.0),
        "max_ms": quantile(1.0),
        "late_share": share(&report),
        "delays_ms": millis.iter().map(|&m| round(m)).collect::<Vec<_>>(),
    }))
}
