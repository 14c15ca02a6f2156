//! The conference focus, sans-IO: the focus factory that creates ad-hoc
//! conferences and the focus of each one, answering C3P ([MS-CONFBAS],
//! [MS-CONFPRO], PROTOCOLS.md section 2) and keeping the roster that RFC
//! 4575 NOTIFYs carry (PROTOCOLS.md section 3). SIP is not handled here: the
//! caller hands in parsed C3P requests with the authenticated address of
//! record of their sender, and the SIP-side events (a participant's focus
//! dialog ended, its audio call to the A/V MCU was answered or hung up),
//! and gets back C3P responses, [`RosterEvent`]s to act on (BYE an ejected
//! user, start a dial-out INVITE, mute at the mixer) and roster documents.
//!
//! - [`FocusFactory`]: one domain's conferences by ID:
//!   `getConferencingCapabilities`, `addConference`, `getConference`.
//! - [`Conference`]: one focus: joins (`addUser` carried by the INVITE),
//!   the in-dialog commands carried by INFO, and the roster.
//!
//! Choices where the specifications leave room (**confab:**):
//! - The requester's identity is the authenticated SIP address handed in,
//!   never the C3P `from` attribute, which the sender writes.
//! - A join refused because the conference is locked answers `otherFailure`,
//!   not `forbidden`: `forbidden` goes with [MS-OCER] 3014 ("the user's
//!   role does not allow"), which a newcomer without a role would misread.
//!   The SIP layer answers the INVITE 403.
//! - Dial-out (`addUser` with `mscp:mcuUri`, "invite a buddy") to another
//!   user is for presenters only; attendees get `forbidden`. Anyone present
//!   may have the A/V MCU call their own user entity ("call me at"). A
//!   lock keeps out those who come uninvited, not those a presenter calls.
//! - `deleteUser`, `modifyUserRoles`, `modifyEndpointMedia`,
//!   `modifyConferenceLock` and `deleteConference` are for presenters only;
//!   anyone else gets `forbidden` (with diagnostic 3014, see
//!   [`crate::proto::c3p::ms_diagnostics_header`]).
//! - `addConference` always picks a fresh ID with
//!   [`generate_conference_id`](crate::proto::conference_uri::generate_conference_id);
//!   an ID the creator proposes is ignored, so no one can squat on a
//!   guessable one.
//! - Roster versions: a conference keeps one version sequence and every
//!   subscription gets every NOTIFY, so all subscribers share the version
//!   numbers. RFC 4575 §4.6 counts versions per subscription from 1; a new
//!   subscriber's first document is full and carries the current version,
//!   which a receiver accepts whatever it is (a full document may skip),
//!   and the next partial is one newer for everyone.
//! - Call quality: the A/V MCU's figures for a participant's audio go into
//!   their audio medium (confab's `quality` extension), rounded, and only
//!   when one moved noticeably (loss by half a point, a delay by 5 ms, a
//!   new codec), so that NOTIFYs stay rare.
//!
//! Invariants: every user in a conference's roster has exactly one role,
//! `presenter` or `attendee`; an ended conference holds no users and
//! answers every command `conferenceDoesNotExist`; the conference ends
//! when no user is connected any more.

mod conference;
mod factory;

pub use conference::{
    AUDIO_MEDIA_ID, Conference, DELAY_STEP_MS, DialIn, LOSS_STEP_PERMILLE, moved_noticeably,
    roster_quality,
};
pub use factory::{FocusFactory, MAX_CONFERENCES, MCU_TYPES};

use thiserror::Error;

use crate::proto::c3p::{MediaFilter, Role};
use crate::proto::conference_info::DisconnectionMethod;

/// What a command or a SIP-side input changed, for the SIP layer to act
/// on. The roster documents for subscribers come separately, from
/// [`Conference::notify_document`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RosterEvent {
    /// A user entered the roster with this role.
    Joined {
        user: String,
        role: Role,
    },
    /// A user left the roster; `booted` when ejected, so the SIP layer
    /// sends BYE on its dialogs.
    Left {
        user: String,
        method: DisconnectionMethod,
    },
    RoleChanged {
        user: String,
        role: Role,
    },
    /// The A/V MCU is to take (`unblock`) or drop (`block`) this
    /// endpoint's audio in the mix.
    MediaFiltered {
        user: String,
        endpoint: String,
        filter: MediaFilter,
    },
    LockChanged {
        locked: bool,
    },
    /// The A/V MCU is to call `target` (PROTOCOLS.md section 2: the
    /// `refer-to-uri`, else the `endpoint-uri`, else the user entity) from
    /// `mcu_uri`, To the user; the roster shows `endpoint` dialing out.
    DialOut {
        user: String,
        endpoint: String,
        target: String,
        mcu_uri: String,
    },
    AudioJoined {
        user: String,
        endpoint: String,
    },
    AudioLeft {
        user: String,
        endpoint: String,
        method: DisconnectionMethod,
    },
    /// The conference is over: the SIP layer ends every dialog and
    /// subscription of it.
    Ended,
}

/// Why a SIP-side input could not be taken.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FocusError {
    #[error("the conference has ended")]
    Ended,
    #[error("the conference is locked")]
    Locked,
    #[error("{0} is not in the conference")]
    UnknownUser(String),
    #[error("the conference is full")]
    Full,
}

#[cfg(test)]
mod tests;
