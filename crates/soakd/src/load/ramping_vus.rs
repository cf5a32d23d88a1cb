//! `ramping-vus`: the VU count moves linearly between stage targets, like k6.
//!
//! k6 adds (or removes) one VU at the moment the linear ramp crosses each whole number, so the
//! count is the floor of the ramp while rising and the ceiling while falling. Example: stages
//! `[{10s, 10}]` from 0 gives 1 VU at 1 s, 5 VUs at 5.5 s, 10 VUs at 10 s.

use super::validate::{at, grace_ms, graceful_stop, human, stages};
use super::{Check, Describe, ExecutorKind, Field, Load, Model, RawParts, Stage, VuProfile};
use crate::config::RawLoad;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct RampingVus {
    pub start_vus: u32,
    pub stages: Vec<Stage>,
    /// Grace for VUs removed by a ramp-down to finish their iteration.
    pub graceful_ramp_down: Duration,
}

impl ExecutorKind for RampingVus {
    fn compile(raw: &RawLoad, path: &str, e: &mut dyn Check) -> Load {
        let RawLoad::RampingVus {
            start_vus,
            stages: raw_stages,
            graceful_ramp_down,
            graceful_stop: grace,
        } = raw
        else {
            unreachable!("executors! dispatches by variant")
        };
        let stages = stages(e, path, raw_stages, 1.0);
        if *start_vus == 0 && !stages.is_empty() && stages.iter().all(|s| s.target <= 0.0) {
            e.push(
                at(path, "stages"),
                "either start_vus or one of the stage targets must be greater than 0".into(),
            );
        }
        let executor = RampingVus {
            start_vus: e.count(&at(path, "start_vus"), *start_vus, 0),
            stages,
            graceful_ramp_down: grace_ms(e, &at(path, "graceful_ramp_down"), graceful_ramp_down),
        };
        Load {
            executor: executor.into(),
            graceful_stop: graceful_stop(e, path, grace),
        }
    }
    fn raw_parts(raw: &RawLoad) -> RawParts<'_> {
        match raw {
            RawLoad::RampingVus { stages, .. } => RawParts {
                stages,
                ..RawParts::default()
            },
            _ => RawParts::default(),
        }
    }
    fn name(&self) -> &'static str {
        "ramping-vus"
    }
    fn duration(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }
    fn max_vus(&self) -> u32 {
        self.stages
            .iter()
            .map(|s| s.target.ceil() as u32)
            .fold(self.start_vus, u32::max)
    }
    fn stages(&self) -> &[Stage] {
        &self.stages
    }
    fn field(&self, _: Field) -> &'static str {
        "stages"
    }
    fn scale(&mut self, f: f64) {
        super::scaled_stages(&mut self.stages, f);
        self.graceful_ramp_down = self.graceful_ramp_down.mul_f64(f);
    }
    fn shard(&mut self, index: u32, count: u32) {
        self.start_vus = super::share(self.start_vus, index, count);
        for s in &mut self.stages {
            s.target = super::share(s.target.round() as u32, index, count) as f64;
        }
    }
    fn describe(&self, cx: &Describe) -> String {
        let mut o = format!("from {} VUs\n", self.start_vus);
        for (i, st) in self.stages.iter().enumerate() {
            o += &format!(
                "    → {} VUs over {}{}\n",
                st.target,
                human(st.duration),
                (cx.stage_note)(i)
            );
        }
        o
    }
    fn model(&self, _phase: f64) -> Model {
        Model::Closed {
            profile: Box::new(self.clone()),
            graceful_ramp_down: self.graceful_ramp_down,
        }
    }
}

impl VuProfile for RampingVus {
    fn vus_at(&self, t: Duration) -> u32 {
        let mut from = self.start_vus as f64;
        let mut stage_start = Duration::ZERO;
        for s in &self.stages {
            let end = stage_start + s.duration;
            if t < end {
                let frac = (t - stage_start).as_secs_f64() / s.duration.as_secs_f64();
                let v = from + (s.target - from) * frac;
                let eps = 1e-9;
                return if s.target >= from {
                    (v + eps).floor() as u32
                } else {
                    (v - eps).ceil() as u32
                };
            }
            from = s.target;
            stage_start = end;
        }
        0
    }
    fn duration(&self) -> Duration {
        ExecutorKind::duration(self)
    }
    fn max_vus(&self) -> u32 {
        ExecutorKind::max_vus(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(secs: u64, target: f64) -> Stage {
        Stage {
            duration: Duration::from_secs(secs),
            target,
        }
    }

    fn ramp(start_vus: u32, stages: Vec<Stage>) -> RampingVus {
        RampingVus {
            start_vus,
            stages,
            graceful_ramp_down: Duration::ZERO,
        }
    }

    #[test]
    fn ramps_up_holds_and_ramps_down_like_k6() {
        let p = ramp(0, vec![stage(10, 10.0), stage(10, 10.0), stage(10, 0.0)]);
        let at = |ms: u64| p.vus_at(Duration::from_millis(ms));
        assert_eq!(at(0), 0);
        assert_eq!(at(999), 0);
        assert_eq!(at(1000), 1);
        assert_eq!(at(5500), 5);
        assert_eq!(at(10_000), 10);
        assert_eq!(at(15_000), 10);
        // Falling: 10 → 0 over 10 s; at 25 s the ramp is at 5, just after it rounds up.
        assert_eq!(at(25_000), 5);
        assert_eq!(at(25_100), 5);
        assert_eq!(at(29_999), 1);
        assert_eq!(at(30_000), 0);
        assert_eq!(VuProfile::max_vus(&p), 10);
        assert_eq!(VuProfile::duration(&p), Duration::from_secs(30));
    }

    #[test]
    fn starts_from_start_vus() {
        let p = ramp(4, vec![stage(4, 8.0)]);
        assert_eq!(p.vus_at(Duration::ZERO), 4);
        assert_eq!(p.vus_at(Duration::from_secs(2)), 6);
    }
}
