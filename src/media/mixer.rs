//! The A/V MCU's audio mixer: every participant hears everyone but
//! themselves (PROTOCOLS.md section 7), built so that a conference of a
//! thousand costs little more than one of ten.
//!
//! One 20 ms frame at a time: each participant's input is pushed (what its
//! jitter buffer played, as a [`Playout`], or PCM decoded elsewhere), then
//! [`Mixer::mix`] returns an encoded payload for every listener. Sans-IO: no
//! clock, no sockets; a frame is a call, and RTP is the caller's.
//!
//! Where the cost goes, and how it is kept down:
//! - Only the [`MixerConfig::max_talkers`] loudest are mixed (3 by default).
//!   Levels come from PCM where it is cheap (PCMU payloads, pushed PCM);
//!   an Opus packet is decoded only when the SILK voice-activity flag it
//!   carries says speech (or it is CELT-only and has none), or when its
//!   sender is being mixed. Silent Opus participants are never decoded.
//! - The talkers are summed once into i32 and each talker's own frame is
//!   subtracted from that sum before clipping to i16 (saturation, never
//!   wrap-around).
//! - Everyone who is not a mixed talker hears the same full mix, so it is
//!   encoded once per codec and the payload is shared. Each mixed talker
//!   hears the mix minus themselves from an encoder of their own. A
//!   conference therefore costs at most `max_talkers + 2` encodes a frame
//!   (one per talker, one per codec in use) and one decode per talker plus
//!   one per voice-active Opus sender, whatever its size.
//! - Each talker's level in the frame (for RFC 6465 audio levels next to
//!   the CSRCs, [`Mixer::talker_levels`]) is measured on the PCM that is
//!   summed anyway: no decode is added for it.
//! - Participants muted by a leader (ingress blocked) are never measured,
//!   decoded or mixed, and hear the shared mix. Participants not listening
//!   (on hold) are sent nothing, and no encode is spent on them.
//!
//! Encoder continuity. An Opus packet is coded against its encoder's state,
//! and a listener's decoder tracks the state of whichever encoder fed it, so
//! handing a listener packets from another encoder is heard. Rules:
//! - An encoder only ever codes consecutive frames: one that missed a frame
//!   (nobody needed its stream) is replaced by a new one.
//! - A listener who becomes a talker moves to a *new* encoder, never to a
//!   used one. Measured with libopus 1.6 at 32 kb/s on speech-like mixes
//!   (58 switch points each, excess noise over the next 160 ms relative to
//!   the signal): concealing one lost frame adds -7 to -11 dB on average
//!   and up to +3 dB at worst; switching onto a new encoder added at worst
//!   -16 dB; onto an encoder that had coded another stream, up to +5 dB,
//!   no better than a concealment; onto a new encoder first primed with one
//!   to three frames of the shared mix, up to +13 dB.
//! - A talker who stops moves back to the shared encoder directly: -17 dB
//!   on average, 0 dB at worst. Running its own encoder on the shared mix
//!   for 100 to 200 ms before the move did not reliably do better, so it is
//!   not done. PCMU's only state is its resampler's 5 ms of history; its
//!   switches measured at -34 dB at worst.
//!
//! The tests decode what listeners receive: who hears whom, the codec work
//! per frame, and that a listener's switches add less transient noise than
//! concealing a lost frame at each would.

mod level;
mod stream;

use std::collections::HashMap;
use std::hash::Hash;

use self::level::{Loudness, SILENT_DBOV, opus_voice_activity, pcm_dbov, ulaw_dbov};
use self::stream::{Stream, clip_into};
use super::codec::{AudioDecoder, Codec, CodecError, OpusConfig};
use super::jitter::Playout;
use super::{FRAME_SAMPLES, Frame, SILENCE};

