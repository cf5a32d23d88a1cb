//! `/metrics` as real Prometheus tooling reads it (issue 15, issue 14 item 1): hostile names
//! stay inside their label values, every format the endpoint negotiates passes its strictest
//! reader (`promtool check metrics`, the OpenMetrics parser of PyPI `prometheus_client`).

use soakd::client::FailureReason;
use soakd::plan::RequestMeta;
use soakd::record::Sink;
use soakd::telemetry::{Format, Metrics};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "prometheus_native/tools.rs"]
mod tools;

#[allow(dead_code)]
#[path = "daemon/support.rs"]
mod support;

#[path = "prometheus_native/prom.rs"]
mod prom;

#[allow(dead_code)]
#[path = "dashboards/promql.rs"]
mod promql;

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

const LAT_TH: &str = "http_req_duration:p(95)<2000";

/// The acceptance test of issue 15 with the real programs: `soakd target` answering /ok in
/// 300 ms ± 10 % (uniform 270..330 ms), `soakd run` shooting at it (20 req/s, continuous 4 s
/// runs), Prometheus 2.42 with native histograms and exemplar storage scraping soakd.
#[test]
fn prometheus_2_42_ingests_native_histograms_and_exemplars_that_agree_with_the_verdict() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let target = support::Target::start(dir.path());
    target.fault(r#"{"latency_ms": [270, 330]}"#);
    let cfg = support::config_head(dir.path(), "")
        + &format!(
            "scenarios:\n  lat:\n    schedule: {{ continuous: true }}\n\
             \x20   target: {{ base_url: \"{}\" }}\n\
             \x20   load: {{ executor: constant-arrival-rate, rate: 20, time_unit: 1s, duration: 4s, pre_allocated_vus: 20, max_vus: 40 }}\n\
             \x20   mix:\n      - {{ name: ok, request: {{ url: /ok }}, checks: [ {{ status: [200] }} ] }}\n\
             \x20   thresholds:\n      http_req_duration: [\"p(95)<2000\"]\n",
            target.url()
        );
    let d = support::Daemon::start(dir.path(), "daemon", &cfg);
    let p = prom::Prometheus::start(dir.path(), d.addr);
    let fail = |what: &str| -> ! {
        d.proc
            .fail(&format!("{what}\n--- prometheus log:\n{}", p.log_tail()))
    };

    // Two finished runs, and Prometheus holding both views of the histogram.
    let native_q = "soakd_http_request_duration_seconds{job=\"soakd\",scenario=\"lat\"}";
    let classic_q = "sum by (le) (soakd_http_request_duration_seconds_bucket{job=\"soakd_classic\",scenario=\"lat\"})";
    d.wait(
        Duration::from_secs(60),
        "2 runs scraped in both jobs",
        || {
            let runs = d.metrics().sum("soakd_runs_total", &[("scenario", "lat")]);
            (runs >= 2.0
                && p.query(native_q).is_ok_and(|r| !r.is_empty())
                && p.query(classic_q).is_ok_and(|r| !r.is_empty()))
            .then_some(())
        },
    );
    // Let one more scrape land after the latest samples, then freeze the load's view.
    std::thread::sleep(Duration::from_millis(2500));

    // The series is a native histogram: the query API answers `histogram`, not `value`.
    let native = p.query(native_q).unwrap_or_else(|e| fail(&e));
    assert!(
        native.iter().all(|s| s.get("histogram").is_some()),
        "not a native histogram: {native:?}"
    );

    let m = d.metrics();
    let exact_ms = m
        .value(
            "soakd_threshold_observed",
            &[("scenario", "lat"), ("threshold", LAT_TH)],
        )
        .unwrap_or_else(|| fail("no exact p95 of the last run"));
    let native_p95 = p
        .scalar(&format!("histogram_quantile(0.95, sum({native_q}))"))
        .unwrap_or_else(|| fail("no native histogram_quantile"));
    let classic_p95 = p
        .scalar(&format!("histogram_quantile(0.95, {classic_q})"))
        .unwrap_or_else(|| fail("no classic histogram_quantile"));
    eprintln!(
        "p95: exact {exact_ms:.1} ms, native {:.1} ms, classic {:.1} ms",
        native_p95 * 1e3,
        classic_p95 * 1e3
    );
    for (what, v) in [("native", native_p95), ("classic", classic_p95)] {
        let err = (v * 1e3 - exact_ms).abs() / exact_ms;
        assert!(
            err <= 0.10,
            "{what} histogram_quantile(0.95) = {:.1} ms is {:.1} % off the exact {exact_ms:.1} ms",
            v * 1e3,
            err * 100.0
        );
    }

    // Exemplars carry trace ids the target received in a traceparent.
    let stats = d_stats(&target);
    let received: BTreeSet<&str> = stats["recent_trace_ids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        !received.is_empty(),
        "the target saw no traceparent: {stats}"
    );
    let mut exemplars = p.exemplar_trace_ids(
        "soakd_http_request_duration_seconds_bucket{job=\"soakd_classic\",scenario=\"lat\"}",
    );
    exemplars.extend(p.exemplar_trace_ids(native_q));
    let matching = exemplars
        .iter()
        .filter(|t| received.contains(t.as_str()))
        .count();
    eprintln!(
        "exemplars: {} from Prometheus, {matching} match the {} trace ids the target kept",
        exemplars.len(),
        received.len()
    );
    assert!(
        matching > 0,
        "no exemplar trace_id was sent as a traceparent: {exemplars:?}"
    );

    scraped_formats_hold(&d);
    let (n, problems) = dashboards_evaluate(&p);
    if !problems.is_empty() {
        fail(&format!("dashboard PromQL:\n  {}", problems.join("\n  ")));
    }
    eprintln!("{n} dashboard expressions evaluated against Prometheus 2.42");
    eprintln!("whole test: {:.1} s", started.elapsed().as_secs_f64());
}

