//! Always-on safety: when a scenario must not send load, and when it is judged against history.
//!
//! soakd runs forever against staging environments other teams share. Three things keep it a
//! good neighbour and a fair judge: blackout windows (deploys, freezes: no run starts, running
//! ones stop), a circuit breaker (a target failing hard is left alone for a cooldown instead of
//! being hammered back to back), and the statistical baseline (a run is a regression only when
//! it differs significantly and materially from its recent passing history). This file holds
//! their validated forms; the daemon (`app`) applies them.

use super::errors::Errors;
use super::schedule::{Schedule, compile_schedule};
use crate::config::{
    RawBaseline, RawBlackout, RawCircuitBreaker, RawConfig, RawCron, RawScenario, RawSchedule,
};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The always-on settings of one scenario.
#[derive(Debug, Clone, Default)]
pub struct AlwaysOn {
    /// `safety.blackouts` followed by the scenario's own.
    pub blackouts: Vec<Blackout>,
    pub circuit_breaker: Option<CircuitBreaker>,
    /// `baseline: { against: last_N_passing, … }`.
    pub statistical_baseline: Option<RegressionSettings>,
}

/// A recurring window: opens at each cron fire, stays open for `duration`.
#[derive(Debug, Clone)]
pub struct Blackout {
    pub schedule: Schedule,
    pub duration: Duration,
}

impl Blackout {
    /// If `t` lies inside a window, when that window (and any overlapping later one) closes.
    pub fn open_until(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let len = chrono::Duration::from_std(self.duration).ok()?;
        // A window is open at t iff one fired in (t - duration, t].
        let fire = self.schedule.next_after(t - len)?;
        if fire > t {
            return None;
        }
        let (mut last, mut end) = (fire, fire + len);
        // Windows longer than the cron period chain into one (bounded: a window that never
        // closes reports an end 1000 fires ahead, and is asked again then).
        for _ in 0..1000 {
            match self.schedule.next_after(last) {
                Some(next) if next < end => {
                    last = next;
                    end = next + len;
                }
                _ => break,
            }
        }
        Some(end)
    }

    pub fn describe(&self) -> String {
        format!(
            "{} for {}",
            self.schedule.describe(),
            humantime::format_duration(self.duration)
        )
    }
}

/// `circuit_breaker`: trip on error rate or p95 over a sliding window, then hold.
#[derive(Debug, Clone, PartialEq)]
pub struct CircuitBreaker {
    pub error_rate: Option<f64>,
    pub p95: Option<Duration>,
    pub window: Duration,
    pub cooldown: Duration,
    pub max_cooldown: Duration,
    pub min_requests: u64,
}

impl CircuitBreaker {
    /// The hold after the `trips`-th trip in a row: cooldown × 2^(trips-1), capped.
    pub fn cooldown_after(&self, trips: u32) -> Duration {
        let factor = 2u32.saturating_pow(trips.saturating_sub(1).min(20));
        self.cooldown
            .saturating_mul(factor)
            .min(self.max_cooldown)
            .max(self.cooldown)
    }

    pub fn describe(&self) -> String {
        let mut when = Vec::new();
        if let Some(r) = self.error_rate {
            when.push(format!("error_rate >= {r}"));
        }
        if let Some(p) = self.p95 {
            when.push(format!("p95 >= {}", humantime::format_duration(p)));
        }
        format!(
            "{} over {}, cooldown {} (doubling, max {})",
            when.join(" or "),
            humantime::format_duration(self.window),
            humantime::format_duration(self.cooldown),
            humantime::format_duration(self.max_cooldown)
        )
    }
}

/// `safety.blackouts`, compiled once for the whole plan (each scenario gets a copy first in
/// its `blackouts`).
pub fn global_blackouts(raw: &RawConfig, e: &mut Errors) -> Vec<Blackout> {
    raw.safety
        .blackouts
        .iter()
        .enumerate()
        .filter_map(|(i, b)| blackout(b, &format!("safety.blackouts[{i}]"), e))
        .collect()
}

