//! CPU time of a process and all its descendants, every thread, from
//! /proc (utime + stime, fields 14 and 15 of each task's stat).

use std::fs;

/// Seconds of CPU used so far by `pid` and its descendants; `None` if it
/// is gone.
pub fn seconds(pid: u32) -> Option<f64> {
    // The kernel's clock tick: 100 on Linux's every common configuration.
    const TICKS_PER_SECOND: f64 = 100.0;
    // The process itself must be there; a descendant may end meanwhile.
    fs::metadata(format!("/proc/{pid}/stat")).ok()?;
    let mut ticks = 0u64;
    let mut pending = vec![pid];
    let mut seen = 0usize;
    while let Some(pid) = pending.pop() {
        seen += 1;
        if seen > 10_000 {
            break;
        }
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        ticks += stat_ticks(&stat).unwrap_or(0);
        let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children = fs::read_to_string(task.path().join("children")).unwrap_or_default();
            pending.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    Some(ticks as f64 / TICKS_PER_SECOND)
}

/// utime + stime of a /proc stat line; the command name may hold spaces,
/// so fields are counted after its closing parenthesis.
fn stat_ticks(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(") ")?;
    let mut fields = rest.split_whitespace();
    // rest starts at field 3 (state); utime is field 14, stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_read_after_a_command_name_with_spaces() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0";
        assert_eq!(stat_ticks(stat), Some(325));
        assert_eq!(stat_ticks("garbage"), None);
    }

    #[test]
    fn a_living_process_is_read_and_a_missing_one_is_not() {
        assert!(seconds(std::process::id()).is_some());
        // Above the kernel's largest pid (4194304).
        assert_eq!(seconds(u32::MAX), None);
    }
}
