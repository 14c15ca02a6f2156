//! The legs of every conference on the MCU and their mixers: what the
//! MCU's driver runs, one call per [`IoRequest`](crate::proto::IoRequest),
//! datagram and tick, and the key presses and the legs' quality it
//! reports back.
//!
//! Invariants: every leg is a member of exactly one conference, the one
//! its key names; a started leg is a participant of that conference's
//! mixer and of no other.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{ConferenceLeg, ConferenceLegError};
use crate::media::FRAME_MS;
use crate::media::mixer::{Mixer, MixerConfig};
use crate::proto::rtp::NtpTime;
use crate::proto::sdp::NegotiatedAudio;
use crate::proto::{LegQuality, Time};

/// What a talker's frame keeps of spare time when the mix's phase is
/// brought forward: the send and scheduling jitter its buffer's target
/// does not see.
pub const PHASE_MARGIN: Duration = Duration::from_millis(3);
/// The most the phase moves in one tick.
pub const PHASE_STEP: Duration = Duration::from_millis(1);

/// Every open leg, grouped by conference key, with one N-1 mixer per
/// conference.
pub struct ConferenceMedia {
    config: MixerConfig,
    rng: StdRng,
    legs: HashMap<u64, ConferenceLeg>,
    conferences: HashMap<String, Conference>,
    /// Keys pressed on the legs (RFC 4733), oldest first: leg, key.
    dtmf: VecDeque<(u64, char)>,
    /// The legs whose RTCP report fell due on the last tick.
    reports_due: Vec<u64>,
}

struct Conference {
    mixer: Mixer<u64>,
    /// Its legs, started or not, in the order they opened.
    members: Vec<u64>,
    /// Scratch: the talkers of the frame being sent, with their levels.
    talkers: Vec<(u64, f32)>,
}

impl ConferenceMedia {
    /// `seed` draws each leg's SSRC, first sequence number and timestamp.
    pub fn new(config: MixerConfig, seed: u64) -> Self {
        ConferenceMedia {
            config,
            rng: StdRng::seed_from_u64(seed),
            legs: HashMap::new(),
            conferences: HashMap::new(),
            dtmf: VecDeque::new(),
            reports_due: Vec::new(),
        }
    }

    /// A new leg of `conference`; the conference's mixer is made with its
    /// first leg. The leg is not mixed until started.
    pub fn open_leg(&mut self, conference: &str, leg: u64) -> Result<(), ConferenceLegError> {
        if self.legs.contains_key(&leg) {
            return Err(ConferenceLegError::DuplicateLeg(leg));
        }
        self.legs
            .insert(leg, ConferenceLeg::new(conference, leg, self.rng.random()));
        self.conference_entry(conference).members.push(leg);
        Ok(())
    }

    /// `conference`, made with its mixer if it has no legs yet.
    fn conference_entry(&mut self, conference: &str) -> &mut Conference {
        self.conferences
            .entry(conference.to_owned())
            .or_insert_with(|| Conference {
                mixer: Mixer::new(self.config.clone()),
                members: Vec::new(),
                talkers: Vec::new(),
            })
    }

    /// Takes the leg out of its conference (and the conference's mixer);
    /// the conference goes with its last leg.
    fn leave(&mut self, conference: &str, leg: u64) {
        let Some(entry) = self.conferences.get_mut(conference) else {
            return;
        };
        entry.mixer.remove(leg);
        entry.members.retain(|&other| other != leg);
        if entry.members.is_empty() {
            self.conferences.remove(conference);
        }
    }

    /// The leg's peer and codec are agreed (again, after a re-INVITE): mix
    /// it, send to it if our direction sends. A new codec gives the leg a
    /// new decoder in the mixer and a new jitter buffer.
    pub fn start_leg(
        &mut self,
        leg: u64,
        audio: NegotiatedAudio,
    ) -> Result<(), ConferenceLegError> {
        let member = self
            .legs
            .get_mut(&leg)
            .ok_or(ConferenceLegError::UnknownLeg(leg))?;
        let conference = self
            .conferences
            .get_mut(member.conference())
            .ok_or(ConferenceLegError::UnknownLeg(leg))?;
        let was_started = member.is_started();
        let codec_changed = member.start(audio);
        let mixer = &mut conference.mixer;
        let result = (|| {
            if !was_started || codec_changed {
                mixer.remove(leg);
                mixer.add(leg, member.codec())?;
                mixer.set_muted_by_leader(leg, member.is_blocked())?;
            }
            mixer.set_listening(leg, member.is_listening())
        })();
        if let Err(error) = result {
            mixer.remove(leg);
            member.stop();
            return Err(error.into());
        }
        Ok(())
    }

