//! `per-vu-iterations`: each VU runs exactly `iterations` iterations (or stops at max_duration).

use super::Budget;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub struct PerVuIterations {
    iterations: u32,
    max_duration: Duration,
    done: Vec<AtomicU32>,
}

impl PerVuIterations {
    pub fn new(vus: u32, iterations: u32, max_duration: Duration) -> Self {
        PerVuIterations {
            iterations,
            max_duration,
            done: (0..vus).map(|_| AtomicU32::new(0)).collect(),
        }
    }
}

impl Budget for PerVuIterations {
    fn claim(&self, vu: u32) -> bool {
        match self.done.get(vu as usize) {
            Some(n) => n.fetch_add(1, Ordering::Relaxed) < self.iterations,
            None => false,
        }
    }
    fn vus(&self) -> u32 {
        self.done.len() as u32
    }
    fn max_duration(&self) -> Duration {
        self.max_duration
    }
    fn unclaimed(&self) -> u64 {
        let left = |n: &AtomicU32| self.iterations - n.load(Ordering::Relaxed).min(self.iterations);
        self.done.iter().map(|n| u64::from(left(n))).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_vus_unrun_iterations_are_left_over() {
        let b = PerVuIterations::new(2, 3, Duration::from_secs(1));
        assert!(b.claim(0));
        for _ in 0..4 {
            b.claim(1);
        }
        assert_eq!(b.unclaimed(), 2, "VU 0 ran 1 of 3, VU 1 all of them");
    }

    #[test]
    fn every_vu_gets_exactly_its_iterations() {
        let b = PerVuIterations::new(3, 2, Duration::from_secs(1));
        for vu in 0..3 {
            assert!(b.claim(vu));
            assert!(b.claim(vu));
            assert!(!b.claim(vu));
        }
        assert!(!b.claim(3));
    }
}
