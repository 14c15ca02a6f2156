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

/// A talker's tone at the level most tests speak at.
fn tone(hz: f64) -> Voice {
    Voice::Tone {
        hz,
        amplitude: 6000.0,
    }
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
        room.join(id, Codec::Opus, tone(hz));
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
        room.join(id, Codec::Opus, tone(hz));
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
    room.join(1, Codec::Opus, tone(HZ[0]));
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
    room.join(1, Codec::Opus, tone(HZ[0]));
    room.join(2, Codec::Pcmu, tone(HZ[2]));
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
            7 => tone(HZ[0]),
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
    room.join(1, Codec::Opus, tone(HZ[0]));
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

mod levels;
mod streams;
