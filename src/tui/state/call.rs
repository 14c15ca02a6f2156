//! The call as the front end shows it: with whom, how far it got, who
//! holds it, and the DTMF keypad.
//!
//! The core runs one call at a time and reports it by events; this is
//! only what those events said, plus what we asked and have not heard
//! back about (a hold or resume, a hang-up), so the bar can say
//! "Holding…" and not offer the same thing twice.
//!
//! [`Call::offered`] is the one answer to "what can be done now": the
//! update dispatches only those actions and the bar hints only those.
//!
//! Invariant: `dial_pad` is open only while the call is connected.
//!
//! [`MediaMeters`] and [`CallStats`] are what the media task publishes
//! for the bar: peak levels and the receive-side RTP figures (RFC 3550
//! §6.4.1: fraction lost and interarrival jitter; round-trip time from
//! the sender report's LSR and DLSR).

use tui_input::Input;

use super::super::keys::Action;

/// How far a call got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallPhase {
    /// It rings here: the banner asks us to answer.
    Incoming,
    /// We answered; the call is not confirmed yet (RFC 3261 §13.3.1.4:
    /// it is up once the caller's ACK arrives).
    Answering,
    /// We called; nothing heard back yet.
    Calling,
    /// It rings at the other end (a 180 or 183 came back).
    Ringing,
    /// Talking, since `since_ms` (the time of the last tick before it).
    Connected { since_ms: i64 },
    /// Over; shown until `until_ms`, then gone.
    Ended { reason: String, until_ms: i64 },
}

/// The DTMF keypad: digits typed, sent on Enter.
#[derive(Debug, Clone, Default)]
pub struct DialPad {
    pub input: Input,
    /// What this keypad sent so far, for the user to check.
    pub sent: String,
}

/// The one call the core runs.
#[derive(Debug, Clone)]
pub struct Call {
    pub peer: String,
    pub phase: CallPhase,
    /// We hold the call: our re-INVITE went through.
    pub held_by_us: bool,
    /// The peer holds it: its re-INVITE said so.
    pub held_by_them: bool,
    /// A hold (`true`) or resume (`false`) we asked for; the next
    /// [`CallHeld`](crate::client::Event::CallHeld) answers it, since the
    /// core refuses the peer's re-INVITE while ours is pending (RFC 3261
    /// §14.2, 491).
    pub hold_pending: Option<bool>,
    /// We hung up, cancelled or declined; waiting for the end.
    pub hanging_up: bool,
    pub dial_pad: Option<DialPad>,
}

impl Call {
    pub fn new(peer: &str, phase: CallPhase) -> Call {
        Call {
            peer: peer.to_owned(),
            phase,
            held_by_us: false,
            held_by_them: false,
            hold_pending: None,
            hanging_up: false,
            dial_pad: None,
        }
    }

    /// Not yet over (an ended call is still shown for a while).
    pub fn is_live(&self) -> bool {
        !matches!(self.phase, CallPhase::Ended { .. })
    }

    /// Whether the banner asks to answer it.
    pub fn is_ringing_here(&self) -> bool {
        self.phase == CallPhase::Incoming && !self.hanging_up
    }

    /// Whole seconds talked by `now_ms`, once connected.
    pub fn talked_secs(&self, now_ms: i64) -> Option<i64> {
        match self.phase {
            CallPhase::Connected { since_ms } => {
                Some(now_ms.saturating_sub(since_ms).max(0) / 1000)
            }
            _ => None,
        }
    }

    /// The call actions that can be done now, in the order the bar hints
    /// them. Answering and declining are the banner's.
    pub fn offered(&self) -> Vec<Action> {
        if !self.is_live() || self.hanging_up {
            return Vec::new();
        }
        match self.phase {
            CallPhase::Incoming => vec![Action::HangUp, Action::Mute],
            CallPhase::Connected { .. } => {
                let mut actions = vec![Action::HangUp];
                if self.hold_pending.is_none() {
                    actions.push(Action::Hold);
                }
                actions.extend([Action::Mute, Action::DialTones]);
                actions
            }
            _ => vec![Action::HangUp, Action::Mute],
        }
    }
}

/// What the media task measured last, for the call bar.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MediaMeters {
    /// Peak of the microphone since the last, 0 to 1.
    pub input: f32,
    /// Peak sent to the speaker since the last, 0 to 1.
    pub output: f32,
    /// The call's RTP figures, once there are any.
    pub stats: Option<CallStats>,
    /// In a conference: whose voices the mixer sends us now, by CSRC (the
    /// roster's `src-id`), with their levels.
    pub speaking: crate::media::contributors::Contributors,
}

impl From<(f32, f32)> for MediaMeters {
    /// Levels alone, `(input, output)`.
    fn from((input, output): (f32, f32)) -> MediaMeters {
        MediaMeters {
            input,
            output,
            stats: None,
            speaking: Default::default(),
        }
    }
}

/// How the call's audio fares, as we receive it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CallStats {
    /// The codec in use: "Opus" or "PCMU".
    pub codec: &'static str,
    /// Packets lost of those the peer sent us, in percent (RFC 3550
    /// §6.4.1 fraction lost).
    pub loss_percent: f32,
    /// Interarrival jitter of what we receive (RFC 3550 §6.4.1).
    pub jitter_ms: f32,
    /// Round-trip time, once a report told us (RFC 3550 §6.4.1 LSR, DLSR).
    pub round_trip_ms: Option<f32>,
    /// Delay the jitter buffer adds now.
    pub buffer_ms: f32,
}

impl CallStats {
    /// The figures made fit to show: no NaN, nothing negative, loss at
    /// most 100%.
    pub fn sanitised(self) -> CallStats {
        let fit = |value: f32| {
            if value.is_finite() {
                value.max(0.0)
            } else {
                0.0
            }
        };
        CallStats {
            codec: self.codec,
            loss_percent: fit(self.loss_percent).min(100.0),
            jitter_ms: fit(self.jitter_ms),
            round_trip_ms: self.round_trip_ms.filter(|rtt| rtt.is_finite()).map(fit),
            buffer_ms: fit(self.buffer_ms),
        }
    }
}

/// A DTMF digit (RFC 4733 §3.2: events 0-15 are 0-9, *, #, A-D), as sent.
pub fn dtmf_digit(c: char) -> Option<char> {
    let c = c.to_ascii_uppercase();
    matches!(c, '0'..='9' | '*' | '#' | 'A'..='D').then_some(c)
}
