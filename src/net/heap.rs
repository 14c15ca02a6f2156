//! Room in a thread's heap, made once when the thread starts.
//!
//! glibc gives each thread that allocates an arena of its own. Its heap
//! grows with one `mprotect` per step, each step only as large as the
//! allocation that needed it, and it keeps that protection when the heap
//! later shrinks. A SIP thread filling with transactions (a non-INVITE
//! waits out Timer J, 32 s, by the thousand under load) therefore made
//! about one `mprotect` for every four proxied MESSAGEs, 1,100-1,400 for
//! five thousand, each splitting and merging the heap's mapping: about 4%
//! of the thread's CPU while its memory grew.
//!
//! [`reserve_heap`] allocates the room in blocks below glibc's mmap
//! threshold, so that they come from the thread's heap, and frees them.
//! The heap then reaches that size in a few large steps. Freeing gives the
//! pages back (`madvise`), so the reservation holds no memory; later
//! growth up to it is bookkeeping, and the pages fault in as they are
//! first used, as any allocator's do. With another allocator it is an
//! allocation and a free.

use std::hint::black_box;

/// Room for the SIP thread: what some ten thousand finished transactions
/// hold while they wait out their timers, about 1.7 kB a proxied MESSAGE.
pub const SIP_HEAP_RESERVE: usize = 16 << 20;
/// Below glibc's mmap threshold (128 kB unless tuned), so that a block
/// comes from the heap rather than a mapping of its own.
const BLOCK: usize = 120 << 10;

/// Grows the calling thread's heap to at least `bytes`, and gives the
/// memory back. See the module documentation.
pub fn reserve_heap(bytes: usize) {
    let blocks: Vec<Vec<u8>> = (0..bytes.div_ceil(BLOCK))
        .map(|_| Vec::with_capacity(BLOCK))
        .collect();
    // Allocations never used could be left out by the optimiser.
    drop(black_box(blocks));
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// The thread's glibc heap: the writable anonymous mapping just before
    /// a `---p` one (the rest of its 64 MB reservation), holding `probe`.
    /// Its size and resident kilobytes, from /proc/self/smaps.
    fn heap_holding(probe: usize) -> (usize, usize) {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("read smaps");
        let mut found = None;
        let mut lines = smaps.lines();
        while let Some(line) = lines.next() {
            let Some((range, rest)) = line.split_once(' ') else {
                continue;
            };
            let Some((start, end)) = range.split_once('-') else {
                continue;
            };
            let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) else {
                continue;
            };
            if (start..end).contains(&probe) && rest.starts_with("rw-p") {
                let rss = lines
                    .by_ref()
                    .find_map(|line| line.strip_prefix("Rss:"))
                    .and_then(|kb| kb.trim().trim_end_matches(" kB").parse().ok())
                    .expect("Rss of the mapping");
                found = Some((end - start, rss));
                break;
            }
        }
        found.expect("no writable mapping holds the thread's allocation")
    }

    #[test]
    fn a_threads_heap_grows_to_the_reservation_and_keeps_no_memory() {
        const MORE: usize = 8 << 20;
        let (before, after) = std::thread::spawn(|| {
            // Large enough to come from the thread's arena, not the
            // cache of small blocks.
            let probe: Vec<u8> = Vec::with_capacity(64 << 10);
            let address = probe.as_ptr().addr();
            // The thread may have an arena another thread left, already
            // grown: asking for more than its whole heap still grows it.
            let before = heap_holding(address);
            reserve_heap(before.0 + MORE);
            (before, heap_holding(address))
        })
        .join()
        .expect("the thread");
        assert!(
            after.0 >= before.0 + MORE,
            "the heap went from {before:?} to {after:?}"
        );
        // Resident: the blocks' first pages at most, not the room.
        assert!(
            after.1 < before.1 + 2048,
            "{} kB resident after the reservation, {} before",
            after.1,
            before.1
        );
    }
}
