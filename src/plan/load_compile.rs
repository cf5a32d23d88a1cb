//! Compiles a raw `load:` block into a validated [`Load`], collecting every mistake.
//!
//! Defaults and validation follow k6's executor configs (`lib/executor/*.go`, pinned by
//! `executors_test.go`, see tests/k6_parity.rs): 1 VU and 1 iteration when omitted, a zero
//! `duration` or `max_duration` refused, a ramping-vus plan that never has a VU refused,
//! shared-iterations with more VUs than iterations refused, and a bare number for
//! `graceful_stop` / `graceful_ramp_down` read as milliseconds. k6 also wants durations of at
//! least 1 s; soakd only refuses 0, since tests and `--time-scale` dry runs use shorter ones.

use super::errors::Errors;
use super::executor::{Executor, Load, Stage};
use crate::config::{RawLoad, RawStage};
use std::time::Duration;

const DEFAULT_GRACE: Duration = Duration::from_secs(30);
const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(600);

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
            rate_of: _,
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
            rate_of: _,
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
    // None: already reported (unparsable, or beyond the bounds).
    let Some(d) = e.duration(path, s) else {
        return Duration::ZERO;
    };
    if d.is_zero() {
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
