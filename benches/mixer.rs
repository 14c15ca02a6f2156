//! CPU per 20 ms frame of mixing one conference of 10, 100 and 1,000 Opus
//! participants of whom 3 talk, and of 100 with a third on PCMU (every
//! third participant, one of the talkers among them: a conference that
//! phones dialled into), three ways in the same run:
//!
//! - `naive`: decode every participant, and for each listener mix the
//!   other N-1 and encode on that listener's own encoder, in its codec.
//! - `mixer`: [`Mixer`], pushed every participant's packet and drained.
//! - `floor`: the codec work no N-1 mixer can avoid: decoding the 3
//!   talkers, one encode of the full mix per codec in use and one of each
//!   talker's mix without itself in its codec (4 encodes with Opus alone,
//!   5 with PCMU too), and the sums.
//!
//! The goal (the conferencing issue): at 100 participants `mixer` at least
//! 10 times cheaper than `naive`, and within 1.2 times `floor`.
//!
//! Every Opus encoder is at 32 kb/s VBR, complexity 5, FEC on
//! (`OpusConfig::default()`); PCMU is G.711 µ-law, resampled 48 <-> 8 kHz
//! by the codec layer on both sides. The input packets are encoded before
//! timing, each in its sender's codec: the talkers say a speech-like
//! signal (harmonics of a gliding pitch under a syllable envelope), the
//! others send a faint noise floor (-60 dBov, a quiet room), as real
//! microphones do rather than digital silence. One iteration is one frame;
//! 20 ms of audio, so 200 µs is 1% of a core.
//!
//!   cargo bench --bench mixer
//!
//! runs in about a minute once built; the measurement times are set below
//! rather than on the command line.

use std::hint::black_box;
use std::time::Duration;

use confab::media::codec::{AudioDecoder, AudioEncoder, Codec, OpusConfig};
use confab::media::jitter::Playout;
use confab::media::mixer::{Mixer, MixerConfig};
use confab::media::source::synthetic::{noise_floor, speech_like};
use confab::media::{FRAME_SAMPLES, Frame, SILENCE};
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};

const TALKERS: usize = 3;
/// One second of input, cycled.
const FRAMES: usize = 50;
/// Distinct noise-floor streams shared out among the quiet participants
/// (each still has its own decoder state).
const QUIET_STREAMS: usize = 4;

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

/// Who is in the conference: how many, and who is on PCMU.
#[derive(Clone, Copy)]
struct Case {
    participants: usize,
    /// Every third participant on PCMU (participant 2, a talker, first).
    mixed: bool,
}

impl Case {
    fn codec(self, who: usize) -> Codec {
        if self.mixed && who % 3 == 2 {
            Codec::Pcmu
        } else {
            Codec::Opus
        }
    }

    /// The codecs someone listens in, each once.
    fn codecs(self) -> Vec<Codec> {
        [Codec::Opus, Codec::Pcmu]
            .into_iter()
            .filter(|codec| (0..self.participants).any(|who| self.codec(who) == *codec))
            .collect()
    }

    fn name(self) -> String {
        if self.mixed {
            format!("mixer/{}-mixed", self.participants)
        } else {
            format!("mixer/{}", self.participants)
        }
    }
}

/// The packets every participant sends, frame by frame, in each codec.
struct Input {
    /// Per codec (Opus, PCMU): the talkers' streams, the quiet streams.
    talkers: [Vec<Vec<Vec<u8>>>; 2],
    quiet: [Vec<Vec<Vec<u8>>>; 2],
}

impl Input {
    fn new(config: &OpusConfig) -> Self {
        let talkers = |codec| {
            [110.0, 150.0, 210.0]
                .iter()
                .map(|pitch| encode_all(codec, config, &speech_like(*pitch, FRAMES)))
                .collect()
        };
        let quiet = |codec| {
            (0..QUIET_STREAMS as u64)
                .map(|seed| encode_all(codec, config, &noise_floor(0x9E37_79B9 + seed, FRAMES)))
                .collect()
        };
        Input {
            talkers: [talkers(Codec::Opus), talkers(Codec::Pcmu)],
            quiet: [quiet(Codec::Opus), quiet(Codec::Pcmu)],
        }
    }

