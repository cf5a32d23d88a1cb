//! Run summaries on disk: `results.dir/YYYY-MM-DD/<scenario>-<run id>.json` (DESIGN §7).
//!
//! One directory per UTC day of `started_at` keeps retention cheap (drop whole days) and lets
//! listings walk newest days first and stop early. Run ids and scenario names reach file paths,
//! and run ids arrive from API callers, so both are checked against `[A-Za-z0-9_-]+` first: no
//! `..`, no separators, no traversal.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{StateError, write_atomic};

const DAY_FORMAT: &str = "%Y-%m-%d";

/// One line of the run index, read from a summary file.
#[derive(Clone, Debug, Serialize)]
pub struct RunIndexEntry {
    pub run_id: String,
    pub scenario: String,
    pub started_at: String,
    pub ended_at: String,
    pub result: String,
    pub path: String,
}

/// The fields of a summary the index needs; the rest of the file is ignored.
#[derive(Deserialize)]
struct IndexFields {
    run_id: String,
    scenario: String,
    started_at: String,
    ended_at: String,
    result: String,
}

/// True for a non-empty name of ASCII letters, digits, `_` and `-`: safe as a path component.
pub fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Summaries of finished runs under one directory, kept for `retention`.
#[derive(Clone, Debug)]
pub struct ResultsStore {
    dir: PathBuf,
    retention: Duration,
}

impl ResultsStore {
    pub fn new(dir: PathBuf, retention: Duration) -> Self {
        ResultsStore { dir, retention }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `dir/YYYY-MM-DD/<scenario>-<run_id>.json` (UTC date of `started_at`) atomically
    /// and returns its path.
    pub fn write(
        &self,
        scenario: &str,
        run_id: &str,
        started_at: DateTime<Utc>,
        summary: &serde_json::Value,
    ) -> Result<PathBuf, StateError> {
        check_id("scenario", scenario)?;
        check_id("run id", run_id)?;
        let day_dir = self.dir.join(started_at.format(DAY_FORMAT).to_string());
        fs::create_dir_all(&day_dir).map_err(|e| StateError::io(&day_dir, e))?;
        let path = day_dir.join(format!("{scenario}-{run_id}.json"));
        let bytes = serde_json::to_vec_pretty(summary).map_err(|source| StateError::Encode {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &bytes).map_err(|e| StateError::io(&path, e))?;
        Ok(path)
    }

    /// Runs newest first (by `started_at`), optionally only those of `scenario`, at most
    /// `limit`. Unreadable files are skipped with a warning.
    pub fn list(&self, scenario: Option<&str>, limit: usize) -> Vec<RunIndexEntry> {
        let mut out = Vec::new();
        for (_, day_dir) in self.days_newest_first() {
            if out.len() >= limit {
                break;
            }
            let mut day: Vec<(Option<DateTime<Utc>>, RunIndexEntry)> = summary_files(&day_dir)
                .into_iter()
                .filter_map(|path| read_index(&path))
                .filter(|e| scenario.is_none_or(|s| e.scenario == s))
                .map(|e| (parse_time(&e.started_at), e))
                .collect();
            // Unparseable start times sort last within their day; run id breaks ties.
            day.sort_by(|(ta, a), (tb, b)| tb.cmp(ta).then_with(|| b.run_id.cmp(&a.run_id)));
            out.extend(day.into_iter().map(|(_, e)| e));
        }
        out.truncate(limit);
        out
    }

    /// The summary of one run, or `None` if the id is invalid, unknown or its file unreadable.
    pub fn get(&self, run_id: &str) -> Option<serde_json::Value> {
        if !valid_id(run_id) {
            return None;
        }
        let suffix = format!("-{run_id}.json");
        for (_, day_dir) in self.days_newest_first() {
            for path in summary_files(&day_dir) {
                let matches = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(&suffix));
                if !matches {
                    continue;
                }
                let Some(value) = read_json(&path) else {
                    continue;
                };
                // Scenario and run id both may contain `-`, so a suffix match alone could
                // confuse `a-b` + `c` with `a` + `b-c`; the file's own run_id decides.
                if value.get("run_id").and_then(|v| v.as_str()) == Some(run_id) {
                    return Some(value);
                }
            }
        }
        None
    }

    /// Deletes day directories whose whole day ended more than `retention` before `now`, with
    /// their files; returns how many files were removed. Directories not named like a date are
    /// left alone.
    pub fn prune(&self, now: DateTime<Utc>) -> usize {
        let mut removed = 0;
        for (day, day_dir) in self.days_newest_first() {
            if day_expired(day, now, self.retention) {
                removed += remove_day(&day_dir);
            }
        }
        removed
    }

    /// `(date, path)` of every `YYYY-MM-DD` directory, newest first.
    fn days_newest_first(&self) -> Vec<(NaiveDate, PathBuf)> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(dir = %self.dir.display(), error = %e, "cannot list results");
                }
                return Vec::new();
            }
        };
        let mut days: Vec<(NaiveDate, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| {
                let name = e.file_name();
                let day = NaiveDate::parse_from_str(name.to_str()?, DAY_FORMAT).ok()?;
                Some((day, e.path()))
            })
            .collect();
        days.sort_by_key(|(day, _)| std::cmp::Reverse(*day));
        days
    }
}

