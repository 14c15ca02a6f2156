//! How one REGISTER changes an AOR's bindings (RFC 3261 §10.3 steps 6-7).
//!
//! The request is applied to a working list that refers to the stored
//! bindings it leaves alone by position and holds only what it writes, so
//! a refused request changes nothing and an accepted one copies nothing: a
//! stored binding is a parsed URI and a few strings, a dozen allocations
//! that a registrar refreshing the same binding every few minutes, for every
//! user, would otherwise make and drop on each REGISTER.

use std::collections::HashMap;
use std::time::Duration;

use rsip::headers::{ToTypedHeader, UntypedHeader};

use super::contact::{self, ContactAddress, ContactKey, ContactValue, DeltaSeconds};
use super::{Aor, Binding, Entry, Registrar, RegistrarError, RegistrarEvent};
use crate::proto::{Peer, Time};

/// What every binding a request writes records of it (§10.3 step 7).
struct RequestFacts<'a> {
    call_id: &'a str,
    cseq: u32,
    source: Peer,
    now: Time,
}

/// One contact of a REGISTER and the expiry granted to it (0 removes).
struct ContactUpdate {
    address: ContactAddress,
    seconds: u32,
}

/// One binding of the working list: a stored one, by its position among
/// the AOR's stored entries, or one this request wrote.
// The list lives for one request and holds a few items; boxing the entry
// would cost each written binding an allocation to save a few hundred
// bytes of stack-like scratch.
#[allow(clippy::large_enum_variant)]
enum Working {
    Stored(usize),
    Written(Entry),
}

impl Working {
    fn entry<'a>(&'a self, stored: &'a [Entry]) -> &'a Entry {
        match self {
            Working::Stored(position) => &stored[*position],
            Working::Written(entry) => entry,
        }
    }
}

impl Registrar {
    pub(super) fn register(
        &mut self,
        now: Time,
        source: Peer,
        request: &rsip::Request,
        aor: &Aor,
    ) -> Result<(), RegistrarError> {
        let facts = RequestFacts {
            call_id: call_id(request)?,
            cseq: cseq(request)?,
            source,
            now,
        };
        let expires_header = request.headers.iter().find_map(|header| match header {
            rsip::Header::Expires(expires) => Some(DeltaSeconds::parse(expires.value())),
            _ => None,
        });
        let contacts = contact_values(request)?;
        if contacts.is_empty() {
            return Ok(());
        }
        let stored = self.aors.get(aor).map_or(&[][..], Vec::as_slice);

        if contacts.contains(&ContactValue::Star) {
            // RFC 3261 §10.3 step 6.
            if contacts.len() != 1 {
                return Err(RegistrarError::WildcardNotAlone);
            }
            if expires_header != Some(DeltaSeconds::Seconds(0)) {
                return Err(RegistrarError::WildcardWithoutZeroExpires);
            }
            for entry in stored {
                check_order(entry, &facts)?;
            }
            self.commit(aor, Vec::new());
            return Ok(());
        }

        // Every expiry is checked before any binding changes, so a 423 for
        // one contact leaves the others untouched.
        let mut requested = Vec::with_capacity(contacts.len());
        for value in contacts {
            let ContactValue::Address(address) = value else {
                return Err(RegistrarError::WildcardNotAlone);
            };
            let seconds = self.granted_expiry(address.expires.or(expires_header))?;
            requested.push(ContactUpdate {
                address: *address,
                seconds,
            });
        }

        let mut working: Vec<Working> = (0..stored.len()).map(Working::Stored).collect();
        for contact in requested {
            apply(stored, &mut working, &mut self.next_serial, &facts, contact)?;
        }
        let max = self.config.max_contacts;
        if working.len() > max && working.len() > stored.len() {
            return Err(RegistrarError::TooManyContacts { max });
        }
        self.commit(aor, working);
        Ok(())
    }

