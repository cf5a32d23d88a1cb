//! The life of a daemon run: start (one per scenario at a time), execute, then hand its report
//! to the ledger (`ledger.rs`), which judges, persists and publishes it.

use super::{App, unix_now};
use crate::run::{self, RunControl, RunReport};
use crate::schedule::Skip;
use crate::telemetry::RunInfoLabels;
use std::sync::Arc;
use tokio::sync::oneshot;

impl App {
    /// Starts a run of `name` now. Err(Overlap) if one is running, Err(MaxConcurrent) when the
    /// global bound is reached, Err(Gone) if unknown or shutting down.
    /// Starts a run; the receiver resolves when it ends, with true if it ended in `error` or
    /// `aborted` (a continuous schedule backs off before the next one).
    pub fn start_run(&self, name: &str) -> Result<(String, oneshot::Receiver<bool>), Skip> {
        if self.shutdown.is_cancelled() {
            return Err(Skip::Gone);
        }
        let plan = self.plan();
        let scenario = plan.scenarios.get(name).cloned().ok_or(Skip::Gone)?;
        let sink = self.metrics.scenario_sink(name, &scenario.requests);
        let ctl = {
            let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
            if active.contains_key(name) {
                return Err(Skip::Overlap);
            }
            if plan.max_concurrent_runs.is_some_and(|m| active.len() >= m) {
                return Err(Skip::MaxConcurrent);
            }
            let ctl = RunControl::new(scenario.clone(), Some(sink));
            if let Some(l) = self.limiter() {
                ctl.limit_with(l);
            }
            active.insert(name.to_string(), ctl.clone());
            ctl
        };
        let e = &scenario.load.executor;
        // `soakd_vus` follows the VUs actually running (`feed_vus`), from 0.
        self.metrics
            .run_started(name, 0.0, e.peak_rate().unwrap_or(0.0), unix_now());
        tracing::info!(scenario = name, run_id = %ctl.id, executor = e.name(), "run started");
        let (done_tx, done_rx) = oneshot::channel();
        let me = self.me.upgrade().ok_or(Skip::Gone)?;
        let id = ctl.id.clone();
        self.runs.spawn(async move {
            let vus_feed = tokio::spawn(feed_vus(me.clone(), ctl.clone()));
            let report = run::execute(ctl.clone()).await;
            vus_feed.abort();
            // Between runs no VU is active.
            if me.plan().scenarios.contains_key(&ctl.scenario.name) {
                me.metrics.set_vus(&ctl.scenario.name, 0.0);
            }
            let hard = matches!(
                report.result,
                run::RunResult::Error | run::RunResult::Aborted
            );
            if me.claim_finish(&ctl.id) {
                // Answered once the summary is written: a run leaves `active` only then.
                me.finish(report).await;
                ctl.summarized
                    .store(true, std::sync::atomic::Ordering::Release);
            }
            me.active
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&ctl.scenario.name);
            me.finishing
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&ctl.id);
            let _ = done_tx.send(hard);
        });
        Ok((id, done_rx))
    }

    /// Aborts a run by id; false if no such run is active.
    pub fn abort_run(&self, run_id: &str) -> bool {
        match self.active_runs().into_iter().find(|r| r.id == run_id) {
            Some(r) => {
                r.abort();
                true
            }
            None => false,
        }
    }

    /// True for the first caller only: that one records the run's end.
    fn claim_finish(&self, run_id: &str) -> bool {
        self.finishing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(run_id.to_string())
    }

    /// Claims every active run not yet recording its end (for `stop` past its timeout). The
    /// active lock is held while claiming: a run leaves `active` before it leaves `finishing`,
    /// so a run seen here cannot have finished and released its claim already.
    pub(super) fn claim_unfinished(&self) -> Vec<Arc<RunControl>> {
        let active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        active
            .values()
            .filter(|c| self.claim_finish(&c.id))
            .cloned()
            .collect()
    }
}

/// Mirrors the run's live count of active VUs into `soakd_vus` every 100 ms.
async fn feed_vus(app: Arc<App>, ctl: Arc<RunControl>) {
    let mut every = tokio::time::interval(std::time::Duration::from_millis(100));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let v = ctl.vus.load(std::sync::atomic::Ordering::Relaxed);
        app.metrics.set_vus(&ctl.scenario.name, v as f64);
    }
}

impl App {
    /// k6's summary export beside the run summary (`results.format: [soakd, k6]`).
    /// Returns whether the export was written.
    pub(super) fn write_k6(
        &self,
        scenario: &str,
        summary_path: &std::path::Path,
        report: &RunReport,
    ) -> bool {
        let path = summary_path.with_extension("k6.json");
        let written = serde_json::to_vec_pretty(&crate::report::k6::export(report))
            .map_err(|e| e.to_string())
            .and_then(|b| crate::state::write_atomic(&path, &b).map_err(|e| e.to_string()));
        if let Err(e) = &written {
            tracing::error!(scenario = %scenario, error = %e, "cannot write the k6 summary export");
        }
        written.is_ok()
    }
}

/// The report of a run cut short at shutdown: its numbers so far, result `aborted`.
pub(super) fn aborted_now(ctl: &RunControl) -> RunReport {
    let snapshot = ctl.recorder.snapshot();
    let mut outcomes = crate::verdict::evaluate_all(&ctl.scenario.thresholds, &snapshot);
    let reason = run::no_response(&snapshot).map(|(o, reason)| {
        outcomes.push(o);
        reason
    });
    RunReport {
        run_id: ctl.id.clone(),
        scenario: ctl.scenario.clone(),
        started_at: ctl.started_at,
        ended_at: chrono::Utc::now(),
        result: run::RunResult::Aborted,
        snapshot,
        outcomes,
        error: None,
        reason,
        sut: Default::default(),
    }
}

/// The links alerts give for a run (soakd_run_last_info): its HTML report on this daemon and the
/// scenario dashboard, absolute under `server.external_url` / `server.grafana_url` when set.
pub(super) fn run_info(plan: &crate::plan::Plan, scenario: &str, run_id: &str) -> RunInfoLabels {
    let base = |u: &Option<String>| u.clone().unwrap_or_default();
    RunInfoLabels {
        scenario: scenario.to_string(),
        run_id: run_id.to_string(),
        report_url: format!(
            "{}/api/v1/runs/{run_id}/report.html",
            base(&plan.external_url)
        ),
        dashboard_url: format!(
            "{}/d/soakd-scenario/soakd-scenario?var-scenario={scenario}",
            base(&plan.grafana_url)
        ),
    }
}
