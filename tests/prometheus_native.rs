//! `/metrics` as real Prometheus tooling reads it (issue 15, issue 14 item 1): hostile names
//! stay inside their label values, every format the endpoint negotiates passes its strictest
//! reader (`promtool check metrics`, the OpenMetrics parser of PyPI `prometheus_client`).

use soakd::client::FailureReason;
use soakd::plan::RequestMeta;
use soakd::record::Sink;
use soakd::telemetry::{Format, Metrics};
use std::sync::Arc;
use std::time::Duration;

#[path = "prometheus_native/tools.rs"]
mod tools;

/// Names a config could smuggle a sample line or a broken label set through.
const HOSTILE: [&str; 4] = [
    "a\"} 1\nsoakd_injected_total 42",
    "back\\slash\\",
    "new\nline",
    "quote\"",
];

fn hostile_metrics() -> Arc<Metrics> {
    let requests: Vec<RequestMeta> = HOSTILE
        .iter()
        .map(|name| RequestMeta {
            name: (*name).into(),
            journey: (*name).into(),
            group: format!("group {name}"),
            method: "GET".into(),
            checks: vec![(*name).into()],
        })
        .collect();
    let m = Metrics::with_latency_limits(&[250.0]);
    for scenario in HOSTILE {
        let sink = m.scenario_sink(scenario, &requests);
        for (i, _) in requests.iter().enumerate() {
            sink.request(i, Some(200), Duration::from_millis(20), None, &[true]);
            sink.request(
                i,
                Some(503),
                Duration::from_millis(300),
                Some(FailureReason::Status),
                &[false],
            );
            sink.iteration(HOSTILE[i], Duration::from_micros(300), true);
        }
        m.run_started(scenario, 2.0, 10.0, 1.0);
        m.schedule_skipped(scenario, "overlap");
    }
    m
}

#[test]
fn hostile_names_keep_the_openmetrics_scrape_valid() {
    let text = hostile_metrics().encode();
    let samples = tools::openmetrics_parse(&text)
        .unwrap_or_else(|e| panic!("strict OpenMetrics parse failed:\n{e}\n--- text:\n{text}"));
    assert!(
        !samples.iter().any(|s| s.name.contains("injected")),
        "a name injected a sample"
    );
    // Each hostile name comes back whole as a label value of every family it reaches.
    for name in HOSTILE {
        for family in [
            "soakd_http_request_duration_seconds",
            "soakd_http_requests",
            "soakd_checks",
        ] {
            assert!(
                samples.iter().any(|s| s.family == family
                    && s.value >= 1.0
                    && s.kind
                        == if family.ends_with("seconds") {
                            "histogram"
                        } else {
                            "counter"
                        }
                    && s.labels.get("request").map(String::as_str) == Some(name)
                    && s.labels.get("scenario").map(String::as_str) == Some(name)),
                "{name:?} is not a request label value of {family}"
            );
        }
    }
}

#[test]
fn hostile_names_keep_promtool_check_metrics_passing_on_text_0_0_4() {
    let text = String::from_utf8(hostile_metrics().expose(Format::Text)).expect("utf-8");
    let problems = tools::promtool_problems(&text);
    assert!(
        problems.is_empty(),
        "promtool check metrics:\n{}\n--- text:\n{text}",
        problems.join("\n")
    );
    // 0.0.4 types counters under their sample name, and has no EOF or exemplars.
    assert!(text.contains("# TYPE soakd_http_requests_total counter\n"));
    assert!(!text.contains("# EOF") && !text.contains(" # {"));
}

#[test]
fn text_and_openmetrics_hold_the_same_samples() {
    let m = hostile_metrics();
    let om = m.encode();
    let text = String::from_utf8(m.expose(Format::Text)).expect("utf-8");
    let samples = |t: &str| {
        let mut v: Vec<String> = t
            .lines()
            .filter(|l| !l.starts_with('#') && !l.contains("process_"))
            .map(|l| l.split(" # {").next().unwrap_or(l).to_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(samples(&om), samples(&text));
}