fn d_stats(target: &support::Target) -> serde_json::Value {
    support::http(target.addr, "GET", "/_stats", &[], None)
        .expect("GET /_stats")
        .json()
}

/// /metrics of the running daemon in each format: 0.0.4 (no Accept) passes promtool,
/// OpenMetrics passes the strict parser and carries exemplars, gzip decodes to the same families.
fn scraped_formats_hold(d: &support::Daemon) {
    let fail = |what: &str| -> ! { d.proc.fail(what) };
    let scrape = |headers: &[(&str, &str)]| {
        let (status, head, body) =
            prom::get_raw(d.addr, "/metrics", headers).unwrap_or_else(|e| fail(&e.to_string()));
        assert_eq!(status, 200, "{head}");
        (head.to_ascii_lowercase(), body)
    };
    let (head, text) = scrape(&[]);
    assert!(
        head.contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    let text = String::from_utf8(text).expect("utf-8");
    let problems = tools::promtool_problems(&text);
    assert!(
        problems.is_empty(),
        "promtool check metrics:\n{}",
        problems.join("\n")
    );

    let om_accept = ("Accept", "application/openmetrics-text; version=1.0.0");
    let (head, om) = scrape(&[om_accept]);
    assert!(
        head.contains("content-type: application/openmetrics-text"),
        "{head}"
    );
    let om = String::from_utf8(om).expect("utf-8");
    let parsed = tools::openmetrics_parse(&om).unwrap_or_else(|e| fail(&e));
    assert!(
        parsed
            .iter()
            .any(|s| s.name == "soakd_http_request_duration_seconds_bucket"
                && s.trace_id.as_ref().is_some_and(|t| t.len() == 32)),
        "no exemplar with a trace id on a duration bucket"
    );
    for family in [
        "process_cpu_seconds",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        assert!(
            parsed.iter().any(|s| s.family == family),
            "{family} missing"
        );
    }

    let (head, gz) = scrape(&[om_accept, ("Accept-Encoding", "gzip")]);
    assert!(head.contains("content-encoding: gzip"), "{head}");
    let mut unzipped = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unzipped)
        .expect("gzip decodes");
    let families = |t: &str| -> BTreeSet<String> {
        t.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(families(&unzipped), families(&om));
    assert!(tools::openmetrics_parse(&unzipped).is_ok());
}

/// Every PromQL `expr` of grafana/*.json, evaluated against the test's Prometheus (native and
/// classic series both present) with `$scenario` = lat and the other variables at "all"
/// (`promql::substitute`). Each must evaluate; panel queries must return data, except filters
/// (a comparison with a number, e.g. the next scheduled run of a continuous scenario),
/// annotations (they mark events and are empty when none happened) and the documented
/// `promql::MAY_BE_EMPTY` (WebSocket, drills, SUT checks, regression verdicts: the scenario has
/// none). Both halves of a native-else-classic `or` must answer on their own here, since this
/// Prometheus holds both kinds of series. Returns (expressions evaluated, problems).
fn dashboards_evaluate(p: &prom::Prometheus) -> (usize, Vec<String>) {
    let names = promql::dashboards();
    assert!(names.len() >= 3, "{names:?}");
    let mut problems = Vec::new();
    let mut n = 0;
    let mut all = String::new();
    for name in &names {
        for e in promql::exprs(name) {
            all.push_str(&e.expr);
            let q = promql::substitute(&e.expr, "lat");
            let halves = promql::or_operands(&q);
            let parts = std::iter::once(q.as_str())
                .chain(halves.iter().copied().filter(|_| halves.len() > 1));
            for part in parts {
                n += 1;
                match p.query(part) {
                    Err(err) => problems.push(format!("{name}: {err}")),
                    Ok(r)
                        if r.is_empty()
                            && !e.event
                            && !promql::is_condition(part)
                            && promql::may_be_empty(part).is_none() =>
                    {
                        problems.push(format!("{name}: no data: {part}"))
                    }
                    Ok(_) => {}
                }
            }
        }
    }
    for (text, reason) in promql::MAY_BE_EMPTY {
        if !all.contains(text) {
            problems.push(format!(
                "stale MAY_BE_EMPTY entry {text:?} ({reason}): no dashboard query has it"
            ));
        }
    }
    (n, problems)
}
