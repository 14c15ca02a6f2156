//! CPU cost of the audio path per 20 ms frame: Opus encode and decode at
//! complexity 0, 5 and 10 (the rest of `OpusConfig::default()`: 32 kb/s VBR,
//! in-band FEC, 5% expected loss), PCMU encode and decode including the
//! 48 <-> 8 kHz resampling, and one `MediaSession::tick` (encode, RTP write,
//! RTP parse, jitter push and pop, decode) for each codec.
//!
//! The input is a deterministic speech-like signal: a gliding glottal pitch
//! with formant-weighted harmonics, a syllabic envelope, fricative noise
//! between syllables and pauses, so that the encoders do the work they do
//! on a voice rather than on a steady tone. Each benchmark cycles through
//! the same few seconds frame by frame, keeping codec state across frames
//! as a call does.
//!
//!   cargo bench --bench codec -- --warm-up-time 1 --measurement-time 3
//!
//! The time per iteration is the time per frame; a frame is 20 ms of audio,
//! so 200 µs is 1% of one core per stream.

use std::f64::consts::TAU;
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

use confab::media::codec::{AudioDecoder, Codec, OpusConfig};
use confab::media::session::MediaSession;
use confab::media::{FRAME_SAMPLES, Frame, SAMPLE_RATE, SILENCE};
use confab::proto::Time;
use confab::proto::sdp::{AudioCodec, CodecChoice, Direction, NegotiatedAudio};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// Four seconds of input: long enough to hold voiced, unvoiced and silent
/// stretches in realistic proportions.
const FRAMES: usize = 200;
const TICK: Duration = Duration::from_millis(20);

/// A cheap, seeded noise source (xorshift64), so every run encodes the
/// same samples.
struct Noise(u64);