/// What can go wrong managing the mixer's participants.
#[derive(Debug, thiserror::Error)]
pub enum MixerError {
    #[error("no participant with that id")]
    UnknownParticipant,
    #[error("a participant with that id is already in the mixer")]
    DuplicateParticipant,
    /// A decoder for a new participant could not be built.
    #[error("codec set-up: {0}")]
    Codec(#[from] CodecError),
}

/// How the mixer chooses its talkers and encodes.
#[derive(Clone, Debug, PartialEq)]
pub struct MixerConfig {
    /// How many of the loudest participants are mixed.
    pub max_talkers: usize,
    /// A frame at or above this level counts as speech (a quiet room on a
    /// headset reads -60 to -70 dBov; speech -15 to -35).
    pub activity_floor_dbov: f32,
    /// How much louder (smoothed) a new voice must be than the quietest
    /// talker to take its place when all slots are taken: the hysteresis
    /// that keeps two similar voices from trading places every frame.
    pub switch_margin_db: f32,
    /// A talker stays mixed this many frames after its last speech, so
    /// pauses between words do not drop it.
    pub hangover_frames: u32,
    /// Every Opus encoder the mixer makes.
    pub opus: OpusConfig,
}

impl Default for MixerConfig {
    fn default() -> Self {
        MixerConfig {
            max_talkers: 3,
            activity_floor_dbov: -50.0,
            switch_margin_db: 6.0,
            hangover_frames: 15,
            opus: OpusConfig::default(),
        }
    }
}

/// Running counts, for tests, benchmarks and diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MixerStats {
    /// Frames mixed.
    pub frames: u64,
    /// Decoder runs (decode, FEC or concealment).
    pub decodes: u64,
    /// Encoder runs.
    pub encodes: u64,
    /// Payloads that did not decode and were concealed instead.
    pub decode_errors: u64,
    /// Frames for which a stream had no payload because encoding failed.
    pub encode_errors: u64,
}

/// An N-1 audio mixer for one conference.
pub struct Mixer<Id> {
    config: MixerConfig,
    participants: Vec<Participant<Id>>,
    index: HashMap<Id, usize>,
    /// The full mix's stream for each codec, in [`SHARED_CODECS`] order.
    shared: [Stream; 2],
    /// The talkers' sum; each listener's frame is clipped from it.
    sum: Box<[i32; FRAME_SAMPLES]>,
    /// Scratch for one listener's clipped frame.
    mixed: Box<Frame>,
    /// The number of the next frame to mix.
    frame: u64,
    stats: MixerStats,
    /// Scratch for talker selection.
    order: Vec<usize>,
}

/// The codecs a shared stream exists for, and their slot in `shared`.
const SHARED_CODECS: [Codec; 2] = [Codec::Opus, Codec::Pcmu];

fn shared_slot(codec: Codec) -> usize {
    match codec {
        Codec::Opus => 0,
        Codec::Pcmu => 1,
    }
}

struct Participant<Id> {
    id: Id,
    codec: Codec,
    decoder: Box<dyn AudioDecoder>,
    muted_by_leader: bool,
    listening: bool,
    /// What was pushed for the frame being built.
    input: Input,
    /// The payload of `Input::Frame` or `Input::Fec`, copied out of the
    /// jitter buffer.
    payload: Vec<u8>,
    /// Audio for frame `pcm_frame`: decoded, or pushed as PCM.
    pcm: Box<Frame>,
    pcm_frame: Option<u64>,
    /// The last frame the decoder ran for; a gap means its history is stale.
    decoded_frame: Option<u64>,
    loudness: Loudness,
    /// Mixed this frame; hears `own`, not the shared mix.
    talker: bool,
    /// A talker's level in the frame mixed, dBov: what it put into the sum.
    mixed_dbov: f32,
    own: Stream,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    Silence,
    Frame,
    Fec,
    Conceal,
    Pcm,
}

impl<Id: Copy + Eq + Hash> Mixer<Id> {
    pub fn new(config: MixerConfig) -> Self {
        Mixer {
            config,
            participants: Vec::new(),
            index: HashMap::new(),
            shared: Default::default(),
            sum: Box::new([0; FRAME_SAMPLES]),
            mixed: Box::new(SILENCE),
            frame: 0,
            stats: MixerStats::default(),
            order: Vec::new(),
        }
    }

