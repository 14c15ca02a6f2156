//! The driver's one deadline: [`DriverTimer`], on tokio's timer or, for a
//! driver whose core sleeps long between deadlines (a client between
//! keep-alives), partly on a one-shot Linux timerfd ([`DeadlineTimer`]).
//!
//! tokio's timer wheel reaches a far deadline in steps: it wakes at the
//! start of the deadline's slot at each level of the wheel and moves it
//! down, so 30 s ahead costs three wake-ups, not one. A timerfd makes
//! epoll wake once, when the deadline is due. Arming costs a system call,
//! so drivers that move their deadline on every message (a loaded server)
//! keep tokio's timer, and a client keeps its near deadlines there too:
//! they are mostly retransmission timers, cancelled by an answer a
//! millisecond later, which tokio arms and cancels without a system call.

use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::time::Duration;

use rustix::time::{
    Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, timerfd_create,
    timerfd_settime,
};
use tokio::io::unix::AsyncFd;
use tokio::time::{Instant, Sleep};

/// The shortest wait armed: a zero `it_value` would disarm the timerfd.
const AT_ONCE: Duration = Duration::from_nanos(1);
/// Deadlines at least this far ahead go on the timerfd, if there is one.
const FAR: Duration = Duration::from_secs(2);

/// Where a driver keeps its core's next deadline.
pub struct DriverTimer {
    sleep: Pin<Box<Sleep>>,
    /// Where `sleep` sits in tokio's wheel: a reset to a later deadline
    /// leaves it there, to wake once for nothing.
    registered: Option<Instant>,
    timerfd: Option<DeadlineTimer>,
    /// The timerfd is set and has not fired.
    timerfd_set: bool,
    /// The deadline armed, and whether it is on the timerfd.
    armed: Option<Instant>,
    on_timerfd: bool,
}

impl DriverTimer {
    pub fn new(timerfd: Option<DeadlineTimer>) -> DriverTimer {
        DriverTimer {
            sleep: Box::pin(tokio::time::sleep_until(Instant::now())),
            registered: None,
            timerfd,
            timerfd_set: false,
            armed: None,
            on_timerfd: false,
        }
    }

    pub fn is_armed(&self) -> bool {
        self.armed.is_some()
    }

    /// Arms for `deadline` (None: nothing due); nothing to do if it is the
    /// one armed.
    pub fn arm(&mut self, deadline: Option<Instant>) {
        if deadline == self.armed {
            return;
        }
        self.armed = deadline;
        let far = deadline.filter(|at| at.saturating_duration_since(Instant::now()) >= FAR);
        if let Some(timerfd) = &self.timerfd {
            // A near deadline leaves an idle timerfd alone: no call.
            if far.is_some() || self.timerfd_set {
                match timerfd.set(far) {
                    Ok(()) => self.timerfd_set = far.is_some(),
                    Err(error) => self.give_up_timerfd(error),
                }
            }
        }
        self.on_timerfd = far.is_some() && self.timerfd.is_some();
        match (deadline, self.on_timerfd) {
            (Some(deadline), false) => {
                if self.registered.is_some_and(|at| at < deadline) {
                    // A fresh timer: an idle client sleeps through.
                    self.sleep.set(tokio::time::sleep_until(deadline));
                } else {
                    self.sleep.as_mut().reset(deadline);
                }
                self.registered = Some(deadline);
            }
            _ if self.registered.is_some() => {
                // Out of tokio's wheel, or its park would still wake for
                // it: a Sleep never polled is not in the wheel.
                self.sleep.set(tokio::time::sleep_until(Instant::now()));
                self.registered = None;
            }
            _ => {}
        }
    }

    /// Returns once the armed deadline has passed (never while disarmed),
    /// and disarms.
    pub async fn expired(&mut self) {
        if self.armed.is_none() {
            return std::future::pending().await;
        }
        match (&self.timerfd, self.on_timerfd, self.armed) {
            (Some(timerfd), true, Some(due)) => {
                // A readiness left from an expiry superseded by re-arming
                // ends a wait early: the timer is still set, wait again.
                loop {
                    if let Err(error) = timerfd.expired().await {
                        // Due or not, the core checks its own deadlines.
                        self.give_up_timerfd(error);
                        break;
                    }
                    if Instant::now() >= due {
                        break;
                    }
                }
                self.timerfd_set = false;
            }
            _ => self.sleep.as_mut().await,
        }
        self.armed = None;
    }

    fn give_up_timerfd(&mut self, error: io::Error) {
        tracing::warn!(%error, "timerfd; back to tokio's timer");
        self.timerfd = None;
        self.timerfd_set = false;
        self.on_timerfd = false;
        self.registered = None;
    }
}

