//! A self-contained HTML report of one run: tables and inline SVG charts of latency
//! percentiles, throughput and error ratio over the run. No script, no network: it opens from a
//! file, an artefact store or the daemon's API the same way.
//!
//! The markup is in `templates/` (rendered with auto-escaping by [`super::render`]); this file
//! only turns a [`Summary`] into the templates' context, numbers formatted as the report shows
//! them.

use super::Summary;
use super::chart::{Chart, chart};
use super::render::{Pages, RenderError};
use super::terminal::ms;
use serde::Serialize;

/// The report's templates: the page and the partials it includes.
pub(super) static PAGES: Pages = Pages::new(&[
    ("report.html", include_str!("templates/report.html")),
    ("chart.html", include_str!("templates/chart.html")),
    ("regression.html", include_str!("templates/regression.html")),
    ("notable.html", include_str!("templates/notable.html")),
]);

/// The context of `report.html`.
#[derive(Serialize)]
struct Page<'a> {
    run: Run<'a>,
    totals: Totals,
    charts: Vec<Chart>,
    thresholds: Vec<ThresholdRow<'a>>,
    reason: Option<&'a str>,
    regression: Vec<super::regression::Row<'a>>,
    notable: Vec<super::notable::List<'a>>,
    requests: Vec<RequestRow<'a>>,
    checks: Vec<CheckRow<'a>>,
}

#[derive(Serialize)]
struct Run<'a> {
    id: &'a str,
    scenario: &'a str,
    result: &'a str,
    passed: bool,
    started_at: &'a str,
    ended_at: &'a str,
    executor: &'a str,
}

#[derive(Serialize)]
struct Totals {
    requests: u64,
    iterations: u64,
    dropped: u64,
    duration: String,
    rps: String,
    error_rate: String,
    avg: String,
    p50: String,
    p95: String,
    p99: String,
    max: String,
}

#[derive(Serialize)]
struct ThresholdRow<'a> {
    threshold: &'a str,
    observed: String,
    limit: String,
    breached: bool,
}

#[derive(Serialize)]
struct RequestRow<'a> {
    name: &'a str,
    group: &'a str,
    count: u64,
    rps: String,
    errors: String,
    p95: String,
    p99: String,
}

#[derive(Serialize)]
struct CheckRow<'a> {
    name: &'a str,
    passes: u64,
    fails: u64,
}

/// The run's HTML report.
pub fn html(s: &Summary) -> Result<String, RenderError> {
    PAGES.render("report.html", page(s))
}

