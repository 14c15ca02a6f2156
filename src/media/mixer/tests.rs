use std::f64::consts::TAU;

use super::level::{Loudness, opus_voice_activity, pcm_dbov, ulaw_dbov};
use super::*;
use crate::media::SAMPLE_RATE;
use crate::media::codec::{AudioEncoder, ulaw_encode};

// ---- signals and measures ----

/// What a test participant says.
#[derive(Clone, Copy, Debug)]
enum Voice {
    Silent,
    /// A tone under a 3 Hz syllable-like envelope (between half and full
    /// `amplitude`). Opus's voice-activity detector calls a steady tone
    /// noise after about 0.7 s; a modulated one it keeps calling speech
    /// for most frames, as it does a voice.
    Tone {
        hz: f64,
        amplitude: f64,
    },
    /// A steady tone, for PCM inputs whose level is measured directly.
    Steady {
        hz: f64,
        amplitude: f64,
    },
    /// A speech-like signal: 12 harmonics of a gliding pitch under a
    /// syllable envelope.
    Speech {
        pitch: f64,
        amplitude: f64,
    },
}

impl Voice {
    fn frame(self, index: usize) -> Frame {
        let mut frame = SILENCE;
        let rate = f64::from(SAMPLE_RATE);
        for (n, sample) in frame.iter_mut().enumerate() {
            let t = (index * FRAME_SAMPLES + n) as f64 / rate;
            let value = match self {
                Voice::Silent => 0.0,
                Voice::Tone { hz, amplitude } => {
                    let envelope = 0.75 + 0.25 * (TAU * 3.0 * t).sin();
                    amplitude * envelope * (TAU * hz * t).sin()
                }
                Voice::Steady { hz, amplitude } => amplitude * (TAU * hz * t).sin(),
                Voice::Speech { pitch, amplitude } => {
                    // The phase of a pitch gliding as p + 0.3p·sin(2π·1.3t).
                    let glide = 0.3 * pitch / (TAU * 1.3);
                    let phase = TAU * (pitch * t - glide * (TAU * 1.3 * t).cos());
                    let envelope = 0.55 + 0.45 * (TAU * 3.7 * t).sin();
                    let sum: f64 = (1..=12)
                        .map(|h| (phase * f64::from(h)).sin() / f64::from(h))
                        .sum();
                    amplitude * envelope * sum
                }
            };
            *sample = value.round().clamp(-32768.0, 32767.0) as i16;
        }
        frame
    }
}

/// The amplitude of the `hz` component of `samples`, averaged over 100 ms
/// Hann-windowed blocks (Goertzel). A Hann window's sidelobes fall fast
/// enough that tones 150 Hz apart do not leak into each other's reading.
fn tone_amplitude(samples: &[i16], hz: f64) -> f64 {
    let block = 4_800;
    let omega = TAU * hz / f64::from(SAMPLE_RATE);
    let blocks: Vec<f64> = samples
        .chunks_exact(block)
        .map(|chunk| {
            let (mut s1, mut s2) = (0.0f64, 0.0f64);
            for (n, sample) in chunk.iter().enumerate() {
                let window = 0.5 - 0.5 * (TAU * n as f64 / block as f64).cos();
                let s0 = f64::from(*sample) * window + 2.0 * omega.cos() * s1 - s2;
                s2 = s1;
                s1 = s0;
            }
            let power = s1 * s1 + s2 * s2 - 2.0 * omega.cos() * s1 * s2;
            4.0 * power.sqrt() / block as f64
        })
        .collect();
    blocks.iter().sum::<f64>() / blocks.len().max(1) as f64
}

/// One participant as its own client sees it: what it says, and what it
/// hears after decoding the mixer's payloads.
struct Client {
    id: u32,
    voice: Voice,
    encoder: Box<dyn AudioEncoder>,
    decoder: Box<dyn AudioDecoder>,
    packet: Vec<u8>,
    heard: Vec<i16>,
    /// Every payload received, `None` for frames with none.
    received: Vec<Option<Vec<u8>>>,
}

/// A mixer and its participants' clients, run frame by frame.
struct Room {
    mixer: Mixer<u32>,
    clients: Vec<Client>,
    frame: usize,
    /// Push PCM rather than encoded payloads.
    pcm_input: bool,
}