    /// Takes the leg out of its mix and forgets it; the conference goes
    /// with its last leg. False if there was no such leg.
    pub fn close_leg(&mut self, leg: u64) -> bool {
        let Some(member) = self.legs.remove(&leg) else {
            return false;
        };
        self.leave(member.conference(), leg);
        true
    }

    /// Moves the leg into `conference` (made if it has no legs; the one it
    /// leaves goes with its last leg): from the next tick on it hears and
    /// is heard there only. Its stream goes on as it was: ports, SSRC,
    /// sequence, timestamp, codec, jitter buffer, direction and a leader's
    /// block. The first packet of the new mix is marked, a new talk spurt
    /// for the far end's playout (RFC 3551 §4.1). If the new mixer cannot
    /// take the leg (no decoder), the leg stays a member of `conference`,
    /// not started, and the error says why.
    pub fn move_leg(&mut self, leg: u64, conference: &str) -> Result<(), ConferenceLegError> {
        let old = self
            .legs
            .get(&leg)
            .ok_or(ConferenceLegError::UnknownLeg(leg))?
            .conference()
            .to_owned();
        if old == conference {
            return Ok(());
        }
        self.leave(&old, leg);
        let Some(member) = self.legs.get_mut(&leg) else {
            return Err(ConferenceLegError::UnknownLeg(leg));
        };
        member.conference = conference.to_owned();
        member.marker = true;
        let (started, codec, blocked, listening) = (
            member.is_started(),
            member.codec(),
            member.is_blocked(),
            member.is_listening(),
        );
        let entry = self.conference_entry(conference);
        entry.members.push(leg);
        if !started {
            return Ok(());
        }
        let mixer = &mut entry.mixer;
        let joined = (|| {
            mixer.add(leg, codec)?;
            mixer.set_muted_by_leader(leg, blocked)?;
            mixer.set_listening(leg, listening)
        })();
        if let Err(error) = joined {
            mixer.remove(leg);
            if let Some(member) = self.legs.get_mut(&leg) {
                member.stop();
            }
            return Err(error.into());
        }
        Ok(())
    }

    /// A leader blocked (muted) or unblocked the leg: a blocked leg is not
    /// mixed but still hears the conference.
    pub fn filter_leg(&mut self, leg: u64, blocked: bool) -> Result<(), ConferenceLegError> {
        let member = self
            .legs
            .get_mut(&leg)
            .ok_or(ConferenceLegError::UnknownLeg(leg))?;
        member.blocked = blocked;
        if member.is_started() {
            if let Some(conference) = self.conferences.get_mut(member.conference()) {
                conference.mixer.set_muted_by_leader(leg, blocked)?;
            }
        }
        Ok(())
    }

    pub fn leg(&self, leg: u64) -> Option<&ConferenceLeg> {
        self.legs.get(&leg)
    }

    /// How each started leg's audio fares, in leg order.
    pub fn qualities(&self) -> Vec<(u64, LegQuality)> {
        let mut qualities: Vec<_> = self
            .legs
            .iter()
            .filter(|(_, leg)| leg.is_started())
            .map(|(&id, leg)| (id, leg.quality()))
            .collect();
        qualities.sort_by_key(|(id, _)| *id);
        qualities
    }

    /// True while any leg is open: until then there is nothing to mix,
    /// report or measure, and the media task need not wake at all.
    pub fn has_legs(&self) -> bool {
        !self.legs.is_empty()
    }

