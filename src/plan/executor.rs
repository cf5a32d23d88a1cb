//! Validated load models (k6 executors) and their compilation from raw config.
//!
//! Arrival rates are stored per second whatever `time_unit` the user wrote, so that
//! `--time-scale` can shrink every duration without touching a rate.
//!
//! Defaults and validation follow k6's executor configs (`lib/executor/*.go`, pinned by
//! `executors_test.go`, see tests/k6_parity.rs): 1 VU and 1 iteration when omitted, a zero
//! `duration` or `max_duration` refused, a ramping-vus plan that never has a VU refused,
//! shared-iterations with more VUs than iterations refused, and a bare number for
//! `graceful_stop` / `graceful_ramp_down` read as milliseconds. k6 also wants durations of at
//! least 1 s; soakd only refuses 0, since tests and `--time-scale` dry runs use shorter ones.

use super::errors::Errors;
use crate::config::{RawLoad, RawStage};
use std::time::Duration;

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

const DEFAULT_GRACE: Duration = Duration::from_secs(30);
const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(600);

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

/// Validates one `load:` block. `path` is e.g. `scenarios.feed.load`.
pub fn compile_load(raw: &RawLoad, path: &str, e: &mut Errors) -> Load {
    let p = |field: &str| format!("{path}.{field}");
    let grace = |e: &mut Errors, g: &Option<String>| grace_ms(e, &p("graceful_stop"), g);
    let one = |v: &Option<i64>| v.unwrap_or(1);
    match raw {
        RawLoad::ConstantVus {
            vus,
            duration,
            graceful_stop,
        } => Load {
            executor: Executor::ConstantVus {
                vus: e.count(&p("vus"), one(vus), 1),
                duration: positive(e, &p("duration"), duration),
            },
            graceful_stop: grace(e, graceful_stop),
        },
        RawLoad::RampingVus {
            start_vus,
            stages,
            graceful_ramp_down,
            graceful_stop,
        } => {
            let stages = compile_stages(stages, &p("stages"), 1.0, e);
            if *start_vus == 0 && !stages.is_empty() && stages.iter().all(|s| s.target <= 0.0) {
                e.push(
                    p("stages"),
                    "either start_vus or one of the stage targets must be greater than 0",
                );
            }
            Load {
                executor: Executor::RampingVus {
                    start_vus: e.count(&p("start_vus"), *start_vus, 0),
                    stages,
                    graceful_ramp_down: grace_ms(e, &p("graceful_ramp_down"), graceful_ramp_down),
                },
                graceful_stop: grace(e, graceful_stop),
            }
        }
        RawLoad::ConstantArrivalRate {
            rate,
            time_unit,
            duration,
            pre_allocated_vus,
            max_vus,
            graceful_stop,
        } => {
            let unit = time_unit_secs(time_unit, &p("time_unit"), e);
            if !(rate.is_finite() && *rate > 0.0) {
                e.push(p("rate"), format!("{rate} must be a positive number"));
            }
            let (pre, max) = vus_pool(*pre_allocated_vus, *max_vus, path, e);
            Load {
                executor: Executor::ConstantArrivalRate {
                    rate: rate / unit,
                    duration: positive(e, &p("duration"), duration),
                    pre_allocated_vus: pre,
                    max_vus: max,
                },
                graceful_stop: grace(e, graceful_stop),
            }
        }
        RawLoad::RampingArrivalRate {
            start_rate,
            time_unit,
            stages,
            pre_allocated_vus,
            max_vus,
            graceful_stop,
        } => {
            let unit = time_unit_secs(time_unit, &p("time_unit"), e);
            if !(start_rate.is_finite() && *start_rate >= 0.0) {
                e.push(
                    p("start_rate"),
                    format!("{start_rate} must not be negative"),
                );
            }
            let (pre, max) = vus_pool(*pre_allocated_vus, *max_vus, path, e);
            Load {
                executor: Executor::RampingArrivalRate {
                    start_rate: start_rate / unit,
                    stages: compile_stages(stages, &p("stages"), unit, e),
                    pre_allocated_vus: pre,
                    max_vus: max,
                },
                graceful_stop: grace(e, graceful_stop),
            }
        }
        RawLoad::PerVuIterations {
            vus,
            iterations,
            max_duration,
            graceful_stop,
        } => Load {
            executor: Executor::PerVuIterations {
                vus: e.count(&p("vus"), one(vus), 1),
                iterations: e.count(&p("iterations"), one(iterations), 1),
                max_duration: max_duration_of(e, &p("max_duration"), max_duration),
            },
            graceful_stop: grace(e, graceful_stop),
        },
        RawLoad::SharedIterations {
            vus,
            iterations,
            max_duration,
            graceful_stop,
        } => {
            let (v, n) = (one(vus), one(iterations));
            if v >= 1 && n >= 1 && n < v {
                e.push(
                    p("iterations"),
                    format!("{n} is less than vus ({v}): every VU needs at least one iteration"),
                );
            }
            Load {
                executor: Executor::SharedIterations {
                    vus: e.count(&p("vus"), v, 1),
                    iterations: e.count(&p("iterations"), n, 1),
                    max_duration: max_duration_of(e, &p("max_duration"), max_duration),
                },
                graceful_stop: grace(e, graceful_stop),
            }
        }
    }
}

