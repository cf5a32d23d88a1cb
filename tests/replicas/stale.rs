//! Phase 4 of tests/replicas.rs: a scenario whose runs stopped goes stale (SoakdScenarioStale).
//!
//! The shipped rule wants the last run's end older than 2×interval + 300 s for 2 minutes: far
//! beyond a bounded test. Rather than weakening the rule for the test, the test evaluates the
//! rule's exact expression (as Prometheus loaded it from the rendered PrometheusRule) at the
//! future times where it must and must not hold, with Prometheus' query API. That is honest
//! because a paused scenario's gauges stay exported and unchanged (checked first): the scrapes
//! still to come would add nothing but the same values, which the test Prometheus' 10 min
//! lookback stands in for.

use crate::e2e::prom::sample;
use crate::e2e::{Harness as _, unix_now};
use crate::{Replicas, SCENARIO};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Phase 4: paused on every replica, the scenario's runs stop but its series stay exported
/// unchanged; SoakdScenarioStale's own expression (as Prometheus loaded it) then holds from
/// 2×interval + 300 s after the last run's end for the rule's whole `for`, not before, and it
/// never held while runs happened.
pub fn pause_makes_the_scenario_stale(r: &mut Replicas, running_since: f64) {
    let paused_at = unix_now();
    for i in 0..r.pods.len() {
        match r.post_admin(i, &format!("/api/v1/scenarios/{SCENARIO}/pause")) {
            Ok((200, _)) => {}
            other => r.fail(&format!("pause on {}: {other:?}", r.pods[i].name)),
        }
    }
    let idle =
        format!("count(max_over_time(soakd_run_active{{scenario=\"{SCENARIO}\"}}[2s]) == 0)");
    r.wait(
        "Prometheus to see no run on any pod",
        Duration::from_secs(15),
        |r| (r.prom.scalar(&idle)? == r.pods.len() as f64).then_some(()),
    );
    let ends = |r: &Replicas| -> BTreeMap<String, f64> {
        let q = format!("soakd_run_last_end_timestamp_seconds{{scenario=\"{SCENARIO}\"}}");
        let v = r.prom.query(&q).unwrap_or_else(|e| r.fail(&e));
        v.iter()
            .filter_map(|s| Some((s["metric"]["pod"].as_str()?.to_owned(), sample(s)?)))
            .collect()
    };
    let first = ends(r);
    std::thread::sleep(Duration::from_secs(3));
    let fresh = format!(
        "max(time() - timestamp(soakd_run_last_end_timestamp_seconds{{scenario=\"{SCENARIO}\"}}))"
    );
    let age = r.prom.scalar(&fresh).unwrap_or(f64::INFINITY);
    if first.len() != r.pods.len() || ends(r) != first || age > 2.5 {
        r.fail(&format!(
            "paused: last run ends {first:?} must stay exported unchanged (sample age {age})"
        ));
    }
    let rule = r
        .prom
        .rule("SoakdScenarioStale")
        .unwrap_or_else(|e| r.fail(&e));
    let (expr, for_s) = (
        rule["query"].as_str().unwrap_or("").to_owned(),
        rule["duration"].as_f64().unwrap_or(0.0),
    );
    let interval = r
        .prom
        .scalar(&format!(
            "max(soakd_schedule_interval_seconds{{scenario=\"{SCENARIO}\"}})"
        ))
        .unwrap_or(0.0);
    let last_end = first.values().cloned().fold(0.0, f64::max);
    let due = last_end + 2.0 * interval + 300.0;
    let ours = |rows: &[Value]| {
        rows.iter()
            .filter(|s| s["metric"]["scenario"] == SCENARIO)
            .count()
    };
    let early = r
        .prom
        .query_at(&expr, due - 5.0)
        .unwrap_or_else(|e| r.fail(&e));
    let held = r
        .prom
        .range(&expr, due + 1.0, due + 1.0 + for_s, 10.0)
        .unwrap_or_else(|e| r.fail(&e));
    let steps = held
        .first()
        .and_then(|s| s["values"].as_array())
        .map_or(0, Vec::len);
    let labels = held
        .first()
        .map(|s| s["metric"].clone())
        .unwrap_or_default();
    if interval != r.run_s
        || for_s < 60.0
        || ours(&early) != 0
        || held.len() != 1
        || steps != (for_s / 10.0) as usize + 1
    {
        r.fail(&format!(
            "SoakdScenarioStale `{expr}` (interval {interval}, for {for_s}s): 5 s before due {early:?}; \
             from due on {held:?}"
        ));
    }
    if labels["job"] != "soakd" || labels["namespace"] != crate::NAMESPACE {
        r.fail(&format!("SoakdScenarioStale labels {labels}"));
    }
    // While runs happened (one pod restarted meanwhile) the last end was never older than a run.
    let during = r
        .prom
        .range(&expr, running_since, paused_at, 1.0)
        .unwrap_or_else(|e| r.fail(&e));
    let age_q = format!(
        "time() - max by (scenario) (soakd_run_last_end_timestamp_seconds{{scenario=\"{SCENARIO}\"}} > 0)"
    );
    let ages = r
        .prom
        .range(&age_q, running_since, paused_at, 1.0)
        .unwrap_or_else(|e| r.fail(&e));
    let oldest = ages
        .iter()
        .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v[1].as_str()?.parse::<f64>().ok())
        .fold(0.0, f64::max);
    if !during.is_empty() || ages.is_empty() || oldest > interval + 2.0 {
        r.fail(&format!(
            "while running: stale {during:?}, last end up to {oldest:.1}s old"
        ));
    }
    r.stack.note(&format!(
        "paused: SoakdScenarioStale holds from last end + {:.0}s for {for_s}s; while running the last end was at most {oldest:.1}s old",
        due - last_end
    ));
}