impl Room {
    fn new(config: MixerConfig) -> Self {
        Room {
            mixer: Mixer::new(config),
            clients: Vec::new(),
            frame: 0,
            pcm_input: false,
        }
    }

    fn join(&mut self, id: u32, codec: Codec, voice: Voice) {
        self.mixer.add(id, codec).unwrap();
        self.clients.push(Client {
            id,
            voice,
            encoder: codec.encoder(&OpusConfig::default()).unwrap(),
            decoder: codec.decoder().unwrap(),
            packet: Vec::new(),
            heard: Vec::new(),
            received: Vec::new(),
        });
    }

    fn client(&self, id: u32) -> &Client {
        self.clients.iter().find(|client| client.id == id).unwrap()
    }

    fn set_voice(&mut self, id: u32, voice: Voice) {
        self.clients.iter_mut().find(|c| c.id == id).unwrap().voice = voice;
    }

    fn run(&mut self, frames: usize) {
        for _ in 0..frames {
            for client in &mut self.clients {
                let pcm = client.voice.frame(self.frame);
                if self.pcm_input {
                    self.mixer.push_pcm(client.id, &pcm).unwrap();
                } else {
                    client.encoder.encode(&pcm, &mut client.packet).unwrap();
                    self.mixer
                        .push(client.id, Playout::Frame(&client.packet))
                        .unwrap();
                }
            }
            let out: HashMap<u32, Vec<u8>> = self
                .mixer
                .mix()
                .map(|(id, payload)| (id, payload.to_vec()))
                .collect();
            for client in &mut self.clients {
                let mut heard = SILENCE;
                match out.get(&client.id) {
                    Some(payload) => {
                        client.decoder.decode(payload, &mut heard).unwrap();
                    }
                    None => client.decoder.conceal(&mut heard),
                }
                client.heard.extend_from_slice(&heard);
                client.received.push(out.get(&client.id).cloned());
            }
            self.frame += 1;
        }
    }

    /// The amplitude of `hz` in what `id` heard over the last `frames`.
    fn heard(&self, id: u32, hz: f64, frames: usize) -> f64 {
        let heard = &self.client(id).heard;
        tone_amplitude(&heard[heard.len() - frames * FRAME_SAMPLES..], hz)
    }

    fn talkers(&self) -> Vec<u32> {
        let mut talkers: Vec<u32> = self.mixer.talkers().collect();
        talkers.sort_unstable();
        talkers
    }
}

const HZ: [f64; 6] = [440.0, 620.0, 830.0, 1_090.0, 1_370.0, 1_710.0];

/// Heard at a third of what was said or more (the envelope averages 0.75).
fn assert_hears(room: &Room, listener: u32, hz: f64, said: f64) {
    let amplitude = room.heard(listener, hz, 25);
    assert!(
        amplitude > said / 3.0,
        "{listener} should hear {hz} Hz (said at {said}), heard {amplitude:.0}"
    );
}

/// Below 120 (2% of the usual 6000, -49 dBov): codec noise and the other
/// tones' leakage, not the voice.
fn assert_not_hears(room: &Room, listener: u32, hz: f64, said: f64) {
    let amplitude = room.heard(listener, hz, 25);
    assert!(
        amplitude < 120.0,
        "{listener} should not hear {hz} Hz (said at {said}), heard {amplitude:.0}"
    );
}

// ---- who hears whom ----

#[test]
fn each_listener_hears_every_other_talker_and_not_itself() {
    let mut room = Room::new(MixerConfig::default());
    for (id, hz) in (1..=3).zip(HZ) {
        room.join(
            id,
            Codec::Opus,
            Voice::Tone {
                hz,
                amplitude: 6000.0,
            },
        );
    }
    room.join(4, Codec::Opus, Voice::Silent);
    room.join(5, Codec::Opus, Voice::Silent);
    room.run(75);

    assert_eq!(room.talkers(), vec![1, 2, 3]);
    for listener in 1..=5u32 {
        for (talker, hz) in (1..=3u32).zip(HZ) {
            if listener == talker {
                assert_not_hears(&room, listener, hz, 6000.0);
            } else {
                assert_hears(&room, listener, hz, 6000.0);
            }
        }
    }
    // The two silent listeners got the very same payloads.
    assert_eq!(room.client(4).received, room.client(5).received);
}