impl Noise {
    /// Uniform in [-1, 1).
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// The gain of a harmonic at `hz`: two vowel-like formants over a falling
/// spectral tilt.
fn formants(hz: f64) -> f64 {
    let peak = |centre: f64, width: f64| 1.0 / (1.0 + ((hz - centre) / width).powi(2));
    (peak(650.0, 120.0) + 0.6 * peak(1_300.0, 180.0) + 0.25 * peak(2_600.0, 250.0))
        / (1.0 + hz / 1_000.0)
}

fn speech_like(frames: usize) -> Vec<Frame> {
    let rate = f64::from(SAMPLE_RATE);
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut phase = 0.0_f64;
    let mut previous_noise = 0.0;
    let mut out = vec![SILENCE; frames];
    for (n, sample) in out.iter_mut().flatten().enumerate() {
        let t = n as f64 / rate;
        // Pitch glides between about 105 and 175 Hz, as an intonation does.
        let f0 = 140.0 + 35.0 * (TAU * 0.6 * t).sin();
        phase = (phase + f0 / rate).fract();
        let mut voiced = 0.0;
        let mut k = 1.0;
        while k * f0 < 4_000.0 {
            voiced += formants(k * f0) * (TAU * k * phase).sin();
            k += 1.0;
        }
        // Four syllables a second: voiced on the positive half-wave, a
        // fricative (high-passed noise) at the trough.
        let syllable = (TAU * 4.0 * t).sin();
        let voiced_gain = syllable.max(0.0).powi(2);
        let fricative_gain = ((-syllable - 0.6) / 0.4).max(0.0);
        let white = noise.next();
        let fricative = white - previous_noise;
        previous_noise = white;
        // A half-second pause every two and a half seconds, with a faint
        // noise floor rather than digital silence.
        let talking = if t % 2.5 < 2.0 { 1.0 } else { 0.0 };
        let value = talking * (0.45 * voiced_gain * voiced + 0.08 * fricative_gain * fricative)
            + 0.002 * white;
        *sample = (value * 32_767.0).clamp(-32_768.0, 32_767.0) as i16;
    }
    out
}

fn encode_all(codec: Codec, config: &OpusConfig, input: &[Frame]) -> Vec<Vec<u8>> {
    let mut encoder = codec.encoder(config).expect("encoder");
    input
        .iter()
        .map(|frame| {
            let mut payload = Vec::new();
            encoder.encode(frame, &mut payload).expect("encode");
            payload
        })
        .collect()
}

fn bench_encode(
    c: &mut Criterion,
    group: &str,
    codec: Codec,
    config: &OpusConfig,
    id: BenchmarkId,
) {
    let input = speech_like(FRAMES);
    let mut encoder = codec.encoder(config).expect("encoder");
    let mut payload = Vec::with_capacity(1500);
    let mut frames = input.iter().cycle();
    c.benchmark_group(group).bench_function(id, |b| {
        b.iter(|| {
            let frame = frames.next().expect("cycle never ends");
            encoder
                .encode(black_box(frame), &mut payload)
                .expect("encode");
            black_box(payload.len())
        });
    });
}

fn bench_decode(
    c: &mut Criterion,
    group: &str,
    codec: Codec,
    config: &OpusConfig,
    id: BenchmarkId,
) {
    let payloads = encode_all(codec, config, &speech_like(FRAMES));
    let mut decoder: Box<dyn AudioDecoder> = codec.decoder().expect("decoder");
    let mut out = SILENCE;
    let mut next = payloads.iter().cycle();
    c.benchmark_group(group).bench_function(id, |b| {
        b.iter(|| {
            let payload = next.next().expect("cycle never ends");
            decoder
                .decode(black_box(payload), &mut out)
                .expect("decode");
            black_box(out[FRAME_SAMPLES / 2])
        });
    });
}

fn opus(c: &mut Criterion) {
    for complexity in [0, 5, 10] {
        let config = OpusConfig {
            complexity,
            ..OpusConfig::default()
        };
        let payloads = encode_all(Codec::Opus, &config, &speech_like(FRAMES));
        let bytes: usize = payloads.iter().map(Vec::len).sum();
        eprintln!(
            "opus complexity {complexity}: {:.1} bytes per frame ({:.1} kb/s) on this input",
            bytes as f64 / payloads.len() as f64,
            bytes as f64 * 8.0 / (payloads.len() as f64 * 20.0),
        );
        bench_encode(
            c,
            "opus",
            Codec::Opus,
            &config,
            BenchmarkId::new("encode", complexity),
        );
        bench_decode(
            c,
            "opus",
            Codec::Opus,
            &config,
            BenchmarkId::new("decode", complexity),
        );
    }
}

fn pcmu(c: &mut Criterion) {
    let config = OpusConfig::default();
    bench_encode(
        c,
        "pcmu",
        Codec::Pcmu,
        &config,
        BenchmarkId::from_parameter("encode"),
    );
    bench_decode(
        c,
        "pcmu",
        Codec::Pcmu,
        &config,
        BenchmarkId::from_parameter("decode"),
    );
}

fn negotiated(codec: AudioCodec) -> NegotiatedAudio {
    // Never used as an address: the bench feeds each datagram straight back.
    let remote: SocketAddr = "127.0.0.1:40000".parse().expect("address");
    NegotiatedAudio {
        remote,
        remote_rtcp: SocketAddr::new(remote.ip(), remote.port() + 1),
        codec: CodecChoice {
            codec,
            payload_type: codec.payload_type(),
            clock_rate: codec.clock_rate(),
            channels: codec.channels(),
            fmtp: codec.local_fmtp().map(str::to_owned),
        },
        telephone_event: None,
        direction: Direction::SendRecv,
        remote_ptime: Some(20),
        csrc_audio_level: None,
    }
}

/// One session talking to itself: what it sends on a tick comes back as
/// the packet it receives, so every tick after the jitter buffer's initial
/// delay encodes one frame and decodes one.
fn session(c: &mut Criterion) {
    let input = speech_like(FRAMES);
    for (name, codec) in [("opus", AudioCodec::Opus), ("pcmu", AudioCodec::Pcmu)] {
        let mut session = MediaSession::new(negotiated(codec), 1).expect("session");
        let mut now = Time::ZERO;
        let mut speaker = SILENCE;
        let mut frames = input.iter().cycle();
        let mut tick = |session: &mut MediaSession, now: &mut Time, speaker: &mut Frame| {
            let microphone = frames.next().expect("cycle never ends");
            session.tick(*now, black_box(microphone), speaker);
            while let Some((_, datagram)) = session.poll_transmit() {
                session.handle_packet(*now, &datagram);
            }
            *now += TICK;
        };
        // The measured ticks must be the steady state: decoding packets,
        // not concealing.
        for _ in 0..100 {
            tick(&mut session, &mut now, &mut speaker);
        }
        let jitter = session.stats().jitter;
        assert!(
            jitter.played >= 95 && jitter.concealed == 0 && jitter.late == 0,
            "{name}: the looped session does not play its packets: {jitter:?}"
        );
        c.benchmark_group("session")
            .bench_function(BenchmarkId::new("tick", name), |b| {
                b.iter(|| {
                    tick(&mut session, &mut now, &mut speaker);
                    black_box(speaker[FRAME_SAMPLES / 2])
                });
            });
    }
}

criterion_group!(benches, opus, pcmu, session);
criterion_main!(benches);
