//! Holds: the reasons a scenario must not start a run now — paused through the API, inside a
//! blackout window, or its circuit breaker open.
//!
//! Every start (trigger or API) goes through [`App::start_checked`], which asks [`App::held`]
//! first. Pauses are durable (`state_dir/holds.json`, atomic write) so a paused scenario stays
//! paused across a restart or a crash; blackouts are computed from the plan and the clock;
//! breaker state lives in memory (a restart ends a cooldown early, which errs on the side of
//! running). A ticker enforces the windows on running runs once a second and keeps the
//! `soakd_scenario_paused` gauges current.

use super::App;
use crate::schedule::Skip;
use crate::state::{StateError, write_atomic};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

pub const HOLDS_FILE: &str = "holds.json";
const HOLDS_VERSION: u64 = 1;

/// What `holds.json` holds.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paused {
    #[serde(default)]
    pub version: u64,
    /// Scenarios paused one by one.
    #[serde(default)]
    pub scenarios: BTreeSet<String>,
    /// `pause_all`: every scenario, present and future.
    #[serde(default)]
    pub all: bool,
}

impl Paused {
    /// Reads `dir/holds.json`; a missing file is "nothing paused", a corrupt one an error (a
    /// silent reset would restart load someone stopped on purpose).
    pub fn load(dir: &Path) -> Result<Paused, StateError> {
        let path = dir.join(HOLDS_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Paused::default()),
            Err(e) => return Err(StateError::io(path, e)),
        };
        let p: Paused = serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt {
            path: path.clone(),
            source,
        })?;
        if p.version != HOLDS_VERSION {
            return Err(StateError::UnsupportedVersion {
                path,
                found: p.version,
                supported: HOLDS_VERSION,
            });
        }
        Ok(p)
    }

    fn save(&self, dir: &Path) -> Result<(), StateError> {
        let path = dir.join(HOLDS_FILE);
        std::fs::create_dir_all(dir).map_err(|e| StateError::io(dir, e))?;
        let mut v = self.clone();
        v.version = HOLDS_VERSION;
        let bytes = serde_json::to_vec_pretty(&v).map_err(|source| StateError::Encode {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &bytes).map_err(|e| StateError::io(path, e))
    }

    fn covers(&self, scenario: &str) -> bool {
        self.all || self.scenarios.contains(scenario)
    }
}

/// One scenario's breaker: trips in a row and the end of the current hold.
#[derive(Debug, Default, Clone)]
pub struct Breaker {
    pub trips: u32,
    pub open_until: Option<DateTime<Utc>>,
}

/// Mutable hold state, one lock in `App`.
#[derive(Debug, Default)]
pub struct Holds {
    pub paused: Paused,
    pub breakers: HashMap<String, Breaker>,
    /// Why a run was stopped by a hold (`circuit_open`, `blackout`, `paused`), by run id; read
    /// once when its summary is written.
    pub stop_reasons: HashMap<String, &'static str>,
    pub state_dir: PathBuf,
}

impl Holds {
    pub fn load(state_dir: &Path) -> Result<Holds, StateError> {
        Ok(Holds {
            paused: Paused::load(state_dir)?,
            state_dir: state_dir.to_path_buf(),
            ..Default::default()
        })
    }
}

/// A scenario's hold as the API and the status page show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HoldView {
    pub paused: bool,
    pub blackout_until: Option<String>,
    pub circuit_open_until: Option<String>,
    pub circuit_trips: u32,
}

impl App {
    fn holds(&self) -> std::sync::MutexGuard<'_, Holds> {
        self.holds.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Why `scenario` may not start a run at `now`, if it may not.
    pub fn held(&self, scenario: &str, now: DateTime<Utc>) -> Option<Skip> {
        {
            let h = self.holds();
            if h.paused.covers(scenario) {
                return Some(Skip::Paused);
            }
            if h.breakers
                .get(scenario)
                .and_then(|b| b.open_until)
                .is_some_and(|t| t > now)
            {
                return Some(Skip::CircuitOpen);
            }
        }
        self.blackout_until(scenario, now).map(|_| Skip::Blackout)
    }

    /// End of the blackout window `scenario` is in at `now`, if any.
    pub fn blackout_until(&self, scenario: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let plan = self.plan();
        let s = plan.scenarios.get(scenario)?;
        s.always_on
            .blackouts
            .iter()
            .filter_map(|b| b.open_until(now))
            .max()
    }

