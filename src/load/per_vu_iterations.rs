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
}

#[cfg(test)]
mod tests {
    use super::*;

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
