//! NOTIFYs as the subscriber receives them (RFC 6665 §4.1.3): which
//! dialog they belong to, their Subscription-State, and what that state
//! asks of the subscription.

use std::time::Duration;

use rsip::headers::{ToTypedHeader as _, UntypedHeader as _};
use rsip::message::HeadersExt as _;
use rsip::{Header, Request, Response};
use tracing::debug;

use super::{Phase, Subscription, SubscriptionAction, SubscriptionError};
use crate::proto::Time;
use crate::proto::build::{self, status};
use crate::proto::dialog::{Dialog, DialogError};
use crate::proto::message;

/// The Subscription-State of a NOTIFY (RFC 6665 §8.2.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyState {
    Active {
        expires: Option<Duration>,
    },
    /// Also what an unknown extension substate reads as: the subscription
    /// exists, its authorization is not known to be granted.
    Pending {
        expires: Option<Duration>,
    },
    Terminated {
        reason: Option<String>,
        retry_after: Option<Duration>,
    },
}

impl NotifyState {
    /// Parses a Subscription-State value (`active;expires=600`).
    pub fn parse(value: &str) -> Option<NotifyState> {
        let substate = value.split(';').next()?.trim().to_ascii_lowercase();
        let seconds = |name: &str| {
            message::param(value, name)
                .flatten()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs)
        };
        match substate.as_str() {
            "" => None,
            "active" => Some(NotifyState::Active {
                expires: seconds("expires"),
            }),
            "terminated" => Some(NotifyState::Terminated {
                reason: message::param(value, "reason")
                    .flatten()
                    .map(|reason| reason.trim().to_ascii_lowercase()),
                retry_after: seconds("retry-after"),
            }),
            _ => Some(NotifyState::Pending {
                expires: seconds("expires"),
            }),
        }
    }
}

/// A NOTIFY accepted by the subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub state: NotifyState,
    /// The Content-Type of the body, if it has one.
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// What a NOTIFY came to.
#[derive(Clone, Debug)]
pub struct NotifyOutcome {
    /// To send in the NOTIFY's server transaction.
    pub response: Response,
    pub notification: Result<Notification, SubscriptionError>,
    pub action: Option<SubscriptionAction>,
}

impl Subscription {
    /// Handles a NOTIFY the owner routed here (see
    /// [`Subscription::matches_notify`]; one that does not match gets 481).
    pub fn handle_notify(&mut self, now: Time, request: &Request) -> NotifyOutcome {
        match self.accept_notify(request) {
            Ok(notification) => {
                let action = self.follow(now, &notification.state);
                NotifyOutcome {
                    response: build::response_to(request, status(200), None),
                    notification: Ok(notification),
                    action,
                }
            }
            Err(error) => {
                debug!(%error, target = %self.target, "NOTIFY refused");
                let to_tag = Some(self.from_tag.as_str()).filter(|tag| !tag.is_empty());
                NotifyOutcome {
                    response: build::response_to(request, status(error.status()), to_tag),
                    notification: Err(error),
                    action: None,
                }
            }
        }
    }

    /// Checks the NOTIFY and brings the dialog up to date.
    fn accept_notify(&mut self, request: &Request) -> Result<Notification, SubscriptionError> {
        if !self.matches_notify(request) {
            return Err(SubscriptionError::NotOurs);
        }
        // RFC 6665 §8.2.1: the package must be ours and, as we send no
        // `id`, the NOTIFY must carry none.
        let event = request.headers.iter().find_map(|header| match header {
            Header::Event(event) => Some(event.value().to_owned()),
            _ => None,
        });
        let event = event.unwrap_or_default();
        let package = event.split(';').next().unwrap_or_default().trim();
        if package != self.package || message::param(&event, "id").is_some() {
            return Err(SubscriptionError::BadEvent(event.clone()));
        }
        let state = subscription_state(request)
            .and_then(NotifyState::parse)
            .ok_or(SubscriptionError::BadSubscriptionState)?;

        let dialog = match &mut self.dialog {
            Some(dialog) => dialog,
            None => {
                // RFC 6665 §4.1.2.4: the NOTIFY overtook the 2xx; it makes
                // the dialog. `matches_notify` made sure a SUBSCRIBE is out.
                let subscribe = &self
                    .outstanding
                    .as_ref()
                    .ok_or(SubscriptionError::NotOurs)?
                    .request;
                let dialog =
                    dialog_from_notify(subscribe, request).map_err(SubscriptionError::Dialog)?;
                self.dialog.insert(dialog)
            }
        };
        dialog
            .handle_request(request)
            .map_err(|error| match error {
                DialogError::OutOfOrder { cseq, remote } => {
                    SubscriptionError::OutOfOrder { cseq, remote }
                }
                DialogError::NotInDialog => SubscriptionError::NotOurs,
                other => SubscriptionError::Dialog(other),
            })?;

        let content_type = request.headers.iter().find_map(|header| match header {
            Header::ContentType(content_type) => Some(content_type.value().trim().to_owned()),
            _ => None,
        });
        Ok(Notification {
            state,
            content_type,
            body: request.body.clone(),
        })
    }

