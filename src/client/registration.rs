//! Staying registered (RFC 3261 §10.2), and noticing when the server goes.
//!
//! The state machine sends REGISTER, answers one digest challenge per
//! nonce, refreshes at half the granted expiry, and keeps its flow to the
//! server alive. A server that granted keep-alives (RFC 6223 `keep`) gets a
//! STUN Binding request at 80-100% of the interval it asked for (RFC 5626
//! §4.4.1), retransmitted on RFC 8489 §6.2.1's schedule; any other gets an
//! OPTIONS on the configured interval. Either kind unanswered for 5 s
//! means the server is gone: far sooner than STUN's own 39.5 s, since a
//! keep-alive is there to notice that quickly. A keep-alive or refresh that fails
//! (no answer, a 5xx) marks the registration failed and retries with a
//! doubling back-off, so a client re-registers by itself once a restarted
//! server answers again. Wrong credentials stop the retries: repeating them
//! would not help and could lock the account.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::proto::Time;

/// The back-off after a failure starts here and doubles up to the cap.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(30);
/// A keep-alive with no answer in this long means the server is gone; far
/// shorter than Timer F so a restart is noticed quickly.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);
/// RFC 8489 §6.2.1: a STUN request over UDP is sent again after 500 ms,
/// then at doubling intervals (0.5, 1.5 and 3.5 s within the timeout).
const STUN_FIRST_RTO: Duration = Duration::from_millis(500);

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
    /// The STUN keep-alive in flight, again, with the same transaction.
    ResendKeepAlive,
}

/// The timing half of registration; the client core owns the messages.
#[derive(Debug)]
pub struct Registration {
    state: RegistrationState,
    keepalive_interval: Duration,
    /// What the server granted in the last 2xx (RFC 6223): keep-alives
    /// are STUN, this often.
    granted_keep: Option<Duration>,
    next_keepalive: Option<Time>,
    keepalive_deadline: Option<Time>,
    /// The next retransmission of a STUN keep-alive, and the wait after it.
    stun_resend: Option<(Time, Duration)>,
    backoff: Duration,
    /// Spreads keep-alives over 80-100% of the granted interval.
    jitter: StdRng,
}

impl Registration {
    /// `keepalive_interval` zero: no keep-alives at all (and none offered
    /// to the server). `seed` makes the jitter repeatable.
    pub fn new(keepalive_interval: Duration, seed: u64) -> Self {
        Registration {
            state: RegistrationState::Idle,
            keepalive_interval,
            granted_keep: None,
            next_keepalive: None,
            keepalive_deadline: None,
            stun_resend: None,
            backoff: FIRST_RETRY,
            jitter: StdRng::seed_from_u64(seed),
        }
    }

    /// Whether to offer keep-alives in the Via of a REGISTER.
    pub fn offers_keep(&self) -> bool {
        !self.keepalive_interval.is_zero()
    }

    /// Whether keep-alives are STUN (the server granted them) rather than
    /// OPTIONS.
    pub fn uses_stun(&self) -> bool {
        self.granted_keep.is_some()
    }

    pub fn state(&self) -> &RegistrationState {
        &self.state
    }

    pub fn is_registered(&self) -> bool {
        matches!(self.state, RegistrationState::Registered { .. })
    }

    /// Registering afresh: keep-alives wait for the new registration.
    pub fn start(&mut self) -> RegistrationAction {
        self.state = RegistrationState::Registering;
        self.next_keepalive = None;
        self.keepalive_deadline = None;
        self.stun_resend = None;
        RegistrationAction::SendRegister
    }

    /// A 2xx granted `expires`, and keep-alives every `keep` if its Via
    /// said so.
    pub fn registered(&mut self, now: Time, expires: Duration, keep: Option<Duration>) {
        self.backoff = FIRST_RETRY;
        self.granted_keep = keep.filter(|_| self.offers_keep());
        self.stun_resend = None;
        self.state = RegistrationState::Registered {
            expires_at: now + expires,
            refresh_at: now + expires / 2,
        };
        self.next_keepalive = self.next_keepalive_after(now);
        self.keepalive_deadline = None;
    }

