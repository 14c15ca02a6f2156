//! Our own presence, published with PUBLISH (RFC 3903) as a PIDF document
//! (RFC 3863, with RPID activities: see `proto::pidf`).
//!
//! The server hands back an entity tag; refreshes carry only that tag
//! (SIP-If-Match, no body) at half the granted expiry, and a change of state
//! replaces the document under the same tag. A 412 means the server forgot
//! us (it restarted): publish afresh. Nothing is published before we are
//! registered, and the last chosen state is published again after a
//! re-registration.

use std::time::Duration;

use rsip::headers::UntypedHeader;
use rsip::{Header, Method, Response};

use super::{Client, Event, Purpose};
use crate::proto::pidf::{self, Availability, PresenceDocument};
use crate::proto::{Time, message};

/// What we ask a publication to last.
const PUBLISH_EXPIRY: Duration = Duration::from_secs(600);
/// After a failure, try again in this long.
const RETRY_AFTER: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub(super) struct OwnPresence {
    /// What the user chose.
    pub availability: Availability,
    /// What the client sets by itself for a while (In a call), over the
    /// user's choice unless that is Do not disturb.
    automatic: Option<Availability>,
    pub note: Option<String>,
    etag: Option<String>,
    /// When to refresh (or retry); None while idle or in flight.
    next_at: Option<Time>,
    in_flight: bool,
    /// A change arrived while a PUBLISH was in flight: send it after.
    changed: bool,
}

impl OwnPresence {
    pub fn new() -> Self {
        OwnPresence {
            availability: Availability::Available,
            automatic: None,
            note: None,
            etag: None,
            next_at: None,
            in_flight: false,
            changed: false,
        }
    }

    pub fn poll_timeout(&self) -> Option<Time> {
        self.next_at
    }

    /// What watchers see: an automatic state, unless the user asked not to
    /// be disturbed.
    pub fn effective(&self) -> Availability {
        match self.automatic {
            Some(automatic) if self.availability != Availability::DoNotDisturb => automatic,
            _ => self.availability,
        }
    }

    /// Forget the server's tag (we registered afresh).
    pub fn reset(&mut self) {
        self.etag = None;
        self.next_at = None;
        self.in_flight = false;
        self.changed = false;
    }
}

impl Client {
    pub(super) fn set_presence(
        &mut self,
        now: Time,
        availability: Availability,
        note: Option<String>,
    ) -> Result<(), String> {
        if availability == Availability::Offline {
            return Err("offline is not a state to publish; quit to go offline".into());
        }
        self.own.availability = availability;
        if let Some(note) = note {
            let note = note.trim().to_owned();
            self.own.note = (!note.is_empty()).then_some(note);
        }
        if self.registration.is_registered() {
            self.publish(now, true);
        }
        Ok(())
    }

    /// Sets or clears the state the client sets by itself (In a call, In a
    /// conference) and publishes the change.
    pub(super) fn set_automatic_presence(&mut self, now: Time, automatic: Option<Availability>) {
        if self.own.automatic == automatic {
            return;
        }
        self.own.automatic = automatic;
        if self.registration.is_registered() {
            self.publish(now, true);
        }
    }

    /// Sends our document (`with_body`), or a bodiless refresh of it.
    pub(super) fn publish(&mut self, now: Time, with_body: bool) {
        if self.own.in_flight {
            self.own.changed |= with_body;
            return;
        }
        let with_body = with_body || self.own.etag.is_none();
        let mut extra = vec![
            Header::Event(rsip::headers::Event::new("presence")),
            Header::Expires(rsip::headers::Expires::new(
                PUBLISH_EXPIRY.as_secs().to_string(),
            )),
        ];
        if let Some(etag) = &self.own.etag {
            extra.push(Header::Other("SIP-If-Match".into(), etag.clone()));
        }
        let mut body = Vec::new();
        if with_body {
            let document = PresenceDocument {
                entity: self.aor.clone(),
                availability: self.own.effective(),
                note: self.own.note.clone(),
                contact: Some(self.contact.clone()),
            };
            extra.push(Header::ContentType(rsip::headers::ContentType::new(
                pidf::CONTENT_TYPE,
            )));
            body = document.to_xml().into_bytes();
        }
        self.own.in_flight = true;
        self.own.next_at = None;
        let aor = self.aor.clone();
        self.send_new_request(now, Method::Publish, &aor, extra, body, Purpose::Publish);
    }

    /// RFC 3903 §4.5: on the way out, remove our document, so watchers
    /// see our other endpoints' state (or Offline) at once, not when the
    /// publication would have expired.
    pub(super) fn unpublish(&mut self, now: Time) {
        let Some(etag) = self.own.etag.take() else {
            return;
        };
        self.own.next_at = None;
        let extra = vec![
            Header::Event(rsip::headers::Event::new("presence")),
            Header::Expires(rsip::headers::Expires::new("0")),
            Header::Other("SIP-If-Match".into(), etag),
        ];
        let aor = self.aor.clone();
        self.send_new_request(
            now,
            Method::Publish,
            &aor,
            extra,
            Vec::new(),
            Purpose::Unpublish,
        );
    }

    pub(super) fn publish_answered(&mut self, now: Time, response: Option<&Response>) {
        self.own.in_flight = false;
        let code = response.map_or(408, |response| response.status_code.code());
        match (code, response) {
            (200..=299, Some(response)) => {
                self.own.etag = message::header_value(&response.headers, "SIP-ETag")
                    .map(|etag| etag.trim().to_owned());
                let granted = response
                    .headers
                    .iter()
                    .find_map(|header| match header {
                        Header::Expires(expires) => expires.value().trim().parse::<u64>().ok(),
                        _ => None,
                    })
                    .map_or(PUBLISH_EXPIRY, Duration::from_secs);
                self.own.next_at = Some(now + granted / 2);
                let uri = self.aor.clone();
                self.events.push_back(Event::Presence {
                    uri,
                    availability: self.own.effective(),
                    note: self.own.note.clone().unwrap_or_default(),
                });
                if std::mem::take(&mut self.own.changed) {
                    self.publish(now, true);
                }
            }
            // RFC 3903 §6.3: the tag is unknown (the server restarted).
            (412, _) => {
                self.own.etag = None;
                self.publish(now, true);
            }
            _ => {
                tracing::info!(code, "PUBLISH failed; trying again later");
                self.own.next_at = Some(now + RETRY_AFTER);
            }
        }
    }

    pub(super) fn handle_publish_timer(&mut self, now: Time) {
        if self.own.next_at.is_some_and(|at| now >= at) && self.registration.is_registered() {
            let changed = std::mem::take(&mut self.own.changed);
            self.publish(now, changed || self.own.etag.is_none());
        }
    }
}
