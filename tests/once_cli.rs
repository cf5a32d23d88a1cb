//! `soakd once` end to end: the built binary against the in-process calibration target on
//! loopback, configs from `tests/fixtures/once/` written to a temporary directory.
//!
//! Exit codes (DESIGN §2): 0 pass, 99 a threshold failed, 2 invalid config or arguments.

mod common;

use common::start_target;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};
use testbed::TargetHandle;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_soakd");

/// A fixture with `${TARGET}` replaced, written into `dir`.
fn fixture(dir: &Path, name: &str, target: &TargetHandle) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/once")
        .join(name);
    let text = std::fs::read_to_string(&src)
        .unwrap()
        .replace("${TARGET}", &target.url());
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn soakd(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("once")
        .arg("--quiet")
        .args(args)
        .env_remove("SOAKD_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

/// Runs to the end (bounded), returns the output and the wall-clock time.
async fn run(mut cmd: Command) -> (Output, Duration) {
    let t0 = Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .expect("soakd once ends within 30 s")
        .expect("soakd runs");
    (out, t0.elapsed())
}

fn code(out: &Output) -> i32 {
    out.status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {out:?}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("summary exported")).unwrap()
}

/// Asserts `v` has `avg, min, max, p50, p90, p95, p99` numbers.
#[track_caller]
fn assert_times(v: &Value, what: &str) {
    for k in ["avg", "min", "max", "p50", "p90", "p95", "p99"] {
        assert!(v[k].is_number(), "{what}.{k} missing in {v}");
    }
}

#[tokio::test]
async fn a_passing_scenario_exits_0_and_exports_every_summary_field_of_design_7() {
    let t = start_target().await;
    let dir = tempfile::tempdir().unwrap();
    let config = fixture(dir.path(), "scenarios.yaml", &t);
    let out_file = dir.path().join("summary.json");
    let (out, _) = run(soakd(&[
        "smoke",
        "--config",
        config.to_str().unwrap(),
        "--summary-export",
        out_file.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    let s = read_json(&out_file);

    for k in ["run_id", "scenario", "started_at", "ended_at", "result"] {
        assert!(s[k].is_string(), "{k} missing in {s:#}");
    }
    assert_eq!(s["scenario"], "smoke");
    assert_eq!(s["result"], "pass");
    assert!(s["duration_seconds"].as_f64().unwrap() >= 1.0);
    assert!(s["consecutive_breaches"].is_object(), "{s:#}");

    let m = &s["metrics"];
    assert_eq!(m["requests_total"], 50);
    assert_eq!(m["iterations"], 50);
    assert_eq!(m["dropped_iterations"], 0);
    assert_eq!(m["error_rate"], 0.0);
    assert!(m["requests_per_second"].as_f64().unwrap() > 0.0);
    assert_times(&m["response_times_ms"], "metrics.response_times_ms");

    let reqs = s["requests"].as_object().unwrap();
    assert_eq!(
        reqs.keys().collect::<Vec<_>>(),
        ["echo", "home"],
        "one entry per request name"
    );
    let mut total = 0;
    for (name, r) in reqs {
        for k in ["requests_total", "requests_per_second", "error_rate"] {
            assert!(r[k].is_number(), "requests.{name}.{k} missing in {r}");
        }
        assert_times(&r["response_times_ms"], &format!("requests.{name}"));
        total += r["requests_total"].as_u64().unwrap();
    }
    assert_eq!(total, 50);

    let checks = s["checks"].as_object().unwrap();
    assert_eq!(checks.len(), 3, "{checks:?}");
    let mut passes = 0;
    for (name, c) in checks {
        assert_eq!(c["fails"], 0, "check {name}");
        passes += c["passes"].as_u64().unwrap();
    }
    // home has two checks, echo one: every iteration ran one request.
    let home = reqs["home"]["requests_total"].as_u64().unwrap();
    assert_eq!(passes, 2 * home + (50 - home));

    let th = s["thresholds"].as_array().unwrap();
    assert_eq!(th.len(), 3, "{th:?}");
    for t in th {
        assert!(t["threshold"].is_string() && t["limit"].is_number(), "{t}");
        assert!(t["observed"].is_number(), "{t}");
        assert_eq!(t["breached"], false, "{t}");
    }
}

#[tokio::test]
async fn a_failed_threshold_exits_99_and_the_summary_says_why() {
    let t = start_target().await;
    let dir = tempfile::tempdir().unwrap();
    let config = fixture(dir.path(), "scenarios.yaml", &t);
    let out_file = dir.path().join("summary.json");
    let (out, _) = run(soakd(&[
        "slow",
        "--config",
        config.to_str().unwrap(),
        "--summary-export",
        out_file.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(code(&out), 99, "stderr: {}", stderr(&out));
    let s = read_json(&out_file);
    assert_eq!(s["result"], "fail");
    assert_eq!(s["metrics"]["iterations"], 6);
    let th = &s["thresholds"][0];
    assert_eq!(th["threshold"], "http_req_duration:p(95)<50");
    assert_eq!(th["breached"], true);
    assert!(th["observed"].as_f64().unwrap() >= 100.0, "{th}");
    assert_eq!(th["limit"], 50.0);
}

#[tokio::test]
async fn an_invalid_config_exits_2_naming_the_file_and_the_field() {
    let t = start_target().await;
    let dir = tempfile::tempdir().unwrap();
    let config = fixture(dir.path(), "invalid.yaml", &t);
    let (out, _) = run(soakd(&["broken", "--config", config.to_str().unwrap()])).await;
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains(config.to_str().unwrap()),
        "no file name in: {err}"
    );
    assert!(
        err.contains("scenarios.broken.load.stages[0].duration"),
        "no field in: {err}"
    );
    assert!(err.contains("3x"), "bad value not quoted in: {err}");
    assert_eq!(t.stats().ok, 0, "nothing was sent");
}

#[tokio::test]
async fn an_unknown_scenario_exits_2_and_lists_the_known_ones() {
    let t = start_target().await;
    let dir = tempfile::tempdir().unwrap();
    let config = fixture(dir.path(), "scenarios.yaml", &t);
    let (out, _) = run(soakd(&["nope", "--config", config.to_str().unwrap()])).await;
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("nope") && err.contains("smoke"), "{err}");
}

#[tokio::test]
async fn ad_hoc_open_model_with_a_holding_threshold_exits_0() {
    let t = start_target().await;
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("adhoc.json");
    let url = format!("{}/ok", t.url());
    let (out, took) = run(soakd(&[
        "--url",
        &url,
        "--rate",
        "100",
        "--duration",
        "2s",
        "--threshold",
        "http_req_duration:p(95)<500",
        "--summary-export",
        out_file.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    assert!(took < Duration::from_secs(6), "took {took:?}");
    let s = read_json(&out_file);
    assert_eq!(s["result"], "pass");
    let n = s["metrics"]["iterations"].as_u64().unwrap();
    assert!((198..=202).contains(&n), "100/s × 2 s gave {n}");
    assert_eq!(t.stats().ok, n);
}

#[tokio::test]
async fn ad_hoc_with_a_failing_threshold_exits_99() {
    let t = start_target().await;
    let url = format!("{}/delay/50", t.url());
    let (out, _) = run(soakd(&[
        "--url",
        &url,
        "--vus",
        "2",
        "--duration",
        "1s",
        "--threshold",
        "http_req_duration:p(95)<10",
    ]))
    .await;
    assert_eq!(code(&out), 99, "stderr: {}", stderr(&out));
}

#[tokio::test]
async fn time_scale_shortens_every_duration_but_keeps_the_rate() {
    let t = start_target().await;
    let dir = tempfile::tempdir().unwrap();
    let config = fixture(dir.path(), "scenarios.yaml", &t);
    let out_file = dir.path().join("scaled.json");
    let (out, took) = run(soakd(&[
        "long",
        "--config",
        config.to_str().unwrap(),
        "--time-scale",
        "0.1",
        "--summary-export",
        out_file.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    println!("20 s scenario at --time-scale 0.1 took {took:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let s = read_json(&out_file);
    let secs = s["duration_seconds"].as_f64().unwrap();
    assert!((1.8..3.5).contains(&secs), "ran {secs} s");
    // 20/s for 2 s: the rate was not scaled.
    assert_eq!(s["metrics"]["iterations"], 40);
}

#[tokio::test]
async fn sigint_stops_gracefully_and_still_exports_an_aborted_summary() {
    let t = start_target().await;
    let dir = tempfile::tempdir().unwrap();
    let config = fixture(dir.path(), "scenarios.yaml", &t);
    let out_file = dir.path().join("aborted.json");
    let child = soakd(&[
        "long",
        "--config",
        config.to_str().unwrap(),
        "--summary-export",
        out_file.to_str().unwrap(),
    ])
    .spawn()
    .expect("soakd starts");
    let pid = child.id().expect("running").to_string();
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("soakd stops within its graceful_stop after SIGINT")
        .unwrap();
    let took = t0.elapsed();
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    assert!(took < Duration::from_secs(4), "took {took:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("aborted"), "summary printed: {stdout}");
    let s = read_json(&out_file);
    assert_eq!(s["result"], "aborted");
    let n = s["metrics"]["iterations"].as_u64().unwrap();
    assert!((20..=40).contains(&n), "about 1.5 s at 20/s, got {n}");
}
