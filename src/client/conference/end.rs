//! How a conference ends for us: we leave (BYE the focus dialog,
//! unsubscribe, PROTOCOLS.md section 4 / conf-wire step 9), a leader ejects
//! us, or it ends for everyone (conf-wire step 8). The front end hears once;
//! the conference then lingers (see the parent module) and is forgotten.

use rsip::Method;
use rsip::headers::UntypedHeader as _;

use super::{ConferenceRequest, DECIDE_GRACE, LINGER, Phase};
use crate::client::{Client, Event, Purpose};
use crate::proto::Time;
use crate::proto::build::{self, status};
use crate::proto::dialog::dialog_id_of_request;
use crate::proto::transaction::TransactionKey;

/// Why we are out of a conference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// We left.
    Left,
    /// A leader removed us.
    Ejected,
    /// It ended for everyone.
    Ended,
}

impl Client {
    pub(super) fn leave_conference(&mut self, now: Time) -> Result<(), String> {
        let Some(conference) = self.conferencing.active() else {
            return Err("not in a conference".into());
        };
        if conference.phase == Phase::Creating {
            // Nothing to leave yet (no focus: the event names none); the
            // factory's answer will be ignored.
            self.conferencing.current = None;
            self.events.push_back(Event::ConferenceEnded {
                focus: String::new(),
            });
            return Ok(());
        }
        self.conclude(now, Outcome::Left);
        Ok(())
    }

    /// We are out: tell the front end, hang up the conference's audio,
    /// end the roster subscription, leave the focus dialog if we are the
    /// one leaving, and linger.
    pub(super) fn conclude(&mut self, now: Time, outcome: Outcome) {
        let Some(conference) = self.conferencing.active_mut() else {
            return;
        };
        conference.phase = Phase::Over;
        conference.decide_by = None;
        conference.linger_until = Some(now + LINGER);
        let focus = conference.focus_uri();
        let audio = conference.audio_call;
        let dropped: Vec<&'static str> = conference
            .queue
            .drain(..)
            .map(|control| control.command)
            .collect();
        tracing::info!(%focus, ?outcome, "out of the conference");
        for command in dropped {
            self.events.push_back(Event::CommandFailed {
                command,
                reason: "the conference is over".into(),
            });
        }
        self.events.push_back(match outcome {
            Outcome::Ejected => Event::Ejected { focus },
            Outcome::Left | Outcome::Ended => Event::ConferenceEnded { focus },
        });
        if self
            .call
            .as_ref()
            .is_some_and(|call| Some(call.id()) == audio)
        {
            let _ = self.hang_up(now);
        }
        self.end_roster_subscription(now);
        if outcome == Outcome::Left {
            self.send_focus_bye(now);
        }
        if self.call.is_none() {
            self.set_automatic_presence(now, None);
        }
    }

    /// A BYE; true if it ends our focus dialog. The focus hanging up does
    /// not say why: the roster will, within [`DECIDE_GRACE`].
    pub(in crate::client) fn conference_bye(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &rsip::Request,
    ) -> bool {
        let Some(conference) = self.conferencing.current.as_mut() else {
            return false;
        };
        let ours = conference.dialog.as_ref().is_some_and(|dialog| {
            dialog_id_of_request(request, true).as_ref() == Some(dialog.id())
        });
        if !ours {
            return false;
        }
        conference.dialog = None;
        conference.focus_gone = true;
        if conference.phase != Phase::Over && conference.decide_by.is_none() {
            conference.decide_by = Some(now + DECIDE_GRACE);
        }
        let ok = build::response_to(request, status(200), None);
        self.respond(now, key, ok);
        true
    }

    /// BYE on the focus dialog, if it is still up.
    pub(super) fn send_focus_bye(&mut self, now: Time) {
        let via = rsip::headers::Via::new(self.via());
        let Some(mut dialog) = self
            .conferencing
            .current
            .as_mut()
            .and_then(|conference| conference.dialog.take())
        else {
            return;
        };
        let bye = dialog.build_request(Method::Bye, via, None);
        let destination = super::dialog_destination(&dialog, self.config.server);
        self.send_request(
            now,
            bye,
            destination,
            Purpose::Conference(ConferenceRequest::Bye),
        );
    }

    /// Drops the conference, ending its focus dialog if nobody did.
    pub(super) fn forget_conference(&mut self, now: Time) {
        if self.conferencing.current.is_none() {
            return;
        }
        self.send_focus_bye(now);
        self.conferencing.current = None;
    }
}