    /// Participant `who`'s packet for `frame` in `codec`; the first
    /// [`TALKERS`] talk.
    fn packet(&self, who: usize, frame: usize, codec: Codec) -> &[u8] {
        let slot = usize::from(codec == Codec::Pcmu);
        let streams = if who < TALKERS {
            &self.talkers[slot][who]
        } else {
            &self.quiet[slot][who % QUIET_STREAMS]
        };
        &streams[frame % FRAMES]
    }
}

fn clip(value: i32) -> i16 {
    value.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

/// Decode everyone, mix N-1 and encode per listener.
struct Naive {
    case: Case,
    decoders: Vec<Box<dyn AudioDecoder>>,
    encoders: Vec<Box<dyn AudioEncoder>>,
    pcm: Vec<Frame>,
    sum: Vec<i32>,
    mixed: Frame,
    payload: Vec<u8>,
}

impl Naive {
    fn new(case: Case, config: &OpusConfig) -> Self {
        let participants = 0..case.participants;
        Naive {
            case,
            decoders: participants
                .clone()
                .map(|who| case.codec(who).decoder().expect("decoder"))
                .collect(),
            encoders: participants
                .map(|who| case.codec(who).encoder(config).expect("encoder"))
                .collect(),
            pcm: vec![SILENCE; case.participants],
            sum: vec![0; FRAME_SAMPLES],
            mixed: SILENCE,
            payload: Vec::with_capacity(1500),
        }
    }

    fn frame(&mut self, input: &Input, frame: usize) -> usize {
        self.sum.fill(0);
        for (who, (decoder, pcm)) in self.decoders.iter_mut().zip(&mut self.pcm).enumerate() {
            decoder
                .decode(input.packet(who, frame, self.case.codec(who)), pcm)
                .expect("decode");
            for (sum, sample) in self.sum.iter_mut().zip(pcm.iter()) {
                *sum += i32::from(*sample);
            }
        }
        let mut bytes = 0;
        for (encoder, pcm) in self.encoders.iter_mut().zip(&self.pcm) {
            for ((out, sum), own) in self.mixed.iter_mut().zip(&self.sum).zip(pcm.iter()) {
                *out = clip(*sum - i32::from(*own));
            }
            encoder
                .encode(&self.mixed, &mut self.payload)
                .expect("encode");
            bytes += black_box(self.payload.len());
        }
        bytes
    }
}

/// The least codec work: decode the talkers, encode the full mix once per
/// codec in use and each talker's mix without itself in its codec.
struct Floor {
    case: Case,
    decoders: Vec<Box<dyn AudioDecoder>>,
    /// The full mix's, one per codec in use.
    shared: Vec<Box<dyn AudioEncoder>>,
    /// Each talker's, in its codec.
    own: Vec<Box<dyn AudioEncoder>>,
    pcm: Vec<Frame>,
    sum: Vec<i32>,
    mixed: Frame,
    payload: Vec<u8>,
}

impl Floor {
    fn new(case: Case, config: &OpusConfig) -> Self {
        let talkers = 0..TALKERS;
        Floor {
            case,
            decoders: talkers
                .clone()
                .map(|who| case.codec(who).decoder().expect("decoder"))
                .collect(),
            shared: case
                .codecs()
                .into_iter()
                .map(|codec| codec.encoder(config).expect("encoder"))
                .collect(),
            own: talkers
                .map(|who| case.codec(who).encoder(config).expect("encoder"))
                .collect(),
            pcm: vec![SILENCE; TALKERS],
            sum: vec![0; FRAME_SAMPLES],
            mixed: SILENCE,
            payload: Vec::with_capacity(1500),
        }
    }

    fn frame(&mut self, input: &Input, frame: usize) -> usize {
        self.sum.fill(0);
        for (who, (decoder, pcm)) in self.decoders.iter_mut().zip(&mut self.pcm).enumerate() {
            decoder
                .decode(input.packet(who, frame, self.case.codec(who)), pcm)
                .expect("decode");
            for (sum, sample) in self.sum.iter_mut().zip(pcm.iter()) {
                *sum += i32::from(*sample);
            }
        }
        let mut bytes = 0;
        let silence = SILENCE;
        let shared = self.shared.iter_mut().map(|encoder| (encoder, &silence));
        let own = self.own.iter_mut().zip(self.pcm.iter());
        for (encoder, own) in shared.chain(own) {
            for ((out, sum), own) in self.mixed.iter_mut().zip(&self.sum).zip(own.iter()) {
                *out = clip(*sum - i32::from(*own));
            }
            encoder
                .encode(&self.mixed, &mut self.payload)
                .expect("encode");
            bytes += black_box(self.payload.len());
        }
        bytes
    }
}

fn mixer_frame(mixer: &mut Mixer<usize>, input: &Input, case: Case, frame: usize) -> usize {
    for who in 0..case.participants {
        mixer
            .push(
                who,
                Playout::Frame(input.packet(who, frame, case.codec(who))),
            )
            .expect("participant");
    }
    mixer
        .mix()
        .map(|(_, payload)| black_box(payload.len()))
        .sum()
}

fn conference(c: &mut Criterion) {
    let opus = OpusConfig {
        complexity: 5,
        ..OpusConfig::default()
    };
    let input = Input::new(&opus);
    let cases =
        [(10, false), (100, false), (1_000, false), (100, true)].map(|(participants, mixed)| {
            Case {
                participants,
                mixed,
            }
        });
    for case in cases {
        let participants = case.participants;
        let mut group = c.benchmark_group(case.name());
        if participants >= 1_000 {
            // A naive frame of a thousand takes over 100 ms: one iteration
            // per sample, ten samples.
            group.sampling_mode(SamplingMode::Flat).sample_size(10);
        }

        let mut naive = Naive::new(case, &opus);
        let mut frame = 0;
        group.bench_function(BenchmarkId::from_parameter("naive"), |b| {
            b.iter(|| {
                frame += 1;
                naive.frame(&input, frame)
            });
        });
        drop(naive);

        let config = MixerConfig {
            opus: opus.clone(),
            ..MixerConfig::default()
        };
        let mut mixer = Mixer::new(config);
        for who in 0..participants {
            mixer.add(who, case.codec(who)).expect("add");
        }
        // Let the talkers be chosen, then report the codec work per frame.
        let mut frame = 0;
        for _ in 0..FRAMES {
            frame += 1;
            mixer_frame(&mut mixer, &input, case, frame);
        }
        let before = mixer.stats();
        for _ in 0..FRAMES {
            frame += 1;
            mixer_frame(&mut mixer, &input, case, frame);
        }
        let after = mixer.stats();
        eprintln!(
            "{}: {} talkers; per frame {:.2} decodes, {:.2} encodes",
            case.name(),
            mixer.talkers().count(),
            (after.decodes - before.decodes) as f64 / FRAMES as f64,
            (after.encodes - before.encodes) as f64 / FRAMES as f64,
        );
        group.bench_function(BenchmarkId::from_parameter("mixer"), |b| {
            b.iter(|| {
                frame += 1;
                mixer_frame(&mut mixer, &input, case, frame)
            });
        });
        drop(mixer);

        let mut floor = Floor::new(case, &opus);
        let mut frame = 0;
        group.bench_function(BenchmarkId::from_parameter("floor"), |b| {
            b.iter(|| {
                frame += 1;
                floor.frame(&input, frame)
            });
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = conference
}
criterion_main!(benches);