#[test]
fn a_participant_muted_by_a_leader_is_heard_by_nobody_but_still_hears() {
    let mut room = Room::new(MixerConfig::default());
    for (id, hz) in (1..=3).zip(HZ) {
        room.join(
            id,
            Codec::Opus,
            Voice::Tone {
                hz,
                amplitude: 6000.0,
            },
        );
    }
    room.join(4, Codec::Opus, Voice::Silent);
    room.mixer.set_muted_by_leader(2, true).unwrap();
    room.run(75);

    assert_eq!(room.talkers(), vec![1, 3]);
    for listener in 1..=4 {
        assert_not_hears(&room, listener, HZ[1], 6000.0);
    }
    assert_hears(&room, 2, HZ[0], 6000.0);
    assert_hears(&room, 2, HZ[2], 6000.0);
    // The muted participant hears the full mix: the listeners' shared payload.
    assert_eq!(room.client(2).received, room.client(4).received);
    // Nobody decodes a muted participant, nor the silent one.
    let stats = room.mixer.stats();
    assert_eq!(stats.decodes, 2 * 75);
}

#[test]
fn unmuting_puts_a_participant_back_in_the_mix() {
    let mut room = Room::new(MixerConfig::default());
    room.join(
        1,
        Codec::Opus,
        Voice::Tone {
            hz: HZ[0],
            amplitude: 6000.0,
        },
    );
    room.join(2, Codec::Opus, Voice::Silent);
    room.mixer.set_muted_by_leader(1, true).unwrap();
    room.run(30);
    assert_not_hears(&room, 2, HZ[0], 6000.0);
    room.mixer.set_muted_by_leader(1, false).unwrap();
    room.run(50);
    assert_hears(&room, 2, HZ[0], 6000.0);
}

#[test]
fn only_the_loudest_talkers_are_mixed() {
    let mut room = Room::new(MixerConfig::default());
    let amplitudes = [8000.0, 1000.0, 6000.0, 2000.0, 4000.0];
    for ((id, hz), amplitude) in (1..=5).zip(HZ).zip(amplitudes) {
        room.join(id, Codec::Opus, Voice::Tone { hz, amplitude });
    }
    room.join(6, Codec::Opus, Voice::Silent);
    let mut seen = Vec::new();
    for _ in 0..100 {
        room.run(1);
        seen.push(room.talkers());
    }
    assert!(seen.iter().all(|talkers| talkers == &[1, 3, 5]), "{seen:?}");
    for ((id, hz), amplitude) in (1..=5).zip(HZ).zip(amplitudes) {
        if [1, 3, 5].contains(&id) {
            assert_hears(&room, 6, hz, amplitude);
        } else {
            assert_not_hears(&room, 6, hz, amplitude);
        }
    }
}

#[test]
fn a_slightly_louder_voice_does_not_take_a_talkers_place_but_a_much_louder_one_does() {
    let config = MixerConfig {
        max_talkers: 1,
        ..MixerConfig::default()
    };
    let mut room = Room::new(config);
    room.pcm_input = true;
    room.join(
        1,
        Codec::Opus,
        Voice::Steady {
            hz: HZ[0],
            amplitude: 4000.0,
        },
    );
    room.join(2, Codec::Opus, Voice::Silent);
    room.join(3, Codec::Opus, Voice::Silent);
    room.run(10);
    assert_eq!(room.talkers(), vec![1]);
    // +3 dB: inside the 6 dB margin, so the first talker keeps the floor.
    room.set_voice(
        2,
        Voice::Steady {
            hz: HZ[1],
            amplitude: 5650.0,
        },
    );
    for _ in 0..50 {
        room.run(1);
        assert_eq!(room.talkers(), vec![1]);
    }
    // +12 dB: takes the floor within a few frames, and keeps it.
    room.set_voice(
        3,
        Voice::Steady {
            hz: HZ[2],
            amplitude: 16000.0,
        },
    );
    room.run(5);
    assert_eq!(room.talkers(), vec![3]);
    for _ in 0..50 {
        room.run(1);
        assert_eq!(room.talkers(), vec![3]);
    }
}