    /// RFC 3261 §10.3 step 7: the expiry granted to one contact; 0 removes.
    fn granted_expiry(&self, asked: Option<DeltaSeconds>) -> Result<u32, RegistrarError> {
        let config = &self.config;
        let requested = match asked {
            Some(DeltaSeconds::Seconds(seconds)) => seconds,
            Some(DeltaSeconds::Malformed) | None => config.default_expires,
        };
        if requested == 0 {
            return Ok(0);
        }
        if requested < config.min_expires {
            return Err(RegistrarError::IntervalTooBrief {
                requested,
                min_expires: config.min_expires,
            });
        }
        Ok(requested.min(config.max_expires))
    }

    /// Makes `working` the bindings of `aor`: keeps the expiry index and
    /// the flow counts in step, and reports the change as events.
    fn commit(&mut self, aor: &Aor, working: Vec<Working>) {
        let Registrar {
            aors,
            expiries,
            flows,
            events,
            ..
        } = self;
        let mut slot = aors.get_mut(aor);
        let mut entries = slot.as_deref_mut().map(std::mem::take).unwrap_or_default();
        let stored_count = entries.len();
        // What the request wrote goes after the stored entries, so that
        // their positions hold until the ones it replaced are dropped.
        let mut kept = vec![false; stored_count];
        for item in working {
            match item {
                Working::Stored(position) => kept[position] = true,
                Working::Written(entry) => entries.push(entry),
            }
        }
        let (stored, written) = entries.split_at(stored_count);
        // With nothing stored, nothing is kept: what was written is all.
        if stored.is_empty() && !written.is_empty() {
            events.push_back(RegistrarEvent::AorOnline { aor: aor.clone() });
        }
        for (gone, _) in stored.iter().zip(&kept).filter(|(_, kept)| !**kept) {
            let indexed = expiries.remove(&(gone.binding.expires_at, gone.serial));
            match written.iter().find(|entry| entry.serial == gone.serial) {
                // A refresh: its index entry moves, with the AOR it holds.
                Some(refreshed) => {
                    let key = (refreshed.binding.expires_at, refreshed.serial);
                    expiries.insert(key, indexed.unwrap_or_else(|| aor.clone()));
                    if refreshed.binding.source != gone.binding.source {
                        count_flow(flows, gone.binding.source, false);
                        count_flow(flows, refreshed.binding.source, true);
                    }
                }
                None => {
                    count_flow(flows, gone.binding.source, false);
                    events.push_back(RegistrarEvent::Unregistered {
                        aor: aor.clone(),
                        contact: gone.binding.contact.clone(),
                    });
                }
            }
        }
        for entry in written {
            if !stored.iter().any(|old| old.serial == entry.serial) {
                count_flow(flows, entry.binding.source, true);
                events.push_back(RegistrarEvent::Registered {
                    aor: aor.clone(),
                    contact: entry.binding.contact.clone(),
                });
                expiries.insert((entry.binding.expires_at, entry.serial), aor.clone());
            }
        }
        let mut position = 0;
        entries.retain(|_| {
            let keep = position >= stored_count || kept[position];
            position += 1;
            keep
        });
        match slot {
            Some(_) if entries.is_empty() => {
                aors.remove(aor);
                events.push_back(RegistrarEvent::AorOffline { aor: aor.clone() });
            }
            Some(slot) => *slot = entries,
            None if entries.is_empty() => {}
            None => {
                aors.insert(aor.clone(), entries);
            }
        }
    }
}

