//! `shared-iterations`: VUs share one pool of iterations; faster VUs run more of them.

use super::validate::{at, budget, one};
use super::{Budget, Check, Describe, ExecutorKind, Field, Load, Model};
use crate::config::RawLoad;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct SharedIterations {
    pub vus: u32,
    pub iterations: u32,
    pub max_duration: Duration,
}

impl ExecutorKind for SharedIterations {
    fn compile(raw: &RawLoad, path: &str, e: &mut dyn Check) -> Load {
        let RawLoad::SharedIterations {
            vus,
            iterations,
            max_duration: cap,
            graceful_stop: grace,
        } = raw
        else {
            unreachable!("executors! dispatches by variant")
        };
        let (v, n) = (one(vus), one(iterations));
        if v >= 1 && n >= 1 && n < v {
            e.push(
                at(path, "iterations"),
                format!("{n} is less than vus ({v}): every VU needs at least one iteration"),
            );
        }
        let (vus, iterations, max_duration, graceful_stop) = budget(e, path, v, n, cap, grace);
        Load {
            executor: SharedIterations {
                vus,
                iterations,
                max_duration,
            }
            .into(),
            graceful_stop,
        }
    }
    fn name(&self) -> &'static str {
        "shared-iterations"
    }
    fn duration(&self) -> Duration {
        self.max_duration
    }
    fn max_vus(&self) -> u32 {
        self.vus
    }
    fn expected_iterations(&self) -> Option<f64> {
        Some(self.iterations as f64)
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
        self.vus = super::share(self.vus, index, count).max(1);
        self.iterations = super::share(self.iterations, index, count);
    }
    fn describe(&self, _: &Describe) -> String {
        format!("{} iterations shared by {} VUs\n", self.iterations, self.vus)
    }
    fn model(&self, _phase: f64) -> Model {
        Model::Budgeted(Box::new(SharedBudget::new(
            self.vus,
            self.iterations,
            self.max_duration,
        )))
    }
}

/// The budget: claimed iterations counted as they start.
pub struct SharedBudget {
    vus: u32,
    iterations: u32,
    max_duration: Duration,
    claimed: AtomicU32,
}

impl SharedBudget {
    pub fn new(vus: u32, iterations: u32, max_duration: Duration) -> Self {
        SharedBudget {
            vus,
            iterations,
            max_duration,
            claimed: AtomicU32::new(0),
        }
    }
}

impl Budget for SharedBudget {
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
        let b = SharedBudget::new(2, 3, Duration::from_secs(1));
        assert!(b.claim(0));
        assert!(b.claim(0));
        assert!(b.claim(1));
        assert!(!b.claim(1));
        assert!(!b.claim(0));
        assert_eq!(b.unclaimed(), 0);
    }

    #[test]
    fn iterations_nobody_claimed_are_left_over() {
        let b = SharedBudget::new(2, 5, Duration::from_secs(1));
        assert!(b.claim(0));
        assert!(b.claim(1));
        assert_eq!(b.unclaimed(), 3);
    }
}