#[test]
fn a_talker_who_stops_leaves_the_mix_after_the_hangover() {
    let mut room = Room::new(MixerConfig::default());
    room.pcm_input = true;
    room.join(
        1,
        Codec::Opus,
        Voice::Steady {
            hz: HZ[0],
            amplitude: 4000.0,
        },
    );
    room.join(2, Codec::Opus, Voice::Silent);
    room.run(10);
    assert_eq!(room.talkers(), vec![1]);
    room.set_voice(1, Voice::Silent);
    room.run(15);
    assert_eq!(room.talkers(), vec![1], "still inside the 300 ms hangover");
    room.run(1);
    assert!(room.talkers().is_empty());
}

#[test]
fn opus_and_pcmu_participants_hear_each_other() {
    let mut room = Room::new(MixerConfig::default());
    room.join(
        1,
        Codec::Opus,
        Voice::Tone {
            hz: HZ[0],
            amplitude: 6000.0,
        },
    );
    room.join(
        2,
        Codec::Pcmu,
        Voice::Tone {
            hz: HZ[2],
            amplitude: 6000.0,
        },
    );
    room.join(3, Codec::Opus, Voice::Silent);
    room.join(4, Codec::Pcmu, Voice::Silent);
    room.run(75);

    assert_eq!(room.talkers(), vec![1, 2]);
    assert_hears(&room, 1, HZ[2], 6000.0);
    assert_not_hears(&room, 1, HZ[0], 6000.0);
    assert_hears(&room, 2, HZ[0], 6000.0);
    assert_not_hears(&room, 2, HZ[2], 6000.0);
    for listener in [3, 4] {
        assert_hears(&room, listener, HZ[0], 6000.0);
        assert_hears(&room, listener, HZ[2], 6000.0);
    }
    // One encode per codec for the full mix and one per talker.
    assert_eq!(room.mixer.stats().encodes, 4 * 75);
}

#[test]
fn fifty_participants_with_three_talkers_cost_three_decodes_and_four_encodes() {
    let mut room = Room::new(MixerConfig::default());
    for id in 1..=50u32 {
        let voice = match id {
            7 => Voice::Tone {
                hz: HZ[0],
                amplitude: 6000.0,
            },
            23 => Voice::Tone {
                hz: HZ[1],
                amplitude: 5000.0,
            },
            41 => Voice::Tone {
                hz: HZ[2],
                amplitude: 7000.0,
            },
            _ => Voice::Silent,
        };
        room.join(id, Codec::Opus, voice);
    }
    room.run(75);

    assert_eq!(room.talkers(), vec![7, 23, 41]);
    let stats = room.mixer.stats();
    assert_eq!(stats.decodes, 3 * 75);
    assert_eq!(stats.encodes, 4 * 75);
    let talkers = [(7, HZ[0], 6000.0), (23, HZ[1], 5000.0), (41, HZ[2], 7000.0)];
    for listener in 1..=50u32 {
        for &(talker, hz, amplitude) in &talkers {
            if listener == talker {
                assert_not_hears(&room, listener, hz, amplitude);
            } else {
                assert_hears(&room, listener, hz, amplitude);
            }
        }
    }
    let shared = &room.client(1).received;
    assert!(
        (2..=50)
            .filter(|id| ![7, 23, 41].contains(id))
            .all(|id| &room.client(id).received == shared)
    );
}

#[test]
fn a_participant_on_hold_is_sent_nothing_and_costs_no_encode() {
    let mut room = Room::new(MixerConfig::default());
    room.join(
        1,
        Codec::Opus,
        Voice::Tone {
            hz: HZ[0],
            amplitude: 6000.0,
        },
    );
    room.join(2, Codec::Pcmu, Voice::Silent);
    room.join(3, Codec::Opus, Voice::Silent);
    room.mixer.set_listening(1, false).unwrap();
    room.mixer.set_listening(2, false).unwrap();
    room.run(40);
    assert!(room.client(1).received.iter().all(Option::is_none));
    assert!(room.client(2).received.iter().all(Option::is_none));
    assert!(room.client(3).received.iter().all(Option::is_some));
    // Only the Opus full mix is encoded, for participant 3; 1 is still mixed.
    assert_eq!(room.mixer.stats().encodes, 40);
    assert_hears(&room, 3, HZ[0], 6000.0);
}

