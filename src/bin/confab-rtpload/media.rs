//! The participants' RTP, on one thread: every participant's 20 ms frame
//! goes out on its own schedule (the participants' phases spread evenly
//! over the 20 ms, as independent phones' would be), and every mix that
//! comes back is timestamped as it is read. One socket per participant,
//! all polled together (mio: one readiness wait for thousands of
//! sockets), and payloads encoded before the run, so the generator's own
//! CPU per packet is a send or a receive and a header.
//!
//! During a measurement window every packet's arrival is kept, and the
//! window's end turns them into late-frame counts (`measure::lateness`).
//! For the transit delay the clicker's impulses are stamped as they are
//! sent (before any jitter is added) and the listener decodes its mix and
//! stamps each onset.

use std::collections::{HashMap, VecDeque};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use confab::media::codec::{AudioDecoder, Codec};
use confab::media::{FRAME_SAMPLES, SAMPLE_RATE, SILENCE};
use confab::proto::rtp;
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};
use rand::Rng;

use crate::measure::{self, Arrival, FRAME_US, Lateness, OnsetDetector};
use crate::signal::{IMPULSE_PERIOD, NOISE_STREAMS, ONSET_QUIET, ONSET_THRESHOLD, Signals};

const WAKER: Token = Token(usize::MAX);
/// Send slots: each participant sends in one of the 20 milliseconds of a
/// frame.
const SLOTS: usize = 20;
const SLOT: Duration = Duration::from_millis(1);
/// A frame later than this behind its due time is late.
pub const LATE_AFTER_US: i64 = FRAME_US;

/// What a participant sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A speech-like voice (the n-th).
    Talker(usize),
    /// A quiet room's noise floor.
    Quiet,
    /// Silence and an impulse every second, sent with jitter.
    Clicker,
    /// A noise floor; decodes its mix and finds the impulses in it.
    Listener,
}

pub struct NewParticipant {
    pub id: u64,
    pub socket: std::net::UdpSocket,
    /// Where its RTP goes on the bridge.
    pub bridge: SocketAddr,
    pub payload_type: u8,
    pub role: Role,
}

pub enum Command {
    Add(NewParticipant),
    Remove(u64),
    StartWindow,
    EndWindow(mpsc::Sender<WindowReport>),
    Delays(mpsc::Sender<DelayReport>),
    Stop,
}

/// How every participant's mix fared over one window.
#[derive(Clone, Debug, Default)]
pub struct WindowReport {
    pub participants: usize,
    pub seconds: f64,
    pub expected: u64,
    pub late: u64,
    /// Participants with at least one late frame.
    pub streams_with_late: usize,
    /// The most any frame arrived behind its due time.
    pub worst_ms: f64,
    pub received: u64,
    /// How far the generator's own sending fell behind its schedule: the
    /// 99th percentile and the worst, in ms.
    pub slip_p99_ms: f64,
    pub slip_max_ms: f64,
    pub send_errors: u64,
}

/// The clicker's impulses and the listener's onsets, µs since the epoch.
#[derive(Clone, Debug, Default)]
pub struct DelayReport {
    pub impulses: Vec<i64>,
    pub onsets: Vec<i64>,
}

pub struct Media {
    commands: mpsc::Sender<Command>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl Media {
    /// Starts the media thread; `jitter` holds each of the clicker's
    /// packets back by a random 0 to `jitter`.
    pub fn spawn(signals: Arc<Signals>, jitter: Duration) -> Result<Media> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (commands, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("media".into())
            .spawn(move || MediaLoop::new(poll, receiver, signals, jitter).run())?;
        Ok(Media {
            commands,
            waker,
            thread: Some(thread),
        })
    }

    pub fn send(&self, command: Command) -> Result<()> {
        self.commands
            .send(command)
            .ok()
            .context("the media thread has stopped")?;
        self.waker.wake()?;
        Ok(())
    }

    pub fn window(&self, seconds: f64) -> Result<WindowReport> {
        self.send(Command::StartWindow)?;
        std::thread::sleep(Duration::from_secs_f64(seconds));
        let (tx, rx) = mpsc::channel();
        self.send(Command::EndWindow(tx))?;
        rx.recv_timeout(Duration::from_secs(30))
            .context("no window report from the media thread")
    }

    pub fn delays(&self) -> Result<DelayReport> {
        let (tx, rx) = mpsc::channel();
        self.send(Command::Delays(tx))?;
        rx.recv_timeout(Duration::from_secs(10))
            .context("no delay report from the media thread")
    }

    pub fn stop(mut self) -> Result<()> {
        let _ = self.send(Command::Stop);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => anyhow::bail!("the media thread panicked"),
            None => Ok(()),
        }
    }
}

