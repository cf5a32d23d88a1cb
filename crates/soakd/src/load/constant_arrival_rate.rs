//! `constant-arrival-rate`: iterations start at a fixed rate, whatever the target does.
//!
//! Iteration `i` is intended to start at `i / rate`: at 200/s for 5 s that is 0 ms, 5 ms, …,
//! 4995 ms, exactly 1000 iterations. With a phase φ (replica I of N: φ = I/N) iteration `i`
//! starts at `(i + φ) / rate`: the N replicas' streams interleave into one even stream.

use super::validate::{at, graceful_stop, human, positive, time_unit_secs, trim, vus_pool};
use super::{Arrivals, Check, Describe, ExecutorKind, Field, Load, Model, OpenModel, RawParts};
use crate::config::RawLoad;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct ConstantArrivalRate {
    /// Iterations per second.
    pub rate: f64,
    pub duration: Duration,
    pub pre_allocated_vus: u32,
    pub max_vus: u32,
}

impl ExecutorKind for ConstantArrivalRate {
    fn compile(raw: &RawLoad, path: &str, e: &mut dyn Check) -> Load {
        let RawLoad::ConstantArrivalRate {
            rate,
            time_unit,
            rate_of: _,
            duration,
            pre_allocated_vus,
            max_vus,
            graceful_stop: grace,
        } = raw
        else {
            unreachable!("executors! dispatches by variant")
        };
        let unit = time_unit_secs(e, path, time_unit);
        if !(rate.is_finite() && *rate > 0.0) {
            e.push(at(path, "rate"), format!("{rate} must be a positive number"));
        }
        let (pre, max) = vus_pool(e, path, *pre_allocated_vus, *max_vus);
        let executor = ConstantArrivalRate {
            rate: rate / unit,
            duration: positive(e, &at(path, "duration"), duration),
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
            RawLoad::ConstantArrivalRate {
                time_unit, rate_of, ..
            } => RawParts {
                time_unit: time_unit.as_deref(),
                rate_of: rate_of.as_deref(),
                stages: &[],
            },
            _ => RawParts::default(),
        }
    }
    fn name(&self) -> &'static str {
        "constant-arrival-rate"
    }
    fn duration(&self) -> Duration {
        self.duration
    }
    fn max_vus(&self) -> u32 {
        self.max_vus
    }
    fn peak_rate(&self) -> Option<f64> {
        Some(self.rate)
    }
    fn expected_iterations(&self) -> Option<f64> {
        Some(self.rate * self.duration.as_secs_f64())
    }
    fn field(&self, f: Field) -> &'static str {
        match f {
            Field::Vus => "max_vus",
            Field::Rate => "rate",
            Field::Duration => "duration",
        }
    }
    fn scale(&mut self, f: f64) {
        self.duration = self.duration.mul_f64(f);
    }
    fn shard(&mut self, index: u32, count: u32) {
        self.rate /= count as f64;
        self.pre_allocated_vus = super::share(self.pre_allocated_vus, index, count).max(1);
        self.max_vus = super::share(self.max_vus, index, count).max(1);
    }
    fn divide_rates(&mut self, per: f64) {
        self.rate /= per;
    }
    fn describe(&self, cx: &Describe) -> String {
        let shown = match cx.requests_per_iteration {
            Some(k) => format!("{} requests", trim(self.rate * k)),
            None => trim(self.rate),
        };
        format!(
            "{shown}/s for {}, up to {} VUs\n",
            human(self.duration),
            self.max_vus
        )
    }
    fn model(&self, phase: f64) -> Model {
        let grid = if self.rate > 0.0 {
            Duration::from_secs_f64((1.0 / self.rate).min(1.0))
        } else {
            Duration::from_secs(1)
        };
        Model::Open(OpenModel {
            arrivals: Box::new(ConstantArrivals::new(self.rate, self.duration).with_phase(phase)),
            duration: self.duration,
            pre_allocated_vus: self.pre_allocated_vus,
            max_vus: self.max_vus,
            peak_rate: self.rate,
            grid,
        })
    }
}

pub struct ConstantArrivals {
    rate: f64,
    duration: Duration,
    i: u64,
    phase: f64,
}

impl ConstantArrivals {
    /// `rate` in iterations per second.
    pub fn new(rate: f64, duration: Duration) -> Self {
        ConstantArrivals {
            rate,
            duration,
            i: 0,
            phase: 0.0,
        }
    }

    /// Shifts every start by `phase` (in [0, 1)) of one inter-arrival gap.
    pub fn with_phase(mut self, phase: f64) -> Self {
        self.phase = phase.clamp(0.0, 1.0);
        self
    }
}

impl Arrivals for ConstantArrivals {
    fn next_offset(&mut self) -> Option<Duration> {
        if self.rate <= 0.0 {
            return None;
        }
        let t = (self.i as f64 + self.phase) / self.rate;
        if t >= self.duration.as_secs_f64() {
            return None;
        }
        self.i += 1;
        Some(Duration::from_secs_f64(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_hundred_per_second_for_five_seconds_is_a_thousand_evenly_spaced() {
        let mut a = ConstantArrivals::new(200.0, Duration::from_secs(5));
        let offsets: Vec<Duration> = std::iter::from_fn(|| a.next_offset()).collect();
        assert_eq!(offsets.len(), 1000);
        assert_eq!(offsets[1], Duration::from_millis(5));
        assert_eq!(offsets[999], Duration::from_millis(4995));
    }

    /// Like k6 execution segments: 3 replicas of 30/s (10/s each, phases 0, 1/3, 2/3) start
    /// together exactly the iterations of one 30/s stream, evenly spaced.
    #[test]
    fn three_phased_replicas_interleave_into_one_even_stream() {
        let mut all: Vec<Duration> = (0..3)
            .flat_map(|i| {
                let mut a =
                    ConstantArrivals::new(10.0, Duration::from_secs(2)).with_phase(i as f64 / 3.0);
                std::iter::from_fn(move || a.next_offset()).collect::<Vec<_>>()
            })
            .collect();
        all.sort();
        let mut whole = ConstantArrivals::new(30.0, Duration::from_secs(2));
        let expected: Vec<Duration> = std::iter::from_fn(|| whole.next_offset()).collect();
        assert_eq!(all.len(), expected.len());
        for (a, e) in all.iter().zip(&expected) {
            assert!(a.abs_diff(*e) < Duration::from_micros(1), "{a:?} vs {e:?}");
        }
    }
}