/// Compiles the always-on keys of one scenario (`path` is `scenarios.NAME`); its blackouts
/// are its own, `global_blackouts` go before them.
pub fn compile(rs: &RawScenario, raw: &RawConfig, path: &str, e: &mut Errors) -> AlwaysOn {
    let blackouts: Vec<Blackout> = rs
        .blackouts
        .iter()
        .enumerate()
        .filter_map(|(i, b)| blackout(b, &format!("{path}.blackouts[{i}]"), e))
        .collect();
    let circuit_breaker = match (&rs.circuit_breaker, &raw.defaults.circuit_breaker) {
        (Some(cb), _) => breaker(cb, &format!("{path}.circuit_breaker"), e),
        (None, Some(cb)) => breaker(cb, "defaults.circuit_breaker", e),
        (None, None) => None,
    };
    let statistical_baseline = rs
        .baseline
        .as_ref()
        .and_then(|b| statistical(b, &format!("{path}.baseline"), e));
    AlwaysOn {
        blackouts,
        circuit_breaker,
        statistical_baseline,
    }
}

fn blackout(b: &RawBlackout, path: &str, e: &mut Errors) -> Option<Blackout> {
    let raw = Some(RawSchedule::Cron(RawCron {
        cron: b.cron.clone(),
        timezone: b.timezone.clone(),
    }));
    let before = e.list.len();
    let schedule = compile_schedule(&raw, path, e);
    let duration = e.duration(&format!("{path}.duration"), &b.duration);
    if duration == Some(Duration::ZERO) {
        e.push(format!("{path}.duration"), "must be longer than 0");
    }
    (e.list.len() == before).then_some(Blackout {
        schedule,
        duration: duration?,
    })
}

fn breaker(cb: &RawCircuitBreaker, path: &str, e: &mut Errors) -> Option<CircuitBreaker> {
    let before = e.list.len();
    if let Some(r) = cb.error_rate
        && !(r > 0.0 && r <= 1.0)
    {
        e.push(
            format!("{path}.error_rate"),
            format!("{r} must be a ratio in (0, 1]"),
        );
    }
    let p95 = cb
        .p95
        .as_ref()
        .and_then(|p| e.duration(&format!("{path}.p95"), p));
    if cb.error_rate.is_none() && cb.p95.is_none() {
        e.push(path, "needs error_rate, p95 or both");
    }
    let window = e.duration_or(
        &format!("{path}.window"),
        &cb.window,
        Duration::from_secs(30),
    );
    let cooldown = e.duration_or(
        &format!("{path}.cooldown"),
        &cb.cooldown,
        Duration::from_secs(300),
    );
    let max_cooldown = e.duration_or(
        &format!("{path}.max_cooldown"),
        &cb.max_cooldown,
        Duration::from_secs(3600).max(cooldown),
    );
    for (field, d) in [("window", window), ("cooldown", cooldown)] {
        if d.is_zero() {
            e.push(format!("{path}.{field}"), "must be longer than 0");
        }
    }
    if max_cooldown < cooldown {
        e.push(
            format!("{path}.max_cooldown"),
            format!(
                "{} is shorter than cooldown {}",
                humantime::format_duration(max_cooldown),
                humantime::format_duration(cooldown)
            ),
        );
    }
    let min_requests = match cb.min_requests {
        Some(n) => u64::from(e.count(&format!("{path}.min_requests"), n, 1)),
        None => 20,
    };
    (e.list.len() == before).then_some(CircuitBreaker {
        error_rate: cb.error_rate,
        p95,
        window,
        cooldown,
        max_cooldown,
        min_requests,
    })
}

