mod extension;
mod packet;
mod rtcp;
mod sequence;
mod stats;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Copies of `valid` with a few bytes changed or cut short, for checks
/// that no input panics.
fn mutations(valid: &[u8], seed: u64, count: usize) -> Vec<Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out: Vec<Vec<u8>> = (0..valid.len()).map(|cut| valid[..cut].to_vec()).collect();
    for _ in 0..count {
        let mut mutated = valid.to_vec();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..mutated.len());
            mutated[at] = match rng.random_range(0..3) {
                0 => 0xff,
                1 => 0,
                _ => rng.random(),
            };
        }
        if rng.random_bool(0.2) {
            mutated.truncate(rng.random_range(0..mutated.len()));
        }
        out.push(mutated);
    }
    out
}
