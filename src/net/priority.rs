//! The A/V MCU's media thread asks for more of its core than the rest of
//! the process. On one core, a SIP thread with a roster of two thousand
//! to publish runs for 20 ms at a stretch, in the scheduler's slices (4
//! ms each here) between the media thread's; the tick that waits for it
//! goes out late to every participant at once. Signalling can wait a few milliseconds;
//! a mix cannot.
//!
//! The raise is a nice value, per thread on Linux (`setpriority` on the
//! thread's id): unlike a real-time class it cannot starve the rest of
//! the process, only weigh the media thread more. Raising needs
//! `CAP_SYS_NICE` or room under `RLIMIT_NICE`; without either the thread
//! keeps the process's priority, which is what it had before.

use std::io;

use rustix::process::{getpriority_process, setpriority_process};
use rustix::thread::gettid;

/// Nice steps the media thread takes above its process: each is about
/// 1.25 times the share of a core, five about three times.
pub const MEDIA_PRIORITY_BOOST: i32 = 5;
/// The highest priority a nice value gives.
const HIGHEST_NICE: i32 = -20;

/// Raises the calling thread's priority by [`MEDIA_PRIORITY_BOOST`] nice
/// steps (no higher than the highest); the nice value it now runs at.
pub fn raise_this_thread() -> io::Result<i32> {
    let thread = gettid();
    let nice = getpriority_process(Some(thread))?;
    let raised = (nice - MEDIA_PRIORITY_BOOST).max(HIGHEST_NICE);
    if raised < nice {
        setpriority_process(Some(thread), raised)?;
    }
    Ok(raised)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nice_of_this_thread() -> i32 {
        getpriority_process(Some(gettid())).unwrap()
    }

    #[test]
    fn the_thread_runs_higher_than_its_process_or_says_why_not() {
        let ours = nice_of_this_thread();
        std::thread::spawn(|| {
            let before = nice_of_this_thread();
            match raise_this_thread() {
                Ok(raised) => {
                    assert_eq!(raised, (before - MEDIA_PRIORITY_BOOST).max(HIGHEST_NICE));
                    assert_eq!(nice_of_this_thread(), raised, "the thread itself is raised");
                }
                // Unprivileged: refused, and nothing changed.
                Err(error) => {
                    assert!(
                        matches!(error.kind(), io::ErrorKind::PermissionDenied),
                        "{error}"
                    );
                    assert_eq!(nice_of_this_thread(), before);
                }
            }
        })
        .join()
        .unwrap();
        assert_eq!(
            nice_of_this_thread(),
            ours,
            "only that thread, not this one"
        );
    }
}
