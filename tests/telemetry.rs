//! `/metrics` as Prometheus sees it: every DESIGN §5 family, parseable OpenMetrics text,
//! threshold limits as bucket boundaries, and series that come and go with scenarios.

use soakd::client::FailureReason;
use soakd::plan::RequestMeta;
use soakd::record::{Sink, WsEvent};
use soakd::telemetry::{Metrics, latency_buckets};
use soakd::verdict::Outcome;
use std::sync::Arc;
use std::time::Duration;

// The shared /metrics reader of every test binary (strict: a malformed line fails the test).
#[path = "common/exposition.rs"]
mod exposition;
use exposition::{Sample, parse};

const P95: &str = "http_req_duration{group:api_read}:p(95)<250";

// The one list of soakd's families (DESIGN §5 and the contract extensions).
#[path = "common/metrics.rs"]
mod metrics;

/// The families the recorder below feeds: every one of DESIGN §5, plus the journey and
/// WebSocket ones, as they appear in sample lines.
fn families() -> Vec<String> {
    let extensions = [
        "soakd_journeys_total",
        "soakd_ws_connecting_seconds",
        "soakd_ws_message_duration_seconds",
        "soakd_ws_sessions_total",
        "soakd_ws_messages_total",
        "soakd_ws_reconnects_total",
    ];
    metrics::design()
        .map(|f| f.name.to_string())
        .chain(extensions.map(|n| metrics::family(n).name.to_string()))
        // Listed again on purpose: the histogram's _bucket series must carry its labels.
        .chain([metrics::family("soakd_http_request_duration_seconds").sample_name()])
        .collect()
}

fn requests() -> Vec<RequestMeta> {
    vec![
        RequestMeta {
            name: "get_item".into(),
            journey: "get_item".into(),
            group: "api_read".into(),
            method: "GET".into(),
            checks: vec!["status is 200".into()],
        },
        RequestMeta {
            name: "post_order".into(),
            journey: "post_order".into(),
            group: "api_write".into(),
            method: "POST".into(),
            checks: vec![],
        },
        RequestMeta {
            name: "chat".into(),
            journey: "chat".into(),
            group: "default".into(),
            method: "WS".into(),
            checks: vec![],
        },
    ]
}

/// One finished run of `scenario` with a few samples, a breached threshold and a schedule.
fn run_once(m: &Metrics, scenario: &str) {
    let sink = m.scenario_sink(scenario, &requests());
    m.run_started(scenario, 10.0, 50.0, 1_700_000_000.0);
    sink.request(0, Some(200), Duration::from_millis(120), None, &[true]);
    sink.request(0, Some(200), Duration::from_millis(80), None, &[true]);
    sink.request(
        0,
        Some(503),
        Duration::from_millis(300),
        Some(FailureReason::Status),
        &[false],
    );
    sink.request(
        1,
        None,
        Duration::from_secs(2),
        Some(FailureReason::Timeout),
        &[],
    );
    sink.request(7, Some(200), Duration::from_millis(1), None, &[]); // unknown index: ignored
    sink.iteration("get_item", Duration::from_millis(3), true);
    sink.iteration("post_order", Duration::from_millis(3), false);
    for e in [
        WsEvent::Connect(Duration::from_millis(4), true),
        WsEvent::Sent,
        WsEvent::Sent,
        WsEvent::Received(Some(Duration::from_millis(12))),
        WsEvent::Received(None),
        WsEvent::Lost,
        WsEvent::Reconnect,
        WsEvent::Connect(Duration::from_millis(6), true),
        WsEvent::SessionEnd { dropped: true },
    ] {
        sink.ws(2, e);
    }
    sink.ws(9, WsEvent::Sent); // unknown index: ignored
    sink.dropped_iteration();
    let outcomes = [
        Outcome {
            threshold: P95.into(),
            observed: Some(300.0),
            limit: 250.0,
            breached: true,
        },
        Outcome {
            threshold: "checks:rate>0.99".into(),
            observed: None,
            limit: 0.99,
            breached: false,
        },
    ];
    let consecutive = [
        (P95.to_string(), 2, true),
        ("checks:rate>0.99".to_string(), 0, false),
    ];
    m.run_finished(scenario, "fail", 1_700_000_060.0, &outcomes, &consecutive);
    m.schedule_next(scenario, Some(1_700_000_300.0));
    m.schedule_skipped(scenario, "overlap");
}

fn metrics() -> Arc<Metrics> {
    let m = Metrics::with_latency_limits(&[250.0]);
    m.config_reloaded(true, 1_699_999_999.5);
    run_once(&m, "checkout");
    m
}

