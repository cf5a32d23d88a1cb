//! The requests behind a verdict, in the terminal and HTML reports: the run's slowest and
//! first failed requests (summary `notable_requests`) with status, reason, latency, trace id
//! and the target's request id, so a reader goes from a breached p95 to the target's logs and
//! traces without opening the JSON. The HTML tables are drawn by `templates/notable.html`;
//! here their rows are only formatted.

use super::Summary;
use crate::record::NotableRequest;
use serde::Serialize;
use std::fmt::Write;

/// Entries shown per list in the terminal (the summary and the HTML report keep all).
const TERMINAL_ROWS: usize = 5;

fn status(r: &NotableRequest) -> String {
    match (r.status, &r.reason) {
        (0, Some(reason)) => format!("no response ({reason})"),
        (0, None) => "no response".into(),
        (s, Some(reason)) => format!("{s} ({reason})"),
        (s, None) => s.to_string(),
    }
}

fn ids(r: &NotableRequest) -> String {
    let mut parts = Vec::new();
    if let Some(t) = &r.trace_id {
        parts.push(format!("trace {t}"));
    }
    if let Some(id) = &r.request_id {
        parts.push(format!("request id {id}"));
    }
    parts.join(", ")
}

/// Terminal lines; empty when the run recorded no request.
pub fn text(s: &Summary) -> String {
    let mut o = String::new();
    let lists = [
        ("slowest requests", &s.notable_requests.slowest),
        ("first failed requests", &s.notable_requests.failed),
    ];
    for (title, list) in lists {
        if list.is_empty() {
            continue;
        }
        let shown = list.len().min(TERMINAL_ROWS);
        let more = if list.len() > shown {
            format!(" ({shown} of {}; the summary lists all)", list.len())
        } else {
            String::new()
        };
        let _ = writeln!(o, "\n  {title}{more}");
        for r in &list[..shown] {
            let _ = writeln!(
                o,
                "    {:>9.2}ms  {}  {}  {}",
                r.latency_ms,
                r.request,
                status(r),
                ids(r)
            );
        }
    }
    o
}

/// One list (slowest, first failed) as the HTML report shows it; only non-empty lists.
#[derive(Serialize)]
pub(super) struct List<'a> {
    title: &'static str,
    rows: Vec<Row<'a>>,
}

#[derive(Serialize)]
struct Row<'a> {
    request: &'a str,
    status: String,
    latency: String,
    trace_id: &'a str,
    request_id: &'a str,
}

pub(super) fn lists(s: &Summary) -> Vec<List<'_>> {
    let lists = [
        ("Slowest requests", &s.notable_requests.slowest),
        ("First failed requests", &s.notable_requests.failed),
    ];
    lists
        .into_iter()
        .filter(|(_, list)| !list.is_empty())
        .map(|(title, list)| List {
            title,
            rows: list
                .iter()
                .map(|r| Row {
                    request: &r.request,
                    status: status(r),
                    latency: format!("{:.2}", r.latency_ms),
                    trace_id: r.trace_id.as_deref().unwrap_or(""),
                    request_id: r.request_id.as_deref().unwrap_or(""),
                })
                .collect(),
        })
        .collect()
}

/// The HTML tables alone (`templates/notable.html`); empty when the run recorded no request.
#[cfg(test)]
fn html(s: &Summary) -> Result<String, super::render::RenderError> {
    super::html::PAGES.render("notable.html", minijinja::context! { notable => lists(s) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary_with(slowest: Vec<NotableRequest>, failed: Vec<NotableRequest>) -> Summary {
        let t = serde_json::json!({"avg": 1.0, "min": 1.0, "max": 1.0, "p50": 1.0, "p90": 1.0, "p95": 1.0, "p99": 1.0});
        let mut s: Summary = serde_json::from_value(serde_json::json!({
            "run_id": "r1", "scenario": "feed", "executor": "constant-vus",
            "started_at": "2026-12-01T05:00:00Z", "ended_at": "2026-12-01T05:01:00Z",
            "duration_seconds": 60.0, "result": "fail",
            "metrics": {"requests_total": 1, "requests_per_second": 1.0, "error_rate": 0.0,
                        "iterations": 1, "dropped_iterations": 0, "response_times_ms": t},
            "requests": {}, "checks": {}, "thresholds": [], "consecutive_breaches": {}
        }))
        .expect("a minimal summary");
        s.notable_requests.slowest = slowest;
        s.notable_requests.failed = failed;
        s
    }

    fn req(latency_ms: f64, status: u16, reason: Option<&str>) -> NotableRequest {
        NotableRequest {
            request: "feed_read".into(),
            status,
            reason: reason.map(str::to_string),
            latency_ms,
            trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
            request_id: Some("<tb-00000042>".into()),
        }
    }

    #[test]
    fn the_terminal_shows_the_first_five_of_each_list_with_their_ids() {
        let slow: Vec<_> = (0..10).map(|i| req(300.0 - i as f64, 200, None)).collect();
        let s = summary_with(slow, vec![req(5.0, 0, Some("timeout"))]);
        let t = text(&s);
        assert!(
            t.contains("slowest requests (5 of 10; the summary lists all)"),
            "{t}"
        );
        assert!(t.contains("300.00ms  feed_read  200  trace 4bf92f3577b34da6a3ce929d0e0e4736, request id <tb-00000042>"), "{t}");
        assert!(!t.contains("295.00ms"), "{t}");
        assert!(t.contains("first failed requests\n"), "{t}");
        assert!(t.contains("no response (timeout)"), "{t}");
    }

    #[test]
    fn html_lists_every_entry_escaped() {
        let s = summary_with(vec![req(12.5, 503, Some("status"))], vec![]);
        let h = html(&s).expect("renders");
        assert!(h.contains("<h2>Slowest requests</h2>"), "{h}");
        assert!(h.contains("<td>503 (status)</td><td>12.50 ms</td>"), "{h}");
        assert!(h.contains("&lt;tb-00000042&gt;"), "{h}");
        assert!(!h.contains("First failed"), "{h}");
        assert!(
            html(&summary_with(vec![], vec![]))
                .expect("renders")
                .is_empty()
        );
    }
}
