//! The statistical baseline's findings and a hold's stop reason, rendered for the terminal,
//! Markdown and HTML reports: effect size and p-value beside each verdict, so a reader sees
//! not only *that* a run regressed but how much and how surely. The HTML rows are drawn by
//! `templates/regression.html`; here they are only formatted.

use super::Summary;
use crate::verdict::regression::Finding;
use serde::Serialize;
use std::fmt::Write;

/// "p95 +25.1 % (31.3 vs 25.0 ms), p = 3.2e-12 < 0.01, floor 5 %" and the like.
fn line(f: &Finding) -> String {
    let (cur, base) = if f.threshold.ends_with("error_rate") {
        (
            format!("{:.3}%", f.current * 100.0),
            format!("{:.3}%", f.baseline * 100.0),
        )
    } else {
        (
            format!("{:.1} ms", f.current),
            format!("{:.1} ms", f.baseline),
        )
    };
    format!(
        "{} effect {:+.1}% ({cur} vs {base} over {} passing run(s)), {} p = {:.2e} (alpha {}), floor {}%",
        f.threshold,
        f.effect * 100.0,
        f.baseline_runs,
        f.test,
        f.p_value,
        f.alpha,
        f.min_effect * 100.0
    )
}

/// Terminal lines (empty when the run had no statistical baseline and no stop reason).
pub fn text(s: &Summary) -> String {
    let mut o = String::new();
    if !s.regression.is_empty() {
        let _ = writeln!(o, "\n  regression (against recent passing runs)");
        for f in &s.regression {
            let mark = if f.regressed { "✗" } else { "✓" };
            let _ = writeln!(o, "    {mark} {}", line(f));
        }
    }
    if let Some(r) = &s.reason {
        let _ = writeln!(o, "\n  stopped early: {r}");
    }
    o
}

pub fn markdown(s: &Summary) -> String {
    let mut o = String::new();
    if let Some(r) = &s.reason {
        let _ = writeln!(o, "Stopped early: **{r}**\n");
    }
    if !s.regression.is_empty() {
        let _ = writeln!(
            o,
            "## Regression against recent passing runs\n\n| test | verdict | detail |\n| --- | --- | --- |"
        );
        for f in &s.regression {
            let v = if f.regressed {
                "✗ regressed"
            } else {
                "✓ no regression"
            };
            let _ = writeln!(o, "| `{}` | {v} | {} |", f.threshold, line(f));
        }
        o.push('\n');
    }
    o
}

/// One finding as the HTML report's regression table shows it.
#[derive(Serialize)]
pub(super) struct Row<'a> {
    threshold: &'a str,
    test: &'a str,
    effect: String,
    floor: String,
    p_value: String,
    alpha: String,
    current: String,
    baseline: String,
    baseline_runs: usize,
    regressed: bool,
}

pub(super) fn rows(s: &Summary) -> Vec<Row<'_>> {
    s.regression
        .iter()
        .map(|f| Row {
            threshold: &f.threshold,
            test: &f.test,
            effect: format!("{:+.1}%", f.effect * 100.0),
            floor: format!("{}%", f.min_effect * 100.0),
            p_value: format!("{:.2e}", f.p_value),
            alpha: f.alpha.to_string(),
            current: format!("{:.4}", f.current),
            baseline: format!("{:.4}", f.baseline),
            baseline_runs: f.baseline_runs,
            regressed: f.regressed,
        })
        .collect()
}