/// True when the whole UTC `day` ended more than `retention` before `now` (the retention rule
/// for local day directories and for day prefixes in the bucket alike). A retention longer
/// than chrono can represent keeps everything.
pub fn day_expired(day: NaiveDate, now: DateTime<Utc>, retention: Duration) -> bool {
    let Some(cutoff) = chrono::Duration::from_std(retention)
        .ok()
        .and_then(|r| now.checked_sub_signed(r))
    else {
        return false;
    };
    day.succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .is_some_and(|end| end.and_utc() <= cutoff)
}

/// A results day directory's name (`YYYY-MM-DD`) as a date.
pub fn parse_day(name: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(name, DAY_FORMAT).ok()
}

fn check_id(kind: &'static str, value: &str) -> Result<(), StateError> {
    if valid_id(value) {
        Ok(())
    } else {
        Err(StateError::InvalidId {
            kind,
            value: value.to_string(),
        })
    }
}

/// Regular `*.json` files of one day directory (temp files from `write_atomic` end in `.tmp`).
fn summary_files(day_dir: &Path) -> Vec<PathBuf> {
    let entries = match fs::read_dir(day_dir) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(dir = %day_dir.display(), error = %e, "cannot list results day");
            return Vec::new();
        }
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        // k6-format exports (`results.format: [soakd, k6]`) sit beside the summaries.
        .filter(|p| !p.to_string_lossy().ends_with(".k6.json"))
        .collect()
}

fn read_json(path: &Path) -> Option<serde_json::Value> {
    let parsed = fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()));
    match parsed {
        Ok(v) => Some(v),
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "skipping unreadable run summary");
            None
        }
    }
}

fn read_index(path: &Path) -> Option<RunIndexEntry> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "skipping unreadable run summary");
            return None;
        }
    };
    // Only the index fields are decoded: the rest of the summary is skipped, not built.
    let fields: IndexFields = match serde_json::from_slice(&bytes) {
        Ok(f) => f,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "skipping run summary without index fields");
            return None;
        }
    };
    Some(entry(fields, path))
}

/// The index entry of a summary about to be (or just) written at `path`.
pub fn index_entry(summary: &serde_json::Value, path: &Path) -> Option<RunIndexEntry> {
    IndexFields::deserialize(summary)
        .ok()
        .map(|f| entry(f, path))
}

fn entry(fields: IndexFields, path: &Path) -> RunIndexEntry {
    RunIndexEntry {
        run_id: fields.run_id,
        scenario: fields.scenario,
        started_at: fields.started_at,
        ended_at: fields.ended_at,
        result: fields.result,
        path: path.display().to_string(),
    }
}

pub(super) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Removes a day directory's files, then the directory itself if it is empty; returns files
/// removed. Failures are logged and leave the rest for the next prune.
fn remove_day(day_dir: &Path) -> usize {
    let mut removed = 0;
    if let Ok(entries) = fs::read_dir(day_dir) {
        for entry in entries.filter_map(Result::ok) {
            if !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            match fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) => {
                    tracing::warn!(path = %entry.path().display(), error = %e, "cannot prune")
                }
            }
        }
    }
    if let Err(e) = fs::remove_dir(day_dir) {
        tracing::warn!(dir = %day_dir.display(), error = %e, "cannot remove pruned results day");
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::valid_id;

    #[test]
    fn run_ids_that_could_escape_the_results_dir_are_invalid() {
        for bad in [
            "", "..", "../etc", "a/b", "a\\b", "a.json", "a b", "é", "a\0b",
        ] {
            assert!(!valid_id(bad), "{bad:?} should be rejected");
        }
        for good in ["0195b2c4-7e1d-7c3a-9f2e-1b2c3d4e5f60", "nightly_run-1", "A"] {
            assert!(valid_id(good), "{good:?} should be accepted");
        }
    }
}
