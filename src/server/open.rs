//! The server without authentication (`confab serve --no-auth`), for
//! trusted lab networks and benchmarks: no request is challenged.
//!
//! What would need digest credentials ([`Admission::Unauthenticated`]) is
//! taken at its word: a REGISTER is from the user its To names, anything
//! else from the user its From names, when that user is in the directory.
//! Nobody checks that claim, so anyone who reaches the port can sign in as
//! any user of the directory (and so receive that user's calls) and send
//! requests as any user.
//!
//! What it does not open: the server still relays nowhere it did not
//! relay before to strangers. A request gets in only as far as the server
//! itself or a user of the domain (a conference URI is one); one whose
//! next hop is another host (a Route of someone else's, or a contact
//! Request-URI in a dialog whose route token is not ours) is refused with
//! 403, as is any other domain. The users' registered contacts are the
//! only hosts it forwards to. The service refuses `--no-auth` together
//! with a trunk, so phone numbers cannot reach the telephone network
//! through it.
//!
//! [`Admission::Unauthenticated`]: super::policy::Admission::Unauthenticated

use rsip::{Method, Request};

use super::registrar::Aor;
use super::sip::{Server, Target};
use crate::proto::Time;
use crate::proto::build::status_with_reason;
use crate::proto::transaction::TransactionKey;

/// A request refused by [`Server::admit_unauthenticated`], answered already.
#[derive(Debug)]
pub(super) struct Refused;

impl Server {
    /// Challenges nothing: see the module documentation. Unsafe on any
    /// network whose every host is not trusted.
    pub fn without_authentication(mut self) -> Self {
        self.no_auth = true;
        self
    }

    /// The user an unauthenticated request claims to come from (None for
    /// someone outside the directory, let in like a trusted peer's
    /// request), or [`Refused`] once it has been answered.
    pub(super) fn admit_unauthenticated(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &Request,
        target: &Target,
    ) -> Result<Option<String>, Refused> {
        if matches!(target, Target::NextHop(_)) {
            // Only a route token of ours lets a request on to another host.
            let refusal = status_with_reason(403, "Relaying Denied");
            self.reply(now, key, request, refusal);
            return Err(Refused);
        }
        let register = request.method == Method::Register;
        let Some(claimed) = self.claimed_aor(request) else {
            // A REGISTER for another domain is answered 404 by the registrar.
            return Ok(None);
        };
        let user = self.directory_user(&claimed, register);
        if register && user.is_none() {
            // RFC 3261 §10.3 step 3: an address of record not valid here.
            self.reply(now, key, request, status_with_reason(404, "Not Found"));
            return Err(Refused);
        }
        Ok(user)
    }

    /// The directory user an address of record of the domain belongs to:
    /// its own user, or, for a REGISTER of a work number (a desk phone),
    /// the number's owner, as digest authentication would have it.
    fn directory_user(&self, aor: &Aor, register: bool) -> Option<String> {
        if register && super::gateway::is_e164(aor.user()) {
            return self.directory.owner_of_number(aor.user(), aor.domain());
        }
        self.directory
            .credentials(aor.user(), aor.domain())
            .map(|_| aor.user().to_owned())
    }
}

#[cfg(test)]
mod tests;
