//! Windowed thresholds (issue 17, item 1): `{ threshold: "p(95)<100", window: 1s }` is judged
//! on every sliding window of the run, so a short latency spike that a whole-run p95 averages
//! away still breaches; each window's value reaches the live sink while the run goes.
//!
//! The run is real (constant-arrival-rate against the in-process calibration target on
//! loopback); the spike is a 200 ms latency fault switched on for 150 ms in the middle: about 3 %
//! of the run's requests, about 15 % of the one-second windows that hold them.

#[path = "common/mod.rs"]
mod common;

use soakd::client::FailureReason;
use soakd::record::Sink;
use soakd::run::{self, RunControl};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Records every `window_judged` call; ignores samples.
#[derive(Default)]
struct Windows(Mutex<Vec<(String, Option<f64>, bool)>>);

impl Sink for Windows {
    fn request(&self, _: usize, _: Option<u16>, _: Duration, _: Option<FailureReason>, _: &[bool]) {
    }
    fn iteration(&self, _: &str, _: Duration, _: bool) {}
    fn dropped_iteration(&self) {}
    fn window_judged(&self, threshold: &str, value: Option<f64>, breached: bool) {
        self.0
            .lock()
            .unwrap()
            .push((threshold.to_string(), value, breached));
    }
}

const LOAD: &str = r#"
    load: { executor: constant-arrival-rate, rate: 40, time_unit: 1s, duration: 5s, pre_allocated_vus: 20, max_vus: 40 }
    target: { base_url: "${TARGET}" }
    mix:
      - { name: ok, request: { url: /ok } }
    thresholds:
      http_req_duration:
        - "p(95)<100"
        - { threshold: "p(95)<100", window: 1s }
      http_req_failed:
        - { threshold: "rate<0.01", window: 2s }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spike_breaches_its_window_while_the_whole_run_passes_and_windows_are_exported_live() {
    let target = common::start_target().await;
    let scenario = common::scenario(&target, LOAD);
    let windows = Arc::new(Windows::default());
    let ctl = RunControl::new(scenario, Some(windows.clone() as Arc<dyn Sink>));
    let run = tokio::spawn(run::execute(ctl));

    tokio::time::sleep(Duration::from_millis(2000)).await;
    target
        .faults()
        .patch_json(br#"{"latency_ms": 200}"#)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    target
        .faults()
        .patch_json(br#"{"latency_ms": null}"#)
        .unwrap();
    let report = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the run ends")
        .expect("the run task");

    let outcome = |label: &str| common::outcome(&report, label);
    let whole = outcome("http_req_duration:p(95)<100");
    let windowed = outcome("http_req_duration:p(95)<100[1s]");
    assert!(!whole.breached, "the spike is ~3 % of the run: {whole:?}");
    assert!(
        windowed.breached,
        "a 1 s window holds ~15 % slow requests: {windowed:?}"
    );
    let worst = windowed.observed.expect("the worst window has data");
    assert!(
        worst >= 150.0,
        "the worst window's p95 is the spike's latency: {worst}"
    );
    assert_eq!(report.result, run::RunResult::Fail);
    let errors = outcome("http_req_failed:rate<0.01[2s]");
    assert!(
        !errors.breached && errors.observed == Some(0.0),
        "{errors:?}"
    );

    let seen = windows.0.lock().unwrap().clone();
    let p95: Vec<f64> = seen
        .iter()
        .filter(|(t, _, _)| t == "http_req_duration:p(95)<100[1s]")
        .filter_map(|(_, v, breached)| v.inspect(|v| assert_eq!(*breached, *v >= 100.0, "{v}")))
        .collect();
    // 1 s windows every 100 ms over a 5 s run: about 40 windows judged while it ran.
    assert!(p95.len() >= 20, "windows exported live: {p95:?}");
    assert!(
        p95.iter().any(|v| *v < 100.0),
        "windows before the spike pass: {p95:?}"
    );
    assert!(
        p95.iter().any(|v| *v >= 150.0),
        "windows over the spike breach: {p95:?}"
    );
    assert!(
        seen.iter()
            .any(|(t, _, _)| t == "http_req_failed:rate<0.01[2s]"),
        "every windowed threshold is exported"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_shorter_than_its_window_is_judged_as_one_window() {
    let target = common::start_target().await;
    let scenario = common::scenario(
        &target,
        r#"
        load: { executor: constant-vus, vus: 2, duration: 1s }
        target: { base_url: "${TARGET}" }
        mix:
          - { name: ok, request: { url: /ok } }
        thresholds:
          http_reqs: [ { threshold: "count>5", window: 1m } ]
        "#,
    );
    let (report, _) = common::run(scenario).await;
    let o = &report.outcomes[0];
    assert_eq!(o.threshold, "http_reqs:count>5[1m]");
    let (requests, _) = soakd::verdict::RunNumbers::requests(&report.snapshot, &Default::default());
    assert_eq!(
        o.observed,
        Some(requests as f64),
        "the whole run is the window"
    );
    assert!(!o.breached, "{o:?}");
}
