//! What a core asks of the world besides sending SIP messages: today, the
//! media of a call. The core decides (SDP offer/answer, hold, mute, DTMF);
//! the media task of the driver does it, on the RTP port the core was given.

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
}
