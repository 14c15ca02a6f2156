//! Conference membership: creating and joining conferences through the
//! focus with C3P ([MS-CONFBAS]; PROTOCOLS.md sections 2 and 4), the roster
//! subscription (RFC 4575 over RFC 6665), the conference's audio (a call to
//! the A/V MCU), the leader's commands, and conference IM through the IM
//! MCU (RFC 3428 MESSAGE, relayed back as RFC 3862 `message/cpim`).
//!
//! One conference at a time. Its life, in [`Phase`]s:
//! - `Creating`: SERVICE `addConference` to our focus factory is out;
//! - `Joining`: INVITE `addUser` (no SDP) to the focus is out; the 2xx is
//!   ACKed like any (RFC 3261 §13.2.2.4) and makes the focus dialog;
//! - `Joined`: the focus dialog carries the leader's commands as INFO, one
//!   at a time so that their CSeqs arrive in order (RFC 3261 §12.2.2), and
//!   the roster comes in NOTIFYs of a subscription to the focus;
//! - `Over`: the front end has been told (ConferenceEnded or Ejected); the
//!   conference lingers a few seconds so that the focus's BYE, the final
//!   NOTIFY and the answers still in flight get proper responses, then the
//!   focus dialog is ended if nobody ended it yet, and it is forgotten.
//!
//! How a conference ends for us is decided from two messages that race:
//! the focus's BYE on our focus dialog and the NOTIFY saying why. A NOTIFY
//! whose conference-state is inactive, or a subscription terminated with
//! `noresource` (RFC 6665 §4.1.3), means the conference ended; a NOTIFY
//! deleting us with disconnection-method `booted` (RFC 4575 §5.6.7)
//! means a leader ejected us, deleting us otherwise that we are out of it
//! all the same (reported as ended). A BYE that comes first waits up to
//! [`DECIDE_GRACE`] for that NOTIFY; with none, the conference was not
//! seen to end, so it was an ejection. Either way our audio call to the
//! A/V MCU is hung up.
//!
//! Invariants: at most one INFO is outstanding; a conference in `Over`
//! emits no event; the focus URI, once known, is canonical
//! ([`ConferenceUri`]'s `Display`), so the roster's entity compares equal.

mod control;
mod end;
mod im;
mod join;
mod roster;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::Duration;

use rsip::headers::UntypedHeader as _;
use rsip::{Header, Request, Response};

use super::subscription::{LocalInfo, Subscription};
use super::{Client, Command};
use crate::proto::address::uri_peer;
use crate::proto::c3p::{self, C3pCommand, C3pRequest};
use crate::proto::conference_info::Roster;
use crate::proto::conference_uri::{ConferencePart, ConferenceUri};
use crate::proto::dialog::Dialog;
use crate::proto::time::earliest;
use crate::proto::{Peer, Time};

use control::Control;

/// How long a BYE from the focus waits for the NOTIFY that says why.
const DECIDE_GRACE: Duration = Duration::from_secs(4);
/// How long an ended conference still answers its BYE and NOTIFYs.
const LINGER: Duration = Duration::from_secs(8);
/// The roster subscription's duration.
const ROSTER_EXPIRY: Duration = Duration::from_secs(1800);

/// Why a conference request was sent; carried in [`super::Purpose`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConferenceRequest {
    /// SERVICE `addConference` to the focus factory.
    Create,
    /// INVITE `addUser` to the focus.
    Join,
    /// INFO with a C3P command, for the named front-end command.
    Command(&'static str),
    /// SUBSCRIBE to the roster (it answers its own challenges).
    Subscribe,
    /// BYE on the focus dialog.
    Bye,
}

/// What became of a conference request.
pub(super) enum Answer<'a> {
    /// Its final response, and the request as last sent.
    Response {
        request: &'a Request,
        response: &'a Response,
    },
    /// No response (Timer F or B), or credentials refused.
    Failed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Creating,
    Joining,
    Joined,
    Over,
}

/// The client's conference, if any, and what outlives one.
#[derive(Debug, Default)]
pub(super) struct Conferencing {
    current: Option<Conference>,
    /// C3P `requestId`s: unique per sender ([MS-CONFBAS] 2.2.2).
    last_request_id: u64,
}

impl Conferencing {
    pub fn poll_timeout(&self) -> Option<Time> {
        let conference = self.current.as_ref()?;
        let subscription = conference
            .subscription
            .as_ref()
            .and_then(Subscription::poll_timeout);
        earliest(
            earliest(subscription, conference.decide_by),
            conference.linger_until,
        )
    }

    /// The conference the user is in (or entering), not one that is over.
    fn active(&self) -> Option<&Conference> {
        self.current.as_ref().filter(|c| c.phase != Phase::Over)
    }

    fn active_mut(&mut self) -> Option<&mut Conference> {
        self.current.as_mut().filter(|c| c.phase != Phase::Over)
    }
}

#[derive(Debug)]
struct Conference {
    /// The front-end command that started it, named in `CommandFailed`
    /// while the conference is being set up.
    origin: &'static str,
    phase: Phase,
    /// The focus; `None` while the focus factory has not answered.
    focus: Option<ConferenceUri>,
    /// The focus dialog, from the 2xx to our joining INVITE until a BYE.
    dialog: Option<Dialog>,
    /// Our role as the focus granted it (`presenter`, `attendee`).
    role: String,
    subscription: Option<Subscription>,
    roster: Roster,
    /// Our audio call to the A/V MCU, by its call id.
    audio_call: Option<u64>,
    /// Once joined, call the A/V MCU from this client (escalation).
    audio_after_join: bool,
    /// C3P commands waiting for the focus dialog, or for the INFO before.
    queue: VecDeque<Control>,
    info_in_flight: bool,
    /// The focus sent BYE on our focus dialog.
    focus_gone: bool,
    /// After such a BYE: when to decide, if no NOTIFY said why.
    decide_by: Option<Time>,
    /// In `Over`: when to forget the conference.
    linger_until: Option<Time>,
}

