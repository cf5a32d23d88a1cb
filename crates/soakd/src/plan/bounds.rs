//! Upper bounds on every number of a plan, so no config or env value can ask for the impossible.
//!
//! The executor checks what makes a load model meaningful (at least one VU, a positive rate);
//! this module checks what keeps it within what one process can do and what the clock can
//! hold: `vus: 1000000000`, a rate of 1e308 or `duration: 10000000h` would otherwise be
//! accepted and then exhaust memory or overflow an `Instant`. Each limit is documented in
//! docs/reliability.md with the fixture that proves it.

use super::Scenario;
use super::errors::Errors;
use super::schedule::Schedule;
use crate::config::RawLoad;
use crate::load::Field;
use std::time::Duration;

/// Most VUs one scenario may use.
pub const MAX_VUS: u32 = 100_000;
/// Highest arrival rate (iterations per second) of one scenario, and highest `max_rps`.
pub const MAX_RATE: f64 = 1_000_000.0;
/// Longest run of one scenario.
pub const MAX_RUN: Duration = Duration::from_secs(30 * 86_400);
/// Longest duration anywhere in a config (retention, timeouts, think times).
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 365 * 86_400);
/// Shortest and longest `time_unit`.
pub const MIN_TIME_UNIT: Duration = Duration::from_millis(1);
pub const MAX_TIME_UNIT: Duration = Duration::from_secs(86_400);
/// Shortest run of a continuous scenario: a zero-length run would repeat as fast as the CPU
/// allows, writing a summary file each time; 1 s caps a continuous scenario at one summary
/// (and one report) per second.
pub const MIN_CONTINUOUS_RUN: Duration = Duration::from_secs(1);
/// Largest mix weight (weights are relative; a sum of huge weights would overflow to inf).
pub const MAX_WEIGHT: f64 = 1e9;
/// Largest `max_body_bytes`.
pub const MAX_BODY_BYTES: i64 = 1 << 30;

/// Checks the compiled load model of scenario `s` (whose config path is `path`).
pub fn check_scenario(s: &Scenario, raw: Option<&RawLoad>, path: &str, e: &mut Errors) {
    let p = |field: &str| format!("{path}.load.{field}");
    let ex = &s.load.executor;
    let field = |f: Field| ex.kind().field(f);
    let vus_field = field(Field::Vus);
    if ex.max_vus() > MAX_VUS {
        e.push(
            p(vus_field),
            format!(
                "asks for {} VUs, above the limit of {MAX_VUS} per scenario",
                ex.max_vus()
            ),
        );
    }
    if let Some(rate) = ex.peak_rate()
        && rate > MAX_RATE
    {
        e.push(
            p(field(Field::Rate)),
            format!(
                "asks for {} iterations/s, above the limit of {MAX_RATE} per scenario",
                number(rate)
            ),
        );
    }
    let run = ex.duration();
    if run > MAX_RUN {
        e.push(
            p(field(Field::Duration)),
            format!(
                "a run of {} is longer than the limit of {}",
                days(run),
                days(MAX_RUN)
            ),
        );
    }
    if matches!(s.schedule, Schedule::Continuous) && run < MIN_CONTINUOUS_RUN {
        e.push(
            format!("{path}.schedule"),
            format!(
                "a continuous scenario needs runs of at least 1s; its load lasts {}",
                humantime::format_duration(run)
            ),
        );
    }
    let time_unit = raw.and_then(|r| crate::load::raw_parts(r).time_unit);
    if let Some(d) = time_unit.and_then(super::parse_duration)
        && !d.is_zero()
        && !(MIN_TIME_UNIT..=MAX_TIME_UNIT).contains(&d)
    {
        e.push(
            p("time_unit"),
            format!(
                "{} is outside 1ms..1d",
                time_unit.map(|t| format!("{t:?}")).unwrap_or_default()
            ),
        );
    }
}

/// A duration parsed anywhere in the config that is too long to be meant (and to fit an
/// `Instant`): the message for `Errors::duration`.
pub fn too_long(s: &str) -> String {
    format!("{s:?} is longer than the limit of 10 years")
}

/// A number as users write it: `1e308` rather than 309 digits.
pub fn number(x: f64) -> String {
    if x.abs() >= 1e15 {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

/// Whole days as `31d`, anything else as humantime writes it (without its 30.44-day months).
fn days(d: Duration) -> String {
    if d.as_secs().is_multiple_of(86_400) && d.subsec_nanos() == 0 {
        format!("{}d", d.as_secs() / 86_400)
    } else {
        humantime::format_duration(d).to_string()
    }
}