struct Participant {
    id: u64,
    socket: UdpSocket,
    bridge: SocketAddr,
    payload_type: u8,
    role: Role,
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    frame: usize,
    slot: usize,
    arrivals: Vec<Arrival>,
    listener: Option<Listener>,
}

struct Listener {
    decoder: Box<dyn AudioDecoder>,
    detector: OnsetDetector,
    last_sequence: Option<u16>,
}

struct MediaLoop {
    poll: Poll,
    commands: mpsc::Receiver<Command>,
    signals: Arc<Signals>,
    jitter: Duration,
    epoch: Instant,
    participants: Vec<Option<Participant>>,
    by_id: HashMap<u64, usize>,
    slots: Vec<Vec<usize>>,
    /// The clicker's packets held back for jitter: when, to where, what.
    held: VecDeque<(Instant, usize, Vec<u8>)>,
    window: Option<Instant>,
    slips: Vec<i64>,
    send_errors: u64,
    impulses: Vec<i64>,
    onsets: Vec<i64>,
    datagram: Vec<u8>,
    buffer: Vec<u8>,
}

impl MediaLoop {
    fn new(
        poll: Poll,
        commands: mpsc::Receiver<Command>,
        signals: Arc<Signals>,
        jitter: Duration,
    ) -> MediaLoop {
        MediaLoop {
            poll,
            commands,
            signals,
            jitter,
            epoch: Instant::now(),
            participants: Vec::new(),
            by_id: HashMap::new(),
            slots: vec![Vec::new(); SLOTS],
            held: VecDeque::new(),
            window: None,
            slips: Vec::new(),
            send_errors: 0,
            impulses: Vec::new(),
            onsets: Vec::new(),
            datagram: Vec::with_capacity(1500),
            buffer: vec![0; 2048],
        }
    }

    fn micros(&self, at: Instant) -> i64 {
        i64::try_from(at.duration_since(self.epoch).as_micros()).unwrap_or(i64::MAX)
    }

