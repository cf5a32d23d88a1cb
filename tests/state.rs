//! Durable state: breach streaks survive restarts, files are never torn, results are findable
//! and pruned, and API-supplied run ids cannot escape the results directory.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use soakd::state::{BreachTracker, ResultsStore, StateError, write_atomic};

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, day, hour, 0, 0).unwrap()
}

fn breach(label: &str) -> (String, bool, Option<f64>, f64) {
    (label.to_string(), true, Some(320.0), 250.0)
}

fn pass(label: &str) -> (String, bool, Option<f64>, f64) {
    (label.to_string(), false, Some(120.0), 250.0)
}

const P95: &str = "http_req_duration: p(95)<250";
const ERRORS: &str = "http_req_failed: rate<0.01";

// ---- breach tracker ----

#[test]
fn a_streak_survives_reloading_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut tracker = BreachTracker::load(dir.path()).unwrap();
    tracker
        .record_run("feed", "run-1", at(1, 10), &[breach(P95)], 2)
        .unwrap();
    drop(tracker); // as if soakd restarted

    let mut tracker = BreachTracker::load(dir.path()).unwrap();
    let records = tracker
        .record_run("feed", "run-2", at(1, 11), &[breach(P95)], 2)
        .unwrap();

    let (label, rec) = &records[0];
    assert_eq!(label, P95);
    assert_eq!(rec.consecutive, 2);
    assert!(rec.incident_open);
    assert_eq!(rec.breaching_since.as_deref(), Some("2025-03-01T10:00:00Z"));
    assert_eq!(rec.last_run_id.as_deref(), Some("run-2"));
    assert_eq!(rec.last_observed, Some(320.0));
    assert_eq!(rec.last_limit, 250.0);
}

#[test]
fn a_pass_resets_the_streak_and_closes_the_incident() {
    let dir = tempfile::tempdir().unwrap();
    let mut tracker = BreachTracker::load(dir.path()).unwrap();
    tracker
        .record_run("feed", "r1", at(1, 1), &[breach(P95)], 1)
        .unwrap();
    assert!(tracker.get("feed", P95).unwrap().incident_open);

    tracker
        .record_run("feed", "r2", at(1, 2), &[pass(P95)], 1)
        .unwrap();
    let rec = tracker.get("feed", P95).unwrap();
    assert_eq!(rec.consecutive, 0);
    assert!(!rec.incident_open);
    assert_eq!(rec.breaching_since, None);
}

#[test]
fn with_three_needed_the_incident_opens_on_the_third_breach() {
    let dir = tempfile::tempdir().unwrap();
    let mut tracker = BreachTracker::load(dir.path()).unwrap();
    let mut seen = Vec::new();
    for (i, run) in ["r1", "r2", "r3"].into_iter().enumerate() {
        let records = tracker
            .record_run("feed", run, at(1, i as u32), &[breach(P95)], 3)
            .unwrap();
        seen.push((records[0].1.consecutive, records[0].1.incident_open));
    }
    assert_eq!(seen, [(1, false), (2, false), (3, true)]);
    // The streak started with the first breach, not the one that opened the incident.
    let rec = tracker.get("feed", P95).unwrap();
    assert_eq!(rec.breaching_since.as_deref(), Some("2025-03-01T00:00:00Z"));
}

#[test]
fn thresholds_removed_from_the_config_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut tracker = BreachTracker::load(dir.path()).unwrap();
    tracker
        .record_run("feed", "r1", at(1, 1), &[breach(P95), breach(ERRORS)], 2)
        .unwrap();
    tracker
        .record_run("search", "r2", at(1, 1), &[breach(P95)], 2)
        .unwrap();

    let records = tracker
        .record_run("feed", "r3", at(1, 2), &[breach(ERRORS)], 2)
        .unwrap();

    assert_eq!(records.len(), 1);
    assert_eq!(records[0].0, ERRORS);
    assert_eq!(tracker.get("feed", P95), None);
    // Other scenarios are untouched.
    assert_eq!(tracker.get("search", P95).unwrap().consecutive, 1);
    let reloaded = BreachTracker::load(dir.path()).unwrap();
    assert_eq!(reloaded.all().count(), 2);
}

