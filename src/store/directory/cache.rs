//! The HA1s the directory read lately, so that a busy registrar asks
//! SQLite once a minute per user rather than on every request (each query
//! takes and drops a file lock: two system calls and a page-cache check).
//!
//! Only users that exist are kept, so the cache is no bigger than the
//! directory however many names strangers try. An entry is used for
//! [`CREDENTIALS_TTL`] after it was read, so a change another process
//! makes to the database file is seen within that time; the directory's
//! own writes empty the cache at once. The clock is passed in.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::proto::digest::Credentials;

/// How long HA1s read from the database are used without reading again.
/// Short beside what a registration (up to two hours) or a nonce (five
/// minutes) already lets a removed user keep.
pub(super) const CREDENTIALS_TTL: Duration = Duration::from_secs(60);

/// See the module documentation. Keyed by user name (which strangers
/// choose, so the map keeps std's keyed SipHash against hash flooding),
/// then the domain, lowercase.
#[derive(Default)]
pub(super) struct CredentialsCache {
    entries: RefCell<HashMap<String, Vec<Cached>>>,
}

struct Cached {
    domain: String,
    credentials: Credentials,
    read_at: Instant,
}

impl CredentialsCache {
    /// The HA1s of `username` in `domain` if they were read less than
    /// [`CREDENTIALS_TTL`] before `now`.
    pub(super) fn get(&self, now: Instant, username: &str, domain: &str) -> Option<Credentials> {
        let entries = self.entries.borrow();
        entries
            .get(username)?
            .iter()
            .find(|cached| cached.domain.eq_ignore_ascii_case(domain))
            .filter(|cached| now.saturating_duration_since(cached.read_at) < CREDENTIALS_TTL)
            .map(|cached| cached.credentials.clone())
    }

    /// Keeps what was just read from the database.
    pub(super) fn put(
        &self,
        now: Instant,
        username: &str,
        domain: &str,
        credentials: &Credentials,
    ) {
        let mut entries = self.entries.borrow_mut();
        let domains = entries.entry(username.to_owned()).or_default();
        let cached = Cached {
            domain: domain.to_ascii_lowercase(),
            credentials: credentials.clone(),
            read_at: now,
        };
        match domains
            .iter_mut()
            .find(|old| old.domain.eq_ignore_ascii_case(domain))
        {
            Some(old) => *old = cached,
            None => domains.push(cached),
        }
    }

    /// Forgets everything: the directory changed.
    pub(super) fn clear(&self) {
        self.entries.borrow_mut().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(password: &str) -> Credentials {
        Credentials::from_password("amy", "confab.local", password)
    }

    #[test]
    fn an_entry_is_used_for_the_ttl_and_then_read_again() {
        let cache = CredentialsCache::default();
        let start = Instant::now();
        assert_eq!(cache.get(start, "amy", "confab.local"), None);
        cache.put(start, "amy", "confab.local", &credentials("a"));
        let almost = start + CREDENTIALS_TTL - Duration::from_millis(1);
        assert_eq!(
            cache.get(almost, "amy", "CONFAB.local"),
            Some(credentials("a"))
        );
        assert_eq!(
            cache.get(start + CREDENTIALS_TTL, "amy", "confab.local"),
            None
        );
        cache.put(
            start + CREDENTIALS_TTL,
            "amy",
            "confab.local",
            &credentials("b"),
        );
        assert_eq!(
            cache.get(start + CREDENTIALS_TTL, "amy", "confab.local"),
            Some(credentials("b"))
        );
    }

    #[test]
    fn users_are_told_apart_by_name_case_and_domain() {
        let cache = CredentialsCache::default();
        let now = Instant::now();
        cache.put(now, "amy", "confab.local", &credentials("a"));
        cache.put(now, "amy", "example.com", &credentials("e"));
        assert_eq!(cache.get(now, "Amy", "confab.local"), None);
        assert_eq!(cache.get(now, "amy", "example.com"), Some(credentials("e")));
        assert_eq!(
            cache.get(now, "amy", "confab.local"),
            Some(credentials("a"))
        );
        cache.clear();
        assert_eq!(cache.get(now, "amy", "confab.local"), None);
    }
}
