//! `shared-iterations`: VUs share one pool of iterations; faster VUs run more of them.

use super::Budget;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub struct SharedIterations {
    vus: u32,
    iterations: u32,
    max_duration: Duration,
    claimed: AtomicU32,
}

impl SharedIterations {
    pub fn new(vus: u32, iterations: u32, max_duration: Duration) -> Self {
        SharedIterations {
            vus,
            iterations,
            max_duration,
            claimed: AtomicU32::new(0),
        }
    }
}

impl Budget for SharedIterations {
    fn claim(&self, _vu: u32) -> bool {
        self.claimed.fetch_add(1, Ordering::Relaxed) < self.iterations
    }
    fn vus(&self) -> u32 {
        self.vus
    }
    fn max_duration(&self) -> Duration {
        self.max_duration
    }
    fn unclaimed(&self) -> u64 {
        let claimed = self.claimed.load(Ordering::Relaxed).min(self.iterations);
        u64::from(self.iterations - claimed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_is_shared_across_vus() {
        let b = SharedIterations::new(2, 3, Duration::from_secs(1));
        assert!(b.claim(0));
        assert!(b.claim(0));
        assert!(b.claim(1));
        assert!(!b.claim(1));
        assert!(!b.claim(0));
        assert_eq!(b.unclaimed(), 0);
    }

    #[test]
    fn iterations_nobody_claimed_are_left_over() {
        let b = SharedIterations::new(2, 5, Duration::from_secs(1));
        assert!(b.claim(0));
        assert!(b.claim(1));
        assert_eq!(b.unclaimed(), 3);
    }
}
