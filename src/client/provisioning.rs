//! Provisioning and numbers: the location profile the client dials by
//! (PROTOCOLS.md section 6), and turning what the user typed into E.164.
//!
//! Once registered, the client subscribes (RFC 6665) to its own address of
//! record with `Event: vnd.confab.provisioning`; a confab server's NOTIFYs
//! carry the user's location profile and work number
//! (`proto::provisioning`), each reported as [`Event::Provisioned`]. Until
//! one arrives, and for good against a server without the package (a
//! plain registrar answers 489, or relays the SUBSCRIBE back to us for a
//! 405), the client dials by the US profile shipped in the binary, and
//! says so in the log.
//!
//! Text that looks like a number ([`looks_like_number`]) is normalized
//! before anything is sent: a call goes to `sip:+E164@domain;user=phone`
//! (rsip cannot carry `tel:` in a Request-URI; the server's mediation
//! gateway routes it), a conference dial-out names `tel:+E164` (RFC 3966)
//! in C3P, and a number no rule makes E.164 is refused with the reason.

#[cfg(test)]
mod tests;

use rsip::Response;

use super::subscription::{LocalInfo, Subscription, SubscriptionAction};
use super::{Client, Event, Purpose};
use crate::proto::address::uri_peer;
use crate::proto::location_profile::{LocationProfile, looks_like_number};
use crate::proto::provisioning::{self, CONTENT_TYPE, EVENT_PACKAGE};
use crate::proto::transaction::TransactionKey;
use crate::proto::{Peer, Time};

/// The provisioning subscription's duration.
const EXPIRY: std::time::Duration = std::time::Duration::from_secs(3600);

/// What the client knows of its own user's provisioning.
#[derive(Debug)]
pub(super) struct Provisioning {
    subscription: Option<Subscription>,
    /// The profile numbers are normalized by.
    profile: LocationProfile,
    /// The server sent `profile` (else it is the shipped fallback).
    from_server: bool,
    work_number: Option<String>,
}

impl Default for Provisioning {
    fn default() -> Provisioning {
        Provisioning {
            subscription: None,
            profile: LocationProfile::fallback(),
            from_server: false,
            work_number: None,
        }
    }
}

impl Provisioning {
    pub fn poll_timeout(&self) -> Option<Time> {
        self.subscription
            .as_ref()
            .and_then(Subscription::poll_timeout)
    }
}

impl Client {
    /// The location profile numbers are normalized by now.
    pub fn location_profile(&self) -> &LocationProfile {
        &self.provisioning.profile
    }

    /// The user's work number, as the server provisioned it.
    pub fn work_number(&self) -> Option<&str> {
        self.provisioning.work_number.as_deref()
    }

    /// After (re)registering: subscribe afresh (a restarted server knows
    /// no subscription of ours).
    pub(super) fn start_provisioning(&mut self, now: Time) {
        let aor = self.aor.clone();
        match Subscription::new(&aor, EVENT_PACKAGE, CONTENT_TYPE, EXPIRY) {
            Ok(subscription) => {
                self.provisioning.subscription = Some(subscription);
                self.provisioning_action(now, SubscriptionAction::SendSubscribe);
            }
            Err(error) => tracing::info!(%aor, %error, "cannot subscribe to provisioning"),
        }
    }

    /// On quitting: `Expires: 0` (RFC 6665 §4.1.2.3).
    pub(super) fn end_provisioning(&mut self, now: Time) {
        let local = self.provisioning_subscriber();
        let request = self
            .provisioning
            .subscription
            .as_mut()
            .and_then(|subscription| subscription.unsubscribe(&local, &mut self.ids));
        if let Some(request) = request {
            self.send_provisioning_request(now, request);
        }
    }

    /// The final answer to a provisioning SUBSCRIBE (`None`: no answer).
    pub(super) fn provisioning_answered(&mut self, now: Time, response: Option<&Response>) {
        let action =
            self.provisioning
                .subscription
                .as_mut()
                .and_then(|subscription| match response {
                    Some(response) => subscription.handle_response(now, response),
                    None => subscription.handle_transaction_timeout(now),
                });
        if let Some(action) = action {
            self.provisioning_action(now, action);
        }
    }

