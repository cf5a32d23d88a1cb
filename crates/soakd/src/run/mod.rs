//! A run: one execution of a scenario, from its first iteration to its verdict.
//!
//! `execute` builds the client and actor, hands the load model to its driver (closed, open or
//! budgeted), watches `abort_on_fail` thresholds while it runs, and returns a `RunReport` with
//! the exact numbers and threshold outcomes of this run alone.

mod budgeted;
mod closed;
mod gate;
mod open;
mod pacer;
mod stages;
mod windows;

/// Counts one VU as active (`soakd_vus`, `RunControl::vus`) for as long as it lives.
pub(crate) struct Active(Arc<AtomicU32>);

impl Active {
    pub(crate) fn new(gauge: &Arc<AtomicU32>) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        Active(gauge.clone())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

pub use crate::action::Limiter;

use crate::action::Actor;
use crate::client::{ClientOptions, HttpClient};
use crate::load::{Model, model};
use crate::plan::Scenario;
use crate::record::{Recorder, RunSnapshot, Sink};
use crate::sut::{SutReport, SutRun};
use crate::verdict::{self, Outcome};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunResult {
    Pass,
    Fail,
    Aborted,
    Error,
}

impl RunResult {
    pub fn as_str(self) -> &'static str {
        match self {
            RunResult::Pass => "pass",
            RunResult::Fail => "fail",
            RunResult::Aborted => "aborted",
            RunResult::Error => "error",
        }
    }
}

const STOP_NONE: u8 = 0;
const STOP_ABORTED: u8 = 1;
const STOP_THRESHOLD: u8 = 2;

/// Shared handle of a run in progress: abort it, read its live numbers.
pub struct RunControl {
    pub id: String,
    pub scenario: Arc<Scenario>,
    pub recorder: Arc<Recorder>,
    pub started_at: DateTime<Utc>,
    stop: CancellationToken,
    stop_reason: AtomicU8,
    /// VUs currently running iterations.
    pub vus: Arc<AtomicU32>,
    /// The process-wide `safety.max_rps` ceiling, when one is configured.
    limiter: std::sync::OnceLock<Arc<Limiter>>,
    /// Cuts every iteration now (see `hard_stop`).
    hard: CancellationToken,
    /// Set once the run's summary is written (the daemon keeps the run active until just
    /// after): from then on its summary, not "running", answers for it.
    pub summarized: std::sync::atomic::AtomicBool,
}

impl RunControl {
    pub fn new(scenario: Arc<Scenario>, sink: Option<Arc<dyn Sink>>) -> Arc<Self> {
        let meta: Arc<[_]> = scenario.requests.clone().into();
        Arc::new(RunControl {
            id: new_run_id(),
            recorder: Arc::new(Recorder::new(
                meta,
                scenario.mix.iter().map(|m| m.name.clone()).collect(),
                sink,
            )),
            scenario,
            started_at: Utc::now(),
            stop: CancellationToken::new(),
            stop_reason: AtomicU8::new(STOP_NONE),
            vus: Arc::new(AtomicU32::new(0)),
            summarized: Default::default(),
            limiter: std::sync::OnceLock::new(),
            hard: CancellationToken::new(),
        })
    }