fn label<'a>(s: &'a Sample, key: &str) -> Option<&'a str> {
    s.labels
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn find<'a>(samples: &'a [Sample], name: &str, want: &[(&str, &str)]) -> Option<&'a Sample> {
    samples
        .iter()
        .find(|s| s.name == name && want.iter().all(|(k, v)| label(s, k) == Some(*v)))
}

#[test]
fn every_family_soakd_exposes_is_in_the_shared_metric_list() {
    for s in parse(&metrics().encode()) {
        if !s.name.starts_with("soakd_") {
            continue;
        }
        let histogram = ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
            let base = s.name.strip_suffix(suffix)?;
            metrics::FAMILIES
                .iter()
                .any(|f| f.name == base && f.kind == metrics::Kind::Histogram)
                .then_some(base)
        });
        let family = metrics::family(histogram.unwrap_or(&s.name));
        assert_eq!(
            family.kind == metrics::Kind::Histogram,
            histogram.is_some(),
            "{} is listed as a {:?}",
            s.name,
            family.kind
        );
    }
}

#[test]
fn every_design_family_has_samples() {
    let samples = parse(&metrics().encode());
    for family in families() {
        assert!(
            samples
                .iter()
                .any(|s| s.name == family || s.name == format!("{family}_bucket")),
            "{family} missing"
        );
    }
}

#[test]
fn exposition_is_parseable_openmetrics_ending_in_eof() {
    let text = metrics().encode();
    assert!(text.ends_with("# EOF\n"));
    assert!(parse(&text).len() > 50);
}

#[test]
fn counters_are_exposed_with_total_suffix() {
    let text = metrics().encode();
    let counters: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    // 16 soakd counters (issue 12 added soakd_http_request_retries, issue 14 soakd_state_write_errors, issue 16
    // the three soakd_results_* counters), plus process_cpu_seconds
    // (issue 15).
    assert_eq!(
        counters.iter().filter(|c| c.starts_with("soakd_")).count(),
        16
    );
    assert!(counters.contains(&"process_cpu_seconds"), "{counters:?}");
    for c in counters {
        assert!(!c.ends_with("_total"), "{c} registered with _total");
        for line in text.lines().filter(|l| l.starts_with(c)) {
            assert!(line.starts_with(&format!("{c}_total")), "{line}");
        }
    }
}

#[test]
fn duration_buckets_include_threshold_limits() {
    let samples = parse(&metrics().encode());
    let le: Vec<&str> = samples
        .iter()
        .filter(|s| s.name == "soakd_http_request_duration_seconds_bucket")
        .filter_map(|s| label(s, "le"))
        .collect();
    assert!(le.contains(&"0.25"), "{le:?}");
    assert!(le.contains(&"0.001") && le.contains(&"10.0") && le.contains(&"+Inf"));
}

#[test]
fn latency_buckets_are_sorted_and_deduplicated() {
    let b = latency_buckets(&[200.0, 100.0, 200.0, f64::NAN, -1.0]);
    assert!(b.windows(2).all(|w| w[0] < w[1]), "{b:?}");
    assert!(b.contains(&0.2));
    // 14 with the 13 coarse defaults of issue 4; the dense layout of issue 15 keeps the rule:
    // only 0.2 s is new, 0.1 s already is a default boundary.
    assert_eq!(
        b.len(),
        soakd::telemetry::default_latency_buckets().len() + 1,
        "0.1 s already is a default boundary: {b:?}"
    );
}