    /// What the Subscription-State of an accepted NOTIFY asks for.
    fn follow(&mut self, now: Time, state: &NotifyState) -> Option<SubscriptionAction> {
        if matches!(self.phase, Phase::Stopped { .. }) {
            // The final NOTIFY after an unsubscribe, or a late one.
            return None;
        }
        match state {
            NotifyState::Active { expires } | NotifyState::Pending { expires } => {
                self.pending = matches!(state, NotifyState::Pending { .. });
                // RFC 6665 §4.1.3: `expires` is authoritative.
                if let Some(expires) = expires.filter(|expires| !expires.is_zero()) {
                    self.schedule_refresh(now, expires);
                }
                None
            }
            NotifyState::Terminated {
                reason,
                retry_after,
            } => {
                // The dialog is over; whatever SUBSCRIBE is in flight in it
                // is answered into the void.
                self.outstanding = None;
                self.start_over();
                if self.phase == Phase::Unsubscribing {
                    self.stop("unsubscribed");
                    return None;
                }
                let reason = reason.as_deref();
                match reason {
                    Some("rejected" | "noresource" | "invariant") => {
                        let reason = reason.unwrap_or_default();
                        Some(self.stopped(None, reason))
                    }
                    Some("deactivated" | "timeout") => match retry_after {
                        Some(after) => {
                            self.wake_at = Some(now + *after);
                            None
                        }
                        None => Some(SubscriptionAction::SendSubscribe),
                    },
                    // probation, giveup, no reason or an unknown one.
                    _ => {
                        self.retry_later(now, *retry_after);
                        None
                    }
                }
            }
        }
    }
}

/// The Subscription-State value; rsip keeps the field as `Other`.
fn subscription_state(request: &Request) -> Option<&str> {
    request.headers.iter().find_map(|header| match header {
        Header::SubscriptionState(state) => Some(state.value()),
        Header::Other(name, value) if name.eq_ignore_ascii_case("Subscription-State") => {
            Some(value.as_str())
        }
        _ => None,
    })
}

/// RFC 6665 §4.1.2.4: the dialog a NOTIFY makes when it overtakes the 2xx
/// to `subscribe`. It is the dialog that 2xx would have made, so it is
/// made the same way, from a 2xx assembled from the NOTIFY: its From tag
/// as To tag, its Contact as remote target, and its Record-Route reversed
/// (the NOTIFY lists the proxies nearest us first, as a request received
/// does; a 2xx lists them the other way round).
fn dialog_from_notify(subscribe: &Request, notify: &Request) -> Result<Dialog, DialogError> {
    let notifier_tag = notify
        .from_header()
        .ok()
        .and_then(message::tag)
        .ok_or(DialogError::MissingTag("From"))?;
    let to = subscribe
        .to_header()
        .map_err(|_| DialogError::MissingHeader("To"))?
        .value()
        .to_owned();
    let mut headers = rsip::Headers::default();
    for header in subscribe.headers.iter() {
        if matches!(
            header,
            Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_)
        ) {
            headers.push(header.clone());
        }
    }
    headers.push(Header::To(rsip::headers::To::new(format!(
        "{to};tag={notifier_tag}"
    ))));
    let mut routes = Vec::new();
    for header in notify.headers.iter() {
        if let Header::RecordRoute(record_route) = header {
            let typed = record_route
                .typed()
                .map_err(|_| DialogError::MalformedHeader("Record-Route"))?;
            routes.extend(typed.uris().iter().map(ToString::to_string));
        }
    }
    for route in routes.into_iter().rev() {
        headers.push(Header::RecordRoute(rsip::headers::RecordRoute::new(route)));
    }
    if let Ok(contact) = notify.contact_header() {
        headers.push(Header::Contact(contact.clone()));
    }
    let response = Response {
        status_code: status(200),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    };
    Dialog::from_uac(subscribe, &response)
}
