//! Validated load models (k6 executors) and their compilation from raw config.
//!
//! Arrival rates are stored per second whatever `time_unit` the user wrote, so that
//! `--time-scale` can shrink every duration without touching a rate.
//!
//! Compiling a raw `load:` block into these types is `load_compile.rs`.

use std::time::Duration;

pub use super::load_compile::compile_load;

/// One stage of a ramp: reach `target` (VUs or iterations per second) linearly over `duration`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub duration: Duration,
    pub target: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Executor {
    ConstantVus {
        vus: u32,
        duration: Duration,
    },
    RampingVus {
        start_vus: u32,
        stages: Vec<Stage>,
        graceful_ramp_down: Duration,
    },
    ConstantArrivalRate {
        /// Iterations per second.
        rate: f64,
        duration: Duration,
        pre_allocated_vus: u32,
        max_vus: u32,
    },
    RampingArrivalRate {
        /// Iterations per second at the start.
        start_rate: f64,
        /// Stage targets are iterations per second.
        stages: Vec<Stage>,
        pre_allocated_vus: u32,
        max_vus: u32,
    },
    PerVuIterations {
        vus: u32,
        iterations: u32,
        max_duration: Duration,
    },
    SharedIterations {
        vus: u32,
        iterations: u32,
        max_duration: Duration,
    },
}

/// An executor with the stop grace all executors share.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    pub executor: Executor,
    pub graceful_stop: Duration,
}

impl Executor {
    /// The k6 name, e.g. `ramping-arrival-rate`.
    pub fn name(&self) -> &'static str {
        match self {
            Executor::ConstantVus { .. } => "constant-vus",
            Executor::RampingVus { .. } => "ramping-vus",
            Executor::ConstantArrivalRate { .. } => "constant-arrival-rate",
            Executor::RampingArrivalRate { .. } => "ramping-arrival-rate",
            Executor::PerVuIterations { .. } => "per-vu-iterations",
            Executor::SharedIterations { .. } => "shared-iterations",
        }
    }

    /// Planned duration, without graceful stop (for iteration-count executors: the cap).
    pub fn duration(&self) -> Duration {
        match self {
            Executor::ConstantVus { duration, .. }
            | Executor::ConstantArrivalRate { duration, .. } => *duration,
            Executor::RampingVus { stages, .. } | Executor::RampingArrivalRate { stages, .. } => {
                stages.iter().map(|s| s.duration).sum()
            }
            Executor::PerVuIterations { max_duration, .. }
            | Executor::SharedIterations { max_duration, .. } => *max_duration,
        }
    }

    /// Most VUs this executor may use at once.
    pub fn max_vus(&self) -> u32 {
        match self {
            Executor::ConstantVus { vus, .. }
            | Executor::PerVuIterations { vus, .. }
            | Executor::SharedIterations { vus, .. } => *vus,
            Executor::RampingVus {
                start_vus, stages, ..
            } => stages
                .iter()
                .map(|s| s.target.ceil() as u32)
                .fold(*start_vus, u32::max),
            Executor::ConstantArrivalRate { max_vus, .. }
            | Executor::RampingArrivalRate { max_vus, .. } => *max_vus,
        }
    }

    /// Highest iteration rate of an open model; None for closed models (unbounded by config).
    pub fn peak_rate(&self) -> Option<f64> {
        match self {
            Executor::ConstantArrivalRate { rate, .. } => Some(*rate),
            Executor::RampingArrivalRate {
                start_rate, stages, ..
            } => Some(stages.iter().map(|s| s.target).fold(*start_rate, f64::max)),
            _ => None,
        }
    }

    /// Iterations the plan asks for, when that is known in advance.
    pub fn expected_iterations(&self) -> Option<f64> {
        match self {
            Executor::ConstantArrivalRate { rate, duration, .. } => {
                Some(rate * duration.as_secs_f64())
            }
            Executor::RampingArrivalRate {
                start_rate, stages, ..
            } => {
                let mut from = *start_rate;
                let mut total = 0.0;
                for s in stages {
                    total += (from + s.target) / 2.0 * s.duration.as_secs_f64();
                    from = s.target;
                }
                Some(total)
            }
            Executor::PerVuIterations {
                vus, iterations, ..
            } => Some(*vus as f64 * *iterations as f64),
            Executor::SharedIterations { iterations, .. } => Some(*iterations as f64),
            _ => None,
        }
    }
}

