//! Provisioning at sign-in: the server's side of
//! `Event: vnd.confab.provisioning` (see [`crate::proto::provisioning`]).
//!
//! A client subscribes (RFC 6665) to its own address of record; the
//! presence agent's notifier carries the subscription (`presence` routes
//! it, and refuses anyone but the owner with 403), and every NOTIFY holds
//! the user's document built here: the location profile the directory
//! names for them (PROTOCOLS.md section 6; the default one when it names
//! none) out of the server's loaded set, and their work number.
//!
//! A profile the directory names but the server has not loaded, or a work
//! number that is not E.164, is logged and left out of the document; the
//! client then keeps its own profile. A user the directory does not know
//! ends the subscription with `noresource` (RFC 6665 §4.2.2).

#[cfg(test)]
mod tests;

use super::Server;
use super::registrar::Aor;
use crate::proto::location_profile::{self, LocationProfiles};
use crate::proto::provisioning::Provisioning;

impl Server {
    /// The location profiles the server hands out (the shipped ones until
    /// this is called).
    pub fn with_location_profiles(mut self, profiles: LocationProfiles) -> Server {
        self.location_profiles = profiles;
        self
    }

    pub fn location_profiles(&self) -> &LocationProfiles {
        &self.location_profiles
    }

    /// The provisioning document of the user `resource` names; `None` for
    /// no such user.
    pub(super) fn provisioning_document(&self, resource: &str) -> Option<Provisioning> {
        let aor = Aor::from_uri_text(resource)?;
        let (user, domain) = (aor.user(), aor.domain());
        self.directory.credentials(user, domain)?;
        let name = self
            .directory
            .location_profile(user, domain)
            .unwrap_or_else(|| location_profile::DEFAULT_PROFILE.to_owned());
        let profile = self.location_profiles.get(&name).cloned();
        if profile.is_none() {
            tracing::warn!(%resource, profile = %name, "the user's location profile is not loaded; none provisioned");
        }
        let work_number = self.directory.work_number(user, domain).filter(|number| {
            let valid = location_profile::is_e164(number);
            if !valid {
                tracing::warn!(%resource, %number, "work number not E.164; not provisioned");
            }
            valid
        });
        Some(Provisioning {
            user: aor.to_string(),
            work_number,
            location_profile: profile,
        })
    }
}
