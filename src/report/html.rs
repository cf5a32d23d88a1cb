//! A self-contained HTML report of one run: tables and inline SVG charts of latency
//! percentiles, throughput and error ratio over the run. No script, no network: it opens from a
//! file, an artefact store or the daemon's API the same way.

use super::Summary;
use super::terminal::ms;
use std::fmt::Write;

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const W: f64 = 640.0;
const H: f64 = 200.0;
const PAD: f64 = 40.0;

/// One line of a chart: name, colour, points (t, value).
type Series<'a> = (&'a str, &'a str, Vec<(f64, f64)>);

/// One line chart; `marks` are horizontal lines (threshold limits).
fn chart(title: &str, unit: &str, series: &[Series], marks: &[(String, f64)]) -> String {
    let t_max = series
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.0))
        .fold(1.0_f64, f64::max);
    let v_max = series
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.1))
        .chain(marks.iter().map(|m| m.1))
        .fold(0.0_f64, f64::max)
        .max(1e-9)
        * 1.1;
    let x = |t: f64| PAD + t / t_max * (W - 2.0 * PAD);
    let y = |v: f64| H - PAD + -(v / v_max) * (H - 2.0 * PAD);
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<figure><figcaption>{}</figcaption><svg class="chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{}">"#,
        esc(title),
        esc(title)
    );
    let _ = write!(
        o,
        r##"<line x1="{PAD}" y1="{b}" x2="{r}" y2="{b}" stroke="#888"/><line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{b}" stroke="#888"/>"##,
        b = H - PAD,
        r = W - PAD
    );
    let _ = write!(
        o,
        r#"<text x="4" y="{}" font-size="10">{:.1} {}</text><text x="4" y="{}" font-size="10">0</text>"#,
        PAD,
        v_max,
        esc(unit),
        H - PAD
    );
    let _ = write!(
        o,
        r#"<text x="{}" y="{}" font-size="10">{:.0} s</text>"#,
        W - PAD - 20.0,
        H - PAD + 14.0,
        t_max
    );
    for (label, v) in marks {
        let _ = write!(
            o,
            r##"<line class="limit" x1="{PAD}" y1="{yy:.1}" x2="{r}" y2="{yy:.1}" stroke="#c00" stroke-dasharray="4 3"/><text x="{tx}" y="{ty:.1}" font-size="10" fill="#c00">{}</text>"##,
            esc(label),
            yy = y(*v),
            r = W - PAD,
            tx = PAD + 4.0,
            ty = y(*v) - 3.0
        );
    }
    for (i, (name, colour, pts)) in series.iter().enumerate() {
        let points: Vec<String> = pts
            .iter()
            .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
            .collect();
        let _ = write!(
            o,
            r#"<polyline class="series" fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#,
            points.join(" ")
        );
        let _ = write!(
            o,
            r#"<text x="{}" y="14" font-size="11" fill="{colour}">{}</text>"#,
            PAD + 80.0 * i as f64,
            esc(name)
        );
    }
    o.push_str("</svg></figure>");
    o
}

pub fn html(s: &Summary) -> String {
    let m = &s.metrics;
    let tl = &s.timeline;
    let pts = |f: &dyn Fn(&crate::record::Point) -> f64| {
        tl.iter().map(|p| (p.t, f(p))).collect::<Vec<_>>()
    };
    let limits: Vec<(String, f64)> = s
        .thresholds
        .iter()
        .filter(|t| t.threshold.starts_with("http_req_duration") && !t.threshold.contains("avg"))
        .map(|t| (t.threshold.clone(), t.limit))
        .collect();
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>soakd run {id} of {sc}</title><style>
body{{font:14px system-ui,sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}} th{{background:#f4f4f4}} td:first-child,th:first-child{{text-align:left}}
.pass{{color:#080}} .fail{{color:#c00}} figure{{margin:1em 0}} figcaption{{font-weight:600}}
</style></head><body><h1>Run <code>{id}</code> of <code>{sc}</code>: <span class="{cls}">{res}</span></h1>
<p>Started {st} · ended {en} · {dur:.1} s · executor <code>{ex}</code></p>"#,
        id = esc(&s.run_id),
        sc = esc(&s.scenario),
        cls = if s.result == "pass" { "pass" } else { "fail" },
        res = esc(&s.result),
        st = esc(&s.started_at),
        en = esc(&s.ended_at),
        dur = s.duration_seconds,
        ex = esc(&s.executor),
    );
    let t = &m.response_times_ms;
    let _ = write!(
        o,
        "<table><tr><th>requests</th><th>req/s</th><th>error rate</th><th>iterations</th><th>dropped</th><th>avg</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr><tr><td>{}</td><td>{:.1}</td><td>{:.3}%</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
        m.requests_total,
        m.requests_per_second,
        m.error_rate * 100.0,
        m.iterations,
        m.dropped_iterations,
        ms(t.avg),
        ms(t.p50),
        ms(t.p95),
        ms(t.p99),
        ms(t.max)
    );
    o.push_str(&chart(
        "Latency percentiles",
        "ms",
        &[
            ("p50", "#1f77b4", pts(&|p| p.p50_ms)),
            ("p95", "#ff7f0e", pts(&|p| p.p95_ms)),
            ("p99", "#d62728", pts(&|p| p.p99_ms)),
        ],
        &limits,
    ));
    o.push_str(&chart(
        "Throughput",
        "req/s",
        &[("requests/s", "#2ca02c", pts(&|p| p.rps))],
        &[],
    ));
    o.push_str(&chart(
        "Error ratio",
        "%",
        &[("errors", "#c00", pts(&|p| p.error_rate * 100.0))],
        &[],
    ));
    if !s.thresholds.is_empty() {
        o.push_str("<h2>Thresholds</h2><table><tr><th>threshold</th><th>observed</th><th>limit</th><th>verdict</th></tr>");
        for th in &s.thresholds {
            let obs = th.observed.map_or("no data".into(), |v| format!("{v:.3}"));
            let (cls, v) = if th.breached {
                ("fail", "✗ breached")
            } else {
                ("pass", "✓ pass")
            };
            let _ = write!(
                o,
                r#"<tr><td><code>{}</code></td><td>{obs}</td><td>{}</td><td class="{cls}">{v}</td></tr>"#,
                esc(&th.threshold),
                th.limit
            );
        }
        o.push_str("</table>");
    }
    o.push_str(&super::regression::html(s));
    o.push_str(&super::notable::html(s));
    o.push_str("<h2>Requests</h2><table><tr><th>request</th><th>group</th><th>count</th><th>req/s</th><th>errors</th><th>p95</th><th>p99</th></tr>");
    for (name, r) in &s.requests {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.3}%</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            esc(&r.group),
            r.requests_total,
            r.requests_per_second,
            r.error_rate * 100.0,
            ms(r.response_times_ms.p95),
            ms(r.response_times_ms.p99)
        );
    }
    o.push_str("</table>");
    if !s.checks.is_empty() {
        o.push_str("<h2>Checks</h2><table><tr><th>check</th><th>passes</th><th>fails</th></tr>");
        for (name, c) in &s.checks {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(name),
                c.passes,
                c.fails
            );
        }
        o.push_str("</table>");
    }
    o.push_str("</body></html>\n");
    o
}