// ---- levels and saturation ----

#[test]
fn the_sum_saturates_instead_of_wrapping() {
    let mut sum = [0i32; FRAME_SAMPLES];
    sum[0] = 3 * 32_767;
    sum[1] = 3 * -32_768;
    sum[2] = 40_000;
    sum[3] = -100;
    let mut own = SILENCE;
    own[2] = 10_000;
    let mut out = SILENCE;
    clip_into(&sum, None, &mut out);
    assert_eq!(&out[..4], &[32_767, -32_768, 32_767, -100]);
    // The own signal comes out of the sum before clipping: 40000 - 10000.
    clip_into(&sum, Some(&own), &mut out);
    assert_eq!(&out[..4], &[32_767, -32_768, 30_000, -100]);
}

#[test]
fn three_full_scale_talkers_clip_in_phase_for_every_listener() {
    let mut room = Room::new(MixerConfig::default());
    room.pcm_input = true;
    let loud = Voice::Steady {
        hz: 200.0,
        amplitude: 30_000.0,
    };
    for id in 1..=3 {
        room.join(id, Codec::Pcmu, loud);
    }
    room.join(4, Codec::Pcmu, Voice::Silent);
    room.run(25);
    // A wrapped sum would flip the sign of the peaks; a clipped one keeps
    // following the tone, whose positive half is the first 2.5 ms of each
    // 5 ms period. PCMU's resamplers delay it by 10 ms: two periods.
    let tone: Vec<i16> = (0..25).flat_map(|frame| loud.frame(frame)).collect();
    for listener in 1..=4 {
        let heard = &room.client(listener).heard;
        let (from, to) = (10 * FRAME_SAMPLES, 24 * FRAME_SAMPLES);
        let correlation: f64 = (from..to)
            .map(|n| f64::from(heard[n]) * f64::from(tone[n - 480]))
            .sum::<f64>()
            / (from..to)
                .map(|n| f64::from(tone[n - 480]).powi(2))
                .sum::<f64>();
        assert!(correlation > 0.8, "listener {listener}: {correlation:.2}");
        let peak = heard[from..to]
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap();
        assert!(peak > 30_000, "listener {listener}: peak {peak}");
    }
}

/// Each mixed talker's level, in `talkers()` order.
fn talker_levels(room: &Room) -> Vec<(u32, f32)> {
    let levels: Vec<(u32, f32)> = room.mixer.talker_levels().collect();
    let ids: Vec<u32> = levels.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, room.mixer.talkers().collect::<Vec<_>>());
    levels
}