/// A run length that must be longer than zero (`duration`).
fn positive(e: &mut Errors, path: &str, s: &str) -> Duration {
    let d = e.duration(path, s).unwrap_or_default();
    if d.is_zero() && super::parse_duration(s).is_some() {
        e.push(path, format!("{s:?} must be longer than 0"));
    }
    d
}

/// `max_duration`: default 10m like k6, never zero.
fn max_duration_of(e: &mut Errors, path: &str, s: &Option<String>) -> Duration {
    match s {
        None => DEFAULT_MAX_DURATION,
        Some(s) => positive(e, path, s),
    }
}

/// A grace period: a duration, or a bare number of milliseconds as k6 reads it
/// (`graceful_stop: 500` is 500 ms); default 30 s.
fn grace_ms(e: &mut Errors, path: &str, s: &Option<String>) -> Duration {
    let ms = s.as_deref().and_then(|t| t.trim().parse::<f64>().ok());
    match ms {
        Some(ms) if ms.is_finite() && ms >= 0.0 => Duration::from_secs_f64(ms / 1000.0),
        _ => e.duration_or(path, s, DEFAULT_GRACE),
    }
}

fn time_unit_secs(unit: &Option<String>, path: &str, e: &mut Errors) -> f64 {
    let d = e.duration_or(path, unit, Duration::from_secs(1));
    if d.is_zero() {
        e.push(path, "time_unit must be longer than 0");
        return 1.0;
    }
    d.as_secs_f64()
}

fn vus_pool(pre: i64, max: Option<i64>, path: &str, e: &mut Errors) -> (u32, u32) {
    let pre_n = e.count(&format!("{path}.pre_allocated_vus"), pre, 1);
    let max_n = match max {
        None => pre_n,
        Some(m) if m < pre => {
            e.push(
                format!("{path}.max_vus"),
                format!("{m} is less than pre_allocated_vus ({pre})"),
            );
            pre_n
        }
        Some(m) => e.count(&format!("{path}.max_vus"), m, 1),
    };
    (pre_n, max_n)
}

/// `unit` converts stage targets to per second (1.0 for VU stages).
fn compile_stages(raw: &[RawStage], path: &str, unit: f64, e: &mut Errors) -> Vec<Stage> {
    if raw.is_empty() {
        e.push(path, "at least one stage is required");
    }
    raw.iter()
        .enumerate()
        .map(|(i, s)| {
            let sp = format!("{path}[{i}]");
            if !(s.target.is_finite() && s.target >= 0.0) {
                e.push(
                    format!("{sp}.target"),
                    format!("{} must not be negative", s.target),
                );
            }
            Stage {
                duration: e
                    .duration(&format!("{sp}.duration"), &s.duration)
                    .unwrap_or_default(),
                target: s.target.max(0.0) / unit,
            }
        })
        .collect()
}