fn page(s: &Summary) -> Page<'_> {
    let m = &s.metrics;
    let t = &m.response_times_ms;
    let pts = |f: &dyn Fn(&crate::record::Point) -> f64| {
        s.timeline.iter().map(|p| (p.t, f(p))).collect::<Vec<_>>()
    };
    let limits: Vec<(String, f64)> = s
        .thresholds
        .iter()
        .filter(|t| t.threshold.starts_with("http_req_duration") && !t.threshold.contains("avg"))
        .map(|t| (t.threshold.clone(), t.limit))
        .collect();
    Page {
        run: Run {
            id: &s.run_id,
            scenario: &s.scenario,
            result: &s.result,
            passed: s.result == "pass",
            started_at: &s.started_at,
            ended_at: &s.ended_at,
            executor: &s.executor,
        },
        totals: Totals {
            requests: m.requests_total,
            iterations: m.iterations,
            dropped: m.dropped_iterations,
            duration: format!("{:.1}", s.duration_seconds),
            rps: format!("{:.1}", m.requests_per_second),
            error_rate: format!("{:.3}%", m.error_rate * 100.0),
            avg: ms(t.avg),
            p50: ms(t.p50),
            p95: ms(t.p95),
            p99: ms(t.p99),
            max: ms(t.max),
        },
        charts: vec![
            chart(
                "Latency percentiles",
                "ms",
                &[
                    ("p50", "#1f77b4", pts(&|p| p.p50_ms)),
                    ("p95", "#ff7f0e", pts(&|p| p.p95_ms)),
                    ("p99", "#d62728", pts(&|p| p.p99_ms)),
                ],
                &limits,
            ),
            chart(
                "Throughput",
                "req/s",
                &[("requests/s", "#2ca02c", pts(&|p| p.rps))],
                &[],
            ),
            chart(
                "Error ratio",
                "%",
                &[("errors", "#c00", pts(&|p| p.error_rate * 100.0))],
                &[],
            ),
        ],
        thresholds: s
            .thresholds
            .iter()
            .map(|th| ThresholdRow {
                threshold: &th.threshold,
                observed: th.observed.map_or("no data".into(), |v| format!("{v:.3}")),
                limit: th.limit.to_string(),
                breached: th.breached,
            })
            .collect(),
        reason: s.reason.as_deref(),
        regression: super::regression::rows(s),
        notable: super::notable::lists(s),
        requests: s
            .requests
            .iter()
            .map(|(name, r)| RequestRow {
                name,
                group: &r.group,
                count: r.requests_total,
                rps: format!("{:.1}", r.requests_per_second),
                errors: format!("{:.3}%", r.error_rate * 100.0),
                p95: ms(r.response_times_ms.p95),
                p99: ms(r.response_times_ms.p99),
            })
            .collect(),
        checks: s
            .checks
            .iter()
            .map(|(name, c)| CheckRow {
                name,
                passes: c.passes,
                fails: c.fails,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A summary whose every name is hostile: tags, quotes and ampersands.
    fn hostile() -> Summary {
        let t = serde_json::json!({"avg": 1.0, "min": 1.0, "max": 1.0, "p50": 1.0, "p90": 1.0, "p95": 1.0, "p99": 1.0});
        let evil = "<script>alert('x')</script>\"&";
        serde_json::from_value(serde_json::json!({
            "run_id": "r1", "scenario": evil, "executor": "constant-vus",
            "started_at": "2026-12-01T05:00:00Z", "ended_at": "2026-12-01T05:01:00Z",
            "duration_seconds": 60.0, "result": "fail",
            "metrics": {"requests_total": 1, "requests_per_second": 1.0, "error_rate": 0.0,
                        "iterations": 1, "dropped_iterations": 0, "response_times_ms": t},
            "requests": { evil: {"group": evil, "method": "GET", "requests_total": 1,
                                 "requests_per_second": 1.0, "error_rate": 0.0, "response_times_ms": t} },
            "checks": { evil: {"passes": 1, "fails": 0} },
            "thresholds": [{"threshold": format!("http_req_duration{{request:{evil}}}:p(95)<250"),
                            "observed": 1.0, "limit": 250.0, "breached": false}],
            "consecutive_breaches": {},
            "reason": evil
        }))
        .expect("a hostile summary")
    }

    #[test]
    fn hostile_names_are_escaped_everywhere() {
        let h = html(&hostile()).expect("renders");
        assert!(!h.contains("<script>"), "{h}");
        assert!(!h.contains("alert('x')"), "{h}");
        assert!(
            h.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt;&quot;&amp;"),
            "{h}"
        );
        assert!(h.contains("<title>soakd run r1 of &lt;script&gt;"), "{h}");
        assert!(
            h.contains("<td>1</td><td>0</td></tr>"),
            "the checks row: {h}"
        );
    }

    #[test]
    fn the_report_has_its_tables_and_three_charts() {
        let h = html(&hostile()).expect("renders");
        assert!(h.starts_with("<!doctype html>"), "{h}");
        assert!(h.ends_with("</body></html>\n"), "{h}");
        assert_eq!(h.matches("<polyline class=\"series\"").count(), 5, "{h}");
        assert_eq!(h.matches("class=\"limit\"").count(), 1, "{h}");
        assert!(
            h.contains("<td>1.0</td><td>0.000%</td><td>1</td><td>0</td><td>1.00ms</td>"),
            "{h}"
        );
        assert!(
            h.contains("<td>1.000</td><td>250</td><td class=\"pass\">✓ pass</td>"),
            "{h}"
        );
        assert!(h.contains("<span class=\"fail\">fail</span>"), "{h}");
    }
}
