//! Time as the sans-IO cores see it.
//!
//! Cores never read a clock: every input carries `now`, and every core says
//! when it next wants to be woken with `poll_timeout`. A [`Time`] is a
//! duration since an epoch the driver picks (its own start). Tests start at
//! [`Time::ZERO`] and advance by hand, so a 32-second Timer B takes no time.

use std::ops::{Add, AddAssign, Sub};
use std::time::Duration;

/// A point in time, measured from an epoch chosen by whoever drives the core.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(Duration);

impl Time {
    pub const ZERO: Time = Time(Duration::ZERO);

    pub const fn from_epoch(since_epoch: Duration) -> Self {
        Time(since_epoch)
    }

    pub const fn since_epoch(self) -> Duration {
        self.0
    }

    /// How long from `earlier` to `self`; zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Time) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Time {
    type Output = Time;

    fn add(self, rhs: Duration) -> Time {
        Time(self.0.saturating_add(rhs))
    }
}

impl AddAssign<Duration> for Time {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Time> for Time {
    type Output = Duration;

    fn sub(self, rhs: Time) -> Duration {
        self.saturating_since(rhs)
    }
}

/// The earlier of two optional deadlines; `None` means "never".
pub fn earliest(a: Option<Time>, b: Option<Time>) -> Option<Time> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        let t = Time::ZERO + Duration::from_millis(500);
        assert_eq!(t - Time::ZERO, Duration::from_millis(500));
        assert_eq!(Time::ZERO - t, Duration::ZERO);
        assert_eq!(earliest(Some(t), None), Some(t));
        assert_eq!(earliest(Some(t), Some(Time::ZERO)), Some(Time::ZERO));
        assert_eq!(earliest(None, None), None);
    }
}
