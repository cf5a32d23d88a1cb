//! The in-memory index of results: per scenario its newest run, its newest passing run and how
//! many runs are newer than that one.
//!
//! The API's scenario list and the status page read it, so they cost O(scenarios) whatever the
//! number of summaries on disk. It is built once at start with one scan of `results.dir` (on a
//! blocking thread), then kept current by the run-end pipeline: one [`ResultsIndex::add`] per
//! summary written, and a rebuild after a prune removed files.

use super::results::parse_time;
use super::{ResultsStore, RunIndexEntry};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

#[derive(Debug, Default)]
struct ScenarioRuns {
    latest: Option<RunIndexEntry>,
    last_pass: Option<RunIndexEntry>,
    /// Runs of the scenario newer than `last_pass` (all of them when there is none).
    newer_than_pass: usize,
    runs: usize,
}

/// Newest runs of every scenario that has results.
#[derive(Debug, Default)]
pub struct ResultsIndex {
    scenarios: HashMap<String, ScenarioRuns>,
}

/// The order of [`ResultsStore::list`]: by start time (unparseable oldest), then run id.
fn key(e: &RunIndexEntry) -> (Option<DateTime<Utc>>, &str) {
    (parse_time(&e.started_at), e.run_id.as_str())
}

fn newer(a: &RunIndexEntry, than: Option<&RunIndexEntry>) -> bool {
    than.is_none_or(|b| key(a) >= key(b))
}

impl ResultsIndex {
    /// Reads every summary under the store's directory once (only their index fields).
    /// Blocking I/O.
    pub fn build(store: &ResultsStore) -> ResultsIndex {
        let mut index = ResultsIndex::default();
        // Newest first: the first run seen of a scenario is its latest, the first pass its
        // last pass, and the runs seen before that pass are the ones newer than it.
        for e in store.list(None, usize::MAX) {
            let s = index.scenarios.entry(e.scenario.clone()).or_default();
            s.runs += 1;
            if s.last_pass.is_none() {
                if e.result == "pass" {
                    s.last_pass = Some(e.clone());
                } else {
                    s.newer_than_pass += 1;
                }
            }
            if s.latest.is_none() {
                s.latest = Some(e);
            }
        }
        index
    }

    /// Records a summary just written.
    pub fn add(&mut self, e: RunIndexEntry) {
        let s = self.scenarios.entry(e.scenario.clone()).or_default();
        s.runs += 1;
        if newer(&e, s.last_pass.as_ref()) {
            if e.result == "pass" {
                s.last_pass = Some(e.clone());
                s.newer_than_pass = 0;
            } else {
                s.newer_than_pass += 1;
            }
        }
        if newer(&e, s.latest.as_ref()) {
            s.latest = Some(e);
        }
    }

    /// The newest run of `scenario`, as `ResultsStore::list(Some(scenario), 1)` would give it.
    pub fn latest(&self, scenario: &str) -> Option<&RunIndexEntry> {
        self.scenarios.get(scenario)?.latest.as_ref()
    }

    /// The newest passing run of `scenario` among its `within` newest runs.
    pub fn last_pass(&self, scenario: &str, within: usize) -> Option<&RunIndexEntry> {
        let s = self.scenarios.get(scenario)?;
        (s.newer_than_pass < within)
            .then_some(s.last_pass.as_ref())
            .flatten()
    }

    /// How many summaries of `scenario` the index has seen.
    pub fn runs(&self, scenario: &str) -> usize {
        self.scenarios.get(scenario).map_or(0, |s| s.runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, started: &str, result: &str) -> RunIndexEntry {
        RunIndexEntry {
            run_id: id.into(),
            scenario: "feed".into(),
            started_at: started.into(),
            ended_at: started.into(),
            result: result.into(),
            path: format!("/r/{id}.json"),
        }
    }

    #[test]
    fn the_newest_run_and_the_newest_pass_follow_each_added_summary() {
        let mut i = ResultsIndex::default();
        i.add(run("a", "2026-12-01T10:00:00Z", "pass"));
        i.add(run("b", "2026-12-01T11:00:00Z", "fail"));
        assert_eq!(i.latest("feed").map(|e| e.run_id.as_str()), Some("b"));
        assert_eq!(i.last_pass("feed", 2).map(|e| e.run_id.as_str()), Some("a"));
        // One run newer than the pass: it is not among the newest 1.
        assert!(i.last_pass("feed", 1).is_none());
        // An older summary arriving late changes neither.
        i.add(run("z", "2026-11-30T10:00:00Z", "pass"));
        assert_eq!(i.latest("feed").map(|e| e.run_id.as_str()), Some("b"));
        assert_eq!(i.last_pass("feed", 2).map(|e| e.run_id.as_str()), Some("a"));
        assert_eq!(i.runs("feed"), 3);
        assert!(i.latest("other").is_none());
    }
}
