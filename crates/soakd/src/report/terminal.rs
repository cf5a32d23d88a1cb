//! The k6-like end-of-run summary for a terminal.

use super::{Summary, Times};
use std::fmt::Write;

fn dotted(name: &str) -> String {
    let width: usize = 34;
    let dots = width.saturating_sub(name.len() + 1).max(2);
    format!("{name}{}:", ".".repeat(dots))
}

fn times(t: &Times) -> String {
    format!(
        "avg={} min={} med={} max={} p(90)={} p(95)={} p(99)={}",
        ms(t.avg),
        ms(t.min),
        ms(t.p50),
        ms(t.max),
        ms(t.p90),
        ms(t.p95),
        ms(t.p99)
    )
}

/// Milliseconds, human-scaled like k6 (`512µs`, `3.2ms`, `1.25s`).
pub fn ms(v: f64) -> String {
    if v < 1.0 {
        format!("{:.0}µs", v * 1000.0)
    } else if v < 1000.0 {
        format!("{v:.2}ms")
    } else {
        format!("{:.2}s", v / 1000.0)
    }
}

fn num(v: Option<f64>) -> String {
    match v {
        None => "no data".into(),
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
        Some(x) => format!("{x:.4}").trim_end_matches('0').to_string(),
    }
}

/// Journey success, when the run has more than one journey or any journey failed.
fn journeys(o: &mut String, s: &Summary) {
    let (ok, failed) = s
        .journeys
        .values()
        .fold((0, 0), |(a, b), j| (a + j.ok, b + j.failed));
    if ok + failed == 0 || (s.journeys.len() < 2 && failed == 0) {
        return;
    }
    let rate = ok as f64 / (ok + failed) as f64 * 100.0;
    let _ = writeln!(o, "  {} {rate:.2}% ✓ {ok} ✗ {failed}", dotted("journeys"));
    if s.journeys.len() > 1 {
        for (name, j) in &s.journeys {
            let _ = writeln!(
                o,
                "    {} ✓ {} ✗ {}",
                dotted(&format!("{{ journey:{name} }}")),
                j.ok,
                j.failed
            );
        }
    }
}

fn websocket(o: &mut String, s: &Summary) {
    let Some(w) = &s.websocket else { return };
    let dropped_pct = if w.sessions == 0 {
        0.0
    } else {
        w.dropped as f64 / w.sessions as f64 * 100.0
    };
    let _ = writeln!(
        o,
        "  {} {}",
        dotted("ws_connecting"),
        times(&w.connecting_ms)
    );
    let _ = writeln!(
        o,
        "  {} {}",
        dotted("ws_msg_latency"),
        times(&w.msg_latency_ms)
    );
    let _ = writeln!(
        o,
        "  {} {dropped_pct:.2}% ✓ {} ✗ {}",
        dotted("ws_sessions_dropped"),
        w.dropped,
        w.sessions - w.dropped.min(w.sessions)
    );
    let _ = writeln!(
        o,
        "  {} sessions={} reconnects={} sent={} received={} lost={}",
        dotted("ws_msgs"),
        w.sessions,
        w.reconnects,
        w.sent,
        w.received,
        w.lost
    );
}

