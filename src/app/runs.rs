//! The life of a daemon run: start (one per scenario at a time), execute, judge, persist.
//!
//! After each run the breach tracker records every threshold's verdict and persists it before
//! the gauges change, so a crash never shows an incident the state file does not hold.

use super::{App, unix_now};
use crate::report::Summary;
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
                me.finish(report);
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

    /// The newest passing run of `scenario`, the baseline of `baseline: { compare_to: last_pass }`.
    fn last_pass(&self, scenario: &str) -> Option<Summary> {
        let entry = self
            .results
            .list(Some(scenario), 200)
            .into_iter()
            .find(|r| r.result == "pass")?;
        serde_json::from_value(self.results.get(&entry.run_id)?).ok()
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

    pub(super) fn finish(&self, mut report: RunReport) {
        let name = report.scenario.name.clone();
        if let Some(limit) = report.scenario.baseline_max_regression
            && matches!(report.result, run::RunResult::Pass | run::RunResult::Fail)
        {
            let current = Summary::from_report(&report);
            if let Some(base) = self.last_pass(&name) {
                let regressions = crate::report::regressions(&current, &base, limit);
                if regressions.iter().any(|o| o.breached) {
                    report.result = run::RunResult::Fail;
                }
                report.outcomes.extend(regressions);
            }
        }
        let findings = self.judge_against_history(&mut report);
        let mut summary = Summary::from_report(&report);
        summary.regression = findings;
        if let Some(hold) = self.take_stop_reason(&report.run_id) {
            summary.reason = Some(hold);
        }
        let outcomes: Vec<_> = report
            .outcomes
            .iter()
            .map(|o| (o.threshold.clone(), o.breached, o.observed, o.limit))
            .collect();
        // An aborted or failed-to-start run judges nothing: streaks neither grow nor reset.
        // Nor does a run of a scenario a reload removed meanwhile (its state was dropped).
        let judged = matches!(report.result, run::RunResult::Pass | run::RunResult::Fail)
            && self.plan().scenarios.contains_key(&name);
        let records = if judged {
            let mut t = self.tracker.lock().unwrap_or_else(|p| p.into_inner());
            match t.record_run(
                &name,
                &report.run_id,
                report.ended_at,
                &outcomes,
                report.scenario.consecutive_breaches,
            ) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(scenario = %name, error = %e, "cannot persist breach state; kept in memory, retried at the next run");
                    self.metrics.state_write_failed();
                    t.scenario(&name)
                }
            }
        } else {
            self.tracker
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .scenario(&name)
        };
        let consecutive: Vec<(String, u32, bool)> = records
            .iter()
            .map(|(th, r)| (th.clone(), r.consecutive, r.incident_open))
            .collect();
        summary.consecutive_breaches = records
            .iter()
            .map(|(th, r)| (th.clone(), r.consecutive))
            .collect();
        if self.plan().scenarios.contains_key(&name) {
            let ended = unix_now();
            // The verdict gauges (observed, limit, breached) show the last judged run: an
            // unjudged one (paused, aborted, circuit open) keeps its partial numbers in its
            // summary, or a pause would raise SoakdThresholdBreached on a cut-short run.
            let verdicts: &[_] = if judged { &report.outcomes } else { &[] };
            self.metrics
                .run_finished(&name, report.result.as_str(), ended, verdicts, &consecutive);
            self.metrics
                .run_info(run_info(&self.plan(), &name, &report.run_id), ended);
            let drills: Vec<_> = report
                .sut
                .drills
                .iter()
                .map(|d| (d.name.clone(), d.recovery_seconds, d.passed))
                .collect();
            if !drills.is_empty() || report.scenario.sut.drills.is_empty() {
                self.metrics.drills_finished(&name, &drills);
            }
        } else {
            // Removed by a reload while this run was stopping: its series were dropped then,
            // and this run's end (or its sink and VU feed meanwhile) must not bring them back.
            self.metrics.remove_scenario(&name);
        }
        for (th, count, open) in &consecutive {
            if *open {
                tracing::warn!(scenario = %name, threshold = %th, consecutive = count, "incident open");
            }
        }
        match serde_json::to_value(&summary) {
            Ok(v) => {
                match self
                    .results
                    .write(&name, &report.run_id, report.started_at, &v)
                {
                    // The HTML report sits beside its summary (and is pruned with it).
                    Ok(path) => {
                        if self.plan().results_k6 && self.write_k6(&name, &path, &report) {
                            self.upload(path.with_extension("k6.json"));
                        }
                        let html = crate::report::html(&summary);
                        let html_path = path.with_extension("html");
                        match crate::state::write_atomic(&html_path, html.as_bytes()) {
                            Ok(()) => self.upload(html_path),
                            Err(e) => {
                                tracing::error!(scenario = %name, error = %e, "cannot write the run report");
                                self.metrics.state_write_failed();
                            }
                        }
                        self.upload(path);
                    }
                    Err(e) => {
                        tracing::error!(scenario = %name, error = %e, "cannot write the run summary");
                        self.metrics.state_write_failed();
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot encode the run summary"),
        }
        self.results.prune(chrono::Utc::now());
        tracing::info!(
            scenario = %name,
            run_id = %report.run_id,
            result = report.result.as_str(),
            requests = summary.metrics.requests_total,
            p95_ms = summary.metrics.response_times_ms.p95,
            "run finished"
        );
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

/// The report of a run cut short at shutdown: its numbers so far, result `aborted`.
impl App {
    /// k6's summary export beside the run summary (`results.format: [soakd, k6]`).
    /// Returns whether the export was written.
    fn write_k6(&self, scenario: &str, summary_path: &std::path::Path, report: &RunReport) -> bool {
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
fn run_info(plan: &crate::plan::Plan, scenario: &str, run_id: &str) -> RunInfoLabels {
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
