//! Answering SUBSCRIBE requests (RFC 6665 §4.2.1): initial ones, refreshes,
//! unsubscribes and fetches, and the refusals with their header fields.

use std::collections::VecDeque;
use std::time::Duration;

use rsip::headers::{ToTypedHeader as _, UntypedHeader as _};
use rsip::message::HeadersExt as _;
use rsip::{Header, Request, Response};

use super::{
    EventHeader, EventPackage, Notifier, NotifierError, SubscribeAction, SubscribeOutcome,
    Subscription, SubscriptionId,
};
use crate::proto::Time;
use crate::proto::build::{self, status, status_with_reason};
use crate::proto::dialog::{Dialog, DialogError, dialog_id_of_request};
use crate::proto::message;

impl Notifier {
    /// An initial SUBSCRIBE (RFC 6665 §4.2.1.1): a new dialog and subscription.
    pub(super) fn create(
        &mut self,
        now: Time,
        request: &Request,
        resource: &str,
    ) -> Result<SubscribeOutcome, NotifierError> {
        let event = self.served_event(request)?;
        let seconds = self.granted_expiry(request, &event.package)?;
        let local_tag = self.ids.tag();
        let mut dialog = Dialog::from_uas(request, &local_tag).map_err(NotifierError::Dialog)?;
        dialog.confirm();
        let subscriber = subscriber_aor(request)
            .ok_or(NotifierError::Dialog(DialogError::MalformedHeader("From")))?;

        let id = SubscriptionId(self.next_id);
        self.next_id += 1;
        let expires_at = now + Duration::from_secs(seconds.into());
        let dialog_id = dialog.id().clone();
        let key = (resource.to_owned(), event.package.clone());
        let ending = (seconds == 0).then(|| "timeout".to_owned());
        if ending.is_none() {
            self.by_dialog.insert(dialog_id, id);
            self.by_resource.entry(key).or_default().insert(id);
        }
        self.expiries.insert((expires_at, id));
        self.subscriptions.insert(
            id,
            Subscription {
                resource: resource.to_owned(),
                event,
                subscriber,
                dialog,
                expires_at,
                ending: ending.clone(),
                closed: false,
                in_flight: false,
                queue: VecDeque::new(),
            },
        );

        let mut response = build::response_to(request, status(200), Some(&local_tag));
        build::copy_record_route(request, &mut response);
        self.push_success_headers(&mut response, seconds);
        let action = match ending {
            Some(_) => SubscribeAction::Ending(id),
            None => SubscribeAction::Created(id),
        };
        Ok(SubscribeOutcome { response, action })
    }

    /// A SUBSCRIBE inside a dialog (RFC 6665 §4.2.1.2, §4.2.1.4).
    pub(super) fn refresh(
        &mut self,
        now: Time,
        request: &Request,
    ) -> Result<SubscribeOutcome, NotifierError> {
        let dialog_id =
            dialog_id_of_request(request, true).ok_or(NotifierError::NoSuchSubscription)?;
        let id = *self
            .by_dialog
            .get(&dialog_id)
            .ok_or(NotifierError::NoSuchSubscription)?;
        let event = EventHeader::of(request).ok_or(NotifierError::MissingEvent)?;
        let package = {
            let subscription = self
                .subscriptions
                .get(&id)
                .ok_or(NotifierError::NoSuchSubscription)?;
            if subscription.event != event {
                // Another event or id in this dialog: a second subscription
                // sharing it, which we do not offer (RFC 6665 §4.5.2).
                return Err(NotifierError::NoSuchSubscription);
            }
            event.package
        };
        let seconds = self.granted_expiry(request, &package)?;
        let subscription = self
            .subscriptions
            .get_mut(&id)
            .ok_or(NotifierError::NoSuchSubscription)?;
        subscription
            .dialog
            .handle_request(request)
            .map_err(|error| match error {
                DialogError::OutOfOrder { cseq, remote } => {
                    NotifierError::OutOfOrder { cseq, remote }
                }
                DialogError::NotInDialog => NotifierError::NoSuchSubscription,
                other => NotifierError::Dialog(other),
            })?;

        let old_expiry = (subscription.expires_at, id);
        subscription.expires_at = now + Duration::from_secs(seconds.into());
        let new_expiry = (subscription.expires_at, id);
        let action = if seconds == 0 {
            subscription.ending = Some("timeout".to_owned());
            let key = (subscription.resource.clone(), package);
            self.unindex(id, &dialog_id, &key);
            SubscribeAction::Ending(id)
        } else {
            SubscribeAction::Refreshed(id)
        };
        self.expiries.remove(&old_expiry);
        self.expiries.insert(new_expiry);

        let mut response = build::response_to(request, status(200), None);
        self.push_success_headers(&mut response, seconds);
        Ok(SubscribeOutcome { response, action })
    }