    /// A NOTIFY; true if the provisioning subscription took it.
    pub(super) fn provisioning_notify(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &rsip::Request,
    ) -> bool {
        let Some(subscription) = self
            .provisioning
            .subscription
            .as_mut()
            .filter(|subscription| subscription.matches_notify(request))
        else {
            return false;
        };
        let outcome = subscription.handle_notify(now, request);
        self.respond(now, key, outcome.response);
        match outcome.notification {
            Ok(notification) if !notification.body.is_empty() => {
                self.take_provisioning(&notification.body)
            }
            Ok(_) => {}
            Err(error) => tracing::info!(%error, "provisioning NOTIFY refused"),
        }
        if let Some(action) = outcome.action {
            self.provisioning_action(now, action);
        }
        true
    }

    /// The subscription's refresh and retry timers.
    pub(super) fn handle_provisioning_timer(&mut self, now: Time) {
        let action = self
            .provisioning
            .subscription
            .as_mut()
            .filter(|subscription| subscription.poll_timeout().is_some_and(|at| now >= at))
            .and_then(|subscription| subscription.handle_timeout(now));
        if let Some(action) = action {
            self.provisioning_action(now, action);
        }
    }

    /// [`super::Command::Normalize`]: the number made E.164, or why not.
    pub(super) fn normalize_command(&mut self, number: &str) -> Result<(), String> {
        let normalized = self
            .provisioning
            .profile
            .normalize(number)
            .map_err(|error| error.to_string())?;
        self.events.push_back(Event::Normalized {
            number: number.to_owned(),
            e164: normalized.e164,
            rule: normalized.rule.label().to_owned(),
        });
        Ok(())
    }

    /// The E.164 number `text` stands for if it looks like a number
    /// (`Ok(None)` if it does not: an address or a user name), or why it
    /// cannot be dialled.
    pub(super) fn phone_number(&self, text: &str) -> Result<Option<String>, String> {
        if !looks_like_number(text) {
            return Ok(None);
        }
        let normalized = self
            .provisioning
            .profile
            .normalize(text)
            .map_err(|error| error.to_string())?;
        tracing::debug!(%text, e164 = %normalized.e164, rule = %normalized.rule.label(), "number normalized");
        Ok(Some(normalized.e164))
    }

    fn take_provisioning(&mut self, body: &[u8]) {
        let document = match provisioning::parse(body) {
            Ok(document) => document,
            Err(error) => {
                tracing::info!(%error, "bad provisioning document; the profile stays as it was");
                return;
            }
        };
        self.provisioning.work_number = document.work_number.clone();
        match document.location_profile {
            Some(profile) => {
                tracing::info!(profile = %profile.name(), rules = profile.rules().len(), "location profile provisioned");
                self.provisioning.profile = profile;
                self.provisioning.from_server = true;
            }
            None => tracing::info!(
                profile = %self.provisioning.profile.name(),
                "the server provisions no location profile; keeping this one"
            ),
        }
        self.events.push_back(Event::Provisioned {
            location_profile: self.provisioning.profile.clone(),
            from_server: self.provisioning.from_server,
            work_number: document.work_number,
        });
    }

    fn provisioning_action(&mut self, now: Time, action: SubscriptionAction) {
        match action {
            SubscriptionAction::SendSubscribe => {
                let local = self.provisioning_subscriber();
                let request = self
                    .provisioning
                    .subscription
                    .as_mut()
                    .map(|subscription| subscription.build_subscribe(&local, &mut self.ids));
                if let Some(request) = request {
                    self.send_provisioning_request(now, request);
                }
            }
            SubscriptionAction::Stopped { code, reason } => {
                self.provisioning.subscription = None;
                if self.provisioning.from_server {
                    tracing::info!(?code, %reason, "provisioning subscription over; the profile stays");
                } else {
                    tracing::info!(
                        ?code,
                        %reason,
                        profile = %self.provisioning.profile.name(),
                        "the server provisions nothing; numbers are normalized by the shipped location profile"
                    );
                }
            }
        }
    }

    fn provisioning_subscriber(&self) -> LocalInfo {
        LocalInfo {
            aor: self.aor.clone(),
            contact: self.contact.clone(),
            local: self.config.local,
            transport: self.config.server.transport,
        }
    }

    fn send_provisioning_request(&mut self, now: Time, request: rsip::Request) {
        let destination = self.provisioning_destination();
        self.send_request(now, request, destination, Purpose::Provisioning);
    }

    /// In the subscription's dialog, its next hop; else our outbound proxy.
    fn provisioning_destination(&self) -> Peer {
        self.provisioning
            .subscription
            .as_ref()
            .and_then(Subscription::dialog)
            .and_then(|dialog| uri_peer(&dialog.next_hop()))
            .unwrap_or(self.config.server)
    }
}