/// Adds, refreshes or removes the binding of one contact in the working
/// list (RFC 3261 §10.3 step 7). A binding this request already wrote is
/// not held to the Call-ID and CSeq rule: a contact listed twice meets its
/// own request, which is no sign of an out-of-order one.
fn apply(
    stored: &[Entry],
    working: &mut Vec<Working>,
    next_serial: &mut u64,
    facts: &RequestFacts<'_>,
    ContactUpdate { address, seconds }: ContactUpdate,
) -> Result<(), RegistrarError> {
    let key = ContactKey::of(&address.uri);
    // RFC 5626 §6: the same instance and reg-id is the same binding,
    // whatever its contact URI; otherwise §19.1.4 URI equality decides.
    let same_flow = |e: &Entry| match (&address.instance, address.reg_id) {
        (Some(instance), Some(reg_id)) => {
            e.binding.reg_id == Some(reg_id)
                && e.binding
                    .instance
                    .as_deref()
                    .is_some_and(|i| i.eq_ignore_ascii_case(instance))
        }
        _ => false,
    };
    let found = working
        .iter()
        .position(|w| same_flow(w.entry(stored)))
        .or_else(|| working.iter().position(|w| w.entry(stored).key == key));

    let serial = match found {
        Some(position) => {
            let existing = working[position].entry(stored);
            if let Working::Stored(_) = working[position] {
                check_order(existing, facts)?;
            }
            let serial = existing.serial;
            let same_uri = existing.key == key;
            working.remove(position);
            if seconds == 0 {
                return Ok(());
            }
            if same_uri {
                serial
            } else {
                fresh_serial(next_serial)
            }
        }
        None if seconds == 0 => return Ok(()),
        None => fresh_serial(next_serial),
    };
    // A flow that moved onto the URI of another binding absorbs it, so
    // that contact keys stay unique.
    working.retain(|w| w.entry(stored).key != key);
    working.push(Working::Written(Entry {
        serial,
        key,
        q: address.q,
        binding: Binding {
            contact: address.uri,
            contact_text: address.text,
            expires_at: facts.now + Duration::from_secs(u64::from(seconds)),
            q: address.q.map(|q| f32::from(q) / 1000.0),
            call_id: facts.call_id.to_owned(),
            cseq: facts.cseq,
            instance: address.instance,
            reg_id: address.reg_id,
            source: facts.source,
            refreshed_at: facts.now,
        },
    }));
    Ok(())
}

fn fresh_serial(next_serial: &mut u64) -> u64 {
    *next_serial += 1;
    *next_serial
}

/// RFC 3261 §10.3 step 7: same Call-ID needs a higher CSeq.
fn check_order(entry: &Entry, facts: &RequestFacts<'_>) -> Result<(), RegistrarError> {
    let binding = &entry.binding;
    if binding.call_id == facts.call_id && facts.cseq <= binding.cseq {
        return Err(RegistrarError::OutOfOrder {
            call_id: binding.call_id.clone(),
            stored: binding.cseq,
            received: facts.cseq,
        });
    }
    Ok(())
}

/// The Call-ID, also under its compact name `i` (RFC 3261 §7.3.3) in case
/// the message layer has not expanded it.
fn call_id(request: &rsip::Request) -> Result<&str, RegistrarError> {
    request
        .headers
        .iter()
        .find_map(|header| match header {
            rsip::Header::CallId(call_id) => Some(call_id.value()),
            rsip::Header::Other(name, value) if name.eq_ignore_ascii_case("i") => {
                Some(value.as_str())
            }
            _ => None,
        })
        .map(str::trim)
        .filter(|call_id| !call_id.is_empty())
        .ok_or(RegistrarError::MissingCallId)
}

fn cseq(request: &rsip::Request) -> Result<u32, RegistrarError> {
    request
        .headers
        .iter()
        .find_map(|header| match header {
            rsip::Header::CSeq(cseq) => Some(cseq.typed().map(|typed| typed.seq)),
            _ => None,
        })
        .and_then(Result::ok)
        .ok_or(RegistrarError::MalformedCseq)
}

/// Every Contact value of the request, in order, also under the compact
/// name `m`.
fn contact_values(request: &rsip::Request) -> Result<Vec<ContactValue>, RegistrarError> {
    let mut values = Vec::new();
    for header in request.headers.iter() {
        let raw = match header {
            rsip::Header::Contact(contact) => contact.value(),
            rsip::Header::Other(name, value) if name.eq_ignore_ascii_case("m") => value.as_str(),
            _ => continue,
        };
        values.extend(contact::parse_contact_header(raw)?);
    }
    Ok(values)
}

/// Counts a binding in or out of the flow it was last registered from.
pub(super) fn count_flow(flows: &mut HashMap<Peer, u32>, flow: Peer, added: bool) {
    if added {
        *flows.entry(flow).or_default() += 1;
    } else if let Some(count) = flows.get_mut(&flow) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            flows.remove(&flow);
        }
    }
}
