//! The consecutive-breach tracker: one explicit record per (scenario, threshold).
//!
//! Like cloudprober's alerting state (`{failures, alerted, failing_since}` per target), every
//! change goes through one entry point, [`BreachTracker::record_run`], which updates the records
//! of one scenario and persists them before returning. So once a run's verdict is reported, its
//! effect on the streak is on disk.
//!
//! Worked example with `needed = 3`: runs breach, breach, breach, pass →
//! `consecutive` 1, 2, 3 (incident opens), 0 (incident closes, `breaching_since` cleared).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::{StateError, write_atomic};

/// File name of the tracker inside `state_dir`.
pub const STATE_FILE: &str = "breaches.json";
/// Version written by this release; a later release migrates older versions on load.
pub const STATE_VERSION: u64 = 1;

/// The streak of one threshold of one scenario.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BreachRecord {
    /// Consecutive breached runs; 0 after a pass.
    pub consecutive: u32,
    /// `consecutive >= needed` as of the last recorded run.
    pub incident_open: bool,
    /// RFC 3339 start of the first breached run of the current streak; `None` while passing.
    pub breaching_since: Option<String>,
    pub last_run_id: Option<String>,
    /// `None` when the run produced no sample for the metric.
    pub last_observed: Option<f64>,
    /// JSON has no NaN or infinity (serde_json writes `null`); read `null` back as NaN rather
    /// than failing the whole file.
    #[serde(deserialize_with = "null_as_nan")]
    pub last_limit: f64,
}

fn null_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// On-disk layout: `{"version":1,"records":[{"scenario":..,"threshold":..,<BreachRecord>}]}`.
#[derive(Serialize, Deserialize)]
struct StateFile {
    version: u64,
    records: Vec<StoredRecord>,
}

#[derive(Serialize, Deserialize)]
struct StoredRecord {
    scenario: String,
    threshold: String,
    #[serde(flatten)]
    record: BreachRecord,
}

/// Read first, so an unknown version is reported as such rather than as a shape error.
#[derive(Deserialize)]
struct VersionProbe {
    version: u64,
}

type Key = (String, String);

/// Streaks of every (scenario, threshold), mirrored in `state_dir/breaches.json`.
#[derive(Debug)]
pub struct BreachTracker {
    records: BTreeMap<Key, BreachRecord>,
    path: PathBuf,
}