#[test]
fn scenarios_removed_from_the_config_are_dropped_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut tracker = BreachTracker::load(dir.path()).unwrap();
    tracker
        .record_run("feed", "r1", at(1, 1), &[breach(P95)], 2)
        .unwrap();
    tracker
        .record_run("gone", "r2", at(1, 1), &[breach(P95)], 2)
        .unwrap();

    tracker.retain_scenarios(&["feed".to_string()]).unwrap();

    let reloaded = BreachTracker::load(dir.path()).unwrap();
    let scenarios: Vec<&str> = reloaded.all().map(|(s, _, _)| s).collect();
    assert_eq!(scenarios, ["feed"]);
    assert!(reloaded.scenario("gone").is_empty());
}

#[test]
fn the_state_file_is_versioned_json_one_record_per_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let mut tracker = BreachTracker::load(dir.path()).unwrap();
    tracker
        .record_run("feed", "r1", at(1, 1), &[breach(P95)], 2)
        .unwrap();

    let text = std::fs::read_to_string(dir.path().join("breaches.json")).unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["version"], 1);
    assert_eq!(file["records"][0]["scenario"], "feed");
    assert_eq!(file["records"][0]["threshold"], P95);
    assert_eq!(file["records"][0]["consecutive"], 1);
}

#[test]
fn a_missing_state_dir_is_created_and_starts_empty() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("nested/state");
    let tracker = BreachTracker::load(&state_dir).unwrap();
    assert_eq!(tracker.all().count(), 0);
    assert!(state_dir.is_dir());
}

#[test]
fn a_corrupt_state_file_is_an_error_naming_the_file_not_a_reset() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("breaches.json");
    std::fs::write(&file, b"{\"version\":1,\"records\":[{\"scena").unwrap();

    let err = BreachTracker::load(dir.path()).unwrap_err();

    assert!(matches!(err, StateError::Corrupt { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&file.display().to_string()),
        "{err}"
    );
    // The evidence is still there for a human to inspect.
    assert!(std::fs::read(&file).unwrap().starts_with(b"{\"version\""));
}

#[test]
fn a_state_file_from_an_unknown_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("breaches.json"),
        r#"{"version":9,"records":[]}"#,
    )
    .unwrap();
    let err = BreachTracker::load(dir.path()).unwrap_err();
    assert!(
        matches!(err, StateError::UnsupportedVersion { found: 9, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("breaches.json"), "{err}");
}

#[test]
fn a_non_finite_limit_does_not_brick_the_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut tracker = BreachTracker::load(dir.path()).unwrap();
    let odd = (P95.to_string(), true, None, f64::INFINITY);
    tracker
        .record_run("feed", "r1", at(1, 1), &[odd], 2)
        .unwrap();
    let reloaded = BreachTracker::load(dir.path()).unwrap();
    assert_eq!(reloaded.get("feed", P95).unwrap().consecutive, 1);
}

// ---- atomic writes ----

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn write_atomic_replaces_the_whole_target_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("state.json");
    write_atomic(&target, &vec![b'a'; 100_000]).unwrap();
    write_atomic(&target, b"short").unwrap();

    assert_eq!(std::fs::read(&target).unwrap(), b"short");
    assert_eq!(names_in(dir.path()), ["state.json"]);
}

#[test]
fn write_atomic_into_a_missing_directory_fails_without_creating_anything() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("missing/state.json");
    assert!(write_atomic(&target, b"x").is_err());
    assert!(names_in(dir.path()).is_empty());
}

// ---- results ----

fn summary(
    scenario: &str,
    run_id: &str,
    started: DateTime<Utc>,
    result: &str,
) -> serde_json::Value {
    json!({
        "run_id": run_id,
        "scenario": scenario,
        "started_at": started.to_rfc3339(),
        "ended_at": (started + chrono::Duration::minutes(5)).to_rfc3339(),
        "duration_seconds": 300,
        "result": result,
    })
}

fn store_with_runs(dir: &Path) -> ResultsStore {
    let store = ResultsStore::new(dir.to_path_buf(), Duration::from_secs(30 * 86_400));
    for (scenario, run_id, started, result) in [
        ("feed", "r1", at(1, 9), "pass"),
        ("search", "r2", at(1, 10), "fail"),
        ("feed", "r3", at(2, 8), "fail"),
        ("feed", "r4", at(2, 9), "pass"),
    ] {
        store
            .write(
                scenario,
                run_id,
                started,
                &summary(scenario, run_id, started, result),
            )
            .unwrap();
    }
    store
}

