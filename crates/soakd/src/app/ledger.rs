//! The ledger: one thread that owns the breach tracker and keeps the results index, and
//! handles every finished run as one message, in order.
//!
//! A finished run goes through one pipeline: judge (the baseline and the statistical history;
//! the verdicts themselves are pure functions) → persist streaks (`breaches.json`, fsync) →
//! publish gauges → write the summary, its HTML report (and k6 export) and one index entry →
//! prune. All of it is file I/O or follows from it, so all of it runs here, on a thread of its
//! own: never on an async worker, and with no lock held while a file is written. Readers (the
//! API, the status page) see the published views (`App::index`, `App::incident_view`), each
//! behind a lock taken only for an in-memory update.
//!
//! Other writes that must not reach an async worker come here too: the breakers after a trip
//! and the streaks of scenarios a reload removed.

use super::runs::run_info;
use super::{App, unix_now};
use crate::report::Summary;
use crate::run::{self, RunReport};
use crate::state::{BreachRecord, BreachTracker, ResultsIndex};
use std::collections::HashMap;
use std::sync::Weak;
use std::sync::mpsc::{Receiver, SyncSender};
use tokio::sync::oneshot;

/// How far back `baseline: { compare_to: last_pass }` looks for a passing run.
const LAST_PASS_WITHIN: usize = 200;

pub(super) enum Job {
    /// A run ended; the sender is answered once its summary is written.
    Finished(Box<RunReport>, oneshot::Sender<()>),
    /// A reload removed scenarios: drop the streaks of all but these; answered when persisted.
    Retain(Vec<String>, SyncSender<()>),
    /// A breaker tripped: write `breakers.json` as it is now.
    SaveBreakers,
}

/// Open incidents by scenario: (threshold, consecutive breaches), as the API lists them.
pub(super) type IncidentView = HashMap<String, Vec<(String, u32)>>;

pub(super) fn incident_view(tracker: &BreachTracker) -> IncidentView {
    let mut view = IncidentView::new();
    for (scenario, threshold, r) in tracker.all() {
        if r.incident_open {
            view.entry(scenario.to_string())
                .or_default()
                .push((threshold.to_string(), r.consecutive));
        }
    }
    view
}

/// Starts the ledger thread; it ends when the `App` (the sender's owner) is dropped.
pub(super) fn spawn(
    app: Weak<App>,
    mut tracker: BreachTracker,
    jobs: Receiver<Job>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("soakd-ledger".into())
        .spawn(move || {
            while let Ok(job) = jobs.recv() {
                let Some(app) = app.upgrade() else { return };
                match job {
                    Job::Finished(report, done) => {
                        app.record_finished(&mut tracker, *report);
                        let _ = done.send(());
                    }
                    Job::Retain(keep, done) => {
                        app.retain_streaks(&mut tracker, &keep);
                        let _ = done.send(());
                    }
                    Job::SaveBreakers => app.persist_breakers(),
                }
            }
        })
}

impl App {
    /// Queues a job for the ledger thread (never blocks).
    pub(super) fn ledger(&self, job: Job) {
        if self.ledger.send(job).is_err() {
            tracing::error!("the ledger thread is gone; a run end or a breaker was not recorded");
        }
    }

    /// Hands a finished run to the ledger and waits until its summary is written.
    pub(super) async fn finish(&self, report: RunReport) {
        let (done, written) = oneshot::channel();
        self.ledger(Job::Finished(Box::new(report), done));
        let _ = written.await;
    }

    /// The pipeline of one finished run (ledger thread).
    fn record_finished(&self, tracker: &mut BreachTracker, mut report: RunReport) {
        let name = report.scenario.name.clone();
        let (mut summary, judged) = self.judge(&mut report);
        let records = self.persist_streaks(tracker, &report, judged);
        summary.consecutive_breaches = records
            .iter()
            .map(|(th, r)| (th.clone(), r.consecutive))
            .collect();
        self.publish_gauges(&report, judged, &records);
        self.write_results(&summary, &report);
        self.prune_results();
        tracing::info!(
            scenario = %name,
            run_id = %report.run_id,
            result = report.result.as_str(),
            requests = summary.metrics.requests_total,
            p95_ms = summary.metrics.response_times_ms.p95,
            "run finished"
        );
    }

    /// Judges the run against its baseline and its passing history (which may fail it), and
    /// builds its summary. True in the second place when the run's verdicts count for the
    /// streaks: an aborted or failed-to-start run judges nothing (streaks neither grow nor
    /// reset), nor does a run of a scenario a reload removed meanwhile (its state was dropped).
    fn judge(&self, report: &mut RunReport) -> (Summary, bool) {
        let name = report.scenario.name.clone();
        if let Some(limit) = report.scenario.baseline_max_regression
            && matches!(report.result, run::RunResult::Pass | run::RunResult::Fail)
        {
            let current = Summary::from_report(report);
            if let Some(base) = self.last_pass(&name) {
                let regressions = crate::report::regressions(&current, &base, limit);
                if regressions.iter().any(|o| o.breached) {
                    report.result = run::RunResult::Fail;
                }
                report.outcomes.extend(regressions);
            }
        }
        let findings = self.judge_against_history(report);
        let mut summary = Summary::from_report(report);
        summary.regression = findings;
        if let Some(hold) = self.take_stop_reason(&report.run_id) {
            summary.reason = Some(hold);
        }
        let judged = matches!(report.result, run::RunResult::Pass | run::RunResult::Fail)
            && self.plan().scenarios.contains_key(&name);
        (summary, judged)
    }

