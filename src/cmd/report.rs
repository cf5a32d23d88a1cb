//! `soakd report`: render a run summary (terminal, Markdown, HTML) and compare it with a
//! baseline.

use super::Exit;
use soakd::report::{self, Summary};
use std::path::Path;

pub fn run(
    summary: &Path,
    baseline: Option<&Path>,
    markdown: Option<&Path>,
    html: Option<&Path>,
    max_regression: f64,
) -> Exit {
    let current = match read(summary) {
        Ok(s) => s,
        Err(m) => return Exit::Invalid(m),
    };
    print!("{}", report::render(&current));
    let mut regressed = false;
    if let Some(b) = baseline {
        let base = match read(b) {
            Ok(s) => s,
            Err(m) => return Exit::Invalid(m),
        };
        let (text, worse) = report::compare(&current, &base, max_regression);
        print!("{text}");
        regressed = worse;
    }
    let html_text = match html.map(|_| report::html(&current)) {
        Some(Err(e)) => return Exit::Error(anyhow::Error::new(e).context("HTML report")),
        rendered => rendered.and_then(Result::ok),
    };
    let outputs = [
        (markdown, markdown.map(|_| report::markdown(&current))),
        (html, html_text),
    ];
    for (path, text) in outputs {
        if let (Some(p), Some(t)) = (path, text)
            && let Err(e) = soakd::state::write_atomic(p, t.as_bytes())
        {
            return Exit::Error(anyhow::anyhow!("cannot write {}: {e}", p.display()));
        }
    }
    if regressed {
        Exit::ThresholdsFailed
    } else {
        Exit::Ok
    }
}

/// A soakd run summary, or a k6 `--summary-export` file (read as one).
fn read(p: &Path) -> Result<Summary, String> {
    let text =
        std::fs::read_to_string(p).map_err(|e| format!("{}: cannot read: {e}", p.display()))?;
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
        && report::k6::is_k6_export(&v)
    {
        let name = p
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        return report::k6::summary_from_export(&v, &name)
            .map_err(|e| format!("{}: {e}", p.display()));
    }
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a soakd run summary nor a k6 summary export: {e}",
            p.display()
        )
    })
}