impl BreachTracker {
    /// Loads `state_dir/breaches.json`, creating `state_dir` if missing. A missing file is an
    /// empty tracker; an unreadable or corrupt file is an error naming it, never a silent reset.
    pub fn load(state_dir: &Path) -> Result<Self, StateError> {
        std::fs::create_dir_all(state_dir).map_err(|e| StateError::io(state_dir, e))?;
        let path = state_dir.join(STATE_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(BreachTracker {
                    records: BTreeMap::new(),
                    path,
                });
            }
            Err(e) => return Err(StateError::io(path, e)),
        };
        let records = parse(&path, &bytes)?;
        Ok(BreachTracker { records, path })
    }

    /// The file this tracker persists to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records one run's verdicts for `scenario`, then persists before returning.
    ///
    /// Each outcome is `(threshold label, breached, observed, limit)`: breached →
    /// `consecutive + 1`, passed → 0; `incident_open = consecutive >= needed` (a `needed` of 0 is
    /// treated as 1, so a passing threshold never holds an incident open). Thresholds of this scenario absent
    /// from `outcomes` were deleted from the config and are dropped. If persisting fails the
    /// error is returned but the tracker holds the new records (see `commit`).
    ///
    /// Returns the scenario's records after the update, ordered by threshold label.
    pub fn record_run(
        &mut self,
        scenario: &str,
        run_id: &str,
        at: DateTime<Utc>,
        outcomes: &[(String, bool, Option<f64>, f64)],
        needed: u32,
    ) -> Result<Vec<(String, BreachRecord)>, StateError> {
        let needed = needed.max(1);
        let at = at.to_rfc3339_opts(SecondsFormat::Secs, true);
        let mut next = self.records.clone();
        next.retain(|(s, _), _| s != scenario);
        for (threshold, breached, observed, limit) in outcomes {
            // Each outcome builds on the record before this run, so a repeated label counts once.
            let prev = self.get(scenario, threshold).cloned().unwrap_or_default();
            let consecutive = if *breached {
                prev.consecutive.saturating_add(1)
            } else {
                0
            };
            let breaching_since = match (breached, prev.breaching_since) {
                (false, _) => None,
                (true, Some(since)) if prev.consecutive > 0 => Some(since),
                (true, _) => Some(at.clone()),
            };
            let record = BreachRecord {
                consecutive,
                incident_open: consecutive >= needed,
                breaching_since,
                last_run_id: Some(run_id.to_string()),
                last_observed: *observed,
                last_limit: *limit,
            };
            next.insert((scenario.to_string(), threshold.clone()), record);
        }
        self.commit(next)?;
        Ok(self.scenario(scenario))
    }

    pub fn get(&self, scenario: &str, threshold: &str) -> Option<&BreachRecord> {
        // BTreeMap<(String, String), _> cannot be queried by (&str, &str) without allocating.
        self.records
            .get(&(scenario.to_string(), threshold.to_string()))
    }

    /// The records of one scenario, ordered by threshold label.
    pub fn scenario(&self, scenario: &str) -> Vec<(String, BreachRecord)> {
        self.records
            .iter()
            .filter(|((s, _), _)| s == scenario)
            .map(|((_, t), r)| (t.clone(), r.clone()))
            .collect()
    }

    /// Every record as `(scenario, threshold, record)`, ordered by scenario then threshold.
    pub fn all(&self) -> impl Iterator<Item = (&str, &str, &BreachRecord)> {
        self.records
            .iter()
            .map(|((s, t), r)| (s.as_str(), t.as_str(), r))
    }

    /// Drops scenarios not in `keep` (removed from the config) and persists. Nothing is written
    /// when nothing was dropped.
    pub fn retain_scenarios(&mut self, keep: &[String]) -> Result<(), StateError> {
        let mut next = self.records.clone();
        next.retain(|(s, _), _| keep.iter().any(|k| k == s));
        if next.len() == self.records.len() {
            return Ok(());
        }
        self.commit(next)
    }

    /// Adopts `next`, then persists it. A failed write (disk full, read-only) keeps the new
    /// records in memory: the streak and incident gauges stay exported and right, and the next
    /// successful write (any later run) persists everything — recovery needs nobody.
    fn commit(&mut self, next: BTreeMap<Key, BreachRecord>) -> Result<(), StateError> {
        self.records = next;
        let bytes = encode(&self.path, &self.records)?;
        write_atomic(&self.path, &bytes).map_err(|e| StateError::io(&self.path, e))
    }
}

fn parse(path: &Path, bytes: &[u8]) -> Result<BTreeMap<Key, BreachRecord>, StateError> {
    let corrupt = |source| StateError::Corrupt {
        path: path.to_path_buf(),
        source,
    };
    let probe: VersionProbe = serde_json::from_slice(bytes).map_err(corrupt)?;
    if probe.version != STATE_VERSION {
        return Err(StateError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: probe.version,
            supported: STATE_VERSION,
        });
    }
    let file: StateFile = serde_json::from_slice(bytes).map_err(corrupt)?;
    Ok(file
        .records
        .into_iter()
        .map(|r| ((r.scenario, r.threshold), r.record))
        .collect())
}

fn encode(path: &Path, records: &BTreeMap<Key, BreachRecord>) -> Result<Vec<u8>, StateError> {
    let file = StateFile {
        version: STATE_VERSION,
        records: records
            .iter()
            .map(|((s, t), r)| StoredRecord {
                scenario: s.clone(),
                threshold: t.clone(),
                record: r.clone(),
            })
            .collect(),
    };
    serde_json::to_vec_pretty(&file).map_err(|source| StateError::Encode {
        path: path.to_path_buf(),
        source,
    })
}
