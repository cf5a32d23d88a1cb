//! Validation shared by the executor files, following k6's executor configs
//! (`lib/executor/*.go`, pinned by `executors_test.go`, see tests/k6_parity.rs): 1 VU and 1
//! iteration when omitted, a zero `duration` or `max_duration` refused, and a bare number for
//! `graceful_stop` / `graceful_ramp_down` read as milliseconds. k6 also wants durations of at
//! least 1 s; soakd only refuses 0, since tests and `--time-scale` dry runs use shorter ones.

use super::Stage;
use crate::config::RawStage;
use std::time::Duration;

const DEFAULT_GRACE: Duration = Duration::from_secs(30);
const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(600);

/// Where an executor's config mistakes go, each with its field path (`plan::Errors`).
pub trait Check {
    fn push(&mut self, path: String, message: String);
    /// Parses a duration or records why it is not one.
    fn duration(&mut self, path: &str, s: &str) -> Option<Duration>;
    /// An optional duration with a default.
    fn duration_or(&mut self, path: &str, s: &Option<String>, default: Duration) -> Duration {
        match s {
            Some(s) => self.duration(path, s).unwrap_or(default),
            None => default,
        }
    }
    /// A count that must be ≥ `min`.
    fn count(&mut self, path: &str, v: i64, min: i64) -> u32;
}

/// `path.field`.
pub(super) fn at(path: &str, field: &str) -> String {
    format!("{path}.{field}")
}

/// 1 when omitted, like k6.
pub(super) fn one(v: &Option<i64>) -> i64 {
    v.unwrap_or(1)
}

/// A run length that must be longer than zero (`duration`).
pub(super) fn positive(e: &mut dyn Check, path: &str, s: &str) -> Duration {
    // None: already reported (unparsable, or beyond the bounds).
    let Some(d) = e.duration(path, s) else {
        return Duration::ZERO;
    };
    if d.is_zero() {
        e.push(path.to_string(), format!("{s:?} must be longer than 0"));
    }
    d
}

/// `max_duration`: default 10m like k6, never zero.
pub(super) fn max_duration(e: &mut dyn Check, path: &str, s: &Option<String>) -> Duration {
    match s {
        None => DEFAULT_MAX_DURATION,
        Some(s) => positive(e, path, s),
    }
}

/// A grace period: a duration, or a bare number of milliseconds as k6 reads it
/// (`graceful_stop: 500` is 500 ms); default 30 s.
pub(super) fn grace_ms(e: &mut dyn Check, path: &str, s: &Option<String>) -> Duration {
    let ms = s.as_deref().and_then(|t| t.trim().parse::<f64>().ok());
    match ms {
        Some(ms) if ms.is_finite() && ms >= 0.0 => Duration::from_secs_f64(ms / 1000.0),
        _ => e.duration_or(path, s, DEFAULT_GRACE),
    }
}

/// The `vus`, `iterations`, `max_duration` and `graceful_stop` of an iteration-budget executor.
pub(super) fn budget(
    e: &mut dyn Check,
    path: &str,
    vus: i64,
    iterations: i64,
    cap: &Option<String>,
    grace: &Option<String>,
) -> (u32, u32, Duration, Duration) {
    (
        e.count(&at(path, "vus"), vus, 1),
        e.count(&at(path, "iterations"), iterations, 1),
        max_duration(e, &at(path, "max_duration"), cap),
        graceful_stop(e, path, grace),
    )
}

/// `graceful_stop` under `path`.
pub(super) fn graceful_stop(e: &mut dyn Check, path: &str, s: &Option<String>) -> Duration {
    grace_ms(e, &at(path, "graceful_stop"), s)
}

/// `time_unit` in seconds (default 1 s).
pub(super) fn time_unit_secs(e: &mut dyn Check, path: &str, unit: &Option<String>) -> f64 {
    let path = at(path, "time_unit");
    let d = e.duration_or(&path, unit, Duration::from_secs(1));
    if d.is_zero() {
        e.push(path, "time_unit must be longer than 0".into());
        return 1.0;
    }
    d.as_secs_f64()
}

/// `pre_allocated_vus` and `max_vus` (default: the pre-allocated ones).
pub(super) fn vus_pool(e: &mut dyn Check, path: &str, pre: i64, max: Option<i64>) -> (u32, u32) {
    let pre_n = e.count(&at(path, "pre_allocated_vus"), pre, 1);
    let max_n = match max {
        None => pre_n,
        Some(m) if m < pre => {
            e.push(
                at(path, "max_vus"),
                format!("{m} is less than pre_allocated_vus ({pre})"),
            );
            pre_n
        }
        Some(m) => e.count(&at(path, "max_vus"), m, 1),
    };
    (pre_n, max_n)
}

/// `path.stages`; `unit` converts stage targets to per second (1.0 for VU stages).
pub(super) fn stages(e: &mut dyn Check, path: &str, raw: &[RawStage], unit: f64) -> Vec<Stage> {
    let path = at(path, "stages");
    if raw.is_empty() {
        e.push(path.clone(), "at least one stage is required".into());
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

/// A number as `soakd check` shows it: at most two decimals, no trailing zeros.
pub(super) fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A duration as `soakd check` shows it.
pub(super) fn human(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}