    /// Stops the run gracefully; its result will be `aborted`.
    pub fn abort(&self) {
        let _ = self.stop_reason.compare_exchange(
            STOP_NONE,
            STOP_ABORTED,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
        self.stop.cancel();
    }

    fn abort_on_threshold(&self) {
        let _ = self.stop_reason.compare_exchange(
            STOP_NONE,
            STOP_THRESHOLD,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
        self.stop.cancel();
    }

    /// Makes every request of this run take a slot of `limiter` first (`safety.max_rps`).
    pub fn limit_with(&self, limiter: Arc<Limiter>) {
        let _ = self.limiter.set(limiter);
    }

    /// Cuts the run's iterations now, without waiting for `graceful_stop` (the daemon's
    /// shutdown timeout ran out): their in-flight requests are recorded as `interrupted` and the
    /// run ends (`aborted` after `abort`).
    pub fn hard_stop(&self) {
        self.abort();
        self.hard.cancel();
    }

    pub fn is_stopping(&self) -> bool {
        self.stop.is_cancelled()
    }
}

/// Time-sortable, unique, path-safe: `20261122T051500Z-1a2b3c4d`.
pub fn new_run_id() -> String {
    let u = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}", Utc::now().format("%Y%m%dT%H%M%SZ"), &u[..8])
}

/// Everything known about a finished run.
pub struct RunReport {
    pub run_id: String,
    pub scenario: Arc<Scenario>,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub result: RunResult,
    pub snapshot: RunSnapshot,
    /// The scenario's thresholds, then its SUT checks and drills (`sut:…`, `drill:…`).
    pub outcomes: Vec<Outcome>,
    pub error: Option<String>,
    /// Why the run failed when no threshold says so (e.g. no request got a response).
    pub reason: Option<String>,
    /// Details of the SUT checks and drills (their outcomes are in `outcomes` too).
    pub sut: SutReport,
}

/// Runs the scenario to its end (or until stopped) and judges it.
pub async fn execute(ctl: Arc<RunControl>) -> RunReport {
    let s = ctl.scenario.clone();
    let opts = ClientOptions {
        pool_max_idle_per_host: s.load.executor.max_vus().max(1) as usize,
        insecure_skip_verify: s.insecure_skip_verify,
        h2c: s.h2c,
        max_body_bytes: s.max_body_bytes,
        ..ClientOptions::default()
    };
    let client = match HttpClient::new(&opts) {
        Ok(c) => c,
        Err(e) => {
            let error = Some(format!("HTTP client: {e}"));
            return finish(
                &ctl,
                RunResult::Error,
                error,
                SutReport::default(),
                Vec::new(),
            );
        }
    };
    // A `unique` data pool that runs out ends the run like its natural end (not an abort).
    let exhausted = ctl.stop.child_token();
    let actor = Arc::new(
        Actor::new(s.clone(), client, ctl.recorder.clone(), exhausted.clone())
            .with_limiter(ctl.limiter.get().cloned()),
    );
    let watcher = tokio::spawn(watch_aborts(ctl.clone()));
    let windows = windows::WindowWatch::start(ctl.clone());
    let stages = stages::StageWatch::start(ctl.clone());
    let ticker = tokio::spawn(tick_timeline(ctl.clone()));
    let flusher = tokio::spawn(flush_samples(ctl.clone()));
    // PromQL checks and drills run beside the load, from its start to its end.
    let sut = SutRun::start(&s, ctl.recorder.clone());
    let grace = s.load.graceful_stop;
    match model(&s.load, s.arrival_phase.unwrap_or(0.0)) {
        Model::Closed {
            profile,
            graceful_ramp_down,
        } => {
            closed::drive(
                &pacer::SystemClock,
                actor,
                profile,
                graceful_ramp_down,
                grace,
                &exhausted,
                ctl.hard.child_token(),
                &ctl.vus,
            )
            .await
        }
        Model::Open(load) => {
            let sharded = s.arrival_phase.is_some();
            let hard = ctl.hard.child_token();
            let clock = &pacer::SystemClock;
            open::drive(
                clock, actor, load, sharded, grace, &exhausted, hard, &ctl.vus,
            )
            .await
        }
        Model::Budgeted(budget) => {
            budgeted::drive(
                &pacer::SystemClock,
                actor,
                budget,
                grace,
                &exhausted,
                ctl.hard.child_token(),
                &ctl.vus,
            )
            .await
        }
    }
    watcher.abort();
    ticker.abort();
    flusher.abort();
    ctl.recorder.roll_window();
    let mut windowed = match windows {
        Some(w) => w.finish().await,
        None => Vec::new(),
    };
    if let Some(st) = stages {
        windowed.extend(st.finish().await);
    }
    ctl.vus.store(0, Ordering::Relaxed);
    let sut = sut.finish(&s).await;
    let result = match ctl.stop_reason.load(Ordering::SeqCst) {
        STOP_ABORTED => RunResult::Aborted,
        STOP_THRESHOLD => RunResult::Fail,
        _ => RunResult::Pass,
    };
    finish(&ctl, result, None, sut, windowed)
}

/// Judges the run: every threshold on the whole run, except windowed ones (their worst window)
/// and stage ones (their stage), given in `windowed` by threshold index.
fn finish(
    ctl: &RunControl,
    result: RunResult,
    error: Option<String>,
    sut: SutReport,
    windowed: Vec<(usize, Outcome)>,
) -> RunReport {
    let snapshot = ctl.recorder.final_snapshot();
    let mut outcomes = verdict::evaluate_all(&ctl.scenario.thresholds, &snapshot);
    for (i, worst) in windowed {
        if let Some(o) = outcomes.get_mut(i) {
            *o = worst;
        }
    }
    outcomes.extend(sut.outcomes.iter().cloned());
    let reason = no_response(&snapshot).map(|(outcome, reason)| {
        tracing::warn!(scenario = %ctl.scenario.name, run_id = %ctl.id, "{reason}");
        outcomes.push(outcome);
        reason
    });
    let result = if error.is_some() {
        RunResult::Error
    } else if result == RunResult::Pass && outcomes.iter().any(|o| o.breached) {
        RunResult::Fail
    } else {
        result
    };
    RunReport {
        run_id: ctl.id.clone(),
        scenario: ctl.scenario.clone(),
        started_at: ctl.started_at,
        ended_at: Utc::now(),
        result,
        snapshot,
        outcomes,
        error,
        reason,
        sut,
    }
}

/// Label of the verdict every run gets when it started requests and none got a response.
pub const NO_RESPONSE: &str = "run:responses>0";

/// A run that started requests and got not one response (a hung or dead target) never passes,
/// whatever its thresholds say: it gets a breached `run:responses>0` verdict (which counts
/// towards incidents like any threshold) and a reason naming what happened to the requests.
pub fn no_response(snap: &RunSnapshot) -> Option<(Outcome, String)> {
    use crate::verdict::RunNumbers;
    let (started, _) = snap.requests(&Default::default());
    if started == 0 || snap.responses() > 0 {
        return None;
    }
    let why: Vec<String> = snap
        .reasons_total()
        .iter()
        .map(|(r, n)| format!("{n} {r}"))
        .collect();
    let reason = format!(
        "{started} request(s) started and none got a response ({}): the target is hung or down",
        why.join(", ")
    );
    let outcome = Outcome {
        threshold: NO_RESPONSE.to_string(),
        observed: Some(0.0),
        limit: 0.0,
        breached: true,
    };
    Some((outcome, reason))
}

/// Applies the VUs' queued samples every `FLUSH_EVERY`, so /metrics and the live counters
/// lag the samples by at most that much (every snapshot applies them too).
async fn flush_samples(ctl: Arc<RunControl>) {
    let mut every = tokio::time::interval(crate::record::FLUSH_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        ctl.recorder.flush();
    }
}

/// Closes a timeline window every second (every duration/300 for runs over five minutes).
async fn tick_timeline(ctl: Arc<RunControl>) {
    let planned = ctl.scenario.load.executor.duration().as_secs_f64();
    let window = Duration::from_secs_f64((planned / 300.0).max(1.0));
    loop {
        tokio::time::sleep(window).await;
        ctl.recorder.roll_window();
        ctl.recorder.sample_vus(ctl.vus.load(Ordering::Relaxed));
    }
}

/// Evaluates `abort_on_fail` thresholds every half second on the numbers so far.
async fn watch_aborts(ctl: Arc<RunControl>) {
    let watched: Vec<_> = ctl
        .scenario
        .thresholds
        .iter()
        // Windowed thresholds abort from their own watcher (`windows`), window by window.
        // Stage thresholds are judged on their stage alone, at its end.
        .filter(|t| {
            t.abort_on_fail
                && t.window.is_none()
                && t.filter
                    .get(crate::plan::threshold::TagKey::Stage)
                    .is_none()
        })
        .collect();
    if watched.is_empty() {
        return;
    }
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let snap = ctl.recorder.snapshot();
        for t in &watched {
            let o = verdict::evaluate(t, &snap);
            if verdict::should_abort(t, &o, snap.elapsed) {
                tracing::warn!(scenario = %ctl.scenario.name, threshold = %t.label, "threshold crossed with abort_on_fail: stopping the run");
                ctl.abort_on_threshold();
                return;
            }
        }
    }
}
