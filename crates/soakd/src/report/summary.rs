//! The run summary: a stable JSON document per run (DESIGN §7), written to results and
//! `--summary-export`, served by the API and read back by `soakd report`.

use crate::run::RunReport;
use crate::verdict::RunNumbers;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Times {
    pub avg: f64,
    pub min: f64,
    pub max: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
}

impl Times {
    /// From a µs histogram, in ms.
    pub fn from_hist(h: &Histogram<u64>) -> Times {
        if h.is_empty() {
            return Times::default();
        }
        let ms = |v: u64| v as f64 / 1000.0;
        Times {
            avg: h.mean() / 1000.0,
            min: ms(h.min()),
            max: ms(h.max()),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub requests_total: u64,
    pub requests_per_second: f64,
    pub error_rate: f64,
    pub iterations: u64,
    pub dropped_iterations: u64,
    pub response_times_ms: Times,
    /// How late iterations started against their intended start (open models).
    #[serde(default)]
    pub generator_lag_ms: Times,
    /// Iterations cut at the hard stop (end of graceful_stop, abort, shutdown).
    #[serde(default)]
    pub interrupted_iterations: u64,
    /// Re-sends on a fresh connection after a reused one failed (never hidden).
    #[serde(default)]
    pub retried_requests: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestSummary {
    pub group: String,
    pub method: String,
    pub requests_total: u64,
    pub requests_per_second: f64,
    pub error_rate: f64,
    pub response_times_ms: Times,
    /// Failures by reason (status, timeout, connect, …), only reasons seen.
    #[serde(default)]
    pub failures: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckCounts {
    pub passes: u64,
    pub fails: u64,
}

/// Iterations of one mix entry: ok when every request of it succeeded and passed its checks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JourneyCounts {
    pub ok: u64,
    pub failed: u64,
}

/// WebSocket sessions of a run (present only when one ran).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WsSummary {
    pub sessions: u64,
    pub dropped: u64,
    pub reconnects: u64,
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    #[serde(default)]
    pub connect_failures: u64,
    pub connecting_ms: Times,
    pub msg_latency_ms: Times,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdLine {
    pub threshold: String,
    pub observed: Option<f64>,
    pub limit: f64,
    pub breached: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub run_id: String,
    pub scenario: String,
    pub started_at: String,
    pub ended_at: String,
    pub duration_seconds: f64,
    pub result: String,
    pub executor: String,
    pub metrics: Metrics,
    pub requests: BTreeMap<String, RequestSummary>,
    /// Keyed `<request>/<check>`.
    pub checks: BTreeMap<String, CheckCounts>,
    /// Per mix entry (journey).
    #[serde(default)]
    pub journeys: BTreeMap<String, JourneyCounts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websocket: Option<WsSummary>,
    pub thresholds: Vec<ThresholdLine>,
    /// Per threshold: breached runs in a row including this one (filled by the daemon).
    pub consecutive_breaches: BTreeMap<String, u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why the run failed or stopped when no threshold explains it: no request got a
    /// response, or a hold stopped it early (`circuit_open`, `blackout`, `paused`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Per-window throughput, error ratio and latency percentiles over the run.
    #[serde(default)]
    pub timeline: Vec<crate::record::Point>,
    /// PromQL checks on the system under test (their verdicts are also in `thresholds`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sut_checks: Vec<crate::sut::CheckResult>,
    /// Drills: when each fired, measured recovery, errors during the fault.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drills: Vec<crate::sut::DrillResult>,
    /// The statistical baseline's tests: effect size and p-value of each (`regression:*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regression: Vec<crate::verdict::regression::Finding>,
    /// The 10 slowest and first 10 failed requests, with status, reason, latency, trace id and
    /// the target's request id (issue 15).
    #[serde(
        default,
        skip_serializing_if = "crate::record::NotableRequests::is_empty"
    )]
    pub notable_requests: crate::record::NotableRequests,
    /// Intended and achieved shares of iterations and requests per mix entry (2+ entries).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mix: Vec<super::MixShare>,
}

fn ws_summary(w: &crate::record::WsCell) -> Option<WsSummary> {
    let ran = w.sessions + w.connect_failures + w.sent + w.received > 0 || !w.connecting.is_empty();
    ran.then(|| WsSummary {
        sessions: w.sessions,
        dropped: w.dropped,
        reconnects: w.reconnects,
        sent: w.sent,
        received: w.received,
        lost: w.lost,
        connect_failures: w.connect_failures,
        connecting_ms: Times::from_hist(&w.connecting),
        msg_latency_ms: Times::from_hist(&w.msg_latency),
    })
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

impl Summary {
    pub fn from_report(r: &RunReport) -> Summary {
        let snap = &r.snapshot;
        let secs = (r.ended_at - r.started_at).num_milliseconds().max(1) as f64 / 1000.0;
        let all = crate::plan::threshold::TagFilter::default();
        let (total, failed) = snap.requests(&all);
        let overall = snap
            .request_latency(&all)
            .map(|h| Times::from_hist(&h))
            .unwrap_or_default();
        let mut requests = BTreeMap::new();
        let mut checks = BTreeMap::new();
        for (i, m) in snap.meta().iter().enumerate() {
            let (n, f) = snap.request_counts(i);
            requests.insert(
                m.name.clone(),
                RequestSummary {
                    group: m.group.clone(),
                    method: m.method.clone(),
                    requests_total: n,
                    requests_per_second: n as f64 / secs,
                    error_rate: ratio(f, n),
                    response_times_ms: Times::from_hist(&snap.request_histogram(i)),
                    failures: snap
                        .request_reasons(i)
                        .filter(|(_, c)| *c > 0)
                        .map(|(r, c)| (r.as_str().to_string(), c))
                        .collect(),
                },
            );
            for (name, c) in m.checks.iter().zip(snap.request_checks(i)) {
                checks.insert(
                    format!("{}/{}", m.name, name),
                    CheckCounts {
                        passes: c[0],
                        fails: c[1],
                    },
                );
            }
        }
        Summary {
            run_id: r.run_id.clone(),
            scenario: r.scenario.name.clone(),
            started_at: r.started_at.to_rfc3339(),
            ended_at: r.ended_at.to_rfc3339(),
            duration_seconds: secs,
            result: r.result.as_str().to_string(),
            executor: r.scenario.load.executor.name().to_string(),
            metrics: Metrics {
                requests_total: total,
                requests_per_second: total as f64 / secs,
                error_rate: ratio(failed, total),
                iterations: snap.iterations,
                dropped_iterations: snap.dropped,
                response_times_ms: overall,
                generator_lag_ms: Times::from_hist(snap.lag()),
                interrupted_iterations: snap.interrupted,
                retried_requests: snap.retries,
            },
            requests,
            checks,
            journeys: snap
                .journey_counts()
                .map(|(name, [ok, failed])| (name.to_string(), JourneyCounts { ok, failed }))
                .collect(),
            websocket: ws_summary(snap.ws()),
            thresholds: r
                .outcomes
                .iter()
                .map(|o| ThresholdLine {
                    threshold: o.threshold.clone(),
                    observed: o.observed,
                    limit: o.limit,
                    breached: o.breached,
                })
                .collect(),
            consecutive_breaches: BTreeMap::new(),
            timeline: snap.timeline.clone(),
            error: r.error.clone(),
            reason: r.reason.clone(),
            sut_checks: r.sut.checks.clone(),
            drills: r.sut.drills.clone(),
            regression: Vec::new(),
            notable_requests: snap.notable.clone(),
            mix: super::mix::shares(&r.scenario, snap),
        }
    }
}
