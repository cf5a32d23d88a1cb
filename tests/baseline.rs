//! Baselines: `soakd report --baseline` and the daemon's `baseline: { compare_to: last_pass }`
//! turn a regression beyond the limit into a failed verdict, and stay quiet within it.

#[path = "daemon/support.rs"]
#[allow(dead_code)]
mod support;

use soakd::report::{Summary, regressions};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::*;

fn summary(p95: f64, rps: f64, error_rate: f64) -> Summary {
    let mut v = serde_json::json!({
        "run_id": "r", "scenario": "s", "started_at": "", "ended_at": "", "duration_seconds": 1.0,
        "result": "pass", "executor": "constant-vus",
        "metrics": { "requests_total": 100, "requests_per_second": rps, "error_rate": error_rate,
            "iterations": 100, "dropped_iterations": 0,
            "response_times_ms": { "avg": 1.0, "min": 1.0, "max": 1.0, "p50": 1.0, "p90": 1.0, "p95": p95, "p99": p95 } },
        "requests": {}, "checks": {}, "thresholds": [], "consecutive_breaches": {}
    });
    v["metrics"]["generator_lag_ms"] =
        serde_json::json!({"avg":0.0,"min":0.0,"max":0.0,"p50":0.0,"p90":0.0,"p95":0.0,"p99":0.0});
    serde_json::from_value(v).expect("a crafted summary parses")
}

#[test]
fn nine_percent_slower_passes_and_eleven_percent_slower_fails() {
    let base = summary(100.0, 50.0, 0.0);
    let breached = |cur: &Summary| {
        regressions(cur, &base, 10.0)
            .into_iter()
            .filter(|o| o.breached)
            .map(|o| o.threshold)
            .collect::<Vec<_>>()
    };
    assert!(breached(&summary(109.0, 50.0, 0.0)).is_empty());
    assert_eq!(
        breached(&summary(111.0, 50.0, 0.0)),
        vec!["regression:p95", "regression:p99"]
    );
    assert_eq!(
        breached(&summary(100.0, 44.0, 0.0)),
        vec!["regression:throughput"],
        "12% less throughput"
    );
    assert_eq!(
        breached(&summary(100.0, 50.0, 0.02)),
        vec!["regression:error_rate"],
        "2 points more errors"
    );
}

/// Summaries of judged runs (pass or fail; runs aborted at shutdown are left out).
fn summaries(dir: &Path) -> Vec<(PathBuf, serde_json::Value)> {
    let mut out = Vec::new();
    for day in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(day.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if f.path().extension().is_some_and(|x| x == "json")
                && let Ok(v) = serde_json::from_slice::<serde_json::Value>(
                    &std::fs::read(f.path()).unwrap_or_default(),
                )
                && (v["result"] == "pass" || v["result"] == "fail")
            {
                out.push((f.path(), v));
            }
        }
    }
    out
}

/// Runs the daemon until `runs` summaries exist, then stops it.
fn run_until(dir: &Path, config: &str, runs: usize) {
    let mut d = Daemon::start(dir, "baseline", config);
    d.wait(Duration::from_secs(30), "runs finished", || {
        (summaries(&dir.join("results")).len() >= runs).then_some(())
    });
    d.proc.signal("TERM");
    d.proc.wait_exit(Duration::from_secs(10));
}

#[test]
fn the_daemon_fails_a_run_that_regresses_against_the_last_pass() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::start(dir.path());
    let config = format!(
        "{}scenarios:\n  steady:\n    schedule: {{ continuous: true }}\n    target: {{ base_url: \"{}\" }}\n    load: {{ executor: constant-vus, vus: 2, duration: 1s }}\n    mix: [ {{ name: slowish, request: {{ url: /delay/50 }} }} ]\n    thresholds: {{ http_req_duration: [\"p(95)<1000\"] }}\n    baseline: {{ compare_to: last_pass, max_regression: 10% }}\n",
        config_head(dir.path(), ""),
        target.url()
    );
    run_until(dir.path(), &config, 1);
    // Make the recorded pass look 40% faster than the target really is: the next run regresses.
    let (first, mut v) = summaries(&dir.path().join("results")).pop().unwrap();
    assert_eq!(v["result"], "pass", "the first run is the baseline: {v:#}");
    for k in ["p95", "p99"] {
        let x = v["metrics"]["response_times_ms"][k].as_f64().unwrap();
        v["metrics"]["response_times_ms"][k] = serde_json::json!(x / 1.4);
    }
    std::fs::write(&first, serde_json::to_vec(&v).unwrap()).unwrap();
    run_until(dir.path(), &config, 2);
    let newest = summaries(&dir.path().join("results"))
        .into_iter()
        .map(|(_, s)| s)
        .find(|s| s["run_id"] != v["run_id"])
        .expect("a second judged run");
    assert_eq!(newest["result"], "fail", "{newest:#}");
    let p95 = newest["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["threshold"] == "regression:p95")
        .expect("a regression verdict")
        .clone();
    assert_eq!(p95["breached"], true, "{p95}");
    assert_eq!(newest["consecutive_breaches"]["regression:p95"], 1);
}
