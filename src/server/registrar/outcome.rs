//! What the registrar hands back: bindings, the facts of the response to a
//! REGISTER (RFC 3261 §10.3 step 8), and the events of the location service.

use super::contact;
use super::{Aor, RegistrarError};
use crate::proto::{Peer, Time};
use rsip::headers::UntypedHeader;

/// One binding of an AOR to a contact address.
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    /// The contact URI as registered, with its URI parameters.
    pub contact: rsip::Uri,
    /// The same URI as its REGISTER wrote it: what the 200 lists, so that
    /// a client that looks for its own contact there by text finds it.
    pub contact_text: String,
    pub expires_at: Time,
    /// The `q` parameter; ordering reads a missing one as 1.
    pub q: Option<f32>,
    pub call_id: String,
    pub cseq: u32,
    /// RFC 5626 instance ID (the URN, without quotes or angle brackets).
    pub instance: Option<String>,
    /// RFC 5626 reg-id; only kept together with an instance ID.
    pub reg_id: Option<u32>,
    /// Where the REGISTER that last refreshed this binding came from.
    pub source: Peer,
    /// When this binding was last created or refreshed.
    pub refreshed_at: Time,
}

impl Binding {
    /// Whole seconds left, as the `expires` parameter of a 200 reports
    /// them; at least 1 while the binding lives, since 0 would mean removed.
    pub fn expires_in(&self, now: Time) -> u32 {
        let left = self.expires_at - now;
        if left.is_zero() {
            return 0;
        }
        u32::try_from(left.as_secs()).unwrap_or(u32::MAX).max(1)
    }
}

/// What a REGISTER came to: the facts of the response to send.
#[derive(Clone, Debug, PartialEq)]
pub struct RegisterOutcome {
    pub status: u16,
    pub reason: &'static str,
    /// On 200, every live binding of the AOR (§10.3 step 8), in
    /// [`Registrar::contacts`](super::Registrar::contacts) order; empty otherwise.
    pub bindings: Vec<Binding>,
    /// On 423, the Min-Expires value.
    pub min_expires: Option<u32>,
    /// Why the request was refused, for logs and tests.
    pub error: Option<RegistrarError>,
}

impl RegisterOutcome {
    pub(super) fn ok(bindings: Vec<Binding>) -> RegisterOutcome {
        RegisterOutcome {
            status: 200,
            reason: "OK",
            bindings,
            min_expires: None,
            error: None,
        }
    }

    pub(super) fn refused(error: RegistrarError) -> RegisterOutcome {
        let min_expires = match error {
            RegistrarError::IntervalTooBrief { min_expires, .. } => Some(min_expires),
            _ => None,
        };
        RegisterOutcome {
            status: error.status(),
            reason: error.reason_phrase(),
            bindings: Vec::new(),
            min_expires,
            error: Some(error),
        }
    }

    pub fn is_success(&self) -> bool {
        self.status == 200
    }

    /// The status line's code and reason. Built as `StatusCode::Other` so
    /// that the reason phrase is ours: rsip prints its known codes with the
    /// variant name (`423 IntervalTooBrief`). Compare it by `.code()`.
    pub fn status_code(&self) -> rsip::StatusCode {
        rsip::StatusCode::Other(self.status, self.reason.to_owned())
    }

    /// The headers this outcome adds to the response: one Contact per
    /// binding with its remaining `expires` (§10.3 step 8), and Min-Expires
    /// on 423. No Date header: the cores have no wall clock.
    pub fn response_headers(&self, now: Time) -> Vec<rsip::Header> {
        let mut headers: Vec<rsip::Header> = self
            .bindings
            .iter()
            .map(|binding| {
                let mut value = format!(
                    "<{}>;expires={}",
                    binding.contact_text,
                    binding.expires_in(now)
                );
                if let Some(q) = binding.q {
                    let thousandths = (q * 1000.0).round().clamp(0.0, 1000.0) as u16;
                    value.push_str(&format!(";q={}", contact::format_qvalue(thousandths)));
                }
                if let Some(instance) = &binding.instance {
                    value.push_str(&format!(";+sip.instance=\"<{instance}>\""));
                }
                if let Some(reg_id) = binding.reg_id {
                    value.push_str(&format!(";reg-id={reg_id}"));
                }
                rsip::Header::Contact(rsip::headers::Contact::new(value))
            })
            .collect();
        if let Some(min_expires) = self.min_expires {
            headers.push(rsip::Header::MinExpires(min_expires.into()));
        }
        headers
    }
}

/// A change of the location service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistrarEvent {
    /// The AOR went from no binding to one.
    AorOnline { aor: Aor },
    /// A new binding (not a refresh of an existing one).
    Registered { aor: Aor, contact: rsip::Uri },
    /// A REGISTER removed the binding (`expires=0`, `*`, or a new contact
    /// for the same RFC 5626 instance and reg-id).
    Unregistered { aor: Aor, contact: rsip::Uri },
    /// The binding was not refreshed in time.
    BindingExpired { aor: Aor, contact: rsip::Uri },
    /// The AOR's last binding went, whatever the reason.
    AorOffline { aor: Aor },
}