    /// The Event of a SUBSCRIBE, if its package is one we serve.
    fn served_event(&self, request: &Request) -> Result<EventHeader, NotifierError> {
        let event = EventHeader::of(request).ok_or(NotifierError::MissingEvent)?;
        if self.package(&event.package).is_none() {
            return Err(NotifierError::BadEvent(event.package));
        }
        Ok(event)
    }

    fn package(&self, name: &str) -> Option<&EventPackage> {
        self.config
            .packages
            .iter()
            .find(|package| package.name == name)
    }

    /// RFC 6665 §4.2.1.1: the duration granted, 0 for an unsubscribe or a
    /// fetch. A malformed Expires counts as none.
    fn granted_expiry(&self, request: &Request, package: &str) -> Result<u32, NotifierError> {
        let default = self
            .package(package)
            .map_or(self.config.max_expires, |package| package.default_expires);
        let requested = expires_of(request).unwrap_or(default);
        if requested == 0 {
            return Ok(0);
        }
        if requested < self.config.min_expires {
            return Err(NotifierError::IntervalTooBrief {
                requested,
                min_expires: self.config.min_expires,
            });
        }
        Ok(requested.min(self.config.max_expires))
    }

    fn push_success_headers(&self, response: &mut Response, seconds: u32) {
        response
            .headers
            .push(Header::Contact(rsip::headers::Contact::new(format!(
                "<{}>",
                self.config.contact
            ))));
        // RFC 6665 §4.2.1.1: a 2xx to SUBSCRIBE carries the granted Expires.
        response.headers.push(Header::Expires(seconds.into()));
    }

    pub(super) fn refusal(&mut self, request: &Request, error: &NotifierError) -> Response {
        let code = error.status();
        let status_code = match error {
            NotifierError::Dialog(_) => status_with_reason(400, &format!("Bad Request ({error})")),
            _ => status(code),
        };
        let tag = self.ids.tag();
        let mut response = build::response_to(request, status_code, Some(&tag));
        match error {
            NotifierError::MissingEvent | NotifierError::BadEvent(_) => {
                response.headers.push(self.allow_events())
            }
            NotifierError::IntervalTooBrief { min_expires, .. } => response
                .headers
                .push(Header::MinExpires((*min_expires).into())),
            NotifierError::NotSubscribe => response
                .headers
                .push(Header::Allow(rsip::headers::Allow::new("SUBSCRIBE"))),
            _ => {}
        }
        response
    }

    /// RFC 6665 §8.2.2: the packages we serve.
    fn allow_events(&self) -> Header {
        let names: Vec<&str> = self
            .config
            .packages
            .iter()
            .map(|package| package.name.as_str())
            .collect();
        Header::Other("Allow-Events".into(), names.join(", "))
    }
}

/// The Expires of a request, if it has a well-formed one; values past
/// `u32::MAX` count as `u32::MAX`.
fn expires_of(request: &Request) -> Option<u32> {
    request.headers.iter().find_map(|header| match header {
        Header::Expires(expires) => expires
            .value()
            .trim()
            .parse::<u64>()
            .ok()
            .map(|seconds| u32::try_from(seconds).unwrap_or(u32::MAX)),
        _ => None,
    })
}

/// The From URI without parameters or headers: the watcher's AOR.
fn subscriber_aor(request: &Request) -> Option<String> {
    let mut uri = request.from_header().ok()?.typed().ok()?.uri;
    message::repair_uri(&mut uri);
    uri.params.clear();
    uri.headers.clear();
    Some(uri.to_string())
}