    /// Adds a participant who sends and receives `codec`; listening, not
    /// muted.
    pub fn add(&mut self, id: Id, codec: Codec) -> Result<(), MixerError> {
        if self.index.contains_key(&id) {
            return Err(MixerError::DuplicateParticipant);
        }
        let participant = Participant {
            id,
            codec,
            decoder: codec.decoder()?,
            muted_by_leader: false,
            listening: true,
            input: Input::Silence,
            payload: Vec::new(),
            pcm: Box::new(SILENCE),
            pcm_frame: None,
            decoded_frame: None,
            loudness: Loudness::SILENT,
            talker: false,
            mixed_dbov: SILENT_DBOV,
            own: Stream::default(),
        };
        self.index.insert(id, self.participants.len());
        self.participants.push(participant);
        Ok(())
    }

    /// Removes a participant; false if there was none.
    pub fn remove(&mut self, id: Id) -> bool {
        let Some(slot) = self.index.remove(&id) else {
            return false;
        };
        self.participants.swap_remove(slot);
        if let Some(moved) = self.participants.get(slot) {
            self.index.insert(moved.id, slot);
        }
        true
    }

    /// Blocks or unblocks a participant's ingress (a leader's mute): while
    /// muted it is not mixed, but still hears the conference.
    pub fn set_muted_by_leader(&mut self, id: Id, muted: bool) -> Result<(), MixerError> {
        self.participant_mut(id)?.muted_by_leader = muted;
        Ok(())
    }

    /// Whether a participant is sent audio; false while it is on hold.
    pub fn set_listening(&mut self, id: Id, listening: bool) -> Result<(), MixerError> {
        self.participant_mut(id)?.listening = listening;
        Ok(())
    }

    /// A participant's input for the next frame, as its jitter buffer
    /// played it. The payload is copied; it is decoded only if this
    /// participant is measured or mixed. A participant with no push before
    /// [`Mixer::mix`] counts as [`Playout::Silence`].
    pub fn push(&mut self, id: Id, playout: Playout<'_>) -> Result<(), MixerError> {
        let participant = self.participant_mut(id)?;
        // Supersedes any PCM pushed for this frame.
        participant.pcm_frame = None;
        participant.input = match playout {
            Playout::Frame(payload) | Playout::Fec(payload) => {
                participant.payload.clear();
                participant.payload.extend_from_slice(payload);
                if matches!(playout, Playout::Frame(_)) {
                    Input::Frame
                } else {
                    Input::Fec
                }
            }
            Playout::Conceal => Input::Conceal,
            Playout::Silence => Input::Silence,
        };
        Ok(())
    }

    /// A participant's input for the next frame as 48 kHz PCM, for legs
    /// decoded elsewhere (a gateway, a local microphone).
    pub fn push_pcm(&mut self, id: Id, frame: &Frame) -> Result<(), MixerError> {
        let next = self.frame;
        let participant = self.participant_mut(id)?;
        *participant.pcm = *frame;
        participant.pcm_frame = Some(next);
        participant.input = Input::Pcm;
        Ok(())
    }

