//! k6's `--summary-export` JSON, written from a soakd run, and read back as a baseline.
//!
//! Teams that move a k6 script to soakd often keep scripts that parse k6's end-of-test export
//! (seed 001 reads one with PHP). So `soakd once --summary-format k6` and `results.format: [k6]`
//! write that shape, as k6's `summary-wrapper.js` (`oldJSONSummary`) builds it:
//! `{"root_group": {name, path, id, groups{}, checks{}}, "metrics": {NAME: values}}`, where a
//! trend has `avg, min, med, max, p(90), p(95)` in milliseconds, a counter `count, rate`, a rate
//! `passes, fails, value` and a gauge `value, max`; a metric with thresholds carries
//! `"thresholds": {"p(95)<250": false}`, true meaning the threshold FAILED (k6's `!ok`). Each
//! threshold's metric key (`http_req_duration{group:api_read}`) is a metric of its own, as k6
//! exports submetrics. Groups are soakd's request groups, checks are named `<request>/<check>`,
//! ids are the MD5 of the path like k6's.

use super::{CheckCounts, Metrics, Summary, ThresholdLine, Times};
use crate::plan::threshold::{Metric, TagFilter};
use crate::run::RunReport;
use crate::verdict::RunNumbers;
use hdrhistogram::Histogram;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The k6 export of one run.
pub fn export(r: &RunReport) -> Value {
    let snap = &r.snapshot;
    let secs = ((r.ended_at - r.started_at).num_milliseconds().max(1) as f64) / 1000.0;
    let mut keys: Vec<(Metric, TagFilter)> = vec![
        (Metric::HttpReqs, TagFilter::default()),
        (Metric::HttpReqDuration, TagFilter::default()),
        (Metric::HttpReqFailed, TagFilter::default()),
        (Metric::Iterations, TagFilter::default()),
    ];
    if snap.iteration_latency().is_some() {
        keys.push((Metric::IterationDuration, TagFilter::default()));
    }
    if snap.dropped_iterations() > 0 {
        keys.push((Metric::DroppedIterations, TagFilter::default()));
    }
    if snap.meta().iter().any(|m| !m.checks.is_empty()) {
        keys.push((Metric::Checks, TagFilter::default()));
    }
    if snap.vus.is_some() {
        keys.push((Metric::Vus, TagFilter::default()));
        keys.push((Metric::VusMax, TagFilter::default()));
    }
    for t in &r.scenario.thresholds {
        let key = (t.metric, t.filter.clone());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let mut metrics = Map::new();
    for (metric, filter) in &keys {
        let name = format!("{metric}{filter}");
        let mut values = values(*metric, filter, snap, secs);
        let prefix = format!("{name}:");
        let failed: Map<String, Value> = r
            .outcomes
            .iter()
            .filter_map(|o| Some((o.threshold.strip_prefix(&prefix)?, o.breached)))
            .map(|(expr, breached)| (expr.to_string(), Value::Bool(breached)))
            .collect();
        if !failed.is_empty() {
            values.insert("thresholds".into(), Value::Object(failed));
        }
        metrics.insert(name, Value::Object(values));
    }
    json!({ "root_group": root_group(snap), "metrics": metrics })
}

fn values(metric: Metric, f: &TagFilter, n: &dyn RunNumbers, secs: f64) -> Map<String, Value> {
    let v = match metric {
        Metric::HttpReqDuration => trend(n.request_latency(f)),
        Metric::IterationDuration => trend(n.iteration_latency()),
        Metric::WsConnecting => trend(n.ws_connecting()),
        Metric::WsMsgLatency => trend(n.ws_msg_latency()),
        Metric::HttpReqFailed => {
            let (total, failed) = n.requests(f);
            rate(failed, total)
        }
        Metric::Checks => {
            let (passes, fails) = n.checks(f);
            rate(passes, passes + fails)
        }
        Metric::Journeys => {
            let (ok, failed) = n.journeys(f);
            rate(ok, ok + failed)
        }
        Metric::WsSessionsDropped => {
            let (dropped, total) = n.ws_sessions();
            rate(dropped, total)
        }
        Metric::HttpReqs => counter(n.requests(f).0, secs),
        Metric::Iterations => counter(n.iterations(), secs),
        Metric::DroppedIterations => counter(n.dropped_iterations(), secs),
        Metric::WsMsgsReceived => counter(n.ws_msgs_received(), secs),
        Metric::Vus | Metric::VusMax => {
            let (last, max) = n.vus().unwrap_or((0, 0));
            let value = if metric == Metric::Vus { last } else { max };
            json!({ "value": value, "max": max })
        }
    };
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// k6's default `summaryTrendStats`, in ms; all 0 when empty, as k6's empty sink reads.
fn trend(h: Option<Histogram<u64>>) -> Value {
    let t = h.map(|h| Times::from_hist(&h)).unwrap_or_default();
    json!({ "avg": t.avg, "min": t.min, "med": t.p50, "max": t.max, "p(90)": t.p90, "p(95)": t.p95 })
}

fn rate(trues: u64, total: u64) -> Value {
    let value = if total == 0 {
        0.0
    } else {
        trues as f64 / total as f64
    };
    json!({ "passes": trues, "fails": total - trues.min(total), "value": value })
}

fn counter(count: u64, secs: f64) -> Value {
    json!({ "count": count, "rate": count as f64 / secs })
}

/// The root group with one child group per soakd request group; checks go to their request's.
fn root_group(snap: &crate::record::RunSnapshot) -> Value {
    let mut groups: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut root_checks = Map::new();
    for (i, m) in snap.meta().iter().enumerate() {
        let base = if m.group.is_empty() {
            String::new()
        } else {
            format!("::{}", m.group)
        };
        for (check, c) in m.checks.iter().zip(snap.request_checks(i)) {
            let name = format!("{}/{check}", m.name);
            let path = format!("{base}::{name}");
            let entry = json!({
                "name": name, "path": path, "id": super::md5::hex(path.as_bytes()),
                "passes": c[0], "fails": c[1],
            });
            let into = if m.group.is_empty() {
                &mut root_checks
            } else {
                groups.entry(m.group.clone()).or_default()
            };
            into.insert(name, entry);
        }
        if !m.group.is_empty() {
            groups.entry(m.group.clone()).or_default();
        }
    }
    let groups: Map<String, Value> = groups
        .into_iter()
        .map(|(g, checks)| {
            let path = format!("::{g}");
            let id = super::md5::hex(path.as_bytes());
            let v = json!({ "name": g, "path": path, "id": id, "groups": {}, "checks": checks });
            (g, v)
        })
        .collect();
    json!({
        "name": "", "path": "", "id": super::md5::hex(b""),
        "groups": groups, "checks": root_checks,
    })
}

/// Why a JSON document cannot be read as a k6 summary export.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum K6ExportError {
    #[error("not a k6 summary export (no root_group and metrics)")]
    NotAnExport,
    #[error("k6 summary export without metrics.http_req_duration")]
    NoDuration,
}

/// Whether `v` looks like a k6 summary export rather than a soakd summary.
pub fn is_k6_export(v: &Value) -> bool {
    v.get("root_group").is_some() && v.get("metrics").is_some_and(Value::is_object)
}

/// A k6 export read as a soakd summary, so that it can be a `soakd report --baseline`: the
/// overall latency, throughput, error rate and iterations, and its thresholds' verdicts. A
/// statistic the export lacks (k6 exports `p(99)` only when `summaryTrendStats` asks) reads 0,
/// which the comparison treats as "no baseline" for that row.
pub fn summary_from_export(v: &Value, name: &str) -> Result<Summary, K6ExportError> {
    if !is_k6_export(v) {
        return Err(K6ExportError::NotAnExport);
    }
    let metric = |m: &str, k: &str| v["metrics"][m][k].as_f64();
    let num = |m: &str, k: &str| metric(m, k).unwrap_or(0.0);
    let count = |m: &str| num(m, "count").max(0.0) as u64;
    if metric("http_req_duration", "avg").is_none() {
        return Err(K6ExportError::NoDuration);
    }
    let d = "http_req_duration";
    let times = Times {
        avg: num(d, "avg"),
        min: num(d, "min"),
        max: num(d, "max"),
        p50: metric(d, "med").unwrap_or_else(|| num(d, "p(50)")),
        p90: num(d, "p(90)"),
        p95: num(d, "p(95)"),
        p99: num(d, "p(99)"),
    };
    let mut thresholds = Vec::new();
    let mut checks = BTreeMap::new();
    if let Some(metrics) = v["metrics"].as_object() {
        for (m, values) in metrics {
            for (expr, failed) in values["thresholds"].as_object().into_iter().flatten() {
                thresholds.push(ThresholdLine {
                    threshold: format!("{m}:{expr}"),
                    observed: None,
                    limit: crate::plan::threshold::parse(m, expr).map_or(0.0, |t| t.limit),
                    breached: failed.as_bool().unwrap_or(false),
                });
            }
        }
    }
    collect_checks(&v["root_group"], &mut checks, 0);
    let result = if thresholds.iter().any(|t| t.breached) {
        "fail"
    } else {
        "pass"
    };
    Ok(Summary {
        run_id: format!("k6:{name}"),
        scenario: String::new(),
        started_at: String::new(),
        ended_at: String::new(),
        duration_seconds: 0.0,
        result: result.into(),
        executor: "k6".into(),
        metrics: Metrics {
            requests_total: count("http_reqs"),
            requests_per_second: num("http_reqs", "rate"),
            error_rate: num("http_req_failed", "value"),
            iterations: count("iterations"),
            dropped_iterations: count("dropped_iterations"),
            response_times_ms: times,
            generator_lag_ms: Times::default(),
            // k6's export has neither: k6 drops in-flight requests and hides its re-sends.
            interrupted_iterations: 0,
            retried_requests: 0,
        },
        requests: BTreeMap::new(),
        checks,
        journeys: BTreeMap::new(),
        websocket: None,
        thresholds,
        consecutive_breaches: BTreeMap::new(),
        error: None,
        reason: None,
        timeline: Vec::new(),
        sut_checks: Vec::new(),
        drills: Vec::new(),
        regression: Vec::new(),
        notable_requests: Default::default(),
        mix: Vec::new(),
    })
}

/// Checks of a group and its subgroups (k6 nests groups), keyed by path; bounded depth.
fn collect_checks(group: &Value, out: &mut BTreeMap<String, CheckCounts>, depth: usize) {
    if depth > 32 {
        return;
    }
    for (name, c) in group["checks"].as_object().into_iter().flatten() {
        let key = c["path"].as_str().unwrap_or(name).to_string();
        let n = |k: &str| c[k].as_u64().unwrap_or(0);
        out.insert(
            key,
            CheckCounts {
                passes: n("passes"),
                fails: n("fails"),
            },
        );
    }
    for g in group["groups"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, g)| g)
    {
        collect_checks(g, out, depth + 1);
    }
}
