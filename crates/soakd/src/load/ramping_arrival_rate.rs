//! `ramping-arrival-rate`: the rate moves linearly between stage targets, like k6.
//!
//! Iteration `i` starts when the integral of the rate reaches `i`. Within a stage going from
//! rate `r0` to `r1` over `T`, the count after `x` seconds is `r0·x + (r1−r0)·x²/(2T)`; we solve
//! that quadratic for `x` in its numerically stable form `x = 2k / (r0 + √(r0² + 4ak))`.
//! Example: 0 → 100/s over 4 s has integral 200, so 200 iterations, denser towards the end.
//! With a phase φ (replica I of N: φ = I/N) iteration `i` starts when the integral reaches
//! `i + φ`, so the N replicas' streams interleave into the whole one.

use super::validate::{at, graceful_stop, human, stages, time_unit_secs, trim, vus_pool};
use super::{Arrivals, Check, Describe, ExecutorKind, Field, Load, Model, OpenModel, RawParts};
use super::Stage;
use crate::config::RawLoad;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct RampingArrivalRate {
    /// Iterations per second at the start.
    pub start_rate: f64,
    /// Stage targets are iterations per second.
    pub stages: Vec<Stage>,
    pub pre_allocated_vus: u32,
    pub max_vus: u32,
}

impl ExecutorKind for RampingArrivalRate {
    fn compile(raw: &RawLoad, path: &str, e: &mut dyn Check) -> Load {
        let RawLoad::RampingArrivalRate {
            start_rate,
            time_unit,
            rate_of: _,
            stages: raw_stages,
            pre_allocated_vus,
            max_vus,
            graceful_stop: grace,
        } = raw
        else {
            unreachable!("executors! dispatches by variant")
        };
        let unit = time_unit_secs(e, path, time_unit);
        if !(start_rate.is_finite() && *start_rate >= 0.0) {
            e.push(
                at(path, "start_rate"),
                format!("{start_rate} must not be negative"),
            );
        }
        let (pre, max) = vus_pool(e, path, *pre_allocated_vus, *max_vus);
        let executor = RampingArrivalRate {
            start_rate: start_rate / unit,
            stages: stages(e, path, raw_stages, unit),
            pre_allocated_vus: pre,
            max_vus: max,
        };
        Load {
            executor: executor.into(),
            graceful_stop: graceful_stop(e, path, grace),
        }
    }
    fn raw_parts(raw: &RawLoad) -> RawParts<'_> {
        match raw {
            RawLoad::RampingArrivalRate {
                time_unit,
                rate_of,
                stages,
                ..
            } => RawParts {
                time_unit: time_unit.as_deref(),
                rate_of: rate_of.as_deref(),
                stages,
            },
            _ => RawParts::default(),
        }
    }
    fn name(&self) -> &'static str {
        "ramping-arrival-rate"
    }
    fn duration(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }
    fn max_vus(&self) -> u32 {
        self.max_vus
    }
    fn peak_rate(&self) -> Option<f64> {
        Some(self.stages.iter().map(|s| s.target).fold(self.start_rate, f64::max))
    }
    fn expected_iterations(&self) -> Option<f64> {
        let mut from = self.start_rate;
        let mut total = 0.0;
        for s in &self.stages {
            total += (from + s.target) / 2.0 * s.duration.as_secs_f64();
            from = s.target;
        }
        Some(total)
    }
    fn stages(&self) -> &[Stage] {
        &self.stages
    }
    fn field(&self, f: Field) -> &'static str {
        match f {
            Field::Vus => "max_vus",
            Field::Rate | Field::Duration => "stages",
        }
    }
    fn scale(&mut self, f: f64) {
        super::scaled_stages(&mut self.stages, f);
    }
    fn shard(&mut self, index: u32, count: u32) {
        let n = count as f64;
        self.start_rate /= n;
        for s in &mut self.stages {
            s.target /= n;
        }
        self.pre_allocated_vus = super::share(self.pre_allocated_vus, index, count).max(1);
        self.max_vus = super::share(self.max_vus, index, count).max(1);
    }
    fn divide_rates(&mut self, per: f64) {
        self.start_rate /= per;
        for s in &mut self.stages {
            s.target /= per;
        }
    }
    fn describe(&self, cx: &Describe) -> String {
        // Rates as written: requests/s with `rate_of: requests`, else iterations/s.
        let (k, unit) = match cx.requests_per_iteration {
            Some(k) => (k, " requests"),
            None => (1.0, ""),
        };
        let r = |x: f64| trim(x * k);
        let mut o = format!(
            "from {}{unit}/s, up to {} VUs\n",
            r(self.start_rate),
            self.max_vus
        );
        for (i, st) in self.stages.iter().enumerate() {
            o += &format!(
                "    → {}{unit}/s over {}{}\n",
                r(st.target),
                human(st.duration),
                (cx.stage_note)(i)
            );
        }
        o
    }
    fn model(&self, phase: f64) -> Model {
        Model::Open(OpenModel {
            arrivals: Box::new(
                RampingArrivals::new(self.start_rate, self.stages.clone()).with_phase(phase),
            ),
            duration: ExecutorKind::duration(self),
            pre_allocated_vus: self.pre_allocated_vus,
            max_vus: self.max_vus,
            peak_rate: self.peak_rate().unwrap_or(0.0),
            grid: Duration::from_secs(1),
        })
    }
}