impl Load {
    /// Every duration multiplied by `f`; rates and counts unchanged.
    pub fn scaled(&self, f: f64) -> Load {
        let d = |x: &Duration| x.mul_f64(f);
        let stages = |v: &[Stage]| {
            v.iter()
                .map(|s| Stage {
                    duration: d(&s.duration),
                    target: s.target,
                })
                .collect()
        };
        let executor = match &self.executor {
            Executor::ConstantVus { vus, duration } => Executor::ConstantVus {
                vus: *vus,
                duration: d(duration),
            },
            Executor::RampingVus {
                start_vus,
                stages: st,
                graceful_ramp_down,
            } => Executor::RampingVus {
                start_vus: *start_vus,
                stages: stages(st),
                graceful_ramp_down: d(graceful_ramp_down),
            },
            Executor::ConstantArrivalRate {
                rate,
                duration,
                pre_allocated_vus,
                max_vus,
            } => Executor::ConstantArrivalRate {
                rate: *rate,
                duration: d(duration),
                pre_allocated_vus: *pre_allocated_vus,
                max_vus: *max_vus,
            },
            Executor::RampingArrivalRate {
                start_rate,
                stages: st,
                pre_allocated_vus,
                max_vus,
            } => Executor::RampingArrivalRate {
                start_rate: *start_rate,
                stages: stages(st),
                pre_allocated_vus: *pre_allocated_vus,
                max_vus: *max_vus,
            },
            Executor::PerVuIterations {
                vus,
                iterations,
                max_duration,
            } => Executor::PerVuIterations {
                vus: *vus,
                iterations: *iterations,
                max_duration: d(max_duration),
            },
            Executor::SharedIterations {
                vus,
                iterations,
                max_duration,
            } => Executor::SharedIterations {
                vus: *vus,
                iterations: *iterations,
                max_duration: d(max_duration),
            },
        };
        Load {
            executor,
            graceful_stop: d(&self.graceful_stop),
        }
    }
}

impl Load {
    /// Replica `index` of `count`'s share: rates divided by `count`, VUs and iterations split
    /// so that the replicas together run exactly the whole (like k6 execution segments).
    pub fn sharded(&self, index: u32, count: u32) -> Load {
        let n = count.max(1);
        let part = |v: u32| v / n + u32::from(index < v % n);
        let rate = |r: f64| r / n as f64;
        let stages = |v: &[Stage], f: &dyn Fn(f64) -> f64| {
            v.iter()
                .map(|s| Stage {
                    duration: s.duration,
                    target: f(s.target),
                })
                .collect()
        };
        let executor = match &self.executor {
            Executor::ConstantVus { vus, duration } => Executor::ConstantVus {
                vus: part(*vus),
                duration: *duration,
            },
            Executor::RampingVus {
                start_vus,
                stages: st,
                graceful_ramp_down,
            } => Executor::RampingVus {
                start_vus: part(*start_vus),
                stages: stages(st, &|t| part(t.round() as u32) as f64),
                graceful_ramp_down: *graceful_ramp_down,
            },
            Executor::ConstantArrivalRate {
                rate: r,
                duration,
                pre_allocated_vus,
                max_vus,
            } => Executor::ConstantArrivalRate {
                rate: rate(*r),
                duration: *duration,
                pre_allocated_vus: part(*pre_allocated_vus).max(1),
                max_vus: part(*max_vus).max(1),
            },
            Executor::RampingArrivalRate {
                start_rate,
                stages: st,
                pre_allocated_vus,
                max_vus,
            } => Executor::RampingArrivalRate {
                start_rate: rate(*start_rate),
                stages: stages(st, &rate),
                pre_allocated_vus: part(*pre_allocated_vus).max(1),
                max_vus: part(*max_vus).max(1),
            },
            Executor::PerVuIterations {
                vus,
                iterations,
                max_duration,
            } => Executor::PerVuIterations {
                vus: part(*vus),
                iterations: *iterations,
                max_duration: *max_duration,
            },
            Executor::SharedIterations {
                vus,
                iterations,
                max_duration,
            } => Executor::SharedIterations {
                vus: part(*vus).max(1),
                iterations: part(*iterations),
                max_duration: *max_duration,
            },
        };
        Load {
            executor,
            graceful_stop: self.graceful_stop,
        }
    }
}
