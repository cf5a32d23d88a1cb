//! `ramping-vus`: the VU count moves linearly between stage targets, like k6.
//!
//! k6 adds (or removes) one VU at the moment the linear ramp crosses each whole number, so the
//! count is the floor of the ramp while rising and the ceiling while falling. Example: stages
//! `[{10s, 10}]` from 0 gives 1 VU at 1 s, 5 VUs at 5.5 s, 10 VUs at 10 s.

use super::VuProfile;
use crate::plan::Stage;
use std::time::Duration;

pub struct RampingVus {
    start: u32,
    stages: Vec<Stage>,
    max: u32,
}

impl RampingVus {
    pub fn new(start: u32, stages: Vec<Stage>) -> Self {
        let max = stages
            .iter()
            .map(|s| s.target.ceil() as u32)
            .fold(start, u32::max);
        RampingVus { start, stages, max }
    }
}

impl VuProfile for RampingVus {
    fn vus_at(&self, t: Duration) -> u32 {
        let mut from = self.start as f64;
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
        self.stages.iter().map(|s| s.duration).sum()
    }
    fn max_vus(&self) -> u32 {
        self.max
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

    #[test]
    fn ramps_up_holds_and_ramps_down_like_k6() {
        let p = RampingVus::new(0, vec![stage(10, 10.0), stage(10, 10.0), stage(10, 0.0)]);
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
        assert_eq!(p.max_vus(), 10);
        assert_eq!(p.duration(), Duration::from_secs(30));
    }

    #[test]
    fn starts_from_start_vus() {
        let p = RampingVus::new(4, vec![stage(4, 8.0)]);
        assert_eq!(p.vus_at(Duration::ZERO), 4);
        assert_eq!(p.vus_at(Duration::from_secs(2)), 6);
    }
}