#[test]
fn each_talker_has_the_level_of_its_own_audio() {
    // PCM in: the levels are those of the tones, exactly. A sine at half
    // scale is -6 dB of amplitude and -3 dB more of power: -9.03 dBov;
    // at 1/32 of full scale, -33.11.
    let mut room = Room::new(MixerConfig::default());
    room.pcm_input = true;
    let voice = |amplitude| Voice::Steady {
        hz: 440.0,
        amplitude,
    };
    room.join(1, Codec::Pcmu, voice(16_384.0));
    room.join(2, Codec::Pcmu, voice(1_024.0));
    room.join(3, Codec::Pcmu, Voice::Silent);
    room.run(10);
    let mut levels = talker_levels(&room);
    levels.sort_by_key(|(id, _)| *id);
    assert_eq!(levels.len(), 2, "the silent one is not mixed");
    assert!((levels[0].1 + 9.03).abs() < 0.1, "{levels:?}");
    assert!((levels[1].1 + 33.11).abs() < 0.1, "{levels:?}");

    // Coded in Opus and PCMU, a loud and a quiet talker still read 20 dB
    // and more apart, each near what it said (the envelope swings 6 dB).
    let mut room = Room::new(MixerConfig::default());
    let tone = |hz, amplitude| Voice::Tone { hz, amplitude };
    room.join(1, Codec::Opus, tone(HZ[0], 16_000.0));
    room.join(2, Codec::Pcmu, tone(HZ[1], 1_000.0));
    room.join(3, Codec::Opus, Voice::Silent);
    let decodes = |room: &Room| room.mixer.stats().decodes;
    let mut both_mixed = 0;
    for _ in 0..20 {
        let before = decodes(&room);
        room.run(1);
        // One decode per talker, as mixing alone takes: the levels add
        // none.
        assert!(decodes(&room) - before <= 2);
        let levels = talker_levels(&room);
        let level = |id| {
            levels
                .iter()
                .find(|(talker, _)| *talker == id)
                .map(|(_, l)| *l)
        };
        if let (Some(loud), Some(quiet)) = (level(1), level(2)) {
            assert!((-17.0..=-7.0).contains(&loud), "loud {loud}");
            assert!((-42.0..=-31.0).contains(&quiet), "quiet {quiet}");
            assert!(loud - quiet > 20.0);
            both_mixed += 1;
        }
    }
    assert!(both_mixed >= 15, "both mixed in {both_mixed} frames");
    assert_eq!(room.talkers(), vec![1, 2]);

    // Once nobody speaks past the hangover, nobody has a level.
    room.set_voice(1, Voice::Silent);
    room.set_voice(2, Voice::Silent);
    room.run(30);
    assert!(talker_levels(&room).is_empty());
}

#[test]
fn levels_read_in_dbov() {
    assert_eq!(pcm_dbov(&SILENCE), SILENT_DBOV);
    let sine = Voice::Steady {
        hz: 1000.0,
        amplitude: 32_767.0,
    }
    .frame(0);
    assert!((pcm_dbov(&sine) + 3.0).abs() < 0.1, "{}", pcm_dbov(&sine));
    let quiet = Voice::Steady {
        hz: 1000.0,
        amplitude: 327.67,
    }
    .frame(0);
    assert!(
        (pcm_dbov(&quiet) + 43.0).abs() < 0.1,
        "{}",
        pcm_dbov(&quiet)
    );
    // The same sine through µ-law, read without resampling.
    let ulaw: Vec<u8> = sine.iter().step_by(6).map(|s| ulaw_encode(*s)).collect();
    assert!((ulaw_dbov(&ulaw) + 3.0).abs() < 0.3, "{}", ulaw_dbov(&ulaw));
    assert_eq!(ulaw_dbov(&[0xFF; 160]), SILENT_DBOV);
}

#[test]
fn smoothing_keeps_a_pause_from_dropping_the_level() {
    let mut loudness = Loudness::SILENT;
    for _ in 0..10 {
        loudness.update(-20.0, -50.0);
    }
    assert!((loudness.smoothed_dbov() + 20.0).abs() < 0.1);
    // 160 ms of pause costs under 2 dB.
    for _ in 0..8 {
        loudness.update(SILENT_DBOV, -50.0);
    }
    assert!(
        loudness.smoothed_dbov() > -22.0,
        "{}",
        loudness.smoothed_dbov()
    );
    assert_eq!(loudness.quiet_frames, 8);
    assert!(!loudness.active());
}

#[test]
fn the_opus_voice_activity_flag_is_read_from_the_packet() {
    let mut encoder = Codec::Opus.encoder(&OpusConfig::default()).unwrap();
    let mut packet = Vec::new();
    let speech = Voice::Speech {
        pitch: 150.0,
        amplitude: 4000.0,
    };
    let mut flags = Vec::new();
    for frame in 0..25 {
        encoder.encode(&speech.frame(frame), &mut packet).unwrap();
        flags.push(opus_voice_activity(&packet));
    }
    // The syllable envelope's troughs read as pauses.
    assert!(
        flags.iter().filter(|flag| **flag == Some(true)).count() > 15,
        "{flags:?}"
    );
    for _ in 0..25 {
        encoder.encode(&SILENCE, &mut packet).unwrap();
        flags.push(opus_voice_activity(&packet));
    }
    assert!(
        flags[30..].iter().all(|flag| *flag == Some(false)),
        "{flags:?}"
    );
    // CELT-only (config 31) has no flag; nothing at all is unreadable.
    assert_eq!(opus_voice_activity(&[31 << 3, 0xFF]), None);
    assert_eq!(opus_voice_activity(&[]), None);
    assert_eq!(opus_voice_activity(&[15 << 3]), None);
}