pub struct DeadlineTimer {
    fd: AsyncFd<OwnedFd>,
}

impl DeadlineTimer {
    /// A disarmed timer on the monotonic clock (the one tokio's `Instant`
    /// reads). Needs a tokio runtime with I/O enabled.
    pub fn new() -> io::Result<DeadlineTimer> {
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        // Deprecated for descriptors whose owner may close them while
        // registered (tokio #8587); this one is owned by the AsyncFd and
        // lives exactly as long as its registration. The replacement,
        // `register`, is unsafe, which this crate forbids.
        #[allow(deprecated)]
        let fd = AsyncFd::with_interest(fd, tokio::io::Interest::READABLE)?;
        Ok(DeadlineTimer { fd })
    }

    /// Arms the timer for `deadline`, or disarms it with `None`; a past
    /// deadline fires at once.
    pub fn set(&self, deadline: Option<Instant>) -> io::Result<()> {
        let value = match deadline {
            Some(deadline) => deadline
                .saturating_duration_since(Instant::now())
                .max(AT_ONCE),
            None => Duration::ZERO,
        };
        let spec = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: Timespec::try_from(value).map_err(io::Error::other)?,
        };
        timerfd_settime(self.fd.get_ref(), TimerfdTimerFlags::empty(), &spec)?;
        Ok(())
    }

    /// Returns once the armed deadline has passed; never while disarmed.
    ///
    /// It takes the expiry from epoll alone, without reading the count: a
    /// one-shot timerfd signals each expiry as a new edge, and arming it
    /// again resets the count. So a readiness left from an expiry that
    /// was superseded by re-arming can end one wait early, which
    /// [`DriverTimer`] checks against the clock; that is rarer and cheaper
    /// than a read on every expiry.
    pub async fn expired(&self) -> io::Result<()> {
        let mut guard = self.fd.readable().await?;
        guard.clear_ready();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;

    /// Bounds a wait that must end, so a broken timer fails the test.
    async fn within<F: Future>(what: &str, future: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(10), future)
            .await
            .unwrap_or_else(|_| panic!("{what}: still waiting after 10 s"))
    }

    #[tokio::test]
    async fn near_deadlines_wait_on_tokio_far_ones_on_the_timerfd() {
        let mut timer = DriverTimer::new(Some(DeadlineTimer::new().unwrap()));
        timer.arm(Some(Instant::now() + Duration::from_secs(3600)));
        assert!(
            timer.on_timerfd && timer.timerfd_set,
            "an hour ahead: the timerfd"
        );
        timer.arm(Some(Instant::now() + Duration::from_millis(5)));
        assert!(!timer.on_timerfd, "5 ms ahead: tokio's timer");
        assert!(
            !timer.timerfd_set,
            "and the far deadline is taken off the timerfd"
        );
        within("a near deadline", timer.expired()).await;
        assert!(!timer.is_armed(), "fired, so disarmed");

        let far = Instant::now() + FAR + Duration::from_millis(200);
        timer.arm(Some(far));
        assert!(
            timer.on_timerfd && timer.registered.is_none(),
            "nothing left in tokio's wheel"
        );
        within("a far deadline", timer.expired()).await;
        assert!(Instant::now() >= far, "not before it was due");
        assert!(!timer.timerfd_set, "a one-shot timerfd is spent once fired");
    }

    #[tokio::test]
    async fn without_a_timerfd_every_deadline_is_on_tokio() {
        let mut timer = DriverTimer::new(None);
        timer.arm(Some(Instant::now() + Duration::from_secs(3600)));
        assert!(!timer.on_timerfd && timer.registered.is_some());
        timer.arm(None);
        assert!(!timer.is_armed() && timer.registered.is_none());
        timer.arm(Some(Instant::now()));
        within("a deadline due now", timer.expired()).await;
    }

    #[tokio::test]
    async fn fires_when_due_and_not_before_nor_when_disarmed() {
        let timer = DeadlineTimer::new().unwrap();
        timer.set(Some(Instant::now())).unwrap();
        timer.expired().await.unwrap();

        let not_yet = |timer: &DeadlineTimer| {
            // Polled once: ready only if it has fired.
            let mut expired = std::pin::pin!(timer.expired());
            let waker = std::task::Waker::noop();
            let mut cx = std::task::Context::from_waker(waker);
            expired.as_mut().poll(&mut cx).is_pending()
        };
        timer
            .set(Some(Instant::now() + Duration::from_secs(3600)))
            .unwrap();
        assert!(not_yet(&timer), "an hour ahead");
        timer.set(None).unwrap();
        assert!(not_yet(&timer), "disarmed");
        timer.set(Some(Instant::now())).unwrap();
        timer.expired().await.unwrap();
    }
}