    /// Mixes the pushed frame and returns each listening participant's
    /// payload. Listeners of the same codec who are not talkers get the
    /// same slice. The payloads stay readable through [`Mixer::payloads`]
    /// until the next push.
    pub fn mix(&mut self) -> impl Iterator<Item = (Id, &[u8])> + '_ {
        let frame = self.frame;
        self.measure(frame);
        self.select();
        self.decode_talkers(frame);
        self.sum_talkers();
        self.encode(frame);
        for participant in &mut self.participants {
            participant.input = Input::Silence;
        }
        self.frame += 1;
        self.stats.frames += 1;
        self.payloads()
    }

    /// The payloads of the last [`Mixer::mix`], one per participant that is
    /// listening now and has one.
    pub fn payloads(&self) -> impl Iterator<Item = (Id, &[u8])> + '_ {
        let last = self.frame.checked_sub(1);
        self.participants
            .iter()
            .filter(|participant| participant.listening)
            .filter_map(move |participant| {
                let stream = if participant.talker {
                    &participant.own
                } else {
                    self.shared.get(shared_slot(participant.codec))?
                };
                (stream.encoded_frame == last && last.is_some())
                    .then_some((participant.id, stream.payload.as_slice()))
            })
    }

    /// The participants mixed in the last frame: the contributing sources
    /// (RFC 3550 §7.1: a mixer's CSRC list) and the roster's speakers.
    pub fn talkers(&self) -> impl Iterator<Item = Id> + '_ {
        self.participants
            .iter()
            .filter(|participant| participant.talker)
            .map(|participant| participant.id)
    }

    /// The participants mixed in the last frame, as [`Mixer::talkers`] and
    /// in its order, each with the level (dBov, -127 to 0, RFC 6464 §3's
    /// scale) of its own audio in that frame: RFC 6465's levels of the
    /// contributing sources.
    pub fn talker_levels(&self) -> impl Iterator<Item = (Id, f32)> + '_ {
        self.participants
            .iter()
            .filter(|participant| participant.talker)
            .map(|participant| (participant.id, participant.mixed_dbov))
    }

    pub fn stats(&self) -> MixerStats {
        self.stats
    }

    pub fn len(&self) -> usize {
        self.participants.len()
    }

    pub fn is_empty(&self) -> bool {
        self.participants.is_empty()
    }

    fn participant_mut(&mut self, id: Id) -> Result<&mut Participant<Id>, MixerError> {
        let slot = *self.index.get(&id).ok_or(MixerError::UnknownParticipant)?;
        self.participants
            .get_mut(slot)
            .ok_or(MixerError::UnknownParticipant)
    }

    /// Updates every participant's level from this frame's input, decoding
    /// only what has no level otherwise.
    fn measure(&mut self, frame: u64) {
        let floor = self.config.activity_floor_dbov;
        for participant in &mut self.participants {
            let level = if participant.muted_by_leader {
                SILENT_DBOV
            } else {
                participant.frame_level(frame, &mut self.stats)
            };
            participant.loudness.update(level, floor);
        }
    }

    /// Chooses the talkers: drops the muted and those silent past the
    /// hangover, fills free slots with the loudest new voices, and lets a
    /// new voice replace the quietest talker only when it is louder by the
    /// switch margin.
    fn select(&mut self) {
        let hangover = self.config.hangover_frames;
        for participant in &mut self.participants {
            if participant.talker
                && (participant.muted_by_leader || participant.loudness.quiet_frames > hangover)
            {
                participant.demote();
            }
        }
        self.order.clear();
        self.order.extend(
            self.participants
                .iter()
                .enumerate()
                .filter(|(_, p)| !p.talker && !p.muted_by_leader && p.loudness.active())
                .map(|(slot, _)| slot),
        );
        let participants = &self.participants;
        let louder_first = |a: &usize, b: &usize| {
            let level = |slot: &usize| {
                participants
                    .get(*slot)
                    .map_or(SILENT_DBOV, |p| p.loudness.smoothed_dbov())
            };
            level(b).total_cmp(&level(a)).then(a.cmp(b))
        };
        self.order.sort_by(louder_first);
        let mut talkers = self.participants.iter().filter(|p| p.talker).count();
        for &challenger in &self.order {
            let Some(level) = self
                .participants
                .get(challenger)
                .map(|p| p.loudness.smoothed_dbov())
            else {
                continue;
            };
            if talkers < self.config.max_talkers {
                talkers += 1;
            } else {
                let quietest = self
                    .participants
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.talker)
                    .min_by(|(_, a), (_, b)| {
                        a.loudness
                            .smoothed_dbov()
                            .total_cmp(&b.loudness.smoothed_dbov())
                    });
                let Some((quietest, talker)) = quietest else {
                    break;
                };
                // Challengers come loudest first: if this one cannot
                // displace the quietest talker, no later one can.
                if level <= talker.loudness.smoothed_dbov() + self.config.switch_margin_db {
                    break;
                }
                if let Some(talker) = self.participants.get_mut(quietest) {
                    talker.demote();
                }
            }
            if let Some(participant) = self.participants.get_mut(challenger) {
                participant.talker = true;
            }
        }
    }

    fn decode_talkers(&mut self, frame: u64) {
        for participant in self.participants.iter_mut().filter(|p| p.talker) {
            if participant.pcm_frame != Some(frame) {
                participant.decode(frame, &mut self.stats);
            }
        }
    }

    fn sum_talkers(&mut self) {
        self.sum.fill(0);
        for participant in self.participants.iter_mut().filter(|p| p.talker) {
            for (sum, sample) in self.sum.iter_mut().zip(participant.pcm.iter()) {
                *sum += i32::from(*sample);
            }
            participant.mixed_dbov = pcm_dbov(&participant.pcm[..]);
        }
    }

    /// One encode per codec for the listeners of the full mix, one per
    /// listening talker for the mix without them.
    fn encode(&mut self, frame: u64) {
        let mut shared_needed = [false; SHARED_CODECS.len()];
        for participant in &self.participants {
            if participant.listening && !participant.talker {
                if let Some(needed) = shared_needed.get_mut(shared_slot(participant.codec)) {
                    *needed = true;
                }
            }
        }
        if shared_needed.contains(&true) {
            clip_into(&self.sum, None, &mut self.mixed);
        }
        for ((stream, codec), needed) in
            self.shared.iter_mut().zip(SHARED_CODECS).zip(shared_needed)
        {
            if needed {
                stream.encode(
                    codec,
                    &self.config.opus,
                    &self.mixed,
                    frame,
                    &mut self.stats,
                );
            }
        }
        for participant in &mut self.participants {
            if participant.talker && participant.listening {
                clip_into(&self.sum, Some(&participant.pcm), &mut self.mixed);
                let codec = participant.codec;
                participant.own.encode(
                    codec,
                    &self.config.opus,
                    &self.mixed,
                    frame,
                    &mut self.stats,
                );
            }
        }
    }
}