// ---- bad input and bookkeeping ----

#[test]
fn payloads_that_do_not_decode_are_concealed_not_fatal() {
    let mut mixer = Mixer::new(MixerConfig::default());
    mixer.add(1u32, Codec::Opus).unwrap();
    mixer.add(2, Codec::Pcmu).unwrap();
    mixer.add(3, Codec::Opus).unwrap();
    for garbage in [&[0xFFu8, 1, 2][..], &[0x78, 0xFF], &[], &[0x00; 7]] {
        mixer.push(1, Playout::Frame(garbage)).unwrap();
        mixer.push(2, Playout::Frame(garbage)).unwrap();
        mixer.push(3, Playout::Fec(garbage)).unwrap();
        assert_eq!(mixer.mix().count(), 3);
    }
    assert!(mixer.stats().decode_errors > 0);
}

#[test]
fn participants_come_and_go_by_id() {
    let mut mixer = Mixer::new(MixerConfig::default());
    for id in ["amy", "hao", "vivian"] {
        mixer.add(id, Codec::Opus).unwrap();
    }
    assert!(matches!(
        mixer.add("hao", Codec::Pcmu),
        Err(MixerError::DuplicateParticipant)
    ));
    assert!(mixer.remove("amy"));
    assert!(!mixer.remove("amy"));
    assert!(matches!(
        mixer.push("amy", Playout::Silence),
        Err(MixerError::UnknownParticipant)
    ));
    assert!(matches!(
        mixer.set_listening("amy", false),
        Err(MixerError::UnknownParticipant)
    ));
    // The participant moved into the removed one's place is still found.
    mixer.set_listening("vivian", false).unwrap();
    let listeners: Vec<&str> = mixer.mix().map(|(id, _)| id).collect();
    assert_eq!(listeners, vec!["hao"]);
    assert_eq!(mixer.len(), 2);
}

// ---- switching streams ----

/// How much noisier `decoded` is just after frame `at` than it is once
/// settled: its noise-to-signal ratio against `said` (which it plays `lag`
/// samples late) over the 3 frames from `at`, less that over the 10 frames
/// after those. A codec's steady noise cancels out, whichever encoder made
/// the stream, and what is left is the transient.
fn transient_noise(decoded: &[i16], said: &[i16], lag: usize, at: usize) -> f64 {
    let ratio = |frames: std::ops::Range<usize>| -> f64 {
        let (mut noise, mut signal) = (0.0, 0.0);
        for n in frames.start * FRAME_SAMPLES..frames.end * FRAME_SAMPLES {
            let expected = f64::from(said[n - lag]);
            noise += (f64::from(decoded[n]) - expected).powi(2);
            signal += expected * expected;
        }
        noise / signal
    };
    ratio(at..at + 3) - ratio(at + 3..at + 13)
}

