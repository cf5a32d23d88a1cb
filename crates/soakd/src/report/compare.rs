//! Baseline comparison and Markdown rendering of a run summary.
//!
//! The seeds ask to "compare against historical baselines, <10% regression triggers failure":
//! a regression is a latency percentile (p95, p99) or average more than `limit`% above the
//! baseline's, an error rate higher by more than `limit`/10 percentage points, or throughput
//! more than `limit`% below the baseline's.

use super::Summary;
use super::terminal::ms;
use std::fmt::Write;

/// The comparison as verdicts (`regression:p95`, `regression:p99`, `regression:error_rate`,
/// `regression:throughput`): observed = change in percent (percentage points for the error
/// rate, where the limit is `limit_pct / 10`), so the daemon counts them like thresholds.
pub fn regressions(cur: &Summary, base: &Summary, limit_pct: f64) -> Vec<crate::verdict::Outcome> {
    let c = &cur.metrics;
    let b = &base.metrics;
    let pct = |now: f64, then: f64| {
        if then.abs() > f64::EPSILON {
            (now - then) / then * 100.0
        } else {
            0.0
        }
    };
    let rows = [
        (
            "p95",
            pct(c.response_times_ms.p95, b.response_times_ms.p95),
            limit_pct,
        ),
        (
            "p99",
            pct(c.response_times_ms.p99, b.response_times_ms.p99),
            limit_pct,
        ),
        (
            "error_rate",
            (c.error_rate - b.error_rate) * 100.0,
            limit_pct / 10.0,
        ),
        (
            "throughput",
            -pct(c.requests_per_second, b.requests_per_second),
            limit_pct,
        ),
    ];
    rows.into_iter()
        .map(|(name, change, limit)| crate::verdict::Outcome {
            threshold: format!("regression:{name}"),
            observed: Some(change),
            limit,
            breached: change > limit,
        })
        .collect()
}

/// Text of the comparison and whether anything regressed beyond `limit_pct`.
pub fn compare(cur: &Summary, base: &Summary, limit_pct: f64) -> (String, bool) {
    let mut o = String::new();
    let mut worse = false;
    let _ = writeln!(
        o,
        "\n  compared with baseline {} (limit {limit_pct}%)",
        base.run_id
    );
    let c = &cur.metrics;
    let b = &base.metrics;
    let rows: [(&str, f64, f64, bool); 5] = [
        (
            "p95",
            c.response_times_ms.p95,
            b.response_times_ms.p95,
            true,
        ),
        (
            "p99",
            c.response_times_ms.p99,
            b.response_times_ms.p99,
            true,
        ),
        (
            "avg",
            c.response_times_ms.avg,
            b.response_times_ms.avg,
            true,
        ),
        (
            "error_rate",
            c.error_rate * 100.0,
            b.error_rate * 100.0,
            true,
        ),
        (
            "requests_per_second",
            c.requests_per_second,
            b.requests_per_second,
            false,
        ),
    ];
    for (name, now, then, higher_is_worse) in rows {
        let change = if then.abs() > f64::EPSILON {
            (now - then) / then * 100.0
        } else {
            0.0
        };
        let bad = if name == "error_rate" {
            // Percentage points: an error rate going 0.1% → 0.2% is +0.1 point, not +100%.
            now - then > limit_pct / 10.0
        } else if higher_is_worse {
            change > limit_pct
        } else {
            -change > limit_pct
        };
        worse |= bad;
        let mark = if bad { "✗ regression" } else { "✓" };
        let _ = writeln!(
            o,
            "    {name:<22} {now:>12.3} vs {then:>12.3}  ({change:+.1}%)  {mark}"
        );
    }
    (o, worse)
}

/// A Markdown report of one run, for commit into docs or CI artefacts.
pub fn markdown(s: &Summary) -> String {
    let mut o = String::new();
    let m = &s.metrics;
    let _ = writeln!(
        o,
        "# Run `{}` of `{}`: **{}**\n",
        s.run_id, s.scenario, s.result
    );
    let _ = writeln!(
        o,
        "Started {} · ended {} · {:.1} s · executor `{}`\n",
        s.started_at, s.ended_at, s.duration_seconds, s.executor
    );
    let _ = writeln!(o, "| metric | value |\n| --- | --- |");
    let _ = writeln!(
        o,
        "| requests | {} ({:.1}/s) |",
        m.requests_total, m.requests_per_second
    );
    let _ = writeln!(o, "| error rate | {:.3}% |", m.error_rate * 100.0);
    let _ = writeln!(
        o,
        "| iterations / dropped | {} / {} |",
        m.iterations, m.dropped_iterations
    );
    let t = &m.response_times_ms;
    let _ = writeln!(
        o,
        "| latency avg / p50 / p95 / p99 / max | {} / {} / {} / {} / {} |\n",
        ms(t.avg),
        ms(t.p50),
        ms(t.p95),
        ms(t.p99),
        ms(t.max)
    );
    if !s.thresholds.is_empty() {
        let _ = writeln!(
            o,
            "## Thresholds\n\n| threshold | observed | limit | verdict |\n| --- | --- | --- | --- |"
        );
        for th in &s.thresholds {
            let obs = th
                .observed
                .map_or("no data".to_string(), |v| format!("{v:.3}"));
            let verdict = if th.breached {
                "✗ breached"
            } else {
                "✓ pass"
            };
            let _ = writeln!(
                o,
                "| `{}` | {obs} | {} | {verdict} |",
                th.threshold, th.limit
            );
        }
        o.push('\n');
    }
    o.push_str(&super::regression::markdown(s));
    let _ = writeln!(
        o,
        "## Requests\n\n| request | count | rps | errors | p95 | p99 |\n| --- | --- | --- | --- | --- | --- |"
    );
    for (name, r) in &s.requests {
        let _ = writeln!(
            o,
            "| {name} | {} | {:.1} | {:.3}% | {} | {} |",
            r.requests_total,
            r.requests_per_second,
            r.error_rate * 100.0,
            ms(r.response_times_ms.p95),
            ms(r.response_times_ms.p99)
        );
    }
    o
}