    /// The newest passing run of `scenario`, the baseline of `baseline: { compare_to: last_pass }`:
    /// found in the index, one file read.
    fn last_pass(&self, scenario: &str) -> Option<Summary> {
        let path = self
            .index
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .last_pass(scenario, LAST_PASS_WITHIN)?
            .path
            .clone();
        let bytes = std::fs::read(&path).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Records the verdicts in the tracker and persists them before any gauge changes, so a
    /// crash never shows an incident the state file does not hold.
    fn persist_streaks(
        &self,
        tracker: &mut BreachTracker,
        report: &RunReport,
        judged: bool,
    ) -> Vec<(String, BreachRecord)> {
        let name = &report.scenario.name;
        if !judged {
            return tracker.scenario(name);
        }
        let outcomes: Vec<_> = report
            .outcomes
            .iter()
            .map(|o| (o.threshold.clone(), o.breached, o.observed, o.limit))
            .collect();
        let records = match tracker.record_run(
            name,
            &report.run_id,
            report.ended_at,
            &outcomes,
            report.scenario.consecutive_breaches,
        ) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(scenario = %name, error = %e, "cannot persist breach state; kept in memory, retried at the next run");
                self.metrics.state_write_failed();
                tracker.scenario(name)
            }
        };
        let open: Vec<(String, u32)> = records
            .iter()
            .filter(|(_, r)| r.incident_open)
            .map(|(th, r)| (th.clone(), r.consecutive))
            .collect();
        let mut view = self
            .incident_view
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if open.is_empty() {
            view.remove(name);
        } else {
            view.insert(name.clone(), open);
        }
        records
    }

    fn publish_gauges(&self, report: &RunReport, judged: bool, records: &[(String, BreachRecord)]) {
        let name = &report.scenario.name;
        let consecutive: Vec<(String, u32, bool)> = records
            .iter()
            .map(|(th, r)| (th.clone(), r.consecutive, r.incident_open))
            .collect();
        if self.plan().scenarios.contains_key(name) {
            let ended = unix_now();
            // The verdict gauges (observed, limit, breached) show the last judged run: an
            // unjudged one (paused, aborted, circuit open) keeps its partial numbers in its
            // summary, or a pause would raise SoakdThresholdBreached on a cut-short run.
            let verdicts: &[_] = if judged { &report.outcomes } else { &[] };
            self.metrics
                .run_finished(name, report.result.as_str(), ended, verdicts, &consecutive);
            self.metrics
                .run_info(run_info(&self.plan(), name, &report.run_id), ended);
            let drills: Vec<_> = report
                .sut
                .drills
                .iter()
                .map(|d| (d.name.clone(), d.recovery_seconds, d.passed))
                .collect();
            if !drills.is_empty() || report.scenario.sut.drills.is_empty() {
                self.metrics.drills_finished(name, &drills);
            }
        } else {
            // Removed by a reload while this run was stopping: its series were dropped then,
            // and this run's end (or its sink and VU feed meanwhile) must not bring them back.
            self.metrics.remove_scenario(name);
        }
        for (th, count, open) in &consecutive {
            if *open {
                tracing::warn!(scenario = %name, threshold = %th, consecutive = count, "incident open");
            }
        }
    }

    /// The summary, its HTML report (and k6 export) beside it, then its index entry.
    fn write_results(&self, summary: &Summary, report: &RunReport) {
        let name = &report.scenario.name;
        let v = match serde_json::to_value(summary) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode the run summary");
                return;
            }
        };
        let path = match self
            .results
            .write(name, &report.run_id, report.started_at, &v)
        {
            Ok(path) => path,
            Err(e) => {
                tracing::error!(scenario = %name, error = %e, "cannot write the run summary");
                self.metrics.state_write_failed();
                return;
            }
        };
        // The HTML report sits beside its summary (and is pruned with it).
        if self.plan().results_k6 && self.write_k6(name, &path, report) {
            self.upload(path.with_extension("k6.json"));
        }
        let html_path = path.with_extension("html");
        match crate::report::html(summary) {
            Ok(html) => match crate::state::write_atomic(&html_path, html.as_bytes()) {
                Ok(()) => self.upload(html_path),
                Err(e) => {
                    tracing::error!(scenario = %name, error = %e, "cannot write the run report");
                    self.metrics.state_write_failed();
                }
            },
            Err(e) => tracing::error!(scenario = %name, error = %e, "cannot render the run report"),
        }
        if let Some(entry) = crate::state::index_entry(&v, &path) {
            self.index
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .add(entry);
        }
        self.upload(path);
    }

    /// Retention; when whole days went, the index is rebuilt from what is left (rare: at most
    /// once a day).
    fn prune_results(&self) {
        if self.results.prune(chrono::Utc::now()) > 0 {
            let fresh = ResultsIndex::build(&self.results);
            *self.index.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        }
    }

    fn retain_streaks(&self, tracker: &mut BreachTracker, keep: &[String]) {
        if let Err(e) = tracker.retain_scenarios(keep) {
            tracing::error!(error = %e, "cannot persist breach state");
            self.metrics.state_write_failed();
        }
        *self
            .incident_view
            .write()
            .unwrap_or_else(|p| p.into_inner()) = incident_view(tracker);
    }

    /// After a reload removed scenarios: their streaks go (persisted before this returns).
    /// Blocks the calling thread until the ledger has written: call it off the async workers.
    pub(super) fn retain_scenarios(&self, keep: Vec<String>) {
        let (done, persisted) = std::sync::mpsc::sync_channel(1);
        self.ledger(Job::Retain(keep, done));
        let _ = persisted.recv();
    }
}
