//! The mediation gateway (PROTOCOLS.md section 6): where a call to an E.164
//! number goes. A number some user owns as their work number rings the desk
//! phones registered for it (a phone registers the number as its address of
//! record, with its owner's credentials), else the owner's other clients;
//! any other number goes to the PSTN side: a SIP trunk, or in local mode
//! the simulated phone line, a user of the domain that answers whatever it
//! is given. A call that came from the trunk is never sent back to it.
//!
//! Numbers travel as `sip:+NUMBER@domain;user=phone` (RFC 3261 §19.1.6):
//! the message layer refuses `tel:` URIs in SIP headers, and a `tel:` URI
//! in a C3P body is turned into that form here.

use crate::proto::{Peer, Time};
use crate::server::Server;
use crate::server::registrar::Aor;

/// Where numbers nobody here owns go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PstnRoute {
    /// A SIP trunk (a gateway or a provider), trusted to take calls to any
    /// number; it gets `sip:+NUMBER@ITS-ADDRESS;user=phone`.
    Trunk(Peer),
    /// A user of the domain standing in for the telephone network: in
    /// local mode, the simulated phone line.
    User(String),
}

/// `+` and 1 to 15 digits: an E.164 number (ITU-T E.164 §6.1).
pub fn is_e164(text: &str) -> bool {
    let Some(digits) = text.strip_prefix('+') else {
        return false;
    };
    (1..=15).contains(&digits.len()) && digits.bytes().all(|byte| byte.is_ascii_digit())
}

/// The E.164 number a dial-out target names: `tel:+NUMBER` (with any
/// parameters) or `sip:+NUMBER@host;user=phone`.
pub fn number_of_target(target: &str) -> Option<String> {
    let lower = target.to_ascii_lowercase();
    let rest = if lower.starts_with("tel:") {
        target.get(4..)?
    } else if lower.starts_with("sip:") || lower.starts_with("sips:") {
        let (_, rest) = target.split_once(':')?;
        rest.split_once('@')?.0
    } else {
        return None;
    };
    let number: String = rest
        .split(';')
        .next()?
        .chars()
        .filter(|c| !matches!(c, '-' | '.' | '(' | ')'))
        .collect();
    is_e164(&number).then_some(number)
}

impl Server {
    /// The address of record of a number in our domain.
    pub(super) fn number_aor(&self, e164: &str) -> Aor {
        Aor::new(e164, &self.domain)
    }

    /// Where a call to `e164` from `caller` goes: the desk phones
    /// registered for it, else (for a person's call, `to_owner`) its
    /// owner's clients, else the PSTN route; each with the Request-URI to
    /// use. Empty when there is no way to that number. A conference's
    /// dial-out does not ring the owner's clients: "call me at my work
    /// number" from a client means a phone, not that client.
    pub(super) fn number_route(
        &self,
        now: Time,
        e164: &str,
        caller: Peer,
        to_owner: bool,
    ) -> Vec<(Option<rsip::Uri>, Peer)> {
        let contacts_of = |aor: &Aor| -> Vec<(Option<rsip::Uri>, Peer)> {
            self.registrar
                .contacts(aor, now)
                .into_iter()
                .map(|binding| (Some(binding.contact), binding.source))
                .collect()
        };
        let desk_phones = contacts_of(&self.number_aor(e164));
        if !desk_phones.is_empty() {
            return desk_phones;
        }
        let owner = to_owner
            .then(|| self.directory.owner_of_number(e164, &self.domain))
            .flatten();
        if let Some(owner) = owner {
            let clients = contacts_of(&Aor::new(owner.as_str(), &self.domain));
            if !clients.is_empty() {
                return clients;
            }
        }
        match &self.pstn {
            Some(PstnRoute::Trunk(peer)) if peer.addr == caller.addr => Vec::new(),
            Some(PstnRoute::Trunk(peer)) => {
                let uri = format!(
                    "sip:{e164}@{}:{};user=phone",
                    peer.addr.ip(),
                    peer.addr.port()
                );
                match rsip::Uri::try_from(uri.as_str()) {
                    Ok(uri) => vec![(Some(uri), *peer)],
                    Err(error) => {
                        tracing::warn!(%error, "trunk URI");
                        Vec::new()
                    }
                }
            }
            Some(PstnRoute::User(user)) => contacts_of(&Aor::new(user.as_str(), &self.domain)),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_is_a_plus_and_up_to_fifteen_digits() {
        assert!(is_e164("+14255032002"));
        assert!(is_e164("+1"));
        assert!(!is_e164("14255032002"));
        assert!(!is_e164("+"));
        assert!(!is_e164("+1425503200212345"));
        assert!(!is_e164("+1425x032002"));
    }

    #[test]
    fn targets_name_numbers_as_tel_or_user_phone_uris() {
        assert_eq!(
            number_of_target("tel:+14255032002").as_deref(),
            Some("+14255032002")
        );
        assert_eq!(
            number_of_target("tel:+1-425-503-2002;phone-context=US").as_deref(),
            Some("+14255032002")
        );
        assert_eq!(
            number_of_target("sip:+14255032002@confab.local;user=phone").as_deref(),
            Some("+14255032002")
        );
        assert_eq!(number_of_target("sip:amy@confab.local"), None);
        assert_eq!(number_of_target("tel:5032002"), None);
        assert_eq!(number_of_target("mailto:+1@x"), None);
    }
}