#[test]
fn summaries_are_filed_by_utc_start_date() {
    let dir = tempfile::tempdir().unwrap();
    let store = ResultsStore::new(dir.path().to_path_buf(), Duration::from_secs(86_400));
    let started = at(1, 23);
    let path = store
        .write(
            "feed",
            "r1",
            started,
            &summary("feed", "r1", started, "pass"),
        )
        .unwrap();
    assert_eq!(path, dir.path().join("2025-03-01/feed-r1.json"));
    assert_eq!(names_in(&dir.path().join("2025-03-01")), ["feed-r1.json"]);
}

#[test]
fn list_is_newest_first_filterable_and_limited() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_runs(dir.path());

    let ids = |entries: Vec<soakd::state::RunIndexEntry>| -> Vec<String> {
        entries.into_iter().map(|e| e.run_id).collect()
    };
    assert_eq!(ids(store.list(None, 10)), ["r4", "r3", "r2", "r1"]);
    assert_eq!(ids(store.list(Some("feed"), 10)), ["r4", "r3", "r1"]);
    assert_eq!(ids(store.list(None, 2)), ["r4", "r3"]);

    let newest = &store.list(None, 1)[0];
    assert_eq!(newest.scenario, "feed");
    assert_eq!(newest.result, "pass");
    assert!(newest.path.ends_with("2025-03-02/feed-r4.json"));
}

#[test]
fn list_skips_unreadable_summaries() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_runs(dir.path());
    std::fs::write(dir.path().join("2025-03-02/feed-broken.json"), "{not json").unwrap();
    std::fs::write(
        dir.path().join("2025-03-02/feed-partial.json"),
        r#"{"run_id":"x"}"#,
    )
    .unwrap();
    assert_eq!(store.list(None, 10).len(), 4);
}

#[test]
fn get_finds_a_run_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_runs(dir.path());
    let run = store.get("r2").unwrap();
    assert_eq!(run["scenario"], "search");
    assert_eq!(run["result"], "fail");
    assert_eq!(store.get("r9"), None);
}

#[test]
fn get_is_not_fooled_by_dashes_in_scenario_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = ResultsStore::new(dir.path().to_path_buf(), Duration::from_secs(86_400));
    let t = at(1, 1);
    // Both file names end in "-c-d.json"; only one of them is run "c-d".
    store
        .write("a-b", "c-d", t, &summary("a-b", "c-d", t, "pass"))
        .unwrap();
    store
        .write("x", "b-c-d", t, &summary("x", "b-c-d", t, "fail"))
        .unwrap();
    assert_eq!(store.get("c-d").unwrap()["scenario"], "a-b");
    assert_eq!(store.get("b-c-d").unwrap()["scenario"], "x");
}

#[test]
fn run_ids_that_could_traverse_directories_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_runs(&dir.path().join("results"));
    std::fs::write(dir.path().join("secret.json"), r#"{"run_id":"../secret"}"#).unwrap();

    for bad in ["../secret", "..", "2025-03-01/feed-r1", "r1.json", ""] {
        assert_eq!(store.get(bad), None, "get({bad:?})");
    }
    let t = at(1, 1);
    let err = store.write("feed", "../../x", t, &json!({})).unwrap_err();
    assert!(matches!(err, StateError::InvalidId { .. }), "{err:?}");
    assert!(store.write("../feed", "r5", t, &json!({})).is_err());
}

#[test]
fn prune_removes_days_older_than_retention() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_runs(dir.path()); // retention 30 days
    std::fs::create_dir(dir.path().join("not-a-date")).unwrap();

    // The cutoff 30 days before 04-01T12:00 is 03-02T12:00: all of 03-01 is older, only part
    // of 03-02 is, so only 03-01 goes.
    let now = Utc.with_ymd_and_hms(2025, 4, 1, 12, 0, 0).unwrap();
    assert_eq!(store.prune(now), 2);
    assert_eq!(names_in(dir.path()), ["2025-03-02", "not-a-date"]);

    let later = at(1, 0) + chrono::Duration::days(200);
    assert_eq!(store.prune(later), 2);
    assert_eq!(names_in(dir.path()), ["not-a-date"]);
    assert!(store.list(None, 10).is_empty());
    assert_eq!(store.prune(later), 0);
}
