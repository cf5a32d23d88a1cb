//! Per-scenario history of passing runs for the statistical baseline (`baseline: { against:
//! last_N_passing }`): compact latency distributions and error counts, bounded to N runs, in
//! `state_dir/history/<scenario>.json` (atomic write).
//!
//! A run is judged against the history before it is added; only a run whose final result is
//! `pass` joins it, so a regression never becomes the new normal.

use super::App;
use crate::plan::threshold::TagFilter;
use crate::run::{RunReport, RunResult};
use crate::state::{StateError, write_atomic};
use crate::verdict::RunNumbers;
use crate::verdict::regression::{self, Compact, Finding, RunSample};
use std::path::{Path, PathBuf};

fn history_path(state_dir: &Path, scenario: &str) -> PathBuf {
    state_dir.join("history").join(format!("{scenario}.json"))
}

/// The stored history of `scenario`, oldest first; a missing file is empty, a corrupt one is
/// reported and treated as empty (history only informs a verdict, it is not a streak).
pub fn load_history(state_dir: &Path, scenario: &str) -> Vec<RunSample> {
    let path = history_path(state_dir, scenario);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::error!(path = %path.display(), error = %e, "unreadable run history, ignored");
            Vec::new()
        }),
        Err(_) => Vec::new(),
    }
}

fn save_history(state_dir: &Path, scenario: &str, runs: &[RunSample]) -> Result<(), StateError> {
    let path = history_path(state_dir, scenario);
    let dir = path.parent().unwrap_or(state_dir).to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|e| StateError::io(&dir, e))?;
    let bytes = serde_json::to_vec(runs).map_err(|source| StateError::Encode {
        path: path.clone(),
        source,
    })?;
    write_atomic(&path, &bytes).map_err(|e| StateError::io(path, e))
}

fn sample(report: &RunReport) -> RunSample {
    let all = TagFilter::default();
    let (requests, failed) = report.snapshot.requests(&all);
    RunSample {
        run_id: report.run_id.clone(),
        latency: report
            .snapshot
            .request_latency(&all)
            .map(|h| Compact::from_hist(&h))
            .unwrap_or_default(),
        requests,
        failed,
    }
}

impl App {
    /// Judges a finished run against its scenario's passing history (when the scenario asks
    /// for it), adds the `regression:*` outcomes and fails the run on a regression; then
    /// records a passing run in the history and closes its circuit breaker's streak.
    pub(super) fn judge_against_history(&self, report: &mut RunReport) -> Vec<Finding> {
        let name = report.scenario.name.clone();
        if report.result == RunResult::Pass {
            self.breaker_passed(&name);
        }
        let Some(settings) = report.scenario.always_on.statistical_baseline else {
            return Vec::new();
        };
        if !matches!(report.result, RunResult::Pass | RunResult::Fail) {
            return Vec::new();
        }
        let state_dir = self.plan().state_dir.clone();
        let mut history = load_history(&state_dir, &name);
        let current = sample(report);
        let from = history.len().saturating_sub(settings.history);
        let findings = regression::judge(&current, &history[from..], &settings);
        for f in &findings {
            report.outcomes.push(crate::verdict::Outcome {
                threshold: f.threshold.clone(),
                observed: Some(f.effect * 100.0),
                limit: f.min_effect * 100.0,
                breached: f.regressed,
            });
        }
        if findings.iter().any(|f| f.regressed) {
            report.result = RunResult::Fail;
        }
        if report.result == RunResult::Pass && current.requests > 0 {
            history.push(current);
            let keep = history.len().saturating_sub(settings.history);
            history.drain(..keep);
            if let Err(e) = save_history(&state_dir, &name, &history) {
                tracing::error!(scenario = %name, error = %e, "cannot persist the run history");
            }
        }
        findings
    }
}
