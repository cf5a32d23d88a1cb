//! `per-vu-iterations`: each VU runs exactly `iterations` iterations (or stops at max_duration).

use super::validate::{budget, one};
use super::{Budget, Check, Describe, ExecutorKind, Field, Load, Model};
use crate::config::RawLoad;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct PerVuIterations {
    pub vus: u32,
    pub iterations: u32,
    pub max_duration: Duration,
}

impl ExecutorKind for PerVuIterations {
    fn compile(raw: &RawLoad, path: &str, e: &mut dyn Check) -> Load {
        let RawLoad::PerVuIterations {
            vus,
            iterations,
            max_duration: cap,
            graceful_stop: grace,
        } = raw
        else {
            unreachable!("executors! dispatches by variant")
        };
        let (v, n) = (one(vus), one(iterations));
        let (vus, iterations, max_duration, graceful_stop) = budget(e, path, v, n, cap, grace);
        Load {
            executor: PerVuIterations {
                vus,
                iterations,
                max_duration,
            }
            .into(),
            graceful_stop,
        }
    }
    fn name(&self) -> &'static str {
        "per-vu-iterations"
    }
    fn duration(&self) -> Duration {
        self.max_duration
    }
    fn max_vus(&self) -> u32 {
        self.vus
    }
    fn expected_iterations(&self) -> Option<f64> {
        Some(self.vus as f64 * self.iterations as f64)
    }
    fn field(&self, f: Field) -> &'static str {
        match f {
            Field::Vus => "vus",
            Field::Rate | Field::Duration => "max_duration",
        }
    }
    fn scale(&mut self, f: f64) {
        self.max_duration = self.max_duration.mul_f64(f);
    }
    fn shard(&mut self, index: u32, count: u32) {
        self.vus = super::share(self.vus, index, count);
    }
    fn describe(&self, _: &Describe) -> String {
        format!("{} VUs × {} iterations\n", self.vus, self.iterations)
    }
    fn model(&self, _phase: f64) -> Model {
        Model::Budgeted(Box::new(PerVuBudget::new(
            self.vus,
            self.iterations,
            self.max_duration,
        )))
    }
}

/// The budget: claimed iterations counted as they start.
pub struct PerVuBudget {
    iterations: u32,
    max_duration: Duration,
    done: Vec<AtomicU32>,
}

impl PerVuBudget {
    pub fn new(vus: u32, iterations: u32, max_duration: Duration) -> Self {
        PerVuBudget {
            iterations,
            max_duration,
            done: (0..vus).map(|_| AtomicU32::new(0)).collect(),
        }
    }
}

impl Budget for PerVuBudget {
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
        let b = PerVuBudget::new(2, 3, Duration::from_secs(1));
        assert!(b.claim(0));
        for _ in 0..4 {
            b.claim(1);
        }
        assert_eq!(b.unclaimed(), 2, "VU 0 ran 1 of 3, VU 1 all of them");
    }

    #[test]
    fn every_vu_gets_exactly_its_iterations() {
        let b = PerVuBudget::new(3, 2, Duration::from_secs(1));
        for vu in 0..3 {
            assert!(b.claim(vu));
            assert!(b.claim(vu));
            assert!(!b.claim(vu));
        }
        assert!(!b.claim(3));
    }
}
