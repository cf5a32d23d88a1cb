//! `constant-vus`: a fixed number of VUs loop for a duration.

use super::validate::{at, graceful_stop, human, one, positive};
use super::{Check, Describe, ExecutorKind, Field, Load, Model, VuProfile};
use crate::config::RawLoad;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct ConstantVus {
    pub vus: u32,
    pub duration: Duration,
}

impl ExecutorKind for ConstantVus {
    fn compile(raw: &RawLoad, path: &str, e: &mut dyn Check) -> Load {
        let RawLoad::ConstantVus {
            vus,
            duration,
            graceful_stop: grace,
        } = raw
        else {
            unreachable!("executors! dispatches by variant")
        };
        let executor = ConstantVus {
            vus: e.count(&at(path, "vus"), one(vus), 1),
            duration: positive(e, &at(path, "duration"), duration),
        };
        Load {
            executor: executor.into(),
            graceful_stop: graceful_stop(e, path, grace),
        }
    }
    fn name(&self) -> &'static str {
        "constant-vus"
    }
    fn duration(&self) -> Duration {
        self.duration
    }
    fn max_vus(&self) -> u32 {
        self.vus
    }
    fn field(&self, f: Field) -> &'static str {
        match f {
            Field::Vus => "vus",
            Field::Rate | Field::Duration => "duration",
        }
    }
    fn scale(&mut self, f: f64) {
        self.duration = self.duration.mul_f64(f);
    }
    fn shard(&mut self, index: u32, count: u32) {
        self.vus = super::share(self.vus, index, count);
    }
    fn describe(&self, _: &Describe) -> String {
        format!("{} VUs for {}\n", self.vus, human(self.duration))
    }
    fn model(&self, _phase: f64) -> Model {
        Model::Closed {
            profile: Box::new(self.clone()),
            graceful_ramp_down: Duration::ZERO,
        }
    }
}

impl VuProfile for ConstantVus {
    fn vus_at(&self, t: Duration) -> u32 {
        if t < self.duration { self.vus } else { 0 }
    }
    fn duration(&self) -> Duration {
        self.duration
    }
    fn max_vus(&self) -> u32 {
        self.vus
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_vus_for_the_whole_duration_then_none() {
        let p = ConstantVus {
            vus: 5,
            duration: Duration::from_secs(2),
        };
        assert_eq!(p.vus_at(Duration::ZERO), 5);
        assert_eq!(p.vus_at(Duration::from_millis(1999)), 5);
        assert_eq!(p.vus_at(Duration::from_secs(2)), 0);
    }
}
