//! Shared helpers of the engine and `soakd once` acceptance tests: an in-process calibration
//! target on loopback, and scenarios built from a YAML snippet in which `${TARGET}` stands for
//! the target's base URL. Below them, the support layer every test binary shares: the
//! /metrics reader (`exposition`), the child-process harness (`process`) and the blocking
//! HTTP client (`wire`); and the list of soakd's metric families (`metrics`).

#![allow(dead_code)]

use soakd::config::load_str;
use soakd::plan::{Scenario, compile_loaded};
use soakd::run::{self, RunControl, RunReport};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testbed::TargetHandle;

/// Starts the calibration target on 127.0.0.1, port 0.
pub async fn start_target() -> TargetHandle {
    testbed::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .expect("the calibration target starts on loopback")
}

/// The YAML text of a config holding the single scenario `name`, whose body is `scenario`
/// (indented YAML of the keys under `scenarios.NAME`), with `${TARGET}` replaced by `target`.
pub fn config_yaml(target: &str, name: &str, scenario: &str) -> String {
    let indent = scenario
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let body: String = scenario
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("    {}\n", &l[indent..]))
        .collect();
    format!("scenarios:\n  {name}:\n{body}").replace("${TARGET}", target)
}

/// Compiles the single scenario `name` of `yaml`, panicking with every config error.
pub fn compile_scenario(yaml: &str, name: &str) -> Arc<Scenario> {
    let loaded = load_str("test.yaml", yaml, Some(Default::default()))
        .unwrap_or_else(|e| panic!("config does not load:\n{e}\n---\n{yaml}"));
    let plan = compile_loaded(&loaded).unwrap_or_else(|errs| {
        let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        panic!("config does not compile:\n{}\n---\n{yaml}", msgs.join("\n"))
    });
    plan.scenarios
        .get(name)
        .cloned()
        .unwrap_or_else(|| panic!("no scenario {name} in\n{yaml}"))
}

/// A scenario named `t` from a snippet of its keys, `${TARGET}` replaced by `target`.
pub fn scenario(target: &TargetHandle, snippet: &str) -> Arc<Scenario> {
    compile_scenario(&config_yaml(&target.url(), "t", snippet), "t")
}

/// A run of `scenario`, not started yet.
pub fn control(scenario: Arc<Scenario>) -> Arc<RunControl> {
    RunControl::new(scenario, None)
}

/// Runs the scenario to its end; returns the report and the wall-clock time it took.
pub async fn run(scenario: Arc<Scenario>) -> (RunReport, Duration) {
    run_ctl(control(scenario)).await
}

/// Runs an existing control to its end, bounded by a generous outer timeout.
pub async fn run_ctl(ctl: Arc<RunControl>) -> (RunReport, Duration) {
    let t0 = Instant::now();
    let report = tokio::time::timeout(Duration::from_secs(40), run::execute(ctl))
        .await
        .expect("the run ends within 40 s");
    (report, t0.elapsed())
}

/// The verdict labelled `label` in `report` (panics listing all of them if there is none).
pub fn outcome(report: &RunReport, label: &str) -> soakd::verdict::Outcome {
    report
        .outcomes
        .iter()
        .find(|o| o.threshold == label)
        .unwrap_or_else(|| panic!("no outcome {label}: {:?}", report.outcomes))
        .clone()
}

/// Asserts `actual` is within `pct` percent of `expected`.
#[track_caller]
pub fn assert_within_pct(what: &str, actual: f64, expected: f64, pct: f64) {
    let tol = expected * pct / 100.0;
    assert!(
        (actual - expected).abs() <= tol,
        "{what}: {actual} is not within {pct}% of {expected} (±{tol})"
    );
}

/// One HTTP/1.1 request with `Connection: close` ([`wire::request`] on the blocking pool);
/// returns (status, body).
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    let (m, p, b) = (method.to_string(), path.to_string(), body.to_string());
    let r = tokio::task::spawn_blocking(move || {
        wire::request(addr, &m, &p, &[], Some(&b), Duration::from_secs(10))
    })
    .await
    .expect("the request task")
    .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    (r.status, r.body)
}

// The shared layer of every test binary: one /metrics reader, one list of families, one
// child-process harness, one blocking HTTP client (tests/daemon includes the same files by
// path).
pub mod exposition;
pub mod metrics;
pub mod process;
pub mod wire;

// Each test binary uses some of these; the others would warn as unused imports.
#[allow(unused_imports)]
pub use exposition::sample_value;
#[allow(unused_imports)]
pub use process::logged_command;
