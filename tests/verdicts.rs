//! Verdicts you can trust (issue 12): every started request ends as a sample, a hung target
//! never passes, re-sends are counted, a `unique` pool bounds only its readers, and
//! `--time-scale` keeps the pace of a closed model. Each run is against the in-process
//! calibration target on loopback and bounded in time (`common::run_ctl`: 40 s at most).

mod common;

use common::{
    assert_within_pct, compile_scenario, config_yaml, run, run_ctl, sample_value, scenario,
    start_target,
};
use soakd::report::Summary;
use soakd::run::{NO_RESPONSE, RunControl, RunResult};
use std::time::Duration;
use testbed::FaultConfig;

fn failures(s: &Summary, request: &str, reason: &str) -> u64 {
    s.requests[request]
        .failures
        .get(reason)
        .copied()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_target_fails_the_run_with_every_started_request_interrupted() {
    let t = start_target().await;
    t.faults()
        .set(FaultConfig {
            stall_ms: Some(60_000),
            ..Default::default()
        })
        .unwrap();
    // Latency thresholds that would pass on no data: the verdict must come from the samples.
    let s = scenario(
        &t,
        r#"
        target: { base_url: "${TARGET}", timeout: 90s }
        load: { executor: constant-arrival-rate, rate: 5, time_unit: 1s, duration: 2s,
                pre_allocated_vus: 10, max_vus: 20, graceful_stop: 1s }
        mix: [ { name: ok, request: { url: /ok } } ]
        thresholds: { http_req_duration: ["p(95)<120000"] }
        "#,
    );
    let (r, took) = run(s).await;
    let sum = Summary::from_report(&r);
    println!(
        "60 s stall, 5/s for 2 s, graceful_stop 1 s: {took:?}, {} requests, failures {:?}, reason {:?}",
        sum.metrics.requests_total, sum.requests["ok"].failures, sum.reason
    );
    assert_eq!(r.result, RunResult::Fail, "a hung target never passes");
    assert!(
        took < Duration::from_secs(10),
        "the hard stop ended it: {took:?}"
    );
    assert_eq!(
        sum.metrics.requests_total, 10,
        "all 10 started requests are samples"
    );
    assert_eq!(failures(&sum, "ok", "interrupted"), 10);
    assert_eq!(sum.metrics.error_rate, 1.0, "they count in http_req_failed");
    assert_eq!(sum.metrics.interrupted_iterations, 10);
    assert_eq!(sum.metrics.iterations, 0, "no iteration finished");
    // The last request was meant to start at 1.8 s and the hard stop came at 3 s.
    assert!(
        sum.metrics.response_times_ms.min >= 1150.0,
        "duration counted from the intended start to the stop: {:?}",
        sum.metrics.response_times_ms
    );
    let verdict = sum
        .thresholds
        .iter()
        .find(|l| l.threshold == NO_RESPONSE)
        .expect("the no-response verdict");
    assert!(verdict.breached);
    let reason = sum.reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("none got a response") && reason.contains("10 interrupted"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_requests_still_in_flight_at_the_hard_stop_are_all_recorded() {
    let t = start_target().await;
    let s = scenario(
        &t,
        r#"
        target: { base_url: "${TARGET}", timeout: 30s }
        load: { executor: constant-arrival-rate, rate: 5, time_unit: 1s, duration: 4s,
                pre_allocated_vus: 20, max_vus: 20, graceful_stop: 5s }
        mix: [ { name: slow, request: { url: /delay/8000 } } ]
        "#,
    );
    let (r, took) = run(s).await;
    let sum = Summary::from_report(&r);
    let interrupted = failures(&sum, "slow", "interrupted");
    let ok =
        sum.requests["slow"].requests_total - sum.requests["slow"].failures.values().sum::<u64>();
    println!(
        "/delay/8000 at 5/s for 4 s, graceful_stop 5 s: {took:?}, {} requests: {ok} answered, {interrupted} interrupted",
        sum.metrics.requests_total
    );
    assert_eq!(
        sum.metrics.requests_total, 20,
        "all 20 started requests are samples"
    );
    assert_eq!(ok + interrupted, 20, "{:?}", sum.requests["slow"].failures);
    // Requests meant for 1 s or later would end after the hard stop at 9 s (generous bound:
    // the ones meant for 0.8–1 s race the stop).
    assert!(
        interrupted >= 10 && ok <= 10,
        "{ok} answered, {interrupted} interrupted"
    );
    assert_eq!(sum.metrics.interrupted_iterations, interrupted);
    // Every sample lasts at least from its intended start to the stop (≥ 5 s for the last).
    assert!(
        sum.metrics.response_times_ms.min >= 5000.0,
        "{:?}",
        sum.metrics.response_times_ms
    );
}

/// Runs 1500 GETs of /ok on 3 kept-alive VUs while the target resets 5 % of requests; returns
/// (resets the target injected, reset failures soakd recorded, re-sends soakd counted).
async fn under_resets(retry: bool) -> (u64, u64, u64) {
    let t = start_target().await;
    t.faults()
        .set(FaultConfig {
            reset_rate: 0.05,
            ..Default::default()
        })
        .unwrap();
    let s = scenario(
        &t,
        &format!(
            r#"
        target: {{ base_url: "${{TARGET}}", retry_on_reused_connection: {retry} }}
        load: {{ executor: shared-iterations, vus: 3, iterations: 1500, max_duration: 30s }}
        mix: [ {{ name: ok, request: {{ url: /ok }} }} ]
        "#
        ),
    );
    let metrics = soakd::telemetry::Metrics::with_latency_limits(&[]);
    let sink = metrics.scenario_sink("t", &s.requests);
    let (r, _) = run_ctl(RunControl::new(s, Some(sink))).await;
    let sum = Summary::from_report(&r);
    let injected = t.stats().resets_injected;
    // The Prometheus counter agrees with the summary.
    let text = metrics.encode();
    let series = |reason: &str| {
        let want = format!("reason=\"{reason}\"");
        sample_value(&text, "soakd_http_request_retries_total", &[&want]).unwrap_or(-1.0)
    };
    assert_eq!(
        series("reset") + series("closed"),
        sum.metrics.retried_requests as f64,
        "soakd_http_request_retries_total"
    );
    (
        injected,
        failures(&sum, "ok", "reset"),
        sum.metrics.retried_requests,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_resets_all_show_as_failures_or_counted_retries() {
    let (injected, failed, retried) = under_resets(true).await;
    println!("5 % resets, retry on: injected {injected}, failed {failed}, retried {retried}");
    assert!(injected >= 30, "the fault fired: {injected}");
    assert!(
        retried > 0,
        "resets of kept-alive connections are re-sent, visibly"
    );
    let tol = (injected as f64 * 0.01).max(1.0);
    assert!(
        ((failed + retried) as f64 - injected as f64).abs() <= tol,
        "failures {failed} + retries {retried} vs injected {injected}"
    );

    let (injected, failed, retried) = under_resets(false).await;
    println!("5 % resets, retry off: injected {injected}, failed {failed}, retried {retried}");
    assert_eq!(
        retried, 0,
        "retry_on_reused_connection: false re-sends nothing"
    );
    let tol = (injected as f64 * 0.01).max(1.0);
    assert!(
        (failed as f64 - injected as f64).abs() <= tol,
        "every injected reset is a failure: {failed} vs {injected}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unique_pool_bounds_only_the_scenarios_that_read_it() {
    let t = start_target().await;
    let dir = tempfile::tempdir().unwrap();
    let codes = dir.path().join("codes.csv");
    std::fs::write(&codes, "code\na\nb\nc\nd\ne\n").unwrap();
    let yaml = format!(
        "data:\n  codes: {{ file: \"{}\", pick: unique }}\n{}{}",
        codes.display(),
        config_yaml(
            &t.url(),
            "reader",
            r#"
            target: { base_url: "${TARGET}" }
            load: { executor: shared-iterations, vus: 1, iterations: 20, max_duration: 10s }
            mix: [ { name: redeem, request: { url: "/ok?code={{ data.codes.code }}" } } ]
            "#,
        ),
        config_yaml(
            &t.url(),
            "other",
            r#"
            target: { base_url: "${TARGET}" }
            load: { executor: shared-iterations, vus: 1, iterations: 20, max_duration: 10s }
            mix: [ { name: plain, request: { url: /ok } } ]
            "#,
        )
        .replacen("scenarios:\n", "", 1),
    );
    let (other, _) = run(compile_scenario(&yaml, "other")).await;
    let (reader, _) = run(compile_scenario(&yaml, "reader")).await;
    println!(
        "unique pool of 5 rows: reader ran {} iterations, other {}",
        reader.snapshot.iterations, other.snapshot.iterations
    );
    assert_eq!(
        other.snapshot.iterations, 20,
        "a scenario that never reads the pool runs fully"
    );
    assert_eq!(other.result, RunResult::Pass);
    assert_eq!(
        reader.snapshot.iterations, 5,
        "the reader stops when the pool is used up"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_scale_shortens_a_closed_model_without_changing_its_pace() {
    let t = start_target().await;
    let s = scenario(
        &t,
        r#"
        target: { base_url: "${TARGET}" }
        load: { executor: constant-vus, vus: 10, duration: 10s, graceful_stop: 2s }
        mix:
          - name: browse
            steps:
              - { name: page, request: { url: /ok } }
              - think: 40ms
        "#,
    );
    let planned = |s: &soakd::plan::Scenario| s.load.executor.duration().as_secs_f64();
    let scaled = std::sync::Arc::new(s.time_scaled(0.1));
    let (full, _) = run(s.clone()).await;
    let (short, took) = run(scaled.clone()).await;
    let rate = |r: &soakd::run::RunReport, secs: f64| {
        Summary::from_report(r).metrics.requests_total as f64 / secs
    };
    let (a, b) = (rate(&full, planned(&s)), rate(&short, planned(&scaled)));
    println!(
        "closed model, 10 VUs, 40 ms think: {a:.1} req/s unscaled, {b:.1} req/s at --time-scale 0.1 ({took:?})"
    );
    assert!(
        took < Duration::from_secs(3),
        "the scaled run is short: {took:?}"
    );
    assert_within_pct("req/s at --time-scale 0.1", b, a, 10.0);
}
