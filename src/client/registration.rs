//! Staying registered (RFC 3261 §10.2), and noticing when the server goes.
//!
//! The state machine sends REGISTER, answers one digest challenge per
//! nonce, refreshes at half the granted expiry, and sends an OPTIONS
//! keep-alive on a fixed interval. A keep-alive or refresh that fails (no
//! answer, a 5xx) marks the registration failed and retries with a doubling
//! back-off, so a client re-registers by itself once a restarted server
//! answers again. Wrong credentials stop the retries: repeating them would
//! not help and could lock the account.

use std::time::Duration;

use crate::proto::Time;

/// The back-off after a failure starts here and doubles up to the cap.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(30);
/// A keep-alive with no answer in this long means the server is gone; far
/// shorter than Timer F so a restart is noticed quickly.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq)]
pub enum RegistrationState {
    /// Nothing sent yet.
    Idle,
    /// A REGISTER is in flight.
    Registering,
    /// Registered until `expires_at`; refresh at `refresh_at`. A refresh
    /// in flight leaves the state here: the binding is still good.
    Registered { expires_at: Time, refresh_at: Time },
    /// Failed; try again at `retry_at` (None: don't, credentials were refused).
    Failed { retry_at: Option<Time> },
    /// Unregistering on the way out.
    Unregistering,
    /// Done.
    Closed,
}

/// What the registration wants the client core to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum RegistrationAction {
    SendRegister,
    SendKeepAlive,
}

/// The timing half of registration; the client core owns the messages.
#[derive(Debug)]
pub struct Registration {
    state: RegistrationState,
    keepalive_interval: Duration,
    next_keepalive: Option<Time>,
    keepalive_deadline: Option<Time>,
    backoff: Duration,
}

impl Registration {
    pub fn new(keepalive_interval: Duration) -> Self {
        Registration {
            state: RegistrationState::Idle,
            keepalive_interval,
            next_keepalive: None,
            keepalive_deadline: None,
            backoff: FIRST_RETRY,
        }
    }

    pub fn state(&self) -> &RegistrationState {
        &self.state
    }

    pub fn is_registered(&self) -> bool {
        matches!(self.state, RegistrationState::Registered { .. })
    }

    pub fn start(&mut self) -> RegistrationAction {
        self.state = RegistrationState::Registering;
        RegistrationAction::SendRegister
    }

    /// A 2xx granted `expires`.
    pub fn registered(&mut self, now: Time, expires: Duration) {
        self.backoff = FIRST_RETRY;
        self.state = RegistrationState::Registered {
            expires_at: now + expires,
            refresh_at: now + expires / 2,
        };
        self.next_keepalive = self.next_keepalive_after(now);
        self.keepalive_deadline = None;
    }

    /// A zero interval turns keep-alives off.
    fn next_keepalive_after(&self, now: Time) -> Option<Time> {
        (!self.keepalive_interval.is_zero()).then(|| now + self.keepalive_interval)
    }

    /// The REGISTER failed for a reason worth retrying (timeout, 5xx).
    pub fn failed_retryable(&mut self, now: Time) {
        self.state = RegistrationState::Failed {
            retry_at: Some(now + self.backoff),
        };
        self.backoff = (self.backoff * 2).min(MAX_RETRY);
        self.next_keepalive = None;
        self.keepalive_deadline = None;
    }

    /// The server refused our credentials or our request: stop.
    pub fn failed_permanently(&mut self) {
        self.state = RegistrationState::Failed { retry_at: None };
        self.next_keepalive = None;
        self.keepalive_deadline = None;
    }

    pub fn keepalive_sent(&mut self, now: Time) {
        self.keepalive_deadline = Some(now + KEEPALIVE_TIMEOUT);
        self.next_keepalive = None;
    }

    /// Any answer from the server proves it is there.
    pub fn keepalive_answered(&mut self, now: Time) {
        self.keepalive_deadline = None;
        if self.is_registered() {
            self.next_keepalive = self.next_keepalive_after(now);
        }
    }

    pub fn unregistering(&mut self) {
        self.state = RegistrationState::Unregistering;
        self.next_keepalive = None;
        self.keepalive_deadline = None;
    }

    pub fn closed(&mut self) {
        self.state = RegistrationState::Closed;
    }