    pub fn hold_view(&self, scenario: &str) -> HoldView {
        let now = Utc::now();
        let h = self.holds();
        let b = h.breakers.get(scenario).cloned().unwrap_or_default();
        let paused = h.paused.covers(scenario);
        drop(h);
        HoldView {
            paused,
            blackout_until: self.blackout_until(scenario, now).map(|t| t.to_rfc3339()),
            circuit_open_until: b.open_until.filter(|t| *t > now).map(|t| t.to_rfc3339()),
            circuit_trips: b.trips,
        }
    }

    /// Starts a run unless the scenario is held; what triggers and the API call.
    pub fn start_checked(&self, name: &str) -> Result<(String, oneshot::Receiver<bool>), Skip> {
        if let Some(why) = self.held(name, Utc::now()) {
            return Err(why);
        }
        let (id, done) = self.start_run(name)?;
        if let Some(ctl) = self.active_run(name).filter(|c| c.id == id)
            && let Some(cb) = ctl.scenario.always_on.circuit_breaker.clone()
            && let Some(me) = self.me.upgrade()
        {
            tokio::spawn(super::breaker::watch(me, ctl, cb));
        }
        Ok((id, done))
    }

    /// Pauses one scenario (`Some`) or all (`None`), persisted before it takes effect; an
    /// active run stops gracefully (result `aborted`, reason `paused`). Blocking I/O.
    pub fn pause(&self, scenario: Option<&str>) -> Result<(), StateError> {
        self.change_paused(|p| match scenario {
            Some(s) => {
                p.scenarios.insert(s.to_string());
            }
            None => p.all = true,
        })?;
        for ctl in self.active_runs() {
            if scenario.is_none_or(|s| s == ctl.scenario.name) {
                self.stop_for(&ctl, "paused");
            }
        }
        Ok(())
    }

    /// Resumes one scenario or, with `None`, every scenario (clears `pause_all` and each
    /// single pause). Blocking I/O.
    pub fn resume(&self, scenario: Option<&str>) -> Result<(), StateError> {
        self.change_paused(|p| match scenario {
            Some(s) => {
                p.scenarios.remove(s);
            }
            None => {
                p.all = false;
                p.scenarios.clear();
            }
        })
    }

    fn change_paused(&self, f: impl FnOnce(&mut Paused)) -> Result<(), StateError> {
        let mut h = self.holds();
        let mut next = h.paused.clone();
        f(&mut next);
        next.save(&h.state_dir)?;
        h.paused = next;
        drop(h);
        self.refresh_hold_gauges();
        Ok(())
    }

    /// Stops a run because of a hold; its summary carries `reason`.
    pub(super) fn stop_for(&self, ctl: &crate::run::RunControl, reason: &'static str) {
        if ctl.is_stopping() {
            return;
        }
        tracing::warn!(scenario = %ctl.scenario.name, run_id = %ctl.id, reason, "stopping the run");
        self.holds().stop_reasons.insert(ctl.id.clone(), reason);
        ctl.abort();
    }

    /// The hold that stopped run `run_id`, once.
    pub(super) fn take_stop_reason(&self, run_id: &str) -> Option<String> {
        self.holds().stop_reasons.remove(run_id).map(str::to_string)
    }

    /// `soakd_scenario_paused{reason=paused|blackout}` and `soakd_circuit_open` of every
    /// scenario of the plan.
    fn refresh_hold_gauges(&self) {
        let now = Utc::now();
        for name in self.plan().scenarios.keys() {
            let v = self.hold_view(name);
            // A reload may have removed it (and its series) meanwhile: do not bring them back.
            if !self.plan().scenarios.contains_key(name) {
                continue;
            }
            self.metrics.scenario_paused(name, "paused", v.paused);
            self.metrics.scenario_paused(
                name,
                "blackout",
                self.blackout_until(name, now).is_some(),
            );
            self.metrics
                .circuit_open(name, v.circuit_open_until.is_some());
        }
    }

    /// Once a second: stop runs that entered a blackout, refresh the hold gauges.
    pub(super) fn spawn_hold_ticker(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        let stop = self.shutdown.clone();
        tokio::spawn(async move {
            loop {
                let Some(app) = me.upgrade() else { return };
                let now = Utc::now();
                for ctl in app.active_runs() {
                    if app.blackout_until(&ctl.scenario.name, now).is_some() {
                        app.stop_for(&ctl, "blackout");
                    }
                }
                app.refresh_hold_gauges();
                drop(app);
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.cancelled() => return,
                }
            }
        });
    }
}