#[test]
fn samples_land_in_their_series() {
    let samples = parse(&metrics().encode());
    let one = |name: &str, want: &[(&str, &str)]| {
        find(&samples, name, want)
            .unwrap_or_else(|| panic!("{name} {want:?}"))
            .value
    };
    let item = ("request", "get_item");
    assert_eq!(
        one("soakd_http_requests_total", &[item, ("status", "200")]),
        2.0
    );
    assert_eq!(
        one(
            "soakd_http_requests_total",
            &[("request", "post_order"), ("status", "0")]
        ),
        1.0
    );
    assert_eq!(
        one(
            "soakd_http_request_duration_seconds_count",
            &[item, ("status_class", "2xx"), ("group", "api_read")]
        ),
        2.0
    );
    assert_eq!(
        one(
            "soakd_http_request_duration_seconds_count",
            &[("request", "post_order"), ("status_class", "error")]
        ),
        1.0
    );
    assert!(
        find(
            &samples,
            "soakd_http_request_duration_seconds_count",
            &[("status_class", "4xx")]
        )
        .is_none()
    );
    assert_eq!(
        one(
            "soakd_http_request_failures_total",
            &[item, ("reason", "status")]
        ),
        1.0
    );
    assert_eq!(
        one(
            "soakd_http_request_failures_total",
            &[item, ("reason", "check")]
        ),
        1.0
    );
    assert_eq!(
        one(
            "soakd_http_request_failures_total",
            &[item, ("reason", "tls")]
        ),
        0.0
    );
    assert_eq!(
        one(
            "soakd_checks_total",
            &[("check", "status is 200"), ("result", "pass")]
        ),
        2.0
    );
    assert_eq!(
        one(
            "soakd_checks_total",
            &[("check", "status is 200"), ("result", "fail")]
        ),
        1.0
    );
    assert_eq!(one("soakd_iterations_total", &[]), 2.0);
    let journey = |j: &str, result: &str| {
        one(
            "soakd_journeys_total",
            &[("journey", j), ("result", result)],
        )
    };
    assert_eq!(journey("get_item", "ok"), 1.0);
    assert_eq!(journey("get_item", "failed"), 0.0);
    assert_eq!(journey("post_order", "failed"), 1.0);
    assert_eq!(journey("chat", "ok"), 0.0, "journeys start at zero");
    let chat = ("session", "chat");
    assert_eq!(one("soakd_ws_connecting_seconds_count", &[chat]), 2.0);
    assert_eq!(one("soakd_ws_message_duration_seconds_count", &[chat]), 1.0);
    assert_eq!(one("soakd_ws_message_duration_seconds_sum", &[chat]), 0.012);
    let msgs = |d: &str| one("soakd_ws_messages_total", &[chat, ("direction", d)]);
    assert_eq!(
        (msgs("sent"), msgs("received"), msgs("lost")),
        (2.0, 2.0, 1.0)
    );
    assert_eq!(
        one("soakd_ws_sessions_total", &[chat, ("result", "dropped")]),
        1.0
    );
    assert_eq!(
        one("soakd_ws_sessions_total", &[chat, ("result", "ok")]),
        0.0
    );
    assert_eq!(one("soakd_ws_reconnects_total", &[chat]), 1.0);
    assert!(
        find(
            &samples,
            "soakd_ws_sessions_total",
            &[("session", "get_item")]
        )
        .is_none(),
        "HTTP requests have no session series"
    );
    assert_eq!(one("soakd_dropped_iterations_total", &[]), 1.0);
    assert_eq!(one("soakd_runs_total", &[("result", "fail")]), 1.0);
    assert_eq!(one("soakd_runs_total", &[("result", "pass")]), 0.0);
    assert_eq!(one("soakd_run_active", &[]), 0.0);
    assert_eq!(one("soakd_run_last_passed", &[]), 0.0);
    assert_eq!(
        one("soakd_threshold_observed", &[("threshold", P95)]),
        300.0
    );
    assert_eq!(
        one(
            "soakd_threshold_consecutive_breaches",
            &[("threshold", P95)]
        ),
        2.0
    );
    assert_eq!(one("soakd_incident_open", &[("threshold", P95)]), 1.0);
    assert_eq!(
        one("soakd_config_last_reload_timestamp_seconds", &[]),
        1_699_999_999.5
    );
    assert_eq!(
        one(
            "soakd_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
}

#[test]
fn no_observed_value_means_no_observed_series() {
    let samples = parse(&metrics().encode());
    let checks = ("threshold", "checks:rate>0.99");
    assert!(find(&samples, "soakd_threshold_observed", &[checks]).is_none());
    assert!(find(&samples, "soakd_threshold_limit", &[checks]).is_some());
}

#[test]
fn thresholds_that_left_the_config_lose_their_series() {
    let m = metrics();
    let only = [Outcome {
        threshold: P95.into(),
        observed: Some(1.0),
        limit: 250.0,
        breached: false,
    }];
    m.run_finished("checkout", "pass", 1.0, &only, &[]);
    let text = m.encode();
    assert!(!text.contains("checks:rate>0.99"));
    assert!(text.contains(P95));
}

#[test]
fn unscheduled_scenario_has_no_next_run_series() {
    let m = metrics();
    m.schedule_next("checkout", None);
    assert!(
        !m.encode()
            .contains("soakd_schedule_next_run_timestamp_seconds{")
    );
}

#[test]
fn restored_breaches_show_before_any_run() {
    let m = Metrics::new();
    m.restore_breaches("nightly", P95, 3, true);
    let samples = parse(&m.encode());
    let want = [("scenario", "nightly"), ("threshold", P95)];
    assert_eq!(
        find(&samples, "soakd_threshold_consecutive_breaches", &want).map(|s| s.value),
        Some(3.0)
    );
    assert_eq!(
        find(&samples, "soakd_incident_open", &want).map(|s| s.value),
        Some(1.0)
    );
}

#[test]
fn removing_a_scenario_drops_only_its_series() {
    let m = metrics();
    run_once(&m, "search");
    m.remove_scenario("checkout");
    let samples = parse(&m.encode());
    let left: Vec<_> = samples
        .iter()
        .filter(|s| label(s, "scenario") == Some("checkout"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    for family in families()
        .iter()
        .filter(|f| !f.starts_with("soakd_config") && !f.starts_with("soakd_build"))
    {
        assert!(
            samples
                .iter()
                .any(|s| label(s, "scenario") == Some("search")
                    && (s.name == *family || s.name == format!("{family}_bucket"))),
            "search lost {family}"
        );
    }
}

/// The run aggregator hands the sink its samples a batch at a time; the series must count
/// exactly what the same samples give one call each (statuses, classes, failure reasons, a
/// failed check beside another reason, check results, journeys and lag).
#[test]
fn a_batch_counts_exactly_like_the_same_samples_one_at_a_time() {
    use soakd::client::TraceId;
    use soakd::record::{Iteration, Sample as Finished};
    let ms = Duration::from_millis;
    let samples = [
        (
            0,
            Some(200),
            ms(120),
            None,
            vec![true],
            Some(TraceId([1; 16])),
        ),
        (0, Some(200), ms(80), None, vec![true], None),
        (
            0,
            Some(503),
            ms(300),
            Some(FailureReason::Status),
            vec![false],
            None,
        ),
        (
            0,
            Some(200),
            ms(90),
            Some(FailureReason::Check),
            vec![false],
            None,
        ),
        (
            1,
            None,
            ms(2000),
            Some(FailureReason::Timeout),
            vec![],
            None,
        ),
        (
            0,
            Some(404),
            ms(40),
            None,
            vec![false],
            Some(TraceId([2; 16])),
        ),
        (1, Some(201), ms(30), None, vec![], None),
        (7, Some(200), ms(1), None, vec![], None), // unknown index: ignored
    ];
    let iterations = [
        (0, ms(2), true),
        (0, ms(4), false),
        (1, ms(1), true),
        (0, ms(3), true),
    ];
    let journeys = ["get_item".to_string(), "post_order".to_string()];

    let m = Metrics::with_latency_limits(&[250.0]);
    let single = m.scenario_sink("single", &requests());
    for (r, status, latency, failure, checks, trace) in &samples {
        single.request_traced(*r, *status, *latency, *failure, checks, *trace);
    }
    for (j, lag, ok) in iterations {
        single.iteration(&journeys[j as usize], lag, ok);
    }
    let batched = m.scenario_sink("batched", &requests());
    let batch: Vec<Finished> = samples
        .iter()
        .map(|(r, status, latency, failure, checks, trace)| {
            Finished::new(*r, *status, *latency, *failure, checks, *trace).unwrap()
        })
        .collect();
    batched.requests(&batch);
    let batch: Vec<Iteration> = iterations
        .iter()
        .map(|&(journey, lag, ok)| Iteration {
            journey,
            duration: lag,
            lag,
            ok,
        })
        .collect();
    batched.iterations(&journeys, &batch);

    let of = |scenario: &str| {
        let mut lines: Vec<String> = parse(&m.encode())
            .into_iter()
            .filter(|s| label(s, "scenario") == Some(scenario))
            .map(|s| {
                let labels: Vec<_> = s.labels.iter().filter(|(k, _)| k != "scenario").collect();
                format!("{} {labels:?} {}", s.name, s.value)
            })
            .collect();
        lines.sort();
        lines
    };
    let (one, many) = (of("single"), of("batched"));
    assert!(one.len() > 40, "{one:#?}");
    assert_eq!(one, many);
    let failed_checks = find(
        &parse(&m.encode()),
        "soakd_http_request_failures_total",
        &[
            ("scenario", "batched"),
            ("request", "get_item"),
            ("reason", "check"),
        ],
    )
    .map(|s| s.value);
    // The 503's failed check and the 404's; the check-only failure once.
    assert_eq!(failed_checks, Some(3.0));
}