pub struct RampingArrivals {
    start_rate: f64,
    stages: Vec<Stage>,
    i: u64,
    /// Index of the current stage, its start offset (s), its start rate and the count before it.
    stage: usize,
    stage_start: f64,
    from: f64,
    before: f64,
    phase: f64,
}

impl RampingArrivals {
    /// Rates in iterations per second.
    pub fn new(start_rate: f64, stages: Vec<Stage>) -> Self {
        RampingArrivals {
            start_rate,
            stages,
            i: 0,
            stage: 0,
            stage_start: 0.0,
            from: start_rate,
            before: 0.0,
            phase: 0.0,
        }
    }

    /// Shifts the starts by `phase` (in [0, 1)) of one iteration of the integral.
    pub fn with_phase(mut self, phase: f64) -> Self {
        self.phase = phase.clamp(0.0, 1.0);
        self
    }

    pub fn start_rate(&self) -> f64 {
        self.start_rate
    }
}

impl Arrivals for RampingArrivals {
    fn next_offset(&mut self) -> Option<Duration> {
        let k_total = self.i as f64 + self.phase;
        while let Some(s) = self.stages.get(self.stage) {
            let t = s.duration.as_secs_f64();
            let in_stage = (self.from + s.target) / 2.0 * t;
            let k = k_total - self.before;
            if k < in_stage - 1e-9 && t > 0.0 {
                let a = (s.target - self.from) / (2.0 * t);
                let b = self.from;
                let disc = (b * b + 4.0 * a * k).max(0.0);
                let denom = b + disc.sqrt();
                let x = if denom > 0.0 { 2.0 * k / denom } else { 0.0 };
                self.i += 1;
                return Some(Duration::from_secs_f64(self.stage_start + x.min(t)));
            }
            self.before += in_stage;
            self.stage_start += t;
            self.from = s.target;
            self.stage += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(start: f64, stages: Vec<(u64, f64)>) -> Vec<Duration> {
        let stages = stages
            .into_iter()
            .map(|(s, target)| Stage {
                duration: Duration::from_secs(s),
                target,
            })
            .collect();
        let mut a = RampingArrivals::new(start, stages);
        std::iter::from_fn(|| a.next_offset()).collect()
    }

    #[test]
    fn zero_to_one_hundred_over_four_seconds_is_two_hundred() {
        let v = all(0.0, vec![(4, 100.0)]);
        assert_eq!(v.len(), 200);
        assert!(v.windows(2).all(|w| w[0] <= w[1]), "ascending");
        // Half the iterations happen in the last 1.17 s (the rate is highest there).
        assert!(v[100] > Duration::from_millis(2800), "{:?}", v[100]);
        assert!(*v.last().unwrap() < Duration::from_secs(4));
    }

    #[test]
    fn hold_and_ramp_down_follow_the_integral() {
        // 20/s start, up to 120 over 3 s (210), hold 3 s (360), down to 0 over 1 s (60).
        let v = all(20.0, vec![(3, 120.0), (3, 120.0), (1, 0.0)]);
        assert_eq!(v.len(), 630);
    }

    #[test]
    fn a_constant_stage_is_evenly_spaced() {
        let v = all(10.0, vec![(1, 10.0)]);
        assert_eq!(v.len(), 10);
        assert!((v[3].as_secs_f64() - 0.3).abs() < 1e-9);
    }

    /// 3 replicas of a 0 → 90/s ramp (0 → 30/s each, phases 0, 1/3, 2/3) start together the
    /// iterations of the whole ramp, at the same moments.
    #[test]
    fn phased_replicas_of_a_ramp_interleave_into_the_whole_ramp() {
        let stages = |target| {
            vec![Stage {
                duration: Duration::from_secs(2),
                target,
            }]
        };
        let mut merged: Vec<Duration> = (0..3)
            .flat_map(|i| {
                let mut a = RampingArrivals::new(0.0, stages(30.0)).with_phase(i as f64 / 3.0);
                std::iter::from_fn(move || a.next_offset()).collect::<Vec<_>>()
            })
            .collect();
        merged.sort();
        let mut whole = RampingArrivals::new(0.0, stages(90.0));
        let expected: Vec<Duration> = std::iter::from_fn(|| whole.next_offset()).collect();
        assert_eq!(merged.len(), expected.len());
        for (a, e) in merged.iter().zip(&expected) {
            assert!(a.abs_diff(*e) < Duration::from_micros(1), "{a:?} vs {e:?}");
        }
    }
}
