//! The system under test's side of a run: PromQL checks and chaos drills.
//!
//! Soak criteria such as "memory < 75% of the container cap" or "the queue recovers within
//! 5 minutes" are about the system under test, not the generator's own numbers. [`SutRun`] runs
//! beside the load for the run's whole life: one sampler task per PromQL check (`prom`), one task
//! per drill plus one live-counter sampler (`drill`). `finish` stops them, takes the last
//! samples, fires pending undos, and returns a [`SutReport`] whose outcomes join the run's
//! thresholds (labels `sut:NAME:EXPR`, `drill:NAME:…`) and so count toward breaches and
//! incidents like any other threshold.

pub mod drill;
pub mod prom;

pub use drill::DrillResult;
pub use prom::CheckResult;

use crate::client::{ClientOptions, HttpClient};
use crate::plan::Scenario;
use crate::record::Recorder;
use crate::verdict::Outcome;
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What the SUT side found in one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SutReport {
    pub checks: Vec<CheckResult>,
    pub drills: Vec<DrillResult>,
    /// Every check's and drill's outcome, in config order (checks first).
    pub outcomes: Vec<Outcome>,
}

/// The SUT tasks of a run in progress.
pub struct SutRun {
    stop: CancellationToken,
    checks: Vec<(crate::plan::sut::SutCheck, JoinHandle<prom::Samples>)>,
    drills: Vec<(crate::plan::sut::Drill, JoinHandle<drill::Fired>)>,
    live: Option<JoinHandle<Vec<drill::Point>>>,
}

impl SutRun {
    /// Starts the scenario's checks and drills now (the run's start for `at`).
    pub fn start(s: &Scenario, recorder: Arc<Recorder>) -> SutRun {
        let stop = CancellationToken::new();
        let mut run = SutRun {
            stop: stop.clone(),
            checks: Vec::new(),
            drills: Vec::new(),
            live: None,
        };
        if s.sut.is_empty() {
            return run;
        }
        let client = match HttpClient::new(&ClientOptions::default()) {
            Ok(c) => c,
            Err(e) => {
                // Without a client every check errs and every drill fails to fire; the
                // verdicts below say so (never a silent pass).
                tracing::error!(error = %e, "cannot build the SUT HTTP client");
                return run;
            }
        };
        let t0 = Instant::now();
        if let Some(p) = &s.sut.prometheus {
            for c in &s.sut.checks {
                let task = prom::sample_loop(client.clone(), p.clone(), c.clone(), stop.clone());
                run.checks.push((c.clone(), tokio::spawn(task)));
            }
        }
        if !s.sut.drills.is_empty() {
            let live = drill::sample_live(recorder.clone(), t0, stop.clone());
            run.live = Some(tokio::spawn(live));
        }
        for d in &s.sut.drills {
            let task = drill::run(
                d.clone(),
                client.clone(),
                recorder.clone(),
                t0,
                stop.clone(),
            );
            run.drills.push((d.clone(), tokio::spawn(task)));
        }
        run
    }

    /// Stops sampling (one last query per check), fires pending undos, judges everything.
    pub async fn finish(self, s: &Scenario) -> SutReport {
        self.stop.cancel();
        let mut report = SutReport::default();
        let mut sampled = Vec::new();
        for (c, task) in self.checks {
            sampled.push((c.name.clone(), task.await.unwrap_or_default()));
        }
        for c in &s.sut.checks {
            let samples = match sampled.iter().position(|(n, _)| *n == c.name) {
                Some(i) => sampled.swap_remove(i).1,
                None => {
                    let mut none = prom::Samples::default();
                    none.push(Err(prom::QueryError::Unreachable(
                        "no HTTP client for the SUT checks".into(),
                    )));
                    none
                }
            };
            let r = samples.judge(c);
            report.outcomes.push(r.outcome(c.limit));
            report.checks.push(r);
        }
        let points = match self.live {
            Some(t) => t.await.unwrap_or_default(),
            None => Vec::new(),
        };
        let mut fired_drills = Vec::new();
        for (d, task) in self.drills {
            fired_drills.push((d, task.await.unwrap_or_default()));
        }
        for d in &s.sut.drills {
            let fired = match fired_drills.iter().position(|(k, _)| k.name == d.name) {
                Some(i) => fired_drills.swap_remove(i).1,
                None => drill::Fired::default(),
            };
            let r = drill::judge(d, fired, &points);
            report.outcomes.extend(r.outcomes.iter().cloned());
            report.drills.push(r);
        }
        report
    }
}