impl<Id> Participant<Id> {
    /// This frame's level in dBov, decoding only an Opus packet whose
    /// voice-activity flag says speech (or that has none), or a talker's
    /// concealment.
    fn frame_level(&mut self, frame: u64, stats: &mut MixerStats) -> f32 {
        match self.input {
            Input::Silence => SILENT_DBOV,
            Input::Pcm => pcm_dbov(&self.pcm[..]),
            Input::Conceal if !self.talker => SILENT_DBOV,
            Input::Frame | Input::Fec if self.codec == Codec::Pcmu => ulaw_dbov(&self.payload),
            Input::Frame | Input::Fec if opus_voice_activity(&self.payload) == Some(false) => {
                SILENT_DBOV
            }
            Input::Conceal | Input::Frame | Input::Fec => {
                self.decode(frame, stats);
                pcm_dbov(&self.pcm[..])
            }
        }
    }

    /// Runs the decoder for this frame's input into `pcm`. A decoder that
    /// skipped frames is reset first: its history belongs to audio long
    /// gone, and a fresh state starts cleanly on any packet.
    fn decode(&mut self, frame: u64, stats: &mut MixerStats) {
        if matches!(self.decoded_frame, Some(last) if last + 1 != frame) {
            self.decoder.reset();
        }
        let result = match self.input {
            Input::Frame => self
                .decoder
                .decode(&self.payload, &mut self.pcm)
                .map(|_| ()),
            Input::Fec => self
                .decoder
                .decode_fec(&self.payload, &mut self.pcm)
                .map(|_| ()),
            Input::Conceal => {
                self.decoder.conceal(&mut self.pcm);
                Ok(())
            }
            Input::Silence | Input::Pcm => {
                if self.input == Input::Silence {
                    *self.pcm = SILENCE;
                }
                self.pcm_frame = Some(frame);
                return;
            }
        };
        stats.decodes += 1;
        if let Err(error) = result {
            tracing::debug!(%error, "a mixer input that does not decode; concealed");
            stats.decode_errors += 1;
            self.decoder.conceal(&mut self.pcm);
        }
        self.decoded_frame = Some(frame);
        self.pcm_frame = Some(frame);
    }

    /// Out of the mix: back to the shared stream, and the own encoder is
    /// dropped so that the next time it is a talker it starts on a new one.
    fn demote(&mut self) {
        self.talker = false;
        self.own = Stream::default();
    }
}

#[cfg(test)]
mod tests;
