//! Trace context and request ids (issue 15): every request carries a W3C `traceparent` unless
//! `defaults.trace.propagate: none`, and the run summary lists the slowest and first failed
//! requests with the target's `X-Request-Id` and the trace id they were sent with, against the
//! in-process calibration target (which sends an `X-Request-Id` on every response).

#[path = "common/mod.rs"]
mod common;

use soakd::report::Summary;
use std::collections::BTreeSet;

const LOAD: &str = "
    target: { base_url: \"${TARGET}\" }
    load: { executor: constant-arrival-rate, rate: 60, time_unit: 1s, duration: 1s, pre_allocated_vus: 10, max_vus: 20 }
    mix:
      - { name: ok, request: { url: /ok } }
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_lists_slowest_and_failed_requests_with_request_and_trace_ids() {
    let target = common::start_target().await;
    target
        .faults()
        .patch_json(br#"{"error_rate": 0.3, "error_status": 503, "latency_ms": [1, 40]}"#)
        .expect("fault");
    let (report, _) = common::run(common::scenario(&target, LOAD)).await;
    let s = Summary::from_report(&report);
    let n = &s.notable_requests;
    let received: BTreeSet<String> = target.stats().recent_trace_ids.into_iter().collect();
    assert!(
        received.len() >= 50,
        "{} traceparents received",
        received.len()
    );

    assert_eq!(n.slowest.len(), 10, "{n:?}");
    assert!(
        n.slowest
            .windows(2)
            .all(|w| w[0].latency_ms >= w[1].latency_ms),
        "slowest first: {n:?}"
    );
    // The slowest entry is the run's maximum (HdrHistogram keeps 3 significant digits).
    let max = s.metrics.response_times_ms.max;
    let slowest = n.slowest[0].latency_ms;
    assert!(
        (slowest - max).abs() <= max * 0.01,
        "slowest {slowest} ms vs max {max} ms"
    );
    assert_eq!(n.failed.len(), 10, "{n:?}");
    for e in n.slowest.iter().chain(&n.failed) {
        let id = e.request_id.as_deref().unwrap_or("");
        assert!(
            id.starts_with("tb-") && id.len() == 11,
            "request id {id:?}: {e:?}"
        );
        let trace = e.trace_id.as_deref().expect("trace id");
        assert!(
            received.contains(trace),
            "{trace} was not sent as a traceparent"
        );
        assert_eq!(e.request, "ok");
    }
    for e in &n.failed {
        assert_eq!(
            (e.status, e.reason.as_deref()),
            (503, Some("status")),
            "{e:?}"
        );
    }
    let json = serde_json::to_value(&s).expect("summary serialises");
    assert_eq!(json["notable_requests"]["failed"][0]["status"], 503);
    // The reports show them too: the HTML report every entry, the terminal the first five.
    let html = soakd::report::html(&s).expect("the report renders");
    let terminal = soakd::report::render(&s);
    for e in n.slowest.iter().chain(&n.failed) {
        let id = e.request_id.as_deref().unwrap_or("");
        assert!(html.contains(id), "{id} missing from the HTML report");
    }
    let first_failed = n.failed[0].request_id.as_deref().unwrap_or("");
    assert!(terminal.contains("first failed requests"), "{terminal}");
    assert!(
        terminal.contains(first_failed),
        "{first_failed} missing from:\n{terminal}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn propagate_none_sends_no_traceparent() {
    let target = common::start_target().await;
    let yaml = format!(
        "defaults: {{ trace: {{ propagate: none }} }}\n{}",
        common::config_yaml(&target.url(), "t", LOAD)
    );
    let (report, _) = common::run(common::compile_scenario(&yaml, "t")).await;
    let stats = target.stats();
    assert!(stats.requests_total >= 50, "{stats:?}");
    assert_eq!(stats.traces_seen, 0);
    let s = Summary::from_report(&report);
    assert!(
        s.notable_requests
            .slowest
            .iter()
            .all(|e| e.trace_id.is_none())
    );
}