impl Conference {
    fn new(origin: &'static str, phase: Phase, focus: Option<ConferenceUri>) -> Conference {
        let roster = Roster::new(focus.as_ref().map(ToString::to_string).unwrap_or_default());
        Conference {
            origin,
            phase,
            focus,
            dialog: None,
            role: String::new(),
            subscription: None,
            roster,
            audio_call: None,
            audio_after_join: false,
            queue: VecDeque::new(),
            info_in_flight: false,
            focus_gone: false,
            decide_by: None,
            linger_until: None,
        }
    }

    /// The focus URI as text; empty before the factory answered.
    fn focus_uri(&self) -> String {
        self.focus
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// One of the conference's MCUs.
    fn mcu_uri(&self, part: ConferencePart) -> Option<String> {
        Some(self.focus.as_ref()?.with_part(part).ok()?.to_string())
    }
}

impl Client {
    pub(super) fn conference_command(
        &mut self,
        now: Time,
        command: &Command,
    ) -> Result<(), String> {
        match command {
            Command::CreateConference => {
                self.create_conference(now, "conference.create", false, &[])
            }
            Command::Escalate {
                with,
                via: crate::client::AudioVia::Client,
            } => self.create_conference(now, "escalate", true, with),
            Command::Escalate {
                with,
                via: crate::client::AudioVia::Phone { number },
            } => {
                // "Call me at": a number that will not do is refused before
                // any conference is made; the dial-out to our phone then
                // waits in line with the invitations until we are in the
                // focus.
                let call_me = self.phone_dial_out(number)?;
                self.create_conference(now, "escalate", false, with)?;
                self.queue_control(now, call_me);
                Ok(())
            }
            Command::JoinConferenceAudio { via } => self.join_conference_audio(now, via),
            Command::LeaveConference => self.leave_conference(now),
            Command::ConferenceIm { id, text } => self.send_conference_im(now, *id, text),
            Command::ConferenceTyping => self.send_conference_typing(now),
            other => self.conference_control(now, other),
        }
    }

    /// On quitting: leave the conference we are in, if any.
    pub(super) fn quit_conference(&mut self, now: Time) {
        if self.conferencing.active().is_some() {
            let _ = self.leave_conference(now);
        }
    }

    /// The conference's timers: the roster subscription's refreshes, the
    /// decision after a BYE, the end of lingering.
    pub(super) fn handle_conference_timer(&mut self, now: Time) {
        let due = |at: Option<Time>| at.is_some_and(|at| now >= at);
        let Some(conference) = self.conferencing.current.as_mut() else {
            return;
        };
        let action = conference
            .subscription
            .as_mut()
            .filter(|subscription| due(subscription.poll_timeout()))
            .and_then(|subscription| subscription.handle_timeout(now));
        let decide = conference.phase != Phase::Over && due(conference.decide_by);
        let forget = conference.phase == Phase::Over && due(conference.linger_until);
        if let Some(action) = action {
            self.roster_action(now, action);
        }
        if decide {
            // RFC 4575 never said the conference ended: the focus put us out.
            self.conclude(now, end::Outcome::Ejected);
        }
        if forget {
            self.forget_conference(now);
        }
    }

    /// A fresh C3P request to `to` carrying `command`.
    fn c3p_request(&mut self, to: &str, command: C3pCommand) -> C3pRequest {
        self.conferencing.last_request_id += 1;
        C3pRequest {
            request_id: self.conferencing.last_request_id,
            from: self.aor.clone(),
            to: to.to_owned(),
            command,
        }
    }

    fn subscriber_info(&self) -> LocalInfo {
        LocalInfo {
            aor: self.aor.clone(),
            contact: self.contact.clone(),
            local: self.config.local,
            transport: self.config.server.transport,
        }
    }

    fn cccp_content_type() -> Header {
        Header::ContentType(rsip::headers::ContentType::new(c3p::CONTENT_TYPE))
    }
}

/// The conference URI in a From value, if it names one: the text between
/// the angle brackets (after a quoted display name, which may hold any
/// character), read whole so that its `opaque` parameter survives.
pub(super) fn conference_uri_in(value: &str) -> Option<ConferenceUri> {
    let value = value.trim_start();
    let after_name = match value.strip_prefix('"') {
        // RFC 3261 §25.1: quoted-string, with quoted-pairs.
        Some(quoted) => {
            let mut escaped = false;
            let close = quoted.char_indices().find_map(|(index, c)| {
                let closes = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                closes.then_some(index)
            })?;
            quoted.get(close + 1..)?
        }
        None => value,
    };
    let start = after_name.find('<')?;
    let rest = after_name.get(start + 1..)?;
    let end = rest.find('>')?;
    ConferenceUri::parse(rest.get(..end)?).ok()
}

/// Where an in-dialog request goes: the dialog's next hop when it is an
/// address, else `server`, our outbound proxy.
fn dialog_destination(dialog: &Dialog, server: Peer) -> Peer {
    uri_peer(&dialog.next_hop()).unwrap_or(server)
}

/// Whether a call's peer is a conference's A/V MCU: its audio.
pub(super) fn is_conference_audio(peer: &str) -> bool {
    ConferenceUri::parse(peer).is_ok_and(|uri| uri.part == ConferencePart::AudioVideo)
}
