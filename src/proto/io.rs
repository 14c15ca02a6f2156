//! What a core asks of the world besides sending SIP messages: the media of
//! a call, and the legs of a conference's audio mixer. The core decides (SDP
//! offer/answer, hold, mute, DTMF, who is mixed); the media task of the
//! driver does it. A client is given its RTP port when it is made; the A/V
//! MCU asks for a port pair per leg and is answered with an [`IoResult`],
//! and reports every few seconds how each leg's audio fares
//! ([`LegQuality`]).

/// A request from a core to whoever runs its media.
#[derive(Debug, Clone, PartialEq)]
pub enum IoRequest {
    /// Send to and receive from the negotiated peer (a new call, or a
    /// changed one after a re-INVITE: same call id).
    StartMedia {
        call: u64,
        audio: super::sdp::NegotiatedAudio,
    },
    /// The call is over: stop sending, close the stream.
    StopMedia { call: u64 },
    /// Our microphone: muted sends silence (comfort, not nothing: RTP keeps
    /// flowing so NATs and jitter buffers stay warm).
    Mute { muted: bool },
    /// RFC 4733 telephone-events for these digits (0-9, *, #, A-D).
    Dtmf { call: u64, digits: String },
    /// The A/V MCU needs an RTP/RTCP port pair for a new leg of
    /// `conference` (any key naming the mixer; legs with the same key are
    /// mixed together). Answered with [`IoResult::McuLegReady`] or
    /// [`IoResult::McuLegFailed`].
    McuOpenLeg { conference: String, leg: u64 },
    /// The leg's peer and codec are agreed (again, after a re-INVITE): mix
    /// it. Its voice is marked in the mix with CSRC `leg as u32`; an
    /// `audio.direction` that does not receive (hold) is sent nothing.
    McuStartLeg {
        leg: u64,
        audio: super::sdp::NegotiatedAudio,
    },
    /// The leg is over: close its ports and take it out of the mix.
    McuCloseLeg { leg: u64 },
    /// A leader blocked (muted) or unblocked the leg's audio.
    McuFilterLeg { leg: u64, blocked: bool },
    /// Mix the leg with the legs of `conference` from now on (a phone that
    /// dialled the access number and entered a conference's code), keeping
    /// its ports, SSRC and codec.
    McuMoveLeg { leg: u64, conference: String },
}

/// What the driver tells a core back about an [`IoRequest`], and what the
/// MCU's media task reports of its own accord.
#[derive(Debug, Clone, PartialEq)]
pub enum IoResult {
    /// The leg's RTP port (RTCP on the next one) is bound.
    McuLegReady { leg: u64, port: u16 },
    /// No port pair could be bound for the leg.
    McuLegFailed { leg: u64, reason: String },
    /// The leg's caller pressed a key (RFC 4733 telephone-event, reported
    /// once per key press): 0-9, *, #, A-D.
    McuDtmf { leg: u64, digit: char },
    /// How a started leg's audio fares, every few seconds while it is up.
    McuLegQuality { leg: u64, quality: LegQuality },
}

/// How one participant's audio reaches the MCU, from its RTP and RTCP
/// (RFC 3550 §6.4.1) and the leg's jitter buffer. Figures as measured,
/// unrounded: rounding is for whoever shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LegQuality {
    /// The codec in use, as a person reads it ("Opus", "PCMU").
    pub codec: &'static str,
    /// Of the packets the participant sent the MCU, the share lost, in
    /// percent (RFC 3550 §A.3, cumulative).
    pub loss_percent: f32,
    /// Interarrival jitter of what the participant sends (RFC 3550 §A.8).
    pub jitter_ms: f32,
    /// Round-trip time, once the participant's reports have told it (RFC
    /// 3550 §6.4.1 LSR and DLSR).
    pub round_trip_ms: Option<f32>,
    /// The delay the leg's jitter buffer adds now.
    pub buffer_ms: f32,
}