    /// A zero interval turns keep-alives off. Granted ones come at 80-100%
    /// of the shorter of the grant and our own interval.
    fn next_keepalive_after(&mut self, now: Time) -> Option<Time> {
        if self.keepalive_interval.is_zero() {
            return None;
        }
        let Some(granted) = self.granted_keep else {
            return Some(now + self.keepalive_interval);
        };
        let interval = granted.min(self.keepalive_interval);
        Some(now + interval.mul_f64(self.jitter.random_range(0.8..=1.0)))
    }

    /// The REGISTER failed for a reason worth retrying (timeout, 5xx).
    pub fn failed_retryable(&mut self, now: Time) {
        self.state = RegistrationState::Failed {
            retry_at: Some(now + self.backoff),
        };
        self.backoff = (self.backoff * 2).min(MAX_RETRY);
        self.next_keepalive = None;
        self.keepalive_deadline = None;
        self.stun_resend = None;
    }

    /// The server refused our credentials or our request: stop.
    pub fn failed_permanently(&mut self) {
        self.state = RegistrationState::Failed { retry_at: None };
        self.next_keepalive = None;
        self.keepalive_deadline = None;
        self.stun_resend = None;
    }

    pub fn keepalive_sent(&mut self, now: Time) {
        self.keepalive_deadline = Some(now + KEEPALIVE_TIMEOUT);
        self.next_keepalive = None;
        self.stun_resend = self
            .uses_stun()
            .then_some((now + STUN_FIRST_RTO, STUN_FIRST_RTO));
    }

    /// Any answer from the server proves it is there.
    pub fn keepalive_answered(&mut self, now: Time) {
        self.keepalive_deadline = None;
        self.stun_resend = None;
        if self.is_registered() {
            self.next_keepalive = self.next_keepalive_after(now);
        }
    }