    fn run(mut self) -> Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut slot_index: u64 = 0;
        let mut next_slot = self.epoch;
        loop {
            let mut due = next_slot;
            if let Some((held, _, _)) = self.held.front() {
                due = due.min(*held);
            }
            let timeout = due.saturating_duration_since(Instant::now());
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(error) => return Err(error.into()),
            }
            for event in &events {
                if event.token() == WAKER {
                    if !self.handle_commands()? {
                        return Ok(());
                    }
                } else {
                    self.receive(event.token().0);
                }
            }
            let now = Instant::now();
            while next_slot <= now {
                let slot = (slot_index % SLOTS as u64) as usize;
                let late = self.micros(now) - self.micros(next_slot);
                if self.window.is_some() {
                    self.slips.push(late);
                }
                self.send_slot(slot, now);
                slot_index += 1;
                next_slot += SLOT;
            }
            while self.held.front().is_some_and(|(at, _, _)| *at <= now) {
                if let Some((_, index, datagram)) = self.held.pop_front() {
                    self.transmit(index, &datagram);
                }
            }
        }
    }

    /// False once told to stop.
    fn handle_commands(&mut self) -> Result<bool> {
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Add(new) => self.add(new)?,
                Command::Remove(id) => self.remove(id),
                Command::StartWindow => {
                    for participant in self.participants.iter_mut().flatten() {
                        participant.arrivals.clear();
                    }
                    self.slips.clear();
                    self.send_errors = 0;
                    self.window = Some(Instant::now());
                }
                Command::EndWindow(reply) => {
                    let _ = reply.send(self.report());
                    self.window = None;
                }
                Command::Delays(reply) => {
                    let _ = reply.send(DelayReport {
                        impulses: self.impulses.clone(),
                        onsets: self.onsets.clone(),
                    });
                }
                Command::Stop => return Ok(false),
            }
        }
        Ok(true)
    }

    fn add(&mut self, new: NewParticipant) -> Result<()> {
        new.socket.set_nonblocking(true)?;
        let mut socket = UdpSocket::from_std(new.socket);
        let index = match self.participants.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                self.participants.push(None);
                self.participants.len() - 1
            }
        };
        self.poll
            .registry()
            .register(&mut socket, Token(index), Interest::READABLE)?;
        let mut rng = rand::rng();
        let listener = match new.role {
            Role::Listener => Some(Listener {
                decoder: Codec::Opus.decoder()?,
                detector: OnsetDetector::new(ONSET_THRESHOLD, ONSET_QUIET),
                last_sequence: None,
            }),
            _ => None,
        };
        // Spread evenly: consecutive participants 7 ms apart (7 and 20
        // share no factor, so every slot fills in turn).
        let slot = (new.id as usize * 7) % SLOTS;
        if let Some(entry) = self.slots.get_mut(slot) {
            entry.push(index);
        }
        self.by_id.insert(new.id, index);
        if let Some(place) = self.participants.get_mut(index) {
            *place = Some(Participant {
                id: new.id,
                socket,
                bridge: new.bridge,
                payload_type: new.payload_type,
                role: new.role,
                ssrc: rng.random(),
                sequence: rng.random(),
                timestamp: rng.random(),
                frame: 0,
                slot,
                arrivals: Vec::with_capacity(600),
                listener,
            });
        }
        Ok(())
    }

    fn remove(&mut self, id: u64) {
        let Some(index) = self.by_id.remove(&id) else {
            return;
        };
        if let Some(mut participant) = self.participants.get_mut(index).and_then(Option::take) {
            let _ = self.poll.registry().deregister(&mut participant.socket);
            if let Some(slot) = self.slots.get_mut(participant.slot) {
                slot.retain(|&other| other != index);
            }
        }
        self.held.retain(|(_, held, _)| *held != index);
    }

    /// Every participant of `slot` sends its next frame.
    fn send_slot(&mut self, slot: usize, now: Instant) {
        let count = self.slots.get(slot).map_or(0, Vec::len);
        for position in 0..count {
            let Some(&index) = self.slots.get(slot).and_then(|s| s.get(position)) else {
                continue;
            };
            let now_us = self.micros(now);
            let Some(participant) = self.participants.get_mut(index).and_then(Option::as_mut)
            else {
                continue;
            };
            let signals = &self.signals;
            let payload = match participant.role {
                Role::Talker(n) => signals
                    .voices
                    .get(n)
                    .and_then(|voice| voice.get((participant.frame + n * 37) % voice.len().max(1))),
                Role::Quiet | Role::Listener => {
                    let stream = participant.id as usize % NOISE_STREAMS;
                    signals
                        .noise
                        .get(stream)
                        .and_then(|noise| noise.get(participant.frame % noise.len().max(1)))
                }
                Role::Clicker => {
                    let frame = participant.frame % IMPULSE_PERIOD;
                    let (onset_frame, onset_sample) = signals.click_onset;
                    if frame == onset_frame {
                        let offset = onset_sample as i64 * 1_000_000 / i64::from(SAMPLE_RATE);
                        self.impulses.push(now_us + offset);
                    }
                    signals.clicks.get(frame)
                }
            };
            let Some(payload) = payload else { continue };
            self.datagram.clear();
            let header = rtp::RtpHeader {
                payload_type: participant.payload_type & 0x7f,
                sequence: participant.sequence,
                timestamp: participant.timestamp,
                ssrc: participant.ssrc,
                ..Default::default()
            };
            // No CSRCs, no extension and a 7-bit payload type: nothing
            // for the writer to refuse.
            if rtp::write(&header, payload, &mut self.datagram).is_err() {
                continue;
            }
            participant.sequence = participant.sequence.wrapping_add(1);
            participant.timestamp = participant.timestamp.wrapping_add(FRAME_SAMPLES as u32);
            participant.frame = participant.frame.wrapping_add(1);
            if participant.role == Role::Clicker && !self.jitter.is_zero() {
                let delay = self.jitter.mul_f64(rand::rng().random::<f64>());
                self.held
                    .push_back((now + delay, index, self.datagram.clone()));
                continue;
            }
            if participant
                .socket
                .send_to(&self.datagram, participant.bridge)
                .is_err()
            {
                self.send_errors += 1;
            }
        }
    }

    fn transmit(&mut self, index: usize, datagram: &[u8]) {
        let Some(participant) = self.participants.get(index).and_then(Option::as_ref) else {
            return;
        };
        if participant
            .socket
            .send_to(datagram, participant.bridge)
            .is_err()
        {
            self.send_errors += 1;
        }
    }

    /// Reads everything waiting on a participant's socket.
    fn receive(&mut self, index: usize) {
        let recording = self.window.is_some();
        loop {
            let Some(participant) = self.participants.get_mut(index).and_then(Option::as_mut)
            else {
                return;
            };
            let len = match participant.socket.recv_from(&mut self.buffer) {
                Ok((len, _)) => len,
                Err(error) if error.kind() == ErrorKind::WouldBlock => return,
                Err(_) => continue,
            };
            let at_us = i64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(i64::MAX);
            let Some(bytes) = self.buffer.get(..len) else {
                continue;
            };
            if rtp::is_rtcp(bytes) {
                continue;
            }
            let Some(timestamp) = bytes
                .get(4..8)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_be_bytes)
            else {
                continue;
            };
            if recording {
                participant.arrivals.push(Arrival { at_us, timestamp });
            }
            if let Some(listener) = participant.listener.as_mut() {
                if let Some(onset) = listener.hear(bytes) {
                    let offset = onset as i64 * 1_000_000 / i64::from(SAMPLE_RATE);
                    self.onsets.push(at_us + offset);
                }
            }
        }
    }

    fn report(&self) -> WindowReport {
        let seconds = self
            .window
            .map_or(0.0, |start| start.elapsed().as_secs_f64());
        // One frame of allowance for where the window cuts the streams.
        let expected = ((seconds * 1e6 / FRAME_US as f64).round() as u64).saturating_sub(1);
        let mut report = WindowReport {
            seconds,
            send_errors: self.send_errors,
            ..WindowReport::default()
        };
        let mut worst = 0;
        for participant in self.participants.iter().flatten() {
            let Lateness {
                expected,
                late,
                worst_us,
                ..
            } = measure::lateness(&participant.arrivals, expected, LATE_AFTER_US);
            report.participants += 1;
            report.expected += expected;
            report.late += late;
            report.received += participant.arrivals.len() as u64;
            if late > 0 {
                report.streams_with_late += 1;
            }
            worst = worst.max(worst_us);
        }
        report.worst_ms = worst as f64 / 1000.0;
        let slips: Vec<f64> = self.slips.iter().map(|&us| us as f64 / 1000.0).collect();
        report.slip_p99_ms = measure::quantile(&slips, 0.99).unwrap_or(0.0);
        report.slip_max_ms = slips.iter().copied().fold(0.0, f64::max);
        report
    }
}

impl Listener {
    /// Decodes one packet of the mix; the onset in it, if any.
    fn hear(&mut self, bytes: &[u8]) -> Option<usize> {
        let packet = rtp::parse(bytes).ok()?;
        let sequence = packet.header.sequence;
        // A lost packet is a quiet gap here: it cannot make an onset.
        let gap = self
            .last_sequence
            .map_or(0, |last| sequence.wrapping_sub(last).wrapping_sub(1));
        if gap >= 0x8000 {
            return None; // older than what was heard: dropped
        }
        self.last_sequence = Some(sequence);
        for _ in 0..gap.min(5) {
            self.detector.push(&SILENCE);
        }
        let mut pcm = SILENCE;
        self.decoder.decode(packet.payload, &mut pcm).ok()?;
        self.detector.push(&pcm)
    }
}