pub fn render(s: &Summary) -> String {
    let mut o = String::new();
    let m = &s.metrics;
    let mark = |ok: bool| if ok { "✓" } else { "✗" };
    let _ = writeln!(
        o,
        "\n  scenario: {} ({})   run: {}   duration: {:.1}s",
        s.scenario, s.executor, s.run_id, s.duration_seconds
    );
    let (passes, fails) = s
        .checks
        .values()
        .fold((0, 0), |(p, f), c| (p + c.passes, f + c.fails));
    if passes + fails > 0 {
        let rate = passes as f64 / (passes + fails) as f64 * 100.0;
        let _ = writeln!(
            o,
            "\n  {} {rate:.2}% ✓ {passes} ✗ {fails}",
            dotted("checks")
        );
        for (name, c) in &s.checks {
            let _ = writeln!(
                o,
                "    {} {name}  ✓ {} ✗ {}",
                mark(c.fails == 0),
                c.passes,
                c.fails
            );
        }
    }
    let _ = writeln!(
        o,
        "  {} {}",
        dotted("http_req_duration"),
        times(&m.response_times_ms)
    );
    if s.requests.len() > 1 {
        for (name, r) in &s.requests {
            let _ = writeln!(
                o,
                "    {} {}",
                dotted(&format!("{{ request:{name} }}")),
                times(&r.response_times_ms)
            );
        }
    }
    // A summary read back from disk may have been edited: an error rate outside [0, 1] must
    // not make the counts underflow (found by the summary_read fuzz target).
    let failed = ((m.error_rate * m.requests_total as f64).round() as u64).min(m.requests_total);
    let _ = writeln!(
        o,
        "  {} {:.2}% ✓ {failed} ✗ {}",
        dotted("http_req_failed"),
        m.error_rate * 100.0,
        m.requests_total.saturating_sub(failed)
    );
    let _ = writeln!(
        o,
        "  {} {} {:.1}/s",
        dotted("http_reqs"),
        m.requests_total,
        m.requests_per_second
    );
    let it_rate = m.iterations as f64 / s.duration_seconds.max(1e-9);
    let _ = writeln!(
        o,
        "  {} {} {it_rate:.1}/s",
        dotted("iterations"),
        m.iterations
    );
    let _ = writeln!(
        o,
        "  {} {}",
        dotted("dropped_iterations"),
        m.dropped_iterations
    );
    if m.interrupted_iterations > 0 || m.retried_requests > 0 {
        let _ = writeln!(
            o,
            "  {} {}  (re-sent requests: {})",
            dotted("interrupted_iterations"),
            m.interrupted_iterations,
            m.retried_requests
        );
    }
    journeys(&mut o, s);
    websocket(&mut o, s);
    let _ = writeln!(
        o,
        "  {} p(50)={} p(99)={} max={}",
        dotted("generator_lag"),
        ms(m.generator_lag_ms.p50),
        ms(m.generator_lag_ms.p99),
        ms(m.generator_lag_ms.max)
    );
    for (name, r) in &s.requests {
        if !r.failures.is_empty() {
            let parts: Vec<String> = r.failures.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(o, "    failures of {name}: {}", parts.join(" "));
        }
    }
    if !s.thresholds.is_empty() {
        let _ = writeln!(o, "\n  thresholds");
        for t in &s.thresholds {
            // A breach with no data is an empty trend judged on 0, as k6 judges it.
            let zero = if t.observed.is_none() && t.breached {
                ", judged as 0 like k6"
            } else {
                ""
            };
            let _ = writeln!(
                o,
                "    {} {}  observed {}{zero} (limit {})",
                mark(!t.breached),
                t.threshold,
                num(t.observed),
                num(Some(t.limit))
            );
        }
    }
    o.push_str(&super::regression::text(s));
    o.push_str(&super::notable::text(s));
    let _ = writeln!(
        o,
        "\n  result: {}{}",
        s.result,
        s.error
            .as_ref()
            .or(s.reason.as_ref())
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (fuzz target `summary_read`): an error rate above 1 in a summary file made
    /// `soakd report` panic with "attempt to subtract with overflow".
    #[test]
    fn error_rate_above_one_renders_instead_of_panicking() {
        let t = r#"{"avg":0.1,"min":0.1,"max":0.1,"p50":0.1,"p90":0.1,"p95":0.1,"p99":0.1}"#;
        let json = format!(
            r#"{{"run_id":"r","scenario":"adhoc","started_at":"2026-11-22T22:04:53Z",
            "ended_at":"2026-11-22T22:04:54Z","duration_seconds":1.0,"result":"fail",
            "executor":"constant-vus","metrics":{{"requests_total":13011,
            "requests_per_second":1.3e17,"error_rate":2.0,"iterations":13011,
            "dropped_iterations":0,"response_times_ms":{t}}},"requests":{{}},"checks":{{}},
            "thresholds":[],"consecutive_breaches":{{}}}}"#
        );
        let s: Summary = serde_json::from_str(&json).expect("parses");
        let out = render(&s);
        assert!(out.contains("http_req_failed"), "{out}");
        assert!(out.contains("✓ 13011 ✗ 0"), "{out}");
    }
}