    pub fn unregistering(&mut self) {
        self.state = RegistrationState::Unregistering;
        self.next_keepalive = None;
        self.keepalive_deadline = None;
        self.stun_resend = None;
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
        if let Some((at, waited)) = self.stun_resend.filter(|(at, _)| now >= *at) {
            let wait = waited * 2;
            self.stun_resend = Some((at + wait, wait));
            return Ok(Some(RegistrationAction::ResendKeepAlive));
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
        let resend = self.stun_resend.map(|(at, _)| at);
        [
            state_deadline,
            self.next_keepalive,
            self.keepalive_deadline,
            resend,
        ]
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
        let mut registration = Registration::new(Duration::from_secs(30), 1);
        assert_eq!(registration.start(), RegistrationAction::SendRegister);
        registration.registered(at(0), Duration::from_secs(300), None);
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
        let mut registration = Registration::new(Duration::from_secs(30), 1);
        registration.start();
        registration.registered(at(0), Duration::from_secs(300), None);
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
        let mut registration = Registration::new(Duration::from_secs(30), 1);
        registration.start();
        for _ in 0..10 {
            registration.failed_retryable(at(0));
        }
        assert_eq!(registration.poll_timeout(), Some(at(30)));
        registration.registered(at(100), Duration::from_secs(60), None);
        registration.failed_retryable(at(100));
        assert_eq!(registration.poll_timeout(), Some(at(101)));
    }

    #[test]
    fn a_zero_interval_sends_no_keepalives() {
        let mut registration = Registration::new(Duration::ZERO, 1);
        registration.start();
        registration.registered(at(0), Duration::from_secs(300), None);
        assert_eq!(
            registration.poll_timeout(),
            Some(at(150)),
            "only the refresh"
        );
    }

    fn at_ms(millis: u64) -> Time {
        Time::ZERO + Duration::from_millis(millis)
    }

    /// Registered at 0 with STUN keep-alives granted every 30 s.
    fn granted(seed: u64) -> Registration {
        let mut registration = Registration::new(Duration::from_secs(30), seed);
        registration.start();
        registration.registered(
            at(0),
            Duration::from_secs(300),
            Some(Duration::from_secs(30)),
        );
        registration
    }

    /// Granted, and its first STUN keep-alive just sent, at the time returned.
    fn keepalive_out() -> (Registration, Time) {
        let mut registration = granted(1);
        let sent = registration.poll_timeout().unwrap();
        registration.handle_timeout(sent).unwrap();
        registration.keepalive_sent(sent);
        (registration, sent)
    }

    #[test]
    fn granted_keepalives_are_stun_at_80_to_100_percent_of_the_grant() {
        let mut seen = Vec::new();
        for seed in 0..40 {
            let mut registration = granted(seed);
            assert!(registration.uses_stun());
            let next = registration.poll_timeout().unwrap();
            assert!(next >= at(24) && next <= at(30), "{next:?}");
            assert_eq!(
                registration.handle_timeout(next),
                Ok(Some(RegistrationAction::SendKeepAlive))
            );
            seen.push(next);
        }
        seen.sort();
        seen.dedup();
        assert!(
            seen.len() > 30,
            "spread, not one instant: {} distinct",
            seen.len()
        );
        // The same seed, the same schedule: runs repeat.
        assert_eq!(granted(7).poll_timeout(), granted(7).poll_timeout());
    }

    #[test]
    fn a_grant_longer_than_our_interval_keeps_ours() {
        let mut registration = Registration::new(Duration::from_secs(10), 3);
        registration.start();
        registration.registered(
            at(0),
            Duration::from_secs(300),
            Some(Duration::from_secs(120)),
        );
        let next = registration.poll_timeout().unwrap();
        assert!(next >= at(8) && next <= at(10), "{next:?}");
    }

    #[test]
    fn an_unanswered_stun_keepalive_is_sent_again_then_judged_lost() {
        let (mut registration, sent) = keepalive_out();
        let since = |millis: u64| sent + Duration::from_millis(millis);
        let mut resends = Vec::new();
        let now = loop {
            let now = registration.poll_timeout().unwrap();
            match registration.handle_timeout(now) {
                Ok(Some(RegistrationAction::ResendKeepAlive)) => resends.push(now),
                Err(KeepAliveLost) => break now,
                other => panic!("{other:?} at {now:?}"),
            }
        };
        assert_eq!(resends, [since(500), since(1500), since(3500)]);
        assert_eq!(now, since(5000), "lost after KEEPALIVE_TIMEOUT");
        assert!(!registration.is_registered());
    }

    #[test]
    fn an_answer_stops_the_retransmissions() {
        let (mut registration, sent) = keepalive_out();
        let resend = sent + Duration::from_millis(500);
        assert_eq!(
            registration.handle_timeout(resend),
            Ok(Some(RegistrationAction::ResendKeepAlive))
        );
        registration.keepalive_answered(resend + Duration::from_millis(20));
        let next = registration.poll_timeout().unwrap();
        assert!(
            next >= resend + Duration::from_secs(24),
            "the next keep-alive, not a resend: {next:?}"
        );
    }

    #[test]
    fn without_a_grant_or_with_keepalives_off_there_is_no_stun() {
        let mut registration = Registration::new(Duration::from_secs(30), 1);
        registration.start();
        registration.registered(at(0), Duration::from_secs(300), None);
        assert!(!registration.uses_stun());
        registration.handle_timeout(at(30)).unwrap();
        registration.keepalive_sent(at(30));
        assert_eq!(
            registration.poll_timeout(),
            Some(at(35)),
            "OPTIONS: no resend of our own"
        );

        let mut off = Registration::new(Duration::ZERO, 1);
        assert!(!off.offers_keep());
        off.start();
        off.registered(
            at_ms(0),
            Duration::from_secs(300),
            Some(Duration::from_secs(30)),
        );
        assert!(!off.uses_stun(), "a grant we did not ask for is ignored");
        assert_eq!(off.poll_timeout(), Some(at(150)));
    }

    #[test]
    fn registering_afresh_forgets_the_keepalive_timers() {
        let (mut registration, sent) = keepalive_out();
        registration.keepalive_answered(sent);
        assert_eq!(registration.start(), RegistrationAction::SendRegister);
        assert_eq!(
            registration.poll_timeout(),
            None,
            "no keep-alive, resend or deadline wakes a client that is not registered"
        );
    }

    #[test]
    fn refused_credentials_stop_the_retries() {
        let mut registration = Registration::new(Duration::from_secs(30), 1);
        registration.start();
        registration.failed_permanently();
        assert_eq!(registration.poll_timeout(), None);
        assert_eq!(registration.handle_timeout(at(1000)), Ok(None));
    }
}
