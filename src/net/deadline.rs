//! A one-shot timer on a Linux timerfd, for a driver whose core sleeps
//! long between deadlines (a client between keep-alives).
//!
//! tokio's timer wheel reaches a far deadline in steps: it wakes at the
//! start of the deadline's slot at each level of the wheel and moves it
//! down, so 30 s ahead costs three wake-ups, not one. A timerfd makes
//! epoll wake once, when the deadline is due. Arming costs a system call,
//! so drivers that move their deadline on every message (a loaded server)
//! keep tokio's timer.

use std::io;
use std::os::fd::OwnedFd;
use std::time::Duration;

use rustix::time::{
    Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, timerfd_create,
    timerfd_settime,
};
use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

/// The shortest wait armed: a zero `it_value` would disarm the timerfd.
const AT_ONCE: Duration = Duration::from_nanos(1);

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
    pub async fn expired(&self) -> io::Result<()> {
        let mut expirations = [0u8; 8];
        loop {
            let mut guard = self.fd.readable().await?;
            match rustix::io::read(self.fd.get_ref(), &mut expirations) {
                Ok(_) => {
                    // One-shot and read: not readable until armed again,
                    // so the next wait need not try a read to learn it.
                    guard.clear_ready();
                    return Ok(());
                }
                Err(rustix::io::Errno::AGAIN) => guard.clear_ready(),
                Err(error) => return Err(error.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;

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
