//! What a core asks of the world besides sending SIP messages: the media of
//! a call, and the legs of a conference's audio mixer. The core decides (SDP
//! offer/answer, hold, mute, DTMF, who is mixed); the media task of the
//! driver does it. A client is given its RTP port when it is made; the A/V
//! MCU asks for a port pair per leg and is answered with an [`IoResult`].

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

/// What the driver tells a core back about an [`IoRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoResult {
    /// The leg's RTP port (RTCP on the next one) is bound.
    McuLegReady { leg: u64, port: u16 },
    /// No port pair could be bound for the leg.
    McuLegFailed { leg: u64, reason: String },
    /// The leg's caller pressed a key (RFC 4733 telephone-event, reported
    /// once per key press): 0-9, *, #, A-D.
    McuDtmf { leg: u64, digit: char },
}
