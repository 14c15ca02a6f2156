//! The registrar's location service: bindings from an address of record to
//! the contact addresses its user agents registered (RFC 3261 §10.3), with
//! several bindings per AOR so that one user can be signed in from several
//! clients at once (multiple points of presence, RFC 5626 in part).
//!
//! The server core authenticates the REGISTER and decides the [`Aor`] (§10.3
//! steps 1-5); [`Registrar::handle_register`] does steps 6-8 and returns a
//! [`RegisterOutcome`] that the server core turns into the response. Bindings
//! expire in virtual time: [`Registrar::poll_timeout`] says when the next one
//! does, [`Registrar::handle_timeout`] removes it, and every change of the
//! location service comes out of [`Registrar::poll_event`]. How one
//! REGISTER changes an AOR's bindings is in `edit.rs`.
//!
//! Of RFC 5626 the registrar keeps `+sip.instance` and `reg-id`, matches a
//! binding by (instance, reg-id) before its contact URI, so a client that
//! re-registers from a new address replaces its old binding (§6), and
//! remembers the [`Peer`] each REGISTER came from, which the proxy uses to
//! reach clients behind NAT or over their TCP connection. It does not
//! implement flow tokens, `Path`, or keep-alives.
//!
//! Invariants: within one AOR no two bindings have equal contact keys
//! (§19.1.4, see `contact.rs`); every stored binding has exactly one entry in
//! the expiry index, at its `expires_at`; an AOR with no bindings is not
//! stored; a REGISTER changes all of its bindings or none (§10.3 step 7).

mod aor;
mod contact;
mod edit;
mod error;
mod outcome;

use std::collections::{BTreeMap, HashMap, VecDeque};

use tracing::debug;

use crate::proto::{Peer, Time};
use contact::ContactKey;

pub use aor::Aor;
pub use error::RegistrarError;
pub use outcome::{Binding, RegisterOutcome, RegistrarEvent};

/// Local policy of the location service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Seconds granted when a contact asks for nothing, or asks with a
    /// malformed value (RFC 3261 §10.2.1.1 says to read that as 3600).
    pub default_expires: u32,
    /// Shorter non-zero requests are refused with 423 (§10.3 step 7).
    pub min_expires: u32,
    /// Longer requests are shortened to this (§10.3 step 7 allows it).
    pub max_expires: u32,
    /// Bindings one AOR may hold at once; a REGISTER that would go past it is
    /// refused with 403, see [`RegistrarError::TooManyContacts`].
    pub max_contacts: usize,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            default_expires: 3600,
            min_expires: 60,
            max_expires: 7200,
            max_contacts: 16,
        }
    }
}

/// A stored binding and what the registrar needs to find it again.
#[derive(Clone, Debug)]
struct Entry {
    /// Unique for the registrar's lifetime; keys the expiry index.
    serial: u64,
    key: ContactKey,
    /// The qvalue in thousandths, for exact ordering.
    q: Option<u16>,
    binding: Binding,
}

/// The location service. See the module documentation.
#[derive(Debug)]
pub struct Registrar {
    config: RegistrarConfig,
    aors: HashMap<Aor, Vec<Entry>>,
    /// (expires_at, serial) of every stored binding: the earliest expiry is
    /// the first key, and a refresh moves its entry (no stale entries).
    expiries: BTreeMap<(Time, u64), Aor>,
    /// How many stored bindings each flow (transport and source) last
    /// registered, so that keep-alives are answered only on flows that
    /// registered something.
    flows: HashMap<Peer, u32>,
    events: VecDeque<RegistrarEvent>,
    next_serial: u64,
}

impl Registrar {
    pub fn new(config: RegistrarConfig) -> Registrar {
        Registrar {
            config,
            aors: HashMap::new(),
            expiries: BTreeMap::new(),
            flows: HashMap::new(),
            events: VecDeque::new(),
            next_serial: 0,
        }
    }

    /// Whether a stored binding was last registered from `flow`.
    pub fn has_flow(&self, flow: Peer) -> bool {
        self.flows.contains_key(&flow)
    }

    pub fn config(&self) -> &RegistrarConfig {
        &self.config
    }

    /// Processes an authenticated REGISTER for `aor` that arrived from
    /// `source` (RFC 3261 §10.3 steps 6-8). With no Contact it is a query:
    /// 200 with the current bindings.
    pub fn handle_register(
        &mut self,
        now: Time,
        source: Peer,
        request: &rsip::Request,
        aor: &Aor,
    ) -> RegisterOutcome {
        // Bindings already due must neither be listed nor block this request.
        self.handle_timeout(now);
        match self.register(now, source, request, aor) {
            Ok(()) => RegisterOutcome::ok(self.contacts(aor, now)),
            Err(error) => {
                debug!(%aor, %source, %error, "REGISTER refused");
                RegisterOutcome::refused(error)
            }
        }
    }

    /// The live bindings of `aor`, highest q first (a missing q counts as
    /// 1), then the most recently refreshed first.
    pub fn contacts(&self, aor: &Aor, now: Time) -> Vec<Binding> {
        self.live_bindings(aor, now).into_iter().cloned().collect()
    }

    /// [`Self::contacts`] without copies, for a proxy that needs only
    /// where each binding is.
    pub fn live_bindings(&self, aor: &Aor, now: Time) -> Vec<&Binding> {
        let Some(entries) = self.aors.get(aor) else {
            return Vec::new();
        };
        let mut live: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.binding.expires_at > now)
            .collect();
        live.sort_by(|a, b| {
            let q = |e: &Entry| e.q.unwrap_or(1000);
            q(b).cmp(&q(a))
                .then(b.binding.refreshed_at.cmp(&a.binding.refreshed_at))
                .then(b.serial.cmp(&a.serial))
        });
        live.into_iter().map(|e| &e.binding).collect()
    }

    pub fn is_registered(&self, aor: &Aor, now: Time) -> bool {
        self.aors
            .get(aor)
            .is_some_and(|entries| entries.iter().any(|e| e.binding.expires_at > now))
    }

    /// Bindings stored, over all AORs (expired ones not yet timed out count).
    pub fn binding_count(&self) -> usize {
        self.expiries.len()
    }

    /// Removes every binding whose expiry is at or before `now`. A binding
    /// lives while `now < expires_at`.
    pub fn handle_timeout(&mut self, now: Time) {
        while let Some(entry) = self.expiries.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((_, serial), aor) = entry.remove_entry();
            let Some(entries) = self.aors.get_mut(&aor) else {
                continue;
            };
            let mut expired_flow = None;
            if let Some(position) = entries.iter().position(|e| e.serial == serial) {
                let expired = entries.remove(position);
                expired_flow = Some(expired.binding.source);
                self.events.push_back(RegistrarEvent::BindingExpired {
                    aor: aor.clone(),
                    contact: expired.binding.contact,
                });
            }
            let now_empty = entries.is_empty();
            if let Some(flow) = expired_flow {
                edit::count_flow(&mut self.flows, flow, false);
            }
            if now_empty {
                self.aors.remove(&aor);
                self.events.push_back(RegistrarEvent::AorOffline { aor });
            }
        }
    }

    /// When the earliest binding expires; cheap (the first key of a map).
    pub fn poll_timeout(&self) -> Option<Time> {
        self.expiries.first_key_value().map(|(&(at, _), _)| at)
    }

    pub fn poll_event(&mut self) -> Option<RegistrarEvent> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests;