/// `against: last_N_passing` turns the statistical baseline on; None keeps the raw delta.
fn statistical(b: &RawBaseline, path: &str, e: &mut Errors) -> Option<RegressionSettings> {
    let against = b.against.as_deref()?;
    let history = against
        .strip_prefix("last_")
        .and_then(|r| r.strip_suffix("_passing"))
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| (1..=100).contains(n));
    if history.is_none() {
        e.push(
            format!("{path}.against"),
            format!("{against:?} is not last_N_passing with N in 1..=100 (e.g. last_10_passing)"),
        );
    }
    match b.test.as_deref() {
        None | Some("mann_whitney") => {}
        Some(t) => e.push(
            format!("{path}.test"),
            format!("{t:?} is not supported (use mann_whitney)"),
        ),
    }
    let alpha = b.alpha.unwrap_or(0.01);
    if !(alpha > 0.0 && alpha < 0.5) {
        e.push(
            format!("{path}.alpha"),
            format!("{alpha} must be in (0, 0.5)"),
        );
    }
    let min_effect = match &b.min_effect {
        None => Some(5.0),
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => {
            s.trim().trim_end_matches('%').trim().parse::<f64>().ok()
        }
        Some(_) => None,
    }
    .filter(|m| m.is_finite() && *m >= 0.0);
    if min_effect.is_none() {
        e.push(
            format!("{path}.min_effect"),
            format!(
                "{} is not a percentage such as 5%",
                b.min_effect
                    .as_ref()
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            ),
        );
    }
    Some(RegressionSettings {
        history: history?,
        alpha,
        min_effect: min_effect? / 100.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn window(cron: &str, dur: &str, tz: Option<&str>) -> Blackout {
        let mut e = Errors::new("t.yaml");
        let b = RawBlackout {
            cron: cron.into(),
            duration: dur.into(),
            timezone: tz.map(Into::into),
        };
        let w = blackout(&b, "safety.blackouts[0]", &mut e);
        assert!(e.is_empty(), "{:?}", e.list);
        w.expect("blackout")
    }

    #[test]
    fn a_blackout_is_open_from_its_fire_for_its_duration() {
        // Tuesdays 14:00 Berlin (CET in January = 13:00 UTC), 1 h.
        let w = window("0 14 * * 2", "1h", Some("Europe/Berlin"));
        let at = |h, m| Utc.with_ymd_and_hms(2026, 1, 6, h, m, 0).unwrap();
        assert_eq!(w.open_until(at(12, 59)), None);
        assert_eq!(w.open_until(at(13, 0)), Some(at(14, 0)));
        assert_eq!(w.open_until(at(13, 59)), Some(at(14, 0)));
        assert_eq!(w.open_until(at(14, 0)), None);
    }

    #[test]
    fn overlapping_windows_chain_into_one() {
        // Every minute, open for 90 s: never closes.
        let w = window("* * * * *", "90s", None);
        let t = Utc.with_ymd_and_hms(2026, 1, 6, 10, 0, 30).unwrap();
        let end = w.open_until(t).expect("open");
        assert!(end > t + chrono::Duration::minutes(5), "{end}");
    }

    #[test]
    fn cooldown_doubles_per_trip_up_to_its_cap() {
        let cb = CircuitBreaker {
            error_rate: Some(0.5),
            p95: None,
            window: Duration::from_secs(30),
            cooldown: Duration::from_secs(300),
            max_cooldown: Duration::from_secs(1800),
            min_requests: 20,
        };
        let mins: Vec<u64> = (1..=5)
            .map(|n| cb.cooldown_after(n).as_secs() / 60)
            .collect();
        assert_eq!(mins, vec![5, 10, 20, 30, 30]);
    }

    #[test]
    fn bad_keys_name_their_field() {
        let mut e = Errors::new("t.yaml");
        let cb = RawCircuitBreaker {
            error_rate: Some(1.5),
            cooldown: Some("5 parsecs".into()),
            ..Default::default()
        };
        assert!(breaker(&cb, "scenarios.a.circuit_breaker", &mut e).is_none());
        let b = RawBaseline {
            against: Some("last_pass".into()),
            min_effect: Some(serde_json::json!("lots")),
            ..Default::default()
        };
        assert!(statistical(&b, "scenarios.a.baseline", &mut e).is_none());
        let paths: Vec<&str> = e.list.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "scenarios.a.circuit_breaker.error_rate",
                "scenarios.a.circuit_breaker.cooldown",
                "scenarios.a.baseline.against",
                "scenarios.a.baseline.min_effect",
            ]
        );
    }
}

/// The settings of `baseline: { against: last_N_passing, test: mann_whitney, alpha, min_effect }`
/// (the statistics that use them live in `verdict::regression`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RegressionSettings {
    /// How many recent passing runs form the baseline.
    pub history: usize,
    pub alpha: f64,
    /// Smallest relative effect that counts (0.05 = 5 %).
    pub min_effect: f64,
}