    /// What is due at `now`. A keep-alive past its deadline is a failure,
    /// reported by returning `Err(())` so the core can say so.
    pub fn handle_timeout(
        &mut self,
        now: Time,
    ) -> Result<Option<RegistrationAction>, KeepAliveLost> {
        if self
            .keepalive_deadline
            .is_some_and(|deadline| now >= deadline)
        {
            self.failed_retryable(now);
            return Err(KeepAliveLost);
        }
        match self.state {
            RegistrationState::Registered {
                refresh_at,
                expires_at,
            } if now >= refresh_at => {
                if now >= expires_at {
                    // The refresh went unanswered until the binding lapsed.
                    self.failed_retryable(now);
                    return Ok(None);
                }
                // One refresh per window; if it is lost, the transaction's
                // own timeout reports the failure.
                self.state = RegistrationState::Registered {
                    expires_at,
                    refresh_at: expires_at,
                };
                return Ok(Some(RegistrationAction::SendRegister));
            }
            RegistrationState::Failed {
                retry_at: Some(retry_at),
            } if now >= retry_at => {
                self.state = RegistrationState::Registering;
                return Ok(Some(RegistrationAction::SendRegister));
            }
            _ => {}
        }
        if self.next_keepalive.is_some_and(|at| now >= at) && self.is_registered() {
            return Ok(Some(RegistrationAction::SendKeepAlive));
        }
        Ok(None)
    }

    pub fn poll_timeout(&self) -> Option<Time> {
        let state_deadline = match self.state {
            RegistrationState::Registered { refresh_at, .. } => Some(refresh_at),
            RegistrationState::Failed { retry_at } => retry_at,
            _ => None,
        };
        [state_deadline, self.next_keepalive, self.keepalive_deadline]
            .into_iter()
            .flatten()
            .min()
    }
}

/// The server stopped answering keep-alives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAliveLost;

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> Time {
        Time::ZERO + Duration::from_secs(seconds)
    }

    #[test]
    fn refreshes_at_half_the_granted_expiry() {
        let mut registration = Registration::new(Duration::from_secs(30));
        assert_eq!(registration.start(), RegistrationAction::SendRegister);
        registration.registered(at(0), Duration::from_secs(300));
        assert_eq!(registration.poll_timeout(), Some(at(30)));
        assert_eq!(
            registration.handle_timeout(at(30)),
            Ok(Some(RegistrationAction::SendKeepAlive))
        );
        registration.keepalive_sent(at(30));
        registration.keepalive_answered(at(30));
        assert_eq!(registration.poll_timeout(), Some(at(60)));
        // Keep-alives continue every 30 s until the refresh at 150 s.
        for tick in [60, 90, 120] {
            assert_eq!(
                registration.handle_timeout(at(tick)),
                Ok(Some(RegistrationAction::SendKeepAlive))
            );
            registration.keepalive_sent(at(tick));
            registration.keepalive_answered(at(tick));
        }
        assert_eq!(registration.poll_timeout(), Some(at(150)));
        assert_eq!(
            registration.handle_timeout(at(150)),
            Ok(Some(RegistrationAction::SendRegister))
        );
    }

    #[test]
    fn a_lost_keepalive_fails_and_retries_with_doubling_backoff() {
        let mut registration = Registration::new(Duration::from_secs(30));
        registration.start();
        registration.registered(at(0), Duration::from_secs(300));
        registration.handle_timeout(at(30)).unwrap();
        registration.keepalive_sent(at(30));
        assert_eq!(registration.poll_timeout(), Some(at(35)));
        assert_eq!(registration.handle_timeout(at(35)), Err(KeepAliveLost));
        assert_eq!(registration.poll_timeout(), Some(at(36)));
        assert_eq!(
            registration.handle_timeout(at(36)),
            Ok(Some(RegistrationAction::SendRegister))
        );
        registration.failed_retryable(at(40));
        assert_eq!(
            registration.poll_timeout(),
            Some(at(42)),
            "second retry after 2 s"
        );
        registration.handle_timeout(at(42)).unwrap();
        registration.failed_retryable(at(42));
        assert_eq!(registration.poll_timeout(), Some(at(46)), "third after 4 s");
    }

    #[test]
    fn backoff_is_capped_and_reset_by_success() {
        let mut registration = Registration::new(Duration::from_secs(30));
        registration.start();
        for _ in 0..10 {
            registration.failed_retryable(at(0));
        }
        assert_eq!(registration.poll_timeout(), Some(at(30)));
        registration.registered(at(100), Duration::from_secs(60));
        registration.failed_retryable(at(100));
        assert_eq!(registration.poll_timeout(), Some(at(101)));
    }

    #[test]
    fn a_zero_interval_sends_no_keepalives() {
        let mut registration = Registration::new(Duration::ZERO);
        registration.start();
        registration.registered(at(0), Duration::from_secs(300));
        assert_eq!(
            registration.poll_timeout(),
            Some(at(150)),
            "only the refresh"
        );
    }

    #[test]
    fn refused_credentials_stop_the_retries() {
        let mut registration = Registration::new(Duration::from_secs(30));
        registration.start();
        registration.failed_permanently();
        assert_eq!(registration.poll_timeout(), None);
        assert_eq!(registration.handle_timeout(at(1000)), Ok(None));
    }
}
