//! Shared helpers of the engine and `soakd once` acceptance tests: an in-process calibration
//! target on loopback, and scenarios built from a YAML snippet in which `${TARGET}` stands for
//! the target's base URL.

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

/// One HTTP/1.1 request with `Connection: close`; returns (status, body).
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, body.to_string())
}

/// A command for a real program started by a test (prometheus, alertmanager, soakd): run in
/// `dir`, stdout and stderr into `log`, and none of the developer's `SOAKD_*` overrides (env
/// config overrides, `SOAKD_SHARD`, ...).
pub fn logged_command(
    bin: &std::path::Path,
    args: &[String],
    dir: &std::path::Path,
    log: &std::path::Path,
) -> std::process::Command {
    let f = std::fs::File::create(log).expect("create log");
    let mut cmd = std::process::Command::new(bin);
    cmd.args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(f.try_clone().expect("clone log handle"))
        .stderr(f);
    for (k, _) in std::env::vars() {
        if k.starts_with("SOAKD") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// The value of the first sample of family `name` in exposition `text` whose label text contains
/// every one of `labels` (e.g. `scenario="feed"`).
pub fn sample_value(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let prefix = format!("{name}{{");
    text.lines()
        .filter(|l| l.starts_with(&prefix) && labels.iter().all(|want| l.contains(want)))
        .find_map(|l| {
            l.rsplit_once("} ")?
                .1
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
}