#[test]
fn moving_between_the_shared_and_an_own_stream_sounds_no_worse_than_a_lost_frame() {
    // Two voices talk throughout; participant 3 talks in bursts, so it
    // moves to a stream of its own and back six times, and should hear the
    // two voices throughout.
    let mut room = Room::new(MixerConfig::default());
    room.pcm_input = true;
    let one = Voice::Speech {
        pitch: 110.0,
        amplitude: 2500.0,
    };
    let two = Voice::Speech {
        pitch: 190.0,
        amplitude: 2000.0,
    };
    room.join(1, Codec::Opus, one);
    room.join(2, Codec::Opus, two);
    room.join(3, Codec::Opus, Voice::Silent);
    let mut switches = Vec::new();
    let mut talking = false;
    for round in 0..6 {
        let burst = Voice::Speech {
            pitch: 150.0 + 10.0 * f64::from(round),
            amplitude: 3000.0,
        };
        for (voice, frames) in [(Voice::Silent, 50), (burst, 40)] {
            room.set_voice(3, voice);
            for _ in 0..frames {
                room.run(1);
                let now = room.mixer.talkers().any(|id| id == 3);
                if now != talking {
                    switches.push(room.frame - 1);
                    talking = now;
                }
            }
        }
    }
    room.set_voice(3, Voice::Silent);
    for _ in 0..50 {
        room.run(1);
        if room.mixer.talkers().all(|id| id != 3) && talking {
            switches.push(room.frame - 1);
            talking = false;
        }
    }
    assert_eq!(switches.len(), 12, "{switches:?}");

    let frames = room.frame;
    let said: Vec<i16> = (0..frames)
        .flat_map(|frame| {
            let (a, b) = (one.frame(frame), two.frame(frame));
            (0..FRAME_SAMPLES).map(move |n| a[n].saturating_add(b[n]))
        })
        .collect();
    // What 3 should hear is exactly `said`, whichever stream carries it.
    // The yardstick is one encoder coding `said` throughout: decoded
    // without loss it is the reference, and with the frame at each switch
    // lost and concealed, the glitch a switch must not exceed.
    let mut encoder = Codec::Opus.encoder(&OpusConfig::default()).unwrap();
    let (mut clean, mut decoder) = (
        Codec::Opus.decoder().unwrap(),
        Codec::Opus.decoder().unwrap(),
    );
    let (mut reference, mut concealed) = (Vec::new(), Vec::new());
    let mut packet = Vec::new();
    for (frame, pcm) in said.chunks_exact(FRAME_SAMPLES).enumerate() {
        encoder
            .encode(pcm.try_into().unwrap(), &mut packet)
            .unwrap();
        let mut out = SILENCE;
        clean.decode(&packet, &mut out).unwrap();
        reference.extend_from_slice(&out);
        if switches.contains(&frame) {
            decoder.conceal(&mut out);
        } else {
            decoder.decode(&packet, &mut out).unwrap();
        }
        concealed.extend_from_slice(&out);
    }
    let lag = (0..FRAME_SAMPLES)
        .max_by_key(|&lag| {
            (FRAME_SAMPLES * 20..FRAME_SAMPLES * 60)
                .map(|n| i64::from(said[n]) * i64::from(reference[n + lag]))
                .sum::<i64>()
        })
        .unwrap();
    let heard = &room.client(3).heard;
    let (mut switching, mut concealing) = (0.0, 0.0);
    for &at in &switches {
        let (switch, conceal) = (
            transient_noise(heard, &said, lag, at),
            transient_noise(&concealed, &said, lag, at),
        );
        eprintln!("frame {at}: switch {switch:.3}, concealment {conceal:.3}");
        switching += switch;
        concealing += conceal;
    }
    assert!(concealing > 0.0);
    assert!(
        switching < concealing,
        "switching added {switching:.3e} of noise, concealing {concealing:.3e}"
    );
}

#[test]
fn the_last_push_of_a_frame_wins() {
    let mut mixer = Mixer::new(MixerConfig::default());
    mixer.add(1u32, Codec::Pcmu).unwrap();
    mixer.add(2, Codec::Pcmu).unwrap();
    let loud = Voice::Steady {
        hz: 440.0,
        amplitude: 8000.0,
    }
    .frame(0);
    let silent_payload = [0xFFu8; 160];
    mixer.push_pcm(1, &loud).unwrap();
    let _ = mixer.mix().count();
    assert_eq!(mixer.talkers().collect::<Vec<_>>(), vec![1]);
    // Still a talker (hangover): the payload pushed last is what is decoded
    // and mixed, not the PCM before it.
    mixer.push_pcm(1, &loud).unwrap();
    mixer.push(1, Playout::Frame(&silent_payload)).unwrap();
    let _ = mixer.mix().count();
    assert_eq!(mixer.talkers().collect::<Vec<_>>(), vec![1]);
    assert_eq!(mixer.stats().decodes, 1);
    // And PCM pushed last needs no decode.
    mixer.push(1, Playout::Frame(&silent_payload)).unwrap();
    mixer.push_pcm(1, &loud).unwrap();
    let _ = mixer.mix().count();
    assert_eq!(mixer.stats().decodes, 1);
}
