//! Per-stage verdicts (issue 17, item 2): a threshold filtered on a named stage
//! (`http_req_duration{stage:peak}`) is judged on the samples that ended during that stage, and
//! `soakd check` shows which thresholds each stage carries. The run is real: a ramping-arrival-
//! rate load against the in-process calibration target, slowed by a latency fault from shortly
//! after the second stage begins.

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

const LOAD: &str = r#"
    load:
      executor: ramping-arrival-rate
      start_rate: 20
      time_unit: 1s
      pre_allocated_vus: 20
      max_vus: 40
      stages:
        - { duration: 2s, target: 20, name: steady }
        - { duration: 2s, target: 20, name: peak }
    target: { base_url: "${TARGET}" }
    mix:
      - { name: ok, request: { url: /ok } }
    thresholds:
      "http_req_duration{stage:steady}": ["p(95)<100"]
      "http_req_duration{stage:peak}": ["p(95)<100"]
      "http_reqs{stage:steady}": ["count>=36"]
      "http_reqs{stage:peak}": ["count>=36"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_in_the_peak_stage_breaches_the_peak_threshold_only() {
    let target = common::start_target().await;
    let scenario = common::scenario(&target, LOAD);
    let run = tokio::spawn(common::run(scenario));
    tokio::time::sleep(Duration::from_millis(2300)).await;
    target
        .faults()
        .patch_json(br#"{"latency_ms": 200}"#)
        .unwrap();
    let (report, _) = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the run ends")
        .expect("the run task");
    target
        .faults()
        .patch_json(br#"{"latency_ms": null}"#)
        .unwrap();

    let o = |label: &str| common::outcome(&report, label);
    let steady = o("http_req_duration{stage:steady}:p(95)<100");
    let peak = o("http_req_duration{stage:peak}:p(95)<100");
    assert!(
        !steady.breached,
        "the steady stage ran before the fault: {steady:?}"
    );
    assert!(peak.breached && peak.observed.unwrap() >= 150.0, "{peak:?}");
    // 20/s for 2 s per stage: 40 requests each (a request counts where it ended).
    for label in [
        "http_reqs{stage:steady}:count>=36",
        "http_reqs{stage:peak}:count>=36",
    ] {
        let c = o(label);
        let n = c.observed.expect("a count");
        assert!((36.0..=44.0).contains(&n), "{label}: {c:?}");
    }
    let total = soakd::verdict::RunNumbers::requests(&report.snapshot, &Default::default()).0;
    let stages = o("http_reqs{stage:steady}:count>=36").observed.unwrap()
        + o("http_reqs{stage:peak}:count>=36").observed.unwrap();
    assert!(
        (total as f64 - stages).abs() <= 2.0,
        "the stages partition the run: {stages} of {total}"
    );
}

#[test]
fn check_lists_the_thresholds_of_each_named_stage() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = common::config_yaml("http://127.0.0.1:8080", "ramp", LOAD)
        + "safety: { allowed_hosts: [\"127.0.0.1\"] }\n";
    let path = dir.path().join("soakd.yaml");
    std::fs::write(&path, yaml).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_soakd"))
        .args(["check", "--config", path.to_str().unwrap()])
        .output()
        .expect("soakd check runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("→ 20/s over 2s  [stage peak: http_req_duration{stage:peak}:p(95)<100, http_reqs{stage:peak}:count>=36]"),
        "{text}"
    );
    assert!(
        text.contains("http_req_duration{stage:steady}:p(95)<100 (judged on stage steady alone)"),
        "{text}"
    );
}

#[test]
fn a_stage_filter_must_name_a_stage_of_the_load() {
    let yaml = common::config_yaml(
        "http://127.0.0.1:8080",
        "ramp",
        &LOAD.replace("\"http_reqs{stage:peak}\"", "\"http_reqs{stage:summit}\""),
    );
    let loaded = soakd::config::load_str("t.yaml", &yaml, Some(Default::default())).unwrap();
    let errs = soakd::plan::compile_loaded(&loaded).unwrap_err();
    let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert!(
        msgs.iter().any(|m| m.contains(
            "scenarios.ramp.thresholds.http_reqs{stage:summit}[0]: filters on stage \"summit\", which no stage of the load is named"
        )),
        "{msgs:?}"
    );
}