    /// The keys of the conferences with legs.
    pub fn conferences(&self) -> impl Iterator<Item = &str> + '_ {
        self.conferences.keys().map(String::as_str)
    }

    /// An RTP datagram that came from the leg's peer.
    pub fn handle_packet(&mut self, now: Time, leg: u64, bytes: &[u8]) {
        let pressed = self
            .legs
            .get_mut(&leg)
            .and_then(|member| member.handle_packet(now, bytes));
        if let Some(digit) = pressed {
            self.dtmf.push_back((leg, digit));
        }
    }

    /// The next key pressed on a leg, in the order the presses began: the
    /// leg and the key (0-9, *, #, A-D), once per press (RFC 4733).
    pub fn poll_dtmf(&mut self) -> Option<(u64, char)> {
        self.dtmf.pop_front()
    }

    /// An RTCP datagram that came from the leg's peer.
    pub fn handle_rtcp(&mut self, now: Time, wall: NtpTime, leg: u64, bytes: &[u8]) {
        if let Some(member) = self.legs.get_mut(&leg) {
            member.handle_rtcp(now, wall, bytes);
        }
    }

    /// One 20 ms frame: every started leg's playout into its mixer, every
    /// mix out as one packet per listening leg, taken with
    /// [`ConferenceMedia::transmits`]; and the legs whose RTCP report is
    /// due noted, for [`ConferenceMedia::rtcp_reports`].
    pub fn tick(&mut self, now: Time) {
        self.reports_due.clear();
        for conference in self.conferences.values_mut() {
            for id in &conference.members {
                let Some(leg) = self.legs.get_mut(id) else {
                    continue;
                };
                leg.pending = false;
                if !leg.is_started() {
                    continue;
                }
                let playout = leg.playout(now);
                if let Err(error) = conference.mixer.push(*id, playout) {
                    tracing::debug!(%error, leg = id, "a leg the mixer does not know");
                }
            }
            // The mix is done by the call; its payloads are read below,
            // once the talkers are known.
            drop(conference.mixer.mix());
            conference.talkers.clear();
            conference.talkers.extend(conference.mixer.talker_levels());
            for (id, payload) in conference.mixer.payloads() {
                if let Some(leg) = self.legs.get_mut(&id) {
                    leg.send_mix(payload, &conference.talkers);
                }
            }
            for id in &conference.members {
                if let Some(leg) = self.legs.get_mut(id) {
                    leg.advance();
                    // Here, where every leg is at hand anyway, rather than
                    // in a walk of thousands of legs of its own each tick.
                    if leg.report_due(now, &mut self.rng) {
                        self.reports_due.push(*id);
                    }
                }
            }
        }
    }

    /// How much sooner than a frame after this one the next tick may come:
    /// the least time any talker's frame, played on this tick, was held
    /// beyond what its jitter buffer aims for, less `PHASE_MARGIN`, at
    /// most `PHASE_STEP`; zero with no talker. Ticking that much
    /// earlier, tick after tick, brings the mix's phase to just after the
    /// talkers' frames arrive: what a talker says goes out with the next
    /// mix rather than waiting up to a frame for it. It only ever moves
    /// earlier, a little at a time; a listener's stream comes that much
    /// sooner, once.
    pub fn tick_advance(&self) -> Duration {
        let frame = Duration::from_millis(FRAME_MS.into());
        let mut least: Option<Duration> = None;
        let talkers = self
            .conferences
            .values()
            .flat_map(|conference| conference.talkers.iter())
            .filter_map(|(id, _)| self.legs.get(id));
        for leg in talkers {
            let jitter = leg.jitter_stats();
            let spare = jitter.current_delay.saturating_sub(jitter.target_delay);
            if spare >= frame {
                // A whole frame too many: the buffer drops it itself; the
                // phase waits until it has.
                return Duration::ZERO;
            }
            least = Some(least.map_or(spare, |least| least.min(spare)));
        }
        least.map_or(Duration::ZERO, |spare| {
            spare.saturating_sub(PHASE_MARGIN).min(PHASE_STEP)
        })
    }

    /// The packets of the last tick: leg, destination, datagram.
    pub fn transmits(&self) -> impl Iterator<Item = (u64, SocketAddr, &[u8])> + '_ {
        self.legs
            .iter()
            .filter_map(|(&id, leg)| leg.transmit().map(|(to, datagram)| (id, to, datagram)))
    }

    /// The RTCP compounds that fell due on the last tick: leg, destination,
    /// datagram (`now` and `wall`: our clocks now, monotonic and as NTP
    /// time). Each leg is an RTP session of its own with its own report
    /// timer (RFC 3550 §6.3), started on the first tick after the leg
    /// starts: its first report comes 1.25-3.75 s later, then one every
    /// 2.5-7.5 s, each interval drawn anew. So legs that join together
    /// report apart, and a conference of thousands sends a few reports a
    /// tick rather than thousands in one burst that holds up the mix.
    pub fn rtcp_reports(&mut self, now: Time, wall: NtpTime) -> Vec<(u64, SocketAddr, Vec<u8>)> {
        let legs = &mut self.legs;
        self.reports_due
            .drain(..)
            .filter_map(|id| {
                let (to, datagram) = legs.get_mut(&id)?.rtcp_report(now, wall)?;
                Some((id, to, datagram))
            })
            .collect()
    }
}
