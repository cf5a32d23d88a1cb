//! Wiring of the daemon: plan → triggers → runs → verdicts → state, metrics and API.
//!
//! `App` holds the current plan, the active runs and the holds; the ledger thread
//! (`ledger.rs`) owns the breach tracker and keeps the results index, and handles each finished
//! run as one message. The triggers (`schedule::Runner`) and the HTTP API and status page
//! (`server::DaemonView`, `server::DaemonControl`, implemented in `handle.rs`) reach the daemon
//! only through those traits. Every lock here guards memory only: none is held across an await
//! or while a file is written.

mod breaker;
mod handle;
mod history;
mod holds;
mod ledger;
mod reload;
mod runs;

pub use holds::{BREAKERS_FILE, HOLDS_FILE, Paused};
pub use reload::{reload_blocking, watch_config};

use crate::plan::Plan;
use crate::run::RunControl;
use crate::schedule::{self, Runner, Skip};
use crate::state::upload::Uploader;
use crate::state::{BreachTracker, ResultsIndex, ResultsStore};
use crate::telemetry::{self, Metrics};
use anyhow::Context;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::oneshot;
use tokio_cron_scheduler::JobScheduler;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// This replica's share of the load: replica `index` of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// `INDEX/COUNT`, as written on the command line (logs print it this way).
impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `INDEX/COUNT`, e.g. `0/3`.
    pub fn parse(s: &str) -> Result<Shard, ShardError> {
        let bad = || ShardError(s.to_string());
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse::<u32>().map_err(|_| bad())?,
            n.trim().parse::<u32>().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// A `--shard` that is not `INDEX/COUNT` with INDEX < COUNT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--shard {0:?}: expected INDEX/COUNT with INDEX < COUNT, e.g. 0/3")]
pub struct ShardError(String);

struct Trigger {
    stop: CancellationToken,
}

pub struct App {
    plan: RwLock<Arc<Plan>>,
    pub config_path: Option<PathBuf>,
    pub shard: Shard,
    pub metrics: Arc<Metrics>,
    /// Where summaries go; written by the ledger thread only.
    pub results: ResultsStore,
    /// Newest runs per scenario, for the API and the status page (updated by the ledger).
    index: RwLock<ResultsIndex>,
    /// Open incidents per scenario, published by the ledger (which owns the tracker).
    incident_view: RwLock<ledger::IncidentView>,
    /// Jobs for the ledger thread: finished runs, breaker and streak writes.
    ledger: std::sync::mpsc::Sender<ledger::Job>,
    /// Copies finished result files to `results.object_store` (replaced when a reload changes it).
    uploader: RwLock<Option<Uploader>>,
    active: Mutex<HashMap<String, Arc<RunControl>>>,
    /// Ids of active runs whose end is being recorded: by the run itself or, past
    /// `shutdown_timeout`, by `stop` (each run's summary is written exactly once).
    finishing: Mutex<std::collections::HashSet<String>>,
    triggers: Mutex<HashMap<String, Trigger>>,
    /// Pauses (durable), circuit breakers and hold-stop reasons (`holds`).
    holds: Mutex<holds::Holds>,
    /// Serialises pause changes (taken on blocking threads only, while `holds.json` is written).
    pause_writes: Mutex<()>,
    admin_token: RwLock<Option<String>>,
    /// `safety.max_rps` for every run of this process (replaced on reload).
    limiter: RwLock<Option<Arc<crate::run::Limiter>>>,
    cron: JobScheduler,
    pub shutdown: CancellationToken,
    runs: TaskTracker,
    me: std::sync::Weak<App>,
}

impl App {
    /// Builds the daemon state from a valid plan: restores breach streaks, starts the cron clock.
    pub async fn new(
        plan: Plan,
        config_path: Option<PathBuf>,
        shard: Shard,
    ) -> anyhow::Result<Arc<App>> {
        let plan = shard_plan(plan, shard);
        let limits =
            telemetry::latency_limits_ms(plan.scenarios.values().flat_map(|s| s.thresholds.iter()));
        let metrics = Metrics::with_latency_limits(&limits);
        let results = ResultsStore::new(plan.results_dir.clone(), plan.retention);
        // Every file read of the start (state, holds, the scan of the results) off the workers.
        let (state_dir, store) = (plan.state_dir.clone(), results.clone());
        let (tracker, holds, index) = tokio::task::spawn_blocking(move || {
            let tracker = BreachTracker::load(&state_dir).context("loading breach state")?;
            let holds = holds::Holds::load(&state_dir)
                .context("loading holds (pauses, circuit breakers)")?;
            anyhow::Ok((tracker, holds, ResultsIndex::build(&store)))
        })
        .await
        .context("loading the daemon's state")??;
        for (scenario, threshold, rec) in tracker.all() {
            if plan.scenarios.contains_key(scenario) {
                metrics.restore_breaches(scenario, threshold, rec.consecutive, rec.incident_open);
            }
        }
        let token = read_token(&plan)?;
        let cron = JobScheduler::new()
            .await
            .context("starting the cron scheduler")?;
        cron.start().await.context("starting the cron scheduler")?;
        metrics.config_reloaded(true, unix_now());
        let limiter = plan_limiter(&plan);
        let uploader = match &plan.object_store {
            Some(o) => Some(
                Uploader::start(o, plan.results_dir.clone(), metrics.upload_observer())
                    .context("starting the results uploader")?,
            ),
            None => None,
        };
        let (jobs, queue) = std::sync::mpsc::channel();
        let app = Arc::new_cyclic(|me| App {
            plan: RwLock::new(Arc::new(plan)),
            config_path,
            shard,
            metrics,
            results,
            index: RwLock::new(index),
            incident_view: RwLock::new(ledger::incident_view(&tracker)),
            ledger: jobs,
            uploader: RwLock::new(uploader),
            active: Mutex::new(HashMap::new()),
            finishing: Mutex::new(Default::default()),
            triggers: Mutex::new(HashMap::new()),
            holds: Mutex::new(holds),
            pause_writes: Mutex::new(()),
            admin_token: RwLock::new(token),
            limiter: RwLock::new(limiter),
            cron,
            shutdown: CancellationToken::new(),
            runs: TaskTracker::new(),
            me: me.clone(),
        });
        ledger::spawn(Arc::downgrade(&app), tracker, queue)
            .context("starting the ledger thread")?;
        app.spawn_hold_ticker();
        Ok(app)
    }

    /// Queues a result file written under `results.dir` for `results.object_store`, if set.
    pub(crate) fn upload(&self, path: std::path::PathBuf) {
        let uploader = self.uploader.read().unwrap_or_else(|p| p.into_inner());
        if let Some(u) = uploader.as_ref() {
            u.enqueue(path);
        }
    }

    /// After a reload: a changed `results.object_store` gets a new uploader (the old one
    /// finishes its queue and stops); one that cannot start keeps the old.
    pub(crate) fn replace_uploader(&self, old: &Plan, new: &Plan) {
        if old.object_store == new.object_store && old.results_dir == new.results_dir {
            return;
        }
        let next = match &new.object_store {
            None => None,
            Some(o) => {
                match Uploader::start(o, new.results_dir.clone(), self.metrics.upload_observer()) {
                    Ok(u) => Some(u),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot start the new results uploader; keeping the old one");
                        return;
                    }
                }
            }
        };
        *self.uploader.write().unwrap_or_else(|p| p.into_inner()) = next;
    }

    pub fn plan(&self) -> Arc<Plan> {
        self.plan.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn limiter(&self) -> Option<Arc<crate::run::Limiter>> {
        self.limiter
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn admin_token(&self) -> Option<String> {
        self.admin_token
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn active_run(&self, scenario: &str) -> Option<Arc<RunControl>> {
        self.active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(scenario)
            .cloned()
    }

    pub fn active_runs(&self) -> Vec<Arc<RunControl>> {
        self.active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Open incidents of a scenario: (threshold, consecutive breaches), as of the last run
    /// the ledger recorded.
    pub fn incidents(&self, scenario: &str) -> Vec<(String, u32)> {
        self.incident_view
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(scenario)
            .cloned()
            .unwrap_or_default()
    }

    /// The newest finished run of `scenario`, from the index.
    pub fn last_run(&self, scenario: &str) -> Option<crate::state::RunIndexEntry> {
        self.index
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .latest(scenario)
            .cloned()
    }

    /// Starts one trigger per scenario of the current plan.
    pub fn start_triggers(&self) {
        let plan = self.plan();
        for s in plan.scenarios.values() {
            self.start_trigger(&s.name, &s.schedule);
        }
    }

    fn start_trigger(&self, name: &str, sched: &crate::plan::Schedule) {
        let Some(me) = self.me.upgrade() else { return };
        let stop = self.shutdown.child_token();
        let runner: Arc<dyn Runner> = me;
        schedule::spawn(
            name.to_string(),
            sched.clone(),
            runner,
            self.cron.clone(),
            stop.clone(),
        );
        let t = Trigger { stop };
        if let Some(old) = self
            .triggers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), t)
        {
            old.stop.cancel();
        }
    }

    fn stop_trigger(&self, name: &str) {
        if let Some(t) = self
            .triggers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name)
        {
            t.stop.cancel();
        }
    }

    /// Graceful stop: no new runs, active runs aborted (their summaries written as `aborted`),
    /// waiting at most `shutdown_timeout`.
    pub async fn stop(&self) {
        self.shutdown.cancel();
        for r in self.active_runs() {
            r.abort();
        }
        self.runs.close();
        let limit = self.plan().shutdown_timeout;
        if tokio::time::timeout(limit, self.runs.wait()).await.is_err() {
            tracing::warn!(
                limit = %humantime::format_duration(limit),
                "runs did not finish within shutdown_timeout"
            );
            // Cut their iterations: in-flight requests become `interrupted` samples and the runs
            // end on their own; the few that still do not are recorded below.
            for r in self.active_runs() {
                r.hard_stop();
            }
            let _ =
                tokio::time::timeout(std::time::Duration::from_millis(300), self.runs.wait()).await;
            // Their in-flight requests are cut at exit: record them as aborted now.
            for ctl in self.claim_unfinished() {
                self.finish(runs::aborted_now(&ctl)).await;
            }
        }
        let mut cron = self.cron.clone();
        let _ = cron.shutdown().await;
    }
}

impl Runner for App {
    fn start(&self, scenario: &str) -> Result<oneshot::Receiver<bool>, Skip> {
        self.start_checked(scenario).map(|(_, done)| done)
    }
    fn skipped(&self, scenario: &str, reason: &str) {
        tracing::info!(scenario, reason, "scheduled run skipped");
        self.metrics.schedule_skipped(scenario, reason);
    }
    fn next_fire(&self, scenario: &str, at: Option<DateTime<Utc>>) {
        self.metrics
            .schedule_next(scenario, at.map(|t| t.timestamp_millis() as f64 / 1000.0));
        let interval = self
            .plan()
            .scenarios
            .get(scenario)
            .and_then(|s| expected_interval(s));
        self.metrics.schedule_interval(scenario, interval);
    }
}

/// Seconds expected between two runs' ends (SoakdScenarioStale): a continuous scenario's run
/// length, a cron scenario's time between its next two fires; None for manual.
fn expected_interval(s: &crate::plan::Scenario) -> Option<f64> {
    match &s.schedule {
        crate::plan::Schedule::Manual => None,
        crate::plan::Schedule::Continuous => Some(s.load.executor.duration().as_secs_f64()),
        crate::plan::Schedule::Cron { .. } => match s.schedule.next_fires(Utc::now(), 2)[..] {
            [a, b] => Some((b - a).as_seconds_f64()),
            _ => None,
        },
    }
}

pub fn unix_now() -> f64 {
    Utc::now().timestamp_millis() as f64 / 1000.0
}

fn read_token(plan: &Plan) -> anyhow::Result<Option<String>> {
    match &plan.admin_token_file {
        None => Ok(None),
        Some(p) => {
            let t = std::fs::read_to_string(p)
                .with_context(|| format!("reading server.admin_token_file {}", p.display()))?;
            let t = t.trim().to_string();
            anyhow::ensure!(
                !t.is_empty(),
                "server.admin_token_file {} is empty",
                p.display()
            );
            Ok(Some(t))
        }
    }
}

/// The run-time ceiling of `safety.max_rps` (already divided by the shard count).
fn plan_limiter(plan: &Plan) -> Option<Arc<crate::run::Limiter>> {
    plan.max_rps.map(|r| Arc::new(crate::run::Limiter::new(r)))
}

/// Every scenario's load divided for this replica.
pub fn shard_plan(mut plan: Plan, shard: Shard) -> Plan {
    if shard != Shard::WHOLE {
        for s in plan.scenarios.values_mut() {
            *s = Arc::new(s.sharded(shard.index, shard.count));
        }
        plan.max_rps = plan.max_rps.map(|r| r / shard.count as f64);
    }
    plan
}
