//! Responses to the subscriber's SUBSCRIBE requests (RFC 6665 §4.1.2):
//! the dialog and refresh timing of a 2xx, and which failures are retried,
//! how soon, and which stop the subscription.

use std::time::Duration;

use rsip::headers::UntypedHeader as _;
use rsip::{Header, Request, Response};
use tracing::debug;

use super::{FIRST_RETRY, MAX_CHALLENGES, Outstanding, Phase, Subscription, SubscriptionAction};
use crate::proto::Time;
use crate::proto::dialog::Dialog;

impl Subscription {
    /// The final response to the outstanding SUBSCRIBE. Responses to any
    /// other request (a stale transaction) are ignored.
    pub fn handle_response(
        &mut self,
        now: Time,
        response: &Response,
    ) -> Option<SubscriptionAction> {
        let code = response.status_code.code();
        let answers = self
            .outstanding
            .as_ref()
            .is_some_and(|outstanding| same_transaction(&outstanding.request, response));
        if !answers || code < 200 {
            return None;
        }
        let outstanding = self.outstanding.take()?;
        if !matches!(code, 401 | 407) {
            self.challenges = 0;
        }
        match code {
            200..=299 => self.on_success(now, outstanding, response),
            401 | 407 => {
                self.challenges += 1;
                if self.challenges >= MAX_CHALLENGES {
                    return Some(self.stopped(Some(code), "credentials refused"));
                }
                Some(SubscriptionAction::SendSubscribe)
            }
            // RFC 6665 §4.2.1.1 (and RFC 3261 §10.2.8 for the pattern):
            // ask again with at least Min-Expires.
            423 => match min_expires(response) {
                Some(min) if u64::from(min) > self.expires.as_secs() => {
                    self.expires = Duration::from_secs(min.into());
                    Some(SubscriptionAction::SendSubscribe)
                }
                _ => self.on_failure(now, code, retry_after(response)),
            },
            _ => self.on_failure(now, code, retry_after(response)),
        }
    }

    /// The outstanding SUBSCRIBE got no response (RFC 3261 Timer F): a 408.
    pub fn handle_transaction_timeout(&mut self, now: Time) -> Option<SubscriptionAction> {
        self.outstanding.take()?;
        self.challenges = 0;
        self.on_failure(now, 408, None)
    }

    fn on_success(
        &mut self,
        now: Time,
        outstanding: Outstanding,
        response: &Response,
    ) -> Option<SubscriptionAction> {
        self.backoff = FIRST_RETRY;
        match &mut self.dialog {
            Some(dialog) => {
                // A 2xx from another fork than the NOTIFY's dialog changes
                // nothing here; that fork's NOTIFYs get 481.
                if let Err(error) = dialog.handle_response(response) {
                    debug!(%error, "2xx to SUBSCRIBE outside our dialog");
                }
            }
            None => match Dialog::from_uac(&outstanding.request, response) {
                Ok(dialog) => self.dialog = Some(dialog),
                Err(error) => {
                    debug!(%error, "2xx to SUBSCRIBE makes no dialog");
                    return self.on_failure(now, 500, None);
                }
            },
        }
        if outstanding.expires == 0 {
            // Unsubscribed. The dialog stays so the final NOTIFY still
            // matches and gets its 200.
            self.stop("unsubscribed");
            return None;
        }
        if self.phase == Phase::Unsubscribing {
            // Asked to unsubscribe while this SUBSCRIBE was in flight.
            return Some(SubscriptionAction::SendSubscribe);
        }
        let granted = granted_expires(response).unwrap_or(outstanding.expires);
        if granted == 0 {
            // A notifier that grants nothing: treat it as a failure rather
            // than refresh in a loop.
            return self.on_failure(now, 500, None);
        }
        self.schedule_refresh(now, Duration::from_secs(granted.into()));
        None
    }

    /// A failed SUBSCRIBE (`code` 408 for a timeout).
    fn on_failure(
        &mut self,
        now: Time,
        code: u16,
        retry_after: Option<Duration>,
    ) -> Option<SubscriptionAction> {
        if self.phase == Phase::Unsubscribing {
            return Some(self.stopped(Some(code), "unsubscribe failed"));
        }
        if self.dialog.is_some() {
            // RFC 6665 §4.1.2.2: these end the subscription; any other
            // failure leaves it valid until it lapses.
            let ends_dialog = matches!(code, 404 | 405 | 410 | 416 | 480..=485 | 489 | 501 | 604);
            if !ends_dialog {
                self.retry_later(now, retry_after);
                return None;
            }
            self.start_over();
            if code == 481 {
                // The notifier forgot us (a restart): subscribe anew at once.
                return Some(SubscriptionAction::SendSubscribe);
            }
        }
        if is_permanent(code) {
            return Some(self.stopped(Some(code), &format!("refused with {code}")));
        }
        // A new attempt is a new subscription: fresh Call-ID and tag.
        self.start_over();
        self.retry_later(now, retry_after);
        None
    }
}

/// Final failures no retry can fix: redirections (not followed), global
/// failures, and client errors about the request itself.
fn is_permanent(code: u16) -> bool {
    matches!(
        code,
        300..=399 | 400 | 403 | 404 | 405 | 406 | 410 | 413..=416 | 420 | 484 | 488 | 489 | 501 | 505 | 600..=699
    )
}

/// The response answers `request`: same Call-ID and CSeq.
fn same_transaction(request: &Request, response: &Response) -> bool {
    let request_ids = (call_id_of(request), cseq_of(request));
    request_ids.0.is_some() && request_ids == (call_id_of(response), cseq_of(response))
}

fn call_id_of(message: &impl rsip::message::HeadersExt) -> Option<String> {
    message
        .call_id_header()
        .ok()
        .map(|header| header.value().to_owned())
}

fn cseq_of(message: &impl rsip::message::HeadersExt) -> Option<String> {
    message
        .cseq_header()
        .ok()
        .map(|header| header.value().trim().to_owned())
}

fn granted_expires(response: &Response) -> Option<u32> {
    response
        .headers
        .iter()
        .find_map(|header| match header {
            Header::Expires(expires) => expires.value().trim().parse::<u64>().ok(),
            _ => None,
        })
        .map(|seconds| u32::try_from(seconds).unwrap_or(u32::MAX))
}

fn min_expires(response: &Response) -> Option<u32> {
    response.headers.iter().find_map(|header| match header {
        Header::MinExpires(value) => value.value().trim().parse().ok(),
        _ => None,
    })
}

/// RFC 3261 §20.33: the delta-seconds of Retry-After, comments ignored.
fn retry_after(response: &Response) -> Option<Duration> {
    response.headers.iter().find_map(|header| match header {
        Header::RetryAfter(value) => value
            .value()
            .split(|c: char| c == ';' || c == '(' || c.is_whitespace())
            .next()
            .and_then(|seconds| seconds.parse::<u64>().ok())
            .map(Duration::from_secs),
        _ => None,
    })
}
