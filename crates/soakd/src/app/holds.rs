//! Holds: the reasons a scenario must not start a run now — paused through the API, inside a
//! blackout window, or its circuit breaker open.
//!
//! Every start (trigger or API) goes through [`App::start_checked`], which asks [`App::held`]
//! first. Pauses are durable (`state_dir/holds.json`, atomic write) so a paused scenario stays
//! paused across a restart or a crash; blackouts are computed from the plan and the clock;
//! each circuit breaker's trips in a row and the end of its hold are durable too
//! (`state_dir/breakers.json`, atomic write, written by the ledger thread), so a restart keeps
//! a tripped scenario held for the rest of its cooldown. A ticker enforces the windows on
//! running runs once a second and keeps the `soakd_scenario_paused` gauges current.
//!
//! No file is written under the holds lock: a writer copies what it persists, lets go, writes,
//! and (for pauses, which must be on disk before they take effect) then adopts the change.

use super::App;
use crate::schedule::Skip;
use crate::server::HoldView;
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
pub const BREAKERS_FILE: &str = "breakers.json";
const BREAKERS_VERSION: u64 = 1;

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

/// A versioned JSON file of `dir`: `None` when missing; unreadable, corrupt or of another
/// version an error (a silent reset would restart load someone stopped on purpose).
fn read_versioned<T: serde::de::DeserializeOwned>(
    dir: &Path,
    name: &str,
    supported: u64,
    version: impl Fn(&T) -> u64,
) -> Result<Option<T>, StateError> {
    let path = dir.join(name);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StateError::io(path, e)),
    };
    let v: T = serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt {
        path: path.clone(),
        source,
    })?;
    let found = version(&v);
    if found != supported {
        return Err(StateError::UnsupportedVersion {
            path,
            found,
            supported,
        });
    }
    Ok(Some(v))
}

/// Replaces `dir/name` atomically with `value` as JSON. Blocking I/O.
fn write_versioned(dir: &Path, name: &str, value: &impl Serialize) -> Result<(), StateError> {
    let path = dir.join(name);
    std::fs::create_dir_all(dir).map_err(|e| StateError::io(dir, e))?;
    let bytes = serde_json::to_vec_pretty(value).map_err(|source| StateError::Encode {
        path: path.clone(),
        source,
    })?;
    write_atomic(&path, &bytes).map_err(|e| StateError::io(path, e))
}

impl Paused {
    /// Reads `dir/holds.json`; a missing file is "nothing paused", a corrupt one an error.
    pub fn load(dir: &Path) -> Result<Paused, StateError> {
        Ok(
            read_versioned(dir, HOLDS_FILE, HOLDS_VERSION, |p: &Paused| p.version)?
                .unwrap_or_default(),
        )
    }

    fn save(&self, dir: &Path) -> Result<(), StateError> {
        let mut v = self.clone();
        v.version = HOLDS_VERSION;
        write_versioned(dir, HOLDS_FILE, &v)
    }

    fn covers(&self, scenario: &str) -> bool {
        self.all || self.scenarios.contains(scenario)
    }
}

/// One scenario's breaker: trips in a row and the end of the current hold.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Breaker {
    pub trips: u32,
    pub open_until: Option<DateTime<Utc>>,
}

/// What `breakers.json` holds: `{"version":1,"breakers":{"<scenario>":{"trips":2,
/// "open_until":"2026-12-02T10:00:00Z"}}}`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct BreakersFile {
    #[serde(default)]
    version: u64,
    #[serde(default)]
    breakers: std::collections::BTreeMap<String, StoredBreaker>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredBreaker {
    trips: u32,
    /// RFC 3339; absent once a hold has never been set.
    #[serde(default)]
    open_until: Option<String>,
}

/// Reads `dir/breakers.json`; missing is "no breaker tripped", corrupt an error (a silent reset
/// would end a cooldown someone's staging needs).
fn load_breakers(dir: &Path) -> Result<HashMap<String, Breaker>, StateError> {
    let f: BreakersFile =
        read_versioned(dir, BREAKERS_FILE, BREAKERS_VERSION, |f: &BreakersFile| {
            f.version
        })?
        .unwrap_or_default();
    Ok(f.breakers
        .into_iter()
        .map(|(name, b)| {
            let open_until = b
                .open_until
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc));
            (
                name,
                Breaker {
                    trips: b.trips,
                    open_until,
                },
            )
        })
        .collect())
}

/// Replaces `dir/breakers.json` atomically with `breakers`. Blocking I/O.
pub(super) fn save_breakers(
    dir: &Path,
    breakers: &HashMap<String, Breaker>,
) -> Result<(), StateError> {
    let file = BreakersFile {
        version: BREAKERS_VERSION,
        breakers: breakers
            .iter()
            .map(|(name, b)| {
                let stored = StoredBreaker {
                    trips: b.trips,
                    open_until: b.open_until.map(|t| t.to_rfc3339()),
                };
                (name.clone(), stored)
            })
            .collect(),
    };
    write_versioned(dir, BREAKERS_FILE, &file)
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
            breakers: load_breakers(state_dir)?,
            state_dir: state_dir.to_path_buf(),
            ..Default::default()
        })
    }
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

    /// One pause change at a time (`pause_writes`, only ever taken on a blocking thread): the
    /// holds lock is held to copy and to adopt, never while `holds.json` is written.
    fn change_paused(&self, f: impl FnOnce(&mut Paused)) -> Result<(), StateError> {
        let _one = self.pause_writes.lock().unwrap_or_else(|p| p.into_inner());
        let (mut next, dir) = {
            let h = self.holds();
            (h.paused.clone(), h.state_dir.clone())
        };
        f(&mut next);
        next.save(&dir)?;
        self.holds().paused = next;
        self.refresh_hold_gauges();
        Ok(())
    }

    /// Writes every breaker to `breakers.json` as it is now (a copy taken under the lock, the
    /// write after it). Blocking I/O: the ledger thread calls it.
    pub(super) fn persist_breakers(&self) {
        let (breakers, dir) = {
            let h = self.holds();
            (h.breakers.clone(), h.state_dir.clone())
        };
        if let Err(e) = save_breakers(&dir, &breakers) {
            tracing::error!(error = %e, "cannot persist the circuit breakers; kept in memory");
            self.metrics.state_write_failed();
        }
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
